//! The libp2p side of a node: TCP + noise + yamux, gossipsub with one topic
//! per message kind and content-derived message ids, identify, and a
//! request-response protocol that serves a peer the checkpoints and
//! provisional blocks it missed.
//!
//! Gossip is validated before it is forwarded: the network task decodes each
//! message under its size cap (garbage is rejected here), hands it to the
//! core, and forwards it only when the core raised no objection. Rejected
//! messages count against the peer that sent them through gossipsub's peer
//! score.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy_primitives::keccak256;
use chunkseq_protocol::{
    Gossip,
    sync::{SyncRequest, SyncResponse},
};
use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder,
    gossipsub::{
        self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
        PeerScoreThresholds, TopicHash, TopicScoreParams, ValidationMode,
    },
    identify, identity, noise,
    request_response::{self, ProtocolSupport},
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, yamux,
};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::wire;

/// Where the network task sends what it receives (each moved once).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum NetEvent {
    /// The transactions of a `txs` message (or of a `tx` message); report
    /// one verdict for the message with [`NetCommand::Validate`].
    GossipTxs {
        /// The transactions' EIP-2718 bytes.
        txs: Vec<alloy_primitives::Bytes>,
        /// The message id.
        id: MessageId,
        /// The peer that forwarded it.
        from: PeerId,
    },
    /// A decoded gossip message; report the verdict with [`NetCommand::Validate`].
    Gossip {
        /// The message.
        gossip: Gossip,
        /// Its gossipsub id.
        id: MessageId,
        /// The peer that forwarded it.
        from: PeerId,
    },
    /// A peer asked for what it missed; answer with [`NetCommand::Respond`].
    SyncRequest {
        /// The request.
        request: SyncRequest,
        /// Where the answer goes.
        channel: request_response::ResponseChannel<SyncResponse>,
    },
    /// A peer answered our sync request.
    SyncResponse {
        /// The peer.
        from: PeerId,
        /// Its answer.
        response: SyncResponse,
    },
    /// A connection to a peer opened.
    PeerConnected(PeerId),
}

/// What the network task is asked to do (each moved once).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum NetCommand {
    /// Publish a message on its topic. Transactions wait until the
    /// commands queued behind them are handled, and go out together in one
    /// `txs` message ([`wire::encode_txs`]).
    Publish(Gossip),
    /// Publish raw bytes on the topic of `kind` (tests of garbage handling).
    PublishRaw {
        /// The message kind.
        kind: &'static str,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The verdict on a received message: forward it, drop it, or drop it
    /// and score its sender down.
    Validate {
        /// The message.
        id: MessageId,
        /// Who sent it.
        from: PeerId,
        /// The verdict.
        acceptance: MessageAcceptance,
    },
    /// Ask `peer` (or any connected peer) for what we missed.
    Sync {
        /// The peer, or `None` for every connected peer.
        peer: Option<PeerId>,
        /// The request.
        request: SyncRequest,
    },
    /// Answer a peer's sync request.
    Respond {
        /// Where the answer goes.
        channel: request_response::ResponseChannel<SyncResponse>,
        /// The answer.
        response: SyncResponse,
    },
    /// Stop the network task.
    Stop,
}

/// Settings of a node's network.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The node's libp2p identity.
    pub keypair: identity::Keypair,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Multiaddr,
    /// Peers to dial at start.
    pub bootnodes: Vec<Multiaddr>,
    /// The rollup chain id: topics are per chain.
    pub chain_id: u64,
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The swarm could not be built.
    #[error("libp2p setup failed: {0}")]
    Setup(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// Most gossip messages queued for one connection (half for the messages
/// this node publishes, half for those it forwards). Past it gossipsub
/// drops what would queue, and reports the drops as a slow peer. At the
/// default of 5,000 a flood could hold gigabytes in the queues of a few
/// slow connections.
pub const GOSSIP_QUEUE_LEN: usize = 1_024;

/// A view of the running network shared with the RPC and metrics.
#[derive(Debug, Default)]
pub struct NetworkStatus {
    peers: AtomicUsize,
    listen: Mutex<Vec<Multiaddr>>,
    scores: Mutex<Vec<(PeerId, f64)>>,
    /// Messages dropped because a peer's send queue was full.
    dropped_queue_full: AtomicU64,
    /// Messages dropped because they waited too long to be sent.
    dropped_timeout: AtomicU64,
    /// Messages this node could not publish at all (no peer on the topic,
    /// every queue full, too large).
    dropped_publish: AtomicU64,
}

impl NetworkStatus {
    /// Connected peers.
    pub fn peers(&self) -> usize {
        self.peers.load(Ordering::Relaxed)
    }

    /// The addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen.lock().clone()
    }

    /// Each connected peer's gossipsub score, refreshed every second.
    pub fn scores(&self) -> Vec<(PeerId, f64)> {
        self.scores.lock().clone()
    }

    /// Outgoing gossip messages dropped since the last call: `(queue full,
    /// timed out, not published)`.
    pub fn take_dropped(&self) -> (u64, u64, u64) {
        (
            self.dropped_queue_full.swap(0, Ordering::Relaxed),
            self.dropped_timeout.swap(0, Ordering::Relaxed),
            self.dropped_publish.swap(0, Ordering::Relaxed),
        )
    }
}

