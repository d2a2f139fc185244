//! An account as the state stores it.

use alloy_primitives::{B256, U256, b256};

/// keccak256 of empty code: the code hash of every account without code.
pub const EMPTY_CODE_HASH: B256 =
    b256!("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

/// Length of an encoded [`Account`].
pub const ACCOUNT_ENCODED_LEN: usize = 72;

/// Nonce, balance and code hash of an address. Storage lives beside it, keyed
/// by address and slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Account {
    /// Transactions sent (or contracts created) by the account.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// keccak256 of the account's code.
    pub code_hash: B256,
}

impl Default for Account {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: EMPTY_CODE_HASH,
        }
    }
}

impl Account {
    /// An account with a balance and nothing else.
    pub fn with_balance(balance: U256) -> Self {
        Self {
            balance,
            ..Self::default()
        }
    }

    /// Empty in the sense of EIP-161: no nonce, no balance, no code. Empty
    /// accounts are not stored.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == EMPTY_CODE_HASH
    }

    /// Fixed-size encoding: nonce (8 bytes, big-endian), balance (32), code hash (32).
    pub fn encode(&self) -> [u8; ACCOUNT_ENCODED_LEN] {
        let mut out = [0u8; ACCOUNT_ENCODED_LEN];
        let (nonce, rest) = out.split_at_mut(8);
        let (balance, code) = rest.split_at_mut(32);
        nonce.copy_from_slice(&self.nonce.to_be_bytes());
        balance.copy_from_slice(&self.balance.to_be_bytes::<32>());
        code.copy_from_slice(self.code_hash.as_slice());
        out
    }

    /// Decodes [`Account::encode`]'s output.
    pub fn decode(bytes: &[u8; ACCOUNT_ENCODED_LEN]) -> Self {
        let (nonce, rest) = bytes.split_at(8);
        let (balance, code) = rest.split_at(32);
        let mut n = [0u8; 8];
        n.copy_from_slice(nonce);
        Self {
            nonce: u64::from_be_bytes(n),
            balance: U256::from_be_slice(balance),
            code_hash: B256::from_slice(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_empty_is_default() {
        let a = Account {
            nonce: 7,
            balance: U256::from(123_456_789u64),
            code_hash: B256::repeat_byte(9),
        };
        assert_eq!(Account::decode(&a.encode()), a);
        assert!(Account::default().is_empty());
        assert!(!Account::with_balance(U256::from(1)).is_empty());
        assert_eq!(alloy_primitives::keccak256([]), EMPTY_CODE_HASH);
    }
}
