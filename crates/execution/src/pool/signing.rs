//! Signing a transaction with libsecp256k1, the same library ingress
//! recovers with (for the CLI, tests and benches; alloy's signers would pull
//! in a second secp256k1 implementation).

use alloy_consensus::{SignableTransaction, Signed, TxEnvelope};
use alloy_primitives::{Signature, U256};
use chunkseq_primitives::crypto::{PrivateKey, sign_digest};

/// Signs `tx` (an EIP-155 legacy, EIP-2930 or EIP-1559 transaction) with
/// `key`. Encode the result with `Encodable2718::encoded_2718`.
pub fn sign_transaction<T>(key: &PrivateKey, tx: T) -> TxEnvelope
where
    T: SignableTransaction<Signature>,
    TxEnvelope: From<Signed<T>>,
{
    let sig = sign_digest(key, tx.signature_hash());
    let (rs, v) = sig.split_at(64);
    let (r, s) = rs.split_at(32);
    // `sign_digest` makes v 27 or 28.
    let signature = Signature::new(U256::from_be_slice(r), U256::from_be_slice(s), v == [28]);
    tx.into_signed(signature).into()
}
