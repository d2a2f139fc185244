//! Codecs: the byte after the stream's version, naming how the blocks were
//! laid out and compressed.

use std::fmt;

use crate::compress::Compressor;

/// How a stream's payload is laid out and compressed. The discriminant is
/// the codec byte on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// The plain layout (`plain.rs`), compressed with zstd.
    PlainZstd = 0x01,
    /// The plain layout, compressed with brotli.
    PlainBrotli = 0x02,
    /// The columnar layout (`columnar.rs`), compressed with zstd.
    ColumnarZstd = 0x03,
    /// The columnar layout, compressed with brotli.
    ColumnarBrotli = 0x04,
}

/// How the blocks become bytes before compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Plain,
    Columnar,
}

impl Codec {
    /// Every codec, in codec-byte order.
    pub const ALL: [Self; 4] = [
        Self::PlainZstd,
        Self::PlainBrotli,
        Self::ColumnarZstd,
        Self::ColumnarBrotli,
    ];

    /// The codec the encoder uses unless told otherwise (docs/da.md has the
    /// figures that chose it).
    pub const DEFAULT: Self = Self::ColumnarZstd;

    /// The codec named by `byte`, if any.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::PlainZstd),
            0x02 => Some(Self::PlainBrotli),
            0x03 => Some(Self::ColumnarZstd),
            0x04 => Some(Self::ColumnarBrotli),
            _ => None,
        }
    }

    /// The codec byte.
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// The level [`crate::encode_stream`] compresses at: zstd's level or
    /// brotli's quality.
    pub const fn default_level(self) -> i32 {
        match self.compressor() {
            Compressor::Zstd => 19,
            Compressor::Brotli => 9,
        }
    }

    /// A short name, e.g. `columnar+zstd`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PlainZstd => "plain+zstd",
            Self::PlainBrotli => "plain+brotli",
            Self::ColumnarZstd => "columnar+zstd",
            Self::ColumnarBrotli => "columnar+brotli",
        }
    }

    pub(crate) const fn layout(self) -> Layout {
        match self {
            Self::PlainZstd | Self::PlainBrotli => Layout::Plain,
            Self::ColumnarZstd | Self::ColumnarBrotli => Layout::Columnar,
        }
    }

    pub(crate) const fn compressor(self) -> Compressor {
        match self {
            Self::PlainZstd | Self::ColumnarZstd => Compressor::Zstd,
            Self::PlainBrotli | Self::ColumnarBrotli => Compressor::Brotli,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
