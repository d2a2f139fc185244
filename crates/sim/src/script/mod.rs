//! Scripted runs: the engine with its randomness and cost model switched to
//! fixed values, plus hooks, for the protocol's tests.
//!
//! A [`ScriptedRun`] is the same discrete-event engine as a scenario's run,
//! so the engine stays the one place in the simulator that turns a core's
//! outputs into deliveries. What differs is set up by
//! [`ScriptedRunBuilder::build`]: every link (gossip and L1 events) delays
//! by one fixed time with no random draw, no CPU time is charged, there is
//! no load generator, and every node has its own state store,
//! slashing-protection store and caches (`Shortcuts::NONE`). A test then:
//!
//! - runs to a time ([`ScriptedRun::run_until`]), calling back each second;
//! - injects transactions or any other input into a node
//!   ([`ScriptedRun::send_transfer`], [`ScriptedRun::inject`]);
//! - drops gossip per sender, recipient and message
//!   ([`ScriptedRun::set_route`]) and loses or alters a node's L1 call on its
//!   way ([`ScriptedRun::set_l1_call`]);
//! - makes a validator misbehave with a scenario [`crate::Fault`], the same
//!   byzantine behaviours the scenarios use
//!   ([`ScriptedRunBuilder::fault`]);
//! - reads the cores, L1 and the [`Record`] log of events, published gossip,
//!   submitted calls, L1 events and rejections.
//!
//! The protocol's scripted tests live in `crates/sim/tests/protocol/`.

mod hooks;
mod log;
mod run;

pub(crate) use hooks::Script;
pub use log::{Record, Recorded};
pub use run::{DEFAULT_DELAY_MS, ScriptedRun, ScriptedRunBuilder};
