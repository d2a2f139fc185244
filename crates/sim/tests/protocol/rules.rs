//! Table-driven tests of the protocol rules: each row names the rule it
//! checks (docs/design.md section), feeds one fresh core a sequence of inputs,
//! and checks the outputs and the state after them.
//!
//! The messages are real: a 4-validator scripted run of the simulator builds
//! slot 1, and the rows replay (and, where a row needs it, alter and
//! re-sign) what its proposer published.

use std::sync::Arc;

use alloy_primitives::{B256, Bytes};
use chunkseq_l1::{L1Event, RollupCall};
use chunkseq_primitives::{
    BlockHeader, CheckpointHeader, LocalSigner, Preset, ProposalMessage, ProvisionalBlock,
    ProvisionalBlockMessage, Signer, Slot, StatementKind, Timetable, UnixMillis,
};
use chunkseq_protocol::{
    Core, Duties, Event, Gossip, Input, Output, ReorgCause, TxIn, TxOrigin, TxStatus,
};
use chunkseq_signer::SlashingProtectionStore;
use chunkseq_sim::{Recorded, ScriptedRun};

use crate::common::{Run, scripted};

/// Slot 1 of a devnet run, as its proposer published it.
struct Slot1 {
    h: ScriptedRun,
    tt: Timetable,
    proposer: usize,
    member: usize,
    duties: Duties,
    proposals: Vec<ProposalMessage>,
    provisionals: Vec<ProvisionalBlockMessage>,
    checkpoint: L1Event,
}

fn slot1() -> Slot1 {
    let mut spec = Preset::Devnet.spec();
    // The proposer steps below hold block 1 back until after its chunk
    // closes while block 0 waits for attestations; with one-second chunks
    // (a short first one) that needs more than the preset's one-second
    // attestation timeout.
    spec.attestation_timeout_ms = 2_000;
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec, 4);
    let end = tt.slot_start(Slot(2)).unwrap();
    h.run(end, |h| {
        if h.now() >= tt.genesis() && h.now().0 < tt.genesis().0 + 6_000 {
            let u = ((h.now().0 / 1000) % 8) as usize;
            h.transfer(u);
        }
    });
    let proposer = h.proposer(1);
    let member = (0..4).find(|i| *i != proposer).unwrap();
    let (committee, p) = h.l1().duties(1).unwrap();
    let mut proposals = Vec::new();
    let mut provisionals = Vec::new();
    let mut checkpoint = None;
    for r in h.log() {
        match &r.what {
            Recorded::Published(Gossip::Proposal(m)) if m.header.slot == 1 => {
                proposals.push(m.clone());
            }
            Recorded::Published(Gossip::Provisional(m)) if m.header.slot == 1 => {
                provisionals.push(m.clone());
            }
            Recorded::L1(e @ L1Event::CheckpointAccepted { slot: 1, .. }) => {
                checkpoint = Some(e.clone());
            }
            _ => {}
        }
    }
    assert!(
        proposals.len() >= 3 && provisionals.len() == proposals.len(),
        "{} proposals, {} provisional",
        proposals.len(),
        provisionals.len()
    );
    Slot1 {
        h,
        tt,
        proposer,
        member,
        duties: Duties {
            committee,
            proposer: p,
        },
        proposals,
        provisionals,
        checkpoint: checkpoint.expect("slot 1 checkpointed"),
    }
}

impl Slot1 {
    /// A fresh core for validator `node`, with a fresh protection store,
    /// told the duties of slots 1 and 2.
    fn node(&self, node: usize) -> (Core, Arc<SlashingProtectionStore>) {
        let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
        let mut core = self.h.fresh_core(node, Arc::clone(&store)).unwrap();
        let before_genesis = self.tt.genesis().checked_sub_ms(1).unwrap();
        // Caught up at once: L1 holds no checkpoint yet.
        core.handle(
            before_genesis,
            Input::L1Tip(chunkseq_l1::RollupTip {
                slot: 0,
                last_block_number: 0,
                has_checkpoint: false,
                header_hash: B256::ZERO,
                last_block_hash: B256::ZERO,
            }),
        );
        for slot in 1..=2 {
            core.handle(
                before_genesis,
                Input::Duties {
                    slot,
                    duties: self.duties.clone(),
                },
            );
        }
        (core, store)
    }

    /// `ms` after slot 1's build starts.
    fn at(&self, ms: u64) -> UnixMillis {
        self.tt
            .build_start(Slot(1))
            .unwrap()
            .checked_add_ms(ms)
            .unwrap()
    }

    fn proposal(&self, i: usize) -> Input {
        Input::Gossip(Gossip::Proposal(self.proposals[i].clone()))
    }

    fn provisional(&self, i: usize) -> Input {
        Input::Gossip(Gossip::Provisional(self.provisionals[i].clone()))
    }

    fn signer(&self, node: usize) -> LocalSigner {
        LocalSigner::new(self.h.key_of(node))
    }

    /// Proposal `i` with its header changed by `f`, signed by `node`.
    fn altered_proposal(&self, i: usize, node: usize, f: impl Fn(&mut BlockHeader)) -> Input {
        let mut m = self.proposals[i].clone();
        f(&mut m.header);
        let sig = self
            .signer(node)
            .sign_statement(&self.h.spec().eip712_domain(), &m.header.proposal())
            .unwrap();
        m.signature = Bytes::from(sig.to_vec());
        Input::Gossip(Gossip::Proposal(m))
    }

