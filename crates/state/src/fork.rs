//! Forks: uncommitted block states layered over the committed state.

use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;

use crate::{
    account::Account, diff::StateDiff, error::StateError, smt::SparseMerkleTree, snapshot::Snapshot,
};

/// The state a block builds on: a committed block, or none before genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    /// Its number.
    pub number: BlockNumber,
    /// Its state root.
    pub state_root: B256,
}

/// A block's state being built: reads see the block's own writes, then its
/// uncommitted ancestors' (newest first), then the committed state.
#[derive(Debug)]
pub struct Fork {
    pub(crate) base: Arc<Snapshot>,
    pub(crate) ancestors: Vec<Arc<SealedState>>,
    pub(crate) parent: Option<Parent>,
    pub(crate) parent_tree: SparseMerkleTree,
    pub(crate) diff: StateDiff,
}

/// A block's finished state: its writes, the resulting tree and root. Build
/// the next block on it with [`crate::StateDb::fork_on`], commit it with
/// [`crate::StateDb::commit`].
#[derive(Debug)]
pub struct SealedState {
    pub(crate) ancestors: Vec<Arc<SealedState>>,
    pub(crate) parent: Option<Parent>,
    pub(crate) number: BlockNumber,
    pub(crate) diff: StateDiff,
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

    /// Finishes the block: computes the new tree and state root.
    pub fn seal(self) -> SealedState {
        let tree = self.parent_tree.update(self.diff.tree_updates());
        SealedState {
            ancestors: self.ancestors,
            number: child_number(self.parent),
            parent: self.parent,
            diff: self.diff,
            tree,
        }
    }

    fn layers(&self) -> impl Iterator<Item = &StateDiff> {
        std::iter::once(&self.diff).chain(self.ancestors.iter().rev().map(|s| &s.diff))
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
    pub const fn diff(&self) -> &StateDiff {
        &self.diff
    }

    /// This state as a parent.
    pub fn as_parent(&self) -> Parent {
        Parent {
            number: self.number,
            state_root: self.state_root(),
        }
    }
}

fn child_number(parent: Option<Parent>) -> BlockNumber {
    parent.map_or(BlockNumber(0), |p| {
        BlockNumber(p.number.0.saturating_add(1))
    })
}
