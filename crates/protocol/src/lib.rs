//! The chunkseq protocol core: one deterministic state machine per node,
//! `Core::handle(now, input) -> outputs`, that the simulator and the node
//! both drive.
//!
//! Nothing here reads a clock, draws randomness or spawns tasks: time and
//! inputs come from the driver. Outputs are gossip to publish, L1 calls to
//! send, wake-up times, requests for L1 duties, and observable events. The
//! state store (in memory for the simulator, redb on disk for the node) is
//! the only storage it touches. Every signature goes through the
//! [`chunkseq_primitives::Signer`] the driver hands it; the node and the
//! simulator hand it a `chunkseq_signer::ProtectedSigner`, whose record reaches
//! disk before a signature leaves the process (docs/design.md section 8).
//!
//! - [`core`]: the state machine and its dispatch.
//! - [`proposer`]: chunked building, proposal sequencing, slot cut, checkpoint.
//! - [`attester`]: attestation jobs, re-executing proposals in index order.
//! - [`follower`]: provisional acceptance, L1 checkpoints, missed-window reorgs.
//! - [`chain`]: the checkpointed head and the provisional blocks above it.
//! - [`evidence`]: [`EvidenceDetector`], which spots the slashable offences in
//!   verified statements and accepted checkpoints and builds the L1 calls.
//! - [`verify`]: signature and role checks of gossip messages.
//! - [`byzantine`]: the byzantine behaviours, as filters on an honest core's
//!   outputs, for the simulator and the node's fault flags.
//! - `duties` and `reporting`: asking L1 for duties and recording
//!   committees; slashing reports submitted until L1 shows the slash.
//! - `standby`: a validator pair's build leases; the standby node takes a
//!   slot over when the builder stops renewing its lease.
//! - `rescue`: publishing the attested chain of a slot whose proposer did
//!   not, in the rescue window after it.
//! - `catch_up` and [`sync`]: a starting node catches up with L1 and its
//!   peers before it takes part; the messages and checks of catch-up.

mod accounts;
pub mod attester;
pub mod byzantine;
mod catch_up;
pub mod chain;
pub mod core;
mod duties;
pub mod evidence;
pub mod exec_cache;
pub mod fees;
pub mod follower;
pub mod io;
pub mod proposer;
mod reporting;
mod rescue;
pub mod slot_data;
mod standby;
pub mod sync;
pub mod verify;

pub use crate::core::{Core, CoreConfig, CoreError, Tips};
pub use chain::{Chain, ChainBlock, CheckpointTip};
pub use evidence::{EvidenceDetector, Offence, OmissionCandidate, equivocation_call};
pub use exec_cache::{ExecutionCache, RecoveryCache};
pub use follower::ApplyError;
pub use io::{
    BlockEntry, Duties, Event, Gossip, Input, Output, ReorgCause, StatusDetail, TxIn, TxOrigin,
    TxRefused, TxStatus, Work,
};
pub use slot_data::{SlotData, SlotDataError};
pub use sync::{CheckpointRecord, SyncError, SyncRequest, SyncResponse};
