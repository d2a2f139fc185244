//! The node's index: what the RPC serves about blocks, transactions,
//! checkpoints and evidence, written as a function of the core's events and
//! of which blocks this process indexed as provisional ([`Indexed`]). It
//! reads nothing back, so what the index holds is decided by the core
//! alone.
//!
//! A transaction is written once when its block becomes provisional. When
//! the block is checkpointed, only the block's record changes (status, L1
//! block and transaction), and the store reports its transactions
//! checkpointed from it ([`crate::store::NodeStore::tx`]): rewriting 8,000
//! transaction records per checkpoint took 130-170 ms of each node's core
//! thread at 1,000 tx/s, every slot (docs/throughput.md). The transactions
//! of a checkpointed block this process did not index (one it caught up
//! on) are written then.

use std::collections::HashSet;

use alloy_primitives::B256;
use chunkseq_protocol::{BlockEntry, CheckpointRecord, Event, TxStatus};

use crate::{
    block_body::BlockBody,
    store::{Batch, BlockRecord, BlockStatus, TxRecord},
};

/// The provisional blocks whose transactions this process indexed, until
/// they are checkpointed or dropped.
#[derive(Debug, Default)]
pub struct Indexed {
    blocks: HashSet<B256>,
}

/// Adds to `batch` what `event` changes in the index.
pub fn record(event: &Event, batch: &mut Batch, indexed: &mut Indexed) {
    match event {
        Event::ProvisionalAccepted { block, .. } => {
            for (i, tx) in block.txs.iter().enumerate() {
                batch.tx(*tx, in_block(block, i, TxStatus::Provisional, None));
            }
            batch.block(BlockRecord::new(block, BlockStatus::Provisional));
            batch.body(block.header.number, &BlockBody::of(block));
            indexed.blocks.insert(block.hash);
        }
        Event::CheckpointAccepted {
            blocks,
            l1_block,
            l1_tx,
            ..
        } => {
            for block in blocks {
                if !indexed.blocks.remove(&block.hash) {
                    for (i, tx) in block.txs.iter().enumerate() {
                        batch.tx(
                            *tx,
                            in_block(block, i, TxStatus::Checkpointed, Some((*l1_block, *l1_tx))),
                        );
                    }
                    batch.body(block.header.number, &BlockBody::of(block));
                }
                batch.block(BlockRecord::checkpointed(block, *l1_block, *l1_tx));
            }
            if let Some(r) = CheckpointRecord::from_accepted(event) {
                batch.checkpoint(r);
            }
        }
        // Provisional and checkpointed statuses are written with their
        // block. The others describe the pool, which the core answers for
        // (`Core::tx_status`) and which does not survive a restart: they
        // are not written (two index writes per transaction and node fewer,
        // a fifth of the devnet's CPU at 1,000 tx/s), and a transaction
        // dropped from its block loses its record, so the core answers.
        Event::TxStatusChanged {
            hash,
            status: TxStatus::Dropped | TxStatus::Replaced,
            ..
        } => batch.forget_tx(*hash),
        // Dropped blocks go, with their bodies; their transactions' records
        // too, so the core answers for them (back in the pool) and their
        // receipts are null again.
        Event::Reorg {
            dropped,
            dropped_txs,
            new_tip_number,
            ..
        } => {
            for b in dropped {
                indexed.blocks.remove(b);
            }
            for tx in dropped_txs {
                batch.forget_tx(*tx);
            }
            batch.truncate_above(*new_tip_number, dropped.clone());
        }
        Event::EvidenceFound {
            offence,
            offender,
            slot,
        } => {
            if let Ok(bytes) = serde_json::to_vec(&(offence, offender, slot)) {
                batch.evidence(bytes);
            }
        }
        _ => {}
    }
}

