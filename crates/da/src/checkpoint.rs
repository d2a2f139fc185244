//! Checkpoint data: a slot's blocks in blobs, one segment per block, laid
//! out so that appending a block never changes a byte before it.
//!
//! The data bytes of the blobs (`blob.rs`: 31 per field element, in blob
//! and element order) are
//!
//! ```text
//! [segment 0][segment 1]...[segment n-1][zeros to the end of the last blob]
//! segment = [length L: 4 bytes, big-endian u32, L >= 1][L bytes: a stream holding exactly one block]
//! ```
//!
//! The data ends at a zero length, or where fewer than four data bytes
//! remain. Everything after the end is zero, and the blob set has exactly
//! the ⌈end / 126,976⌉ blobs the segments need. Since the padding is zeros
//! and a segment's bytes depend only on its own block, appending block
//! `i + 1` writes only over the zeros after block `i`: every blob that lies
//! wholly before the new segment stays byte-identical, and so does its
//! commitment.
//!
//! There is no checkpoint data without a block: the encoder refuses an
//! empty slot, the builder has no blobs until its first block, and the
//! decoder refuses an empty blob set and a blob set whose first length is
//! zero.

use alloy_eips::eip4844::Blob;
use alloy_primitives::{B256, Bytes};

use crate::{
    MAX_BLOBS_PER_CHECKPOINT, MAX_BLOCKS, MAX_DECOMPRESSED_BYTES,
    blob::{
        DATA_BYTES_PER_BLOB, MAX_DATA_BYTES, blobs_for, blobs_to_data, data_to_blobs, locate,
        pack_blob,
    },
    codec::Codec,
    error::{BlobError, DaError, KzgError, StreamError},
    kzg::verify_blobs,
    stream::{decode_stream_within, encode_stream_with, payload_len},
};

/// Bytes of a segment's length prefix.
pub const SEGMENT_PREFIX_BYTES: usize = 4;

/// The longest stream a segment can carry, the whole of six blobs but its
/// length prefix: 761,852 bytes.
pub const MAX_STREAM_BYTES: usize = MAX_DATA_BYTES - SEGMENT_PREFIX_BYTES;

/// One block encoded as a segment's stream, not yet appended: a proposer
/// can ask how many blobs the data would take with it
/// ([`CheckpointData::blob_count_with`]) before committing to the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    stream: Vec<u8>,
    /// The stream's decompressed payload length, counted against the
    /// checkpoint's [`MAX_DECOMPRESSED_BYTES`].
    payload_len: usize,
}

impl Segment {
    /// `block` (its raw EIP-2718 transactions) as a one-block stream of
    /// `codec` at zstd `level`.
    pub fn encode(block: &[Bytes], codec: Codec, level: i32) -> Result<Self, StreamError> {
        let stream = encode_stream_with(std::slice::from_ref(&block.to_vec()), codec, level)?;
        let payload_len = usize::try_from(payload_len(&stream)?).unwrap_or(usize::MAX);
        Ok(Self {
            stream,
            payload_len,
        })
    }

    /// Data bytes the segment takes: its length prefix and its stream.
    pub const fn data_len(&self) -> usize {
        SEGMENT_PREFIX_BYTES.saturating_add(self.stream.len())
    }

    /// The stream (without the length prefix).
    pub fn stream(&self) -> &[u8] {
        &self.stream
    }
}

/// A checkpoint's data as it grows block by block: what a proposer builds
/// and what an attester rebuilds to hash the blobs of blocks `0..=i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointData {
    codec: Codec,
    level: i32,
    /// The segments so far, without the padding.
    data: Vec<u8>,
    blocks: usize,
    /// Decompressed payload bytes of all segments.
    payload: usize,
}

impl Default for CheckpointData {
    /// The default codec at its default level.
    fn default() -> Self {
        Self::new(Codec::DEFAULT, Codec::DEFAULT_LEVEL)
    }
}

