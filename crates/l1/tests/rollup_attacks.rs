//! The Rollup contract under attack: one case per finding of the security
//! review (`docs/security.md`), each written as the attacker would try it and
//! run on the embedded L1 and on anvil. Every attack fails with its own
//! custom error, and the honest path next to it still works.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_l1::{ControlledL1, EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall};
use chunkseq_primitives::{
    BlockHeader, Checkpoint, CheckpointHeader, CheckpointOmission, Preset, ProvisionalBlock,
    Signer, Slot,
};

mod harness;
use harness::*;

on_both_l1s!(
    nobody_can_record_a_committee_before_genesis,
    a_registration_needs_a_withdrawal_address_and_holds_one_seat,
    set_changes_only_reach_committees_whose_seed_is_unknown,
    checkpoint_bodies_are_bound_to_what_the_committee_attested,
    validators_that_come_and_go_leave_no_cost_behind,
    omission_evidence_holds_against_later_checkpoints_until_it_expires,
    self_reports_earn_nothing_and_slashed_stake_is_burned,
    signatures_do_not_survive_a_chain_id_change,
);

/// Slots per epoch of the devnet preset the harness uses.
const EPOCH: u64 = 32;
/// The contract's delays, in epochs.
const SET_CHANGE_DELAY: u64 = 4;
const WITHDRAWAL_DELAY: u64 = 4;

fn reason(e: L1Error) -> String {
    match e {
        L1Error::Reverted { reason } => reason,
        other => panic!("expected a revert, got {other}"),
    }
}

impl<L: ControlledL1> Harness<L> {
    /// `call` from `from`, mined in its own block; panics unless it lands.
    async fn ok(&mut self, from: Address, call: RollupCall) -> Vec<L1Event> {
        let name = call.name();
        let (outcome, events) = self.run(from, call).await;
        assert_eq!(outcome, Ok(()), "{name} from {from}");
        events
    }

    /// `call` from `from` must fail with `error`.
    async fn refused(&mut self, from: Address, call: RollupCall, error: &str) {
        let name = call.name();
        let (outcome, _) = self.run(from, call).await;
        assert_eq!(outcome, Err(error.to_owned()), "{name} from {from}");
    }

    async fn register(&mut self, who: Address, withdrawal: Address) -> Result<(), String> {
        self.run(
            who,
            RollupCall::Register {
                withdrawal,
                stake: stake(),
            },
        )
        .await
        .0
    }

    async fn committee(&self, slot: u64) -> Vec<Address> {
        self.duties(slot).await.0
    }
}

