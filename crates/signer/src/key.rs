//! The on-disk key of a signing record and its byte layout.
//!
//! `address (20) ‖ slot (8, big-endian) ‖ kind (1) ‖ has_index (1) ‖ index (4, big-endian)`:
//! 34 bytes, fixed width, so redb's byte order is the order of
//! `(address, slot, kind, index)` and all records of one signer, or of one
//! signer below a slot, form one contiguous range.

use alloy_primitives::Address;
use chunkseq_primitives::{BlockIndex, SignRequest, Slot, StatementKind};

use super::error::SlashingProtectionError;

/// Length of an encoded key.
pub(crate) const KEY_LEN: usize = 34;

/// What one signature is recorded under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RecordKey {
    pub(crate) address: Address,
    pub(crate) slot: Slot,
    pub(crate) kind: StatementKind,
    pub(crate) index: Option<BlockIndex>,
}

/// The one-byte code of a statement kind, in keys and in PostgreSQL.
pub(crate) const fn kind_code(kind: StatementKind) -> u8 {
    match kind {
        StatementKind::Proposal => 0,
        StatementKind::Attestation => 1,
        StatementKind::Provisional => 2,
        StatementKind::Checkpoint => 3,
    }
}

/// The kind of a code, if it is one.
pub(crate) const fn kind_from_code(code: u8) -> Option<StatementKind> {
    match code {
        0 => Some(StatementKind::Proposal),
        1 => Some(StatementKind::Attestation),
        2 => Some(StatementKind::Provisional),
        3 => Some(StatementKind::Checkpoint),
        _ => None,
    }
}

impl RecordKey {
    /// The key `signer` records `request` under.
    pub(crate) const fn of(signer: Address, request: &SignRequest) -> Self {
        Self {
            address: signer,
            slot: request.slot(),
            kind: request.kind(),
            index: request.index(),
        }
    }

    /// The smallest key of `address` at `slot`: every key of that signer at
    /// `slot` or later sorts at or after it.
    pub(crate) fn lowest(address: Address, slot: Slot) -> [u8; KEY_LEN] {
        let mut out = [0u8; KEY_LEN];
        write_prefix(&mut out, address, slot);
        out
    }

    /// The fixed-width encoding.
    pub(crate) fn encode(&self) -> [u8; KEY_LEN] {
        let mut out = [0u8; KEY_LEN];
        let rest = write_prefix(&mut out, self.address, self.slot);
        if let [kind, flag, index @ ..] = rest {
            *kind = kind_code(self.kind);
            if let Some(i) = self.index {
                *flag = 1;
                index.copy_from_slice(&i.0.to_be_bytes());
            }
        }
        out
    }

    /// Decodes a stored key, refusing layouts this version never writes.
    pub(crate) fn decode(bytes: &[u8; KEY_LEN]) -> Result<Self, SlashingProtectionError> {
        let corrupt = || SlashingProtectionError::Corrupt(format!("bad record key {bytes:02x?}"));
        let (address, rest) = bytes.split_first_chunk::<20>().ok_or_else(corrupt)?;
        let (slot, rest) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let (&[kind, flag], index) = rest.split_first_chunk::<2>().ok_or_else(corrupt)?;
        let index: &[u8; 4] = index.try_into().map_err(|_| corrupt())?;
        let kind = kind_from_code(kind).ok_or_else(corrupt)?;
        let index = match (flag, *index) {
            (0, [0, 0, 0, 0]) => None,
            (1, i) => Some(BlockIndex(u32::from_be_bytes(i))),
            _ => return Err(corrupt()),
        };
        Ok(Self {
            address: Address::from(*address),
            slot: Slot(u64::from_be_bytes(*slot)),
            kind,
            index,
        })
    }
}

/// Writes `address ‖ slot` and returns the rest of the key.
fn write_prefix(out: &mut [u8; KEY_LEN], address: Address, slot: Slot) -> &mut [u8] {
    let (a, rest) = out.split_at_mut(20);
    a.copy_from_slice(address.as_slice());
    let (s, rest) = rest.split_at_mut(8);
    s.copy_from_slice(&slot.0.to_be_bytes());
    rest
}

/// The next address in byte order, or `None` after the last one.
pub(crate) fn address_successor(address: Address) -> Option<Address> {
    let mut bytes = address.0.0;
    for byte in bytes.iter_mut().rev() {
        match byte.checked_add(1) {
            Some(b) => {
                *byte = b;
                return Some(Address::from(bytes));
            }
            None => *byte = 0,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(address: u8, slot: u64, kind: StatementKind, index: Option<u32>) -> RecordKey {
        RecordKey {
            address: Address::repeat_byte(address),
            slot: Slot(slot),
            kind,
            index: index.map(BlockIndex),
        }
    }

    #[test]
    fn encoding_roundtrips_and_sorts_like_the_tuple() {
        let mut keys = Vec::new();
        for a in [0u8, 1, 0xff] {
            for s in [0u64, 1, 255, 256, u64::MAX] {
                for k in StatementKind::ALL {
                    let indices: &[Option<u32>] = if k == StatementKind::Checkpoint {
                        &[None]
                    } else {
                        &[Some(0), Some(1), Some(256), Some(u32::MAX)]
                    };
                    for &i in indices {
                        keys.push(key(a, s, k, i));
                    }
                }
            }
        }
        for k in &keys {
            assert_eq!(RecordKey::decode(&k.encode()).unwrap(), *k);
        }
        let mut by_bytes = keys.clone();
        by_bytes.sort_by_key(RecordKey::encode);
        let mut by_tuple = keys;
        by_tuple.sort_by_key(|k| (k.address, k.slot, k.kind, k.index));
        assert_eq!(by_bytes, by_tuple);
    }

    #[test]
    fn lowest_bounds_a_signer_and_slot() {
        let k = key(7, 10, StatementKind::Proposal, Some(0));
        assert!(RecordKey::lowest(k.address, Slot(10)) <= k.encode());
        assert!(RecordKey::lowest(k.address, Slot(11)) > k.encode());
        assert!(RecordKey::lowest(Address::repeat_byte(8), Slot(0)) > k.encode());
    }

    #[test]
    fn decode_refuses_unknown_layouts() {
        let mut bad_kind = key(1, 1, StatementKind::Proposal, Some(1)).encode();
        bad_kind[28] = 4;
        assert!(RecordKey::decode(&bad_kind).is_err());
        let mut bad_flag = key(1, 1, StatementKind::Proposal, Some(1)).encode();
        bad_flag[29] = 2;
        assert!(RecordKey::decode(&bad_flag).is_err());
        let mut junk_index = key(1, 1, StatementKind::Checkpoint, None).encode();
        junk_index[33] = 1;
        assert!(RecordKey::decode(&junk_index).is_err());
    }

    #[test]
    fn successor_carries() {
        let mut a = [0u8; 20];
        a[19] = 0xff;
        let mut b = [0u8; 20];
        b[18] = 1;
        assert_eq!(address_successor(Address::from(a)), Some(Address::from(b)));
        assert_eq!(address_successor(Address::repeat_byte(0xff)), None);
    }
}
