//! Ethereum's state methods: `eth_getCode`, `eth_getStorageAt`, and the
//! calls `eth_call` and `eth_estimateGas` (with state overrides).
//!
//! A call runs off the protocol core: the core hands out a fork of the
//! tagged state (a few pointers) and the call executes on a blocking
//! thread, at most [`CallLimits::concurrent`] at a time and with at most
//! [`CallLimits::gas_cap`] gas each. Calls run on the provisional tip
//! (`latest`, `pending`), on the checkpointed tip (`safe`), or on any
//! provisional block by number; older states are kept for reads of
//! accounts, code and storage, not for calls.
//!
//! A reverted call answers code 3 with the revert data in `data`, as
//! Ethereum nodes do, so clients decode custom errors.

use std::{sync::Arc, time::Duration};

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{TransactionRequest, state::StateOverride};
use chunkseq_execution::{
    AccountOverride, BlockContext, CallError, CallOutcome, CallRequest, Caller, fees::base_fee_on,
};
use chunkseq_primitives::{BlockIndex, BlockNumber, Slot};
use chunkseq_state::Fork;
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::{
    read_view::{ChainView, StateAt},
    rpc::{BlockTag, RpcContext, code, err},
};

/// Most gas one `eth_call` or `eth_estimateGas` may use (also never more
/// than the block gas limit): a transaction's own limit under Osaka
/// (EIP-7825, 2^24), which the EVM enforces on calls too.
pub const DEFAULT_CALL_GAS_CAP: u64 = 1 << 24;
/// How long a call waits for a free executor before it is refused as busy.
pub const CALL_QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Bounds on calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLimits {
    /// Calls executing at once.
    pub concurrent: usize,
    /// Most gas a call may use.
    pub gas_cap: u64,
}

impl Default for CallLimits {
    /// One executor fewer than the machine has cores (at least one), so
    /// calls never take every core from the protocol core.
    fn default() -> Self {
        Self {
            concurrent: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            gas_cap: DEFAULT_CALL_GAS_CAP,
        }
    }
}

/// The executors calls wait for.
#[derive(Debug)]
pub(crate) struct CallSlots {
    /// Held by each running call until its thread is done (also when its
    /// client went away meanwhile).
    permits: Arc<Semaphore>,
    gas_cap: u64,
}

impl CallSlots {
    pub(crate) fn new(limits: CallLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            gas_cap: limits.gas_cap,
        }
    }

    /// An executor for one call or log scan, waiting at most
    /// [`CALL_QUEUE_WAIT`]; it is free again when the permit is dropped.
    pub(crate) async fn acquire(
        &self,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ErrorObjectOwned> {
        tokio::time::timeout(CALL_QUEUE_WAIT, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| err(code::RETRY, "every call executor is busy; try again"))?
            .map_err(|_| err(code::UNAVAILABLE, "the node is shutting down"))
    }
}

fn invalid(e: impl std::fmt::Display) -> ErrorObjectOwned {
    err(code::INVALID_PARAMS, e.to_string())
}

fn params(p: &Params<'_>) -> Result<Vec<Value>, ErrorObjectOwned> {
    p.parse().map_err(invalid)
}

fn tag_at(values: &[Value], i: usize) -> Result<BlockTag, ErrorObjectOwned> {
    match values.get(i) {
        None | Some(Value::Null) => Ok(BlockTag::Provisional),
        // EIP-1898: {"blockNumber": n} or {"blockHash": h} (numbers only here).
        Some(Value::Object(o)) => match o.get("blockNumber") {
            Some(n) => BlockTag::parse(n).map_err(invalid),
            None => Err(invalid(
                "block selector objects name a blockNumber here (blockHash is not supported)",
            )),
        },
        Some(v) => BlockTag::parse(v).map_err(invalid),
    }
}

/// A fork of the state a call at `tag` runs on, with the environment of
/// the block that would follow it, and its base fee.
fn call_state(
    ctx: &RpcContext,
    view: &ChainView,
    tag: BlockTag,
) -> Result<(Fork, BlockContext, u64), String> {
    if tag == BlockTag::Finalized {
        return Err(
            "calls run on latest, pending, safe or a provisional block; the finalized state is kept for reads only"
                .into(),
        );
    }
    let number = view.number_of(tag);
    let fork = view
        .fork_at(number)
        .map_err(|e| format!("state unavailable: {e}"))?
        .ok_or_else(|| {
            format!(
                "calls run on the provisional blocks and the checkpointed tip (block {}); block {number} is not one",
                view.tips.checkpointed.1
            )
        })?;
    let base_fee = base_fee_on(&fork, &ctx.fees).map_err(|e| e.to_string())?;
    let parent = fork.parent().ok_or("the state has no parent block")?;
    let block = BlockContext {
        number: BlockNumber(parent.number.0.saturating_add(1)),
        slot: Slot(0),
        index: BlockIndex(0),
        parent_hash: parent.block_hash,
        timestamp: crate::clock::Clock::now(&crate::clock::SystemClock),
        coinbase: Address::ZERO,
        gas_limit: ctx.block_gas_limit,
        max_txs: 1,
        chain_id: ctx.chain_id,
        fees: ctx.fees,
        data_price: view.fees.data_price,
    };
    Ok((fork, block, base_fee))
}

