//! [`ThrowawayCluster`]: a PostgreSQL server of its own in a temporary
//! directory, on a free loopback port, for tests and for the devnet's
//! validator pairs; removed when dropped.
//!
//! It runs Debian's binaries (`initdb`, `pg_ctl`): from `CHUNKSEQ_PG_BIN`
//! when set, else the newest `/usr/lib/postgresql/<version>/bin`, else
//! `PATH`. PostgreSQL refuses to run as root, so as root the server runs as
//! the `postgres` user (`runuser`), which the Debian package creates.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use thiserror::Error;

/// Why a throwaway cluster did not start.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// No PostgreSQL binaries were found.
    #[error(
        "PostgreSQL's initdb and pg_ctl were not found (set CHUNKSEQ_PG_BIN, or install Debian's postgresql package)"
    )]
    NoBinaries,
    /// A step failed.
    #[error("PostgreSQL {step}: {detail}")]
    Step {
        /// Which.
        step: &'static str,
        /// What it printed.
        detail: String,
    },
}

/// A PostgreSQL server in a temporary directory.
#[derive(Debug)]
pub struct ThrowawayCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    durable: bool,
}

/// The directory holding `initdb` and `pg_ctl`.
fn find_binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CHUNKSEQ_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("pg_ctl").exists() && p.join("initdb").exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl ThrowawayCluster {
    /// Creates and starts a cluster whose superuser `chunkseq` logs in
    /// without a password from loopback; commits are durable (fsync).
    pub fn start() -> Result<Self, ClusterError> {
        Self::start_with(true)
    }

    /// The same with `fsync` off, for tests that only need the semantics:
    /// a crash of the machine can lose commits.
    pub fn start_fast() -> Result<Self, ClusterError> {
        Self::start_with(false)
    }

    fn start_with(durable: bool) -> Result<Self, ClusterError> {
        let bin = find_binaries().ok_or(ClusterError::NoBinaries)?;
        let dir = tempfile::Builder::new()
            .prefix("chunkseq-pg-")
            .tempdir()
            .map_err(|e| step("temporary directory", e))?;
        let as_postgres = is_root();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| step("data directory", e))?;
        if as_postgres {
            // The server's user must reach and own its directories.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| step("permissions", e))?;
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .status()
                .map_err(|e| step("chown", e))?;
            if !status.success() {
                return Err(step("chown", "chown postgres failed"));
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| step("a free port", e))?
            .port();
        let c = Self {
            dir,
            bin,
            port,
            as_postgres,
            durable,
        };
        c.run(
            "initdb",
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "chunkseq",
                "--auth=trust",
                "-E",
                "UTF8",
                "-N",
            ],
        )?;
        c.resume()?;
        Ok(c)
    }

    /// Its URL, for `--protection-db`.
    pub fn url(&self) -> String {
        format!("postgres://chunkseq@127.0.0.1:{}/postgres", self.port)
    }

    /// Its data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`), as a crash
    /// would; [`Self::resume`] starts it again.
    pub fn halt(&self) -> Result<(), ClusterError> {
        let data = self.data_dir().display().to_string();
        self.run(
            "pg_ctl",
            "stop",
            &["stop", "-D", &data, "-m", "immediate", "-w"],
        )
    }

    /// Starts the server (again), waiting until it takes connections.
    pub fn resume(&self) -> Result<(), ClusterError> {
        let data = self.data_dir().display().to_string();
        let log = self.data_dir().join("server.log").display().to_string();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync={}",
            self.port,
            if self.durable { "on" } else { "off" }
        );
        self.run(
            "pg_ctl",
            "start",
            &[
                "start", "-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60",
            ],
        )
    }

    fn run(&self, tool: &str, what: &'static str, args: &[&str]) -> Result<(), ClusterError> {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args).current_dir(Path::new("/"));
        let out = cmd.output().map_err(|e| step(what, e))?;
        if !out.status.success() {
            return Err(step(
                what,
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&out.stdout)
                ),
            ));
        }
        Ok(())
    }
}

fn step(step: &'static str, detail: impl std::fmt::Display) -> ClusterError {
    ClusterError::Step {
        step,
        detail: detail.to_string(),
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}
