//! The report of a chunkseq run, shared by the simulator and the devnet.
//!
//! A run, simulated (`chunkseq-sim`) or real (the node's one-process
//! devnet), ends with one [`Report`]: the JSON object of docs/design.md section 13
//! plus what the HTML page draws. Both drivers fill it the same way: they
//! hand a [`Recorder`] the transactions they submit, the protocol
//! [`Event`](chunkseq_protocol::Event)s their nodes emit and what L1 decided,
//! and the recorder turns them into latencies, counts, the per-slot timeline
//! and the lists of reorgs and slashings.
//!
//! - [`report`]: the report and its parts, serialised as the JSON report.
//! - [`recorder`]: the collection of a run's measurements, and the report
//!   built from them.
//! - `html` (cargo feature `html`, on by default): the self-contained HTML
//!   page of a run or of a parameter sweep, charts drawn with plotters. The
//!   node builds without it.

#[cfg(feature = "html")]
pub mod html;
pub mod recorder;
pub mod report;

pub use recorder::{Recorder, RunInfo, ScheduledSlot, offence_name, refusal_reason};
pub use report::{
    BlockTimeline, HaSummary, Latencies, Percentiles, ReorgRecord, Report, SlashingRecord,
    SlotTimeline, ThroughputPoint, Violation,
};
