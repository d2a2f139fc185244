//! The discrete-event engine: one virtual clock, one seeded generator, a
//! queue of deliveries, and every node a real protocol core.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque},
    sync::Arc,
};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;
use chunkseq_execution::{Genesis, RecoveredTx, dev_keys};
use chunkseq_l1::{EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall, rng::SplitMix64};
use chunkseq_primitives::{
    ChainSpec, LocalSigner, PrivateKey, Signer, Slot, Timetable, UnixMillis,
};
use chunkseq_protocol::{
    CheckpointRecord, Core, CoreConfig, Duties, Event, Gossip, Input, Output, SyncRequest, TxIn,
    TxOrigin,
    byzantine::{self, Behaviour, Recipients},
    sync::MAX_SYNC_CHECKPOINTS,
};
use chunkseq_report::{Recorder, Report, RunInfo, ScheduledSlot};
use chunkseq_signer::{ProtectedSigner, SlashingProtectionStore};
use chunkseq_state::StateDb;
use thiserror::Error;

use crate::{
    invariants::Invariants,
    load::LoadGenerator,
    scenario::Scenario,
    script::{Recorded, Script},
};

/// Why a run could not start.
#[derive(Debug, Error)]
pub enum SimError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// Setting up a node or the L1 failed.
    #[error("setup: {0}")]
    Setup(String),
}

fn setup<E: std::fmt::Display>(e: E) -> SimError {
    SimError::Setup(e.to_string())
}

/// A queued delivery. Most are node inputs, so the size of that variant is
/// the size of the queue either way.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Delivery {
    /// An input for node `.0`.
    Node(usize, Input),
    /// The embedded L1 produces its next block.
    L1Tick,
    /// The load generator sends its next transaction.
    Load,
    /// Node `.0` checks the gossip transactions waiting in its inbox.
    Flush(usize),
    /// Node `.0` starts again with an empty memory (a `restart` fault).
    Restart(usize),
    /// Node `.0`'s held-back call reaches L1's mempool (a `late-publisher`
    /// fault): queued without the pre-check, as a transaction already on
    /// its way is.
    LateSubmit(usize, Box<RollupCall>),
}

/// One simulated node.
struct SimNode {
    core: Core,
    key: Option<PrivateKey>,
    /// Its signer, with the slashing protection that survives a restart.
    signer: Option<Arc<dyn Signer>>,
    /// A validator's slashing-protection store.
    protection: Option<Arc<SlashingProtectionStore>>,
    busy_until: u64,
    uplink_free: u64,
    /// Gossip transactions that reached the node, by (arrival, sequence),
    /// not yet checked (see `NetworkModel::tx_batch_ms`).
    inbox: BTreeMap<(u64, u64), RecoveredTx>,
    /// When the inbox is next checked, if something waits in it.
    flush_at: Option<u64>,
}

/// A run in progress.
pub struct Simulation {
    /// Signature recoveries every node shares (load transactions included).
    recoveries: Arc<chunkseq_protocol::RecoveryCache>,
    pub(crate) scenario: Scenario,
    pub(crate) spec: ChainSpec,
    pub(crate) tt: Timetable,
    rng: SplitMix64,
    nodes: Vec<SimNode>,
    pub(crate) l1: EmbeddedL1,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    items: HashMap<u64, Delivery>,
    seq: u64,
    pub(crate) now: u64,
    pub(crate) end: u64,
    pub(crate) load_end: u64,
    load_interval: u64,
    load_txs: LoadGenerator,
    duties: BTreeMap<u64, Duties>,
    /// Per-node faults resolved to node numbers: (node, kind, from, to).
    faults: Vec<(usize, Behaviour, u64, Option<u64>)>,
    /// Slots whose first proposal an equivocating proposer already forked.
    first_proposals: byzantine::FirstProposals,
    pub(crate) observer: usize,
    /// What the run measures; the report is built from it.
    pub(crate) recorder: Recorder,
    /// Gossip messages the cores rejected.
    rejected: u64,
    pub(crate) invariants: Invariants,
    digest: B256,
    trail: VecDeque<String>,
    /// The checkpoints an honest node's index holds (the observer's), for
    /// answering catching-up nodes.
    checkpoints: Vec<CheckpointRecord>,
    /// A scripted run's fixed delay, hooks and log (see [`crate::script`]).
    script: Option<Box<Script>>,
}

/// Keys of the simulated validators.
const VALIDATOR_PHRASE: &str = "chunkseq sim validators";
/// Keys of the load generator's accounts.
const USER_PHRASE: &str = "chunkseq sim users";
/// Accounts the load generator rotates through, at least.
const USERS: usize = 64;
/// Accounts the load generator rotates through, at most.
const MAX_USERS: usize = 8_192;
/// Events kept for a violation's trail.
const TRAIL: usize = 24;

impl Simulation {
    /// Sets up the nodes, the genesis and the embedded L1 of `scenario`.
    pub fn new(scenario: Scenario) -> Result<Self, SimError> {
        Self::build(scenario, None)
    }

