//! Forks: uncommitted block states layered over the committed state.

use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;

use crate::{
    account::Account, diff::StateDiff, error::StateError, smt::SparseMerkleTree, snapshot::Snapshot,
};

/// The block a state builds on: identified by number, hash and state root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    /// Its number.
    pub number: BlockNumber,
    /// Its hash.
    pub block_hash: B256,
    /// Its state root.
    pub state_root: B256,
}

/// The writes of one uncommitted block, as a layer under later forks. It
/// holds no reference to older blocks, so a long pipeline frees each block's
/// writes once they are committed and no fork layers on them.
#[derive(Debug)]
pub(crate) struct Layer {
    pub(crate) number: BlockNumber,
    pub(crate) block_hash: B256,
    pub(crate) parent: Option<Parent>,
    pub(crate) diff: Arc<StateDiff>,
}

/// A block's state being built: reads see the block's own writes, then its
/// uncommitted ancestors' (newest first), then the committed state.
#[derive(Debug)]
pub struct Fork {
    pub(crate) base: Arc<Snapshot>,
    pub(crate) layers: Vec<Arc<Layer>>,
    pub(crate) parent: Option<Parent>,
    pub(crate) parent_tree: SparseMerkleTree,
    pub(crate) diff: StateDiff,
}

/// A block's finished state: its writes, the resulting tree and root. Build
/// the next block on it with [`crate::StateDb::fork_on`], commit it with
/// [`crate::StateDb::commit`].
#[derive(Debug)]
pub struct SealedState {
    pub(crate) layers: Vec<Arc<Layer>>,
    pub(crate) parent: Option<Parent>,
    pub(crate) number: BlockNumber,
    pub(crate) diff: Arc<StateDiff>,
    pub(crate) tree: SparseMerkleTree,
}

impl Fork {
    /// The block this fork builds on.
    pub const fn parent(&self) -> Option<Parent> {
        self.parent
    }

    /// The number of the block being built.
    pub fn number(&self) -> BlockNumber {
        child_number(self.parent)
    }

    /// The writes so far.
    pub const fn diff(&self) -> &StateDiff {
        &self.diff
    }

    /// Adds writes (for instance one transaction's) on top of the fork's.
    pub fn apply(&mut self, writes: StateDiff) {
        self.diff.extend(writes);
    }

    /// An account as this fork sees it.
    pub fn account(&self, address: &Address) -> Result<Option<Account>, StateError> {
        for diff in self.layers() {
            if let Some(a) = diff.accounts.get(address) {
                return Ok(*a);
            }
        }
        self.base.account(address)
    }

    /// A storage slot as this fork sees it.
    pub fn storage(&self, address: &Address, slot: U256) -> Result<U256, StateError> {
        for diff in self.layers() {
            if let Some(v) = diff.storage.get(&(*address, slot)) {
                return Ok(*v);
            }
        }
        self.base.storage(address, slot)
    }

    /// Code by hash.
    pub fn code(&self, hash: &B256) -> Result<Option<Bytes>, StateError> {
        for diff in self.layers() {
            if let Some(c) = diff.code.get(hash) {
                return Ok(Some(c.clone()));
            }
        }
        self.base.code(hash)
    }

    /// The hash of block `number` on this fork's own chain: its parent, an
    /// uncommitted ancestor, or a committed block. `None` for a block the
    /// chain does not have (at or above the block being built).
    pub fn block_hash(&self, number: BlockNumber) -> Result<Option<B256>, StateError> {
        let Some(parent) = self.parent else {
            return Ok(None);
        };
        if number > parent.number {
            return Ok(None);
        }
        if number == parent.number {
            return Ok(Some(parent.block_hash));
        }
        if let Some(layer) = self.layers.iter().find(|l| l.number == number) {
            return Ok(Some(layer.block_hash));
        }
        Ok(self.base.header(number.0)?.map(|(hash, _)| hash))
    }

    /// Finishes the block: computes the new tree and state root.
    pub fn seal(self) -> SealedState {
        let tree = self.parent_tree.update(self.diff.tree_updates());
        SealedState {
            layers: self.layers,
            number: child_number(self.parent),
            parent: self.parent,
            diff: Arc::new(self.diff),
            tree,
        }
    }

    fn layers(&self) -> impl Iterator<Item = &StateDiff> {
        std::iter::once(&self.diff).chain(self.layers.iter().rev().map(|l| l.diff.as_ref()))
    }
}

impl SealedState {
    /// The block's number.
    pub const fn number(&self) -> BlockNumber {
        self.number
    }

    /// The state root after the block.
    pub fn state_root(&self) -> B256 {
        self.tree.root()
    }

    /// What the block built on.
    pub const fn parent(&self) -> Option<Parent> {
        self.parent
    }

    /// The block's writes.
    pub fn diff(&self) -> &StateDiff {
        &self.diff
    }

    /// This state as the parent of the next block, once its hash is known.
    pub fn as_parent(&self, block_hash: B256) -> Parent {
        Parent {
            number: self.number,
            block_hash,
            state_root: self.state_root(),
        }
    }

    /// This state as a layer under the next block.
    pub(crate) fn as_layer(&self, block_hash: B256) -> Arc<Layer> {
        Arc::new(Layer {
            number: self.number,
            block_hash,
            parent: self.parent,
            diff: self.diff.clone(),
        })
    }
}

fn child_number(parent: Option<Parent>) -> BlockNumber {
    parent.map_or(BlockNumber(0), |p| {
        BlockNumber(p.number.0.saturating_add(1))
    })
}
