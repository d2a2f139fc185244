//! The general compressors behind the codecs, each with an explicitly
//! bounded decompressor: the output buffer is allocated to the declared
//! length (itself bounded by the caller) and decompression fails rather
//! than write one byte more.

use std::io::{self, Write};

use crate::error::StreamError;

/// A general-purpose compressor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compressor {
    /// Zstandard (one frame).
    Zstd,
    /// Brotli (one stream, window 2^24).
    Brotli,
}

impl Compressor {
    const fn name(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Brotli => "brotli",
        }
    }

    /// Compresses `data` at `level` (zstd: 1 to 22; brotli: quality 0 to 11,
    /// clamped).
    pub(crate) fn compress(self, data: &[u8], level: i32) -> Result<Vec<u8>, StreamError> {
        let fail = |e: io::Error| StreamError::Compress {
            codec: self.name(),
            reason: e.to_string(),
        };
        match self {
            Self::Zstd => zstd::bulk::compress(data, level).map_err(fail),
            Self::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: level.clamp(0, 11),
                    lgwin: 24,
                    size_hint: data.len(),
                    ..Default::default()
                };
                let mut out = Vec::with_capacity(data.len() / 2);
                brotli::BrotliCompress(&mut &data[..], &mut out, &params).map_err(fail)?;
                Ok(out)
            }
        }
    }

    /// Decompresses `data`, which must give exactly `len` bytes; `len` is
    /// the caller's bounded, declared length, and no more is ever written.
    pub(crate) fn decompress(self, data: &[u8], len: usize) -> Result<Vec<u8>, StreamError> {
        let fail = |reason: String| StreamError::Decompress {
            codec: self.name(),
            reason,
        };
        let mut out = Vec::with_capacity(len);
        match self {
            Self::Zstd => {
                // Writes into `out`'s spare capacity only: a frame that would
                // produce more than `len` bytes is an error.
                let mut decompressor =
                    zstd::bulk::Decompressor::new().map_err(|e| fail(e.to_string()))?;
                decompressor
                    .decompress_to_buffer(data, &mut out)
                    .map_err(|e| fail(e.to_string()))?;
            }
            Self::Brotli => {
                let mut sink = Bounded {
                    out: &mut out,
                    max: len,
                };
                brotli::BrotliDecompress(&mut &data[..], &mut sink)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
        if out.len() != len {
            return Err(fail(format!(
                "{} bytes out, the header declares {len}",
                out.len()
            )));
        }
        Ok(out)
    }
}

/// A writer that refuses to grow past `max` bytes.
struct Bounded<'a> {
    out: &'a mut Vec<u8>,
    max: usize,
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.max.saturating_sub(self.out.len()) {
            return Err(io::Error::other(format!(
                "output exceeds the declared {} bytes",
                self.max
            )));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
