//! Fault cases through the simulator's scripted runs: a proposer that never
//! publishes its checkpoint (rescued by the others, docs/rescue.md; without
//! rescue, docs/design.md section 6: the one-slot and, staggered, two-slot
//! reorg at a missed publish window), a restarted
//! node, an equivocating proposer, a subset checkpoint, and attestations
//! that never reach the proposer.

use chunkseq_l1::L1Event;
use chunkseq_primitives::{ChainSpec, Preset, Slot, Timetable};
use chunkseq_protocol::{Event, ReorgCause, byzantine::Behaviour};
use chunkseq_sim::{Fault, Recorded, ScriptedRun};

use crate::common::{Run, scripted};

/// Sends a transfer every second from genesis on.
fn load(h: &mut ScriptedRun) {
    if h.now() >= h.timetable().genesis() {
        let u = ((h.now().0 / 1000) % 8) as usize;
        h.transfer(u);
    }
}

/// Slot `silent`'s proposer builds and attests as usual but never sends
/// its checkpoint (the `never-publishes` behaviour), and the others rescue
/// it or not. Returns the run after `slots` slots.
fn missed_window(spec: ChainSpec, silent: u64, slots: u64, rescue: bool) -> ScriptedRun {
    let tt = Timetable::new(&spec).unwrap();
    let builder = ScriptedRun::builder(spec, 4).fault(Fault {
        kind: Behaviour::NeverPublishes,
        nodes: vec![],
        from_slot: silent,
        to_slot: Some(silent),
    });
    let builder = if rescue { builder } else { builder.no_rescue() };
    let mut h = builder.build().unwrap();
    let end = tt.slot_start(Slot(slots + 1)).unwrap();
    h.run(end, load);
    h
}

fn reorg_slots(h: &ScriptedRun, node: usize) -> Vec<Vec<u64>> {
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

fn accepted_slots(h: &ScriptedRun) -> Vec<u64> {
    h.log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::L1(L1Event::CheckpointAccepted { slot, .. }) => Some(*slot),
            _ => None,
        })
        .collect()
}

#[test]
fn without_rescue_a_staggered_missed_window_reorgs_two_slots_and_the_next_proposer_builds_on_l1() {
    let h = missed_window(Preset::Devnet.spec(), 2, 6, false);
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
    let slot4_parent = h.log().iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted {
            slot: 4, headers, ..
        }) => Some(headers[0].parentHash),
        _ => None,
    });
    let slot1_last = h.log().iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted {
            slot: 1, headers, ..
        }) => headers.last().map(|x| x.hash()),
        _ => None,
    });
    assert_eq!(slot4_parent, slot1_last);
    let tip = h.node(0).chain().checkpointed();
    for n in h.cores() {
        assert_eq!(n.chain().checkpointed(), tip);
    }
}

#[test]
fn without_rescue_a_non_staggered_missed_window_reorgs_one_slot() {
    let h = missed_window(Preset::Seed.spec(), 2, 4, false);
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

/// The rescued slot: every node applies the rescue, nothing is reorged,
/// the rescue lands in the slot's rescue window, and the next slot's
/// checkpoint only after that window (staggered: it builds on the rescued
/// chain). Every node ends at the same checkpoint.
fn rescued(spec: ChainSpec, slots: u64) {
    let tt = Timetable::new(&spec).unwrap();
    let h = missed_window(spec, 2, slots, true);
    for i in 0..4 {
        assert_eq!(reorg_slots(&h, i), Vec::<Vec<u64>>::new(), "node {i}");
        assert!(
            h.events(i).all(|e| !matches!(e, Event::Reorg { .. })),
            "node {i} reorged"
        );
    }
    let rescues: Vec<(u64, u64)> = h
        .log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::L1(L1Event::CheckpointAccepted {
                slot,
                rescuer: Some(_),
                ..
            }) => Some((*slot, r.at.0)),
            _ => None,
        })
        .collect();
    assert_eq!(rescues.len(), 1, "{rescues:?}");
    let (slot, at) = rescues[0];
    assert_eq!(slot, 2);
    let (open, close) = tt.rescue_window(Slot(2)).unwrap();
    assert!(
        at >= open.0 && at < close.0,
        "rescued at {at}, window [{open:?}, {close:?})"
    );
    let next_at = h.log().iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted { slot: 3, .. }) => Some(r.at.0),
        _ => None,
    });
    assert!(
        next_at.is_some_and(|t| t >= close.0),
        "slot 3 at {next_at:?}"
    );
    let accepted = accepted_slots(&h);
    for s in 1..slots {
        assert!(accepted.contains(&s), "slot {s}: {accepted:?}");
    }
    let tip = h.node(0).chain().checkpointed();
    for n in h.cores() {
        assert_eq!(n.chain().checkpointed(), tip);
    }
}

