//! What is known about a block before it is built, and what building yields.

use std::sync::Arc;

use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::{Address, B256, Bytes};
use chunkseq_primitives::{BlockHeader, BlockIndex, BlockNumber, Slot, UnixMillis};
use chunkseq_state::SealedState;

/// The fields of a block fixed before its first transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block.
    pub number: BlockNumber,
    /// Slot whose proposer builds it.
    pub slot: Slot,
    /// Index within the slot.
    pub index: BlockIndex,
    /// Hash of the parent block.
    pub parent_hash: B256,
    /// When the block closes (unix milliseconds); the EVM sees whole seconds.
    pub timestamp: UnixMillis,
    /// Receiver of the fees.
    pub coinbase: Address,
    /// Gas limit of the block.
    pub gas_limit: u64,
    /// Most transactions the block may hold.
    pub max_txs: u32,
    /// Chain id transactions must carry.
    pub chain_id: u64,
}

impl BlockContext {
    /// The context a received header claims, for re-executing it.
    pub const fn of_header(header: &BlockHeader, max_txs: u32, chain_id: u64) -> Self {
        Self {
            number: BlockNumber(header.number),
            slot: Slot(header.slot),
            index: BlockIndex(header.index),
            parent_hash: header.parentHash,
            timestamp: UnixMillis(header.timestamp),
            coinbase: header.coinbase,
            gas_limit: header.gasLimit,
            max_txs,
            chain_id,
        }
    }
}

/// A finished block: header, body, receipts and the resulting state.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The sealed header.
    pub header: BlockHeader,
    /// The EIP-2718 encoded transactions, in order.
    pub transactions: Vec<Bytes>,
    /// The receipts, in order.
    pub receipts: Vec<ReceiptEnvelope>,
    /// The state after the block, ready to build on or commit.
    pub state: Arc<SealedState>,
}

impl BuiltBlock {
    /// The block hash.
    pub fn hash(&self) -> B256 {
        self.header.hash()
    }
}
