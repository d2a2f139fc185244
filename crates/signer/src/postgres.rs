//! [`PostgresProtectionStore`]: slashing protection in PostgreSQL, shared by
//! the two nodes of a validator pair.
//!
//! "Record, then sign" is one statement: `INSERT ... ON CONFLICT DO NOTHING`
//! on the primary key `(signer, slot, kind, block_index)`. Of two nodes
//! racing on one duty, PostgreSQL lets exactly one insert; the other's
//! insert waits for it, then does nothing, and a second statement reads the
//! winner's digest: the same digest is a repeat (harmless), another is a
//! conflict. A commit returns after the record is durable
//! (`synchronous_commit` on, PostgreSQL's default).
//!
//! **Fail closed.** Every connection is made with a connect timeout and runs
//! with `statement_timeout` and `lock_timeout`, and the pool waits at most
//! that long for a connection. When the database is unreachable or slow
//! past the bound, [`ProtectionStore::check_and_record`] fails, so the
//! protected signer signs nothing; the first call that reaches the
//! database again succeeds. Nothing falls back to a local store.
//!
//! **Build leases.** A pair divides its proposer slots through
//! `chunkseq_build_lease`, one row per `(signer, slot)`: the node holding
//! it, the block it took the slot from, and when it last renewed (on the
//! pair's slot clock). Taking, renewing or taking over is one
//! `INSERT ... ON CONFLICT DO UPDATE ... WHERE` statement, so of two nodes
//! racing exactly one gets the row. The lease only divides the work; the
//! signature records keep the key safe whoever holds it.
//!
//! **Schema.** Created at first contact, under an advisory lock so two
//! nodes starting together do not race: the tables `chunkseq_signed` and
//! `chunkseq_build_lease` and a version row in `chunkseq_protection_schema`
//! ([`PG_SCHEMA_VERSION`]). A version 1 database (no leases) is upgraded in
//! place; a database at a newer version is refused.
//!
//! **TLS.** The URL takes libpq's parameters; `sslmode=require` is refused
//! with a clear error because this build links no TLS library (put the
//! database on the validators' private network, or a TLS tunnel).

use std::{sync::OnceLock, time::Duration};

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{BlockIndex, BuildLease, SignRequest, Slot, StatementKind, UnixMillis};
use parking_lot::Mutex;
use postgres::{NoTls, config::SslMode};
use r2d2_postgres::PostgresConnectionManager;
use tracing::{debug, info};

use crate::{
    error::{ImportConflict, SlashingProtectionError},
    interchange::ImportSummary,
    key,
    protection::ProtectionStore,
    store::{Decision, SignedRecord},
};

/// The schema version this build writes and reads.
pub const PG_SCHEMA_VERSION: i32 = 2;
/// Default bound on connecting, waiting for a pooled connection and on
/// each statement.
pub const DEFAULT_PG_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections a store keeps at most.
pub const PG_POOL_SIZE: u32 = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS chunkseq_protection_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunkseq_signed (
    signer BYTEA NOT NULL CHECK (length(signer) = 20),
    slot BIGINT NOT NULL CHECK (slot >= 0),
    kind SMALLINT NOT NULL,
    block_index INTEGER NOT NULL,
    digest BYTEA NOT NULL CHECK (length(digest) = 32),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (signer, slot, kind, block_index)
);
CREATE TABLE IF NOT EXISTS chunkseq_build_lease (
    signer BYTEA NOT NULL CHECK (length(signer) = 20),
    slot BIGINT NOT NULL CHECK (slot >= 0),
    node TEXT NOT NULL,
    from_index INTEGER NOT NULL,
    renewed_ms BIGINT NOT NULL,
    PRIMARY KEY (signer, slot)
);";

/// The advisory lock the schema is created under.
const SCHEMA_LOCK: i64 = 0x6368_756e_6b73_6571; // "chunkseq"

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// Slashing protection in a PostgreSQL database.
pub struct PostgresProtectionStore {
    pool: Pool,
    location: String,
    /// Set once the schema is known to be in place.
    ready: OnceLock<()>,
    /// Serialises the schema check of one process.
    migrating: Mutex<()>,
}

impl std::fmt::Debug for PostgresProtectionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresProtectionStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn db(e: impl std::fmt::Display) -> SlashingProtectionError {
    SlashingProtectionError::Database(format!("PostgreSQL: {e}"))
}