#[test]
fn a_staggered_missed_window_is_rescued_without_a_reorg() {
    rescued(Preset::Devnet.spec(), 5);
}

#[test]
fn a_non_staggered_missed_window_is_rescued_without_a_reorg() {
    rescued(Preset::Seed.spec(), 4);
}

/// An honest node restarted mid-slot from its slashing-protection store
/// (docs/design.md section 8) refuses to attest a conflicting proposal for an
/// index it attested before the restart.
#[test]
fn a_restarted_node_refuses_a_conflicting_attestation() {
    use alloy_primitives::Bytes;
    use chunkseq_execution::{BlockBuilder, BlockContext};
    use chunkseq_primitives::{
        BlockIndex, BlockNumber, LocalSigner, ProposalMessage, Signer, UnixMillis,
    };
    use chunkseq_protocol::{Duties, Gossip, Input, Output};
    use chunkseq_state::StateDb;

    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec.clone(), 4);
    // Run into slot 1's build window, past block 0's attestations.
    let mid = tt
        .build_start(Slot(1))
        .unwrap()
        .checked_add_ms(1_500)
        .unwrap();
    h.run(mid, |h| {
        if h.now() >= tt.genesis() {
            h.transfer(0);
        }
    });
    let proposer = h.proposer(1);
    let victim = (0..4).find(|i| *i != proposer).unwrap();
    let attested = h.events(victim).any(|e| {
        matches!(
            e,
            Event::AttestationSent {
                slot: 1,
                index: 0,
                ..
            }
        )
    });
    assert!(attested, "the victim attested block 0 before the restart");

    // Restart: a fresh core on the same protection store (and a fresh state).
    let genesis = h.genesis().clone();
    let store = h.protection_store(victim).unwrap();
    let mut restarted = h.fresh_core(victim, store).unwrap();
    let (committee, proposer_addr) = h.l1().duties(1).unwrap();
    let now = h.now();
    // It catches up first: L1 holds no checkpoint yet, so its tip is all it needs.
    let tip = h.l1().tip().unwrap();
    restarted.handle(now, Input::L1Tip(tip));
    restarted.handle(
        now,
        Input::Duties {
            slot: 1,
            duties: Duties {
                committee,
                proposer: proposer_addr,
            },
        },
    );
    // A byzantine proposer signs a second, valid, empty block 0.
    let db = StateDb::in_memory().unwrap();
    let (genesis_header, _) = genesis.commit(&db, &spec).unwrap();
    let close = tt.chunk(Slot(1), BlockIndex(0)).unwrap().close;
    let ctx = BlockContext {
        number: BlockNumber(1),
        slot: Slot(1),
        index: BlockIndex(0),
        parent_hash: genesis_header.hash(),
        timestamp: close,
        coinbase: proposer_addr,
        gas_limit: spec.block_gas_limit,
        max_txs: spec.block_max_txs,
        chain_id: spec.chain_id,
        fees: spec.fees,
        data_price: spec.fees.min_data_price,
    };
    let other = BlockBuilder::new(db.fork(), ctx).unwrap().seal();
    let byzantine = LocalSigner::new(h.key_of(proposer));
    let signature = byzantine
        .sign_statement(&spec.eip712_domain(), &other.header.proposal())
        .unwrap();
    let out = restarted.handle(
        UnixMillis(now.0),
        Input::Gossip(Gossip::Proposal(ProposalMessage {
            header: other.header.clone(),
            transactions: vec![],
            signature: Bytes::from(signature.to_vec()),
        })),
    );
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::Event(Event::SigningRefused {
                what: "attestation",
                ..
            })
        )),
        "slashing protection refused: {out:?}"
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Publish(Gossip::Attestation(_)))),
        "no conflicting attestation left the node"
    );
}

/// A valid empty block 0 of `slot` on the genesis, signed as a proposal by
/// node `signer`'s raw key (bypassing its slashing protection: the
/// byzantine behaviour).
fn second_block0(
    h: &ScriptedRun,
    slot: u64,
    signer: usize,
) -> chunkseq_primitives::ProposalMessage {
    let floor = h.spec().fees.min_data_price;
    block0_priced(h, slot, signer, floor)
}

