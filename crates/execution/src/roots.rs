//! Transaction and receipt roots, as Ethereum computes them (ordered
//! Merkle-Patricia tries), so standard tooling can verify them.

use alloy_consensus::{ReceiptEnvelope, proofs::ordered_trie_root_with_encoder};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Bytes};

/// Root over the EIP-2718 encodings of the transactions.
pub fn transactions_root(encoded: &[Bytes]) -> B256 {
    ordered_trie_root_with_encoder(encoded, |tx, buf| buf.extend_from_slice(tx))
}

/// Root over the EIP-2718 encodings of the receipts.
pub fn receipts_root(receipts: &[ReceiptEnvelope]) -> B256 {
    ordered_trie_root_with_encoder(receipts, |r, buf| r.encode_2718(buf))
}
