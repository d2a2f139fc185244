//! End to end against the real Rollup contract on the embedded L1: the calls
//! the [`EvidenceDetector`] builds from signed statements and accepted
//! checkpoints are accepted by the contract and slash the offender
//! (docs/design.md section 7), and an honest proposer's and committee's
//! statements never yield any call (honest nodes are never slashed).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use alloy_primitives::{Address, B256, Bytes, keccak256};
use chunkseq_l1::{
    EmbeddedConfig, EmbeddedL1, L1Event, RollupCall,
    checkpoint_call::{CheckpointParts, attestations, chained_headers},
};
use chunkseq_primitives::{
    BlockHeader, ChainSpec, CheckpointHeader, Eip712Domain, Evidence, LocalSigner, Preset,
    PrivateKey, ProvisionalBlock, SignedStatement, Signer, Slot, Timetable,
};
use chunkseq_protocol::{EvidenceDetector, Offence, OmissionCandidate, equivocation_call};

const GENESIS_HASH: B256 = B256::repeat_byte(0x9e);
const VALIDATORS: u8 = 4;

/// A devnet L1 with four registered validators, and a node's detector fed
/// from what L1 reports.
struct Net {
    spec: ChainSpec,
    domain: Eip712Domain,
    l1: EmbeddedL1,
    signers: Vec<LocalSigner>,
    reporter: Address,
    detector: EvidenceDetector,
    /// Header hash of the last accepted checkpoint (the next one's parent).
    last_checkpoint: B256,
}

impl Net {
    fn new() -> Self {
        // Calldata mode: the bodies are placeholders and attestations sign
        // a zero data hash (the blob rules have their own suite in chunkseq-l1).
        let mut spec = Preset::Devnet.spec();
        spec.data_mode = chunkseq_primitives::DataMode::Calldata;
        let signers: Vec<LocalSigner> = (1..=VALIDATORS)
            .map(|n| LocalSigner::new(PrivateKey::from_bytes([n; 32]).unwrap()))
            .collect();
        let addrs: Vec<Address> = signers.iter().map(Signer::address).collect();
        let l1 = EmbeddedL1::new(&spec, GENESIS_HASH, &addrs, EmbeddedConfig::default()).unwrap();
        Self {
            domain: spec.eip712_domain(),
            spec,
            l1,
            reporter: addrs[0],
            signers,
            detector: EvidenceDetector::new(),
            last_checkpoint: B256::ZERO,
        }
    }

    fn signer(&self, who: Address) -> &LocalSigner {
        self.signers.iter().find(|s| s.address() == who).unwrap()
    }

    fn sign<T: SignedStatement>(&self, who: Address, statement: &T) -> Bytes {
        let sig = self.signer(who).sign_statement(&self.domain, statement);
        Bytes::from(sig.unwrap().to_vec())
    }

    /// Moves L1 to the start of `slot`, feeding what happens to the detector.
    fn enter_slot(&mut self, slot: u64) -> Vec<OmissionCandidate> {
        let t = Timetable::new(&self.spec)
            .unwrap()
            .slot_start(Slot(slot))
            .unwrap();
        let events = self.l1.advance_to(t).unwrap();
        let mut candidates = self.observe(&events);
        // The contract serves recorded committees only; nodes record the
        // first epochs (checkpoints record the later ones).
        if self.l1.duties(slot).is_err() {
            let epoch = slot / u64::from(self.spec.epoch_slots);
            let (outcome, _, found) = self.run(RollupCall::RecordCommittee { epoch });
            assert_eq!(outcome, Ok(()));
            candidates.extend(found);
        }
        candidates
    }

    /// What a node does with L1 events: accepted checkpoints go to the
    /// detector (checked against L1's header hash), slashings mark offences.
    fn observe(&mut self, events: &[L1Event]) -> Vec<OmissionCandidate> {
        let mut candidates = Vec::new();
        for e in events {
            match e {
                L1Event::CheckpointAccepted {
                    slot,
                    header_hash,
                    headers,
                    ..
                } => {
                    let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
                    candidates.extend(self.detector.on_checkpoint(
                        *slot,
                        self.last_checkpoint,
                        &hashes,
                    ));
                    let header = self.detector.checkpoint_header(*slot).unwrap();
                    assert_eq!(header.hash(), *header_hash, "the detector's header is L1's");
                    self.last_checkpoint = *header_hash;
                }
                L1Event::ValidatorSlashed {
                    validator,
                    offence,
                    slot,
                    ..
                } => {
                    let offence = Offence::from_l1_code(*offence).unwrap();
                    self.detector.mark_slashed(*validator, offence, *slot);
                }
                _ => {}
            }
        }
        candidates
    }

