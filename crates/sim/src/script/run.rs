//! [`ScriptedRun`]: the engine on fixed delays, driven step by step by a
//! test.

use std::sync::Arc;

use alloy_primitives::{Address, B256, U256, keccak256};
use chunkseq_execution::{Genesis, pool::signed_transfer};
use chunkseq_l1::{EmbeddedL1, RollupCall};
use chunkseq_primitives::{ChainSpec, LocalSigner, PrivateKey, Signer, Timetable, UnixMillis};
use chunkseq_protocol::{Core, CoreConfig, Event, Gossip, Input, TxIn, TxOrigin};
use chunkseq_signer::{ProtectedSigner, SlashingProtectionStore};
use chunkseq_state::StateDb;

use super::{
    hooks::Script,
    log::{Record, Recorded},
};
use crate::{
    engine::{SimError, Simulation},
    scenario::{CpuModel, Fault, L1Model, NetworkModel, Scenario, Shortcuts},
};

/// One-way delay of every link in a scripted run unless the builder says
/// otherwise, ms.
pub const DEFAULT_DELAY_MS: u64 = 50;

/// Wei each scripted transfer moves.
const TRANSFER_WEI: u64 = 1_000;

/// How a scripted run is set up.
#[derive(Clone, Debug)]
pub struct ScriptedRunBuilder {
    spec: ChainSpec,
    validators: usize,
    followers: usize,
    delay_ms: u64,
    record_committees: bool,
    faults: Vec<Fault>,
    rescue: bool,
}

impl ScriptedRunBuilder {
    /// Full nodes that follow without signing (none unless set).
    pub fn followers(mut self, followers: usize) -> Self {
        self.followers = followers;
        self
    }

    /// One-way delay of every link, gossip and L1 events alike.
    pub fn delay_ms(mut self, delay_ms: u64) -> Self {
        self.delay_ms = delay_ms;
        self
    }

    /// Starts a little before genesis with no committee recorded on L1: the
    /// validators record them.
    pub fn committees_unrecorded(mut self) -> Self {
        self.record_committees = false;
        self
    }

    /// Validators do not rescue slots whose proposer did not publish.
    pub fn no_rescue(mut self) -> Self {
        self.rescue = false;
        self
    }

    /// A byzantine behaviour of some validators, as in a scenario (its
    /// `nodes` left empty: the proposer of its first slot).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Sets the nodes, the genesis and the embedded L1 up.
    pub fn build(self) -> Result<ScriptedRun, SimError> {
        let spec = toml::Table::try_from(&self.spec)
            .map_err(|e| SimError::Setup(format!("chain spec: {e}")))?;
        let scenario = Scenario {
            name: "scripted".into(),
            description: "a test's scripted run".into(),
            spec,
            validators: self.validators,
            followers: self.followers,
            // Only a whole run ends at its last slot; a scripted one runs
            // until its test says.
            slots: 1,
            tps: 0.0,
            network: NetworkModel {
                latency_median_ms: self.delay_ms as f64,
                latency_sigma: 0.0,
                bandwidth_mbps: f64::INFINITY,
                loss: 0.0,
                partitions: Vec::new(),
                tx_batch_ms: 0,
            },
            cpu: CpuModel {
                ns_per_gas: 0.0,
                ns_per_signature: 0.0,
                ns_per_blob_commitment: 0.0,
                ns_per_blob_byte: 0.0,
            },
            l1: L1Model::default(),
            faults: self.faults,
            shortcuts: Shortcuts::NONE,
            rescue: self.rescue,
            ..Scenario::default()
        };
        let script = Script::new(self.delay_ms, self.record_committees);
        let mut sim = Simulation::build(scenario, Some(Box::new(script)))?;
        let (genesis, users) = sim
            .script_mut()
            .and_then(Script::take_setup)
            .ok_or_else(|| SimError::Setup("the engine kept no setup".into()))?;
        Ok(ScriptedRun {
            sim,
            genesis,
            nonces: vec![0; users.len()],
            users,
        })
    }
}

/// A run of the simulator's engine with its randomness and cost model
/// switched to fixed values: every link delays by the same time, no CPU
/// time is charged, there is no load generator, and every node has its own
/// stores and caches. A test drives it to a time, injects inputs, scripts
/// network and L1 faults with hooks, and reads the cores, L1 and the log.
pub struct ScriptedRun {
    sim: Simulation,
    genesis: Genesis,
    users: Vec<PrivateKey>,
    nonces: Vec<u64>,
}

impl ScriptedRun {
    /// How to set up `validators` validators on `spec`, starting at genesis
    /// with the first committees recorded.
    pub fn builder(spec: ChainSpec, validators: usize) -> ScriptedRunBuilder {
        ScriptedRunBuilder {
            spec,
            validators,
            followers: 0,
            delay_ms: DEFAULT_DELAY_MS,
            record_committees: true,
            faults: Vec::new(),
            rescue: true,
        }
    }