/// The protocol name of block sync.
pub const SYNC_PROTOCOL: &str = "/chunkseq/sync/1";

/// Transaction messages kept to send again while no peer can take them
/// (each at most a batch, [`wire::MAX_BATCH_BYTES`]).
const MAX_UNSENT_TX_MESSAGES: usize = 64;

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    sync: request_response::json::Behaviour<SyncRequest, SyncResponse>,
}

/// A running network: its peer id, command channel and status.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    /// This node's peer id.
    pub peer_id: PeerId,
    /// Commands to the network task.
    pub commands: mpsc::UnboundedSender<NetCommand>,
    /// Shared status.
    pub status: Arc<NetworkStatus>,
}

impl NetworkHandle {
    /// Sends a command; a stopped network ignores it.
    pub fn send(&self, c: NetCommand) {
        let _ = self.commands.send(c);
    }
}

fn score_params(chain_id: u64) -> (PeerScoreParams, PeerScoreThresholds) {
    let mut params = PeerScoreParams::default();
    for kind in wire::KINDS {
        let topic = IdentTopic::new(wire::topic(chain_id, kind));
        let t = TopicScoreParams {
            topic_weight: 1.0,
            // Only invalid messages move a peer's score: delivery quotas
            // make no sense on a four-node devnet.
            time_in_mesh_weight: 0.0,
            first_message_deliveries_weight: 0.0,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.9,
            ..TopicScoreParams::default()
        };
        params.topics.insert(topic.hash(), t);
    }
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -500.0,
        publish_threshold: -1_000.0,
        graylist_threshold: -2_000.0,
        ..PeerScoreThresholds::default()
    };
    (params, thresholds)
}

