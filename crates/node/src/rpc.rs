//! JSON-RPC over HTTP and websocket on one port (jsonrpsee): transactions,
//! their status, blocks and accounts at a tag, the node's status, and
//! subscriptions to provisional blocks, checkpoints, reorgs and evidence.
//!
//! Requests over [`MAX_REQUEST_BYTES`] are refused by the server before they
//! are parsed; malformed ones get JSON-RPC errors; neither affects other
//! clients.

use std::{net::SocketAddr, sync::Arc, sync::mpsc};

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_execution::pool::{RecoveredTx, recover};
use chunkseq_primitives::codec::MAX_TX_BYTES;
use chunkseq_protocol::{Core, TxRefused, TxStatus};
use chunkseq_report::refusal_reason;
use jsonrpsee::{
    Methods, RpcModule, SubscriptionMessage,
    server::{
        Server, ServerConfig, ServerHandle,
        middleware::{http::ProxyGetRequestLayer, rpc::RpcServiceBuilder},
        serve_with_graceful_shutdown, stop_channel,
    },
    types::{ErrorObjectOwned, Params},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{broadcast, oneshot};

use crate::{
    driver::Command,
    events::Notifier,
    metrics::NodeMetrics,
    network::NetworkStatus,
    node::SyncState,
    read_view::ChainView,
    rpc_limits::{
        ConnectionTable, MarkPlainHttpLayer, RateLimited, RequestBuckets, RpcLimits, refuse,
    },
    store::NodeStore,
};

/// Largest request body accepted (a transaction is at most 128 KiB, hex doubles it).
pub const MAX_REQUEST_BYTES: u32 = 512 * 1024;
/// Largest response body.
pub const MAX_RESPONSE_BYTES: u32 = 8 * 1024 * 1024;
/// Most transactions one `chunkseq_sendRawTransactions` call may carry.
pub const MAX_TX_BATCH: usize = 1_000;
/// The subscription kinds.
pub const SUBSCRIPTIONS: [&str; 6] = [
    "provisional",
    "checkpoints",
    "reorgs",
    "evidence",
    "failovers",
    "txs",
];

/// JSON-RPC error codes.
pub(crate) mod code {
    pub(crate) const INVALID_PARAMS: i32 = -32602;
    pub(crate) const REFUSED: i32 = -32003;
    pub(crate) const INTERNAL: i32 = -32603;
    pub(crate) const UNAVAILABLE: i32 = -32002;
    /// Refused for now: send it again later (the node is behind, or busy).
    pub(crate) const RETRY: i32 = crate::rpc_limits::LIMITED;
}

pub(crate) fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

/// The error a refused transaction gets: code -32005 when sending it again
/// later may work (the node is behind, catching up, or its pool full),
/// -32003 otherwise; `data.reason` names why ([`refusal_reason`]) and
/// `data.retryable` says which.
fn refused(reason: &TxRefused) -> ErrorObjectOwned {
    let retryable = reason.is_retryable();
    ErrorObjectOwned::owned(
        if retryable {
            code::RETRY
        } else {
            code::REFUSED
        },
        format!("transaction refused: {reason}"),
        Some({
            let mut data = json!({ "reason": refusal_reason(reason), "retryable": retryable });
            if let (Some(amounts), Some(obj)) = (
                crate::rpc_fees::refusal_amounts(reason),
                data.as_object_mut(),
            ) && let Some(extra) = amounts.as_object()
            {
                obj.extend(extra.clone());
            }
            data
        }),
    )
}

/// Decodes and recovers one raw transaction of a call.
pub(crate) fn recover_raw(raw: &[u8], chain_id: u64) -> Result<RecoveredTx, ErrorObjectOwned> {
    if raw.len() > MAX_TX_BYTES {
        return Err(err(
            code::INVALID_PARAMS,
            format!("transaction of {} bytes exceeds {MAX_TX_BYTES}", raw.len()),
        ));
    }
    recover(raw, chain_id).map_err(|e| err(code::INVALID_PARAMS, e.to_string()))
}

/// Hands transactions to the core; one verdict per transaction, in order.
pub(crate) async fn submit(
    ctx: &RpcContext,
    txs: Vec<RecoveredTx>,
) -> Result<Vec<Result<B256, TxRefused>>, ErrorObjectOwned> {
    let (reply, rx) = oneshot::channel();
    ctx.core
        .send(Command::SubmitTxs { txs, reply })
        .map_err(|_| err(code::UNAVAILABLE, "the node is shutting down"))?;
    rx.await
        .map_err(|_| err(code::UNAVAILABLE, "the node is shutting down"))
}

/// What the RPC handlers share.
pub(crate) struct RpcContext {
    pub(crate) core: mpsc::Sender<Command>,
    pub(crate) store: Arc<NodeStore>,
    pub(crate) notify: Notifier,
    pub(crate) net: Arc<NetworkStatus>,
    pub(crate) metrics: Arc<NodeMetrics>,
    pub(crate) chain_id: u64,
    pub(crate) fees: chunkseq_primitives::FeeSpec,
    /// The chain's block gas limit (what calls run under).
    pub(crate) block_gas_limit: u64,
    pub(crate) sync: Arc<parking_lot::Mutex<SyncState>>,
    /// Users' transactions are refused at once while this stands.
    pub(crate) backlog: Arc<crate::admission::BacklogGate>,
    /// The executors `eth_call` and `eth_estimateGas` wait for.
    pub(crate) calls: Arc<crate::rpc_state::CallSlots>,
    /// Filters installed with `eth_newFilter` and its kin.
    pub(crate) filters: Arc<crate::rpc_pubsub::Filters>,
    /// The chain as the core loop last published it.
    pub(crate) views: Arc<crate::read_view::ReadViews>,
    /// Whether slashing protection lets this node sign.
    pub(crate) health: Arc<chunkseq_signer::SigningHealth>,
}

impl RpcContext {
    /// The refusal every transaction of a call gets while the node is
    /// behind, counted as the core counts its own.
    fn behind(&self, txs: usize) -> Option<TxRefused> {
        let refusal = self.backlog.refusal()?;
        self.metrics
            .tx_refused
            .get_or_create(&vec![(
                "reason".to_owned(),
                chunkseq_report::refusal_reason(&refusal).to_owned(),
            )])
            .inc_by(u64::try_from(txs).unwrap_or(u64::MAX));
        Some(refusal)
    }
}

impl RpcContext {
    /// The chain view reads use; taken from the core while the core loop
    /// has published none (the node is starting).
    pub(crate) async fn view(&self) -> Result<Arc<ChainView>, ErrorObjectOwned> {
        match self.views.get() {
            Some(v) => Ok(v),
            None => self.query(|c| Arc::new(ChainView::of(c))).await,
        }
    }

    pub(crate) async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core) -> T + Send + 'static,
    ) -> Result<T, ErrorObjectOwned> {
        let (tx, rx) = oneshot::channel();
        self.core
            .send(Command::Query(Box::new(move |c| {
                let _ = tx.send(f(c));
            })))
            .map_err(|_| err(code::UNAVAILABLE, "the node is shutting down"))?;
        rx.await
            .map_err(|_| err(code::UNAVAILABLE, "the node is shutting down"))
    }
}

