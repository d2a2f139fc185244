//! Full slots with 4 and 7 validators, staggered and not, through the
//! simulator's scripted runs: the order of events the design requires, checkpoints
//! holding exactly the provisional blocks, and the L1 contract accepting them.

use std::collections::BTreeSet;

use alloy_primitives::B256;
use chunkseq_l1::L1Event;
use chunkseq_primitives::{ChainSpec, Preset, Slot, Timetable};
use chunkseq_protocol::{Event, Gossip, TxStatus};
use chunkseq_sim::{Recorded, ScriptedRun};

use crate::common::{Run, scripted};

/// Runs `slots` slots with load, then two more slots for the last
/// checkpoint to land. Returns the run and the transactions sent.
fn run(spec: ChainSpec, validators: usize, slots: u64) -> (ScriptedRun, Vec<B256>) {
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec, validators);
    let stop_load = tt.build_start(Slot(slots)).unwrap();
    let end = tt.slot_start(Slot(slots + 2)).unwrap();
    let mut sent = Vec::new();
    h.run(end, |h| {
        if h.now() >= tt.genesis() && h.now() < stop_load {
            let u = ((h.now().0 / 1000) % 8) as usize;
            sent.push(h.transfer(u));
        }
    });
    (h, sent)
}

fn building_slots(spec: &ChainSpec, slots: u64) -> Vec<u64> {
    let first = Timetable::new(spec).unwrap().first_building_slot().0.max(1);
    (first..=slots).collect()
}

/// Rule (docs/design.md section 3, step 2): proposal k+1 never goes out before
/// provisional k, and block k+1 is opened on block k's state before
/// provisional k is out.
fn check_sequencing(h: &ScriptedRun, slot: u64, proposer: usize) {
    let mut provisional_out = Vec::new();
    let mut proposal_out = Vec::new();
    let mut opened = Vec::new();
    for (pos, r) in h
        .log()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.node == Some(proposer))
    {
        match &r.what {
            Recorded::Published(Gossip::Provisional(p)) if p.header.slot == slot => {
                provisional_out.push((p.header.index, pos));
            }
            Recorded::Published(Gossip::Proposal(p)) if p.header.slot == slot => {
                proposal_out.push((p.header.index, pos));
            }
            Recorded::Event(Event::BlockOpened { slot: s, index, .. }) if *s == slot => {
                opened.push((*index, pos));
            }
            _ => {}
        }
    }
    assert!(!proposal_out.is_empty(), "slot {slot}: no proposal sent");
    for (k, prov_pos) in &provisional_out {
        if let Some((_, next_pos)) = proposal_out.iter().find(|(i, _)| *i == k + 1) {
            assert!(
                prov_pos < next_pos,
                "slot {slot}: proposal {} went out before provisional {k}",
                k + 1
            );
        }
        if proposal_out.iter().any(|(i, _)| *i == k + 1) {
            let (_, open_pos) = opened
                .iter()
                .find(|(i, _)| *i == k + 1)
                .expect("block k+1 was opened");
            assert!(
                open_pos < prov_pos,
                "slot {slot}: block {} was not being built before provisional {k} went out",
                k + 1
            );
        }
    }
}

