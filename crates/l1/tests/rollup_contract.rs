//! The Rollup contract's rules, checked on the embedded L1: every acceptance
//! rule, every rejection with its specific error, and each offence.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_l1::{
    EmbeddedConfig, EmbeddedL1, L1Event, RollupCall,
    checkpoint_call::{CheckpointParts, attestations, chained_headers},
};
use chunkseq_primitives::{
    Attestation, BlockHeader, BlockProposal, ChainSpec, Checkpoint, CheckpointHeader,
    CheckpointOmission, Eip712Domain, Evidence, LocalSigner, Preset, PrivateKey, ProvisionalBlock,
    Signer, Slot, Timetable, UnixMillis, hashing::attestations_hash,
};

const GENESIS_HASH: B256 = B256::repeat_byte(0x9e);

struct Harness {
    spec: ChainSpec,
    domain: Eip712Domain,
    l1: EmbeddedL1,
    signers: Vec<LocalSigner>,
    reporter: Address,
}

impl Harness {
    fn new(validators: usize) -> Self {
        let spec = Preset::Devnet.spec();
        let signers: Vec<LocalSigner> = (0..validators)
            .map(|i| LocalSigner::new(PrivateKey::from_bytes([i as u8 + 1; 32]).unwrap()))
            .collect();
        let addrs: Vec<Address> = signers.iter().map(Signer::address).collect();
        let l1 = EmbeddedL1::new(&spec, GENESIS_HASH, &addrs, EmbeddedConfig::default()).unwrap();
        Self {
            domain: spec.eip712_domain(),
            spec,
            l1,
            signers,
            reporter: addrs[0],
        }
    }

    fn signer(&self, who: Address) -> &LocalSigner {
        self.signers
            .iter()
            .find(|s| s.address() == who)
            .expect("a known validator")
    }

    /// Moves L1 to the start of `slot`; the next mined block lies inside it.
    fn enter_slot(&mut self, slot: u64) {
        let t = Timetable::new(&self.spec)
            .unwrap()
            .slot_start(Slot(slot))
            .unwrap();
        self.l1.advance_to(t).unwrap();
    }

    fn sign<T: chunkseq_primitives::SignedStatement>(&self, who: Address, statement: &T) -> Bytes {
        Bytes::from(
            self.signer(who)
                .sign_statement(&self.domain, statement)
                .unwrap()
                .to_vec(),
        )
    }

    /// `count` honest blocks for `slot` on top of `parent` (hash, number).
    fn blocks(&self, slot: u64, count: u32, parent: (B256, u64)) -> Vec<BlockHeader> {
        let template = BlockHeader {
            timestamp: self.spec.genesis_time * 1000 + slot * 8000,
            gasLimit: self.spec.block_gas_limit,
            ..Default::default()
        };
        chained_headers(slot, count, parent, &template)
    }

    /// Attestations by the first `how_many` members of the committee.
    fn attest(&self, header: &BlockHeader, committee: &[Address], how_many: usize) -> Bytes {
        let signers: Vec<&LocalSigner> = committee
            .iter()
            .take(how_many)
            .map(|m| self.signer(*m))
            .collect();
        attestations(&self.domain, header, &signers).unwrap()
    }

    /// A complete honest checkpoint call for `slot` with `count` blocks.
    fn checkpoint(
        &mut self,
        slot: u64,
        count: u32,
        parent: (B256, u64),
        parent_checkpoint: B256,
    ) -> RollupCall {
        let (committee, proposer) = self.l1.duties(slot).unwrap();
        let headers = self.blocks(slot, count, parent);
        let threshold = 2 * committee.len() / 3 + 1;
        let attestations: Vec<Bytes> = headers
            .iter()
            .map(|h| self.attest(h, &committee, threshold))
            .collect();
        let parts = CheckpointParts {
            slot,
            parent_checkpoint,
            bodies: vec![Bytes::new(); headers.len()],
            headers,
            attestations,
            committee,
        };
        parts.sign(&self.domain, self.signer(proposer)).unwrap()
    }