/// A block selector: a number or a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockTag {
    /// A height.
    Number(u64),
    /// The provisional tip (also `latest`).
    Provisional,
    /// The provisional tip plus the pool: for nonces, the next one after
    /// the sender's pooled transactions (`pending`); for anything else the
    /// provisional tip.
    Pending,
    /// The checkpointed tip.
    Checkpointed,
    /// The L1-final tip.
    Finalized,
}

/// Why a block selector did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockTagError {
    /// A number that is no block number.
    #[error("bad block number {0}")]
    BadNumber(String),
    /// A string that is no tag or number.
    #[error(
        "unknown block tag {0:?} (use a number, latest (provisional), pending, safe (checkpointed), finalized or earliest)"
    )]
    UnknownTag(String),
    /// Neither a number nor a string.
    #[error("bad block selector {0}")]
    BadSelector(String),
}

impl BlockTag {
    /// Parses `"provisional"`, `"latest"`, `"pending"`, `"checkpointed"`,
    /// `"safe"`, `"finalized"`, `"earliest"` (block 0), a decimal number or
    /// a `0x` hex number.
    pub fn parse(v: &serde_json::Value) -> Result<Self, BlockTagError> {
        match v {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Self::Number)
                .ok_or_else(|| BlockTagError::BadNumber(n.to_string())),
            serde_json::Value::String(s) => match s.as_str() {
                "provisional" | "latest" => Ok(Self::Provisional),
                "pending" => Ok(Self::Pending),
                "checkpointed" | "safe" => Ok(Self::Checkpointed),
                "finalized" => Ok(Self::Finalized),
                "earliest" => Ok(Self::Number(0)),
                hex if hex.starts_with("0x") => hex
                    .get(2..)
                    .and_then(|digits| u64::from_str_radix(digits, 16).ok())
                    .map(Self::Number)
                    .ok_or_else(|| BlockTagError::BadNumber(hex.to_owned())),
                dec => dec
                    .parse()
                    .map(Self::Number)
                    .map_err(|_| BlockTagError::UnknownTag(dec.to_owned())),
            },
            other => Err(BlockTagError::BadSelector(other.to_string())),
        }
    }
}