    /// Provisional `i` with its running header changed by `f` and
    /// attestations cut to `keep`, signed by `node`.
    fn altered_provisional(
        &self,
        i: usize,
        node: usize,
        keep: usize,
        f: impl Fn(&mut CheckpointHeader),
    ) -> Input {
        let mut m = self.provisionals[i].clone();
        f(&mut m.checkpointHeader);
        m.attestations =
            Bytes::from(m.attestations[..keep.min(m.attestations.len() / 65) * 65].to_vec());
        let statement = ProvisionalBlock::new(&m.header, &m.checkpointHeader, &m.attestations);
        let sig = self
            .signer(node)
            .sign_statement(&self.h.spec().eip712_domain(), &statement)
            .unwrap();
        m.proposerSignature = Bytes::from(sig.to_vec());
        Input::Gossip(Gossip::Provisional(m))
    }

    fn hash(&self, i: usize) -> B256 {
        self.proposals[i].header.hash()
    }

    /// An L1 block at `timestamp`.
    fn l1_block(&self, timestamp: UnixMillis) -> chunkseq_l1::L1Block {
        chunkseq_l1::L1Block {
            number: 40,
            timestamp,
            randomness: B256::ZERO,
            base_fee: 0,
            blob_base_fee: 1,
        }
    }
}

/// The rescue call among `out`, if any.
fn rescue_call(out: &[Output]) -> Option<&RollupCall> {
    out.iter().find_map(|o| match o {
        Output::SubmitL1 {
            call: c @ RollupCall::RescueCheckpoint { .. },
            ..
        } => Some(c),
        _ => None,
    })
}

fn events(out: &[Output]) -> Vec<&Event> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn rejected(out: &[Output], topic: &str) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Rejected { topic: t, .. } if *t == topic))
}

fn provisional_indices(out: &[Output]) -> Vec<u32> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::ProvisionalAccepted { index, .. } => Some(*index),
            _ => None,
        })
        .collect()
}

fn attested_indices(out: &[Output]) -> Vec<u32> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::AttestationSent { index, .. } => Some(*index),
            _ => None,
        })
        .collect()
}

type Check = Box<dyn Fn(&Slot1, &[Output], &Core, &SlashingProtectionStore)>;
type Inputs = Box<dyn Fn(&Slot1) -> Vec<(UnixMillis, Input)>>;

struct Row {
    rule: &'static str,
    node: fn(&Slot1) -> usize,
    inputs: Inputs,
    check: Check,
}

fn member(s: &Slot1) -> usize {
    s.member
}