/// Finding 1 (critical): before genesis nobody may freeze a committee; the
/// committees of the first epochs are drawn from everyone registered by
/// genesis, once genesis has passed.
async fn nobody_can_record_a_committee_before_genesis<L: ControlledL1>(mut h: Harness<L>) {
    let attacker = h.outsiders[0];
    // The attacker registers early and tries to freeze epochs 0 and 1 as
    // committees of its own while others still register.
    assert_eq!(h.register(attacker, attacker).await, Ok(()));
    for epoch in [0, 1, 2] {
        h.refused(
            attacker,
            RollupCall::RecordCommittee { epoch },
            "BeforeGenesis",
        )
        .await;
    }
    assert_eq!(
        reason(h.l1.duties(1).await.unwrap_err()),
        "CommitteeNotRecorded",
        "no duties are served before a committee is recorded"
    );
    // A latecomer registers in the very last L1 block before genesis. Its
    // proposer knows the next block's randomness, so no seed may come from
    // the next few blocks.
    let genesis = chunkseq_primitives::Timetable::new(&h.spec)
        .unwrap()
        .genesis();
    let block_ms = h.spec.l1_block_time_ms;
    h.l1.advance_to(genesis.checked_sub_ms(2 * block_ms).unwrap())
        .await
        .unwrap();
    let latecomer = h.outsiders[1];
    assert_eq!(h.register(latecomer, latecomer).await, Ok(()));
    h.l1.advance_to(genesis).await.unwrap();
    h.refused(
        attacker,
        RollupCall::RecordCommittee { epoch: 2 },
        "SeedTooEarly",
    )
    .await;
    // Eight blocks on, the committees are recorded, from everyone who
    // registered before genesis, epochs 0 to 2 in one call.
    h.l1.advance_to(genesis.checked_add_ms(8 * block_ms).unwrap())
        .await
        .unwrap();
    h.ok(attacker, RollupCall::RecordCommittee { epoch: 2 })
        .await;
    let committee = h.committee(1).await;
    assert_eq!(committee.len(), VALIDATORS + 2);
    assert!(committee.contains(&attacker) && committee.contains(&latecomer));
    for epoch in 1..=2 {
        assert_eq!(h.committee(epoch * EPOCH).await.len(), VALIDATORS + 2);
    }
    // Recording again is refused (and costs nothing): nothing is left to record.
    h.refused(
        attacker,
        RollupCall::RecordCommittee { epoch: 0 },
        "AlreadyRecorded",
    )
    .await;
    assert_eq!(h.committee(1).await, committee);
    // The honest path: a checkpoint with that committee.
    let slot = 3;
    h.enter_slot(slot).await;
    let call = h.checkpoint(slot, 1, (GENESIS_HASH, 0), B256::ZERO).await;
    h.ok(h.reporter, call).await;
    // A committee far ahead cannot be recorded yet.
    h.refused(
        attacker,
        RollupCall::RecordCommittee { epoch: 3 },
        "CommitteeNotFixed",
    )
    .await;
}

/// Finding 2 (high): a zero withdrawal address made a validator unslashable
/// and let one key register again and again, each time taking a committee
/// seat; now registration needs a real withdrawal address, and a key holds
/// one entry until it is released.
async fn a_registration_needs_a_withdrawal_address_and_holds_one_seat<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(1).await;
    let attacker = h.outsiders[0];
    assert_eq!(
        h.register(attacker, Address::ZERO).await,
        Err("ZeroWithdrawalAddress".into())
    );
    assert_eq!(h.register(attacker, attacker).await, Ok(()));
    assert_eq!(
        h.register(attacker, attacker).await,
        Err("AlreadyRegistered".into()),
        "registered"
    );
    // A validator already in the set cannot register again either.
    let validator = h.signers[1].address();
    assert_eq!(
        h.register(validator, validator).await,
        Err("AlreadyRegistered".into())
    );
    h.ok(
        attacker,
        RollupCall::Exit {
            validator: attacker,
        },
    )
    .await;
    assert_eq!(
        h.register(attacker, attacker).await,
        Err("AlreadyRegistered".into()),
        "exiting"
    );
    let exit_epoch = h.l1.validator(attacker).await.unwrap().exit_epoch;
    assert_eq!(
        exit_epoch, SET_CHANGE_DELAY,
        "an exit in epoch 0 takes effect at epoch 4"
    );
    // Not yet withdrawn: still registered, still refused, not releasable.
    h.advance_to_slot((exit_epoch + WITHDRAWAL_DELAY - 1) * EPOCH)
        .await;
    assert_eq!(
        h.register(attacker, attacker).await,
        Err("AlreadyRegistered".into())
    );
    h.refused(
        h.reporter,
        RollupCall::Release {
            validator: attacker,
        },
        "WithdrawalTooEarly",
    )
    .await;
    // Released (by anyone) once the delay passed; the stake goes to the
    // withdrawal address, and the key may register afresh.
    h.advance_to_slot((exit_epoch + WITHDRAWAL_DELAY) * EPOCH)
        .await;
    h.ok(
        h.reporter,
        RollupCall::Release {
            validator: attacker,
        },
    )
    .await;
    let before = h.l1.balance(attacker).await.unwrap();
    h.ok(attacker, RollupCall::Withdraw).await;
    let after = h.l1.balance(attacker).await.unwrap();
    let fees = U256::from(10u64).pow(U256::from(16u64));
    assert!(after + fees > before + stake(), "the stake came back");
    h.refused(attacker, RollupCall::Withdraw, "NothingToWithdraw")
        .await;
    assert_eq!(h.register(attacker, attacker).await, Ok(()));
}

