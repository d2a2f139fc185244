//! The incremental block builder, and re-execution through the same code.

use alloy_consensus::{Receipt, ReceiptEnvelope, Transaction, TxEnvelope};
use alloy_eips::eip2718::Typed2718;
use alloy_primitives::{Bytes, U256};
use chunkseq_primitives::{BlockHeader, body::body_hash};
use std::sync::Arc;

use chunkseq_state::{Account, Fork, SealedState, StateDiff};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{BlockEnv, CfgEnv, TxEnv, result::EVMError},
    handler::{MainnetContext, MainnetEvm},
    primitives::hardfork::SpecId,
    state::EvmState,
};
use thiserror::Error;

use crate::{
    block::{BlockContext, BuiltBlock, ContextError},
    evm_db::{ExecDbError, ForkDb},
    fees::{base_fee_on, record_next_base_fee},
    pool::RecoveredTx,
    roots::{receipts_root, transactions_root},
};

/// The Ethereum rules transactions run under: the latest mainnet fork.
pub const SPEC: SpecId = SpecId::OSAKA;

/// Why a transaction was not added to the block. Except for
/// [`AddTxError::State`], the block is unchanged and building can go on.
#[derive(Debug, Error)]
pub enum AddTxError {
    /// The block holds `max_txs` transactions already.
    #[error("the block already holds its maximum of {0} transactions")]
    TooManyTxs(u32),
    /// The transaction's gas limit exceeds the gas left in the block.
    #[error("the transaction needs up to {needed} gas but the block has {left} left")]
    OutOfBlockGas {
        /// The transaction's gas limit.
        needed: u64,
        /// Gas left in the block.
        left: u64,
    },
    /// The EVM refused the transaction (nonce, balance, fee, gas, chain id...).
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// The sender cannot pay its gas at the fee cap, its value and the data fee.
    #[error(
        "insufficient funds: balance {balance} wei, but the transaction needs up to {cost} wei for gas and value plus a data fee of {data_fee} wei"
    )]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// `gas_limit * max_fee_per_gas + value`.
        cost: U256,
        /// The data fee.
        data_fee: u128,
    },
    /// Reading the state failed; the block cannot be finished.
    #[error(transparent)]
    State(#[from] ExecDbError),
}

/// What happened to an included transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    /// Whether it succeeded (a failed transaction is still included and pays).
    pub success: bool,
    /// Gas it used.
    pub gas_used: u64,
    /// The data fee it paid (wei), on top of its gas.
    pub data_fee: u128,
}

/// Builds one block, a transaction at a time, on a state fork.
pub struct BlockBuilder {
    ctx: BlockContext,
    evm: MainnetEvm<MainnetContext<ForkDb>>,
    transactions: Vec<Bytes>,
    receipts: Vec<ReceiptEnvelope>,
    gas_used: u64,
    base_fee: u64,
}

impl std::fmt::Debug for BlockBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockBuilder")
            .field("ctx", &self.ctx)
            .field("txs", &self.transactions.len())
            .field("gas_used", &self.gas_used)
            .finish_non_exhaustive()
    }
}

impl BlockBuilder {
    /// Starts a block on `fork`. The context must name the fork's parent:
    /// the next number, and the parent's hash.
    pub fn new(fork: Fork, ctx: BlockContext) -> Result<Self, ContextError> {
        ctx.check(&fork)?;
        let base_fee =
            base_fee_on(&fork, &ctx.fees).map_err(|e| ContextError::FeeState(e.to_string()))?;
        let (cfg, block) = evm_env(&ctx, base_fee);
        let evm = Context::mainnet()
            .with_db(ForkDb::new(fork))
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet();
        Ok(Self {
            ctx,
            evm,
            transactions: Vec::new(),
            receipts: Vec::new(),
            gas_used: 0,
            base_fee,
        })
    }

    /// The block's base fee (wei per gas).
    pub const fn base_fee(&self) -> u64 {
        self.base_fee
    }

    /// The block's context.
    pub const fn context(&self) -> &BlockContext {
        &self.ctx
    }

    /// Gas used so far.
    pub const fn gas_used(&self) -> u64 {
        self.gas_used
    }

