//! Data availability for chunkseq: a slot's blocks become checkpoint data
//! in EIP-4844 blobs (one compressed segment per block, append-only), with
//! the KZG commitments, versioned hashes, proofs and sidecars that carry
//! them to L1, and the way back from blobs (checked against their versioned
//! hashes) to the blocks.
//!
//! # Path
//!
//! ```text
//! each block (Vec<Bytes>, raw EIP-2718 txs)
//!   --Segment::encode-->          a one-block stream (version, codec, length, zstd payload)
//!   --CheckpointData::push_*-->   [len][stream] appended to the data
//!   --CheckpointData::blobs-->    blobs (31 data bytes per field element, zero-padded)
//!   --sidecar-->                  commitments, versioned hashes, blob or cell proofs
//! ```
//!
//! and back with [`decode_checkpoint`] ([`verify_blobs`], then
//! [`decode_checkpoint_data`]). [`VersionedHashCache`] lets an attester
//! rehash the blobs of blocks `0..=i + 1` committing only the blobs block
//! `i + 1` changed. docs/da.md describes the formats and the figures that
//! chose the default codec.
//!
//! # Bounds
//!
//! Every decoder takes untrusted bytes: at most [`MAX_BLOBS_PER_CHECKPOINT`]
//! blobs, at most [`MAX_BLOCKS`] segments, a stream of at most
//! [`MAX_STREAM_BYTES`], payloads that decompress to at most
//! [`MAX_DECOMPRESSED_BYTES`] in all (the decompressor's output buffer is
//! the remaining budget and no larger), blocks of at most [`MAX_BLOCK_TXS`]
//! transactions of 1 to [`MAX_TX_BYTES`] bytes. Every failure is an error
//! value; nothing panics on input.

#![deny(clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

mod blob;
mod checkpoint;
mod codec;
mod columnar;
mod compress;
mod error;
mod hash_cache;
mod kzg;
mod plain;
mod shape;
mod stream;
mod wire;

pub use blob::{
    BYTES_PER_FIELD_ELEMENT, DATA_BYTES_PER_BLOB, DATA_BYTES_PER_FIELD_ELEMENT,
    FIELD_ELEMENTS_PER_BLOB, MAX_DATA_BYTES, blobs_for, blobs_to_data, data_to_blobs, pack_blob,
};
pub use checkpoint::{
    CheckpointData, MAX_STREAM_BYTES, SEGMENT_PREFIX_BYTES, Segment, decode_checkpoint,
    decode_checkpoint_data, encode_checkpoint,
};
pub use codec::{Codec, Layout};
pub use error::{BlobError, DaError, KzgError, StreamError};
pub use hash_cache::{VersionedHashCache, prefix_versioned_hashes};
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

/// Most bytes the payloads of one checkpoint's streams may decompress to,
/// in all: 8 MiB, more than ten times what [`MAX_BLOBS_PER_CHECKPOINT`]
/// blobs carry, so no honest checkpoint reaches it and no stream can
/// expand past it.
pub const MAX_DECOMPRESSED_BYTES: usize = 8 * 1024 * 1024;

/// Most blocks in one checkpoint (and in one stream): a slot's most chunks.
pub const MAX_BLOCKS: usize = chunkseq_primitives::spec::MAX_CHUNKS_PER_SLOT as usize;

/// Most transactions in one block (the chain spec's upper bound).
pub const MAX_BLOCK_TXS: usize = chunkseq_primitives::spec::MAX_BLOCK_TXS as usize;

/// Most bytes of one transaction (the wire codec's bound).
pub const MAX_TX_BYTES: usize = chunkseq_primitives::codec::MAX_TX_BYTES;
