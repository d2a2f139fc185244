//! The transaction pool.
//!
//! Raw EIP-2718 transactions enter through [`Pool::add_raw`]: the size is
//! capped before decoding, the type, encoding and chain id are checked and
//! the sender is recovered once ([`recover`]). The recovered transaction is
//! then checked against its sender's account ([`AccountReader`]) and the
//! pool's limits ([`PoolConfig`]). Every rejection is a [`PoolError`].
//!
//! Each sender's transactions are kept by nonce. Those contiguous from the
//! account nonce are pending and [`Pool::best`] yields them in block order;
//! the rest wait behind a nonce gap and become pending when it fills.
//! The pool is bounded in total and per sender. When full, the lowest-paying
//! transaction makes room for a better one; a transaction of the same sender
//! and nonce replaces a pooled one only with both fees bumped by
//! [`PRICE_BUMP_PERCENT`].
//!
//! After a block commits, [`Pool::remove_included`] drops its transactions
//! (and older nonces of their senders); after blocks unwind,
//! [`Pool::reinsert`] takes theirs back without recovering senders again.
//!
//! A transaction that leaves the pool without a block says why: replaced,
//! evicted, expired behind a nonce gap, or its nonce used by another
//! transaction ([`Pool::take_removed`]).
//!
//! The pool is deterministic: ordered maps, and ties broken by an arrival
//! sequence number; no randomness, and no clock but the time its owner
//! gives it ([`Pool::set_clock`]), which dates arrivals for
//! [`Pool::expire_queued`].

mod config;
mod error;
mod ingress;
mod ordering;
mod signing;
mod validate;

#[cfg(test)]
mod test_utils;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{
    Address, B256, keccak256,
    map::{AddressMap, B256Map},
};
use chunkseq_primitives::{StatusDetail, codec::MAX_TX_BYTES};
use tracing::debug;

pub use config::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_PER_SENDER, DEFAULT_MAX_TXS, DEFAULT_QUEUED_LIFETIME_MS,
    PEER_SENDER_FACTOR, PRICE_BUMP_PERCENT, PoolConfig,
};
pub use error::PoolError;
pub use ingress::{RecoveredTx, recover, recover_batch};
pub use ordering::BestTxs;
pub use signing::{sign_transaction, signed_transfer};
pub use validate::{AccountReader, INTRINSIC_GAS, MAX_TX_GAS};

use ordering::EvictionKey;
use validate::{check_replacement, validate};

/// Shrinks `map` when it uses less than a quarter of its capacity (and the
/// capacity is worth giving back).
pub fn shrink_if_sparse<K: Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(
    map: &mut std::collections::HashMap<K, V, S>,
) {
    if map.capacity() > map.len().saturating_mul(4).saturating_add(1_024) {
        map.shrink_to(map.len().saturating_mul(2));
    }
}

/// A bounded, deterministic pool of transactions waiting for a block.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    /// Iterated only into [`BestTxs`], whose order is total: a hash map
    /// keeps the pool deterministic.
    senders: AddressMap<SenderQueue>,
    /// Looked up only, never iterated: a hash map keeps the pool deterministic.
    by_hash: B256Map<(Address, u64)>,
    by_eviction: BTreeSet<EvictionKey>,
    next_seq: u64,
    /// Bytes of the pooled transactions' encodings.
    bytes: usize,
    /// The owner's time, ms: dates arrivals.
    clock: u64,
    /// Transactions that left without a block since the last
    /// [`Pool::take_removed`], and why.
    removed: Vec<(B256, StatusDetail)>,
}

/// A number of transactions and the bytes of their encodings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Transactions.
    pub count: usize,
    /// Bytes of their encodings.
    pub bytes: usize,
}

impl Backlog {
    /// This with one transaction of `bytes` bytes more.
    #[must_use]
    pub const fn plus(self, bytes: usize) -> Self {
        Self {
            count: self.count.saturating_add(1),
            bytes: self.bytes.saturating_add(bytes),
        }
    }

