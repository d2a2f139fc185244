//! What a run measures, and the report built from it.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256};
use chunkseq_protocol::ReorgCause;

use crate::{
    engine::Simulation,
    report::{
        BlockTimeline, Latencies, Percentiles, ReorgRecord, Report, SlashingRecord, SlotTimeline,
        ThroughputPoint,
    },
};

/// Measurements, in ms since genesis.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) rejected: u64,
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
}

impl Metrics {
    pub(crate) fn submitted(&mut self, tx: B256, at: u64) {
        self.submitted.insert(tx, at);
    }

    pub(crate) fn tx_provisional(&mut self, tx: B256, at: u64) {
        self.provisional_at.entry(tx).or_insert(at);
    }

    pub(crate) fn tx_checkpointed(&mut self, tx: B256, at: u64) {
        self.checkpointed_at.entry(tx).or_insert(at);
    }

    pub(crate) fn proposal(&mut self, node: usize, slot: u64, index: u32, at: u64) {
        self.proposals = self.proposals.saturating_add(1);
        self.builders.insert(slot, node);
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.proposed_ms.get_or_insert(at);
    }

    pub(crate) fn built(&mut self, node: usize, slot: u64, index: u32, txs: usize, at: u64) {
        self.builders.insert(slot, node);
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.txs = txs;
        b.built_ms = Some(at);
    }

    pub(crate) fn provisional(&mut self, slot: u64, index: u32, txs: usize, at: u64) {
        self.provisional_blocks = self.provisional_blocks.saturating_add(1);
        let b = self.blocks.entry((slot, index)).or_default();
        b.index = index;
        b.txs = txs;
        b.provisional_ms = Some(at);
    }

    pub(crate) fn checkpoint(&mut self, slot: u64, blocks: usize, at: u64) {
        self.checkpoints
            .insert(slot, (at, u32::try_from(blocks).unwrap_or(u32::MAX)));
    }

    pub(crate) fn checkpointed(&self, slot: u64) -> bool {
        self.checkpoints.contains_key(&slot)
    }

    pub(crate) fn slashed(&mut self, validator: Address, offence: u8, slot: u64, at: u64) {
        self.slashings.push((validator, offence, slot, at));
    }

    pub(crate) fn slashed_addresses(&self) -> impl Iterator<Item = Address> + '_ {
        self.slashings.iter().map(|s| s.0)
    }

    pub(crate) fn reorg(&mut self, slots: &[u64], blocks: usize, cause: ReorgCause, at: u64) {
        self.reorgs.push(ReorgRecord {
            at_ms: at,
            slots: slots.to_vec(),
            depth_slots: slots.len() as u64,
            blocks,
            cause: match cause {
                ReorgCause::MissedPublishWindow => "missed_publish_window",
                ReorgCause::CheckpointDiffers => "checkpoint_differs",
            }
            .into(),
        });
    }
}

fn offence_name(code: u8) -> &'static str {
    match code {
        1 => "proposal_equivocation",
        2 => "checkpoint_omission",
        3 => "attestation_equivocation",
        _ => "unknown",
    }
}

/// The report of a finished run.
pub(crate) fn report(sim: &Simulation, proposers: BTreeMap<u64, usize>, digest: B256) -> Report {
    let m = &sim.metrics;
    let latency = |at: &BTreeMap<B256, u64>| -> Vec<f64> {
        m.submitted
            .iter()
            .filter_map(|(tx, sent)| at.get(tx).map(|t| t.saturating_sub(*sent) as f64))
            .collect()
    };
    let provisional_samples = latency(&m.provisional_at);
    let checkpointed_samples = latency(&m.checkpointed_at);
    let submitted: BTreeSet<&B256> = m.submitted.keys().collect();
    let txs_provisional = m
        .provisional_at
        .keys()
        .filter(|t| submitted.contains(t))
        .count() as u64;
    let txs_checkpointed = m
        .checkpointed_at
        .keys()
        .filter(|t| submitted.contains(t))
        .count() as u64;
    // Throughput over the time the load generator ran.
    let load_seconds = sim.since_genesis(sim.load_end) as f64 / 1000.0;
    let virtual_seconds = sim.since_genesis(sim.end) as f64 / 1000.0;
    // One-second buckets of what the observer saw.
    let buckets = (sim.since_genesis(sim.end) / 1000).saturating_add(1) as usize;
    let mut prov = vec![0u64; buckets];
    let mut cp = vec![0u64; buckets];
    for t in m.provisional_at.values() {
        if let Some(b) = prov.get_mut((t / 1000) as usize) {
            *b = b.saturating_add(1);
        }
    }
    for t in m.checkpointed_at.values() {
        if let Some(b) = cp.get_mut((t / 1000) as usize) {
            *b = b.saturating_add(1);
        }
    }
    let throughput = prov
        .iter()
        .zip(&cp)
        .enumerate()
        .map(|(s, (p, c))| ThroughputPoint {
            t_s: s as f64,
            provisional_tps: *p as f64,
            checkpointed_tps: *c as f64,
        })
        .collect();
    let reorged: BTreeSet<u64> = m
        .reorgs
        .iter()
        .flat_map(|r| r.slots.iter().copied())
        .collect();
    let timeline = proposers
        .iter()
        .map(|(slot, proposer)| {
            let blocks = m
                .blocks
                .range((*slot, 0)..=(*slot, u32::MAX))
                .map(|(_, b)| b.clone())
                .collect();
            let start = sim
                .tt
                .slot_start(chunkseq_primitives::Slot(*slot))
                .map_or(0, |t| sim.since_genesis(t.0));
            let (checkpoint_ms, checkpoint_blocks) = m
                .checkpoints
                .get(slot)
                .map_or((None, 0), |(at, n)| (Some(*at), *n));
            SlotTimeline {
                slot: *slot,
                proposer: m.builders.get(slot).copied().unwrap_or(*proposer),
                start_ms: start,
                blocks,
                checkpoint_ms,
                checkpoint_blocks,
                reorged: reorged.contains(slot),
            }
        })
        .collect();
    let sc = &sim.scenario;
    Report {
        scenario: sc.name.clone(),
        preset: sc.preset.clone(),
        validators: sc.validators,
        slots: sc.slots,
        seed: sc.seed,
        blocks_proposed: m.proposals,
        blocks_provisional: m.provisional_blocks,
        checkpoints: m.checkpoints.len() as u64,
        txs_submitted: m.submitted.len() as u64,
        txs_provisional,
        txs_checkpointed,
        throughput_tps: if load_seconds > 0.0 {
            txs_checkpointed as f64 / load_seconds
        } else {
            0.0
        },
        latency_ms: Latencies {
            provisional: Percentiles::of(&provisional_samples),
            checkpointed: Percentiles::of(&checkpointed_samples),
        },
        reorgs: m.reorgs.clone(),
        slashings: m
            .slashings
            .iter()
            .map(|(v, o, s, at)| SlashingRecord {
                offence: offence_name(*o).into(),
                validator: v.to_string(),
                slot: *s,
                at_ms: *at,
            })
            .collect(),
        invariant_violations: sim.invariants.violations.clone(),
        digest: digest.to_string(),
        virtual_seconds,
        wall_seconds: 0.0,
        sim_speedup: 0.0,
        provisional_samples,
        checkpointed_samples,
        throughput,
        timeline,
    }
}
