//! Codecs: the byte after the stream's version, naming how the blocks were
//! laid out and compressed.

use std::fmt;

/// How the blocks become bytes before compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Shape, transaction lengths, raw transaction bytes (`plain.rs`).
    Plain,
    /// EIP-1559 fields as columns, other transactions opaque (`columnar.rs`).
    Columnar,
}

impl Layout {
    /// A short name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Columnar => "columnar",
        }
    }
}

/// How a stream's payload is laid out and compressed. The discriminant is
/// the codec byte on the wire. Both codecs compress with zstd (one frame);
/// docs/da.md has the comparison with brotli that left it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// The plain layout, compressed with zstd.
    PlainZstd = 0x01,
    /// The columnar layout, compressed with zstd.
    ColumnarZstd = 0x02,
}

impl Codec {
    /// Every codec, in codec-byte order.
    pub const ALL: [Self; 2] = [Self::PlainZstd, Self::ColumnarZstd];

    /// The codec the encoder uses unless told otherwise (docs/da.md has the
    /// figures that chose it).
    pub const DEFAULT: Self = Self::ColumnarZstd;

    /// The zstd level [`crate::encode_stream`] compresses at: on a full slot
    /// it is within 0.2 % of the smallest stream any measured option gave,
    /// in about 5 ms; higher levels gain nothing on signatures and cost up
    /// to 60 times the time (docs/da.md).
    pub const DEFAULT_LEVEL: i32 = 9;

    /// The codec named by `byte`, if any.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::PlainZstd),
            0x02 => Some(Self::ColumnarZstd),
            _ => None,
        }
    }

    /// The codec byte.
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// A short name, e.g. `columnar+zstd`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PlainZstd => "plain+zstd",
            Self::ColumnarZstd => "columnar+zstd",
        }
    }

    /// The codec called `name` (as [`Codec::name`] spells it), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The payload layout.
    pub const fn layout(self) -> Layout {
        match self {
            Self::PlainZstd => Layout::Plain,
            Self::ColumnarZstd => Layout::Columnar,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