    /// [`Simulation::new`], or, with `script`, a scripted run's setup.
    pub(crate) fn build(
        scenario: Scenario,
        mut script: Option<Box<Script>>,
    ) -> Result<Self, SimError> {
        scenario.validate()?;
        let spec = scenario.chain_spec()?;
        let tt = Timetable::new(&spec).map_err(setup)?;
        let keys = dev_keys(VALIDATOR_PHRASE, scenario.validators);
        // Enough accounts that no sender ever has more transactions waiting
        // than the pool takes from one sender: the whole run's load over 32
        // nonces each (a backlog, when load exceeds capacity, stays spread).
        let slot_seconds = spec.slot_duration_ms as f64 / 1000.0;
        let total = scenario.tps * slot_seconds * (scenario.slots as f64 + 1.0);
        let wanted = (total / 32.0).ceil() as usize;
        let users = dev_keys(USER_PHRASE, wanted.clamp(USERS, MAX_USERS));
        let mut funded: Vec<Address> = users.iter().map(PrivateKey::address).collect();
        funded.extend(keys.iter().map(PrivateKey::address));
        let ether = U256::from(10u64).pow(U256::from(24u64));
        let genesis = Genesis::funded(&funded, ether, ether);
        let genesis_hash = genesis.hash(&spec).map_err(setup)?;
        let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
        let l1_cfg = EmbeddedConfig {
            seed: scenario.seed ^ 0x4c31,
            drop_probability: scenario.l1.drop_probability,
            delay_probability: scenario.l1.delay_probability,
            reorg_probability: scenario.l1.reorg_probability,
            ..EmbeddedConfig::default()
        };
        let mut l1 = EmbeddedL1::new(&spec, genesis_hash, &addrs, l1_cfg).map_err(setup)?;
        // The first validator to act at genesis records the first committees
        // (scenario faults name their target by the proposer of a slot).
        let record = script.as_ref().is_none_or(|s| s.record_committees);
        if let Some(first) = addrs.first().filter(|_| record) {
            l1.record_genesis_committees(*first, tt.genesis())
                .map_err(setup)?;
        }
        // Faults that name no node hit the proposer of their first slot, or,
        // for an attester's fault, the first validator that attests in it.
        let mut faults = Vec::new();
        for f in &scenario.faults {
            let targets = if f.nodes.is_empty() {
                let (_, proposer) = l1.duties(f.from_slot.max(1)).map_err(setup)?;
                // A node that misses blocks is none of the next proposers
                // either (it would build on what it missed).
                if f.kind == Behaviour::MissesLastBlocks {
                    let mut busy = BTreeSet::new();
                    for s in f.from_slot.max(1)..f.from_slot.max(1).saturating_add(3) {
                        busy.insert(l1.duties(s).map_err(setup)?.1);
                    }
                    if let Some(n) = addrs.iter().position(|a| !busy.contains(a)) {
                        faults.push((n, f.kind, f.from_slot, f.to_slot));
                    }
                    continue;
                }
                let attester_fault = matches!(
                    f.kind,
                    Behaviour::DoubleAttester
                        | Behaviour::SlowAttester { .. }
                        | Behaviour::MissesLastBlocks
                        | Behaviour::EarlyRescuer
                );
                addrs
                    .iter()
                    .position(|a| (*a == proposer) != attester_fault)
                    .into_iter()
                    .collect()
            } else {
                f.nodes.clone()
            };
            for n in targets {
                faults.push((n, f.kind, f.from_slot, f.to_slot));
            }
        }
        let faulty_nodes: BTreeSet<usize> = faults.iter().map(|(n, _, _, _)| *n).collect();
        // Honest nodes commit the same checkpoints, so they share one state
        // store (one commit per checkpoint instead of one per node); a faulty
        // node keeps its own.
        let new_db = || -> Result<Arc<StateDb>, SimError> {
            let db = Arc::new(StateDb::in_memory().map_err(setup)?);
            genesis.commit(&db, &spec).map_err(setup)?;
            Ok(db)
        };
        let honest_db = new_db()?;
        // A node applies a checkpoint a link latency after the first one
        // does; eight slots of blocks is far more than it can fall behind.
        honest_db.keep_versions((spec.chunks_per_slot as usize).saturating_mul(8).max(32));
        // A scripted run has exactly the followers it asks for.
        let followers = match &script {
            Some(_) => scenario.followers,
            None => scenario.followers.max(1),
        };
        let mut nodes = Vec::new();
        let node_count = scenario.validators.saturating_add(followers);
        for i in 0..node_count {
            let db = if faulty_nodes.contains(&i) || !scenario.shortcuts.shared_store {
                new_db()?
            } else {
                Arc::clone(&honest_db)
            };
            let key = keys.get(i).cloned();
            let mut protection = None;
            let signer: Option<Arc<dyn Signer>> = match &key {
                Some(k) => {
                    let store = Arc::new(SlashingProtectionStore::in_memory().map_err(setup)?);
                    protection = Some(Arc::clone(&store));
                    Some(Arc::new(ProtectedSigner::new(
                        LocalSigner::new(k.clone()),
                        store,
                    )))
                }
                None => None,
            };
            let cfg = core_config(
                i,
                node_count,
                script.is_some(),
                RescueConfig::of(&scenario, &faults),
            );
            let core = Core::new(spec.clone(), cfg, db, signer.clone()).map_err(setup)?;
            nodes.push(SimNode {
                core,
                key,
                signer,
                protection,
                busy_until: 0,
                uplink_free: 0,
                inbox: BTreeMap::new(),
                flush_at: None,
            });
        }
        let observer = nodes.len().saturating_sub(1);
        // Honest nodes share re-executions; a faulty one computes its own.
        let cache = Arc::new(chunkseq_protocol::ExecutionCache::new(4_096));
        // Every node shares signature recoveries: they are pure functions.
        let recoveries = Arc::new(chunkseq_protocol::RecoveryCache::new());
        for node in &mut nodes {
            if scenario.shortcuts.shared_recoveries {
                node.core.share_recoveries(Arc::clone(&recoveries));
            }
        }
        for (i, node) in nodes.iter_mut().enumerate() {
            if !faulty_nodes.contains(&i) && scenario.shortcuts.shared_executions {
                node.core.share_executions(Arc::clone(&cache));
            }
        }
        let start = l1.head().timestamp.0;
        let end = tt
            .slot_start(Slot(scenario.slots.saturating_add(2)))
            .map_err(setup)?
            .0;
        let load_end = tt
            .build_start(Slot(scenario.slots))
            .map_err(setup)?
            .0
            .max(tt.genesis().0);
        let load_interval = if scenario.tps > 0.0 {
            ((1000.0 / scenario.tps).round() as u64).max(1)
        } else {
            u64::MAX
        };
        let offenders: BTreeSet<usize> = faults
            .iter()
            .filter(|(_, k, _, _)| k.is_offence())
            .map(|(n, _, _, _)| *n)
            .collect();
        let faulty: BTreeSet<usize> = faults.iter().map(|(n, _, _, _)| *n).collect();
        if let Some(s) = script.as_deref_mut() {
            s.set_up(&genesis, &users);
        }
        // Without load, no transactions are made ahead.
        let load_txs = if scenario.tps > 0.0 {
            LoadGenerator::start(users, spec.chain_id)
        } else {
            LoadGenerator::idle()
        };
        let mut sim = Self {
            recoveries,
            rng: SplitMix64::new(scenario.seed),
            invariants: Invariants::new(
                &addrs,
                offenders,
                faulty,
                if spec.staggered { 2 } else { 1 },
                scenario.seed,
            ),
            scenario,
            tt,
            nodes,
            l1,
            queue: BinaryHeap::new(),
            items: HashMap::new(),
            seq: 0,
            now: start,
            end,
            load_end,
            load_interval,
            load_txs,
            duties: BTreeMap::new(),
            faults,
            first_proposals: byzantine::FirstProposals::default(),
            observer,
            recorder: Recorder::new(observer),
            rejected: 0,
            digest: B256::ZERO,
            trail: VecDeque::new(),
            checkpoints: Vec::new(),
            script,
            spec,
        };
        // Every core starts by catching up with L1; at genesis there is
        // nothing to catch up, so L1's tip is all it needs.
        let tip = sim.l1.tip().map_err(setup)?;
        for i in 0..sim.nodes.len() {
            sim.push(start, Delivery::Node(i, Input::L1Tip(tip)));
        }
        let restarts: Vec<(usize, u64)> = sim
            .faults
            .iter()
            .filter(|(_, k, _, _)| *k == Behaviour::Restart)
            .filter_map(|(n, _, _, to)| Some((*n, (*to)?)))
            .collect();
        for (node, to) in restarts {
            let at = sim
                .tt
                .slot_start(Slot(to.saturating_add(1)))
                .map_err(setup)?;
            sim.push(at.0, Delivery::Restart(node));
        }
        sim.push(start, Delivery::L1Tick);
        // Load starts when the first slot starts building.
        let load_start = sim
            .tt
            .build_start(sim.tt.first_building_slot().max(Slot(1)))
            .map_or(sim.tt.genesis().0, |t| t.0);
        sim.push(load_start, Delivery::Load);
        Ok(sim)
    }

