//! Errors of the state store.

use alloy_primitives::B256;
use chunkseq_primitives::BlockNumber;
use thiserror::Error;

/// Why a state operation failed. A failed operation changed nothing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    /// The storage backend failed (I/O, corruption its database detected,
    /// ...).
    #[error("state database: {0}")]
    Database(String),
    /// Stored data does not decode or does not match its root.
    #[error("state database is corrupt: {0}")]
    Corrupt(String),
    /// A block was committed on top of something other than the head.
    #[error("cannot commit {block}: it builds on {parent:?} but the head is {head:?}")]
    NotOnHead {
        /// The block being committed.
        block: BlockNumber,
        /// What it was built on.
        parent: Option<BlockNumber>,
        /// The committed head.
        head: Option<BlockNumber>,
    },
    /// A fork was asked for on a block that is neither the head nor one of
    /// the recent committed versions kept readable.
    #[error("block {block} is not a readable committed version (head {head:?})")]
    NotReadable {
        /// The block asked for.
        block: B256,
        /// The committed head.
        head: Option<BlockNumber>,
    },
    /// More blocks to unwind than there are above genesis.
    #[error("cannot unwind {requested} blocks: only {available} are above genesis")]
    UnwindTooDeep {
        /// Blocks asked for.
        requested: u64,
        /// Blocks that can be unwound.
        available: u64,
    },
    /// Reads were asked for at a block that is not committed.
    #[error("{0} is not committed")]
    NoSuchBlock(BlockNumber),
    /// Genesis was requested on a database that already has blocks.
    #[error("the state already has a genesis block")]
    AlreadyInitialized,
    /// Unwinding produced a root different from the one recorded.
    #[error("state root after unwinding is {actual}, but {expected} was recorded")]
    RootMismatch {
        /// The recorded root.
        expected: B256,
        /// The computed root.
        actual: B256,
    },
}
