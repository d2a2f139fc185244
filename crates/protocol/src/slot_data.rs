//! What L1 must carry for a slot's blocks so far, and the data hash the
//! committee signs for it.
//!
//! Blocks are appended one at a time, as they are built or re-executed.
//! Each step checks the slot's byte budget, a consensus rule: attesters
//! refuse a block that would push the slot past it. On a chain whose data
//! mode signs blobs (blobs or auto), each step also encodes the block as the
//! next segment of the slot's blob data and computes the blobs' versioned
//! hashes. Segments only append, so the blobs before the new segment keep
//! their bytes, and a [`VersionedHashCache`] keeps their commitments: a
//! block costs the commitments of the one or two blobs it touches.

use alloy_eips::eip4844::Blob;
use alloy_primitives::{B256, Bytes};
use chunkseq_da::{CheckpointData, DATA_BYTES_PER_BLOB, VersionedHashCache};
use chunkseq_primitives::{ChainSpec, DataMode, body::encode_body, hashing::data_hash};

/// Blobs whose commitments a node remembers: a slot's blobs and the ones
/// its blocks replaced, with room for a second slot in flight (2 MiB: the
/// memo holds the blobs).
pub const VERSIONED_HASH_CACHE_BLOBS: usize = 16;

/// Why a block cannot join its slot's data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlotDataError {
    /// The slot's blob data would need more blobs than the chain allows.
    #[error("the slot's data would need {blobs} blobs; the chain allows {max}")]
    OverBlobBudget {
        /// Blobs needed with the block.
        blobs: usize,
        /// `max_blobs_per_checkpoint`.
        max: u32,
    },
    /// The slot's bodies would exceed the calldata budget (calldata mode).
    #[error("the slot's bodies would be {bytes} bytes of calldata; the chain allows {max}")]
    OverCalldataBudget {
        /// Calldata bytes with the block.
        bytes: u64,
        /// `max_calldata_bytes`.
        max: u64,
    },
    /// The block cannot be encoded as blob data (a bound of the encoding).
    #[error("blob encoding: {0}")]
    Encoding(String),
    /// A KZG commitment failed.
    #[error("blob commitment: {0}")]
    Commitment(String),
}

/// The data of a slot's blocks `0..=i`: calldata size, blob data, and what
/// attestations sign for it.
#[derive(Clone, Debug)]
pub struct SlotData {
    mode: DataMode,
    max_blobs: u32,
    max_calldata_bytes: u64,
    /// The blob data (blob and auto modes).
    blobs: Option<CheckpointData>,
    /// Bytes of the bodies as calldata (`bytes[]` per block).
    calldata_bytes: u64,
    /// Raw transaction bytes of the blocks.
    raw_bytes: u64,
    /// Versioned hashes of the blobs; set by [`SlotData::commit`].
    versioned_hashes: Vec<B256>,
    data_hash: B256,
    committed: bool,
    /// The blobs the last block changed or added, and their data bytes:
    /// what a node that committed the previous blocks commits for it.
    touched: (u64, u64),
}

impl SlotData {
    /// The data of a slot before its first block, under `spec`'s data mode
    /// and budget.
    pub fn new(spec: &ChainSpec) -> Self {
        Self {
            mode: spec.data_mode,
            max_blobs: spec.max_blobs_per_checkpoint,
            max_calldata_bytes: spec.max_calldata_bytes,
            blobs: spec.data_mode.signs_blobs().then(CheckpointData::default),
            calldata_bytes: 0,
            raw_bytes: 0,
            versioned_hashes: Vec::new(),
            data_hash: B256::ZERO,
            committed: true,
            touched: (0, 0),
        }
    }

