//! The protocol core's scripted tests, run through the simulator's engine
//! (`chunkseq_sim::ScriptedRun`): several cores on one virtual clock, every
//! link delaying by a fixed 50 ms, no CPU cost, the embedded L1 running the
//! real Rollup contract, and hooks that script network faults and
//! misbehaving validators. One binary for all of them, one module per
//! original file, so the test names stay `full_slots::...`, `faults::...`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

mod catch_up;
mod common;
mod faults;
mod full_slots;
mod reports;
mod rules;
mod transactions;