    /// Submits, mines one block, and returns the call's outcome and the events.
    fn run(&mut self, from: Address, call: RollupCall) -> (Result<(), String>, Vec<L1Event>) {
        let id = self.l1.submit(from, call);
        let events = self.l1.mine_block().unwrap();
        let (_, outcome) = L1Event::inclusion(&events, id).expect("the call was included");
        (outcome, events)
    }

    fn expect_revert(&mut self, call: RollupCall, error: &str) {
        let (outcome, _) = self.run(self.reporter, call);
        assert_eq!(outcome, Err(error.to_owned()));
    }

    /// Submits every call, mines one block, and checks each outcome.
    fn expect_in_one_block(&mut self, cases: Vec<(RollupCall, Result<(), &str>)>) {
        let ids: Vec<_> = cases
            .iter()
            .map(|(c, _)| self.l1.submit(self.reporter, c.clone()))
            .collect();
        let events = self.l1.mine_block().unwrap();
        for (id, (call, expected)) in ids.into_iter().zip(cases) {
            let (_, outcome) = L1Event::inclusion(&events, id).expect("included");
            assert_eq!(outcome, expected.map_err(str::to_owned), "{}", call.name());
        }
    }
}

#[test]
fn deployment_matches_the_chain_spec() {
    let mut h = Harness::new(4);
    assert_eq!(h.l1.chain_spec_hash().unwrap(), h.spec.hash());
    assert_eq!(h.l1.rollup(), h.spec.rollup_address);
    let (committee, proposer) = h.l1.duties(1).unwrap();
    assert_eq!(
        committee.len(),
        4,
        "every validator sits when there are fewer than committee_size"
    );
    assert!(committee.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert!(committee.contains(&proposer));
}

#[test]
fn an_honest_checkpoint_is_accepted_and_chains() {
    let mut h = Harness::new(4);
    h.enter_slot(1);
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO);
    let RollupCall::ProposeCheckpoint { headers, .. } = &call else {
        unreachable!()
    };
    let last = headers[1].hash();
    let (outcome, events) = h.run(h.reporter, call.clone());
    assert_eq!(outcome, Ok(()));
    let accepted = events.iter().find_map(|e| match e {
        L1Event::CheckpointAccepted {
            slot,
            headers,
            header_hash,
            ..
        } => Some((*slot, headers.clone(), *header_hash)),
        _ => None,
    });
    let (slot, got_headers, header_hash) = accepted.expect("CheckpointAccepted event");
    assert_eq!((slot, got_headers.len()), (1, 2));
    let tip = h.l1.tip().unwrap();
    assert_eq!(
        (tip.slot, tip.last_block_number, tip.last_block_hash),
        (1, 2, last)
    );
    assert_eq!(tip.header_hash, header_hash);

    // The next slot builds on it.
    h.enter_slot(2);
    let next = h.checkpoint(2, 1, (last, 2), header_hash);
    assert_eq!(h.run(h.reporter, next).0, Ok(()));
}

