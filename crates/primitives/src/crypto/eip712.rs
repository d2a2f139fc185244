//! EIP-712 domain and the signed statement kinds.
//!
//! Each kind of signature has its own struct type, hence its own type hash,
//! so no signature can be replayed as another kind. The domain binds every
//! signature to one L1 and one rollup contract.

use alloy_primitives::{Address, B256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use serde::{Deserialize, Serialize};

use crate::{
    ids::{BlockIndex, Slot},
    spec::ChainSpec,
    structs::{Attestation, BlockProposal, Checkpoint, ProvisionalBlock},
};

/// EIP-712 domain name.
pub const DOMAIN_NAME: &str = "chunkseq";
/// EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";

/// The EIP-712 domain: name `chunkseq`, version `1`, the L1 chain id and the
/// rollup contract as verifying contract.
pub fn eip712_domain(l1_chain_id: u64, rollup_address: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(alloy_primitives::U256::from(l1_chain_id)),
        Some(rollup_address),
        None,
    )
}

impl ChainSpec {
    /// The EIP-712 domain of this chain.
    pub fn eip712_domain(&self) -> Eip712Domain {
        eip712_domain(self.l1_chain_id, self.rollup_address)
    }
}

/// The kinds of statement a validator signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// A `BlockProposal`, by the proposer.
    Proposal,
    /// An `Attestation`, by a committee member.
    Attestation,
    /// A `ProvisionalBlock`, by the proposer.
    Provisional,
    /// An end-of-slot `Checkpoint`, by the proposer.
    Checkpoint,
}

impl StatementKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Proposal,
        Self::Attestation,
        Self::Provisional,
        Self::Checkpoint,
    ];

    /// The kind's name in logs and files.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Proposal => "proposal",
            Self::Attestation => "attestation",
            Self::Provisional => "provisional",
            Self::Checkpoint => "checkpoint",
        }
    }
}

/// A struct a validator signs with EIP-712. Slashing protection keys each
/// signature by `(kind, slot, index)`.
pub trait SignedStatement: SolStruct {
    /// The kind of statement.
    const KIND: StatementKind;
    /// The slot it speaks about.
    fn slot(&self) -> Slot;
    /// The block index it speaks about; `None` for a whole-slot statement.
    fn index(&self) -> Option<BlockIndex>;
    /// The digest to sign under `domain`.
    fn digest(&self, domain: &Eip712Domain) -> B256 {
        self.eip712_signing_hash(domain)
    }
}

macro_rules! block_statement {
    ($ty:ty, $kind:expr) => {
        impl SignedStatement for $ty {
            const KIND: StatementKind = $kind;
            fn slot(&self) -> Slot {
                Slot(self.slot)
            }
            fn index(&self) -> Option<BlockIndex> {
                Some(BlockIndex(self.index))
            }
        }
    };
}

block_statement!(BlockProposal, StatementKind::Proposal);
block_statement!(Attestation, StatementKind::Attestation);
block_statement!(ProvisionalBlock, StatementKind::Provisional);

impl SignedStatement for Checkpoint {
    const KIND: StatementKind = StatementKind::Checkpoint;
    fn slot(&self) -> Slot {
        Slot(self.slot)
    }
    fn index(&self) -> Option<BlockIndex> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The EIP-712 type strings are part of the protocol: pinned here and in
    /// the contract.
    #[test]
    fn type_strings_are_pinned() {
        assert_eq!(
            BlockProposal::eip712_encode_type(),
            "BlockProposal(uint64 slot,uint32 index,bytes32 blockHash)"
        );
        assert_eq!(
            Attestation::eip712_encode_type(),
            "Attestation(uint64 slot,uint32 index,bytes32 blockHash,bytes32 dataHash)"
        );
        assert_eq!(
            ProvisionalBlock::eip712_encode_type(),
            "ProvisionalBlock(uint64 slot,uint32 index,bytes32 blockHash,bytes32 checkpointHeaderHash,bytes32 attestationsHash)"
        );
        assert_eq!(
            Checkpoint::eip712_encode_type(),
            "Checkpoint(uint64 slot,bytes32 checkpointHeaderHash,uint32 blockCount,bytes32 lastBlockHash)"
        );
    }

    #[test]
    fn same_fields_different_kinds_give_different_digests() {
        let domain = eip712_domain(31_337, Address::repeat_byte(1));
        let p = BlockProposal {
            slot: 1,
            index: 0,
            blockHash: B256::repeat_byte(7),
        };
        let a = Attestation {
            slot: 1,
            index: 0,
            blockHash: B256::repeat_byte(7),
            dataHash: B256::ZERO,
        };
        assert_ne!(p.digest(&domain), a.digest(&domain));
        let other_l1 = eip712_domain(1, Address::repeat_byte(1));
        let other_rollup = eip712_domain(31_337, Address::repeat_byte(2));
        assert_ne!(p.digest(&domain), p.digest(&other_l1));
        assert_ne!(p.digest(&domain), p.digest(&other_rollup));
    }
}
