//! The core's thread: one OS thread owns the protocol core and feeds it from
//! a channel, so the core stays a plain state machine and never waits on the
//! network, the RPC or L1. It does I/O only: it carries out the core's
//! outputs (gossip, L1 calls and reads, sync requests, wake-ups), writes the
//! index the core's events describe ([`crate::index`]), notifies
//! subscribers, and times what the metrics measure. Every protocol decision,
//! catching up included, is the core's.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, Bytes, keccak256};
use chunkseq_execution::RecoveredTx;
use chunkseq_l1::RollupCall;
use chunkseq_primitives::UnixMillis;
use chunkseq_protocol::{
    Core, Event, Gossip, Input, Output, TxIn, TxOrigin, TxRefused,
    byzantine::{self, Behaviour},
    sync::{MAX_SYNC_CHECKPOINTS, SyncRequest, SyncResponse},
};
use libp2p::{PeerId, gossipsub::MessageAcceptance, gossipsub::MessageId, request_response};
use parking_lot::Mutex;
use tokio::sync::{mpsc as tmpsc, oneshot};

use crate::admission::{self, BacklogGate};
use tracing::{debug, info, warn};

use crate::{
    clock::Clock,
    events::{Notification, Notifier},
    index,
    metrics::NodeMetrics,
    network::{NetCommand, NetworkHandle},
    store::{Batch, NodeStore},
};

/// A query run on the core's thread with read access to the core.
pub type Query = Box<dyn FnOnce(&Core) + Send>;

/// What the core's thread is asked to do.
pub enum Command {
    /// Hand an input to the core (L1 events and reads, sync answers).
    Input(Input),
    /// The transactions of one gossip message from a peer; the message's
    /// verdict goes back to the network.
    GossipTxs {
        /// The transactions' bytes.
        txs: Vec<Bytes>,
        /// The message id.
        id: MessageId,
        /// Who forwarded it.
        from: PeerId,
    },
    /// A gossip message from a peer; its verdict goes back to the network.
    Gossip {
        /// The message.
        gossip: Gossip,
        /// Its id.
        id: MessageId,
        /// Who forwarded it.
        from: PeerId,
    },
    /// Users' transactions (recovered at the RPC); the answer says, for
    /// each in order, whether the pool took it.
    SubmitTxs {
        /// The transactions (the core gossips each one it admits).
        txs: Vec<RecoveredTx>,
        /// The core's verdicts, one per transaction.
        reply: oneshot::Sender<Vec<Result<B256, TxRefused>>>,
    },
    /// Read the core.
    Query(Query),
    /// A peer asks what it missed.
    SyncRequest {
        /// The request.
        request: SyncRequest,
        /// Where the answer goes.
        channel: request_response::ResponseChannel<SyncResponse>,
    },
    /// Stop the thread.
    Stop,
}

impl Command {
    /// What kind of command this is, for logs.
    fn name(&self) -> &'static str {
        match self {
            Self::Input(Input::Tick) => "tick",
            Self::Input(Input::L1(_)) => "l1",
            Self::Input(_) => "input",
            Self::Gossip { gossip, .. } => gossip.topic(),
            Self::GossipTxs { .. } => "txs",
            Self::SubmitTxs { .. } => "submit",
            Self::Query(_) => "query",
            Self::SyncRequest { .. } => "sync",
            Self::Stop => "stop",
        }
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Input(_) => "Input",
            Self::Gossip { .. } => "Gossip",
            Self::GossipTxs { .. } => "GossipTxs",
            Self::SubmitTxs { .. } => "SubmitTxs",
            Self::Query(_) => "Query",
            Self::SyncRequest { .. } => "SyncRequest",
            Self::Stop => "Stop",
        };
        f.write_str(name)
    }
}

/// Most transactions the core's thread hands to the core as one input (of
/// peers' gossip, or of users' submissions).
pub const MAX_COALESCED_TXS: usize = 256;

/// Longest time the transaction-status writes of consecutive core steps
/// wait to be committed together (they are also committed as soon as the
/// thread has nothing else to do, and with the next durable write).
pub const INDEX_FLUSH_MS: u64 = 20;

