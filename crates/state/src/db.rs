//! `StateDb`: the committed state on disk, its tree in memory, commit and unwind.

use std::{collections::VecDeque, sync::Arc};

use alloy_primitives::{B256, keccak256};
use chunkseq_primitives::BlockNumber;
use parking_lot::{Mutex, RwLock};
use tracing::{debug, info};

use crate::{
    backend::{StateBackend, StateWrite},
    error::StateError,
    fork::{Fork, Layer, Parent, SealedState},
    keys::{StateKey, account_leaf, storage_leaf},
    memory::MemoryBackend,
    reader::StateReader,
    smt::{SparseMerkleTree, Update},
    snapshot::Snapshot,
};

/// The last committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its number.
    pub number: BlockNumber,
    /// Its hash.
    pub block_hash: B256,
    /// The state root after it.
    pub state_root: B256,
}

impl Head {
    /// The head as the parent of the next block.
    pub const fn as_parent(&self) -> Parent {
        Parent {
            number: self.number,
            block_hash: self.block_hash,
            state_root: self.state_root,
        }
    }
}

struct Committed {
    head: Option<Head>,
    tree: SparseMerkleTree,
    snapshot: Arc<Snapshot>,
    /// The last `kept` committed blocks, oldest first, the head last:
    /// readers a little behind the head fork on them.
    recent: VecDeque<Version>,
    /// How many committed versions stay readable (at least the head).
    kept: usize,
}

/// One committed block's state as readers see it.
#[derive(Clone)]
struct Version {
    head: Head,
    tree: SparseMerkleTree,
    snapshot: Arc<Snapshot>,
}

impl Committed {
    fn new(
        head: Option<Head>,
        tree: SparseMerkleTree,
        snapshot: Arc<Snapshot>,
        kept: usize,
    ) -> Self {
        let mut c = Self {
            head,
            tree,
            snapshot,
            recent: VecDeque::new(),
            kept: kept.max(1),
        };
        c.remember_head();
        c
    }

    /// Makes the head the newest readable version.
    fn remember_head(&mut self) {
        if let Some(head) = self.head {
            self.recent.push_back(Version {
                head,
                tree: self.tree.clone(),
                snapshot: Arc::clone(&self.snapshot),
            });
        }
        while self.recent.len() > self.kept {
            self.recent.pop_front();
        }
    }

    /// The readable version of committed block `block_hash`.
    fn version(&self, block_hash: B256) -> Option<&Version> {
        self.recent
            .iter()
            .rev()
            .find(|v| v.head.block_hash == block_hash)
    }
}

/// The world state: accounts, storage and code in a [`StateBackend`],
/// authenticated by a sparse Merkle tree kept in memory and rebuilt from the
/// leaves on open.
///
/// Every commit and unwind is one atomic backend transaction (durable with
/// redb), so a crash at any moment leaves the state at the last committed
/// block.
pub struct StateDb {
    backend: Box<dyn StateBackend>,
    committed: RwLock<Committed>,
    /// Serialises commits and unwinds; held through the backend's write so
    /// readers (forks, `head`, `header`) only wait for the final swap.
    writer: Mutex<()>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb")
            .field("head", &self.head())
            .finish_non_exhaustive()
    }
}

impl StateDb {
    /// Opens (or creates) the state in a redb file at `path`, rebuilding the
    /// tree and checking its root against the head's recorded root.
    #[cfg(feature = "redb")]
    pub fn open(path: &std::path::Path) -> Result<Self, StateError> {
        Self::with_backend(crate::RedbBackend::open(path)?)
    }

    /// Opens (or creates) the state in `db`, a redb database other stores of
    /// the node share (their tables have other names).
    #[cfg(feature = "redb")]
    pub fn open_in(db: Arc<redb::Database>) -> Result<Self, StateError> {
        Self::with_backend(crate::RedbBackend::new(db)?)
    }