    fn push(&mut self, at: u64, d: Delivery) {
        self.seq = self.seq.wrapping_add(1);
        self.items.insert(self.seq, d);
        self.queue.push(Reverse((at, self.seq)));
    }

    /// The slot at the current time (0 before genesis).
    pub(crate) fn slot_now(&self) -> u64 {
        self.tt.slot_at(UnixMillis(self.now)).map_or(0, |s| s.0)
    }

    /// Milliseconds since genesis (0 before).
    pub(crate) fn since_genesis(&self, t: u64) -> u64 {
        t.saturating_sub(self.tt.genesis().0)
    }

    fn fault(&self, node: usize, slot: u64, want: impl Fn(Behaviour) -> bool) -> Option<Behaviour> {
        self.faults
            .iter()
            .find(|(n, k, from, to)| {
                *n == node && want(*k) && slot >= *from && to.is_none_or(|t| slot <= t)
            })
            .map(|(_, k, _, _)| *k)
    }

    fn offline(&self, node: usize) -> bool {
        self.offline_at(node, self.now)
    }

    /// Whether `node` is offline at time `at`.
    fn offline_at(&self, node: usize, at: u64) -> bool {
        let slot = self.tt.slot_at(UnixMillis(at)).map_or(0, |s| s.0);
        self.fault(node, slot, Behaviour::is_down).is_some()
    }

    /// Records one entry of the event log: digest and trail.
    pub(crate) fn log(&mut self, entry: String) {
        let line = format!("{} {entry}", self.now);
        self.digest = keccak256([self.digest.as_slice(), line.as_bytes()].concat());
        if self.trail.len() == TRAIL {
            self.trail.pop_front();
        }
        self.trail.push_back(line);
    }

    /// The recent event log, oldest first.
    pub(crate) fn trail(&self) -> Vec<String> {
        self.trail.iter().cloned().collect()
    }