/// Most commands taken from the channel in one round of the core's thread.
const MAX_QUEUED: usize = 8_192;

/// Most transactions from peers' messages kept for one round. A core that
/// has fallen further behind drops the oldest messages beyond it (counted
/// as `inbound_backlog`, and ignored, not rejected, towards gossipsub):
/// their senders' nodes hold them too, and the queue must not grow
/// without bound.
const MAX_QUEUED_GOSSIP_TXS: usize = 16_384;

/// What the core's thread took from its channel and has not handled yet.
#[derive(Default)]
struct Queue {
    /// Protocol messages, L1 inputs, queries and sync requests, in order.
    other: VecDeque<Command>,
    /// Transactions from peers, by message (their bytes, the message id
    /// and sender).
    gossip_txs: VecDeque<(Vec<Bytes>, MessageId, PeerId)>,
    /// Users' transactions.
    submissions: VecDeque<Submission>,
    /// [`Command::Stop`] came: handle what was queued before it, then stop.
    stop: bool,
}

impl Queue {
    fn push(&mut self, c: Command) {
        match c {
            Command::Stop => self.stop = true,
            Command::Gossip {
                gossip: Gossip::Tx(raw),
                id,
                from,
            } => self.gossip_txs.push_back((vec![raw], id, from)),
            Command::GossipTxs { txs, id, from } => self.gossip_txs.push_back((txs, id, from)),
            Command::SubmitTxs { txs, reply } => self.submissions.push_back((txs, reply)),
            other => self.other.push_back(other),
        }
    }

    fn len(&self) -> usize {
        self.other.len() + self.gossip_txs.len() + self.submissions.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the oldest transaction messages while they hold more than
    /// `max` transactions; returns the dropped messages.
    fn shed_gossip_txs(&mut self, max: usize) -> Vec<(Vec<Bytes>, MessageId, PeerId)> {
        let mut held: usize = self.gossip_txs.iter().map(|m| m.0.len()).sum();
        let mut dropped = Vec::new();
        while held > max {
            let Some(m) = self.gossip_txs.pop_front() else {
                break;
            };
            held = held.saturating_sub(m.0.len());
            dropped.push(m);
        }
        dropped
    }
}

/// One [`Command::SubmitTxs`]: the transactions and where their verdicts go.
type Submission = (
    Vec<RecoveredTx>,
    oneshot::Sender<Vec<Result<B256, TxRefused>>>,
);

/// A group of [`Command::SubmitTxs`] handled as one core input.
type Submissions = Vec<Submission>;

/// What the L1 task is asked to do. Moved once per request, so the size
/// of a checkpoint call costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum L1Command {
    /// Read a slot's duties and pass them to the core.
    Duties(u64),
    /// Read L1's checkpoint tip and pass it to the core.
    Tip,
    /// Read the checkpoints after a slot from L1's logs and pass them to
    /// the core as [`Input::L1Checkpoints`].
    Checkpoints {
        /// Checkpoints of later slots.
        after_slot: u64,
        /// The L1 block to search from.
        from_block: u64,
    },
    /// Send a call.
    Submit {
        /// The call.
        call: RollupCall,
        /// When to give up.
        deadline: Option<UnixMillis>,
    },
}

/// Everything the core's thread needs besides the core.
pub(crate) struct CoreLoop {
    pub(crate) core: Core,
    pub(crate) net: NetworkHandle,
    pub(crate) l1: tmpsc::UnboundedSender<L1Command>,
    pub(crate) notify: Notifier,
    pub(crate) store: Arc<NodeStore>,
    pub(crate) metrics: Arc<NodeMetrics>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) status: Arc<Mutex<crate::node::SyncState>>,
    /// The backlog refusal the RPC gives before recovering senders.
    pub(crate) gate: Arc<BacklogGate>,
    /// When the gate was last refreshed.
    gate_refreshed: Option<Instant>,
    wake: Option<UnixMillis>,
    /// When each block this node builds was opened (build-time metric).
    opened: BTreeMap<(u64, u32), Instant>,
    /// When each proposal left (attestation round-trip metric).
    proposed_at: HashMap<B256, Instant>,
    /// When each user transaction arrived (latency metrics).
    submitted: HashMap<B256, Instant>,
    faults: crate::node::NodeFaults,
    /// The raw key a faulty node signs its extra messages with.
    fault_key: Option<chunkseq_primitives::LocalSigner>,
    /// Slots whose first proposal a faulty node already sent.
    first_proposals: byzantine::FirstProposals,
    /// Index writes not committed yet (transaction statuses only), and
    /// since when.
    index: Batch,
    index_since: Option<Instant>,
    /// Blocks whose transactions the index holds as provisional.
    indexed: index::Indexed,
    /// The chain view RPC reads use, refreshed after each round.
    views: Arc<crate::read_view::ReadViews>,
    /// Whether slashing protection lets the node sign (for metrics).
    health: Arc<chunkseq_signer::SigningHealth>,
}