    /// A new, empty state held in memory only ([`MemoryBackend`]): for the
    /// simulator, tests and computing a genesis root.
    pub fn in_memory() -> Result<Self, StateError> {
        Self::with_backend(MemoryBackend::new())
    }

    /// Opens the state stored in `backend`, rebuilding the tree and checking
    /// its root against the head's recorded root.
    pub fn with_backend(backend: impl StateBackend + 'static) -> Result<Self, StateError> {
        let backend: Box<dyn StateBackend> = Box::new(backend);
        let view = backend.view()?;
        let head = match view.head()? {
            None => None,
            Some(number) => {
                let (block_hash, state_root) = view.header(number)?.ok_or_else(|| {
                    StateError::Corrupt(format!("no header for head block {}", number.0))
                })?;
                Some(Head {
                    number,
                    block_hash,
                    state_root,
                })
            }
        };
        let mut leaves = Vec::new();
        view.for_each_account(&mut |address, account| {
            if let Some(leaf) = account_leaf(Some(&account)) {
                leaves.push((StateKey::Account(address).tree_key(), leaf));
            }
        })?;
        view.for_each_slot(&mut |address, slot, value| {
            if let Some(leaf) = storage_leaf(value) {
                leaves.push((StateKey::Storage(address, slot).tree_key(), leaf));
            }
        })?;
        let count = leaves.len();
        let tree = SparseMerkleTree::from_leaves(leaves);
        if let Some(h) = head
            && tree.root() != h.state_root
        {
            return Err(StateError::Corrupt(format!(
                "the stored state has root {} but block {} recorded {}",
                tree.root(),
                h.number,
                h.state_root
            )));
        }
        info!(target: "chunkseq::state", head = ?head.map(|h| h.number.0), leaves = count, "opened state");
        let snapshot = Arc::new(Snapshot::new(view));
        Ok(Self {
            backend,
            committed: RwLock::new(Committed::new(head, tree, snapshot, 1)),
            writer: Mutex::new(()),
        })
    }

    /// The last committed block, or `None` before genesis.
    pub fn head(&self) -> Option<Head> {
        self.committed.read().head
    }

    /// A fork on the committed head (or on the empty state before genesis).
    pub fn fork(&self) -> Fork {
        let c = self.committed.read();
        Fork {
            base: c.snapshot.clone(),
            layers: Vec::new(),
            parent: c.head.as_ref().map(Head::as_parent),
            parent_tree: c.tree.clone(),
            diff: Default::default(),
        }
    }

    /// Keeps the last `versions` committed blocks readable (1, the head
    /// alone, by default). Each holds a backend view, which keeps that
    /// version's data from being reclaimed (a redb read transaction, or
    /// the old values of the in-memory maps), so a node keeps only its
    /// head. Readers that share one store and may fall behind its head (the
    /// simulator's honest nodes) need more.
    pub fn keep_versions(&self, versions: usize) {
        let mut c = self.committed.write();
        c.kept = versions.max(1);
        while c.recent.len() > c.kept {
            c.recent.pop_front();
        }
    }

    /// A fork on committed block `block_hash`: the head or one of the
    /// versions kept readable ([`Self::keep_versions`]). Before genesis,
    /// the empty state.
    pub fn fork_at(&self, block_hash: B256) -> Result<Fork, StateError> {
        let c = self.committed.read();
        if c.head.is_none() {
            drop(c);
            return Ok(self.fork());
        }
        let v = c.version(block_hash).ok_or(StateError::NotReadable {
            block: block_hash,
            head: c.head.map(|h| h.number),
        })?;
        Ok(Fork {
            base: Arc::clone(&v.snapshot),
            layers: Vec::new(),
            parent: Some(v.head.as_parent()),
            parent_tree: v.tree.clone(),
            diff: Default::default(),
        })
    }

