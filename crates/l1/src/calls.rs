//! The Rollup contract's calls, encoded against its artifact.

use std::sync::Arc;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolValue;
use chunkseq_primitives::{
    AttestationEquivocation, BlockHeader, CheckpointOmission, ProposalEquivocation,
};

use crate::{abi::ContractAbi, error::L1Error};

/// A call to the Rollup contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollupCall {
    /// Registers the sender as a validator with `stake` wei.
    Register {
        /// Who may exit and withdraw.
        withdrawal: Address,
        /// Stake sent with the call.
        stake: U256,
    },
    /// Starts a validator's exit.
    Exit {
        /// The validator.
        validator: Address,
    },
    /// Takes an exited validator out of the set once its withdrawal delay
    /// passed; its stake becomes claimable by its withdrawal address.
    Release {
        /// The validator.
        validator: Address,
    },
    /// Pays the sender the stake released to it.
    Withdraw,
    /// Records the seed and committee of an epoch (from two epochs before it).
    RecordCommittee {
        /// The epoch.
        epoch: u64,
    },
    /// Publishes a slot's blocks.
    ProposeCheckpoint {
        /// The slot.
        slot: u64,
        /// Its blocks, in index order.
        headers: Vec<BlockHeader>,
        /// Calldata mode: each block's transactions (abi-encoded `bytes[]`).
        /// Blob mode: empty.
        bodies: Vec<Bytes>,
        /// The versioned hashes of the blobs that encode the slot's blocks:
        /// what the attestations' data hash commits to (empty on a
        /// calldata-only chain).
        blob_hashes: Vec<B256>,
        /// Blob mode: the blobs themselves, in `blob_hashes` order, which the
        /// L1 transaction carries in its sidecar. Empty in calldata mode.
        blobs: Arc<Vec<Blob>>,
        /// The last block's concatenated attestation signatures (they vouch
        /// for every block before it).
        attestations: Bytes,
        /// The slot's committee, sorted by address.
        committee: Vec<Address>,
        /// The proposer's end-of-slot `Checkpoint` signature.
        signature: Bytes,
    },
    /// Publishes the attested chain of a slot whose proposer did not, in the
    /// rescue window after the slot (docs/rescue.md). The same fields as
    /// [`RollupCall::ProposeCheckpoint`], proven by the proposer's
    /// `ProvisionalBlock` signature on the last block instead of its
    /// end-of-slot signature.
    RescueCheckpoint {
        /// The slot.
        slot: u64,
        /// Its provisional blocks, in index order, from block 0.
        headers: Vec<BlockHeader>,
        /// Calldata mode: each block's transactions. Blob mode: empty.
        bodies: Vec<Bytes>,
        /// The versioned hashes the last block's attestations cover.
        blob_hashes: Vec<B256>,
        /// Blob mode: the blobs, in `blob_hashes` order.
        blobs: Arc<Vec<Blob>>,
        /// The last block's attestations, exactly as its provisional block
        /// carried them (the proposer signed their hash).
        attestations: Bytes,
        /// The slot's committee, sorted by address.
        committee: Vec<Address>,
        /// The proposer's signature over the last block's
        /// `ProvisionalBlock`.
        provisional_signature: Bytes,
    },
    /// Evidence of two proposals for one (slot, index).
    SlashProposalEquivocation {
        /// The two signed proposals.
        evidence: ProposalEquivocation,
        /// The slot's committee, sorted by address.
        committee: Vec<Address>,
    },
    /// Evidence of two attestations for one (slot, index).
    SlashAttestationEquivocation(AttestationEquivocation),
    /// A provisional block missing from its slot's checkpoint.
    SlashCheckpointOmission {
        /// The proposer's signed provisional block.
        evidence: CheckpointOmission,
        /// The block hashes of the accepted checkpoint.
        checkpoint_blocks: Vec<B256>,
        /// The accepted checkpoint's parent checkpoint hash.
        parent_checkpoint: B256,
        /// The slot's committee, sorted by address.
        committee: Vec<Address>,
    },
}

