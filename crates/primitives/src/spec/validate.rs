//! Consistency rules of a `ChainSpec`, each with an error that says what to change.

use thiserror::Error;

use super::{ChainSpec, MAX_BLOBS_PER_CHECKPOINT, MAX_CALLDATA_BYTES};

/// The most chunks (hence blocks) a slot may have; bounds checkpoint size on L1.
pub const MAX_CHUNKS_PER_SLOT: u32 = 64;
/// The largest committee; bounds attestation checks on L1.
pub const MAX_COMMITTEE_SIZE: u32 = 1_024;
/// The longest slot: one day.
pub const MAX_SLOT_DURATION_MS: u64 = 86_400_000;
/// The shortest chunk: a block must have time to collect and execute transactions.
pub const MIN_CHUNK_MS: u64 = 100;
/// The smallest block gas limit: one plain transfer.
pub const MIN_BLOCK_GAS_LIMIT: u64 = 21_000;
/// The largest block gas limit.
pub const MAX_BLOCK_GAS_LIMIT: u64 = 10_000_000_000;
/// The most transactions a block may hold; also bounds decoding of proposals.
pub const MAX_BLOCK_TXS: u32 = 100_000;
/// The longest epoch, in slots.
pub const MAX_EPOCH_SLOTS: u32 = 1_000_000;

/// Largest `fees.data_compression_ppm`: a codec may expand data, but not
/// tenfold.
pub const MAX_DATA_COMPRESSION_PPM: u64 = 10_000_000;

/// Why a `ChainSpec` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SpecError {
    /// No preset has this name.
    #[error("unknown preset `{name}`; known presets: {known}")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A parameter that must be positive is zero.
    #[error("{field} must be greater than zero")]
    Zero {
        /// The parameter.
        field: &'static str,
    },
    /// A parameter exceeds its protocol limit.
    #[error("{field} = {value} exceeds the limit of {max}")]
    TooLarge {
        /// The parameter.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A duration the L1 must see is not a whole number of seconds.
    #[error("{field} = {value} ms is not a whole number of seconds (L1 timestamps are seconds)")]
    NotWholeSeconds {
        /// The parameter.
        field: &'static str,
        /// Its value in milliseconds.
        value: u64,
    },
    /// Slots do not hold a whole number of L1 blocks.
    #[error(
        "slot_duration_ms = {slot_ms} is not a multiple of l1_block_time_ms = {l1_ms}: every slot must hold whole L1 blocks"
    )]
    SlotNotWholeL1Blocks {
        /// Slot length.
        slot_ms: u64,
        /// L1 block interval.
        l1_ms: u64,
    },
    /// The rollup and the L1 share a chain id, so transactions could be replayed.
    #[error("chain_id and l1_chain_id are both {0}; the rollup needs its own chain id")]
    SameChainIds(u64),
    /// The gas limit cannot hold one transfer.
    #[error("block_gas_limit = {0} is below {MIN_BLOCK_GAS_LIMIT}, the cost of one transfer")]
    GasLimitTooLow(u64),
    /// A non-staggered allowance is set on a staggered chain.
    #[error("{field} applies only when staggered = false; set it to 0 for a staggered chain")]
    AllowanceWhenStaggered {
        /// The parameter.
        field: &'static str,
    },
    /// The allowances leave no room to build.
    #[error(
        "the build window is empty: a {slot_ms} ms slot minus sync_allowance_ms = {sync_ms} and publish_allowance_ms = {publish_ms} leaves nothing"
    )]
    NoBuildWindow {
        /// Slot length.
        slot_ms: u64,
        /// Sync allowance.
        sync_ms: u64,
        /// Publish allowance.
        publish_ms: u64,
    },
    /// The build window cannot hold the chunks at their minimum length.
    #[error(
        "the build window of {window_ms} ms cannot hold {chunks} chunks of at least {MIN_CHUNK_MS} ms; lower chunks_per_slot or lengthen the slot"
    )]
    BuildWindowTooShort {
        /// Build window length.
        window_ms: u64,
        /// Chunks per slot.
        chunks: u32,
    },
    /// A staggered slot (its publish window) is shorter than two L1 blocks.
    #[error(
        "a staggered slot is its checkpoint's publish window and must span at least two L1 blocks: slot_duration_ms = {slot_ms} < 2 x {l1_ms}"
    )]
    StaggeredSlotTooShort {
        /// Slot length.
        slot_ms: u64,
        /// L1 block interval.
        l1_ms: u64,
    },
    /// Non-staggered: after the tip freezes (two margins after the build
    /// window) no full L1 block remains in the slot to include the checkpoint.
    #[error(
        "publish_allowance_ms = {publish_ms} minus two attestation margins of {margin_ms} ms leaves less than one L1 block ({l1_ms} ms) to land the checkpoint"
    )]
    PublishWindowTooShort {
        /// Publish allowance.
        publish_ms: u64,
        /// Attestation margin.
        margin_ms: u64,
        /// L1 block interval.
        l1_ms: u64,
    },
    /// Two attestation margins do not fit in the slot.
    #[error(
        "two attestation margins of {margin_ms} ms must be shorter than the slot ({slot_ms} ms)"
    )]
    MarginTooLong {
        /// Attestation margin.
        margin_ms: u64,
        /// Slot length.
        slot_ms: u64,
    },
}