/// Finding 3 (high): the seed of a committee was public while the set it
/// samples could still change. Now a registration, exit or slash made in
/// epoch x first affects epoch x + 4, whose seed is drawn in epoch x + 2 at
/// the earliest: a whole epoch after the change.
async fn set_changes_only_reach_committees_whose_seed_is_unknown<L: ControlledL1>(
    mut h: Harness<L>,
) {
    let x = 1u64;
    h.enter_slot(x * EPOCH + 1).await;
    // Epochs x + 1 and x + 2 are fixed and recorded.
    h.ok(h.reporter, RollupCall::RecordCommittee { epoch: x + 1 })
        .await;
    h.ok(h.reporter, RollupCall::RecordCommittee { epoch: x + 2 })
        .await;
    let next = h.committee((x + 1) * EPOCH).await;
    let after_next = h.committee((x + 2) * EPOCH).await;
    // A grinder registers, a validator exits, another is slashed, all in x.
    let grinder = h.outsiders[0];
    assert_eq!(h.register(grinder, grinder).await, Ok(()));
    let standing = h.l1.validator(grinder).await.unwrap();
    assert_eq!(standing.activation_epoch, x + SET_CHANGE_DELAY);
    let leaver = h.signers[1].address();
    h.ok(leaver, RollupCall::Exit { validator: leaver }).await;
    assert_eq!(
        h.l1.validator(leaver).await.unwrap().exit_epoch,
        x + SET_CHANGE_DELAY
    );
    let (_, proposer) = h.duties(x * EPOCH + 1).await;
    let e = h.proposal_equivocation(proposer, x * EPOCH + 1, (1, 2));
    let committee = h.committee(x * EPOCH + 1).await;
    h.ok(
        h.outsiders[1],
        RollupCall::SlashProposalEquivocation {
            evidence: e,
            committee,
        },
    )
    .await;
    assert_eq!(
        h.l1.validator(proposer).await.unwrap().exit_epoch,
        x + SET_CHANGE_DELAY
    );
    // The committees whose seeds may be known did not move...
    assert_eq!(h.committee((x + 1) * EPOCH).await, next);
    assert_eq!(h.committee((x + 2) * EPOCH).await, after_next);
    // ...and the first epoch the changes reach has no seed yet, nor does it
    // get one in the next epoch.
    for at in [x, x + 1] {
        h.advance_to_slot(at * EPOCH + 2).await;
        h.refused(
            grinder,
            RollupCall::RecordCommittee {
                epoch: x + SET_CHANGE_DELAY,
            },
            "CommitteeNotFixed",
        )
        .await;
    }
    // The epoch before it is drawn without the changes.
    h.ok(
        grinder,
        RollupCall::RecordCommittee {
            epoch: x + SET_CHANGE_DELAY - 1,
        },
    )
    .await;
    let before = h.committee((x + SET_CHANGE_DELAY - 1) * EPOCH).await;
    assert!(!before.contains(&grinder) && before.contains(&leaver) && before.contains(&proposer));
    // A whole epoch after the changes, their first epoch is drawn with them.
    h.advance_to_slot((x + 2) * EPOCH).await;
    h.ok(
        grinder,
        RollupCall::RecordCommittee {
            epoch: x + SET_CHANGE_DELAY,
        },
    )
    .await;
    let changed = h.committee((x + SET_CHANGE_DELAY) * EPOCH).await;
    assert!(changed.contains(&grinder));
    assert!(!changed.contains(&leaver) && !changed.contains(&proposer));
}

