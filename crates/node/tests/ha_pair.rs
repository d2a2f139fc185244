//! A validator pair on a devnet: validator 1 runs as two nodes with one key
//! over one PostgreSQL slashing-protection database, and the run stops the
//! pair's active node (as `kill -9` would) every few seconds, then starts it
//! again. Whatever the kills hit (a proposer slot mid-build, a checkpoint
//! waiting to land, attestations), no node may find a conflicting signature
//! of the pair's key, L1 may slash nobody, and the pair's slots must still
//! be built and checkpointed while one of the two is up.
//!
//! The PostgreSQL server is a throwaway cluster of Debian's binaries; the
//! test skips without them, and fails without them under `CI=true`.
//! `CHUNKSEQ_HA_KILLS` sets the number of kills (20 by default). A second
//! run stops the database itself for a while: both nodes of the pair sign
//! nothing and say so, then sign again by themselves once it is back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::{sync::Arc, time::Duration};

use chunkseq_node::{
    devnet::{Devnet, DevnetConfig},
    rpc::NodeStatus,
};
use chunkseq_signer::ThrowawayCluster;
use jsonrpsee::{core::client::ClientT, rpc_params};
use jsonrpsee_http_client::HttpClientBuilder;

async fn signing(addr: std::net::SocketAddr) -> Option<String> {
    let c = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .ok()?;
    let status: NodeStatus = c.request("chunkseq_status", rpc_params![]).await.ok()?;
    status.signing
}

fn cluster() -> Option<ThrowawayCluster> {
    match ThrowawayCluster::start_fast() {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no PostgreSQL: {e}"
            );
            eprintln!("skipped: {e}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pair_survives_kills_of_its_active_node_without_a_conflicting_signature() {
    let Some(pg) = cluster() else { return };
    let kills: u64 = std::env::var("CHUNKSEQ_HA_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(20);
    // Every 5 s against 8 s slots: the kills land at every point of the
    // pair's proposer slots and of the slots it attests.
    let period = Duration::from_secs(5);
    let slots = (kills * period.as_secs()).div_ceil(8) + 2;
    let devnet = Devnet::start(DevnetConfig {
        slots: Some(slots),
        tps: 20.0,
        rpc_port: 0,
        lead_seconds: 2,
        ha_pair: Some(1),
        protection_db: Some(pg.url()),
        kill_active_every: Some(period),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let report = devnet.run(std::future::pending()).await.unwrap();
    let ha = report
        .ha
        .clone()
        .expect("the report has the pair's figures");
    eprintln!(
        "kills {}, failovers {}, conflicting {}, checkpoints {}/{}, reorgs {}",
        ha.ha_kills,
        ha.ha_failovers,
        ha.conflicting_signatures,
        report.checkpoints,
        report.slots,
        report.reorgs.len()
    );
    assert!(ha.ha_kills >= kills, "{ha:?}");
    assert_eq!(ha.conflicting_signatures, 0, "{ha:?}");
    assert!(report.slashings.is_empty(), "{:?}", report.slashings);
    // Some kills hit the pair while it built or published a slot of its
    // own, and the partner carried the slot on.
    assert!(ha.ha_failovers >= 1, "{ha:?}");
    // The pair's slots (every fourth) are built and checkpointed: a slot
    // is lost only when both nodes are down, or the one left is still
    // catching up after its restart.
    assert!(ha.ha_slots_built * 4 + 8 >= report.slots, "{ha:?}");
    assert!(
        ha.ha_slots_checkpointed * 4 >= ha.ha_slots_built * 3,
        "{ha:?}"
    );
    assert!(
        report.checkpoints * 4 >= report.slots * 3,
        "{} of {} slots checkpointed",
        report.checkpoints,
        report.slots
    );
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pair_signs_nothing_while_its_database_is_down_and_resumes_after() {
    let Some(pg) = cluster() else { return };
    let pg = Arc::new(pg);
    // Five validators: the committee still reaches its threshold while
    // the pair cannot sign.
    let devnet = Devnet::start(DevnetConfig {
        nodes: 5,
        slots: Some(7),
        tps: 20.0,
        rpc_port: 0,
        lead_seconds: 2,
        ha_pair: Some(1),
        protection_db: Some(pg.url()),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let h = devnet.handle();
    let (a, b) = (h.rpc(1), h.rpc(5));
    let db = Arc::clone(&pg);
    let watcher = tokio::spawn(async move {
        // Genesis, then two slots of signing.
        tokio::time::sleep(Duration::from_secs(20)).await;
        let before = (signing(a).await, signing(b).await);
        let halt = Arc::clone(&db);
        tokio::task::spawn_blocking(move || halt.halt())
            .await
            .unwrap()
            .unwrap();
        // Attestations are due every chunk (1 s); each waits at most 2 s.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let during = (signing(a).await, signing(b).await);
        tokio::time::sleep(Duration::from_secs(4)).await;
        tokio::task::spawn_blocking(move || db.resume())
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(8)).await;
        let after = (signing(a).await, signing(b).await);
        (before, during, after)
    });
    let report = devnet.run(std::future::pending()).await.unwrap();
    let (before, during, after) = watcher.await.unwrap();
    eprintln!("before {before:?}\nduring {during:?}\nafter {after:?}");
    let ok = Some("ok".to_owned());
    assert_eq!(before, (ok.clone(), ok.clone()));
    for s in [&during.0, &during.1] {
        assert!(
            s.as_deref().is_some_and(|s| s.starts_with("unavailable")),
            "{during:?}"
        );
    }
    assert_eq!(after, (ok.clone(), ok), "signing resumes by itself");
    let ha = report.ha.clone().unwrap();
    assert_eq!(ha.conflicting_signatures, 0, "{ha:?}");
    assert!(report.slashings.is_empty(), "{:?}", report.slashings);
    assert!(report.checkpoints >= 5, "{report:?}");
    drop(pg);
}
