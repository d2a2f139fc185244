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

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_l1::{
    ControlledL1, EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall, SharedEmbeddedL1,
    checkpoint_call::{CheckpointParts, attestations, chained_headers},
    rpc::{ANVIL_DEPLOYER_KEY, AnvilProcess, RpcConfig, RpcL1, deploy_rollup},
};
use chunkseq_primitives::{
    Attestation, BlockHeader, BlockProposal, ChainSpec, Checkpoint, CheckpointHeader,
    CheckpointOmission, Eip712Domain, Evidence, LocalSigner, Preset, PrivateKey, ProvisionalBlock,
    Signer, Slot, Timetable, UnixMillis, hashing::attestations_hash,
};

const GENESIS_HASH: B256 = B256::repeat_byte(0x9e);
const VALIDATORS: usize = 4;

fn stake() -> U256 {
    EmbeddedConfig::default().stake
}

fn validator_keys(n: usize) -> Vec<PrivateKey> {
    (0..n)
        .map(|i| PrivateKey::from_bytes([i as u8 + 1; 32]).unwrap())
        .collect()
}

struct Harness<L> {
    spec: ChainSpec,
    domain: Eip712Domain,
    l1: L,
    signers: Vec<LocalSigner>,
    reporter: Address,
    /// Keeps anvil running while the harness lives.
    _anvil: Option<AnvilProcess>,
}

impl Harness<SharedEmbeddedL1> {
    fn embedded() -> Self {
        let spec = Preset::Devnet.spec();
        let keys = validator_keys(VALIDATORS);
        let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
        let l1 = EmbeddedL1::new(&spec, GENESIS_HASH, &addrs, EmbeddedConfig::default()).unwrap();
        Self::with_l1(spec, SharedEmbeddedL1::new(l1), keys, None)
    }
}

impl Harness<RpcL1> {
    /// A fresh anvil with the contract deployed by its first account and the
    /// validators registered; `None` (and a note) when anvil is not installed
    /// outside CI.
    async fn anvil() -> Option<Self> {
        let Some(binary) = AnvilProcess::locate() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but anvil is not installed: .ci/run installs it into .tools/"
            );
            eprintln!("skipped: anvil not found (set CHUNKSEQ_ANVIL or run .ci/run once)");
            return None;
        };
        let spec = Preset::Devnet.spec();
        // Start a minute before genesis, like the embedded L1, mining each
        // deployment transaction at once; then hand block production to the test.
        let start = spec.genesis_time - 60;
        let anvil = AnvilProcess::spawn(
            &binary,
            &["--timestamp".into(), start.to_string(), "--silent".into()],
        )
        .unwrap();
        let keys = validator_keys(VALIDATORS);
        let deployer = PrivateKey::from_bytes(ANVIL_DEPLOYER_KEY).unwrap();
        let report = deploy_rollup(&anvil.url(), &deployer, &spec, GENESIS_HASH, stake(), &keys)
            .await
            .unwrap();
        assert_eq!(
            report.rollup, spec.rollup_address,
            "deployed where the preset expects"
        );
        let cfg = RpcConfig {
            block_time_ms: spec.l1_block_time_ms,
            // Log searches then span several requests.
            log_range: 2,
            ..RpcConfig::default()
        };
        let l1 = RpcL1::connect(&anvil.url(), report.rollup, &keys, cfg)
            .await
            .unwrap();
        l1.set_automine(false).await.unwrap();
        Some(Self::with_l1(spec, l1, keys, Some(anvil)))
    }
}

impl<L: ControlledL1> Harness<L> {
    fn with_l1(spec: ChainSpec, l1: L, keys: Vec<PrivateKey>, anvil: Option<AnvilProcess>) -> Self {
        let signers: Vec<LocalSigner> = keys.into_iter().map(LocalSigner::new).collect();
        Self {
            domain: spec.eip712_domain(),
            spec,
            l1,
            reporter: signers[0].address(),
            signers,
            _anvil: anvil,
        }
    }

    fn signer(&self, who: Address) -> &LocalSigner {
        self.signers
            .iter()
            .find(|s| s.address() == who)
            .expect("a known validator")
    }

    /// Moves L1 to the start of `slot`; the next mined block lies inside it.
    async fn enter_slot(&mut self, slot: u64) {
        let t = Timetable::new(&self.spec)
            .unwrap()
            .slot_start(Slot(slot))
            .unwrap();
        self.l1.advance_to(t).await.unwrap();
        self.l1.poll_events().await.unwrap();
    }

