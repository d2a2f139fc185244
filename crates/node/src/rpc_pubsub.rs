//! Ethereum's push and poll methods: `eth_subscribe` (`newHeads`, `logs`,
//! `newPendingTransactions`) over websocket, and the filters polled with
//! `eth_getFilterChanges`.
//!
//! Both follow the provisional chain, so they show reorgs as Ethereum nodes
//! do: `newHeads` sends the new tip after a reorg, and a `logs`
//! subscription sends the logs of retracted blocks again with `removed:
//! true` (it remembers what it sent for blocks not yet checkpointed, at
//! most [`REMEMBERED_LOGS`] logs). A subscriber that falls so far behind
//! that notifications were lost is closed, so it subscribes again rather
//! than miss a retraction. A block or log filter remembers the blocks it
//! reported last ([`FILTER_HISTORY`]); after a reorg its next poll starts
//! again at the fork point. A filter that is not polled for [`FILTER_TTL`]
//! is removed; at most [`MAX_FILTERS`] exist at once.

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
    rpc_blocks::{MAX_LOG_BLOCKS, block_header, block_logs, logs, matching_logs, scan},
    store::NodeStore,
};

/// Logs a `logs` subscription remembers, to retract them.
pub const REMEMBERED_LOGS: usize = 10_000;
/// Blocks a filter remembers having reported, to find a reorg's fork point.
pub const FILTER_HISTORY: usize = 64;
/// A filter not polled for this long is removed (geth's default).
pub const FILTER_TTL: Duration = Duration::from_secs(300);
/// Filters installed at once, over all clients.
pub const MAX_FILTERS: usize = 1_024;
/// Pending transaction hashes a filter keeps between polls.
pub const MAX_PENDING_PER_FILTER: usize = 1_024;

/// The subscription kinds `eth_subscribe` takes.
pub const ETH_SUBSCRIPTIONS: [&str; 3] = ["newHeads", "logs", "newPendingTransactions"];

/// What a filter follows.
#[derive(Debug)]
enum Watch {
    /// New blocks, from `next` on.
    Blocks { next: u64, reported: Reported },
    /// Logs matching `filter` in blocks from `next` on.
    Logs {
        filter: Box<Filter>,
        next: u64,
        reported: Reported,
    },
    /// Transactions entering the pool, gathered by a task.
    Pending {
        hashes: Arc<Mutex<VecDeque<B256>>>,
        task: tokio::task::AbortHandle,
    },
}

/// The last blocks a filter reported, oldest first: (number, hash).
type Reported = VecDeque<(u64, B256)>;

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
        sweep(&mut map, now);
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

/// Removes the filters not polled for [`FILTER_TTL`], stopping their tasks.
fn sweep(map: &mut HashMap<u64, Installed>, now: Instant) {
    map.retain(|_, f| {
        let keep = now.duration_since(f.polled) < FILTER_TTL;
        if !keep && let Watch::Pending { task, .. } = &f.watch {
            task.abort();
        }
        keep
    });
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

/// Where a block or log filter's poll starts: `next`, or, when a block it
/// reported is no longer on the chain, just above the newest one that
/// still is (the fork point).
fn poll_start(store: &NodeStore, next: u64, reported: &Reported) -> u64 {
    let on_chain =
        |(n, h): &(u64, B256)| store.block(*n).ok().flatten().is_some_and(|b| b.hash == *h);
    match reported.back() {
        None => next,
        Some(last) if on_chain(last) => next,
        Some(_) => reported
            .iter()
            .rev()
            .find(|r| on_chain(r))
            .map_or_else(
                || reported.front().map_or(next, |(n, _)| *n),
                |(n, _)| n.saturating_add(1),
            )
            .min(next),
    }
}

/// The blocks `from..=to` the index holds, as (number, hash).
fn blocks_in(store: &NodeStore, from: u64, to: u64) -> Vec<(u64, B256)> {
    (from..=to)
        .filter_map(|n| store.block(n).ok().flatten().map(|b| (n, b.hash)))
        .collect()
}

/// Remembers `seen` as reported, keeping the last [`FILTER_HISTORY`].
fn remember(reported: &mut Reported, seen: &[(u64, B256)]) {
    if let Some((first, _)) = seen.first() {
        reported.retain(|(n, _)| n < first);
    }
    reported.extend(seen.iter().copied());
    while reported.len() > FILTER_HISTORY {
        reported.pop_front();
    }
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
            && !send(&sink, &block_header(&block)).await
        {
            return;
        }
    }
}

