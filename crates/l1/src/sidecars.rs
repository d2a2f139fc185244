//! The embedded L1's blob sidecars: the blobs of included transactions,
//! kept for a window of L1 blocks and served by versioned hash, as an
//! Ethereum consensus node keeps and serves them for a while (4,096 epochs
//! on mainnet) and then prunes them.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use alloy_eips::eip4844::Blob;
use alloy_primitives::B256;

/// One blob, shared with the call that carried it (no copy of its 128 KiB).
#[derive(Clone, Debug)]
struct Stored {
    blobs: Arc<Vec<Blob>>,
    index: usize,
    /// Included transactions in the window that carry it.
    refs: u32,
}

/// The blobs of the transactions included in the last `retention` blocks.
#[derive(Clone, Debug)]
pub(crate) struct Sidecars {
    retention: u64,
    by_hash: HashMap<B256, Stored>,
    /// Each block's blob hashes, oldest first (blocks without blobs are
    /// not listed).
    blocks: VecDeque<(u64, Vec<B256>)>,
}

impl Sidecars {
    pub(crate) fn new(retention: u64) -> Self {
        Self {
            retention,
            by_hash: HashMap::new(),
            blocks: VecDeque::new(),
        }
    }

    /// Records that block `block` (the newest) includes a transaction
    /// carrying `blobs`, whose versioned hashes are `hashes`.
    pub(crate) fn insert(&mut self, block: u64, hashes: &[B256], blobs: &Arc<Vec<Blob>>) {
        for (index, hash) in hashes.iter().enumerate() {
            self.by_hash
                .entry(*hash)
                .and_modify(|s| s.refs = s.refs.saturating_add(1))
                .or_insert_with(|| Stored {
                    blobs: Arc::clone(blobs),
                    index,
                    refs: 1,
                });
        }
        match self.blocks.back_mut() {
            Some((b, list)) if *b == block => list.extend_from_slice(hashes),
            _ => self.blocks.push_back((block, hashes.to_vec())),
        }
    }

    fn release(&mut self, hashes: Vec<B256>) {
        for hash in hashes {
            if let Some(s) = self.by_hash.get_mut(&hash) {
                s.refs = s.refs.saturating_sub(1);
                if s.refs == 0 {
                    self.by_hash.remove(&hash);
                }
            }
        }
    }

    /// Forgets the blobs of blocks `block` and later (a reorg dropped them).
    pub(crate) fn drop_from(&mut self, block: u64) {
        while self.blocks.back().is_some_and(|(b, _)| *b >= block) {
            if let Some((_, hashes)) = self.blocks.pop_back() {
                self.release(hashes);
            }
        }
    }

    /// The oldest block whose blobs are served once `head` is the newest.
    pub(crate) fn oldest_kept(&self, head: u64) -> u64 {
        head.saturating_add(1).saturating_sub(self.retention)
    }

    /// Prunes the blobs of blocks that left the window once `head` is the
    /// newest block.
    pub(crate) fn prune(&mut self, head: u64) {
        let oldest = self.oldest_kept(head);
        while self.blocks.front().is_some_and(|(b, _)| *b < oldest) {
            if let Some((_, hashes)) = self.blocks.pop_front() {
                self.release(hashes);
            }
        }
    }

    /// Whether a transaction of block `block` carries the blob `hash`.
    pub(crate) fn carried_in(&self, block: u64, hash: &B256) -> bool {
        self.blocks
            .iter()
            .rev()
            .find(|(b, _)| *b == block)
            .is_some_and(|(_, hashes)| hashes.contains(hash))
    }

    /// The blob with versioned hash `hash`, if an included transaction in
    /// the window carried it.
    pub(crate) fn get(&self, hash: &B256) -> Option<&Blob> {
        self.by_hash.get(hash).and_then(|s| s.blobs.get(s.index))
    }

    /// How many distinct blobs are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// The retention window, in L1 blocks.
    pub(crate) const fn retention(&self) -> u64 {
        self.retention
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn blobs(n: u8) -> (Vec<B256>, Arc<Vec<Blob>>) {
        let blobs: Vec<Blob> = (0..n).map(Blob::repeat_byte).collect();
        let hashes = (0..n).map(B256::repeat_byte).collect();
        (hashes, Arc::new(blobs))
    }

    #[test]
    fn keeps_a_window_and_forgets_reorged_blocks() {
        let mut s = Sidecars::new(3);
        let (h, b) = blobs(2);
        s.insert(1, &h, &b);
        // The same blob carried again two blocks later.
        s.insert(3, &h[..1], &b);
        assert_eq!(s.get(&h[1]), Some(&b[1]));
        assert!(s.carried_in(1, &h[1]) && s.carried_in(3, &h[0]));
        assert!(!s.carried_in(3, &h[1]) && !s.carried_in(2, &h[0]));
        s.prune(3);
        assert_eq!(s.len(), 2, "block 1 is still in the window of 3 blocks");
        s.prune(4);
        assert!(s.get(&h[1]).is_none(), "pruned with block 1");
        assert_eq!(s.get(&h[0]), Some(&b[0]), "still carried by block 3");
        s.drop_from(3);
        assert!(s.get(&h[0]).is_none(), "block 3 was reorged out");
        assert_eq!(s.len(), 0);
        assert_eq!(s.oldest_kept(4), 2);
        assert_eq!(s.oldest_kept(1), 0);
    }
}
