//! What a block writes: the new values of the accounts, slots and code it
//! touched.

use alloy_primitives::{
    Address, B256, Bytes, U256,
    map::{HashMap, HashSet},
};

use crate::{
    account::Account,
    error::StateError,
    keys::{StateKey, account_leaf, storage_leaf},
    smt::Update,
};

/// The post-state of everything a block (or a transaction) changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// New accounts; `None` deletes the account (it became empty).
    pub accounts: HashMap<Address, Option<Account>>,
    /// New storage values; zero deletes the slot.
    pub storage: HashMap<(Address, U256), U256>,
    /// Code created, by hash.
    pub code: HashMap<B256, Bytes>,
}

impl StateDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.storage.is_empty() && self.code.is_empty()
    }

    /// Number of accounts and slots written.
    pub fn len(&self) -> usize {
        self.accounts.len().saturating_add(self.storage.len())
    }

    /// Sets an account; an empty account is stored as deleted.
    pub fn set_account(&mut self, address: Address, account: Option<Account>) {
        self.accounts
            .insert(address, account.filter(|a| !a.is_empty()));
    }

    /// Sets a storage slot.
    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        self.storage.insert((address, slot), value);
    }

    /// Records code by its hash.
    pub fn add_code(&mut self, hash: B256, code: Bytes) {
        self.code.insert(hash, code);
    }

    /// Layers `later` on top of `self`.
    pub fn extend(&mut self, later: Self) {
        self.accounts.extend(later.accounts);
        self.storage.extend(later.storage);
        self.code.extend(later.code);
    }

    /// The tree updates this diff makes.
    pub(crate) fn tree_updates(&self) -> Vec<Update> {
        let accounts = self
            .accounts
            .iter()
            .map(|(a, acc)| (StateKey::Account(*a).tree_key(), account_leaf(acc.as_ref())));
        let storage = self
            .storage
            .iter()
            .map(|((a, s), v)| (StateKey::Storage(*a, *s).tree_key(), storage_leaf(*v)));
        accounts.chain(storage).collect()
    }

    /// The keys changed, sorted (deterministic order for the change log).
    pub(crate) fn sorted_keys(&self) -> Vec<StateKey> {
        let mut keys: Vec<StateKey> = self
            .accounts
            .keys()
            .map(|a| StateKey::Account(*a))
            .chain(self.storage.keys().map(|(a, s)| StateKey::Storage(*a, *s)))
            .collect();
        keys.sort_unstable();
        keys
    }
}

const TAG_ACCOUNT: u8 = 1;
const TAG_STORAGE: u8 = 2;

/// Encodes the list of keys a block changed.
pub(crate) fn encode_keys(keys: &[StateKey]) -> Vec<u8> {
    let mut out = Vec::with_capacity(keys.len().saturating_mul(53));
    for k in keys {
        match k {
            StateKey::Account(a) => {
                out.push(TAG_ACCOUNT);
                out.extend_from_slice(a.as_slice());
            }
            StateKey::Storage(a, s) => {
                out.push(TAG_STORAGE);
                out.extend_from_slice(a.as_slice());
                out.extend_from_slice(&s.to_be_bytes::<32>());
            }
        }
    }
    out
}

/// Decodes [`encode_keys`]; malformed input is reported as corruption.
pub(crate) fn decode_keys(mut bytes: &[u8]) -> Result<Vec<StateKey>, StateError> {
    let corrupt = || StateError::Corrupt("malformed block change list".into());
    let mut keys = Vec::new();
    let mut seen: HashSet<StateKey> = HashSet::default();
    while let Some((tag, rest)) = bytes.split_first() {
        let (key, rest) = match *tag {
            TAG_ACCOUNT => {
                let (a, rest) = rest.split_at_checked(20).ok_or_else(corrupt)?;
                (StateKey::Account(Address::from_slice(a)), rest)
            }
            TAG_STORAGE => {
                let (a, rest) = rest.split_at_checked(20).ok_or_else(corrupt)?;
                let (s, rest) = rest.split_at_checked(32).ok_or_else(corrupt)?;
                (
                    StateKey::Storage(Address::from_slice(a), U256::from_be_slice(s)),
                    rest,
                )
            }
            _ => return Err(corrupt()),
        };
        if !seen.insert(key) {
            return Err(corrupt());
        }
        keys.push(key);
        bytes = rest;
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists_round_trip_and_garbage_is_corruption() {
        let keys = vec![
            StateKey::Account(Address::repeat_byte(1)),
            StateKey::Storage(Address::repeat_byte(2), U256::from(7)),
        ];
        assert_eq!(decode_keys(&encode_keys(&keys)).unwrap(), keys);
        assert!(decode_keys(&[1, 2, 3]).is_err());
        assert!(decode_keys(&[9]).is_err());
        let mut dup = encode_keys(&keys);
        dup.extend(encode_keys(&keys));
        assert!(decode_keys(&dup).is_err());
    }

    #[test]
    fn empty_accounts_are_deletions() {
        let mut d = StateDiff::default();
        d.set_account(Address::ZERO, Some(Account::default()));
        assert_eq!(d.accounts.get(&Address::ZERO), Some(&None));
    }
}
