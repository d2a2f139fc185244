//! `chunkseq bench`: measurements of the node's hot paths on this machine.

mod da;
mod exec;
mod l1;
mod protection;
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
    /// A full slot through the data-availability path: stream encoding and
    /// compression, blob packing, KZG commitments and proofs, and decoding;
    /// `--compare` compares the codecs.
    Da(da::DaArgs),
    /// Gas of the Rollup contract's checkpoint and slashing calls, on the embedded L1.
    L1(l1::L1Args),
    /// Signatures per second through slashing protection, the node's redb
    /// file against PostgreSQL (a throwaway cluster unless --protection-db),
    /// with the latency each adds (p50, p99), in the same run.
    Protection(protection::ProtectionArgs),
}

pub(crate) fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Exec(args) => exec::run(&args),
        BenchCommand::L1(args) => l1::run(&args),
        BenchCommand::Da(args) => da::run(&args),
        BenchCommand::Protection(args) => protection::run(&args),
    }
}
