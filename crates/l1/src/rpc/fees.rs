//! Fee policy of the RPC L1: the EIP-1559 fees (and, for a blob transaction,
//! the blob fee cap) a call starts with, and how they rise each time it is
//! resent.
//!
//! Replacement rules differ by pool. A plain transaction replaces a pending
//! one of the same nonce when its fee cap is at least 10% higher (geth's
//! legacy pool also wants the tip 10% higher). A blob transaction replaces a
//! pending blob transaction only when its fee cap, its tip *and* its blob
//! fee cap are each at least doubled (geth's blob pool, `PriceBump` 100);
//! anvil 1.7.1 only wants a strictly higher fee cap. Bumps here meet the
//! stricter rule.

/// The smallest raise, in percent, of each of a blob transaction's three
/// fee caps that a node accepts as its replacement (geth's blob pool).
pub const BLOB_REPLACEMENT_BUMP_PERCENT: u64 = 100;

/// The smallest raise, in percent, of a plain transaction's fee cap that a
/// node accepts as its replacement.
pub const REPLACEMENT_BUMP_PERCENT: u64 = 10;

/// How the RPC L1 prices and reprices its transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeePolicy {
    /// Resend a transaction still pending after this many new L1 blocks.
    pub bump_after_blocks: u64,
    /// Each resend raises both fees by this many percent (nodes replace a
    /// pending transaction only for a raise of at least 10%; a blob
    /// transaction is raised by at least [`BLOB_REPLACEMENT_BUMP_PERCENT`]).
    pub bump_percent: u64,
    /// Never offer more than this per gas, in wei.
    pub max_fee_per_gas: u128,
    /// Gas limit = estimate × (100 + this) / 100.
    pub gas_margin_percent: u64,
    /// A blob transaction's first blob fee cap is the current blob base fee
    /// × (100 + this) / 100: room for the blob base fee to rise (at most
    /// about 8% a block at Osaka's parameters) before inclusion.
    pub blob_fee_headroom_percent: u64,
    /// Never offer more than this per blob gas, in wei.
    pub max_fee_per_blob_gas: u128,
}

impl Default for FeePolicy {
    fn default() -> Self {
        Self {
            bump_after_blocks: 2,
            bump_percent: 20,
            max_fee_per_gas: 500_000_000_000,
            gas_margin_percent: 20,
            blob_fee_headroom_percent: 100,
            // 100 gwei per blob gas: 0.0131 ETH a blob at most.
            max_fee_per_blob_gas: 100_000_000_000,
        }
    }
}

/// The fees of a transaction: the two EIP-1559 fees in wei per gas and, for
/// a blob transaction, its blob fee cap in wei per blob gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
    /// `maxFeePerBlobGas`: `Some` for a blob transaction (type 3).
    pub max_fee_per_blob_gas: Option<u128>,
}

impl FeePolicy {
    /// The fees of the first send: the node's estimate, capped.
    pub fn initial(&self, estimate: Fees) -> Fees {
        self.capped(estimate)
    }

    /// The fees of a blob transaction's first send: the node's EIP-1559
    /// estimate and a blob fee cap of `blob_base_fee` with
    /// [`Self::blob_fee_headroom_percent`], each capped.
    pub fn initial_blob(&self, estimate: Fees, blob_base_fee: u128) -> Fees {
        let blob = blob_base_fee
            .saturating_mul(u128::from(
                100u64.saturating_add(self.blob_fee_headroom_percent),
            ))
            .div_ceil(100)
            .max(1);
        self.capped(Fees {
            max_fee_per_blob_gas: Some(blob),
            ..estimate
        })
    }

    /// The fees of the next resend, or `None` when the caps leave no room
    /// for a raise the node would accept as a replacement: a fee cap at
    /// least 10% higher for a plain transaction; all three caps at least
    /// doubled for a blob transaction.
    pub fn bumped(&self, current: Fees) -> Option<Fees> {
        let blob = current.max_fee_per_blob_gas.is_some();
        let percent = if blob {
            self.bump_percent.max(BLOB_REPLACEMENT_BUMP_PERCENT)
        } else {
            self.bump_percent
        };
        let raise = |v: u128| {
            v.saturating_mul(u128::from(100u64.saturating_add(percent)))
                .div_ceil(100)
                .max(v.saturating_add(1))
        };
        let next = self.capped(Fees {
            max_fee_per_gas: raise(current.max_fee_per_gas),
            max_priority_fee_per_gas: raise(current.max_priority_fee_per_gas),
            max_fee_per_blob_gas: current.max_fee_per_blob_gas.map(raise),
        });
        let floor = |v: u128, bump: u64| {
            v.saturating_mul(u128::from(100u64.saturating_add(bump)))
                .div_ceil(100)
                .max(v.saturating_add(1))
        };
        let enough = if blob {
            let bump = BLOB_REPLACEMENT_BUMP_PERCENT;
            next.max_fee_per_gas >= floor(current.max_fee_per_gas, bump)
                && next.max_priority_fee_per_gas >= floor(current.max_priority_fee_per_gas, bump)
                && next.max_fee_per_blob_gas.unwrap_or(0)
                    >= floor(current.max_fee_per_blob_gas.unwrap_or(0), bump)
        } else {
            next.max_fee_per_gas >= floor(current.max_fee_per_gas, REPLACEMENT_BUMP_PERCENT)
        };
        enough.then_some(next)
    }

