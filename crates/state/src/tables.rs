//! The redb tables of the state store and their key layouts.
//!
//! Big-endian block numbers at the end of history keys make a range scan from
//! `(key, n + 1)` find the first change after block `n`.

use redb::TableDefinition;

/// address -> encoded account (72 bytes); absent accounts are not stored.
pub(crate) const ACCOUNTS: TableDefinition<&[u8; 20], &[u8; 72]> = TableDefinition::new("accounts");
/// address ‖ slot -> value; zero slots are not stored.
pub(crate) const STORAGE: TableDefinition<&[u8; 52], &[u8; 32]> = TableDefinition::new("storage");
/// code hash -> code.
pub(crate) const CODE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("code");
/// address ‖ block -> the account before that block (empty when absent).
pub(crate) const ACCOUNT_HISTORY: TableDefinition<&[u8; 28], &[u8]> =
    TableDefinition::new("account_history");
/// address ‖ slot ‖ block -> the slot's value before that block.
pub(crate) const STORAGE_HISTORY: TableDefinition<&[u8; 60], &[u8; 32]> =
    TableDefinition::new("storage_history");
/// block -> the state keys the block changed.
pub(crate) const BLOCK_CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("block_changes");
/// block -> block hash ‖ state root.
pub(crate) const HEADERS: TableDefinition<u64, &[u8; 64]> = TableDefinition::new("headers");
/// "head" -> number of the last committed block.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Key of the head entry in [`META`].
pub(crate) const HEAD: &str = "head";

pub(crate) fn storage_key(address: &[u8; 20], slot: &[u8; 32]) -> [u8; 52] {
    let mut k = [0u8; 52];
    let (a, s) = k.split_at_mut(20);
    a.copy_from_slice(address);
    s.copy_from_slice(slot);
    k
}

pub(crate) fn account_history_key(address: &[u8; 20], block: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    let (a, b) = k.split_at_mut(20);
    a.copy_from_slice(address);
    b.copy_from_slice(&block.to_be_bytes());
    k
}

pub(crate) fn storage_history_key(address: &[u8; 20], slot: &[u8; 32], block: u64) -> [u8; 60] {
    let mut k = [0u8; 60];
    let (a, rest) = k.split_at_mut(20);
    let (s, b) = rest.split_at_mut(32);
    a.copy_from_slice(address);
    s.copy_from_slice(slot);
    b.copy_from_slice(&block.to_be_bytes());
    k
}

pub(crate) fn header_value(block_hash: &[u8; 32], state_root: &[u8; 32]) -> [u8; 64] {
    let mut v = [0u8; 64];
    let (h, r) = v.split_at_mut(32);
    h.copy_from_slice(block_hash);
    r.copy_from_slice(state_root);
    v
}