    /// Whether either part has reached `limit`'s.
    pub const fn reaches(&self, limit: &Self) -> bool {
        self.count >= limit.count || self.bytes >= limit.bytes
    }

    /// Half of this (rounded down), count and bytes.
    #[must_use]
    pub const fn halved(self) -> Self {
        Self {
            count: self.count / 2,
            bytes: self.bytes / 2,
        }
    }
}

/// One sender's pooled transactions by nonce.
#[derive(Debug)]
struct SenderQueue {
    /// The account nonce: the first nonce that can execute.
    next_nonce: u64,
    txs: BTreeMap<u64, PooledTx>,
}

impl SenderQueue {
    /// The first nonce from the account's on that is not pooled.
    fn first_missing(&self) -> u64 {
        let run = self
            .txs
            .range(self.next_nonce..)
            .enumerate()
            .take_while(|&(i, (&n, _))| n.checked_sub(self.next_nonce) == u64::try_from(i).ok())
            .count();
        self.next_nonce
            .saturating_add(u64::try_from(run).unwrap_or(u64::MAX))
    }
}

#[derive(Debug)]
struct PooledTx {
    tx: RecoveredTx,
    /// Arrival sequence number; breaks ties between equal tips.
    seq: u64,
    /// The pool's clock when it arrived.
    arrived: u64,
}

