//! [`RedbBackend`]: the state's tables in a redb database, durable; what the
//! node uses.

use std::{path::Path, sync::Arc};

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;
use redb::{
    Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable, Table, WriteTransaction,
};

use crate::{
    account::Account,
    backend::{StateBackend, StateView, StateWrite},
    error::StateError,
    keys::StateKey,
    redb_tables::{
        ACCOUNT_HISTORY, ACCOUNTS, BLOCK_CHANGES, CODE, HEAD, HEADERS, META, STORAGE,
        STORAGE_HISTORY, account_history_key, decode_keys, encode_keys, header_value,
        storage_history_key, storage_key,
    },
};

/// The committed state in redb tables (layout in `docs/state.md`). Every
/// write transaction commits with immediate durability; a view is a redb
/// read transaction, which keeps its version's pages from being reused
/// while it lives.
#[derive(Debug)]
pub struct RedbBackend {
    db: Arc<Database>,
}

impl RedbBackend {
    /// Opens (or creates) a database file at `path` holding the state alone.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Self::new(Arc::new(Database::create(path)?))
    }

    /// The state's tables in `db`, created when missing. Other stores may
    /// share the database: their tables have other names.
    pub fn new(db: Arc<Database>) -> Result<Self, StateError> {
        let txn = db.begin_write()?;
        {
            txn.open_table(ACCOUNTS)?;
            txn.open_table(STORAGE)?;
            txn.open_table(CODE)?;
            txn.open_table(ACCOUNT_HISTORY)?;
            txn.open_table(STORAGE_HISTORY)?;
            txn.open_table(BLOCK_CHANGES)?;
            txn.open_table(HEADERS)?;
            txn.open_table(META)?;
        }
        txn.commit()?;
        Ok(Self { db })
    }
}

impl StateBackend for RedbBackend {
    fn view(&self) -> Result<Box<dyn StateView>, StateError> {
        let txn = self.db.begin_read()?;
        Ok(Box::new(RedbView {
            accounts: txn.open_table(ACCOUNTS)?,
            storage: txn.open_table(STORAGE)?,
            code: txn.open_table(CODE)?,
            account_history: txn.open_table(ACCOUNT_HISTORY)?,
            storage_history: txn.open_table(STORAGE_HISTORY)?,
            headers: txn.open_table(HEADERS)?,
            meta: txn.open_table(META)?,
        }))
    }

    fn write(
        &self,
        changes: &mut dyn FnMut(&mut dyn StateWrite) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        // On an error the transaction is dropped, which discards it.
        RedbWrite::open(&txn)?.run(changes)?;
        txn.commit()?;
        Ok(())
    }
}

/// A redb read transaction's tables.
struct RedbView {
    accounts: ReadOnlyTable<&'static [u8; 20], &'static [u8; 72]>,
    storage: ReadOnlyTable<&'static [u8; 52], &'static [u8; 32]>,
    code: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    account_history: ReadOnlyTable<&'static [u8; 28], &'static [u8]>,
    storage_history: ReadOnlyTable<&'static [u8; 60], &'static [u8; 32]>,
    headers: ReadOnlyTable<u64, &'static [u8; 64]>,
    meta: ReadOnlyTable<&'static str, u64>,
}

/// An account history value: the encoded account, or nothing when it did
/// not exist.
fn decode_history_account(bytes: &[u8]) -> Result<Option<Account>, StateError> {
    match bytes {
        [] => Ok(None),
        bytes => Ok(Some(Account::decode(bytes.try_into().map_err(|_| {
            StateError::Corrupt("account history entry".into())
        })?))),
    }
}

fn decode_header(value: &[u8; 64]) -> (B256, B256) {
    let (h, r) = value.split_at(32);
    (B256::from_slice(h), B256::from_slice(r))
}

impl StateView for RedbView {
    fn head(&self) -> Result<Option<BlockNumber>, StateError> {
        Ok(self.meta.get(HEAD)?.map(|g| BlockNumber(g.value())))
    }

    fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        Ok(self
            .accounts
            .get(&address.0.0)?
            .map(|g| Account::decode(g.value())))
    }

    fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        let key = storage_key(&address.0.0, &slot.to_be_bytes::<32>());
        Ok(self
            .storage
            .get(&key)?
            .map_or(U256::ZERO, |g| U256::from_be_bytes(*g.value())))
    }

    fn code(&self, hash: &B256) -> Result<Option<Bytes>, StateError> {
        Ok(self
            .code
            .get(&hash.0)?
            .map(|g| Bytes::copy_from_slice(g.value())))
    }

    fn header(&self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        Ok(self
            .headers
            .get(number.0)?
            .map(|g| decode_header(g.value())))
    }

    fn account_overwritten_after(
        &self,
        address: &Address,
        block: BlockNumber,
    ) -> Result<Option<Option<Account>>, StateError> {
        let addr = &address.0.0;
        let from = account_history_key(addr, block.0.saturating_add(1));
        let to = account_history_key(addr, u64::MAX);
        match self.account_history.range::<&[u8; 28]>(&from..=&to)?.next() {
            Some(entry) => Ok(Some(decode_history_account(entry?.1.value())?)),
            None => Ok(None),
        }
    }

    fn storage_overwritten_after(
        &self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
    ) -> Result<Option<U256>, StateError> {
        let addr = &address.0.0;
        let s = slot.to_be_bytes::<32>();
        let from = storage_history_key(addr, &s, block.0.saturating_add(1));
        let to = storage_history_key(addr, &s, u64::MAX);
        match self.storage_history.range::<&[u8; 60]>(&from..=&to)?.next() {
            Some(entry) => Ok(Some(U256::from_be_bytes(*entry?.1.value()))),
            None => Ok(None),
        }
    }

    fn for_each_account(&self, visit: &mut dyn FnMut(Address, Account)) -> Result<(), StateError> {
        for entry in self.accounts.iter()? {
            let (k, v) = entry?;
            visit(Address::from(*k.value()), Account::decode(v.value()));
        }
        Ok(())
    }

    fn for_each_slot(&self, visit: &mut dyn FnMut(Address, U256, U256)) -> Result<(), StateError> {
        for entry in self.storage.iter()? {
            let (k, v) = entry?;
            let (a, s) = k.value().split_at(20);
            visit(
                Address::from_slice(a),
                U256::from_be_slice(s),
                U256::from_be_bytes(*v.value()),
            );
        }
        Ok(())
    }
}

/// A redb write transaction's tables, each opened once per transaction.
struct RedbWrite<'txn> {
    accounts: Table<'txn, &'static [u8; 20], &'static [u8; 72]>,
    storage: Table<'txn, &'static [u8; 52], &'static [u8; 32]>,
    code: Table<'txn, &'static [u8; 32], &'static [u8]>,
    account_history: Table<'txn, &'static [u8; 28], &'static [u8]>,
    storage_history: Table<'txn, &'static [u8; 60], &'static [u8; 32]>,
    block_changes: Table<'txn, u64, &'static [u8]>,
    headers: Table<'txn, u64, &'static [u8; 64]>,
    meta: Table<'txn, &'static str, u64>,
}

impl<'txn> RedbWrite<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StateError> {
        Ok(Self {
            accounts: txn.open_table(ACCOUNTS)?,
            storage: txn.open_table(STORAGE)?,
            code: txn.open_table(CODE)?,
            account_history: txn.open_table(ACCOUNT_HISTORY)?,
            storage_history: txn.open_table(STORAGE_HISTORY)?,
            block_changes: txn.open_table(BLOCK_CHANGES)?,
            headers: txn.open_table(HEADERS)?,
            meta: txn.open_table(META)?,
        })
    }

    /// Runs `changes` and closes the tables, which the commit needs.
    fn run(
        mut self,
        changes: &mut dyn FnMut(&mut dyn StateWrite) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        changes(&mut self)
    }
}

