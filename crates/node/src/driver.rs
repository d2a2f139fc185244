//! The core's thread: one OS thread owns the protocol core and feeds it from
//! a channel, so the core stays a plain state machine and never waits on the
//! network, the RPC or L1. It carries out the core's outputs (gossip, L1
//! calls, wake-ups), keeps the node's index, and notifies subscribers.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, Bytes, keccak256};
use chunkseq_execution::RecoveredTx;
use chunkseq_l1::{L1Event, RollupCall, RollupTip};
use chunkseq_primitives::{
    ProposalMessage, ProvisionalBlockMessage, UnixMillis, WireCodec, crypto::SIGNATURE_LEN,
};
use chunkseq_protocol::{
    Core, Event, Gossip, Input, Output, TxIn, TxOrigin, TxStatus,
    byzantine::{self, Behaviour},
};
use libp2p::{PeerId, gossipsub::MessageAcceptance, gossipsub::MessageId, request_response};
use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc as tmpsc, oneshot};
use tracing::{debug, info, warn};

use crate::{
    clock::Clock,
    events::Notification,
    metrics::NodeMetrics,
    network::{NetCommand, NetworkHandle},
    store::{Batch, BlockRecord, NodeStore, TxRecord},
    sync::{self, CheckpointRecord, SyncRequest, SyncResponse},
};

/// A query run on the core's thread with read access to the core.
pub type Query = Box<dyn FnOnce(&Core) + Send>;

/// Why the node did not take a user's transaction.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The node is catching up and takes no transactions yet.
    #[error(
        "the node is still catching up with L1 and its peers; try another node or again shortly"
    )]
    Syncing,
    /// The core refused it.
    #[error(transparent)]
    Refused(chunkseq_protocol::TxRefused),
}

/// What the core's thread is asked to do.
pub enum Command {
    /// Hand an input to the core.
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
    /// A user's transaction (recovered at the RPC); the answer says whether
    /// the pool took it.
    SubmitTx {
        /// The transaction (the core gossips it when it admits it).
        tx: RecoveredTx,
        /// The pool's verdict.
        reply: oneshot::Sender<Result<B256, SubmitError>>,
    },
    /// Read the core.
    Query(Query),
    /// L1's current checkpoint tip (polled by the L1 task).
    L1Tip(RollupTip),
    /// A peer asks what it missed.
    SyncRequest {
        /// The request.
        request: SyncRequest,
        /// Where the answer goes.
        channel: request_response::ResponseChannel<SyncResponse>,
    },
    /// A peer answered our sync request.
    SyncResponse(SyncResponse),
    /// Checkpoints read from L1's logs for a syncing node.
    L1Checkpoints(Vec<L1Event>),
    /// Stop the thread.
    Stop,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Input(_) => "Input",
            Self::Gossip { .. } => "Gossip",
            Self::SubmitTx { .. } => "SubmitTx",
            Self::Query(_) => "Query",
            Self::L1Tip(_) => "L1Tip",
            Self::SyncRequest { .. } => "SyncRequest",
            Self::SyncResponse(_) => "SyncResponse",
            Self::L1Checkpoints(_) => "L1Checkpoints",
            Self::Stop => "Stop",
        };
        f.write_str(name)
    }
}

/// What the L1 task is asked to do. Moved once per request, so the size
/// of a checkpoint call costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum L1Command {
    /// Read a slot's duties and pass them to the core.
    Duties(u64),
    /// Read the checkpoints after a slot from L1's logs (catching up) and
    /// pass them back as [`Command::L1Checkpoints`].
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

