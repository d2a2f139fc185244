//! What a run measures, and the report built from it.
//!
//! A driver tells a [`Recorder`] what happened, in milliseconds since an
//! origin of its choosing (genesis in the simulator, the start of the run in
//! the devnet):
//!
//! - the transactions its load generator submits ([`Recorder::submitted`]);
//! - its nodes' protocol events ([`Recorder::event`]). A driver that sees
//!   something else (the devnet sees its nodes' notifications) records the
//!   same facts one by one: [`Recorder::block_provisional`],
//!   [`Recorder::tx_checkpointed`], [`Recorder::reorg`] and the rest;
//! - what L1 decided: checkpoints and slashings ([`Recorder::checkpoint`],
//!   [`Recorder::slashed`]), taken from wherever the driver sees L1.
//!
//! Latencies, provisional blocks and reorgs are those one node saw: the
//! observer, named when the recorder is made. [`Recorder::report`] builds the
//! [`Report`] from what was recorded and what only the driver knows
//! ([`RunInfo`]).

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256};
use chunkseq_execution::PoolError;
use chunkseq_protocol::{Event, TxRefused, TxStatus};

use crate::report::{
    BlockTimeline, Latencies, Percentiles, ReorgRecord, Report, SlashingRecord, SlotTimeline,
    ThroughputPoint, Violation,
};

/// The report's name of a slashable offence, from its L1 code (1, 2 or 3).
pub const fn offence_name(code: u8) -> &'static str {
    match chunkseq_protocol::Offence::from_l1_code(code) {
        Some(o) => o.name(),
        None => "unknown",
    }
}

/// A short, stable name for why a transaction was refused: what the
/// report's `refused_reasons` and the node's JSON-RPC errors (`data.reason`)
/// call it. A full pool or sender queue, or a node catching up, may take the
/// transaction later; the other reasons will not change by waiting.
pub fn refusal_reason(r: &TxRefused) -> &'static str {
    match r {
        TxRefused::CatchingUp => "catching_up",
        TxRefused::StateUnavailable(_) => "state_unavailable",
        TxRefused::Backlog { .. } => "backlog",
        TxRefused::Pool(e) => match e {
            PoolError::PoolFull { .. } => "pool_full",
            PoolError::SenderFull { .. } => "sender_full",
            PoolError::AlreadyKnown(_) => "already_known",
            PoolError::NonceTooLow { .. } => "nonce_too_low",
            PoolError::InsufficientFunds { .. } => "insufficient_funds",
            PoolError::FeeCapBelowBaseFee { .. } => "fee_cap_below_base_fee",
            PoolError::Underpriced { .. } => "underpriced",
            PoolError::ReplacementUnderpriced { .. } => "replacement_underpriced",
            _ => "invalid",
        },
    }
}

/// A run's measurements, times in ms since the driver's origin.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    observer: usize,
    submitted: BTreeMap<B256, u64>,
    provisional_at: BTreeMap<B256, u64>,
    checkpointed_at: BTreeMap<B256, u64>,
    proposals: u64,
    provisional_blocks: u64,
    blocks: BTreeMap<(u64, u32), BlockTimeline>,
    builders: BTreeMap<u64, usize>,
    checkpoints: BTreeMap<u64, (u64, u32)>,
    slashings: Vec<(Address, u8, u64, u64)>,
    reorgs: Vec<ReorgRecord>,
    refused: u64,
    refused_reasons: BTreeMap<String, u64>,
    /// Blobs of each slot's submitted checkpoint (0: calldata).
    submitted_blobs: BTreeMap<u64, u32>,
    /// Slots whose checkpoint a rescuer published.
    rescued: std::collections::BTreeSet<u64>,
    /// Rescues L1 accepted (a longer one replacing a shorter counts again).
    rescues: u64,
    /// L1 calls refused (before or at inclusion), by `call: reason`.
    l1_refusals: BTreeMap<String, u64>,
}

/// How the submitted checkpoints carried their data: `blobs`, `calldata`,
/// `mixed` (some each way, as auto mode chooses), or `none` (no checkpoint
/// submitted).
fn data_mode(submitted_blobs: &BTreeMap<u64, u32>) -> &'static str {
    let blobs = submitted_blobs.values().filter(|b| **b > 0).count();
    match (blobs, submitted_blobs.len()) {
        (_, 0) => "none",
        (0, _) => "calldata",
        (b, n) if b == n => "blobs",
        _ => "mixed",
    }
}

