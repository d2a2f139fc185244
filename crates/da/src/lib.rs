//! Data availability for chunkseq: a slot's blocks become one versioned,
//! compressed stream, packed into EIP-4844 blobs, with the KZG commitments,
//! versioned hashes, proofs and sidecars that carry them to L1, and the way
//! back from blobs (checked against their versioned hashes) to the blocks.
//!
//! # Path
//!
//! ```text
//! blocks (Vec<Vec<Bytes>>, raw EIP-2718 txs)
//!   --encode_stream-->  stream  (version, codec, length, compressed payload)
//!   --stream_to_blobs-> blobs   (31 data bytes per field element, length-prefixed)
//!   --sidecar-->        commitments, versioned hashes, blob or cell proofs
//! ```
//!
//! and back with [`verify_blobs`], [`blobs_to_stream`] and [`decode_stream`]
//! ([`decode_checkpoint`] does all three). docs/da.md describes the formats
//! and the figures that chose the default codec.
//!
//! # Bounds
//!
//! Every decoder takes untrusted bytes: at most [`MAX_BLOBS_PER_CHECKPOINT`]
//! blobs, a stream of at most [`MAX_STREAM_BYTES`], a payload that
//! decompresses to at most [`MAX_DECOMPRESSED_BYTES`] (the decompressor's
//! output buffer is that size and no larger), at most [`MAX_BLOCKS`] blocks
//! of at most [`MAX_BLOCK_TXS`] transactions of 1 to [`MAX_TX_BYTES`] bytes.
//! Every failure is an error value; nothing panics on input.

#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

mod blob;
mod codec;
mod columnar;
mod compress;
mod error;
mod kzg;
mod plain;
mod shape;
mod stream;
mod wire;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{B256, Bytes};

pub use blob::{
    BYTES_PER_FIELD_ELEMENT, DATA_BYTES_PER_BLOB, DATA_BYTES_PER_FIELD_ELEMENT,
    FIELD_ELEMENTS_PER_BLOB, LENGTH_PREFIX_BYTES, MAX_STREAM_BYTES, blobs_needed, blobs_to_stream,
    stream_to_blobs,
};
pub use codec::{Codec, Layout};
pub use error::{BlobError, DaError, KzgError, StreamError};
pub use kzg::{
    KZG_PRECOMPUTE, SidecarVersion, blob_commitment, blob_proof, cell_proofs, commitments,
    kzg_settings, sidecar, sidecar_eip4844, sidecar_eip7594, verify_blob, verify_blobs,
    versioned_hash, versioned_hashes,
};
pub use stream::{
    STREAM_HEADER_BYTES, STREAM_VERSION, decode_payload, decode_stream, encode_payload,
    encode_stream, encode_stream_with, stream_codec,
};

/// Most blobs one checkpoint carries: one blob transaction's limit from
/// Osaka on (EIP-7594's `MAX_BLOBS_PER_TX`).
pub const MAX_BLOBS_PER_CHECKPOINT: usize = 6;

/// Most bytes a stream's payload may decompress to: 8 MiB, more than ten
/// times what [`MAX_BLOBS_PER_CHECKPOINT`] blobs carry, so no honest
/// checkpoint reaches it and no stream can expand past it.
pub const MAX_DECOMPRESSED_BYTES: usize = 8 * 1024 * 1024;

/// Most blocks in one stream: a slot's most chunks.
pub const MAX_BLOCKS: usize = chunkseq_primitives::spec::MAX_CHUNKS_PER_SLOT as usize;

/// Most transactions in one block (the chain spec's upper bound).
pub const MAX_BLOCK_TXS: usize = chunkseq_primitives::spec::MAX_BLOCK_TXS as usize;

/// Most bytes of one transaction (the wire codec's bound).
pub const MAX_TX_BYTES: usize = chunkseq_primitives::codec::MAX_TX_BYTES;

/// A slot's blocks as blobs: [`encode_stream`] then [`stream_to_blobs`].
pub fn encode_checkpoint(blocks: &[Vec<Bytes>]) -> Result<Vec<Blob>, DaError> {
    Ok(stream_to_blobs(&encode_stream(blocks)?)?)
}

/// A slot's blocks from its blobs, each checked first against the versioned
/// hash L1 recorded for it: [`verify_blobs`], [`blobs_to_stream`], then
/// [`decode_stream`].
pub fn decode_checkpoint(
    blobs: &[Blob],
    versioned_hashes: &[B256],
) -> Result<Vec<Vec<Bytes>>, DaError> {
    verify_blobs(blobs, versioned_hashes)?;
    Ok(decode_stream(&blobs_to_stream(blobs)?)?)
}
