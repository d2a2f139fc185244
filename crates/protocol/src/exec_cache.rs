//! Re-execution results shared between honest nodes of one process (the
//! simulator): a block re-executed by one node need not be re-executed by
//! the next, since the result depends only on the parent and the block.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
};

use alloy_primitives::B256;
use chunkseq_execution::{KnownTransactions, PoolError, RecoveredTx, pool::Pool};
use chunkseq_state::SealedState;
use parking_lot::Mutex;

use crate::{
    io::{Executed, Receipts},
    slot_data::SlotData,
};

/// Valid re-executions by (parent block hash, block hash). The block hash
/// commits to every header field (state, transaction and receipt roots
/// included) and the parent hash to the parent's state, so a hit is the
/// same computation. Only successes are stored, with the block's
/// transactions and their senders. A byzantine node must not be given
/// one: it would skip the checks it is meant to fail.
#[derive(Debug)]
pub struct ExecutionCache {
    inner: Mutex<Inner>,
    capacity: usize,
    /// Each validated block's slot data (its blob commitments), by block
    /// hash: the hash fixes the slot's blocks up to it, so the data too.
    slot_data: Mutex<SlotDataMemo>,
}

/// Slot data by block hash, and the insertion order for eviction.
type SlotDataMemo = (BTreeMap<B256, Arc<SlotData>>, VecDeque<B256>);

/// A shared re-execution: the state after the block, its transactions and
/// its receipts.
type Stored = (Arc<SealedState>, Arc<Vec<RecoveredTx>>, Receipts);

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<(B256, B256), Stored>,
    order: VecDeque<(B256, B256)>,
}

impl ExecutionCache {
    /// A cache holding at most `capacity` blocks (oldest evicted first).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            slot_data: Mutex::default(),
        }
    }

    /// The slot data of the slot's blocks up to `block`, if some node
    /// computed it.
    pub fn slot_data(&self, block: B256) -> Option<Arc<SlotData>> {
        self.slot_data.lock().0.get(&block).cloned()
    }

    /// Records the slot data up to `block` (committed).
    pub fn insert_slot_data(&self, block: B256, data: Arc<SlotData>) {
        let mut guard = self.slot_data.lock();
        let (map, order) = &mut *guard;
        if map.insert(block, data).is_none() {
            order.push_back(block);
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// The state after `block` on `parent`, the block's transactions with
    /// their senders and its receipts, if some node validated it.
    pub fn get(&self, parent: B256, block: B256) -> Option<Executed> {
        let (state, txs, receipts) = self.inner.lock().map.get(&(parent, block)).cloned()?;
        Some((state, txs.as_ref().clone(), receipts))
    }

    /// The transactions of `block` on `parent`, if some node validated it.
    pub fn transactions(&self, parent: B256, block: B256) -> Option<Arc<Vec<RecoveredTx>>> {
        let inner = self.inner.lock();
        inner
            .map
            .get(&(parent, block))
            .map(|(_, txs, _)| Arc::clone(txs))
    }

    /// Records a validated block's state, transactions and receipts.
    pub fn insert(&self, parent: B256, block: B256, (state, txs, receipts): Executed) {
        let mut inner = self.inner.lock();
        let entry = (state, Arc::new(txs), receipts);
        if inner.map.insert((parent, block), entry).is_none() {
            inner.order.push_back((parent, block));
        }
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.map.remove(&old);
            }
        }
    }
}

/// Signature recoveries shared between the nodes of one process (the
/// simulator): every node checks every gossip signature, and recovering a
/// signer is a pure function of the digest and the signature.
#[derive(Debug, Default)]
pub struct RecoveryCache {
    map: Mutex<std::collections::HashMap<(B256, Vec<u8>), alloy_primitives::Address>>,
    txs: Mutex<std::collections::HashMap<B256, RecoveredTx>>,
}

/// Entries after which the recovery cache starts over (bounded memory).
const RECOVERY_CACHE_LIMIT: usize = 1 << 20;

impl RecoveryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The signer of `signature` over `digest`, recovered once per process.
    pub fn recover(
        &self,
        signature: &[u8],
        digest: B256,
    ) -> Result<alloy_primitives::Address, chunkseq_primitives::crypto::SignatureError> {
        let key = (digest, signature.to_vec());
        if let Some(a) = self.map.lock().get(&key) {
            return Ok(*a);
        }
        let signer = chunkseq_primitives::crypto::recover_signer(signature, digest)?;
        let mut map = self.map.lock();
        if map.len() >= RECOVERY_CACHE_LIMIT {
            map.clear();
        }
        map.insert(key, signer);
        Ok(signer)
    }

    /// The transaction whose raw bytes hash to `hash`, if some node of this
    /// process recovered it through [`Self::transaction`].
    pub fn known_transaction(&self, hash: &B256) -> Option<RecoveredTx> {
        self.txs.lock().get(hash).cloned()
    }

    /// Remembers a transaction recovered elsewhere (the simulator's load).
    pub fn remember(&self, tx: RecoveredTx) {
        let mut txs = self.txs.lock();
        if txs.len() >= RECOVERY_CACHE_LIMIT {
            txs.clear();
        }
        txs.insert(tx.hash(), tx);
    }

    /// The transaction `raw` (whose keccak256 is `hash`) with its sender,
    /// recovered once per process.
    pub fn transaction(
        &self,
        hash: B256,
        raw: &[u8],
        chain_id: u64,
    ) -> Result<RecoveredTx, PoolError> {
        if let Some(tx) = self.known_transaction(&hash) {
            return Ok(tx);
        }
        let tx = chunkseq_execution::pool::recover(raw, chain_id)?;
        self.remember(tx.clone());
        Ok(tx)
    }
}

/// Where a node looks up senders it has already recovered: its pool first,
/// then the process's shared [`RecoveryCache`] when it has one.
pub(crate) struct KnownSenders<'a> {
    pub(crate) pool: &'a Pool,
    pub(crate) cache: Option<&'a RecoveryCache>,
}

impl KnownTransactions for KnownSenders<'_> {
    fn known(&self, hash: &B256) -> Option<RecoveredTx> {
        self.pool
            .get(hash)
            .cloned()
            .or_else(|| self.cache.and_then(|c| c.known_transaction(hash)))
    }
}
