//! `SlashingProtectionStore`: the durable record of every digest a signer
//! has agreed to sign, keyed by `(address, kind, slot, index)`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

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
const META: TableDefinition<&str, u64> = TableDefinition::new("slashing_meta");
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
/// between the protocol and its keys (docs/design.md section 8).
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
    pub(crate) db: Arc<Database>,
    location: Option<PathBuf>,
}

impl std::fmt::Debug for SlashingProtectionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlashingProtectionStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl crate::protection::ProtectionStore for SlashingProtectionStore {
    fn check_and_record(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Decision, SlashingProtectionError> {
        Self::check_and_record(self, signer, request)
    }

    fn all_records(&self) -> Result<Vec<(Address, SignedRecord)>, SlashingProtectionError> {
        Self::all_records(self)
    }

    fn import_records(
        &self,
        records: &[(Address, SignedRecord)],
    ) -> Result<crate::interchange::ImportSummary, SlashingProtectionError> {
        self.import_redb(records)
    }

    fn recorded(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Option<B256>, SlashingProtectionError> {
        self.get(signer, request.kind(), request.slot(), request.index())
    }

    /// One process holds a redb file (redb locks it), so no other node can
    /// share this store's key: its node always holds the lease.
    fn lease_build(
        &self,
        _signer: Address,
        _slot: chunkseq_primitives::Slot,
        _node: &str,
        _from: chunkseq_primitives::BlockIndex,
        _now: chunkseq_primitives::UnixMillis,
        _lease_ms: u64,
    ) -> Result<chunkseq_primitives::BuildLease, SlashingProtectionError> {
        Ok(chunkseq_primitives::BuildLease::Held)
    }

    fn location(&self) -> String {
        self.location.as_ref().map_or_else(
            || "redb in memory".to_owned(),
            |p| format!("redb file {}", p.display()),
        )
    }
}

impl SlashingProtectionStore {
    /// Opens (or creates) the store in the file at `path`.
    pub fn open(path: &Path) -> Result<Self, SlashingProtectionError> {
        let db = Database::create(path).map_err(|e| {
            SlashingProtectionError::Database(format!("cannot open {}: {e}", path.display()))
        })?;
        let store = Self::init(Arc::new(db), Some(path.to_path_buf()))?;
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
        Self::with_backend(InMemoryBackend::new())
    }

    /// A store on any redb storage backend (tests inject failing ones).
    pub(crate) fn with_backend(
        backend: impl redb::StorageBackend,
    ) -> Result<Self, SlashingProtectionError> {
        let db = Database::builder().create_with_backend(backend)?;
        Self::init(Arc::new(db), None)
    }

    /// Opens (or creates) the store in `db`, a database other stores of the
    /// node share; `location` names its file in logs and errors.
    pub fn open_in(
        db: Arc<Database>,
        location: Option<PathBuf>,
    ) -> Result<Self, SlashingProtectionError> {
        Self::init(db, location)
    }

    /// Creates the tables of a new store and checks the schema of an old one.
    fn init(db: Arc<Database>, location: Option<PathBuf>) -> Result<Self, SlashingProtectionError> {
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier, atomic::Ordering};

    use super::*;
    use crate::test_support::{FailingBackend, request};

    const ALICE: Address = Address::repeat_byte(0x01);
    const BOB: Address = Address::repeat_byte(0x02);

    fn assert_conflict(
        result: &Result<Decision, SlashingProtectionError>,
        expected_recorded: &SignRequest,
        expected_requested: &SignRequest,
        signer: Address,
    ) {
        match result {
            Err(SlashingProtectionError::Conflict {
                address,
                kind,
                slot,
                index,
                recorded,
                requested,
            }) => {
                assert_eq!(*address, signer);
                assert_eq!(*kind, expected_requested.kind());
                assert_eq!(*slot, expected_requested.slot());
                assert_eq!(*index, expected_requested.index());
                assert_eq!(*recorded, expected_recorded.digest());
                assert_eq!(*requested, expected_requested.digest());
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn fresh_then_repeat_then_conflict_for_every_kind() {
        let store = SlashingProtectionStore::in_memory().unwrap();
        for kind in StatementKind::ALL {
            let first = request(kind, 7, 1, 0xa1);
            let other = request(kind, 7, 1, 0xb2);
            assert_ne!(first.digest(), other.digest());
            assert_eq!(
                store.check_and_record(ALICE, &first).unwrap(),
                Decision::Fresh
            );
            assert_eq!(
                store.check_and_record(ALICE, &first).unwrap(),
                Decision::Repeat
            );
            assert_conflict(
                &store.check_and_record(ALICE, &other),
                &first,
                &other,
                ALICE,
            );
            // The refusal recorded nothing: the first digest stays, and stays signable.
            assert_eq!(
                store.get(ALICE, kind, first.slot(), first.index()).unwrap(),
                Some(first.digest())
            );
            assert_eq!(
                store.check_and_record(ALICE, &first).unwrap(),
                Decision::Repeat
            );
        }
        assert_eq!(store.len().unwrap(), 4);
    }

    #[test]
    fn every_part_of_the_key_separates_records() {
        let store = SlashingProtectionStore::in_memory().unwrap();
        let base = request(StatementKind::Proposal, 5, 0, 1);
        assert_eq!(
            store.check_and_record(ALICE, &base).unwrap(),
            Decision::Fresh
        );
        // Each differs from `base` in one part of the key and carries another payload.
        let others = [
            (ALICE, request(StatementKind::Attestation, 5, 0, 2)),
            (ALICE, request(StatementKind::Provisional, 5, 0, 2)),
            (ALICE, request(StatementKind::Proposal, 5, 1, 2)),
            (ALICE, request(StatementKind::Proposal, 6, 0, 2)),
            (BOB, request(StatementKind::Proposal, 5, 0, 2)),
        ];
        for (signer, r) in &others {
            assert_eq!(
                store.check_and_record(*signer, r).unwrap(),
                Decision::Fresh,
                "{signer} {r:?}"
            );
        }
        assert_eq!(store.len().unwrap(), 6);
    }

    #[test]
    fn records_survive_a_restart_and_still_refuse_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slashing-protection.redb");
        let signed: Vec<SignRequest> = StatementKind::ALL
            .iter()
            .map(|&k| request(k, 3, 0, 0x10))
            .collect();
        {
            let store = SlashingProtectionStore::open(&path).unwrap();
            assert!(store.is_empty().unwrap());
            for r in &signed {
                assert_eq!(store.check_and_record(ALICE, r).unwrap(), Decision::Fresh);
            }
            assert_eq!(store.path(), Some(path.as_path()));
        }
        let store = SlashingProtectionStore::open(&path).unwrap();
        assert_eq!(store.len().unwrap(), 4);
        for r in &signed {
            assert_eq!(store.check_and_record(ALICE, r).unwrap(), Decision::Repeat);
            let other = request(r.kind(), 3, 0, 0x20);
            assert_conflict(&store.check_and_record(ALICE, &other), r, &other, ALICE);
        }
        assert_eq!(store.len().unwrap(), 4);
    }

    #[test]
    fn a_file_store_is_open_in_one_place_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.redb");
        let _first = SlashingProtectionStore::open(&path).unwrap();
        let second = SlashingProtectionStore::open(&path);
        assert!(
            matches!(second, Err(SlashingProtectionError::Database(_))),
            "{second:?}"
        );
    }

    #[test]
    fn an_unknown_schema_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(SCHEMA_KEY, SCHEMA_VERSION + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = SlashingProtectionStore::open(&path).unwrap_err();
        assert!(matches!(err, SlashingProtectionError::Corrupt(_)), "{err}");
    }

    #[test]
    fn records_lists_one_signer_in_key_order() {
        let store = SlashingProtectionStore::in_memory().unwrap();
        let edge = Address::repeat_byte(0xff);
        let zero = Address::ZERO;
        let mut expected = Vec::new();
        for slot in [9u64, 2, 4] {
            for kind in [StatementKind::Checkpoint, StatementKind::Proposal] {
                let r = request(kind, slot, 1, slot as u8);
                for signer in [ALICE, BOB, edge, zero] {
                    store.check_and_record(signer, &r).unwrap();
                }
                expected.push(SignedRecord {
                    kind,
                    slot: r.slot(),
                    index: r.index(),
                    digest: r.digest(),
                });
            }
        }
        expected.sort_by_key(|r| (r.slot, r.kind, r.index));
        for signer in [ALICE, BOB, edge, zero] {
            assert_eq!(store.records(signer).unwrap(), expected, "{signer}");
        }
        assert!(
            store
                .records(Address::repeat_byte(0x03))
                .unwrap()
                .is_empty()
        );
        let all = store.all_records().unwrap();
        assert_eq!(all.len(), 24);
        let signers: Vec<Address> = all.iter().map(|(a, _)| *a).collect();
        let mut sorted = signers.clone();
        sorted.sort();
        assert_eq!(signers, sorted);
    }

    #[test]
    fn prune_removes_exactly_the_older_slots_of_every_signer() {
        let store = SlashingProtectionStore::in_memory().unwrap();
        let signers = [Address::ZERO, ALICE, BOB, Address::repeat_byte(0xff)];
        for signer in signers {
            for slot in 0..20u64 {
                for kind in StatementKind::ALL {
                    store
                        .check_and_record(signer, &request(kind, slot, 0, 1))
                        .unwrap();
                }
            }
        }
        assert_eq!(store.len().unwrap(), 4 * 20 * 4);
        assert_eq!(store.prune_below(Slot(0)).unwrap(), 0);
        assert_eq!(store.prune_below(Slot(12)).unwrap(), 4 * 12 * 4);
        assert_eq!(store.len().unwrap(), 4 * 8 * 4);
        for signer in signers {
            let records = store.records(signer).unwrap();
            assert_eq!(records.len(), 8 * 4);
            assert!(records.iter().all(|r| r.slot >= Slot(12)));
        }
        // Pruning again at the same slot finds nothing; a later slot finds the rest.
        assert_eq!(store.prune_below(Slot(12)).unwrap(), 0);
        assert_eq!(store.prune_below(Slot(u64::MAX)).unwrap(), 4 * 8 * 4);
        assert!(store.is_empty().unwrap());
    }

    /// N threads race to sign N different digests for one key: exactly one
    /// is recorded, and every other thread is told about that one.
    fn race(store: Arc<SlashingProtectionStore>) {
        const N: usize = 8;
        for kind in StatementKind::ALL {
            let barrier = Arc::new(Barrier::new(N));
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let store = Arc::clone(&store);
                    let barrier = Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        let r = request(kind, 42, 3, i as u8 + 1);
                        barrier.wait();
                        (r, store.check_and_record(ALICE, &r))
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let winners: Vec<&SignRequest> = results
                .iter()
                .filter(|(_, res)| matches!(res, Ok(Decision::Fresh)))
                .map(|(r, _)| r)
                .collect();
            assert_eq!(winners.len(), 1, "{kind:?}: {results:?}");
            let winner = winners[0];
            for (r, res) in &results {
                if r != winner {
                    assert_conflict(res, winner, r, ALICE);
                }
            }
            assert_eq!(
                store
                    .get(ALICE, kind, winner.slot(), winner.index())
                    .unwrap(),
                Some(winner.digest())
            );
        }
    }

    #[test]
    fn concurrent_conflicting_requests_in_memory_record_exactly_one() {
        race(Arc::new(SlashingProtectionStore::in_memory().unwrap()));
    }

    #[test]
    fn concurrent_conflicting_requests_on_disk_record_exactly_one() {
        let dir = tempfile::tempdir().unwrap();
        race(Arc::new(
            SlashingProtectionStore::open(&dir.path().join("sp.redb")).unwrap(),
        ));
    }

    #[test]
    fn a_failing_disk_is_an_error_never_a_decision() {
        let backend = FailingBackend::default();
        let fail = Arc::clone(&backend.fail);
        let store = SlashingProtectionStore::with_backend(backend).unwrap();
        fail.store(true, Ordering::SeqCst);
        let r = request(StatementKind::Proposal, 1, 0, 1);
        let err = store.check_and_record(ALICE, &r).unwrap_err();
        assert!(matches!(err, SlashingProtectionError::Database(_)), "{err}");
    }
}
