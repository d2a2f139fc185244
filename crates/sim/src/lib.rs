//! The chunkseq simulator: many nodes running the real protocol core, the
//! real executor and the embedded L1 on one virtual clock, driven by one
//! seeded random number generator, so a seed always gives the same run.
//!
//! Every node is a `chunkseq_protocol::Core` with its own in-memory state
//! and slashing-protection store. The engine delivers inputs in time order:
//! gossip with sampled link latency, uplink bandwidth, loss and partitions;
//! L1 blocks from the embedded L1 (with its congestion and reorg model);
//! wake-ups the cores ask for; and the load generator's transactions. A node
//! that did work (gas executed, signatures checked) is busy for the time the
//! CPU model charges and handles later inputs after it.
//!
//! - [`calibrate`]: measuring the CPU model on this machine.
//! - [`scenario`]: what to simulate (TOML or built in), faults included.
//! - [`engine`]: the discrete-event loop and the byzantine behaviours.
//! - [`script`]: scripted runs of the same engine (fixed delays, no CPU
//!   cost, hooks) that drive the protocol's tests.
//!
//! Tests: `tests/scenarios.rs` runs the built-in scenarios. The protocol
//! core's scripted tests are in `tests/protocol/`: one test binary
//! (`main.rs`) with one module per subject (`full_slots`, `faults`, `rules`,
//! `reports`, `transactions`), so they link the executor and the L1 once
//! rather than five times, and test names read `faults::...`. They live here
//! because the engine is what interprets a core's outputs in a run.
//!
//! A run ends with a [`chunkseq_report::Report`]: a
//! [`chunkseq_report::Recorder`] takes in every node's events, the load
//! generator's submissions and L1's checkpoints and slashings as they happen.
//! That crate also renders the report as HTML.

pub mod calibrate;
pub mod engine;
mod invariants;
mod load;
pub mod scenario;
pub mod script;

pub use chunkseq_protocol::byzantine::Behaviour;
use chunkseq_report::Report;
pub use engine::{SimError, Simulation};
pub use scenario::{BUILTIN, Fault, Scenario, Shortcuts, builtin};
pub use script::{Record, Recorded, ScriptedRun};

/// Runs `scenario` to the end and fills in the wall-clock figures.
/// `progress(slot, slots)` is called as virtual time passes each slot.
pub fn run(scenario: Scenario, progress: impl FnMut(u64, u64)) -> Result<Report, SimError> {
    let started = std::time::Instant::now();
    let sim = Simulation::new(scenario)?;
    let mut report = sim.run(progress);
    report.wall_seconds = started.elapsed().as_secs_f64();
    report.sim_speedup = if report.wall_seconds > 0.0 {
        report.virtual_seconds / report.wall_seconds
    } else {
        0.0
    };
    Ok(report)
}
