//! The log of a scripted run: what happened, in order, for a test to assert
//! on.

use chunkseq_l1::{L1Event, RollupCall};
use chunkseq_primitives::UnixMillis;
use chunkseq_protocol::{Event, Gossip};

/// One entry of the log.
#[derive(Clone, Debug)]
pub struct Record {
    /// When it happened (virtual time).
    pub at: UnixMillis,
    /// The node it concerns; `None` for L1's events.
    pub node: Option<usize>,
    /// What happened.
    pub what: Recorded,
}

/// What a log entry records.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Recorded {
    /// An event of the node's core.
    Event(Event),
    /// Gossip the node's core published, before any byzantine behaviour or
    /// route hook changed where it went.
    Published(Gossip),
    /// An L1 call the node submitted (after its byzantine behaviour, before
    /// the run's L1-call hook).
    Submitted(RollupCall),
    /// An event of L1's newest block.
    L1(L1Event),
    /// A gossip message the node's core rejected (its sender misbehaved).
    Rejected {
        /// The message's topic.
        topic: &'static str,
        /// Why.
        reason: String,
    },
}
