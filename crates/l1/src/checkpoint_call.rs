//! Assembling a complete `proposeCheckpoint` (or `rescueCheckpoint`) call
//! from signed parts: what a proposer submits, and what tests and benchmarks
//! need to build honest (or deliberately broken) checkpoints and rescues.

use std::sync::Arc;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{Address, B256, Bytes};
use chunkseq_da::DaError;
use chunkseq_primitives::{
    BlockHeader, Checkpoint, CheckpointHeader, Eip712Domain, ProvisionalBlock, Signer, SignerError,
    Slot, body::encode_body, hashing::data_hash,
};

use crate::calls::RollupCall;

/// The attestations of `header` by `attesters`, concatenated in ascending
/// address order as the contract requires.
pub fn attestations<S: Signer>(
    domain: &Eip712Domain,
    header: &BlockHeader,
    data_hash: B256,
    attesters: &[&S],
) -> Result<Bytes, SignerError> {
    let mut sorted: Vec<&&S> = attesters.iter().collect();
    sorted.sort_by_key(|s| s.address());
    let statement = header.attestation(data_hash);
    let mut out = Vec::with_capacity(sorted.len().saturating_mul(65));
    for s in sorted {
        out.extend_from_slice(&s.sign_statement(domain, &statement)?);
    }
    Ok(out.into())
}

/// `count` headers for `slot` chained on `parent` (hash, number): copies of
/// `template` with number, slot, index and parent hash filled in, and a
/// distinct state root per index.
pub fn chained_headers(
    slot: u64,
    count: u32,
    parent: (B256, u64),
    template: &BlockHeader,
) -> Vec<BlockHeader> {
    let (mut hash, mut number) = parent;
    (0..count)
        .map(|index| {
            number = number.saturating_add(1);
            let h = BlockHeader {
                number,
                slot,
                index,
                parentHash: hash,
                stateRoot: B256::repeat_byte((index as u8).wrapping_add(1)),
                ..template.clone()
            };
            hash = h.hash();
            h
        })
        .collect()
}

/// A slot's blocks in both forms a checkpoint may publish them in: each
/// block's body for calldata, and the blobs that encode the blocks, with
/// their versioned hashes (what attestations sign, through [`data_hash`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotData {
    /// Each block's body (abi-encoded `bytes[]` of its transactions).
    pub bodies: Vec<Bytes>,
    /// The blobs encoding the blocks (`chunkseq_da::encode_checkpoint`).
    pub blobs: Arc<Vec<Blob>>,
    /// The blobs' versioned hashes, in order.
    pub blob_hashes: Vec<B256>,
}

impl SlotData {
    /// Encodes `blocks` (each block's raw transactions).
    pub fn encode(blocks: &[Vec<Bytes>]) -> Result<Self, DaError> {
        let blobs = chunkseq_da::encode_checkpoint(blocks)?;
        let blob_hashes = chunkseq_da::versioned_hashes(&blobs)?;
        Ok(Self {
            bodies: blocks.iter().map(|txs| encode_body(txs)).collect(),
            blobs: Arc::new(blobs),
            blob_hashes,
        })
    }

    /// What the attestations of the slot's last block sign for this data
    /// on a chain whose attestations sign blobs (see [`data_hash`]).
    pub fn data_hash(&self) -> B256 {
        data_hash(&self.blob_hashes)
    }
}

/// The parts of a checkpoint before the proposer signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointParts {
    /// The slot.
    pub slot: u64,
    /// Header hash of the checkpoint it extends (zero for the first).
    pub parent_checkpoint: B256,
    /// The slot's blocks, in index order.
    pub headers: Vec<BlockHeader>,
    /// Each block's transactions (calldata mode; empty in blob mode).
    pub bodies: Vec<Bytes>,
    /// The versioned hashes the attestations' data hash covers.
    pub blob_hashes: Vec<B256>,
    /// The blobs the transaction carries (blob mode; empty in calldata mode).
    pub blobs: Arc<Vec<Blob>>,
    /// The last block's attestations (see [`attestations`]).
    pub attestations: Bytes,
    /// The slot's committee, sorted by address.
    pub committee: Vec<Address>,
}

impl CheckpointParts {
    /// The slot's running checkpoint header through its last block, and
    /// that block's hash.
    fn final_header(&self) -> Result<(CheckpointHeader, B256), SignerError> {
        let hashes: Vec<B256> = self.headers.iter().map(BlockHeader::hash).collect();
        let header = CheckpointHeader::covering(Slot(self.slot), self.parent_checkpoint, &hashes)
            .ok_or_else(|| SignerError::Unavailable("too many blocks".into()))?;
        Ok((header, hashes.last().copied().unwrap_or_default()))
    }

    /// The `rescueCheckpoint` call, proven by `proposer`'s signature over
    /// the last block's `ProvisionalBlock` (with these attestations), as a
    /// node that holds the provisional chain has it.
    pub fn rescue<S: Signer>(
        self,
        domain: &Eip712Domain,
        proposer: &S,
    ) -> Result<RollupCall, SignerError> {
        let (header, _) = self.final_header()?;
        let last = self
            .headers
            .last()
            .ok_or_else(|| SignerError::Unavailable("no blocks".into()))?;
        let statement = ProvisionalBlock::new(last, &header, &self.attestations);
        let signature = proposer.sign_statement(domain, &statement)?;
        Ok(RollupCall::RescueCheckpoint {
            slot: self.slot,
            headers: self.headers,
            bodies: self.bodies,
            blob_hashes: self.blob_hashes,
            blobs: self.blobs,
            attestations: self.attestations,
            committee: self.committee,
            provisional_signature: signature.to_vec().into(),
        })
    }

    /// The call, with `proposer`'s end-of-slot signature.
    pub fn sign<S: Signer>(
        self,
        domain: &Eip712Domain,
        proposer: &S,
    ) -> Result<RollupCall, SignerError> {
        let (header, last) = self.final_header()?;
        let signature = proposer.sign_statement(domain, &Checkpoint::new(&header, last))?;
        Ok(RollupCall::ProposeCheckpoint {
            slot: self.slot,
            headers: self.headers,
            bodies: self.bodies,
            blob_hashes: self.blob_hashes,
            blobs: self.blobs,
            attestations: self.attestations,
            committee: self.committee,
            signature: signature.to_vec().into(),
        })
    }
}
