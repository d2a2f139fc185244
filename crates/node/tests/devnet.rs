//! Four-node devnets on loopback: every slot checkpointed, websocket
//! subscribers see blocks and reorgs, a killed node restarts from its data
//! directory, and a node started late catches up, from its peers or, with
//! none, from L1's logs.
//!
//! Each test runs a real devnet for several 8 s slots, at a light load so
//! that the four of them run side by side on two cores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::Duration;

use chunkseq_node::devnet::{Control, Devnet, DevnetConfig};
use chunkseq_node::rpc::NodeStatus;
use jsonrpsee::{
    core::client::{ClientT, SubscriptionClientT},
    rpc_params,
};
use jsonrpsee_http_client::HttpClientBuilder;

fn cfg(slots: u64, tps: f64) -> DevnetConfig {
    DevnetConfig {
        slots: Some(slots),
        tps,
        rpc_port: 0,
        lead_seconds: 2,
        ..DevnetConfig::default()
    }
}

async fn status(addr: std::net::SocketAddr) -> Option<NodeStatus> {
    let c = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .ok()?;
    c.request("chunkseq_status", rpc_params![]).await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_nodes_checkpoint_every_slot_and_stream_blocks_over_websocket() {
    let devnet = Devnet::start(cfg(3, 40.0)).await.unwrap();
    let h = devnet.handle();
    let ws = jsonrpsee_ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", h.rpc(0)))
        .await
        .unwrap();
    let mut blocks = ws
        .subscribe::<serde_json::Value, _>(
            "chunkseq_subscribe",
            rpc_params!["provisional"],
            "chunkseq_unsubscribe",
        )
        .await
        .unwrap();
    let mut checkpoints = ws
        .subscribe::<serde_json::Value, _>(
            "chunkseq_subscribe",
            rpc_params!["checkpoints"],
            "chunkseq_unsubscribe",
        )
        .await
        .unwrap();
    let bad = ws
        .subscribe::<serde_json::Value, _>(
            "chunkseq_subscribe",
            rpc_params!["everything"],
            "chunkseq_unsubscribe",
        )
        .await;
    assert!(bad.is_err(), "unknown subscription kinds are refused");
    let report = devnet.run(std::future::pending()).await.unwrap();
    assert_eq!(report.checkpoints, 3, "{report:?}");
    assert!(report.reorgs.is_empty());
    assert!(report.txs_submitted > 100);
    assert_eq!(
        report.txs_checkpointed, report.txs_submitted,
        "every transaction ends checkpointed"
    );
    let mut seen = 0u64;
    while let Ok(Some(Ok(b))) =
        tokio::time::timeout(Duration::from_millis(100), blocks.next()).await
    {
        assert_eq!(b["kind"], "provisional");
        assert!(b["block"]["number"].as_u64().is_some());
        seen += 1;
    }
    assert!(
        seen >= report.blocks_provisional.saturating_sub(1),
        "{seen} of {}",
        report.blocks_provisional
    );
    let mut cps = 0;
    while let Ok(Some(Ok(c))) =
        tokio::time::timeout(Duration::from_millis(100), checkpoints.next()).await
    {
        assert_eq!(c["kind"], "checkpoint");
        let l1_tx = c["l1Tx"].as_str().unwrap_or_default();
        assert!(
            l1_tx.len() == 66 && l1_tx != format!("0x{}", "0".repeat(64)),
            "a checkpoint names its L1 transaction: {c}"
        );
        cps += 1;
    }
    assert!(cps >= 3, "{cps} checkpoint notifications");
}

/// A withheld checkpoint is rescued by the other nodes: nothing is
/// reorged, and `checkpoints` subscribers hear the node's own rescue and
/// the rescued checkpoint with its rescuer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withheld_checkpoint_is_rescued_and_websocket_subscribers_hear_of_it() {
    let devnet = Devnet::start(DevnetConfig {
        withhold_checkpoint: Some(2),
        ..cfg(4, 20.0)
    })
    .await
    .unwrap();
    let h = devnet.handle();
    let ws = jsonrpsee_ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", h.rpc(0)))
        .await
        .unwrap();
    let mut checkpoints = ws
        .subscribe::<serde_json::Value, _>(
            "chunkseq_subscribe",
            rpc_params!["checkpoints"],
            "chunkseq_unsubscribe",
        )
        .await
        .unwrap();
    let report = devnet.run(std::future::pending()).await.unwrap();
    assert!(report.reorgs.is_empty(), "{:?}", report.reorgs);
    assert_eq!(report.rescued_slots, vec![2], "{report:?}");
    assert!(report.slashings.is_empty());
    assert_eq!(report.txs_checkpointed, report.txs_submitted);
    let mut rescued = None;
    while let Ok(Some(Ok(c))) =
        tokio::time::timeout(Duration::from_millis(200), checkpoints.next()).await
    {
        if c["kind"] == "checkpoint" && c["slot"] == 2 {
            rescued = Some(c);
        }
    }
    let c = rescued.expect("slot 2's checkpoint was notified");
    assert_eq!(c["rescuedBy"].as_str().map(str::len), Some(42), "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_rescue_a_withheld_checkpoint_reorgs_and_websocket_subscribers_hear_of_it() {
    let devnet = Devnet::start(DevnetConfig {
        withhold_checkpoint: Some(2),
        rescue: false,
        ..cfg(3, 20.0)
    })
    .await
    .unwrap();
    let h = devnet.handle();
    let ws = jsonrpsee_ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", h.rpc(0)))
        .await
        .unwrap();
    let mut reorgs = ws
        .subscribe::<serde_json::Value, _>(
            "chunkseq_subscribe",
            rpc_params!["reorgs"],
            "chunkseq_unsubscribe",
        )
        .await
        .unwrap();
    // The same reorg as Ethereum clients see it: the load's ERC-20
    // transfers log, and retracted logs come again with `removed: true`.
    let mut logs = ws
        .subscribe::<serde_json::Value, _>(
            "eth_subscribe",
            rpc_params!["logs", {}],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    let mut heads = ws
        .subscribe::<serde_json::Value, _>(
            "eth_subscribe",
            rpc_params!["newHeads"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    let mut pooled = ws
        .subscribe::<serde_json::Value, _>(
            "eth_subscribe",
            rpc_params!["newPendingTransactions"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    // While the devnet runs: as soon as the reorg is announced, the
    // retracted transactions have no receipt in a retracted block.
    let http = HttpClientBuilder::default()
        .build(format!("http://{}", h.rpc(0)))
        .unwrap();
    let checker = async {
        let r = tokio::time::timeout(Duration::from_secs(120), reorgs.next())
            .await
            .expect("a reorg notice")
            .expect("stream open")
            .unwrap();
        let blocks = r["retractedBlocks"].as_array().unwrap().clone();
        let txs = r["retractedTxs"].as_array().unwrap().clone();
        assert!(
            !txs.is_empty(),
            "the load's transactions were retracted: {r}"
        );
        for tx in txs.iter().take(50) {
            let receipt: serde_json::Value = http
                .request("eth_getTransactionReceipt", rpc_params![tx.clone()])
                .await
                .unwrap();
            assert!(
                receipt.is_null() || !blocks.contains(&receipt["blockHash"]),
                "a receipt in a retracted block: {receipt}"
            );
        }
        r
    };
    let (report, r) = tokio::join!(devnet.run(std::future::pending()), checker);
    let report = report.unwrap();
    assert!(!report.reorgs.is_empty(), "{report:?}");
    assert_eq!(r["kind"], "reorg");
    let hash = tokio::time::timeout(Duration::from_millis(200), pooled.next())
        .await
        .expect("a pending transaction")
        .expect("stream open")
        .unwrap();
    assert_eq!(hash.as_str().unwrap().len(), 66, "{hash}");
    let retracted: Vec<String> = serde_json::from_value(r["retractedBlocks"].clone()).unwrap();
    let mut added = std::collections::HashSet::new();
    let mut removed = 0;
    while let Ok(Some(Ok(log))) =
        tokio::time::timeout(Duration::from_millis(200), logs.next()).await
    {
        let key = (log["blockHash"].to_string(), log["logIndex"].to_string());
        if log["removed"] == true {
            assert!(
                added.contains(&key),
                "a log removed before it was sent: {log}"
            );
            assert!(
                retracted.contains(&log["blockHash"].as_str().unwrap().to_owned()),
                "{log}"
            );
            removed += 1;
        } else {
            added.insert(key);
        }
    }
    assert!(!added.is_empty(), "no logs streamed");
    assert!(removed > 0, "the reorg removed no logs: {r}");
    let mut head_numbers = Vec::new();
    while let Ok(Some(Ok(h))) = tokio::time::timeout(Duration::from_millis(200), heads.next()).await
    {
        assert_eq!(h["hash"].as_str().unwrap().len(), 66, "{h}");
        head_numbers.push(h["number"].as_str().unwrap().to_owned());
    }
    assert!(head_numbers.len() > 4, "{head_numbers:?}");
    let slots: Vec<u64> = serde_json::from_value(r["slots"].clone()).unwrap();
    assert!(slots.contains(&2), "{r}");
    assert!(
        slots.len() <= 2,
        "staggered reorgs reach back two slots at most: {r}"
    );
    assert!(!r["retractedBlocks"].as_array().unwrap().is_empty());
    assert!(
        report.slashings.is_empty(),
        "withholding a whole checkpoint is not an omission"
    );
}

async fn wait_until_following(
    h: &chunkseq_node::devnet::DevnetHandle,
    node: usize,
    deadline: Duration,
) -> (NodeStatus, NodeStatus) {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (Some(me), Some(other)) = (status(h.rpc(node)).await, status(h.rpc(0)).await) else {
            assert!(
                tokio::time::Instant::now() < until,
                "node {node} never answered"
            );
            continue;
        };
        if me.synced
            && me.checkpointed.0 > 0
            && me.checkpointed == other.checkpointed
            && me.provisional.0 + 2 >= other.provisional.0
        {
            return (me, other);
        }
        assert!(
            tokio::time::Instant::now() < until,
            "node {node} does not follow: {me:?} vs {other:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_restarts_from_its_data_dir_and_follows_the_tips() {
    let devnet = Devnet::start(cfg(5, 20.0)).await.unwrap();
    let h = devnet.handle();
    let run = tokio::spawn(devnet.run(std::future::pending()));
    // Two slots in, kill node 3 and bring it back four seconds later.
    tokio::time::sleep(Duration::from_secs(18)).await;
    let before = status(h.rpc(3)).await.expect("node 3 up");
    assert!(before.checkpointed.0 > 0, "{before:?}");
    h.control.send(Control::Kill(3)).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    h.control.send(Control::Start(3)).unwrap();
    let (me, _) = wait_until_following(&h, 3, Duration::from_secs(30)).await;
    assert!(me.checkpointed.0 >= before.checkpointed.0);
    let report = run.await.unwrap().unwrap();
    assert!(
        report.slashings.is_empty(),
        "no conflicting signature: {:?}",
        report.slashings
    );
    // Killing or missing a proposer costs its slot (and, staggered, the
    // next), nothing more.
    assert!(report.checkpoints >= 2, "{report:?}");
}

/// A devnet of `slots` slots whose node 3 starts only when told, running in
/// the background, and node 0's status at its first checkpoint.
async fn start_node_3_late(
    slots: u64,
    data_mode: Option<chunkseq_primitives::DataMode>,
) -> (
    chunkseq_node::devnet::DevnetHandle,
    tokio::task::JoinHandle<Result<chunkseq_report::Report, chunkseq_node::devnet::DevnetError>>,
    NodeStatus,
) {
    let devnet = Devnet::start(DevnetConfig {
        start_later: vec![3],
        data_mode,
        ..cfg(slots, 20.0)
    })
    .await
    .unwrap();
    let h = devnet.handle();
    let run = tokio::spawn(devnet.run(std::future::pending()));
    let before = first_checkpoint(&h).await;
    (h, run, before)
}

/// Waits for node 0's first checkpoint, made while node 3 is not yet up:
/// three of four validators meet the threshold of three (slots whose
/// proposer is node 3 have none).
async fn first_checkpoint(h: &chunkseq_node::devnet::DevnetHandle) -> NodeStatus {
    let mut before = status(h.rpc(0)).await.expect("node 0 up");
    for _ in 0..120 {
        if before.checkpointed.0 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        before = status(h.rpc(0)).await.expect("node 0 up");
    }
    assert!(
        before.checkpointed.0 > 0,
        "no checkpoint before the late start: {before:?}"
    );
    before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_started_late_catches_up_before_taking_part() {
    let (h, run, before) = start_node_3_late(7, None).await;
    h.control.send(Control::Start(3)).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (me, other) = wait_until_following(&h, 3, Duration::from_secs(30)).await;
    assert!(
        me.checkpointed.0 >= before.checkpointed.0,
        "caught up with what was checkpointed before it started: {me:?} {other:?} {before:?}"
    );
    let report = run.await.unwrap().unwrap();
    assert!(report.slashings.is_empty());
    // Killing or missing a proposer costs its slot (and, staggered, the
    // next), nothing more.
    assert!(report.checkpoints >= 2, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_started_late_with_no_peers_catches_up_from_l1_and_blobs_alone() {
    // Blobs only: every checkpoint the node reads back is in blobs, which
    // the embedded L1 serves and the node checks against their hashes.
    let (h, run, before) = start_node_3_late(6, Some(chunkseq_primitives::DataMode::Blobs)).await;
    h.control.send(Control::StartIsolated(3)).unwrap();
    // Well inside the 20 s after which a node gives up catching up and
    // takes part anyway: being level with the others in time means L1's
    // logs served it.
    let until = tokio::time::Instant::now() + Duration::from_secs(15);
    let (me, other) = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (Some(me), Some(other)) = (status(h.rpc(3)).await, status(h.rpc(0)).await) else {
            assert!(tokio::time::Instant::now() < until, "node 3 never answered");
            continue;
        };
        if me.synced && me.checkpointed == other.checkpointed {
            break (me, other);
        }
        assert!(
            tokio::time::Instant::now() < until,
            "node 3 did not catch up from L1: {me:?} vs {other:?}"
        );
    };
    assert_eq!(me.peers, 0, "isolated: {me:?}");
    assert!(
        me.checkpointed.0 >= before.checkpointed.0,
        "{me:?} {other:?} {before:?}"
    );
    let report = run.await.unwrap().unwrap();
    assert!(report.slashings.is_empty(), "{:?}", report.slashings);
    assert_eq!(report.data_mode, "blobs", "{report:?}");
    assert!(report.checkpoint_blobs >= report.checkpoints, "{report:?}");
}
