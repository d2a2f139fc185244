//! The chunkseq protocol core: the sans-I/O logic of proposer, attester and
//! follower, starting with the slashing protection every signature goes
//! through.
//!
//! Nothing here reads a clock, draws randomness or spawns tasks: time and
//! inputs come from the driver (the node or the simulator). The one piece of
//! I/O is the slashing-protection store, which must reach disk before a
//! signature leaves the process (DESIGN.md section 8).
//!
//! - [`evidence`]: [`EvidenceDetector`], which spots the slashable offences in
//!   verified statements and accepted checkpoints and builds the L1 calls.
//! - [`slashing_protection`]: the durable record of signed digests,
//!   [`ProtectedSigner`], and the JSON interchange format.

pub mod evidence;
pub mod slashing_protection;

pub use evidence::{EvidenceDetector, Offence, OmissionCandidate, equivocation_call};

pub use slashing_protection::{
    Decision, Interchange, InterchangeError, ProtectedSigner, SlashingProtectionError,
    SlashingProtectionStore,
};