fn proposer(s: &Slot1) -> usize {
    s.proposer
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            rule: "§6 follower: a provisional block with threshold attestations that extends the tip is accepted",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                assert_eq!(provisional_indices(out), vec![0]);
                assert_eq!(core.chain().tip().0, s.hash(0));
            }),
        },
        Row {
            rule: "§6 follower: a provisional block waits for its proposal body, then is accepted",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.provisional(0)),
                    (s.at(1_100), s.proposal(0)),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                assert_eq!(provisional_indices(out), vec![0]);
                assert_eq!(core.chain().tip().0, s.hash(0));
            }),
        },
        Row {
            rule: "§6 follower: provisional k+1 arriving before k is held and applied after k, in order",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_900), s.proposal(1)),
                    (s.at(2_000), s.provisional(1)),
                    (s.at(2_001), s.provisional(0)),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                assert_eq!(provisional_indices(out), vec![0, 1]);
                assert_eq!(core.chain().tip().0, s.hash(1));
            }),
        },
        Row {
            rule: "§5 follower: a provisional block with fewer than threshold attestations is rejected",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.altered_provisional(0, s.proposer, 2, |_| {})),
                ]
            }),
            check: Box::new(|_, out, core, _| {
                assert!(rejected(out, "provisional"));
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Row {
            rule: "§5 follower: a provisional block signed by someone other than the proposer is rejected",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.altered_provisional(0, s.member, 4, |_| {})),
                ]
            }),
            check: Box::new(|_, out, core, _| {
                assert!(rejected(out, "provisional"));
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Row {
            rule: "§3 slot close: no provisional block of a slot is accepted after its tip freeze",
            node: member,
            inputs: Box::new(|s| {
                let late = s.tt.tip_freeze(Slot(1)).unwrap().checked_add_ms(1).unwrap();
                vec![(s.at(1_000), s.proposal(0)), (late, s.provisional(0))]
            }),
            check: Box::new(|_, out, core, _| {
                assert!(rejected(out, "provisional"));
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Row {
            rule: "§6 follower: a provisional block whose running checkpoint header does not extend the slot is rejected",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (
                        s.at(1_100),
                        s.altered_provisional(0, s.proposer, 4, |h| {
                            h.parentCheckpointHash = B256::repeat_byte(7)
                        }),
                    ),
                ]
            }),
            check: Box::new(|_, out, core, _| {
                assert!(rejected(out, "provisional"));
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Row {
            rule: "§6 attester: a proposal signed by someone other than the slot's proposer is rejected, not attested",
            node: member,
            inputs: Box::new(|s| vec![(s.at(1_000), s.altered_proposal(0, s.member, |_| {}))]),
            check: Box::new(|_, out, _, _| {
                assert!(rejected(out, "proposal"));
                assert!(attested_indices(out).is_empty());
            }),
        },
        Row {
            rule: "§3 slot close: a proposal after the slot's attestation deadline is rejected",
            node: member,
            inputs: Box::new(|s| {
                let late =
                    s.tt.attestation_deadline(Slot(1))
                        .unwrap()
                        .checked_add_ms(1)
                        .unwrap();
                vec![(late, s.proposal(0))]
            }),
            check: Box::new(|_, out, _, _| {
                assert!(rejected(out, "proposal"));
                assert!(attested_indices(out).is_empty());
            }),
        },
        Row {
            rule: "§6 attester: proposals are re-executed strictly in index order; an early one is held",
            node: member,
            inputs: Box::new(|s| vec![(s.at(1_900), s.proposal(1)), (s.at(1_901), s.proposal(0))]),
            check: Box::new(|_, out, _, _| assert_eq!(attested_indices(out), vec![0, 1])),
        },
        Row {
            rule: "§6 attester: an attestation signs the data hash it computed from the bodies it re-executed",
            node: member,
            inputs: Box::new(|s| vec![(s.at(1_000), s.proposal(0))]),
            check: Box::new(|s, out, _, _| {
                let signed: Vec<B256> = published(out)
                    .into_iter()
                    .filter_map(|g| match g {
                        Gossip::Attestation(a) => Some(a.attestation.dataHash),
                        _ => None,
                    })
                    .collect();
                let own = data_hash_of_first(s, &s.proposals[0].transactions);
                assert_ne!(own, B256::ZERO, "the devnet signs blob data");
                assert_eq!(signed, vec![own]);
            }),
        },
        Row {
            rule: "§6 attester: a block whose state root is wrong is not attested, and is no evidence",
            node: member,
            inputs: Box::new(|s| {
                vec![(
                    s.at(1_000),
                    s.altered_proposal(0, s.proposer, |h| h.stateRoot = B256::repeat_byte(9)),
                )]
            }),
            check: Box::new(|_, out, _, _| {
                assert!(attested_indices(out).is_empty());
                assert!(
                    !events(out)
                        .iter()
                        .any(|e| matches!(e, Event::EvidenceFound { .. }))
                );
                assert!(
                    !rejected(out, "proposal"),
                    "validly signed: not the sender's fault"
                );
            }),
        },
        Row {
            rule: "§6 attester: after an invalid proposal nothing later in the slot is attested",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (
                        s.at(1_000),
                        s.altered_proposal(0, s.proposer, |h| h.gasUsed += 1),
                    ),
                    (s.at(1_900), s.proposal(1)),
                ]
            }),
            check: Box::new(|_, out, _, _| assert!(attested_indices(out).is_empty())),
        },
        Row {
            rule: "§6 attester: a second, different proposal for an attested index is never attested",
            node: member,
            inputs: Box::new(|s| {
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (
                        s.at(1_060),
                        s.altered_proposal(0, s.proposer, |h| {
                            h.receiptsRoot = B256::repeat_byte(3)
                        }),
                    ),
                ]
            }),
            check: Box::new(|_, out, _, _| assert_eq!(attested_indices(out), vec![0])),
        },
        Row {
            rule: "§8 slashing protection: an attestation is recorded in the store before it is sent",
            node: member,
            inputs: Box::new(|s| vec![(s.at(1_000), s.proposal(0))]),
            check: Box::new(|s, out, _, store| {
                assert_eq!(attested_indices(out), vec![0]);
                let me = s.h.addr(s.member);
                let recorded = store
                    .get(
                        me,
                        StatementKind::Attestation,
                        Slot(1),
                        Some(chunkseq_primitives::BlockIndex(0)),
                    )
                    .unwrap();
                assert!(recorded.is_some());
            }),
        },
        Row {
            rule: "§6 follower: an L1 checkpoint of the provisional blocks commits them (checkpointed tip, tx status)",
            node: member,
            inputs: Box::new(|s| {
                let mut v = Vec::new();
                for i in 0..s.proposals.len() {
                    let t = s.at(1_000 + 925 * i as u64);
                    v.push((t, s.proposal(i)));
                    v.push((t.checked_add_ms(100).unwrap(), s.provisional(i)));
                }
                v.push((
                    s.tt.slot_start(Slot(1))
                        .unwrap()
                        .checked_add_ms(2_000)
                        .unwrap(),
                    Input::L1(s.checkpoint.clone()),
                ));
                v
            }),
            check: Box::new(|s, out, core, _| {
                let last = s.hash(s.proposals.len() - 1);
                assert_eq!(core.chain().checkpointed().last_hash, last);
                assert!(core.chain().provisional().is_empty());
                assert_eq!(core.chain().db().head().unwrap().block_hash, last);
                let tx = alloy_primitives::keccak256(&s.proposals[0].transactions[0]);
                assert_eq!(core.tx_status(&tx), Some(TxStatus::Checkpointed));
                assert!(
                    events(out)
                        .iter()
                        .any(|e| matches!(e, Event::CheckpointAccepted { slot: 1, .. }))
                );
            }),
        },
        Row {
            rule: "§6 follower: a checkpoint of blocks this node never saw is applied from L1 data alone",
            node: member,
            inputs: Box::new(|s| {
                vec![(
                    s.tt.slot_start(Slot(1))
                        .unwrap()
                        .checked_add_ms(2_000)
                        .unwrap(),
                    Input::L1(s.checkpoint.clone()),
                )]
            }),
            check: Box::new(|s, _, core, _| {
                let last = s.hash(s.proposals.len() - 1);
                assert_eq!(core.chain().checkpointed().last_hash, last);
                assert_eq!(core.chain().db().head().unwrap().block_hash, last);
            }),
        },
        Row {
            rule: "§6 follower: a checkpoint with a block that does not re-execute here changes nothing (reported), and the true one applies after",
            node: member,
            inputs: Box::new(|s| {
                let L1Event::CheckpointAccepted {
                    slot,
                    header_hash,
                    headers,
                    mut bodies,
                    data: _,
                    proposer,
                    rescuer: _,
                    l1_block,
                    l1_tx,
                } = s.checkpoint.clone()
                else {
                    unreachable!()
                };
                // The last block's body is emptied: every block before it
                // re-executes, that one does not.
                if let Some(last) = bodies.last_mut() {
                    *last = chunkseq_primitives::body::encode_body(&[]);
                }
                let broken = L1Event::CheckpointAccepted {
                    slot,
                    header_hash,
                    headers,
                    bodies,
                    data: chunkseq_l1::CheckpointData::Calldata,
                    proposer,
                    rescuer: None,
                    l1_block,
                    l1_tx,
                };
                let t = s.tt.slot_start(Slot(1)).unwrap();
                vec![
                    (t.checked_add_ms(2_000).unwrap(), Input::L1(broken)),
                    (
                        t.checked_add_ms(2_100).unwrap(),
                        Input::L1(s.checkpoint.clone()),
                    ),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                let refused = events(out)
                    .iter()
                    .filter(|e| matches!(e, Event::CheckpointNotApplied { slot: 1, .. }))
                    .count();
                assert_eq!(refused, 1, "the broken checkpoint is reported once");
                let last = s.hash(s.proposals.len() - 1);
                assert_eq!(core.chain().checkpointed().last_hash, last);
                assert_eq!(core.chain().db().head().unwrap().block_hash, last);
            }),
        },
        Row {
            rule: "§6 follower: a checkpoint that does not extend this node's changes nothing, and the node catches up again",
            node: member,
            inputs: Box::new(|s| {
                let L1Event::CheckpointAccepted {
                    slot,
                    headers,
                    bodies,
                    data: _,
                    proposer,
                    l1_block,
                    l1_tx,
                    ..
                } = s.checkpoint.clone()
                else {
                    unreachable!()
                };
                // L1's checkpoint of a chain this node did not follow.
                let foreign = L1Event::CheckpointAccepted {
                    slot,
                    header_hash: B256::repeat_byte(0x5a),
                    headers,
                    bodies,
                    data: chunkseq_l1::CheckpointData::Calldata,
                    proposer,
                    rescuer: None,
                    l1_block,
                    l1_tx,
                };
                let t = s.tt.slot_start(Slot(1)).unwrap();
                vec![(t.checked_add_ms(2_000).unwrap(), Input::L1(foreign))]
            }),
            check: Box::new(|_, out, core, _| {
                let events = events(out);
                assert!(
                    events
                        .iter()
                        .any(|e| matches!(e, Event::CheckpointNotApplied { slot: 1, .. })),
                    "{events:?}"
                );
                assert!(
                    events.iter().any(|e| matches!(
                        e,
                        Event::FellBehind {
                            slot: 0,
                            l1_slot: 1
                        }
                    )),
                    "{events:?}"
                );
                assert!(core.is_catching_up());
                assert_eq!(core.chain().checkpointed().slot, 0);
                assert!(
                    out.iter().any(|o| matches!(o, Output::FetchL1Tip)),
                    "it starts asking at once: {out:?}"
                );
            }),
        },
        Row {
            rule: "§6 follower: a checkpoint that leaves out a provisional block drops it (reorg, tx back to pending)",
            node: member,
            inputs: Box::new(|s| {
                let L1Event::CheckpointAccepted {
                    bodies,
                    data: _,
                    l1_block,
                    proposer,
                    ..
                } = s.checkpoint.clone()
                else {
                    unreachable!()
                };
                let h0 = s.proposals[0].header.clone();
                let header = CheckpointHeader::covering(Slot(1), B256::ZERO, &[h0.hash()]).unwrap();
                let subset = L1Event::CheckpointAccepted {
                    slot: 1,
                    header_hash: header.hash(),
                    headers: vec![h0],
                    bodies: bodies[..1].to_vec(),
                    data: chunkseq_l1::CheckpointData::Calldata,
                    proposer,
                    rescuer: None,
                    l1_block,
                    l1_tx: B256::repeat_byte(0x11),
                };
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                    (s.at(1_900), s.proposal(1)),
                    (s.at(2_000), s.provisional(1)),
                    (
                        s.tt.slot_start(Slot(1))
                            .unwrap()
                            .checked_add_ms(2_000)
                            .unwrap(),
                        Input::L1(subset),
                    ),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                let reorg = events(out).into_iter().find_map(|e| match e {
                    Event::Reorg {
                        cause: ReorgCause::CheckpointDiffers,
                        dropped,
                        ..
                    } => Some(dropped.clone()),
                    _ => None,
                });
                assert_eq!(reorg, Some(vec![s.hash(1)]));
                assert_eq!(core.chain().checkpointed().last_hash, s.hash(0));
                let tx = alloy_primitives::keccak256(&s.proposals[1].transactions[0]);
                assert_eq!(core.tx_status(&tx), Some(TxStatus::Pending));
            }),
        },
        Row {
            rule: "§6 follower: when L1 time passes a slot's publish window with no checkpoint, the slot stays while a rescue may still land",
            node: member,
            inputs: Box::new(|s| {
                let past = chunkseq_l1::L1Block {
                    number: 50,
                    timestamp: s.tt.slot_start(Slot(2)).unwrap(),
                    randomness: B256::ZERO,
                    base_fee: 0,
                    blob_base_fee: 1,
                };
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                    (past.timestamp, Input::L1(L1Event::Block(past))),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                assert!(!events(out).iter().any(|e| matches!(e, Event::Reorg { .. })));
                assert_eq!(core.chain().provisional().len(), 1);
                assert_eq!(core.chain().tip().0, s.hash(0));
            }),
        },
        Row {
            rule: "§6 follower: when L1 time passes a slot's rescue window with no checkpoint, the slot is dropped",
            node: member,
            inputs: Box::new(|s| {
                let past = chunkseq_l1::L1Block {
                    number: 50,
                    timestamp: s.tt.rescue_window(Slot(1)).unwrap().1,
                    randomness: B256::ZERO,
                    base_fee: 0,
                    blob_base_fee: 1,
                };
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                    (past.timestamp, Input::L1(L1Event::Block(past))),
                ]
            }),
            check: Box::new(|_, out, core, _| {
                let slots = events(out).into_iter().find_map(|e| match e {
                    Event::Reorg {
                        cause: ReorgCause::MissedPublishWindow,
                        slots,
                        ..
                    } => Some(slots.clone()),
                    _ => None,
                });
                assert_eq!(slots, Some(vec![1]));
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Row {
            rule: "§17 rescue: a validator holding the slot's chain sends no rescue while the next L1 block may still hold the proposer's checkpoint",
            node: member,
            inputs: Box::new(|s| {
                let l1 = s.h.spec().l1_block_time_ms;
                let block = s.l1_block(
                    s.tt.slot_start(Slot(2))
                        .unwrap()
                        .checked_sub_ms(2 * l1)
                        .unwrap(),
                );
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                    (block.timestamp, Input::L1(L1Event::Block(block))),
                    (block.timestamp.checked_add_ms(l1 - 1).unwrap(), Input::Tick),
                ]
            }),
            check: Box::new(|_, out, _, _| {
                assert!(rescue_call(out).is_none());
            }),
        },
        Row {
            rule: "§17 rescue: once the next L1 block falls in the slot's rescue window with no checkpoint, a validator holding the chain sends rescueCheckpoint (the slot's blocks, the last one's attestations and the proposer's provisional signature) on its turn",
            node: member,
            inputs: Box::new(|s| {
                let l1 = s.h.spec().l1_block_time_ms;
                let (open, close) = s.tt.rescue_window(Slot(1)).unwrap();
                let block = s.l1_block(open.checked_sub_ms(l1).unwrap());
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                    (s.at(1_900), s.proposal(1)),
                    (s.at(2_000), s.provisional(1)),
                    (block.timestamp, Input::L1(L1Event::Block(block))),
                    // Every turn of the window has come by its last block.
                    (close.checked_sub_ms(l1 + 1).unwrap(), Input::Tick),
                ]
            }),
            check: Box::new(|s, out, _, _| {
                let Some(RollupCall::RescueCheckpoint {
                    slot,
                    headers,
                    attestations,
                    committee,
                    provisional_signature,
                    ..
                }) = rescue_call(out)
                else {
                    panic!("no rescue sent");
                };
                assert_eq!(*slot, 1);
                assert_eq!(
                    headers,
                    &vec![s.proposals[0].header.clone(), s.proposals[1].header.clone()]
                );
                assert_eq!(attestations, &s.provisionals[1].attestations);
                assert_eq!(provisional_signature, &s.provisionals[1].proposerSignature);
                assert_eq!(committee, &s.duties.committee);
                assert!(events(out).iter().any(|e| matches!(
                    e,
                    Event::RescueSubmitted {
                        slot: 1,
                        blocks: 2,
                        ..
                    }
                )));
            }),
        },
        Row {
            rule: "§17 follower: a rescue of fewer blocks than the node holds leaves the rest provisional while its window is open; a longer rescue replaces it and checkpoints them",
            node: member,
            inputs: Box::new(|s| {
                let L1Event::CheckpointAccepted {
                    bodies,
                    l1_block,
                    proposer,
                    ..
                } = s.checkpoint.clone()
                else {
                    unreachable!()
                };
                let rescue = |n: usize| {
                    let headers: Vec<_> =
                        s.proposals[..n].iter().map(|p| p.header.clone()).collect();
                    let hashes: Vec<B256> = headers.iter().map(|h| h.hash()).collect();
                    let header = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes).unwrap();
                    L1Event::CheckpointAccepted {
                        slot: 1,
                        header_hash: header.hash(),
                        headers,
                        bodies: bodies[..n].to_vec(),
                        data: chunkseq_l1::CheckpointData::Calldata,
                        proposer,
                        rescuer: Some(alloy_primitives::Address::repeat_byte(0x77)),
                        l1_block,
                        l1_tx: B256::repeat_byte(0x12),
                    }
                };
                let (open, _) = s.tt.rescue_window(Slot(1)).unwrap();
                vec![
                    (s.at(1_000), s.proposal(0)),
                    (s.at(1_100), s.provisional(0)),
                    (s.at(1_900), s.proposal(1)),
                    (s.at(2_000), s.provisional(1)),
                    (open, Input::L1(rescue(1))),
                    (open.checked_add_ms(10).unwrap(), Input::Tick),
                    (open.checked_add_ms(2_000).unwrap(), Input::L1(rescue(2))),
                ]
            }),
            check: Box::new(|s, out, core, _| {
                assert!(!events(out).iter().any(|e| matches!(e, Event::Reorg { .. })));
                let applied: Vec<(usize, Option<alloy_primitives::Address>)> = events(out)
                    .into_iter()
                    .filter_map(|e| match e {
                        Event::CheckpointAccepted {
                            blocks, rescuer, ..
                        } => Some((blocks.len(), *rescuer)),
                        _ => None,
                    })
                    .collect();
                let by = Some(alloy_primitives::Address::repeat_byte(0x77));
                assert_eq!(
                    applied,
                    vec![(1, by), (1, by)],
                    "the second applies block 1 only"
                );
                assert_eq!(core.chain().checkpointed().last_hash, s.hash(1));
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Row {
            rule: "§3 step 1: gossip transactions checked as a batch are each pending, in order; a refused one does not stop the rest",
            node: member,
            inputs: Box::new(|s| {
                let chain_id = s.h.spec().chain_id;
                let tx = |raw: &Bytes| chunkseq_execution::pool::recover(raw, chain_id).unwrap();
                let (a, b) = (
                    tx(&s.proposals[0].transactions[0]),
                    tx(&s.proposals[1].transactions[0]),
                );
                vec![(
                    s.at(100),
                    Input::Transactions {
                        txs: vec![
                            TxIn::Recovered(a.clone()),
                            TxIn::Recovered(a),
                            TxIn::Recovered(b),
                        ],
                        origin: TxOrigin::Gossip,
                    },
                )]
            }),
            check: Box::new(|s, out, core, _| {
                let a = alloy_primitives::keccak256(&s.proposals[0].transactions[0]);
                let b = alloy_primitives::keccak256(&s.proposals[1].transactions[0]);
                let pending: Vec<B256> = events(out)
                    .into_iter()
                    .filter_map(|e| match e {
                        Event::TxStatusChanged {
                            hash,
                            status: TxStatus::Pending,
                            ..
                        } => Some(*hash),
                        _ => None,
                    })
                    .collect();
                assert_eq!(
                    pending,
                    vec![a, b],
                    "the duplicate is refused, b still admitted"
                );
                assert_eq!(core.tx_status(&b), Some(TxStatus::Pending));
            }),
        },
        Row {
            rule: "§4 duties: the core asks L1 for the committee of the current slot and the next two",
            node: member,
            inputs: Box::new(|s| vec![(s.tt.slot_start(Slot(1)).unwrap(), Input::Tick)]),
            check: Box::new(|_, out, _, _| {
                let asked: Vec<u64> = out
                    .iter()
                    .filter_map(|o| match o {
                        Output::FetchDuties(slot) => Some(*slot),
                        _ => None,
                    })
                    .collect();
                assert_eq!(asked, vec![3], "slots 1 and 2 are known; 3 is asked for");
            }),
        },
        Row {
            rule: "§3 timetable: the slot's proposer opens block 0 on the tip when its build window starts",
            node: proposer,
            inputs: Box::new(|s| vec![(s.at(0), Input::Tick)]),
            check: Box::new(|s, out, _, _| {
                let opened = events(out).into_iter().any(|e| matches!(e, Event::BlockOpened { slot: 1, index: 0, parent } if *parent == s.proposals[0].header.parentHash));
                assert!(opened);
            }),
        },
        Row {
            rule: "§3 timetable: a validator that does not propose the slot builds nothing",
            node: member,
            inputs: Box::new(|s| vec![(s.at(0), Input::Tick), (s.at(1_000), Input::Tick)]),
            check: Box::new(|_, out, _, _| {
                assert!(
                    !events(out)
                        .iter()
                        .any(|e| matches!(e, Event::BlockOpened { .. } | Event::BlockBuilt { .. }))
                );
            }),
        },
    ]
}

#[test]
fn protocol_rules() {
    let s = slot1();
    for row in rows() {
        let node = (row.node)(&s);
        let (mut core, store) = s.node(node);
        let mut out = Vec::new();
        for (t, input) in (row.inputs)(&s) {
            out.extend(core.handle(t, input));
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (row.check)(&s, &out, &core, &store);
        }));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("rule failed: {}\n{msg}", row.rule);
        }
    }
}

