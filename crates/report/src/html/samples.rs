//! Sample reports for the HTML tests.

use super::SweepPoint;
use crate::report::{
    BlockTimeline, Latencies, Percentiles, ReorgRecord, Report, SlashingRecord, SlotTimeline,
    ThroughputPoint, Violation,
};

/// A deterministic pseudo-random stream in [0, 1).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

pub(super) fn sample_report(scenario: &str) -> Report {
    sample_report_with_slots(scenario, 10)
}

pub(super) fn sample_report_with_slots(scenario: &str, slots: u64) -> Report {
    let mut rng = 7u64;
    let slot_ms = 2000u64;
    let timeline: Vec<SlotTimeline> = (0..slots)
        .map(|slot| {
            let start = slot * slot_ms;
            // Staggered: the proposer of slot N builds during slot N-1.
            let build_start = start.saturating_sub(slot_ms / 2);
            let blocks = (0..4u32)
                .map(|i| {
                    let built = build_start + u64::from(i) * 400 + 300;
                    BlockTimeline {
                        index: i,
                        txs: 20 + i as usize,
                        built_ms: Some(built),
                        proposed_ms: Some(built + 15),
                        provisional_ms: (slot != 6).then_some(built + 180),
                        attestations: 4,
                    }
                })
                .collect();
            SlotTimeline {
                slot,
                proposer: (slot % 4) as usize,
                start_ms: start,
                blocks,
                checkpoint_ms: (slot != 6).then_some(start + slot_ms + 3000),
                checkpoint_blocks: 4,
                reorged: slot == 6,
            }
        })
        .collect();
    let provisional_samples: Vec<f64> = (0..500).map(|_| 150.0 + 400.0 * noise(&mut rng)).collect();
    let checkpointed_samples: Vec<f64> = (0..500)
        .map(|_| 4000.0 + 3000.0 * noise(&mut rng))
        .collect();
    let throughput = (0..25)
        .map(|t| ThroughputPoint {
            t_s: f64::from(t),
            provisional_tps: 40.0 + 10.0 * noise(&mut rng),
            checkpointed_tps: if t < 5 {
                0.0
            } else {
                38.0 + 10.0 * noise(&mut rng)
            },
        })
        .collect();
    Report {
        scenario: scenario.to_string(),
        preset: "devnet-4".to_string(),
        validators: 4,
        slots: 10,
        seed: 424242,
        blocks_proposed: 40,
        blocks_provisional: 36,
        checkpoints: 9,
        txs_submitted: 1000,
        refused: 0,
        refused_reasons: Default::default(),
        data_mode: "blobs".into(),
        checkpoint_blobs: 18,
        txs_provisional: 950,
        txs_checkpointed: 900,
        throughput_tps: 37.25,
        latency_ms: Latencies {
            provisional: Percentiles::of(&provisional_samples),
            checkpointed: Percentiles::of(&checkpointed_samples),
        },
        reorgs: vec![ReorgRecord {
            at_ms: 15_500,
            slots: vec![6],
            depth_slots: 1,
            blocks: 4,
            cause: "missed_publish_window".to_string(),
        }],
        rescued_slots: Vec::new(),
        rescues: 0,
        l1_refusals: Default::default(),
        ha: None,
        slashings: vec![SlashingRecord {
            offence: "proposal_equivocation".to_string(),
            validator: "0x00000000000000000000000000000000000000a2".to_string(),
            slot: 6,
            at_ms: 17_000,
        }],
        invariant_violations: vec![Violation {
            invariant: "no_honest_slashed".to_string(),
            detail: "validator <2> & co".to_string(),
            seed: 424242,
            slot: 6,
            at_ms: 17_000,
            trail: vec!["event a".to_string(), "event <b>".to_string()],
        }],
        digest: "0xdeadbeefcafe".to_string(),
        virtual_seconds: 25.0,
        wall_seconds: 0.5,
        sim_speedup: 50.0,
        provisional_samples,
        checkpointed_samples,
        throughput,
        timeline,
    }
}

pub(super) fn sweep() -> Vec<SweepPoint> {
    ["10", "50", "200"]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut report = sample_report("sweep");
            report.latency_ms.provisional.p50 = 200.0 + 100.0 * i as f64;
            report.latency_ms.provisional.p99 = 400.0 + 250.0 * i as f64;
            report.throughput_tps = 40.0 - 5.0 * i as f64;
            SweepPoint {
                param: "link_latency_ms".to_string(),
                value: (*v).to_string(),
                report,
            }
        })
        .collect()
}