    /// Runs to the end; `progress(slot, slots)` is called at each new slot.
    pub fn run(mut self, mut progress: impl FnMut(u64, u64)) -> Report {
        let mut last_slot = 0;
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            if at > self.end {
                break;
            }
            self.now = at;
            let slot = self.slot_now();
            if slot != last_slot {
                last_slot = slot;
                progress(slot.min(self.scenario.slots), self.scenario.slots);
            }
            let Some(d) = self.items.remove(&seq) else {
                continue;
            };
            self.dispatch(d);
        }
        self.now = self.end;
        self.finish()
    }

    fn dispatch(&mut self, d: Delivery) {
        match d {
            Delivery::Node(i, input) => self.deliver(i, input),
            Delivery::L1Tick => self.l1_tick(),
            Delivery::Load => self.load(),
            Delivery::Flush(i) => self.flush(i),
            Delivery::Restart(i) => self.restart(i),
            Delivery::LateSubmit(i, call) => self.late_submit(i, *call),
        }
    }

    fn l1_tick(&mut self) {
        let events = match self.l1.mine_block() {
            Ok(e) => e,
            Err(e) => {
                self.log(format!("l1 error {e}"));
                Vec::new()
            }
        };
        for e in &events {
            self.log(format!("l1 {e:?}"));
            if let Some(s) = self.script.as_deref_mut() {
                s.record(self.now, None, Recorded::L1(e.clone()));
            }
            self.on_l1_event(e);
        }
        // A block's events reach a node together, in their order, as an
        // L1 node's block and its logs do.
        for i in 0..self.nodes.len() {
            let at = self.now.saturating_add(self.latency());
            for e in &events {
                self.push(at, Delivery::Node(i, Input::L1(e.clone())));
            }
        }
        let next = self
            .l1
            .head()
            .timestamp
            .0
            .saturating_add(self.spec.l1_block_time_ms);
        self.push(next.max(self.now.saturating_add(1)), Delivery::L1Tick);
    }

    fn on_l1_event(&mut self, e: &L1Event) {
        match e {
            L1Event::Included {
                call,
                outcome: Err(reason),
                ..
            } => self.recorder.l1_refused(call, &reason.0),
            L1Event::CheckpointAccepted {
                slot,
                headers,
                rescuer,
                ..
            } => {
                let at = self.since_genesis(self.now);
                let blocks = u32::try_from(headers.len()).unwrap_or(u32::MAX);
                self.recorder.checkpoint(*slot, blocks, at);
                if rescuer.is_some() {
                    self.recorder.rescued(*slot);
                }
            }
            L1Event::ValidatorSlashed {
                validator,
                offence,
                slot,
                ..
            } => {
                let at = self.since_genesis(self.now);
                self.recorder.slashed(*validator, *offence, *slot, at);
                let trail = self.trail();
                let now = self.since_genesis(self.now);
                self.invariants.on_slashed(*validator, *slot, now, &trail);
            }
            _ => {}
        }
    }

    fn load(&mut self) {
        if self.now >= self.load_end || self.load_interval == u64::MAX {
            return;
        }
        let recovered = match self.load_txs.next() {
            Ok(r) => r,
            Err(e) => {
                self.log(format!("load tx refused: {e}"));
                return;
            }
        };
        let hash = recovered.hash();
        // Recovered once for every node; each is still charged for it.
        self.recoveries.remember(recovered.clone());
        self.recorder.submitted(hash, self.since_genesis(self.now));
        // The user sends it to one validator; gossip carries it to the rest.
        let validators = self.scenario.validators as u64;
        let first = usize::try_from(self.rng.next_u64() % validators.max(1)).unwrap_or(0);
        for i in 0..self.nodes.len() {
            let delay = if i == first { 0 } else { self.latency() };
            self.receive_tx(i, self.now.saturating_add(delay), recovered.clone());
        }
        let next = self.now.saturating_add(self.load_interval);
        self.push(next, Delivery::Load);
    }

    /// One sample of link latency, ms: log-normal around the median (a
    /// scripted run's fixed delay, drawing nothing).
    fn latency(&mut self) -> u64 {
        if let Some(s) = &self.script {
            return s.delay_ms;
        }
        let net = &self.scenario.network;
        let (u1, u2) = (self.rng.next_f64().max(1e-12), self.rng.next_f64());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let ms = net.latency_median_ms * (net.latency_sigma * normal).exp();
        if ms.is_finite() && ms > 0.0 {
            ms.round() as u64
        } else {
            0
        }
    }

    /// Whether a message from `a` reaches `b` now (partitions).
    fn connected(&self, a: usize, b: usize) -> bool {
        let slot = self.slot_now();
        self.scenario.network.partitions.iter().all(|p| {
            if slot < p.from_slot || slot > p.to_slot {
                return true;
            }
            let group = |n: usize| p.groups.iter().position(|g| g.contains(&n));
            match (group(a), group(b)) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            }
        })
    }

    /// A gossip transaction reaches node `i` at `at`: into its inbox, to be
    /// checked with the others that arrive within the batch window.
    fn receive_tx(&mut self, i: usize, at: u64, tx: RecoveredTx) {
        if self.offline_at(i, at) {
            return;
        }
        let window = self.scenario.network.tx_batch_ms;
        if window == 0 {
            self.push(at, Delivery::Node(i, gossiped(vec![tx])));
            return;
        }
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        node.inbox.insert((at, seq), tx);
        if node.flush_at.is_none() {
            let when = at.saturating_add(window);
            node.flush_at = Some(when);
            self.push(when, Delivery::Flush(i));
        }
    }

    /// The transactions in node `i`'s inbox that arrived by now, in order.
    fn take_arrived(&mut self, i: usize) -> Vec<RecoveredTx> {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(i) else {
            return Vec::new();
        };
        let later = node.inbox.split_off(&(now.saturating_add(1), 0));
        std::mem::replace(&mut node.inbox, later)
            .into_values()
            .collect()
    }

    /// Node `i`'s batch window closed: it checks what arrived, and the
    /// next window opens with the first transaction still on its way.
    fn flush(&mut self, i: usize) {
        let busy_until = match self.nodes.get_mut(i) {
            Some(node) => {
                node.flush_at = None;
                node.busy_until
            }
            None => return,
        };
        if busy_until > self.now && !self.offline(i) {
            // Checked when the node is free, with whatever arrives meanwhile,
            // so the inbox is always taken in arrival order.
            if let Some(node) = self.nodes.get_mut(i) {
                node.flush_at = Some(busy_until);
            }
            self.push(busy_until, Delivery::Flush(i));
            return;
        }
        let arrived = self.take_arrived(i);
        // An offline node loses what it had not checked yet.
        if !arrived.is_empty() && !self.offline(i) {
            self.handle(i, gossiped(arrived));
        }
        let window = self.scenario.network.tx_batch_ms;
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        if let Some(&(first, _)) = node.inbox.keys().next() {
            let when = first.saturating_add(window).max(self.now.saturating_add(1));
            node.flush_at = Some(when);
            self.push(when, Delivery::Flush(i));
        }
    }

    fn deliver(&mut self, i: usize, input: Input) {
        if self.offline(i) {
            return;
        }
        if let Input::Gossip(Gossip::Provisional(p)) = &input
            && p.header.index > 0
            && self
                .fault(i, p.header.slot, |k| k == Behaviour::MissesLastBlocks)
                .is_some()
        {
            return;
        }
        let Some(node) = self.nodes.get(i) else {
            return;
        };
        if node.busy_until > self.now {
            // A busy node handles the input when it is done.
            let at = node.busy_until;
            self.push(at, Delivery::Node(i, input));
            return;
        }
        // Transactions that arrived before this input are checked first, in
        // the same stretch of work.
        if !matches!(input, Input::Transactions { .. }) {
            let arrived = self.take_arrived(i);
            if !arrived.is_empty() {
                self.handle(i, gossiped(arrived));
            }
        }
        self.handle(i, input);
    }

    /// Node `i` handles `input` now: its outputs, its busy time, and the
    /// invariants that follow from it.
    fn handle(&mut self, i: usize, input: Input) {
        let checkpoint = match &input {
            Input::L1(L1Event::CheckpointAccepted { headers, .. }) => {
                headers.last().map(|h| h.hash())
            }
            _ => None,
        };
        let now = UnixMillis(self.now);
        let Some(node) = self.nodes.get_mut(i) else {
            return;
        };
        let outputs = node.core.handle(now, input);
        let work = node.core.take_work();
        let cpu = self.scenario.cpu;
        let cost_ns = work.gas as f64 * cpu.ns_per_gas
            + work.signatures.saturating_add(work.signed) as f64 * cpu.ns_per_signature
            + work.blob_commitments as f64 * cpu.ns_per_blob_commitment
            + work.blob_bytes as f64 * cpu.ns_per_blob_byte;
        let cost_ms = (cost_ns / 1e6).ceil() as u64;
        // Work handled back to back (a batch, then the input it preceded)
        // adds up.
        node.busy_until = node.busy_until.max(self.now).saturating_add(cost_ms);
        let done = node.busy_until;
        if let Some(last) = checkpoint {
            let tip = node.core.chain().checkpointed().last_hash;
            let trail = self.trail();
            let at = self.since_genesis(self.now);
            let slot = self.slot_now();
            self.invariants
                .on_checkpoint_applied(i, tip, last, slot, at, &trail);
        }
        for o in outputs {
            self.output(i, done, o);
        }
    }

    fn output(&mut self, i: usize, at: u64, o: Output) {
        match o {
            Output::FetchL1Tip => match self.l1.tip() {
                Ok(tip) => self.push(at, Delivery::Node(i, Input::L1Tip(tip))),
                Err(e) => self.log(format!("n{i} l1 tip: {e}")),
            },
            Output::FetchCheckpoints {
                after_slot,
                from_l1_block,
            } => {
                let events = self.l1.checkpoints_after(after_slot, from_l1_block, 64);
                self.push(at, Delivery::Node(i, Input::L1Checkpoints(events)));
            }
            Output::RequestSync(request) => self.request_sync(i, at, &request),
            Output::Publish(g) => self.publish(i, at, g),
            Output::SubmitL1 { call, deadline } => self.submit(i, at, call, deadline),
            Output::WakeAt(t) => self.push(t.0.max(at), Delivery::Node(i, Input::Tick)),
            Output::FetchDuties(slot) => {
                let duties = match self.duties.get(&slot) {
                    Some(d) => d.clone(),
                    None => match self.l1.duties(slot) {
                        Ok((committee, proposer)) => {
                            let d = Duties {
                                committee,
                                proposer,
                            };
                            self.duties.insert(slot, d.clone());
                            d
                        }
                        Err(e) => {
                            self.log(format!("duties of {slot}: {e}"));
                            let reason = e.to_string();
                            self.push(
                                at,
                                Delivery::Node(i, Input::DutiesUnavailable { slot, reason }),
                            );
                            return;
                        }
                    },
                };
                self.push(at, Delivery::Node(i, Input::Duties { slot, duties }));
            }
            Output::Event(e) => self.event(i, at, e),
            Output::Rejected { topic, reason } => {
                self.rejected = self.rejected.saturating_add(1);
                self.log(format!("n{i} rejected {topic}: {reason}"));
                if let Some(s) = self.script.as_deref_mut() {
                    s.record(at, Some(i), Recorded::Rejected { topic, reason });
                }
            }
            // A gossiped transaction the state refuses (a duplicate, a spent
            // nonce): the simulated network forwards nothing anyway.
            Output::Ignored { .. } => {}
        }
    }

    fn event(&mut self, i: usize, at: u64, e: Event) {
        // An early rescuer tries to rescue each provisional block's slot at
        // once, inside its proposer's window.
        if let Event::ProvisionalAccepted { slot, .. } = &e
            && self
                .fault(i, *slot, |k| k == Behaviour::EarlyRescuer)
                .is_some()
            && let Some(call) = self.nodes.get_mut(i).and_then(|n| n.core.rescue_call_now())
        {
            self.submit(i, at, call, None);
        }
        let t = self.since_genesis(at);
        let observer = i == self.observer;
        // Per-transaction status changes of every node would dominate the
        // log; the observer's stand for them in the digest. Refusals of
        // gossiped duplicates say nothing the statuses do not.
        let per_tx = matches!(
            e,
            Event::TxStatusChanged { .. } | Event::TransactionRefused { .. }
        );
        if (observer || !per_tx) && !matches!(e, Event::TransactionRefused { .. }) {
            self.log(format!("n{i} {e}"));
        }
        self.recorder.event(i, &e, t);
        if observer && let Some(record) = CheckpointRecord::from_accepted(&e) {
            self.checkpoints.push(record);
        }
        if let Event::CaughtUp { level, .. } = &e {
            self.invariants.on_caught_up(i, *level, t);
        }
        if let Event::Reorg { slots, .. } = &e {
            let trail = self.trail();
            let slot = self.slot_now();
            self.invariants.on_reorg(i, slots, slot, t, &trail);
        }
        if let Some(s) = self.script.as_deref_mut() {
            s.record(at, Some(i), Recorded::Event(e));
        }
    }

    /// Node `i` asks its peers what it missed: the first other node that is
    /// up and taking part answers, a fixed round trip later (no random
    /// draw, so runs without catch-up keep their sequence). An empty
    /// answer changes nothing and is not delivered.
    fn request_sync(&mut self, i: usize, at: u64, request: &SyncRequest) {
        let n = self.nodes.len();
        let peer = (1..n).map(|k| (i + k) % n).find(|j| {
            !self.offline_at(*j, at) && self.nodes.get(*j).is_some_and(|p| !p.core.is_catching_up())
        });
        let Some(peer) = peer.and_then(|j| self.nodes.get(j)) else {
            return;
        };
        let checkpoints: Vec<CheckpointRecord> = self
            .checkpoints
            .iter()
            .filter(|r| r.slot > request.after_slot)
            .take(MAX_SYNC_CHECKPOINTS)
            .cloned()
            .collect();
        let response = peer.core.sync_answer(checkpoints);
        if response.checkpoints.is_empty() && response.proposals.is_empty() {
            return;
        }
        let round_trip = (self.scenario.network.latency_median_ms * 2.0).round() as u64;
        self.push(
            at.saturating_add(round_trip),
            Delivery::Node(i, Input::SyncResponse(response)),
        );
    }

    /// Node `i` starts again: a new core over the same state store and
    /// slashing protection, resumed at its last checkpoint, that catches up.
    fn restart(&mut self, i: usize) {
        let count = self.nodes.len();
        let Some(node) = self.nodes.get(i) else {
            return;
        };
        let tip = node.core.chain().checkpointed();
        let db = Arc::clone(node.core.chain().db());
        let started = Core::new(
            self.spec.clone(),
            core_config(
                i,
                count,
                self.script.is_some(),
                RescueConfig::of(&self.scenario, &self.faults),
            ),
            db,
            node.signer.clone(),
        )
        .and_then(|mut c| {
            if tip.slot > 0 {
                c.resume_from(tip)?;
            }
            Ok(c)
        });
        let mut core = match started {
            Ok(c) => c,
            Err(e) => {
                self.log(format!("n{i} cannot restart: {e}"));
                return;
            }
        };
        if self.scenario.shortcuts.shared_recoveries {
            core.share_recoveries(Arc::clone(&self.recoveries));
        }
        let now = self.now;
        if let Some(node) = self.nodes.get_mut(i) {
            node.core = core;
            node.inbox.clear();
            node.flush_at = None;
            node.busy_until = now;
        }
        self.log(format!("n{i} restarts at checkpoint slot {}", tip.slot));
        self.invariants.on_restart(i);
        self.push(now, Delivery::Node(i, Input::Tick));
    }

    fn submit(&mut self, i: usize, at: u64, call: RollupCall, deadline: Option<UnixMillis>) {
        let Some(key) = self.nodes.get(i).and_then(|n| n.key.clone()) else {
            return;
        };
        let call = match self.byzantine_call(i, call, &key) {
            Some(c) => c,
            None => return,
        };
        if let RollupCall::ProposeCheckpoint { slot, .. } = &call
            && self
                .fault(i, *slot, |k| k == Behaviour::LatePublisher)
                .is_some()
        {
            // Held until just after the slot's last L1 block.
            let end = self
                .tt
                .slot_start(Slot(slot.saturating_add(1)))
                .map_or(at, |t| t.0);
            let when = end.saturating_sub(self.spec.l1_block_time_ms / 2).max(at);
            self.log(format!(
                "n{i} holds its checkpoint of slot {slot} back until {when}"
            ));
            self.push(when, Delivery::LateSubmit(i, Box::new(call)));
            return;
        }
        // A scripted run records the call and may lose or alter it on its way.
        let call = match self.script.as_deref_mut() {
            Some(s) => match s.l1_call(at, i, call) {
                Some(c) => c,
                None => return,
            },
            None => call,
        };
        let from = key.address();
        match self.l1.check(from, &call) {
            Ok(()) => {
                self.log(format!("n{i} submits {}", call.name()));
                self.l1.submit_until(from, call, deadline);
            }
            Err(L1Error::Reverted { reason }) => {
                self.log(format!("n{i} {} refused: {reason}", call.name()));
                self.recorder.l1_refused(call.name(), &reason);
                self.push(
                    at,
                    Delivery::Node(
                        i,
                        Input::L1CallFailed {
                            call: call.name(),
                            reason,
                        },
                    ),
                );
            }
            Err(e) => self.log(format!("n{i} {} failed: {e}", call.name())),
        }
    }

    /// Queues node `i`'s held-back call on L1, past the pre-check.
    fn late_submit(&mut self, i: usize, call: RollupCall) {
        let Some(from) = self
            .nodes
            .get(i)
            .and_then(|n| n.key.as_ref())
            .map(PrivateKey::address)
        else {
            return;
        };
        self.log(format!("n{i} submits {} late", call.name()));
        self.l1.submit_until(from, call, None);
    }

    /// A misbehaving proposer's version of its L1 call (or none).
    fn byzantine_call(
        &mut self,
        i: usize,
        call: RollupCall,
        key: &PrivateKey,
    ) -> Option<RollupCall> {
        let Some(slot) = byzantine::checkpoint_slot(&call) else {
            return Some(call);
        };
        let Some(behaviour) = self.fault(i, slot, |k| {
            matches!(k, Behaviour::NeverPublishes | Behaviour::SubsetCheckpoint)
        }) else {
            return Some(call);
        };
        // Only a shortened checkpoint needs the tip it must extend.
        let tip = if behaviour == Behaviour::SubsetCheckpoint {
            self.l1.tip().ok()?.header_hash
        } else {
            B256::ZERO
        };
        let honest_blocks = match &call {
            RollupCall::ProposeCheckpoint { headers, .. } => headers.len(),
            _ => 0,
        };
        let chain = self.nodes.get(i).map(|n| n.core.chain());
        let sent = byzantine::l1_call(
            behaviour,
            &LocalSigner::new(key.clone()),
            &self.spec.eip712_domain(),
            call,
            tip,
            |hash| chain?.attestations_of(hash),
        );
        if let Some(RollupCall::ProposeCheckpoint { headers, .. }) = &sent
            && behaviour.is_offence()
            && headers.len() < honest_blocks
        {
            self.invariants.committed(i);
        }
        sent
    }

    fn publish(&mut self, i: usize, at: u64, g: Gossip) {
        if let Some(s) = self.script.as_deref_mut() {
            s.record(at, Some(i), Recorded::Published(g.clone()));
        }
        let honest_copy = g.clone();
        self.invariants.on_signed(
            i,
            &honest_copy,
            self.since_genesis(at),
            self.slot_now(),
            &self.trail(),
        );
        let sends = self.byzantine_gossip(i, g);
        for (delay, targets, msg) in sends {
            self.gossip(i, at.saturating_add(delay), targets, msg);
        }
    }

    /// What a node really sends: (extra delay, recipients or all, message).
    fn byzantine_gossip(&mut self, i: usize, g: Gossip) -> Vec<(u64, Option<Vec<usize>>, Gossip)> {
        let key = self.nodes.get(i).and_then(|n| n.key.clone());
        let msg_slot = g.slot().unwrap_or_else(|| self.slot_now());
        let (Some(behaviour), Some(key)) = (self.fault(i, msg_slot, |_| true), key) else {
            return vec![(0, None, g)];
        };
        let first_of_slot =
            behaviour == Behaviour::EquivocatingProposer && self.first_proposals.first_of_slot(&g);
        let sends = byzantine::gossip(
            behaviour,
            &LocalSigner::new(key),
            &self.spec.eip712_domain(),
            g,
            first_of_slot,
        );
        if behaviour.is_offence() && sends.len() > 1 {
            self.invariants.committed(i);
        }
        let peers: Vec<usize> = (0..self.nodes.len()).filter(|n| *n != i).collect();
        let (a, b) = peers.split_at(peers.len() / 2);
        sends
            .into_iter()
            .map(|s| {
                let to = match s.to {
                    Recipients::All => None,
                    Recipients::FirstHalf => Some(a.to_vec()),
                    Recipients::SecondHalf => Some(b.to_vec()),
                };
                (s.delay_ms, to, s.gossip)
            })
            .collect()
    }

    /// Sends `g` from `i` to `targets` (everyone else by default) over its uplink.
    fn gossip(&mut self, i: usize, at: u64, targets: Option<Vec<usize>>, g: Gossip) {
        if self.offline(i) {
            return;
        }
        let size = message_size(&g);
        let bandwidth = self.scenario.network.bandwidth_mbps.max(1e-3);
        let per_copy_ms = (size as f64 * 8.0 / (bandwidth * 1e6) * 1000.0).max(0.0);
        let targets: Vec<usize> =
            targets.unwrap_or_else(|| (0..self.nodes.len()).filter(|n| *n != i).collect());
        let mut sent = 0.0f64;
        let uplink_free = self.nodes.get(i).map_or(at, |n| n.uplink_free.max(at));
        for j in targets {
            if j == i || !self.connected(i, j) {
                continue;
            }
            if let Some(s) = self.script.as_deref_mut()
                && !s.routes(i, j, &g)
            {
                continue;
            }
            if self.scenario.network.loss > 0.0 && self.rng.next_f64() < self.scenario.network.loss
            {
                continue;
            }
            sent += per_copy_ms;
            let leaves = uplink_free.saturating_add(sent.ceil() as u64);
            let arrives = leaves.saturating_add(self.latency());
            self.push(arrives, Delivery::Node(j, Input::Gossip(g.clone())));
        }
        if let Some(n) = self.nodes.get_mut(i) {
            n.uplink_free = uplink_free.saturating_add(sent.ceil() as u64);
        }
    }

    fn finish(mut self) -> Report {
        let proposer_of = |sim: &mut Self, slot: u64| -> usize {
            let addr = match sim.duties.get(&slot) {
                Some(d) => Some(d.proposer),
                None => sim.l1.duties(slot).ok().map(|(_, p)| p),
            };
            addr.and_then(|a| {
                sim.nodes
                    .iter()
                    .position(|n| n.key.as_ref().is_some_and(|k| k.address() == a))
            })
            .unwrap_or(usize::MAX)
        };
        let first = self.tt.first_building_slot().0.max(1);
        let mut proposers = BTreeMap::new();
        for slot in first..=self.scenario.slots {
            let p = proposer_of(&mut self, slot);
            proposers.insert(slot, p);
        }
        let fault_slots: BTreeSet<u64> = self
            .faults
            .iter()
            .flat_map(|(_, _, from, to)| {
                let to = to.unwrap_or(self.scenario.slots);
                (from.saturating_sub(1)..=to.saturating_add(1)).collect::<Vec<_>>()
            })
            .collect();
        let clean = self.scenario.network.partitions.is_empty()
            && self.scenario.l1 == crate::scenario::L1Model::default()
            && self.scenario.network.loss == 0.0;
        let trail = self.trail();
        let end = self.since_genesis(self.end);
        self.invariants
            .at_end(&self.recorder, &proposers, &fault_slots, clean, end, &trail);
        let tips: Vec<B256> = self
            .nodes
            .iter()
            .map(|n| n.core.chain().checkpointed().last_hash)
            .collect();
        let observer_tip = tips.get(self.observer).copied().unwrap_or_default();
        // A restarted validator must sign again if it sat on a committee
        // (or proposed) in a slot after the one it caught up in.
        let mut had_duty = BTreeSet::new();
        for (node, level_at) in self.invariants.rejoined_at() {
            let (Some(at), Some(addr)) = (
                level_at,
                self.nodes
                    .get(node)
                    .and_then(|n| n.key.as_ref())
                    .map(PrivateKey::address),
            ) else {
                continue;
            };
            let genesis = self.tt.genesis().0;
            let after = self
                .tt
                .slot_at(UnixMillis(genesis.saturating_add(at)))
                .map_or(0, |s| s.0)
                .saturating_add(1);
            for slot in after..=self.scenario.slots {
                if let Ok((committee, proposer)) = self.l1.duties(slot)
                    && (proposer == addr || committee.contains(&addr))
                {
                    had_duty.insert(node);
                    break;
                }
            }
        }
        match self.l1.tip() {
            Ok(l1_tip) => self.invariants.restarts_rejoined(
                &tips,
                &[l1_tip.last_block_hash, observer_tip],
                &had_duty,
                end,
                &trail,
            ),
            Err(e) => self.log(format!("l1 tip at the end: {e}")),
        }
        let schedule = proposers
            .iter()
            .map(|(slot, proposer)| ScheduledSlot {
                slot: *slot,
                proposer: *proposer,
                start_ms: self
                    .tt
                    .slot_start(Slot(*slot))
                    .map_or(0, |t| self.since_genesis(t.0)),
            })
            .collect();
        let sc = &self.scenario;
        self.recorder.report(RunInfo {
            scenario: sc.name.clone(),
            preset: sc.preset.clone(),
            validators: sc.validators,
            slots: sc.slots,
            seed: sc.seed,
            digest: self.digest.to_string(),
            // Throughput over the time the load generator ran.
            load_seconds: self.since_genesis(self.load_end) as f64 / 1000.0,
            virtual_seconds: end as f64 / 1000.0,
            throughput_until_ms: Some(end),
            schedule,
            invariant_violations: self.invariants.violations.clone(),
        })
    }
}

