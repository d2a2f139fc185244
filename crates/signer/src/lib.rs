//! Slashing protection (DESIGN.md section 8): before any signature leaves the
//! process, `(signer, kind, slot, index) -> digest` is committed to a durable
//! store, and a request for a different digest under a recorded key is
//! refused. The same digest is signed again on request, so a node that
//! crashed after recording, or after signing, can safely repeat itself.
//!
//! - [`SlashingProtectionStore`]: the redb-backed record (a file, or memory for
//!   tests and the simulator), pruning, and the all-or-nothing
//!   [`export`](SlashingProtectionStore::export) /
//!   [`import`](SlashingProtectionStore::import).
//! - [`ProtectedSigner`]: any [`chunkseq_primitives::Signer`] behind a store.
//! - [`Interchange`]: the JSON interchange format, in the spirit of EIP-3076.
//!
//! Operators' view: `docs/slashing-protection.md`.

mod error;
mod interchange;
mod key;
mod signer;
mod store;
#[cfg(test)]
mod test_support;

pub use error::{ImportConflict, InterchangeError, SlashingProtectionError};
pub use interchange::{
    INTERCHANGE_FORMAT, INTERCHANGE_FORMAT_VERSION, ImportSummary, Interchange,
    InterchangeMetadata, InterchangeRecord, InterchangeSigner, MAX_INTERCHANGE_BYTES,
};
pub use signer::ProtectedSigner;
pub use store::{Decision, SCHEMA_VERSION, SignedRecord, SlashingProtectionStore};