/// [`second_block0`] at `data_price` wei per checkpoint byte.
fn block0_priced(
    h: &ScriptedRun,
    slot: u64,
    signer: usize,
    data_price: u64,
) -> chunkseq_primitives::ProposalMessage {
    use alloy_primitives::Bytes;
    use chunkseq_execution::{BlockBuilder, BlockContext};
    use chunkseq_primitives::{BlockIndex, BlockNumber, LocalSigner, ProposalMessage, Signer};
    use chunkseq_state::StateDb;

    let spec = h.spec();
    let tt = Timetable::new(spec).unwrap();
    let db = StateDb::in_memory().unwrap();
    let (genesis_header, _) = h.genesis().commit(&db, spec).unwrap();
    let ctx = BlockContext {
        number: BlockNumber(1),
        slot: Slot(slot),
        index: BlockIndex(0),
        parent_hash: genesis_header.hash(),
        timestamp: tt.chunk(Slot(slot), BlockIndex(0)).unwrap().close,
        coinbase: h.addr(signer),
        gas_limit: spec.block_gas_limit,
        max_txs: spec.block_max_txs,
        chain_id: spec.chain_id,
        fees: spec.fees,
        data_price,
    };
    let block = BlockBuilder::new(db.fork(), ctx).unwrap().seal();
    let signature = LocalSigner::new(h.key_of(signer))
        .sign_statement(&spec.eip712_domain(), &block.header.proposal())
        .unwrap();
    ProposalMessage {
        header: block.header,
        transactions: vec![],
        signature: Bytes::from(signature.to_vec()),
    }
}

/// docs/fees.md: users do not cap the data fee, so attesters do. A block
/// whose data price is more than twice what the attester's own view of L1
/// gives is not attested; one at twice that is. Either block re-executes
/// correctly: the bound alone decides.
#[test]
fn an_attester_bounds_the_proposers_data_price() {
    use chunkseq_protocol::{Duties, Gossip, Input, Output};

    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec.clone(), 4);
    h.run(tt.build_start(Slot(1)).unwrap(), |_| {});
    let proposer = h.proposer(1);
    let member = (0..4).find(|i| *i != proposer).unwrap();
    let (committee, proposer_addr) = h.l1().duties(1).unwrap();
    let close = tt
        .chunk(Slot(1), chunkseq_primitives::BlockIndex(0))
        .unwrap()
        .close;
    let floor = spec.fees.min_data_price;
    let mut attests = |price: u64| {
        let mut core = h
            .fresh_core(member, h.protection_store(member).unwrap())
            .unwrap();
        core.handle(close, Input::L1Tip(h.l1().tip().unwrap()));
        core.handle(
            close,
            Input::Duties {
                slot: 1,
                duties: Duties {
                    committee: committee.clone(),
                    proposer: proposer_addr,
                },
            },
        );
        // With no L1 head yet, its own price is the floor.
        assert_eq!(core.data_price(), floor);
        let out = core.handle(
            close,
            Input::Gossip(Gossip::Proposal(block0_priced(&h, 1, proposer, price))),
        );
        out.iter()
            .any(|o| matches!(o, Output::Publish(Gossip::Attestation(_))))
    };
    // The refusals first: they sign nothing, so slashing protection (the
    // store is shared) cannot be what refuses them, and the last call shows
    // the same setup attests.
    assert!(
        !attests(2 * floor + 1),
        "above twice its own price is not attested"
    );
    assert!(!attests(floor - 1), "below the floor is not attested");
    assert!(attests(2 * floor), "twice its own price is attested");
}

fn slashed(h: &ScriptedRun) -> Vec<(alloy_primitives::Address, u8)> {
    h.log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::L1(L1Event::ValidatorSlashed {
                validator, offence, ..
            }) => Some((*validator, *offence)),
            _ => None,
        })
        .collect()
}

/// docs/design.md section 7: an equivocating proposer (two proposals for block 0
/// sent to disjoint halves, each later forwarded to the other half) is
/// slashed on L1, and no honest attester signs both proposals.
#[test]
fn an_equivocating_proposer_is_slashed_and_nobody_attests_both() {
    use chunkseq_protocol::{Gossip, Input};

    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec, 4);
    let p = h.proposer(1);
    let honest: Vec<usize> = (0..4).filter(|i| *i != p).collect();
    let (half_a, half_b) = (vec![honest[0], honest[1]], vec![honest[2]]);
    let only_a = half_a.clone();
    h.set_route(move |from, to, g| {
        let first = matches!(g, Gossip::Proposal(m) if m.header.slot == 1 && m.header.index == 0);
        !(from == p && first) || only_a.contains(&to)
    });
    let close0 = tt
        .chunk(Slot(1), chunkseq_primitives::BlockIndex(0))
        .unwrap()
        .close;
    h.run(close0.checked_add_ms(10).unwrap(), load);
    let a = h
        .log()
        .iter()
        .find_map(|r| match &r.what {
            Recorded::Published(Gossip::Proposal(m))
                if m.header.slot == 1 && m.header.index == 0 =>
            {
                Some(m.clone())
            }
            _ => None,
        })
        .expect("proposal A");
    let b = second_block0(&h, 1, p);
    assert_ne!(a.header.hash(), b.header.hash());
    let now = h.now();
    let later = now.checked_add_ms(200).unwrap();
    for &i in &half_b {
        h.inject(now, i, Input::Gossip(Gossip::Proposal(b.clone())));
        h.inject(later, i, Input::Gossip(Gossip::Proposal(a.clone())));
    }
    for &i in &half_a {
        h.inject(later, i, Input::Gossip(Gossip::Proposal(b.clone())));
    }
    let end = tt.slot_start(Slot(4)).unwrap();
    h.run(end, load);

    assert_eq!(slashed(&h), vec![(h.addr(p), 1)], "the proposer, once");
    for &i in &honest {
        let attested: Vec<_> = h
            .log()
            .iter()
            .filter(|r| r.node == Some(i))
            .filter_map(|r| match &r.what {
                Recorded::Published(Gossip::Attestation(m))
                    if m.attestation.slot == 1 && m.attestation.index == 0 =>
                {
                    Some(m.attestation.blockHash)
                }
                _ => None,
            })
            .collect();
        assert_eq!(attested.len(), 1, "node {i} attested exactly one block 0");
        let found = h
            .events(i)
            .any(|e| matches!(e, Event::EvidenceFound { offender, .. } if *offender == h.addr(p)));
        assert!(found, "node {i} found the evidence");
    }
    let tip = h.node(honest[0]).chain().checkpointed();
    for &i in &honest {
        assert_eq!(h.node(i).chain().checkpointed(), tip);
    }
}

