//! The pool's limits.

use chunkseq_primitives::ChainSpec;

/// Default bound on the number of pooled transactions.
pub const DEFAULT_MAX_TXS: usize = 50_000;
/// Default bound on the bytes of pooled transactions (their encodings).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
/// Default bound on the pooled transactions of one sender.
pub const DEFAULT_MAX_PER_SENDER: usize = 64;
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
}

impl PoolConfig {
    /// Default limits for a chain.
    pub const fn new(chain_id: u64, block_gas_limit: u64) -> Self {
        Self {
            chain_id,
            block_gas_limit,
            min_tip: 0,
            max_txs: DEFAULT_MAX_TXS,
            max_bytes: DEFAULT_MAX_BYTES,
            max_per_sender: DEFAULT_MAX_PER_SENDER,
            queued_lifetime_ms: DEFAULT_QUEUED_LIFETIME_MS,
        }
    }

    /// Default limits for the chain `spec` describes.
    pub const fn from_spec(spec: &ChainSpec) -> Self {
        Self::new(spec.chain_id, spec.block_gas_limit)
    }
}