    /// A fork on a sealed, possibly uncommitted, block whose hash is
    /// `block_hash`. It reads the newest committed ancestor of the block
    /// from disk (the head or a recent version) and the blocks above it from
    /// their in-memory writes, so a long pipeline never grows its layers
    /// without bound, and a reader behind the head still sees its own chain.
    pub fn fork_on(&self, parent: &SealedState, block_hash: B256) -> Result<Fork, StateError> {
        let c = self.committed.read();
        let chain: Vec<Arc<Layer>> = parent
            .layers
            .iter()
            .cloned()
            .chain(std::iter::once(parent.as_layer(block_hash)))
            .collect();
        // The newest block of the chain that is committed, or what the
        // chain rests on (nothing before genesis); layers above it.
        let newest_committed = chain.iter().enumerate().rev().find_map(|(i, l)| {
            c.version(l.block_hash)
                .filter(|v| v.head.number == l.number)
                .map(|v| (Some(Arc::clone(&v.snapshot)), i.saturating_add(1)))
        });
        let (base, first) = newest_committed.unwrap_or_else(|| {
            let base = match chain.first().and_then(|l| l.parent) {
                Some(p) => c
                    .version(p.block_hash)
                    .filter(|v| v.head.as_parent() == p)
                    .map(|v| Arc::clone(&v.snapshot)),
                None => c.head.is_none().then(|| Arc::clone(&c.snapshot)),
            };
            (base, 0)
        });
        let Some(base) = base else {
            return Err(StateError::NotOnHead {
                block: parent.number,
                parent: parent.parent.map(|p| p.number),
                head: c.head.map(|h| h.number),
            });
        };
        let layers = chain.get(first..).unwrap_or_default().to_vec();
        Ok(Fork {
            base,
            layers,
            parent: Some(parent.as_parent(block_hash)),
            parent_tree: parent.tree.clone(),
            diff: Default::default(),
        })
    }

    /// A reader of the state as of committed block `at`.
    pub fn reader(&self, at: BlockNumber) -> Result<StateReader, StateError> {
        let c = self.committed.read();
        match c.head {
            Some(h) if at <= h.number => Ok(StateReader::new(self.backend.view()?, at, h.number)),
            _ => Err(StateError::NoSuchBlock(at)),
        }
    }

    /// Block hash and state root of a committed block.
    pub fn header(&self, number: BlockNumber) -> Result<Option<(B256, B256)>, StateError> {
        self.committed.read().snapshot.header(number.0)
    }

    /// Commits a sealed block built on the head, durably and atomically.
    pub fn commit(&self, block: &SealedState, block_hash: B256) -> Result<Head, StateError> {
        let _writer = self.writer.lock();
        let head = self.committed.read().head;
        if block.parent != head.as_ref().map(Head::as_parent) {
            // Committed already (by another reader of a shared database).
            if let Some(v) = self.committed.read().version(block_hash)
                && v.head.number == block.number
                && v.head.state_root == block.state_root()
            {
                return Ok(v.head);
            }
            return Err(StateError::NotOnHead {
                block: block.number,
                parent: block.parent.map(|p| p.number),
                head: head.map(|h| h.number),
            });
        }
        let number = block.number.0;
        let state_root = block.state_root();
        let keys = block.diff.sorted_keys();
        self.backend.write(&mut |txn| {
            write_block(txn, block, &keys)?;
            txn.record_block(block.number, block_hash, state_root, &keys)?;
            txn.set_head(block.number)
        })?;
        let snapshot = Arc::new(Snapshot::new(self.backend.view()?));
        let head = Head {
            number: block.number,
            block_hash,
            state_root,
        };
        let mut c = self.committed.write();
        c.head = Some(head);
        c.tree = block.tree.clone();
        c.snapshot = snapshot;
        c.remember_head();
        drop(c);
        debug!(target: "chunkseq::state", number, keys = keys.len(), %state_root, "committed block state");
        Ok(head)
    }