/// What the proposer table's steps share: the proposals and the checkpoint
/// the proposer sent so far.
#[derive(Default)]
struct ProposerView {
    built: Vec<chunkseq_primitives::BlockHeader>,
    /// Each built block's transactions.
    built_txs: Vec<Vec<Bytes>>,
    submitted: Option<chunkseq_l1::RollupCall>,
    proposal_times: Vec<UnixMillis>,
}

type StepInput = Box<dyn Fn(&Slot1, &ProposerView) -> (UnixMillis, Input)>;
type StepCheck = Box<dyn Fn(&Slot1, &ProposerView, &[Output], &mut Core)>;

struct Step {
    rule: &'static str,
    input: StepInput,
    check: StepCheck,
}

fn published(out: &[Output]) -> Vec<&Gossip> {
    out.iter()
        .filter_map(|o| match o {
            Output::Publish(g) => Some(g),
            _ => None,
        })
        .collect()
}

/// Block 0's data hash when it carries `txs`: what its attestations sign.
fn data_hash_of_first(s: &Slot1, txs: &[Bytes]) -> B256 {
    let mut cache = chunkseq_da::VersionedHashCache::new(4);
    chunkseq_protocol::SlotData::new(s.h.spec())
        .appended(txs)
        .and_then(|d| d.commit(&mut cache))
        .unwrap()
        .data_hash()
}

