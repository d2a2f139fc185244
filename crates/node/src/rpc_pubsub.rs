//! Ethereum's push and poll methods: `eth_subscribe` (`newHeads`, `logs`,
//! `newPendingTransactions`) over websocket, and the filters polled with
//! `eth_getFilterChanges`.
//!
//! Both follow the provisional chain, so they show reorgs as Ethereum nodes
//! do: `newHeads` sends the new tip after a reorg, and a `logs`
//! subscription sends the logs of retracted blocks again with `removed:
//! true` (it remembers what it sent for the last [`REMEMBERED_BLOCKS`]
//! blocks). A filter that is not polled for [`FILTER_TTL`] is removed;
//! at most [`MAX_FILTERS`] exist at once.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, Log};
use chunkseq_primitives::TxStatus;
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule, SubscriptionMessage, SubscriptionSink,
    types::ErrorObjectOwned,
};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    events::Notification,
    rpc::{BlockTag, RpcContext, code, err, number_of},
    rpc_blocks::{MAX_LOG_BLOCKS, block_header, block_logs, logs, matching_logs},
};

/// Blocks whose logs a `logs` subscription remembers, to retract them.
pub const REMEMBERED_BLOCKS: usize = 256;
/// A filter not polled for this long is removed (geth's default).
pub const FILTER_TTL: Duration = Duration::from_secs(300);
/// Filters installed at once, over all clients.
pub const MAX_FILTERS: usize = 1_024;
/// Pending transaction hashes a filter keeps between polls.
pub const MAX_PENDING_PER_FILTER: usize = 10_000;

/// The subscription kinds `eth_subscribe` takes.
pub const ETH_SUBSCRIPTIONS: [&str; 3] = ["newHeads", "logs", "newPendingTransactions"];

/// What a filter follows.
#[derive(Debug)]
enum Watch {
    /// New blocks, from `next` on.
    Blocks { next: u64 },
    /// Logs matching `filter` in blocks from `next` on.
    Logs { filter: Box<Filter>, next: u64 },
    /// Transactions entering the pool, gathered by a task.
    Pending {
        hashes: Arc<Mutex<VecDeque<B256>>>,
        task: tokio::task::AbortHandle,
    },
}

#[derive(Debug)]
struct Installed {
    watch: Watch,
    polled: Instant,
}

/// The installed filters.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    map: Mutex<HashMap<u64, Installed>>,
}

impl Filters {
    /// Installs `watch`; its id, or an error when there are too many.
    fn install(&self, watch: Watch) -> Result<String, ErrorObjectOwned> {
        let mut map = self.map.lock();
        let now = Instant::now();
        map.retain(|_, f| {
            let keep = now.duration_since(f.polled) < FILTER_TTL;
            if !keep && let Watch::Pending { task, .. } = &f.watch {
                task.abort();
            }
            keep
        });
        if map.len() >= MAX_FILTERS {
            if let Watch::Pending { task, .. } = &watch {
                task.abort();
            }
            return Err(err(
                code::RETRY,
                format!(
                    "{MAX_FILTERS} filters are installed; uninstall one or wait for unpolled ones to expire"
                ),
            ));
        }
        // Random ids: a client cannot guess, poll or remove another's.
        let mut id = rand::random::<u64>();
        while id == 0 || map.contains_key(&id) {
            id = rand::random::<u64>();
        }
        map.insert(id, Installed { watch, polled: now });
        Ok(format!("{id:#x}"))
    }

    fn remove(&self, id: u64) -> bool {
        match self.map.lock().remove(&id) {
            Some(f) => {
                if let Watch::Pending { task, .. } = &f.watch {
                    task.abort();
                }
                true
            }
            None => false,
        }
    }
}

fn filter_id(p: &jsonrpsee::types::Params<'_>) -> Result<u64, ErrorObjectOwned> {
    let s: String = p
        .one()
        .map_err(|e| err(code::INVALID_PARAMS, format!("expected a filter id: {e}")))?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|_| err(code::INVALID_PARAMS, format!("bad filter id {s:?}")))
}

fn not_found() -> ErrorObjectOwned {
    err(
        code::INVALID_PARAMS,
        "filter not found (uninstalled, or expired unpolled)",
    )
}

/// What a poll of filter `id` takes out of it.
enum Poll {
    Blocks { from: u64 },
    Logs { filter: Box<Filter>, from: u64 },
    Pending(Vec<B256>),
}