    /// Unwinds the last `blocks` committed blocks, restoring the exact values
    /// and root of the block below them. Genesis cannot be unwound.
    pub fn unwind(&self, blocks: u64) -> Result<Head, StateError> {
        let _writer = self.writer.lock();
        let (head, tree) = {
            let c = self.committed.read();
            (c.head, c.tree.clone())
        };
        let head = head.ok_or(StateError::UnwindTooDeep {
            requested: blocks,
            available: 0,
        })?;
        let target = head
            .number
            .0
            .checked_sub(blocks)
            .ok_or(StateError::UnwindTooDeep {
                requested: blocks,
                available: head.number.0,
            })?;
        if blocks == 0 {
            return Ok(head);
        }
        let mut unwound = None;
        self.backend.write(&mut |txn| {
            let mut updates: Vec<Update> = Vec::new();
            let mut b = head.number.0;
            while b > target {
                undo_block(txn, BlockNumber(b), &mut updates)?;
                b = b.saturating_sub(1);
            }
            let (block_hash, state_root) = txn
                .header(BlockNumber(target))?
                .ok_or_else(|| StateError::Corrupt(format!("no header for block {target}")))?;
            let tree = tree.update(updates);
            if tree.root() != state_root {
                // An error discards every change of the transaction.
                return Err(StateError::RootMismatch {
                    expected: state_root,
                    actual: tree.root(),
                });
            }
            txn.set_head(BlockNumber(target))?;
            unwound = Some((block_hash, state_root, tree));
            Ok(())
        })?;
        let (block_hash, state_root, tree) = unwound
            .ok_or_else(|| StateError::Corrupt("unwind committed without a result".into()))?;
        let snapshot = Arc::new(Snapshot::new(self.backend.view()?));
        let new_head = Head {
            number: BlockNumber(target),
            block_hash,
            state_root,
        };
        let mut c = self.committed.write();
        let kept = c.kept;
        *c = Committed::new(Some(new_head), tree, snapshot, kept);
        drop(c);
        info!(target: "chunkseq::state", from = head.number.0, to = target, "unwound state");
        Ok(new_head)
    }
}

/// Writes a block's new values and records the previous ones as history.
fn write_block(
    txn: &mut dyn StateWrite,
    block: &SealedState,
    keys: &[StateKey],
) -> Result<(), StateError> {
    let number = block.number;
    for key in keys {
        match key {
            StateKey::Account(a) => {
                let account = block.diff.accounts.get(a).copied().flatten();
                let previous = txn.set_account(a, account.as_ref())?;
                txn.record_account_history(a, number, previous.as_ref())?;
            }
            StateKey::Storage(a, s) => {
                let value = block
                    .diff
                    .storage
                    .get(&(*a, *s))
                    .copied()
                    .unwrap_or_default();
                let previous = txn.set_storage(a, *s, value)?;
                txn.record_storage_history(a, *s, number, previous)?;
            }
        }
    }
    for (hash, bytes) in &block.diff.code {
        txn.add_code(hash, bytes)?;
    }
    Ok(())
}

/// Restores the values block `b` overwrote and forgets the block.
fn undo_block(
    txn: &mut dyn StateWrite,
    b: BlockNumber,
    updates: &mut Vec<Update>,
) -> Result<(), StateError> {
    let keys = txn
        .forget_block(b)?
        .ok_or_else(|| StateError::Corrupt(format!("no change list for block {}", b.0)))?;
    let missing =
        |what: &str| StateError::Corrupt(format!("no history of {what} for block {}", b.0));
    for key in keys {
        match key {
            StateKey::Account(a) => {
                let previous = txn
                    .take_account_history(&a, b)?
                    .ok_or_else(|| missing("an account"))?;
                txn.set_account(&a, previous.as_ref())?;
                updates.push((key.tree_key(), account_leaf(previous.as_ref())));
            }
            StateKey::Storage(a, s) => {
                let previous = txn
                    .take_storage_history(&a, s, b)?
                    .ok_or_else(|| missing("a storage slot"))?;
                txn.set_storage(&a, s, previous)?;
                updates.push((key.tree_key(), storage_leaf(previous)));
            }
        }
    }
    Ok(())
}

/// keccak256 of `code`, the hash accounts refer to it by.
pub fn code_hash(code: &[u8]) -> B256 {
    keccak256(code)
}
