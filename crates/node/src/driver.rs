//! The core's thread: one OS thread owns the protocol core and feeds it from
//! a channel, so the core stays a plain state machine and never waits on the
//! network, the RPC or L1. It does I/O only: it carries out the core's
//! outputs (gossip, L1 calls and reads, sync requests, wake-ups), writes the
//! index the core's events describe ([`crate::index`]), notifies
//! subscribers, and times what the metrics measure. Every protocol decision,
//! catching up included, is the core's.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, keccak256};
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
use tokio::sync::{broadcast, mpsc as tmpsc, oneshot};
use tracing::{debug, info, warn};

use crate::{
    clock::Clock,
    events::Notification,
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

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Input(_) => "Input",
            Self::Gossip { .. } => "Gossip",
            Self::SubmitTxs { .. } => "SubmitTxs",
            Self::Query(_) => "Query",
            Self::SyncRequest { .. } => "SyncRequest",
            Self::Stop => "Stop",
        };
        f.write_str(name)
    }
}

/// Most transactions of consecutive [`Command::SubmitTxs`] the core's thread
/// hands to the core as one input.
pub const MAX_COALESCED_TXS: usize = 2_048;

/// Longest time the transaction-status writes of consecutive core steps
/// wait to be committed together (they are also committed as soon as the
/// thread has nothing else to do, and with the next durable write).
pub const INDEX_FLUSH_MS: u64 = 20;

/// A group of [`Command::SubmitTxs`] handled as one core input.
type Submissions = Vec<(
    Vec<RecoveredTx>,
    oneshot::Sender<Vec<Result<B256, TxRefused>>>,
)>;

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
    pub(crate) notify: broadcast::Sender<Notification>,
    pub(crate) store: Arc<NodeStore>,
    pub(crate) metrics: Arc<NodeMetrics>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) status: Arc<Mutex<crate::node::SyncState>>,
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
}

impl CoreLoop {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: Core,
        net: NetworkHandle,
        l1: tmpsc::UnboundedSender<L1Command>,
        notify: broadcast::Sender<Notification>,
        store: Arc<NodeStore>,
        metrics: Arc<NodeMetrics>,
        clock: Arc<dyn Clock>,
        status: Arc<Mutex<crate::node::SyncState>>,
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
            wake: None,
            opened: BTreeMap::new(),
            proposed_at: HashMap::new(),
            submitted: HashMap::new(),
            faults: crate::node::NodeFaults::default(),
            fault_key: None,
            first_proposals: byzantine::FirstProposals::default(),
            index: Batch::default(),
            index_since: None,
        }
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
    pub(crate) fn run(mut self, rx: mpsc::Receiver<Command>) {
        // The core starts by catching up; its first tick asks what it needs.
        self.step(Input::Tick, None);
        // A command taken from the channel while coalescing submissions,
        // handled next.
        let mut next: Option<Command> = None;
        loop {
            let received = match next.take() {
                Some(c) => Ok(c),
                None => match rx.try_recv() {
                    Ok(c) => Ok(c),
                    Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) => {
                        // Nothing queued: commit what waits, then sleep.
                        self.flush_index();
                        let now = self.clock.now();
                        let wait = self
                            .wake
                            .map_or(250, |w| w.0.saturating_sub(now.0))
                            .clamp(1, 250);
                        rx.recv_timeout(Duration::from_millis(wait))
                    }
                },
            };
            match received {
                Ok(Command::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Command::SubmitTxs { txs, reply }) => {
                    // Users' transactions queued behind these join them:
                    // one core input, one pass of the proposer, one reply
                    // each.
                    let mut count = txs.len();
                    let mut group: Submissions = vec![(txs, reply)];
                    while count < MAX_COALESCED_TXS {
                        match rx.try_recv() {
                            Ok(Command::SubmitTxs { txs, reply }) => {
                                count = count.saturating_add(txs.len());
                                group.push((txs, reply));
                            }
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.submit(group);
                }
                Ok(c) => self.command(c),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let now = self.clock.now();
            if self.wake.is_some_and(|w| w <= now) {
                self.wake = None;
                self.step(Input::Tick, None);
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
        if let Err(e) = self.store.write(batch) {
            warn!(target: "chunkseq::node", error = %e, "node store write failed");
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Input(i) => self.step(i, None),
            Command::Gossip { gossip, id, from } => {
                self.step(Input::Gossip(gossip), Some((id, from)));
            }
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
                Output::Event(e) => self.event(e, &mut batch),
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
        if batch.is_empty() {
            return;
        }
        let durable = batch.is_durable();
        self.index.append(batch);
        if durable {
            // Blocks, checkpoints and evidence are committed at once.
            self.flush_index();
        } else if self.index_since.is_none() {
            self.index_since = Some(Instant::now());
        }
    }

    /// One core event: the index, the subscribers, and the metrics.
    fn event(&mut self, e: Event, batch: &mut Batch) {
        index::record(&e, batch);
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
            // No subscriber is fine.
            let _ = self.notify.send(n);
        }
    }

    /// The metrics an event moves, timed by this node's clock.
    fn measure(&mut self, e: &Event) {
        match e {
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
            _ => {}
        }
    }
}

/// The hash of a raw transaction (its EIP-2718 bytes).
pub fn tx_hash(raw: &[u8]) -> B256 {
    keccak256(raw)
}