    /// The gas limit for an estimate.
    pub fn gas_limit(&self, estimate: u64) -> u64 {
        estimate
            .saturating_mul(100u64.saturating_add(self.gas_margin_percent))
            .div_ceil(100)
    }

    fn capped(&self, fees: Fees) -> Fees {
        let max_fee_per_gas = fees.max_fee_per_gas.min(self.max_fee_per_gas);
        Fees {
            max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas.min(max_fee_per_gas),
            max_fee_per_blob_gas: fees
                .max_fee_per_blob_gas
                .map(|b| b.min(self.max_fee_per_blob_gas)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fees(max: u128, tip: u128) -> Fees {
        Fees {
            max_fee_per_gas: max,
            max_priority_fee_per_gas: tip,
            max_fee_per_blob_gas: None,
        }
    }

    #[test]
    fn each_bump_is_a_valid_replacement_until_the_cap() {
        let policy = FeePolicy {
            max_fee_per_gas: 1_000,
            ..FeePolicy::default()
        };
        let mut fees = policy.initial(fees(500, 10));
        let mut raises = 0;
        while let Some(next) = policy.bumped(fees) {
            assert!(next.max_fee_per_gas * 100 >= fees.max_fee_per_gas * 110);
            assert!(next.max_priority_fee_per_gas > fees.max_priority_fee_per_gas);
            assert!(next.max_fee_per_gas <= 1_000);
            assert_eq!(next.max_fee_per_blob_gas, None);
            fees = next;
            raises += 1;
        }
        // 500 -> 600 -> 720 -> 864 -> 1000 (capped, still >= 10% above 864).
        assert_eq!(raises, 4);
        assert_eq!(fees.max_fee_per_gas, 1_000);
    }

    #[test]
    fn a_zero_fee_still_rises_and_the_tip_never_exceeds_the_cap() {
        let policy = FeePolicy::default();
        let next = policy.bumped(fees(0, 0)).unwrap();
        assert_eq!(next.max_fee_per_gas, 1);
        let capped = policy.initial(fees(5, 9));
        assert_eq!(capped.max_priority_fee_per_gas, 5);
        assert_eq!(policy.gas_limit(100_000), 120_000);
    }

    #[test]
    fn a_blob_transaction_starts_with_headroom_and_doubles_all_three_caps() {
        let policy = FeePolicy {
            max_fee_per_gas: 1_000,
            max_fee_per_blob_gas: 10_000,
            ..FeePolicy::default()
        };
        let first = policy.initial_blob(fees(100, 2), 1);
        assert_eq!(first.max_fee_per_blob_gas, Some(2), "twice the base fee");
        assert_eq!(
            policy.initial_blob(fees(100, 2), 0).max_fee_per_blob_gas,
            Some(1),
            "never zero"
        );
        let big = policy.initial_blob(fees(100, 2), 1_000_000);
        assert_eq!(big.max_fee_per_blob_gas, Some(10_000), "capped");
        let mut current = first;
        let mut raises = 0;
        while let Some(next) = policy.bumped(current) {
            // geth's blob pool: each cap at least doubled.
            assert!(next.max_fee_per_gas >= 2 * current.max_fee_per_gas);
            assert!(next.max_priority_fee_per_gas >= 2 * current.max_priority_fee_per_gas);
            assert!(
                next.max_fee_per_blob_gas.unwrap() >= 2 * current.max_fee_per_blob_gas.unwrap()
            );
            current = next;
            raises += 1;
        }
        // 100 -> 200 -> 400 -> 800, then the 1000 cap is not a doubling.
        assert_eq!(raises, 3);
        assert_eq!(current.max_fee_per_gas, 800);
        assert_eq!(current.max_fee_per_blob_gas, Some(16));
        // A blob fee cap at its own cap ends the raises too.
        let stuck = Fees {
            max_fee_per_blob_gas: Some(6_000),
            ..fees(100, 2)
        };
        assert_eq!(policy.bumped(stuck), None);
    }

    #[test]
    fn a_larger_configured_bump_applies_to_blob_transactions_too() {
        let policy = FeePolicy {
            bump_percent: 150,
            ..FeePolicy::default()
        };
        let next = policy
            .bumped(Fees {
                max_fee_per_blob_gas: Some(10),
                ..fees(100, 10)
            })
            .unwrap();
        assert_eq!(
            (next.max_fee_per_gas, next.max_fee_per_blob_gas),
            (250, Some(25))
        );
    }
}
