//! The stream: a slot's blocks as one versioned, compressed byte string.
//!
//! ```text
//! offset 0   version        1 byte   STREAM_VERSION (0x01)
//! offset 1   codec          1 byte   Codec::byte (0x01 plain+zstd, 0x02 columnar+zstd)
//! offset 2   payload length 4 bytes  big-endian u32, decompressed, at most MAX_DECOMPRESSED_BYTES
//! offset 6   compressed payload, to the end of the stream
//! ```

use alloy_primitives::Bytes;

use crate::{
    MAX_DECOMPRESSED_BYTES,
    checkpoint::MAX_STREAM_BYTES,
    codec::{Codec, Layout},
    columnar, compress,
    error::StreamError,
    plain, shape,
};

/// The stream format this build writes and reads.
pub const STREAM_VERSION: u8 = 0x01;

/// Bytes before the compressed payload: version, codec, payload length.
pub const STREAM_HEADER_BYTES: usize = 6;

/// Encodes `blocks` (each a list of raw EIP-2718 transactions) with the
/// default codec at its default level.
pub fn encode_stream(blocks: &[Vec<Bytes>]) -> Result<Vec<u8>, StreamError> {
    encode_stream_with(blocks, Codec::DEFAULT, Codec::DEFAULT_LEVEL)
}

/// Encodes `blocks` with `codec` at zstd `level`. Fails on blocks outside
/// the bounds the decoder enforces, or a stream too large for a
/// checkpoint's blobs.
pub fn encode_stream_with(
    blocks: &[Vec<Bytes>],
    codec: Codec,
    level: i32,
) -> Result<Vec<u8>, StreamError> {
    let payload = encode_payload(blocks, codec.layout())?;
    // In range: `encode_payload` bounds the payload by MAX_DECOMPRESSED_BYTES.
    let len = u32::try_from(payload.len()).map_err(|_| StreamError::PayloadTooLarge {
        len: payload.len() as u64,
        max: MAX_DECOMPRESSED_BYTES,
    })?;
    let compressed = compress::compress(&payload, level)?;
    let mut stream = Vec::with_capacity(STREAM_HEADER_BYTES.saturating_add(compressed.len()));
    stream.push(STREAM_VERSION);
    stream.push(codec.byte());
    stream.extend_from_slice(&len.to_be_bytes());
    stream.extend_from_slice(&compressed);
    if stream.len() > MAX_STREAM_BYTES {
        return Err(StreamError::StreamTooLarge {
            len: stream.len(),
            max: MAX_STREAM_BYTES,
        });
    }
    Ok(stream)
}

/// The codec a stream declares, after checking its version.
pub fn stream_codec(stream: &[u8]) -> Result<Codec, StreamError> {
    let [version, codec, ..] = stream else {
        return Err(StreamError::TooShort {
            len: stream.len(),
            header: STREAM_HEADER_BYTES,
        });
    };
    if *version != STREAM_VERSION {
        return Err(StreamError::UnknownVersion(*version));
    }
    Codec::from_byte(*codec).ok_or(StreamError::UnknownCodec(*codec))
}

/// Decodes a stream back into its blocks. Bounded: at most
/// [`MAX_STREAM_BYTES`] in, at most [`MAX_DECOMPRESSED_BYTES`] decompressed,
/// and the protocol's block, transaction and size bounds.
pub fn decode_stream(stream: &[u8]) -> Result<Vec<Vec<Bytes>>, StreamError> {
    decode_stream_within(stream, MAX_DECOMPRESSED_BYTES).map(|(blocks, _)| blocks)
}

/// [`decode_stream`] with a payload of at most `max_payload` bytes (the
/// checkpoint decoder's budget, shared by its segments): the blocks and the
/// payload's length.
pub(crate) fn decode_stream_within(
    stream: &[u8],
    max_payload: usize,
) -> Result<(Vec<Vec<Bytes>>, usize), StreamError> {
    if stream.len() > MAX_STREAM_BYTES {
        return Err(StreamError::StreamTooLarge {
            len: stream.len(),
            max: MAX_STREAM_BYTES,
        });
    }
    let codec = stream_codec(stream)?;
    let len = payload_len(stream)?;
    let compressed = stream.get(STREAM_HEADER_BYTES..).unwrap_or_default();
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= max_payload.min(MAX_DECOMPRESSED_BYTES))
        .ok_or(StreamError::PayloadTooLarge {
            len: len.into(),
            max: max_payload.min(MAX_DECOMPRESSED_BYTES),
        })?;
    let blocks = decode_payload(
        Bytes::from(compress::decompress(compressed, len)?),
        codec.layout(),
    )?;
    Ok((blocks, len))
}

/// The decompressed payload length a stream's header declares.
pub(crate) fn payload_len(stream: &[u8]) -> Result<u32, StreamError> {
    stream
        .get(2..STREAM_HEADER_BYTES)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or(StreamError::TooShort {
            len: stream.len(),
            header: STREAM_HEADER_BYTES,
        })
}

/// The uncompressed payload of `blocks` in `layout`: what a stream
/// compresses (public so that other compressors can be measured on it).
/// Checks the bounds the decoder enforces.
pub fn encode_payload(blocks: &[Vec<Bytes>], layout: Layout) -> Result<Vec<u8>, StreamError> {
    shape::check_blocks(blocks)?;
    let mut payload = Vec::new();
    match layout {
        Layout::Plain => plain::encode(blocks, &mut payload),
        Layout::Columnar => columnar::encode(blocks, &mut payload),
    }
    if payload.len() > MAX_DECOMPRESSED_BYTES {
        return Err(StreamError::PayloadTooLarge {
            len: payload.len() as u64,
            max: MAX_DECOMPRESSED_BYTES,
        });
    }
    Ok(payload)
}

/// The blocks of an uncompressed payload in `layout` (at most
/// [`MAX_DECOMPRESSED_BYTES`]).
pub fn decode_payload(payload: Bytes, layout: Layout) -> Result<Vec<Vec<Bytes>>, StreamError> {
    if payload.len() > MAX_DECOMPRESSED_BYTES {
        return Err(StreamError::PayloadTooLarge {
            len: payload.len() as u64,
            max: MAX_DECOMPRESSED_BYTES,
        });
    }
    match layout {
        Layout::Plain => plain::decode(&payload),
        Layout::Columnar => columnar::decode(&payload),
    }
}
