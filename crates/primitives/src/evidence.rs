//! The slashable offences of docs/design.md section 7 as self-checking evidence.
//!
//! On the wire evidence is one tag byte (its kind) followed by the strict ABI
//! encoding of the offence's struct.

use alloy_primitives::{Address, Bytes};
use alloy_sol_types::Eip712Domain;
use thiserror::Error;

use crate::{
    codec::{DecodeError, MAX_SMALL_MESSAGE_BYTES, WireCodec},
    crypto::{SignatureError, SignedStatement, recover_statement},
    structs::{
        Attestation, AttestationEquivocation, BlockProposal, CheckpointOmission,
        ProposalEquivocation,
    },
};

/// The kinds of slashable offence: one type, one spelling, on every surface
/// (logs, metrics, RPC, reports). Numbered as the Rollup contract numbers
/// them in `ValidatorSlashed`, which differs from the evidence wire tags.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Offence {
    /// Two proposals of one proposer for one (slot, index).
    ProposalEquivocation,
    /// A provisional block missing from its slot's checkpoint.
    CheckpointOmission,
    /// Two attestations of one validator for one (slot, index).
    AttestationEquivocation,
}

impl Offence {
    /// The contract's code for the offence (`ValidatorSlashed.offence`).
    pub const fn l1_code(self) -> u8 {
        match self {
            Self::ProposalEquivocation => 1,
            Self::CheckpointOmission => 2,
            Self::AttestationEquivocation => 3,
        }
    }

    /// The offence with contract code `code`, if there is one.
    pub const fn from_l1_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::ProposalEquivocation),
            2 => Some(Self::CheckpointOmission),
            3 => Some(Self::AttestationEquivocation),
            _ => None,
        }
    }

    /// The offence's name: `proposal_equivocation`, `checkpoint_omission`
    /// or `attestation_equivocation`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ProposalEquivocation => "proposal_equivocation",
            Self::CheckpointOmission => "checkpoint_omission",
            Self::AttestationEquivocation => "attestation_equivocation",
        }
    }
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A slashable offence, provable from signed data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// Two proposals by one proposer for one (slot, index).
    ProposalEquivocation(ProposalEquivocation),
    /// Two attestations by one validator for one (slot, index).
    AttestationEquivocation(AttestationEquivocation),
    /// A provisional-block signature to be held against the slot's L1 checkpoint.
    CheckpointOmission(CheckpointOmission),
}

/// Why evidence does not prove what it claims.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvidenceError {
    /// A signature does not recover.
    #[error("bad signature in evidence: {0}")]
    Signature(#[from] SignatureError),
    /// The two statements were signed by different keys.
    #[error("the two statements have different signers ({first} and {second})")]
    DifferentSigners {
        /// Signer of the first.
        first: Address,
        /// Signer of the second.
        second: Address,
    },
    /// The two statements are about different (slot, index) pairs.
    #[error("the two statements are about different slots or indices")]
    DifferentPositions,
    /// The two statements name the same block: no conflict.
    #[error("the two statements name the same block")]
    SameBlock,
}

impl Evidence {
    /// Tag byte of a proposal equivocation.
    pub const TAG_PROPOSAL_EQUIVOCATION: u8 = 1;
    /// Tag byte of an attestation equivocation.
    pub const TAG_ATTESTATION_EQUIVOCATION: u8 = 2;
    /// Tag byte of a checkpoint omission.
    pub const TAG_CHECKPOINT_OMISSION: u8 = 3;
    /// Largest encoded evidence.
    pub const MAX_ENCODED_LEN: usize = MAX_SMALL_MESSAGE_BYTES + 1;

    /// A proposal equivocation from two signed proposals, in canonical order
    /// (lower block hash first), so each offence has one encoding.
    pub fn proposal_equivocation(a: (BlockProposal, Bytes), b: (BlockProposal, Bytes)) -> Self {
        let ((first, first_sig), (second, second_sig)) = if a.0.blockHash <= b.0.blockHash {
            (a, b)
        } else {
            (b, a)
        };
        Self::ProposalEquivocation(ProposalEquivocation {
            first,
            firstSignature: first_sig,
            second,
            secondSignature: second_sig,
        })
    }

    /// An attestation equivocation from two signed attestations, in canonical
    /// order (lower block hash, then lower data hash, first).
    pub fn attestation_equivocation(a: (Attestation, Bytes), b: (Attestation, Bytes)) -> Self {
        let ((first, first_sig), (second, second_sig)) =
            if (a.0.blockHash, a.0.dataHash) <= (b.0.blockHash, b.0.dataHash) {
                (a, b)
            } else {
                (b, a)
            };
        Self::AttestationEquivocation(AttestationEquivocation {
            first,
            firstSignature: first_sig,
            second,
            secondSignature: second_sig,
        })
    }

