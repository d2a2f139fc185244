//! Every built-in scenario: no invariant violation over a range of seeds,
//! each offender slashed for its offence and nobody else, the reorgs the
//! design predicts, and the same seed giving the same digest.
//!
//! `CHUNKSEQ_SIM_SEEDS=N` runs N seeds per scenario instead of 2 (the long
//! sweep the README mentions).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chunkseq_report::Report;
use chunkseq_sim::{BUILTIN, builtin, run};

fn run_named(name: &str, seed: u64, preset: Option<&str>) -> Report {
    let mut s = builtin(name).unwrap();
    s.seed = seed;
    s.slots = 5;
    if let Some(p) = preset {
        s.preset = p.into();
    }
    run(s, |_, _| {}).unwrap()
}

fn summary(r: &Report) -> String {
    format!(
        "checkpoints {} of {} slots, txs {}/{}/{}, reorgs {:?}, slashings {:?}, violations {:#?}",
        r.checkpoints,
        r.slots,
        r.txs_submitted,
        r.txs_provisional,
        r.txs_checkpointed,
        r.reorgs
            .iter()
            .map(|x| (&x.slots, &x.cause))
            .collect::<Vec<_>>(),
        r.slashings
            .iter()
            .map(|x| (&x.offence, x.slot))
            .collect::<Vec<_>>(),
        r.invariant_violations
    )
}

