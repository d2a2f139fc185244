//! The Rollup contract's rules, written once against the [`ControlledL1`]
//! interface and run on both implementations: the embedded L1 (always) and
//! anvil through the RPC L1 (when anvil is installed; `.ci/run` installs it
//! and sets `CI=true`, which turns a missing anvil into a failure). Every
//! acceptance rule, every rejection with its specific error, each offence.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_l1::{ControlledL1, EmbeddedConfig, EmbeddedL1, L1Event, RollupCall};
use chunkseq_primitives::{
    Attestation, BlockHeader, BlockProposal, Checkpoint, CheckpointHeader, CheckpointOmission,
    Evidence, LocalSigner, Preset, PrivateKey, ProvisionalBlock, Signer, Slot, UnixMillis,
    hashing::attestations_hash,
};

mod harness;
use harness::*;

on_both_l1s!(
    deployment_matches_the_chain_spec,
    an_honest_checkpoint_is_accepted_and_chains,
    every_rejection_has_its_reason,
    equivocations_are_slashed_once,
    a_subset_checkpoint_is_slashed_as_omission,
    an_honest_proposer_is_never_slashable_by_its_own_signatures,
);

async fn deployment_matches_the_chain_spec<L: ControlledL1>(mut h: Harness<L>) {
    assert_eq!(h.l1.chain_spec_hash().await.unwrap(), h.spec.hash());
    // Committees are served once recorded, from genesis on.
    h.enter_slot(1).await;
    let (committee, proposer) = h.duties(1).await;
    assert_eq!(
        committee.len(),
        4,
        "every validator sits when there are fewer than committee_size"
    );
    assert!(committee.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert!(committee.contains(&proposer));
}

async fn an_honest_checkpoint_is_accepted_and_chains<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let RollupCall::ProposeCheckpoint { headers, .. } = &call else {
        unreachable!()
    };
    let last = headers[1].hash();
    let (outcome, events) = h.run(h.reporter, call.clone()).await;
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
    let tip = h.l1.tip().await.unwrap();
    assert_eq!(
        (tip.slot, tip.last_block_number, tip.last_block_hash),
        (1, 2, last)
    );
    assert_eq!(tip.header_hash, header_hash);

    // The next slot builds on it.
    h.enter_slot(2).await;
    let next = h.checkpoint(2, 1, (last, 2), header_hash).await;
    let (outcome, events) = h.run(h.reporter, next).await;
    assert_eq!(outcome, Ok(()));
    let second = events
        .into_iter()
        .find(|e| matches!(e, L1Event::CheckpointAccepted { .. }))
        .expect("second CheckpointAccepted");

    // A node that missed both reads them back from L1's history.
    let slots = |events: &[L1Event]| -> Vec<u64> {
        events
            .iter()
            .map(|e| match e {
                L1Event::CheckpointAccepted { slot, .. } => *slot,
                other => panic!("not a checkpoint: {other:?}"),
            })
            .collect()
    };
    let all = h.l1.checkpoints_after(0, 0, 10).await.unwrap();
    assert_eq!(slots(&all), vec![1, 2]);
    assert_eq!(all[1], second, "the same event as when it was accepted");
    assert_eq!(
        slots(&h.l1.checkpoints_after(1, 0, 10).await.unwrap()),
        vec![2]
    );
    assert_eq!(
        slots(&h.l1.checkpoints_after(0, 0, 1).await.unwrap()),
        vec![1]
    );
    assert!(h.l1.checkpoints_after(2, 0, 10).await.unwrap().is_empty());
    let L1Event::CheckpointAccepted { l1_block, .. } = &second else {
        unreachable!()
    };
    assert_eq!(
        slots(&h.l1.checkpoints_after(0, *l1_block, 10).await.unwrap()),
        vec![2],
        "the search starts at the given L1 block"
    );
}

