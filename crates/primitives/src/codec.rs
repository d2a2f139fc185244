//! Size-bounded, strict ABI codec for everything that crosses the network,
//! the RPC, a file or L1.
//!
//! Every decoder checks the input length against the type's limit before
//! looking at a byte, decodes in strict mode (canonical offsets, no gaps or
//! overlaps between dynamic parts, clean padding, no trailing bytes) under a
//! memory limit, and returns an error, never panics. Strictness also means a
//! message has exactly one encoding, so a hash of its bytes identifies it.

use alloy_sol_types::{SolValue, abi::AbiDecoderConfig};
use thiserror::Error;

use crate::{
    crypto::SIGNATURE_LEN,
    spec::{MAX_BLOCK_TXS, MAX_COMMITTEE_SIZE},
    structs::{
        Attestation, AttestationEquivocation, AttestationMessage, BlockHeader, BlockProposal,
        Checkpoint, CheckpointHeader, CheckpointOmission, ProposalEquivocation, ProposalMessage,
        ProvisionalBlock, ProvisionalBlockMessage,
    },
};

/// Largest EIP-2718 transaction accepted anywhere.
pub const MAX_TX_BYTES: usize = 128 * 1024;
/// Largest encoded block proposal (header, transactions and signature).
pub const MAX_PROPOSAL_BYTES: usize = 4 * 1024 * 1024;
/// Largest provisional-block message: room for the attestations of the
/// largest committee.
pub const MAX_PROVISIONAL_BYTES: usize = 128 * 1024;
/// Largest message that carries one or two fixed-size statements and signatures.
pub const MAX_SMALL_MESSAGE_BYTES: usize = 4 * 1024;

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input exceeds the type's limit; nothing was decoded.
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Type being decoded.
        what: &'static str,
        /// Input length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The input is not a strict ABI encoding of the type.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Type being decoded.
        what: &'static str,
        /// Decoder's explanation.
        reason: String,
    },
    /// The value decoded but breaks a structural limit of the protocol.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Type being decoded.
        what: &'static str,
        /// The limit broken.
        reason: String,
    },
    /// An evidence message names no known kind.
    #[error("unknown evidence kind {0}")]
    UnknownEvidenceKind(u8),
    /// The input is empty where a tag byte was expected.
    #[error("empty {0}")]
    Empty(&'static str),
}

/// A type with a bounded wire encoding.
pub trait WireCodec:
    SolValue + From<<Self::SolType as alloy_sol_types::SolType>::RustType> + Sized
{
    /// Name used in errors and metrics.
    const NAME: &'static str;
    /// Largest accepted encoding.
    const MAX_ENCODED_LEN: usize;

    /// The ABI encoding.
    fn encode_wire(&self) -> Vec<u8> {
        self.abi_encode()
    }

    /// Structural limits the ABI cannot express (lengths of signatures and
    /// transactions, canonical order); checked by [`Self::decode_wire`].
    fn check(&self) -> Result<(), DecodeError> {
        Ok(())
    }

    /// Decodes `bytes`, refusing anything over [`Self::MAX_ENCODED_LEN`] or
    /// failing [`Self::check`].
    fn decode_wire(bytes: &[u8]) -> Result<Self, DecodeError> {
        let value: Self = decode_bounded(bytes, Self::NAME, Self::MAX_ENCODED_LEN)?;
        value.check()?;
        Ok(value)
    }
}

fn invalid<T: WireCodec>(reason: String) -> Result<(), DecodeError> {
    Err(DecodeError::Invalid {
        what: T::NAME,
        reason,
    })
}

fn check_signature<T: WireCodec>(field: &str, sig: &[u8]) -> Result<(), DecodeError> {
    if sig.len() == SIGNATURE_LEN {
        Ok(())
    } else {
        invalid::<T>(format!(
            "{field} is {} bytes, not {SIGNATURE_LEN}",
            sig.len()
        ))
    }
}