/// docs/design.md section 7: a proposer whose checkpoint leaves out a block that
/// went provisional is slashed for omission, and every node drops that block.
/// The proposer of slot 1 has the `subset-checkpoint` behaviour: its
/// checkpoint holds only its first provisional block, re-signed.
#[test]
fn a_subset_checkpoint_is_slashed_for_omission() {
    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = ScriptedRun::builder(spec, 4)
        .fault(Fault {
            kind: Behaviour::SubsetCheckpoint,
            nodes: vec![],
            from_slot: 1,
            to_slot: Some(1),
        })
        .build()
        .unwrap();
    let p = h.proposer(1);
    let end = tt.slot_start(Slot(4)).unwrap();
    h.run(end, load);
    let accepted_1 = h.log().iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted {
            slot: 1, headers, ..
        }) => Some(headers.len()),
        _ => None,
    });
    assert_eq!(accepted_1, Some(1), "the subset landed");
    assert_eq!(
        slashed(&h),
        vec![(h.addr(p), 2)],
        "the proposer, for omission, once"
    );
    for i in (0..4).filter(|i| *i != p) {
        let dropped = h.events(i).any(|e| {
            matches!(e, Event::Reorg { cause: ReorgCause::CheckpointDiffers, slots, .. } if slots.contains(&1))
        });
        assert!(dropped, "node {i} dropped the left-out blocks");
    }
    let tip = h.node(0).chain().checkpointed();
    for n in h.cores() {
        assert_eq!(n.chain().checkpointed(), tip);
    }
}

/// docs/design.md section 3, step 3: when block k's attestations do not reach
/// the proposer in time, the slot's chain ends at k-1, the later blocks are
/// dropped with their transactions back in the pool, and the checkpoint
/// holds exactly the provisional blocks.
#[test]
fn attestations_timing_out_cut_the_slot_and_the_checkpoint_follows() {
    use chunkseq_protocol::{Gossip, TxStatus};

    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec, 4);
    let p = h.proposer(1);
    // Every attestation of slot 1, index 2 and later is lost on its way to the proposer.
    h.set_route(move |_, to, g| {
        !(to == p
            && matches!(g, Gossip::Attestation(m) if m.attestation.slot == 1 && m.attestation.index >= 2))
    });
    let mut sent = Vec::new();
    let stop = tt.build_start(Slot(3)).unwrap();
    h.run(tt.slot_start(Slot(4)).unwrap(), |h| {
        if h.now() >= tt.genesis() && h.now() < stop {
            let u = ((h.now().0 / 1000) % 8) as usize;
            sent.push(h.transfer(u));
        }
    });
    let checkpoint_1 = h.log().iter().find_map(|r| match &r.what {
        Recorded::L1(L1Event::CheckpointAccepted {
            slot: 1, headers, ..
        }) => Some(headers.clone()),
        _ => None,
    });
    let headers = checkpoint_1.expect("slot 1 checkpointed");
    assert_eq!(headers.len(), 2, "blocks 0 and 1 only");
    let proposals_sent = h
        .log()
        .iter()
        .filter(|r| r.node == Some(p))
        .filter(
            |r| matches!(&r.what, Recorded::Published(Gossip::Proposal(m)) if m.header.slot == 1),
        )
        .count();
    assert_eq!(
        proposals_sent, 3,
        "proposal 3 was withheld: block 2 never got its attestations"
    );
    assert!(slashed(&h).is_empty(), "nobody is slashed");
    for tx in &sent {
        assert_eq!(
            h.node(0).tx_status(tx),
            Some(TxStatus::Checkpointed),
            "{tx}"
        );
    }
}
