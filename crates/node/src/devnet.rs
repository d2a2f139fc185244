//! The one-process devnet: N validator nodes, each with its own libp2p swarm
//! on loopback, its own databases and keys, sharing one embedded L1; a load
//! generator that sends signed transfers and ERC-20 transfers through the
//! nodes' JSON-RPC; one line per slot; and, with a slot limit, the report of
//! docs/design.md section 13.

use std::{
    collections::BTreeMap,
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::{Address, U256, keccak256};
use chunkseq_execution::{DEVNET_PHRASE, Genesis, dev_keys};
use chunkseq_l1::{
    EmbeddedConfig, EmbeddedL1, SharedEmbeddedL1,
    rpc::{ANVIL_DEPLOYER_KEY, RpcConfig, RpcL1, deploy_rollup},
};
use chunkseq_primitives::{ChainSpec, Preset, PrivateKey, Slot, Timetable, UnixMillis};
use chunkseq_protocol::{CoreConfig, TxStatus};
use chunkseq_report::{HaSummary, Percentiles, Recorder, Report, RunInfo};
use chunkseq_signer::{PostgresProtectionStore, ThrowawayCluster};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::{
    clock::{Clock, SystemClock},
    events::Notification,
    loadgen::LoadGen,
    node::{Node, NodeConfig, NodeFaults},
    rpc_limits::RpcLimits,
};

/// Settings of a devnet run.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Validator nodes.
    pub nodes: usize,
    /// Parameter preset.
    pub preset: Preset,
    /// Stop after this many slots (and print the report); `None` runs until stopped.
    pub slots: Option<u64>,
    /// Load in transactions per second.
    pub tps: f64,
    /// Share of the load that is ERC-20 transfers (0..=1).
    pub erc20_share: f64,
    /// Load accounts funded at genesis; `None` picks
    /// [`crate::loadgen::default_accounts`] for the rate.
    pub accounts: Option<usize>,
    /// Where the nodes keep their databases; `None` uses a temporary directory.
    pub data_dir: Option<PathBuf>,
    /// First RPC port (node i listens on `rpc_port + i`); 0 picks free ports.
    pub rpc_port: u16,
    /// Fault injection: the proposer of this slot withholds its checkpoint,
    /// so the slot's blocks are retracted when its publish window closes.
    pub withhold_checkpoint: Option<u64>,
    /// Whether nodes rescue slots whose proposer did not publish.
    pub rescue: bool,
    /// Seconds from start to genesis (peers connect meanwhile).
    pub lead_seconds: u64,
    /// Nodes not started with the others (tests start them with [`Control::Start`]).
    pub start_later: Vec<usize>,
    /// Run against this Ethereum JSON-RPC endpoint (a fresh anvil with
    /// `--block-time 2`) instead of the embedded L1: the Rollup contract is
    /// deployed there from anvil's first account.
    pub l1_rpc: Option<String>,
    /// Where checkpoints put their data, overriding the preset's mode.
    pub data_mode: Option<chunkseq_primitives::DataMode>,
    /// A burst of load above `tps` ([`crate::flood`]).
    pub flood: Option<crate::flood::Flood>,
    /// Reads at a fixed rate for a while ([`crate::read_load`]).
    pub read_load: Option<crate::read_load::ReadLoad>,
    /// Runs validator N as a pair: node N and one more node (numbered
    /// `nodes`) with the same key and one PostgreSQL slashing-protection
    /// database (docs/slashing-protection.md).
    pub ha_pair: Option<usize>,
    /// The pair's database (`postgres://...`); `None` starts a throwaway
    /// PostgreSQL cluster with Debian's binaries and removes it at exit.
    pub protection_db: Option<String>,
    /// Stops the pair's active node (the holder of its newest build lease)
    /// this often, as `kill -9` would, and starts it again half a period
    /// later.
    pub kill_active_every: Option<Duration>,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            nodes: 4,
            preset: Preset::Devnet,
            slots: None,
            tps: 100.0,
            erc20_share: 0.25,
            accounts: None,
            data_dir: None,
            rpc_port: 0,
            withhold_checkpoint: None,
            rescue: true,
            lead_seconds: 3,
            start_later: Vec::new(),
            l1_rpc: None,
            data_mode: None,
            flood: None,
            read_load: None,
            ha_pair: None,
            protection_db: None,
            kill_active_every: None,
        }
    }
}

/// Why a devnet failed.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// Bad settings.
    #[error("invalid devnet settings: {0}")]
    Config(String),
    /// Something failed while starting.
    #[error("devnet setup: {0}")]
    Setup(String),
}

fn setup(e: impl std::fmt::Display) -> DevnetError {
    DevnetError::Setup(e.to_string())
}

/// What one node saw, sent to the aggregator.
struct Seen {
    node: usize,
    at: Instant,
    what: Notification,
}

/// What a slot's printed line needs beyond the recorder's figures.
#[derive(Debug, Default)]
struct SlotLine {
    /// The attestation threshold its blocks met.
    threshold: usize,
    /// Provisional latencies of the transactions its blocks carried, ms.
    latencies: Vec<f64>,
    /// The L1 block that holds its checkpoint.
    l1_block: Option<u64>,
    /// Which node rescued it, if its proposer did not publish it.
    rescued_by: Option<String>,
    printed: bool,
}

/// The aggregator: the shared report recorder, fed from the nodes'
/// notifications, and what only the devnet prints or hashes.
struct Aggregator {
    recorder: Recorder,
    /// The validators' addresses, by node.
    addresses: Vec<Address>,
    /// Times are ms since this.
    started: Instant,
    lines: BTreeMap<u64, SlotLine>,
    /// Each checkpoint's slot and last block number as the observer applied
    /// them, hashed into the digest.
    checkpoint_hashes: Vec<u8>,
    /// `(submitted, provisional latency)` of each transaction, ms.
    by_submission: Vec<(u64, u64)>,
    /// Resident memory and the largest pool at the last sample.
    rss_now: Option<u64>,
    pool_now: u64,
    /// The validator run as a pair, and what its failovers did.
    ha: Option<HaSummary>,
    /// Offences against the pair's key, once each: (offence, slot).
    ha_offences: std::collections::BTreeSet<(String, u64)>,
}

