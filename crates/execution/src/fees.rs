//! Where a block's base fee comes from and how a transaction's data fee is
//! charged.
//!
//! The base fee of the next block is part of the state: sealing a block
//! writes it to a storage slot of [`FEE_STATE_ADDRESS`], an account without
//! code that no transaction can write. A node that holds a block's state
//! therefore knows the next base fee without the block's header, which a
//! node restarted from a checkpoint does not keep, and the state root
//! commits to it.

use alloy_primitives::{Address, U256, address};
use chunkseq_primitives::FeeSpec;
use chunkseq_state::{Fork, StateDiff, StateError};

/// The system account whose storage holds the fee state.
pub const FEE_STATE_ADDRESS: Address = address!("0x000000000000000000000000000000000000fee0");

/// The storage slot of [`FEE_STATE_ADDRESS`] holding the next block's base
/// fee (zero before the first block: the genesis uses the spec's minimum).
pub const NEXT_BASE_FEE_SLOT: U256 = U256::ZERO;

/// The base fee of a block built on `fork` (the parent's state).
pub fn base_fee_on(fork: &Fork, fees: &FeeSpec) -> Result<u64, StateError> {
    let stored = fork.storage(&FEE_STATE_ADDRESS, NEXT_BASE_FEE_SLOT)?;
    if stored.is_zero() {
        return Ok(fees.min_base_fee);
    }
    u64::try_from(stored)
        .map_err(|_| StateError::Corrupt(format!("stored base fee {stored} exceeds 64 bits")))
}

/// The write that records `next_base_fee` for the block after this one.
pub fn record_next_base_fee(next_base_fee: u64) -> StateDiff {
    let mut diff = StateDiff::default();
    diff.set_storage(
        FEE_STATE_ADDRESS,
        NEXT_BASE_FEE_SLOT,
        U256::from(next_base_fee),
    );
    diff
}