async fn every_rejection_has_its_reason<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let RollupCall::ProposeCheckpoint {
        headers,
        attestations,
        committee,
        ..
    } = honest.clone()
    else {
        unreachable!()
    };
    let data_hash = h.data_hash_of(&h.txs(1, 2));
    let (_, proposer) = h.duties(1).await;
    let other = *committee.iter().find(|c| **c != proposer).unwrap();
    let with = |f: &dyn Fn(&mut RollupCall)| {
        let mut c = honest.clone();
        f(&mut c);
        c
    };

    let mut cases: Vec<(RollupCall, Result<(), &str>)> = Vec::new();
    // Wrong slot: a checkpoint for slot 2 during slot 1.
    cases.push((
        h.checkpoint(2, 1, (GENESIS_HASH, 0), B256::ZERO).await,
        Err("NotInSlot"),
    ));
    // Wrong parent: the first block does not extend the L2 genesis.
    cases.push((
        h.checkpoint(1, 1, (B256::repeat_byte(1), 0), B256::ZERO)
            .await,
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
    let prov = ProvisionalBlock::new(&headers[1], &ch, &attestations);
    let replayed = h.sign(proposer, &prov);
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { signature, .. } = c {
                *signature = replayed.clone()
            }
        }),
        Err("WrongProposerSignature"),
    ));
    // Too few attestations (of the last block, which vouch for the slot).
    let few = h.attest(&headers[1], &committee, 2);
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { attestations, .. } = c {
                *attestations = few.clone()
            }
        }),
        Err("NotEnoughAttestations"),
    ));
    // A threshold of attestations of an earlier block: they do not vouch
    // for the last one, so their signers recover to strangers.
    let earlier = h.attest(&headers[0], &committee, 2 * committee.len() / 3 + 1);
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { attestations, .. } = c {
                *attestations = earlier.clone()
            }
        }),
        Err("NotCommitteeMember"),
    ));
    // A duplicated attestation.
    let one = h.sign(committee[0], &headers[1].attestation(data_hash));
    let dup: Bytes = [one.to_vec(), one.to_vec(), one.to_vec()].concat().into();
    cases.push((
        with(&|c| {
            if let RollupCall::ProposeCheckpoint { attestations, .. } = c {
                *attestations = dup.clone()
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
            let a = headers[1].attestation(data_hash);
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
                *attestations = mixed.clone()
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
        h.checkpoint(1, h.spec.chunks_per_slot + 1, (GENESIS_HASH, 0), B256::ZERO)
            .await,
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
                *attestations = Bytes::new();
            }
        }),
        Err("NoBlocks"),
    ));
    // The honest one lands, in the same block after all the failures.
    cases.push((honest.clone(), Ok(())));
    h.expect_in_one_block(cases).await;
    // The slot cannot be published twice.
    h.expect_revert(honest, "SlotNotAfterTip").await;
}

fn signed<T: chunkseq_primitives::SignedStatement + Clone, L: ControlledL1>(
    h: &Harness<L>,
    who: Address,
    s: &T,
) -> (T, Bytes) {
    (s.clone(), h.sign(who, s))
}

async fn equivocations_are_slashed_once<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let (committee, proposer) = h.duties(1).await;
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
    )
    .await;
    let (outcome, events) = h
        .run(
            h.reporter,
            RollupCall::SlashProposalEquivocation {
                evidence: e.clone(),
                committee: committee.clone(),
            },
        )
        .await;
    assert_eq!(outcome, Ok(()));
    assert!(events.iter().any(|ev| matches!(ev, L1Event::ValidatorSlashed { validator, offence: 1, slot: 1, .. } if *validator == proposer)));
    let (stake, slashed) = h.standing(proposer).await;
    assert!(slashed && stake < EmbeddedConfig::default().stake);
    h.expect_revert(
        RollupCall::SlashProposalEquivocation {
            evidence: e,
            committee: committee.clone(),
        },
        "AlreadyPunished",
    )
    .await;

    let attester = committee[1];
    let a = |hash: u8| Attestation {
        slot: 1,
        index: 0,
        blockHash: B256::repeat_byte(hash),
        dataHash: B256::ZERO,
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
        .await
        .0,
        Ok(())
    );
    h.expect_revert(
        RollupCall::SlashAttestationEquivocation(e),
        "AlreadyPunished",
    )
    .await;
}

