//! Fee policy of the RPC L1: the EIP-1559 fees a call starts with and how
//! they rise each time it is resent.

/// How the RPC L1 prices and reprices its transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeePolicy {
    /// Resend a transaction still pending after this many new L1 blocks.
    pub bump_after_blocks: u64,
    /// Each resend raises both fees by this many percent (nodes replace a
    /// pending transaction only for a raise of at least 10%).
    pub bump_percent: u64,
    /// Never offer more than this per gas, in wei.
    pub max_fee_per_gas: u128,
    /// Gas limit = estimate × (100 + this) / 100.
    pub gas_margin_percent: u64,
}

impl Default for FeePolicy {
    fn default() -> Self {
        Self {
            bump_after_blocks: 2,
            bump_percent: 20,
            max_fee_per_gas: 500_000_000_000,
            gas_margin_percent: 20,
        }
    }
}

/// The two EIP-1559 fees of a transaction, in wei per gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
}

impl FeePolicy {
    /// The fees of the first send: the node's estimate, capped.
    pub fn initial(&self, estimate: Fees) -> Fees {
        self.capped(estimate)
    }

    /// The fees of the next resend, or `None` when the cap leaves no room for
    /// a raise the node would accept as a replacement.
    pub fn bumped(&self, current: Fees) -> Option<Fees> {
        let raise = |v: u128| {
            v.saturating_mul(u128::from(100u64.saturating_add(self.bump_percent)))
                .div_ceil(100)
                .max(v.saturating_add(1))
        };
        let next = self.capped(Fees {
            max_fee_per_gas: raise(current.max_fee_per_gas),
            max_priority_fee_per_gas: raise(current.max_priority_fee_per_gas),
        });
        // A replacement must raise the fee cap by at least 10%.
        let floor = current.max_fee_per_gas.saturating_mul(110).div_ceil(100);
        (next.max_fee_per_gas >= floor).then_some(next)
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bump_is_a_valid_replacement_until_the_cap() {
        let policy = FeePolicy {
            max_fee_per_gas: 1_000,
            ..FeePolicy::default()
        };
        let mut fees = policy.initial(Fees {
            max_fee_per_gas: 500,
            max_priority_fee_per_gas: 10,
        });
        let mut raises = 0;
        while let Some(next) = policy.bumped(fees) {
            assert!(next.max_fee_per_gas * 100 >= fees.max_fee_per_gas * 110);
            assert!(next.max_priority_fee_per_gas > fees.max_priority_fee_per_gas);
            assert!(next.max_fee_per_gas <= 1_000);
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
        let next = policy
            .bumped(Fees {
                max_fee_per_gas: 0,
                max_priority_fee_per_gas: 0,
            })
            .unwrap();
        assert_eq!(next.max_fee_per_gas, 1);
        let capped = policy.initial(Fees {
            max_fee_per_gas: 5,
            max_priority_fee_per_gas: 9,
        });
        assert_eq!(capped.max_priority_fee_per_gas, 5);
        assert_eq!(policy.gas_limit(100_000), 120_000);
    }
}
