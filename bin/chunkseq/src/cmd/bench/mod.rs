//! `chunkseq bench`: measurements of the node's hot paths on this machine.

mod exec;
mod l1;
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
    /// Gas of the Rollup contract's checkpoint and slashing calls, on the embedded L1.
    L1(l1::L1Args),
}

pub(crate) fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Exec(args) => exec::run(&args),
        BenchCommand::L1(args) => l1::run(&args),
    }
}
