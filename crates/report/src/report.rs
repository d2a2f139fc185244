//! The result of a run: the JSON object of docs/design.md section 13 plus what
//! the HTML report draws (latency samples, throughput over time, a per-slot
//! timeline and the offences).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// Percentiles of `samples` (nearest rank); zeros when there are none.
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let pick = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted
                .get(rank.saturating_sub(1).min(sorted.len() - 1))
                .copied()
                .unwrap_or(0.0)
        };
        Self {
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
        }
    }
}

/// Latencies from a transaction's submission to each tip, seen by a follower.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    /// Submission to the provisional tip.
    pub provisional: Percentiles,
    /// Submission to the checkpointed tip.
    pub checkpointed: Percentiles,
}

/// One reorg seen by the observing follower.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReorgRecord {
    /// Virtual time, ms since genesis.
    pub at_ms: u64,
    /// Slots dropped.
    pub slots: Vec<u64>,
    /// Number of slots dropped.
    pub depth_slots: u64,
    /// Blocks dropped.
    pub blocks: usize,
    /// Why: `missed_publish_window` or `checkpoint_differs`.
    pub cause: String,
}

/// One slashing on L1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlashingRecord {
    /// `proposal_equivocation`, `checkpoint_omission` or `attestation_equivocation`.
    pub offence: String,
    /// The offender's address.
    pub validator: String,
    /// Slot of the offence.
    pub slot: u64,
    /// Virtual time of the L1 block, ms since genesis.
    pub at_ms: u64,
}

/// An invariant that failed, with what led to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// What was wrong.
    pub detail: String,
    /// The run's seed.
    pub seed: u64,
    /// Slot at the time.
    pub slot: u64,
    /// Virtual time, ms since genesis.
    pub at_ms: u64,
    /// The last events before it, oldest first.
    pub trail: Vec<String>,
}

/// One block in the timeline: when each step happened, ms since genesis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockTimeline {
    /// Index in the slot.
    pub index: u32,
    /// Transactions.
    pub txs: usize,
    /// Sealed by the proposer.
    pub built_ms: Option<u64>,
    /// Proposal sent.
    pub proposed_ms: Option<u64>,
    /// Provisional at the observing follower.
    pub provisional_ms: Option<u64>,
    /// Attestations the proposer counted.
    pub attestations: usize,
}

/// One slot in the timeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotTimeline {
    /// The slot.
    pub slot: u64,
    /// Proposer index (node number).
    pub proposer: usize,
    /// Start of the slot, ms since genesis.
    pub start_ms: u64,
    /// Its blocks.
    pub blocks: Vec<BlockTimeline>,
    /// L1 inclusion of its checkpoint, ms since genesis.
    pub checkpoint_ms: Option<u64>,
    /// Blocks in the checkpoint.
    pub checkpoint_blocks: u32,
    /// Whether its blocks were dropped by a reorg.
    pub reorged: bool,
}

/// Throughput in one time bucket.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThroughputPoint {
    /// Bucket start, seconds since genesis.
    pub t_s: f64,
    /// Transactions that became provisional in the bucket, per second.
    pub provisional_tps: f64,
    /// Transactions that became checkpointed in the bucket, per second.
    pub checkpointed_tps: f64,
}

/// The report of one run (docs/design.md section 13, plus the simulator's fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Preset name.
    pub preset: String,
    /// Validators.
    pub validators: usize,
    /// Slots run.
    pub slots: u64,
    /// Seed.
    pub seed: u64,
    /// Blocks proposed (sealed and sent by proposers).
    pub blocks_proposed: u64,
    /// Blocks that became provisional at the observing follower.
    pub blocks_provisional: u64,
    /// Checkpoints accepted on L1.
    pub checkpoints: u64,
    /// Transactions sent by the load generator.
    pub txs_submitted: u64,
    /// Transactions turned away. The devnet counts its RPC's refusals, which
    /// do not count as submitted. The simulator counts the load
    /// transactions the observer's pool refused for anything but already
    /// holding them; another node may still include them.
    #[serde(default)]
    pub refused: u64,
    /// `refused` by reason (`pool_full`, `sender_full`, `catching_up`,
    /// `nonce_too_low`, ...; [`crate::refusal_reason`] names them).
    #[serde(default)]
    pub refused_reasons: BTreeMap<String, u64>,
    /// How the submitted checkpoints carried their transactions to L1:
    /// `blobs`, `calldata`, `mixed` (auto mode chose each per checkpoint)
    /// or `none`.
    #[serde(default = "calldata")]
    pub data_mode: String,
    /// Blobs of all submitted checkpoints (their first submission).
    #[serde(default)]
    pub checkpoint_blobs: u64,
    /// Of those, provisional at the observer.
    pub txs_provisional: u64,
    /// Of those, checkpointed at the observer.
    pub txs_checkpointed: u64,
    /// Checkpointed transactions per second of virtual time.
    pub throughput_tps: f64,
    /// Latencies, submission to tip.
    pub latency_ms: Latencies,
    /// Reorgs at the observer.
    pub reorgs: Vec<ReorgRecord>,
    /// Slots whose checkpoint a rescuer published because their proposer
    /// did not (docs/rescue.md).
    #[serde(default)]
    pub rescued_slots: Vec<u64>,
    /// Rescues L1 accepted: one per rescued slot, and one more for each
    /// longer rescue that replaced a shorter one.
    #[serde(default)]
    pub rescues: u64,
    /// L1 calls of the nodes that L1 refused, before or at inclusion, by
    /// `call: reason` (a rescue outside its window, the losers of a race).
    #[serde(default)]
    pub l1_refusals: BTreeMap<String, u64>,
    /// Slashings on L1.
    pub slashings: Vec<SlashingRecord>,
    /// Invariant violations.
    pub invariant_violations: Vec<Violation>,
    /// keccak256 of the event log: equal seeds give equal digests.
    pub digest: String,
    /// Virtual time simulated, seconds.
    pub virtual_seconds: f64,
    /// Wall time taken, seconds (not part of the digest).
    pub wall_seconds: f64,
    /// Virtual time / wall time.
    pub sim_speedup: f64,
    /// A devnet validator pair (`--ha-pair`): what its failovers did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<HaSummary>,
    /// Raw latency samples in ms (provisional), for the CDF.
    pub provisional_samples: Vec<f64>,
    /// Raw latency samples in ms (checkpointed), for the CDF.
    pub checkpointed_samples: Vec<f64>,
    /// Throughput over time.
    pub throughput: Vec<ThroughputPoint>,
    /// Per-slot timeline.
    pub timeline: Vec<SlotTimeline>,
}

/// What a validator pair (two nodes, one key) did over a devnet run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaSummary {
    /// The pair's validator address.
    pub ha_validator: alloy_primitives::Address,
    /// Times the run stopped the pair's active node (`--kill-active-every`).
    pub ha_kills: u64,
    /// Slots one node of the pair took over from the other.
    pub ha_failovers: u64,
    /// Slots of the run whose blocks came from the pair's key.
    pub ha_slots_built: u64,
    /// Of those, checkpointed on L1.
    pub ha_slots_checkpointed: u64,
    /// Offences (equivocation or omission) any node found against the
    /// pair's key, and slashings of it on L1: 0 expected.
    pub conflicting_signatures: u64,
}

/// The data mode of reports written before the field existed.
fn calldata() -> String {
    "calldata".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&samples);
        assert_eq!((p.p50, p.p90, p.p99), (50.0, 90.0, 99.0));
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
        assert_eq!(Percentiles::of(&[7.0]).p99, 7.0);
    }
}