/// Strict, bounded ABI decoding of any `SolValue` under an explicit limit.
pub fn decode_bounded<T>(bytes: &[u8], what: &'static str, max: usize) -> Result<T, DecodeError>
where
    T: SolValue + From<<T::SolType as alloy_sol_types::SolType>::RustType>,
{
    if bytes.len() > max {
        return Err(DecodeError::TooLarge {
            what,
            len: bytes.len(),
            max,
        });
    }
    // Decoding never needs more than a small multiple of its input.
    let memory = bytes.len().saturating_mul(4).saturating_add(4096);
    let config = AbiDecoderConfig::new().strict(true).memory_limit(memory);
    T::abi_decode_with_config(bytes, config).map_err(|e| DecodeError::Malformed {
        what,
        reason: e.to_string(),
    })
}

macro_rules! wire {
    ($($ty:ident => $max:expr),* $(,)?) => {
        $(impl WireCodec for $ty {
            const NAME: &'static str = stringify!($ty);
            const MAX_ENCODED_LEN: usize = $max;
        })*
    };
    ($($ty:ident => $max:expr, check($v:ident) $body:block),* $(,)?) => {
        $(impl WireCodec for $ty {
            const NAME: &'static str = stringify!($ty);
            const MAX_ENCODED_LEN: usize = $max;
            fn check(&self) -> Result<(), DecodeError> {
                let $v = self;
                $body
            }
        })*
    };
}

wire! {
    BlockHeader => MAX_SMALL_MESSAGE_BYTES,
    CheckpointHeader => MAX_SMALL_MESSAGE_BYTES,
    BlockProposal => MAX_SMALL_MESSAGE_BYTES,
    Attestation => MAX_SMALL_MESSAGE_BYTES,
    ProvisionalBlock => MAX_SMALL_MESSAGE_BYTES,
    Checkpoint => MAX_SMALL_MESSAGE_BYTES,
}

wire! {
    ProposalMessage => MAX_PROPOSAL_BYTES, check(m) {
        if m.transactions.len() > MAX_BLOCK_TXS as usize {
            return invalid::<Self>(format!("{} transactions, more than {MAX_BLOCK_TXS}", m.transactions.len()));
        }
        if let Some((i, tx)) = m.transactions.iter().enumerate().find(|(_, tx)| tx.is_empty() || tx.len() > MAX_TX_BYTES) {
            return invalid::<Self>(format!("transaction {i} is {} bytes (1 to {MAX_TX_BYTES} allowed)", tx.len()));
        }
        check_signature::<Self>("signature", &m.signature)
    },
    AttestationMessage => MAX_SMALL_MESSAGE_BYTES, check(m) {
        check_signature::<Self>("signature", &m.signature)
    },
    ProvisionalBlockMessage => MAX_PROVISIONAL_BYTES, check(m) {
        let n = m.attestations.len();
        if !n.is_multiple_of(SIGNATURE_LEN) || n > SIGNATURE_LEN.saturating_mul(MAX_COMMITTEE_SIZE as usize) {
            return invalid::<Self>(format!(
                "attestations are {n} bytes: not a whole number of signatures, or more than {MAX_COMMITTEE_SIZE}"
            ));
        }
        check_signature::<Self>("proposerSignature", &m.proposerSignature)
    },
    ProposalEquivocation => MAX_SMALL_MESSAGE_BYTES, check(e) {
        if e.first.blockHash >= e.second.blockHash {
            return invalid::<Self>("first.blockHash must be below second.blockHash".into());
        }
        check_signature::<Self>("firstSignature", &e.firstSignature)?;
        check_signature::<Self>("secondSignature", &e.secondSignature)
    },
    AttestationEquivocation => MAX_SMALL_MESSAGE_BYTES, check(e) {
        if (e.first.blockHash, e.first.dataHash) >= (e.second.blockHash, e.second.dataHash) {
            return invalid::<Self>(
                "(first.blockHash, first.dataHash) must be below (second.blockHash, second.dataHash)".into(),
            );
        }
        check_signature::<Self>("firstSignature", &e.firstSignature)?;
        check_signature::<Self>("secondSignature", &e.secondSignature)
    },
    CheckpointOmission => MAX_SMALL_MESSAGE_BYTES, check(e) {
        check_signature::<Self>("signature", &e.signature)
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{B256, Bytes};

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let big = vec![0u8; MAX_SMALL_MESSAGE_BYTES + 1];
        assert!(matches!(
            Attestation::decode_wire(&big),
            Err(DecodeError::TooLarge {
                what: "Attestation",
                ..
            })
        ));
    }

    #[test]
    fn trailing_bytes_and_dirty_padding_are_malformed() {
        let a = Attestation {
            slot: 1,
            index: 2,
            blockHash: B256::repeat_byte(3),
            dataHash: B256::repeat_byte(4),
        };
        let mut bytes = a.encode_wire();
        assert_eq!(Attestation::decode_wire(&bytes), Ok(a.clone()));
        bytes.push(0);
        assert!(matches!(
            Attestation::decode_wire(&bytes),
            Err(DecodeError::Malformed { .. })
        ));
        let mut dirty = a.encode_wire();
        dirty[0] = 1; // the high bytes of a uint64 word must be zero
        assert!(matches!(
            Attestation::decode_wire(&dirty),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn aliased_dynamic_data_is_rejected() {
        // Two transactions whose offsets point at the same bytes: a classic
        // amplification trick that strict decoding must refuse.
        let msg = ProposalMessage {
            header: BlockHeader::default(),
            transactions: vec![Bytes::from(vec![7u8; 40]), Bytes::from(vec![7u8; 40])],
            signature: Bytes::from(vec![1u8; 65]),
        };
        let honest = msg.encode_wire();
        assert_eq!(ProposalMessage::decode_wire(&honest), Ok(msg));
        // Layout: [0x20][header 13 words][off txs][off sig] then txs array:
        // [len=2][off0][off1][tx0 len][tx0 data 2 words][tx1 ...]
        let txs_at = 32 + 32 * 15;
        let off1_at = txs_at + 64;
        let mut aliased = honest.clone();
        let off0 = aliased[off1_at - 32..off1_at].to_vec();
        aliased[off1_at..off1_at + 32].copy_from_slice(&off0);
        assert!(ProposalMessage::decode_wire(&aliased).is_err());
    }
}
