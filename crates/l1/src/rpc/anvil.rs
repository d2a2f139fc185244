//! A local anvil node (Foundry's development L1) started and stopped by us:
//! for the contract test suite, integration tests and `devnet --l1-rpc`.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::error::L1Error;

/// Where npm puts the anvil binary, relative to the project's `.tools/`.
const NPM_PATH: &str = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// A running anvil on a loopback port, killed (by its pid) on drop.
#[derive(Debug)]
pub struct AnvilProcess {
    child: Child,
    port: u16,
}

impl AnvilProcess {
    /// Finds anvil: `$CHUNKSEQ_ANVIL`, then `.tools/` of this directory or an
    /// ancestor (where `.ci/run` installs it from npm), then `$PATH`.
    pub fn locate() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("CHUNKSEQ_ANVIL") {
            return Some(PathBuf::from(p));
        }
        let here = std::env::current_dir().ok()?;
        let from_tools = here
            .ancestors()
            .map(|d| d.join(".tools").join(NPM_PATH))
            .find(|p| p.is_file());
        from_tools.or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("anvil"))
                    .find(|p| p.is_file())
            })
        })
    }

    /// Starts `binary` on a loopback port the system picks, with `args`
    /// (other than `--silent`, which would hide the port it reports), and
    /// waits until it listens. Letting anvil bind port 0 itself avoids the race
    /// of probing for a free port that a parallel test then takes.
    pub fn spawn(binary: &Path, args: &[String]) -> Result<Self, L1Error> {
        let fail = |reason: String| L1Error::Rpc {
            what: "starting anvil",
            reason,
        };
        let mut child = Command::new(binary)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg("0")
            .args(args.iter().filter(|a| *a != "--silent"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("{}: {e}", binary.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail("no stdout".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads anvil's output until it exits: the port line is sent on, the
        // rest is dropped (anvil blocks if its pipe fills).
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(port) = listening_port(&line) {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(port) => port,
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(match status {
                    Some(status) => format!("exited with {status}"),
                    None => "did not report a listening port within 20 s".into(),
                }));
            }
        };
        Ok(Self { child, port })
    }

    /// The JSON-RPC endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of anvil's "Listening on 127.0.0.1:PORT" line.
fn listening_port(line: &str) -> Option<u16> {
    line.trim()
        .strip_prefix("Listening on ")?
        .rsplit(':')
        .next()?
        .parse()
        .ok()
}

/// The private key of anvil's first prefunded account (the well-known test
/// mnemonic's first key). Deploying the Rollup contract from it as its first
/// transaction puts the contract at the presets' `rollup_address`.
pub const ANVIL_DEPLOYER_KEY: [u8; 32] =
    alloy_primitives::hex!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn reads_the_port_anvil_reports() {
        assert_eq!(listening_port("Listening on 127.0.0.1:41743"), Some(41743));
        assert_eq!(listening_port("Listening on 127.0.0.1:x"), None);
        assert_eq!(listening_port("Available Accounts"), None);
    }
}
