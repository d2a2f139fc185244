//! Detection of the three slashable offences of docs/design.md section 7, sans I/O.
//!
//! The [`EvidenceDetector`] watches signed statements the node has already
//! verified (signature and the signer's role) and the checkpoints L1 accepts,
//! and reports:
//!
//! - proposal equivocation: one proposer, two `BlockProposal`s for one
//!   `(slot, index)` with different block hashes;
//! - attestation equivocation: the same for `Attestation`s of one validator;
//! - checkpoint omission: a `ProvisionalBlock` signature of a slot's proposer
//!   for `(index, blockHash)` while the slot's accepted checkpoint has another
//!   block, or no block, at that index.
//!
//! Only signed data counts: nothing here looks at timeouts, missing data or
//! anything else that could be local trouble. Each offence is reported at most
//! once per `(offender, offence, slot, index)`, and not at all once L1 reports
//! the offender slashed for it in that slot ([`EvidenceDetector::mark_slashed`]).
//!
//! The detector reads no clock and draws no randomness; all state lives in
//! `BTreeMap`s, so identical inputs give identical outputs. Memory is bounded
//! by the caller's slot window (it only passes statements of slots it accepts),
//! by [`EvidenceDetector::prune_below`], and by a per-signer, per-slot cap on
//! the records kept ([`EvidenceDetector::with_record_limit`]).

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, Bytes};
use chunkseq_l1::RollupCall;
pub use chunkseq_primitives::Offence;
use chunkseq_primitives::{
    Attestation, BlockProposal, CheckpointHeader, CheckpointOmission, Evidence, ProvisionalBlock,
    Slot,
};
use tracing::debug;

const TARGET: &str = "chunkseq::evidence";

/// A provisional-block signature that the slot's accepted checkpoint
/// contradicts: the proposer announced a block as provisional and then left
/// it out (or replaced it). Turn it into an L1 call with
/// [`EvidenceDetector::omission_call`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OmissionCandidate {
    /// The slot's proposer, who signed the provisional block.
    pub offender: Address,
    /// The signed provisional block.
    pub omission: CheckpointOmission,
}

impl OmissionCandidate {
    /// The slot of the omitted block.
    pub const fn slot(&self) -> u64 {
        self.omission.provisional.slot
    }

    /// The index of the omitted block.
    pub const fn index(&self) -> u32 {
        self.omission.provisional.index
    }

    /// The candidate as gossipable evidence.
    pub fn evidence(&self) -> Evidence {
        Evidence::CheckpointOmission(self.omission.clone())
    }
}

/// The L1 call that slashes an equivocation: `committee` is the offence slot's
/// committee, sorted by address (the contract derives the proposer from it).
/// `None` for a checkpoint omission, whose call needs the detector's view of
/// L1 ([`EvidenceDetector::omission_call`]).
pub fn equivocation_call(evidence: Evidence, committee: Vec<Address>) -> Option<RollupCall> {
    match evidence {
        Evidence::ProposalEquivocation(evidence) => Some(RollupCall::SlashProposalEquivocation {
            evidence,
            committee,
        }),
        Evidence::AttestationEquivocation(e) => Some(RollupCall::SlashAttestationEquivocation(e)),
        Evidence::CheckpointOmission(_) => None,
    }
}

/// An accepted L1 checkpoint as the detector keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AcceptedCheckpoint {
    parent: B256,
    blocks: Vec<B256>,
    header: CheckpointHeader,
}

impl AcceptedCheckpoint {
    /// Whether the checkpoint has `block` at `index`.
    fn contains(&self, index: u32, block: B256) -> bool {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.blocks.get(i))
            .is_some_and(|b| *b == block)
    }
}

/// The statements of one signer in one slot.
#[derive(Clone, Debug, Default)]
struct SignerRecords {
    /// The first proposal seen per index.
    proposals: BTreeMap<u32, (BlockProposal, Bytes)>,
    /// The first attestation seen per index.
    attestations: BTreeMap<u32, (Attestation, Bytes)>,
    /// The first provisional signature seen per (index, block hash).
    provisionals: BTreeMap<(u32, B256), (ProvisionalBlock, Bytes)>,
}

/// Everything remembered about one slot.
#[derive(Clone, Debug, Default)]
struct SlotRecords {
    signers: BTreeMap<Address, SignerRecords>,
    /// Offences already reported, by (offence, offender, index).
    reported: BTreeSet<(Offence, Address, u32)>,
    /// Offences L1 already punished in this slot, by (offence, offender).
    slashed: BTreeSet<(Offence, Address)>,
}

impl SlotRecords {
    /// Whether `(offence, offender, index)` may still be reported.
    fn reportable(&self, offence: Offence, offender: Address, index: u32) -> bool {
        !self.slashed.contains(&(offence, offender))
            && !self.reported.contains(&(offence, offender, index))
    }