/// The call request of an `eth_call` / `eth_estimateGas` parameter.
fn call_request(v: Option<&Value>) -> Result<CallRequest, ErrorObjectOwned> {
    let v = v.ok_or_else(|| invalid("missing transaction object"))?;
    let req: TransactionRequest =
        serde_json::from_value(v.clone()).map_err(|e| invalid(format!("bad call object: {e}")))?;
    let to = match req.to {
        Some(alloy_primitives::TxKind::Call(a)) => Some(a),
        Some(alloy_primitives::TxKind::Create) | None => None,
    };
    Ok(CallRequest {
        from: req.from.unwrap_or_default(),
        to,
        gas: req.gas,
        gas_price: req.gas_price.or(req.max_fee_per_gas),
        max_priority_fee_per_gas: req.max_priority_fee_per_gas,
        value: req.value.unwrap_or_default(),
        input: req.input.input().cloned().unwrap_or_default(),
        nonce: req.nonce,
    })
}

/// The state overrides of a call's third parameter.
fn overrides(v: Option<&Value>) -> Result<Vec<(Address, AccountOverride)>, ErrorObjectOwned> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let set: StateOverride = serde_json::from_value(v.clone())
        .map_err(|e| invalid(format!("bad state override: {e}")))?;
    let mut out = Vec::with_capacity(set.len());
    for (address, o) in set {
        if o.state.is_some() {
            return Err(invalid(
                "state overrides replace slots with stateDiff here; a full state replacement is not supported",
            ));
        }
        if o.move_precompile_to.is_some() {
            return Err(invalid("movePrecompileToAddress is not supported"));
        }
        out.push((
            address,
            AccountOverride {
                balance: o.balance,
                nonce: o.nonce,
                code: o.code,
                storage: o
                    .state_diff
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0)))
                    .collect(),
            },
        ));
    }
    Ok(out)
}

/// Executes `run` on a caller for `tag`'s state, off the core thread.
async fn with_caller<T: Send + 'static>(
    ctx: &RpcContext,
    tag: BlockTag,
    overrides: Vec<(Address, AccountOverride)>,
    run: impl FnOnce(&mut Caller) -> Result<T, CallError> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    let permit = ctx.calls.acquire().await?;
    let view = ctx.view().await?;
    let (fork, block, base_fee) =
        call_state(ctx, &view, tag).map_err(|e| err(code::INVALID_PARAMS, e))?;
    let gas_cap = ctx.calls.gas_cap;
    // The permit goes with the work: a client that hangs up does not free
    // an executor that is still running its call.
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut caller = Caller::new(fork, &overrides, &block, base_fee, gas_cap)?;
        run(&mut caller)
    })
    .await
    .map_err(|e| err(code::INTERNAL, format!("the call's thread failed: {e}")))?;
    result.map_err(call_error)
}

/// Code 3 and the revert data for a revert, -32000 for other failures.
fn reverted(output: &Bytes) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        3,
        "execution reverted",
        Some(format!("0x{}", hex::encode(output))),
    )
}

fn call_error(e: CallError) -> ErrorObjectOwned {
    match e {
        CallError::AlwaysFails {
            outcome: CallOutcome::Revert { output, .. },
            ..
        } => reverted(&output),
        CallError::State(e) => err(code::INTERNAL, e.to_string()),
        other => err(EXECUTION_FAILED, other.to_string()),
    }
}

/// The code Ethereum nodes answer a call that cannot run with.
const EXECUTION_FAILED: i32 = -32000;

/// Registers the methods on `m`.
pub(crate) fn register(
    m: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    m.register_async_method("eth_call", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let values = params(&p)?;
        let req = call_request(values.first())?;
        let tag = tag_at(&values, 1)?;
        let ov = overrides(values.get(2))?;
        match with_caller(&ctx, tag, ov, move |c| c.call(&req)).await? {
            CallOutcome::Success { output, .. } => Ok(output),
            CallOutcome::Revert { output, .. } => Err(reverted(&output)),
            CallOutcome::Halt { reason, .. } => {
                Err(err(EXECUTION_FAILED, format!("execution halted: {reason}")))
            }
        }
    })?;
    m.register_async_method("eth_estimateGas", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let values = params(&p)?;
        let req = call_request(values.first())?;
        let tag = tag_at(&values, 1)?;
        let ov = overrides(values.get(2))?;
        with_caller(&ctx, tag, ov, move |c| c.estimate_gas(&req))
            .await
            .map(alloy_primitives::U64::from)
    })?;
    m.register_async_method("eth_getCode", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let values = params(&p)?;
        let who: Address = serde_json::from_value(values.first().cloned().unwrap_or_default())
            .map_err(|e| invalid(format!("bad address: {e}")))?;
        let tag = tag_at(&values, 1)?;
        read(&ctx, tag, move |s| s.code(&who)).await
    })?;
    m.register_async_method("eth_getStorageAt", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let values = params(&p)?;
        let who: Address = serde_json::from_value(values.first().cloned().unwrap_or_default())
            .map_err(|e| invalid(format!("bad address: {e}")))?;
        let slot: U256 = serde_json::from_value(values.get(1).cloned().unwrap_or_default())
            .map_err(|e| invalid(format!("bad storage slot: {e}")))?;
        let tag = tag_at(&values, 2)?;
        read(&ctx, tag, move |s| s.storage(&who, slot))
            .await
            .map(|v| B256::from(v.to_be_bytes()))
    })?;
    Ok(())
}

async fn read<T>(
    ctx: &RpcContext,
    tag: BlockTag,
    f: impl FnOnce(&StateAt) -> Result<T, chunkseq_state::StateError>,
) -> Result<T, ErrorObjectOwned> {
    let view = ctx.view().await?;
    let state = view.state_at(view.number_of(tag)).map_err(invalid)?;
    f(&state).map_err(invalid)
}
