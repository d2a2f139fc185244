//! `chunkseq`: the command line of the chunkseq rollup sequencer.
//!
//! A thin binary: argument parsing, logging and output formatting live here;
//! everything else lives in the library crates.

mod cmd;
mod keystore;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the simulator and the node allocate many small, short-lived
/// objects (pool entries, messages, state diffs); measured against the
/// system allocator in `docs/simulator.md`. The `system-alloc` feature
/// leaves the system allocator in place, so that heap profilers that hook
/// `malloc` (heaptrack) see every allocation.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// chunkseq: a decentralized rollup sequencer that builds in chunks.
#[derive(Debug, Parser)]
#[command(name = "chunkseq", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local network in one process: validator nodes on loopback
    /// libp2p, an embedded L1, load through JSON-RPC, one line per slot.
    Devnet(cmd::devnet::DevnetArgs),
    /// Run one node (config file and flags).
    Node(cmd::node::NodeArgs),
    /// Send a transaction to a node, or ask for its status.
    #[command(subcommand)]
    Tx(cmd::client::TxCommand),
    /// Ask a node for its status.
    Status(cmd::client::RpcTarget),
    /// Print a chain spec's parameters and the timetable of one slot.
    Spec(cmd::spec::SpecArgs),
    /// Create and inspect encrypted validator keystores.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Measure the hot paths on this machine.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Run the deterministic simulator: scenarios, sweeps, calibration.
    Sim(cmd::sim::SimArgs),
    /// Set up the Rollup contract on an Ethereum node.
    #[command(subcommand)]
    L1(cmd::l1::L1Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A simulation runs many nodes in one process: only their warnings and
    // errors are worth a line each by default.
    init_logging(match cli.command {
        Command::Sim(_) => "warn,chunkseq::protocol=error,chunkseq::evidence=error",
        // Four nodes in one process: the per-slot lines are the output.
        Command::Devnet(_) => "warn,chunkseq::devnet=info,libp2p=error",
        _ => "info",
    });
    let result = match cli.command {
        Command::Devnet(args) => cmd::devnet::run(args),
        Command::Node(args) => cmd::node::run(args),
        Command::Tx(command) => cmd::client::tx(command),
        Command::Status(target) => cmd::client::status(target),
        Command::Spec(args) => cmd::spec::run(&args),
        Command::Keys(command) => cmd::keys::run(command),
        Command::Bench(command) => cmd::bench::run(command),
        Command::L1(command) => cmd::l1::run(command),
        Command::Sim(args) => cmd::sim::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`; for `sim`,
/// warnings only), so stdout carries only a command's output.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
