//! Execution.

pub mod pool;

pub use pool::{AccountReader, Pool, PoolConfig, PoolError, RecoveredTx};
