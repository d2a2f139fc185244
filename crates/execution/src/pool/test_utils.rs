//! Signed transactions and accounts for the pool's tests.

use std::{collections::BTreeMap, sync::LazyLock};

use alloy_consensus::{TxEip1559, TxEip2930, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use chunkseq_primitives::crypto::PrivateKey;

use super::{AccountReader, Pool, PoolConfig, RecoveredTx, recover, sign_transaction};

pub(super) const CHAIN_ID: u64 = 7;
pub(super) const BLOCK_GAS_LIMIT: u64 = 30_000_000;
pub(super) const RICH: U256 = U256::from_limbs([0, 0, 1, 0]);

/// The key of test account `i`.
pub(super) fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes([i.wrapping_add(1); 32]).unwrap()
}

/// Addresses of the first [`SIGNERS`] test accounts.
static ADDRESSES: LazyLock<Vec<Address>> =
    LazyLock::new(|| (0..SIGNERS).map(|i| key(i).address()).collect());
pub(super) const SIGNERS: u8 = 16;

pub(super) fn addr(i: u8) -> Address {
    ADDRESSES[usize::from(i)]
}

/// An EIP-1559 transaction, encoded.
pub(super) fn raw_1559(tx: TxEip1559, signer: u8) -> Bytes {
    sign_transaction(&key(signer), tx).encoded_2718().into()
}

pub(super) fn eip1559(nonce: u64, tip: u128) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: tip,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(Address::repeat_byte(0xee)),
        value: U256::from(1),
        ..Default::default()
    }
}

pub(super) fn legacy(chain_id: Option<u64>) -> TxLegacy {
    TxLegacy {
        chain_id,
        nonce: 0,
        gas_price: 5,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(0xee)),
        value: U256::from(1),
        ..Default::default()
    }
}

pub(super) fn eip2930() -> TxEip2930 {
    TxEip2930 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_price: 5,
        gas_limit: 30_000,
        to: TxKind::Create,
        input: Bytes::from_static(&[0x60, 0x00]),
        ..Default::default()
    }
}

/// A recovered EIP-1559 transaction of account `signer` paying `tip`.
pub(super) fn tx(signer: u8, nonce: u64, tip: u128) -> RecoveredTx {
    recover(&raw_1559(eip1559(nonce, tip), signer), CHAIN_ID).unwrap()
}

/// No base fee and no data fee: the cases are about the other rules
/// (the fee cases set their prices).
pub(super) fn config() -> PoolConfig {
    PoolConfig {
        base_fee: 0,
        data_price: 0,
        ..PoolConfig::new(CHAIN_ID, BLOCK_GAS_LIMIT)
    }
}

/// Account state: nonce 0 and [`RICH`] unless set.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    pub(super) nonces: BTreeMap<Address, u64>,
    pub(super) balances: BTreeMap<Address, U256>,
}

impl Accounts {
    pub(super) fn with_nonce(mut self, signer: u8, nonce: u64) -> Self {
        self.nonces.insert(addr(signer), nonce);
        self
    }
}

impl AccountReader for Accounts {
    fn nonce(&self, address: Address) -> u64 {
        self.nonces.get(&address).copied().unwrap_or_default()
    }

    fn balance(&self, address: Address) -> U256 {
        self.balances.get(&address).copied().unwrap_or(RICH)
    }
}

/// `(signer, nonce)` of what `best()` yields, in order.
pub(super) fn best(pool: &Pool) -> Vec<(u8, u64)> {
    pool.best()
        .map(|t| {
            let signer = (0..SIGNERS).find(|&i| addr(i) == t.sender()).unwrap();
            (signer, t.nonce())
        })
        .collect()
}
