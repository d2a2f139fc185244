//! Generators shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use alloy_consensus::{TxEip1559, transaction::RlpEcdsaEncodableTx};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use proptest::prelude::*;

/// A signed EIP-1559 transaction's bytes from its parts.
pub fn eip1559(tx: TxEip1559, sig: Signature) -> Bytes {
    let mut raw = Vec::new();
    tx.eip2718_encode(&sig, &mut raw);
    Bytes::from(raw)
}

/// EIP-1559 transactions with any field values.
pub fn any_eip1559() -> impl Strategy<Value = Bytes> {
    (
        (
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u128>(),
            any::<u128>(),
        ),
        (
            proptest::option::of(any::<[u8; 20]>()),
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..80),
            proptest::collection::vec((any::<[u8; 20]>(), 0..3usize), 0..3),
        ),
        (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<bool>(), 0..4u32),
    )
        .prop_map(
            |(
                (chain_id, nonce, gas_limit, max_fee_per_gas, max_priority_fee_per_gas),
                (to, value, input, access),
                (r, s, parity, value_shift),
            )| {
                let tx = TxEip1559 {
                    chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to: to.map_or(TxKind::Create, |a| TxKind::Call(Address::from(a))),
                    // Small values too, not only 32-byte ones.
                    value: U256::from_be_bytes(value) >> (value_shift * 80),
                    access_list: AccessList(
                        access
                            .into_iter()
                            .map(|(a, keys)| AccessListItem {
                                address: Address::from(a),
                                storage_keys: (0..keys)
                                    .map(|k| B256::with_last_byte(k as u8))
                                    .collect(),
                            })
                            .collect(),
                    ),
                    input: Bytes::from(input),
                };
                eip1559(
                    tx,
                    Signature::new(U256::from_be_bytes(r), U256::from_be_bytes(s), parity),
                )
            },
        )
}

/// Any transaction: opaque bytes (1 to 300) or an EIP-1559 transaction.
pub fn any_tx() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..300).prop_map(Bytes::from),
        any_eip1559(),
    ]
}

/// Any slot: up to 8 blocks of up to 24 transactions.
pub fn any_blocks() -> impl Strategy<Value = Vec<Vec<Bytes>>> {
    proptest::collection::vec(proptest::collection::vec(any_tx(), 0..24), 0..8)
}

/// `n` transfers much like the load generator's, with random signatures.
pub fn transfers(n: usize) -> Vec<Bytes> {
    (0..n as u64)
        .map(|i| {
            let tx = TxEip1559 {
                chain_id: 8_001,
                nonce: i / 64,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(Address::with_last_byte((i % 64) as u8)),
                value: U256::from(1_000 + i),
                access_list: AccessList::default(),
                input: Bytes::new(),
            };
            let r = alloy_primitives::keccak256(i.to_be_bytes());
            let s = U256::from_be_bytes(alloy_primitives::keccak256(r).0) >> 2;
            eip1559(tx, Signature::new(r.into(), s, i % 3 == 0))
        })
        .collect()
}