    /// Transactions included so far.
    pub fn tx_count(&self) -> usize {
        self.transactions.len()
    }

    /// Whether no further transaction can fit (count reached, or less gas
    /// left than the cheapest transaction needs).
    pub fn is_full(&self) -> bool {
        self.transactions.len() >= self.ctx.max_txs as usize
            || self.ctx.gas_limit.saturating_sub(self.gas_used) < crate::pool::INTRINSIC_GAS
    }

    /// Executes `tx` on the block's state: included, or rejected with the
    /// state untouched.
    pub fn add_tx(&mut self, tx: &RecoveredTx) -> Result<TxOutcome, AddTxError> {
        if self.transactions.len() >= self.ctx.max_txs as usize {
            return Err(AddTxError::TooManyTxs(self.ctx.max_txs));
        }
        let left = self.ctx.gas_limit.saturating_sub(self.gas_used);
        if tx.gas_limit() > left {
            return Err(AddTxError::OutOfBlockGas {
                needed: tx.gas_limit(),
                left,
            });
        }
        let data_fee = self
            .ctx
            .fees
            .data_fee(tx.encoded().len(), self.ctx.data_price);
        // The data fee is taken before execution, so that the transaction
        // cannot spend what it owes, and given back if the EVM refuses it.
        let sender = tx.sender();
        let before = self.fork().account(&sender).map_err(ExecDbError::from)?;
        let mut payer = before.unwrap_or_default();
        let fee = U256::from(data_fee);
        if payer.balance < tx.max_cost().saturating_add(fee) {
            return Err(AddTxError::InsufficientFunds {
                balance: payer.balance,
                cost: tx.max_cost(),
                data_fee,
            });
        }
        if data_fee > 0 {
            payer.balance -= fee;
            self.set_account(sender, Some(payer));
        }
        let outcome = match self.evm.transact(tx_env(tx)) {
            Ok(out) => out,
            Err(e) => {
                if data_fee > 0 {
                    self.set_account(sender, before);
                }
                return Err(match e {
                    EVMError::Database(e) => AddTxError::State(e),
                    other => AddTxError::Invalid(other.to_string()),
                });
            }
        };
        let result = outcome.result;
        let gas_used = result.tx_gas_used();
        self.fork_mut().apply(state_diff(outcome.state));
        if data_fee > 0 {
            // The proposer pays for the checkpoint's data on L1.
            let coinbase = self.ctx.coinbase;
            let mut receiver = self
                .fork()
                .account(&coinbase)
                .map_err(ExecDbError::from)?
                .unwrap_or_default();
            receiver.balance = receiver.balance.saturating_add(U256::from(data_fee));
            self.set_account(coinbase, Some(receiver));
        }
        // gas_used <= tx gas limit <= gas left, so this cannot overflow.
        self.gas_used = self.gas_used.saturating_add(gas_used);
        let success = result.is_success();
        let receipt = Receipt {
            status: success.into(),
            cumulative_gas_used: self.gas_used,
            logs: result.logs().to_vec(),
        };
        let tx_type = tx.envelope().tx_type();
        self.receipts
            .push(ReceiptEnvelope::from_typed(tx_type, receipt.with_bloom()));
        self.transactions.push(tx.encoded().clone());
        Ok(TxOutcome {
            success,
            gas_used,
            data_fee,
        })
    }

    fn fork(&self) -> &Fork {
        &self.evm.ctx.journaled_state.database.fork
    }

    fn fork_mut(&mut self) -> &mut Fork {
        &mut self.evm.ctx.journaled_state.database.fork
    }

    fn set_account(&mut self, address: alloy_primitives::Address, account: Option<Account>) {
        let mut diff = StateDiff::default();
        diff.set_account(address, account);
        self.fork_mut().apply(diff);
    }

    /// Seals the block: computes the state, transaction and receipt roots.
    pub fn seal(self) -> BuiltBlock {
        let (fork, parts) = self.into_parts();
        parts.finish(Arc::new(fork.seal()))
    }

