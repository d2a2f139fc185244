//! The chunkseq protocol core: the sans-I/O logic of proposer, attester and
//! follower, starting with the slashing protection every signature goes
//! through.
//!
//! Nothing here reads a clock, draws randomness or spawns tasks: time and
//! inputs come from the driver (the node or the simulator). The one piece of
//! I/O is the slashing-protection store, which must reach disk before a
//! signature leaves the process (DESIGN.md section 8).
//!
//! - [`slashing_protection`]: the durable record of signed digests,
//!   [`ProtectedSigner`], and the JSON interchange format.

pub mod slashing_protection;

pub use slashing_protection::{
    Decision, Interchange, InterchangeError, ProtectedSigner, SlashingProtectionError,
    SlashingProtectionStore,
};