    /// This data with a block of `transactions` appended, if the slot's
    /// budget allows it. The versioned hashes are not computed yet: call
    /// [`SlotData::commit`].
    pub fn appended(&self, transactions: &[Bytes]) -> Result<Self, SlotDataError> {
        let mut next = self.clone();
        next.committed = false;
        next.calldata_bytes = self
            .calldata_bytes
            .saturating_add(encode_body(transactions).len() as u64);
        next.raw_bytes = self.raw_bytes.saturating_add(
            transactions
                .iter()
                .map(|t| t.len() as u64)
                .fold(0u64, u64::saturating_add),
        );
        if self.mode == DataMode::Calldata && next.calldata_bytes > self.max_calldata_bytes {
            return Err(SlotDataError::OverCalldataBudget {
                bytes: next.calldata_bytes,
                max: self.max_calldata_bytes,
            });
        }
        if let Some(data) = next.blobs.as_mut() {
            let segment = data
                .segment(transactions)
                .map_err(|e| SlotDataError::Encoding(e.to_string()))?;
            let blobs = data.blob_count_with(&segment);
            if blobs > self.max_blobs as usize {
                return Err(SlotDataError::OverBlobBudget {
                    blobs,
                    max: self.max_blobs,
                });
            }
            let before = data.data_len();
            data.push_segment(segment)
                .map_err(|e| SlotDataError::Encoding(e.to_string()))?;
            next.touched = touched_blobs(before, data.data_len());
        }
        Ok(next)
    }

    /// Computes the blobs' versioned hashes and the data hash, reusing the
    /// commitments of blobs `cache` has seen.
    pub fn commit(mut self, cache: &mut VersionedHashCache) -> Result<Self, SlotDataError> {
        if let Some(data) = &self.blobs {
            self.versioned_hashes = cache
                .versioned_hashes(&data.blobs())
                .map_err(|e| SlotDataError::Commitment(e.to_string()))?;
        }
        self.data_hash = data_hash(&self.versioned_hashes);
        self.committed = true;
        Ok(self)
    }

    /// The KZG commitments the last block costs, as (blobs, data bytes in
    /// them): the blobs it changed or added, which is what a node that
    /// committed the slot's previous blocks computes. A pure function of
    /// the data, so every node (and the simulator's cost model) agrees.
    pub const fn touched(&self) -> (u64, u64) {
        self.touched
    }

    /// Whether [`SlotData::commit`] ran since the last block was appended.
    pub const fn is_committed(&self) -> bool {
        self.committed
    }

    /// What attestations of the last block sign: keccak256 of the versioned
    /// hashes, zero on a calldata-only chain.
    pub const fn data_hash(&self) -> B256 {
        self.data_hash
    }

    /// The blobs' versioned hashes (empty on a calldata-only chain).
    pub fn versioned_hashes(&self) -> &[B256] {
        &self.versioned_hashes
    }

    /// The blobs (empty on a calldata-only chain).
    pub fn blobs(&self) -> Vec<Blob> {
        self.blobs
            .as_ref()
            .map(CheckpointData::blobs)
            .unwrap_or_default()
    }

    /// How many blobs the data takes.
    pub fn blob_count(&self) -> usize {
        self.blobs.as_ref().map_or(0, CheckpointData::blob_count)
    }

    /// Bytes of blob data (segments, without padding).
    pub fn blob_data_bytes(&self) -> u64 {
        self.blobs.as_ref().map_or(0, |d| d.data_len() as u64)
    }

    /// Bytes the bodies take as calldata.
    pub const fn calldata_bytes(&self) -> u64 {
        self.calldata_bytes
    }

    /// Raw transaction bytes of the blocks.
    pub const fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Whether the bodies may be published as calldata: calldata mode, or
    /// auto mode when they fit `max_calldata_bytes`.
    pub const fn calldata_allowed(&self) -> bool {
        match self.mode {
            DataMode::Calldata => true,
            DataMode::Blobs => false,
            DataMode::Auto => self.calldata_bytes <= self.max_calldata_bytes,
        }
    }

    /// Whether the data must go in blobs: blobs mode, or auto mode when
    /// calldata is not allowed.
    pub const fn blobs_required(&self) -> bool {
        !self.calldata_allowed()
    }

    /// Whether the chain's data mode signs blobs (blobs or auto).
    pub const fn spec_signs_blobs(&self) -> bool {
        self.mode.signs_blobs()
    }