impl StateWrite for RedbWrite<'_> {
    fn set_account(
        &mut self,
        address: &Address,
        account: Option<&Account>,
    ) -> Result<Option<Account>, StateError> {
        let addr = &address.0.0;
        // insert and remove return the value they replace: one lookup per key.
        let previous = match account {
            Some(acc) => self
                .accounts
                .insert(addr, &acc.encode())?
                .map(|g| *g.value()),
            None => self.accounts.remove(addr)?.map(|g| *g.value()),
        };
        Ok(previous.map(|p| Account::decode(&p)))
    }

    fn set_storage(
        &mut self,
        address: &Address,
        slot: U256,
        value: U256,
    ) -> Result<U256, StateError> {
        let k = storage_key(&address.0.0, &slot.to_be_bytes::<32>());
        let previous = if value.is_zero() {
            self.storage.remove(&k)?.map(|g| *g.value())
        } else {
            self.storage
                .insert(&k, &value.to_be_bytes::<32>())?
                .map(|g| *g.value())
        };
        Ok(previous.map_or(U256::ZERO, U256::from_be_bytes))
    }

    fn add_code(&mut self, hash: &B256, code: &Bytes) -> Result<(), StateError> {
        self.code.insert(&hash.0, code.as_ref())?;
        Ok(())
    }

    fn record_account_history(
        &mut self,
        address: &Address,
        block: BlockNumber,
        previous: Option<&Account>,
    ) -> Result<(), StateError> {
        let encoded = previous.map(Account::encode);
        let value: &[u8] = encoded.as_ref().map_or(&[], |p| p.as_slice());
        self.account_history
            .insert(&account_history_key(&address.0.0, block.0), value)?;
        Ok(())
    }

    fn take_account_history(
        &mut self,
        address: &Address,
        block: BlockNumber,
    ) -> Result<Option<Option<Account>>, StateError> {
        match self
            .account_history
            .remove(&account_history_key(&address.0.0, block.0))?
        {
            Some(g) => Ok(Some(decode_history_account(g.value())?)),
            None => Ok(None),
        }
    }

    fn record_storage_history(
        &mut self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
        previous: U256,
    ) -> Result<(), StateError> {
        let key = storage_history_key(&address.0.0, &slot.to_be_bytes::<32>(), block.0);
        self.storage_history
            .insert(&key, &previous.to_be_bytes::<32>())?;
        Ok(())
    }

    fn take_storage_history(
        &mut self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
    ) -> Result<Option<U256>, StateError> {
        let key = storage_history_key(&address.0.0, &slot.to_be_bytes::<32>(), block.0);
        Ok(self
            .storage_history
            .remove(&key)?
            .map(|g| U256::from_be_bytes(*g.value())))
    }

    fn record_block(
        &mut self,
        number: BlockNumber,
        block_hash: B256,
        state_root: B256,
        changed: &[StateKey],
    ) -> Result<(), StateError> {
        self.headers
            .insert(number.0, &header_value(&block_hash.0, &state_root.0))?;
        self.block_changes
            .insert(number.0, encode_keys(changed).as_slice())?;
        Ok(())
    }

    fn forget_block(&mut self, number: BlockNumber) -> Result<Option<Vec<StateKey>>, StateError> {
        self.headers.remove(number.0)?;
        match self.block_changes.remove(number.0)? {
            Some(g) => Ok(Some(decode_keys(g.value())?)),
            None => Ok(None),
        }
    }

    fn header(&mut self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        Ok(self
            .headers
            .get(number.0)?
            .map(|g| decode_header(g.value())))
    }

    fn set_head(&mut self, number: BlockNumber) -> Result<(), StateError> {
        self.meta.insert(HEAD, number.0)?;
        Ok(())
    }
}

macro_rules! from_redb {
    ($($ty:ty),*) => {
        $(impl From<$ty> for StateError {
            fn from(e: $ty) -> Self {
                Self::Database(e.to_string())
            }
        })*
    };
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
