//! Where a checkpoint's transactions go on L1, and how much a slot may carry.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Most blobs one checkpoint may carry: one L1 transaction's limit from
/// Osaka on (EIP-7594's `MAX_BLOBS_PER_TX`).
pub const MAX_BLOBS_PER_CHECKPOINT: u32 = 6;

/// Most bytes of block bodies one checkpoint may carry as calldata. At the
/// EIP-7623 floor of 40 gas per non-zero byte, 384 KiB costs about 15.7M
/// gas, just under EIP-7825's 16.8M gas cap per transaction.
pub const MAX_CALLDATA_BYTES: u64 = 384 * 1024;

/// Where a checkpoint's transactions are published on L1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    /// As calldata (`bytes[]` bodies, each checked against its header's
    /// `bodyHash`). Attestations sign a zero data hash.
    Calldata,
    /// In EIP-4844 blobs, whose versioned hashes the attestations sign.
    Blobs,
    /// Either: attestations sign the blobs' versioned hashes, and the
    /// proposer publishes in whichever is cheaper at the current L1 fees
    /// (calldata only when the bodies fit `max_calldata_bytes`).
    #[default]
    Auto,
}

impl DataMode {
    /// Every mode.
    pub const ALL: [Self; 3] = [Self::Calldata, Self::Blobs, Self::Auto];

    /// The mode as `ChainSpecParams.dataMode` (0 calldata, 1 blobs, 2 auto).
    pub const fn code(self) -> u8 {
        match self {
            Self::Calldata => 0,
            Self::Blobs => 1,
            Self::Auto => 2,
        }
    }

    /// The mode's name, as in TOML and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Calldata => "calldata",
            Self::Blobs => "blobs",
            Self::Auto => "auto",
        }
    }

    /// Whether attestations sign blob versioned hashes (blobs or auto).
    pub const fn signs_blobs(self) -> bool {
        !matches!(self, Self::Calldata)
    }
}

impl fmt::Display for DataMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A data mode name that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown data mode `{0}`; known: calldata, blobs, auto")]
pub struct UnknownDataMode(pub String);

impl FromStr for DataMode {
    type Err = UnknownDataMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownDataMode(s.to_owned()))
    }
}

/// Serde default of `ChainSpec::data_mode`.
pub(super) const fn default_data_mode() -> DataMode {
    DataMode::Auto
}

/// Serde default of `ChainSpec::max_blobs_per_checkpoint`.
pub(super) const fn default_max_blobs() -> u32 {
    MAX_BLOBS_PER_CHECKPOINT
}

/// Serde default of `ChainSpec::max_calldata_bytes`: 256 KiB.
pub(super) const fn default_max_calldata_bytes() -> u64 {
    256 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for m in DataMode::ALL {
            assert_eq!(m.name().parse::<DataMode>(), Ok(m));
        }
        let codes: Vec<u8> = DataMode::ALL.iter().map(|m| m.code()).collect();
        assert_eq!(codes, [0, 1, 2], "the contract's DATA_* constants");
        assert!("blob".parse::<DataMode>().is_err());
    }
}