    /// What a transaction of `len` bytes takes of [`SlotData::room`]: its
    /// calldata bytes in calldata mode, its raw bytes otherwise.
    pub const fn tx_cost(&self, len: usize) -> u64 {
        let len = len as u64;
        match self.blobs {
            // An offset word, a length word, the bytes padded to words.
            None => len.saturating_add(31) / 32 * 32 + 64,
            Some(_) => len,
        }
    }

    /// A proposer's estimate of how much the next block may take, in the
    /// unit of [`SlotData::tx_cost`]. In calldata mode it is exact. With
    /// blobs it is the blob space left scaled by the compression the slot's
    /// blocks achieved so far (none assumed before the first), less 3 % in
    /// case the next block compresses worse. The budget itself is checked
    /// exactly by [`SlotData::appended`].
    pub fn room(&self) -> u64 {
        // A block's own overhead: the body's head, or the segment's length
        // prefix, stream header and shape.
        const BLOCK_OVERHEAD: u64 = 64;
        match &self.blobs {
            None => self
                .max_calldata_bytes
                .saturating_sub(self.calldata_bytes)
                .saturating_sub(BLOCK_OVERHEAD),
            Some(data) => {
                let capacity =
                    (DATA_BYTES_PER_BLOB as u64).saturating_mul(u64::from(self.max_blobs));
                let used = data.data_len() as u64;
                let left = capacity.saturating_sub(used).saturating_sub(BLOCK_OVERHEAD);
                if used == 0 || self.raw_bytes == 0 {
                    return left;
                }
                let scaled = u128::from(left)
                    .saturating_mul(u128::from(self.raw_bytes))
                    .saturating_mul(97)
                    .checked_div(u128::from(used).saturating_mul(100))
                    .unwrap_or(0);
                u64::try_from(scaled).unwrap_or(u64::MAX)
            }
        }
    }
}

/// The blobs that data growing from `before` to `after` bytes changes or
/// adds, and the data bytes they hold.
fn touched_blobs(before: usize, after: usize) -> (u64, u64) {
    let per_blob = DATA_BYTES_PER_BLOB;
    let first = before.checked_div(per_blob).unwrap_or(0);
    let end = after.div_ceil(per_blob);
    let mut bytes = 0u64;
    for j in first..end {
        let start = j.saturating_mul(per_blob);
        let stop = after.min(start.saturating_add(per_blob));
        bytes = bytes.saturating_add(stop.saturating_sub(start) as u64);
    }
    (end.saturating_sub(first) as u64, bytes)
}

/// Blob gas of one blob (EIP-4844).
pub const GAS_PER_BLOB: u64 = 131_072;

/// Gas the bodies cost as calldata at the EIP-7623 floor, which a
/// data-heavy transaction pays: 10 gas per token, a zero byte being one
/// token and any other byte four.
pub fn calldata_floor_gas(bodies: &[Bytes]) -> u64 {
    let tokens = bodies
        .iter()
        .flat_map(|b| b.iter())
        .map(|&byte| if byte == 0 { 1u64 } else { 4 })
        .fold(0u64, u64::saturating_add);
    tokens.saturating_mul(10)
}

