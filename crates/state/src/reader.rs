//! Reads of the state as of any committed block, for the RPC.

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;
use redb::{ReadOnlyTable, ReadableDatabase};

use crate::{
    account::Account,
    error::StateError,
    snapshot::Snapshot,
    tables::{ACCOUNT_HISTORY, STORAGE_HISTORY, account_history_key, storage_history_key},
};

/// The state as of committed block `at`: the current value unless a later
/// block changed it, in which case the value that later block overwrote.
pub struct StateReader {
    at: BlockNumber,
    head: BlockNumber,
    current: Snapshot,
    account_history: ReadOnlyTable<&'static [u8; 28], &'static [u8]>,
    storage_history: ReadOnlyTable<&'static [u8; 60], &'static [u8; 32]>,
}

impl std::fmt::Debug for StateReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateReader")
            .field("at", &self.at)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl StateReader {
    pub(crate) fn open(
        db: &redb::Database,
        at: BlockNumber,
        head: BlockNumber,
    ) -> Result<Self, StateError> {
        let txn = db.begin_read()?;
        Ok(Self {
            at,
            head,
            current: Snapshot::open(db)?,
            account_history: txn.open_table(ACCOUNT_HISTORY)?,
            storage_history: txn.open_table(STORAGE_HISTORY)?,
        })
    }

    /// The block this reader reads at.
    pub const fn block(&self) -> BlockNumber {
        self.at
    }

    /// The account at the reader's block.
    pub fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        if self.at < self.head {
            let addr = &address.0.0;
            let from = account_history_key(addr, self.at.0.saturating_add(1));
            let to = account_history_key(addr, u64::MAX);
            if let Some(entry) = self.account_history.range::<&[u8; 28]>(&from..=&to)?.next() {
                let (_, previous) = entry?;
                return match previous.value() {
                    [] => Ok(None),
                    bytes => Ok(Some(Account::decode(bytes.try_into().map_err(|_| {
                        StateError::Corrupt("account history entry".into())
                    })?))),
                };
            }
        }
        self.current.account(address)
    }

    /// Nonce at the reader's block (0 for an absent account).
    pub fn nonce(&self, address: &Address) -> Result<u64, StateError> {
        Ok(self.account(address)?.map_or(0, |a| a.nonce))
    }

    /// Balance at the reader's block.
    pub fn balance(&self, address: &Address) -> Result<U256, StateError> {
        Ok(self.account(address)?.map_or(U256::ZERO, |a| a.balance))
    }

    /// Code of the account at the reader's block (empty when none). Code
    /// that the account refers to but the store lacks is corruption.
    pub fn code(&self, address: &Address) -> Result<Bytes, StateError> {
        match self.account(address)? {
            Some(a) if a.code_hash != crate::EMPTY_CODE_HASH => self
                .current
                .code(&a.code_hash)?
                .ok_or_else(|| StateError::Corrupt(format!("no code for hash {}", a.code_hash))),
            _ => Ok(Bytes::new()),
        }
    }

    /// A storage slot at the reader's block.
    pub fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        if self.at < self.head {
            let addr = &address.0.0;
            let s = slot.to_be_bytes::<32>();
            let from = storage_history_key(addr, &s, self.at.0.saturating_add(1));
            let to = storage_history_key(addr, &s, u64::MAX);
            if let Some(entry) = self.storage_history.range::<&[u8; 60]>(&from..=&to)?.next() {
                let (_, previous) = entry?;
                return Ok(U256::from_be_bytes(*previous.value()));
            }
        }
        self.current.storage(address, slot)
    }

    /// Hash and state root of a committed block.
    pub fn header(&self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        self.current.header(number.0)
    }
}