fn kind_from_code(code: i16) -> Result<StatementKind, SlashingProtectionError> {
    u8::try_from(code)
        .ok()
        .and_then(key::kind_from_code)
        .ok_or_else(|| {
            SlashingProtectionError::Corrupt(format!(
                "unknown statement kind {code} in chunkseq_signed"
            ))
        })
}

/// The key columns of a record.
fn columns(
    kind: StatementKind,
    slot: Slot,
    index: Option<BlockIndex>,
) -> Result<(i16, i64, i32), SlashingProtectionError> {
    let slot = i64::try_from(slot.0)
        .map_err(|_| db(format!("slot {} does not fit PostgreSQL's BIGINT", slot.0)))?;
    let index = match index {
        None => -1,
        Some(i) => i32::try_from(i.0)
            .map_err(|_| db(format!("block index {} does not fit INTEGER", i.0)))?,
    };
    Ok((i16::from(key::kind_code(kind)), slot, index))
}

impl PostgresProtectionStore {
    /// A store on the database at `url` (`postgres://user:pass@host:port/db`
    /// or libpq's `key=value` form), every wait bounded by `timeout`.
    ///
    /// It does not need the database to be up: the schema is created at
    /// the first call that reaches it, and calls fail (fail closed) until
    /// then.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, SlashingProtectionError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| db(format!("bad database URL: {e}")))?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(db(
                "sslmode=require: this build has no TLS; reach the database over a private network or a TLS tunnel, and drop sslmode",
            ));
        }
        let ms = timeout.as_millis().max(1);
        let options = format!(
            "-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={}",
            ms.saturating_mul(10)
        );
        config
            .connect_timeout(timeout)
            .application_name("chunkseq")
            .options(&options);
        let location = describe(&config);
        let pool = r2d2::Pool::builder()
            .max_size(PG_POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .build_unchecked(PostgresConnectionManager::new(config, NoTls));
        Ok(Self {
            pool,
            location,
            ready: OnceLock::new(),
            migrating: Mutex::new(()),
        })
    }

    /// A pooled connection, the schema checked once.
    fn conn(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, SlashingProtectionError>
    {
        let mut c = self
            .pool
            .get()
            .map_err(|e| db(format!("no connection to {}: {e}", self.location)))?;
        if self.ready.get().is_none() {
            let _one = self.migrating.lock();
            if self.ready.get().is_none() {
                migrate(&mut c)?;
                let _ = self.ready.set(());
                info!(target: "chunkseq::slashing_protection", store = %self.location, "PostgreSQL slashing protection ready");
            }
        }
        Ok(c)
    }

    /// Number of records.
    pub fn len(&self) -> Result<u64, SlashingProtectionError> {
        let n: i64 = self
            .conn()?
            .query_one("SELECT count(*) FROM chunkseq_signed", &[])
            .map_err(db)?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> Result<bool, SlashingProtectionError> {
        Ok(self.len()? == 0)
    }

    /// The newest build lease of `signer`: its slot and the node holding
    /// it (which node of a pair is building lately).
    pub fn latest_lease(
        &self,
        signer: Address,
    ) -> Result<Option<(Slot, String)>, SlashingProtectionError> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT slot, node FROM chunkseq_build_lease WHERE signer = $1 \
                 ORDER BY slot DESC LIMIT 1",
                &[&signer.as_slice()],
            )
            .map_err(db)?;
        Ok(row.map(|r| {
            let slot: i64 = r.get(0);
            (Slot(u64::try_from(slot).unwrap_or(0)), r.get(1))
        }))
    }

    /// Removes every record and lease of slots before `slot`; how many
    /// records.
    pub fn prune_below(&self, slot: Slot) -> Result<u64, SlashingProtectionError> {
        let (_, slot, _) = columns(StatementKind::Checkpoint, slot, None)?;
        let mut c = self.conn()?;
        c.execute("DELETE FROM chunkseq_build_lease WHERE slot < $1", &[&slot])
            .map_err(db)?;
        c.execute("DELETE FROM chunkseq_signed WHERE slot < $1", &[&slot])
            .map_err(db)
    }
}