pub(crate) fn tag_param(p: &Params<'_>, index: usize) -> Result<BlockTag, ErrorObjectOwned> {
    let values: Vec<serde_json::Value> = p
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
    match values.get(index) {
        None | Some(serde_json::Value::Null) => Ok(BlockTag::Provisional),
        Some(v) => BlockTag::parse(v).map_err(|e| err(code::INVALID_PARAMS, e.to_string())),
    }
}

/// The node's status, as `chunkseq_status` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Current slot.
    pub slot: u64,
    /// Current epoch.
    pub epoch: u64,
    /// This node's validator address.
    pub validator: Option<Address>,
    /// `proposer`, `attester` or `follower` this slot.
    pub role: String,
    /// The slot's proposer, once known.
    pub proposer: Option<Address>,
    /// The slot's committee, once known.
    pub committee: Vec<Address>,
    /// Provisional tip (number, hash).
    pub provisional: (u64, B256),
    /// Checkpointed tip.
    pub checkpointed: (u64, B256),
    /// Finalized tip.
    pub finalized: (u64, B256),
    /// Connected peers.
    pub peers: usize,
    /// Transactions in the pool.
    pub pool: usize,
    /// Base fee of the next block (wei per gas).
    #[serde(default)]
    pub base_fee: u64,
    /// Current price of a byte of checkpoint data (wei).
    #[serde(default)]
    pub data_price: u64,
    /// Whether the node caught up and takes part.
    pub synced: bool,
    /// `ok`, or why slashing protection cannot record (the node then
    /// signs nothing); `null` without a validator key.
    #[serde(default)]
    pub signing: Option<String>,
}

/// The block a tag names, by number.
pub(crate) async fn number_of(ctx: &RpcContext, tag: BlockTag) -> Result<u64, ErrorObjectOwned> {
    match tag {
        BlockTag::Number(n) => Ok(n),
        t => Ok(ctx.view().await?.number_of(t)),
    }
}

/// An account's nonce and balance at `tag`, read from the published chain
/// view; only `pending` asks the core (the pool) for the nonce.
pub(crate) async fn account(
    ctx: &RpcContext,
    who: Address,
    tag: BlockTag,
) -> Result<(u64, U256), ErrorObjectOwned> {
    let view = ctx.view().await?;
    let state = view
        .state_at(view.number_of(tag))
        .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
    let (nonce, balance) = state
        .account(&who)
        .map_err(|e| err(code::INVALID_PARAMS, format!("state unavailable: {e}")))?
        .map_or((0, U256::ZERO), |a| (a.nonce, a.balance));
    if tag == BlockTag::Pending {
        let nonce = ctx
            .query(move |core| core.pool().pending_nonce(who, nonce))
            .await?;
        return Ok((nonce, balance));
    }
    Ok((nonce, balance))
}

