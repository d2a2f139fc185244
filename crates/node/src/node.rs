//! One node: opens its stores, resumes where it stopped, starts the network,
//! the L1 link, the core's thread, the RPC and metrics servers, and stops
//! them again.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, mpsc},
    thread::JoinHandle,
};

use alloy_primitives::{Address, B256, keccak256};
use chunkseq_execution::Genesis;
use chunkseq_l1::L1;
use chunkseq_primitives::{ChainSpec, LocalSigner, PrivateKey, Signer};
use chunkseq_protocol::{CheckpointTip, Core, CoreConfig};
use chunkseq_signer::{
    PostgresProtectionStore, ProtectedSigner, ProtectionStore, SlashingProtectionStore,
    postgres::DEFAULT_PG_TIMEOUT,
};
use chunkseq_state::StateDb;
use jsonrpsee::server::ServerHandle;
use libp2p::{Multiaddr, PeerId, identity};
use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc as tmpsc, oneshot};
use tracing::{info, warn};

use crate::{
    clock::{Clock, SystemClock},
    driver::{Command, CoreLoop},
    events::{Notification, Notifier},
    metrics::NodeMetrics,
    network::{self, NetEvent, NetworkConfig, NetworkHandle, NetworkStatus},
    rpc::{self, RpcContext},
    store::NodeStore,
};

/// The node's database file in its data directory.
pub const DATABASE_FILE: &str = "chunkseq.redb";

/// Whether the node caught up and takes part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncState {
    /// Caught up with L1 and peers.
    pub synced: bool,
}

/// Page cache of a node's database unless told, in MiB. redb's own default
/// (1 GiB) stays resident once a flood of writes has filled it; a node's
/// state and index read fine from the OS page cache beyond this.
pub const DEFAULT_DB_CACHE_MIB: usize = 256;

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Consensus parameters.
    pub spec: ChainSpec,
    /// The genesis state.
    pub genesis: Genesis,
    /// Where the node keeps its databases; `None` keeps them in memory.
    pub data_dir: Option<PathBuf>,
    /// Memory the database may use to cache pages, in MiB
    /// ([`DEFAULT_DB_CACHE_MIB`] unless told); what it caches stays resident.
    pub db_cache_mib: usize,
    /// The validator key; `None` runs a follower.
    pub key: Option<PrivateKey>,
    /// The libp2p identity secret (32 bytes); `None` derives one from the
    /// validator key, or for a follower keeps one in the data directory.
    pub p2p_secret: Option<[u8; 32]>,
    /// The libp2p listen address.
    pub listen: Multiaddr,
    /// Peers to dial.
    pub bootnodes: Vec<Multiaddr>,
    /// The JSON-RPC (HTTP and websocket) address.
    pub rpc: SocketAddr,
    /// What one RPC client may use of the server.
    pub rpc_limits: crate::rpc_limits::RpcLimits,
    /// The metrics address (`/metrics`, `/health`); `None` for none.
    pub metrics: Option<SocketAddr>,
    /// Non-consensus settings of the core.
    pub core: CoreConfig,
    /// Faults to inject (devnet and tests).
    pub faults: NodeFaults,
    /// Slashing protection in this PostgreSQL database (shared by the two
    /// nodes of a validator pair) instead of the node's own redb file.
    pub protection_db: Option<String>,
    /// This node's name in a validator pair's build leases (the two nodes
    /// of a pair need different ones); `None` uses the libp2p peer id.
    pub ha_node_name: Option<String>,
}

/// Faults a node can be told to commit, to exercise the others' handling:
/// the byzantine behaviours the simulator uses
/// (`chunkseq_protocol::byzantine`), applied to what the node's core
/// outputs. A node applies the ones that change what it sends
/// (`never-publishes`, `subset-checkpoint`, `equivocating-proposer`,
/// `silent-proposer`, `double-attester`, `bad-state-root`). It cannot pick
/// recipients on gossipsub, so a message meant for half the network goes to
/// everyone; delays (`slow-attester`) and `offline` are the simulator's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeFaults {
    /// What, and in which slots.
    pub misbehaviours: Vec<chunkseq_protocol::byzantine::Misbehaviour>,
}