#[test]
fn every_rejection_has_its_reason() {
    let mut h = Harness::new(4);
    h.enter_slot(1);
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO);
    let RollupCall::ProposeCheckpoint {
        slot,
        headers,
        bodies,
        attestations,
        committee,
        signature,
    } = honest.clone()
    else {
        unreachable!()
    };
    let (_, proposer) = h.l1.duties(1).unwrap();
    let other = *committee.iter().find(|c| **c != proposer).unwrap();
    let with = |f: &dyn Fn(&mut RollupCall)| {
        let mut c = honest.clone();
        f(&mut c);
        c
    };

    let mut cases: Vec<(RollupCall, Result<(), &str>)> = Vec::new();
    // Wrong slot: a checkpoint for slot 2 during slot 1.
    cases.push((
        h.checkpoint(2, 1, (GENESIS_HASH, 0), B256::ZERO),
        Err("NotInSlot"),
    ));
    // Wrong parent: the first block does not extend the L2 genesis.
    cases.push((
        h.checkpoint(1, 1, (B256::repeat_byte(1), 0), B256::ZERO),
        Err("WrongBlockParent"),
    ));
    // Wrong proposer: signed by another committee member.
    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
    let ch = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes).unwrap();
    let cp = Checkpoint::new(&ch, hashes[1]);
    let by_other = h.sign(other, &cp);
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { signature, .. } = c {
                *signature = by_other.clone()
            }
        }),
        Err("WrongProposerSignature"),
    ));
    // The proposer's provisional-block signature replayed as its checkpoint signature.
    let prov = ProvisionalBlock::new(&headers[1], &ch, &attestations[1]);
    let replayed = h.sign(proposer, &prov);
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { signature, .. } = c {
                *signature = replayed.clone()
            }
        }),
        Err("WrongProposerSignature"),
    ));
    // Too few attestations.
    let few = h.attest(&headers[0], &committee, 2);
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { attestations, .. } = c {
                attestations[0] = few.clone()
            }
        }),
        Err("NotEnoughAttestations"),
    ));
    // A duplicated attestation.
    let one = h.sign(committee[0], &headers[0].attestation());
    let dup: Bytes = [one.to_vec(), one.to_vec(), one.to_vec()].concat().into();
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { attestations, .. } = c {
                attestations[0] = dup.clone()
            }
        }),
        Err("AttestationsNotAscending"),
    ));
    // An attestation by a non-member.
    let outsider = LocalSigner::new(PrivateKey::from_bytes([0xee; 32]).unwrap());
    let mut signers: Vec<Address> = committee
        .iter()
        .take(2)
        .copied()
        .chain([outsider.address()])
        .collect();
    signers.sort();
    let mixed: Bytes = signers
        .iter()
        .flat_map(|s| {
            let a = headers[0].attestation();
            if *s == outsider.address() {
                outsider.sign_statement(&h.domain, &a).unwrap().to_vec()
            } else {
                h.sign(*s, &a).to_vec()
            }
        })
        .collect::<Vec<u8>>()
        .into();
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { attestations, .. } = c {
                attestations[0] = mixed.clone()
            }
        }),
        Err("NotCommitteeMember"),
    ));
    // A gap in the indices.
    let mut gap = h.blocks(1, 2, (GENESIS_HASH, 0));
    gap[1].index = 2;
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { headers, .. } = c {
                *headers = gap.clone()
            }
        }),
        Err("WrongBlockPosition"),
    ));
    // Too many blocks.
    cases.push((
        h.checkpoint(1, h.spec.chunks_per_slot + 1, (GENESIS_HASH, 0), B256::ZERO),
        Err("TooManyBlocks"),
    ));
    // A committee that is not the slot's.
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { committee, .. } = c {
                committee.pop();
            }
        }),
        Err("WrongCommittee"),
    ));
    // Mismatched arrays.
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { bodies, .. } = c {
                bodies.pop();
            }
        }),
        Err("LengthMismatch"),
    ));
    // No blocks at all.
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint {
                headers,
                bodies,
                attestations,
                ..
            } = c
            {
                headers.clear();
                bodies.clear();
                attestations.clear();
            }
        }),
        Err("NoBlocks"),
    ));
    // The honest one lands, in the same block after all the failures.
    cases.push((honest.clone(), Ok(())));
    h.expect_in_one_block(cases);
    // The slot cannot be published twice.
    let _ = (slot, bodies, signature);
    h.expect_revert(honest, "SlotNotAfterTip");
}

fn signed<T: chunkseq_primitives::SignedStatement + Clone>(
    h: &Harness,
    who: Address,
    s: &T,
) -> (T, Bytes) {
    (s.clone(), h.sign(who, s))
}

