//! revm's view of a state fork.

use alloy_primitives::{Address, B256, U256, map::HashMap};
use chunkseq_primitives::BlockNumber;
use chunkseq_state::{EMPTY_CODE_HASH, Fork, StateError};
use revm::{Database, bytecode::Bytecode, database_interface::DBErrorMarker, state::AccountInfo};

/// A state read failed during execution; the block cannot be built. This is
/// a local problem (I/O, corruption), never the block's fault.
#[derive(Debug, thiserror::Error)]
pub enum ExecDbError {
    /// The state store failed.
    #[error("state read failed during execution: {0}")]
    State(#[from] StateError),
    /// `BLOCKHASH` asked for a block of the recent window that this fork's
    /// chain does not know.
    #[error("the hash of block {0} is unknown on this chain")]
    UnknownBlockHash(u64),
}

impl DBErrorMarker for ExecDbError {}

/// A [`Fork`] as a revm database. `BLOCKHASH` answers from the fork's own
/// chain (its parent, its uncommitted ancestors, then committed blocks), so
/// every node executing a block on the same parent sees the same hashes.
/// Code is cached by hash for the life of the block: it never changes.
pub(crate) struct ForkDb {
    pub(crate) fork: Fork,
    code: HashMap<B256, Bytecode>,
}

impl ForkDb {
    pub(crate) fn new(fork: Fork) -> Self {
        Self {
            fork,
            code: HashMap::default(),
        }
    }
}

impl Database for ForkDb {
    type Error = ExecDbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.fork.account(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            code: self.code.get(&a.code_hash).cloned(),
            ..AccountInfo::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == EMPTY_CODE_HASH {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.code.get(&code_hash) {
            return Ok(code.clone());
        }
        let raw = self
            .fork
            .code(&code_hash)?
            .ok_or_else(|| StateError::Corrupt(format!("no code for hash {code_hash}")))?;
        // Checked: code put in place by an `eth_call` override is the
        // client's, and malformed EIP-7702 bytes must be an error.
        let code = Bytecode::new_raw_checked(raw)
            .map_err(|e| StateError::Corrupt(format!("code {code_hash}: {e:?}")))?;
        self.code.insert(code_hash, code.clone());
        Ok(code)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.fork.storage(&address, index)?)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.fork
            .block_hash(BlockNumber(number))?
            .ok_or(ExecDbError::UnknownBlockHash(number))
    }
}
