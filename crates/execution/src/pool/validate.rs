//! Admission checks of a recovered transaction against the pool's
//! configuration and the sender's account.

use alloy_primitives::{Address, U256};

use super::{PRICE_BUMP_PERCENT, PoolConfig, PoolError, RecoveredTx};

/// Gas every transaction pays before executing anything.
pub const INTRINSIC_GAS: u64 = 21_000;

/// The most gas one transaction may use under the latest rules (EIP-7825).
pub const MAX_TX_GAS: u64 = 1 << 24;

/// Read access to the accounts of the state the pool validates against (the
/// provisional tip).
pub trait AccountReader {
    /// The account's next nonce (zero for an absent account).
    fn nonce(&self, address: Address) -> u64;
    /// The account's balance (zero for an absent account).
    fn balance(&self, address: Address) -> U256;
}

/// Checks `tx` against the configuration and its sender's account, and
/// returns the account nonce.
pub(super) fn validate(
    tx: &RecoveredTx,
    config: &PoolConfig,
    accounts: &impl AccountReader,
) -> Result<u64, PoolError> {
    let max_gas = config.block_gas_limit.min(MAX_TX_GAS);
    if tx.gas_limit() > max_gas {
        return Err(PoolError::GasLimitTooHigh {
            gas_limit: tx.gas_limit(),
            block_gas_limit: max_gas,
        });
    }
    if tx.gas_limit() < INTRINSIC_GAS {
        return Err(PoolError::IntrinsicGasTooLow {
            gas_limit: tx.gas_limit(),
            intrinsic: INTRINSIC_GAS,
        });
    }
    if tx.max_priority_fee_per_gas() > tx.max_fee_per_gas() {
        return Err(PoolError::TipAboveFeeCap {
            max_priority_fee_per_gas: tx.max_priority_fee_per_gas(),
            max_fee_per_gas: tx.max_fee_per_gas(),
        });
    }
    if tx.max_fee_per_gas() < u128::from(config.base_fee) {
        return Err(PoolError::FeeCapBelowBaseFee {
            max_fee_per_gas: tx.max_fee_per_gas(),
            base_fee: config.base_fee,
        });
    }
    if tx.effective_tip() < config.min_tip {
        return Err(PoolError::Underpriced {
            tip: tx.effective_tip(),
            min_tip: config.min_tip,
        });
    }
    let account_nonce = accounts.nonce(tx.sender());
    if tx.nonce() < account_nonce {
        return Err(PoolError::NonceTooLow {
            nonce: tx.nonce(),
            account_nonce,
        });
    }
    let balance = accounts.balance(tx.sender());
    let data_fee = config.data_fee(tx.encoded().len());
    if balance < tx.max_cost().saturating_add(U256::from(data_fee)) {
        return Err(PoolError::InsufficientFunds {
            balance,
            cost: tx.max_cost(),
            data_fee,
        });
    }
    Ok(account_nonce)
}

