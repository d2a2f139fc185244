//! The storage a [`crate::StateDb`] keeps its committed state in, as a trait:
//! consistent read-only versions and atomic write transactions over the
//! state's tables.
//!
//! The tables are the ones `docs/state.md` describes: current accounts,
//! storage and code; the value each block overwrote (history, keyed by state
//! key and block number); each block's list of changed keys and its header;
//! the head. What to write at a commit or an unwind is decided by
//! `StateDb`; a backend only stores it. Two backends exist:
//! [`crate::MemoryBackend`] (ordered maps in memory) and, with the `redb`
//! feature, `RedbBackend` (a redb database, durable).

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;

use crate::{account::Account, error::StateError, keys::StateKey};

/// A store for the committed state.
///
/// Implementations must give snapshot isolation: a [`StateView`] sees the
/// state as of the moment it was taken, whatever is written later, for as
/// long as it lives.
pub trait StateBackend: Send + Sync {
    /// A read-only view of the last committed transaction.
    fn view(&self) -> Result<Box<dyn StateView>, StateError>;

    /// Runs `changes` in one write transaction. When `changes` returns
    /// `Ok`, all of its writes are committed together (durably, for a
    /// persistent backend) and views taken afterwards see them; when it
    /// returns an error, or the commit fails, none of them is. Write
    /// transactions run one at a time.
    fn write(
        &self,
        changes: &mut dyn FnMut(&mut dyn StateWrite) -> Result<(), StateError>,
    ) -> Result<(), StateError>;
}

/// One consistent, read-only version of the stored state.
pub trait StateView: Send + Sync {
    /// The number of the last committed block, `None` before genesis.
    fn head(&self) -> Result<Option<BlockNumber>, StateError>;

    /// An account; `None` when it is not stored (absent or empty).
    fn account(&self, address: &Address) -> Result<Option<Account>, StateError>;

    /// A storage slot; zero when it is not stored.
    fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError>;

    /// Code by its hash.
    fn code(&self, hash: &B256) -> Result<Option<Bytes>, StateError>;

    /// Block hash and state root of a committed block.
    fn header(&self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError>;

    /// The account as it was before the first committed block above
    /// `block` that changed it (`Some(None)`: it did not exist then), or
    /// `None` when no block above `block` changed it.
    fn account_overwritten_after(
        &self,
        address: &Address,
        block: BlockNumber,
    ) -> Result<Option<Option<Account>>, StateError>;

    /// The slot's value before the first committed block above `block` that
    /// changed it, or `None` when no block above `block` changed it.
    fn storage_overwritten_after(
        &self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
    ) -> Result<Option<U256>, StateError>;

    /// Calls `visit` with every stored account.
    fn for_each_account(&self, visit: &mut dyn FnMut(Address, Account)) -> Result<(), StateError>;

    /// Calls `visit` with every stored (non-zero) slot: address, slot, value.
    fn for_each_slot(&self, visit: &mut dyn FnMut(Address, U256, U256)) -> Result<(), StateError>;
}

/// The writes of one transaction ([`StateBackend::write`]). Reads through
/// it see the transaction's own earlier writes.
pub trait StateWrite {
    /// Stores `account` at `address` (`None` deletes it) and returns the
    /// account it replaced.
    fn set_account(
        &mut self,
        address: &Address,
        account: Option<&Account>,
    ) -> Result<Option<Account>, StateError>;

    /// Stores a slot's value (zero deletes it) and returns the value it
    /// replaced.
    fn set_storage(
        &mut self,
        address: &Address,
        slot: U256,
        value: U256,
    ) -> Result<U256, StateError>;

    /// Stores code under its hash.
    fn add_code(&mut self, hash: &B256, code: &Bytes) -> Result<(), StateError>;

    /// Records the account as it was before `block` changed it.
    fn record_account_history(
        &mut self,
        address: &Address,
        block: BlockNumber,
        previous: Option<&Account>,
    ) -> Result<(), StateError>;

    /// Removes and returns what [`Self::record_account_history`] recorded
    /// for `block`, `None` when nothing was.
    fn take_account_history(
        &mut self,
        address: &Address,
        block: BlockNumber,
    ) -> Result<Option<Option<Account>>, StateError>;

    /// Records the slot's value before `block` changed it.
    fn record_storage_history(
        &mut self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
        previous: U256,
    ) -> Result<(), StateError>;

    /// Removes and returns what [`Self::record_storage_history`] recorded
    /// for `block`, `None` when nothing was.
    fn take_storage_history(
        &mut self,
        address: &Address,
        slot: U256,
        block: BlockNumber,
    ) -> Result<Option<U256>, StateError>;

    /// Records a committed block: its header and the keys it changed.
    fn record_block(
        &mut self,
        number: BlockNumber,
        block_hash: B256,
        state_root: B256,
        changed: &[StateKey],
    ) -> Result<(), StateError>;

    /// Forgets a block's header and returns the keys it changed, `None`
    /// when the block was not recorded.
    fn forget_block(&mut self, number: BlockNumber) -> Result<Option<Vec<StateKey>>, StateError>;

    /// Block hash and state root of a recorded block.
    fn header(&mut self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError>;

    /// Sets the last committed block.
    fn set_head(&mut self, number: BlockNumber) -> Result<(), StateError>;
}
