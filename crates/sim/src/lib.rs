//! The chunkseq simulator: many nodes running the real protocol core, the
//! real executor and the embedded L1 on one virtual clock, driven by one
//! seeded random number generator, so a seed always gives the same run.
//!
//! - [`report`]: what a run produces, as JSON and for the HTML report.
//! - [`html`]: the self-contained HTML page of a run or of a parameter sweep.

pub mod html;
pub mod report;

pub use html::{SweepPoint, render_html, render_sweep_html};
pub use report::Report;