/// The record of the `i`th transaction of `block`.
fn in_block(
    block: &BlockEntry,
    i: usize,
    status: TxStatus,
    l1: Option<(u64, alloy_primitives::B256)>,
) -> TxRecord {
    TxRecord {
        status,
        block_number: Some(block.header.number),
        block_hash: Some(block.hash),
        slot: Some(block.header.slot),
        index: u32::try_from(i).ok(),
        attestations: (block.attestations > 0).then_some(block.attestations),
        threshold: (block.threshold > 0).then_some(block.threshold),
        l1_block: l1.map(|(b, _)| b),
        l1_tx: l1.map(|(_, t)| t),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use alloy_primitives::{Address, B256, Bytes};
    use chunkseq_primitives::BlockHeader;

    use super::*;

    fn entry(number: u64, txs: usize, attestations: usize) -> BlockEntry {
        BlockEntry {
            header: BlockHeader {
                number,
                slot: 3,
                index: 0,
                ..BlockHeader::default()
            },
            hash: B256::repeat_byte(number as u8),
            txs: (0..txs).map(|i| B256::repeat_byte(100 + i as u8)).collect(),
            transactions: Vec::new(),
            senders: Vec::new(),
            receipts: Default::default(),
            attestations,
            threshold: 3,
            tip_percentiles: Vec::new(),
        }
    }

    #[test]
    fn a_provisional_block_records_the_block_and_its_transactions() {
        let mut b = Batch::default();
        record(
            &Event::ProvisionalAccepted {
                slot: 3,
                index: 0,
                number: 7,
                hash: B256::repeat_byte(7),
                block: Box::new(entry(7, 2, 3)),
            },
            &mut b,
            &mut Indexed::default(),
        );
        let (blocks, txs, checkpoints) = (b.blocks(), b.txs(), b.checkpoints());
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].status, BlockStatus::Provisional);
        assert_eq!(txs.len(), 2);
        let second = txs[1].1.as_ref().unwrap();
        assert_eq!(second.index, Some(1));
        assert_eq!(second.status, TxStatus::Provisional);
        assert_eq!(second.attestations, Some(3));
        assert!(checkpoints.is_empty());
    }

    #[test]
    fn a_checkpoint_records_its_blocks_and_what_peers_are_served() {
        let mut b = Batch::default();
        let l1_tx = B256::repeat_byte(0xaa);
        record(
            &Event::CheckpointAccepted {
                slot: 3,
                header_hash: B256::repeat_byte(1),
                proposer: Address::repeat_byte(2),
                rescuer: None,
                headers: vec![entry(7, 1, 3).header, entry(8, 0, 0).header],
                blocks: vec![entry(7, 1, 3), entry(8, 0, 0)],
                bodies: vec![Bytes::new(), Bytes::new()],
                blob_hashes: vec![],
                last_number: 8,
                l1_block: 40,
                l1_tx,
            },
            &mut b,
            &mut Indexed::default(),
        );
        let (blocks, txs, checkpoints) = (b.blocks(), b.txs(), b.checkpoints());
        assert_eq!(blocks.len(), 2);
        assert!(blocks.iter().all(|b| b.status == BlockStatus::Checkpointed));
        let first = txs[0].1.as_ref().unwrap();
        assert_eq!(first.l1_tx, Some(l1_tx));
        assert_eq!(first.l1_block, Some(40));
        assert_eq!(first.threshold, Some(3), "kept from its provisional block");
        assert_eq!(checkpoints.len(), 1);
        assert_eq!(checkpoints[0].headers.len(), 2);
    }

    #[test]
    fn a_checkpoint_rewrites_the_transactions_of_blocks_this_process_did_not_index_only() {
        let mut indexed = Indexed::default();
        let (seen, caught_up) = (entry(7, 2, 3), entry(8, 3, 3));
        let seen = BlockEntry {
            hash: B256::repeat_byte(70),
            ..seen
        };
        record(
            &Event::ProvisionalAccepted {
                slot: 3,
                index: 0,
                number: 7,
                hash: seen.hash,
                block: Box::new(seen.clone()),
            },
            &mut Batch::default(),
            &mut indexed,
        );
        let mut b = Batch::default();
        record(
            &Event::CheckpointAccepted {
                slot: 3,
                header_hash: B256::repeat_byte(1),
                proposer: Address::repeat_byte(2),
                rescuer: None,
                headers: vec![seen.header.clone(), caught_up.header.clone()],
                blocks: vec![seen, caught_up],
                bodies: vec![Bytes::new(), Bytes::new()],
                last_number: 8,
                l1_block: 40,
                l1_tx: B256::repeat_byte(0xaa),
                blob_hashes: Vec::new(),
            },
            &mut b,
            &mut indexed,
        );
        assert_eq!(b.txs().len(), 3, "only the caught-up block's transactions");
        assert!(b.blocks().iter().all(|r| r.l1_block == Some(40)));
        assert!(indexed.blocks.is_empty());
    }

    #[test]
    fn pool_statuses_are_not_written_and_a_dropped_transaction_is_forgotten() {
        let mut b = Batch::default();
        let hash = B256::repeat_byte(5);
        for status in [
            TxStatus::Pending,
            TxStatus::Proposed,
            TxStatus::Provisional,
            TxStatus::Checkpointed,
        ] {
            record(
                &Event::TxStatusChanged {
                    hash,
                    status,
                    detail: None,
                },
                &mut b,
                &mut Indexed::default(),
            );
        }
        assert!(
            b.is_empty(),
            "the core answers for the pool; blocks carry the rest"
        );
        record(
            &Event::TxStatusChanged {
                hash,
                status: TxStatus::Dropped,
                detail: None,
            },
            &mut b,
            &mut Indexed::default(),
        );
        assert_eq!(b.txs(), &[(hash, None)], "its block record goes");
    }
}
