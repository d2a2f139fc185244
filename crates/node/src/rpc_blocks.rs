//! Ethereum's block, transaction and receipt methods, in Ethereum's JSON
//! shapes (alloy's RPC types), served from the node's index: the block
//! records and bodies with receipts the index wrote when each block became
//! provisional ([`crate::block_body`]). They read the database, not the
//! protocol core.
//!
//! A block is shown as an Ethereum header over this chain's header: the
//! hash is this chain's block hash (the keccak256 of its ABI header, not of
//! an RLP header), the timestamp is in seconds, and fields this chain has
//! no use for (difficulty, nonce, mix hash, ommers) are zero or empty. A
//! receipt carries two fields standard clients ignore: `tier`
//! (`provisional`, `checkpointed` or `finalized`) and `attestations`, the
//! committee signatures its block carries to this node.

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxEnvelope,
    TxReceipt, TxType, Typed2718, transaction::Recovered,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{B256, Bloom, U256};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Filter, Header as RpcHeader, Log, Transaction, TransactionReceipt,
};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use serde::Serialize;
use serde_json::Value;

use crate::{
    block_body::BlockBody,
    rpc::{BlockTag, RpcContext, code, err, number_of, tag_param},
    store::{BlockRecord, BlockStatus, NodeStore},
};

/// A receipt with the tier of its block.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TieredReceipt {
    /// The Ethereum receipt.
    #[serde(flatten)]
    pub receipt: TransactionReceipt,
    /// `provisional`, `checkpointed` or `finalized`.
    pub tier: &'static str,
    /// Committee signatures its block carries to this node (0 for a block
    /// learned from L1 alone).
    pub attestations: usize,
}

/// The tier of `block` when `finalized` is the finalized tip's height.
fn tier(block: &BlockRecord, finalized: u64) -> &'static str {
    match block.status {
        BlockStatus::Checkpointed if block.number <= finalized => "finalized",
        BlockStatus::Checkpointed => "checkpointed",
        BlockStatus::Provisional => "provisional",
    }
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    err(code::INTERNAL, e.to_string())
}

/// A block's transactions decoded, with their senders and receipts.
struct Decoded {
    txs: Vec<Recovered<TxEnvelope>>,
    body: BlockBody,
}

