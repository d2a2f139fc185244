//! revm's view of a state fork.

use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};
use chunkseq_state::{Fork, StateDb, StateError};
use revm::{Database, bytecode::Bytecode, database_interface::DBErrorMarker, state::AccountInfo};

/// Hashes of recent blocks, for the `BLOCKHASH` opcode.
pub trait BlockHashes: Send + Sync {
    /// The hash of block `number`, if known.
    fn block_hash(&self, number: u64) -> Option<B256>;
}

impl BlockHashes for StateDb {
    fn block_hash(&self, number: u64) -> Option<B256> {
        self.header(chunkseq_primitives::BlockNumber(number))
            .ok()
            .flatten()
            .map(|(hash, _)| hash)
    }
}

/// Committed hashes plus those of uncommitted blocks the caller knows of.
#[derive(Clone)]
pub struct ChainHashes {
    committed: Arc<dyn BlockHashes>,
    recent: Vec<(u64, B256)>,
}

impl std::fmt::Debug for ChainHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainHashes")
            .field("recent", &self.recent)
            .finish_non_exhaustive()
    }
}

impl ChainHashes {
    /// Hashes of committed blocks only.
    pub fn committed(committed: Arc<dyn BlockHashes>) -> Self {
        Self {
            committed,
            recent: Vec::new(),
        }
    }

    /// Adds the hash of an uncommitted block.
    pub fn with_recent(mut self, number: u64, hash: B256) -> Self {
        self.recent.push((number, hash));
        self
    }
}

impl BlockHashes for ChainHashes {
    fn block_hash(&self, number: u64) -> Option<B256> {
        self.recent
            .iter()
            .rev()
            .find(|(n, _)| *n == number)
            .map(|(_, h)| *h)
            .or_else(|| self.committed.block_hash(number))
    }
}

/// A state read failed during execution; the block cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("state read failed during execution: {0}")]
pub struct ExecDbError(#[from] pub StateError);

impl DBErrorMarker for ExecDbError {}

/// A [`Fork`] as a revm database.
pub(crate) struct ForkDb {
    pub(crate) fork: Fork,
    pub(crate) hashes: ChainHashes,
}

impl Database for ForkDb {
    type Error = ExecDbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.fork.account(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            // Loaded on demand through `code_by_hash`.
            code: None,
            ..AccountInfo::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self
            .fork
            .code(&code_hash)?
            .map(Bytecode::new_raw)
            .unwrap_or_default())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.fork.storage(&address, index)?)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.hashes.block_hash(number).unwrap_or_default())
    }
}
