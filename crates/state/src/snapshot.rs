//! A consistent, read-only view of the committed state, shared by every fork
//! started from it.

use alloy_primitives::{Address, B256, Bytes, U256, map::AddressMap};
use chunkseq_primitives::BlockNumber;
use parking_lot::Mutex;

use crate::{account::Account, backend::StateView, error::StateError};

/// The committed state as of one moment: a backend view, and the accounts
/// already read from it.
pub(crate) struct Snapshot {
    view: Box<dyn StateView>,
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
    pub(crate) fn new(view: Box<dyn StateView>) -> Self {
        Self {
            view,
            accounts_read: Mutex::new(AddressMap::default()),
        }
    }

    pub(crate) fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        if let Some(a) = self.accounts_read.lock().get(address) {
            return Ok(*a);
        }
        let account = self.view.account(address)?;
        let mut read = self.accounts_read.lock();
        if read.len() < ACCOUNTS_REMEMBERED {
            read.insert(*address, account);
        }
        Ok(account)
    }

    pub(crate) fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        self.view.storage(address, slot)
    }

    pub(crate) fn code(&self, hash: &B256) -> Result<Option<Bytes>, StateError> {
        self.view.code(hash)
    }

    /// Block hash and state root of a committed block.
    pub(crate) fn header(&self, number: u64) -> Result<Option<(B256, B256)>, StateError> {
        self.view.header(BlockNumber(number))
    }
}
