//! Signing for chunkseq validators: every signature first goes through
//! slashing protection.
//!
//! The protocol core signs through the [`Signer`] trait of
//! chunkseq-primitives and knows nothing of this crate; the node and the
//! simulator hand it a [`ProtectedSigner`]. Before any signature leaves the
//! process, `(signer, kind, slot, index) -> digest` is committed to a durable
//! store, and a request for a different digest under a recorded key is
//! refused (docs/design.md section 8).
//!
//! - Record, then sign: the check and the insert are one committed write
//!   transaction, and only a fresh or a repeated digest reaches the inner
//!   signer. A conflict becomes [`SignerError::Conflict`], a store failure
//!   [`SignerError::Unavailable`]; either way nothing is signed.
//! - Crash safety: a file store commits (fsync) before the signature exists,
//!   so after a crash there is either no record and no signature, or a record
//!   that allows that same digest again and nothing else. The same digest is
//!   signed again on request, so a node that crashed after recording, or
//!   after signing, can safely repeat itself.
//! - Interchange: records move between stores as JSON in the spirit of
//!   EIP-3076, tied to the EIP-712 domain separator, and an import applies
//!   completely or not at all.
//!
//! The modules:
//!
//! - `store`: [`SlashingProtectionStore`], the redb-backed record (a file,
//!   memory for tests and the simulator, or tables in a database the node
//!   shares), with listing and pruning. [`ProtectedSigner`] reaches it only
//!   through [`check_and_record`](SlashingProtectionStore::check_and_record).
//! - `signer`: [`ProtectedSigner`], any [`Signer`] behind a store.
//! - `interchange`: [`Interchange`], the JSON format, and the store's
//!   all-or-nothing [`export`](SlashingProtectionStore::export) /
//!   [`import`](SlashingProtectionStore::import).
//! - `key`: the 34-byte record key, whose byte order is
//!   `(address, slot, kind, index)`.
//! - `error`: [`SlashingProtectionError`] and [`InterchangeError`].
//!
//! Operators' view: `docs/slashing-protection.md`.
//!
//! [`Signer`]: chunkseq_primitives::Signer
//! [`SignerError::Conflict`]: chunkseq_primitives::SignerError::Conflict
//! [`SignerError::Unavailable`]: chunkseq_primitives::SignerError::Unavailable

mod error;
mod interchange;
mod key;
pub mod pg_cluster;
pub mod postgres;
mod protection;
mod signer;
mod store;
#[cfg(test)]
mod test_support;

pub use error::{ImportConflict, InterchangeError, SlashingProtectionError};
pub use interchange::{
    INTERCHANGE_FORMAT, INTERCHANGE_FORMAT_VERSION, ImportSummary, Interchange,
    InterchangeMetadata, InterchangeRecord, InterchangeSigner, MAX_INTERCHANGE_BYTES, export_store,
    import_into,
};
pub use pg_cluster::ThrowawayCluster;
pub use postgres::PostgresProtectionStore;
pub use protection::ProtectionStore;
pub use signer::{ProtectedSigner, SigningHealth};
pub use store::{Decision, SCHEMA_VERSION, SignedRecord, SlashingProtectionStore};