impl Aggregator {
    fn new(observer: usize, addresses: Vec<Address>, started: Instant) -> Self {
        Self {
            recorder: Recorder::new(observer),
            addresses,
            started,
            lines: BTreeMap::new(),
            checkpoint_hashes: Vec::new(),
            by_submission: Vec::new(),
            rss_now: None,
            pool_now: 0,
            ha: None,
            ha_offences: std::collections::BTreeSet::new(),
        }
    }

    /// Counts an offence if it is the pair's.
    fn ha_offence(&mut self, offender: Address, offence: String, slot: u64) {
        let Some(ha) = self.ha.as_mut() else { return };
        if offender == ha.ha_validator && self.ha_offences.insert((offence, slot)) {
            ha.conflicting_signatures = ha.conflicting_signatures.saturating_add(1);
            println!("CONFLICTING SIGNATURE by the validator pair in slot {slot}");
        }
    }

    /// `at` in ms since the start.
    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    fn observe(&mut self, s: Seen) {
        let at = self.ms(s.at);
        let observer = s.node == self.recorder.observer();
        match s.what {
            Notification::Provisional { block, threshold } => {
                let line = self.lines.entry(block.slot).or_default();
                // Latency counts at a node other than the block's proposer.
                if self.addresses.get(s.node) != Some(&block.coinbase) {
                    for h in &block.transactions {
                        if let Some(l) = self.recorder.tx_provisional(*h, at) {
                            line.latencies.push(l as f64);
                            self.by_submission.push((at.saturating_sub(l), l));
                        }
                    }
                }
                // The devnet sees a block first when some node announces it
                // provisional: that stands for its proposal too.
                if self.recorder.block(block.slot, block.index).is_none() {
                    let proposer = self
                        .addresses
                        .iter()
                        .position(|a| *a == block.coinbase)
                        .unwrap_or(usize::MAX);
                    let (slot, index) = (block.slot, block.index);
                    self.recorder.block_proposed(proposer, slot, index, at);
                    self.recorder
                        .block_provisional(slot, index, block.transactions.len(), at);
                    self.recorder
                        .block_attested(slot, index, block.attestations);
                    line.threshold = threshold;
                }
            }
            Notification::Tx { hash, status, .. }
                if observer && status == TxStatus::Checkpointed =>
            {
                self.recorder.tx_checkpointed(hash, at);
            }
            Notification::Checkpoint {
                slot,
                blocks,
                l1_block,
                last_number,
                blobs,
                rescued_by,
                ..
            } if observer => {
                self.recorder.checkpoint(slot, blocks, at);
                self.recorder.checkpoint_blobs(slot, blobs);
                let rescuer = rescued_by.map(|r| {
                    self.addresses
                        .iter()
                        .position(|a| *a == r)
                        .map_or_else(|| r.to_string(), |i| format!("node-{i}"))
                });
                if rescuer.is_some() {
                    self.recorder.rescued(slot);
                }
                let line = self.lines.entry(slot).or_default();
                line.l1_block = Some(l1_block);
                line.rescued_by = rescuer;
                self.checkpoint_hashes
                    .extend_from_slice(&slot.to_be_bytes());
                self.checkpoint_hashes
                    .extend_from_slice(&last_number.to_be_bytes());
            }
            Notification::Reorg {
                cause,
                slots,
                retracted_blocks,
                ..
            } if observer => {
                self.recorder
                    .reorg(&slots, retracted_blocks.len(), cause.name(), at);
            }
            Notification::Slashed {
                validator,
                offence,
                slot,
            } if observer => {
                self.ha_offence(validator, format!("{offence:?}"), slot);
                self.recorder
                    .slashed(validator, offence.l1_code(), slot, at);
            }
            Notification::Evidence {
                offence,
                offender,
                slot,
            } => self.ha_offence(offender, format!("{offence:?}"), slot),
            Notification::Failover {
                slot,
                from_index,
                previous,
            } => {
                if let Some(ha) = self.ha.as_mut() {
                    ha.ha_failovers = ha.ha_failovers.saturating_add(1);
                }
                println!(
                    "slot {slot:>4}  failover: node-{} took the slot over from {previous} at block {from_index}",
                    s.node
                );
            }
            _ => {}
        }
    }

    /// Whether `slot`'s line was printed.
    fn printed(&self, slot: u64) -> bool {
        self.lines.get(&slot).is_some_and(|l| l.printed)
    }

    fn print_slot(&mut self, slot: u64) {
        let line = self.lines.entry(slot).or_default();
        if line.printed {
            return;
        }
        line.printed = true;
        let proposer = self
            .recorder
            .builder(slot)
            .filter(|i| *i < self.addresses.len())
            .map_or_else(|| "-".to_owned(), |i| format!("node-{i}"));
        let (blocks, txs, attestations) =
            self.recorder
                .blocks_of(slot)
                .fold((0u32, 0usize, 0usize), |(n, txs, att), b| {
                    (
                        n.saturating_add(1),
                        txs.saturating_add(b.txs),
                        att.max(b.attestations),
                    )
                });
        let p = Percentiles::of(&line.latencies);
        let checkpoint = line.l1_block.zip(self.recorder.checkpoint_of(slot));
        let landed = match (checkpoint, self.recorder.is_reorged(slot)) {
            (Some((l1, (_, n))), _) => match &line.rescued_by {
                Some(by) => format!("rescued by {by} in L1 block {l1} ({n} blocks)"),
                None => format!("checkpointed in L1 block {l1} ({n} blocks)"),
            },
            (None, true) => "NOT checkpointed: publish window missed, reorged".into(),
            (None, false) => "NOT checkpointed".into(),
        };
        let memory = self.rss_now.map_or_else(String::new, |b| {
            format!("  rss {:.0} MiB", crate::memory::mib(b))
        });
        println!(
            "slot {slot:>4}  proposer {proposer:<7}  blocks {blocks:>2}  txs {txs:>5}  attestations {attestations}/{}  provisional p50 {:>4.0} ms p99 {:>5.0} ms  {landed}  pool {}{memory}",
            line.threshold, p.p50, p.p99, self.pool_now
        );
    }
}

