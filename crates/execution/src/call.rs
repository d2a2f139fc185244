//! Read-only calls on a state fork, for `eth_call` and `eth_estimateGas`:
//! revm with the environment of the block that would come next, nothing
//! written back. As Ethereum nodes do, a call runs with the base fee check
//! off (an account with no ether can still read), without the nonce check
//! (a client estimating its next transaction names the pending nonce, ahead
//! of the state), and from any address, a contract's too (no EIP-3607).

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{TxEnv, result::ExecutionResult},
    primitives::TxKind,
};
use thiserror::Error;

use chunkseq_state::{Account, Fork, StateDiff};

use crate::{
    block::BlockContext,
    builder::evm_env,
    evm_db::{ExecDbError, ForkDb},
    pool::INTRINSIC_GAS,
};

/// A call as `eth_call` and `eth_estimateGas` take it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallRequest {
    /// The caller (the zero address when not given).
    pub from: Address,
    /// The callee; `None` deploys `input` as init code.
    pub to: Option<Address>,
    /// The gas limit; the cap when not given.
    pub gas: Option<u64>,
    /// The gas price (legacy) or fee cap; 0 (no fee) when not given.
    pub gas_price: Option<u128>,
    /// The priority fee cap.
    pub max_priority_fee_per_gas: Option<u128>,
    /// Wei sent along.
    pub value: U256,
    /// Calldata or init code.
    pub input: Bytes,
    /// The nonce; not checked when not given.
    pub nonce: Option<u64>,
}

/// One account's overrides for a call (`eth_call`'s state override set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountOverride {
    /// Its balance.
    pub balance: Option<U256>,
    /// Its nonce.
    pub nonce: Option<u64>,
    /// Its code.
    pub code: Option<Bytes>,
    /// Slots to set, the others kept (`stateDiff`).
    pub storage: Vec<(U256, U256)>,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// It returned `output`.
    Success {
        /// Return data.
        output: Bytes,
        /// Gas used.
        gas_used: u64,
    },
    /// It reverted with `output`.
    Revert {
        /// Revert data.
        output: Bytes,
        /// Gas used.
        gas_used: u64,
    },
    /// It halted (out of gas, invalid opcode, ...).
    Halt {
        /// Why.
        reason: String,
        /// Gas used.
        gas_used: u64,
    },
}

/// Why a call could not run.
#[derive(Debug, Error)]
pub enum CallError {
    /// The EVM refused the call before running it (balance, nonce, fee...).
    #[error("invalid call: {0}")]
    Invalid(String),
    /// The call asks for more gas than a call may use.
    #[error("the call asks for {asked} gas, above the cap of {cap}")]
    GasAboveCap {
        /// Gas asked for.
        asked: u64,
        /// The cap.
        cap: u64,
    },
    /// The call fails at every gas limit up to the cap.
    #[error("the call fails with any gas up to the cap of {cap}: {outcome:?}")]
    AlwaysFails {
        /// The cap.
        cap: u64,
        /// How it ended at the cap.
        outcome: CallOutcome,
    },
    /// Reading the state failed.
    #[error(transparent)]
    State(#[from] ExecDbError),
}

/// Runs calls on one state with one block environment.
pub struct Caller {
    evm: revm::handler::MainnetEvm<revm::handler::MainnetContext<ForkDb>>,
    chain_id: u64,
    gas_cap: u64,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("chain_id", &self.chain_id)
            .field("gas_cap", &self.gas_cap)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Calls on `fork` (with `overrides` applied) in the block `ctx`
    /// describes, with base fee `base_fee`; no call uses more than
    /// `gas_cap` gas (nor more than the block's gas limit).
    pub fn new(
        mut fork: Fork,
        overrides: &[(Address, AccountOverride)],
        ctx: &BlockContext,
        base_fee: u64,
        gas_cap: u64,
    ) -> Result<Self, CallError> {
        apply_overrides(&mut fork, overrides)?;
        let (mut cfg, block) = evm_env(ctx, base_fee);
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
        cfg.disable_eip3607 = true;
        Ok(Self {
            evm: Context::mainnet()
                .with_db(ForkDb::new(fork))
                .with_cfg(cfg)
                .with_block(block)
                .build_mainnet(),
            chain_id: ctx.chain_id,
            gas_cap: gas_cap.min(ctx.gas_limit),
        })
    }

    /// The most gas a call may use.
    pub const fn gas_cap(&self) -> u64 {
        self.gas_cap
    }

    /// Runs `req` with its own gas limit (the cap when it names none).
    pub fn call(&mut self, req: &CallRequest) -> Result<CallOutcome, CallError> {
        let gas = req.gas.unwrap_or(self.gas_cap);
        if gas > self.gas_cap {
            return Err(CallError::GasAboveCap {
                asked: gas,
                cap: self.gas_cap,
            });
        }
        self.run(req, gas)
    }