/// What the report says that only the driver knows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunInfo {
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
    /// The run's digest.
    pub digest: String,
    /// Seconds the load ran, for `throughput_tps` (0 gives 0 tx/s).
    pub load_seconds: f64,
    /// Seconds the run took on its clock (virtual in the simulator).
    pub virtual_seconds: f64,
    /// One-second throughput buckets cover the time from the origin to this
    /// (ms); `None` leaves `throughput` empty.
    pub throughput_until_ms: Option<u64>,
    /// The slots of the timeline, in order; none leaves `timeline` empty.
    pub schedule: Vec<ScheduledSlot>,
    /// Invariant violations found.
    pub invariant_violations: Vec<Violation>,
}

/// A slot of the timeline as the schedule has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScheduledSlot {
    /// The slot.
    pub slot: u64,
    /// Its proposer (node number) by the schedule; the node seen building
    /// its blocks takes precedence.
    pub proposer: usize,
    /// Its start, ms since the origin.
    pub start_ms: u64,
}

/// Inserts `at` for `tx` unless it has a time already; whether it was new.
fn first_time(map: &mut BTreeMap<B256, u64>, tx: B256, at: u64) -> bool {
    match map.entry(tx) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(at);
            true
        }
        std::collections::btree_map::Entry::Occupied(_) => false,
    }
}

impl Recorder {
    /// A recorder whose latencies, provisional blocks and reorgs are those
    /// node `observer` reports.
    pub fn new(observer: usize) -> Self {
        Self {
            observer,
            ..Self::default()
        }
    }

    /// The node whose view is recorded.
    pub const fn observer(&self) -> usize {
        self.observer
    }

    /// The load generator submitted `tx` at `at`.
    pub fn submitted(&mut self, tx: B256, at: u64) {
        self.submitted.insert(tx, at);
    }

    /// `tx` was refused when submitted: it no longer counts as submitted,
    /// and counts as refused.
    pub fn withdrawn(&mut self, tx: &B256) {
        self.submitted.remove(tx);
        self.refused = self.refused.saturating_add(1);
    }

    /// Slot `slot`'s checkpoint carried its data in `blobs` blobs (0:
    /// calldata), as a driver that sees checkpoints but not submissions
    /// learns it.
    pub fn checkpoint_blobs(&mut self, slot: u64, blobs: u32) {
        self.submitted_blobs.insert(slot, blobs);
    }

    /// A submitted transaction was refused, for the reason named `reason`
    /// ([`refusal_reason`]); it still counts as submitted (a driver that
    /// sends it again may get it taken). Count each transaction once.
    pub fn refused(&mut self, reason: &str) {
        self.refused = self.refused.saturating_add(1);
        *self.refused_reasons.entry(reason.to_owned()).or_default() += 1;
    }

    /// `tx` no longer counts as submitted (it was refused and given up on;
    /// [`Self::refused`] counted it).
    pub fn unsubmitted(&mut self, tx: &B256) {
        self.submitted.remove(tx);
    }

    /// Records what the protocol event `event` of node `node` at `at` says:
    /// proposals and built blocks of every node; the observer's provisional
    /// blocks, transaction statuses and reorgs. Checkpoints and slashings
    /// are L1's to tell ([`Self::checkpoint`], [`Self::slashed`]).
    pub fn event(&mut self, node: usize, event: &Event, at: u64) {
        let observer = node == self.observer;
        match event {
            Event::ProposalSent { slot, index, .. } => {
                self.block_proposed(node, *slot, *index, at);
            }
            Event::BlockBuilt {
                slot, index, txs, ..
            } => self.block_built(node, *slot, *index, *txs, at),
            Event::CheckpointSubmitted { slot, blobs, .. } => {
                self.submitted_blobs.insert(*slot, *blobs);
            }
            Event::ProvisionalAccepted {
                slot, index, block, ..
            } if observer => self.block_provisional(*slot, *index, block.txs.len(), at),
            Event::TxStatusChanged { hash, status, .. } if observer => match status {
                TxStatus::Provisional => {
                    self.tx_provisional(*hash, at);
                }
                TxStatus::Checkpointed => {
                    self.tx_checkpointed(*hash, at);
                }
                _ => {}
            },
            Event::Reorg {
                slots,
                dropped,
                cause,
                ..
            } if observer => self.reorg(slots, dropped.len(), cause.name(), at),
            Event::TransactionRefused {
                hash: Some(hash),
                reason,
                ..
            } if observer && !reason.is_duplicate() && self.submitted.contains_key(hash) => {
                self.refused(refusal_reason(reason));
            }
            _ => {}
        }
    }

