//! What is known about a block before it is built, and what building yields.

use std::sync::Arc;

use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::{Address, B256, Bytes};
use chunkseq_primitives::{BlockHeader, BlockIndex, BlockNumber, FeeSpec, Slot, UnixMillis};
use chunkseq_state::{Fork, SealedState};

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
    /// The chain's fee parameters.
    pub fees: FeeSpec,
    /// Price of a byte of checkpoint data (wei) for the block's data fees:
    /// the proposer's view of L1, bounded by attesters.
    pub data_price: u64,
}

impl BlockContext {
    /// Checks that the context continues `fork`'s chain: the next number on
    /// top of the fork's parent, by hash.
    pub fn check(&self, fork: &Fork) -> Result<(), ContextError> {
        let parent = fork.parent().ok_or(ContextError::NoParent)?;
        if self.number != fork.number() {
            return Err(ContextError::WrongNumber {
                expected: fork.number(),
                found: self.number,
            });
        }
        if self.parent_hash != parent.block_hash {
            return Err(ContextError::WrongParent {
                expected: parent.block_hash,
                found: self.parent_hash,
            });
        }
        Ok(())
    }
}

/// A block context that does not continue the state it is built on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// The fork has no parent (genesis is written, not built).
    #[error("there is no parent block to build on")]
    NoParent,
    /// The block number is not the parent's plus one.
    #[error("block number {found} does not follow the parent: expected {expected}")]
    WrongNumber {
        /// The next number on this fork.
        expected: BlockNumber,
        /// What the context says.
        found: BlockNumber,
    },
    /// The parent hash is not the fork's parent.
    #[error("parent hash {found} is not the parent this state builds on ({expected})")]
    WrongParent {
        /// The fork's parent.
        expected: B256,
        /// What the context says.
        found: B256,
    },
    /// The parent state's fee record could not be read.
    #[error("cannot read the base fee from the parent state: {0}")]
    FeeState(String),
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
