//! Prometheus metrics of one node, grouped by component (`proposer`,
//! `attester`, `follower`, `pool`, `net`, `rpc`), served on `/metrics`.

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

fn seconds() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

fn counts() -> Histogram {
    Histogram::new([0.0, 1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_000.0])
}

fn gas() -> Histogram {
    Histogram::new([21_000.0, 210_000.0, 1e6, 2.1e6, 5e6, 10e6, 20e6, 30e6, 60e6])
}

/// The node's metrics.
#[derive(Debug)]
pub struct NodeMetrics {
    registry: Registry,
    /// Time from opening a block to sealing it.
    pub build_duration: Histogram,
    /// Transactions per built block.
    pub block_txs: Histogram,
    /// Gas per built block.
    pub block_gas: Histogram,
    /// From sending a proposal to its block becoming provisional here.
    pub attestation_round_trip: Histogram,
    /// Time the core spent on a proposal (re-execution and attestation).
    pub reexecution: Histogram,
    /// From RPC submission to the provisional tip.
    pub provisional_latency: Histogram,
    /// From RPC submission to the checkpointed tip.
    pub checkpoint_latency: Histogram,
    /// Provisional blocks accepted.
    pub provisional_blocks: Counter,
    /// Checkpoints applied.
    pub checkpoints: Counter,
    /// Reorgs.
    pub reorgs: Counter,
    /// Evidence found.
    pub evidence: Counter,
    /// Slots this node took over from its validator-pair partner.
    pub ha_failovers: Counter,
    /// Gossip messages rejected.
    pub gossip_rejected: Counter,
    /// Gossip messages dropped, by reason: `queue_full` and `timeout` (a
    /// slow peer's send queue), `publish_failed` (no peer could take it),
    /// `inbound_backlog` (transaction messages from peers the core could
    /// not keep up with).
    pub gossip_dropped: Family<Vec<(String, String)>, Counter>,
    /// Provisional tip height.
    pub provisional_height: Gauge,
    /// 1 while slashing protection cannot be reached and nothing is
    /// signed, 0 otherwise.
    pub signing_unavailable: Gauge,
    /// Signatures refused because slashing protection failed.
    pub signing_refused: Gauge,
    /// Checkpointed tip height.
    pub checkpointed_height: Gauge,
    /// Transactions in the pool.
    pub pool_size: Gauge,
    /// Transactions turned away, by reason (`backlog`, `pool_full`, ...).
    pub tx_refused: Family<Vec<(String, String)>, Counter>,
    /// Connected peers.
    pub peers: Gauge,
    /// RPC requests served.
    pub rpc_requests: Counter,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeMetrics {
    /// Fresh metrics, registered under `chunkseq_<component>_`.
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("chunkseq"),
            build_duration: seconds(),
            block_txs: counts(),
            block_gas: gas(),
            attestation_round_trip: seconds(),
            reexecution: seconds(),
            provisional_latency: seconds(),
            checkpoint_latency: seconds(),
            provisional_blocks: Counter::default(),
            checkpoints: Counter::default(),
            reorgs: Counter::default(),
            evidence: Counter::default(),
            ha_failovers: Counter::default(),
            gossip_rejected: Counter::default(),
            gossip_dropped: Family::default(),
            provisional_height: Gauge::default(),
            signing_unavailable: Gauge::default(),
            signing_refused: Gauge::default(),
            checkpointed_height: Gauge::default(),
            pool_size: Gauge::default(),
            tx_refused: Family::default(),
            peers: Gauge::default(),
            rpc_requests: Counter::default(),
        };
        let r = &mut m.registry;
        let p = r.sub_registry_with_prefix("proposer");
        p.register(
            "build_duration_seconds",
            "Time from opening a block to sealing it",
            m.build_duration.clone(),
        );
        p.register(
            "block_txs",
            "Transactions per built block",
            m.block_txs.clone(),
        );
        p.register("block_gas", "Gas used per built block", m.block_gas.clone());
        p.register(
            "attestation_round_trip_seconds",
            "From sending a proposal to its block becoming provisional",
            m.attestation_round_trip.clone(),
        );
        let a = r.sub_registry_with_prefix("attester");
        a.register(
            "reexecution_seconds",
            "Core time spent on one proposal",
            m.reexecution.clone(),
        );
        let f = r.sub_registry_with_prefix("follower");
        f.register(
            "provisional_latency_seconds",
            "From RPC submission to the provisional tip",
            m.provisional_latency.clone(),
        );
        f.register(
            "checkpoint_latency_seconds",
            "From RPC submission to the checkpointed tip",
            m.checkpoint_latency.clone(),
        );
        f.register(
            "provisional_blocks",
            "Provisional blocks accepted",
            m.provisional_blocks.clone(),
        );
        f.register("checkpoints", "Checkpoints applied", m.checkpoints.clone());
        f.register(
            "reorgs",
            "Reorgs of the provisional chain",
            m.reorgs.clone(),
        );
        f.register("evidence", "Offences detected", m.evidence.clone());
        f.register(
            "ha_failovers",
            "Slots taken over from the partner node of a validator pair",
            m.ha_failovers.clone(),
        );
        f.register(
            "provisional_height",
            "Provisional tip height",
            m.provisional_height.clone(),
        );
        f.register(
            "signing_unavailable",
            "1 while slashing protection is unreachable and nothing is signed",
            m.signing_unavailable.clone(),
        );
        f.register(
            "signing_refused",
            "Signatures refused because slashing protection failed, since start",
            m.signing_refused.clone(),
        );
        f.register(
            "checkpointed_height",
            "Checkpointed tip height",
            m.checkpointed_height.clone(),
        );
        let pool = r.sub_registry_with_prefix("pool");
        pool.register("size", "Transactions in the pool", m.pool_size.clone());
        pool.register(
            "refused",
            "Transactions turned away, by reason",
            m.tx_refused.clone(),
        );
        let n = r.sub_registry_with_prefix("net");
        n.register("peers", "Connected peers", m.peers.clone());
        n.register(
            "gossip_rejected",
            "Gossip messages rejected",
            m.gossip_rejected.clone(),
        );
        n.register(
            "gossip_dropped",
            "Gossip messages dropped, by reason (queue_full, timeout, publish_failed, inbound_backlog)",
            m.gossip_dropped.clone(),
        );
        let rpc = r.sub_registry_with_prefix("rpc");
        rpc.register(
            "requests",
            "JSON-RPC requests served",
            m.rpc_requests.clone(),
        );
        m
    }

    /// Counts `n` gossip messages dropped for `reason`.
    pub fn dropped(&self, reason: &str, n: u64) {
        if n > 0 {
            self.gossip_dropped
                .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
                .inc_by(n);
        }
    }

    /// Gossip messages dropped for `reason` so far.
    pub fn dropped_total(&self, reason: &str) -> u64 {
        self.gossip_dropped
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .get()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_component() {
        let m = NodeMetrics::new();
        m.reorgs.inc();
        m.block_txs.observe(12.0);
        m.dropped("queue_full", 3);
        let text = m.render();
        for name in [
            "chunkseq_proposer_build_duration_seconds",
            "chunkseq_attester_reexecution_seconds",
            "chunkseq_follower_reorgs_total 1",
            "chunkseq_pool_size",
            "chunkseq_net_peers",
            "chunkseq_net_gossip_dropped",
            "chunkseq_rpc_requests_total",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