/// Most proposals and provisional messages kept for peers that catch up.
const RECENT_KEEP: usize = 512;
/// How long a node waits for peers to serve what it missed before it takes
/// part anyway.
const SYNC_GIVE_UP: Duration = Duration::from_secs(20);
/// How often a syncing node asks again.
const SYNC_RETRY: Duration = Duration::from_millis(1_500);

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
    opened: BTreeMap<(u64, u32), Instant>,
    proposed_at: HashMap<B256, Instant>,
    submitted: HashMap<B256, Instant>,
    proposals: BTreeMap<B256, ProposalMessage>,
    provisionals: BTreeMap<(u64, u32), ProvisionalBlockMessage>,
    l1_tip: Option<RollupTip>,
    /// The L1 transaction of each recent checkpoint, by slot.
    l1_txs: BTreeMap<u64, B256>,
    syncing: Option<Instant>,
    last_sync_request: Option<Instant>,
    held_l1: Vec<L1Event>,
    faults: crate::node::NodeFaults,
    /// The raw key a faulty node signs its extra messages with.
    fault_key: Option<chunkseq_primitives::LocalSigner>,
    /// Slots in which a faulty node already equivocated (once per slot).
    equivocated: std::collections::BTreeSet<u64>,
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
            proposals: BTreeMap::new(),
            provisionals: BTreeMap::new(),
            l1_tip: None,
            l1_txs: BTreeMap::new(),
            syncing: Some(Instant::now()),
            last_sync_request: None,
            held_l1: Vec::new(),
            faults: crate::node::NodeFaults::default(),
            fault_key: None,
            equivocated: std::collections::BTreeSet::new(),
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
        loop {
            let now = self.clock.now();
            let wait = self
                .wake
                .map_or(250, |w| w.0.saturating_sub(now.0))
                .clamp(1, 250);
            match rx.recv_timeout(Duration::from_millis(wait)) {
                Ok(Command::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(c) => self.command(c),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if self.syncing.is_some() {
                self.sync_poll();
                continue;
            }
            let now = self.clock.now();
            if self.wake.is_some_and(|w| w <= now) {
                self.wake = None;
                self.step(Input::Tick, None);
            }
        }
        info!(target: "chunkseq::node", "core thread stopped");
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Input(Input::L1(e)) => self.l1_event(e),
            Command::Input(i) => {
                if self.syncing.is_none() {
                    self.step(i, None);
                }
            }
            Command::Gossip { gossip, id, from } => {
                if self.syncing.is_some() {
                    self.net.send(NetCommand::Validate {
                        id,
                        from,
                        acceptance: MessageAcceptance::Ignore,
                    });
                } else {
                    self.step(Input::Gossip(gossip), Some((id, from)));
                }
            }
            Command::SubmitTx { reply, .. } if self.syncing.is_some() => {
                let _ = reply.send(Err(SubmitError::Syncing));
            }
            Command::SubmitTx { tx, reply } => {
                let now = self.clock.now();
                let hash = tx.hash();
                let input = Input::Transactions {
                    txs: vec![TxIn::Recovered(tx)],
                    origin: TxOrigin::Rpc,
                };
                let outputs = self.core.handle(now, input);
                // The core gossips what it admits; it reports each refusal.
                // One transaction per input: any refusal is its refusal.
                let refusal = outputs.iter().find_map(|o| match o {
                    Output::Event(Event::TransactionRefused { reason, .. }) => Some(reason.clone()),
                    _ => None,
                });
                let result = match refusal {
                    Some(reason) => Err(SubmitError::Refused(reason)),
                    None => {
                        self.submitted.insert(hash, Instant::now());
                        Ok(hash)
                    }
                };
                let _ = reply.send(result);
                self.outputs(outputs);
            }
            Command::Query(q) => q(&self.core),
            Command::L1Tip(t) => self.l1_tip = Some(t),
            Command::SyncRequest { request, channel } => {
                let response = self.sync_response(&request);
                self.net.send(NetCommand::Respond { channel, response });
            }
            Command::SyncResponse(r) => self.apply_sync(r),
            Command::L1Checkpoints(events) => self.apply_l1_checkpoints(events),
            Command::Stop => {}
        }
    }

    fn l1_event(&mut self, e: L1Event) {
        if self.syncing.is_some() {
            self.held_l1.push(e);
            return;
        }
        if let L1Event::CheckpointAccepted { slot, .. } = &e {
            // Already applied through sync.
            let ours = self.core.chain().checkpointed();
            if *slot <= ours.slot && ours.header_hash != B256::ZERO {
                return;
            }
            if let Some(r) = CheckpointRecord::from_event(&e) {
                let mut b = Batch::default();
                b.checkpoint(r);
                self.write(b);
            }
        }
        self.apply_l1(e);
    }

    /// Hands an L1 event to the core; blocks a checkpoint brought that this
    /// node never saw as provisional get their records afterwards.
    fn apply_l1(&mut self, e: L1Event) {
        let blocks = match &e {
            L1Event::CheckpointAccepted {
                slot,
                headers,
                bodies,
                l1_block,
                l1_tx,
                ..
            } => {
                // The core's event names the L1 block; the records and
                // notifications name the L1 transaction too.
                self.l1_txs.insert(*slot, *l1_tx);
                while self.l1_txs.len() > RECENT_KEEP {
                    self.l1_txs.pop_first();
                }
                Some((headers.clone(), bodies.clone(), *l1_block, *l1_tx))
            }
            _ => None,
        };
        self.step(Input::L1(e), None);
        let Some((headers, bodies, l1_block, l1_tx)) = blocks else {
            return;
        };
        let mut batch = Batch::default();
        for (h, body) in headers.iter().zip(&bodies) {
            let hash = h.hash();
            if self
                .store
                .block(h.number)
                .ok()
                .flatten()
                .is_some_and(|b| b.hash == hash)
            {
                continue;
            }
            let Ok(txs) = chunkseq_primitives::body::decode_body(body) else {
                continue;
            };
            let hashes: Vec<B256> = txs.iter().map(keccak256).collect();
            for (i, t) in hashes.iter().enumerate() {
                batch.tx(
                    *t,
                    TxRecord {
                        status: TxStatus::Checkpointed,
                        block_number: Some(h.number),
                        block_hash: Some(hash),
                        slot: Some(h.slot),
                        index: u32::try_from(i).ok(),
                        attestations: None,
                        threshold: None,
                        l1_block: Some(l1_block),
                        l1_tx: Some(l1_tx),
                    },
                );
            }
            batch.block(BlockRecord {
                number: h.number,
                hash,
                parent_hash: h.parentHash,
                slot: h.slot,
                index: h.index,
                timestamp: h.timestamp,
                coinbase: h.coinbase,
                state_root: h.stateRoot,
                gas_used: h.gasUsed,
                transactions: hashes,
                attestations: 0,
                status: "checkpointed".into(),
            });
        }
        self.write(batch);
    }

    /// Whether this node still has to catch up before it takes part.
    fn behind(&self) -> Option<RollupTip> {
        let tip = self.l1_tip?;
        let ours = self.core.chain().checkpointed();
        (tip.has_checkpoint && tip.header_hash != ours.header_hash && tip.slot > ours.slot)
            .then_some(tip)
    }

    fn sync_poll(&mut self) {
        let Some(started) = self.syncing else {
            return;
        };
        if self.l1_tip.is_none() {
            if started.elapsed() > SYNC_GIVE_UP {
                warn!(target: "chunkseq::sync", "no answer from L1 about its checkpoint tip; starting anyway");
                self.finish_sync();
            }
            return;
        }
        if self.behind().is_none() {
            self.finish_sync();
            return;
        }
        if started.elapsed() > SYNC_GIVE_UP {
            warn!(target: "chunkseq::sync", "peers did not serve the missed checkpoints; starting behind L1");
            self.finish_sync();
            return;
        }
        if self
            .last_sync_request
            .is_none_or(|t| t.elapsed() > SYNC_RETRY)
        {
            self.last_sync_request = Some(Instant::now());
            let after_slot = self.core.chain().checkpointed().slot;
            debug!(target: "chunkseq::sync", after_slot, "asking peers and L1 for missed checkpoints");
            self.net.send(NetCommand::Sync {
                peer: None,
                request: SyncRequest { after_slot },
            });
            // L1's logs hold every checkpoint: they serve when no peer
            // does (an isolated node, or one further behind than a peer's
            // answer reaches).
            let from_block = self
                .store
                .last_checkpoint()
                .ok()
                .flatten()
                .filter(|r| r.slot <= after_slot)
                .map_or(0, |r| r.l1_block);
            let _ = self.l1.send(L1Command::Checkpoints {
                after_slot,
                from_block,
            });
        }
    }

    /// Applies checkpoints read from L1 itself: they need no proof that
    /// they end at L1's tip, only that they continue from this node's
    /// checkpoint, so a partial answer is progress.
    fn apply_l1_checkpoints(&mut self, events: Vec<L1Event>) {
        if self.behind().is_none() {
            return;
        }
        let ours = self.core.chain().checkpointed();
        let records: Vec<CheckpointRecord> = events
            .iter()
            .filter_map(CheckpointRecord::from_event)
            .filter(|r| r.slot > ours.slot)
            .collect();
        match sync::verify_continuation(ours.header_hash, &records) {
            Ok(events) if !events.is_empty() => {
                info!(target: "chunkseq::sync", checkpoints = events.len(), "applying checkpoints read from L1");
                self.apply_checkpoints(events);
            }
            Ok(_) => {}
            Err(e) => {
                warn!(target: "chunkseq::sync", error = %e, "checkpoints read from L1 do not continue this node's chain");
            }
        }
    }

    /// Records and applies verified checkpoints, oldest first.
    fn apply_checkpoints(&mut self, events: Vec<L1Event>) {
        for e in events {
            if let Some(rec) = CheckpointRecord::from_event(&e) {
                let mut b = Batch::default();
                b.checkpoint(rec);
                self.write(b);
            }
            self.apply_l1(e);
        }
    }

    fn finish_sync(&mut self) {
        self.syncing = None;
        let ours = self.core.chain().checkpointed();
        info!(target: "chunkseq::sync", slot = ours.slot, number = ours.last_number, "in sync; taking part");
        self.status.lock().synced = true;
        let held = std::mem::take(&mut self.held_l1);
        for e in held {
            self.l1_event(e);
        }
        // Provisional blocks above the checkpoint come from peers too.
        self.net.send(NetCommand::Sync {
            peer: None,
            request: SyncRequest {
                after_slot: ours.slot,
            },
        });
        self.step(Input::Tick, None);
    }

    fn apply_sync(&mut self, r: SyncResponse) {
        let ours = self.core.chain().checkpointed();
        if let Some(tip) = self.behind() {
            match sync::verify_chain(ours.header_hash, &r.checkpoints, tip.header_hash) {
                Ok(events) => {
                    info!(target: "chunkseq::sync", checkpoints = events.len(), "applying checkpoints served by a peer");
                    self.apply_checkpoints(events);
                }
                Err(e) => {
                    debug!(target: "chunkseq::sync", error = %e, "sync answer not usable");
                    return;
                }
            }
        }
        if self.syncing.is_some() {
            return;
        }
        // Provisional blocks the peer holds above the checkpoint: replay
        // them as gossip (each is checked as any gossip is).
        let mut n = 0usize;
        for p in r.proposals.iter().take(sync::MAX_SYNC_BLOCKS) {
            if let Ok(m) = ProposalMessage::decode_wire(p) {
                self.step(Input::Gossip(Gossip::Proposal(m)), None);
                n = n.saturating_add(1);
            }
        }
        for p in r.provisionals.iter().take(sync::MAX_SYNC_BLOCKS) {
            if let Ok(m) = ProvisionalBlockMessage::decode_wire(p) {
                self.step(Input::Gossip(Gossip::Provisional(m)), None);
            }
        }
        if n > 0 {
            debug!(target: "chunkseq::sync", blocks = n, "replayed provisional blocks from a peer");
        }
    }

    fn sync_response(&self, request: &SyncRequest) -> SyncResponse {
        let checkpoints = self
            .store
            .checkpoints_after(request.after_slot, sync::MAX_SYNC_CHECKPOINTS)
            .unwrap_or_else(|e| {
                warn!(target: "chunkseq::sync", error = %e, "cannot read checkpoints");
                Vec::new()
            });
        let mut proposals = Vec::new();
        let mut provisionals = Vec::new();
        for b in self
            .core
            .chain()
            .provisional()
            .iter()
            .take(sync::MAX_SYNC_BLOCKS)
        {
            let key = (b.header.slot, b.header.index);
            if let (Some(p), Some(v)) = (self.proposals.get(&b.hash), self.provisionals.get(&key)) {
                proposals.push(Bytes::from(p.encode_wire()));
                provisionals.push(Bytes::from(v.encode_wire()));
            }
        }
        SyncResponse {
            checkpoints,
            proposals,
            provisionals,
        }
    }

    fn remember(&mut self, g: &Gossip) {
        match g {
            Gossip::Proposal(m) => {
                self.proposals.insert(m.header.hash(), m.clone());
                if self.proposals.len() > RECENT_KEEP {
                    let min = self.core.chain().checkpointed().last_number;
                    self.proposals.retain(|_, p| p.header.number > min);
                }
            }
            Gossip::Provisional(m) => {
                self.provisionals
                    .insert((m.header.slot, m.header.index), m.clone());
                if self.provisionals.len() > RECENT_KEEP {
                    let min = self.core.chain().checkpointed().last_number;
                    self.provisionals.retain(|_, p| p.header.number > min);
                }
            }
            _ => {}
        }
    }

    /// Hands one input to the core and carries out what it asks.
    fn step(&mut self, input: Input, origin: Option<(MessageId, PeerId)>) {
        let now = self.clock.now();
        let is_proposal = matches!(input, Input::Gossip(Gossip::Proposal(_)));
        let remembered = match &input {
            Input::Gossip(g @ (Gossip::Proposal(_) | Gossip::Provisional(_))) => Some(g.clone()),
            _ => None,
        };
        let started = Instant::now();
        let outputs = self.core.handle(now, input);
        let _ = self.core.take_work();
        if is_proposal {
            self.metrics
                .reexecution
                .observe(started.elapsed().as_secs_f64());
        }
        let rejected = outputs.iter().any(|o| matches!(o, Output::Rejected { .. }));
        let ignored = outputs.iter().any(|o| matches!(o, Output::Ignored { .. }));
        if !rejected && let Some(g) = remembered {
            self.remember(&g);
        }
        if let Some((id, from)) = origin {
            let acceptance = if rejected {
                MessageAcceptance::Reject
            } else if ignored {
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
        let first_of_slot = match &g {
            Gossip::Proposal(m) if m.header.index == 0 => self.equivocated.insert(slot),
            _ => false,
        };
        warn!(target: "chunkseq::node", slot, ?behaviour, "fault injection");
        let domain = self.core.spec().eip712_domain();
        byzantine::gossip(behaviour, key, &domain, g, first_of_slot)
            .into_iter()
            .map(|s| s.gossip)
            .collect()
    }

    /// What a faulty node submits to L1 instead of `call` (`None`: nothing).
    fn misbehave_call(&mut self, call: RollupCall) -> Option<RollupCall> {
        let RollupCall::ProposeCheckpoint { slot, .. } = &call else {
            return Some(call);
        };
        let Some(behaviour) = byzantine::active(&self.faults.misbehaviours, *slot, |b| {
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
        byzantine::l1_call(behaviour, &key, &domain, call, tip)
    }

    fn outputs(&mut self, outputs: Vec<Output>) {
        let mut batch = Batch::default();
        for o in outputs {
            match o {
                Output::Publish(g) => {
                    for g in self.misbehave_gossip(g) {
                        self.remember(&g);
                        self.net.send(NetCommand::Publish(g));
                    }
                }
                Output::SubmitL1 { call, deadline } => {
                    let Some(call) = self.misbehave_call(call) else {
                        continue;
                    };
                    let _ = self.l1.send(L1Command::Submit { call, deadline });
                }
                Output::WakeAt(t) => self.wake = Some(t),
                Output::FetchDuties(slot) => {
                    let _ = self.l1.send(L1Command::Duties(slot));
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
        self.write(batch);
    }

    fn write(&self, batch: Batch) {
        if let Err(e) = self.store.write(batch) {
            warn!(target: "chunkseq::node", error = %e, "node store write failed");
        }
    }

    fn notify(&self, n: Notification) {
        // No subscriber is fine.
        let _ = self.notify.send(n);
    }

    fn tx_record(&self, hash: &B256) -> TxRecord {
        self.store.tx(hash).ok().flatten().unwrap_or_default()
    }

    fn event(&mut self, e: Event, batch: &mut Batch) {
        match e {
            Event::TransactionRefused { .. } => {}
            Event::BlockOpened { slot, index, .. } => {
                self.opened.insert((slot, index), Instant::now());
            }
            Event::BlockBuilt {
                slot,
                index,
                txs,
                gas_used,
                ..
            } => {
                if let Some(t) = self.opened.remove(&(slot, index)) {
                    self.metrics
                        .build_duration
                        .observe(t.elapsed().as_secs_f64());
                }
                self.opened.retain(|(s, _), _| *s >= slot);
                self.metrics.block_txs.observe(txs as f64);
                self.metrics.block_gas.observe(gas_used as f64);
            }
            Event::ProposalSent { hash, .. } => {
                self.proposed_at.insert(hash, Instant::now());
            }
            Event::ProvisionalAccepted { hash, .. } => self.provisional(hash, batch),
            Event::CheckpointAccepted {
                slot,
                blocks,
                last_number,
                l1_block,
            } => {
                self.metrics.checkpoints.inc();
                let l1_tx = self.l1_txs.get(&slot).copied().unwrap_or_default();
                let first = last_number
                    .saturating_sub(u64::from(blocks))
                    .saturating_add(1);
                for n in first..=last_number {
                    if let Ok(Some(mut b)) = self.store.block(n) {
                        b.status = "checkpointed".into();
                        for h in &b.transactions {
                            let mut r = self.tx_record(h);
                            r.status = TxStatus::Checkpointed;
                            r.l1_block = Some(l1_block);
                            r.l1_tx = Some(l1_tx);
                            batch.tx(*h, r);
                            if let Some(t) = self.submitted.remove(h) {
                                self.metrics
                                    .checkpoint_latency
                                    .observe(t.elapsed().as_secs_f64());
                            }
                        }
                        batch.block(b);
                    }
                }
                self.notify(Notification::Checkpoint {
                    slot,
                    blocks,
                    last_number,
                    l1_block,
                    l1_tx,
                });
            }
            Event::Reorg {
                cause,
                slots,
                dropped,
                dropped_txs,
                new_tip,
            } => {
                self.metrics.reorgs.inc();
                warn!(target: "chunkseq::node", ?cause, ?slots, blocks = dropped.len(), "reorg");
                self.notify(Notification::Reorg {
                    cause: format!("{cause:?}"),
                    slots,
                    retracted_blocks: dropped,
                    retracted_txs: dropped_txs,
                    new_tip,
                });
            }
            Event::EvidenceFound {
                offence,
                offender,
                slot,
            } => {
                self.metrics.evidence.inc();
                batch.evidence(serde_json::to_vec(&(offence, offender, slot)).unwrap_or_default());
                self.notify(Notification::Evidence {
                    offence,
                    offender,
                    slot,
                });
            }
            Event::OffenceSlashed {
                validator,
                offence,
                slot,
            } => self.notify(Notification::Slashed {
                validator,
                offence,
                slot,
            }),
            Event::TxStatusChanged { hash, status } => {
                let mut r = self.tx_record(&hash);
                r.status = status;
                if matches!(status, TxStatus::Dropped | TxStatus::Pending) {
                    r.block_number = None;
                    r.block_hash = None;
                    r.slot = None;
                    r.index = None;
                    r.attestations = None;
                }
                // Provisional and checkpointed records are written with
                // their block (below and in the checkpoint handling).
                if !matches!(status, TxStatus::Provisional | TxStatus::Checkpointed) {
                    batch.tx(hash, r);
                }
                self.notify(Notification::Tx { hash, status });
            }
            Event::SigningRefused { what, reason } => {
                warn!(target: "chunkseq::node", what, %reason, "signing refused");
            }
            Event::AttestationSent { .. } | Event::CheckpointSubmitted { .. } => {}
        }
    }

    fn provisional(&mut self, hash: B256, batch: &mut Batch) {
        self.metrics.provisional_blocks.inc();
        if let Some(t) = self.proposed_at.remove(&hash) {
            self.metrics
                .attestation_round_trip
                .observe(t.elapsed().as_secs_f64());
        }
        let Some(b) = self
            .core
            .chain()
            .provisional()
            .iter()
            .find(|b| b.hash == hash)
        else {
            return;
        };
        let threshold = self
            .core
            .duties(b.header.slot)
            .map_or(0, chunkseq_protocol::Duties::threshold);
        let attestations = b.attestations.len() / SIGNATURE_LEN;
        let txs: Vec<B256> = b.txs.iter().map(RecoveredTx::hash).collect();
        let record = BlockRecord {
            number: b.header.number,
            hash,
            parent_hash: b.header.parentHash,
            slot: b.header.slot,
            index: b.header.index,
            timestamp: b.header.timestamp,
            coinbase: b.header.coinbase,
            state_root: b.header.stateRoot,
            gas_used: b.header.gasUsed,
            transactions: txs.clone(),
            attestations,
            status: "provisional".into(),
        };
        for (i, h) in txs.iter().enumerate() {
            if let Some(t) = self.submitted.get(h) {
                self.metrics
                    .provisional_latency
                    .observe(t.elapsed().as_secs_f64());
            }
            batch.tx(
                *h,
                TxRecord {
                    status: TxStatus::Provisional,
                    block_number: Some(record.number),
                    block_hash: Some(hash),
                    slot: Some(record.slot),
                    index: u32::try_from(i).ok(),
                    attestations: Some(attestations),
                    threshold: Some(threshold),
                    l1_block: None,
                    l1_tx: None,
                },
            );
        }
        batch.block(record.clone());
        self.notify(Notification::Provisional {
            block: record,
            threshold,
        });
    }
}

/// The hash of a raw transaction (its EIP-2718 bytes).
pub fn tx_hash(raw: &[u8]) -> B256 {
    keccak256(raw)
}
