//! The devnet's read-load benchmark: `eth_call` and `eth_getBalance` at a
//! fixed rate for a while, spread over the nodes, and what that did to
//! provisional latency (docs/node.md, "Reads under load").
//!
//! Half the reads are `eth_call`s of the load token's `balanceOf` (the EVM
//! runs on a fork of the provisional tip), half `eth_getBalance`, each on a
//! load account in turn, at `latest`. Reads go out open-loop on a fixed
//! schedule, with at most [`MAX_IN_FLIGHT`] unanswered: a node that falls
//! behind shows in the read latency, not in a slower schedule.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use chunkseq_execution::{LOAD_TOKEN_ADDRESS, genesis::ILoadToken};
use chunkseq_report::Percentiles;
use jsonrpsee::{core::client::ClientT, rpc_params};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// Reads unanswered at once, over all nodes.
pub const MAX_IN_FLIGHT: usize = 256;

/// A read load to run: `rps` reads a second for `seconds`, starting when
/// the slot `after_slots` after the first loaded one starts building.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadLoad {
    /// Reads a second, over all nodes.
    pub rps: f64,
    /// Slots before it starts.
    pub after_slots: u64,
    /// Its length.
    pub seconds: u64,
}

/// What the reads saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadStats {
    /// Reads sent.
    pub sent: u64,
    /// Reads answered with an error (or not at all).
    pub failed: u64,
    /// Reads skipped because [`MAX_IN_FLIGHT`] were unanswered.
    pub skipped: u64,
    /// Answer times of the reads that succeeded, ms.
    pub latencies_ms: Vec<f64>,
}

/// Runs the reads from `start` for `length` against `nodes`, on `accounts`.
pub async fn run(
    load: ReadLoad,
    start: tokio::time::Instant,
    nodes: Vec<SocketAddr>,
    accounts: Vec<Address>,
) -> ReadStats {
    let stats = Arc::new(Mutex::new(ReadStats::default()));
    let clients: Vec<HttpClient> = nodes
        .iter()
        .filter_map(|a| {
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(10))
                .max_concurrent_requests(MAX_IN_FLIGHT)
                .build(format!("http://{a}"))
                .ok()
        })
        .collect();
    if clients.is_empty() || accounts.is_empty() || load.rps <= 0.0 {
        return ReadStats::default();
    }
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let period = Duration::from_secs_f64(1.0 / load.rps);
    let end = start + Duration::from_secs(load.seconds);
    let mut tick = tokio::time::interval_at(start, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n: usize = 0;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let at = tick.tick().await;
        if at >= end {
            break;
        }
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            stats.lock().skipped += 1;
            continue;
        };
        let (Some(client), Some(&who)) = (
            clients.get(n % clients.len()).cloned(),
            accounts.get((n / 2) % accounts.len()),
        ) else {
            continue;
        };
        let call = n.is_multiple_of(2);
        n = n.wrapping_add(1);
        let stats = Arc::clone(&stats);
        tasks.spawn(async move {
            let sent = Instant::now();
            let ok = if call {
                let data = ILoadToken::balanceOfCall { owner: who }.abi_encode();
                client
                    .request::<serde_json::Value, _>(
                        "eth_call",
                        rpc_params![
                            serde_json::json!({
                                "to": LOAD_TOKEN_ADDRESS,
                                "data": alloy_primitives::Bytes::from(data),
                            }),
                            "latest"
                        ],
                    )
                    .await
                    .is_ok()
            } else {
                client
                    .request::<serde_json::Value, _>("eth_getBalance", rpc_params![who, "latest"])
                    .await
                    .is_ok()
            };
            let ms = sent.elapsed().as_secs_f64() * 1e3;
            let mut s = stats.lock();
            s.sent += 1;
            if ok {
                s.latencies_ms.push(ms);
            } else {
                s.failed += 1;
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    stats.lock().clone()
}

/// The read load's figures: provisional latency of the transactions sent
/// before, during and after it, and the reads' own.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadLoadSummary {
    /// The load asked for.
    pub load: ReadLoad,
    /// What the reads saw.
    pub reads: ReadStats,
    /// Provisional latency of transactions sent before the reads (p50, p99), ms.
    pub before: (f64, f64),
    /// The same during the reads.
    pub during: (f64, f64),
    /// The same after them.
    pub after: (f64, f64),
}

impl ReadLoadSummary {
    /// Splits `latencies` (`(submitted, provisional latency)`, ms since
    /// the devnet's origin) at the window `[start_ms, end_ms)`.
    pub fn new(
        load: ReadLoad,
        reads: ReadStats,
        latencies: &[(u64, u64)],
        start_ms: u64,
        end_ms: u64,
    ) -> Self {
        let window = |from: u64, to: u64| {
            let l: Vec<f64> = latencies
                .iter()
                .filter(|(at, _)| *at >= from && *at < to)
                .map(|(_, l)| *l as f64)
                .collect();
            let p = Percentiles::of(&l);
            (p.p50, p.p99)
        };
        Self {
            load,
            reads,
            before: window(0, start_ms),
            during: window(start_ms, end_ms),
            after: window(end_ms, u64::MAX),
        }
    }
}

impl std::fmt::Display for ReadLoadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.reads;
        let p = Percentiles::of(&r.latencies_ms);
        let rate = r.sent as f64 / self.load.seconds.max(1) as f64;
        writeln!(
            f,
            "read load: {} reads in {} s ({rate:.0}/s of {} asked), {} failed, {} skipped (in flight at the limit); read p50 {:.1} ms p99 {:.1} ms",
            r.sent, self.load.seconds, self.load.rps, r.failed, r.skipped, p.p50, p.p99
        )?;
        write!(
            f,
            "read load: provisional p50/p99 {:.0}/{:.0} ms before, {:.0}/{:.0} ms during, {:.0}/{:.0} ms after",
            self.before.0, self.before.1, self.during.0, self.during.1, self.after.0, self.after.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_splits_transactions_by_when_they_were_sent() {
        let load = ReadLoad {
            rps: 10.0,
            after_slots: 1,
            seconds: 2,
        };
        let reads = ReadStats {
            sent: 20,
            failed: 1,
            skipped: 0,
            latencies_ms: vec![1.0; 19],
        };
        let s = ReadLoadSummary::new(
            load,
            reads,
            &[(100, 500), (1_500, 900), (2_500, 700), (3_100, 400)],
            1_000,
            3_000,
        );
        assert_eq!(s.before, (500.0, 500.0));
        assert_eq!(s.during.1, 900.0);
        assert_eq!(s.after, (400.0, 400.0));
        let text = s.to_string();
        assert!(
            text.contains("20 reads in 2 s (10/s of 10 asked), 1 failed"),
            "{text}"
        );
    }
}
