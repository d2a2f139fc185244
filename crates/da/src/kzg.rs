//! KZG commitments, proofs and sidecars of blobs, over the Ethereum mainnet
//! trusted setup that c-kzg ships, and the check of a blob against the
//! versioned hash L1 recorded for it.

use alloy_eips::{
    eip4844::{Blob, BlobTransactionSidecar, Bytes48, kzg_to_versioned_hash},
    eip7594::{BlobTransactionSidecarEip7594, BlobTransactionSidecarVariant, CELLS_PER_EXT_BLOB},
};
use alloy_primitives::B256;
use c_kzg::KzgSettings;

use crate::error::KzgError;

/// The precomputation level of the trusted setup's tables (c-kzg accepts 0
/// to 15): 8 is alloy's default, which speeds up cell proofs at the cost of
/// memory and a slower first load.
pub const KZG_PRECOMPUTE: u64 = 8;

/// Which sidecar a blob transaction carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarVersion {
    /// EIP-4844: one blob proof per blob (before Osaka).
    Eip4844,
    /// EIP-7594 (PeerDAS, version 1): 128 cell proofs per blob (Osaka on).
    Eip7594,
}

/// The Ethereum mainnet trusted setup, loaded once per process (the first
/// call takes a moment).
pub fn kzg_settings() -> &'static KzgSettings {
    c_kzg::ethereum_kzg_settings(KZG_PRECOMPUTE)
}

fn ckzg_blob(blob: &Blob) -> Result<Box<c_kzg::Blob>, KzgError> {
    Ok(Box::new(c_kzg::Blob::from_bytes(blob.as_slice())?))
}

/// The KZG commitment of `blob`.
pub fn blob_commitment(blob: &Blob) -> Result<Bytes48, KzgError> {
    let commitment = kzg_settings().blob_to_kzg_commitment(&*ckzg_blob(blob)?)?;
    Ok(Bytes48::from(commitment.to_bytes().into_inner()))
}

/// The EIP-4844 versioned hash of a commitment:
/// `0x01 ‖ sha256(commitment)[1..]`.
pub fn versioned_hash(commitment: &Bytes48) -> B256 {
    kzg_to_versioned_hash(commitment.as_slice())
}

/// The EIP-4844 blob proof of `blob` under its `commitment`.
pub fn blob_proof(blob: &Blob, commitment: &Bytes48) -> Result<Bytes48, KzgError> {
    let commitment = c_kzg::Bytes48::new(commitment.0);
    let proof = kzg_settings().compute_blob_kzg_proof(&*ckzg_blob(blob)?, &commitment)?;
    Ok(Bytes48::from(proof.to_bytes().into_inner()))
}

/// The 128 EIP-7594 cell proofs of `blob` (its extension's cells included).
pub fn cell_proofs(blob: &Blob) -> Result<Vec<Bytes48>, KzgError> {
    let (_cells, proofs) = kzg_settings().compute_cells_and_kzg_proofs(&*ckzg_blob(blob)?)?;
    // c-kzg returns exactly CELLS_PER_EXT_BLOB (128) proofs: a fixed-size array.
    Ok(proofs
        .iter()
        .map(|p| Bytes48::from(p.to_bytes().into_inner()))
        .collect())
}

/// The commitments of `blobs`, in order.
pub fn commitments(blobs: &[Blob]) -> Result<Vec<Bytes48>, KzgError> {
    blobs.iter().map(blob_commitment).collect()
}

/// The versioned hashes of `blobs`, in order: what a blob transaction lists
/// and what L1's `blobhash` returns.
pub fn versioned_hashes(blobs: &[Blob]) -> Result<Vec<B256>, KzgError> {
    Ok(commitments(blobs)?.iter().map(versioned_hash).collect())
}

/// An EIP-4844 sidecar (version 0): the blobs, their commitments and blob
/// proofs.
pub fn sidecar_eip4844(blobs: Vec<Blob>) -> Result<BlobTransactionSidecar, KzgError> {
    let commitments = commitments(&blobs)?;
    let proofs = blobs
        .iter()
        .zip(&commitments)
        .map(|(blob, commitment)| blob_proof(blob, commitment))
        .collect::<Result<_, _>>()?;
    Ok(BlobTransactionSidecar::new(blobs, commitments, proofs))
}

/// An EIP-7594 sidecar (version 1): the blobs, their commitments and 128
/// cell proofs per blob, blob-major.
pub fn sidecar_eip7594(blobs: Vec<Blob>) -> Result<BlobTransactionSidecarEip7594, KzgError> {
    let commitments = commitments(&blobs)?;
    let mut proofs = Vec::with_capacity(blobs.len().saturating_mul(CELLS_PER_EXT_BLOB));
    for blob in &blobs {
        proofs.extend(cell_proofs(blob)?);
    }
    Ok(BlobTransactionSidecarEip7594::new(
        blobs,
        commitments,
        proofs,
    ))
}

/// The sidecar of `version` for `blobs`, as alloy's transaction builders
/// take it.
pub fn sidecar(
    blobs: Vec<Blob>,
    version: SidecarVersion,
) -> Result<BlobTransactionSidecarVariant, KzgError> {
    Ok(match version {
        SidecarVersion::Eip4844 => BlobTransactionSidecarVariant::Eip4844(sidecar_eip4844(blobs)?),
        SidecarVersion::Eip7594 => BlobTransactionSidecarVariant::Eip7594(sidecar_eip7594(blobs)?),
    })
}

/// Checks that `blob` is the one behind `expected` (its versioned hash, as
/// L1 recorded it): recomputes the commitment and its versioned hash.
/// `index` is the blob's position, for the error.
pub fn verify_blob(index: usize, blob: &Blob, expected: &B256) -> Result<(), KzgError> {
    let actual = versioned_hash(&blob_commitment(blob)?);
    if actual != *expected {
        return Err(KzgError::VersionedHashMismatch {
            index,
            expected: *expected,
            actual,
        });
    }
    Ok(())
}

/// Checks each blob against its expected versioned hash, in order; the
/// counts must match.
pub fn verify_blobs(blobs: &[Blob], expected: &[B256]) -> Result<(), KzgError> {
    if blobs.len() != expected.len() {
        return Err(KzgError::CountMismatch {
            blobs: blobs.len(),
            hashes: expected.len(),
        });
    }
    blobs
        .iter()
        .zip(expected)
        .enumerate()
        .try_for_each(|(i, (blob, hash))| verify_blob(i, blob, hash))
}