/// Asks a running devnet to change its nodes (tests of restarts and late
/// starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Drop node `i` abruptly: its threads stop between two writes, as after
    /// `kill -9`, without a clean shutdown.
    Kill(usize),
    /// Start node `i` (again) from its data directory.
    Start(usize),
    /// Start node `i` without dialing the others: with no peer to serve it,
    /// it catches up from L1's logs alone and then follows L1.
    StartIsolated(usize),
}

/// A handle on a running devnet.
#[derive(Debug, Clone)]
pub struct DevnetHandle {
    rpc: Arc<parking_lot::Mutex<Vec<SocketAddr>>>,
    /// Where to send [`Control`]s.
    pub control: mpsc::UnboundedSender<Control>,
}

impl DevnetHandle {
    /// Node `i`'s JSON-RPC address (port 0 until it has started).
    pub fn rpc(&self, i: usize) -> SocketAddr {
        self.rpc
            .lock()
            .get(i)
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// Where a devnet's L1 runs.
enum L1Source {
    /// In this process, on the wall clock.
    Embedded(SharedEmbeddedL1),
    /// An Ethereum node holding the Rollup contract.
    Rpc {
        /// Its endpoint.
        url: String,
        /// The contract.
        rollup: Address,
    },
}

/// A devnet whose nodes are up, before the run.
pub struct Devnet {
    cfg: DevnetConfig,
    spec: ChainSpec,
    tt: Timetable,
    l1: L1Source,
    nodes: Vec<Option<Node>>,
    configs: Vec<NodeConfig>,
    addresses: Vec<Address>,
    users: Vec<PrivateKey>,
    seen_tx: mpsc::UnboundedSender<Seen>,
    seen_rx: mpsc::UnboundedReceiver<Seen>,
    control_rx: mpsc::UnboundedReceiver<Control>,
    handle: DevnetHandle,
    started: Instant,
    /// The validator pair: its validator index and its second node's.
    pair: Option<(usize, usize)>,
    /// The pair's protection database, asked which node is active.
    pair_store: PairStore,
    /// The pair's node stopped last.
    last_killed: Option<usize>,
    /// The throwaway PostgreSQL cluster the pair uses, if the devnet
    /// started one (removed when dropped, after the nodes stop).
    _cluster: Option<ThrowawayCluster>,
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("nodes", &self.nodes.len())
            .field("rpc", &self.handle.rpc.lock())
            .finish_non_exhaustive()
    }
}

/// Forwards node `node`'s notifications to the aggregator: blocks,
/// checkpoints, reorgs and evidence of every node; of the observer, also
/// which transactions were checkpointed (its transaction statuses, which
/// come thousands a second, on their own channel, so the block
/// notifications the latencies come from are never lost behind them).
fn forward(node: usize, n: &Node, observer: bool, tx: &mpsc::UnboundedSender<Seen>) {
    relay(node, n.subscribe(), tx.clone(), |_| true);
    if observer {
        relay(node, n.subscribe_txs(), tx.clone(), |n| {
            matches!(
                n,
                Notification::Tx {
                    status: TxStatus::Checkpointed,
                    ..
                }
            )
        });
    }
}

fn relay(
    node: usize,
    mut rx: tokio::sync::broadcast::Receiver<Notification>,
    tx: mpsc::UnboundedSender<Seen>,
    keep: fn(&Notification) -> bool,
) {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(what) if keep(&what) => {
                    if tx
                        .send(Seen {
                            node,
                            at: Instant::now(),
                            what,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => {
                    warn!(target: "chunkseq::devnet", node, missed = k, "reporter lagged");
                }
                Err(_) => break,
            }
        }
    });
}