impl Pool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            senders: AddressMap::default(),
            by_hash: B256Map::default(),
            by_eviction: BTreeSet::new(),
            next_seq: 0,
            bytes: 0,
            clock: 0,
            removed: Vec::new(),
        }
    }

    /// Sets the pool's clock (ms, any epoch, never going back): the arrival
    /// time of what is added from now on.
    pub fn set_clock(&mut self, now_ms: u64) {
        self.clock = self.clock.max(now_ms);
    }

    /// Sets the prices admission checks use: the next block's base fee and
    /// the current data price. Pooled transactions stay; a block skips the
    /// ones whose fee cap the base fee has passed.
    pub fn set_fees(&mut self, base_fee: u64, data_price: u64) {
        self.config.base_fee = base_fee;
        self.config.data_price = data_price;
    }

    /// The transactions that left without a block since the last call, in
    /// order, and why.
    pub fn take_removed(&mut self) -> Vec<(B256, StatusDetail)> {
        std::mem::take(&mut self.removed)
    }

    /// Drops the transactions that have waited behind a nonce gap for
    /// longer than the configured lifetime; returns how many.
    pub fn expire_queued(&mut self) -> usize {
        let lifetime = self.config.queued_lifetime_ms;
        let clock = self.clock;
        let mut expired: Vec<(Address, u64)> = Vec::new();
        for (sender, q) in &self.senders {
            // Most senders hold one run of nonces from their account's:
            // nothing of theirs waits behind a gap, and the range search
            // below (most of this scan's cost, run every second by every
            // node) is skipped.
            if let (Some((&first, _)), Some((&last, _))) =
                (q.txs.first_key_value(), q.txs.last_key_value())
                && first == q.next_nonce
                && last.checked_sub(first)
                    == u64::try_from(q.txs.len())
                        .ok()
                        .and_then(|n| n.checked_sub(1))
            {
                continue;
            }
            // The first nonce past the pending run.
            let mut expect = q.next_nonce;
            for (&nonce, p) in q.txs.range(q.next_nonce..) {
                if nonce == expect {
                    expect = expect.saturating_add(1);
                } else if p.arrived.saturating_add(lifetime) <= clock {
                    expired.push((*sender, nonce));
                }
            }
        }
        // Senders were visited in hash order: sort for a deterministic
        // removal order.
        expired.sort_unstable();
        let count = expired.len();
        for (sender, nonce) in expired {
            if let Some(tx) = self.remove_entry(sender, nonce) {
                self.removed.push((tx.hash(), StatusDetail::Expired));
            }
        }
        count
    }

    /// Gives back the memory of the pool's maps once they hold far less
    /// than they grew to (after a flood): a hash map never shrinks by
    /// itself.
    pub fn shrink_if_sparse(&mut self) {
        shrink_if_sparse(&mut self.by_hash);
        shrink_if_sparse(&mut self.senders);
        self.removed.shrink_to(self.removed.len().max(64));
    }

    /// The pool's configuration.
    pub const fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Number of pooled transactions, pending and queued.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Bytes of the pooled transactions' encodings.
    pub const fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is pooled.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Number of pending transactions: those [`Self::best`] yields.
    pub fn pending_len(&self) -> usize {
        self.pending_size().count
    }

    /// How many pending transactions there are and their encodings' bytes.
    pub fn pending_size(&self) -> Backlog {
        let mut size = Backlog::default();
        for q in self.senders.values() {
            let end = q.first_missing();
            for p in q.txs.range(q.next_nonce..end).map(|(_, p)| p) {
                size.count = size.count.saturating_add(1);
                size.bytes = size.bytes.saturating_add(p.tx.encoded().len());
            }
        }
        size
    }

    /// The nonce `sender`'s next transaction takes: the first past its
    /// account nonce (`account_nonce`) and its pooled transactions without
    /// a gap (the `pending` nonce of Ethereum's JSON-RPC).
    pub fn pending_nonce(&self, sender: Address, account_nonce: u64) -> u64 {
        self.senders
            .get(&sender)
            .map_or(account_nonce, |q| q.first_missing().max(account_nonce))
    }

    /// Whether a transaction of `sender` with `nonce` would wait behind a
    /// nonce gap: its nonce is past the first one missing after the
    /// account's and the pooled ones.
    pub fn would_wait(&self, sender: Address, nonce: u64, accounts: &impl AccountReader) -> bool {
        let first_missing = self
            .senders
            .get(&sender)
            .map_or_else(|| accounts.nonce(sender), SenderQueue::first_missing);
        nonce > first_missing
    }

    /// Whether the transaction with this hash is pooled.
    pub fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pooled transaction with this hash.
    pub fn get(&self, hash: &B256) -> Option<&RecoveredTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        Some(&self.senders.get(sender)?.txs.get(nonce)?.tx)
    }

    /// Pending transactions in block order (see [`BestTxs`]).
    pub fn best(&self) -> BestTxs<'_> {
        BestTxs::new(&self.senders)
    }

    /// [`Self::best`] without the transactions a block being built already
    /// took: each sender's from `taken[sender]` on (the nonce after the
    /// last one taken; `u64::MAX` leaves the sender out). A builder that
    /// fills its block again and again walks only what it has not seen,
    /// not the whole block each time.
    pub fn best_after(&self, taken: &AddressMap<u64>) -> BestTxs<'_> {
        BestTxs::from(&self.senders, taken)
    }

    /// Decodes `raw`, recovers its sender and adds it; returns its hash. A
    /// transaction already pooled is turned away before recovering again.
    pub fn add_raw(
        &mut self,
        raw: &[u8],
        accounts: &impl AccountReader,
    ) -> Result<B256, PoolError> {
        if raw.len() <= MAX_TX_BYTES {
            let hash = keccak256(raw);
            if self.contains(&hash) {
                return Err(PoolError::AlreadyKnown(hash));
            }
        }
        let tx = recover(raw, self.config.chain_id)?;
        self.add(tx, accounts)
    }

    /// Adds a recovered transaction, validated against `accounts` (the
    /// state blocks are built on); returns its hash.
    pub fn add(
        &mut self,
        tx: RecoveredTx,
        accounts: &impl AccountReader,
    ) -> Result<B256, PoolError> {
        self.add_within(tx, accounts, self.config.max_per_sender)
    }

    /// Adds a transaction a peer relayed, as [`Pool::add`] but with room for
    /// [`PEER_SENDER_FACTOR`] times `max_per_sender` pooled transactions per
    /// sender. Each node bounds a sender's submissions on its own, so a
    /// sender that used several entry nodes legitimately has more in flight
    /// than one node's bound; a relayed transaction refused here would wait
    /// in its entry node's pool alone, for that node's next slot, and hold
    /// back every later nonce of its sender on the other nodes. The pool's
    /// count and byte bounds still apply.
    pub fn add_from_peer(
        &mut self,
        tx: RecoveredTx,
        accounts: &impl AccountReader,
    ) -> Result<B256, PoolError> {
        let max = self
            .config
            .max_per_sender
            .saturating_mul(PEER_SENDER_FACTOR);
        self.add_within(tx, accounts, max)
    }

    fn add_within(
        &mut self,
        tx: RecoveredTx,
        accounts: &impl AccountReader,
        max_per_sender: usize,
    ) -> Result<B256, PoolError> {
        let hash = tx.hash();
        if self.contains(&hash) {
            return Err(PoolError::AlreadyKnown(hash));
        }
        let (sender, nonce) = (tx.sender(), tx.nonce());
        let account_nonce = validate(&tx, &self.config, accounts)?;
        self.set_next_nonce(sender, account_nonce);

        let queue = self.senders.get(&sender);
        if let Some(old) = queue.and_then(|q| q.txs.get(&nonce)) {
            check_replacement(&old.tx, &tx)?;
            let old = self.remove_entry(sender, nonce);
            debug!(?hash, replaced = ?old.as_ref().map(RecoveredTx::hash), "pool: replacement");
            if let Some(old) = old {
                self.removed
                    .push((old.hash(), StatusDetail::ReplacedBy { hash }));
            }
        } else {
            if queue.map_or(0, |q| q.txs.len()) >= max_per_sender {
                // A lower nonce than the sender's highest pooled one takes
                // that one's place: it may fill a gap the others wait
                // behind, which would otherwise never close.
                match queue.and_then(|q| q.txs.last_key_value()).map(|(n, _)| *n) {
                    Some(highest) if nonce < highest => {
                        if let Some(e) = self.remove_entry(sender, highest) {
                            self.removed.push((e.hash(), StatusDetail::Evicted));
                        }
                    }
                    _ => {
                        return Err(PoolError::SenderFull {
                            sender,
                            max: max_per_sender,
                        });
                    }
                }
            }
            if self.len() >= self.config.max_txs {
                self.evict_for(&tx)?;
            }
        }
        let size = tx.encoded().len();
        while !self.is_empty() && self.bytes.saturating_add(size) > self.config.max_bytes {
            self.evict_for(&tx)?;
        }
        self.insert_entry(tx, account_nonce);
        Ok(hash)
    }

    /// Takes back the transactions of unwound blocks, validated against
    /// `accounts` (the state after the unwind); their senders are not
    /// recovered again. Returns the ones turned away, with why.
    pub fn reinsert(
        &mut self,
        txs: Vec<RecoveredTx>,
        accounts: &impl AccountReader,
    ) -> Vec<(B256, PoolError)> {
        // Account nonces went back: pending transactions may now be queued.
        for tx in &txs {
            self.set_next_nonce(tx.sender(), accounts.nonce(tx.sender()));
        }
        txs.into_iter()
            .filter_map(|tx| {
                let hash = tx.hash();
                self.add(tx, accounts).err().map(|e| (hash, e))
            })
            .collect()
    }

    /// After a block commits: removes the transactions with these senders
    /// and nonces, and their senders' lower nonces, whether or not the
    /// included transaction itself was pooled.
    pub fn remove_included(&mut self, included: &[(Address, u64)]) {
        for &(sender, nonce) in included {
            if let Some(queue) = self.senders.get(&sender) {
                let next = queue.next_nonce.max(nonce.saturating_add(1));
                self.set_next_nonce(sender, next);
            }
        }
    }

    /// Removes one transaction (for example, one that failed to execute);
    /// its sender's later nonces wait behind the gap.
    pub fn remove(&mut self, hash: &B256) -> Option<RecoveredTx> {
        let &(sender, nonce) = self.by_hash.get(hash)?;
        self.remove_entry(sender, nonce)
    }

    /// Makes room for `tx`. A transaction behind a nonce gap goes first, if
    /// it pays no more than `tx` (of the lowest-paying ones, a bounded
    /// look): it waits for no block. Otherwise the lowest-paying
    /// transaction goes if `tx` pays more.
    fn evict_for(&mut self, tx: &RecoveredTx) -> Result<(), PoolError> {
        const QUEUED_LOOK: usize = 256;
        let tip = tx.effective_tip();
        let queued = self
            .by_eviction
            .iter()
            .take(QUEUED_LOOK)
            .take_while(|k| k.tip <= tip)
            .find(|k| !self.is_executable(k.sender, k.nonce))
            .copied();
        let victim = match (queued, self.by_eviction.first().copied()) {
            (Some(q), _) => q,
            (None, Some(lowest)) if tip > lowest.tip => lowest,
            (None, lowest) => {
                return Err(PoolError::PoolFull {
                    tip,
                    lowest_tip: lowest.map(|l| l.tip),
                });
            }
        };
        let evicted = self.remove_entry(victim.sender, victim.nonce);
        debug!(evicted = ?evicted.as_ref().map(RecoveredTx::hash), "pool: full, evicted");
        if let Some(e) = evicted {
            self.removed.push((e.hash(), StatusDetail::Evicted));
        }
        Ok(())
    }

    /// Whether `sender`'s pooled transaction `nonce` can execute now: no
    /// nonce between the account's and it is missing.
    fn is_executable(&self, sender: Address, nonce: u64) -> bool {
        self.senders.get(&sender).is_some_and(|q| {
            nonce >= q.next_nonce
                && u64::try_from(q.txs.range(q.next_nonce..=nonce).count())
                    .is_ok_and(|n| Some(n) == nonce.saturating_sub(q.next_nonce).checked_add(1))
        })
    }

    fn set_next_nonce(&mut self, sender: Address, next_nonce: u64) {
        let Some(queue) = self.senders.get_mut(&sender) else {
            return;
        };
        queue.next_nonce = next_nonce;
        // Stale nonces are the lowest ones; the common case has none.
        while let Some(nonce) = self
            .senders
            .get(&sender)
            .and_then(|q| q.txs.first_key_value())
            .map(|(&n, _)| n)
            .filter(|&n| n < next_nonce)
        {
            // The block's own transaction among them too: the owner knows
            // which it included.
            if let Some(tx) = self.remove_entry(sender, nonce) {
                self.removed.push((tx.hash(), StatusDetail::NonceUsed));
            }
        }
    }

    fn insert_entry(&mut self, tx: RecoveredTx, account_nonce: u64) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.bytes = self.bytes.saturating_add(tx.encoded().len());
        self.by_hash.insert(tx.hash(), (tx.sender(), tx.nonce()));
        self.by_eviction.insert(EvictionKey::new(&tx, seq));
        self.senders
            .entry(tx.sender())
            .or_insert_with(|| SenderQueue {
                next_nonce: account_nonce,
                txs: BTreeMap::new(),
            })
            .txs
            .insert(
                tx.nonce(),
                PooledTx {
                    tx,
                    seq,
                    arrived: self.clock,
                },
            );
    }

    fn remove_entry(&mut self, sender: Address, nonce: u64) -> Option<RecoveredTx> {
        let queue = self.senders.get_mut(&sender)?;
        let PooledTx { tx, seq, .. } = queue.txs.remove(&nonce)?;
        self.bytes = self.bytes.saturating_sub(tx.encoded().len());
        if queue.txs.is_empty() {
            self.senders.remove(&sender);
        }
        self.by_hash.remove(&tx.hash());
        self.by_eviction.remove(&EvictionKey::new(&tx, seq));
        Some(tx)
    }
}
