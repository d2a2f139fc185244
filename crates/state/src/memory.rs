//! [`MemoryBackend`]: the state's tables as ordered maps in memory, for the
//! simulator and tests. Nothing is persisted.

use std::{
    collections::{BTreeMap, btree_map::Entry},
    sync::Arc,
};

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;
use parking_lot::{Mutex, RwLock, RwLockUpgradableReadGuard};

use crate::{
    account::Account,
    backend::{StateBackend, StateView, StateWrite},
    error::StateError,
    keys::StateKey,
    versioned::VersionedMap,
};

/// The committed state in memory: one multi-version ordered map per table,
/// so a view reads its own version while later transactions commit, the
/// way a database read transaction does. Values no live view can see are
/// dropped at the next commit.
#[derive(Default)]
pub struct MemoryBackend {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("version", &self.shared.tables.read().version)
            .finish_non_exhaustive()
    }
}

impl MemoryBackend {
    /// A new, empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Default)]
struct Shared {
    tables: RwLock<Tables>,
    /// Versions that live views read at, with how many views read at each.
    readers: Mutex<BTreeMap<u64, usize>>,
}

/// The state's tables (see `docs/state.md`), keyed by typed keys whose
/// order is the byte order of the on-disk layout.
#[derive(Default)]
struct Tables {
    /// The last committed transaction.
    version: u64,
    accounts: VersionedMap<Address, Account>,
    storage: VersionedMap<(Address, U256), U256>,
    code: VersionedMap<B256, Bytes>,
    account_history: VersionedMap<(Address, u64), Option<Account>>,
    storage_history: VersionedMap<(Address, U256, u64), U256>,
    block_changes: VersionedMap<u64, Arc<[StateKey]>>,
    headers: VersionedMap<u64, (B256, B256)>,
    head: VersionedMap<(), u64>,
}

/// The writes of one transaction, applied to [`Tables`] at its commit.
#[derive(Default)]
struct Staged {
    accounts: BTreeMap<Address, Option<Account>>,
    storage: BTreeMap<(Address, U256), Option<U256>>,
    code: BTreeMap<B256, Option<Bytes>>,
    account_history: BTreeMap<(Address, u64), Option<Option<Account>>>,
    storage_history: BTreeMap<(Address, U256, u64), Option<U256>>,
    block_changes: BTreeMap<u64, Option<Arc<[StateKey]>>>,
    headers: BTreeMap<u64, Option<(B256, B256)>>,
    head: Option<u64>,
}

/// The value `key` has in a transaction: its staged write, else the
/// committed value.
fn read_through<'a, K: Ord + Clone, V>(
    staged: &'a BTreeMap<K, Option<V>>,
    committed: &'a VersionedMap<K, V>,
    key: &K,
    at: u64,
) -> Option<&'a V> {
    match staged.get(key) {
        Some(value) => value.as_ref(),
        None => committed.get(key, at),
    }
}

/// Applies staged writes to a table at `version`.
fn apply<K: Ord + Clone, V>(
    table: &mut VersionedMap<K, V>,
    version: u64,
    staged: BTreeMap<K, Option<V>>,
) {
    for (key, value) in staged {
        table.write(version, key, value);
    }
}

impl Tables {
    fn commit(&mut self, staged: Staged, version: u64) {
        apply(&mut self.accounts, version, staged.accounts);
        apply(&mut self.storage, version, staged.storage);
        apply(&mut self.code, version, staged.code);
        apply(&mut self.account_history, version, staged.account_history);
        apply(&mut self.storage_history, version, staged.storage_history);
        apply(&mut self.block_changes, version, staged.block_changes);
        apply(&mut self.headers, version, staged.headers);
        if let Some(head) = staged.head {
            self.head.write(version, (), Some(head));
        }
        self.version = version;
    }

    fn prune(&mut self, oldest_read: u64) {
        self.accounts.prune(oldest_read);
        self.storage.prune(oldest_read);
        self.code.prune(oldest_read);
        self.account_history.prune(oldest_read);
        self.storage_history.prune(oldest_read);
        self.block_changes.prune(oldest_read);
        self.headers.prune(oldest_read);
        self.head.prune(oldest_read);
    }
}

impl StateBackend for MemoryBackend {
    fn view(&self) -> Result<Box<dyn StateView>, StateError> {
        // Registered under the tables' lock, so no commit prunes the
        // version between reading and registering it.
        let tables = self.shared.tables.read();
        let version = tables.version;
        let mut readers = self.shared.readers.lock();
        let count = readers.entry(version).or_insert(0);
        *count = count.saturating_add(1);
        drop(readers);
        drop(tables);
        Ok(Box::new(MemoryView {
            shared: Arc::clone(&self.shared),
            version,
        }))
    }