pub(crate) fn address_param(p: &Params<'_>) -> Result<Address, ErrorObjectOwned> {
    let values: Vec<serde_json::Value> = p
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
    let v = values
        .first()
        .ok_or_else(|| err(code::INVALID_PARAMS, "missing address"))?;
    serde_json::from_value(v.clone())
        .map_err(|e| err(code::INVALID_PARAMS, format!("bad address: {e}")))
}

/// How long `eth_sendRawTransactionSync` waits when not told.
pub const DEFAULT_SYNC_TIMEOUT_MS: u64 = 5_000;
/// The longest wait `eth_sendRawTransactionSync` accepts.
pub const MAX_SYNC_TIMEOUT_MS: u64 = 60_000;
/// EIP-7966's code for a transaction taken but not in a block in time
/// (`data` is its hash).
pub const SYNC_TIMEOUT_CODE: i32 = 4;

/// `eth_sendRawTransactionSync` (EIP-7966): sends, then answers with the
/// receipt as soon as the transaction is provisional (attested), or code
/// [`SYNC_TIMEOUT_CODE`] with its hash after the timeout (milliseconds,
/// the second parameter, a number or hex quantity).
async fn send_sync(
    ctx: &RpcContext,
    p: &Params<'_>,
) -> Result<serde_json::Value, ErrorObjectOwned> {
    let values: Vec<serde_json::Value> = p
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
    let raw: Bytes = values
        .first()
        .cloned()
        .ok_or_else(|| err(code::INVALID_PARAMS, "missing raw transaction"))
        .and_then(|v| {
            serde_json::from_value(v)
                .map_err(|e| err(code::INVALID_PARAMS, format!("expected a hex string: {e}")))
        })?;
    let timeout = match values.get(1) {
        None | Some(serde_json::Value::Null) => DEFAULT_SYNC_TIMEOUT_MS,
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| err(code::INVALID_PARAMS, format!("bad timeout {n}")))?,
        Some(serde_json::Value::String(s)) => s
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| err(code::INVALID_PARAMS, format!("bad timeout {s:?}")))?,
        Some(v) => return Err(err(code::INVALID_PARAMS, format!("bad timeout {v}"))),
    };
    if timeout == 0 || timeout > MAX_SYNC_TIMEOUT_MS {
        return Err(err(
            code::INVALID_PARAMS,
            format!("timeout {timeout} ms is outside 1..={MAX_SYNC_TIMEOUT_MS}"),
        ));
    }
    if let Some(reason) = ctx.behind(1) {
        return Err(refused(&reason));
    }
    let tx = recover_raw(&raw, ctx.chain_id)?;
    // Listen before sending, so the block cannot come in between.
    let mut blocks = ctx.notify.subscribe();
    let hash = match submit(ctx, vec![tx]).await?.pop() {
        Some(Ok(hash)) => hash,
        Some(Err(reason)) => return Err(refused(&reason)),
        None => return Err(err(code::INTERNAL, "no verdict")),
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(timeout);
    loop {
        // Already provisional (a resend), or just made so.
        let receipt = crate::rpc_blocks::receipt_json(ctx, &hash).await?;
        if !receipt.is_null() {
            return Ok(receipt);
        }
        loop {
            match tokio::time::timeout_at(deadline, blocks.recv()).await {
                Err(_) => {
                    return Err(ErrorObjectOwned::owned(
                        SYNC_TIMEOUT_CODE,
                        format!(
                            "the transaction was taken but is not provisional after {timeout} ms"
                        ),
                        Some(hash),
                    ));
                }
                Ok(Ok(crate::events::Notification::Provisional { block, .. }))
                    if block.transactions.contains(&hash) =>
                {
                    break;
                }
                // Catching up, blocks come with checkpoints, not one by one.
                Ok(Ok(crate::events::Notification::Checkpoint { .. })) => break,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => break,
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return Err(err(code::UNAVAILABLE, "the node is shutting down"));
                }
                Ok(_) => {}
            }
        }
    }
}

