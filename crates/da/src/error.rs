//! The errors of each layer: the stream, the checkpoint data in blobs and
//! KZG.

use alloy_primitives::B256;
use thiserror::Error;

/// Why a slot's blocks could not be encoded into a stream, or a stream could
/// not be decoded back into blocks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamError {
    /// The stream is empty or shorter than its header.
    #[error("the stream is {len} bytes, shorter than its {header}-byte header")]
    TooShort {
        /// Bytes given.
        len: usize,
        /// Bytes the header takes.
        header: usize,
    },
    /// The version byte names a format this build does not know.
    #[error("unknown stream version {0:#04x}")]
    UnknownVersion(u8),
    /// The codec byte names a codec this build does not know.
    #[error("unknown codec {0:#04x}")]
    UnknownCodec(u8),
    /// The stream is larger than any checkpoint's blobs can carry.
    #[error("the stream is {len} bytes, more than the {max} a checkpoint's blobs carry")]
    StreamTooLarge {
        /// Bytes of the stream.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload declares (or, once encoded, has) more bytes than the
    /// decompression bound.
    #[error("the payload is {len} bytes decompressed, more than the {max} allowed")]
    PayloadTooLarge {
        /// Bytes declared or produced.
        len: u64,
        /// The bound.
        max: usize,
    },
    /// The compressor failed (an encoder-side fault, not bad input).
    #[error("{codec} compression failed: {reason}")]
    Compress {
        /// The compressor.
        codec: &'static str,
        /// What it said.
        reason: String,
    },
    /// The compressed payload is corrupt, or does not decompress to exactly
    /// the length the header declares.
    #[error("{codec} payload does not decompress: {reason}")]
    Decompress {
        /// The compressor.
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The blocks exceed a protocol bound (too many blocks or transactions,
    /// an empty or oversized transaction).
    #[error("{what}: {count} is more than {max}")]
    Bound {
        /// Which bound.
        what: &'static str,
        /// The value found.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// A transaction is empty (every transaction has at least one byte).
    #[error("block {block} transaction {index} is empty")]
    EmptyTransaction {
        /// Block position in the stream.
        block: usize,
        /// Transaction position in its block.
        index: usize,
    },
    /// The decompressed payload is malformed.
    #[error("malformed {layout} payload: {reason}")]
    Malformed {
        /// The payload layout.
        layout: &'static str,
        /// What is wrong, and where.
        reason: String,
    },
}

/// Why blocks could not be laid out as checkpoint data, or blobs could not
/// be read back as checkpoint data (docs/da.md, "Checkpoint data").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlobError {
    /// No blobs were given.
    #[error("no blobs")]
    NoBlobs,
    /// More blobs than a checkpoint may carry (given, or needed by the
    /// data being encoded).
    #[error("{count} blobs, more than the {max} a checkpoint may carry")]
    TooManyBlobs {
        /// Blobs given or needed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A field element's first byte is not zero.
    #[error("blob {blob} field element {element} has first byte {byte:#04x}, not 0")]
    NonZeroHighByte {
        /// Blob index.
        blob: usize,
        /// Field element index in the blob.
        element: usize,
        /// The byte found.
        byte: u8,
    },
    /// Checkpoint data without a block: there is nothing to encode, or the
    /// blobs' first segment length is zero.
    #[error("checkpoint data holds no blocks")]
    NoBlocks,
    /// More segments (blocks) than a checkpoint may hold.
    #[error("more than {max} segments (blocks) in a checkpoint")]
    TooManySegments {
        /// The limit, [`crate::MAX_BLOCKS`].
        max: usize,
    },
    /// A segment's length runs past the end of the blobs' data.
    #[error(
        "segment {segment} at data byte {offset} is {len} bytes, but only {available} follow its length"
    )]
    SegmentPastEnd {
        /// Segment position.
        segment: usize,
        /// Data offset of its length prefix.
        offset: usize,
        /// The length it declares.
        len: u64,
        /// Data bytes after the prefix.
        available: usize,
    },
    /// A segment's stream holds other than exactly one block.
    #[error("segment {segment} holds {blocks} blocks, not exactly one")]
    SegmentBlocks {
        /// Segment position.
        segment: usize,
        /// Blocks its stream holds.
        blocks: usize,
    },
    /// More blobs than the data needs: a blob holds only padding.
    #[error("{count} blobs for {len} data bytes, which need {needed}")]
    ExtraBlobs {
        /// Blobs given.
        count: usize,
        /// Data bytes before the terminator.
        len: usize,
        /// Blobs they need.
        needed: usize,
    },
    /// A byte after the data's end is not zero.
    #[error("blob {blob} field element {element} has a non-zero byte after the data's end")]
    NonZeroPadding {
        /// Blob index.
        blob: usize,
        /// Field element index in the blob.
        element: usize,
    },
}

/// Why a commitment, a proof or a check failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KzgError {
    /// c-kzg refused the input or failed (a blob with a non-canonical field
    /// element, or an internal error).
    #[error("KZG: {0}")]
    Kzg(String),
    /// A blob's commitment does not hash to the expected versioned hash.
    #[error(
        "blob {index} does not match its versioned hash: expected {expected}, the blob commits to {actual}"
    )]
    VersionedHashMismatch {
        /// Blob position.
        index: usize,
        /// The hash that was expected (from L1).
        expected: B256,
        /// The hash of the blob's commitment.
        actual: B256,
    },
    /// Blobs and expected hashes differ in number.
    #[error("{blobs} blobs but {hashes} versioned hashes")]
    CountMismatch {
        /// Blobs given.
        blobs: usize,
        /// Hashes given.
        hashes: usize,
    },
}

impl From<c_kzg::Error> for KzgError {
    fn from(e: c_kzg::Error) -> Self {
        Self::Kzg(e.to_string())
    }
}

/// Any failure of the whole path from blocks to blobs and back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DaError {
    /// The stream layer failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The blob layer failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// KZG failed.
    #[error(transparent)]
    Kzg(#[from] KzgError),
    /// A checkpoint segment's stream does not decode.
    #[error("segment {segment}: {error}")]
    Segment {
        /// Segment (and block) position.
        segment: usize,
        /// Why its stream does not decode.
        #[source]
        error: StreamError,
    },
}