    /// Records `(offence, offender, index)` as reported; `false` if it was
    /// already reported or punished.
    fn report(&mut self, offence: Offence, offender: Address, slot: u64, index: u32) -> bool {
        if !self.reportable(offence, offender, index) {
            return false;
        }
        self.reported.insert((offence, offender, index));
        debug!(target: TARGET, ?offence, %offender, slot, index, "slashable offence detected");
        true
    }
}

/// Detects slashable offences in verified signed statements and accepted L1
/// checkpoints (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct EvidenceDetector {
    /// Statements of slots below this are ignored (they were pruned).
    floor: u64,
    /// Most records of each kind kept per signer and slot.
    record_limit: usize,
    slots: BTreeMap<u64, SlotRecords>,
    checkpoints: BTreeMap<u64, AcceptedCheckpoint>,
}

impl Default for EvidenceDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl EvidenceDetector {
    /// Default cap on the records of each kind kept per signer and slot: far
    /// above any `chunks_per_slot`, so an honest or equivocating signer is
    /// always tracked, while a flood of indices cannot exhaust memory.
    pub const DEFAULT_RECORD_LIMIT: usize = 256;

    /// An empty detector with [`Self::DEFAULT_RECORD_LIMIT`].
    pub const fn new() -> Self {
        Self::with_record_limit(Self::DEFAULT_RECORD_LIMIT)
    }

    /// An empty detector keeping at most `limit` statements of each kind per
    /// signer and slot; further statements that would need a new record are
    /// dropped (conflicts with kept ones are still detected).
    pub const fn with_record_limit(limit: usize) -> Self {
        Self {
            floor: 0,
            record_limit: limit,
            slots: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
        }
    }

    /// A verified proposal signature by the proposer of `proposal.slot`.
    /// Returns a proposal equivocation the first time this proposer is seen
    /// signing a second, different block hash for the same `(slot, index)`.
    /// The same proposal again, even with other signature bytes, is no offence.
    pub fn on_proposal(
        &mut self,
        proposer: Address,
        proposal: BlockProposal,
        signature: Bytes,
    ) -> Option<Evidence> {
        let (slot, index) = (proposal.slot, proposal.index);
        let limit = self.record_limit;
        let records = self.slot_mut(slot)?;
        let signed = (proposal, signature);
        let kept = &mut records.signers.entry(proposer).or_default().proposals;
        let first = conflicting(kept, limit, index, &signed, |p| p.blockHash)?;
        records
            .report(Offence::ProposalEquivocation, proposer, slot, index)
            .then(|| Evidence::proposal_equivocation(first, signed))
    }

    /// A verified attestation signature by a committee member of
    /// `attestation.slot`. Returns an attestation equivocation the first time
    /// this attester is seen signing a second, different block hash for the
    /// same `(slot, index)`; re-signing the same attestation is no offence.
    pub fn on_attestation(
        &mut self,
        attester: Address,
        attestation: Attestation,
        signature: Bytes,
    ) -> Option<Evidence> {
        let (slot, index) = (attestation.slot, attestation.index);
        let limit = self.record_limit;
        let records = self.slot_mut(slot)?;
        let signed = (attestation, signature);
        let kept = &mut records.signers.entry(attester).or_default().attestations;
        let first = conflicting(kept, limit, index, &signed, |a| a.blockHash)?;
        records
            .report(Offence::AttestationEquivocation, attester, slot, index)
            .then(|| Evidence::attestation_equivocation(first, signed))
    }

    /// A verified provisional-block signature by the proposer of
    /// `provisional.slot`. It is held until the slot's checkpoint is seen on
    /// L1. When that checkpoint is already known (the signature arrived late)
    /// and lacks the block, the omission is returned at once.
    pub fn on_provisional(
        &mut self,
        proposer: Address,
        provisional: ProvisionalBlock,
        signature: Bytes,
    ) -> Option<OmissionCandidate> {
        let (slot, index, block) = (provisional.slot, provisional.index, provisional.blockHash);
        let limit = self.record_limit;
        // Whether the slot's checkpoint is known and has the block.
        let covered = self
            .checkpoints
            .get(&slot)
            .map(|c| c.contains(index, block));
        let records = self.slot_mut(slot)?;
        let kept = &mut records.signers.entry(proposer).or_default().provisionals;
        if kept.contains_key(&(index, block)) {
            return None;
        }
        if kept.len() >= limit {
            debug!(target: TARGET, %proposer, slot, index, "record limit reached: provisional signature not kept");
            return None;
        }
        kept.insert((index, block), (provisional.clone(), signature.clone()));
        if covered? {
            return None;
        }
        records
            .report(Offence::CheckpointOmission, proposer, slot, index)
            .then(|| OmissionCandidate {
                offender: proposer,
                omission: CheckpointOmission {
                    provisional,
                    signature,
                },
            })
    }