/// Builds the RPC methods.
pub(crate) fn module(
    ctx: RpcContext,
) -> Result<RpcModule<RpcContext>, jsonrpsee::core::RegisterMethodError> {
    let mut m = RpcModule::new(ctx);
    m.register_async_method("chunkseq_sendRawTransaction", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let raw: Bytes = p.one().map_err(|e| {
            err(
                code::INVALID_PARAMS,
                format!("expected one hex string: {e}"),
            )
        })?;
        if let Some(reason) = ctx.behind(1) {
            return Err(refused(&reason));
        }
        let tx = recover_raw(&raw, ctx.chain_id)?;
        match submit(&ctx, vec![tx]).await?.pop() {
            Some(Ok(hash)) => Ok(hash),
            Some(Err(reason)) => Err(refused(&reason)),
            None => Err(err(code::INTERNAL, "no verdict")),
        }
    })?;
    m.register_alias("eth_sendRawTransaction", "chunkseq_sendRawTransaction")?;
    m.register_async_method("eth_sendRawTransactionSync", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        send_sync(&ctx, &p).await
    })?;
    m.register_async_method("chunkseq_sendRawTransactions", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let raws: Vec<Bytes> = p.one().map_err(|e| {
            err(
                code::INVALID_PARAMS,
                format!("expected one array of hex strings: {e}"),
            )
        })?;
        if raws.len() > MAX_TX_BATCH {
            return Err(err(
                code::INVALID_PARAMS,
                format!(
                    "{} transactions in one call exceed {MAX_TX_BATCH}",
                    raws.len()
                ),
            ));
        }
        if let Some(reason) = ctx.behind(raws.len()) {
            let e = refused(&reason);
            return Ok(raws
                .iter()
                .map(|_| serde_json::to_value(&e).unwrap_or_default())
                .collect());
        }
        // Each transaction is decoded and recovered on its own; those that
        // fail get their error, the others go to the core in one step.
        let mut results: Vec<Result<B256, ErrorObjectOwned>> = Vec::with_capacity(raws.len());
        let mut valid = Vec::with_capacity(raws.len());
        for raw in &raws {
            match recover_raw(raw, ctx.chain_id) {
                Ok(tx) => {
                    results.push(Ok(tx.hash()));
                    valid.push(tx);
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let mut verdicts = submit(&ctx, valid).await?.into_iter();
        Ok::<_, ErrorObjectOwned>(
            results
                .into_iter()
                .map(|r| {
                    let verdict = match r {
                        Ok(_) => match verdicts.next() {
                            Some(Ok(hash)) => Ok(hash),
                            Some(Err(reason)) => Err(refused(&reason)),
                            None => Err(err(code::INTERNAL, "no verdict")),
                        },
                        Err(e) => Err(e),
                    };
                    match verdict {
                        Ok(hash) => json!(hash),
                        Err(e) => serde_json::to_value(&e).unwrap_or_default(),
                    }
                })
                .collect::<Vec<serde_json::Value>>(),
        )
    })?;
    m.register_async_method("chunkseq_getTransactionStatus", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let hash: B256 = p
            .one()
            .map_err(|e| err(code::INVALID_PARAMS, e.to_string()))?;
        if let Some(r) = ctx
            .store
            .tx(&hash)
            .map_err(|e| err(code::INTERNAL, e.to_string()))?
        {
            return Ok::<_, ErrorObjectOwned>(Some(serde_json::to_value(r).unwrap_or_default()));
        }
        let status = ctx
            .query(move |c| c.tx_status(&hash).map(|s| (s, c.tx_status_detail(&hash))))
            .await?;
        Ok(status.map(|(s, detail): (TxStatus, _)| match detail {
            Some(d) => json!({ "status": s.name(), "detail": d }),
            None => json!({ "status": s.name() }),
        }))
    })?;
    m.register_async_method("chunkseq_getBlock", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let number = number_of(&ctx, tag_param(&p, 0)?).await?;
        ctx.store
            .block(number)
            .map_err(|e| err(code::INTERNAL, e.to_string()))
    })?;
    m.register_async_method("chunkseq_getBalance", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let who = address_param(&p)?;
        let tag = tag_param(&p, 1)?;
        account(&ctx, who, tag).await.map(|(_, b)| b)
    })?;
    m.register_alias("eth_getBalance", "chunkseq_getBalance")?;
    m.register_async_method("chunkseq_getNonce", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let who = address_param(&p)?;
        let tag = tag_param(&p, 1)?;
        account(&ctx, who, tag).await.map(|(n, _)| n)
    })?;
    m.register_method("eth_chainId", |_, ctx, _| format!("{:#x}", ctx.chain_id))?;
    crate::rpc_fees::register(&mut m)?;
    crate::rpc_eth::register(&mut m)?;
    crate::rpc_blocks::register(&mut m)?;
    crate::rpc_state::register(&mut m)?;
    crate::rpc_pubsub::register(&mut m)?;
    m.register_method("chunkseq_health", |_, ctx, _| {
        if ctx.sync.lock().synced {
            "ok"
        } else {
            "syncing"
        }
    })?;
    m.register_async_method("chunkseq_status", |_, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let peers = ctx.net.peers();
        let synced = ctx.sync.lock().synced;
        let signing = ctx
            .health
            .unavailable()
            .map(|why| format!("unavailable: {why}"));
        ctx.query(move |c| {
            let now = crate::clock::Clock::now(&crate::clock::SystemClock);
            let slot = c.timetable().slot_at(now).map_or(0, |s| s.0);
            let duties = c.duties(slot);
            let me = c.me();
            let role = match (me, duties) {
                (Some(a), Some(d)) if d.proposer == a => "proposer",
                (Some(a), Some(d)) if d.is_member(&a) => "attester",
                _ => "follower",
            };
            let tips = c.tips();
            NodeStatus {
                slot,
                epoch: slot / u64::from(c.spec().epoch_slots.max(1)),
                validator: me,
                role: role.into(),
                proposer: duties.map(|d| d.proposer),
                committee: duties.map(|d| d.committee.clone()).unwrap_or_default(),
                provisional: (tips.provisional.1, tips.provisional.0),
                checkpointed: (tips.checkpointed.1, tips.checkpointed.0),
                finalized: (tips.finalized.1, tips.finalized.0),
                peers,
                pool: c.pool().len(),
                base_fee: c.fee_quote().base_fee,
                data_price: c.fee_quote().data_price,
                synced,
                signing: me.map(|_| signing.unwrap_or_else(|| "ok".to_owned())),
            }
        })
        .await
    })?;
    m.register_subscription(
        "chunkseq_subscribe",
        "chunkseq_subscription",
        "chunkseq_unsubscribe",
        |p, pending, ctx, _| async move {
            let kind: String = match p.one() {
                Ok(k) => k,
                Err(e) => {
                    pending
                        .reject(err(code::INVALID_PARAMS, e.to_string()))
                        .await;
                    return Ok(());
                }
            };
            if !SUBSCRIPTIONS.contains(&kind.as_str()) {
                pending
                    .reject(err(
                        code::INVALID_PARAMS,
                        format!(
                            "unknown subscription {kind:?}; one of {}",
                            SUBSCRIPTIONS.join(", ")
                        ),
                    ))
                    .await;
                return Ok(());
            }
            let mut rx = ctx.notify.subscribe_to(&kind);
            let sink = pending.accept().await?;
            loop {
                tokio::select! {
                    _ = sink.closed() => break,
                    n = rx.recv() => match n {
                        Ok(n) if n.subscription() == kind => {
                            let raw = serde_json::value::to_raw_value(&n)?;
                            if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                                break;
                            }
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                }
            }
            Ok::<(), jsonrpsee::core::SubscriptionError>(())
        },
    )?;
    Ok(m)
}

