//! A scripted harness: several cores on manual time, an in-memory network
//! with a fixed delay, and the embedded L1 running the real Rollup contract.
//! Test code, not the simulator: no randomness, no faults beyond what a test
//! scripts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    dead_code,
    unreachable_pub,
    clippy::large_enum_variant
)]

use std::{cmp::Reverse, collections::BinaryHeap, sync::Arc};

use alloy_primitives::{Address, B256, U256};
use chunkseq_execution::{Genesis, dev_keys, pool::signed_transfer};
use chunkseq_l1::{EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall};
use chunkseq_primitives::{ChainSpec, LocalSigner, PrivateKey, Signer, UnixMillis};
use chunkseq_protocol::{Core, CoreConfig, Duties, Event, Gossip, Input, Output, TxIn, TxOrigin};
use chunkseq_signer::{ProtectedSigner, SlashingProtectionStore};
use chunkseq_state::StateDb;

/// One-way network delay.
pub const DELAY_MS: u64 = 50;

/// What a node did, in order, for assertions.
#[derive(Clone, Debug)]
pub struct Record {
    pub at: UnixMillis,
    pub node: usize,
    pub what: Recorded,
}

#[derive(Clone, Debug)]
pub enum Recorded {
    Event(Event),
    Published(Gossip),
    Submitted(RollupCall),
    L1(L1Event),
}

enum Delivery {
    Node(usize, Input),
    L1Tick,
}

/// Which node gets a gossip message: `Some(false)` drops it. A test
/// changes it to script network faults.
pub type Route = Box<dyn Fn(usize, usize, &Gossip) -> bool>;

/// Whether node `i`'s L1 call is sent: a test scripts a proposer that never
/// publishes with it.
pub type Publish = Box<dyn Fn(usize, &RollupCall) -> bool>;

/// Rewrites node `i`'s L1 call before it is sent: a test scripts a proposer
/// that publishes a different checkpoint than its provisional chain.
pub type Rewrite = Box<dyn Fn(usize, RollupCall) -> RollupCall>;

pub struct Harness {
    pub spec: ChainSpec,
    pub genesis: Genesis,
    pub now: UnixMillis,
    pub nodes: Vec<Core>,
    pub keys: Vec<PrivateKey>,
    pub stores: Vec<Arc<SlashingProtectionStore>>,
    pub l1: EmbeddedL1,
    pub users: Vec<PrivateKey>,
    pub nonces: Vec<u64>,
    pub log: Vec<Record>,
    pub route: Route,
    pub publish: Publish,
    pub rewrite: Rewrite,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    items: Vec<Option<Delivery>>,
    seq: u64,
}

impl Harness {
    /// `n` validators on `spec`, starting at genesis with the first
    /// committees recorded.
    pub fn new(spec: ChainSpec, n: usize) -> Self {
        Self::build(spec, n, true)
    }

    /// `n` validators on `spec`, starting a little before genesis with no
    /// committee recorded: the validators record them.
    pub fn unrecorded(spec: ChainSpec, n: usize) -> Self {
        Self::build(spec, n, false)
    }