    /// A checkpoint of `slot` accepted on L1, with its parent checkpoint hash
    /// and its block hashes in index order. Returns one candidate per held
    /// provisional signature of the slot whose `(index, blockHash)` the
    /// checkpoint lacks (it is shorter, or has another block there), at most
    /// one per `(proposer, index)` and never one reported before. The
    /// checkpoint is kept to build the omission proofs.
    ///
    /// Delivering the same checkpoint again changes nothing; a different one
    /// for the same slot replaces it as if the first had been reverted.
    pub fn on_checkpoint(
        &mut self,
        slot: u64,
        parent_checkpoint: B256,
        block_hashes: &[B256],
    ) -> Vec<OmissionCandidate> {
        if slot < self.floor {
            return Vec::new();
        }
        let Some(header) = CheckpointHeader::covering(Slot(slot), parent_checkpoint, block_hashes)
        else {
            debug!(target: TARGET, slot, blocks = block_hashes.len(), "checkpoint with too many blocks ignored");
            return Vec::new();
        };
        let checkpoint = AcceptedCheckpoint {
            parent: parent_checkpoint,
            blocks: block_hashes.to_vec(),
            header,
        };
        match self.checkpoints.get(&slot) {
            Some(known) if *known == checkpoint => return Vec::new(),
            Some(_) => self.on_checkpoint_reverted(slot),
            None => {}
        }
        let mut candidates = Vec::new();
        if let Some(records) = self.slots.get_mut(&slot) {
            let missing: Vec<(Address, ProvisionalBlock, Bytes)> = records
                .signers
                .iter()
                .flat_map(|(signer, r)| {
                    r.provisionals
                        .values()
                        .map(move |(p, sig)| (*signer, p.clone(), sig.clone()))
                })
                .filter(|(_, p, _)| !checkpoint.contains(p.index, p.blockHash))
                .collect();
            for (offender, provisional, signature) in missing {
                if records.report(
                    Offence::CheckpointOmission,
                    offender,
                    slot,
                    provisional.index,
                ) {
                    candidates.push(OmissionCandidate {
                        offender,
                        omission: CheckpointOmission {
                            provisional,
                            signature,
                        },
                    });
                }
            }
        }
        self.checkpoints.insert(slot, checkpoint);
        candidates
    }

    /// An L1 reorg dropped the checkpoint of `slot`: forget it, and forget
    /// which omissions it revealed so they are reported again should another
    /// checkpoint of the slot lack the same blocks. A reorg that drops several
    /// checkpoints is reported slot by slot.
    pub fn on_checkpoint_reverted(&mut self, slot: u64) {
        if self.checkpoints.remove(&slot).is_none() {
            return;
        }
        debug!(target: TARGET, slot, "checkpoint reverted");
        if let Some(records) = self.slots.get_mut(&slot) {
            records
                .reported
                .retain(|(offence, _, _)| *offence != Offence::CheckpointOmission);
        }
    }

    /// The final header of the accepted checkpoint of `slot`, if known; the
    /// driver can compare its hash with the one L1 reports.
    pub fn checkpoint_header(&self, slot: u64) -> Option<&CheckpointHeader> {
        self.checkpoints.get(&slot).map(|c| &c.header)
    }

    /// The complete L1 call that slashes `candidate`: the checkpoint's block
    /// hashes and parent, which L1 matches against the header it recorded for
    /// the slot. `committee` is the candidate slot's committee, sorted by
    /// address.
    ///
    /// `None` when the slot's checkpoint is not (or no longer) known, when it
    /// does contain the block, or when L1 already slashed the offence.
    pub fn omission_call(
        &self,
        candidate: &OmissionCandidate,
        committee: Vec<Address>,
    ) -> Option<RollupCall> {
        let (slot, index) = (candidate.slot(), candidate.index());
        let checkpoint = self.checkpoints.get(&slot)?;
        if checkpoint.contains(index, candidate.omission.provisional.blockHash) {
            return None;
        }
        let slashed = self.slots.get(&slot).is_some_and(|r| {
            r.slashed
                .contains(&(Offence::CheckpointOmission, candidate.offender))
        });
        if slashed {
            return None;
        }
        Some(RollupCall::SlashCheckpointOmission {
            evidence: candidate.omission.clone(),
            checkpoint_blocks: checkpoint.blocks.clone(),
            parent_checkpoint: checkpoint.parent,
            committee,
        })
    }

