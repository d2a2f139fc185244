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

/// A signed EIP-1559 transfer of `value` wei from `key` to `to`, EIP-2718
/// encoded: the load the simulator, the tests and calibration send.
pub fn signed_transfer(
    key: &PrivateKey,
    chain_id: u64,
    nonce: u64,
    to: alloy_primitives::Address,
    value: U256,
) -> alloy_primitives::Bytes {
    use alloy_eips::eip2718::Encodable2718;
    let tx = alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy_primitives::TxKind::Call(to),
        value,
        access_list: Default::default(),
        input: alloy_primitives::Bytes::new(),
    };
    sign_transaction(key, tx).encoded_2718().into()
}