    /// The offence it proves.
    pub const fn offence(&self) -> Offence {
        match self {
            Self::ProposalEquivocation(_) => Offence::ProposalEquivocation,
            Self::AttestationEquivocation(_) => Offence::AttestationEquivocation,
            Self::CheckpointOmission(_) => Offence::CheckpointOmission,
        }
    }

    /// The wire encoding: tag byte, then the ABI encoding.
    pub fn encode_wire(&self) -> Vec<u8> {
        let (tag, body) = match self {
            Self::ProposalEquivocation(e) => (Self::TAG_PROPOSAL_EQUIVOCATION, e.encode_wire()),
            Self::AttestationEquivocation(e) => {
                (Self::TAG_ATTESTATION_EQUIVOCATION, e.encode_wire())
            }
            Self::CheckpointOmission(e) => (Self::TAG_CHECKPOINT_OMISSION, e.encode_wire()),
        };
        let mut out = Vec::with_capacity(body.len().saturating_add(1));
        out.push(tag);
        out.extend_from_slice(&body);
        out
    }

    /// Decodes wire bytes, bounded and strict.
    pub fn decode_wire(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > Self::MAX_ENCODED_LEN {
            return Err(DecodeError::TooLarge {
                what: "Evidence",
                len: bytes.len(),
                max: Self::MAX_ENCODED_LEN,
            });
        }
        let (tag, body) = bytes.split_first().ok_or(DecodeError::Empty("Evidence"))?;
        match *tag {
            Self::TAG_PROPOSAL_EQUIVOCATION => {
                ProposalEquivocation::decode_wire(body).map(Self::ProposalEquivocation)
            }
            Self::TAG_ATTESTATION_EQUIVOCATION => {
                AttestationEquivocation::decode_wire(body).map(Self::AttestationEquivocation)
            }
            Self::TAG_CHECKPOINT_OMISSION => {
                CheckpointOmission::decode_wire(body).map(Self::CheckpointOmission)
            }
            other => Err(DecodeError::UnknownEvidenceKind(other)),
        }
    }

    /// Verifies what can be verified from the evidence alone and returns the
    /// offender. For an equivocation that is the whole proof; a checkpoint
    /// omission must still be held against the slot's checkpoint on L1.
    pub fn offender(&self, domain: &Eip712Domain) -> Result<Address, EvidenceError> {
        match self {
            Self::ProposalEquivocation(e) => {
                let pos = |p: &BlockProposal| (p.slot(), p.index());
                conflict(
                    domain,
                    (&e.first, &e.firstSignature),
                    (&e.second, &e.secondSignature),
                    pos,
                    |p| p.blockHash,
                )
            }
            Self::AttestationEquivocation(e) => {
                let pos = |a: &Attestation| (a.slot(), a.index());
                conflict(
                    domain,
                    (&e.first, &e.firstSignature),
                    (&e.second, &e.secondSignature),
                    pos,
                    |a| (a.blockHash, a.dataHash),
                )
            }
            Self::CheckpointOmission(e) => {
                Ok(recover_statement(domain, &e.provisional, &e.signature)?)
            }
        }
    }
}