/// Creates the schema if missing and checks its version.
fn migrate(c: &mut postgres::Client) -> Result<(), SlashingProtectionError> {
    let mut tx = c.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .map_err(db)?;
    tx.batch_execute(SCHEMA).map_err(db)?;
    let versions: Vec<i32> = tx
        .query("SELECT version FROM chunkseq_protection_schema", &[])
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    match versions.as_slice() {
        [] => {
            tx.execute(
                "INSERT INTO chunkseq_protection_schema (version) VALUES ($1)",
                &[&PG_SCHEMA_VERSION],
            )
            .map_err(db)?;
        }
        [v] if *v == PG_SCHEMA_VERSION => {}
        // Version 1 lacked the lease table, which the schema just created.
        [1] => {
            tx.execute(
                "UPDATE chunkseq_protection_schema SET version = $1",
                &[&PG_SCHEMA_VERSION],
            )
            .map_err(db)?;
            info!(target: "chunkseq::slashing_protection", "slashing protection schema upgraded from version 1 to {PG_SCHEMA_VERSION} (build leases)");
        }
        other => {
            return Err(SlashingProtectionError::Corrupt(format!(
                "the database's slashing protection schema is at version {other:?}, this build reads {PG_SCHEMA_VERSION}"
            )));
        }
    }
    tx.commit().map_err(db)
}

/// `host:port/dbname` of a config, without user or password.
fn describe(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {host}:{port}/{}",
        config.get_dbname().unwrap_or("(default)")
    )
}

fn digest_of(bytes: &[u8]) -> Result<B256, SlashingProtectionError> {
    B256::try_from(bytes)
        .map_err(|_| SlashingProtectionError::Corrupt(format!("a digest of {} bytes", bytes.len())))
}

/// Inserts one record unless its key exists; the digest recorded before,
/// if any.
fn insert_or_read(
    c: &mut impl postgres::GenericClient,
    signer: Address,
    kind: StatementKind,
    slot: Slot,
    index: Option<BlockIndex>,
    digest: B256,
) -> Result<Option<B256>, SlashingProtectionError> {
    let (kind, slot, index) = columns(kind, slot, index)?;
    let inserted = c
        .execute(
            "INSERT INTO chunkseq_signed (signer, slot, kind, block_index, digest) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&signer.as_slice(), &slot, &kind, &index, &digest.as_slice()],
        )
        .map_err(db)?;
    if inserted == 1 {
        return Ok(None);
    }
    // A new statement sees the row that stopped the insert.
    let row = c
        .query_opt(
            "SELECT digest FROM chunkseq_signed \
             WHERE signer = $1 AND slot = $2 AND kind = $3 AND block_index = $4",
            &[&signer.as_slice(), &slot, &kind, &index],
        )
        .map_err(db)?
        .ok_or_else(|| db("a record that stopped an insert is gone (pruned meanwhile?)"))?;
    let bytes: &[u8] = row.get(0);
    digest_of(bytes).map(Some)
}

