//! What a node tells its subscribers (websocket subscriptions, the devnet's
//! reporter): provisional blocks, checkpoints, reorgs and evidence.

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{Offence, StatusDetail, TxStatus};
use chunkseq_protocol::{Event, ReorgCause};
use serde::Serialize;

use crate::store::{BlockRecord, BlockStatus};

/// One notification, as JSON-RPC subscriptions send it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Notification {
    /// A block became provisional.
    Provisional {
        /// The block.
        block: Box<BlockRecord>,
        /// The threshold of attestations it met.
        threshold: usize,
    },
    /// A checkpoint was applied from L1.
    #[serde(rename_all = "camelCase")]
    Checkpoint {
        /// Slot.
        slot: u64,
        /// Blocks in it.
        blocks: u32,
        /// Height of its last block.
        last_number: u64,
        /// The L1 block that holds it.
        l1_block: u64,
        /// The L1 transaction that carried it.
        l1_tx: B256,
        /// Blobs that carried its data (0: calldata).
        blobs: u32,
        /// Who published it in its proposer's place (a rescue); absent
        /// when the proposer did.
        #[serde(skip_serializing_if = "Option::is_none")]
        rescued_by: Option<Address>,
    },
    /// This node sent a rescue of a slot whose proposer did not publish it
    /// (on the `checkpoints` subscription).
    #[serde(rename_all = "camelCase")]
    RescueSubmitted {
        /// Slot.
        slot: u64,
        /// Blocks in it.
        blocks: u32,
        /// Blobs that carry its data (0: calldata).
        blobs: u32,
    },
    /// Provisional blocks were retracted.
    #[serde(rename_all = "camelCase")]
    Reorg {
        /// Why.
        cause: ReorgCause,
        /// The slots whose blocks were dropped.
        slots: Vec<u64>,
        /// The retracted blocks, oldest first.
        retracted_blocks: Vec<B256>,
        /// Their transactions (back in the pool when still valid).
        retracted_txs: Vec<B256>,
        /// The provisional tip afterwards.
        new_tip: B256,
    },
    /// An offence was detected (and gossiped / reported to L1).
    Evidence {
        /// The offence.
        offence: Offence,
        /// The offender.
        offender: Address,
        /// Its slot.
        slot: u64,
    },
    /// L1 slashed a validator.
    Slashed {
        /// The offender.
        validator: Address,
        /// The offence.
        offence: Offence,
        /// Its slot.
        slot: u64,
    },
    /// This node took a slot of its key over from the partner node of a
    /// validator pair.
    #[serde(rename_all = "camelCase")]
    Failover {
        /// Slot.
        slot: u64,
        /// The first block index this node builds or resumes.
        from_index: u32,
        /// The partner that held the slot, as it names itself.
        previous: String,
    },
    /// A transaction this node holds changed status.
    Tx {
        /// The transaction.
        hash: B256,
        /// Its new status.
        status: TxStatus,
        /// Why it left the pool without a block (replaced or dropped by
        /// the pool): `{"reason": "replaced_by", "hash": ...}`,
        /// `{"reason": "evicted"}`, `"expired"`, `"nonce_used"`.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<StatusDetail>,
    },
}

impl Notification {
    /// The subscription that carries it.
    pub const fn subscription(&self) -> &'static str {
        match self {
            Self::Provisional { .. } => "provisional",
            Self::Checkpoint { .. } | Self::RescueSubmitted { .. } => "checkpoints",
            Self::Reorg { .. } => "reorgs",
            Self::Evidence { .. } | Self::Slashed { .. } => "evidence",
            Self::Failover { .. } => "failovers",
            Self::Tx { .. } => "txs",
        }
    }
}