/// `node`'s attestation of block 0 (`header`, carrying `txs`).
fn attestation_by(
    s: &Slot1,
    node: usize,
    header: &chunkseq_primitives::BlockHeader,
    txs: &[Bytes],
) -> Input {
    attestation_with(s, node, header, data_hash_of_first(s, txs))
}

/// `node`'s attestation of `header` signing `data_hash`.
fn attestation_with(
    s: &Slot1,
    node: usize,
    header: &chunkseq_primitives::BlockHeader,
    data_hash: B256,
) -> Input {
    let attestation = header.attestation(data_hash);
    let signature = s
        .signer(node)
        .sign_statement(&s.h.spec().eip712_domain(), &attestation)
        .unwrap();
    Input::Gossip(Gossip::Attestation(
        chunkseq_primitives::AttestationMessage {
            attestation,
            signature: Bytes::from(signature.to_vec()),
        },
    ))
}

fn others(s: &Slot1) -> Vec<usize> {
    (0..4).filter(|i| *i != s.proposer).collect()
}

fn proposer_steps() -> Vec<Step> {
    let close = |s: &Slot1, k: u32| {
        s.tt.chunk(Slot(1), chunkseq_primitives::BlockIndex(k))
            .unwrap()
            .close
    };
    vec![
        Step {
            rule: "§3 timetable: at its build start the proposer opens block 0 on the tip",
            input: Box::new(|s, _| (s.at(0), Input::Tick)),
            check: Box::new(|s, _, out, _| {
                assert!(events(out).iter().any(|e| matches!(e, Event::BlockOpened { slot: 1, index: 0, parent } if *parent == s.proposals[0].header.parentHash)));
                assert!(published(out).is_empty());
            }),
        },
        Step {
            rule: "§3 step 1: a transaction is executed into the open block when it arrives",
            input: Box::new(|s, _| {
                (
                    s.at(100),
                    Input::Transactions {
                        txs: vec![TxIn::Raw(s.proposals[0].transactions[0].clone())],
                        origin: TxOrigin::Gossip,
                    },
                )
            }),
            check: Box::new(|_, _, _, core| {
                let work = core.take_work();
                assert_eq!(work.gas, 21_000, "executed at once: {work:?}");
            }),
        },
        Step {
            rule: "§3 step 2: at its chunk's close block 0 is sealed and proposed at once, and block 1 opens on it",
            input: Box::new(move |s, _| (close(s, 0), Input::Tick)),
            check: Box::new(move |s, _, out, _| {
                let built = events(out).into_iter().find_map(|e| match e {
                    Event::BlockBuilt {
                        index: 0,
                        hash,
                        txs,
                        ..
                    } => Some((*hash, *txs)),
                    _ => None,
                });
                let (hash, txs) = built.expect("block 0 built");
                assert_eq!(txs, 1);
                assert!(
                    matches!(published(out)[..], [Gossip::Proposal(m)] if m.header.hash() == hash)
                );
                assert!(events(out).iter().any(
                    |e| matches!(e, Event::BlockOpened { index: 1, parent, .. } if *parent == hash)
                ));
                // Its commitments come on the next input, a millisecond on.
                let next = close(s, 0).checked_add_ms(1).unwrap();
                assert!(
                    out.iter()
                        .any(|o| matches!(o, Output::WakeAt(t) if *t == next)),
                    "asks to be woken for block 0's commitments"
                );
            }),
        },
        Step {
            rule: "§3 step 2: an attestation that comes before the proposer committed block 0's data is held, not dropped",
            input: Box::new(move |s, v| {
                (
                    close(s, 0),
                    attestation_by(s, others(s)[0], &v.built[0], &v.built_txs[0]),
                )
            }),
            check: Box::new(|_, _, out, core| {
                assert!(published(out).is_empty());
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Step {
            rule: "§3 step 1: the next transaction goes into block 1",
            input: Box::new(move |s, _| {
                (
                    close(s, 0).checked_add_ms(100).unwrap(),
                    Input::Transactions {
                        txs: vec![TxIn::Raw(s.proposals[1].transactions[0].clone())],
                        origin: TxOrigin::Gossip,
                    },
                )
            }),
            check: Box::new(|_, _, _, core| assert_eq!(core.take_work().gas, 21_000)),
        },
        Step {
            rule: "§3 step 2: block 1 is sealed at its close, but its proposal waits while block 0 lacks attestations",
            input: Box::new(move |s, _| (close(s, 1), Input::Tick)),
            check: Box::new(|_, _, out, _| {
                assert!(events(out).iter().any(|e| matches!(
                    e,
                    Event::BlockBuilt {
                        index: 1,
                        txs: 1,
                        ..
                    }
                )));
                assert!(published(out).is_empty(), "proposal 1 withheld");
            }),
        },
        Step {
            rule: "§5 threshold: the proposer's own attestation and the early one (two of four) are not enough",
            input: Box::new(move |s, _| (close(s, 1).checked_add_ms(10).unwrap(), Input::Tick)),
            check: Box::new(|_, _, out, core| {
                assert!(published(out).is_empty());
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Step {
            rule: "§5 threshold: an attestation over another data hash than the proposer's is not counted",
            input: Box::new(move |s, v| {
                (
                    close(s, 1).checked_add_ms(15).unwrap(),
                    attestation_with(s, others(s)[2], &v.built[0], B256::repeat_byte(7)),
                )
            }),
            check: Box::new(|_, _, out, core| {
                assert!(published(out).is_empty());
                assert!(core.chain().provisional().is_empty());
            }),
        },
        Step {
            rule: "§3 step 2: at threshold, provisional 0 goes out and then proposal 1, in that order",
            input: Box::new(move |s, v| {
                (
                    close(s, 1).checked_add_ms(20).unwrap(),
                    attestation_by(s, others(s)[1], &v.built[0], &v.built_txs[0]),
                )
            }),
            check: Box::new(|_, _, out, core| {
                let p = published(out);
                assert!(
                    matches!(p[..], [Gossip::Provisional(a), Gossip::Proposal(b)] if a.header.index == 0 && b.header.index == 1),
                    "{p:?}"
                );
                assert_eq!(core.chain().provisional().len(), 1);
            }),
        },
        Step {
            rule: "§3 step 3: when block 1's attestations time out, the slot's chain ends at block 0 and its transaction returns to the pool",
            input: Box::new(move |s, _| {
                let t = close(s, 1)
                    .checked_add_ms(20 + s.h.spec().attestation_timeout_ms)
                    .unwrap();
                (t, Input::Tick)
            }),
            check: Box::new(|s, _, _, core| {
                let tx = alloy_primitives::keccak256(&s.proposals[1].transactions[0]);
                assert_eq!(core.tx_status(&tx), Some(TxStatus::Pending));
                assert!(core.pool().contains(&tx));
            }),
        },
        Step {
            rule: "§3 step 4: the checkpoint, of exactly the provisional blocks, is submitted when the L1 inclusion window opens",
            input: Box::new(|s, _| (s.tt.slot_start(Slot(1)).unwrap(), Input::Tick)),
            check: Box::new(|_, v, out, _| {
                let calls: Vec<_> = out
                    .iter()
                    .filter_map(|o| match o {
                        Output::SubmitL1 {
                            call: chunkseq_l1::RollupCall::ProposeCheckpoint { headers, .. },
                            ..
                        } => Some(headers.clone()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(calls, vec![vec![v.built[0].clone()]]);
                assert!(events(out).iter().any(|e| matches!(
                    e,
                    Event::CheckpointSubmitted {
                        slot: 1,
                        blocks: 1,
                        ..
                    }
                )));
            }),
        },
        Step {
            rule: "§3 step 4: not yet on L1 after two L1 blocks: the checkpoint is sent again",
            input: Box::new(|s, _| {
                let t =
                    s.tt.slot_start(Slot(1))
                        .unwrap()
                        .checked_add_ms(2 * s.h.spec().l1_block_time_ms)
                        .unwrap();
                (t, Input::Tick)
            }),
            check: Box::new(|_, _, out, _| {
                assert!(out.iter().any(|o| matches!(
                    o,
                    Output::SubmitL1 {
                        call: chunkseq_l1::RollupCall::ProposeCheckpoint { .. },
                        ..
                    }
                )));
            }),
        },
        Step {
            rule: "§6 follower: once L1 accepts it, the checkpoint is not sent again and its block is checkpointed",
            input: Box::new(|s, v| {
                let Some(chunkseq_l1::RollupCall::ProposeCheckpoint {
                    headers, bodies, ..
                }) = v.submitted.clone()
                else {
                    panic!("no checkpoint submitted")
                };
                let header =
                    CheckpointHeader::covering(Slot(1), B256::ZERO, &[headers[0].hash()]).unwrap();
                let t =
                    s.tt.slot_start(Slot(1))
                        .unwrap()
                        .checked_add_ms(4 * s.h.spec().l1_block_time_ms)
                        .unwrap();
                (
                    t,
                    Input::L1(L1Event::CheckpointAccepted {
                        slot: 1,
                        header_hash: header.hash(),
                        headers,
                        bodies,
                        data: chunkseq_l1::CheckpointData::Calldata,
                        proposer: s.h.addr(s.proposer),
                        rescuer: None,
                        l1_block: 9,
                        l1_tx: B256::repeat_byte(0x11),
                    }),
                )
            }),
            check: Box::new(|_, v, out, core| {
                assert!(!out.iter().any(|o| matches!(o, Output::SubmitL1 { .. })));
                assert_eq!(core.chain().checkpointed().last_hash, v.built[0].hash());
            }),
        },
    ]
}

#[test]
fn proposer_rules() {
    let s = slot1();
    let (mut core, _) = s.node(s.proposer);
    let mut view = ProposerView::default();
    for step in proposer_steps() {
        let (t, input) = (step.input)(&s, &view);
        let out = core.handle(t, input);
        for o in &out {
            match o {
                Output::Publish(Gossip::Proposal(m)) => {
                    view.built.push(m.header.clone());
                    view.built_txs.push(m.transactions.clone());
                    view.proposal_times.push(t);
                }
                Output::SubmitL1 { call, .. } => view.submitted = Some(call.clone()),
                _ => {}
            }
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (step.check)(&s, &view, &out, &mut core);
        }));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("rule failed: {}\n{msg}", step.rule);
        }
    }
}

/// §3 slot close: after the attestation deadline the next proposer builds on
/// the tip as it stood, so an attestation that completes a block's
/// threshold after the deadline no longer makes it provisional, even when
/// it arrives before the core's next tick.
#[test]
fn no_block_joins_the_provisional_chain_after_the_attestation_deadline() {
    let s = slot1();
    let deadline = s.tt.attestation_deadline(Slot(1)).unwrap();
    let close0 =
        s.tt.chunk(Slot(1), chunkseq_primitives::BlockIndex(0))
            .unwrap()
            .close;
    for (at, joins) in [
        (deadline.checked_sub_ms(1).unwrap(), true),
        (deadline.checked_add_ms(1).unwrap(), false),
    ] {
        let (mut core, _) = s.node(s.proposer);
        core.handle(s.at(0), Input::Tick);
        core.handle(
            s.at(100),
            Input::Transactions {
                txs: vec![TxIn::Raw(s.proposals[0].transactions[0].clone())],
                origin: TxOrigin::Gossip,
            },
        );
        let out = core.handle(close0, Input::Tick);
        let (header, txs) = published(&out)
            .iter()
            .find_map(|g| match g {
                Gossip::Proposal(m) => Some((m.header.clone(), m.transactions.clone())),
                _ => None,
            })
            .expect("proposal 0");
        let first = attestation_by(&s, others(&s)[0], &header, &txs);
        core.handle(close0.checked_add_ms(10).unwrap(), first);
        let out = core.handle(at, attestation_by(&s, others(&s)[1], &header, &txs));
        let provisional = published(&out)
            .iter()
            .any(|g| matches!(g, Gossip::Provisional(p) if p.header.index == 0));
        assert_eq!(
            provisional,
            joins,
            "threshold reached {} ms from the deadline",
            at.0 as i64 - deadline.0 as i64
        );
    }
}
