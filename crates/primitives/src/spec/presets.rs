//! The named parameter sets selectable with `--preset`.

use core::{fmt, str::FromStr};

use alloy_primitives::{Address, address};

use super::{ChainSpec, DataMode, FeeSpec, MAX_BLOBS_PER_CHECKPOINT, SpecError};

/// Chain id of the local L1 (anvil's default, and the embedded L1's).
pub const LOCAL_L1_CHAIN_ID: u64 = 31_337;

/// Where the rollup contract lands when the first account of the local L1's
/// well-known test mnemonic deploys it as its first transaction.
pub const LOCAL_ROLLUP_ADDRESS: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");

/// 2026-01-01T00:00:00Z; runs that need a live genesis (the devnet) override it.
pub const PRESET_GENESIS_TIME: u64 = 1_767_225_600;

/// A named, validated parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// The design note's numbers: 72 s slots, 12 s L1 blocks, 2 chunks.
    Seed,
    /// As `Seed`, pipelined: slot `s` is built during slot `s - 1`.
    SeedStaggered,
    /// Blocks of about a second over an Ethereum-like 12 s L1, staggered.
    Fast,
    /// Local runs: 8 s slots over 2 s L1 blocks, 8 chunks, staggered.
    Devnet,
}

impl Preset {
    /// Every preset, in the order the docs list them.
    pub const ALL: [Self; 4] = [Self::Seed, Self::SeedStaggered, Self::Fast, Self::Devnet];

    /// The name used on the command line and in files.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::SeedStaggered => "seed-staggered",
            Self::Fast => "fast",
            Self::Devnet => "devnet",
        }
    }

    /// One line saying what the preset is for.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Seed => "the design note's numbers: 72 s slots, 12 s L1 blocks, 2 chunks",
            Self::SeedStaggered => "the design note's numbers, pipelined (staggered slots)",
            Self::Fast => "about 1 s blocks over an Ethereum-like 12 s L1, staggered",
            Self::Devnet => "local runs: 8 s slots, 2 s L1 blocks, 8 chunks, staggered",
        }
    }

    /// The preset's parameters.
    pub fn spec(self) -> ChainSpec {
        let common = ChainSpec {
            chain_id: 0,
            l1_chain_id: LOCAL_L1_CHAIN_ID,
            rollup_address: LOCAL_ROLLUP_ADDRESS,
            genesis_time: PRESET_GENESIS_TIME,
            slot_duration_ms: 0,
            l1_block_time_ms: 0,
            chunks_per_slot: 2,
            epoch_slots: 32,
            committee_size: 48,
            // A full block of 1,000 transfers (21 Mgas) stays within the
            // EIP-1559 gas target, half the limit.
            block_gas_limit: 50_000_000,
            block_max_txs: 1_000,
            staggered: true,
            attestation_timeout_ms: 1_000,
            sync_allowance_ms: 0,
            publish_allowance_ms: 0,
            attestation_margin_ms: 300,
            data_mode: DataMode::Auto,
            max_blobs_per_checkpoint: MAX_BLOBS_PER_CHECKPOINT,
            max_calldata_bytes: 256 * 1024,
            fees: FeeSpec::default(),
        };
        match self {
            Self::Seed => ChainSpec {
                chain_id: 72_001,
                slot_duration_ms: 72_000,
                l1_block_time_ms: 12_000,
                // 100 tx/s is 7,200 transactions a slot, and the first block
                // also takes what arrived while nobody was building.
                block_gas_limit: 300_000_000,
                block_max_txs: 10_000,
                staggered: false,
                attestation_timeout_ms: 6_000,
                sync_allowance_ms: 12_000,
                publish_allowance_ms: 24_000,
                attestation_margin_ms: 3_000,
                ..common
            },
            Self::SeedStaggered => ChainSpec {
                chain_id: 72_002,
                slot_duration_ms: 72_000,
                l1_block_time_ms: 12_000,
                // 100 tx/s is 7,200 transactions a slot, and the first block
                // also takes what arrived while nobody was building.
                block_gas_limit: 300_000_000,
                block_max_txs: 10_000,
                attestation_timeout_ms: 6_000,
                attestation_margin_ms: 3_000,
                ..common
            },
            Self::Fast => ChainSpec {
                chain_id: 24_001,
                slot_duration_ms: 24_000,
                l1_block_time_ms: 12_000,
                chunks_per_slot: 24,
                attestation_margin_ms: 600,
                ..common
            },
            Self::Devnet => ChainSpec {
                chain_id: 8_001,
                slot_duration_ms: 8_000,
                l1_block_time_ms: 2_000,
                chunks_per_slot: 8,
                // 1,000 tx/s fills a 1 s chunk; the headroom drains a backlog.
                block_max_txs: 2_000,
                // Room for 2,000 transfers within the EIP-1559 gas target
                // (half the limit), so a full block of them does not raise
                // the base fee.
                block_gas_limit: 100_000_000,
                // Two chunks: four full nodes share two cores on the devnet,
                // and at capacity an attester can need more than one chunk
                // to re-execute and commit a full block. With 1 s the flood
                // benchmark cut 3 to 10 slots a run (docs/execution.md).
                attestation_timeout_ms: 2_000,
                ..common
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| SpecError::UnknownPreset {
                name: s.to_owned(),
                known: Self::ALL.map(Self::name).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_round_trips_its_name() {
        for p in Preset::ALL {
            p.spec().validate().unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(p.name().parse::<Preset>().unwrap(), p);
        }
    }

    #[test]
    fn presets_match_the_design_table() {
        // (preset, slot ms, L1 block ms, chunks, staggered), docs/design.md section 2.
        let table = [
            (Preset::Seed, 72_000, 12_000, 2, false),
            (Preset::SeedStaggered, 72_000, 12_000, 2, true),
            (Preset::Fast, 24_000, 12_000, 24, true),
            (Preset::Devnet, 8_000, 2_000, 8, true),
        ];
        for (p, slot, l1, n, staggered) in table {
            let s = p.spec();
            assert_eq!(
                (
                    s.slot_duration_ms,
                    s.l1_block_time_ms,
                    s.chunks_per_slot,
                    s.staggered
                ),
                (slot, l1, n, staggered),
                "{p}"
            );
            assert_eq!((s.epoch_slots, s.committee_size), (32, 48), "{p}");
        }
    }

    #[test]
    fn presets_are_distinct_chains() {
        let mut ids: Vec<u64> = Preset::ALL.iter().map(|p| p.spec().chain_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Preset::ALL.len());
    }

    #[test]
    fn unknown_preset_names_the_known_ones() {
        let err = "mainnet".parse::<Preset>().unwrap_err().to_string();
        assert!(
            err.contains("mainnet") && err.contains("seed-staggered"),
            "{err}"
        );
    }
}