/// Why the RPC server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Binding or building the server failed.
    #[error("RPC server on {addr}: {reason}")]
    Start {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// Starts the server; `GET /health` is answered on the same port. Each
/// client (IP address) gets at most its share of connections and calls
/// ([`RpcLimits`]); a connection over its share is answered `429 Too Many
/// Requests` and closed.
pub(crate) async fn serve(
    addr: SocketAddr,
    ctx: RpcContext,
    limits: RpcLimits,
) -> Result<(ServerHandle, SocketAddr), RpcError> {
    let fail = |reason: String| RpcError::Start { addr, reason };
    let methods: Methods = module(ctx).map_err(|e| fail(e.to_string()))?.into();
    let health = ProxyGetRequestLayer::new([("/health", "chunkseq_health")])
        .map_err(|e| fail(e.to_string()))?;
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(u32::try_from(limits.max_connections).unwrap_or(u32::MAX))
        .max_subscriptions_per_connection(limits.max_subscriptions_per_connection)
        .build();
    let builder = Server::builder()
        .set_config(config)
        .set_http_middleware(
            tower::ServiceBuilder::new()
                .layer(health)
                .layer(MarkPlainHttpLayer),
        )
        .to_service_builder();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let local = listener.local_addr().map_err(|e| fail(e.to_string()))?;
    let (stop, handle) = stop_channel();
    let table = ConnectionTable::new(limits);
    let buckets = RequestBuckets::new(limits.requests_per_second);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = stop.clone().shutdown() => break,
            };
            let (socket, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait, do not spin.
                    tracing::warn!(target: "chunkseq::rpc", "accepting a connection failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let ip = remote.ip();
            let guard = match table.try_open(ip) {
                Ok(g) => g,
                Err(why) => {
                    tracing::debug!(target: "chunkseq::rpc", %remote, "connection refused: {why}");
                    tokio::spawn(refuse(socket, why));
                    continue;
                }
            };
            let buckets = Arc::clone(&buckets);
            let service = builder
                .clone()
                .set_rpc_middleware(
                    RpcServiceBuilder::new()
                        .layer_fn(move |s| RateLimited::new(s, ip, Arc::clone(&buckets))),
                )
                .build(methods.clone(), stop.clone());
            let stopped = stop.clone().shutdown();
            tokio::spawn(async move {
                if let Err(e) = serve_with_graceful_shutdown(socket, service, stopped).await {
                    tracing::debug!(target: "chunkseq::rpc", %remote, "connection ended: {e}");
                }
                drop(guard);
            });
        }
    });
    Ok((handle, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_tags_parse() {
        let cases = [
            (json!("provisional"), Ok(BlockTag::Provisional)),
            (json!("latest"), Ok(BlockTag::Provisional)),
            (json!("pending"), Ok(BlockTag::Pending)),
            (json!("safe"), Ok(BlockTag::Checkpointed)),
            (json!("earliest"), Ok(BlockTag::Number(0))),
            (json!("checkpointed"), Ok(BlockTag::Checkpointed)),
            (json!("finalized"), Ok(BlockTag::Finalized)),
            (json!(7), Ok(BlockTag::Number(7))),
            (json!("0x10"), Ok(BlockTag::Number(16))),
            (json!("12"), Ok(BlockTag::Number(12))),
        ];
        for (v, want) in cases {
            assert_eq!(BlockTag::parse(&v), want, "{v}");
        }
        for bad in [json!("tip"), json!(-1), json!("0xzz"), json!([1])] {
            assert!(BlockTag::parse(&bad).is_err(), "{bad}");
        }
    }
}
