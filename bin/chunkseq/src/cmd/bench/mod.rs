//! `chunkseq bench`: measurements of the node's hot paths on this machine.

mod exec;
mod stats;
mod workload;

use anyhow::Result;
use clap::Subcommand;

/// Benchmark subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Build, commit and re-execute blocks of signed transactions, against a
    /// bare revm baseline measured in the same run.
    Exec(exec::ExecArgs),
}

pub(crate) fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Exec(args) => exec::run(&args),
    }
}