/// Finding 4 (high): checkpoint bodies were signed by nobody, so anyone could
/// land a copy with garbage bodies, and a proposer could withhold its data.
/// Each header now carries `bodyHash`, which the committee attests.
async fn checkpoint_bodies_are_bound_to_what_the_committee_attested<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let with_body = |i: usize, body: &[u8]| {
        let mut c = honest.clone();
        if let RollupCall::ProposeCheckpoint { bodies, .. } = &mut c {
            bodies[i] = Bytes::copy_from_slice(body);
        }
        c
    };
    let outsider = h.outsiders[0];
    let (_, proposer) = h.duties(1).await;
    let attempts = [
        // A front-runner copies the pending call and swaps a body for garbage.
        (outsider, with_body(0, b"garbage")),
        (outsider, with_body(1, &[0u8; 64])),
        // The proposer itself cannot publish other data than it got attested.
        (proposer, with_body(1, b"withheld")),
    ];
    for (from, call) in attempts {
        assert_eq!(h.submit(from, call).await, Err("WrongBody".to_owned()));
    }
    // The unchanged call lands whoever sends it: its content is signed.
    let events = h.ok(outsider, honest.clone()).await;
    let RollupCall::ProposeCheckpoint { bodies, .. } = &honest else {
        unreachable!()
    };
    assert!(events.iter().any(|e| matches!(
        e,
        L1Event::CheckpointAccepted { bodies: b, .. } if b == bodies
    )));
}

/// Finding 5 (high): the validator list only grew, and every committee
/// computation walked it, until the first checkpoint of an epoch would
/// exceed the gas cap. Released validators now leave the set: recording a
/// committee costs the same after validators came and went.
async fn validators_that_come_and_go_leave_no_cost_behind<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    // Recording one epoch, the current one, costs the same every time.
    h.advance_to_slot(2 * EPOCH).await;
    let record_gas = |events: &[L1Event]| {
        events
            .iter()
            .find_map(|e| match e {
                L1Event::Included {
                    gas_used,
                    outcome: Ok(()),
                    ..
                } => Some(*gas_used),
                _ => None,
            })
            .expect("included")
    };
    let baseline = record_gas(
        &h.ok(h.reporter, RollupCall::RecordCommittee { epoch: 2 })
            .await,
    );
    // Three newcomers register, exit and are released, four times over.
    let mut epoch = 0;
    for round in 0..4 {
        for who in h.outsiders.clone() {
            assert_eq!(h.register(who, who).await, Ok(()), "round {round}");
            h.ok(who, RollupCall::Exit { validator: who }).await;
        }
        let exit = h.l1.validator(h.outsiders[0]).await.unwrap().exit_epoch;
        epoch = exit + WITHDRAWAL_DELAY;
        h.advance_to_slot(epoch * EPOCH).await;
        for who in h.outsiders.clone() {
            h.ok(h.reporter, RollupCall::Release { validator: who })
                .await;
        }
    }
    let after = record_gas(
        &h.ok(h.reporter, RollupCall::RecordCommittee { epoch })
            .await,
    );
    // Each epoch has its own seed, so the heap does different work: about
    // 1% either way (1.04% on anvil once its block randomness moved with
    // the contract's bytecode). Twelve entries left behind would add ~30%.
    let diff = after.abs_diff(baseline);
    assert!(
        diff * 50 < baseline,
        "recording a committee cost {baseline} gas before and {after} after 12 validators came and went"
    );
    // While exited validators still sit in the set, the walk includes them.
    for who in h.outsiders.clone() {
        assert_eq!(h.register(who, who).await, Ok(()));
    }
    let with_newcomers = record_gas(
        &h.ok(h.reporter, RollupCall::RecordCommittee { epoch: epoch + 1 })
            .await,
    );
    assert!(with_newcomers > after, "{with_newcomers} vs {after}");
}