/// Follows `logs` matching `filter` until the subscriber leaves.
async fn log_stream(ctx: Arc<RpcContext>, sink: SubscriptionSink, filter: Filter) {
    let mut rx = ctx.notify.subscribe();
    // What was sent for blocks not checkpointed yet: (hash, number, logs).
    let mut sent: VecDeque<(B256, u64, Vec<Log>)> = VecDeque::new();
    let mut remembered = 0usize;
    loop {
        let n = tokio::select! {
            () = sink.closed() => return,
            n = rx.recv() => n,
        };
        match n {
            Ok(Notification::Provisional { block, .. }) => {
                if block.transactions.is_empty() || !filter.matches_bloom(block.logs_bloom) {
                    continue;
                }
                // The body of this very block, not of one that replaced it
                // at its height meanwhile.
                let Ok(Some((stored, Some(body)))) = ctx.store.block_by_hash_with_body(&block.hash)
                else {
                    continue;
                };
                let found = block_logs(&stored, &body, &filter);
                for log in &found {
                    if !send(&sink, log).await {
                        return;
                    }
                }
                remembered = remembered.saturating_add(found.len());
                sent.push_back((block.hash, block.number, found));
                while remembered > REMEMBERED_LOGS {
                    let Some((_, _, old)) = sent.pop_front() else {
                        break;
                    };
                    remembered = remembered.saturating_sub(old.len());
                }
            }
            // A checkpointed block is never retracted.
            Ok(Notification::Checkpoint { last_number, .. }) => {
                while sent.front().is_some_and(|(_, n, _)| *n <= last_number) {
                    if let Some((_, _, old)) = sent.pop_front() {
                        remembered = remembered.saturating_sub(old.len());
                    }
                }
            }
            Ok(Notification::Reorg {
                retracted_blocks, ..
            }) => {
                // Newest first, as the chain unwinds.
                for hash in retracted_blocks.iter().rev() {
                    let Some(at) = sent.iter().position(|(h, ..)| h == hash) else {
                        continue;
                    };
                    let Some((_, _, logs)) = sent.remove(at) else {
                        continue;
                    };
                    remembered = remembered.saturating_sub(logs.len());
                    for mut log in logs.into_iter().rev() {
                        log.removed = true;
                        if !send(&sink, &log).await {
                            return;
                        }
                    }
                }
            }
            Ok(_) => {}
            // Lost notifications may have held a retraction: end the
            // subscription so the client subscribes again.
            Err(RecvError::Lagged(_) | RecvError::Closed) => return,
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
        ctx.filters.install(Watch::Blocks {
            next: tip.saturating_add(1),
            reported: Reported::new(),
        })
    })?;
    m.register_async_method("eth_newFilter", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let filter: Filter = p
            .one()
            .map_err(|e| err(code::INVALID_PARAMS, format!("bad filter: {e}")))?;
        if filter.get_block_hash().is_some() {
            return Err(err(
                code::INVALID_PARAMS,
                "a filter follows new blocks; for one block's logs call eth_getLogs with blockHash",
            ));
        }
        let next = match filter.get_from_block() {
            Some(n) => n,
            None => number_of(&ctx, BlockTag::Provisional)
                .await?
                .saturating_add(1),
        };
        ctx.filters.install(Watch::Logs {
            filter: Box::new(filter),
            next,
            reported: Reported::new(),
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
        // Where the filter stands; it moves on only once the answer is
        // ready, so a failed poll loses nothing.
        let (next, reported, filter) = {
            let mut map = ctx.filters.map.lock();
            sweep(&mut map, Instant::now());
            let f = map.get_mut(&id).ok_or_else(not_found)?;
            f.polled = Instant::now();
            match &mut f.watch {
                Watch::Pending { hashes, .. } => {
                    let taken: Vec<B256> = std::mem::take(&mut *hashes.lock()).into();
                    return serde_json::to_value(taken)
                        .map_err(|e| err(code::INTERNAL, e.to_string()));
                }
                Watch::Blocks { next, reported } => (*next, reported.clone(), None),
                Watch::Logs {
                    filter,
                    next,
                    reported,
                } => (*next, reported.clone(), Some(filter.clone())),
            }
        };
        let (answer, seen) = scan(&ctx, move |store| {
            let mut from = poll_start(store, next, &reported);
            let mut to = tip;
            if let Some(f) = &filter {
                from = from.max(f.get_from_block().unwrap_or(0));
                to = to.min(f.get_to_block().unwrap_or(u64::MAX));
            }
            // At most the last MAX_LOG_BLOCKS blocks of a long gap.
            let from = from.max(to.saturating_add(1).saturating_sub(MAX_LOG_BLOCKS));
            if to < from {
                return Ok((Value::Array(Vec::new()), Vec::new()));
            }
            let seen = blocks_in(store, from, to);
            let answer = match &filter {
                None => serde_json::to_value(seen.iter().map(|(_, h)| *h).collect::<Vec<_>>()),
                Some(f) => serde_json::to_value(matching_logs(store, f, from..=to)?),
            }
            .map_err(|e| err(code::INTERNAL, e.to_string()))?;
            Ok((answer, seen))
        })
        .await?;
        let mut map = ctx.filters.map.lock();
        let Some(f) = map.get_mut(&id) else {
            return Ok(answer);
        };
        let (Watch::Blocks {
            next: n, reported, ..
        }
        | Watch::Logs {
            next: n, reported, ..
        }) = &mut f.watch
        else {
            return Ok(answer);
        };
        if *n != next {
            // A poll of the same filter ran meanwhile and took these.
            return Ok(Value::Array(Vec::new()));
        }
        *n = tip.saturating_add(1).max(next);
        remember(reported, &seen);
        Ok(answer)
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
