//! `ChainSpec`: the consensus-critical parameters of a chunkseq chain, their
//! presets, their validation, their stable hash and their TOML form.

mod data;
mod fees;
mod file;
mod presets;
mod validate;

use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::structs::ChainSpecParams;

pub use data::{DataMode, MAX_BLOBS_PER_CHECKPOINT, MAX_CALLDATA_BYTES, UnknownDataMode};
pub use fees::{FeeSpec, MAX_DATA_PRICE_FACTOR};
pub use file::{MAX_SPEC_FILE_BYTES, SpecFileError};
pub use presets::{LOCAL_L1_CHAIN_ID, LOCAL_ROLLUP_ADDRESS, PRESET_GENESIS_TIME, Preset};
pub use validate::{
    MAX_BLOCK_GAS_LIMIT, MAX_BLOCK_TXS, MAX_CHUNKS_PER_SLOT, MAX_COMMITTEE_SIZE,
    MAX_DATA_COMPRESSION_PPM, MAX_EPOCH_SLOTS, MAX_SLOT_DURATION_MS, MIN_BLOCK_GAS_LIMIT,
    MIN_CHUNK_MS, SpecError,
};

/// The parameters every node of a chain must agree on.
///
/// Durations are in milliseconds; `genesis_time` is in unix seconds because the
/// L1 counts time in seconds, and for the same reason slot and L1 block lengths
/// must be whole seconds. Build one from a [`Preset`] or a TOML file, then call
/// [`ChainSpec::validate`] (the loaders do) or build a
/// [`Timetable`](crate::Timetable), which validates too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Chain id of the rollup's transactions (EIP-155).
    pub chain_id: u64,
    /// Chain id of the L1 the rollup contract lives on.
    pub l1_chain_id: u64,
    /// Address of the rollup contract on L1; part of the EIP-712 domain.
    pub rollup_address: Address,
    /// Unix time in seconds at which slot 0 starts.
    pub genesis_time: u64,
    /// Length of a slot.
    pub slot_duration_ms: u64,
    /// Interval between L1 blocks.
    pub l1_block_time_ms: u64,
    /// Number of chunks of the build window, hence the most blocks per slot.
    pub chunks_per_slot: u32,
    /// Slots per epoch; one committee serves an epoch.
    pub epoch_slots: u32,
    /// Committee size (every validator when there are fewer).
    pub committee_size: u32,
    /// Gas limit of an L2 block.
    pub block_gas_limit: u64,
    /// Maximum number of transactions in an L2 block.
    pub block_max_txs: u32,
    /// Whether blocks of slot `s` are built during slot `s - 1`, leaving slot
    /// `s` for publishing its checkpoint to L1.
    pub staggered: bool,
    /// How long a proposer waits for a block's attestations before ending the
    /// slot's chain at the previous block.
    pub attestation_timeout_ms: u64,
    /// Non-staggered only (0 when staggered): time at the start of a slot for
    /// syncing the previous checkpoint from L1 before building.
    pub sync_allowance_ms: u64,
    /// Non-staggered only (0 when staggered): time at the end of a slot kept
    /// free of building so the checkpoint can land on L1.
    pub publish_allowance_ms: u64,
    /// Time from the last chunk's close to the slot's attestation deadline:
    /// room for the last block's attestation round trip.
    pub attestation_margin_ms: u64,
    /// Where checkpoints publish their transactions on L1.
    #[serde(default = "data::default_data_mode")]
    pub data_mode: DataMode,
    /// Most blobs one checkpoint may carry (1 to 6): with the blob packing,
    /// the slot's byte budget in blob and auto mode. Attesters refuse a
    /// block that would push its slot's data past it.
    #[serde(default = "data::default_max_blobs")]
    pub max_blobs_per_checkpoint: u32,
    /// Most bytes of block bodies (ABI `bytes[]` per block) a checkpoint may
    /// carry as calldata: the slot's byte budget in calldata mode, and the
    /// limit for publishing as calldata in auto mode.
    #[serde(default = "data::default_max_calldata_bytes")]
    pub max_calldata_bytes: u64,
    /// Base fee and data fee parameters (docs/fees.md).
    #[serde(default)]
    pub fees: FeeSpec,
}

impl ChainSpec {
    /// The parameters as the Solidity struct the rollup contract hashes.
    ///
    /// `rollup_address` is left out: the contract is that address, and a
    /// deployer could not know it inside its own constructor arguments.
    pub fn params(&self) -> ChainSpecParams {
        ChainSpecParams {
            chainId: self.chain_id,
            l1ChainId: self.l1_chain_id,
            genesisTime: self.genesis_time,
            slotDurationMs: self.slot_duration_ms,
            l1BlockTimeMs: self.l1_block_time_ms,
            chunksPerSlot: self.chunks_per_slot,
            epochSlots: self.epoch_slots,
            committeeSize: self.committee_size,
            blockGasLimit: self.block_gas_limit,
            blockMaxTxs: self.block_max_txs,
            staggered: self.staggered,
            attestationTimeoutMs: self.attestation_timeout_ms,
            syncAllowanceMs: self.sync_allowance_ms,
            publishAllowanceMs: self.publish_allowance_ms,
            attestationMarginMs: self.attestation_margin_ms,
            dataMode: self.data_mode.code(),
            maxBlobsPerCheckpoint: self.max_blobs_per_checkpoint,
            maxCalldataBytes: self.max_calldata_bytes,
            minBaseFee: self.fees.min_base_fee,
            baseFeeElasticity: self.fees.base_fee_elasticity,
            baseFeeChangeDenominator: self.fees.base_fee_change_denominator,
            minDataPrice: self.fees.min_data_price,
            dataCompressionPpm: self.fees.data_compression_ppm,
        }
    }

