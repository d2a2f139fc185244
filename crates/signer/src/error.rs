//! Errors of slashing protection: refusals, store failures and rejected
//! interchange files.

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{BlockIndex, Slot, StatementKind};
use thiserror::Error;

/// A signing key `(address, kind, slot, index)` written the way an operator
/// reads it in a message.
pub(crate) struct KeyDisplay<'a> {
    pub(crate) address: &'a Address,
    pub(crate) kind: StatementKind,
    pub(crate) slot: Slot,
    pub(crate) index: Option<BlockIndex>,
}

impl std::fmt::Display for KeyDisplay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by {} at {}",
            self.kind.name(),
            self.address,
            self.slot
        )?;
        if let Some(index) = self.index {
            write!(f, " {index}")?;
        }
        Ok(())
    }
}

/// One record of an interchange file that disagrees with what the store
/// holds for the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportConflict {
    /// Signer.
    pub address: Address,
    /// Kind of statement.
    pub kind: StatementKind,
    /// Slot.
    pub slot: Slot,
    /// Block index (`None` for checkpoints).
    pub index: Option<BlockIndex>,
    /// Digest the store holds.
    pub recorded: B256,
    /// Digest the file holds.
    pub imported: B256,
}

impl std::fmt::Display for ImportConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = KeyDisplay {
            address: &self.address,
            kind: self.kind,
            slot: self.slot,
            index: self.index,
        };
        write!(
            f,
            "{key}: the store holds {} but the file says {}",
            self.recorded, self.imported
        )
    }
}

/// Why slashing protection refused or failed. Whatever the error, nothing
/// was written and, through [`super::ProtectedSigner`], nothing was signed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SlashingProtectionError {
    /// A different digest is already recorded for this key: signing the new
    /// one would be an equivocation.
    #[error(
        "refusing to sign: {key} already has {recorded} recorded, {requested} requested",
        key = KeyDisplay { address, kind: *kind, slot: *slot, index: *index }
    )]
    Conflict {
        /// Signer.
        address: Address,
        /// Kind of statement.
        kind: StatementKind,
        /// Slot.
        slot: Slot,
        /// Block index (`None` for checkpoints).
        index: Option<BlockIndex>,
        /// The digest signed before.
        recorded: B256,
        /// The digest asked for now.
        requested: B256,
    },
    /// The database failed (I/O, lock held by another process, ...).
    #[error("slashing protection database: {0}")]
    Database(String),
    /// The database holds something this version cannot read.
    #[error("slashing protection database is corrupt or from an unknown version: {0}")]
    Corrupt(String),
    /// An interchange file is unusable; the store was not changed.
    #[error("slashing protection interchange refused, nothing was imported: {0}")]
    Interchange(#[from] InterchangeError),
    /// An interchange file contradicts the store; the store was not changed.
    #[error(
        "slashing protection import refused, nothing was imported: {} record(s) conflict with the store: {}",
        .0.len(),
        list_conflicts(.0)
    )]
    ImportConflicts(Vec<ImportConflict>),
}

/// How many conflicts an error message spells out.
const CONFLICTS_SHOWN: usize = 5;

/// The first [`CONFLICTS_SHOWN`] conflicts, then how many more there are.
fn list_conflicts(conflicts: &[ImportConflict]) -> String {
    let mut out = conflicts
        .iter()
        .take(CONFLICTS_SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(more) = conflicts.len().checked_sub(CONFLICTS_SHOWN)
        && more > 0
    {
        out.push_str(&format!("; and {more} more"));
    }
    out
}

macro_rules! from_redb {
    ($($ty:ty),*) => {
        $(impl From<$ty> for SlashingProtectionError {
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
    redb::CommitError
);

/// Why an interchange file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InterchangeError {
    /// Larger than [`super::MAX_INTERCHANGE_BYTES`]; not parsed.
    #[error("the file is larger than the limit of {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// Not JSON of the expected shape.
    #[error("malformed interchange JSON: {0}")]
    Malformed(String),
    /// `interchange_format` is not ours.
    #[error("unknown interchange_format {found:?}, expected {expected:?}")]
    UnknownFormat {
        /// What the file says.
        found: String,
        /// What this version reads.
        expected: &'static str,
    },
    /// `interchange_format_version` is not one this version reads.
    #[error("unsupported interchange_format_version {found:?}, this node reads {expected:?}")]
    UnsupportedVersion {
        /// What the file says.
        found: String,
        /// What this version reads.
        expected: &'static str,
    },
    /// The file was written for another chain or rollup contract.
    #[error(
        "the file is for EIP-712 domain separator {found}, but this node signs under {expected} (another L1 chain or rollup contract)"
    )]
    WrongDomain {
        /// The separator of this node's domain.
        expected: B256,
        /// The separator the file names.
        found: B256,
    },
    /// A record is not valid on its own (index present or missing).
    #[error("invalid record #{position} of {address}: {reason}")]
    InvalidRecord {
        /// Signer.
        address: Address,
        /// Position of the record in its signer's `signed` list (from 0).
        position: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file holds two different digests for one key.
    #[error(
        "the file contradicts itself: {key} has both {first} and {second}",
        key = KeyDisplay { address, kind: *kind, slot: *slot, index: *index }
    )]
    SelfConflict {
        /// Signer.
        address: Address,
        /// Kind of statement.
        kind: StatementKind,
        /// Slot.
        slot: Slot,
        /// Block index.
        index: Option<BlockIndex>,
        /// The first digest.
        first: B256,
        /// The other digest.
        second: B256,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_conflicts_spell_out_the_first_five() {
        let conflict = |slot| ImportConflict {
            address: Address::repeat_byte(1),
            kind: StatementKind::Attestation,
            slot: Slot(slot),
            index: Some(BlockIndex(0)),
            recorded: B256::repeat_byte(1),
            imported: B256::repeat_byte(2),
        };
        let one = SlashingProtectionError::ImportConflicts(vec![conflict(1)]).to_string();
        assert!(
            one.contains("1 record(s)") && one.contains("slot 1 index 0"),
            "{one}"
        );
        assert!(!one.contains("more"), "{one}");
        let many = SlashingProtectionError::ImportConflicts((0..7).map(conflict).collect());
        let m = many.to_string();
        assert!(
            m.contains("7 record(s)") && m.contains("slot 4 ") && m.contains("and 2 more"),
            "{m}"
        );
        assert!(!m.contains("slot 5 "), "{m}");
    }
}