impl ProtectionStore for PostgresProtectionStore {
    fn check_and_record(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Decision, SlashingProtectionError> {
        let requested = request.digest();
        let mut c = self.conn()?;
        match insert_or_read(
            &mut *c,
            signer,
            request.kind(),
            request.slot(),
            request.index(),
            requested,
        )? {
            None => {
                debug!(
                    target: "chunkseq::slashing_protection",
                    %signer, kind = request.kind().name(), slot = request.slot().0,
                    index = ?request.index().map(|i| i.0), digest = %requested,
                    "recorded in PostgreSQL"
                );
                Ok(Decision::Fresh)
            }
            Some(recorded) if recorded == requested => Ok(Decision::Repeat),
            Some(recorded) => Err(SlashingProtectionError::Conflict {
                address: signer,
                kind: request.kind(),
                slot: request.slot(),
                index: request.index(),
                recorded,
                requested,
            }),
        }
    }

    fn all_records(&self) -> Result<Vec<(Address, SignedRecord)>, SlashingProtectionError> {
        let rows = self
            .conn()?
            .query(
                "SELECT signer, slot, kind, block_index, digest FROM chunkseq_signed \
                 ORDER BY signer, slot, kind, block_index",
                &[],
            )
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let signer: &[u8] = r.get(0);
                let slot: i64 = r.get(1);
                let kind: i16 = r.get(2);
                let index: i32 = r.get(3);
                let digest: &[u8] = r.get(4);
                let address = Address::try_from(signer).map_err(|_| {
                    SlashingProtectionError::Corrupt(format!("a signer of {} bytes", signer.len()))
                })?;
                Ok((
                    address,
                    SignedRecord {
                        kind: kind_from_code(kind)?,
                        slot: Slot(u64::try_from(slot).map_err(|_| {
                            SlashingProtectionError::Corrupt(format!("slot {slot}"))
                        })?),
                        index: u32::try_from(index).ok().map(BlockIndex),
                        digest: digest_of(digest)?,
                    },
                ))
            })
            .collect()
    }

    fn import_records(
        &self,
        records: &[(Address, SignedRecord)],
    ) -> Result<ImportSummary, SlashingProtectionError> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(db)?;
        let mut summary = ImportSummary::default();
        let mut conflicts = Vec::new();
        for (address, r) in records {
            match insert_or_read(&mut tx, *address, r.kind, r.slot, r.index, r.digest)? {
                None => summary.imported = summary.imported.saturating_add(1),
                Some(d) if d == r.digest => {
                    summary.already_present = summary.already_present.saturating_add(1);
                }
                Some(d) => conflicts.push(ImportConflict {
                    address: *address,
                    kind: r.kind,
                    slot: r.slot,
                    index: r.index,
                    recorded: d,
                    imported: r.digest,
                }),
            }
        }
        if !conflicts.is_empty() {
            tx.rollback().map_err(db)?;
            return Err(SlashingProtectionError::ImportConflicts(conflicts));
        }
        tx.commit().map_err(db)?;
        Ok(summary)
    }

    fn recorded(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Option<B256>, SlashingProtectionError> {
        let (kind, slot, index) = columns(request.kind(), request.slot(), request.index())?;
        let row = self
            .conn()?
            .query_opt(
                "SELECT digest FROM chunkseq_signed \
                 WHERE signer = $1 AND slot = $2 AND kind = $3 AND block_index = $4",
                &[&signer.as_slice(), &slot, &kind, &index],
            )
            .map_err(db)?;
        row.map(|r| digest_of(r.get::<_, &[u8]>(0))).transpose()
    }

    fn shared(&self) -> bool {
        true
    }

    fn lease_build(
        &self,
        signer: Address,
        slot: Slot,
        node: &str,
        from: BlockIndex,
        now: UnixMillis,
        lease_ms: u64,
    ) -> Result<BuildLease, SlashingProtectionError> {
        let (_, slot_col, from_col) = columns(StatementKind::Proposal, slot, Some(from))?;
        let now_col = i64::try_from(now.0).map_err(|_| db(format!("time {} ms", now.0)))?;
        let lease_col = i64::try_from(lease_ms).map_err(|_| db(format!("lease {lease_ms} ms")))?;
        let mut c = self.conn()?;
        // Taken when free, renewed by its holder, taken over once expired;
        // the row is locked for the statement, so racing nodes serialise.
        let got = c
            .query_opt(
                "INSERT INTO chunkseq_build_lease (signer, slot, node, from_index, renewed_ms) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (signer, slot) DO UPDATE SET \
                   from_index = CASE WHEN chunkseq_build_lease.node = EXCLUDED.node \
                     THEN chunkseq_build_lease.from_index ELSE EXCLUDED.from_index END, \
                   node = EXCLUDED.node, renewed_ms = EXCLUDED.renewed_ms \
                 WHERE chunkseq_build_lease.node = EXCLUDED.node \
                   OR chunkseq_build_lease.renewed_ms + $6 < EXCLUDED.renewed_ms \
                 RETURNING node",
                &[
                    &signer.as_slice(),
                    &slot_col,
                    &node,
                    &from_col,
                    &now_col,
                    &lease_col,
                ],
            )
            .map_err(db)?;
        if got.is_some() {
            return Ok(BuildLease::Held);
        }
        let holder: String = c
            .query_opt(
                "SELECT node FROM chunkseq_build_lease WHERE signer = $1 AND slot = $2",
                &[&signer.as_slice(), &slot_col],
            )
            .map_err(db)?
            .map(|r| r.get(0))
            .ok_or_else(|| db("a lease that stopped an update is gone (pruned meanwhile?)"))?;
        Ok(BuildLease::HeldBy(holder))
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