    /// Whether L1 has slashed `offender` for `offence` in `slot`.
    pub fn is_slashed(&self, offender: Address, offence: Offence, slot: u64) -> bool {
        self.slots
            .get(&slot)
            .is_some_and(|r| r.slashed.contains(&(offence, offender)))
    }

    /// Marks `offence` by `offender` in `slot` as punished (for instance when
    /// L1 reports `ValidatorSlashed`, see [`Offence::from_l1_code`]): it is
    /// never reported again, at any index of that slot, and no omission call
    /// is built for it.
    pub fn mark_slashed(&mut self, offender: Address, offence: Offence, slot: u64) {
        if let Some(records) = self.slot_mut(slot) {
            records.slashed.insert((offence, offender));
        }
    }

    /// Forgets everything about slots below `slot` and ignores statements of
    /// those slots from now on (so nothing is reported twice). The floor
    /// never moves back.
    pub fn prune_below(&mut self, slot: u64) {
        if slot <= self.floor {
            return;
        }
        self.floor = slot;
        self.slots = self.slots.split_off(&slot);
        self.checkpoints = self.checkpoints.split_off(&slot);
    }

    /// The records of `slot`, created on demand; `None` below the floor.
    /// The attestations kept for block `block` at `(slot, index)`, at most
    /// `limit`, as (attester, data hash, signature): what a node taking a
    /// slot over counts towards a proposal already in flight.
    pub fn attestations_of(
        &self,
        slot: u64,
        index: u32,
        block: B256,
        limit: usize,
    ) -> Vec<(Address, B256, Bytes)> {
        self.slots
            .get(&slot)
            .into_iter()
            .flat_map(|r| &r.signers)
            .filter_map(|(attester, records)| {
                let (a, sig) = records.attestations.get(&index)?;
                (a.blockHash == block).then(|| (*attester, a.dataHash, sig.clone()))
            })
            .take(limit)
            .collect()
    }

    fn slot_mut(&mut self, slot: u64) -> Option<&mut SlotRecords> {
        (slot >= self.floor).then(|| self.slots.entry(slot).or_default())
    }
}

