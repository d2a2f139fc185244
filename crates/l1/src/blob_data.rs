//! Turning a checkpoint published in blobs back into block bodies: every
//! blob is checked against the versioned hash L1 recorded for it before its
//! bytes are used, then the blobs are decoded into the slot's blocks.

use alloy_eips::eip4844::Blob;
use alloy_primitives::{B256, Bytes};
use chunkseq_primitives::body::encode_body;

use crate::events::{CheckpointData, L1Event};

/// The bodies (abi-encoded `bytes[]` per block) that `blobs` carry, after
/// checking them against `versioned_hashes`; `block_count` is how many
/// headers the checkpoint has.
pub fn bodies_from_blobs(
    blobs: &[Blob],
    versioned_hashes: &[B256],
    block_count: usize,
) -> Result<Vec<Bytes>, String> {
    let blocks = chunkseq_da::decode_checkpoint(blobs, versioned_hashes)
        .map_err(|e| format!("blob data refused: {e}"))?;
    bodies_of(blocks, block_count)
}

/// The bodies that blobs carry when their versioned hashes were computed
/// from these very bytes by whoever holds them: the embedded L1 computes
/// the hashes of every blob it admits and keys its sidecars by them, so its
/// own store needs no second commitment.
pub fn bodies_from_own_blobs(blobs: &[Blob], block_count: usize) -> Result<Vec<Bytes>, String> {
    let blocks = chunkseq_da::decode_checkpoint_data(blobs)
        .map_err(|e| format!("blob data refused: {e}"))?;
    bodies_of(blocks, block_count)
}

fn bodies_of(blocks: Vec<Vec<Bytes>>, block_count: usize) -> Result<Vec<Bytes>, String> {
    if blocks.len() != block_count {
        return Err(format!(
            "the blobs carry {} blocks, the checkpoint has {block_count}",
            blocks.len()
        ));
    }
    Ok(blocks.iter().map(|txs| encode_body(txs)).collect())
}

/// Fills in the bodies of a checkpoint accepted in blob mode with `fetch`
/// (which returns the blobs for the versioned hashes, in order). Other
/// events, and checkpoints already resolved, are left as they are.
pub fn resolve_blobs(
    event: &mut L1Event,
    fetch: impl FnOnce(&[B256]) -> Result<Vec<Blob>, String>,
) {
    resolve_with(event, fetch, |blobs, hashes, count| {
        bodies_from_blobs(blobs, hashes, count)
    });
}

/// [`resolve_blobs`] for blobs from the caller's own store, whose versioned
/// hashes it computed from them on admission ([`bodies_from_own_blobs`]).
pub fn resolve_own_blobs(
    event: &mut L1Event,
    fetch: impl FnOnce(&[B256]) -> Result<Vec<Blob>, String>,
) {
    resolve_with(event, fetch, |blobs, _, count| {
        bodies_from_own_blobs(blobs, count)
    });
}

fn resolve_with(
    event: &mut L1Event,
    fetch: impl FnOnce(&[B256]) -> Result<Vec<Blob>, String>,
    decode: impl FnOnce(&[Blob], &[B256], usize) -> Result<Vec<Bytes>, String>,
) {
    let L1Event::CheckpointAccepted {
        headers,
        bodies,
        data:
            CheckpointData::Blobs {
                versioned_hashes,
                unavailable,
            },
        ..
    } = event
    else {
        return;
    };
    if unavailable.is_none() {
        return;
    }
    let resolved =
        fetch(versioned_hashes).and_then(|blobs| decode(&blobs, versioned_hashes, headers.len()));
    match resolved {
        Ok(b) => {
            *bodies = b;
            *unavailable = None;
        }
        Err(why) => {
            tracing::warn!(target: "chunkseq::l1", %why, "checkpoint blobs unavailable");
            bodies.clear();
            *unavailable = Some(why);
        }
    }
}
