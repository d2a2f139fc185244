//! Every built-in scenario: no invariant violation, each offender slashed,
//! nobody else slashed, the expected reorgs, and the same seed giving the
//! same digest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chunkseq_sim::{BUILTIN, Report, builtin, run};

fn run_named(name: &str, seed: u64) -> Report {
    let mut s = builtin(name).unwrap();
    s.seed = seed;
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

#[test]
fn happy_checkpoints_every_slot_and_is_deterministic() {
    let a = run_named("happy", 7);
    assert!(a.invariant_violations.is_empty(), "{}", summary(&a));
    assert!(a.checkpoints >= a.slots, "{}", summary(&a));
    assert!(
        a.reorgs.is_empty() && a.slashings.is_empty(),
        "{}",
        summary(&a)
    );
    assert!(
        a.txs_checkpointed >= a.txs_submitted * 9 / 10,
        "{}",
        summary(&a)
    );
    let b = run_named("happy", 7);
    assert_eq!(a.digest, b.digest, "same seed, same run");
    let c = run_named("happy", 8);
    assert_ne!(a.digest, c.digest, "another seed, another run");
}

#[test]
fn every_builtin_scenario_holds_its_invariants() {
    for (name, _) in BUILTIN {
        let r = run_named(name, 1);
        println!("{name}: {}", summary(&r));
        assert!(r.invariant_violations.is_empty(), "{name}: {}", summary(&r));
    }
}