#[test]
fn equivocations_are_slashed_once() {
    let mut h = Harness::new(4);
    h.enter_slot(1);
    let (committee, proposer) = h.l1.duties(1).unwrap();
    let p = |hash: u8| BlockProposal {
        slot: 1,
        index: 0,
        blockHash: B256::repeat_byte(hash),
    };
    let Evidence::ProposalEquivocation(e) =
        Evidence::proposal_equivocation(signed(&h, proposer, &p(1)), signed(&h, proposer, &p(2)))
    else {
        unreachable!()
    };
    let mut short = committee.clone();
    short.pop();
    h.expect_revert(
        RollupCall::SlashProposalEquivocation {
            evidence: e.clone(),
            committee: short,
        },
        "WrongCommittee",
    );
    let (outcome, events) = h.run(
        h.reporter,
        RollupCall::SlashProposalEquivocation {
            evidence: e.clone(),
            committee: committee.clone(),
        },
    );
    assert_eq!(outcome, Ok(()));
    assert!(events.iter().any(|ev| matches!(ev, L1Event::ValidatorSlashed { validator, offence: 1, slot: 1, .. } if *validator == proposer)));
    let (stake, slashed) = h.l1.validator(proposer).unwrap();
    assert!(slashed && stake < EmbeddedConfig::default().stake);
    h.expect_revert(
        RollupCall::SlashProposalEquivocation {
            evidence: e,
            committee: committee.clone(),
        },
        "AlreadyPunished",
    );

    let attester = committee[1];
    let a = |hash: u8| Attestation {
        slot: 1,
        index: 0,
        blockHash: B256::repeat_byte(hash),
    };
    let Evidence::AttestationEquivocation(e) = Evidence::attestation_equivocation(
        signed(&h, attester, &a(3)),
        signed(&h, attester, &a(4)),
    ) else {
        unreachable!()
    };
    assert_eq!(
        h.run(
            h.reporter,
            RollupCall::SlashAttestationEquivocation(e.clone())
        )
        .0,
        Ok(())
    );
    h.expect_revert(
        RollupCall::SlashAttestationEquivocation(e),
        "AlreadyPunished",
    );
}

#[test]
fn a_subset_checkpoint_is_slashed_as_omission() {
    let mut h = Harness::new(4);
    h.enter_slot(1);
    let (committee, proposer) = h.l1.duties(1).unwrap();
    let headers = h.blocks(1, 2, (GENESIS_HASH, 0));
    let threshold = 2 * committee.len() / 3 + 1;
    let atts: Vec<Bytes> = headers
        .iter()
        .map(|b| h.attest(b, &committee, threshold))
        .collect();
    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
    // Both blocks went provisional...
    let provisional: Vec<ProvisionalBlock> = (0..2)
        .map(|i| {
            let ch = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes[..=i]).unwrap();
            ProvisionalBlock::new(&headers[i], &ch, &atts[i])
        })
        .collect();
    // ...but the proposer publishes only block 0.
    let ch0 = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes[..1]).unwrap();
    let call = RollupCall::ProposeCheckpoint {
        slot: 1,
        headers: headers[..1].to_vec(),
        bodies: vec![Bytes::new()],
        attestations: atts[..1].to_vec(),
        committee: committee.clone(),
        signature: h.sign(proposer, &Checkpoint::new(&ch0, hashes[0])),
    };
    assert_eq!(h.run(h.reporter, call).0, Ok(()));
    assert_eq!(attestations_hash(&atts[0]), provisional[0].attestationsHash);

    let sigs: Vec<Bytes> = provisional.iter().map(|p| h.sign(proposer, p)).collect();

    // Another checkpoint lands in slot 2 before anyone reports.
    h.enter_slot(2);
    let next = h.checkpoint(2, 1, (hashes[0], 1), ch0.hash());
    let RollupCall::ProposeCheckpoint {
        headers: next_headers,
        ..
    } = &next
    else {
        unreachable!()
    };
    let ch2 = CheckpointHeader::covering(Slot(2), ch0.hash(), &[next_headers[0].hash()]).unwrap();
    assert_eq!(h.run(h.reporter, next).0, Ok(()));

    let omission = |i: usize, later: Vec<CheckpointHeader>| RollupCall::SlashCheckpointOmission {
        evidence: CheckpointOmission {
            provisional: provisional[i].clone(),
            signature: sigs[i].clone(),
        },
        checkpoint_blocks: hashes[..1].to_vec(),
        parent_checkpoint: B256::ZERO,
        later,
        committee: committee.clone(),
    };
    // Block 0 is in the checkpoint: its provisional signature proves nothing.
    h.expect_revert(omission(0, vec![ch2.clone()]), "NotAnOffence");
    // The proof must reach the tip through the later checkpoints...
    h.expect_revert(omission(1, vec![]), "WrongCheckpointBlocks");
    // ...and lying about the checkpoint's blocks does not help.
    let mut lie = omission(1, vec![ch2.clone()]);
    if let RollupCall::SlashCheckpointOmission {
        checkpoint_blocks, ..
    } = &mut lie
    {
        checkpoint_blocks.push(hashes[1]);
    }
    h.expect_revert(lie, "WrongCheckpointBlocks");
    // Block 1 is missing: slashed, once.
    let (outcome, events) = h.run(h.reporter, omission(1, vec![ch2.clone()]));
    assert_eq!(outcome, Ok(()));
    assert!(events.iter().any(|e| matches!(e, L1Event::ValidatorSlashed { offence: 2, validator, .. } if *validator == proposer)));
    h.expect_revert(omission(1, vec![ch2]), "AlreadyPunished");
}

