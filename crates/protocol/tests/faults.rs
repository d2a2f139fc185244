//! Fault cases through the scripted harness: a proposer that never
//! publishes its checkpoint (DESIGN.md section 6, follower: the one-slot
//! and, staggered, two-slot reorg at a missed publish window).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod harness;

use chunkseq_l1::{L1Event, RollupCall};
use chunkseq_primitives::{ChainSpec, Preset, Slot, Timetable};
use chunkseq_protocol::{Event, ReorgCause};
use harness::{Harness, Recorded};

/// Slot `silent`'s proposer builds and attests as usual but never sends
/// its checkpoint. Returns the harness after `slots` slots.
fn missed_window(spec: ChainSpec, silent: u64, slots: u64) -> Harness {
    let tt = Timetable::new(&spec).unwrap();
    let mut h = Harness::new(spec, 4);
    h.publish = Box::new(
        move |_, call| !matches!(call, RollupCall::ProposeCheckpoint { slot, .. } if *slot == silent),
    );
    let end = tt.slot_start(Slot(slots + 1)).unwrap();
    h.run_until(end, |h| {
        if h.now >= tt.genesis() {
            let u = ((h.now.0 / 1000) % 8) as usize;
            h.send_transfer(u);
        }
    });
    h
}

fn reorg_slots(h: &Harness, node: usize) -> Vec<Vec<u64>> {
    h.events(node)
        .filter_map(|e| match e {
            Event::Reorg {
                cause: ReorgCause::MissedPublishWindow,
                slots,
                ..
            } => Some(slots.clone()),
            _ => None,
        })
        .collect()
}

fn accepted_slots(h: &Harness) -> Vec<u64> {
    h.log
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::L1(L1Event::CheckpointAccepted { slot, .. }) => Some(*slot),
            _ => None,
        })
        .collect()
}

#[test]
fn staggered_missed_window_reorgs_two_slots_and_the_next_proposer_builds_on_l1() {
    let h = missed_window(Preset::Devnet.spec(), 2, 6);
    for i in 0..4 {
        assert_eq!(reorg_slots(&h, i), vec![vec![2, 3]], "node {i}");
    }
    let accepted = accepted_slots(&h);
    assert!(accepted.contains(&1) && !accepted.contains(&2) && !accepted.contains(&3));
    assert!(
        accepted.contains(&4) && accepted.contains(&5),
        "{accepted:?}"
    );
    // Slot 4 builds on slot 1's checkpoint: L1 accepted it, so its parent is the L1 tip.
    let slot4_parent = h.log.iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted {
            slot: 4, headers, ..
        }) => Some(headers[0].parentHash),
        _ => None,
    });
    let slot1_last = h.log.iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted {
            slot: 1, headers, ..
        }) => headers.last().map(|x| x.hash()),
        _ => None,
    });
    assert_eq!(slot4_parent, slot1_last);
    let tip = h.nodes[0].chain().checkpointed();
    for n in &h.nodes {
        assert_eq!(n.chain().checkpointed(), tip);
    }
}

#[test]
fn non_staggered_missed_window_reorgs_one_slot() {
    let h = missed_window(Preset::Seed.spec(), 2, 4);
    for i in 0..4 {
        assert_eq!(reorg_slots(&h, i), vec![vec![2]], "node {i}");
    }
    let accepted = accepted_slots(&h);
    assert!(
        accepted.contains(&1) && !accepted.contains(&2),
        "{accepted:?}"
    );
    assert!(
        accepted.contains(&3),
        "the next proposer builds on the L1 tip: {accepted:?}"
    );
}
