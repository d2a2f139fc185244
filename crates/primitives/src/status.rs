//! Where a transaction stands: one type, with one name per status, for the
//! core, the node's index, the RPC and the reports.

use alloy_primitives::B256;
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
    /// Out of the pool without a block: its block was dropped by a reorg
    /// (it goes back to the pool if still valid, and is then pending
    /// again), or the pool let it go ([`StatusDetail`] says why).
    Dropped,
    /// Replaced in the pool by a transaction of the same sender and nonce
    /// that pays more ([`StatusDetail::ReplacedBy`] names it).
    Replaced,
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
            Self::Replaced => "replaced",
        }
    }
}

impl std::fmt::Display for TxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a transaction left the pool without a block: what a `replaced` or
/// `dropped` status comes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StatusDetail {
    /// A transaction of the same sender and nonce with both fees bumped
    /// took its place.
    ReplacedBy {
        /// The replacement.
        hash: B256,
    },
    /// The pool was full and this one paid the lowest tip.
    Evicted,
    /// It waited behind a nonce gap for longer than the pool keeps such
    /// transactions.
    Expired,
    /// A block took another transaction with its sender and nonce.
    NonceUsed,
}

impl StatusDetail {
    /// The status a transaction with this detail has.
    pub const fn status(self) -> TxStatus {
        match self {
            Self::ReplacedBy { .. } => TxStatus::Replaced,
            _ => TxStatus::Dropped,
        }
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
            TxStatus::Replaced,
        ] {
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<TxStatus>(&json).ok(), Some(s));
        }
    }

    #[test]
    fn a_detail_reads_as_its_reason() {
        let replaced = StatusDetail::ReplacedBy {
            hash: B256::repeat_byte(1),
        };
        let json = serde_json::to_value(replaced).unwrap_or_default();
        assert_eq!(json["reason"], "replaced_by");
        assert_eq!(json["hash"], format!("{}", B256::repeat_byte(1)));
        assert_eq!(replaced.status(), TxStatus::Replaced);
        let json = serde_json::to_value(StatusDetail::Expired).unwrap_or_default();
        assert_eq!(json, serde_json::json!({ "reason": "expired" }));
        assert_eq!(StatusDetail::Expired.status(), TxStatus::Dropped);
    }
}