/// Finding 6 (medium): an omission proof had to end at the current tip, so
/// any later checkpoint let the offender escape. It is now proven against
/// the header L1 recorded for the slot, and holds until the evidence expires;
/// a proposer is slashed once per slot, whatever it left out.
async fn omission_evidence_holds_against_later_checkpoints_until_it_expires<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(1).await;
    let (committee, proposer) = h.duties(1).await;
    let headers = h.blocks(1, 3, (GENESIS_HASH, 0));
    let threshold = 2 * committee.len() / 3 + 1;
    let atts: Vec<Bytes> = headers
        .iter()
        .map(|b| h.attest(b, &committee, threshold))
        .collect();
    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
    let signed: Vec<(ProvisionalBlock, Bytes)> = (0..3)
        .map(|i| {
            let ch = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes[..=i]).unwrap();
            let p = ProvisionalBlock::new(&headers[i], &ch, &atts[i]);
            let sig = h.sign(proposer, &p);
            (p, sig)
        })
        .collect();
    // All three went provisional; the proposer publishes block 0 alone.
    let ch0 = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes[..1]).unwrap();
    let call = h.checkpoint_of(
        &headers[..1],
        &h.txs(1, 1),
        atts[0].clone(),
        &committee,
        h.sign(proposer, &Checkpoint::new(&ch0, hashes[0])),
    );
    h.ok(proposer, call).await;
    // Two more checkpoints land before anyone reports.
    let mut parent = (hashes[0], 1);
    let mut parent_checkpoint = ch0.hash();
    for slot in [2, 3] {
        h.enter_slot(slot).await;
        let call = h.checkpoint(slot, 1, parent, parent_checkpoint).await;
        let RollupCall::ProposeCheckpoint { headers, .. } = &call else {
            unreachable!()
        };
        let hash = headers[0].hash();
        parent_checkpoint = CheckpointHeader::covering(Slot(slot), parent_checkpoint, &[hash])
            .unwrap()
            .hash();
        parent = (hash, headers[0].number);
        h.ok(h.reporter, call).await;
    }
    let omission = |i: usize| RollupCall::SlashCheckpointOmission {
        evidence: CheckpointOmission {
            provisional: signed[i].0.clone(),
            signature: signed[i].1.clone(),
        },
        checkpoint_blocks: hashes[..1].to_vec(),
        parent_checkpoint: B256::ZERO,
        committee: committee.clone(),
    };
    let events = h.ok(h.outsiders[0], omission(1)).await;
    assert!(events.iter().any(|e| matches!(
        e,
        L1Event::ValidatorSlashed { offence: 2, validator, slot: 1, .. } if *validator == proposer
    )));
    // Block 2 was left out too: still one slash for the slot.
    h.refused(h.outsiders[0], omission(2), "AlreadyPunished")
        .await;

    // Evidence of another omission expires once its epoch is
    // WITHDRAWAL_DELAY epochs old (the offender could have left by then).
    let (committee2, proposer2) = h.duties(2).await;
    let fake = BlockHeader {
        slot: 2,
        index: 1,
        ..headers[1].clone()
    };
    let ch = CheckpointHeader::covering(Slot(2), ch0.hash(), &[hashes[0], fake.hash()]).unwrap();
    let late = ProvisionalBlock::new(&fake, &ch, &atts[1]);
    let late_sig = h.sign(proposer2, &late);
    h.advance_to_slot((WITHDRAWAL_DELAY + 1) * EPOCH).await;
    h.refused(
        h.outsiders[0],
        RollupCall::SlashCheckpointOmission {
            evidence: CheckpointOmission {
                provisional: late,
                signature: late_sig,
            },
            checkpoint_blocks: vec![],
            parent_checkpoint: ch0.hash(),
            committee: committee2,
        },
        "EvidenceExpired",
    )
    .await;
}