fn check_run(h: &mut ScriptedRun, sent: &[B256], slots: u64) {
    let spec = h.spec().clone();
    let accepted: Vec<(u64, Vec<B256>)> = h
        .log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::L1(L1Event::CheckpointAccepted { slot, headers, .. }) => {
                Some((*slot, headers.iter().map(|x| x.hash()).collect()))
            }
            _ => None,
        })
        .collect();
    for slot in building_slots(&spec, slots) {
        let (_, hashes) = accepted
            .iter()
            .find(|(s, _)| *s == slot)
            .unwrap_or_else(|| panic!("slot {slot} was not checkpointed on L1: {accepted:?}"));
        let proposer = h.proposer(slot);
        // The checkpoint holds exactly the blocks that went provisional.
        let provisional: Vec<B256> = h
            .events(proposer)
            .filter_map(|e| match e {
                Event::ProvisionalAccepted { slot: s, hash, .. } if *s == slot => Some(*hash),
                _ => None,
            })
            .collect();
        assert_eq!(
            &provisional, hashes,
            "slot {slot}: checkpoint = provisional blocks"
        );
        assert!(!hashes.is_empty());
        check_sequencing(h, slot, proposer);
        // Every node saw each block provisional before it was checkpointed.
        for i in 0..h.node_count() {
            let seen: BTreeSet<B256> = h
                .events(i)
                .filter_map(|e| match e {
                    Event::ProvisionalAccepted { slot: s, hash, .. } if *s == slot => Some(*hash),
                    _ => None,
                })
                .collect();
            assert_eq!(seen.len(), hashes.len(), "node {i}, slot {slot}");
        }
    }
    // No proposeCheckpoint call failed on L1, and nobody reorged.
    for r in h.log() {
        if let Recorded::L1(L1Event::Included { call, outcome, .. }) = &r.what {
            assert_eq!(outcome, &Ok(()), "{call} failed on L1");
        }
        if let Recorded::Event(e @ (Event::Reorg { .. } | Event::EvidenceFound { .. })) = &r.what {
            panic!("unexpected in an honest run: {e:?}");
        }
    }
    // Tips are ordered: proposed >= provisional >= checkpointed >= finalized.
    for n in h.cores() {
        let t = n.tips();
        assert!(t.proposed.1 >= t.provisional.1 && t.provisional.1 >= t.checkpointed.1);
        assert!(t.checkpointed.1 >= t.finalized.1);
    }
    // Every node ends on the same checkpointed chain, with every transaction in it.
    let tip = h.node(0).chain().checkpointed();
    assert!(tip.slot >= slots, "checkpointed through slot {}", tip.slot);
    for (i, n) in h.cores().enumerate() {
        assert_eq!(n.chain().checkpointed(), tip, "node {i}");
        // A checkpoint ends its slot's attestation job: memory stays
        // bounded however long a node runs.
        let jobs: Vec<u64> = n.attestation_job_slots().collect();
        assert!(
            jobs.iter().all(|s| *s > tip.slot),
            "node {i} holds jobs {jobs:?} past checkpoint {}",
            tip.slot
        );
        // So does the slot's proposals' hold on their transactions.
        let proposals = n.proposal_slots();
        assert!(
            proposals.iter().all(|s| *s > tip.slot),
            "node {i} holds proposals of slots {proposals:?} past checkpoint {}",
            tip.slot
        );
        // The core forgets statuses a few checkpoints on; its events tell.
        let mut last = std::collections::BTreeMap::new();
        for e in h.events(i) {
            if let Event::TxStatusChanged { hash, status, .. } = e {
                last.insert(*hash, *status);
            }
        }
        for tx in sent {
            assert_eq!(
                last.get(tx).copied(),
                Some(TxStatus::Checkpointed),
                "node {i}: tx {tx}"
            );
            assert!(
                matches!(n.tx_status(tx), None | Some(TxStatus::Checkpointed)),
                "node {i}: tx {tx}"
            );
        }
    }
    assert!(!sent.is_empty());
}

#[test]
fn four_validators_staggered_devnet() {
    let (mut h, sent) = run(Preset::Devnet.spec(), 4, 4);
    check_run(&mut h, &sent, 4);
}

#[test]
fn seven_validators_staggered_devnet() {
    let (mut h, sent) = run(Preset::Devnet.spec(), 7, 3);
    check_run(&mut h, &sent, 3);
}

#[test]
fn four_validators_non_staggered_seed() {
    let (mut h, sent) = run(Preset::Seed.spec(), 4, 3);
    check_run(&mut h, &sent, 3);
}

#[test]
fn seven_validators_non_staggered_seed() {
    let (mut h, sent) = run(Preset::Seed.spec(), 7, 2);
    check_run(&mut h, &sent, 2);
}

/// The core reads no clock and draws no randomness: the same script gives
/// the same trace, event for event.
#[test]
fn the_same_run_gives_the_same_trace() {
    let trace = || {
        let (h, _) = run(Preset::Devnet.spec(), 4, 2);
        h.log()
            .iter()
            .map(|r| format!("{} {:?} {:?}", r.at.0, r.node, r.what))
            .collect::<Vec<_>>()
    };
    let a = trace();
    assert!(a.len() > 100);
    assert_eq!(a, trace());
}

/// docs/design.md section 3, step 1: a block closes when it reaches
/// `block_max_txs`; the rest waits for the next block.
#[test]
fn blocks_close_at_the_transaction_limit() {
    let spec = ChainSpec {
        block_max_txs: 2,
        ..Preset::Devnet.spec()
    };
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec, 4);
    let mut sent = Vec::new();
    let burst_at = tt.genesis();
    h.run(tt.slot_start(Slot(3)).unwrap(), |h| {
        if h.now() == burst_at {
            for u in 0..8 {
                sent.push(h.transfer(u));
            }
        }
    });
    let sizes: Vec<usize> = (0..4)
        .flat_map(|i| {
            h.events(i)
                .filter_map(|e| match e {
                    Event::BlockBuilt { txs, .. } => Some(*txs),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(sizes.iter().all(|n| *n <= 2), "{sizes:?}");
    assert!(sizes.iter().filter(|n| **n == 2).count() >= 4, "{sizes:?}");
    for tx in &sent {
        assert_eq!(h.node(0).tx_status(tx), Some(TxStatus::Checkpointed));
    }
}