/// Sends `v` to the subscriber; false once it is gone.
async fn send(sink: &SubscriptionSink, v: &impl Serialize) -> bool {
    match serde_json::value::to_raw_value(v) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(_) => true,
    }
}

/// Follows `newHeads` until the subscriber leaves.
async fn new_heads(ctx: Arc<RpcContext>, sink: SubscriptionSink) {
    let mut rx = ctx.notify.subscribe();
    loop {
        let n = tokio::select! {
            () = sink.closed() => return,
            n = rx.recv() => n,
        };
        let block = match n {
            Ok(Notification::Provisional { block, .. }) => Some(*block),
            Ok(Notification::Reorg { new_tip, .. }) => {
                ctx.store.block_by_hash(&new_tip).ok().flatten()
            }
            Ok(_) | Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => return,
        };
        if let Some(block) = block
            && let Ok(header) = block_header(&ctx.store, &block)
            && !send(&sink, &header).await
        {
            return;
        }
    }
}

/// Follows `logs` matching `filter` until the subscriber leaves.
async fn log_stream(ctx: Arc<RpcContext>, sink: SubscriptionSink, filter: Filter) {
    let mut rx = ctx.notify.subscribe();
    let mut sent: VecDeque<(B256, Vec<Log>)> = VecDeque::new();
    loop {
        let n = tokio::select! {
            () = sink.closed() => return,
            n = rx.recv() => n,
        };
        match n {
            Ok(Notification::Provisional { block, .. }) => {
                let Ok(Some(body)) = ctx.store.body(block.number) else {
                    continue;
                };
                let found = block_logs(&block, &body, &filter);
                for log in &found {
                    if !send(&sink, log).await {
                        return;
                    }
                }
                sent.push_back((block.hash, found));
                if sent.len() > REMEMBERED_BLOCKS {
                    sent.pop_front();
                }
            }
            Ok(Notification::Reorg {
                retracted_blocks, ..
            }) => {
                // Newest first, as the chain unwinds.
                for hash in retracted_blocks.iter().rev() {
                    let Some(at) = sent.iter().position(|(h, _)| h == hash) else {
                        continue;
                    };
                    let Some((_, logs)) = sent.remove(at) else {
                        continue;
                    };
                    for mut log in logs.into_iter().rev() {
                        log.removed = true;
                        if !send(&sink, &log).await {
                            return;
                        }
                    }
                }
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

/// Follows transactions entering the pool until the subscriber leaves.
async fn pending_txs(ctx: Arc<RpcContext>, sink: SubscriptionSink) {
    let mut rx = ctx.notify.subscribe_txs();
    loop {
        let n = tokio::select! {
            () = sink.closed() => return,
            n = rx.recv() => n,
        };
        match n {
            Ok(Notification::Tx {
                hash,
                status: TxStatus::Pending,
                ..
            }) => {
                if !send(&sink, &hash).await {
                    return;
                }
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

/// Gathers pending transaction hashes for a filter, oldest dropped first.
async fn gather_pending(
    mut rx: broadcast::Receiver<Notification>,
    hashes: Arc<Mutex<VecDeque<B256>>>,
) {
    loop {
        match rx.recv().await {
            Ok(Notification::Tx {
                hash,
                status: TxStatus::Pending,
                ..
            }) => {
                let mut h = hashes.lock();
                h.push_back(hash);
                if h.len() > MAX_PENDING_PER_FILTER {
                    h.pop_front();
                }
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

async fn subscribe(
    p: jsonrpsee::types::Params<'static>,
    pending: PendingSubscriptionSink,
    ctx: Arc<RpcContext>,
) {
    let values: Vec<Value> = p.parse().unwrap_or_default();
    let kind = values
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match kind.as_str() {
        "newHeads" => {
            if let Ok(sink) = pending.accept().await {
                new_heads(ctx, sink).await;
            }
        }
        "logs" => {
            let filter = match values.get(1) {
                None | Some(Value::Null) => Ok(Filter::default()),
                Some(v) => serde_json::from_value::<Filter>(v.clone()),
            };
            match filter {
                Ok(f) => {
                    if let Ok(sink) = pending.accept().await {
                        log_stream(ctx, sink, f).await;
                    }
                }
                Err(e) => {
                    pending
                        .reject(err(code::INVALID_PARAMS, format!("bad logs filter: {e}")))
                        .await;
                }
            }
        }
        "newPendingTransactions" => {
            if let Ok(sink) = pending.accept().await {
                pending_txs(ctx, sink).await;
            }
        }
        other => {
            pending
                .reject(err(
                    code::INVALID_PARAMS,
                    format!(
                        "unknown subscription {other:?}; one of {}",
                        ETH_SUBSCRIPTIONS.join(", ")
                    ),
                ))
                .await;
        }
    }
}

/// Registers the methods on `m`.
pub(crate) fn register(
    m: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |p, pending, ctx, _| async move {
            subscribe(p.into_owned(), pending, ctx).await;
            Ok::<(), jsonrpsee::core::SubscriptionError>(())
        },
    )?;
    m.register_async_method("eth_newBlockFilter", |_, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let tip = number_of(&ctx, BlockTag::Provisional).await?;
        ctx.filters.install(Watch::Blocks { next: tip + 1 })
    })?;
    m.register_async_method("eth_newFilter", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let filter: Filter = p
            .one()
            .map_err(|e| err(code::INVALID_PARAMS, format!("bad filter: {e}")))?;
        let next = match filter.get_from_block() {
            Some(n) => n,
            None => number_of(&ctx, BlockTag::Provisional).await? + 1,
        };
        ctx.filters.install(Watch::Logs {
            filter: Box::new(filter),
            next,
        })
    })?;
    m.register_method("eth_newPendingTransactionFilter", |_, ctx, _| {
        ctx.metrics.rpc_requests.inc();
        let hashes = Arc::new(Mutex::new(VecDeque::new()));
        let task = tokio::spawn(gather_pending(
            ctx.notify.subscribe_txs(),
            Arc::clone(&hashes),
        ))
        .abort_handle();
        ctx.filters.install(Watch::Pending { hashes, task })
    })?;
    m.register_method("eth_uninstallFilter", |p, ctx, _| {
        filter_id(&p).map(|id| ctx.filters.remove(id))
    })?;
    m.register_async_method("eth_getFilterChanges", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let id = filter_id(&p)?;
        let tip = number_of(&ctx, BlockTag::Provisional).await?;
        // Take what the poll covers and move the filter on, under the lock.
        let poll = {
            let mut map = ctx.filters.map.lock();
            let f = map.get_mut(&id).ok_or_else(not_found)?;
            f.polled = Instant::now();
            match &mut f.watch {
                Watch::Blocks { next } => {
                    let from = (*next).max((tip + 1).saturating_sub(MAX_LOG_BLOCKS));
                    *next = tip + 1;
                    Poll::Blocks { from }
                }
                Watch::Logs { filter, next } => {
                    let from = (*next).max((tip + 1).saturating_sub(MAX_LOG_BLOCKS));
                    *next = tip + 1;
                    Poll::Logs {
                        filter: filter.clone(),
                        from,
                    }
                }
                Watch::Pending { hashes, .. } => {
                    Poll::Pending(std::mem::take(&mut *hashes.lock()).into())
                }
            }
        };
        let store = Arc::clone(&ctx.store);
        match poll {
            Poll::Pending(hashes) => serde_json::to_value(hashes),
            Poll::Blocks { from } => {
                let hashes: Vec<B256> = (from..=tip)
                    .filter_map(|n| store.block(n).ok().flatten().map(|b| b.hash))
                    .collect();
                serde_json::to_value(hashes)
            }
            Poll::Logs { filter, from } => {
                let to = filter.get_to_block().map_or(tip, |t| t.min(tip));
                let found = matching_logs(&store, &filter, (from..=to).map(|n| store.block(n)))?;
                serde_json::to_value(found)
            }
        }
        .map_err(|e| err(code::INTERNAL, e.to_string()))
    })?;
    m.register_async_method("eth_getFilterLogs", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let id = filter_id(&p)?;
        let filter = {
            let mut map = ctx.filters.map.lock();
            let f = map.get_mut(&id).ok_or_else(not_found)?;
            f.polled = Instant::now();
            match &f.watch {
                Watch::Logs { filter, .. } => filter.clone(),
                _ => return Err(err(code::INVALID_PARAMS, "not a log filter")),
            }
        };
        logs(&ctx, *filter).await
    })?;
    Ok(())
}