impl NodeFaults {
    /// As proposer of `slot`, never publish its checkpoint.
    pub fn withhold_checkpoint(slot: u64) -> Self {
        Self {
            misbehaviours: vec![chunkseq_protocol::byzantine::Misbehaviour {
                behaviour: chunkseq_protocol::byzantine::Behaviour::NeverPublishes,
                from_slot: slot,
                to_slot: Some(slot),
            }],
        }
    }
}

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A store failed to open.
    #[error("{what} at {path}: {reason}")]
    Store {
        /// Which store.
        what: &'static str,
        /// Where.
        path: String,
        /// Why.
        reason: String,
    },
    /// The state store holds a different chain.
    #[error("the data directory holds another chain: genesis {found}, expected {expected}")]
    WrongChain {
        /// Genesis found.
        found: B256,
        /// Genesis expected.
        expected: B256,
    },
    /// Setup failed.
    #[error("{0}")]
    Setup(String),
    /// The network failed to start.
    #[error(transparent)]
    Network(#[from] network::NetworkError),
    /// The RPC server failed to start.
    #[error(transparent)]
    Rpc(#[from] rpc::RpcError),
    /// The node stopped.
    #[error("the node has stopped")]
    Stopped,
}

fn store_err(what: &'static str, path: &Path, e: impl std::fmt::Display) -> NodeError {
    NodeError::Store {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A running node.
pub struct Node {
    core: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
    notify: Notifier,
    rpc: ServerHandle,
    rpc_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    net: NetworkHandle,
    address: Option<Address>,
    metrics: Arc<NodeMetrics>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("rpc", &self.rpc_addr)
            .field("peer_id", &self.net.peer_id)
            .field("validator", &self.address)
            .finish_non_exhaustive()
    }
}

fn p2p_keypair(cfg: &NodeConfig) -> Result<identity::Keypair, NodeError> {
    let secret: [u8; 32] = match (&cfg.p2p_secret, &cfg.key, &cfg.data_dir) {
        (Some(s), _, _) => *s,
        // The two nodes of a validator pair share the key (and a protection
        // database): each needs its own identity, kept as a follower's is.
        (None, Some(k), _) if cfg.protection_db.is_none() => {
            // Distinct from the validator key, stable across restarts.
            let mut seed = b"chunkseq p2p identity".to_vec();
            seed.extend_from_slice(k.address().as_slice());
            seed.extend_from_slice(&k.to_bytes());
            keccak256(seed).0
        }
        (None, _, Some(dir)) => {
            let path = dir.join("p2p-secret");
            match std::fs::read(&path) {
                Ok(b) => b
                    .try_into()
                    .map_err(|_| store_err("p2p identity", &path, "not 32 bytes"))?,
                Err(_) => {
                    let s: [u8; 32] = rand::random();
                    std::fs::write(&path, s).map_err(|e| store_err("p2p identity", &path, e))?;
                    s
                }
            }
        }
        (None, _, None) => rand::random(),
    };
    identity::Keypair::ed25519_from_bytes(secret).map_err(|e| NodeError::Setup(e.to_string()))
}

/// Writes block 0 into the node's index once, so the RPC shows the genesis
/// block as it shows every other.
fn index_genesis(cfg: &NodeConfig, store: &NodeStore, db: &StateDb) -> Result<(), String> {
    if store.block(0).map_err(|e| e.to_string())?.is_some() {
        return Ok(());
    }
    let Some((hash, state_root)) = db
        .header(chunkseq_primitives::BlockNumber(0))
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let header = Genesis::header(&cfg.spec, state_root);
    if header.hash() != hash {
        return Err(format!(
            "the genesis header rebuilt from the spec has hash {}, the state store {hash}",
            header.hash()
        ));
    }
    let entry = chunkseq_protocol::BlockEntry {
        header,
        hash,
        txs: Vec::new(),
        transactions: Vec::new(),
        senders: Vec::new(),
        receipts: Arc::default(),
        attestations: 0,
        threshold: 0,
        tip_percentiles: Vec::new(),
    };
    let mut batch = crate::store::Batch::default();
    batch.block(crate::store::BlockRecord::new(
        &entry,
        crate::store::BlockStatus::Checkpointed,
    ));
    batch.body(
        0,
        &crate::block_body::BlockBody {
            block_hash: hash,
            ..Default::default()
        },
    );
    store.write(batch).map_err(|e| e.to_string())
}

/// Opens the stores and the core, resuming from the last checkpoint the
/// state store holds. A state store left inside a checkpoint (a crash while
/// committing it) is unwound to the checkpoint before.
fn open_core(
    cfg: &NodeConfig,
    health: &Arc<chunkseq_signer::SigningHealth>,
    store: &NodeStore,
    database: Arc<redb::Database>,
    path: Option<PathBuf>,
    node_name: &str,
) -> Result<Core, NodeError> {
    let shown = path.clone().unwrap_or_else(|| PathBuf::from("(memory)"));
    let db =
        StateDb::open_in(Arc::clone(&database)).map_err(|e| store_err("state store", &shown, e))?;
    let protection = SlashingProtectionStore::open_in(database, path)
        .map_err(|e| store_err("slashing protection", &shown, e))?;
    let expected = cfg
        .genesis
        .hash(&cfg.spec)
        .map_err(|e| NodeError::Setup(e.to_string()))?;
    if db.head().is_none() {
        cfg.genesis
            .commit(&db, &cfg.spec)
            .map_err(|e| NodeError::Setup(format!("writing genesis: {e}")))?;
    }
    let found = db
        .header(chunkseq_primitives::BlockNumber(0))
        .map_err(|e| NodeError::Setup(e.to_string()))?
        .map(|(h, _)| h)
        .unwrap_or_default();
    if found != expected {
        return Err(NodeError::WrongChain { found, expected });
    }
    index_genesis(cfg, store, &db).map_err(NodeError::Setup)?;
    // Resume at the last checkpoint the state store fully holds.
    let records = store
        .checkpoints_after(0, usize::MAX)
        .map_err(|e| NodeError::Setup(e.to_string()))?;
    let mut resume: Option<CheckpointTip> = None;
    if let Some(head) = db.head()
        && head.number.0 > 0
    {
        let mut boundary = None;
        for r in records.iter().rev() {
            let ev = r.to_event().map_err(|e| NodeError::Setup(e.to_string()))?;
            let chunkseq_l1::L1Event::CheckpointAccepted { headers, .. } = ev else {
                continue;
            };
            let Some(last) = headers.last() else {
                continue;
            };
            if last.number <= head.number.0 {
                boundary = Some((r, last.number, last.hash()));
                break;
            }
        }
        let Some((r, number, hash)) = boundary else {
            return Err(NodeError::Setup(format!(
                "the state store is at block {} but the node store records no checkpoint: remove the data directory to start over",
                head.number.0
            )));
        };
        if number < head.number.0 {
            warn!(target: "chunkseq::node", head = head.number.0, checkpoint = number, "state store is past the last whole checkpoint; unwinding");
            db.unwind(head.number.0 - number)
                .map_err(|e| NodeError::Setup(format!("unwinding: {e}")))?;
        }
        resume = Some(CheckpointTip {
            slot: r.slot,
            header_hash: r.header_hash,
            last_number: number,
            last_hash: hash,
            l1_block: r.l1_block,
        });
    }
    let protection: Arc<dyn ProtectionStore> = match &cfg.protection_db {
        Some(url) => {
            let pg = PostgresProtectionStore::connect(url, DEFAULT_PG_TIMEOUT)
                .map_err(|e| NodeError::Setup(format!("--protection-db: {e}")))?;
            info!(target: "chunkseq::node", store = %pg.location(), "slashing protection in PostgreSQL: signing waits for it and stops while it is unreachable");
            Arc::new(pg)
        }
        None => Arc::new(protection),
    };
    let signer: Option<Arc<dyn Signer>> = cfg.key.as_ref().map(|k| {
        Arc::new(
            ProtectedSigner::new(LocalSigner::new(k.clone()), protection)
                .with_health(Arc::clone(health))
                .with_node(node_name),
        ) as Arc<dyn Signer>
    });
    let mut core = Core::new(cfg.spec.clone(), cfg.core.clone(), Arc::new(db), signer)
        .map_err(|e| NodeError::Setup(e.to_string()))?;
    if let Some(tip) = resume {
        info!(target: "chunkseq::node", slot = tip.slot, number = tip.last_number, "resuming from checkpoint");
        core.resume_from(tip)
            .map_err(|e| NodeError::Setup(e.to_string()))?;
    }
    // Provisional blocks of the last run are on no chain now: their
    // records, bodies and receipts go (peers send the current ones).
    let checkpointed = core.tips().checkpointed.1;
    let gone = store
        .forget_above(checkpointed)
        .map_err(|e| NodeError::Setup(format!("cleaning the index: {e}")))?;
    if gone > 0 {
        info!(target: "chunkseq::node", blocks = gone, above = checkpointed, "forgot provisional blocks of the last run");
    }
    Ok(core)
}

impl Node {
    /// Starts a node on the current tokio runtime, talking to `l1`.
    pub async fn start<L: L1 + 'static>(cfg: NodeConfig, l1: Arc<L>) -> Result<Self, NodeError> {
        // The KZG trusted setup takes seconds to load. Loaded here, before
        // the node takes part, so the first block it attests or builds does
        // not pay for it and miss its attestation timeout.
        if cfg.spec.data_mode.signs_blobs() {
            let started = std::time::Instant::now();
            tokio::task::spawn_blocking(|| {
                let _ = chunkseq_da::kzg_settings();
            })
            .await
            .map_err(|e| NodeError::Setup(format!("loading the KZG trusted setup: {e}")))?;
            info!(target: "chunkseq::node", ms = started.elapsed().as_millis() as u64, "KZG trusted setup loaded");
        }
        // One redb database per node holds the state, the slashing
        // protection records and the node's index, each in its own tables.
        let (database, path) = match &cfg.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| store_err("data directory", dir, e))?;
                let p = dir.join(DATABASE_FILE);
                let db = redb::Database::builder()
                    .set_cache_size(cfg.db_cache_mib.saturating_mul(1 << 20))
                    .create(&p)
                    .map_err(|e| store_err("database", &p, e))?;
                (Arc::new(db), Some(p))
            }
            None => (
                Arc::new(
                    redb::Database::builder()
                        .create_with_backend(redb::backends::InMemoryBackend::new())
                        .map_err(|e| NodeError::Setup(e.to_string()))?,
                ),
                None,
            ),
        };
        let store = Arc::new(
            NodeStore::open_in(Arc::clone(&database))
                .map_err(|e| NodeError::Setup(format!("node store: {e}")))?,
        );
        let address = cfg.key.as_ref().map(PrivateKey::address);
        let keypair = p2p_keypair(&cfg)?;
        let node_name = cfg
            .ha_node_name
            .clone()
            .unwrap_or_else(|| keypair.public().to_peer_id().to_string());
        let (net_tx, mut net_rx) = tmpsc::unbounded_channel();
        let net = network::start(
            NetworkConfig {
                keypair,
                listen: cfg.listen.clone(),
                bootnodes: cfg.bootnodes.clone(),
                chain_id: cfg.spec.chain_id,
            },
            net_tx,
        )
        .await?;
        let (core_tx, core_rx) = mpsc::channel::<Command>();
        let (l1_tx, l1_rx) = tmpsc::unbounded_channel();
        let notify = Notifier::new();
        let metrics = Arc::new(NodeMetrics::new());
        let sync = Arc::new(Mutex::new(SyncState::default()));
        let gate = Arc::new(crate::admission::BacklogGate::default());
        let views = Arc::new(crate::read_view::ReadViews::default());
        let health = Arc::new(chunkseq_signer::SigningHealth::default());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // The core holds the executor's thread-local buffers, so it is
        // built on the thread that runs it.
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread = {
            let health = Arc::clone(&health);
            let (cfg, net, notify, store, metrics, sync, gate, views) = (
                cfg.clone(),
                net.clone(),
                notify.clone(),
                Arc::clone(&store),
                Arc::clone(&metrics),
                Arc::clone(&sync),
                Arc::clone(&gate),
                Arc::clone(&views),
            );
            std::thread::Builder::new()
                .name("chunkseq-core".into())
                .spawn(move || {
                    let core = match open_core(&cfg, &health, &store, database, path, &node_name) {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    CoreLoop::new(core, net, l1_tx, notify, store, metrics, clock, sync, gate)
                        .with_faults(cfg.faults.clone(), cfg.key.clone())
                        .with_views(views)
                        .with_health(health)
                        .run(core_rx);
                })
                .map_err(|e| NodeError::Setup(format!("core thread: {e}")))?
        };
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                net.send(network::NetCommand::Stop);
                return Err(e);
            }
            Err(_) => {
                return Err(NodeError::Setup(
                    "the core thread died while starting".into(),
                ));
            }
        }
        // Network events to the core's thread.
        {
            let core_tx = core_tx.clone();
            let metrics = Arc::clone(&metrics);
            let status: Arc<NetworkStatus> = Arc::clone(&net.status);
            tokio::spawn(async move {
                while let Some(e) = net_rx.recv().await {
                    metrics
                        .peers
                        .set(i64::try_from(status.peers()).unwrap_or(i64::MAX));
                    let (full, timeout, unpublished) = status.take_dropped();
                    metrics.dropped("queue_full", full);
                    metrics.dropped("timeout", timeout);
                    metrics.dropped("publish_failed", unpublished);
                    let c = match e {
                        NetEvent::Gossip { gossip, id, from } => {
                            Command::Gossip { gossip, id, from }
                        }
                        NetEvent::GossipTxs { txs, id, from } => {
                            Command::GossipTxs { txs, id, from }
                        }
                        NetEvent::SyncRequest { request, channel } => {
                            Command::SyncRequest { request, channel }
                        }
                        NetEvent::SyncResponse { response, .. } => {
                            Command::Input(chunkseq_protocol::Input::SyncResponse(response))
                        }
                        NetEvent::PeerConnected(_) => continue,
                    };
                    if core_tx.send(c).is_err() {
                        break;
                    }
                }
            });
        }
        tokio::spawn(crate::l1_link::run(l1, address, l1_rx, core_tx.clone()));
        let (rpc, rpc_addr) = rpc::serve(
            cfg.rpc,
            RpcContext {
                core: core_tx.clone(),
                store: Arc::clone(&store),
                notify: notify.clone(),
                net: Arc::clone(&net.status),
                metrics: Arc::clone(&metrics),
                chain_id: cfg.spec.chain_id,
                fees: cfg.spec.fees,
                block_gas_limit: cfg.spec.block_gas_limit,
                sync: Arc::clone(&sync),
                backlog: Arc::clone(&gate),
                calls: Arc::new(crate::rpc_state::CallSlots::new(
                    crate::rpc_state::CallLimits::default(),
                )),
                filters: Arc::default(),
                views,
                health,
            },
            cfg.rpc_limits,
        )
        .await?;
        let metrics_addr = match cfg.metrics {
            Some(a) => Some(
                crate::metrics_server::serve(a, Arc::clone(&metrics), Arc::clone(&sync))
                    .await
                    .map_err(|e| NodeError::Setup(format!("metrics server on {a}: {e}")))?,
            ),
            None => None,
        };
        info!(target: "chunkseq::node", rpc = %rpc_addr, peer_id = %net.peer_id, validator = ?address, "node started");
        Ok(Self {
            core: core_tx,
            thread: Some(thread),
            notify,
            rpc,
            rpc_addr,
            metrics_addr,
            net,
            address,
            metrics,
        })
    }

    /// The RPC address (HTTP and websocket).
    pub const fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// The metrics address.
    pub const fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The libp2p peer id.
    pub const fn peer_id(&self) -> PeerId {
        self.net.peer_id
    }

    /// Where the node listens for peers.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.net.status.listen_addrs()
    }

    /// The network's status (peers and their scores).
    pub fn network(&self) -> &NetworkHandle {
        &self.net
    }

    /// The validator address, if any.
    pub const fn address(&self) -> Option<Address> {
        self.address
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// Notifications from now on, all but transaction statuses.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.notify.subscribe()
    }

    /// Transaction status notifications from now on.
    pub fn subscribe_txs(&self) -> broadcast::Receiver<Notification> {
        self.notify.subscribe_txs()
    }

    /// Runs `f` on the core's thread and returns its answer.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.core
            .send(Command::Query(Box::new(move |c| {
                let _ = tx.send(f(c));
            })))
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Stops the node: RPC first, then the network and the core's thread.
    pub async fn stop(mut self) {
        let _ = self.rpc.stop();
        self.rpc.clone().stopped().await;
        self.net.send(network::NetCommand::Stop);
        let _ = self.core.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.core.send(Command::Stop);
        self.net.send(network::NetCommand::Stop);
    }
}