    /// Submits `call`, mines one block and returns the call's outcome, the
    /// events, and the omission candidates they revealed.
    fn run(
        &mut self,
        call: RollupCall,
    ) -> (Result<(), String>, Vec<L1Event>, Vec<OmissionCandidate>) {
        let id = self.l1.submit(self.reporter, call);
        let events = self.l1.mine_block().unwrap();
        let outcome = L1Event::inclusion(&events, id)
            .expect("included")
            .1
            .map_err(|r| r.0);
        let candidates = self.observe(&events);
        (outcome, events, candidates)
    }

    /// `count` blocks of `slot` on `parent` (hash, number).
    fn blocks(&self, slot: u64, count: u32, parent: (B256, u64)) -> Vec<BlockHeader> {
        let template = BlockHeader {
            timestamp: self.spec.genesis_time * 1000 + slot * self.spec.slot_duration_ms,
            gasLimit: self.spec.block_gas_limit,
            bodyHash: keccak256([]),
            ..Default::default()
        };
        chained_headers(slot, count, parent, &template)
    }

    /// Every committee member attests `header` (feeding each signature to
    /// the detector); returns the concatenated signatures.
    fn attest(&mut self, header: &BlockHeader, committee: &[Address]) -> Bytes {
        for member in committee {
            let a = header.attestation(B256::ZERO);
            let sig = self.sign(*member, &a);
            assert_eq!(self.detector.on_attestation(*member, a, sig), None);
        }
        let signers: Vec<&LocalSigner> = committee.iter().map(|m| self.signer(*m)).collect();
        attestations(&self.domain, header, B256::ZERO, &signers).unwrap()
    }

    /// An honest proposer's slot: it proposes each block, the committee
    /// attests it, and the proposer announces it provisional; every signature
    /// goes through the detector. Returns the headers and their attestations.
    fn honest_slot(
        &mut self,
        slot: u64,
        count: u32,
        parent: (B256, u64),
    ) -> (Vec<BlockHeader>, Vec<Bytes>) {
        let (committee, proposer) = self.l1.duties(slot).unwrap();
        let headers = self.blocks(slot, count, parent);
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let mut atts = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let p = h.proposal();
            let sig = self.sign(proposer, &p);
            assert_eq!(self.detector.on_proposal(proposer, p, sig), None);
            let a = self.attest(h, &committee);
            let ch = CheckpointHeader::covering(Slot(slot), self.last_checkpoint, &hashes[..=i])
                .unwrap();
            let prov = ProvisionalBlock::new(h, &ch, &a);
            let sig = self.sign(proposer, &prov);
            assert_eq!(self.detector.on_provisional(proposer, prov, sig), None);
            atts.push(a);
        }
        (headers, atts)
    }

    /// The checkpoint call of `slot` publishing `headers`, signed by its proposer.
    fn checkpoint(&mut self, slot: u64, headers: &[BlockHeader], atts: &[Bytes]) -> RollupCall {
        let (committee, proposer) = self.l1.duties(slot).unwrap();
        let parts = CheckpointParts {
            slot,
            parent_checkpoint: self.last_checkpoint,
            headers: headers.to_vec(),
            bodies: vec![Bytes::new(); headers.len()],
            blob_hashes: vec![],
            blobs: Default::default(),
            attestations: atts.last().cloned().unwrap_or_default(),
            committee,
        };
        parts.sign(&self.domain, self.signer(proposer)).unwrap()
    }
}

fn slashed(events: &[L1Event], who: Address, code: u8, at: u64) -> bool {
    events.iter().any(|e| {
        matches!(e, L1Event::ValidatorSlashed { validator, offence, slot, .. }
            if *validator == who && *offence == code && *slot == at)
    })
}

// Checkpoint omission (docs/design.md section 7): the proposer announced two
// provisional blocks and published a checkpoint with only the first; the
// detector's call, proven against the header L1 recorded for the slot,
// slashes it once, even after a later checkpoint landed.
#[test]
fn a_detected_omission_is_slashed_on_l1() {
    let mut net = Net::new();
    assert_eq!(net.enter_slot(1), vec![]);
    let (committee, proposer) = net.l1.duties(1).unwrap();
    let (headers, atts) = net.honest_slot(1, 2, (GENESIS_HASH, 0));
    // Only block 0 is published.
    let call = net.checkpoint(1, &headers[..1], &atts[..1]);
    let (outcome, _, candidates) = net.run(call);
    assert_eq!(outcome, Ok(()));
    let [candidate] = candidates.as_slice() else {
        panic!("one omission: {candidates:?}")
    };
    assert_eq!(
        (candidate.offender, candidate.slot(), candidate.index()),
        (proposer, 1, 1)
    );
    assert_eq!(candidate.evidence().offender(&net.domain), Ok(proposer));
    let candidate = candidate.clone();

    // Slot 2 is honest and lands before anyone reports: the proof still holds.
    assert_eq!(net.enter_slot(2), vec![]);
    let h0 = headers[0].hash();
    let (headers2, atts2) = net.honest_slot(2, 1, (h0, 1));
    let call = net.checkpoint(2, &headers2, &atts2);
    let (outcome, _, candidates) = net.run(call);
    assert_eq!((outcome, candidates), (Ok(()), vec![]));

    let call = net
        .detector
        .omission_call(&candidate, committee.clone())
        .unwrap();
    let RollupCall::SlashCheckpointOmission {
        checkpoint_blocks, ..
    } = &call
    else {
        panic!("{call:?}")
    };
    assert_eq!(checkpoint_blocks, &vec![h0]);
    net.l1.check(net.reporter, &call).unwrap();
    let (outcome, events, _) = net.run(call.clone());
    assert_eq!(outcome, Ok(()));
    assert!(slashed(&events, proposer, 2, 1), "{events:?}");
    assert!(net.l1.validator(proposer).unwrap().slashed);
    // L1 reported it: the detector builds no second call.
    assert_eq!(net.detector.omission_call(&candidate, committee), None);
    let (outcome, _, _) = net.run(call);
    assert_eq!(
        outcome,
        Err("AlreadyPunished".to_owned()),
        "the contract agrees"
    );
}