fn build_swarm(cfg: &NetworkConfig) -> Result<Swarm<Behaviour>, NetworkError> {
    let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
    let chain_id = cfg.chain_id;
    let swarm = SwarmBuilder::with_existing_identity(cfg.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_behaviour(|key| {
            // Messages carry no author, sequence number or libp2p
            // signature (as on Ethereum's consensus layer): every payload
            // is self-authenticating (a user's or a validator's signature,
            // checked by the core), ids come from the content, and scores
            // go to the peer that forwarded a message, which the noise
            // handshake authenticates. A signature per message would cost
            // an ed25519 signing per publish and a verification per copy
            // received: at 1,000 tx/s on a 4-node devnet, a quarter of the
            // process's CPU time (docs/throughput.md).
            let gcfg = gossipsub::ConfigBuilder::default()
                .validation_mode(ValidationMode::Anonymous)
                .validate_messages()
                .max_transmit_size(wire::max_message_len().saturating_add(1024))
                .message_id_fn(|m: &gossipsub::Message| {
                    // Content ids: the same message from two peers is one message.
                    let mut buf = m.topic.as_str().as_bytes().to_vec();
                    buf.extend_from_slice(&m.data);
                    MessageId::from(keccak256(&buf).to_vec())
                })
                .heartbeat_interval(Duration::from_millis(700))
                .connection_handler_queue_len(GOSSIP_QUEUE_LEN)
                .build()
                .map_err(|e| e.to_string())?;
            let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gcfg)
                .map_err(str::to_owned)?;
            let (params, thresholds) = score_params(chain_id);
            gossipsub.with_peer_score(params, thresholds)?;
            let identify =
                identify::Behaviour::new(identify::Config::new("/chunkseq/1".into(), key.public()));
            let sync = request_response::json::Behaviour::new(
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            );
            Ok(Behaviour {
                gossipsub,
                identify,
                sync,
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

/// Starts the network task on the current tokio runtime. Received gossip
/// and sync traffic go to `events`.
pub async fn start(
    cfg: NetworkConfig,
    events: mpsc::UnboundedSender<NetEvent>,
) -> Result<NetworkHandle, NetworkError> {
    let mut swarm = build_swarm(&cfg)?;
    for kind in wire::KINDS {
        let topic = IdentTopic::new(wire::topic(cfg.chain_id, kind));
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic)
            .map_err(|e| NetworkError::Setup(e.to_string()))?;
    }
    swarm
        .listen_on(cfg.listen.clone())
        .map_err(|e| NetworkError::Listen {
            addr: cfg.listen.clone(),
            reason: e.to_string(),
        })?;
    let status = Arc::new(NetworkStatus::default());
    // Wait for the listener so callers can hand the address to other nodes.
    loop {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => {
                status.listen.lock().push(address);
                break;
            }
            SwarmEvent::ListenerError { error, .. }
            | SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            } => {
                return Err(NetworkError::Listen {
                    addr: cfg.listen,
                    reason: error.to_string(),
                });
            }
            _ => {}
        }
    }
    for addr in &cfg.bootnodes {
        if let Err(e) = swarm.dial(addr.clone()) {
            warn!(target: "chunkseq::net", %addr, error = %e, "cannot dial bootnode");
        }
    }
    let peer_id = *swarm.local_peer_id();
    info!(target: "chunkseq::net", %peer_id, listen = ?status.listen_addrs(), "network started");
    let (tx, rx) = mpsc::unbounded_channel();
    let task = NetworkTask {
        swarm,
        chain_id: cfg.chain_id,
        events,
        status: Arc::clone(&status),
        bootnodes: cfg.bootnodes,
        outgoing_txs: Vec::new(),
        outgoing_bytes: 0,
        unsent_txs: std::collections::VecDeque::new(),
    };
    tokio::spawn(task.run(rx));
    Ok(NetworkHandle {
        peer_id,
        commands: tx,
        status,
    })
}

struct NetworkTask {
    swarm: Swarm<Behaviour>,
    chain_id: u64,
    events: mpsc::UnboundedSender<NetEvent>,
    status: Arc<NetworkStatus>,
    bootnodes: Vec<Multiaddr>,
    /// Transactions to publish with the next `txs` message, and their size.
    outgoing_txs: Vec<alloy_primitives::Bytes>,
    outgoing_bytes: usize,
    /// Transaction messages no peer could take yet (none subscribed, as
    /// right after a start, or every send queue full), sent again each
    /// second: a transaction this node acknowledged must not stay in its
    /// pool alone. At most [`MAX_UNSENT_TX_MESSAGES`]; past that the
    /// oldest is dropped and counted.
    unsent_txs: std::collections::VecDeque<(&'static str, Vec<u8>)>,
}

impl NetworkTask {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<NetCommand>) {
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                c = commands.recv() => match c {
                    None | Some(NetCommand::Stop) => break,
                    Some(c) => {
                        self.command(c);
                        // Everything queued goes too, then the transactions
                        // it brought leave as one message.
                        loop {
                            match commands.try_recv() {
                                Ok(NetCommand::Stop) => return,
                                Ok(c) => self.command(c),
                                Err(_) => break,
                            }
                        }
                        self.publish_txs();
                    }
                },
                e = self.swarm.select_next_some() => self.swarm_event(e),
                _ = housekeeping.tick() => self.housekeeping(),
            }
        }
        debug!(target: "chunkseq::net", "network stopped");
    }

    fn housekeeping(&mut self) {
        self.resend_unsent_txs();
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let g = &self.swarm.behaviour().gossipsub;
        *self.status.scores.lock() = peers
            .iter()
            .map(|p| (*p, g.peer_score(p).unwrap_or(0.0)))
            .collect();
        self.status.peers.store(peers.len(), Ordering::Relaxed);
        // Redial bootnodes we lost (a restarted peer comes back this way).
        if peers.len() < self.bootnodes.len() {
            for addr in self.bootnodes.clone() {
                let _ = self.swarm.dial(addr);
            }
        }
    }

    fn publish(&mut self, kind: &str, data: Vec<u8>) {
        let topic = IdentTopic::new(wire::topic(self.chain_id, kind));
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) => {}
            Err(gossipsub::PublishError::Duplicate) => {}
            Err(e) => {
                debug!(target: "chunkseq::net", kind, error = %e, "publish failed");
                self.status.dropped_publish.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Publishes the transactions waiting: one on the `tx` topic, more in
    /// one `txs` message.
    fn publish_txs(&mut self) {
        let txs = std::mem::take(&mut self.outgoing_txs);
        self.outgoing_bytes = 0;
        match txs.as_slice() {
            [] => {}
            [one] => self.publish_tx_message("tx", one.to_vec()),
            many => self.publish_tx_message("txs", wire::encode_txs(many)),
        }
    }

    /// Publishes one transaction message, keeping it to send again when
    /// no peer could take it.
    fn publish_tx_message(&mut self, kind: &'static str, data: Vec<u8>) {
        let topic = IdentTopic::new(wire::topic(self.chain_id, kind));
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic, data.clone())
        {
            // A duplicate went out before (or waits in the message cache,
            // which gossip offers to the peers).
            Ok(_) | Err(gossipsub::PublishError::Duplicate) => {}
            Err(
                gossipsub::PublishError::NoPeersSubscribedToTopic
                | gossipsub::PublishError::AllQueuesFull(_),
            ) => {
                if self.unsent_txs.len() >= MAX_UNSENT_TX_MESSAGES {
                    self.unsent_txs.pop_front();
                    self.status.dropped_publish.fetch_add(1, Ordering::Relaxed);
                }
                self.unsent_txs.push_back((kind, data));
            }
            Err(e) => {
                debug!(target: "chunkseq::net", kind, error = %e, "publish failed");
                self.status.dropped_publish.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends the transaction messages no peer could take before.
    fn resend_unsent_txs(&mut self) {
        for (kind, data) in std::mem::take(&mut self.unsent_txs) {
            self.publish_tx_message(kind, data);
        }
    }

    fn command(&mut self, c: NetCommand) {
        match c {
            NetCommand::Publish(Gossip::Tx(raw)) => {
                self.outgoing_bytes = self.outgoing_bytes.saturating_add(raw.len() + 4);
                self.outgoing_txs.push(raw);
                if self.outgoing_txs.len() >= wire::MAX_BATCH_TXS
                    || self
                        .outgoing_bytes
                        .saturating_add(wire::MAX_TX_BYTES_FRAMED)
                        > wire::MAX_BATCH_BYTES
                {
                    self.publish_txs();
                }
            }
            NetCommand::Publish(g) => {
                let data = wire::encode(&g);
                self.publish(g.topic(), data);
            }
            NetCommand::PublishRaw { kind, data } => self.publish(kind, data),
            NetCommand::Validate {
                id,
                from,
                acceptance,
            } => {
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &from, acceptance);
            }
            NetCommand::Sync { peer, request } => {
                let peers: Vec<PeerId> = match peer {
                    Some(p) => vec![p],
                    None => self.swarm.connected_peers().copied().collect(),
                };
                for p in peers {
                    self.swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&p, request.clone());
                }
            }
            NetCommand::Respond { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            NetCommand::Stop => {}
        }
    }

    fn swarm_event(&mut self, e: SwarmEvent<BehaviourEvent>) {
        match e {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.gossip(
                propagation_source,
                message_id,
                &message.topic,
                &message.data,
            ),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let _ = self.events.send(NetEvent::SyncRequest { request, channel });
                }
                request_response::Message::Response { response, .. } => {
                    let _ = self.events.send(NetEvent::SyncResponse {
                        from: peer,
                        response,
                    });
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            })) => {
                let full = failed_messages.total_queue_full() as u64;
                let timeout = failed_messages.timeout as u64;
                debug!(target: "chunkseq::net", %peer_id, full, timeout, "gossip dropped for a slow peer");
                self.status
                    .dropped_queue_full
                    .fetch_add(full, Ordering::Relaxed);
                self.status
                    .dropped_timeout
                    .fetch_add(timeout, Ordering::Relaxed);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, error, .. },
            )) => debug!(target: "chunkseq::net", %peer, %error, "sync request failed"),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                debug!(target: "chunkseq::net", %peer_id, agent = %info.agent_version, "identified");
                for a in info.listen_addrs {
                    self.swarm.add_peer_address(peer_id, a);
                }
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                debug!(target: "chunkseq::net", %peer_id, "connected");
                self.status
                    .peers
                    .store(self.swarm.connected_peers().count(), Ordering::Relaxed);
                let _ = self.events.send(NetEvent::PeerConnected(peer_id));
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                debug!(target: "chunkseq::net", %peer_id, "disconnected");
                self.status
                    .peers
                    .store(self.swarm.connected_peers().count(), Ordering::Relaxed);
            }
            SwarmEvent::NewListenAddr { address, .. } => self.status.listen.lock().push(address),
            _ => {}
        }
    }

    fn gossip(&mut self, from: PeerId, id: MessageId, topic: &TopicHash, data: &[u8]) {
        let verdict = wire::kind_of(self.chain_id, topic.as_str())
            .ok_or_else(|| wire::WireError::UnknownTopic(topic.to_string()))
            .and_then(|kind| wire::decode_received(kind, data));
        match verdict {
            Ok(wire::Received::Txs(txs)) => {
                let _ = self.events.send(NetEvent::GossipTxs { txs, id, from });
            }
            Ok(wire::Received::One(Gossip::Tx(raw))) => {
                let _ = self.events.send(NetEvent::GossipTxs {
                    txs: vec![raw],
                    id,
                    from,
                });
            }
            Ok(wire::Received::One(gossip)) => {
                debug!(target: "chunkseq::timing", kind = gossip.topic(), slot = ?gossip.slot(), bytes = data.len(), "gossip received");
                let _ = self.events.send(NetEvent::Gossip { gossip, id, from });
            }
            Err(e) => {
                debug!(target: "chunkseq::net", peer = %from, error = %e, "rejected gossip");
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &from, MessageAcceptance::Reject);
            }
        }
    }
}
