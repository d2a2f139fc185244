//! The fee methods of the JSON-RPC server: Ethereum's `eth_gasPrice`,
//! `eth_maxPriorityFeePerGas` and `eth_feeHistory` over this chain's base
//! fee, and `chunkseq_dataFee`, the data fee a transaction would pay now.
//! docs/fees.md describes the model.

use alloy_primitives::U256;
use chunkseq_execution::PoolError;
use chunkseq_protocol::{TxRefused, fees::TIP_PERCENTILE_STEP};
use jsonrpsee::{
    RpcModule,
    types::{ErrorObjectOwned, Params},
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    rpc::{RpcContext, code, err, number_of, recover_raw, tag_param},
    store::BlockRecord,
};

/// Most blocks one `eth_feeHistory` call reports (geth's limit).
pub const MAX_FEE_HISTORY_BLOCKS: u64 = 1_024;
/// Most reward percentiles one `eth_feeHistory` call asks for.
pub const MAX_REWARD_PERCENTILES: usize = 100;
/// Recent blocks whose median tip suggests a priority fee.
pub const TIP_LOOKBACK_BLOCKS: u64 = 20;

/// `0x`-prefixed hex, as Ethereum's JSON-RPC writes quantities.
fn quantity(v: impl Into<u128>) -> String {
    format!("{:#x}", v.into())
}

/// What `eth_feeHistory` returns.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FeeHistory {
    oldest_block: String,
    base_fee_per_gas: Vec<String>,
    gas_used_ratio: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reward: Option<Vec<Vec<String>>>,
}

/// What `chunkseq_dataFee` returns.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DataFee {
    /// Checkpoint bytes the transaction is charged for.
    data_bytes: u64,
    /// Wei per byte now.
    data_price: String,
    /// `data_bytes * data_price`, wei.
    data_fee: String,
    /// The next block's base fee, wei per gas.
    base_fee: String,
}

/// The amounts a client needs to fix a transaction refused for its fees,
/// as hex quantities for the error's `data`.
pub(crate) fn refusal_amounts(reason: &TxRefused) -> Option<Value> {
    match reason {
        TxRefused::Pool(PoolError::InsufficientFunds {
            balance,
            cost,
            data_fee,
        }) => Some(json!({
            "balance": format!("{balance:#x}"),
            "cost": format!("{cost:#x}"),
            "dataFee": quantity(*data_fee),
            "required": format!("{:#x}", cost.saturating_add(U256::from(*data_fee))),
        })),
        TxRefused::Pool(PoolError::FeeCapBelowBaseFee {
            max_fee_per_gas,
            base_fee,
        }) => Some(json!({
            "maxFeePerGas": quantity(*max_fee_per_gas),
            "baseFee": quantity(*base_fee),
        })),
        _ => None,
    }
}

fn block_at(ctx: &RpcContext, number: u64) -> Result<BlockRecord, ErrorObjectOwned> {
    ctx.store
        .block(number)
        .map_err(|e| err(code::INTERNAL, e.to_string()))?
        .ok_or_else(|| {
            err(
                code::INVALID_PARAMS,
                format!("block {number} is not known here"),
            )
        })
}

/// The tip to suggest: the median of the recent blocks' median tips, or
/// the pool's minimum (at least 1 wei) when recent blocks were empty.
async fn suggested_tip(ctx: &RpcContext) -> Result<u128, ErrorObjectOwned> {
    let (tip, min_tip) = ctx
        .query(|c| (c.tips().provisional.1, c.pool().config().min_tip))
        .await?;
    let median = 50 / TIP_PERCENTILE_STEP;
    let mut medians: Vec<u128> = (tip.saturating_sub(TIP_LOOKBACK_BLOCKS - 1)..=tip)
        .filter_map(|n| ctx.store.block(n).ok().flatten())
        .filter_map(|b| b.tip_percentiles.get(median).copied())
        .collect();
    medians.sort_unstable();
    Ok(medians
        .get(medians.len() / 2)
        .copied()
        .unwrap_or(min_tip)
        .max(min_tip)
        .max(1))
}

fn u64_param(v: &Value, what: &str) -> Result<u64, ErrorObjectOwned> {
    let parsed = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s
            .strip_prefix("0x")
            .map_or_else(|| s.parse().ok(), |h| u64::from_str_radix(h, 16).ok()),
        _ => None,
    };
    parsed.ok_or_else(|| {
        err(
            code::INVALID_PARAMS,
            format!("{what} must be a number, got {v}"),
        )
    })
}