impl RollupCall {
    /// Wei sent with the call.
    pub fn value(&self) -> U256 {
        match self {
            Self::Register { stake, .. } => *stake,
            _ => U256::ZERO,
        }
    }

    /// The calldata.
    pub fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        match self {
            Self::Register { withdrawal, .. } => {
                abi.calldata("register", &(*withdrawal,).abi_encode_params())
            }
            Self::Exit { validator } => abi.calldata("exit", &(*validator,).abi_encode_params()),
            Self::Release { validator } => {
                abi.calldata("release", &(*validator,).abi_encode_params())
            }
            Self::Withdraw => abi.calldata("withdraw", &[]),
            Self::RecordCommittee { epoch } => {
                abi.calldata("recordCommittee", &(*epoch,).abi_encode_params())
            }
            // Both checkpoint calls take the same parameters; a rescue's
            // last one is the proposer's provisional-block signature.
            Self::ProposeCheckpoint {
                slot,
                headers,
                bodies,
                blob_hashes,
                attestations,
                committee,
                signature,
                ..
            }
            | Self::RescueCheckpoint {
                slot,
                headers,
                bodies,
                blob_hashes,
                attestations,
                committee,
                provisional_signature: signature,
                ..
            } => abi.calldata(
                self.name(),
                &(
                    *slot,
                    headers.clone(),
                    bodies.clone(),
                    blob_hashes.clone(),
                    attestations.clone(),
                    committee.clone(),
                    signature.clone(),
                )
                    .abi_encode_params(),
            ),
            Self::SlashProposalEquivocation {
                evidence,
                committee,
            } => abi.calldata(
                "slashProposalEquivocation",
                &(evidence.clone(), committee.clone()).abi_encode_params(),
            ),
            Self::SlashAttestationEquivocation(e) => abi.calldata(
                "slashAttestationEquivocation",
                &(e.clone(),).abi_encode_params(),
            ),
            Self::SlashCheckpointOmission {
                evidence,
                checkpoint_blocks,
                parent_checkpoint,
                committee,
            } => {
                let params = (
                    evidence.clone(),
                    checkpoint_blocks.clone(),
                    *parent_checkpoint,
                    committee.clone(),
                );
                abi.calldata("slashCheckpointOmission", &params.abi_encode_params())
            }
        }
    }

    /// The blobs the call's transaction must carry (none but for a
    /// checkpoint published in blobs).
    pub fn blobs(&self) -> &[Blob] {
        self.shared_blobs().map_or(&[], |b| b.as_slice())
    }

    /// The blobs of a checkpoint call (published or rescued) as shared,
    /// `None` for other calls.
    pub const fn shared_blobs(&self) -> Option<&Arc<Vec<Blob>>> {
        match self {
            Self::ProposeCheckpoint { blobs, .. } | Self::RescueCheckpoint { blobs, .. } => {
                Some(blobs)
            }
            _ => None,
        }
    }

    /// The slot of a checkpoint call (published or rescued).
    pub const fn checkpoint_slot(&self) -> Option<u64> {
        match self {
            Self::ProposeCheckpoint { slot, .. } | Self::RescueCheckpoint { slot, .. } => {
                Some(*slot)
            }
            _ => None,
        }
    }

    /// A short name for logs.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Register { .. } => "register",
            Self::Exit { .. } => "exit",
            Self::Release { .. } => "release",
            Self::Withdraw => "withdraw",
            Self::RecordCommittee { .. } => "recordCommittee",
            Self::ProposeCheckpoint { .. } => "proposeCheckpoint",
            Self::RescueCheckpoint { .. } => "rescueCheckpoint",
            Self::SlashProposalEquivocation { .. } => "slashProposalEquivocation",
            Self::SlashAttestationEquivocation(_) => "slashAttestationEquivocation",
            Self::SlashCheckpointOmission { .. } => "slashCheckpointOmission",
        }
    }
}
