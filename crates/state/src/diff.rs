//! What a block writes: the new values of the accounts, slots and code it
//! touched.

use alloy_primitives::{Address, B256, Bytes, U256, map::HashMap};

use crate::{
    account::Account,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_accounts_are_deletions() {
        let mut d = StateDiff::default();
        d.set_account(Address::ZERO, Some(Account::default()));
        assert_eq!(d.accounts.get(&Address::ZERO), Some(&None));
    }
}
