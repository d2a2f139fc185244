//! Reads of the state as of any committed block, for the RPC.

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;

use crate::{account::Account, backend::StateView, error::StateError};

/// The state as of committed block `at`: the current value unless a later
/// block changed it, in which case the value that later block overwrote.
pub struct StateReader {
    at: BlockNumber,
    head: BlockNumber,
    /// The stored state: current values and history.
    stored: Box<dyn StateView>,
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
    pub(crate) fn new(stored: Box<dyn StateView>, at: BlockNumber, head: BlockNumber) -> Self {
        Self { at, head, stored }
    }

    /// The block this reader reads at.
    pub const fn block(&self) -> BlockNumber {
        self.at
    }

    /// The account at the reader's block.
    pub fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        if self.at < self.head
            && let Some(previous) = self.stored.account_overwritten_after(address, self.at)?
        {
            return Ok(previous);
        }
        self.stored.account(address)
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
                .stored
                .code(&a.code_hash)?
                .ok_or_else(|| StateError::Corrupt(format!("no code for hash {}", a.code_hash))),
            _ => Ok(Bytes::new()),
        }
    }

    /// A storage slot at the reader's block.
    pub fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        if self.at < self.head
            && let Some(previous) = self
                .stored
                .storage_overwritten_after(address, slot, self.at)?
        {
            return Ok(previous);
        }
        self.stored.storage(address, slot)
    }

    /// Hash and state root of a committed block.
    pub fn header(&self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        self.stored.header(number)
    }
}