    /// Node `node` sent the proposal of block (`slot`, `index`).
    pub fn block_proposed(&mut self, node: usize, slot: u64, index: u32, at: u64) {
        self.proposals = self.proposals.saturating_add(1);
        self.builders.insert(slot, node);
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.proposed_ms.get_or_insert(at);
    }

    /// Node `node` sealed block (`slot`, `index`) with `txs` transactions.
    pub fn block_built(&mut self, node: usize, slot: u64, index: u32, txs: usize, at: u64) {
        self.builders.insert(slot, node);
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.txs = txs;
        b.built_ms = Some(at);
    }

    /// Block (`slot`, `index`) with `txs` transactions became provisional.
    pub fn block_provisional(&mut self, slot: u64, index: u32, txs: usize, at: u64) {
        self.provisional_blocks = self.provisional_blocks.saturating_add(1);
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.txs = txs;
        b.provisional_ms = Some(at);
    }

    /// Block (`slot`, `index`) carried `attestations` committee signatures.
    pub fn block_attested(&mut self, slot: u64, index: u32, attestations: usize) {
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.attestations = attestations;
    }

    /// `tx` became provisional at `at` (the first time counts). Returns its
    /// latency in ms when this is the first time and it was submitted.
    pub fn tx_provisional(&mut self, tx: B256, at: u64) -> Option<u64> {
        if first_time(&mut self.provisional_at, tx, at) {
            self.latency(&tx, at)
        } else {
            None
        }
    }

    /// `tx` became checkpointed at `at` (the first time counts). Returns its
    /// latency in ms when this is the first time and it was submitted.
    pub fn tx_checkpointed(&mut self, tx: B256, at: u64) -> Option<u64> {
        if first_time(&mut self.checkpointed_at, tx, at) {
            self.latency(&tx, at)
        } else {
            None
        }
    }

    fn latency(&self, tx: &B256, at: u64) -> Option<u64> {
        self.submitted.get(tx).map(|sent| at.saturating_sub(*sent))
    }

    /// L1 accepted the checkpoint of `slot`, holding `blocks` blocks (a later
    /// acceptance, after an L1 reorg, replaces it).
    pub fn checkpoint(&mut self, slot: u64, blocks: u32, at: u64) {
        self.checkpoints.insert(slot, (at, blocks));
    }

    /// The checkpoint of `slot` was published by a rescuer, not its
    /// proposer (recorded with [`Self::checkpoint`] as well).
    pub fn rescued(&mut self, slot: u64) {
        self.rescued.insert(slot);
        self.rescues = self.rescues.saturating_add(1);
    }

    /// L1 refused a node's `call` (its pre-check, or a revert once
    /// included) for `reason`.
    pub fn l1_refused(&mut self, call: &str, reason: &str) {
        let n = self
            .l1_refusals
            .entry(format!("{call}: {reason}"))
            .or_insert(0);
        *n = n.saturating_add(1);
    }

    /// L1 slashed `validator` for offence code `offence` (see
    /// [`offence_name`]) in `slot`.
    pub fn slashed(&mut self, validator: Address, offence: u8, slot: u64, at: u64) {
        self.slashings.push((validator, offence, slot, at));
    }

    /// The observer dropped the blocks of `slots` (`blocks` of them);
    /// `cause` is the report's name for why (see [`ReorgCause::name`]).
    pub fn reorg(&mut self, slots: &[u64], blocks: usize, cause: &str, at: u64) {
        self.reorgs.push(ReorgRecord {
            at_ms: at,
            slots: slots.to_vec(),
            depth_slots: slots.len() as u64,
            blocks,
            cause: cause.into(),
        });
    }

    /// Whether L1 accepted a checkpoint of `slot`.
    pub fn is_checkpointed(&self, slot: u64) -> bool {
        self.checkpoints.contains_key(&slot)
    }