/// Low findings: an offender reporting itself earned the reward; slashed
/// stake was locked in the contract forever. Now a self-report earns
/// nothing, slashed stake is burned, and what is left of a slashed stake is
/// released like any other.
async fn self_reports_earn_nothing_and_slashed_stake_is_burned<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let (committee, proposer) = h.duties(1).await;
    let burn = alloy_primitives::address!("0x000000000000000000000000000000000000dEaD");
    let slashed_event = |events: &[L1Event]| {
        events
            .iter()
            .find_map(|e| match e {
                L1Event::ValidatorSlashed {
                    amount,
                    reward,
                    reporter,
                    ..
                } => Some((*amount, *reward, *reporter)),
                _ => None,
            })
            .expect("slashed")
    };
    let e = h.proposal_equivocation(proposer, 1, (1, 2));
    let burned_before = h.l1.balance(burn).await.unwrap();
    // The offender reports itself to recover the reporter's share.
    let events = h
        .ok(
            proposer,
            RollupCall::SlashProposalEquivocation {
                evidence: e,
                committee: committee.clone(),
            },
        )
        .await;
    let (amount, reward, reporter) = slashed_event(&events);
    assert_eq!((reward, reporter), (U256::ZERO, proposer));
    assert_eq!(amount, stake() / U256::from(2u64));
    assert_eq!(
        h.l1.balance(burn).await.unwrap(),
        burned_before + amount,
        "the whole penalty is burned"
    );
    // Another validator's offence reported by an outsider: 10% to it, the
    // rest burned.
    let attester = *committee.iter().find(|a| **a != proposer).unwrap();
    let e = h.attestation_equivocation(attester, 1, (3, 4));
    let burned_before = h.l1.balance(burn).await.unwrap();
    let events = h
        .ok(h.outsiders[0], RollupCall::SlashAttestationEquivocation(e))
        .await;
    let (amount, reward, _) = slashed_event(&events);
    assert_eq!(reward, amount / U256::from(10u64));
    assert_eq!(
        h.l1.balance(burn).await.unwrap(),
        burned_before + amount - reward
    );
    // What is left of the proposer's stake is released after its exit.
    let standing = h.l1.validator(proposer).await.unwrap();
    assert!(standing.slashed);
    let left = standing.stake;
    h.advance_to_slot((standing.exit_epoch + WITHDRAWAL_DELAY) * EPOCH)
        .await;
    h.ok(
        h.reporter,
        RollupCall::Release {
            validator: proposer,
        },
    )
    .await;
    let before = h.l1.balance(proposer).await.unwrap();
    h.ok(proposer, RollupCall::Withdraw).await;
    let fees = U256::from(10u64).pow(U256::from(16u64));
    assert!(h.l1.balance(proposer).await.unwrap() + fees > before + left);
}

/// Low finding: the EIP-712 domain was fixed at deployment, so signatures
/// would replay on an L1 fork that changed its chain id. The domain now
/// follows `block.chainid`.
async fn signatures_do_not_survive_a_chain_id_change<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let old = h.checkpoint(1, 1, (GENESIS_HASH, 0), B256::ZERO).await;
    assert_eq!(h.l1.domain_separator().await.unwrap(), h.domain.separator());
    let fork_id = h.spec.l1_chain_id + 1000;
    h.l1.set_chain_id(fork_id).await.unwrap();
    let mut fork_spec = h.spec.clone();
    fork_spec.l1_chain_id = fork_id;
    let fork_domain = fork_spec.eip712_domain();
    assert_eq!(
        h.l1.domain_separator().await.unwrap(),
        fork_domain.separator(),
        "the contract's domain follows the chain id"
    );
    // Every signature was made for the old chain id: the attestations no
    // longer recover to committee members. (anvil refuses even to estimate a
    // transaction signed for the old id: EIP-155 guards the L1 transaction
    // too, so only the embedded L1 gets as far as the contract.)
    match h.l1.submit(h.reporter, old, None).await {
        Err(L1Error::Reverted { reason }) => assert_eq!(reason, "NotCommitteeMember"),
        Err(L1Error::Rpc { reason, .. }) => assert!(reason.contains("chain id"), "{reason}"),
        other => panic!("the old signatures were accepted: {other:?}"),
    }
    // Signed for the fork's domain, the same checkpoint is valid there.
    h.domain = fork_domain;
    let resigned = h.checkpoint(1, 1, (GENESIS_HASH, 0), B256::ZERO).await;
    if let Ok(id) = h.l1.submit(h.reporter, resigned, None).await {
        let events = h.mine().await;
        assert_eq!(L1Event::inclusion(&events, id).unwrap().1, Ok(()));
    }
}