    /// Stable hash of the consensus parameters: `keccak256(abi.encode(params))`.
    /// The rollup contract stores it; a node whose hash differs refuses to start.
    pub fn hash(&self) -> B256 {
        keccak256(self.params().abi_encode())
    }

    /// Number of validators that actually sit on a committee when
    /// `validators` are registered.
    pub fn effective_committee_size(&self, validators: u32) -> u32 {
        self.committee_size.min(validators)
    }

    /// Attestations a block needs when `validators` are registered:
    /// `floor(2n / 3) + 1` of the effective committee size `n`.
    pub fn attestation_threshold(&self, validators: u32) -> u32 {
        attestation_threshold(self.effective_committee_size(validators))
    }
}

/// `floor(2n / 3) + 1`: the attestations a committee of `n` must give a block.
pub const fn attestation_threshold(committee: u32) -> u32 {
    // 2 * u32::MAX fits in u64, so neither step can overflow.
    let two_n = (committee as u64).saturating_mul(2);
    let t = two_n.div_euclid(3).saturating_add(1);
    if t > u32::MAX as u64 {
        u32::MAX
    } else {
        t as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_floor_two_thirds_plus_one() {
        let table = [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 5),
            (48, 33),
            (100, 67),
        ];
        for (n, t) in table {
            assert_eq!(attestation_threshold(n), t, "committee {n}");
        }
        let spec = Preset::Devnet.spec();
        assert_eq!(
            spec.attestation_threshold(4),
            3,
            "committee is every validator when fewer"
        );
        assert_eq!(
            spec.attestation_threshold(1000),
            33,
            "committee capped at committee_size"
        );
    }

    /// The preset hashes are what deployed contracts store: a change here is a
    /// change of chain, never an accident.
    #[test]
    fn preset_hashes_are_pinned() {
        let pinned = [
            (
                Preset::Seed,
                "0x3712948340d9650754b7121b18730c05c8b4c995557c1fa88b5fac7535292a96",
            ),
            (
                Preset::SeedStaggered,
                "0x4d8abc584a0b5b4f850bf0e07baebd944967be7735ff3aa8f6d6650377c0390d",
            ),
            (
                Preset::Fast,
                "0xd54f367479aebdbd18342a28251c040cd94c1e6dd2a54fa75f7ee11c46e9f28a",
            ),
            (
                Preset::Devnet,
                "0x6528012a71f6dba1759502d44c87ba7b3fc3ccda1043227ae703f72413a5e39c",
            ),
        ];
        for (p, hash) in pinned {
            assert_eq!(p.spec().hash().to_string(), hash, "{p}");
        }
    }

    #[test]
    fn hash_changes_with_every_consensus_parameter() {
        let base = Preset::Devnet.spec();
        let h = base.hash();
        let mut variants = Vec::new();
        let mut s = base.clone();
        s.chain_id += 1;
        variants.push(s);
        let mut s = base.clone();
        s.genesis_time += 1;
        variants.push(s);
        let mut s = base.clone();
        s.chunks_per_slot += 1;
        variants.push(s);
        let mut s = base.clone();
        s.staggered = !s.staggered;
        variants.push(s);
        let mut s = base.clone();
        s.attestation_margin_ms += 1;
        variants.push(s);
        let mut s = base.clone();
        s.data_mode = DataMode::Blobs;
        variants.push(s);
        let mut s = base.clone();
        s.max_blobs_per_checkpoint -= 1;
        variants.push(s);
        let mut s = base.clone();
        s.max_calldata_bytes += 1;
        variants.push(s);
        let mut s = base.clone();
        s.fees.min_base_fee += 1;
        variants.push(s);
        let mut s = base.clone();
        s.fees.base_fee_elasticity += 1;
        variants.push(s);
        let mut s = base.clone();
        s.fees.base_fee_change_denominator += 1;
        variants.push(s);
        let mut s = base.clone();
        s.fees.min_data_price += 1;
        variants.push(s);
        let mut s = base.clone();
        s.fees.data_compression_ppm += 1;
        variants.push(s);
        for v in variants {
            assert_ne!(v.hash(), h, "{v:?}");
        }
        let mut s = base.clone();
        s.rollup_address = Address::repeat_byte(0x11);
        assert_eq!(s.hash(), h, "the rollup address is not part of the hash");
    }
}