#[test]
fn an_honest_proposer_is_never_slashable_by_its_own_signatures() {
    let mut h = Harness::new(4);
    h.enter_slot(1);
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO);
    let RollupCall::ProposeCheckpoint {
        headers,
        attestations,
        committee,
        ..
    } = call.clone()
    else {
        unreachable!()
    };
    assert_eq!(h.run(h.reporter, call).0, Ok(()));
    let (_, proposer) = h.l1.duties(1).unwrap();
    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
    // Everything the honest proposer signed: one proposal and one provisional per block.
    let proposals: Vec<(BlockProposal, Bytes)> = headers
        .iter()
        .map(|b| signed(&h, proposer, &b.proposal()))
        .collect();
    let provisionals: Vec<(ProvisionalBlock, Bytes)> = (0..2)
        .map(|i| {
            let ch = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes[..=i]).unwrap();
            signed(
                &h,
                proposer,
                &ProvisionalBlock::new(&headers[i], &ch, &attestations[i]),
            )
        })
        .collect();
    for a in &proposals {
        for b in &proposals {
            let e = chunkseq_primitives::ProposalEquivocation {
                first: a.0.clone(),
                firstSignature: a.1.clone(),
                second: b.0.clone(),
                secondSignature: b.1.clone(),
            };
            h.expect_revert(
                RollupCall::SlashProposalEquivocation {
                    evidence: e,
                    committee: committee.clone(),
                },
                "NotAnOffence",
            );
        }
    }
    for (p, sig) in &provisionals {
        let call = RollupCall::SlashCheckpointOmission {
            evidence: CheckpointOmission {
                provisional: p.clone(),
                signature: sig.clone(),
            },
            checkpoint_blocks: hashes.clone(),
            parent_checkpoint: B256::ZERO,
            later: vec![],
            committee: committee.clone(),
        };
        h.expect_revert(call, "NotAnOffence");
    }
    assert!(!h.l1.validator(proposer).unwrap().1, "never slashed");
}

#[test]
fn the_embedded_l1_is_reproducible_and_models_congestion() {
    let run = |seed: u64| {
        let spec = Preset::Devnet.spec();
        let cfg = EmbeddedConfig {
            seed,
            drop_probability: 0.3,
            delay_probability: 0.3,
            reorg_probability: 0.2,
            ..Default::default()
        };
        let mut l1 = EmbeddedL1::new(&spec, GENESIS_HASH, &[Address::repeat_byte(7)], cfg).unwrap();
        let mut log = Vec::new();
        for i in 0..30u64 {
            l1.submit(
                Address::repeat_byte(7),
                RollupCall::Exit {
                    validator: Address::repeat_byte(8 + (i % 3) as u8),
                },
            );
            log.extend(l1.mine_block().unwrap());
        }
        log
    };
    let a = run(5);
    assert_eq!(a, run(5), "same seed, same L1");
    assert_ne!(a, run(6));
    let included = a
        .iter()
        .filter(|e| matches!(e, L1Event::Included { .. }))
        .count();
    assert!(included < 30, "some submissions are dropped: {included}");
    assert!(
        a.iter().any(|e| matches!(e, L1Event::Reorg { .. })),
        "reorgs happen"
    );
    let _ = UnixMillis(0);
}