/// Checks that `new` may replace `old` (same sender and nonce): both fees
/// raised by at least [`PRICE_BUMP_PERCENT`],
/// and by at least one wei, so replacements cannot churn for free.
pub(super) fn check_replacement(old: &RecoveredTx, new: &RecoveredTx) -> Result<(), PoolError> {
    let bumped = |fee: u128| {
        let bump = fee.saturating_mul(PRICE_BUMP_PERCENT).div_ceil(100).max(1);
        fee.saturating_add(bump)
    };
    let min_max_fee_per_gas = bumped(old.max_fee_per_gas());
    let min_max_priority_fee_per_gas = bumped(old.max_priority_fee_per_gas());
    if new.max_fee_per_gas() < min_max_fee_per_gas
        || new.max_priority_fee_per_gas() < min_max_priority_fee_per_gas
    {
        return Err(PoolError::ReplacementUnderpriced {
            min_max_fee_per_gas,
            min_max_priority_fee_per_gas,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy_consensus::TxEip1559;

    use super::*;
    use crate::pool::{recover, test_utils::*};

    /// Name, transaction, accounts, configuration and the outcome.
    type Case = (
        &'static str,
        RecoveredTx,
        Accounts,
        PoolConfig,
        Result<u64, PoolError>,
    );

    fn tx_with(f: impl FnOnce(&mut TxEip1559)) -> RecoveredTx {
        let mut tx = eip1559(0, 10);
        f(&mut tx);
        recover(&raw_1559(tx, 0), CHAIN_ID).unwrap()
    }

    #[test]
    fn admission_checks() {
        let cost = U256::from(21_000 * 10 + 1);
        let poor = |balance: U256| Accounts {
            balances: [(addr(0), balance)].into(),
            ..Default::default()
        };
        let min_tip = |min_tip| PoolConfig {
            min_tip,
            ..config()
        };
        let priced = |base_fee, data_price| PoolConfig {
            base_fee,
            data_price,
            ..config()
        };
        let encoded_len = tx_with(|_| {}).encoded().len();
        let data_fee = config().fees.data_fee(encoded_len, 7);
        assert!(data_fee > 0);
        let cases: Vec<Case> = vec![
            (
                "valid",
                tx_with(|_| {}),
                Accounts::default(),
                config(),
                Ok(0),
            ),
            (
                "queued behind a gap",
                tx_with(|t| t.nonce = 5),
                Accounts::default().with_nonce(0, 3),
                config(),
                Ok(3),
            ),
            (
                "nonce used",
                tx_with(|t| t.nonce = 2),
                Accounts::default().with_nonce(0, 3),
                config(),
                Err(PoolError::NonceTooLow {
                    nonce: 2,
                    account_nonce: 3,
                }),
            ),
            (
                "balance exactly covers",
                tx_with(|_| {}),
                poor(cost),
                config(),
                Ok(0),
            ),
            (
                "balance one short",
                tx_with(|_| {}),
                poor(cost - U256::from(1)),
                config(),
                Err(PoolError::InsufficientFunds {
                    balance: cost - U256::from(1),
                    cost,
                    data_fee: 0,
                }),
            ),
            (
                "balance covers gas and value and the data fee",
                tx_with(|_| {}),
                poor(cost + U256::from(data_fee)),
                priced(0, 7),
                Ok(0),
            ),
            (
                "balance covers gas and value but not the data fee",
                tx_with(|_| {}),
                poor(cost + U256::from(data_fee) - U256::from(1)),
                priced(0, 7),
                Err(PoolError::InsufficientFunds {
                    balance: cost + U256::from(data_fee) - U256::from(1),
                    cost,
                    data_fee,
                }),
            ),
            (
                "fee cap at the base fee",
                tx_with(|_| {}),
                Accounts::default(),
                priced(10, 0),
                Ok(0),
            ),
            (
                "fee cap below the base fee",
                tx_with(|_| {}),
                Accounts::default(),
                priced(11, 0),
                Err(PoolError::FeeCapBelowBaseFee {
                    max_fee_per_gas: 10,
                    base_fee: 11,
                }),
            ),
            (
                "zero fees",
                tx_with(|t| {
                    t.max_fee_per_gas = 0;
                    t.max_priority_fee_per_gas = 0;
                }),
                Accounts::default(),
                priced(1, 0),
                Err(PoolError::FeeCapBelowBaseFee {
                    max_fee_per_gas: 0,
                    base_fee: 1,
                }),
            ),
            (
                "gas limit at the per-transaction cap",
                tx_with(|t| t.gas_limit = MAX_TX_GAS),
                Accounts::default(),
                config(),
                Ok(0),
            ),
            (
                "gas limit above the per-transaction cap, below the block limit",
                tx_with(|t| t.gas_limit = MAX_TX_GAS + 1),
                Accounts::default(),
                config(),
                Err(PoolError::GasLimitTooHigh {
                    gas_limit: MAX_TX_GAS + 1,
                    block_gas_limit: MAX_TX_GAS,
                }),
            ),
            (
                "gas limit above a small block limit",
                tx_with(|t| t.gas_limit = 100_001),
                Accounts::default(),
                PoolConfig {
                    block_gas_limit: 100_000,
                    ..config()
                },
                Err(PoolError::GasLimitTooHigh {
                    gas_limit: 100_001,
                    block_gas_limit: 100_000,
                }),
            ),
            (
                "gas limit below intrinsic",
                tx_with(|t| t.gas_limit = INTRINSIC_GAS - 1),
                Accounts::default(),
                config(),
                Err(PoolError::IntrinsicGasTooLow {
                    gas_limit: INTRINSIC_GAS - 1,
                    intrinsic: INTRINSIC_GAS,
                }),
            ),
            (
                "tip above fee cap",
                tx_with(|t| t.max_fee_per_gas = 9),
                Accounts::default(),
                config(),
                Err(PoolError::TipAboveFeeCap {
                    max_priority_fee_per_gas: 10,
                    max_fee_per_gas: 9,
                }),
            ),
            (
                "tip at the minimum",
                tx_with(|_| {}),
                Accounts::default(),
                min_tip(10),
                Ok(0),
            ),
            (
                "tip below the minimum",
                tx_with(|_| {}),
                Accounts::default(),
                min_tip(11),
                Err(PoolError::Underpriced {
                    tip: 10,
                    min_tip: 11,
                }),
            ),
        ];
        for (name, tx, accounts, config, expected) in cases {
            assert_eq!(validate(&tx, &config, &accounts), expected, "{name}");
        }
    }

    #[test]
    fn replacement_needs_both_fees_bumped() {
        let fees = |max_fee: u128, tip: u128| {
            tx_with(|t| {
                t.max_fee_per_gas = max_fee;
                t.max_priority_fee_per_gas = tip;
                t.value = U256::from(max_fee * 1000 + tip);
            })
        };
        let cases = [
            ((100, 100), (110, 110), true),
            ((100, 100), (109, 110), false),
            ((100, 100), (110, 109), false),
            ((100, 50), (110, 55), true),
            ((15, 15), (17, 17), true),
            ((15, 15), (16, 16), false),
            ((1, 1), (1, 1), false),
            ((1, 1), (2, 2), true),
            ((0, 0), (0, 0), false),
            ((0, 0), (1, 1), true),
        ];
        for (old, new, ok) in cases {
            let got = check_replacement(&fees(old.0, old.1), &fees(new.0, new.1));
            assert_eq!(got.is_ok(), ok, "{old:?} -> {new:?}: {got:?}");
        }
    }
}