    /// `validators` validators on `spec`, otherwise as the builder's defaults.
    pub fn new(spec: ChainSpec, validators: usize) -> Result<Self, SimError> {
        Self::builder(spec, validators).build()
    }

    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.sim.spec
    }

    /// The chain's timetable.
    pub fn timetable(&self) -> &Timetable {
        &self.sim.tt
    }

    /// The genesis every node starts from.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The current virtual time.
    pub fn now(&self) -> UnixMillis {
        UnixMillis(self.sim.now)
    }

    /// Nodes in the run: the validators, then the followers.
    pub fn node_count(&self) -> usize {
        self.sim.node_count()
    }

    /// Node `node`'s core.
    pub fn core(&self, node: usize) -> Option<&Core> {
        self.sim.core(node)
    }

    /// Node `node`'s core, to hand it inputs directly (outside the run).
    pub fn core_mut(&mut self, node: usize) -> Option<&mut Core> {
        self.sim.core_mut(node)
    }

    /// Every node's core, in order.
    pub fn cores(&self) -> impl Iterator<Item = &Core> {
        (0..self.node_count()).filter_map(|i| self.core(i))
    }

    /// Validator `node`'s key.
    pub fn key(&self, node: usize) -> Option<&PrivateKey> {
        self.sim.key(node)
    }

    /// Validator `node`'s address.
    pub fn address(&self, node: usize) -> Option<Address> {
        self.key(node).map(PrivateKey::address)
    }

    /// Validator `node`'s slashing-protection store.
    pub fn protection_store(&self, node: usize) -> Option<Arc<SlashingProtectionStore>> {
        self.sim.protection(node).cloned()
    }

    /// The embedded L1.
    pub fn l1(&mut self) -> &mut EmbeddedL1 {
        &mut self.sim.l1
    }

    /// The validator that proposes `slot` (none if L1 cannot say yet).
    pub fn proposer_of(&mut self, slot: u64) -> Option<usize> {
        let (_, proposer) = self.sim.l1.duties(slot).ok()?;
        (0..self.node_count()).find(|i| self.address(*i) == Some(proposer))
    }

    /// The funded user accounts.
    pub fn users(&self) -> &[PrivateKey] {
        &self.users
    }

    /// What happened so far, in order.
    pub fn log(&self) -> &[Record] {
        self.sim.script().map_or(&[], Script::log)
    }

    /// Node `node`'s events, in order.
    pub fn events(&self, node: usize) -> impl Iterator<Item = &Event> {
        self.log().iter().filter_map(move |r| match &r.what {
            Recorded::Event(e) if r.node == Some(node) => Some(e),
            _ => None,
        })
    }

    /// Decides which gossip reaches which node, from now on.
    pub fn set_route(&mut self, route: impl FnMut(usize, usize, &Gossip) -> bool + Send + 'static) {
        if let Some(s) = self.sim.script_mut() {
            s.set_route(Box::new(route));
        }
    }

    /// Decides what of each node's L1 call reaches L1, from now on.
    pub fn set_l1_call(
        &mut self,
        hook: impl FnMut(usize, RollupCall) -> Option<RollupCall> + Send + 'static,
    ) {
        if let Some(s) = self.sim.script_mut() {
            s.set_l1_call(Box::new(hook));
        }
    }

    /// Delivers `input` to node `node` at `at` (a scripted message, such as
    /// a byzantine proposer's second proposal).
    pub fn inject(&mut self, at: UnixMillis, node: usize, input: Input) {
        self.sim.inject(at.0, node, input);
    }

    /// Signs a transfer from user `user` to the next user and hands it to
    /// every node now, as gossip. Returns its hash (none if there is no
    /// such user).
    pub fn send_transfer(&mut self, user: usize) -> Option<B256> {
        let key = self.users.get(user)?;
        let to = self.users.get((user + 1) % self.users.len())?.address();
        let nonce = self.nonces.get_mut(user)?;
        let raw = signed_transfer(
            key,
            self.sim.spec.chain_id,
            *nonce,
            to,
            U256::from(TRANSFER_WEI),
        );
        *nonce = nonce.saturating_add(1);
        let hash = keccak256(&raw);
        for node in 0..self.node_count() {
            let input = Input::Transactions {
                txs: vec![TxIn::Raw(raw.clone())],
                origin: TxOrigin::Gossip,
            };
            self.sim.inject(self.sim.now, node, input);
        }
        Some(hash)
    }

    /// Handles every delivery due by `until`, and calls `every_second` now
    /// and every 1,000 ms after (before the deliveries of that instant).
    pub fn run_until(&mut self, until: UnixMillis, mut every_second: impl FnMut(&mut Self)) {
        let mut next_call = self.sim.now;
        while let Some(at) = self.sim.next_at() {
            if at > until.0 {
                break;
            }
            if next_call <= at {
                // The call may queue deliveries before `at`: look again.
                self.sim.now = self.sim.now.max(next_call);
                every_second(self);
                next_call = next_call.saturating_add(1_000);
                continue;
            }
            self.sim.step();
        }
        self.sim.now = self.sim.now.max(until.0);
    }

    /// A core for validator `node`'s key outside the run, with its own
    /// state at genesis and `store` for slashing protection (a restart
    /// keeps the node's store; a fresh node has a new one).
    pub fn fresh_core(
        &self,
        node: usize,
        store: Arc<SlashingProtectionStore>,
    ) -> Result<Core, SimError> {
        let key = self
            .key(node)
            .ok_or_else(|| SimError::Setup(format!("node {node} is no validator")))?;
        let db = Arc::new(StateDb::in_memory().map_err(setup)?);
        self.genesis.commit(&db, self.spec()).map_err(setup)?;
        let signer: Arc<dyn Signer> =
            Arc::new(ProtectedSigner::new(LocalSigner::new(key.clone()), store));
        Core::new(self.spec().clone(), CoreConfig::default(), db, Some(signer)).map_err(setup)
    }
}

fn setup<E: std::fmt::Display>(e: E) -> SimError {
    SimError::Setup(e.to_string())
}
