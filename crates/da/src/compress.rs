//! zstd behind the codecs, with an explicitly bounded decompressor: the
//! output buffer is allocated to the declared length (itself bounded by the
//! caller) and decompression fails rather than write one byte more.

use crate::error::StreamError;

const NAME: &str = "zstd";

/// Compresses `data` into one zstd frame at `level` (1 to 22).
pub(crate) fn compress(data: &[u8], level: i32) -> Result<Vec<u8>, StreamError> {
    zstd::bulk::compress(data, level).map_err(|e| StreamError::Compress {
        codec: NAME,
        reason: e.to_string(),
    })
}

/// Decompresses `data`, which must give exactly `len` bytes; `len` is the
/// caller's bounded, declared length, and no more is ever written.
pub(crate) fn decompress(data: &[u8], len: usize) -> Result<Vec<u8>, StreamError> {
    let fail = |reason: String| StreamError::Decompress {
        codec: NAME,
        reason,
    };
    let mut out = Vec::with_capacity(len);
    // Writes into `out`'s spare capacity only: content that would take more
    // than `len` bytes is an error, whatever the frame header claims.
    zstd::bulk::Decompressor::new()
        .and_then(|mut d| d.decompress_to_buffer(data, &mut out))
        .map_err(|e| fail(e.to_string()))?;
    if out.len() != len {
        return Err(fail(format!(
            "{} bytes out, the header declares {len}",
            out.len()
        )));
    }
    Ok(out)
}