    fn build(spec: ChainSpec, n: usize, record: bool) -> Self {
        let keys: Vec<PrivateKey> = (0..n)
            .map(|i| PrivateKey::from_bytes([i as u8 + 1; 32]).unwrap())
            .collect();
        let users = dev_keys("harness users", 8);
        let mut funded: Vec<Address> = users.iter().map(PrivateKey::address).collect();
        funded.extend(keys.iter().map(PrivateKey::address));
        let ether = U256::from(10u64).pow(U256::from(24u64));
        let genesis = Genesis::funded(&funded, ether, ether);
        let genesis_hash = genesis.hash(&spec).unwrap();
        let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
        let mut l1 =
            EmbeddedL1::new(&spec, genesis_hash, &addrs, EmbeddedConfig::default()).unwrap();
        if record {
            let genesis = chunkseq_primitives::Timetable::new(&spec)
                .unwrap()
                .genesis();
            l1.record_genesis_committees(addrs[0], genesis).unwrap();
        }
        let mut stores = Vec::new();
        let nodes = keys
            .iter()
            .map(|k| {
                let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
                stores.push(Arc::clone(&store));
                Self::core(&spec, &genesis, k, store)
            })
            .collect();
        let now = l1.head().timestamp;
        let mut h = Self {
            spec,
            genesis,
            now,
            nodes,
            keys,
            stores,
            l1,
            nonces: vec![0; users.len()],
            users,
            log: Vec::new(),
            route: Box::new(|_, _, _| true),
            publish: Box::new(|_, _| true),
            rewrite: Box::new(|_, call| call),
            queue: BinaryHeap::new(),
            items: Vec::new(),
            seq: 0,
        };
        // Every core starts by catching up: at genesis, L1's tip is all it needs.
        let tip = h.l1.tip().unwrap();
        for i in 0..n {
            h.push(now.0, Delivery::Node(i, Input::L1Tip(tip)));
        }
        h.push(now.0, Delivery::L1Tick);
        h
    }

    /// A validator core with its own in-memory state at `genesis`.
    pub fn core(
        spec: &ChainSpec,
        genesis: &Genesis,
        key: &PrivateKey,
        store: Arc<SlashingProtectionStore>,
    ) -> Core {
        let db = Arc::new(StateDb::in_memory().unwrap());
        genesis.commit(&db, spec).unwrap();
        let signer: Arc<dyn Signer> =
            Arc::new(ProtectedSigner::new(LocalSigner::new(key.clone()), store));
        Core::new(spec.clone(), CoreConfig::default(), db, Some(signer)).unwrap()
    }

    /// The node that proposes `slot`.
    pub fn proposer_of(&mut self, slot: u64) -> usize {
        let (_, proposer) = self.l1.duties(slot).unwrap();
        (0..self.nodes.len())
            .find(|i| self.address(*i) == proposer)
            .unwrap()
    }

    pub fn address(&self, node: usize) -> Address {
        self.keys[node].address()
    }

    fn push(&mut self, at: u64, d: Delivery) {
        self.seq += 1;
        self.items.push(Some(d));
        self.queue
            .push(Reverse((at, self.seq, self.items.len() - 1)));
    }

    /// Signs a transfer from user `u` and hands it to every node.
    pub fn send_transfer(&mut self, u: usize) -> B256 {
        let key = &self.users[u];
        let to = self.users[(u + 1) % self.users.len()].address();
        let raw = signed_transfer(
            key,
            self.spec.chain_id,
            self.nonces[u],
            to,
            U256::from(1_000u64),
        );
        self.nonces[u] += 1;
        let tx_hash = alloy_primitives::keccak256(&raw);
        for i in 0..self.nodes.len() {
            self.push(
                self.now.0,
                Delivery::Node(
                    i,
                    Input::Transactions {
                        txs: vec![TxIn::Raw(raw.clone())],
                        origin: TxOrigin::Gossip,
                    },
                ),
            );
        }
        tx_hash
    }

    /// Runs until `until`, calling `script` at every whole second of time.
    pub fn run_until(&mut self, until: UnixMillis, mut script: impl FnMut(&mut Self)) {
        let mut next_script = self.now.0;
        while let Some(Reverse((at, _, idx))) = self.queue.peek().copied() {
            if at > until.0 {
                break;
            }
            if next_script <= at {
                // The script may queue deliveries before `at`: look again.
                self.now = UnixMillis(next_script);
                script(self);
                next_script += 1_000;
                continue;
            }
            self.queue.pop();
            self.now = UnixMillis(at);
            let Some(d) = self.items[idx].take() else {
                continue;
            };
            match d {
                Delivery::Node(i, input) => self.deliver(i, input),
                Delivery::L1Tick => {
                    let events = self.l1.mine_block().unwrap();
                    for e in events {
                        self.log.push(Record {
                            at: self.now,
                            node: usize::MAX,
                            what: Recorded::L1(e.clone()),
                        });
                        for i in 0..self.nodes.len() {
                            self.push(at, Delivery::Node(i, Input::L1(e.clone())));
                        }
                    }
                    let next = self.l1.head().timestamp.0 + self.spec.l1_block_time_ms;
                    self.push(next, Delivery::L1Tick);
                }
            }
        }
        self.now = until;
    }