    /// The time and size of `slot`'s checkpoint on L1.
    pub fn checkpoint_of(&self, slot: u64) -> Option<(u64, u32)> {
        self.checkpoints.get(&slot).copied()
    }

    /// Whether a reorg at the observer dropped `slot`.
    pub fn is_reorged(&self, slot: u64) -> bool {
        self.reorgs.iter().any(|r| r.slots.contains(&slot))
    }

    /// The validators L1 slashed, in order (repeated if slashed again).
    pub fn slashed_validators(&self) -> impl Iterator<Item = Address> + '_ {
        self.slashings.iter().map(|s| s.0)
    }

    /// The node that built or proposed `slot`'s blocks, last seen.
    pub fn builder(&self, slot: u64) -> Option<usize> {
        self.builders.get(&slot).copied()
    }

    /// Block (`slot`, `index`), if anything was recorded about it.
    pub fn block(&self, slot: u64, index: u32) -> Option<&BlockTimeline> {
        self.blocks.get(&(slot, index))
    }

    /// The blocks of `slot` recorded so far, by index.
    pub fn blocks_of(&self, slot: u64) -> impl Iterator<Item = &BlockTimeline> + '_ {
        self.blocks
            .range((slot, 0)..=(slot, u32::MAX))
            .map(|(_, b)| b)
    }

    /// The slots with a recorded block, checkpoint or reorg.
    pub fn slots(&self) -> BTreeSet<u64> {
        self.blocks
            .keys()
            .map(|(slot, _)| *slot)
            .chain(self.checkpoints.keys().copied())
            .chain(self.reorgs.iter().flat_map(|r| r.slots.iter().copied()))
            .collect()
    }

    /// Submitted transactions the observer has not seen checkpointed.
    pub fn unsettled(&self) -> usize {
        self.submitted
            .keys()
            .filter(|tx| !self.checkpointed_at.contains_key(*tx))
            .count()
    }

    /// One-second buckets of what the observer saw, from the origin to `end`.
    fn throughput(&self, end: u64) -> Vec<ThroughputPoint> {
        let buckets = (end / 1000).saturating_add(1) as usize;
        let mut prov = vec![0u64; buckets];
        let mut cp = vec![0u64; buckets];
        for t in self.provisional_at.values() {
            if let Some(b) = prov.get_mut((t / 1000) as usize) {
                *b = b.saturating_add(1);
            }
        }
        for t in self.checkpointed_at.values() {
            if let Some(b) = cp.get_mut((t / 1000) as usize) {
                *b = b.saturating_add(1);
            }
        }
        prov.iter()
            .zip(&cp)
            .enumerate()
            .map(|(s, (p, c))| ThroughputPoint {
                t_s: s as f64,
                provisional_tps: *p as f64,
                checkpointed_tps: *c as f64,
            })
            .collect()
    }

    /// The report of the run so far; `wall_seconds` and `sim_speedup` are
    /// left at 0 for the driver to fill in.
    pub fn report(&self, run: RunInfo) -> Report {
        let latency = |at: &BTreeMap<B256, u64>| -> Vec<f64> {
            self.submitted
                .iter()
                .filter_map(|(tx, sent)| at.get(tx).map(|t| t.saturating_sub(*sent) as f64))
                .collect()
        };
        let provisional_samples = latency(&self.provisional_at);
        let checkpointed_samples = latency(&self.checkpointed_at);
        let submitted: BTreeSet<&B256> = self.submitted.keys().collect();
        let txs_provisional = self
            .provisional_at
            .keys()
            .filter(|t| submitted.contains(t))
            .count() as u64;
        let txs_checkpointed = self
            .checkpointed_at
            .keys()
            .filter(|t| submitted.contains(t))
            .count() as u64;
        let throughput = run
            .throughput_until_ms
            .map_or_else(Vec::new, |end| self.throughput(end));
        let reorged: BTreeSet<u64> = self
            .reorgs
            .iter()
            .flat_map(|r| r.slots.iter().copied())
            .collect();
        let timeline = run
            .schedule
            .iter()
            .map(|s| {
                let (checkpoint_ms, checkpoint_blocks) = self
                    .checkpoints
                    .get(&s.slot)
                    .map_or((None, 0), |(at, n)| (Some(*at), *n));
                SlotTimeline {
                    slot: s.slot,
                    proposer: self.builder(s.slot).unwrap_or(s.proposer),
                    start_ms: s.start_ms,
                    blocks: self.blocks_of(s.slot).cloned().collect(),
                    checkpoint_ms,
                    checkpoint_blocks,
                    reorged: reorged.contains(&s.slot),
                }
            })
            .collect();
        Report {
            scenario: run.scenario,
            preset: run.preset,
            validators: run.validators,
            slots: run.slots,
            seed: run.seed,
            blocks_proposed: self.proposals,
            blocks_provisional: self.provisional_blocks,
            checkpoints: self.checkpoints.len() as u64,
            txs_submitted: self.submitted.len() as u64,
            refused: self.refused,
            refused_reasons: self.refused_reasons.clone(),
            data_mode: data_mode(&self.submitted_blobs).into(),
            checkpoint_blobs: self.submitted_blobs.values().map(|b| u64::from(*b)).sum(),
            txs_provisional,
            txs_checkpointed,
            throughput_tps: if run.load_seconds > 0.0 {
                txs_checkpointed as f64 / run.load_seconds
            } else {
                0.0
            },
            latency_ms: Latencies {
                provisional: Percentiles::of(&provisional_samples),
                checkpointed: Percentiles::of(&checkpointed_samples),
            },
            reorgs: self.reorgs.clone(),
            rescued_slots: self.rescued.iter().copied().collect(),
            rescues: self.rescues,
            l1_refusals: self.l1_refusals.clone(),
            ha: None,
            slashings: self
                .slashings
                .iter()
                .map(|(v, o, s, at)| SlashingRecord {
                    offence: offence_name(*o).into(),
                    validator: v.to_string(),
                    slot: *s,
                    at_ms: *at,
                })
                .collect(),
            invariant_violations: run.invariant_violations,
            digest: run.digest,
            virtual_seconds: run.virtual_seconds,
            wall_seconds: 0.0,
            sim_speedup: 0.0,
            provisional_samples,
            checkpointed_samples,
            throughput,
            timeline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkseq_protocol::ReorgCause;

    fn tx(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    #[test]
    fn data_mode_follows_the_submitted_checkpoints() {
        let mut r = Recorder::new(0);
        let submitted = |slot, blobs| Event::CheckpointSubmitted {
            slot,
            blocks: 2,
            blobs,
        };
        r.event(1, &submitted(1, 0), 10);
        assert_eq!(data_mode(&r.submitted_blobs), "calldata");
        r.event(2, &submitted(2, 3), 20);
        assert_eq!(data_mode(&r.submitted_blobs), "mixed");
        let mut b = Recorder::new(0);
        b.event(1, &submitted(1, 2), 10);
        assert_eq!(data_mode(&b.submitted_blobs), "blobs");
        assert_eq!(data_mode(&BTreeMap::new()), "none");
    }

    #[test]
    fn refusals_count_once_and_duplicates_do_not() {
        use chunkseq_protocol::{TxOrigin, TxRefused};
        let mut r = Recorder::new(3);
        for n in 1..=4 {
            r.submitted(tx(n), 100);
        }
        // The RPC turned one away: it is no longer submitted.
        r.withdrawn(&tx(1));
        let refused = |hash, reason| Event::TransactionRefused {
            hash: Some(hash),
            origin: TxOrigin::Gossip,
            reason,
        };
        // The observer's pool refused one; another node's refusal and a
        // duplicate do not count.
        r.event(3, &refused(tx(2), TxRefused::CatchingUp), 200);
        r.event(1, &refused(tx(3), TxRefused::CatchingUp), 200);
        let duplicate = TxRefused::Pool(chunkseq_execution::PoolError::AlreadyKnown(tx(4)));
        r.event(3, &refused(tx(4), duplicate), 200);
        let report = r.report(RunInfo::default());
        assert_eq!(report.refused, 2);
        assert_eq!(report.txs_submitted, 3);
        assert_eq!(report.data_mode, "none", "no checkpoint submitted");
    }

    #[test]
    fn protocol_events_of_the_observer_make_the_report() {
        let mut r = Recorder::new(3);
        r.submitted(tx(1), 100);
        r.submitted(tx(2), 200);
        r.event(
            0,
            &Event::BlockBuilt {
                slot: 1,
                index: 0,
                number: 1,
                hash: B256::ZERO,
                txs: 2,
                gas_used: 42_000,
            },
            400,
        );
        r.event(
            0,
            &Event::ProposalSent {
                slot: 1,
                index: 0,
                hash: B256::ZERO,
            },
            410,
        );
        let provisional = |hash| Event::TxStatusChanged {
            hash,
            status: TxStatus::Provisional,
            detail: None,
        };
        // Another node's statuses do not count; the observer's first one does.
        r.event(1, &provisional(tx(1)), 500);
        r.event(3, &provisional(tx(1)), 700);
        r.event(3, &provisional(tx(1)), 900);
        r.event(3, &provisional(tx(2)), 800);
        r.event(
            3,
            &Event::ProvisionalAccepted {
                slot: 1,
                index: 0,
                number: 1,
                hash: B256::ZERO,
                block: Box::new(chunkseq_protocol::BlockEntry {
                    header: chunkseq_primitives::BlockHeader::default(),
                    hash: B256::ZERO,
                    txs: vec![tx(1), tx(2)],
                    transactions: Vec::new(),
                    senders: Vec::new(),
                    receipts: Default::default(),
                    attestations: 3,
                    threshold: 3,
                    tip_percentiles: Vec::new(),
                }),
            },
            700,
        );
        assert_eq!(r.tx_checkpointed(tx(1), 5_100), Some(5_000));
        assert_eq!(r.tx_checkpointed(tx(1), 6_000), None);
        r.checkpoint(1, 1, 5_000);
        r.slashed(Address::repeat_byte(9), 2, 1, 5_000);
        r.event(
            3,
            &Event::Reorg {
                cause: ReorgCause::MissedPublishWindow,
                slots: vec![2],
                dropped: vec![B256::ZERO],
                dropped_txs: Vec::new(),
                new_tip: B256::ZERO,
                new_tip_number: 0,
            },
            6_000,
        );
        assert!(r.is_checkpointed(1) && !r.is_checkpointed(2));
        assert!(r.is_reorged(2) && !r.is_reorged(1));
        assert_eq!(r.slots().into_iter().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(r.unsettled(), 1);
        let report = r.report(RunInfo {
            load_seconds: 2.0,
            throughput_until_ms: Some(6_500),
            schedule: vec![ScheduledSlot {
                slot: 1,
                proposer: 2,
                start_ms: 0,
            }],
            ..RunInfo::default()
        });
        assert_eq!(report.blocks_proposed, 1);
        assert_eq!(report.blocks_provisional, 1);
        assert_eq!(report.checkpoints, 1);
        assert_eq!(
            (
                report.txs_submitted,
                report.txs_provisional,
                report.txs_checkpointed
            ),
            (2, 2, 1)
        );
        assert_eq!(report.provisional_samples, vec![600.0, 600.0]);
        assert_eq!(report.checkpointed_samples, vec![5_000.0]);
        assert_eq!(report.throughput_tps, 0.5);
        assert_eq!(report.throughput.len(), 7);
        assert_eq!(report.slashings[0].offence, "checkpoint_omission");
        assert_eq!(report.reorgs[0].cause, "missed_publish_window");
        let slot = &report.timeline[0];
        assert_eq!(slot.proposer, 0, "the builder seen beats the schedule");
        assert_eq!(slot.checkpoint_ms, Some(5_000));
        assert_eq!(
            (
                slot.blocks[0].built_ms,
                slot.blocks[0].proposed_ms,
                slot.blocks[0].provisional_ms
            ),
            (Some(400), Some(410), Some(700))
        );
    }

    #[test]
    fn withdrawn_transactions_do_not_count_and_series_can_be_left_out() {
        let mut r = Recorder::new(0);
        r.submitted(tx(1), 0);
        r.withdrawn(&tx(1));
        assert_eq!(r.tx_provisional(tx(1), 10), None);
        let report = r.report(RunInfo::default());
        assert_eq!(report.txs_submitted, 0);
        assert_eq!(report.txs_provisional, 0);
        assert!(report.throughput.is_empty() && report.timeline.is_empty());
        assert_eq!(report.throughput_tps, 0.0);
    }
}
