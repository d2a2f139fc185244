//! Re-execution of a received block through the builder's own code path.

use alloy_primitives::{B256, Bytes, keccak256};
use chunkseq_primitives::BlockHeader;
use chunkseq_state::Fork;
use thiserror::Error;

use crate::{
    block::{BlockContext, BuiltBlock, ContextError},
    builder::{AddTxError, BlockBuilder},
    evm_db::ExecDbError,
    pool::{Pool, PoolError, RecoveredTx, recover},
};

/// One header field that differs from what re-execution produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMismatch {
    /// The field's name in the header.
    pub field: &'static str,
    /// What re-execution produced.
    pub expected: String,
    /// What the received header says.
    pub found: String,
}

impl std::fmt::Display for HeaderMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.field, self.expected, self.found
        )
    }
}

/// Why a received block is not valid.
#[derive(Debug, Error)]
pub enum ReexecError {
    /// More transactions than a block may hold.
    #[error("the block carries {count} transactions; at most {max} are allowed")]
    TooManyTxs {
        /// Transactions carried.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// A transaction does not decode or its signature does not recover.
    #[error("transaction {index} is malformed: {error}")]
    Malformed {
        /// Its position in the block.
        index: usize,
        /// Why.
        error: PoolError,
    },
    /// A transaction cannot be executed where the block puts it.
    #[error("transaction {index} is invalid here: {error}")]
    InvalidTx {
        /// Its position in the block.
        index: usize,
        /// Why.
        error: String,
    },
    /// The block re-executes to a different header.
    #[error("the header does not match re-execution: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Mismatch(Vec<HeaderMismatch>),
    /// The receiver's context does not continue the state it re-executes on
    /// (a caller error: the attester must pass its own parent).
    #[error(transparent)]
    Context(#[from] ContextError),
    /// Reading the state failed: a local problem, not the block's fault.
    #[error(transparent)]
    State(#[from] ExecDbError),
}

/// Transactions whose senders a node recovered already, by hash (keccak256
/// of the raw bytes): typically its pool, which saw them by gossip first.
pub trait KnownTransactions {
    /// The recovered transaction with this hash, if known.
    fn known(&self, hash: &B256) -> Option<RecoveredTx>;
}

/// Knows no transaction: every sender is recovered.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoneKnown;

impl KnownTransactions for NoneKnown {
    fn known(&self, _: &B256) -> Option<RecoveredTx> {
        None
    }
}

impl KnownTransactions for Pool {
    fn known(&self, hash: &B256) -> Option<RecoveredTx> {
        self.get(hash).cloned()
    }
}

impl<S: std::hash::BuildHasher> KnownTransactions
    for std::collections::HashMap<B256, RecoveredTx, S>
{
    fn known(&self, hash: &B256) -> Option<RecoveredTx> {
        self.get(hash).cloned()
    }
}

/// Re-executes `transactions` on `fork` (the state of the block's parent)
/// with the context the receiver expects, and checks that the result is
/// exactly `header`. Senders of transactions in `known` are not recovered
/// again; the others are.
pub fn reexecute(
    fork: Fork,
    ctx: BlockContext,
    header: &BlockHeader,
    transactions: &[Bytes],
    known: &impl KnownTransactions,
) -> Result<BuiltBlock, ReexecError> {
    if transactions.len() > ctx.max_txs as usize {
        return Err(ReexecError::TooManyTxs {
            count: transactions.len(),
            max: ctx.max_txs,
        });
    }
    let mut builder = BlockBuilder::new(fork, ctx)?;
    for (index, raw) in transactions.iter().enumerate() {
        let tx = match known.known(&keccak256(raw)) {
            Some(tx) => tx,
            None => recover(raw, ctx.chain_id)
                .map_err(|error| ReexecError::Malformed { index, error })?,
        };
        match builder.add_tx(&tx) {
            Ok(_) => {}
            Err(AddTxError::State(e)) => return Err(ReexecError::State(e)),
            Err(e) => {
                return Err(ReexecError::InvalidTx {
                    index,
                    error: e.to_string(),
                });
            }
        }
    }
    let built = builder.seal();
    let mismatches = compare(&built.header, header);
    if mismatches.is_empty() {
        Ok(built)
    } else {
        Err(ReexecError::Mismatch(mismatches))
    }
}

/// Every field of `found` that differs from `expected`, in header order.
pub fn compare(expected: &BlockHeader, found: &BlockHeader) -> Vec<HeaderMismatch> {
    let mut out = Vec::new();
    macro_rules! field {
        ($($name:ident),*) => {
            $(if expected.$name != found.$name {
                out.push(HeaderMismatch {
                    field: stringify!($name),
                    expected: expected.$name.to_string(),
                    found: found.$name.to_string(),
                });
            })*
        };
    }
    field!(
        number,
        slot,
        index,
        parentHash,
        timestamp,
        coinbase,
        stateRoot,
        txRoot,
        bodyHash,
        receiptsRoot,
        gasUsed,
        gasLimit,
        txCount,
        baseFee,
        dataPrice
    );
    out
}