/// Finding 5 (the bound): the set holds at most MAX_VALIDATORS entries, so
/// a committee computation has a fixed gas ceiling. Registering thousands
/// of keys takes the embedded L1, whose senders need no keys.
#[test]
fn the_validator_set_is_capped() {
    const MAX_VALIDATORS: usize = 1024;
    let spec = Preset::Devnet.spec();
    let validators: Vec<Address> = validator_keys(VALIDATORS)
        .iter()
        .map(chunkseq_primitives::PrivateKey::address)
        .collect();
    let mut l1 =
        EmbeddedL1::new(&spec, GENESIS_HASH, &validators, EmbeddedConfig::default()).unwrap();
    let fresh = |i: usize| Address::left_padding_from(&(i as u64 + 0x1000).to_be_bytes());
    let mut ids = Vec::new();
    for i in 0..=(MAX_VALIDATORS - VALIDATORS) {
        let who = fresh(i);
        l1.set_balance(who, stake() * U256::from(2u64));
        ids.push(l1.submit(
            who,
            RollupCall::Register {
                withdrawal: who,
                stake: stake(),
            },
        ));
    }
    let events = l1.mine_block().unwrap();
    let outcome = |id| L1Event::inclusion(&events, id).unwrap().1;
    for id in &ids[..MAX_VALIDATORS - VALIDATORS] {
        assert_eq!(outcome(*id), Ok(()));
    }
    assert_eq!(
        outcome(ids[MAX_VALIDATORS - VALIDATORS]),
        Err(chunkseq_l1::Revert("ValidatorSetFull".to_owned())),
        "the 1,025th registration"
    );
}

/// The same bound on anvil: 1,020 fresh keys fill the set next to the four
/// genesis validators, and the next registration is refused.
#[tokio::test(flavor = "current_thread")]
async fn the_validator_set_is_capped_on_anvil() {
    use chunkseq_l1::{
        L1,
        rpc::{ANVIL_DEPLOYER_KEY, AnvilProcess, RpcConfig, RpcL1, deploy_rollup},
    };
    use chunkseq_primitives::PrivateKey;
    const MAX_VALIDATORS: usize = 1024;
    let Some(binary) = AnvilProcess::locate() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no anvil"
        );
        return;
    };
    let spec = Preset::Devnet.spec();
    let anvil = AnvilProcess::spawn(
        &binary,
        &[
            "--timestamp".into(),
            (spec.genesis_time - 60).to_string(),
            "--silent".into(),
        ],
    )
    .unwrap();
    let deployer = PrivateKey::from_bytes(ANVIL_DEPLOYER_KEY).unwrap();
    let validators = validator_keys(VALIDATORS);
    let report = deploy_rollup(
        &anvil.url(),
        &deployer,
        &spec,
        GENESIS_HASH,
        stake(),
        &validators,
    )
    .await
    .unwrap();
    let newcomers: Vec<PrivateKey> = (0..=(MAX_VALIDATORS - VALIDATORS))
        .map(|i| {
            let seed = alloy_primitives::keccak256((i as u64).to_be_bytes());
            PrivateKey::from_bytes(seed.0).unwrap()
        })
        .collect();
    let cfg = RpcConfig {
        block_time_ms: spec.l1_block_time_ms,
        ..RpcConfig::default()
    };
    // Automatic mining stays on: each registration is mined as it is sent.
    let l1 = RpcL1::connect(&anvil.url(), report.rollup, &newcomers, cfg)
        .await
        .unwrap();
    for k in &newcomers {
        l1.set_balance(k.address(), stake() * U256::from(2u64))
            .await
            .unwrap();
    }
    let register = |k: &PrivateKey| RollupCall::Register {
        withdrawal: k.address(),
        stake: stake(),
    };
    let (last, rest) = newcomers.split_last().unwrap();
    for k in rest {
        l1.submit(k.address(), register(k), None).await.unwrap();
    }
    let refused = l1.submit(last.address(), register(last), None).await;
    assert!(
        matches!(&refused, Err(L1Error::Reverted { reason }) if reason == "ValidatorSetFull"),
        "the 1,025th registration: {refused:?}"
    );
    assert!(l1.validator(rest[0].address()).await.unwrap().stake > U256::ZERO);
}