fn percentiles_param(v: Option<&Value>) -> Result<Option<Vec<f64>>, ErrorObjectOwned> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let bad = |why: &str| err(code::INVALID_PARAMS, format!("reward percentiles {why}"));
    let list = v
        .as_array()
        .ok_or_else(|| bad("must be an array of numbers"))?;
    if list.len() > MAX_REWARD_PERCENTILES {
        return Err(bad(&format!("are limited to {MAX_REWARD_PERCENTILES}")));
    }
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        let p = p.as_f64().ok_or_else(|| bad("must be numbers"))?;
        if !(0.0..=100.0).contains(&p) || out.last().is_some_and(|last| p < *last) {
            return Err(bad("must rise from 0 to 100"));
        }
        out.push(p);
    }
    Ok(Some(out))
}

/// The stored percentile at or below `p`.
fn reward_at(b: &BlockRecord, p: f64) -> u128 {
    let step = TIP_PERCENTILE_STEP as f64;
    let i = (p / step).floor() as usize;
    b.tip_percentiles
        .get(i.min(b.tip_percentiles.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

/// Adds the fee methods to `m`.
pub(crate) fn register(
    m: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    m.register_async_method("eth_maxPriorityFeePerGas", |_, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        suggested_tip(&ctx).await.map(quantity)
    })?;
    m.register_async_method("eth_gasPrice", |_, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let base_fee = ctx.query(|c| c.fee_quote().base_fee).await?;
        let tip = suggested_tip(&ctx).await?;
        Ok::<_, ErrorObjectOwned>(quantity(u128::from(base_fee).saturating_add(tip)))
    })?;
    m.register_async_method("eth_feeHistory", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let values: Vec<Value> = p
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
        let count = u64_param(values.first().unwrap_or(&Value::Null), "block count")?;
        if count == 0 || count > MAX_FEE_HISTORY_BLOCKS {
            return Err(err(
                code::INVALID_PARAMS,
                format!("block count must be 1 to {MAX_FEE_HISTORY_BLOCKS}, got {count}"),
            ));
        }
        let newest = number_of(&ctx, tag_param(&p, 1)?).await?;
        let percentiles = percentiles_param(values.get(2))?;
        let fees = ctx.fees;
        let oldest = newest.saturating_sub(count - 1);
        let mut history = FeeHistory {
            oldest_block: quantity(oldest),
            base_fee_per_gas: Vec::new(),
            gas_used_ratio: Vec::new(),
            reward: percentiles.as_ref().map(|_| Vec::new()),
        };
        let mut next = None;
        for n in oldest..=newest {
            if n == 0 {
                // The genesis is not indexed: no gas used, the lowest base fee.
                history.base_fee_per_gas.push(quantity(fees.min_base_fee));
                history.gas_used_ratio.push(0.0);
                if let (Some(ps), Some(rewards)) = (&percentiles, history.reward.as_mut()) {
                    rewards.push(vec![quantity(0u8); ps.len()]);
                }
                next = Some(fees.min_base_fee);
                continue;
            }
            let b = block_at(&ctx, n)?;
            history.base_fee_per_gas.push(quantity(b.base_fee));
            history.gas_used_ratio.push(if b.gas_limit == 0 {
                0.0
            } else {
                b.gas_used as f64 / b.gas_limit as f64
            });
            if let (Some(ps), Some(rewards)) = (&percentiles, history.reward.as_mut()) {
                rewards.push(ps.iter().map(|p| quantity(reward_at(&b, *p))).collect());
            }
            next = Some(fees.next_base_fee(b.base_fee, b.gas_used, b.gas_limit));
        }
        // The base fee after the newest block, as Ethereum's answer has.
        history
            .base_fee_per_gas
            .push(quantity(next.unwrap_or(fees.min_base_fee)));
        Ok(history)
    })?;
    m.register_async_method(
        "chunkseq_dataFee",
        |p: Params<'static>, ctx, _| async move {
            ctx.metrics.rpc_requests.inc();
            let raw: alloy_primitives::Bytes = p.one().map_err(|e| {
                err(
                    code::INVALID_PARAMS,
                    format!("expected one raw transaction: {e}"),
                )
            })?;
            let tx = recover_raw(&raw, ctx.chain_id)?;
            let quote = ctx.query(|c| c.fee_quote()).await?;
            let data_bytes = ctx.fees.data_bytes(tx.encoded().len());
            Ok::<_, ErrorObjectOwned>(DataFee {
                data_bytes,
                data_price: quantity(quote.data_price),
                data_fee: quantity(ctx.fees.data_fee(tx.encoded().len(), quote.data_price)),
                base_fee: quantity(quote.base_fee),
            })
        },
    )?;
    Ok(())
}