    fn run(&mut self, req: &CallRequest, gas: u64) -> Result<CallOutcome, CallError> {
        let gas_price = req.gas_price.unwrap_or(0);
        let tx = TxEnv {
            tx_type: if req.max_priority_fee_per_gas.is_some() {
                2
            } else {
                0
            },
            caller: req.from,
            gas_limit: gas,
            gas_price,
            kind: req.to.map_or(TxKind::Create, TxKind::Call),
            value: req.value,
            data: req.input.clone(),
            nonce: req.nonce.unwrap_or(0),
            chain_id: Some(self.chain_id),
            gas_priority_fee: req.max_priority_fee_per_gas.map(|p| p.min(gas_price)),
            ..TxEnv::default()
        };
        let result = match self.evm.transact(tx) {
            Ok(r) => r.result,
            Err(revm::context::result::EVMError::Database(e)) => return Err(CallError::State(e)),
            Err(e) => return Err(CallError::Invalid(e.to_string())),
        };
        let gas_used = result.tx_gas_used();
        Ok(match result {
            ExecutionResult::Success { output, .. } => CallOutcome::Success {
                output: output.into_data(),
                gas_used,
            },
            ExecutionResult::Revert { output, .. } => CallOutcome::Revert { output, gas_used },
            ExecutionResult::Halt { reason, .. } => CallOutcome::Halt {
                reason: format!("{reason:?}"),
                gas_used,
            },
        })
    }

    /// The least gas limit at which `req` succeeds (a binary search between
    /// the intrinsic gas and the cap, as Ethereum nodes estimate).
    pub fn estimate_gas(&mut self, req: &CallRequest) -> Result<u64, CallError> {
        let cap = match req.gas {
            Some(g) if g > self.gas_cap => {
                return Err(CallError::GasAboveCap {
                    asked: g,
                    cap: self.gas_cap,
                });
            }
            Some(g) => g,
            None => self.gas_cap,
        };
        // As Ethereum nodes do: with a fee cap, no more gas than the
        // caller's balance pays for.
        let cap = match req.gas_price.filter(|p| *p > 0) {
            Some(price) => {
                let balance = self.balance(req.from)?;
                let left = balance.saturating_sub(req.value);
                let affordable = left / U256::from(price);
                let affordable = u64::try_from(affordable).unwrap_or(u64::MAX);
                if affordable < INTRINSIC_GAS {
                    return Err(CallError::Invalid(format!(
                        "insufficient funds: balance {balance} wei pays for {affordable} gas at {price} wei, less than a transaction needs"
                    )));
                }
                cap.min(affordable)
            }
            None => cap,
        };
        let used = match self.run(req, cap)? {
            CallOutcome::Success { gas_used, .. } => gas_used,
            outcome => return Err(CallError::AlwaysFails { cap, outcome }),
        };
        // Gas used is a lower bound; refunds and the 63/64 rule can make the
        // needed limit higher.
        let used = used.max(INTRINSIC_GAS);
        if matches!(self.run(req, used)?, CallOutcome::Success { .. }) {
            return Ok(used);
        }
        let (mut low, mut high) = (used, cap);
        while high.saturating_sub(low) > 1 {
            let mid = low + (high - low) / 2;
            match self.run(req, mid)? {
                CallOutcome::Success { .. } => high = mid,
                _ => low = mid,
            }
        }
        Ok(high)
    }
}

impl Caller {
    fn balance(&mut self, who: Address) -> Result<U256, CallError> {
        Ok(self
            .evm
            .ctx
            .journaled_state
            .database
            .fork
            .account(&who)
            .map_err(ExecDbError::from)?
            .map_or(U256::ZERO, |a| a.balance))
    }
}

/// Writes `overrides` into `fork`.
fn apply_overrides(
    fork: &mut Fork,
    overrides: &[(Address, AccountOverride)],
) -> Result<(), CallError> {
    let mut diff = StateDiff::default();
    for (address, o) in overrides {
        let mut account = fork
            .account(address)
            .map_err(ExecDbError::from)?
            .unwrap_or_default();
        if let Some(b) = o.balance {
            account.balance = b;
        }
        if let Some(n) = o.nonce {
            account.nonce = n;
        }
        if let Some(code) = &o.code {
            if code.first() == Some(&0xef)
                && revm::bytecode::Bytecode::new_raw_checked(code.clone()).is_err()
            {
                return Err(CallError::Invalid(format!(
                    "override code for {address} starts with 0xef and is no valid EIP-7702 delegation"
                )));
            }
            let hash: B256 = keccak256(code);
            if !code.is_empty() {
                diff.add_code(hash, code.clone());
            }
            account.code_hash = hash;
        }
        diff.set_account(*address, Some::<Account>(account));
        for (slot, value) in &o.storage {
            diff.set_storage(*address, *slot, *value);
        }
    }
    fork.apply(diff);
    Ok(())
}