// docs/design.md section 7: honest nodes are never slashed. Every signature of an
// honest proposer and committee over three slots goes through the detector:
// no evidence, no omission candidate, hence no call at all.
#[test]
fn an_honest_proposer_gives_the_detector_nothing() {
    let mut net = Net::new();
    let mut parent = (GENESIS_HASH, 0);
    for slot in 1..=3u64 {
        assert_eq!(net.enter_slot(slot), vec![]);
        let count = if slot == 2 { 1 } else { 2 };
        let (headers, atts) = net.honest_slot(slot, count, parent);
        let call = net.checkpoint(slot, &headers, &atts);
        let (outcome, _, candidates) = net.run(call);
        assert_eq!((outcome, candidates), (Ok(()), vec![]), "slot {slot}");
        let last = headers.last().unwrap();
        parent = (last.hash(), last.number);
    }
    for v in &net.signers {
        assert!(!net.l1.validator(v.address()).unwrap().slashed);
    }
}

// docs/design.md section 7, proposal equivocation: two signed proposals of the
// slot's proposer for (slot, 0); the detector's evidence names the proposer
// and its call slashes it on L1, once.
#[test]
fn a_detected_proposal_equivocation_is_slashed_on_l1() {
    let mut net = Net::new();
    assert_eq!(net.enter_slot(1), vec![]);
    let (committee, proposer) = net.l1.duties(1).unwrap();
    let a = net.blocks(1, 1, (GENESIS_HASH, 0)).remove(0);
    let mut b = a.clone();
    b.txCount = 1;
    let (pa, pb) = (a.proposal(), b.proposal());
    let (sa, sb) = (net.sign(proposer, &pa), net.sign(proposer, &pb));
    assert_eq!(net.detector.on_proposal(proposer, pa, sa), None);
    let evidence = net
        .detector
        .on_proposal(proposer, pb.clone(), sb.clone())
        .unwrap();
    assert_eq!(evidence.offender(&net.domain), Ok(proposer));
    let bytes = evidence.encode_wire();
    assert_eq!(
        Evidence::decode_wire(&bytes),
        Ok(evidence.clone()),
        "gossipable"
    );
    let call = equivocation_call(evidence, committee).unwrap();
    let (outcome, events, _) = net.run(call.clone());
    assert_eq!(outcome, Ok(()));
    assert!(slashed(&events, proposer, 1, 1), "{events:?}");
    // Seen again: nothing more to report; the contract would refuse anyway.
    assert_eq!(net.detector.on_proposal(proposer, pb, sb), None);
    assert_eq!(net.run(call).0, Err("AlreadyPunished".to_owned()));
}

// docs/design.md section 7, attestation equivocation (extension): the same, for
// a committee member attesting two blocks at one (slot, index).
#[test]
fn a_detected_attestation_equivocation_is_slashed_on_l1() {
    let mut net = Net::new();
    assert_eq!(net.enter_slot(1), vec![]);
    let (committee, _) = net.l1.duties(1).unwrap();
    let attester = committee[1];
    let a = net.blocks(1, 1, (GENESIS_HASH, 0)).remove(0);
    let mut b = a.clone();
    b.txCount = 1;
    let (aa, ab) = (a.attestation(B256::ZERO), b.attestation(B256::ZERO));
    let (sa, sb) = (net.sign(attester, &aa), net.sign(attester, &ab));
    assert_eq!(
        net.detector
            .on_attestation(attester, aa.clone(), sa.clone()),
        None
    );
    assert_eq!(
        net.detector.on_attestation(attester, aa, sa),
        None,
        "re-signing is fine"
    );
    let evidence = net.detector.on_attestation(attester, ab, sb).unwrap();
    assert_eq!(evidence.offender(&net.domain), Ok(attester));
    let (outcome, events, _) = net.run(equivocation_call(evidence, vec![]).unwrap());
    assert_eq!(outcome, Ok(()));
    assert!(slashed(&events, attester, 3, 1), "{events:?}");
}