/// The core settings of node `i` of `count`: per-transaction events of the
/// measured node (the last) only; of every node in a scripted run.
fn core_config(i: usize, count: usize, scripted: bool, rescue: RescueConfig) -> CoreConfig {
    CoreConfig {
        tx_status_events: scripted || i == count.saturating_sub(1),
        // The engine runs on one thread; a block's first commitments (the
        // other nodes reuse them) may use a second core.
        commit_threads: 2,
        rescue: rescue.enabled,
        rescue_spread_ms: if rescue.at_once.contains(&i) {
            Some(0)
        } else {
            rescue.spread_ms
        },
        ..CoreConfig::default()
    }
}

/// How a run's nodes rescue.
#[derive(Clone, Debug, Default)]
struct RescueConfig {
    enabled: bool,
    spread_ms: Option<u64>,
    /// Nodes that rescue at once (a `misses-last-blocks` fault).
    at_once: BTreeSet<usize>,
}

impl RescueConfig {
    fn of(scenario: &Scenario, faults: &[(usize, Behaviour, u64, Option<u64>)]) -> Self {
        Self {
            enabled: scenario.rescue,
            spread_ms: scenario.rescue_spread_ms,
            at_once: faults
                .iter()
                .filter(|(_, k, _, _)| *k == Behaviour::MissesLastBlocks)
                .map(|(n, _, _, _)| *n)
                .collect(),
        }
    }
}

