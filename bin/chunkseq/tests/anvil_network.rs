//! Four `chunkseq node` processes and anvil (started and stopped here):
//! the nodes checkpoint on anvil, and one of them, killed with SIGKILL and
//! restarted from its data directory, catches up and follows the tips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use jsonrpsee::{core::client::ClientT, rpc_params};
use jsonrpsee_http_client::HttpClientBuilder;
use serde_json::Value;

/// Kills the child processes when the test ends, however it ends.
struct Processes(Vec<Option<Child>>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in self.0.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Ports {
    p2p: u16,
    rpc: u16,
    metrics: u16,
}

fn spawn_node(i: usize, ports: &Ports, boot: u16, url: &str, genesis: u64, dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join(format!("node-{i}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chunkseq"));
    cmd.args([
        "node",
        "--dev-key",
        &i.to_string(),
        "--validators",
        "4",
        "--genesis-time",
        &genesis.to_string(),
        "--l1-rpc",
        url,
        "--data-dir",
        dir.join(format!("node-{i}")).to_str().unwrap(),
        "--listen",
        &format!("/ip4/127.0.0.1/tcp/{}", ports.p2p),
        "--rpc",
        &format!("127.0.0.1:{}", ports.rpc),
        "--metrics",
        &format!("127.0.0.1:{}", ports.metrics),
    ]);
    if boot != ports.p2p {
        cmd.args(["--bootnodes", &format!("/ip4/127.0.0.1/tcp/{boot}")]);
    }
    cmd.env("RUST_LOG", "info,libp2p=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn status(port: u16) -> Option<Value> {
    let c = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(2))
        .build(format!("http://127.0.0.1:{port}"))
        .ok()?;
    c.request("chunkseq_status", rpc_params![]).await.ok()
}

fn checkpointed(v: &Value) -> u64 {
    v["checkpointed"][0].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_node_processes_checkpoint_on_anvil_and_a_killed_one_recovers() {
    let Some(anvil) = chunkseq_l1::AnvilProcess::locate() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but anvil is not installed"
        );
        eprintln!("skipped: anvil not found");
        return;
    };
    let l1 = chunkseq_l1::AnvilProcess::spawn(&anvil, &[]).unwrap();
    let url = l1.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("deployer.key");
    std::fs::write(
        &key,
        format!("0x{}\n", hex::encode(chunkseq_l1::rpc::ANVIL_DEPLOYER_KEY)),
    )
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let genesis = now + 12;
    let out = Command::new(env!("CARGO_BIN_EXE_chunkseq"))
        .args([
            "l1",
            "deploy",
            "--rpc",
            &url,
            "--key",
            key.to_str().unwrap(),
            "--validators",
            "4",
            "--genesis-time",
            &genesis.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A node whose chain spec differs from the contract's refuses to start.
    let wrong = Command::new(env!("CARGO_BIN_EXE_chunkseq"))
        .args([
            "node",
            "--dev-key",
            "0",
            "--genesis-time",
            &(genesis + 1).to_string(),
            "--l1-rpc",
            &url,
            "--data-dir",
            dir.path().join("wrong").to_str().unwrap(),
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--rpc",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("refusing to start"), "{err}");
    // From now on, an L1 block every two seconds, as the devnet preset says.
    let l1c = HttpClientBuilder::default().build(&url).unwrap();
    let _: Value = l1c
        .request("evm_setIntervalMining", rpc_params![2])
        .await
        .unwrap();
    let ports: Vec<Ports> = (0..4)
        .map(|_| Ports {
            p2p: free_port(),
            rpc: free_port(),
            metrics: free_port(),
        })
        .collect();
    let boot = ports[0].p2p;
    let mut procs = Processes(
        (0..4)
            .map(|i| Some(spawn_node(i, &ports[i], boot, &url, genesis, dir.path())))
            .collect(),
    );
    let dump = |dir: &Path| {
        for i in 0..4 {
            let log =
                std::fs::read_to_string(dir.join(format!("node-{i}.log"))).unwrap_or_default();
            // Every warning and error, then the last lines.
            let warnings: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
                .take(40)
                .collect();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            eprintln!(
                "--- node-{i} warnings ---\n{}\n--- node-{i} last lines ---\n{}",
                warnings.join("\n"),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    };
    // Two checkpoints on anvil, seen by every node.
    let deadline = Instant::now() + Duration::from_secs(12 + 8 * 4 + 10);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut all = Vec::new();
        for p in &ports {
            all.push(status(p.rpc).await.map_or(0, |v| checkpointed(&v)));
        }
        // Empty slots hold one block each.
        if all.iter().all(|n| *n >= 2) {
            break;
        }
        if Instant::now() > deadline {
            dump(dir.path());
            panic!("checkpointed heights {all:?}: not two checkpoints on anvil in time");
        }
    }
    // A transfer through the CLI client lands on L1.
    let out = Command::new(env!("CARGO_BIN_EXE_chunkseq"))
        .args([
            "tx",
            "send",
            "--rpc",
            &format!("http://127.0.0.1:{}", ports[1].rpc),
            "--dev-account",
            "0",
            "--to",
            "0x0000000000000000000000000000000000000bee",
            "--value",
            "5",
            "--wait",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("checkpointed"));
    // Its status names the L1 transaction that carried its checkpoint, and
    // anvil knows that transaction: a successful call of the Rollup contract.
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let node = HttpClientBuilder::default()
        .build(format!("http://127.0.0.1:{}", ports[1].rpc))
        .unwrap();
    let st: Value = node
        .request("chunkseq_getTransactionStatus", rpc_params![hash.clone()])
        .await
        .unwrap();
    assert_eq!(st["status"], "checkpointed", "{st}");
    let l1_tx = st["l1Tx"].as_str().expect("l1Tx").to_owned();
    let l1c = HttpClientBuilder::default().build(&url).unwrap();
    let receipt: Value = l1c
        .request("eth_getTransactionReceipt", rpc_params![l1_tx.clone()])
        .await
        .unwrap();
    assert_eq!(receipt["status"], "0x1", "{l1_tx}: {receipt}");
    assert_eq!(
        receipt["blockNumber"].as_str().map(|b| u64::from_str_radix(
            b.trim_start_matches("0x"),
            16
        )
        .unwrap()),
        st["l1Block"].as_u64(),
        "{st} {receipt}"
    );
    let before = status(ports[0].rpc).await.map_or(0, |v| checkpointed(&v));
    // SIGKILL node 2, wait a slot, restart it from its data directory.
    let mut killed = procs.0[2].take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    procs.0[2] = Some(spawn_node(2, &ports[2], boot, &url, genesis, dir.path()));
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (Some(me), Some(other)) = (status(ports[2].rpc).await, status(ports[0].rpc).await)
        else {
            assert!(
                Instant::now() < deadline,
                "node 2 does not answer after its restart"
            );
            continue;
        };
        if me["synced"] == true
            && checkpointed(&me) == checkpointed(&other)
            && checkpointed(&me) > before
        {
            break;
        }
        if Instant::now() > deadline {
            dump(dir.path());
            panic!("restarted node 2 does not follow: {me} vs {other}");
        }
    }
    // No honest validator signed anything conflicting: nobody was slashed.
    for i in 0..4 {
        let log =
            std::fs::read_to_string(dir.path().join(format!("node-{i}.log"))).unwrap_or_default();
        assert!(
            !log.contains("ValidatorSlashed") && !log.contains("slashed"),
            "node-{i} saw a slashing"
        );
    }
    drop(l1);
}