impl Decoded {
    fn of(body: BlockBody) -> Result<Self, ErrorObjectOwned> {
        let txs = body
            .transactions
            .iter()
            .zip(&body.senders)
            .map(|(raw, sender)| {
                TxEnvelope::decode_2718(&mut raw.as_ref())
                    .map(|tx| Recovered::new_unchecked(tx, *sender))
                    .map_err(|e| internal(format!("stored transaction: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { txs, body })
    }

    /// The RPC transaction at `i`.
    fn transaction(&self, block: &BlockRecord, i: usize) -> Option<Transaction> {
        let tx = self.txs.get(i)?.clone();
        let effective_gas_price = tx.effective_gas_price(Some(block.base_fee));
        Some(Transaction {
            inner: tx,
            block_hash: Some(block.hash),
            block_number: Some(block.number),
            transaction_index: u64::try_from(i).ok(),
            effective_gas_price: Some(effective_gas_price),
            block_timestamp: Some(block.timestamp / 1_000),
        })
    }

    /// The receipt of the transaction at `i`; `first_log` is the block-wide
    /// index of its first log.
    fn receipt(&self, block: &BlockRecord, i: usize, first_log: u64) -> Option<TransactionReceipt> {
        let tx = self.txs.get(i)?;
        let stored = self.body.receipts.get(i)?;
        let before = match i.checked_sub(1) {
            Some(p) => self.body.receipts.get(p)?.cumulative_gas_used,
            None => 0,
        };
        let hash = *tx.inner().tx_hash();
        let logs: Vec<Log> = stored
            .logs
            .iter()
            .enumerate()
            .map(|(k, log)| Log {
                inner: log.clone(),
                block_hash: Some(block.hash),
                block_number: Some(block.number),
                block_timestamp: Some(block.timestamp / 1_000),
                transaction_hash: Some(hash),
                transaction_index: u64::try_from(i).ok(),
                log_index: Some(first_log.saturating_add(k as u64)),
                removed: false,
            })
            .collect();
        let consensus = stored.to_receipt();
        let receipt = alloy_consensus::Receipt {
            status: consensus.status,
            cumulative_gas_used: consensus.cumulative_gas_used,
            logs,
        };
        let with_bloom = ReceiptWithBloom::new(receipt, consensus.bloom());
        let ty = TxType::try_from(tx.ty()).unwrap_or(TxType::Eip1559);
        let to = tx.to();
        Some(TransactionReceipt {
            inner: ReceiptEnvelope::from_typed(ty, with_bloom),
            transaction_hash: hash,
            transaction_index: u64::try_from(i).ok(),
            block_hash: Some(block.hash),
            block_number: Some(block.number),
            gas_used: stored.cumulative_gas_used.saturating_sub(before),
            effective_gas_price: tx.effective_gas_price(Some(block.base_fee)),
            blob_gas_used: None,
            blob_gas_price: None,
            from: tx.signer(),
            to,
            contract_address: to.is_none().then(|| tx.signer().create(tx.nonce())),
        })
    }

    /// Every receipt of the block, in order.
    fn receipts(&self, block: &BlockRecord) -> Vec<TransactionReceipt> {
        let mut first_log = 0u64;
        (0..self.txs.len())
            .filter_map(|i| {
                let r = self.receipt(block, i, first_log)?;
                first_log = first_log
                    .saturating_add(self.body.receipts.get(i).map_or(0, |s| s.logs.len() as u64));
                Some(r)
            })
            .collect()
    }

    /// The block-wide index of the first log of transaction `i`.
    fn first_log(&self, i: usize) -> u64 {
        self.body
            .receipts
            .iter()
            .take(i)
            .map(|r| r.logs.len() as u64)
            .sum()
    }
}

/// The Ethereum header of `block`.
fn header(block: &BlockRecord, bloom: Bloom) -> RpcHeader {
    RpcHeader {
        hash: block.hash,
        inner: Header {
            parent_hash: block.parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: block.coinbase,
            state_root: block.state_root,
            transactions_root: block.tx_root,
            receipts_root: block.receipts_root,
            logs_bloom: bloom,
            difficulty: U256::ZERO,
            number: block.number,
            gas_limit: block.gas_limit,
            gas_used: block.gas_used,
            timestamp: block.timestamp / 1_000,
            extra_data: Default::default(),
            mix_hash: B256::ZERO,
            nonce: Default::default(),
            base_fee_per_gas: Some(block.base_fee),
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
            block_access_list_hash: None,
            slot_number: None,
        },
        total_difficulty: Some(U256::ZERO),
        size: None,
    }
}

/// The block and its decoded body (read together with it).
fn load(
    found: Option<(BlockRecord, Option<BlockBody>)>,
) -> Result<Option<(BlockRecord, Decoded)>, ErrorObjectOwned> {
    let Some((block, body)) = found else {
        return Ok(None);
    };
    // A block indexed before bodies were kept has none: it is shown with
    // its transactions' hashes and no receipts.
    let body = body.unwrap_or_default();
    Ok(Some((block, Decoded::of(body)?)))
}

fn block_json(block: &BlockRecord, d: &Decoded, full: bool) -> Result<Value, ErrorObjectOwned> {
    let transactions = if full && d.txs.len() == block.transactions.len() {
        BlockTransactions::Full(
            (0..d.txs.len())
                .filter_map(|i| d.transaction(block, i))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.transactions.clone())
    };
    let b: Block = Block {
        header: header(block, block.logs_bloom),
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    };
    serde_json::to_value(b).map_err(internal)
}

/// The height of the finalized tip.
async fn finalized(ctx: &RpcContext) -> Result<u64, ErrorObjectOwned> {
    Ok(ctx.view().await?.tips.finalized.1)
}

fn full_param(p: &jsonrpsee::types::Params<'_>) -> Result<bool, ErrorObjectOwned> {
    let values: Vec<Value> = p
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
    match values.get(1) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(err(
            code::INVALID_PARAMS,
            format!("expected true (full transactions) or false (hashes), got {v}"),
        )),
    }
}

fn hash_param(p: &jsonrpsee::types::Params<'_>) -> Result<B256, ErrorObjectOwned> {
    let values: Vec<Value> = p
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
    let v = values
        .first()
        .ok_or_else(|| err(code::INVALID_PARAMS, "missing hash"))?;
    serde_json::from_value(v.clone())
        .map_err(|e| err(code::INVALID_PARAMS, format!("bad hash: {e}")))
}

/// The block, body and position of an indexed transaction.
fn locate(
    ctx: &RpcContext,
    hash: &B256,
) -> Result<Option<(BlockRecord, Decoded, usize)>, ErrorObjectOwned> {
    let Some(record) = ctx.store.tx(hash).map_err(internal)? else {
        return Ok(None);
    };
    let (Some(number), Some(index)) = (record.block_number, record.index) else {
        return Ok(None);
    };
    let Some((block, decoded)) = load(ctx.store.block_with_body(number).map_err(internal)?)? else {
        return Ok(None);
    };
    if Some(block.hash) != record.block_hash {
        return Ok(None);
    }
    let i = index as usize;
    if block.transactions.get(i) != Some(hash) {
        return Ok(None);
    }
    Ok(Some((block, decoded, i)))
}

/// Most blocks one `eth_getLogs` call scans.
pub const MAX_LOG_BLOCKS: u64 = 10_000;
/// Most logs one `eth_getLogs` call returns.
pub const MAX_LOGS: usize = 10_000;

/// Our tag for one of a filter's block bounds (`latest` when absent).
fn filter_tag(b: Option<&alloy_eips::BlockNumberOrTag>) -> BlockTag {
    use alloy_eips::BlockNumberOrTag as T;
    match b {
        None | Some(T::Latest | T::Pending) => BlockTag::Provisional,
        Some(T::Safe) => BlockTag::Checkpointed,
        Some(T::Finalized) => BlockTag::Finalized,
        Some(T::Earliest) => BlockTag::Number(0),
        Some(T::Number(n)) => BlockTag::Number(*n),
    }
}

/// The logs of `block` (with `body`) that `filter` matches, in order.
pub(crate) fn block_logs(block: &BlockRecord, body: &BlockBody, filter: &Filter) -> Vec<Log> {
    let mut out = Vec::new();
    let mut log_index = 0u64;
    for (i, receipt) in body.receipts.iter().enumerate() {
        for log in &receipt.logs {
            if filter.matches(log) {
                out.push(Log {
                    inner: log.clone(),
                    block_hash: Some(block.hash),
                    block_number: Some(block.number),
                    block_timestamp: Some(block.timestamp / 1_000),
                    transaction_hash: block.transactions.get(i).copied(),
                    transaction_index: u64::try_from(i).ok(),
                    log_index: Some(log_index),
                    removed: false,
                });
            }
            log_index = log_index.saturating_add(1);
        }
    }
    out
}

/// The Ethereum header of an indexed block.
pub(crate) fn block_header(block: &BlockRecord) -> RpcHeader {
    header(block, block.logs_bloom)
}

/// The logs of the blocks `numbers` (oldest first) that `filter` matches,
/// at most [`MAX_LOGS`]. A block whose bloom rules the filter out is not
/// read further.
pub(crate) fn matching_logs(
    store: &NodeStore,
    filter: &Filter,
    numbers: impl Iterator<Item = u64>,
) -> Result<Vec<Log>, ErrorObjectOwned> {
    let mut out = Vec::new();
    for n in numbers {
        let Some(block) = store.block(n).map_err(internal)? else {
            continue;
        };
        if block.transactions.is_empty() || !filter.matches_bloom(block.logs_bloom) {
            continue;
        }
        let Some((block, Some(body))) = store.block_with_body(n).map_err(internal)? else {
            continue;
        };
        out.extend(block_logs(&block, &body, filter));
        if out.len() > MAX_LOGS {
            return Err(err(
                code::INVALID_PARAMS,
                format!(
                    "more than {MAX_LOGS} logs match; ask for a smaller block range or a narrower filter"
                ),
            ));
        }
    }
    Ok(out)
}

/// Runs a log scan on a blocking thread, holding one of the call
/// executors for as long as it runs.
pub(crate) async fn scan<T: Send + 'static>(
    ctx: &RpcContext,
    work: impl FnOnce(&NodeStore) -> Result<T, ErrorObjectOwned> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    let permit = ctx.calls.acquire().await?;
    let store = std::sync::Arc::clone(&ctx.store);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work(&store)
    })
    .await
    .map_err(internal)?
}

/// The logs `filter` asks for; a range ends at the provisional tip at most.
pub(crate) async fn logs(ctx: &RpcContext, filter: Filter) -> Result<Vec<Log>, ErrorObjectOwned> {
    if let Some(hash) = filter.get_block_hash() {
        return scan(ctx, move |store| {
            let Some((block, Some(body))) =
                store.block_by_hash_with_body(&hash).map_err(internal)?
            else {
                return Ok(Vec::new());
            };
            Ok(block_logs(&block, &body, &filter))
        })
        .await;
    }
    let view = ctx.view().await?;
    let tip = view.number_of(BlockTag::Provisional);
    let from = view.number_of(filter_tag(filter.block_option.get_from_block()));
    let to = view.number_of(filter_tag(filter.block_option.get_to_block()));
    if to < from {
        return Err(err(
            code::INVALID_PARAMS,
            format!("fromBlock {from} is after toBlock {to}"),
        ));
    }
    let to = to.min(tip);
    if to < from {
        return Ok(Vec::new());
    }
    if to - from >= MAX_LOG_BLOCKS {
        return Err(err(
            code::INVALID_PARAMS,
            format!(
                "a range of {} blocks exceeds the {MAX_LOG_BLOCKS} one call scans; ask for smaller ranges",
                (to - from).saturating_add(1)
            ),
        ));
    }
    scan(ctx, move |store| matching_logs(store, &filter, from..=to)).await
}

/// The receipt of transaction `hash` with its tier, or null while it is in
/// no block.
pub(crate) async fn receipt_json(ctx: &RpcContext, hash: &B256) -> Result<Value, ErrorObjectOwned> {
    let Some((b, d, i)) = locate(ctx, hash)? else {
        return Ok(Value::Null);
    };
    let Some(receipt) = d.receipt(&b, i, d.first_log(i)) else {
        return Ok(Value::Null);
    };
    let fin = finalized(ctx).await?;
    serde_json::to_value(TieredReceipt {
        receipt,
        tier: tier(&b, fin),
        attestations: b.attestations,
    })
    .map_err(internal)
}

/// Registers the methods on `m`.
pub(crate) fn register(
    m: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    m.register_async_method("eth_getBlockByNumber", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let number = number_of(&ctx, tag_param(&p, 0)?).await?;
        let full = full_param(&p)?;
        match load(ctx.store.block_with_body(number).map_err(internal)?)? {
            Some((b, d)) => block_json(&b, &d, full),
            None => Ok(Value::Null),
        }
    })?;
    m.register_async_method("eth_getBlockByHash", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let hash = hash_param(&p)?;
        let full = full_param(&p)?;
        match load(ctx.store.block_by_hash_with_body(&hash).map_err(internal)?)? {
            Some((b, d)) => block_json(&b, &d, full),
            None => Ok(Value::Null),
        }
    })?;
    m.register_async_method("eth_getBlockReceipts", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let values: Vec<Value> = p
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
        // A block hash or a number/tag.
        let block = match values.first() {
            Some(Value::String(s)) if s.len() == 66 => {
                let hash: B256 = s
                    .parse()
                    .map_err(|e| err(code::INVALID_PARAMS, format!("bad block hash: {e}")))?;
                ctx.store.block_by_hash_with_body(&hash).map_err(internal)?
            }
            _ => {
                let number = number_of(&ctx, tag_param(&p, 0)?).await?;
                ctx.store.block_with_body(number).map_err(internal)?
            }
        };
        let Some((b, d)) = load(block)? else {
            return Ok(Value::Null);
        };
        let fin = finalized(&ctx).await?;
        let receipts: Vec<TieredReceipt> = d
            .receipts(&b)
            .into_iter()
            .map(|receipt| TieredReceipt {
                receipt,
                tier: tier(&b, fin),
                attestations: b.attestations,
            })
            .collect();
        serde_json::to_value(receipts).map_err(internal)
    })?;
    m.register_async_method("eth_getTransactionByHash", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let hash = hash_param(&p)?;
        match locate(&ctx, &hash)? {
            Some((b, d, i)) => serde_json::to_value(d.transaction(&b, i)).map_err(internal),
            None => Ok(Value::Null),
        }
    })?;
    m.register_async_method("eth_getTransactionReceipt", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let hash = hash_param(&p)?;
        receipt_json(&ctx, &hash).await
    })?;
    m.register_async_method(
        "eth_getBlockTransactionCountByNumber",
        |p, ctx, _| async move {
            ctx.metrics.rpc_requests.inc();
            let number = number_of(&ctx, tag_param(&p, 0)?).await?;
            Ok::<_, ErrorObjectOwned>(
                ctx.store
                    .block(number)
                    .map_err(internal)?
                    .map(|b| alloy_primitives::U64::from(b.transactions.len())),
            )
        },
    )?;
    m.register_async_method("eth_getLogs", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let filter: Filter = p
            .one()
            .map_err(|e| err(code::INVALID_PARAMS, format!("bad filter: {e}")))?;
        logs(&ctx, filter).await
    })?;
    Ok(())
}