impl ChainSpec {
    /// Checks that the parameters are consistent; the first problem found is
    /// returned.
    pub fn validate(&self) -> Result<(), SpecError> {
        let s = self;
        for (field, value) in [
            ("chain_id", s.chain_id),
            ("l1_chain_id", s.l1_chain_id),
            ("slot_duration_ms", s.slot_duration_ms),
            ("l1_block_time_ms", s.l1_block_time_ms),
            ("chunks_per_slot", u64::from(s.chunks_per_slot)),
            ("epoch_slots", u64::from(s.epoch_slots)),
            ("committee_size", u64::from(s.committee_size)),
            ("block_max_txs", u64::from(s.block_max_txs)),
            ("attestation_timeout_ms", s.attestation_timeout_ms),
            ("attestation_margin_ms", s.attestation_margin_ms),
            (
                "max_blobs_per_checkpoint",
                u64::from(s.max_blobs_per_checkpoint),
            ),
            ("max_calldata_bytes", s.max_calldata_bytes),
            ("fees.min_base_fee", s.fees.min_base_fee),
            (
                "fees.base_fee_elasticity",
                u64::from(s.fees.base_fee_elasticity),
            ),
            (
                "fees.base_fee_change_denominator",
                u64::from(s.fees.base_fee_change_denominator),
            ),
        ] {
            if value == 0 {
                return Err(SpecError::Zero { field });
            }
        }
        for (field, value, max) in [
            (
                "chunks_per_slot",
                u64::from(s.chunks_per_slot),
                u64::from(MAX_CHUNKS_PER_SLOT),
            ),
            (
                "committee_size",
                u64::from(s.committee_size),
                u64::from(MAX_COMMITTEE_SIZE),
            ),
            ("slot_duration_ms", s.slot_duration_ms, MAX_SLOT_DURATION_MS),
            ("genesis_time", s.genesis_time, u64::MAX / 1000),
            ("block_gas_limit", s.block_gas_limit, MAX_BLOCK_GAS_LIMIT),
            (
                "block_max_txs",
                u64::from(s.block_max_txs),
                u64::from(MAX_BLOCK_TXS),
            ),
            (
                "epoch_slots",
                u64::from(s.epoch_slots),
                u64::from(MAX_EPOCH_SLOTS),
            ),
            (
                "attestation_timeout_ms",
                s.attestation_timeout_ms,
                s.slot_duration_ms,
            ),
            (
                "max_blobs_per_checkpoint",
                u64::from(s.max_blobs_per_checkpoint),
                u64::from(MAX_BLOBS_PER_CHECKPOINT),
            ),
            (
                "max_calldata_bytes",
                s.max_calldata_bytes,
                MAX_CALLDATA_BYTES,
            ),
            (
                "fees.data_compression_ppm",
                u64::from(s.fees.data_compression_ppm),
                MAX_DATA_COMPRESSION_PPM,
            ),
        ] {
            if value > max {
                return Err(SpecError::TooLarge { field, value, max });
            }
        }
        for (field, value) in [
            ("slot_duration_ms", s.slot_duration_ms),
            ("l1_block_time_ms", s.l1_block_time_ms),
        ] {
            if !value.is_multiple_of(1000) {
                return Err(SpecError::NotWholeSeconds { field, value });
            }
        }
        if !s.slot_duration_ms.is_multiple_of(s.l1_block_time_ms) {
            return Err(SpecError::SlotNotWholeL1Blocks {
                slot_ms: s.slot_duration_ms,
                l1_ms: s.l1_block_time_ms,
            });
        }
        if s.chain_id == s.l1_chain_id {
            return Err(SpecError::SameChainIds(s.chain_id));
        }
        if s.block_gas_limit < MIN_BLOCK_GAS_LIMIT {
            return Err(SpecError::GasLimitTooLow(s.block_gas_limit));
        }
        let two_margins = s.attestation_margin_ms.saturating_mul(2);
        if two_margins >= s.slot_duration_ms {
            return Err(SpecError::MarginTooLong {
                margin_ms: s.attestation_margin_ms,
                slot_ms: s.slot_duration_ms,
            });
        }
        let window_ms = if s.staggered {
            for (field, value) in [
                ("sync_allowance_ms", s.sync_allowance_ms),
                ("publish_allowance_ms", s.publish_allowance_ms),
            ] {
                if value != 0 {
                    return Err(SpecError::AllowanceWhenStaggered { field });
                }
            }
            if s.slot_duration_ms < s.l1_block_time_ms.saturating_mul(2) {
                return Err(SpecError::StaggeredSlotTooShort {
                    slot_ms: s.slot_duration_ms,
                    l1_ms: s.l1_block_time_ms,
                });
            }
            // Checked above: two margins < slot.
            s.slot_duration_ms.saturating_sub(two_margins)
        } else {
            let no_window = SpecError::NoBuildWindow {
                slot_ms: s.slot_duration_ms,
                sync_ms: s.sync_allowance_ms,
                publish_ms: s.publish_allowance_ms,
            };
            let reserved = s
                .sync_allowance_ms
                .checked_add(s.publish_allowance_ms)
                .ok_or_else(|| no_window.clone())?;
            let window = s.slot_duration_ms.checked_sub(reserved).filter(|w| *w > 0);
            let window = window.ok_or(no_window)?;
            if s.sync_allowance_ms == 0 {
                return Err(SpecError::Zero {
                    field: "sync_allowance_ms",
                });
            }
            let room = s.publish_allowance_ms.saturating_sub(two_margins);
            if s.publish_allowance_ms <= two_margins || room < s.l1_block_time_ms {
                return Err(SpecError::PublishWindowTooShort {
                    publish_ms: s.publish_allowance_ms,
                    margin_ms: s.attestation_margin_ms,
                    l1_ms: s.l1_block_time_ms,
                });
            }
            window
        };
        if window_ms < MIN_CHUNK_MS.saturating_mul(u64::from(s.chunks_per_slot)) {
            return Err(SpecError::BuildWindowTooShort {
                window_ms,
                chunks: s.chunks_per_slot,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    fn devnet() -> ChainSpec {
        Preset::Devnet.spec()
    }

    fn seed() -> ChainSpec {
        Preset::Seed.spec()
    }

    /// Table: one change to a valid preset -> the error it must produce.
    #[test]
    fn each_inconsistency_has_its_error() {
        type Case = (
            &'static str,
            fn() -> ChainSpec,
            fn(&mut ChainSpec),
            fn(&SpecError) -> bool,
        );
        let cases: Vec<Case> = vec![
            (
                "zero chunks",
                devnet,
                |s| s.chunks_per_slot = 0,
                |e| {
                    matches!(
                        e,
                        SpecError::Zero {
                            field: "chunks_per_slot"
                        }
                    )
                },
            ),
            (
                "too many chunks",
                devnet,
                |s| s.chunks_per_slot = 65,
                |e| {
                    matches!(
                        e,
                        SpecError::TooLarge {
                            field: "chunks_per_slot",
                            ..
                        }
                    )
                },
            ),
            (
                "fractional slot",
                devnet,
                |s| s.slot_duration_ms = 8_500,
                |e| {
                    matches!(
                        e,
                        SpecError::NotWholeSeconds {
                            field: "slot_duration_ms",
                            ..
                        }
                    )
                },
            ),
            (
                "slot not whole L1 blocks",
                devnet,
                |s| s.slot_duration_ms = 9_000,
                |e| matches!(e, SpecError::SlotNotWholeL1Blocks { .. }),
            ),
            (
                "same chain ids",
                devnet,
                |s| s.chain_id = s.l1_chain_id,
                |e| matches!(e, SpecError::SameChainIds(_)),
            ),
            (
                "gas below a transfer",
                devnet,
                |s| s.block_gas_limit = 20_999,
                |e| matches!(e, SpecError::GasLimitTooLow(20_999)),
            ),
            (
                "build window shorter than N chunks",
                devnet,
                |s| {
                    s.slot_duration_ms = 4_000;
                    s.chunks_per_slot = 64;
                },
                |e| {
                    matches!(
                        e,
                        SpecError::BuildWindowTooShort {
                            window_ms: 3_400,
                            chunks: 64
                        }
                    )
                },
            ),
            (
                "staggered slot shorter than two L1 blocks",
                devnet,
                |s| s.l1_block_time_ms = 8_000,
                |e| matches!(e, SpecError::StaggeredSlotTooShort { .. }),
            ),
            (
                "allowance on a staggered chain",
                devnet,
                |s| s.sync_allowance_ms = 1_000,
                |e| {
                    matches!(
                        e,
                        SpecError::AllowanceWhenStaggered {
                            field: "sync_allowance_ms"
                        }
                    )
                },
            ),
            (
                "allowances fill the slot",
                seed,
                |s| s.sync_allowance_ms = 48_000,
                |e| matches!(e, SpecError::NoBuildWindow { .. }),
            ),
            (
                "no L1 block left to publish",
                seed,
                |s| s.publish_allowance_ms = 17_000,
                |e| matches!(e, SpecError::PublishWindowTooShort { .. }),
            ),
            (
                "two margins as long as the slot",
                devnet,
                |s| s.attestation_margin_ms = 4_000,
                |e| matches!(e, SpecError::MarginTooLong { .. }),
            ),
            (
                "timeout longer than a slot",
                devnet,
                |s| s.attestation_timeout_ms = 9_000,
                |e| {
                    matches!(
                        e,
                        SpecError::TooLarge {
                            field: "attestation_timeout_ms",
                            ..
                        }
                    )
                },
            ),
            (
                "genesis beyond millisecond range",
                devnet,
                |s| s.genesis_time = u64::MAX,
                |e| {
                    matches!(
                        e,
                        SpecError::TooLarge {
                            field: "genesis_time",
                            ..
                        }
                    )
                },
            ),
        ];
        for (rule, base, change, expected) in cases {
            let mut spec = base();
            change(&mut spec);
            let err = spec.validate().expect_err(rule);
            assert!(expected(&err), "{rule}: unexpected error {err:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn error_messages_say_what_to_change() {
        let mut s = devnet();
        s.slot_duration_ms = 4_000;
        s.chunks_per_slot = 64;
        let msg = s.validate().unwrap_err().to_string();
        assert!(
            msg.contains("3400 ms") && msg.contains("64 chunks") && msg.contains("chunks_per_slot"),
            "{msg}"
        );
    }
}
