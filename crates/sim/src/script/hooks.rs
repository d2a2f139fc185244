//! What a scripted run adds to the engine: a fixed link delay, the hooks a
//! test scripts network and L1 faults with, and the log.

use chunkseq_execution::Genesis;
use chunkseq_l1::RollupCall;
use chunkseq_primitives::{PrivateKey, UnixMillis};
use chunkseq_protocol::Gossip;

use super::log::{Record, Recorded};

/// Whether gossip from node `from` reaches node `to`; `false` drops it.
pub(crate) type Route = Box<dyn FnMut(usize, usize, &Gossip) -> bool + Send>;

/// What of node `node`'s L1 call reaches L1: `None` loses it, `Some` passes
/// it on, changed or not.
pub(crate) type L1CallHook = Box<dyn FnMut(usize, RollupCall) -> Option<RollupCall> + Send>;

/// The engine's scripted-run state. The engine consults it where the hooks
/// apply and records into its log; with no script, nothing of it runs.
pub(crate) struct Script {
    /// One-way delay of every link, gossip and L1 alike, ms.
    pub(crate) delay_ms: u64,
    /// Whether the first validator records the first committees at genesis.
    pub(crate) record_committees: bool,
    route: Route,
    l1_call: L1CallHook,
    log: Vec<Record>,
    /// The genesis and the funded user accounts, from the engine's setup.
    setup: Option<(Genesis, Vec<PrivateKey>)>,
}

impl Script {
    /// A script with every message delivered and every call passed on.
    pub(crate) fn new(delay_ms: u64, record_committees: bool) -> Self {
        Self {
            delay_ms,
            record_committees,
            route: Box::new(|_, _, _| true),
            l1_call: Box::new(|_, call| Some(call)),
            log: Vec::new(),
            setup: None,
        }
    }

    /// Keeps what the engine set the run up with.
    pub(crate) fn set_up(&mut self, genesis: &Genesis, users: &[PrivateKey]) {
        self.setup = Some((genesis.clone(), users.to_vec()));
    }

    /// Takes what the engine set the run up with.
    pub(crate) fn take_setup(&mut self) -> Option<(Genesis, Vec<PrivateKey>)> {
        self.setup.take()
    }

    /// Replaces the route hook.
    pub(crate) fn set_route(&mut self, route: Route) {
        self.route = route;
    }

    /// Replaces the L1-call hook.
    pub(crate) fn set_l1_call(&mut self, hook: L1CallHook) {
        self.l1_call = hook;
    }

    /// Whether gossip from `from` reaches `to`.
    pub(crate) fn routes(&mut self, from: usize, to: usize, g: &Gossip) -> bool {
        (self.route)(from, to, g)
    }

    /// Records node `node`'s call at `at` and returns what of it reaches L1.
    pub(crate) fn l1_call(&mut self, at: u64, node: usize, call: RollupCall) -> Option<RollupCall> {
        self.record(at, Some(node), Recorded::Submitted(call.clone()));
        (self.l1_call)(node, call)
    }

    /// Appends to the log.
    pub(crate) fn record(&mut self, at: u64, node: Option<usize>, what: Recorded) {
        self.log.push(Record {
            at: UnixMillis(at),
            node,
            what,
        });
    }

    /// The log so far.
    pub(crate) fn log(&self) -> &[Record] {
        &self.log
    }
}
