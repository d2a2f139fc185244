//! The chunkseq node: the protocol core driven by tokio, talking over
//! libp2p, persisting to redb, serving JSON-RPC, websocket subscriptions and
//! Prometheus metrics, and the one-process devnet built from it.
//!
//! The protocol core ([`chunkseq_protocol::Core`]) is a deterministic state
//! machine; this crate is its production driver, as the simulator is its
//! test driver. The core runs on its own OS thread ([`driver`]) fed by one
//! channel, so a slow peer, RPC client or L1 endpoint never stalls it:
//!
//! - [`network`]: libp2p (TCP, noise, yamux), gossipsub with one topic per
//!   message kind, content message ids, validation before forwarding and
//!   peer scoring; identify; request-response
//!   [`chunkseq_protocol::sync`] messages for catching up.
//! - [`l1_link`]: duties, L1 calls and L1 events through the
//!   [`chunkseq_l1::L1`] interface (embedded or RPC).
//! - [`store`] and [`index`]: the node's redb index of blocks, transactions,
//!   checkpoints and evidence, written as a pure function of the core's
//!   events; world state and slashing protection keep their own tables in
//!   the same database.
//! - [`rpc`]: jsonrpsee HTTP and websocket on one port.
//! - [`metrics`]: Prometheus metrics per component, served with `/health`.
//! - [`devnet`]: N validator nodes, one embedded L1, a load generator and a
//!   per-slot report, in one process.
//!
//! On start a node resumes from the last checkpoint its state store holds;
//! its core then catches up (the checkpoints L1 accepted since, from peers
//! verified against L1's checkpoint hash or from L1's logs, and the
//! provisional blocks above them) and only then takes part. The driver only
//! carries the core's requests to the network and L1.

mod admission;
pub mod block_body;
pub mod clock;
pub mod devnet;
pub mod driver;
pub mod events;
pub mod flood;
pub mod index;
pub mod l1_link;
pub mod loadgen;
pub mod memory;
pub mod metrics;
mod metrics_server;
pub mod network;
pub mod node;
pub mod read_load;
pub mod read_view;
pub mod rpc;
pub mod rpc_blocks;
pub mod rpc_eth;
pub mod rpc_fees;
pub mod rpc_limits;
pub mod rpc_pubsub;
pub mod rpc_state;
pub mod store;
pub mod wire;

pub use events::Notification;
pub use node::{DEFAULT_DB_CACHE_MIB, Node, NodeConfig, NodeError};
