//! The core's L1 housekeeping against the real Rollup contract: validators
//! record committees L1 does not serve yet, and a slashing report is
//! submitted again until L1 shows the slash (docs/security.md, findings 1, 6
//! and 9).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use alloy_primitives::{B256, Bytes};
use chunkseq_l1::{L1Event, RollupCall};
use chunkseq_primitives::{BlockProposal, Evidence, LocalSigner, Preset, Signer, Slot, Timetable};
use chunkseq_protocol::{Gossip, Input};
use chunkseq_sim::{Recorded, ScriptedRun};

use crate::common::{Run, scripted};

/// No committee is recorded at genesis: the validators find L1 unable to
/// serve their duties, record the committee themselves, and the chain runs.
#[test]
fn validators_record_the_committees_l1_does_not_serve_yet() {
    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = ScriptedRun::builder(spec, 4)
        .committees_unrecorded()
        .build()
        .unwrap();
    let end = tt.slot_start(Slot(4)).unwrap();
    h.run(end, |_| {});
    let recorded: Vec<(usize, u64)> = h
        .log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::Submitted(RollupCall::RecordCommittee { epoch }) => {
                Some((r.node.unwrap(), *epoch))
            }
            _ => None,
        })
        .collect();
    // Each asks L1 to record everything up to two epochs ahead.
    assert!(
        !recorded.is_empty() && recorded.iter().all(|(_, e)| *e == 2),
        "the validators recorded epochs 0 to 2: {recorded:?}"
    );
    for slot in [1, 32, 64] {
        assert!(
            h.l1().duties(slot).is_ok(),
            "slot {slot}'s committee is recorded"
        );
    }
    // Each validator asked at most once per four L1 blocks.
    for node in 0..4 {
        let mine = recorded.iter().filter(|(n, _)| *n == node).count();
        assert!(mine <= 2, "node {node} recorded {mine} times");
    }
    let checkpointed: Vec<u64> = h
        .log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::L1(L1Event::CheckpointAccepted { slot, .. }) => Some(*slot),
            _ => None,
        })
        .collect();
    assert!(
        checkpointed.contains(&2) && checkpointed.contains(&3),
        "slots checkpointed: {checkpointed:?}"
    );
}

/// A node hears of an equivocation in a slot whose duties it never fetched.
/// It asks L1 for them, submits the slash, and, when L1 loses that call,
/// submits it again until L1 shows the slash; then it stops.
#[test]
fn a_report_waits_for_its_duties_and_is_retried_until_l1_slashes() {
    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec.clone(), 4);
    // A slot of the next epoch: no node has asked for its duties yet.
    let slot = 40;
    let offender = h.proposer(slot);
    let reporter = (offender + 1) % 4;
    let signer = LocalSigner::new(h.key_of(offender));
    let domain = spec.eip712_domain();
    let signed = |byte: u8| {
        let p = BlockProposal {
            slot,
            index: 0,
            blockHash: B256::repeat_byte(byte),
        };
        let sig = Bytes::from(signer.sign_statement(&domain, &p).unwrap().to_vec());
        (p, sig)
    };
    let evidence = Evidence::proposal_equivocation(signed(1), signed(2));
    // L1 loses the reporter's first slashing call.
    let lost = Arc::new(AtomicBool::new(false));
    let lost_in = Arc::clone(&lost);
    h.set_l1_call(move |i, call| {
        let first = i == reporter
            && matches!(call, RollupCall::SlashProposalEquivocation { .. })
            && !lost_in.load(Ordering::Relaxed);
        if first {
            lost_in.store(true, Ordering::Relaxed);
        }
        (!first).then_some(call)
    });
    let heard = tt.genesis().checked_add_ms(1_000).unwrap();
    h.inject(heard, reporter, Input::Gossip(Gossip::Evidence(evidence)));
    h.run(tt.slot_start(Slot(4)).unwrap(), |_| {});
    assert!(lost.load(Ordering::Relaxed), "the first call was lost");
    let submissions: Vec<(u64, usize)> = h
        .log()
        .iter()
        .filter_map(|r| match &r.what {
            Recorded::Submitted(RollupCall::SlashProposalEquivocation { committee, .. }) => {
                Some((r.at.0, committee.len()))
            }
            _ => None,
        })
        .collect();
    assert!(
        submissions.len() >= 2,
        "submitted again after the loss: {submissions:?}"
    );
    assert!(
        submissions.iter().all(|(_, members)| *members == 4),
        "every call names the slot's committee: {submissions:?}"
    );
    let offender_addr = h.addr(offender);
    let slashed_at = h
        .log()
        .iter()
        .find_map(|r| match &r.what {
            Recorded::L1(L1Event::ValidatorSlashed {
                validator,
                offence: 1,
                ..
            }) if *validator == offender_addr => Some(r.at.0),
            _ => None,
        })
        .expect("L1 slashed the offender");
    assert!(
        submissions.iter().all(|(at, _)| *at <= slashed_at),
        "no submission after L1 showed the slash: {submissions:?}, slashed at {slashed_at}"
    );
    // Retries are spaced by L1 blocks, not sent on every input.
    assert!(submissions.len() <= 3, "{submissions:?}");
}

/// Anyone can sign conflicting statements with a throwaway key: evidence of
/// slots L1 cannot judge (far ahead, or older than evidence is accepted)
/// costs a node nothing, no duties request and no L1 call.
#[test]
fn evidence_outside_the_slots_l1_judges_is_ignored() {
    use chunkseq_primitives::{Attestation, PrivateKey};
    use chunkseq_protocol::Output;
    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec.clone(), 4);
    let throwaway = LocalSigner::new(PrivateKey::from_bytes([0x77; 32]).unwrap());
    let domain = spec.eip712_domain();
    let now = tt.slot_start(Slot(2)).unwrap();
    // The core catches up first (no checkpoint on L1: nothing to fetch).
    let tip = h.l1().tip().unwrap();
    h.core_mut(0).unwrap().handle(now, Input::L1Tip(tip));
    let conflicting = |slot: u64| {
        let signed = |byte: u8| {
            let a = Attestation {
                slot,
                index: 0,
                blockHash: B256::repeat_byte(byte),
                dataHash: B256::ZERO,
            };
            let sig = Bytes::from(throwaway.sign_statement(&domain, &a).unwrap().to_vec());
            (a, sig)
        };
        Evidence::attestation_equivocation(signed(1), signed(2))
    };
    // Epochs more than two ahead have no committee L1 could know.
    for slot in [3 * 32, 1_000_000_000_000] {
        let out = h
            .core_mut(0)
            .unwrap()
            .handle(now, Input::Gossip(Gossip::Evidence(conflicting(slot))));
        assert!(
            !out.iter().any(|o| matches!(
                o,
                Output::FetchDuties(s) if *s == slot
            ) || matches!(o, Output::SubmitL1 { .. })),
            "slot {slot}: {out:?}"
        );
    }
    // Within reach, an attestation equivocation needs no committee: its
    // call goes out at once (L1 then judges the signer).
    let out = h
        .core_mut(0)
        .unwrap()
        .handle(now, Input::Gossip(Gossip::Evidence(conflicting(40))));
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::SubmitL1 {
                call: RollupCall::SlashAttestationEquivocation(_),
                ..
            }
        )),
        "{out:?}"
    );
}
