//! A block's body as L1 carries it: the block's EIP-2718 transactions,
//! ABI-encoded as `bytes[]`. The header's `bodyHash` is keccak256 of exactly
//! these bytes, so the committee that attests a header vouches for the body
//! L1 must carry, and the rollup contract refuses any other.

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_sol_types::SolValue;

use crate::{
    codec::{DecodeError, MAX_PROPOSAL_BYTES, MAX_TX_BYTES, decode_bounded},
    spec::MAX_BLOCK_TXS,
};

/// Largest encoded body accepted from L1 or a peer: a proposal's limit.
pub const MAX_BODY_BYTES: usize = MAX_PROPOSAL_BYTES;

/// The body of a block with `transactions`, as published on L1.
pub fn encode_body(transactions: &[Bytes]) -> Bytes {
    Bytes::from(transactions.abi_encode())
}

/// The `bodyHash` of a block with `transactions`.
pub fn body_hash(transactions: &[Bytes]) -> B256 {
    keccak256(transactions.abi_encode())
}

/// Decodes a body read from L1 or a peer: at most [`MAX_BODY_BYTES`], a
/// strict encoding, at most `MAX_BLOCK_TXS` transactions of 1 to
/// `MAX_TX_BYTES` bytes each.
pub fn decode_body(bytes: &[u8]) -> Result<Vec<Bytes>, DecodeError> {
    let txs: Vec<Bytes> = decode_bounded(bytes, "block body", MAX_BODY_BYTES)?;
    if txs.len() > MAX_BLOCK_TXS as usize {
        return Err(DecodeError::Invalid {
            what: "block body",
            reason: format!("{} transactions, more than {MAX_BLOCK_TXS}", txs.len()),
        });
    }
    if let Some((i, tx)) = txs
        .iter()
        .enumerate()
        .find(|(_, tx)| tx.is_empty() || tx.len() > MAX_TX_BYTES)
    {
        return Err(DecodeError::Invalid {
            what: "block body",
            reason: format!(
                "transaction {i} is {} bytes (1 to {MAX_TX_BYTES} allowed)",
                tx.len()
            ),
        });
    }
    Ok(txs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_round_trips_and_its_hash_covers_its_bytes() {
        let txs = vec![Bytes::from(vec![1u8; 40]), Bytes::from(vec![2u8; 3])];
        let body = encode_body(&txs);
        assert_eq!(decode_body(&body), Ok(txs.clone()));
        assert_eq!(body_hash(&txs), keccak256(&body));
        assert_ne!(body_hash(&txs), body_hash(&txs[..1]));
        assert_eq!(decode_body(&encode_body(&[])), Ok(vec![]));
    }

    #[test]
    fn bad_bodies_are_errors() {
        let mut body = encode_body(&[Bytes::from(vec![1u8; 40])]).to_vec();
        body.push(0);
        assert!(matches!(
            decode_body(&body),
            Err(DecodeError::Malformed { .. })
        ));
        assert!(matches!(
            decode_body(&encode_body(&[Bytes::new()])),
            Err(DecodeError::Invalid { .. })
        ));
        assert!(matches!(
            decode_body(&vec![0u8; MAX_BODY_BYTES + 1]),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(decode_body(&[0u8; 7]).is_err());
    }
}