fn seeds() -> u64 {
    std::env::var("CHUNKSEQ_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
}

#[test]
fn happy_checkpoints_every_slot_and_every_transaction() {
    let a = run_named("happy", 7, None);
    assert!(a.invariant_violations.is_empty(), "{}", summary(&a));
    assert!(a.checkpoints >= a.slots, "{}", summary(&a));
    assert!(
        a.reorgs.is_empty() && a.slashings.is_empty(),
        "{}",
        summary(&a)
    );
    assert_eq!(a.txs_checkpointed, a.txs_submitted, "{}", summary(&a));
}

#[test]
fn the_same_seed_gives_the_same_digest_in_every_scenario() {
    for (name, _) in BUILTIN {
        let a = run_named(name, 11, None);
        let b = run_named(name, 11, None);
        assert_eq!(a.digest, b.digest, "{name}");
        assert_eq!(a.txs_checkpointed, b.txs_checkpointed, "{name}");
    }
    assert_ne!(
        run_named("happy", 11, None).digest,
        run_named("happy", 12, None).digest,
        "another seed, another run"
    );
}

#[test]
fn every_scenario_holds_its_invariants_over_seeds() {
    for seed in 1..=seeds() {
        for (name, _) in BUILTIN {
            let r = run_named(name, seed, None);
            assert!(
                r.invariant_violations.is_empty(),
                "{name} seed {seed}: {}",
                summary(&r)
            );
            let expected = match name {
                "equivocation" => Some("proposal_equivocation"),
                "subset-checkpoint" => Some("checkpoint_omission"),
                "double-attest" => Some("attestation_equivocation"),
                _ => None,
            };
            match expected {
                Some(offence) => {
                    assert!(
                        !r.slashings.is_empty(),
                        "{name} seed {seed}: {}",
                        summary(&r)
                    );
                    assert!(
                        r.slashings.iter().all(|s| s.offence == offence),
                        "{name} seed {seed}: {}",
                        summary(&r)
                    );
                }
                None => assert!(
                    r.slashings.is_empty(),
                    "{name} seed {seed}: {}",
                    summary(&r)
                ),
            }
        }
    }
}

/// Without rescue, a missed publish reorgs its slot, and staggered, the
/// next one built on it.
#[test]
fn without_rescue_a_missed_publish_reorgs_one_slot_or_two_when_staggered() {
    let mut s = builtin("missed-publish").unwrap();
    s.seed = 1;
    s.slots = 5;
    s.preset = "devnet".into();
    s.rescue = false;
    let staggered = run(s, |_, _| {}).unwrap();
    let depths: Vec<u64> = staggered.reorgs.iter().map(|r| r.depth_slots).collect();
    assert_eq!(depths, vec![2], "{}", summary(&staggered));
    assert!(
        staggered.rescued_slots.is_empty(),
        "{}",
        summary(&staggered)
    );
    let mut s = builtin("missed-publish").unwrap();
    s.preset = "seed".into();
    s.slots = 4;
    s.rescue = false;
    let plain = run(s, |_, _| {}).unwrap();
    let depths: Vec<u64> = plain.reorgs.iter().map(|r| r.depth_slots).collect();
    assert_eq!(depths, vec![1], "{}", summary(&plain));
    assert!(plain.invariant_violations.is_empty(), "{}", summary(&plain));
}

/// With rescue (the default), the slot whose proposer never publishes is
/// rescued: nothing is reorged, every slot is checkpointed and every
/// transaction with it, in both slot modes; and so in each rescue
/// scenario, where L1 refuses what it must (the early rescue, the late
/// proposer, the race's losers).
#[test]
fn rescues_leave_no_reorg_and_every_slot_checkpointed() {
    for (name, preset) in [
        ("missed-publish", "devnet"),
        ("missed-publish", "seed"),
        ("rescue-prefix", "devnet"),
        ("rescue-race", "seed"),
        ("rescue-early", "devnet"),
        ("rescue-late-proposer", "devnet"),
    ] {
        let mut s = builtin(name).unwrap();
        s.preset = preset.into();
        s.slots = if preset == "seed" { 4 } else { 5 };
        let r = run(s, |_, _| {}).unwrap();
        let what = format!(
            "{name} on {preset}: {}, L1 refused {:?}",
            summary(&r),
            r.l1_refusals
        );
        assert!(r.invariant_violations.is_empty(), "{what}");
        assert!(r.reorgs.is_empty(), "{what}");
        assert!(r.slashings.is_empty(), "{what}");
        assert_eq!(r.txs_checkpointed, r.txs_submitted, "{what}");
        let refused = |key: &str| r.l1_refusals.get(key).copied().unwrap_or(0);
        match name {
            "rescue-early" => {
                assert!(r.rescued_slots.is_empty(), "{what}");
                assert!(refused("rescueCheckpoint: RescueTooEarly") > 0, "{what}");
            }
            _ => assert_eq!(r.rescued_slots, vec![2], "{what}"),
        }
        if name == "rescue-late-proposer" {
            assert!(refused("proposeCheckpoint: NotInSlot") > 0, "{what}");
        }
        if name == "rescue-prefix" {
            // The prefix landed first; the full chain replaced it.
            assert_eq!(r.rescues, 2, "{what}");
            let slot = r.timeline.iter().find(|t| t.slot == 2).unwrap();
            assert_eq!(slot.checkpoint_blocks as usize, slot.blocks.len(), "{what}");
        }
    }
}

/// Issue 6's latency target: in `happy` with the devnet preset and 48
/// validators, provisional p50 is at most half a chunk plus 300 ms.
#[test]
fn devnet_provisional_p50_is_within_half_a_chunk_plus_300_ms_at_48_validators() {
    let mut s = builtin("happy").unwrap();
    s.preset = "devnet".into();
    s.validators = 48;
    s.slots = 4;
    let chunk = chunkseq_primitives::Timetable::new(&s.chain_spec().unwrap())
        .unwrap()
        .chunk_duration_ms() as f64;
    let r = run(s, |_, _| {}).unwrap();
    assert!(r.txs_provisional > 0, "{}", summary(&r));
    let p50 = r.latency_ms.provisional.p50;
    assert!(
        p50 <= chunk / 2.0 + 300.0,
        "provisional p50 {p50} ms against a {chunk} ms chunk: {}",
        summary(&r)
    );
}

/// The simulator's shortcuts (one shared state store, shared re-executions
/// and signature recoveries) change nothing but speed: with each node on
/// its own, as real nodes are, the same seed gives the same run, down to
/// the digest, in the happy path and under faults.
#[test]
fn independent_nodes_agree_with_the_shortcuts() {
    for name in ["happy", "equivocation", "missed-publish"] {
        let mut s = builtin(name).unwrap();
        s.seed = 11;
        s.slots = 4;
        let shared = run(s.clone(), |_, _| {}).unwrap();
        s.shortcuts = chunkseq_sim::Shortcuts::NONE;
        let alone = run(s, |_, _| {}).unwrap();
        assert!(shared.checkpoints > 0, "{name}: {}", summary(&shared));
        assert_eq!(summary(&shared), summary(&alone), "{name}");
        assert_eq!(shared.digest, alone.digest, "{name}");
    }
}

/// A validator that stops and starts again with an empty memory (its state
/// store and slashing protection kept) catches up through the core's
/// catch-up path (L1's tip, checkpoints from a peer or L1's logs, then the
/// provisional blocks above them) and takes part again: the invariants
/// check that it ends at L1's checkpointed tip, signed something after it
/// caught up, and never signed a conflicting message.
#[test]
fn a_restarted_validator_catches_up_and_takes_part_again() {
    for seed in 1..=seeds() {
        let mut s = builtin("restart").unwrap();
        s.seed = seed;
        s.slots = 7;
        let r = run(s, |_, _| {}).unwrap();
        assert!(
            r.invariant_violations.is_empty(),
            "seed {seed}: {}",
            summary(&r)
        );
        assert!(r.slashings.is_empty(), "seed {seed}: {}", summary(&r));
        assert!(
            r.checkpoints >= 4,
            "the chain goes on around the restart: {}",
            summary(&r)
        );
    }
}