    fn deliver(&mut self, i: usize, input: Input) {
        let outputs = self.nodes[i].handle(self.now, input);
        for o in outputs {
            match o {
                Output::Publish(g) => {
                    self.log.push(Record {
                        at: self.now,
                        node: i,
                        what: Recorded::Published(g.clone()),
                    });
                    for j in 0..self.nodes.len() {
                        if j != i && (self.route)(i, j, &g) {
                            self.push(
                                self.now.0 + DELAY_MS,
                                Delivery::Node(j, Input::Gossip(g.clone())),
                            );
                        }
                    }
                }
                Output::SubmitL1 { call, deadline } => {
                    let call = (self.rewrite)(i, call);
                    self.log.push(Record {
                        at: self.now,
                        node: i,
                        what: Recorded::Submitted(call.clone()),
                    });
                    let from = self.address(i);
                    if !(self.publish)(i, &call) {
                        continue;
                    }
                    match self.l1.check(from, &call) {
                        Ok(()) => {
                            self.l1.submit_until(from, call, deadline);
                        }
                        Err(L1Error::Reverted { reason }) => {
                            eprintln!(
                                "t={} node {i}: L1 refused {}: {reason}",
                                self.now.0,
                                call.name()
                            );
                            self.push(
                                self.now.0,
                                Delivery::Node(
                                    i,
                                    Input::L1CallFailed {
                                        call: call.name(),
                                        reason,
                                    },
                                ),
                            )
                        }
                        Err(e) => panic!("L1: {e}"),
                    }
                }
                Output::WakeAt(t) => self.push(t.0, Delivery::Node(i, Input::Tick)),
                Output::FetchL1Tip => {
                    let tip = self.l1.tip().unwrap();
                    self.push(self.now.0, Delivery::Node(i, Input::L1Tip(tip)));
                }
                Output::FetchCheckpoints {
                    after_slot,
                    from_l1_block,
                } => {
                    let events = self.l1.checkpoints_after(after_slot, from_l1_block, 64);
                    self.push(self.now.0, Delivery::Node(i, Input::L1Checkpoints(events)));
                }
                // No peer serves catch-up here: every core starts at genesis.
                Output::RequestSync(_) => {}
                Output::FetchDuties(slot) => {
                    let input = match self.l1.duties(slot) {
                        Ok((committee, proposer)) => Input::Duties {
                            slot,
                            duties: Duties {
                                committee,
                                proposer,
                            },
                        },
                        Err(e) => Input::DutiesUnavailable {
                            slot,
                            reason: e.to_string(),
                        },
                    };
                    self.push(self.now.0, Delivery::Node(i, input));
                }
                Output::Event(e) => self.log.push(Record {
                    at: self.now,
                    node: i,
                    what: Recorded::Event(e),
                }),
                Output::Ignored { .. } => {}
                Output::Rejected { topic, reason } => {
                    panic!("node {i} rejected a {topic} message: {reason}")
                }
            }
        }
    }

    /// Delivers `input` to node `i` at time `at` (a scripted message, such
    /// as a byzantine proposer's second proposal).
    pub fn inject(&mut self, at: UnixMillis, i: usize, input: Input) {
        self.push(at.0, Delivery::Node(i, input));
    }

    /// Events of node `i`, in order.
    pub fn events(&self, i: usize) -> impl Iterator<Item = &Event> {
        self.log.iter().filter_map(move |r| match &r.what {
            Recorded::Event(e) if r.node == i => Some(e),
            _ => None,
        })
    }
}