fn conflict<T: SignedStatement, P: PartialEq, H: PartialEq>(
    domain: &Eip712Domain,
    (first, first_sig): (&T, &[u8]),
    (second, second_sig): (&T, &[u8]),
    position: impl Fn(&T) -> P,
    block: impl Fn(&T) -> H,
) -> Result<Address, EvidenceError> {
    if position(first) != position(second) {
        return Err(EvidenceError::DifferentPositions);
    }
    if block(first) == block(second) {
        return Err(EvidenceError::SameBlock);
    }
    let a = recover_statement(domain, first, first_sig)?;
    let b = recover_statement(domain, second, second_sig)?;
    if a != b {
        return Err(EvidenceError::DifferentSigners {
            first: a,
            second: b,
        });
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        crypto::{LocalSigner, PrivateKey, Signer, eip712_domain},
        structs::ProvisionalBlock,
    };
    use alloy_primitives::B256;

    fn signer(b: u8) -> LocalSigner {
        LocalSigner::new(PrivateKey::from_bytes([b; 32]).unwrap())
    }

    fn domain() -> Eip712Domain {
        eip712_domain(31_337, Address::repeat_byte(0x5f))
    }

    fn proposal(index: u32, hash: u8) -> BlockProposal {
        BlockProposal {
            slot: 4,
            index,
            blockHash: B256::repeat_byte(hash),
        }
    }

    fn equivocation(
        s1: &LocalSigner,
        p1: BlockProposal,
        s2: &LocalSigner,
        p2: BlockProposal,
    ) -> Evidence {
        let d = domain();
        Evidence::ProposalEquivocation(ProposalEquivocation {
            firstSignature: Bytes::from(s1.sign_statement(&d, &p1).unwrap().to_vec()),
            first: p1,
            secondSignature: Bytes::from(s2.sign_statement(&d, &p2).unwrap().to_vec()),
            second: p2,
        })
    }

    #[test]
    fn proposal_equivocation_names_the_offender() {
        let s = signer(1);
        let e = equivocation(&s, proposal(0, 1), &s, proposal(0, 2));
        assert_eq!(e.offender(&domain()), Ok(s.address()));
        assert_eq!(Evidence::decode_wire(&e.encode_wire()), Ok(e));
    }

    #[test]
    fn each_offence_has_one_encoding() {
        let s = signer(1);
        let d = domain();
        let signed = |p: BlockProposal| {
            let sig = Bytes::from(s.sign_statement(&d, &p).unwrap().to_vec());
            (p, sig)
        };
        let (a, b) = (signed(proposal(0, 2)), signed(proposal(0, 1)));
        let one = Evidence::proposal_equivocation(a.clone(), b.clone());
        let other = Evidence::proposal_equivocation(b, a);
        assert_eq!(one.encode_wire(), other.encode_wire());
        let Evidence::ProposalEquivocation(mut swapped) = one.clone() else {
            unreachable!()
        };
        std::mem::swap(&mut swapped.first, &mut swapped.second);
        std::mem::swap(&mut swapped.firstSignature, &mut swapped.secondSignature);
        let bytes = Evidence::ProposalEquivocation(swapped).encode_wire();
        assert!(matches!(
            Evidence::decode_wire(&bytes),
            Err(DecodeError::Invalid { .. })
        ));
        assert_eq!(Evidence::decode_wire(&one.encode_wire()), Ok(one));
    }

    #[test]
    fn honest_pairs_are_not_evidence() {
        let (s, t) = (signer(1), signer(2));
        let same = equivocation(&s, proposal(0, 1), &s, proposal(0, 1));
        assert_eq!(same.offender(&domain()), Err(EvidenceError::SameBlock));
        let next = equivocation(&s, proposal(0, 1), &s, proposal(1, 2));
        assert_eq!(
            next.offender(&domain()),
            Err(EvidenceError::DifferentPositions)
        );
        let two = equivocation(&s, proposal(0, 1), &t, proposal(0, 2));
        assert!(matches!(
            two.offender(&domain()),
            Err(EvidenceError::DifferentSigners { .. })
        ));
    }

    #[test]
    fn attestation_equivocation_and_omission() {
        let s = signer(3);
        let d = domain();
        let a1 = Attestation {
            slot: 2,
            index: 1,
            blockHash: B256::repeat_byte(1),
            dataHash: B256::repeat_byte(5),
        };
        let a2 = Attestation {
            blockHash: B256::repeat_byte(2),
            ..a1.clone()
        };
        let signed = |a: &Attestation| {
            (
                a.clone(),
                Bytes::from(s.sign_statement(&d, a).unwrap().to_vec()),
            )
        };
        let e = Evidence::attestation_equivocation(signed(&a1), signed(&a2));
        assert_eq!(e.offender(&d), Ok(s.address()));
        // One block with two data hashes is an equivocation too: an honest
        // attester derives the data hash from the block alone.
        let a3 = Attestation {
            dataHash: B256::repeat_byte(6),
            ..a1.clone()
        };
        let e = Evidence::attestation_equivocation(signed(&a3), signed(&a1));
        assert_eq!(e.offender(&d), Ok(s.address()));
        assert_eq!(Evidence::decode_wire(&e.encode_wire()), Ok(e));
        let same = Evidence::attestation_equivocation(signed(&a1), signed(&a1));
        assert_eq!(same.offender(&d), Err(EvidenceError::SameBlock));
        let p = ProvisionalBlock {
            slot: 2,
            index: 0,
            ..Default::default()
        };
        let o = Evidence::CheckpointOmission(CheckpointOmission {
            signature: Bytes::from(s.sign_statement(&d, &p).unwrap().to_vec()),
            provisional: p,
        });
        assert_eq!(o.offender(&d), Ok(s.address()));
        assert_eq!(o.offence(), Offence::CheckpointOmission);
        assert_eq!(o.offence().name(), "checkpoint_omission");
        assert_eq!(Evidence::decode_wire(&o.encode_wire()), Ok(o));
    }

    #[test]
    fn bad_wire_bytes_are_errors() {
        assert_eq!(
            Evidence::decode_wire(&[]),
            Err(DecodeError::Empty("Evidence"))
        );
        assert_eq!(
            Evidence::decode_wire(&[9, 0, 0]),
            Err(DecodeError::UnknownEvidenceKind(9))
        );
        assert!(matches!(
            Evidence::decode_wire(&[1, 0, 0]),
            Err(DecodeError::Malformed { .. })
        ));
        let huge = vec![1u8; Evidence::MAX_ENCODED_LEN + 1];
        assert!(matches!(
            Evidence::decode_wire(&huge),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
