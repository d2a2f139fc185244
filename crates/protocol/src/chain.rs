//! The node's view of the L2 chain: the checkpointed head (committed to the
//! state store) and the provisional blocks above it, each with its state.

use std::sync::Arc;

use alloy_primitives::{B256, Bytes};
use chunkseq_execution::pool::RecoveredTx;
use chunkseq_primitives::{BlockHeader, CheckpointHeader};
use chunkseq_state::{Fork, SealedState, StateDb, StateError};

/// A provisional block: attested by the committee, not yet on L1.
#[derive(Clone, Debug)]
pub struct ChainBlock {
    /// Header.
    pub header: BlockHeader,
    /// `header.hash()`.
    pub hash: B256,
    /// The block's transactions, EIP-2718 encoded.
    pub transactions: Vec<Bytes>,
    /// The same transactions with their senders.
    pub txs: Vec<RecoveredTx>,
    /// Their receipts.
    pub receipts: crate::io::Receipts,
    /// The state after the block.
    pub state: Arc<SealedState>,
    /// The slot's running checkpoint header through this block.
    pub checkpoint_header: CheckpointHeader,
    /// The data hash its attestations sign (see `Attestation.dataHash`).
    pub data_hash: B256,
    /// The attestations that made it provisional (ascending signers).
    pub attestations: Bytes,
    /// The proposer's signature over the provisional-block statement.
    pub proposer_signature: Bytes,
}

/// The last checkpoint accepted on L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointTip {
    /// Its slot (0 before any checkpoint: the genesis).
    pub slot: u64,
    /// Its final checkpoint header hash (zero before any checkpoint).
    pub header_hash: B256,
    /// Its last block's number.
    pub last_number: u64,
    /// Its last block's hash.
    pub last_hash: B256,
    /// The L1 block that included it (0 for genesis).
    pub l1_block: u64,
}

/// The checkpointed chain, committed to the state store, and the provisional
/// blocks on top of it.
#[derive(Debug)]
pub struct Chain {
    db: Arc<StateDb>,
    checkpointed: CheckpointTip,
    /// Checkpoints by L1 block, oldest first, for the finalized tip.
    history: Vec<CheckpointTip>,
    finalized: CheckpointTip,
    provisional: Vec<ChainBlock>,
}

impl Chain {
    /// The chain of `db`, whose head is the genesis or the last checkpointed
    /// block of `tip`.
    pub fn new(db: Arc<StateDb>, tip: CheckpointTip) -> Self {
        Self {
            db,
            checkpointed: tip,
            history: Vec::new(),
            finalized: tip,
            provisional: Vec::new(),
        }
    }

    /// The state store.
    pub fn db(&self) -> &Arc<StateDb> {
        &self.db
    }

    /// The checkpointed tip.
    pub const fn checkpointed(&self) -> CheckpointTip {
        self.checkpointed
    }

    /// The finalized tip.
    pub const fn finalized(&self) -> CheckpointTip {
        self.finalized
    }

    /// The provisional blocks, oldest first.
    pub fn provisional(&self) -> &[ChainBlock] {
        &self.provisional
    }

    /// The attestations provisional block `hash` collected, if it is one.
    pub fn attestations_of(&self, hash: B256) -> Option<Bytes> {
        self.provisional
            .iter()
            .find(|b| b.hash == hash)
            .map(|b| b.attestations.clone())
    }

    /// The provisional tip's hash and number.
    pub fn tip(&self) -> (B256, u64) {
        self.provisional.last().map_or(
            (self.checkpointed.last_hash, self.checkpointed.last_number),
            |b| (b.hash, b.header.number),
        )
    }

    /// The provisional tip block, if it is above the checkpointed tip.
    pub fn tip_block(&self) -> Option<&ChainBlock> {
        self.provisional.last()
    }

    /// The checkpoint header hash a new slot's first block names as parent:
    /// the running header of the provisional tip's slot, or the L1 tip's.
    pub fn parent_checkpoint_hash(&self) -> B256 {
        self.provisional
            .last()
            .map_or(self.checkpointed.header_hash, |b| {
                b.checkpoint_header.hash()
            })
    }

    /// A fork of the state on the provisional tip, to build or re-execute on.
    pub fn fork_at_tip(&self) -> Result<Fork, StateError> {
        match self.provisional.last() {
            Some(b) => self.db.fork_on(&b.state, b.hash),
            None => self.fork_at_checkpoint(),
        }
    }

    /// A fork of the state on the checkpointed tip. The store may be ahead
    /// of it when nodes share one (the simulator): the fork then reads the
    /// store's version of this node's tip, never a newer one.
    pub fn fork_at_checkpoint(&self) -> Result<Fork, StateError> {
        self.db.fork_at(self.checkpointed.last_hash)
    }

    /// A fork on block `hash`, if it is the checkpointed tip or provisional.
    pub fn fork_on(&self, hash: B256) -> Result<Option<Fork>, StateError> {
        match self.provisional.iter().find(|b| b.hash == hash) {
            Some(b) => self.db.fork_on(&b.state, b.hash).map(Some),
            None if hash == self.checkpointed.last_hash => self.fork_at_checkpoint().map(Some),
            None => Ok(None),
        }
    }

    /// Appends a provisional block (the caller checked that it extends the tip).
    pub fn push(&mut self, block: ChainBlock) {
        self.provisional.push(block);
    }

    /// Drops the provisional blocks from position `from` on; returns them.
    pub fn truncate(&mut self, from: usize) -> Vec<ChainBlock> {
        if from >= self.provisional.len() {
            return Vec::new();
        }
        self.provisional.split_off(from)
    }

    /// Position of the first provisional block of `slot` or a later slot.
    pub fn first_at_or_after(&self, slot: u64) -> Option<usize> {
        self.provisional.iter().position(|b| b.header.slot >= slot)
    }

    /// Commits the first `n` provisional blocks to the state store and
    /// takes them off the provisional chain (the caller records the
    /// checkpoint once the rest of it is committed too).
    pub fn commit_prefix(&mut self, n: usize) -> Result<(), StateError> {
        let count = n.min(self.provisional.len());
        for b in self.provisional.iter().take(count) {
            self.db.commit(&b.state, b.hash)?;
        }
        self.provisional.drain(..count);
        Ok(())
    }

    /// Commits a block taken from L1 (re-executed on the checkpointed tip)
    /// directly.
    pub fn commit_direct(&mut self, state: &SealedState, hash: B256) -> Result<(), StateError> {
        self.db.commit(state, hash).map(|_| ())
    }

    /// Records a new checkpointed tip.
    pub fn record_checkpoint(&mut self, tip: CheckpointTip) {
        self.checkpointed = tip;
        self.history.push(tip);
    }

    /// Moves the finalized tip to the newest checkpoint included at or
    /// before L1 block `final_l1_block`.
    pub fn finalize_up_to(&mut self, final_l1_block: u64) -> Option<CheckpointTip> {
        let last = self
            .history
            .iter()
            .rposition(|c| c.l1_block <= final_l1_block)?;
        let tip = *self.history.get(last)?;
        self.history.drain(..=last);
        (tip != self.finalized).then(|| {
            self.finalized = tip;
            tip
        })
    }
}