/// What a scripted run drives and reads (see [`crate::script`]).
impl Simulation {
    /// When the next queued delivery is due.
    pub(crate) fn next_at(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse((at, _))| *at)
    }

    /// Handles the next queued delivery at its time.
    pub(crate) fn step(&mut self) {
        let Some(Reverse((at, seq))) = self.queue.pop() else {
            return;
        };
        self.now = self.now.max(at);
        if let Some(d) = self.items.remove(&seq) {
            self.dispatch(d);
        }
    }

    /// Queues `input` for node `node` at `at`.
    pub(crate) fn inject(&mut self, at: u64, node: usize, input: Input) {
        self.push(at, Delivery::Node(node, input));
    }

    /// Nodes in the run (validators first, then followers).
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Node `node`'s core.
    pub(crate) fn core(&self, node: usize) -> Option<&Core> {
        self.nodes.get(node).map(|n| &n.core)
    }

    /// Node `node`'s core, to hand it inputs outside the queue.
    pub(crate) fn core_mut(&mut self, node: usize) -> Option<&mut Core> {
        self.nodes.get_mut(node).map(|n| &mut n.core)
    }

    /// Validator `node`'s key.
    pub(crate) fn key(&self, node: usize) -> Option<&PrivateKey> {
        self.nodes.get(node).and_then(|n| n.key.as_ref())
    }

    /// Validator `node`'s slashing-protection store.
    pub(crate) fn protection(&self, node: usize) -> Option<&Arc<SlashingProtectionStore>> {
        self.nodes.get(node).and_then(|n| n.protection.as_ref())
    }

    /// The scripted run's hooks and log.
    pub(crate) fn script(&self) -> Option<&Script> {
        self.script.as_deref()
    }

    /// The scripted run's hooks and log, to change them.
    pub(crate) fn script_mut(&mut self) -> Option<&mut Script> {
        self.script.as_deref_mut()
    }
}

/// Bytes a message takes on the wire.
fn message_size(g: &Gossip) -> usize {
    match g {
        Gossip::Tx(raw) => raw.len(),
        Gossip::Proposal(m) => m.abi_encoded_size(),
        Gossip::Attestation(m) => m.abi_encoded_size(),
        Gossip::Provisional(m) => m.abi_encoded_size(),
        Gossip::Evidence(e) => e.encode_wire().len(),
    }
}

/// Transactions that reached a node by gossip. The simulator models gossip
/// itself (it delivers each load transaction to every node), so every
/// delivery is gossip, even the first node's.
fn gossiped(txs: Vec<RecoveredTx>) -> Input {
    Input::Transactions {
        txs: txs.into_iter().map(TxIn::Recovered).collect(),
        origin: TxOrigin::Gossip,
    }
}
