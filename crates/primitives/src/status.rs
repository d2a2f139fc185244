//! Where a transaction stands: one type, with one name per status, for the
//! core, the node's index, the RPC and the reports.

use serde::{Deserialize, Serialize};

/// Where a transaction stands.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// In the pool.
    #[default]
    Pending,
    /// In a proposed block.
    Proposed,
    /// In a provisional block.
    Provisional,
    /// In a block checkpointed on L1.
    Checkpointed,
    /// Its block was dropped by a reorg; it went back to the pool if still valid.
    Dropped,
}

impl TxStatus {
    /// The name used in logs, RPC and reports (the serde name too).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Proposed => "proposed",
            Self::Provisional => "provisional",
            Self::Checkpointed => "checkpointed",
            Self::Dropped => "dropped",
        }
    }
}

impl std::fmt::Display for TxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serde_name_is_the_name() {
        for s in [
            TxStatus::Pending,
            TxStatus::Proposed,
            TxStatus::Provisional,
            TxStatus::Checkpointed,
            TxStatus::Dropped,
        ] {
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<TxStatus>(&json).ok(), Some(s));
        }
    }
}