/// A deployment with no minimum stake would make registration free.
#[test]
fn a_zero_minimum_stake_is_refused_at_deployment() {
    let spec = Preset::Devnet.spec();
    let cfg = EmbeddedConfig {
        stake: U256::ZERO,
        ..EmbeddedConfig::default()
    };
    let err = EmbeddedL1::new(&spec, GENESIS_HASH, &[], cfg).unwrap_err();
    assert_eq!(reason(err), "InvalidStake");
}

#[tokio::test(flavor = "current_thread")]
async fn a_zero_minimum_stake_is_refused_at_deployment_on_anvil() {
    let Some(binary) = chunkseq_l1::rpc::AnvilProcess::locate() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no anvil"
        );
        return;
    };
    let spec = Preset::Devnet.spec();
    let anvil = chunkseq_l1::rpc::AnvilProcess::spawn(
        &binary,
        &[
            "--timestamp".into(),
            (spec.genesis_time - 60).to_string(),
            "--silent".into(),
        ],
    )
    .unwrap();
    let deployer =
        chunkseq_primitives::PrivateKey::from_bytes(chunkseq_l1::rpc::ANVIL_DEPLOYER_KEY).unwrap();
    let err = chunkseq_l1::rpc::deploy_rollup(
        &anvil.url(),
        &deployer,
        &spec,
        GENESIS_HASH,
        U256::ZERO,
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(reason(err), "InvalidStake");
}

/// Nodes read a checkpoint's headers (and calldata bodies) from the input of
/// the transaction whose log accepted it, so that input must be the
/// `proposeCheckpoint` call itself: a relay contract, or an account
/// delegating to one (EIP-7702), would hide it behind its own input and
/// leave every node unable to follow. The contract takes the call only as a
/// transaction of its own from a plain account. (Embedded L1 only: it takes
/// the relay's code and the call to it directly.)
#[tokio::test(flavor = "current_thread")]
async fn a_checkpoint_must_be_its_own_transaction() {
    let mut h = Harness::embedded();
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let input = h.l1.with(|l1| honest.calldata(l1.abi())).unwrap();
    // A relay that forwards its input to the Rollup and its outcome back.
    let relay = Address::repeat_byte(0x5e);
    let mut code = alloy_primitives::hex::decode("365f5f375f5f365f5f73").unwrap();
    code.extend_from_slice(h.spec.rollup_address.as_slice());
    code.extend(alloy_primitives::hex::decode("5af13d5f5f3e602a573d5ffd5b3d5ff3").unwrap());
    h.l1.with(|l1| l1.set_code(relay, code.into()));
    let outsider = h.outsiders[0];
    let relayed = h.l1.with(|l1| l1.transact(outsider, relay, input.clone()));
    assert_eq!(
        relayed.unwrap(),
        Err(chunkseq_l1::Revert("NotDirectCall".into()))
    );
    // An account delegating to the relay calls the Rollup as itself, but
    // not as its transaction's input: refused too.
    let delegation = [&[0xef, 0x01, 0x00][..], relay.as_slice()].concat();
    h.l1.with(|l1| l1.set_code(outsider, delegation.into()));
    assert_eq!(
        h.submit(outsider, honest.clone()).await,
        Err("NotDirectCall".into())
    );
    // The same call sent directly by a plain account lands, and its event
    // carries the headers and bodies of the transaction's input.
    let events = h.ok(h.outsiders[1], honest.clone()).await;
    let RollupCall::ProposeCheckpoint {
        headers, bodies, ..
    } = &honest
    else {
        unreachable!()
    };
    assert!(events.iter().any(|e| matches!(
        e,
        L1Event::CheckpointAccepted { headers: hs, bodies: bs, .. } if hs == headers && bs == bodies
    )));
}
