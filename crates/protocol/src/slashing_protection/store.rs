//! `SlashingProtectionStore`: the durable record of every digest a signer
//! has agreed to sign, keyed by `(address, kind, slot, index)`.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{BlockIndex, SignRequest, Slot, StatementKind};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    backends::InMemoryBackend,
};
use tracing::{debug, info};

use super::{
    error::SlashingProtectionError,
    key::{KEY_LEN, RecordKey, address_successor},
};

/// key (see [`super::key`]) -> signed digest.
pub(crate) const RECORDS: TableDefinition<&[u8; KEY_LEN], &[u8; 32]> =
    TableDefinition::new("signed");
/// Metadata of the store itself.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Key of the schema version in [`META`].
const SCHEMA_KEY: &str = "schema_version";
/// The layout this version writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// What [`SlashingProtectionStore::check_and_record`] decided: in both cases
/// the caller may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing was recorded for the key; the digest is now recorded and the
    /// record is committed (durably, for a file store).
    Fresh,
    /// The same digest was recorded before: signing it again is harmless.
    Repeat,
}

/// One signature a signer agreed to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedRecord {
    /// Kind of statement.
    pub kind: StatementKind,
    /// Slot.
    pub slot: Slot,
    /// Block index; `None` for checkpoints.
    pub index: Option<BlockIndex>,
    /// The EIP-712 digest.
    pub digest: B256,
}

/// The durable record `(signer, kind, slot, index) -> digest` that stands
/// between the protocol and its keys (DESIGN.md section 8).
///
/// Every check and insertion is one redb write transaction, and redb admits
/// one write transaction at a time, so of two concurrent requests for one key
/// with different digests exactly one is recorded; the other sees it and is
/// refused. Commits use redb's default durability: the record is on disk
/// (fsync) before [`Self::check_and_record`] returns [`Decision::Fresh`].
///
/// One process opens a file store at a time (redb locks the file); threads
/// share it through an `Arc`.
pub struct SlashingProtectionStore {
    pub(crate) db: Database,
    location: Option<PathBuf>,
}

impl std::fmt::Debug for SlashingProtectionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlashingProtectionStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SlashingProtectionStore {
    /// Opens (or creates) the store in the file at `path`.
    pub fn open(path: &Path) -> Result<Self, SlashingProtectionError> {
        let db = Database::create(path).map_err(|e| {
            SlashingProtectionError::Database(format!("cannot open {}: {e}", path.display()))
        })?;
        let store = Self::init(db, Some(path.to_path_buf()))?;
        info!(
            target: "chunkseq::slashing_protection",
            path = %path.display(),
            records = store.len()?,
            "opened slashing protection store"
        );
        Ok(store)
    }

    /// A store in memory, for tests and the simulator: it forgets everything
    /// when dropped.
    pub fn in_memory() -> Result<Self, SlashingProtectionError> {
        let db = Database::builder().create_with_backend(InMemoryBackend::new())?;
        Self::init(db, None)
    }

    /// Creates the tables of a new store and checks the schema of an old one.
    fn init(db: Database, location: Option<PathBuf>) -> Result<Self, SlashingProtectionError> {
        let txn = db.begin_write()?;
        {
            txn.open_table(RECORDS)?;
            let mut meta = txn.open_table(META)?;
            let version = meta.get(SCHEMA_KEY)?.map(|g| g.value());
            match version {
                None => {
                    meta.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(other) => {
                    return Err(SlashingProtectionError::Corrupt(format!(
                        "schema version {other}, this version reads {SCHEMA_VERSION}"
                    )));
                }
            }
        }
        txn.commit()?;
        Ok(Self { db, location })
    }

    /// Where the store lives; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.location.as_deref()
    }

