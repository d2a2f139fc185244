//! Where each piece of state sits in the authenticated tree.

use alloy_primitives::{Address, B256, U256, keccak256};

use crate::account::Account;

/// A piece of state: an account or one storage slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKey {
    /// An account's nonce, balance and code hash.
    Account(Address),
    /// One storage slot of a contract.
    Storage(Address, U256),
}

impl StateKey {
    /// The key's position in the tree: keccak256 of a domain byte and the key,
    /// so account and storage keys can never collide.
    pub fn tree_key(&self) -> B256 {
        match self {
            Self::Account(a) => {
                let mut buf = [0u8; 21];
                let (tag, addr) = buf.split_at_mut(1);
                tag.fill(1);
                addr.copy_from_slice(a.as_slice());
                keccak256(buf)
            }
            Self::Storage(a, slot) => {
                let mut buf = [0u8; 53];
                let (tag, rest) = buf.split_at_mut(1);
                let (addr, s) = rest.split_at_mut(20);
                tag.fill(2);
                addr.copy_from_slice(a.as_slice());
                s.copy_from_slice(&slot.to_be_bytes::<32>());
                keccak256(buf)
            }
        }
    }
}

/// The leaf value committing to an account (`None` when it does not exist).
pub(crate) fn account_leaf(account: Option<&Account>) -> Option<B256> {
    account
        .filter(|a| !a.is_empty())
        .map(|a| keccak256(a.encode()))
}

/// The leaf value of a storage slot (`None` when it is zero).
pub(crate) fn storage_leaf(value: U256) -> Option<B256> {
    (!value.is_zero()).then(|| B256::from(value.to_be_bytes::<32>()))
}
