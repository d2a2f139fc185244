//! `chunkseq devnet`: N validator nodes, one embedded L1 and a load
//! generator in one process.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chunkseq_node::devnet::{self, DevnetConfig};
use chunkseq_primitives::Preset;
use clap::Args;

/// Arguments of `chunkseq devnet`.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Validator nodes, each with its own libp2p swarm, databases and keys.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Parameter preset (`chunkseq spec --list` shows them).
    #[arg(long, default_value = "devnet")]
    preset: Preset,
    /// Stop after this many slots and print the report; runs until Ctrl-C without it.
    #[arg(long)]
    slots: Option<u64>,
    /// Load in transactions per second, sent through the nodes' JSON-RPC.
    #[arg(long, default_value_t = 100.0)]
    tps: f64,
    /// Share of the load that is ERC-20 transfers, 0 to 1.
    #[arg(long, default_value_t = 0.25)]
    erc20_share: f64,
    /// Load accounts funded at genesis and used in turn; by default 64, or
    /// one per 4 tx/s of `--tps` above 256 tx/s.
    #[arg(long)]
    accounts: Option<usize>,
    /// Write the report (docs/design.md section 13) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the nodes' databases here (node-0, node-1, ...); a temporary
    /// directory otherwise.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// First JSON-RPC port (node i listens on PORT+i); free ports when 0.
    #[arg(long, default_value_t = 8545)]
    rpc_port: u16,
    /// Fault injection: the proposer of this slot withholds its checkpoint;
    /// the other nodes rescue it after its publish window (or, with
    /// `--no-rescue`, every node retracts the slot's blocks, which
    /// websocket `reorgs` subscribers see).
    #[arg(long, value_name = "SLOT")]
    fault_withhold_checkpoint: Option<u64>,
    /// Nodes do not rescue slots whose proposer did not publish (to compare
    /// with rescue publishing, docs/rescue.md).
    #[arg(long)]
    no_rescue: bool,
    /// Use this Ethereum node as L1 instead of the embedded one: a fresh
    /// anvil started with `--block-time 2`. The Rollup contract is deployed
    /// there from anvil's first account.
    #[arg(long, value_name = "URL")]
    l1_rpc: Option<String>,
    /// Where checkpoints put their transactions: calldata, blobs, or auto
    /// (the cheaper per checkpoint) [default: the preset's, auto].
    #[arg(long, value_name = "MODE")]
    data_mode: Option<chunkseq_primitives::DataMode>,
    /// Flood benchmark: send this many tx/s for `--flood-secs`, then `--tps`
    /// again, and report admission, latency and memory before, during and
    /// after (docs/execution.md, "Flood").
    #[arg(long, value_name = "TPS")]
    flood_tps: Option<f64>,
    /// Slots at `--tps` before the flood starts.
    #[arg(long, default_value_t = 2, requires = "flood_tps")]
    flood_after_slots: u64,
    /// Length of the flood in seconds.
    #[arg(long, default_value_t = 60, requires = "flood_tps")]
    flood_secs: u64,
    /// Read-load benchmark: this many reads a second (half `eth_call`, half
    /// `eth_getBalance`, over all nodes) for `--read-secs`, and provisional
    /// latency before, during and after (docs/node.md, "Reads under load").
    #[arg(long, value_name = "RPS")]
    read_rps: Option<f64>,
    /// Slots before the reads start.
    #[arg(long, default_value_t = 2, requires = "read_rps")]
    read_after_slots: u64,
    /// Length of the read load in seconds.
    #[arg(long, default_value_t = 20, requires = "read_rps")]
    read_secs: u64,
    /// Run validator N as a high-availability pair: node N and one more
    /// node share its key and one PostgreSQL slashing-protection database;
    /// one builds each of its slots, the other takes over when it stops
    /// (docs/slashing-protection.md).
    #[arg(long, value_name = "N")]
    ha_pair: Option<usize>,
    /// The pair's PostgreSQL database (postgres://user:pass@host:port/db);
    /// without it the devnet starts a throwaway cluster with Debian's
    /// PostgreSQL binaries, says where, and removes it at exit.
    #[arg(long, value_name = "URL", requires = "ha_pair")]
    protection_db: Option<String>,
    /// Stop the pair's active node this often, as kill -9 would, and start
    /// it again half a period later; the report counts kills, failovers and
    /// conflicting signatures (0 expected).
    #[arg(long, value_name = "SECONDS", requires = "ha_pair")]
    kill_active_every: Option<f64>,
}

pub(crate) fn run(args: DevnetArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.erc20_share) {
        bail!("--erc20-share must be between 0 and 1");
    }
    if let Some(t) = args.flood_tps
        && !(t.is_finite() && t >= 0.0)
    {
        bail!("--flood-tps must be a non-negative number");
    }
    if let Some(r) = args.read_rps
        && !(r.is_finite() && r > 0.0 && r <= 100_000.0)
    {
        bail!("--read-rps must be a number of reads a second from above 0 to 100,000");
    }
    let kill_active_every = match args.kill_active_every {
        Some(s) if s.is_finite() && (2.0..=86_400.0).contains(&s) => {
            Some(std::time::Duration::from_secs_f64(s))
        }
        Some(_) => bail!("--kill-active-every must be from 2 to 86,400 seconds"),
        None => None,
    };
    let cfg = DevnetConfig {
        nodes: args.nodes,
        preset: args.preset,
        slots: args.slots,
        tps: args.tps,
        erc20_share: args.erc20_share,
        accounts: args.accounts,
        data_dir: args.data_dir,
        rpc_port: args.rpc_port,
        withhold_checkpoint: args.fault_withhold_checkpoint,
        rescue: !args.no_rescue,
        l1_rpc: args.l1_rpc,
        data_mode: args.data_mode,
        flood: args.flood_tps.map(|tps| chunkseq_node::flood::Flood {
            tps,
            after_slots: args.flood_after_slots,
            seconds: args.flood_secs,
        }),
        read_load: args.read_rps.map(|rps| chunkseq_node::read_load::ReadLoad {
            rps,
            after_slots: args.read_after_slots,
            seconds: args.read_secs,
        }),
        ha_pair: args.ha_pair,
        protection_db: args.protection_db,
        kill_active_every,
        ..DevnetConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let report = runtime.block_on(devnet::run(cfg, async {
        let _ = tokio::signal::ctrl_c().await;
    }))?;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("report written to {}", path.display());
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if let Some(slots) = args.slots
        && report.checkpoints < slots
        && args.fault_withhold_checkpoint.is_none()
    {
        bail!(
            "only {} of {slots} slots were checkpointed on L1",
            report.checkpoints
        );
    }
    Ok(())
}