impl CheckpointData {
    /// Empty data whose blocks will be encoded with `codec` at zstd `level`.
    pub const fn new(codec: Codec, level: i32) -> Self {
        Self {
            codec,
            level,
            data: Vec::new(),
            blocks: 0,
            payload: 0,
        }
    }

    /// `block` as a segment of this data's codec and level, not appended.
    pub fn segment(&self, block: &[Bytes]) -> Result<Segment, DaError> {
        Ok(Segment::encode(block, self.codec, self.level)?)
    }

    /// Encodes `block` and appends it. On an error nothing is appended.
    pub fn push_block(&mut self, block: &[Bytes]) -> Result<(), DaError> {
        let segment = self.segment(block)?;
        self.push_segment(segment)
    }

    /// Appends `segment`. Refuses, appending nothing, a block past
    /// [`MAX_BLOCKS`], data past [`MAX_BLOBS_PER_CHECKPOINT`] blobs, and
    /// payloads past [`MAX_DECOMPRESSED_BYTES`] in all: the bounds the
    /// decoder enforces.
    pub fn push_segment(&mut self, segment: Segment) -> Result<(), DaError> {
        if self.blocks >= MAX_BLOCKS {
            return Err(BlobError::TooManySegments { max: MAX_BLOCKS }.into());
        }
        let len = self.data_len_with(&segment);
        let prefix = u32::try_from(segment.stream.len())
            .ok()
            .filter(|_| len <= MAX_DATA_BYTES)
            .ok_or(BlobError::TooManyBlobs {
                count: blobs_for(len),
                max: MAX_BLOBS_PER_CHECKPOINT,
            })?;
        let payload = self.payload.saturating_add(segment.payload_len);
        if payload > MAX_DECOMPRESSED_BYTES {
            return Err(StreamError::PayloadTooLarge {
                len: payload as u64,
                max: MAX_DECOMPRESSED_BYTES,
            }
            .into());
        }
        self.data.reserve(segment.data_len());
        self.data.extend_from_slice(&prefix.to_be_bytes());
        self.data.extend_from_slice(&segment.stream);
        self.blocks = self.blocks.saturating_add(1);
        self.payload = payload;
        Ok(())
    }

    /// Blocks appended.
    pub const fn block_count(&self) -> usize {
        self.blocks
    }

    /// Data bytes of the segments (the padding not counted).
    pub const fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Data bytes with `segment` appended.
    pub const fn data_len_with(&self, segment: &Segment) -> usize {
        self.data.len().saturating_add(segment.data_len())
    }

    /// Blobs the data takes: zero before the first block.
    pub const fn blob_count(&self) -> usize {
        blobs_for(self.data.len())
    }

    /// Blobs the data would take with `segment` appended.
    pub const fn blob_count_with(&self, segment: &Segment) -> usize {
        blobs_for(self.data_len_with(segment))
    }

    /// The segments' bytes, without the padding.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Blob `index`, if the data reaches it.
    pub fn blob(&self, index: usize) -> Option<Blob> {
        let start = index.checked_mul(DATA_BYTES_PER_BLOB)?;
        let rest = self.data.get(start..).filter(|rest| !rest.is_empty())?;
        Some(pack_blob(rest))
    }

    /// Every blob, in order ([`CheckpointData::blob_count`] of them).
    pub fn blobs(&self) -> Vec<Blob> {
        data_to_blobs(&self.data)
    }
}

/// A slot's blocks as blobs, with the default codec and level. Refuses an
/// empty slot ([`BlobError::NoBlocks`]): it has no data to carry.
pub fn encode_checkpoint(blocks: &[Vec<Bytes>]) -> Result<Vec<Blob>, DaError> {
    if blocks.is_empty() {
        return Err(BlobError::NoBlocks.into());
    }
    let mut data = CheckpointData::default();
    for block in blocks {
        data.push_block(block)?;
    }
    Ok(data.blobs())
}