    /// Splits the builder into its state and everything else, so a caller
    /// can seal the state itself (to time the state root, for instance).
    pub fn into_parts(self) -> (Fork, BlockParts) {
        let Self {
            ctx,
            evm,
            transactions,
            receipts,
            gas_used,
            base_fee,
        } = self;
        let mut fork = evm.ctx.journaled_state.database.fork;
        let next_base_fee = ctx.fees.next_base_fee(base_fee, gas_used, ctx.gas_limit);
        fork.apply(record_next_base_fee(next_base_fee));
        (
            fork,
            BlockParts {
                ctx,
                transactions,
                receipts,
                gas_used,
                base_fee,
            },
        )
    }
}

/// A built block without its sealed state.
#[derive(Debug)]
pub struct BlockParts {
    ctx: BlockContext,
    transactions: Vec<Bytes>,
    receipts: Vec<ReceiptEnvelope>,
    gas_used: u64,
    base_fee: u64,
}

impl BlockParts {
    /// The block with its sealed state: computes the transaction and receipt roots.
    pub fn finish(self, state: Arc<SealedState>) -> BuiltBlock {
        let Self {
            ctx,
            transactions,
            receipts,
            gas_used,
            base_fee,
        } = self;
        let header = BlockHeader {
            number: ctx.number.0,
            slot: ctx.slot.0,
            index: ctx.index.0,
            parentHash: ctx.parent_hash,
            timestamp: ctx.timestamp.0,
            coinbase: ctx.coinbase,
            stateRoot: state.state_root(),
            txRoot: transactions_root(&transactions),
            bodyHash: body_hash(&transactions),
            receiptsRoot: receipts_root(&receipts),
            gasUsed: gas_used,
            gasLimit: ctx.gas_limit,
            txCount: u32::try_from(transactions.len()).unwrap_or(u32::MAX),
            baseFee: base_fee,
            dataPrice: ctx.data_price,
        };
        BuiltBlock {
            header,
            transactions,
            receipts,
            state,
        }
    }
}

/// The EVM configuration and block environment of a block with `base_fee`.
pub fn evm_env(ctx: &BlockContext, base_fee: u64) -> (CfgEnv, BlockEnv) {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = ctx.chain_id;
    let block = BlockEnv {
        number: U256::from(ctx.number.0),
        beneficiary: ctx.coinbase,
        timestamp: U256::from(ctx.timestamp.as_secs()),
        gas_limit: ctx.gas_limit,
        // The EVM burns the base fee and pays the tip to the coinbase.
        basefee: base_fee,
        difficulty: U256::ZERO,
        // The rollup has no randomness beacon; PREVRANDAO is the parent hash.
        prevrandao: Some(ctx.parent_hash),
        ..BlockEnv::default()
    };
    (cfg, block)
}

/// The revm transaction for a recovered transaction.
pub fn tx_env(tx: &RecoveredTx) -> TxEnv {
    let t: &TxEnvelope = tx.envelope();
    TxEnv {
        tx_type: t.ty(),
        caller: tx.sender(),
        gas_limit: t.gas_limit(),
        gas_price: t.max_fee_per_gas(),
        kind: t.kind(),
        value: t.value(),
        data: t.input().clone(),
        nonce: t.nonce(),
        chain_id: t.chain_id(),
        access_list: t.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: t.max_priority_fee_per_gas(),
        ..TxEnv::default()
    }
}

/// The writes of one transaction, from revm's account changes.
fn state_diff(state: EvmState) -> StateDiff {
    let mut diff = StateDiff::default();
    for (address, account) in state {
        if !account.is_touched() {
            continue;
        }
        if account.is_selfdestructed() {
            // Since Cancun only a contract created in the same transaction
            // can be destroyed, so its slots are exactly the ones it wrote.
            diff.set_account(address, None);
            for (slot, _) in account.storage {
                diff.set_storage(address, slot, U256::ZERO);
            }
            continue;
        }
        let info = &account.info;
        if account.is_created()
            && let Some(code) = &info.code
            && !code.is_empty()
        {
            diff.add_code(info.code_hash, code.original_bytes());
        }
        diff.set_account(
            address,
            Some(Account {
                nonce: info.nonce,
                balance: info.balance,
                code_hash: info.code_hash,
            }),
        );
        for (slot, value) in account.storage {
            if value.is_changed() {
                diff.set_storage(address, slot, value.present_value);
            }
        }
    }
    diff
}