    fn write(
        &self,
        changes: &mut dyn FnMut(&mut dyn StateWrite) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        // The upgradable lock admits one writer at a time and readers
        // alongside it until the staged writes are applied.
        let tables = self.shared.tables.upgradable_read();
        let mut txn = MemoryWrite {
            tables: &tables,
            staged: Staged::default(),
        };
        changes(&mut txn)?;
        let staged = txn.staged;
        let mut tables = RwLockUpgradableReadGuard::upgrade(tables);
        let version = tables.version.saturating_add(1);
        tables.commit(staged, version);
        let oldest_read = self
            .shared
            .readers
            .lock()
            .first_key_value()
            .map_or(version, |(v, _)| (*v).min(version));
        tables.prune(oldest_read);
        Ok(())
    }
}

/// A view of one version of a [`MemoryBackend`].
struct MemoryView {
    shared: Arc<Shared>,
    version: u64,
}

impl Drop for MemoryView {
    fn drop(&mut self) {
        let mut readers = self.shared.readers.lock();
        if let Entry::Occupied(mut count) = readers.entry(self.version) {
            *count.get_mut() = count.get().saturating_sub(1);
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}

impl StateView for MemoryView {
    fn head(&self) -> Result<Option<BlockNumber>, StateError> {
        let tables = self.shared.tables.read();
        Ok(tables.head.get(&(), self.version).copied().map(BlockNumber))
    }

    fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        let tables = self.shared.tables.read();
        Ok(tables.accounts.get(address, self.version).copied())
    }

    fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        let tables = self.shared.tables.read();
        Ok(tables
            .storage
            .get(&(*address, slot), self.version)
            .copied()
            .unwrap_or_default())
    }

    fn code(&self, hash: &B256) -> Result<Option<Bytes>, StateError> {
        let tables = self.shared.tables.read();
        Ok(tables.code.get(hash, self.version).cloned())
    }

    fn header(&self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        let tables = self.shared.tables.read();
        Ok(tables.headers.get(&number.0, self.version).copied())
    }

    fn account_overwritten_after(
        &self,
        address: &Address,
        block: BlockNumber,
    ) -> Result<Option<Option<Account>>, StateError> {
        let tables = self.shared.tables.read();
        let from = (*address, block.0.saturating_add(1));
        let to = (*address, u64::MAX);
        Ok(tables
            .account_history
            .first_in(from..=to, self.version)
            .map(|(_, previous)| *previous))
    }

    fn storage_overwritten_after(
        &self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
    ) -> Result<Option<U256>, StateError> {
        let tables = self.shared.tables.read();
        let from = (*address, slot, block.0.saturating_add(1));
        let to = (*address, slot, u64::MAX);
        Ok(tables
            .storage_history
            .first_in(from..=to, self.version)
            .map(|(_, previous)| *previous))
    }

    fn for_each_account(&self, visit: &mut dyn FnMut(Address, Account)) -> Result<(), StateError> {
        let tables = self.shared.tables.read();
        for (address, account) in tables.accounts.iter_at(self.version) {
            visit(*address, *account);
        }
        Ok(())
    }

    fn for_each_slot(&self, visit: &mut dyn FnMut(Address, U256, U256)) -> Result<(), StateError> {
        let tables = self.shared.tables.read();
        for ((address, slot), value) in tables.storage.iter_at(self.version) {
            visit(*address, *slot, *value);
        }
        Ok(())
    }
}

/// A write transaction on a [`MemoryBackend`]: writes are staged and
/// applied together at the commit.
struct MemoryWrite<'a> {
    tables: &'a Tables,
    staged: Staged,
}

impl MemoryWrite<'_> {
    const fn at(&self) -> u64 {
        self.tables.version
    }
}