impl Notification {
    /// What subscribers hear of a core event (`None`: nothing).
    pub fn from_event(e: &Event) -> Option<Self> {
        Some(match e {
            Event::ProvisionalAccepted { block, .. } => Self::Provisional {
                block: Box::new(BlockRecord::new(block, BlockStatus::Provisional)),
                threshold: block.threshold,
            },
            Event::CheckpointAccepted {
                slot,
                blocks,
                last_number,
                l1_block,
                l1_tx,
                blob_hashes,
                rescuer,
                headers,
                ..
            } => Self::Checkpoint {
                slot: *slot,
                blocks: u32::try_from(headers.len().max(blocks.len())).unwrap_or(u32::MAX),
                last_number: *last_number,
                l1_block: *l1_block,
                l1_tx: *l1_tx,
                blobs: u32::try_from(blob_hashes.len()).unwrap_or(u32::MAX),
                rescued_by: *rescuer,
            },
            Event::RescueSubmitted {
                slot,
                blocks,
                blobs,
            } => Self::RescueSubmitted {
                slot: *slot,
                blocks: *blocks,
                blobs: *blobs,
            },
            Event::Reorg {
                cause,
                slots,
                dropped,
                dropped_txs,
                new_tip,
                ..
            } => Self::Reorg {
                cause: *cause,
                slots: slots.clone(),
                retracted_blocks: dropped.clone(),
                retracted_txs: dropped_txs.clone(),
                new_tip: *new_tip,
            },
            Event::EvidenceFound {
                offence,
                offender,
                slot,
            } => Self::Evidence {
                offence: *offence,
                offender: *offender,
                slot: *slot,
            },
            Event::OffenceSlashed {
                validator,
                offence,
                slot,
            } => Self::Slashed {
                validator: *validator,
                offence: *offence,
                slot: *slot,
            },
            Event::HaFailover {
                slot,
                from_index,
                previous,
            } => Self::Failover {
                slot: *slot,
                from_index: *from_index,
                previous: previous.clone(),
            },
            Event::TxStatusChanged {
                hash,
                status,
                detail,
            } => Self::Tx {
                hash: *hash,
                status: *status,
                detail: *detail,
            },
            _ => return None,
        })
    }
}

/// Where a node's notifications go: one broadcast channel for transaction
/// statuses, which come thousands a second under load, and one for the
/// rest, so a subscriber to blocks, checkpoints, reorgs or evidence never
/// misses one for falling behind on transactions.
#[derive(Clone, Debug)]
pub struct Notifier {
    events: tokio::sync::broadcast::Sender<Notification>,
    txs: tokio::sync::broadcast::Sender<Notification>,
}

impl Notifier {
    /// Notifications a subscriber may fall behind by before it misses the
    /// oldest, of blocks, checkpoints, reorgs and evidence.
    pub const CAPACITY: usize = 4_096;
    /// The same for transaction statuses (a few thousand a second at
    /// 1,000 tx/s; a reorg of two full slots sends 32,000 at once).
    pub const TX_CAPACITY: usize = 16_384;

    /// Two empty channels.
    pub fn new() -> Self {
        Self {
            events: tokio::sync::broadcast::channel(Self::CAPACITY).0,
            txs: tokio::sync::broadcast::channel(Self::TX_CAPACITY).0,
        }
    }

    /// Sends `n` to the subscribers of its kind (none is fine).
    pub fn send(&self, n: Notification) {
        let channel = match n {
            Notification::Tx { .. } => &self.txs,
            _ => &self.events,
        };
        let _ = channel.send(n);
    }

    /// Every notification but transaction statuses, from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Notification> {
        self.events.subscribe()
    }

    /// Transaction statuses ([`Notification::Tx`]), from now on.
    pub fn subscribe_txs(&self) -> tokio::sync::broadcast::Receiver<Notification> {
        self.txs.subscribe()
    }

    /// The channel of the subscription `kind` (`txs` or another).
    pub fn subscribe_to(&self, kind: &str) -> tokio::sync::broadcast::Receiver<Notification> {
        if kind == "txs" {
            self.subscribe_txs()
        } else {
            self.subscribe()
        }
    }
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_the_pool_let_go_reaches_subscribers_with_why() {
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let replaced = Notification::from_event(&Event::TxStatusChanged {
            hash: a,
            status: TxStatus::Replaced,
            detail: Some(StatusDetail::ReplacedBy { hash: b }),
        })
        .map(|n| serde_json::to_value(n).unwrap_or_default());
        assert_eq!(
            replaced,
            Some(serde_json::json!({
                "kind": "tx",
                "hash": a,
                "status": "replaced",
                "detail": { "reason": "replaced_by", "hash": b },
            }))
        );
        let pending = Notification::from_event(&Event::TxStatusChanged {
            hash: a,
            status: TxStatus::Pending,
            detail: None,
        })
        .map(|n| serde_json::to_value(n).unwrap_or_default());
        assert_eq!(
            pending,
            Some(serde_json::json!({ "kind": "tx", "hash": a, "status": "pending" }))
        );
    }
}