async fn a_subset_checkpoint_is_slashed_as_omission<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let (committee, proposer) = h.duties(1).await;
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
    let call = h.checkpoint_of(
        &headers[..1],
        &h.txs(1, 1),
        atts[0].clone(),
        &committee,
        h.sign(proposer, &Checkpoint::new(&ch0, hashes[0])),
    );
    assert_eq!(h.run(h.reporter, call).await.0, Ok(()));
    assert_eq!(attestations_hash(&atts[0]), provisional[0].attestationsHash);

    let sigs: Vec<Bytes> = provisional.iter().map(|p| h.sign(proposer, p)).collect();

    // Another checkpoint lands in slot 2 before anyone reports.
    h.enter_slot(2).await;
    let next = h.checkpoint(2, 1, (hashes[0], 1), ch0.hash()).await;
    let RollupCall::ProposeCheckpoint {
        headers: next_headers,
        ..
    } = &next
    else {
        unreachable!()
    };
    let ch2 = CheckpointHeader::covering(Slot(2), ch0.hash(), &[next_headers[0].hash()]).unwrap();
    assert_eq!(h.run(h.reporter, next).await.0, Ok(()));

    let omission = |i: usize| RollupCall::SlashCheckpointOmission {
        evidence: CheckpointOmission {
            provisional: provisional[i].clone(),
            signature: sigs[i].clone(),
        },
        checkpoint_blocks: hashes[..1].to_vec(),
        parent_checkpoint: B256::ZERO,
        committee: committee.clone(),
    };
    // Block 0 is in the checkpoint: its provisional signature proves nothing.
    h.expect_revert(omission(0), "NotAnOffence").await;
    // The proof names the checkpoint's parent and blocks; L1 matches them
    // against the header it recorded for the slot, so lying does not help...
    let mut lie = omission(1);
    if let RollupCall::SlashCheckpointOmission {
        checkpoint_blocks, ..
    } = &mut lie
    {
        checkpoint_blocks.push(hashes[1]);
    }
    h.expect_revert(lie, "WrongCheckpointBlocks").await;
    let mut wrong_parent = omission(1);
    if let RollupCall::SlashCheckpointOmission {
        parent_checkpoint, ..
    } = &mut wrong_parent
    {
        *parent_checkpoint = B256::repeat_byte(7);
    }
    h.expect_revert(wrong_parent, "WrongCheckpointBlocks").await;
    // ...and a later checkpoint (slot 2 landed above) does not stop the proof:
    // block 1 is missing, slashed once.
    let (outcome, events) = h.run(h.reporter, omission(1)).await;
    assert_eq!(outcome, Ok(()));
    assert!(events.iter().any(|e| matches!(e, L1Event::ValidatorSlashed { offence: 2, validator, .. } if *validator == proposer)));
    h.expect_revert(omission(1), "AlreadyPunished").await;
    let _ = ch2;
}

async fn an_honest_proposer_is_never_slashable_by_its_own_signatures<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(1).await;
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let RollupCall::ProposeCheckpoint {
        headers, committee, ..
    } = call.clone()
    else {
        unreachable!()
    };
    assert_eq!(h.run(h.reporter, call).await.0, Ok(()));
    let (_, proposer) = h.duties(1).await;
    // Each block's attestations, as it went provisional with them.
    let threshold = 2 * committee.len() / 3 + 1;
    let attestations: Vec<Bytes> = headers
        .iter()
        .map(|b| h.attest(b, &committee, threshold))
        .collect();
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
            )
            .await;
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
            committee: committee.clone(),
        };
        h.expect_revert(call, "NotAnOffence").await;
    }
    assert!(!h.standing(proposer).await.1, "never slashed");
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