/// Whether publishing as calldata (`calldata_gas` at `base_fee`) costs no
/// more than `blobs` blobs at `blob_base_fee`, as rollup batchers choose.
pub fn calldata_is_cheaper(
    calldata_gas: u64,
    base_fee: u128,
    blobs: usize,
    blob_base_fee: u128,
) -> bool {
    let calldata = u128::from(calldata_gas).saturating_mul(base_fee);
    let blob = u128::from(GAS_PER_BLOB)
        .saturating_mul(blobs as u128)
        .saturating_mul(blob_base_fee);
    calldata <= blob
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkseq_primitives::Preset;

    /// `n` transactions of `len` incompressible bytes.
    fn random_txs(n: u32, len: usize) -> Vec<Bytes> {
        (0..n)
            .map(|i| {
                let mut tx = Vec::with_capacity(len);
                let mut seed = alloy_primitives::keccak256(i.to_be_bytes());
                while tx.len() < len {
                    tx.extend_from_slice(seed.as_slice());
                    seed = alloy_primitives::keccak256(seed);
                }
                tx.truncate(len);
                Bytes::from(tx)
            })
            .collect()
    }

    fn transfers(n: usize, seed: u8) -> Vec<Bytes> {
        (0..n)
            .map(|i| {
                let mut tx = vec![0x02, seed];
                tx.extend((0..110).map(|k| (i as u8).wrapping_mul(31).wrapping_add(k)));
                Bytes::from(tx)
            })
            .collect()
    }

    #[test]
    fn calldata_mode_has_no_blobs_and_a_calldata_budget() {
        let mut spec = Preset::Devnet.spec();
        spec.data_mode = DataMode::Calldata;
        spec.max_calldata_bytes = 20_000;
        let mut cache = VersionedHashCache::new(8);
        let one = SlotData::new(&spec)
            .appended(&transfers(100, 1))
            .unwrap()
            .commit(&mut cache)
            .unwrap();
        assert_eq!(one.data_hash(), B256::ZERO);
        assert!(one.versioned_hashes().is_empty());
        assert_eq!(
            one.calldata_bytes(),
            encode_body(&transfers(100, 1)).len() as u64
        );
        assert!(one.calldata_allowed() && !one.blobs_required());
        let err = one.appended(&transfers(100, 2)).unwrap_err();
        assert!(
            matches!(err, SlotDataError::OverCalldataBudget { max: 20_000, .. }),
            "{err}"
        );
    }

    #[test]
    fn blob_mode_signs_the_versioned_hashes_and_enforces_the_blob_budget() {
        let mut spec = Preset::Devnet.spec();
        spec.data_mode = DataMode::Blobs;
        spec.max_blobs_per_checkpoint = 1;
        let mut cache = VersionedHashCache::new(8);
        let data = SlotData::new(&spec)
            .appended(&transfers(100, 1))
            .unwrap()
            .commit(&mut cache)
            .unwrap();
        assert_eq!(data.blob_count(), 1);
        assert_eq!(data.versioned_hashes().len(), 1);
        assert_eq!(data.data_hash(), data_hash(data.versioned_hashes()));
        assert!(data.blobs_required());
        // Incompressible bytes beyond one blob break the budget.
        let big = random_txs(140, 1_000);
        let err = data.appended(&big).unwrap_err();
        assert!(
            matches!(err, SlotDataError::OverBlobBudget { max: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn auto_publishes_as_calldata_only_when_it_fits_and_is_cheaper() {
        let spec = Preset::Devnet.spec();
        assert_eq!(spec.data_mode, DataMode::Auto);
        let data = SlotData::new(&spec).appended(&transfers(10, 1)).unwrap();
        assert!(data.calldata_allowed());
        assert!(calldata_is_cheaper(1_000, 0, 1, 1), "free calldata wins");
        assert!(!calldata_is_cheaper(1_000_000, 10, 1, 1));
        assert!(calldata_is_cheaper(1_000, 10, 1, 1));
        assert_eq!(calldata_floor_gas(&[Bytes::from(vec![0u8, 1, 2])]), 90);
    }

    #[test]
    fn a_block_touches_the_blobs_its_segment_reaches() {
        let per = DATA_BYTES_PER_BLOB;
        assert_eq!(touched_blobs(0, 10), (1, 10));
        assert_eq!(
            touched_blobs(10, 20),
            (1, 20),
            "the whole first blob is recommitted"
        );
        assert_eq!(touched_blobs(per - 5, per + 5), (2, per as u64 + 5));
        assert_eq!(
            touched_blobs(per, per + 7),
            (1, 7),
            "a fresh blob after a full one"
        );
        assert_eq!(touched_blobs(3, 3 * per), (3, 3 * per as u64));
    }

    #[test]
    fn room_shrinks_as_blocks_fill_the_slot() {
        let spec = Preset::Devnet.spec();
        let empty = SlotData::new(&spec);
        let one = empty.appended(&random_txs(500, 200)).unwrap();
        assert!(one.room() < empty.room());
        // Compressible blocks leave room for more raw bytes than blob space.
        let compressible = empty.appended(&transfers(500, 1)).unwrap();
        assert!(compressible.room() > one.room());
        assert!(one.raw_bytes() > 0 && one.blob_data_bytes() > 0);
    }
}
