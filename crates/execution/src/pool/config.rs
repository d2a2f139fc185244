//! The pool's limits.

use chunkseq_primitives::{ChainSpec, FeeSpec};

/// Default bound on the number of pooled transactions.
pub const DEFAULT_MAX_TXS: usize = 50_000;
/// Default bound on the bytes of pooled transactions (their encodings).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
/// Default bound on the pooled transactions of one sender.
pub const DEFAULT_MAX_PER_SENDER: usize = 64;
/// How many times `max_per_sender` a sender may have pooled through
/// transactions relayed by peers ([`super::Pool::add_from_peer`]).
pub const PEER_SENDER_FACTOR: usize = 4;
/// Default time a transaction behind a nonce gap stays pooled, ms.
pub const DEFAULT_QUEUED_LIFETIME_MS: u64 = 300_000;
/// A replacement raises both fees of the transaction it replaces by at least
/// this many percent.
pub const PRICE_BUMP_PERCENT: u128 = 10;

/// What the pool admits and how much of it it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The chain id every transaction must be signed for.
    pub chain_id: u64,
    /// Gas limit of a block; no transaction may exceed it.
    pub block_gas_limit: u64,
    /// Lowest effective tip admitted (default 0).
    pub min_tip: u128,
    /// Most transactions pooled; when full, the lowest-paying one is evicted.
    pub max_txs: usize,
    /// Most bytes of pooled transactions (their encodings); when full, the
    /// lowest-paying ones are evicted, as for `max_txs`.
    pub max_bytes: usize,
    /// Most transactions pooled per sender.
    pub max_per_sender: usize,
    /// How long a transaction that cannot execute yet (behind a nonce gap)
    /// stays pooled, in ms of the pool's clock ([`super::Pool::set_clock`]).
    pub queued_lifetime_ms: u64,
    /// The chain's fee parameters.
    pub fees: FeeSpec,
    /// The base fee of the next block: a fee cap below it is refused
    /// ([`super::Pool::set_fees`] keeps it current).
    pub base_fee: u64,
    /// The current data price (wei per checkpoint byte): a sender must be
    /// able to pay the data fee at it on top of gas and value.
    pub data_price: u64,
}

impl PoolConfig {
    /// Default limits for a chain with the default fee parameters, at their
    /// lowest prices.
    pub fn new(chain_id: u64, block_gas_limit: u64) -> Self {
        let fees = FeeSpec::default();
        Self {
            chain_id,
            block_gas_limit,
            min_tip: 0,
            max_txs: DEFAULT_MAX_TXS,
            max_bytes: DEFAULT_MAX_BYTES,
            max_per_sender: DEFAULT_MAX_PER_SENDER,
            queued_lifetime_ms: DEFAULT_QUEUED_LIFETIME_MS,
            base_fee: fees.min_base_fee,
            data_price: fees.min_data_price,
            fees,
        }
    }

    /// Default limits for the chain `spec` describes, at its lowest prices.
    pub fn from_spec(spec: &ChainSpec) -> Self {
        Self {
            fees: spec.fees,
            base_fee: spec.fees.min_base_fee,
            data_price: spec.fees.min_data_price,
            ..Self::new(spec.chain_id, spec.block_gas_limit)
        }
    }

    /// The data fee (wei) a transaction of `encoded_len` bytes pays at the
    /// current data price.
    pub fn data_fee(&self, encoded_len: usize) -> u128 {
        self.fees.data_fee(encoded_len, self.data_price)
    }
}
