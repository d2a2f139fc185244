//! Refusing users' transactions before any work on them while the node is
//! behind.
//!
//! Recovering a transaction's sender is the dearest part of taking it in
//! (about 40 µs of the 2-core machine's time). Under a flood, clients
//! resend what the core refused as `backlog`, and recovering every resend
//! only to refuse it again starves the proposals and attestations that
//! would drain the backlog. The core loop publishes, after its rounds, the
//! refusal the core would give ([`chunkseq_protocol::Core::backlog`]); the
//! RPC hands that refusal back at once, before decoding, while it stands.

use std::time::Duration;

use chunkseq_protocol::TxRefused;
use parking_lot::Mutex;

/// How often the core loop refreshes the gate at most: the pool's size is
/// counted over all pooled transactions.
pub(crate) const REFRESH: Duration = Duration::from_millis(20);

/// The refusal users' transactions get while the executable backlog is at
/// its limit; none while there is room.
#[derive(Debug, Default)]
pub(crate) struct BacklogGate {
    refusal: Mutex<Option<TxRefused>>,
}

impl BacklogGate {
    /// Publishes the core's current answer.
    pub(crate) fn set(&self, refusal: Option<TxRefused>) {
        *self.refusal.lock() = refusal;
    }

    /// The refusal that stands, if any.
    pub(crate) fn refusal(&self) -> Option<TxRefused> {
        self.refusal.lock().clone()
    }
}
