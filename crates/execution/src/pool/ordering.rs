//! The two orders of the pool: [`BestTxs`] yields executable transactions
//! for a block, highest tip first, and [`EvictionKey`] ranks transactions for
//! eviction, lowest tip first. Ties go by arrival sequence number, never by a
//! clock or a random number, so equal pools order equally.

use std::{
    cmp::{Ordering, Reverse},
    collections::BinaryHeap,
};

use alloy_primitives::{Address, map::AddressMap};

use super::{RecoveredTx, SenderQueue};

/// Rank of a pooled transaction in the eviction order: the smallest key is
/// evicted first, so the lowest tip and, among equal tips, the latest arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EvictionKey {
    pub(super) tip: u128,
    latest_first: Reverse<u64>,
    pub(super) sender: Address,
    pub(super) nonce: u64,
}

impl EvictionKey {
    pub(super) fn new(tx: &RecoveredTx, seq: u64) -> Self {
        Self {
            tip: tx.effective_tip(),
            latest_first: Reverse(seq),
            sender: tx.sender(),
            nonce: tx.nonce(),
        }
    }
}

/// The next executable transaction of one sender.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    tip: u128,
    seq: u64,
    sender: Address,
    nonce: u64,
}

impl Ord for Head {
    /// The greatest head is the highest tip, then the earliest arrival.
    fn cmp(&self, other: &Self) -> Ordering {
        self.tip
            .cmp(&other.tip)
            .then_with(|| other.seq.cmp(&self.seq))
            .then_with(|| other.sender.cmp(&self.sender))
            .then_with(|| other.nonce.cmp(&self.nonce))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Pending transactions in block order: each sender's transactions strictly
/// by nonce from its account nonce without gaps, and across senders the
/// highest effective tip of the senders' next transactions first.
#[derive(Debug)]
pub struct BestTxs<'a> {
    senders: &'a AddressMap<SenderQueue>,
    heads: BinaryHeap<Head>,
    last: Option<(Address, u64)>,
}

impl<'a> BestTxs<'a> {
    pub(super) fn new(senders: &'a AddressMap<SenderQueue>) -> Self {
        Self::from(senders, &AddressMap::default())
    }

    /// Each sender from `from[sender]` on, if that is above its account
    /// nonce (`u64::MAX`: none of its transactions).
    pub(super) fn from(senders: &'a AddressMap<SenderQueue>, from: &AddressMap<u64>) -> Self {
        let mut best = Self {
            senders,
            heads: BinaryHeap::with_capacity(senders.len()),
            last: None,
        };
        for (&sender, queue) in senders {
            let start = from
                .get(&sender)
                .map_or(queue.next_nonce, |&n| n.max(queue.next_nonce));
            best.push(sender, start);
        }
        best
    }

    /// Skips the remaining transactions of the sender of the last yielded
    /// one. Call it when that transaction failed to execute: its sender's
    /// later nonces cannot execute either.
    pub fn skip_sender(&mut self) {
        self.last = None;
    }

    fn push(&mut self, sender: Address, nonce: u64) {
        if let Some(pooled) = self.senders.get(&sender).and_then(|q| q.txs.get(&nonce)) {
            self.heads.push(Head {
                tip: pooled.tx.effective_tip(),
                seq: pooled.seq,
                sender,
                nonce,
            });
        }
    }
}

impl<'a> Iterator for BestTxs<'a> {
    type Item = &'a RecoveredTx;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((sender, nonce)) = self.last.take()
            && let Some(next) = nonce.checked_add(1)
        {
            self.push(sender, next);
        }
        let head = self.heads.pop()?;
        self.last = Some((head.sender, head.nonce));
        let queue = self.senders.get(&head.sender)?;
        queue.txs.get(&head.nonce).map(|pooled| &pooled.tx)
    }
}