    /// Records that `signer` is about to sign `request`, unless a different
    /// digest is recorded for the same key.
    ///
    /// Returns [`Decision::Fresh`] once the new record is committed,
    /// [`Decision::Repeat`] when the same digest is already recorded, and
    /// [`SlashingProtectionError::Conflict`] (recording nothing) when another
    /// digest is.
    pub fn check_and_record(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Decision, SlashingProtectionError> {
        let key = RecordKey::of(signer, request);
        let encoded = key.encode();
        let requested = request.digest();
        let txn = self.db.begin_write()?;
        let recorded = {
            let mut table = txn.open_table(RECORDS)?;
            let recorded = table.get(&encoded)?.map(|g| B256::from(*g.value()));
            if recorded.is_none() {
                table.insert(&encoded, &requested.0)?;
            }
            recorded
        };
        match recorded {
            None => {
                txn.commit()?;
                debug!(
                    target: "chunkseq::slashing_protection",
                    %signer, kind = key.kind.name(), slot = key.slot.0,
                    index = ?key.index.map(|i| i.0), digest = %requested,
                    "recorded"
                );
                Ok(Decision::Fresh)
            }
            Some(recorded) => {
                txn.abort()?;
                if recorded == requested {
                    Ok(Decision::Repeat)
                } else {
                    Err(SlashingProtectionError::Conflict {
                        address: signer,
                        kind: key.kind,
                        slot: key.slot,
                        index: key.index,
                        recorded,
                        requested,
                    })
                }
            }
        }
    }

    /// The digest recorded for a key, if any.
    pub fn get(
        &self,
        signer: Address,
        kind: StatementKind,
        slot: Slot,
        index: Option<BlockIndex>,
    ) -> Result<Option<B256>, SlashingProtectionError> {
        let key = RecordKey {
            address: signer,
            slot,
            kind,
            index,
        };
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let digest = table.get(&key.encode())?.map(|g| B256::from(*g.value()));
        Ok(digest)
    }

    /// Every record of `signer`, by slot, then kind, then index.
    pub fn records(&self, signer: Address) -> Result<Vec<SignedRecord>, SlashingProtectionError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let from = RecordKey::lowest(signer, Slot(0));
        let mut out = Vec::new();
        let range = match address_successor(signer) {
            Some(next) => {
                table.range::<&[u8; KEY_LEN]>(&from..&RecordKey::lowest(next, Slot(0)))?
            }
            None => table.range::<&[u8; KEY_LEN]>(&from..)?,
        };
        for entry in range {
            let (k, v) = entry?;
            let key = RecordKey::decode(k.value())?;
            out.push(SignedRecord {
                kind: key.kind,
                slot: key.slot,
                index: key.index,
                digest: B256::from(*v.value()),
            });
        }
        Ok(out)
    }

    /// Every record of every signer, by signer, then slot, kind and index.
    pub fn all_records(&self) -> Result<Vec<(Address, SignedRecord)>, SlashingProtectionError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let key = RecordKey::decode(k.value())?;
            out.push((
                key.address,
                SignedRecord {
                    kind: key.kind,
                    slot: key.slot,
                    index: key.index,
                    digest: B256::from(*v.value()),
                },
            ));
        }
        Ok(out)
    }

    /// Number of records.
    pub fn len(&self) -> Result<u64, SlashingProtectionError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(RECORDS)?.len()?)
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> Result<bool, SlashingProtectionError> {
        Ok(self.len()? == 0)
    }

    /// Removes the records of every signer for slots before `slot`, in one
    /// committed transaction, and returns how many were removed.
    ///
    /// Only prune slots that can no longer be signed for: once their records
    /// are gone, nothing stops a second signature for them.
    pub fn prune_below(&self, slot: Slot) -> Result<u64, SlashingProtectionError> {
        let txn = self.db.begin_write()?;
        let mut removed = 0u64;
        {
            let mut table = txn.open_table(RECORDS)?;
            // Visit one signer at a time: its records below `slot` are one range.
            let mut next = Some(Address::ZERO);
            while let Some(from) = next {
                let lowest = RecordKey::lowest(from, Slot(0));
                let first = match table.range::<&[u8; KEY_LEN]>(&lowest..)?.next() {
                    None => break,
                    Some(entry) => RecordKey::decode(entry?.0.value())?.address,
                };
                let lo = RecordKey::lowest(first, Slot(0));
                let hi = RecordKey::lowest(first, slot);
                table.retain_in::<&[u8; KEY_LEN], _>(&lo..&hi, |_, _| {
                    removed = removed.saturating_add(1);
                    false
                })?;
                next = address_successor(first);
            }
        }
        txn.commit()?;
        info!(
            target: "chunkseq::slashing_protection",
            below = slot.0, removed, "pruned slashing protection records"
        );
        Ok(removed)
    }
}