    async fn duties(&self, slot: u64) -> (Vec<Address>, Address) {
        self.l1.duties(slot).await.unwrap()
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
    async fn checkpoint(
        &self,
        slot: u64,
        count: u32,
        parent: (B256, u64),
        parent_checkpoint: B256,
    ) -> RollupCall {
        let (committee, proposer) = self.duties(slot).await;
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

    /// Submits `call`: a call the L1 refuses at once (it would revert) has
    /// that as its outcome; otherwise it is mined in the next block.
    async fn submit(&self, from: Address, call: RollupCall) -> Result<u64, String> {
        match self.l1.submit(from, call, None).await {
            Ok(id) => Ok(id),
            Err(L1Error::Reverted { reason }) => Err(reason),
            Err(e) => panic!("submitting failed: {e}"),
        }
    }

    /// Mines one block and returns everything L1 reported.
    async fn mine(&self) -> Vec<L1Event> {
        self.l1.mine_block().await.unwrap();
        self.l1.poll_events().await.unwrap()
    }

    /// Submits, mines one block, and returns the call's outcome and the events.
    async fn run(&mut self, from: Address, call: RollupCall) -> (Result<(), String>, Vec<L1Event>) {
        let submitted = self.submit(from, call).await;
        let events = self.mine().await;
        let outcome = match submitted {
            Ok(id) => {
                L1Event::inclusion(&events, id)
                    .expect("the call was included")
                    .1
            }
            Err(reason) => Err(reason),
        };
        (outcome, events)
    }

    async fn expect_revert(&mut self, call: RollupCall, error: &str) {
        let (outcome, _) = self.run(self.reporter, call).await;
        assert_eq!(outcome, Err(error.to_owned()));
    }

    /// Submits every call, mines one block, and checks each outcome.
    async fn expect_in_one_block(&mut self, cases: Vec<(RollupCall, Result<(), &str>)>) {
        let mut submitted = Vec::new();
        for (c, _) in &cases {
            submitted.push(self.submit(self.reporter, c.clone()).await);
        }
        let events = self.mine().await;
        for (sub, (call, expected)) in submitted.into_iter().zip(cases) {
            let outcome = match sub {
                Ok(id) => L1Event::inclusion(&events, id).expect("included").1,
                Err(reason) => Err(reason),
            };
            assert_eq!(outcome, expected.map_err(str::to_owned), "{}", call.name());
        }
    }

    async fn standing(&self, who: Address) -> (U256, bool) {
        let s = self.l1.validator(who).await.unwrap();
        (s.stake, s.slashed)
    }
}

/// Runs each listed case on the embedded L1 and on anvil.
macro_rules! on_both_l1s {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $case() {
                    super::$case(super::Harness::embedded()).await;
                }
            )*
        }
        mod anvil {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $case() {
                    if let Some(h) = super::Harness::anvil().await {
                        super::$case(h).await;
                    }
                }
            )*
        }
    };
}

on_both_l1s!(
    deployment_matches_the_chain_spec,
    an_honest_checkpoint_is_accepted_and_chains,
    every_rejection_has_its_reason,
    equivocations_are_slashed_once,
    a_subset_checkpoint_is_slashed_as_omission,
    an_honest_proposer_is_never_slashable_by_its_own_signatures,
);

async fn deployment_matches_the_chain_spec<L: ControlledL1>(h: Harness<L>) {
    assert_eq!(h.l1.chain_spec_hash().await.unwrap(), h.spec.hash());
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
                attestations.clear();
            }
        }),
        Err("NoBlocks"),
    ));
    // The honest one lands, in the same block after all the failures.
    cases.push((honest.clone(), Ok(())));
    h.expect_in_one_block(cases).await;
    // The slot cannot be published twice.
    let _ = (slot, bodies, signature);
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
    let call = RollupCall::ProposeCheckpoint {
        slot: 1,
        headers: headers[..1].to_vec(),
        bodies: vec![Bytes::new()],
        attestations: atts[..1].to_vec(),
        committee: committee.clone(),
        signature: h.sign(proposer, &Checkpoint::new(&ch0, hashes[0])),
    };
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
    h.expect_revert(omission(0, vec![ch2.clone()]), "NotAnOffence")
        .await;
    // The proof must reach the tip through the later checkpoints...
    h.expect_revert(omission(1, vec![]), "WrongCheckpointBlocks")
        .await;
    // ...and lying about the checkpoint's blocks does not help.
    let mut lie = omission(1, vec![ch2.clone()]);
    if let RollupCall::SlashCheckpointOmission {
        checkpoint_blocks, ..
    } = &mut lie
    {
        checkpoint_blocks.push(hashes[1]);
    }
    h.expect_revert(lie, "WrongCheckpointBlocks").await;
    // Block 1 is missing: slashed, once.
    let (outcome, events) = h.run(h.reporter, omission(1, vec![ch2.clone()])).await;
    assert_eq!(outcome, Ok(()));
    assert!(events.iter().any(|e| matches!(e, L1Event::ValidatorSlashed { offence: 2, validator, .. } if *validator == proposer)));
    h.expect_revert(omission(1, vec![ch2]), "AlreadyPunished")
        .await;
}

async fn an_honest_proposer_is_never_slashable_by_its_own_signatures<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(1).await;
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let RollupCall::ProposeCheckpoint {
        headers,
        attestations,
        committee,
        ..
    } = call.clone()
    else {
        unreachable!()
    };
    assert_eq!(h.run(h.reporter, call).await.0, Ok(()));
    let (_, proposer) = h.duties(1).await;
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
            later: vec![],
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
