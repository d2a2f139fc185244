//! Why the pool turns a transaction away.

use alloy_primitives::{Address, B256, U256};
use chunkseq_primitives::crypto::SignatureError;
use thiserror::Error;

/// Why a transaction was not admitted to the pool. Each variant carries what
/// an RPC client needs to fix its transaction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The encoding exceeds the size limit; nothing was decoded.
    #[error("transaction of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Length of the raw transaction.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a single, canonically encoded EIP-2718 transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// A transaction type other than legacy, EIP-2930 or EIP-1559.
    #[error("unsupported transaction type {0}")]
    UnsupportedType(u8),
    /// Signed for another chain, or (legacy) for no chain at all.
    #[error("transaction chain id {got:?} is not {expected}")]
    WrongChainId {
        /// This chain's id.
        expected: u64,
        /// The transaction's chain id; `None` for a pre-EIP-155 legacy transaction.
        got: Option<u64>,
    },
    /// The signature does not recover to a sender.
    #[error("bad signature: {0}")]
    BadSignature(#[from] SignatureError),
    /// The nonce is already used.
    #[error("nonce {nonce} is below the account nonce {account_nonce}")]
    NonceTooLow {
        /// The transaction's nonce.
        nonce: u64,
        /// The sender's next nonce.
        account_nonce: u64,
    },
    /// The balance does not cover `gas_limit * max_fee_per_gas + value`
    /// plus the data fee.
    #[error(
        "insufficient funds: balance {balance} wei, but the transaction needs up to {cost} wei for gas and value plus a data fee of {data_fee} wei"
    )]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// The most gas and value can cost: `gas_limit * max_fee_per_gas + value`.
        cost: U256,
        /// The data fee at the current data price.
        data_fee: u128,
    },
    /// The fee cap is below the next block's base fee.
    #[error("max fee per gas {max_fee_per_gas} wei is below the base fee of {base_fee} wei")]
    FeeCapBelowBaseFee {
        /// The transaction's fee cap.
        max_fee_per_gas: u128,
        /// The next block's base fee.
        base_fee: u64,
    },
    /// The gas limit exceeds what one transaction may use: the block gas
    /// limit, or the per-transaction cap of EIP-7825 if lower.
    #[error("gas limit {gas_limit} exceeds the limit of {block_gas_limit} for one transaction")]
    GasLimitTooHigh {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The lower of the block gas limit and the per-transaction cap.
        block_gas_limit: u64,
    },
    /// The gas limit is below the intrinsic gas of a transaction.
    #[error("gas limit {gas_limit} is below the intrinsic gas {intrinsic}")]
    IntrinsicGasTooLow {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The intrinsic gas.
        intrinsic: u64,
    },
    /// An EIP-1559 priority fee above the fee cap.
    #[error("max priority fee {max_priority_fee_per_gas} exceeds max fee {max_fee_per_gas}")]
    TipAboveFeeCap {
        /// The priority fee.
        max_priority_fee_per_gas: u128,
        /// The fee cap.
        max_fee_per_gas: u128,
    },
    /// The effective tip is below the pool's minimum.
    #[error("tip {tip} is below the minimum {min_tip}")]
    Underpriced {
        /// The transaction's effective tip.
        tip: u128,
        /// The pool's minimum tip.
        min_tip: u128,
    },
    /// Replacing a pooled transaction of the same sender and nonce needs
    /// both fees raised by the price bump.
    #[error(
        "replacement needs max fee >= {min_max_fee_per_gas} and priority fee >= {min_max_priority_fee_per_gas}"
    )]
    ReplacementUnderpriced {
        /// Lowest acceptable max fee.
        min_max_fee_per_gas: u128,
        /// Lowest acceptable priority fee.
        min_max_priority_fee_per_gas: u128,
    },
    /// The sender already has as many pooled transactions as allowed.
    #[error("sender {sender} already has {max} pooled transactions")]
    SenderFull {
        /// The sender.
        sender: Address,
        /// The per-sender limit.
        max: usize,
    },
    /// The pool is full and the transaction pays no more than the cheapest
    /// pooled one.
    #[error("pool is full; tip {tip} does not beat the lowest pooled tip {lowest_tip:?}")]
    PoolFull {
        /// The transaction's effective tip.
        tip: u128,
        /// The lowest pooled tip, if any transaction is pooled.
        lowest_tip: Option<u128>,
    },
    /// The same transaction is already pooled.
    #[error("transaction {0} is already known")]
    AlreadyKnown(B256),
}

impl PoolError {
    /// Whether the transaction itself is invalid, whatever the state: it does
    /// not decode, is of an unsupported type or another chain, is badly
    /// signed, or breaks a limit no state can lift. A peer that relays such
    /// a transaction relayed garbage; the other refusals (nonce, funds,
    /// fees, a full pool, a duplicate) depend on the state and can happen to
    /// honest peers.
    pub const fn is_invalid(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. }
                | Self::Malformed(_)
                | Self::UnsupportedType(_)
                | Self::WrongChainId { .. }
                | Self::BadSignature(_)
                | Self::GasLimitTooHigh { .. }
                | Self::IntrinsicGasTooLow { .. }
                | Self::TipAboveFeeCap { .. }
        )
    }
}
