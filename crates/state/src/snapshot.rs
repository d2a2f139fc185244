//! A consistent, read-only view of the committed state (one redb read
//! transaction), shared by every fork started from it.

use alloy_primitives::{Address, B256, Bytes, U256, map::AddressMap};
use parking_lot::Mutex;
use redb::{ReadOnlyTable, ReadableDatabase};

use crate::{
    account::Account,
    error::StateError,
    tables::{ACCOUNTS, CODE, HEADERS, STORAGE, storage_key},
};

/// The committed state as of one moment.
pub(crate) struct Snapshot {
    accounts: ReadOnlyTable<&'static [u8; 20], &'static [u8; 72]>,
    storage: ReadOnlyTable<&'static [u8; 52], &'static [u8; 32]>,
    code: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    headers: ReadOnlyTable<u64, &'static [u8; 64]>,
    /// Accounts already read: the view never changes, and every fork on it
    /// (every pool check of every node sharing the store) reads through it.
    accounts_read: Mutex<AddressMap<Option<Account>>>,
}

/// Accounts a snapshot remembers, at most (bounded memory).
const ACCOUNTS_REMEMBERED: usize = 1 << 16;

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Snapshot {
    pub(crate) fn open(db: &redb::Database) -> Result<Self, StateError> {
        let txn = db.begin_read()?;
        Ok(Self {
            accounts: txn.open_table(ACCOUNTS)?,
            storage: txn.open_table(STORAGE)?,
            code: txn.open_table(CODE)?,
            headers: txn.open_table(HEADERS)?,
            accounts_read: Mutex::new(AddressMap::default()),
        })
    }

    pub(crate) fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        if let Some(a) = self.accounts_read.lock().get(address) {
            return Ok(*a);
        }
        let account = self
            .accounts
            .get(&address.0.0)?
            .map(|g| Account::decode(g.value()));
        let mut read = self.accounts_read.lock();
        if read.len() < ACCOUNTS_REMEMBERED {
            read.insert(*address, account);
        }
        Ok(account)
    }

    pub(crate) fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        let key = storage_key(&address.0.0, &slot.to_be_bytes::<32>());
        Ok(self
            .storage
            .get(&key)?
            .map_or(U256::ZERO, |g| U256::from_be_bytes(*g.value())))
    }

    pub(crate) fn code(&self, hash: &B256) -> Result<Option<Bytes>, StateError> {
        Ok(self
            .code
            .get(&hash.0)?
            .map(|g| Bytes::copy_from_slice(g.value())))
    }

    /// Block hash and state root of a committed block.
    pub(crate) fn header(&self, number: u64) -> Result<Option<(B256, B256)>, StateError> {
        Ok(self.headers.get(number)?.map(|g| {
            let (h, r) = g.value().split_at(32);
            (B256::from_slice(h), B256::from_slice(r))
        }))
    }
}
