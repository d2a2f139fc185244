//! End-to-end tests of the `chunkseq` command line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{path::Path, process::Command};

use serde_json::Value;

fn chunkseq(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chunkseq"))
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = chunkseq(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn spec_json_reports_the_devnet_timetable() {
    let v = json(&["spec", "--preset", "devnet", "--json"]);
    assert_eq!(v["slot_duration_ms"], 8000);
    assert_eq!(v["chunks_per_slot"], 8);
    assert_eq!(v["staggered"], true);
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 8);
    let mut previous_close = chunks[0]["start_ms"].as_i64().unwrap();
    for c in chunks {
        let (start, close) = (
            c["start_ms"].as_i64().unwrap(),
            c["close_ms"].as_i64().unwrap(),
        );
        assert_eq!(start, previous_close, "chunks are contiguous");
        assert!(close > start);
        previous_close = close;
    }
    assert_eq!(v["timetable"]["attestation_deadline_ms"], -300);
    assert_eq!(
        v["timetable"]["tip_freeze_ms"], 0,
        "the next proposer starts on a frozen tip"
    );
    assert!(v["spec_hash"].as_str().unwrap().starts_with("0x"));
}

#[test]
fn spec_json_seed_has_two_chunks_and_is_not_staggered() {
    let v = json(&["spec", "--preset", "seed", "--json"]);
    assert_eq!(v["chunks"].as_array().unwrap().len(), 2);
    assert_eq!(v["chunks_per_slot"], 2);
    assert_eq!(v["staggered"], false);
}

#[test]
fn spec_table_is_readable() {
    let out = chunkseq(&["spec", "--preset", "fast"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "chunks per slot    24",
        "staggered          yes",
        "chunk 23",
        "attestation deadline",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn spec_from_file_and_slot_choice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.toml");
    std::fs::write(&path, "preset = \"devnet\"\nchunks_per_slot = 4\n").unwrap();
    let v = json(&[
        "spec",
        "--file",
        path.to_str().unwrap(),
        "--slot",
        "5",
        "--json",
    ]);
    assert_eq!(v["chunks"].as_array().unwrap().len(), 4);
    assert_eq!(
        v["preset"],
        Value::Null,
        "a modified preset is a custom spec"
    );
    assert_eq!(v["timetable"]["slot"], 5);

    // --toml prints a complete file that loads back to the same spec.
    let out = chunkseq(&["spec", "--file", path.to_str().unwrap(), "--toml"]);
    let full = dir.path().join("full.toml");
    std::fs::write(&full, &out.stdout).unwrap();
    let again = json(&[
        "spec",
        "--file",
        full.to_str().unwrap(),
        "--slot",
        "5",
        "--json",
    ]);
    assert_eq!(again["spec_hash"], v["spec_hash"]);
}

#[test]
fn bad_specs_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "preset = \"devnet\"\nslot_duration_ms = 4000\nchunks_per_slot = 64\n",
    )
    .unwrap();
    let out = chunkseq(&["spec", "--file", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot hold 64 chunks"), "{err}");

    let out = chunkseq(&["spec", "--preset", "devnet", "--slot", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("first slot with blocks is slot 1"));

    let out = chunkseq(&["spec", "--file", "/nonexistent/chain.toml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/chain.toml"), "{err}");
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "the cause is printed once: {err}"
    );

    let out = chunkseq(&["spec", "--file", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than the limit"));
}

fn write_password(dir: &Path, password: &str) -> String {
    let path = dir.join("password");
    std::fs::write(&path, format!("{password}\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn keys_new_then_show() {
    let dir = tempfile::tempdir().unwrap();
    let pw = write_password(dir.path(), "correct horse");
    let key = dir.path().join("validator.json");
    let key = key.to_str().unwrap();
    let out = chunkseq(&["keys", "new", "--out", key, "--password-file", &pw]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let address = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        address.starts_with("0x") && address.len() == 42,
        "{address}"
    );

    let shown = chunkseq(&["keys", "show", key]);
    assert_eq!(String::from_utf8(shown.stdout).unwrap().trim(), address);
    let verified = chunkseq(&["keys", "show", key, "--password-file", &pw]);
    assert_eq!(String::from_utf8(verified.stdout).unwrap().trim(), address);

    let wrong = write_password(dir.path(), "wrong");
    let out = chunkseq(&["keys", "show", key, "--password-file", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));

    let nodir = dir.path().join("missing/validator.json");
    let out = chunkseq(&[
        "keys",
        "new",
        "--out",
        nodir.to_str().unwrap(),
        "--password-file",
        &pw,
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let again = chunkseq(&["keys", "new", "--out", key, "--password-file", &wrong]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

/// A keystore written by foundry's `cast wallet import` (see
/// scripts/gen-cast-vectors.py) decrypts to the key it was made from.
#[test]
fn reads_a_keystore_made_by_cast() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cast-keystore.json"
    );
    let dir = tempfile::tempdir().unwrap();
    let pw = write_password(dir.path(), "chunkseq-test");
    let out = chunkseq(&["keys", "show", fixture, "--password-file", &pw]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    );
    // cast records no address, so without the password there is nothing to show.
    let out = chunkseq(&["keys", "show", fixture]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-file"));
}

#[test]
fn no_placeholder_subcommands() {
    let out = chunkseq(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for present in ["spec", "keys", "bench", "l1", "sim"] {
        assert!(help.contains(present), "{help}");
    }
}

#[test]
fn bench_exec_reports_every_figure() {
    for kind in ["transfer", "erc20"] {
        let v = json(&[
            "bench",
            "exec",
            "--txs",
            "300",
            "--block-txs",
            "100",
            "--senders",
            "30",
            "--kind",
            kind,
            "--json",
        ]);
        assert_eq!(v["blocks"], 3, "{kind}");
        for field in [
            "build_tps",
            "reexec_tps",
            "reexec_cold_tps",
            "revm_baseline_tps",
            "commit_ms_per_block",
            "state_root_ms_per_block",
            "sender_recovery_per_s",
        ] {
            assert!(v[field].as_f64().unwrap() > 0.0, "{kind}: {field} in {v}");
        }
        assert_eq!(
            v["unwind_10_blocks_ms"],
            Value::Null,
            "three blocks cannot unwind ten"
        );
    }
    let out = chunkseq(&["bench", "exec", "--txs", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be positive"));
}

#[test]
fn bench_da_reports_every_figure() {
    let common = [
        "bench",
        "da",
        "--txs",
        "300",
        "--block-txs",
        "100",
        "--senders",
        "30",
        "--runs",
        "1",
        "--json",
    ];
    let v = json(&common);
    assert_eq!(v["codec"], "columnar+zstd");
    for field in [
        "commitment_ms",
        "blob_proof_ms",
        "cell_proofs_ms",
        "verify_ms",
    ] {
        assert!(
            v["full_blob"][field].as_f64().unwrap() > 0.0,
            "{field} in {v}"
        );
    }
    let rows = v["rows"].as_array().unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["transfer", "transfer-fresh", "erc20"]);
    for r in rows {
        assert_eq!(r["blocks"], 3, "{r}");
        assert_eq!(r["blobs"], 1, "{r}");
        let (raw, per_tx) = (
            r["raw_bytes_per_tx"].as_f64().unwrap(),
            r["bytes_per_tx"].as_f64().unwrap(),
        );
        assert!(per_tx > 64.0 && per_tx < raw, "{r}");
        for field in [
            "encode_ms",
            "commitments_ms",
            "cell_proofs_ms",
            "total_6_blobs_ms",
            "decode_ms",
        ] {
            assert!(r[field].as_f64().unwrap() > 0.0, "{field} in {r}");
        }
    }

    let v = json(&[&common[..], &["--compare"]].concat());
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3 * 14, "three workloads at 300 txs, 14 options");
    assert!(rows.iter().any(|r| r["compressor"] == "brotli"));

    let out = chunkseq(&["bench", "da", "--codec", "plain+brotli"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("columnar+zstd"));
    let out = chunkseq(&["bench", "da", "--runs", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be positive"));
}

#[test]
fn bench_l1_reports_gas_rows() {
    let v = json(&[
        "bench",
        "l1",
        "--validators",
        "4",
        "--txs-per-block",
        "5",
        "--json",
    ]);
    let rows = v["checkpoints"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["blocks"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 1, 2, 2, 4, 4, 8, 8],
        "each size in blobs and in calldata"
    );
    for r in rows {
        assert_eq!(r["committee"], 4);
        assert_eq!(r["attestations"], 3);
        let (excl, incl) = (
            r["gas_excluding_tx_data"].as_u64().unwrap(),
            r["gas_including_tx_data"].as_u64().unwrap(),
        );
        assert_eq!(r["gas"], r["gas_including_tx_data"]);
        let blobs = r["blobs"].as_u64().unwrap();
        match r["data_mode"].as_str().unwrap() {
            "blobs" => {
                assert!(blobs >= 1, "{r}");
                assert_eq!(r["blob_gas"].as_u64().unwrap(), blobs * 131_072, "{r}");
                // Data in blobs: the calldata is the same either way.
                assert!(excl > 21_000 && incl > 21_000, "{r}");
            }
            "calldata" => {
                assert_eq!((blobs, r["blob_gas"].as_u64().unwrap()), (0, 0), "{r}");
                assert!(excl > 21_000 && incl > excl, "{r}");
            }
            other => panic!("data_mode {other}"),
        }
        assert!(r["data_bytes_per_tx"].as_f64().unwrap() > 0.0, "{r}");
    }
    let calls: Vec<&str> = v["slashing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["call"].as_str().unwrap())
        .collect();
    assert_eq!(
        calls,
        [
            "slashProposalEquivocation",
            "slashAttestationEquivocation",
            "slashCheckpointOmission"
        ]
    );
}

#[test]
fn l1_deploy_registers_validators_on_anvil() {
    let Some(anvil) = chunkseq_l1::AnvilProcess::locate() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but anvil is not installed"
        );
        eprintln!("skipped: anvil not found");
        return;
    };
    let node = chunkseq_l1::AnvilProcess::spawn(&anvil, &["--silent".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("deployer.key");
    std::fs::write(
        &key,
        format!("0x{}\n", hex::encode(chunkseq_l1::rpc::ANVIL_DEPLOYER_KEY)),
    )
    .unwrap();
    let url = node.url();
    let key = key.to_str().unwrap();
    let args = [
        "l1",
        "deploy",
        "--rpc",
        url.as_str(),
        "--key",
        key,
        "--validators",
        "3",
        "--json",
    ];
    let v = json(&args);
    assert_eq!(
        v["rollup"].as_str().unwrap().to_lowercase(),
        "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "the preset's address: the deployer's first transaction"
    );
    assert_eq!(v["validators"].as_array().unwrap().len(), 3);
    // A second deployment lands elsewhere, and says the spec does not name it.
    let out = chunkseq(&args);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: the contract landed at"));
    // An unreachable node and a malformed key fail with a clear message.
    let out = chunkseq(&["l1", "deploy", "--rpc", "http://127.0.0.1:1", "--key", key]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("eth_chainId"));
    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "not a key\n").unwrap();
    let out = chunkseq(&["l1", "deploy", "--key", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("32-byte hex private key"));
}

#[test]
fn sim_runs_a_scenario_and_reports_json() {
    let out = chunkseq(&["sim", "--list"]);
    let list = String::from_utf8(out.stdout).unwrap();
    for name in ["happy", "equivocation", "missed-publish", "partition"] {
        assert!(list.contains(name), "{list}");
    }
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("r.json");
    let out = chunkseq(&[
        "sim",
        "--scenario",
        "missed-publish",
        "--slots",
        "4",
        "--seed",
        "3",
        "--quiet",
        "--no-rescue",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    for key in [
        "preset",
        "slots",
        "seed",
        "blocks_proposed",
        "blocks_provisional",
        "checkpoints",
        "txs_submitted",
        "txs_provisional",
        "txs_checkpointed",
        "throughput_tps",
        "reorgs",
        "slashings",
        "invariant_violations",
        "digest",
        "sim_speedup",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["latency_ms"]["provisional"]["p50"].as_f64().unwrap() > 0.0);
    assert_eq!(v["reorgs"][0]["depth_slots"], 2, "staggered: two slots");
    // With rescue (the default) the same run reorgs nothing: slot 2 is
    // rescued.
    let out = chunkseq(&[
        "sim",
        "--scenario",
        "missed-publish",
        "--slots",
        "4",
        "--seed",
        "3",
        "--quiet",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("rescued slots 1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(
        v["reorgs"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["reorgs"]
    );
    assert_eq!(v["rescued_slots"], serde_json::json!([2]));
    assert!(v["l1_refusals"].is_object());
    // Unknown scenarios and bad flags fail clearly.
    let out = chunkseq(&["sim", "--scenario", "no-such-thing"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sim --list"));
    let out = chunkseq(&["sim", "--validators", "0", "--quiet"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("validators"));
}

#[test]
fn sim_sweep_and_calibrate() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("sweep.json");
    let out = chunkseq(&[
        "sim",
        "sweep",
        "--scenario",
        "happy",
        "--param",
        "chunks_per_slot=2,4",
        "--slots",
        "2",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["params"]["chunks_per_slot"], "4");
    let cpu = dir.path().join("cpu.toml");
    let out = chunkseq(&[
        "sim",
        "calibrate",
        "--txs",
        "500",
        "--out",
        cpu.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&cpu).unwrap();
    assert!(text.contains("ns_per_gas") && text.contains("ns_per_signature"));
    let out = chunkseq(&[
        "sim",
        "--slots",
        "2",
        "--quiet",
        "--cpu",
        cpu.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `chunkseq node --dev` is a one-node chain on its own: it prints the
/// developer accounts, funds them, and makes blocks a client can read.
#[test]
fn node_dev_is_a_one_node_chain_with_funded_developer_accounts() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkseq"))
        .args([
            "node",
            "--dev",
            "--rpc",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let _child = Kill(child);
    let accounts: Vec<String> = stdout.lines().take(11).map(Result::unwrap).collect();
    assert!(accounts[0].contains("test test test"), "{accounts:?}");
    assert!(
        accounts[1].contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        "{accounts:?}"
    );
    // Its logs are read to the end, or a full pipe would stall the node.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(r) = line.strip_prefix("node running: rpc ") {
                let _ = tx.send(r.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    let rpc = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the node says where its RPC is");
    let call = |method: &str, params: Value| -> Value {
        let out = Command::new("curl")
            .args(["-s", "-H", "content-type: application/json", "--data"])
            .arg(
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
                    .to_string(),
            )
            .arg(&rpc)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["result"].clone()
    };
    let balance = call(
        "eth_getBalance",
        serde_json::json!(["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest"]),
    );
    // 10,000 ether.
    assert_eq!(balance, "0x21e19e0c9bab2400000", "{balance}");
    let number =
        |v: Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let start = std::time::Instant::now();
    while number(call("eth_blockNumber", serde_json::json!([]))) < 2 {
        assert!(
            start.elapsed().as_secs() < 60,
            "no blocks from the dev node"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `chunkseq bench protection` measures the redb file, PostgreSQL and a
/// racing pair in one run (skipped without PostgreSQL outside CI).
#[test]
fn bench_protection_measures_redb_postgres_and_a_pair() {
    let out = chunkseq(&["bench", "protection", "--signatures", "200", "--json"]);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            std::env::var("CI").as_deref() != Ok("true") && err.contains("not found"),
            "{err}"
        );
        eprintln!("skipped: {err}");
        return;
    }
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let stores: Vec<&str> = rows.iter().map(|r| r["store"].as_str().unwrap()).collect();
    assert_eq!(
        stores,
        ["redb file", "PostgreSQL", "PostgreSQL, a pair racing"]
    );
    for r in &rows {
        assert!(r["per_second"].as_f64().unwrap() > 0.0, "{r}");
        assert!(
            r["p99_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap(),
            "{r}"
        );
    }
    assert_eq!(rows[0]["signatures"], 200);
    assert_eq!(rows[2]["signatures"], 400, "two racers, 200 duties each");
}