impl Devnet {
    /// Sets up genesis, the embedded L1 and the nodes (all but
    /// `cfg.start_later`), connected on loopback.
    pub async fn start(cfg: DevnetConfig) -> Result<Self, DevnetError> {
        if cfg.nodes == 0 {
            return Err(DevnetError::Config("--nodes must be at least 1".into()));
        }
        if !(cfg.tps >= 0.0 && cfg.tps.is_finite()) {
            return Err(DevnetError::Config(
                "--tps must be a non-negative number".into(),
            ));
        }
        if let Some(n) = cfg.ha_pair
            && n >= cfg.nodes
        {
            return Err(DevnetError::Config(format!(
                "--ha-pair {n}: there are only validators 0 to {}",
                cfg.nodes.saturating_sub(1)
            )));
        }
        if cfg.ha_pair.is_none() && (cfg.kill_active_every.is_some() || cfg.protection_db.is_some())
        {
            return Err(DevnetError::Config(
                "--kill-active-every and --protection-db need --ha-pair".into(),
            ));
        }
        if cfg
            .kill_active_every
            .is_some_and(|d| d < Duration::from_secs(2))
        {
            return Err(DevnetError::Config(
                "--kill-active-every must be at least 2 seconds".into(),
            ));
        }
        let started = Instant::now();
        let mut spec: ChainSpec = cfg.preset.spec();
        if let Some(mode) = cfg.data_mode {
            spec.data_mode = mode;
        }
        // The KZG trusted setup takes seconds to load; the nodes share it.
        // Loaded before genesis is fixed, so the first slot is built whole.
        if spec.data_mode.signs_blobs() {
            tokio::task::spawn_blocking(|| {
                let _ = chunkseq_da::kzg_settings();
            })
            .await
            .map_err(|e| setup(format!("loading the KZG trusted setup: {e}")))?;
        }
        let now = SystemClock.now();
        // Deploying on a real L1 takes a few of its blocks.
        let lead = if cfg.l1_rpc.is_some() {
            cfg.lead_seconds.max(30)
        } else {
            cfg.lead_seconds
        };
        spec.genesis_time = now.0.div_ceil(1_000).saturating_add(lead);
        spec.validate().map_err(setup)?;
        let tt = Timetable::new(&spec).map_err(setup)?;
        let accounts = cfg
            .accounts
            .unwrap_or_else(|| crate::loadgen::default_accounts(cfg.tps));
        if accounts == 0 {
            return Err(DevnetError::Config("--accounts must be at least 1".into()));
        }
        let keys = dev_keys(DEVNET_PHRASE, cfg.nodes.saturating_add(accounts));
        let (validators, users) = keys.split_at(cfg.nodes);
        let addresses: Vec<Address> = validators.iter().map(PrivateKey::address).collect();
        let genesis = Genesis::devnet(DEVNET_PHRASE, cfg.nodes, accounts).map_err(setup)?;
        let genesis_hash = genesis.hash(&spec).map_err(setup)?;
        let l1 = match &cfg.l1_rpc {
            None => L1Source::Embedded(SharedEmbeddedL1::new(
                EmbeddedL1::new(
                    &spec,
                    genesis_hash,
                    &addresses,
                    EmbeddedConfig {
                        start: Some(now.min(EmbeddedL1::default_start(&spec))),
                        ..EmbeddedConfig::default()
                    },
                )
                .map_err(setup)?,
            )),
            Some(url) => {
                let deployer = PrivateKey::from_bytes(ANVIL_DEPLOYER_KEY).map_err(setup)?;
                let stake = U256::from(32u64) * U256::from(10u64).pow(U256::from(18u64));
                println!(
                    "deploying the Rollup contract on {url} and registering {} validators",
                    cfg.nodes
                );
                let report = deploy_rollup(url, &deployer, &spec, genesis_hash, stake, validators)
                    .await
                    .map_err(|e| DevnetError::Setup(format!("deploying on {url}: {e}")))?;
                if report.rollup != spec.rollup_address {
                    return Err(DevnetError::Setup(format!(
                        "the Rollup contract landed at {} instead of {}: the devnet needs a fresh anvil",
                        report.rollup, spec.rollup_address
                    )));
                }
                L1Source::Rpc {
                    url: url.clone(),
                    rollup: report.rollup,
                }
            }
        };
        let (temp, data_root) = match &cfg.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().map_err(setup)?;
                let root = t.path().to_path_buf();
                (Some(t), root)
            }
        };
        info!(target: "chunkseq::devnet", nodes = cfg.nodes, preset = %cfg.preset, data = %data_root.display(), "starting devnet");
        // A validator pair shares one PostgreSQL database.
        let (cluster, pair_db) = match (cfg.ha_pair, &cfg.protection_db) {
            (None, _) => (None, None),
            (Some(_), Some(url)) => (None, Some(url.clone())),
            (Some(_), None) => {
                let cluster = tokio::task::spawn_blocking(ThrowawayCluster::start)
                    .await
                    .map_err(setup)?
                    .map_err(|e| setup(format!("the validator pair's PostgreSQL: {e}")))?;
                println!(
                    "validator pair: a throwaway PostgreSQL cluster in {} at {} (removed at exit)",
                    cluster.data_dir().display(),
                    cluster.url()
                );
                let url = cluster.url();
                (Some(cluster), Some(url))
            }
        };
        let pair = cfg.ha_pair.map(|n| (n, cfg.nodes));
        let pair_store = match &pair_db {
            Some(url) => Some(Arc::new(
                PostgresProtectionStore::connect(url, Duration::from_secs(2))
                    .map_err(|e| setup(format!("--protection-db: {e}")))?,
            )),
            None => None,
        };
        let mut configs = Vec::new();
        for (i, key) in validators.iter().enumerate() {
            let port = if cfg.rpc_port == 0 {
                0
            } else {
                cfg.rpc_port
                    .checked_add(u16::try_from(i).unwrap_or(u16::MAX))
                    .ok_or_else(|| {
                        DevnetError::Config("--rpc-port too high for that many nodes".into())
                    })?
            };
            configs.push(NodeConfig {
                spec: spec.clone(),
                genesis: genesis.clone(),
                data_dir: Some(data_root.join(format!("node-{i}"))),
                db_cache_mib: DEVNET_DB_CACHE_MIB,
                key: Some(key.clone()),
                p2p_secret: None,
                listen: "/ip4/127.0.0.1/tcp/0".parse().map_err(setup)?,
                bootnodes: Vec::new(),
                rpc: SocketAddr::from(([127, 0, 0, 1], port)),
                rpc_limits: RpcLimits::default(),
                metrics: None,
                core: CoreConfig {
                    rescue: cfg.rescue,
                    ..CoreConfig::default()
                },
                faults: cfg
                    .withhold_checkpoint
                    .map(NodeFaults::withhold_checkpoint)
                    .unwrap_or_default(),
                protection_db: (cfg.ha_pair == Some(i)).then(|| pair_db.clone()).flatten(),
                ha_node_name: (cfg.ha_pair == Some(i)).then(|| format!("node-{i}")),
            });
        }
        // The pair's second node: the same key, its own data and identity.
        let mut addresses = addresses;
        if let Some((n, second)) = pair
            && let Some(first) = configs.get(n).cloned()
        {
            let port = match first.rpc.port() {
                0 => 0,
                p => p
                    .checked_add(u16::try_from(second.saturating_sub(n)).unwrap_or(u16::MAX))
                    .ok_or_else(|| {
                        DevnetError::Config("--rpc-port too high for the pair".into())
                    })?,
            };
            configs.push(NodeConfig {
                data_dir: Some(data_root.join(format!("node-{second}"))),
                rpc: SocketAddr::from(([127, 0, 0, 1], port)),
                ha_node_name: Some(format!("node-{second}")),
                ..first
            });
            addresses.push(addresses.get(n).copied().unwrap_or_default());
            println!(
                "validator pair: node-{n} and node-{second} run validator {n}'s key over one slashing-protection database"
            );
        }
        let node_count = configs.len();
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let (control, control_rx) = mpsc::unbounded_channel();
        let mut devnet = Self {
            handle: DevnetHandle {
                rpc: Arc::new(parking_lot::Mutex::new(vec![
                    SocketAddr::from((
                        [127, 0, 0, 1],
                        0
                    ));
                    node_count
                ])),
                control,
            },
            cfg,
            spec,
            tt,
            l1,
            nodes: Vec::new(),
            configs,
            addresses,
            users: users.to_vec(),
            seen_tx,
            seen_rx,
            control_rx,
            started,
            pair,
            pair_store: PairStore(pair_store),
            last_killed: None,
            _cluster: cluster,
            _temp: temp,
        };
        devnet.nodes = (0..node_count).map(|_| None).collect();
        for i in 0..node_count {
            if !devnet.cfg.start_later.contains(&i) {
                devnet.start_node(i).await?;
            }
        }
        Ok(devnet)
    }

    /// The handle tests drive the devnet with.
    pub fn handle(&self) -> DevnetHandle {
        self.handle.clone()
    }

    /// Starts node `i` from its data directory, dialing the running nodes.
    pub async fn start_node(&mut self, i: usize) -> Result<(), DevnetError> {
        self.start_node_dialing(i, true).await
    }

    async fn start_node_dialing(&mut self, i: usize, dial: bool) -> Result<(), DevnetError> {
        let mut cfg = self
            .configs
            .get(i)
            .cloned()
            .ok_or_else(|| DevnetError::Config(format!("no node {i}")))?;
        if dial {
            cfg.bootnodes = self
                .nodes
                .iter()
                .flatten()
                .flat_map(Node::listen_addrs)
                .collect();
        }
        let known = self.handle.rpc(i);
        if known.port() != 0 {
            // A restarted node keeps its RPC address.
            cfg.rpc = known;
        }
        let node = match &self.l1 {
            L1Source::Embedded(l1) => Node::start(cfg, Arc::new(l1.subscribe())).await,
            L1Source::Rpc { url, rollup } => {
                let keys: Vec<PrivateKey> = cfg.key.iter().cloned().collect();
                let l1 = RpcL1::connect(
                    url,
                    *rollup,
                    &keys,
                    RpcConfig {
                        block_time_ms: self.spec.l1_block_time_ms,
                        ..RpcConfig::default()
                    },
                )
                .await
                .map_err(setup)?;
                Node::start(cfg, Arc::new(l1)).await
            }
        }
        .map_err(setup)?;
        println!(
            "node-{i}  validator {}  rpc http://{}  p2p {}",
            self.addresses
                .get(i)
                .map(ToString::to_string)
                .unwrap_or_default(),
            node.rpc_addr(),
            node.listen_addrs()
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        let observer = i == observer_of(&self.cfg);
        forward(i, &node, observer, &self.seen_tx);
        if let Some(slot) = self.handle.rpc.lock().get_mut(i) {
            *slot = node.rpc_addr();
        }
        if let Some(slot) = self.nodes.get_mut(i) {
            *slot = Some(node);
        }
        Ok(())
    }

    /// Stops the pair's active node and has it started again after
    /// `down`. While the pair builds or publishes one of its slots (a build
    /// lease of this slot or the one before), the active node is the
    /// lease's holder; otherwise both nodes attest alike, and the one not
    /// stopped last time is.
    async fn kill_active(&mut self, kill: u64, down: Duration) {
        let (Some((n, second)), Some(store)) = (self.pair, self.pair_store.0.clone()) else {
            return;
        };
        let current = self.tt.slot_at(SystemClock.now()).map_or(0, |s| s.0);
        let Some(validator) = self.addresses.get(n).copied() else {
            return;
        };
        let holder = tokio::task::spawn_blocking(move || store.latest_lease(validator))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let active = match holder {
            Some((slot, name)) if slot.0.saturating_add(1) >= current => {
                if name == format!("node-{second}") {
                    second
                } else {
                    n
                }
            }
            _ if self.last_killed == Some(n) => second,
            _ => n,
        };
        self.last_killed = Some(active);
        if self.nodes.get(active).is_none_or(Option::is_none) {
            println!("kill {kill}: node-{active} (the pair's active node) is down already");
            return;
        }
        println!(
            "kill {kill}: node-{active}, the pair's active node, stops as after kill -9; back in {:.1} s",
            down.as_secs_f64()
        );
        self.control(Control::Kill(active));
        let control = self.handle.control.clone();
        tokio::spawn(async move {
            tokio::time::sleep(down).await;
            let _ = control.send(Control::Start(active));
        });
    }

    /// Carries out `c`; returns the node to start and whether it dials the
    /// others.
    fn control(&mut self, c: Control) -> Option<(usize, bool)> {
        match c {
            Control::Kill(i) => {
                if let Some(n) = self.nodes.get_mut(i).and_then(Option::take) {
                    println!("node-{i} killed");
                    drop(n);
                }
                None
            }
            Control::Start(i) => Some((i, true)),
            Control::StartIsolated(i) => Some((i, false)),
        }
    }

    /// Runs load and reporting until `cfg.slots` are checkpointed (or given
    /// up on) or `shutdown` resolves; stops the nodes and returns the report.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<Report, DevnetError> {
        let clock = SystemClock;
        let tt = self.tt;
        let spec = self.spec.clone();
        let cfg = self.cfg.clone();
        let addresses = self.addresses.clone();
        let started = self.started;
        // An embedded L1 runs on the wall clock; a real one on its own.
        let l1_task = match &self.l1 {
            L1Source::Embedded(l1) => Some(crate::clock::drive_embedded_l1(l1)),
            L1Source::Rpc { .. } => None,
        };
        let first = tt.first_building_slot().max(Slot(1));
        let load_start = tt.build_start(first).map_err(setup)?;
        let last_slot = cfg
            .slots
            .map(|n| first.0.saturating_add(n).saturating_sub(1));
        let load_end = match last_slot {
            Some(s) => {
                let sched = tt.schedule(Slot(s)).map_err(setup)?;
                // Stop one chunk early so the last transactions make the slot.
                UnixMillis(sched.build_end.0.saturating_sub(tt.chunk_duration_ms()))
            }
            None => UnixMillis(u64::MAX),
        };
        let give_up = match last_slot {
            Some(s) => tt.slot_start(Slot(s.saturating_add(3))).map_err(setup)?,
            None => UnixMillis(u64::MAX),
        };
        print_dev_accounts().map_err(setup)?;
        println!(
            "genesis in {:.1} s; slots of {} ms in {} chunks of {} ms; load {} tx/s through RPC from {} accounts",
            (spec
                .genesis_time
                .saturating_mul(1000)
                .saturating_sub(clock.now().0)) as f64
                / 1000.0,
            spec.slot_duration_ms,
            spec.chunks_per_slot,
            tt.chunk_duration_ms(),
            cfg.tps,
            self.users.len()
        );
        let observer = observer_of(&cfg);
        let mut aggregator = Aggregator::new(observer, addresses, started);
        if let Some((n, _)) = self.pair {
            aggregator.ha = Some(HaSummary {
                ha_validator: self.addresses.get(n).copied().unwrap_or_default(),
                ..HaSummary::default()
            });
        }
        // Kills of the pair's active node, from the first slot on.
        let mut kills = cfg.kill_active_every.map(|period| {
            let first_at = tokio::time::Instant::now()
                + Duration::from_millis(load_start.0.saturating_sub(clock.now().0))
                + period;
            tokio::time::interval_at(first_at, period)
        });
        let mut kill_count = 0u64;
        let (mut load, mut outcomes) = LoadGen::new(
            spec.chain_id,
            cfg.tps,
            cfg.erc20_share,
            &self.users,
            cfg.nodes,
        );
        // The flood's window, in ms of the aggregator and of the load.
        let origin_unix = clock.now().0.saturating_sub(aggregator.ms(Instant::now()));
        let mut flood_watch = None;
        if let Some(f) = cfg.flood {
            let start = tt
                .build_start(Slot(first.0.saturating_add(f.after_slots)))
                .map_err(setup)?;
            let length = Duration::from_secs(f.seconds);
            load = load.with_flood(crate::loadgen::FloodWindow {
                start: Duration::from_millis(start.0.saturating_sub(load_start.0)),
                length,
                tps: f.tps,
            });
            let start_ms = start.0.saturating_sub(origin_unix);
            flood_watch = Some(crate::flood::FloodWatch::new(
                start_ms,
                start_ms.saturating_add(f.seconds.saturating_mul(1000)),
            ));
            println!(
                "flood: {} tx/s for {} s from slot {} (then {} tx/s again)",
                f.tps,
                f.seconds,
                first.0.saturating_add(f.after_slots),
                cfg.tps
            );
        }
        // The read load's window, and its task.
        let mut reads = None;
        if let Some(r) = cfg.read_load {
            let start = tt
                .build_start(Slot(first.0.saturating_add(r.after_slots)))
                .map_err(setup)?;
            let wait = Duration::from_millis(start.0.saturating_sub(clock.now().0));
            let nodes: Vec<std::net::SocketAddr> =
                (0..cfg.nodes).map(|i| self.handle.rpc(i)).collect();
            let accounts: Vec<Address> = self.users.iter().map(PrivateKey::address).collect();
            let start_ms = start.0.saturating_sub(origin_unix);
            let end_ms = start_ms.saturating_add(r.seconds.saturating_mul(1000));
            println!(
                "read load: {} reads/s (eth_call and eth_getBalance) for {} s from slot {}",
                r.rps,
                r.seconds,
                first.0.saturating_add(r.after_slots)
            );
            reads = Some((
                tokio::spawn(crate::read_load::run(
                    r,
                    tokio::time::Instant::now() + wait,
                    nodes,
                    accounts,
                )),
                start_ms,
                end_ms,
            ));
        }
        let mut load_tick = tokio::time::interval(Duration::from_millis(LOAD_TICK_MS));
        load_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(Duration::from_millis(200));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => {
                    println!("stopping (interrupted)");
                    break;
                }
                Some(c) = self.control_rx.recv() => {
                    if let Some((i, dial)) = self.control(c)
                        && let Err(e) = self.start_node_dialing(i, dial).await
                    {
                        warn!(target: "chunkseq::devnet", node = i, error = %e, "could not start node");
                    }
                }
                Some(s) = self.seen_rx.recv() => aggregator.observe(s),
                () = async {
                    match kills.as_mut() {
                        Some(k) => {
                            k.tick().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                } => {
                    if let Some(period) = cfg.kill_active_every {
                        kill_count = kill_count.saturating_add(1);
                        self.kill_active(kill_count, period / 2).await;
                    }
                }
                Some(o) = outcomes.recv() => {
                    let at = Instant::now();
                    let ms = aggregator.ms(at);
                    load.outcome(o, at, ms, &mut aggregator.recorder);
                }
                _ = load_tick.tick() => {
                    let now = clock.now();
                    if now < load_start || now >= load_end {
                        continue;
                    }
                    let elapsed = Duration::from_millis(now.0.saturating_sub(load_start.0));
                    let at = Instant::now();
                    let rpc = |i: usize| {
                        self.nodes
                            .get(i)
                            .is_some_and(Option::is_some)
                            .then(|| self.handle.rpc(i))
                    };
                    load.tick(elapsed, at, &rpc);
                }
                _ = housekeeping.tick() => {
                    let now = clock.now();
                    aggregator.rss_now = crate::memory::resident_bytes();
                    aggregator.pool_now = self
                        .nodes
                        .iter()
                        .flatten()
                        .map(|n| u64::try_from(n.metrics().pool_size.get()).unwrap_or(0))
                        .max()
                        .unwrap_or(0);
                    if let Some(w) = flood_watch.as_mut() {
                        let ms = aggregator.ms(Instant::now());
                        w.sample(ms, aggregator.rss_now, aggregator.pool_now);
                    }
                    // Print each slot once its checkpoint landed or its
                    // publish window closed.
                    let current = tt.slot_at(now).map_or(0, |s| s.0);
                    let done: Vec<u64> = aggregator
                        .recorder
                        .slots()
                        .into_iter()
                        .filter(|s| !aggregator.printed(*s) && (aggregator.recorder.is_checkpointed(*s) || *s + 1 < current))
                        .collect();
                    for s in done {
                        aggregator.print_slot(s);
                    }
                    if let Some(last) = last_slot {
                        // A slot is settled once its checkpoint landed, its
                        // blocks were retracted, or its window passed.
                        let all_landed = (first.0..=last).all(|s| {
                            s.saturating_add(1) < current
                                || aggregator.recorder.is_checkpointed(s)
                                || aggregator.recorder.is_reorged(s)
                        });
                        let pending = aggregator.recorder.unsettled();
                        let last_landed = aggregator.recorder.is_checkpointed(last);
                        if now >= load_end && all_landed && (pending == 0 || last_landed) {
                            break;
                        }
                        if now >= give_up {
                            println!("giving up waiting for slot {last}'s checkpoint");
                            break;
                        }
                    }
                }
            }
        }
        // Give every node a moment to apply what the observer saw last
        // (L1 is polled every 100 ms), then take in late notifications.
        tokio::time::sleep(Duration::from_millis(600)).await;
        while let Ok(s) = self.seen_rx.try_recv() {
            aggregator.observe(s);
        }
        let at = Instant::now();
        while let Ok(o) = outcomes.try_recv() {
            let ms = aggregator.ms(at);
            load.outcome(o, at, ms, &mut aggregator.recorder);
        }
        load.finish();
        let printed: Vec<u64> = aggregator
            .recorder
            .slots()
            .into_iter()
            .filter(|s| last_slot.is_none_or(|l| *s <= l))
            .collect();
        for s in printed {
            aggregator.print_slot(s);
        }
        let rss_after = crate::memory::resident_bytes();
        let dropped: Vec<(&str, u64)> =
            ["queue_full", "timeout", "publish_failed", "inbound_backlog"]
                .into_iter()
                .map(|r| {
                    (
                        r,
                        self.nodes
                            .iter()
                            .flatten()
                            .map(|n| n.metrics().dropped_total(r))
                            .sum(),
                    )
                })
                .collect();
        let flood_summary = flood_watch.map(|w| {
            let slots: Vec<(u64, u64, Vec<f64>)> = aggregator
                .lines
                .iter()
                .filter_map(|(slot, line)| {
                    let start = tt.build_start(Slot(*slot)).ok()?;
                    Some((
                        *slot,
                        start.0.saturating_sub(origin_unix),
                        line.latencies.clone(),
                    ))
                })
                .collect();
            let made_before_end = cfg.flood.map_or(0, |f| {
                let end = tt
                    .build_start(Slot(first.0.saturating_add(f.after_slots)))
                    .map_or(0, |s| s.0.saturating_sub(load_start.0))
                    .saturating_add(f.seconds.saturating_mul(1000));
                load.due(Duration::from_millis(end))
            });
            let made_before_start = cfg.flood.map_or(0, |f| {
                let start = tt
                    .build_start(Slot(first.0.saturating_add(f.after_slots)))
                    .map_or(0, |s| s.0.saturating_sub(load_start.0));
                load.due(Duration::from_millis(start))
            });
            w.summary(
                &aggregator.by_submission,
                &slots,
                (
                    made_before_end.saturating_sub(made_before_start),
                    load.made().saturating_sub(made_before_end),
                ),
                rss_after,
            )
        });
        let read_summary = match (reads, cfg.read_load) {
            (Some((task, start_ms, end_ms)), Some(r)) if task.is_finished() => {
                task.await.ok().map(|stats| {
                    crate::read_load::ReadLoadSummary::new(
                        r,
                        stats,
                        &aggregator.by_submission,
                        start_ms,
                        end_ms,
                    )
                })
            }
            (Some((task, ..)), _) => {
                task.abort();
                println!("read load: the run ended before the reads did; no figures");
                None
            }
            _ => None,
        };
        if let Some(t) = l1_task {
            t.abort();
        }
        for n in self.nodes.iter_mut().filter_map(Option::take) {
            n.stop().await;
        }
        let wall = started.elapsed().as_secs_f64();
        let slots = aggregator.recorder.slots();
        let slots_run = match last_slot {
            Some(l) => l.saturating_sub(first.0).saturating_add(1),
            None => u64::try_from(slots.len()).unwrap_or(0),
        };
        let in_range = |s: &u64| last_slot.is_none_or(|l| *s >= first.0 && *s <= l);
        let checkpoints = slots
            .iter()
            .filter(|s| in_range(s) && aggregator.recorder.is_checkpointed(**s))
            .count();
        let load_seconds =
            load_end.0.min(clock.now().0).saturating_sub(load_start.0) as f64 / 1000.0;
        let mut report = aggregator.recorder.report(RunInfo {
            scenario: "devnet".into(),
            preset: cfg.preset.name().into(),
            validators: cfg.nodes,
            slots: slots_run,
            seed: 0,
            digest: format!("{}", keccak256(&aggregator.checkpoint_hashes)),
            load_seconds: load_seconds.max(1.0),
            virtual_seconds: wall,
            // A wall-clock run keeps no per-second series and no timeline.
            throughput_until_ms: None,
            schedule: Vec::new(),
            invariant_violations: Vec::new(),
        });
        if let Some(mut ha) = aggregator.ha.take() {
            ha.ha_kills = kill_count;
            let pair_node = self.pair.map(|(n, _)| n);
            let built: Vec<u64> = slots
                .iter()
                .copied()
                .filter(|s| in_range(s) && aggregator.recorder.builder(*s) == pair_node)
                .collect();
            ha.ha_slots_built = u64::try_from(built.len()).unwrap_or(0);
            ha.ha_slots_checkpointed = u64::try_from(
                built
                    .iter()
                    .filter(|s| aggregator.recorder.is_checkpointed(**s))
                    .count(),
            )
            .unwrap_or(0);
            println!(
                "validator pair: {} kills of the active node, {} failovers, {} conflicting signatures; {} of the {} slots it built checkpointed",
                ha.ha_kills,
                ha.ha_failovers,
                ha.conflicting_signatures,
                ha.ha_slots_checkpointed,
                ha.ha_slots_built
            );
            report.ha = Some(ha);
        }
        // Only the slots asked for count: later ones can land before the
        // run stops.
        report.checkpoints = u64::try_from(checkpoints).unwrap_or(0);
        report.wall_seconds = wall;
        report.sim_speedup = 1.0;
        println!(
            "done in {wall:.1} s: {} slots, {} checkpoints, {} txs submitted ({}), {} provisional, {} checkpointed; provisional p50 {:.0} ms p99 {:.0} ms; checkpointed p50 {:.0} ms; {} reorgs",
            report.slots,
            report.checkpoints,
            report.txs_submitted,
            refused_text(&report, load.given_up()),
            report.txs_provisional,
            report.txs_checkpointed,
            report.latency_ms.provisional.p50,
            report.latency_ms.provisional.p99,
            report.latency_ms.checkpointed.p50,
            report.reorgs.len()
        );
        if let Some(r) = read_summary {
            println!("{r}");
        }
        if let Some(f) = flood_summary {
            println!("{f}");
            println!(
                "flood: gossip dropped (all nodes): {}; the load generator held back {} transactions while every account waited",
                dropped
                    .iter()
                    .map(|(r, n)| format!("{n} {r}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                load.held_back()
            );
        }
        Ok(report)
    }
}

/// The devnet's handle on the pair's protection database. Closing its
/// PostgreSQL connections blocks, which a tokio worker must not, so it is
/// dropped on a thread of its own.
struct PairStore(Option<Arc<PostgresProtectionStore>>);

impl Drop for PairStore {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("chunkseq-pair-store".into())
                .spawn(move || drop(store));
        }
    }
}

