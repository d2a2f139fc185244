//! [`ProtectionStore`]: what a slashing-protection store must do, so the
//! protected signer and the interchange format work the same over the redb
//! file of one node and the PostgreSQL database a validator pair shares.

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{BlockIndex, BuildLease, SignRequest, Slot, UnixMillis};

use crate::{
    error::SlashingProtectionError,
    interchange::ImportSummary,
    store::{Decision, SignedRecord},
};

/// A durable record `(signer, kind, slot, index) -> digest`.
///
/// Implementations make [`Self::check_and_record`] one atomic step: of two
/// callers racing on one key with different digests, exactly one records
/// its digest and the other is refused, whichever process or machine they
/// run in; the record is durable before `Fresh` is returned.
pub trait ProtectionStore: Send + Sync + std::fmt::Debug {
    /// Records that `signer` is about to sign `request`, unless a
    /// different digest is recorded for the same key: [`Decision::Fresh`]
    /// once recorded, [`Decision::Repeat`] for the same digest again, and
    /// [`SlashingProtectionError::Conflict`] (recording nothing) for
    /// another. Any other error means nothing may be signed.
    fn check_and_record(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Decision, SlashingProtectionError>;

    /// Every record, by signer, then slot, kind and index.
    fn all_records(&self) -> Result<Vec<(Address, SignedRecord)>, SlashingProtectionError>;

    /// Adds `records` all or nothing: refused, with every conflict listed
    /// in [`SlashingProtectionError::ImportConflicts`], when any key holds
    /// another digest; records present with the same digest are counted.
    fn import_records(
        &self,
        records: &[(Address, SignedRecord)],
    ) -> Result<ImportSummary, SlashingProtectionError>;

    /// The digest recorded for one key, if any.
    fn recorded(
        &self,
        signer: Address,
        request: &SignRequest,
    ) -> Result<Option<B256>, SlashingProtectionError>;

    /// Whether other processes share this store (and so its build leases):
    /// only then do build leases need renewing.
    fn shared(&self) -> bool {
        false
    }

    /// Takes, renews or reports the lease on building `slot` for `signer`
    /// ([`chunkseq_primitives::Signer::lease_build`]) in one atomic step:
    /// `node` gets it when nobody holds it, when `node` holds it already,
    /// or when the holder last renewed more than `lease_ms` before `now`.
    fn lease_build(
        &self,
        signer: Address,
        slot: Slot,
        node: &str,
        from: BlockIndex,
        now: UnixMillis,
        lease_ms: u64,
    ) -> Result<BuildLease, SlashingProtectionError>;

    /// Where the records live, for logs and status (never a password).
    fn location(&self) -> String;
}
