//! The redb tables of the state store, their key layouts and the encoding
//! of a block's change list.
//!
//! Big-endian block numbers at the end of history keys make a range scan from
//! `(key, n + 1)` find the first change after block `n`.

use alloy_primitives::{Address, U256, map::HashSet};
use redb::TableDefinition;

use crate::{error::StateError, keys::StateKey};

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
}