/// A slot's blocks from its blobs, each blob first checked against the
/// versioned hash L1 recorded for it. The counts are checked before any
/// commitment is computed.
pub fn decode_checkpoint(
    blobs: &[Blob],
    versioned_hashes: &[B256],
) -> Result<Vec<Vec<Bytes>>, DaError> {
    if blobs.len() != versioned_hashes.len() {
        return Err(KzgError::CountMismatch {
            blobs: blobs.len(),
            hashes: versioned_hashes.len(),
        }
        .into());
    }
    check_blob_count(blobs.len())?;
    verify_blobs(blobs, versioned_hashes)?;
    decode_checkpoint_data(blobs)
}

/// A slot's blocks from blobs whose integrity the caller has established
/// otherwise (or not at all): the layout is checked strictly, each
/// refusal a [`BlobError`] or, for a segment's stream, a
/// [`DaError::Segment`].
pub fn decode_checkpoint_data(blobs: &[Blob]) -> Result<Vec<Vec<Bytes>>, DaError> {
    // Refuses no blobs, more than six, and a non-zero byte 0.
    let data = blobs_to_data(blobs)?;
    let (segments, end) = split_segments(&data)?;
    if let Some(pos) = data
        .get(end..)
        .and_then(|tail| tail.iter().position(|&b| b != 0))
    {
        let (blob, element) = locate(end.saturating_add(pos));
        return Err(BlobError::NonZeroPadding { blob, element }.into());
    }
    if segments.is_empty() {
        return Err(BlobError::NoBlocks.into());
    }
    let needed = blobs_for(end);
    if blobs.len() != needed {
        return Err(BlobError::ExtraBlobs {
            count: blobs.len(),
            len: end,
            needed,
        }
        .into());
    }
    // Every segment's payload counts against one budget, so 64 small
    // segments cannot each expand to the whole bound.
    let mut budget = MAX_DECOMPRESSED_BYTES;
    let mut blocks = Vec::with_capacity(segments.len());
    for (segment, stream) in segments.into_iter().enumerate() {
        let (mut decoded, used) = decode_stream_within(stream, budget)
            .map_err(|error| DaError::Segment { segment, error })?;
        let block = match (decoded.pop(), decoded.is_empty()) {
            (Some(block), true) => block,
            (last, _) => {
                return Err(BlobError::SegmentBlocks {
                    segment,
                    blocks: decoded.len().saturating_add(usize::from(last.is_some())),
                }
                .into());
            }
        };
        budget = budget.saturating_sub(used);
        blocks.push(block);
    }
    Ok(blocks)
}

fn check_blob_count(count: usize) -> Result<(), BlobError> {
    if count == 0 {
        return Err(BlobError::NoBlobs);
    }
    if count > MAX_BLOBS_PER_CHECKPOINT {
        return Err(BlobError::TooManyBlobs {
            count,
            max: MAX_BLOBS_PER_CHECKPOINT,
        });
    }
    Ok(())
}

/// The segments' streams and the data offset where they end (at a zero
/// length, or where fewer than four bytes remain). At most [`MAX_BLOCKS`].
fn split_segments(data: &[u8]) -> Result<(Vec<&[u8]>, usize), BlobError> {
    let mut segments = Vec::new();
    let mut at = 0usize;
    while let Some(prefix) = data
        .get(at..at.saturating_add(SEGMENT_PREFIX_BYTES))
        .and_then(|b| <[u8; SEGMENT_PREFIX_BYTES]>::try_from(b).ok())
    {
        let len = u32::from_be_bytes(prefix);
        if len == 0 {
            break;
        }
        if segments.len() >= MAX_BLOCKS {
            return Err(BlobError::TooManySegments { max: MAX_BLOCKS });
        }
        let start = at.saturating_add(SEGMENT_PREFIX_BYTES);
        let Some(stream) = usize::try_from(len)
            .ok()
            .and_then(|len| data.get(start..start.checked_add(len)?))
        else {
            return Err(BlobError::SegmentPastEnd {
                segment: segments.len(),
                offset: at,
                len: len.into(),
                available: data.len().saturating_sub(start),
            });
        };
        segments.push(stream);
        at = start.saturating_add(stream.len());
    }
    Ok((segments, at))
}
