//! Hashes that identify blocks and checkpoints and link them into chains.

use alloy_primitives::{B256, keccak256};
use alloy_sol_types::SolValue;

use crate::{
    ids::{BlockIndex, BlockNumber, Slot},
    structs::{
        Attestation, BlockHeader, BlockProposal, Checkpoint, CheckpointHeader, ProvisionalBlock,
    },
};

impl BlockHeader {
    /// The block hash: `keccak256(abi.encode(header))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }

    /// The header's slot.
    pub const fn slot_id(&self) -> Slot {
        Slot(self.slot)
    }

    /// The header's index within its slot.
    pub const fn index_id(&self) -> BlockIndex {
        BlockIndex(self.index)
    }

    /// The header's height.
    pub const fn number_id(&self) -> BlockNumber {
        BlockNumber(self.number)
    }

    /// What the proposer signs to propose this block.
    pub fn proposal(&self) -> BlockProposal {
        BlockProposal {
            slot: self.slot,
            index: self.index,
            blockHash: self.hash(),
        }
    }

    /// What a committee member signs to attest this block, whose slot's
    /// blocks `0..=index` are carried on L1 by data with `data_hash` (see
    /// [`data_hash`]; zero on a calldata-only chain).
    pub fn attestation(&self, data_hash: B256) -> Attestation {
        Attestation {
            slot: self.slot,
            index: self.index,
            blockHash: self.hash(),
            dataHash: data_hash,
        }
    }
}

impl CheckpointHeader {
    /// The header of a slot before any block: it only names its parent.
    pub const fn empty(slot: Slot, parent_checkpoint_hash: B256) -> Self {
        Self {
            slot: slot.0,
            parentCheckpointHash: parent_checkpoint_hash,
            blockCount: 0,
            blocksHash: B256::ZERO,
        }
    }

    /// The header's hash: `keccak256(abi.encode(header))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }

    /// The header after appending `block_hash`, or `None` if the count would
    /// overflow (a `ChainSpec` bounds it far below).
    pub fn extended(&self, block_hash: B256) -> Option<Self> {
        Some(Self {
            slot: self.slot,
            parentCheckpointHash: self.parentCheckpointHash,
            blockCount: self.blockCount.checked_add(1)?,
            blocksHash: chain_blocks_hash(self.blocksHash, block_hash),
        })
    }

    /// The header covering `block_hashes` in order.
    pub fn covering<'a>(
        slot: Slot,
        parent_checkpoint_hash: B256,
        block_hashes: impl IntoIterator<Item = &'a B256>,
    ) -> Option<Self> {
        block_hashes
            .into_iter()
            .try_fold(Self::empty(slot, parent_checkpoint_hash), |h, b| {
                h.extended(*b)
            })
    }
}

/// One step of the running blocks hash: `keccak256(abi.encode(prev, block))`.
pub fn chain_blocks_hash(prev: B256, block_hash: B256) -> B256 {
    keccak256((prev, block_hash).abi_encode())
}

/// What attestations sign for a checkpoint's data: keccak256 of the blobs'
/// versioned hashes concatenated (`keccak256(abi.encodePacked(bytes32[]))`
/// in the contract), or zero when there are none (a calldata-only chain).
pub fn data_hash(versioned_hashes: &[B256]) -> B256 {
    if versioned_hashes.is_empty() {
        return B256::ZERO;
    }
    let mut bytes = Vec::with_capacity(versioned_hashes.len().saturating_mul(32));
    for h in versioned_hashes {
        bytes.extend_from_slice(h.as_slice());
    }
    keccak256(bytes)
}

/// Hash of a block's attestation signatures: keccak256 of their concatenation.
pub fn attestations_hash(concatenated_signatures: &[u8]) -> B256 {
    keccak256(concatenated_signatures)
}

impl ProvisionalBlock {
    /// The provisional-block statement for `header` under `checkpoint_header`
    /// with the given concatenated attestation signatures.
    pub fn new(
        header: &BlockHeader,
        checkpoint_header: &CheckpointHeader,
        attestations: &[u8],
    ) -> Self {
        Self {
            slot: header.slot,
            index: header.index,
            blockHash: header.hash(),
            checkpointHeaderHash: checkpoint_header.hash(),
            attestationsHash: attestations_hash(attestations),
        }
    }
}

impl Checkpoint {
    /// The end-of-slot statement for a final checkpoint header whose last
    /// block is `last_block_hash` (zero when the checkpoint is empty).
    pub fn new(header: &CheckpointHeader, last_block_hash: B256) -> Self {
        Self {
            slot: header.slot,
            checkpointHeaderHash: header.hash(),
            blockCount: header.blockCount,
            lastBlockHash: last_block_hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_header_commits_to_order_and_parent() {
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let parent = B256::repeat_byte(9);
        let ab = CheckpointHeader::covering(Slot(3), parent, &[a, b]).unwrap();
        let ba = CheckpointHeader::covering(Slot(3), parent, &[b, a]).unwrap();
        assert_eq!(ab.blockCount, 2);
        assert_ne!(ab.hash(), ba.hash());
        let other_parent = CheckpointHeader::covering(Slot(3), B256::ZERO, &[a, b]).unwrap();
        assert_ne!(ab.hash(), other_parent.hash());
        let step = CheckpointHeader::empty(Slot(3), parent)
            .extended(a)
            .unwrap()
            .extended(b)
            .unwrap();
        assert_eq!(step, ab);
        assert_eq!(
            ab.blocksHash,
            chain_blocks_hash(chain_blocks_hash(B256::ZERO, a), b)
        );
    }

    #[test]
    fn data_hash_is_keccak_of_packed_hashes() {
        assert_eq!(data_hash(&[]), B256::ZERO);
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let mut packed = a.to_vec();
        packed.extend_from_slice(b.as_slice());
        assert_eq!(data_hash(&[a, b]), keccak256(&packed));
        assert_ne!(data_hash(&[a, b]), data_hash(&[b, a]));
        assert_ne!(data_hash(&[a]), data_hash(&[a, b]));
    }

    #[test]
    fn proposal_and_attestation_name_the_same_block() {
        let h = BlockHeader {
            number: 5,
            slot: 2,
            index: 1,
            txCount: 3,
            baseFee: 10_000_000,
            dataPrice: 100_000_000,
            ..Default::default()
        };
        assert_eq!(h.proposal().blockHash, h.hash());
        assert_eq!(h.attestation(B256::ZERO).blockHash, h.hash());
        assert_eq!(h.attestation(B256::ZERO).dataHash, B256::ZERO);
        let mut h2 = h.clone();
        h2.txCount = 4;
        assert_ne!(h.hash(), h2.hash());
    }
}