/// Keeps the first statement per index: returns that first statement when
/// `signed` names another block for the same index. A new index is kept while
/// fewer than `limit` are.
fn conflicting<T: Clone>(
    kept: &mut BTreeMap<u32, (T, Bytes)>,
    limit: usize,
    index: u32,
    signed: &(T, Bytes),
    block: impl Fn(&T) -> B256,
) -> Option<(T, Bytes)> {
    if let Some(first) = kept.get(&index) {
        return (block(&first.0) != block(&signed.0)).then(|| first.clone());
    }
    if kept.len() < limit {
        kept.insert(index, signed.clone());
    } else {
        debug!(target: TARGET, index, "record limit reached: statement not kept");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;
    use chunkseq_primitives::{
        BlockHeader, Eip712Domain, LocalSigner, PrivateKey, SignedStatement, Signer,
        crypto::eip712_domain,
    };

    fn domain() -> Eip712Domain {
        eip712_domain(31_337, Address::repeat_byte(0x5f))
    }

    fn signer(n: u8) -> LocalSigner {
        LocalSigner::new(PrivateKey::from_bytes([n; 32]).unwrap())
    }

    fn sign<T: SignedStatement>(s: &LocalSigner, statement: &T) -> Bytes {
        Bytes::from(s.sign_statement(&domain(), statement).unwrap().to_vec())
    }

    fn proposal(slot: u64, index: u32, hash: u8) -> BlockProposal {
        BlockProposal {
            slot,
            index,
            blockHash: B256::repeat_byte(hash),
        }
    }

    fn attestation(slot: u64, index: u32, hash: u8) -> Attestation {
        Attestation {
            slot,
            index,
            blockHash: B256::repeat_byte(hash),
            dataHash: B256::ZERO,
        }
    }

    /// The same statement under the other valid ECDSA signature: `s` becomes
    /// `n - s` and the recovery id flips. Different bytes, same signer.
    fn malleated(sig: &Bytes) -> Bytes {
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        let s = U256::from_be_slice(&sig[32..64]);
        let mut out = sig.to_vec();
        out[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        out[64] = if out[64] == 27 { 28 } else { 27 };
        Bytes::from(out)
    }

    /// `count` distinct block headers of `slot`.
    fn blocks(slot: u64, count: u32, salt: u8) -> Vec<BlockHeader> {
        (0..count)
            .map(|index| BlockHeader {
                number: u64::from(index) + 1,
                slot,
                index,
                stateRoot: B256::repeat_byte(salt.wrapping_add(index as u8)),
                ..Default::default()
            })
            .collect()
    }

    /// The provisional-block statements of `headers` on top of `parent`,
    /// signed by `proposer`, as an honest proposer announces them.
    fn provisionals(
        proposer: &LocalSigner,
        slot: u64,
        parent: B256,
        headers: &[BlockHeader],
    ) -> Vec<(ProvisionalBlock, Bytes)> {
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let ch = CheckpointHeader::covering(Slot(slot), parent, &hashes[..=i]).unwrap();
                let p = ProvisionalBlock::new(h, &ch, &[i as u8; 65]);
                let sig = sign(proposer, &p);
                (p, sig)
            })
            .collect()
    }

    // docs/design.md section 7, proposal equivocation: two proposals of one
    // proposer for one (slot, index) with different hashes; slashed at most once.
    #[test]
    fn proposal_equivocation_is_reported_once_and_names_the_proposer() {
        let s = signer(1);
        let mut d = EvidenceDetector::new();
        let (a, b, c) = (proposal(3, 0, 1), proposal(3, 0, 2), proposal(3, 0, 3));
        assert_eq!(d.on_proposal(s.address(), a.clone(), sign(&s, &a)), None);
        let e = d
            .on_proposal(s.address(), b.clone(), sign(&s, &b))
            .expect("equivocation");
        assert_eq!(e.offender(&domain()), Ok(s.address()));
        assert_eq!(
            e,
            Evidence::proposal_equivocation((a.clone(), sign(&s, &a)), (b.clone(), sign(&s, &b)))
        );
        // A third block, or the second again: the offence was reported already.
        assert_eq!(d.on_proposal(s.address(), c.clone(), sign(&s, &c)), None);
        assert_eq!(d.on_proposal(s.address(), b.clone(), sign(&s, &b)), None);
        // Another index of the same slot is another offence.
        let (x, y) = (proposal(3, 1, 1), proposal(3, 1, 2));
        assert_eq!(d.on_proposal(s.address(), x.clone(), sign(&s, &x)), None);
        assert!(
            d.on_proposal(s.address(), y.clone(), sign(&s, &y))
                .is_some()
        );
    }

    // docs/design.md section 7: only two statements of ONE signer for the SAME
    // (slot, index) with DIFFERENT hashes are an equivocation.
    #[test]
    fn honest_proposal_pairs_are_not_evidence() {
        let (s, t) = (signer(1), signer(2));
        let p = proposal(3, 0, 1);
        let sig = sign(&s, &p);
        let cases: Vec<(&str, (Address, BlockProposal, Bytes))> = vec![
            ("same proposal again", (s.address(), p.clone(), sig.clone())),
            (
                "same hash, malleated signature",
                (s.address(), p.clone(), malleated(&sig)),
            ),
            (
                "next index",
                (s.address(), proposal(3, 1, 2), sign(&s, &proposal(3, 1, 2))),
            ),
            (
                "next slot",
                (s.address(), proposal(4, 0, 2), sign(&s, &proposal(4, 0, 2))),
            ),
            (
                "another signer",
                (t.address(), proposal(3, 0, 2), sign(&t, &proposal(3, 0, 2))),
            ),
        ];
        for (name, (who, second, second_sig)) in cases {
            let mut d = EvidenceDetector::new();
            assert_eq!(d.on_proposal(s.address(), p.clone(), sig.clone()), None);
            assert_eq!(d.on_proposal(who, second, second_sig), None, "{name}");
        }
        assert_ne!(malleated(&sig), sig);
    }

    // docs/design.md section 7, attestation equivocation (extension): two
    // attestations of one validator for one (slot, index) with different
    // hashes; re-signing the same attestation is no offence.
    #[test]
    fn attestation_equivocation() {
        let (s, t) = (signer(3), signer(4));
        let a = attestation(5, 1, 1);
        let cases: Vec<(&str, (Address, Attestation, Bytes), bool)> = vec![
            (
                "different hash",
                (
                    s.address(),
                    attestation(5, 1, 2),
                    sign(&s, &attestation(5, 1, 2)),
                ),
                true,
            ),
            (
                "same attestation re-signed",
                (s.address(), a.clone(), sign(&s, &a)),
                false,
            ),
            (
                "same hash, malleated",
                (s.address(), a.clone(), malleated(&sign(&s, &a))),
                false,
            ),
            (
                "other index",
                (
                    s.address(),
                    attestation(5, 2, 2),
                    sign(&s, &attestation(5, 2, 2)),
                ),
                false,
            ),
            (
                "other attester",
                (
                    t.address(),
                    attestation(5, 1, 2),
                    sign(&t, &attestation(5, 1, 2)),
                ),
                false,
            ),
        ];
        for (name, (who, second, second_sig), offence) in cases {
            let mut d = EvidenceDetector::new();
            assert_eq!(d.on_attestation(s.address(), a.clone(), sign(&s, &a)), None);
            let got = d.on_attestation(who, second.clone(), second_sig.clone());
            assert_eq!(got.is_some(), offence, "{name}");
            if let Some(e) = got {
                assert_eq!(e.offender(&domain()), Ok(s.address()), "{name}");
                assert!(matches!(e, Evidence::AttestationEquivocation(_)));
                // Reported once.
                assert_eq!(d.on_attestation(who, second, second_sig), None);
                let third = attestation(5, 1, 9);
                assert_eq!(d.on_attestation(who, third.clone(), sign(&s, &third)), None);
            }
        }
    }

    // docs/design.md section 7, checkpoint omission: a provisional-block signature
    // for (slot, index, hash) while the slot's checkpoint lacks that block at
    // that index (a strict subset, or a different block); an honest proposer
    // whose checkpoint holds exactly its provisional blocks is never a candidate.
    #[test]
    fn omission_candidates_follow_the_checkpoint() {
        let s = signer(7);
        let parent = B256::repeat_byte(0xcc);
        let ours = blocks(2, 2, 1);
        let hashes: Vec<B256> = ours.iter().map(BlockHeader::hash).collect();
        let other = blocks(2, 2, 100)[1].hash();
        let later_block = blocks(2, 3, 1)[2].hash();
        let cases: Vec<(&str, usize, Vec<B256>, Vec<u32>)> = vec![
            ("exact checkpoint", 2, hashes.clone(), vec![]),
            ("strict subset", 2, hashes[..1].to_vec(), vec![1]),
            (
                "different block at an index",
                2,
                vec![hashes[0], other],
                vec![1],
            ),
            (
                "empty checkpoint after two provisional blocks",
                2,
                vec![],
                vec![0, 1],
            ),
            (
                "one provisional block, exact",
                1,
                hashes[..1].to_vec(),
                vec![],
            ),
            (
                "checkpoint longer than the provisional chain",
                1,
                vec![hashes[0], later_block],
                vec![],
            ),
        ];
        for (name, signed, checkpoint, expected) in cases {
            let mut d = EvidenceDetector::new();
            for (p, sig) in provisionals(&s, 2, parent, &ours[..signed]) {
                assert_eq!(d.on_provisional(s.address(), p, sig), None, "{name}");
            }
            let got = d.on_checkpoint(2, parent, &checkpoint);
            let indices: Vec<u32> = got.iter().map(OmissionCandidate::index).collect();
            assert_eq!(indices, expected, "{name}");
            for c in &got {
                assert_eq!(c.offender, s.address());
                assert_eq!(c.slot(), 2);
                assert_eq!(c.evidence().offender(&domain()), Ok(s.address()), "{name}");
                assert!(d.omission_call(c, vec![s.address()]).is_some(), "{name}");
            }
            // The same checkpoint again reveals nothing new.
            assert_eq!(d.on_checkpoint(2, parent, &checkpoint), vec![], "{name}");
        }
    }

    // docs/design.md section 7: evidence is about the slot of the signature only;
    // provisional blocks of one slot are never held against another's checkpoint.
    #[test]
    fn other_slots_checkpoints_do_not_count() {
        let s = signer(7);
        let mut d = EvidenceDetector::new();
        for (p, sig) in provisionals(&s, 2, B256::ZERO, &blocks(2, 2, 1)) {
            d.on_provisional(s.address(), p, sig);
        }
        assert_eq!(d.on_checkpoint(1, B256::ZERO, &[]), vec![]);
        assert_eq!(d.on_checkpoint(3, B256::ZERO, &[]), vec![]);
    }

    // docs/design.md section 7, slashed at most once; an L1 reorg that drops the
    // checkpoint drops what was derived from it.
    #[test]
    fn omissions_are_reported_once_and_revert_with_their_checkpoint() {
        let s = signer(7);
        let headers = blocks(2, 2, 1);
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let mut d = EvidenceDetector::new();
        let signed = provisionals(&s, 2, B256::ZERO, &headers);
        for (p, sig) in signed.clone() {
            d.on_provisional(s.address(), p, sig);
        }
        let first = d.on_checkpoint(2, B256::ZERO, &hashes[..1]);
        assert_eq!(first.len(), 1);
        // A repeated signature changes nothing.
        let (p, sig) = signed[1].clone();
        assert_eq!(d.on_provisional(s.address(), p, sig), None);
        // Reorged out: nothing to prove against; re-accepted: reported again.
        d.on_checkpoint_reverted(2);
        assert_eq!(d.checkpoint_header(2), None);
        assert_eq!(d.omission_call(&first[0], vec![]), None);
        assert_eq!(d.on_checkpoint(2, B256::ZERO, &hashes[..1]), first);
        // A different checkpoint for the slot replaces the first one.
        assert_eq!(d.on_checkpoint(2, B256::ZERO, &hashes), vec![]);
        assert_eq!(
            d.omission_call(&first[0], vec![]),
            None,
            "block 1 is in it now"
        );
        // Once L1 punished the offence, it is never reported or called again.
        d.on_checkpoint_reverted(2);
        d.mark_slashed(s.address(), Offence::CheckpointOmission, 2);
        assert_eq!(d.on_checkpoint(2, B256::ZERO, &hashes[..1]), vec![]);
        assert_eq!(d.omission_call(&first[0], vec![]), None);
    }

    // docs/design.md section 7: a provisional signature seen only after its
    // checkpoint is still signed data against that checkpoint.
    #[test]
    fn a_late_provisional_signature_is_checked_at_once() {
        let s = signer(7);
        let headers = blocks(2, 2, 1);
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let mut d = EvidenceDetector::new();
        assert_eq!(d.on_checkpoint(2, B256::ZERO, &hashes[..1]), vec![]);
        let signed = provisionals(&s, 2, B256::ZERO, &headers);
        let (p0, s0) = signed[0].clone();
        assert_eq!(d.on_provisional(s.address(), p0, s0), None);
        let (p1, s1) = signed[1].clone();
        let c = d.on_provisional(s.address(), p1, s1).expect("omission");
        assert_eq!(c.index(), 1);
    }

    // The omission proof (docs/design.md section 7) names the checkpoint's
    // parent and blocks, which L1 matches against the header it recorded for
    // the slot: later checkpoints change nothing.
    #[test]
    fn omission_call_proves_against_the_slots_checkpoint() {
        let s = signer(7);
        let committee = vec![Address::repeat_byte(1), s.address()];
        let headers = blocks(1, 2, 1);
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let mut d = EvidenceDetector::new();
        for (p, sig) in provisionals(&s, 1, B256::ZERO, &headers) {
            d.on_provisional(s.address(), p, sig);
        }
        let candidates = d.on_checkpoint(1, B256::ZERO, &hashes[..1]);
        let [candidate] = candidates.as_slice() else {
            panic!("one candidate: {candidates:?}")
        };
        let h1 = CheckpointHeader::covering(Slot(1), B256::ZERO, &hashes[..1]).unwrap();
        assert_eq!(d.checkpoint_header(1), Some(&h1));
        let call_of = |d: &EvidenceDetector| match d.omission_call(candidate, committee.clone()) {
            Some(RollupCall::SlashCheckpointOmission {
                evidence,
                checkpoint_blocks,
                parent_checkpoint,
                committee: c,
            }) => {
                assert_eq!(evidence, candidate.omission);
                assert_eq!(c, committee);
                Some((checkpoint_blocks, parent_checkpoint))
            }
            Some(other) => panic!("unexpected call {other:?}"),
            None => None,
        };
        let expected = Some((hashes[..1].to_vec(), B256::ZERO));
        assert_eq!(call_of(&d), expected);
        // Two more checkpoints land (slot 3 published nothing): same proof.
        let b2 = [B256::repeat_byte(0x22)];
        assert_eq!(d.on_checkpoint(2, h1.hash(), &b2), vec![]);
        let h2 = CheckpointHeader::covering(Slot(2), h1.hash(), &b2).unwrap();
        assert_eq!(d.on_checkpoint(4, h2.hash(), &[]), vec![]);
        assert_eq!(call_of(&d), expected);
        // The slot's checkpoint is reorged out: nothing to prove against.
        d.on_checkpoint_reverted(1);
        assert_eq!(call_of(&d), None);
        assert_eq!(d.on_checkpoint(1, B256::ZERO, &hashes[..1]).len(), 1);
        assert_eq!(call_of(&d), expected);
        // Punished on L1: no call any more.
        d.mark_slashed(s.address(), Offence::CheckpointOmission, 1);
        assert_eq!(call_of(&d), None);
        assert!(d.is_slashed(s.address(), Offence::CheckpointOmission, 1));
    }

    // docs/design.md section 7, slashed at most once: an offence L1 already
    // punished is not reported again.
    #[test]
    fn slashed_offences_are_not_reported() {
        let s = signer(1);
        let mut d = EvidenceDetector::new();
        d.mark_slashed(s.address(), Offence::ProposalEquivocation, 3);
        d.mark_slashed(s.address(), Offence::AttestationEquivocation, 3);
        // Any index of the punished slot.
        for index in 0..2 {
            let (a, b) = (proposal(3, index, 1), proposal(3, index, 2));
            assert_eq!(d.on_proposal(s.address(), a.clone(), sign(&s, &a)), None);
            assert_eq!(d.on_proposal(s.address(), b.clone(), sign(&s, &b)), None);
        }
        let (a, b) = (attestation(3, 0, 1), attestation(3, 0, 2));
        assert_eq!(d.on_attestation(s.address(), a.clone(), sign(&s, &a)), None);
        assert_eq!(d.on_attestation(s.address(), b.clone(), sign(&s, &b)), None);
        // The same offence in another slot still counts.
        let (a, b) = (proposal(4, 0, 1), proposal(4, 0, 2));
        assert_eq!(d.on_proposal(s.address(), a.clone(), sign(&s, &a)), None);
        assert!(
            d.on_proposal(s.address(), b.clone(), sign(&s, &b))
                .is_some()
        );
    }

    // docs/design.md section 7, slashed at most once, with bounded memory: pruned
    // slots are forgotten and their statements ignored from then on.
    #[test]
    fn pruning_forgets_old_slots_for_good() {
        let s = signer(1);
        let mut d = EvidenceDetector::new();
        let (a, b) = (proposal(3, 0, 1), proposal(3, 0, 2));
        assert_eq!(d.on_proposal(s.address(), a.clone(), sign(&s, &a)), None);
        assert!(
            d.on_proposal(s.address(), b.clone(), sign(&s, &b))
                .is_some()
        );
        assert_eq!(d.on_checkpoint(3, B256::ZERO, &[]), vec![]);
        d.prune_below(4);
        assert!(d.slots.is_empty() && d.checkpoints.is_empty());
        assert_eq!(d.on_proposal(s.address(), a.clone(), sign(&s, &a)), None);
        assert_eq!(d.on_proposal(s.address(), b.clone(), sign(&s, &b)), None);
        assert_eq!(d.on_checkpoint(3, B256::ZERO, &[]), vec![]);
        assert!(d.slots.is_empty() && d.checkpoints.is_empty());
        // The floor never moves back.
        d.prune_below(1);
        assert_eq!(d.on_proposal(s.address(), b.clone(), sign(&s, &b)), None);
        assert!(d.slots.is_empty());
    }

    // Bounded memory: at most `limit` records per kind, signer and slot;
    // conflicts with kept records are still detected.
    #[test]
    fn records_per_signer_and_slot_are_capped() {
        let s = signer(1);
        let mut d = EvidenceDetector::with_record_limit(2);
        for index in 0..10 {
            let p = proposal(3, index, 1);
            assert_eq!(d.on_proposal(s.address(), p.clone(), sign(&s, &p)), None);
        }
        assert_eq!(d.slots[&3].signers[&s.address()].proposals.len(), 2);
        let p = proposal(3, 1, 2);
        assert!(
            d.on_proposal(s.address(), p.clone(), sign(&s, &p))
                .is_some()
        );
        for (p, sig) in provisionals(&s, 3, B256::ZERO, &blocks(3, 5, 1)) {
            d.on_provisional(s.address(), p, sig);
        }
        assert_eq!(d.slots[&3].signers[&s.address()].provisionals.len(), 2);
    }

    #[test]
    fn offence_codes_are_the_contracts() {
        for o in [
            Offence::ProposalEquivocation,
            Offence::CheckpointOmission,
            Offence::AttestationEquivocation,
        ] {
            assert_eq!(Offence::from_l1_code(o.l1_code()), Some(o));
        }
        assert_eq!(Offence::ProposalEquivocation.l1_code(), 1);
        assert_eq!(Offence::CheckpointOmission.l1_code(), 2);
        assert_eq!(Offence::AttestationEquivocation.l1_code(), 3);
        assert_eq!(Offence::from_l1_code(0), None);
        assert_eq!(Offence::from_l1_code(4), None);
    }

    #[test]
    fn equivocation_calls() {
        let s = signer(1);
        let (a, b) = (proposal(3, 0, 1), proposal(3, 0, 2));
        let e =
            Evidence::proposal_equivocation((a.clone(), sign(&s, &a)), (b.clone(), sign(&s, &b)));
        let committee = vec![s.address()];
        assert!(matches!(
            equivocation_call(e, committee.clone()),
            Some(RollupCall::SlashProposalEquivocation { committee: c, .. }) if c == committee
        ));
        let (a, b) = (attestation(3, 0, 1), attestation(3, 0, 2));
        let e = Evidence::attestation_equivocation(
            (a.clone(), sign(&s, &a)),
            (b.clone(), sign(&s, &b)),
        );
        assert!(matches!(
            equivocation_call(e, vec![]),
            Some(RollupCall::SlashAttestationEquivocation(_))
        ));
        let o = Evidence::CheckpointOmission(CheckpointOmission::default());
        assert_eq!(equivocation_call(o, vec![]), None);
    }
}
