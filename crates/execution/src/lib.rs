//! Execution for chunkseq: the revm executor, the transaction pool, the
//! incremental block builder and re-execution of received blocks.
//!
//! # Design
//!
//! A proposer and an attester run the very same code: [`BlockBuilder`] adds
//! transactions one at a time to a block on a state fork, and
//! [`reexecute`] feeds a received block's transactions through a
//! `BlockBuilder` and compares the header it seals with the one received. A
//! builder and an attester therefore cannot disagree about a valid block, and
//! a disagreement is reported field by field.
//!
//! Transactions run under revm with the latest Ethereum rules (see
//! [`builder::SPEC`]), with an EIP-1559 base fee that is burned; the tip and
//! a data fee for the transaction's share of the L1 checkpoint go to the
//! block's coinbase, the proposer ([`fees`], docs/fees.md). Senders are recovered once, when a transaction enters the
//! [`pool`], using libsecp256k1.

pub mod block;
pub mod builder;
pub mod call;
pub mod evm_db;
pub mod fees;
pub mod genesis;
pub mod pool;
pub mod reexec;
pub mod roots;

pub use block::{BlockContext, BuiltBlock, ContextError};
pub use builder::{AddTxError, BlockBuilder, BlockParts, TxOutcome, evm_env, tx_env};
pub use call::{AccountOverride, CallError, CallOutcome, CallRequest, Caller};
pub use evm_db::ExecDbError;
pub use genesis::{
    DEV_ACCOUNT_ETHER, DEV_ACCOUNTS, DEVNET_PHRASE, DEVNET_USERS, Genesis, GenesisError,
    ILoadToken, LOAD_TOKEN_ADDRESS, TEST_MNEMONIC, dev_keys, mnemonic_keys,
};
pub use pool::{AccountReader, Pool, PoolConfig, PoolError, RecoveredTx};
pub use reexec::{HeaderMismatch, KnownTransactions, NoneKnown, ReexecError, reexecute};