impl StateWrite for MemoryWrite<'_> {
    fn set_account(
        &mut self,
        address: &Address,
        account: Option<&Account>,
    ) -> Result<Option<Account>, StateError> {
        let previous = read_through(
            &self.staged.accounts,
            &self.tables.accounts,
            address,
            self.at(),
        )
        .copied();
        self.staged.accounts.insert(*address, account.copied());
        Ok(previous)
    }

    fn set_storage(
        &mut self,
        address: &Address,
        slot: U256,
        value: U256,
    ) -> Result<U256, StateError> {
        let key = (*address, slot);
        let previous = read_through(&self.staged.storage, &self.tables.storage, &key, self.at())
            .copied()
            .unwrap_or_default();
        self.staged
            .storage
            .insert(key, (!value.is_zero()).then_some(value));
        Ok(previous)
    }

    fn add_code(&mut self, hash: &B256, code: &Bytes) -> Result<(), StateError> {
        self.staged.code.insert(*hash, Some(code.clone()));
        Ok(())
    }

    fn record_account_history(
        &mut self,
        address: &Address,
        block: BlockNumber,
        previous: Option<&Account>,
    ) -> Result<(), StateError> {
        self.staged
            .account_history
            .insert((*address, block.0), Some(previous.copied()));
        Ok(())
    }

    fn take_account_history(
        &mut self,
        address: &Address,
        block: BlockNumber,
    ) -> Result<Option<Option<Account>>, StateError> {
        let key = (*address, block.0);
        let recorded = read_through(
            &self.staged.account_history,
            &self.tables.account_history,
            &key,
            self.at(),
        )
        .copied();
        self.staged.account_history.insert(key, None);
        Ok(recorded)
    }

    fn record_storage_history(
        &mut self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
        previous: U256,
    ) -> Result<(), StateError> {
        self.staged
            .storage_history
            .insert((*address, slot, block.0), Some(previous));
        Ok(())
    }

    fn take_storage_history(
        &mut self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
    ) -> Result<Option<U256>, StateError> {
        let key = (*address, slot, block.0);
        let recorded = read_through(
            &self.staged.storage_history,
            &self.tables.storage_history,
            &key,
            self.at(),
        )
        .copied();
        self.staged.storage_history.insert(key, None);
        Ok(recorded)
    }

    fn record_block(
        &mut self,
        number: BlockNumber,
        block_hash: B256,
        state_root: B256,
        changed: &[StateKey],
    ) -> Result<(), StateError> {
        self.staged
            .headers
            .insert(number.0, Some((block_hash, state_root)));
        self.staged
            .block_changes
            .insert(number.0, Some(Arc::from(changed)));
        Ok(())
    }

    fn forget_block(&mut self, number: BlockNumber) -> Result<Option<Vec<StateKey>>, StateError> {
        let changed = read_through(
            &self.staged.block_changes,
            &self.tables.block_changes,
            &number.0,
            self.at(),
        )
        .map(|keys| keys.to_vec());
        self.staged.block_changes.insert(number.0, None);
        self.staged.headers.insert(number.0, None);
        Ok(changed)
    }

    fn header(&mut self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        Ok(read_through(
            &self.staged.headers,
            &self.tables.headers,
            &number.0,
            self.at(),
        )
        .copied())
    }

    fn set_head(&mut self, number: BlockNumber) -> Result<(), StateError> {
        self.staged.head = Some(number.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(balance: u64) -> Account {
        Account::with_balance(U256::from(balance))
    }

    #[test]
    fn views_keep_their_version_and_failed_writes_change_nothing() {
        let backend = MemoryBackend::new();
        let a = Address::repeat_byte(1);
        let empty = backend.view().unwrap();
        backend
            .write(&mut |w| {
                w.set_account(&a, Some(&account(1)))?;
                w.set_head(BlockNumber(0))
            })
            .unwrap();
        let first = backend.view().unwrap();
        let failed = backend.write(&mut |w| {
            w.set_account(&a, Some(&account(2)))?;
            Err(StateError::Corrupt("abandoned".into()))
        });
        assert!(failed.is_err());
        backend
            .write(&mut |w| {
                let previous = w.set_account(&a, None)?;
                assert_eq!(previous, Some(account(1)), "the failed write left no trace");
                w.set_head(BlockNumber(1))
            })
            .unwrap();
        let second = backend.view().unwrap();
        assert_eq!(empty.account(&a).unwrap(), None);
        assert_eq!(empty.head().unwrap(), None);
        assert_eq!(first.account(&a).unwrap(), Some(account(1)));
        assert_eq!(first.head().unwrap(), Some(BlockNumber(0)));
        assert_eq!(second.account(&a).unwrap(), None);
        assert_eq!(second.head().unwrap(), Some(BlockNumber(1)));
    }

    #[test]
    fn values_no_view_reads_are_dropped() {
        let backend = MemoryBackend::new();
        let a = Address::repeat_byte(1);
        for balance in 1..=5 {
            backend
                .write(&mut |w| w.set_account(&a, Some(&account(balance))).map(drop))
                .unwrap();
        }
        let view = backend.view().unwrap();
        backend
            .write(&mut |w| w.set_account(&a, None).map(drop))
            .unwrap();
        assert_eq!(
            backend.shared.tables.read().accounts.held(),
            1,
            "held for the view"
        );
        assert_eq!(view.account(&a).unwrap(), Some(account(5)));
        drop(view);
        backend.write(&mut |_| Ok(())).unwrap();
        assert_eq!(backend.shared.tables.read().accounts.held(), 0);
        assert!(backend.shared.readers.lock().is_empty());
    }
}