/// The node whose view the report takes: node 1 when there are several
/// (node 0 tends to be the first proposer), never one of a validator pair,
/// which the run may stop.
fn observer_of(cfg: &DevnetConfig) -> usize {
    [1, 0]
        .into_iter()
        .chain(2..cfg.nodes)
        .find(|i| *i < cfg.nodes && Some(*i) != cfg.ha_pair)
        .unwrap_or(0)
}

/// How often the load generator makes what is due.
const LOAD_TICK_MS: u64 = 5;

/// Prints the developer accounts genesis funds, with their keys, as anvil
/// does: the devnet is for trying things out with the usual tools.
pub fn print_dev_accounts() -> Result<(), chunkseq_execution::GenesisError> {
    let keys = chunkseq_execution::mnemonic_keys(
        chunkseq_execution::TEST_MNEMONIC,
        chunkseq_execution::DEV_ACCOUNTS,
    )?;
    println!(
        "developer accounts, {} ETH each (mnemonic \"{}\", path m/44'/60'/0'/0/i):",
        chunkseq_execution::DEV_ACCOUNT_ETHER,
        chunkseq_execution::TEST_MNEMONIC
    );
    for (i, key) in keys.iter().enumerate() {
        println!(
            "  ({i}) {}  {}",
            key.address(),
            alloy_primitives::hex::encode_prefixed(key.to_bytes())
        );
    }
    Ok(())
}

/// Database page cache of each devnet node, in MiB: four nodes share one
/// process and one machine.
const DEVNET_DB_CACHE_MIB: usize = 16;

/// The summary's refusals: how many transactions the RPC refused, why, and
/// how many of them never made it into a pool.
fn refused_text(report: &Report, given_up: u64) -> String {
    if report.refused == 0 {
        return "0 refused".into();
    }
    let reasons: Vec<String> = report
        .refused_reasons
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    format!(
        "{} refused: {}; {given_up} of them never taken",
        report.refused,
        reasons.join(", ")
    )
}

/// Starts a devnet and runs it (see [`Devnet::run`]).
pub async fn run(
    cfg: DevnetConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<Report, DevnetError> {
    Devnet::start(cfg).await?.run(shutdown).await
}
