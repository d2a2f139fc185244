//! The versioned hashes an attester needs block by block, without
//! recommitting the blobs that did not change.
//!
//! For block `i` of a slot an attester hashes the blobs of blocks `0..=i`.
//! Checkpoint data is append-only, so from block `i` to `i + 1` only the
//! last blob of `0..=i` and any new blobs differ; a memo keyed by the blob's
//! bytes gives every other hash without a commitment (a comparison of at
//! most 128 KiB per entry instead of about 50 ms of KZG per blob).

use std::collections::VecDeque;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{B256, Bytes};

use crate::{
    MAX_BLOBS_PER_CHECKPOINT,
    checkpoint::CheckpointData,
    error::{DaError, KzgError},
    kzg::{blob_commitment, versioned_hash},
};

/// A bounded memo from a blob to its versioned hash, evicting the least
/// recently used entry when full. It holds the blobs themselves (128 KiB
/// each, 1.5 MiB at the default capacity) and compares them byte for byte,
/// which costs less than hashing them and cannot collide.
#[derive(Debug, Clone)]
pub struct VersionedHashCache {
    /// `(blob, versioned hash)`, least recently used first.
    entries: VecDeque<(Box<Blob>, B256)>,
    capacity: usize,
    /// Threads that commit one call's missing blobs side by side.
    threads: usize,
    hits: u64,
    misses: u64,
}

impl Default for VersionedHashCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl VersionedHashCache {
    /// Room for two checkpoints' blobs: the slot being attested and the
    /// blobs it replaced, or two slots in flight.
    pub const DEFAULT_CAPACITY: usize = 2 * MAX_BLOBS_PER_CHECKPOINT;

    /// An empty cache holding at most `capacity` hashes (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            entries: VecDeque::with_capacity(capacity),
            capacity,
            threads: 1,
            hits: 0,
            misses: 0,
        }
    }

    /// The same cache committing the blobs one call lacks on up to `threads`
    /// threads (at least one; [`VersionedHashCache::new`] uses one). A
    /// block that crosses a blob boundary then waits for one commitment,
    /// not two. Worth it where a core would otherwise sit idle (the
    /// simulator's one engine thread); on a machine whose cores are busy
    /// anyway (a devnet of four nodes on two) it only adds contention.
    #[must_use]
    pub fn with_commit_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The versioned hash of `blob`: from the memo, or committed and
    /// remembered.
    pub fn versioned_hash(&mut self, blob: &Blob) -> Result<B256, KzgError> {
        if let Some(hash) = self.remembered(blob) {
            return Ok(hash);
        }
        let hash = versioned_hash(&blob_commitment(blob)?);
        self.remember(blob, hash);
        Ok(hash)
    }

    /// The versioned hashes of `blobs`, in order: from the memo, or
    /// committed (side by side, see [`Self::with_commit_threads`]) and
    /// remembered.
    pub fn versioned_hashes(&mut self, blobs: &[Blob]) -> Result<Vec<B256>, KzgError> {
        let known: Vec<Option<B256>> = blobs.iter().map(|b| self.remembered(b)).collect();
        let missing: Vec<&Blob> = blobs
            .iter()
            .zip(&known)
            .filter(|(_, h)| h.is_none())
            .map(|(b, _)| b)
            .collect();
        let mut computed = commit_all(&missing, self.threads)?.into_iter();
        let mut hashes = Vec::with_capacity(blobs.len());
        for (blob, known) in blobs.iter().zip(known) {
            let hash = match known {
                Some(hash) => hash,
                None => {
                    let hash = computed
                        .next()
                        .ok_or_else(|| KzgError::Kzg("a commitment went missing".into()))?;
                    self.remember(blob, hash);
                    hash
                }
            };
            hashes.push(hash);
        }
        Ok(hashes)
    }

    /// The memo's hash of `blob`, counted as a hit and moved to the back.
    fn remembered(&mut self, blob: &Blob) -> Option<B256> {
        let entry = self
            .entries
            .iter()
            .position(|(held, _)| **held == *blob)
            .and_then(|i| self.entries.remove(i))?;
        let hash = entry.1;
        self.hits = self.hits.saturating_add(1);
        self.entries.push_back(entry);
        Some(hash)
    }

    /// Records a committed blob's hash, evicting the oldest entry when full.
    fn remember(&mut self, blob: &Blob, hash: B256) {
        self.misses = self.misses.saturating_add(1);
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((Box::new(*blob), hash));
    }

    /// Hashes answered from the memo.
    pub const fn hits(&self) -> u64 {
        self.hits
    }

    /// Hashes that needed a commitment.
    pub const fn misses(&self) -> u64 {
        self.misses
    }

    /// Hashes held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no hash is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most hashes held.
    pub const fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The versioned hashes of `blobs`, in order, computed on up to `threads`
/// threads (one blob, or one thread, needs no second thread).
fn commit_all(blobs: &[&Blob], threads: usize) -> Result<Vec<B256>, KzgError> {
    let one = |blob: &Blob| blob_commitment(blob).map(|c| versioned_hash(&c));
    if blobs.len() < 2 || threads < 2 {
        return blobs.iter().map(|b| one(b)).collect();
    }
    let per_thread = blobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = blobs.chunks(per_thread);
        let first = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|chunk| scope.spawn(move || chunk.iter().map(|b| one(b)).collect::<Vec<_>>()))
            .collect();
        let mut hashes: Vec<B256> = first.iter().map(|b| one(b)).collect::<Result<_, _>>()?;
        for handle in others {
            let done = handle
                .join()
                .map_err(|_| KzgError::Kzg("a commitment thread panicked".into()))?;
            for hash in done {
                hashes.push(hash?);
            }
        }
        Ok(hashes)
    })
}

/// For each block `i`, the versioned hashes of the blobs of blocks `0..=i`
/// (default codec and level): what the attesters of each block hash into
/// its `dataHash`. Each blob is committed once per distinct content.
pub fn prefix_versioned_hashes(blocks: &[Vec<Bytes>]) -> Result<Vec<Vec<B256>>, DaError> {
    let mut data = CheckpointData::default();
    let mut cache = VersionedHashCache::default();
    let mut prefixes = Vec::with_capacity(blocks.len());
    for block in blocks {
        data.push_block(block)?;
        prefixes.push(cache.versioned_hashes(&data.blobs())?);
    }
    Ok(prefixes)
}