impl CoreLoop {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: Core,
        net: NetworkHandle,
        l1: tmpsc::UnboundedSender<L1Command>,
        notify: Notifier,
        store: Arc<NodeStore>,
        metrics: Arc<NodeMetrics>,
        clock: Arc<dyn Clock>,
        status: Arc<Mutex<crate::node::SyncState>>,
        gate: Arc<BacklogGate>,
    ) -> Self {
        Self {
            core,
            net,
            l1,
            notify,
            store,
            metrics,
            clock,
            status,
            gate,
            gate_refreshed: None,
            wake: None,
            opened: BTreeMap::new(),
            proposed_at: HashMap::new(),
            submitted: HashMap::new(),
            faults: crate::node::NodeFaults::default(),
            fault_key: None,
            first_proposals: byzantine::FirstProposals::default(),
            index: Batch::default(),
            index_since: None,
            indexed: index::Indexed::default(),
            views: Arc::default(),
            health: Arc::default(),
        }
    }

    /// Reports slashing protection's state from `health` in the metrics.
    pub(crate) fn with_health(mut self, health: Arc<chunkseq_signer::SigningHealth>) -> Self {
        self.health = health;
        self
    }

    /// Publishes chain views to `views` (the RPC's).
    pub(crate) fn with_views(mut self, views: Arc<crate::read_view::ReadViews>) -> Self {
        views.refresh(&self.core);
        self.views = views;
        self
    }

    /// Publishes the core's backlog refusal for the RPC, at most every
    /// [`admission::REFRESH`].
    fn refresh_gate(&mut self) {
        let now = Instant::now();
        if self
            .gate_refreshed
            .is_some_and(|t| now.duration_since(t) < admission::REFRESH)
        {
            return;
        }
        self.gate_refreshed = Some(now);
        self.gate.set(self.core.backlog());
    }

    /// Injects `faults` (devnet and tests).
    pub(crate) fn with_faults(
        mut self,
        faults: crate::node::NodeFaults,
        key: Option<chunkseq_primitives::PrivateKey>,
    ) -> Self {
        self.fault_key = key.map(chunkseq_primitives::LocalSigner::new);
        self.faults = faults;
        self
    }

    /// Runs until [`Command::Stop`] or until every sender is gone.
    ///
    /// Each round takes everything queued. Protocol messages, L1 inputs and
    /// queries go first, in the order they came; then transactions, at
    /// most [`MAX_COALESCED_TXS`] of peers' gossip and as many of users'
    /// submissions, each kind as one core input. So a proposal or an
    /// attestation never waits behind a backlog of transactions, and the
    /// core's per-input work (the proposer filling its block, the
    /// wake-ups, the index write) runs once per batch, not once per
    /// transaction.
    pub(crate) fn run(mut self, rx: mpsc::Receiver<Command>) {
        // The core starts by catching up; its first tick asks what it needs.
        self.step(Input::Tick, None);
        let mut queue = Queue::default();
        while !queue.stop {
            if queue.is_empty() {
                match rx.try_recv() {
                    Ok(c) => queue.push(c),
                    Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) => {
                        // Nothing queued: commit what waits, then sleep.
                        self.flush_index();
                        let now = self.clock.now();
                        let wait = self
                            .wake
                            .map_or(250, |w| w.0.saturating_sub(now.0))
                            .clamp(1, 250);
                        match rx.recv_timeout(Duration::from_millis(wait)) {
                            Ok(c) => queue.push(c),
                            Err(mpsc::RecvTimeoutError::Timeout) => {}
                            Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }
            }
            while !queue.stop && queue.len() < MAX_QUEUED {
                match rx.try_recv() {
                    Ok(c) => queue.push(c),
                    Err(_) => break,
                }
            }
            let shed = queue.shed_gossip_txs(MAX_QUEUED_GOSSIP_TXS);
            if !shed.is_empty() {
                let txs: usize = shed.iter().map(|m| m.0.len()).sum();
                debug!(target: "chunkseq::node", messages = shed.len(), txs, "behind: dropping peers' oldest transaction messages");
                self.metrics.dropped(
                    "inbound_backlog",
                    u64::try_from(shed.len()).unwrap_or(u64::MAX),
                );
                for (_, id, from) in shed {
                    self.net.send(NetCommand::Validate {
                        id,
                        from,
                        acceptance: MessageAcceptance::Ignore,
                    });
                }
            }
            let round = Instant::now();
            let (others, gossip, submitted) = (
                queue.other.len(),
                queue.gossip_txs.len(),
                queue.submissions.len(),
            );
            let mut slowest = ("", Duration::ZERO);
            while let Some(c) = queue.other.pop_front() {
                let what = c.name();
                let started = Instant::now();
                self.command(c);
                self.tick_if_due();
                let took = started.elapsed();
                if took > slowest.1 {
                    slowest = (what, took);
                }
            }
            let after_others = round.elapsed();
            if !queue.gossip_txs.is_empty() {
                let mut batch = Vec::new();
                let mut count = 0usize;
                while count < MAX_COALESCED_TXS
                    && let Some(message) = queue.gossip_txs.pop_front()
                {
                    count = count.saturating_add(message.0.len());
                    batch.push(message);
                }
                self.gossip_txs(batch);
            }
            let after_gossip = round.elapsed();
            if !queue.submissions.is_empty() {
                let mut group: Submissions = Vec::new();
                let mut count = 0usize;
                while count < MAX_COALESCED_TXS
                    && let Some((txs, reply)) = queue.submissions.pop_front()
                {
                    count = count.saturating_add(txs.len());
                    group.push((txs, reply));
                }
                self.submit(group);
            }
            self.tick_if_due();
            self.refresh_gate();
            let took = round.elapsed();
            if took >= Duration::from_millis(50) {
                debug!(
                    target: "chunkseq::timing",
                    ms = took.as_secs_f64() * 1e3,
                    others,
                    others_ms = after_others.as_secs_f64() * 1e3,
                    gossip,
                    gossip_ms = (after_gossip - after_others).as_secs_f64() * 1e3,
                    submitted,
                    slowest = slowest.0,
                    slowest_ms = slowest.1.as_secs_f64() * 1e3,
                    "slow round"
                );
            }
            if self
                .index_since
                .is_some_and(|t| t.elapsed() >= Duration::from_millis(INDEX_FLUSH_MS))
            {
                self.flush_index();
            }
        }
        self.flush_index();
        info!(target: "chunkseq::node", "core thread stopped");
    }

    /// Hands the core a tick if its wake-up time has come.
    fn tick_if_due(&mut self) {
        let now = self.clock.now();
        if self.wake.is_some_and(|w| w <= now) {
            self.wake = None;
            self.step(Input::Tick, None);
        }
    }

    /// Hands the transactions of peers' messages to the core as one input
    /// (a transaction whose hash comes twice goes in a later one) and
    /// reports each message's verdict to the network: rejected if any of
    /// its transactions is invalid whatever the state (as the core decides
    /// for a single transaction), accepted (forwarded) if the pool took
    /// any, ignored otherwise.
    fn gossip_txs(&mut self, messages: Vec<(Vec<Bytes>, MessageId, PeerId)>) {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Verdict {
            Admitted,
            Refused,
            Invalid,
        }
        let mut verdicts: Vec<Vec<Verdict>> = Vec::with_capacity(messages.len());
        let mut senders = Vec::with_capacity(messages.len());
        // (message, position, hash, bytes) still to hand to the core.
        let mut rest = Vec::new();
        for (m, (txs, id, from)) in messages.into_iter().enumerate() {
            verdicts.push(vec![Verdict::Refused; txs.len()]);
            senders.push((id, from));
            for (i, raw) in txs.into_iter().enumerate() {
                rest.push((m, i, TxIn::Raw(raw.clone()).hash(), raw));
            }
        }
        while !rest.is_empty() {
            let mut seen = HashSet::with_capacity(rest.len());
            let (input, later): (Vec<_>, Vec<_>) = rest
                .into_iter()
                .partition(|(_, _, hash, _)| hash.is_none_or(|h| seen.insert(h)));
            rest = later;
            let mut placed = Vec::with_capacity(input.len());
            let mut txs = Vec::with_capacity(input.len());
            for (m, i, hash, raw) in input {
                placed.push((m, i, hash));
                txs.push(TxIn::Raw(raw));
            }
            let outputs = self.core.handle(
                self.clock.now(),
                Input::Transactions {
                    txs,
                    origin: TxOrigin::Gossip,
                },
            );
            let _ = self.core.take_work();
            // Refused transactions, and whether each is invalid.
            let refused: HashMap<B256, bool> = outputs
                .iter()
                .filter_map(|o| match o {
                    Output::Event(Event::TransactionRefused {
                        hash: Some(hash),
                        origin: TxOrigin::Gossip,
                        reason,
                    }) => Some((
                        *hash,
                        matches!(reason, TxRefused::Pool(e) if e.is_invalid()),
                    )),
                    _ => None,
                })
                .collect();
            for (m, i, hash) in placed {
                let verdict = match hash.map(|h| refused.get(&h)) {
                    Some(None) => Verdict::Admitted,
                    Some(Some(false)) => Verdict::Refused,
                    // Invalid; or over the size bound, never admitted (the
                    // network task refuses such messages before this).
                    Some(Some(true)) | None => Verdict::Invalid,
                };
                if let Some(v) = verdicts.get_mut(m).and_then(|v| v.get_mut(i)) {
                    *v = verdict;
                }
            }
            self.outputs(outputs);
        }
        for ((id, from), v) in senders.into_iter().zip(verdicts) {
            let acceptance = if v.contains(&Verdict::Invalid) {
                MessageAcceptance::Reject
            } else if v.contains(&Verdict::Admitted) {
                MessageAcceptance::Accept
            } else {
                MessageAcceptance::Ignore
            };
            self.net.send(NetCommand::Validate {
                id,
                from,
                acceptance,
            });
        }
    }

    /// Hands users' transactions to the core and answers each submitter
    /// with a verdict per transaction. A transaction that appears twice in
    /// the group goes in a later input, so each refusal names one
    /// transaction of its input.
    fn submit(&mut self, group: Submissions) {
        let mut verdicts: Vec<Vec<Option<Result<B256, TxRefused>>>> =
            group.iter().map(|(txs, _)| vec![None; txs.len()]).collect();
        // (submission, position, transaction) still to hand to the core.
        let mut rest: Vec<(usize, usize, RecoveredTx)> = Vec::new();
        let mut replies = Vec::with_capacity(group.len());
        for (s, (txs, reply)) in group.into_iter().enumerate() {
            replies.push(reply);
            rest.extend(txs.into_iter().enumerate().map(|(i, tx)| (s, i, tx)));
        }
        while !rest.is_empty() {
            let mut seen = HashSet::with_capacity(rest.len());
            let (input, later): (Vec<_>, Vec<_>) = rest
                .into_iter()
                .partition(|(_, _, tx)| seen.insert(tx.hash()));
            rest = later;
            let placed: Vec<(usize, usize, B256)> =
                input.iter().map(|(s, i, tx)| (*s, *i, tx.hash())).collect();
            let outputs = self.core.handle(
                self.clock.now(),
                Input::Transactions {
                    txs: input
                        .into_iter()
                        .map(|(_, _, tx)| TxIn::Recovered(tx))
                        .collect(),
                    origin: TxOrigin::Rpc,
                },
            );
            let mut refused: HashMap<B256, TxRefused> = outputs
                .iter()
                .filter_map(|o| match o {
                    Output::Event(Event::TransactionRefused {
                        hash: Some(hash),
                        reason,
                        ..
                    }) => Some((*hash, reason.clone())),
                    _ => None,
                })
                .collect();
            let now = Instant::now();
            for (s, i, hash) in placed {
                let verdict = match refused.remove(&hash) {
                    Some(reason) => Err(reason),
                    None => {
                        self.submitted.insert(hash, now);
                        Ok(hash)
                    }
                };
                if let Some(v) = verdicts.get_mut(s).and_then(|v| v.get_mut(i)) {
                    *v = Some(verdict);
                }
            }
            self.outputs(outputs);
        }
        for (reply, v) in replies.into_iter().zip(verdicts) {
            let _ = reply.send(
                v.into_iter()
                    .map(|r| {
                        r.unwrap_or_else(|| Err(TxRefused::StateUnavailable("no verdict".into())))
                    })
                    .collect(),
            );
        }
    }

    /// Commits the index writes that wait.
    fn flush_index(&mut self) {
        self.index_since = None;
        let batch = std::mem::take(&mut self.index);
        let (durable, started) = (batch.is_durable(), Instant::now());
        if let Err(e) = self.store.write(batch) {
            warn!(target: "chunkseq::node", error = %e, "node store write failed");
        }
        let took = started.elapsed();
        if took >= Duration::from_millis(20) {
            debug!(target: "chunkseq::timing", ms = took.as_secs_f64() * 1e3, durable, "slow index write");
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Input(i) => self.step(i, None),
            Command::Gossip { gossip, id, from } => {
                self.step(Input::Gossip(gossip), Some((id, from)));
            }
            Command::GossipTxs { txs, id, from } => self.gossip_txs(vec![(txs, id, from)]),
            Command::SubmitTxs { txs, reply } => {
                self.submit(vec![(txs, reply)]);
            }
            Command::Query(q) => q(&self.core),
            Command::SyncRequest { request, channel } => {
                let checkpoints = self
                    .store
                    .checkpoints_after(request.after_slot, MAX_SYNC_CHECKPOINTS)
                    .unwrap_or_else(|e| {
                        warn!(target: "chunkseq::sync", error = %e, "cannot read checkpoints");
                        Vec::new()
                    });
                let response = self.core.sync_answer(checkpoints);
                self.net.send(NetCommand::Respond { channel, response });
            }
            Command::Stop => {}
        }
    }

    /// Hands one input to the core and carries out what it asks; a gossip
    /// message's verdict goes back to the network.
    fn step(&mut self, input: Input, origin: Option<(MessageId, PeerId)>) {
        let now = self.clock.now();
        let is_proposal = matches!(input, Input::Gossip(Gossip::Proposal(_)));
        let started = Instant::now();
        let outputs = self.core.handle(now, input);
        let _ = self.core.take_work();
        if is_proposal {
            let took = started.elapsed();
            self.metrics.reexecution.observe(took.as_secs_f64());
            debug!(target: "chunkseq::timing", ms = took.as_secs_f64() * 1e3, "proposal handled");
        }
        if let Some((id, from)) = origin {
            let acceptance = if outputs.iter().any(|o| matches!(o, Output::Rejected { .. })) {
                MessageAcceptance::Reject
            } else if outputs.iter().any(|o| matches!(o, Output::Ignored { .. })) {
                MessageAcceptance::Ignore
            } else {
                MessageAcceptance::Accept
            };
            self.net.send(NetCommand::Validate {
                id,
                from,
                acceptance,
            });
        }
        self.outputs(outputs);
    }

    /// What a faulty node gossips instead of `g` (the honest node: `g`).
    fn misbehave_gossip(&mut self, g: Gossip) -> Vec<Gossip> {
        let Some(slot) = g.slot() else {
            return vec![g];
        };
        let (Some(behaviour), Some(key)) = (
            byzantine::active(&self.faults.misbehaviours, slot, |b| {
                matches!(
                    b,
                    Behaviour::EquivocatingProposer
                        | Behaviour::SilentProposer
                        | Behaviour::DoubleAttester
                        | Behaviour::BadStateRoot
                )
            }),
            &self.fault_key,
        ) else {
            return vec![g];
        };
        let first_of_slot = self.first_proposals.first_of_slot(&g);
        warn!(target: "chunkseq::node", slot, ?behaviour, "fault injection");
        let domain = self.core.spec().eip712_domain();
        byzantine::gossip(behaviour, key, &domain, g, first_of_slot)
            .into_iter()
            .map(|s| s.gossip)
            .collect()
    }

    /// What a faulty node submits to L1 instead of `call` (`None`: nothing).
    fn misbehave_call(&mut self, call: RollupCall) -> Option<RollupCall> {
        let Some(slot) = byzantine::checkpoint_slot(&call) else {
            return Some(call);
        };
        // A fault of the slot's proposer: other nodes' rescues go out.
        if matches!(call, RollupCall::RescueCheckpoint { .. })
            && self.core.duties(slot).map(|d| d.proposer) != self.core.me()
        {
            return Some(call);
        }
        let Some(behaviour) = byzantine::active(&self.faults.misbehaviours, slot, |b| {
            matches!(b, Behaviour::NeverPublishes | Behaviour::SubsetCheckpoint)
        }) else {
            return Some(call);
        };
        warn!(target: "chunkseq::node", slot, ?behaviour, "fault injection: this slot's checkpoint");
        let Some(key) = self.fault_key.clone() else {
            return Some(call);
        };
        let tip = self.core.chain().checkpointed().header_hash;
        let domain = self.core.spec().eip712_domain();
        let chain = self.core.chain();
        byzantine::l1_call(behaviour, &key, &domain, call, tip, |hash| {
            chain.attestations_of(hash)
        })
    }

    fn outputs(&mut self, outputs: Vec<Output>) {
        let mut batch = Batch::default();
        let mut notes = Vec::new();
        for o in outputs {
            match o {
                Output::Publish(g) => {
                    for g in self.misbehave_gossip(g) {
                        self.net.send(NetCommand::Publish(g));
                    }
                }
                Output::SubmitL1 { call, deadline } => {
                    if let Some(call) = self.misbehave_call(call) {
                        let _ = self.l1.send(L1Command::Submit { call, deadline });
                    }
                }
                Output::WakeAt(t) => self.wake = Some(t),
                Output::FetchDuties(slot) => {
                    let _ = self.l1.send(L1Command::Duties(slot));
                }
                Output::FetchL1Tip => {
                    let _ = self.l1.send(L1Command::Tip);
                }
                Output::FetchCheckpoints {
                    after_slot,
                    from_l1_block,
                } => {
                    let _ = self.l1.send(L1Command::Checkpoints {
                        after_slot,
                        from_block: from_l1_block,
                    });
                }
                Output::RequestSync(request) => {
                    self.net.send(NetCommand::Sync {
                        peer: None,
                        request,
                    });
                }
                Output::Event(e) => self.event(e, &mut batch, &mut notes),
                Output::Rejected { topic, reason } => {
                    self.metrics.gossip_rejected.inc();
                    debug!(target: "chunkseq::node", topic, %reason, "rejected gossip");
                }
                Output::Ignored { topic, reason } => {
                    debug!(target: "chunkseq::node", topic, %reason, "gossip not forwarded");
                }
            }
        }
        self.metrics
            .pool_size
            .set(i64::try_from(self.core.pool().len()).unwrap_or(i64::MAX));
        let tips = self.core.tips();
        self.metrics
            .provisional_height
            .set(i64::try_from(tips.provisional.1).unwrap_or(i64::MAX));
        self.metrics
            .checkpointed_height
            .set(i64::try_from(tips.checkpointed.1).unwrap_or(i64::MAX));
        if !batch.is_empty() {
            let durable = batch.is_durable();
            self.index.append(batch);
            if durable {
                // Blocks, checkpoints and evidence are committed at once.
                self.flush_index();
            } else if self.index_since.is_none() {
                self.index_since = Some(Instant::now());
            }
        }
        // Subscribers hear of a block once the index holds it and the
        // read view shows it, so what they read back is there.
        self.views.refresh(&self.core);
        self.metrics
            .signing_unavailable
            .set(i64::from(self.health.unavailable().is_some()));
        self.metrics
            .signing_refused
            .set(i64::try_from(self.health.refused()).unwrap_or(i64::MAX));
        for n in notes {
            self.notify.send(n);
        }
    }

    /// One core event: the index, the subscribers (`notes`, sent after the
    /// index write), and the metrics.
    fn event(&mut self, e: Event, batch: &mut Batch, notes: &mut Vec<Notification>) {
        index::record(&e, batch, &mut self.indexed);
        self.measure(&e);
        match e {
            // Synced means level with L1; a node that gave up waiting
            // takes part but is not synced until L1's tip says so.
            Event::CaughtUp { level, .. } => self.status.lock().synced = level,
            Event::FellBehind { .. } => self.status.lock().synced = false,
            _ => {}
        }
        if let Event::SigningRefused { what, reason } = &e {
            warn!(target: "chunkseq::node", what, %reason, "signing refused");
        }
        if let Some(n) = Notification::from_event(&e) {
            notes.push(n);
        }
    }

    /// The metrics an event moves, timed by this node's clock.
    fn measure(&mut self, e: &Event) {
        match e {
            Event::TransactionRefused { reason, .. } => {
                self.metrics
                    .tx_refused
                    .get_or_create(&vec![(
                        "reason".to_owned(),
                        chunkseq_report::refusal_reason(reason).to_owned(),
                    )])
                    .inc();
            }
            Event::BlockOpened { slot, index, .. } => {
                self.opened.insert((*slot, *index), Instant::now());
            }
            Event::BlockBuilt {
                slot,
                index,
                txs,
                gas_used,
                ..
            } => {
                if let Some(t) = self.opened.remove(&(*slot, *index)) {
                    self.metrics
                        .build_duration
                        .observe(t.elapsed().as_secs_f64());
                }
                debug!(target: "chunkseq::timing", slot, index, txs, "block built");
                self.opened.retain(|(s, _), _| s >= slot);
                self.metrics.block_txs.observe(*txs as f64);
                self.metrics.block_gas.observe(*gas_used as f64);
            }
            Event::ProposalSent { hash, .. } => {
                debug!(target: "chunkseq::timing", "proposal sent");
                self.proposed_at.insert(*hash, Instant::now());
            }
            Event::ProvisionalAccepted { hash, block, .. } => {
                self.metrics.provisional_blocks.inc();
                if let Some(t) = self.proposed_at.remove(hash) {
                    let took = t.elapsed();
                    self.metrics
                        .attestation_round_trip
                        .observe(took.as_secs_f64());
                    debug!(target: "chunkseq::timing", slot = block.header.slot, index = block.header.index, ms = took.as_secs_f64() * 1e3, "attestation round trip");
                }
                for h in &block.txs {
                    if let Some(t) = self.submitted.get(h) {
                        self.metrics
                            .provisional_latency
                            .observe(t.elapsed().as_secs_f64());
                    }
                }
            }
            Event::CheckpointAccepted { blocks, .. } => {
                self.metrics.checkpoints.inc();
                for h in blocks.iter().flat_map(|b| &b.txs) {
                    if let Some(t) = self.submitted.remove(h) {
                        self.metrics
                            .checkpoint_latency
                            .observe(t.elapsed().as_secs_f64());
                    }
                }
            }
            Event::Reorg {
                cause,
                slots,
                dropped,
                ..
            } => {
                self.metrics.reorgs.inc();
                warn!(target: "chunkseq::node", cause = cause.name(), ?slots, blocks = dropped.len(), "reorg");
            }
            Event::EvidenceFound { .. } => {
                self.metrics.evidence.inc();
            }
            Event::HaFailover { .. } => {
                self.metrics.ha_failovers.inc();
            }
            _ => {}
        }
    }
}

/// The hash of a raw transaction (its EIP-2718 bytes).
pub fn tx_hash(raw: &[u8]) -> B256 {
    keccak256(raw)
}
