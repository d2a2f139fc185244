//! `chunkseq node`: run one node, configured by a TOML file whose every key
//! is also a flag (flags win).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use alloy_primitives::Address;
use anyhow::{Context, Result, bail};
use chunkseq_execution::{DEVNET_PHRASE, DEVNET_USERS, Genesis, dev_keys};
use chunkseq_l1::{
    EmbeddedConfig, EmbeddedL1, L1, SharedEmbeddedL1,
    rpc::{RpcConfig, RpcL1},
};
use chunkseq_node::{Node, NodeConfig, node::NodeFaults, rpc_limits::RpcLimits};
use chunkseq_primitives::{ChainSpec, Preset, PrivateKey};
use chunkseq_protocol::CoreConfig;
use clap::Args;
use serde::Deserialize;

/// Arguments of `chunkseq node`; each may also be given in the `--config` file.
#[derive(Debug, Args, Default)]
pub(crate) struct NodeArgs {
    /// TOML file with any of the settings below (kebab-case keys, e.g.
    /// `data-dir = "/var/lib/chunkseq"`); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Parameter preset [default: devnet].
    #[arg(long)]
    preset: Option<Preset>,
    /// TOML chain spec instead of a preset.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Override the spec's genesis time (unix seconds); every node of a
    /// network and the Rollup contract must agree on it.
    #[arg(long, value_name = "SECONDS")]
    genesis_time: Option<u64>,
    /// Validators in the devnet genesis (keys derived from --dev-phrase) [default: 4].
    #[arg(long)]
    validators: Option<usize>,
    /// Phrase the devnet genesis keys derive from [default: "chunkseq devnet"].
    #[arg(long)]
    dev_phrase: Option<String>,
    /// Validator key: a hex key file or an encrypted V3 keystore.
    #[arg(long, value_name = "FILE")]
    keystore: Option<PathBuf>,
    /// Password file of the keystore.
    #[arg(long, value_name = "FILE", env = "CHUNKSEQ_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Use devnet validator key number N (insecure: for local networks).
    #[arg(long, value_name = "N", conflicts_with = "keystore")]
    dev_key: Option<usize>,
    /// Where the node keeps its databases [default: ./chunkseq-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// libp2p listen address [default: /ip4/0.0.0.0/tcp/9000].
    #[arg(long, value_name = "MULTIADDR")]
    listen: Option<String>,
    /// Peers to dial (repeat the flag or give a list in the file).
    #[arg(long, value_name = "MULTIADDR")]
    bootnodes: Vec<String>,
    /// Memory the database may use to cache pages, in MiB; what it caches
    /// stays resident [default: 256].
    #[arg(long, value_name = "MIB")]
    db_cache_mib: Option<usize>,
    /// JSON-RPC address, HTTP and websocket [default: 127.0.0.1:8545].
    #[arg(long, value_name = "ADDR")]
    rpc: Option<SocketAddr>,
    /// Open RPC connections one client (IP address) may hold; one over it is
    /// answered 429. The server holds 1,000 in all [default: 64].
    #[arg(long, value_name = "N")]
    rpc_max_connections_per_client: Option<usize>,
    /// RPC calls per second one client may make over all its connections
    /// (each call of a batch counts); more get error -32005 [default: 2000].
    #[arg(long, value_name = "N")]
    rpc_requests_per_second: Option<u32>,
    /// Prometheus metrics and /health address [default: 127.0.0.1:9100].
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// L1 JSON-RPC endpoint; without it the node runs an embedded L1 of its
    /// own (a one-node chain, for trying things out).
    #[arg(long, value_name = "URL")]
    l1_rpc: Option<String>,
    /// Beacon API serving the L1's blobs (`/eth/v1/beacon/blobs/{block}`),
    /// from which a catching-up node reads checkpoints published in blobs;
    /// every blob is checked against its versioned hash [default: the
    /// --l1-rpc URL's host and port, where anvil serves it].
    #[arg(long, value_name = "URL")]
    l1_beacon: Option<String>,
    /// The Rollup contract on that L1 [default: the spec's rollup address].
    #[arg(long, value_name = "ADDRESS")]
    rollup: Option<Address>,
    /// The L1 block the Rollup contract was deployed in: a node catching up
    /// from L1's logs searches from there [default: 0].
    #[arg(long, value_name = "NUMBER")]
    rollup_deploy_block: Option<u64>,
    /// A one-node development chain, as anvil gives one: this node is the
    /// only validator (devnet key 0) over an embedded L1, its data lives in
    /// a temporary directory unless --data-dir names one, and the
    /// developer accounts of the standard test mnemonic are funded and
    /// printed.
    #[arg(long, conflicts_with_all = ["l1_rpc", "keystore", "validators", "dev_key"])]
    dev: bool,
    /// Slashing protection in this PostgreSQL database
    /// (`postgres://user:password@host:port/db`) instead of the node's own
    /// file: the two nodes of a validator pair share one, so of the two
    /// only one ever signs a duty. While it is unreachable the node signs
    /// nothing (docs/slashing-protection.md).
    #[arg(long, value_name = "URL")]
    protection_db: Option<String>,
    /// This node's name within a validator pair, recorded with the build
    /// leases that decide which of the two builds a slot; the two must
    /// differ. Default: the node's libp2p peer id.
    #[arg(long, value_name = "NAME", requires = "protection_db")]
    ha_node_name: Option<String>,
    /// How long a validator pair's build lease lasts unrenewed before the
    /// standby node takes the slot over, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = CoreConfig::default().ha_lease_ms)]
    ha_lease_ms: u64,
}

/// The same settings as read from the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NodeFile {
    preset: Option<String>,
    spec: Option<PathBuf>,
    genesis_time: Option<u64>,
    validators: Option<usize>,
    dev_phrase: Option<String>,
    keystore: Option<PathBuf>,
    password_file: Option<PathBuf>,
    dev_key: Option<usize>,
    data_dir: Option<PathBuf>,
    db_cache_mib: Option<usize>,
    listen: Option<String>,
    #[serde(default)]
    bootnodes: Vec<String>,
    rpc: Option<SocketAddr>,
    rpc_max_connections_per_client: Option<usize>,
    rpc_requests_per_second: Option<u32>,
    metrics: Option<SocketAddr>,
    l1_rpc: Option<String>,
    l1_beacon: Option<String>,
    rollup: Option<Address>,
    rollup_deploy_block: Option<u64>,
    protection_db: Option<String>,
    ha_node_name: Option<String>,
}

const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The settings with the file merged under the flags.
fn merged(args: NodeArgs) -> Result<NodeArgs> {
    let Some(path) = &args.config else {
        return Ok(args);
    };
    let bytes = chunkseq_primitives::fs::read_bounded(path, MAX_CONFIG_BYTES)
        .with_context(|| format!("config file {}", path.display()))?;
    let text =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let f: NodeFile =
        toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?;
    let preset = match f.preset {
        Some(p) => Some(p.parse::<Preset>()?),
        None => None,
    };
    Ok(NodeArgs {
        config: args.config,
        dev: args.dev,
        preset: args.preset.or(preset),
        spec: args.spec.or(f.spec),
        genesis_time: args.genesis_time.or(f.genesis_time),
        validators: args.validators.or(f.validators),
        dev_phrase: args.dev_phrase.or(f.dev_phrase),
        keystore: args.keystore.or(f.keystore),
        password_file: args.password_file.or(f.password_file),
        dev_key: args.dev_key.or(f.dev_key),
        data_dir: args.data_dir.or(f.data_dir),
        db_cache_mib: args.db_cache_mib.or(f.db_cache_mib),
        listen: args.listen.or(f.listen),
        bootnodes: if args.bootnodes.is_empty() {
            f.bootnodes
        } else {
            args.bootnodes
        },
        rpc: args.rpc.or(f.rpc),
        rpc_max_connections_per_client: args
            .rpc_max_connections_per_client
            .or(f.rpc_max_connections_per_client),
        rpc_requests_per_second: args.rpc_requests_per_second.or(f.rpc_requests_per_second),
        metrics: args.metrics.or(f.metrics),
        l1_rpc: args.l1_rpc.or(f.l1_rpc),
        l1_beacon: args.l1_beacon.or(f.l1_beacon),
        rollup: args.rollup.or(f.rollup),
        rollup_deploy_block: args.rollup_deploy_block.or(f.rollup_deploy_block),
        protection_db: args.protection_db.or(f.protection_db),
        ha_node_name: args.ha_node_name.or(f.ha_node_name),
        ha_lease_ms: args.ha_lease_ms,
    })
}

pub(crate) fn run(args: NodeArgs) -> Result<()> {
    let dev = args.dev;
    let mut a = merged(args)?;
    // Kept alive until the node stops: a --dev chain's data directory.
    let mut _dev_dir = None;
    if dev {
        if a.l1_rpc.is_some() || a.keystore.is_some() {
            bail!(
                "--dev runs its own embedded L1 with devnet key 0; drop l1-rpc and keystore from the config file"
            );
        }
        a.validators = Some(1);
        a.dev_key = Some(0);
        if a.data_dir.is_none() {
            let dir = tempfile::tempdir().context("a temporary data directory")?;
            a.data_dir = Some(dir.path().to_owned());
            _dev_dir = Some(dir);
        }
        chunkseq_node::devnet::print_dev_accounts()?;
    }
    let mut spec: ChainSpec = match &a.spec {
        Some(path) => ChainSpec::from_toml_file(path)?,
        None => a.preset.unwrap_or(Preset::Devnet).spec(),
    };
    if let Some(t) = a.genesis_time {
        spec.genesis_time = t;
    } else if a.l1_rpc.is_none() {
        // A fresh embedded L1 each run: start the chain now.
        let now = chunkseq_node::clock::Clock::now(&chunkseq_node::clock::SystemClock);
        spec.genesis_time = now.0.div_ceil(1_000).saturating_add(2);
        eprintln!(
            "embedded L1: genesis at {} (the embedded L1 keeps no state across runs; use --l1-rpc for a lasting network)",
            spec.genesis_time
        );
    }
    spec.validate().context("chain spec")?;
    if a.l1_beacon.is_some() && a.l1_rpc.is_none() {
        bail!("--l1-beacon needs --l1-rpc: the embedded L1 serves its own blobs");
    }
    let validators = a.validators.unwrap_or(4);
    let phrase = a
        .dev_phrase
        .clone()
        .unwrap_or_else(|| DEVNET_PHRASE.to_owned());
    let genesis = Genesis::devnet(&phrase, validators, DEVNET_USERS)?;
    let key: Option<PrivateKey> = match (&a.keystore, a.dev_key) {
        (Some(path), _) => Some(crate::cmd::l1::read_key(path, a.password_file.as_deref())?),
        (None, Some(n)) => {
            if n >= validators {
                bail!("--dev-key {n}: the devnet genesis has validators 0..{validators}");
            }
            dev_keys(&phrase, validators).into_iter().nth(n)
        }
        (None, None) => None,
    };
    let bootnodes = a
        .bootnodes
        .iter()
        .map(|b| {
            b.parse()
                .with_context(|| format!("bootnode {b:?} is not a multiaddr"))
        })
        .collect::<Result<Vec<_>>>()?;
    let listen = a
        .listen
        .clone()
        .unwrap_or_else(|| "/ip4/0.0.0.0/tcp/9000".into());
    let cfg = NodeConfig {
        spec: spec.clone(),
        genesis: genesis.clone(),
        data_dir: Some(
            a.data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("chunkseq-data")),
        ),
        db_cache_mib: a
            .db_cache_mib
            .unwrap_or(chunkseq_node::DEFAULT_DB_CACHE_MIB),
        key: key.clone(),
        p2p_secret: None,
        listen: listen
            .parse()
            .with_context(|| format!("--listen {listen:?} is not a multiaddr"))?,
        bootnodes,
        rpc: a
            .rpc
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8545))),
        rpc_limits: {
            let d = RpcLimits::default();
            let per_client = a
                .rpc_max_connections_per_client
                .unwrap_or(d.max_connections_per_client);
            if per_client == 0 || per_client >= d.max_connections {
                bail!(
                    "--rpc-max-connections-per-client must be from 1 to {} (below the server's {} so one client leaves room for others)",
                    d.max_connections - 1,
                    d.max_connections
                );
            }
            let rate = a.rpc_requests_per_second.unwrap_or(d.requests_per_second);
            if rate == 0 {
                bail!("--rpc-requests-per-second must be at least 1");
            }
            RpcLimits {
                max_connections_per_client: per_client,
                requests_per_second: rate,
                ..d
            }
        },
        metrics: Some(
            a.metrics
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9100))),
        ),
        core: CoreConfig {
            ha_lease_ms: a.ha_lease_ms,
            ..CoreConfig::default()
        },
        faults: NodeFaults::default(),
        protection_db: a.protection_db.clone(),
        ha_node_name: a.ha_node_name.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        match &a.l1_rpc {
            Some(url) => {
                let rollup = a.rollup.unwrap_or(spec.rollup_address);
                let keys: Vec<PrivateKey> = key.into_iter().collect();
                let l1 = RpcL1::connect(
                    url,
                    rollup,
                    &keys,
                    RpcConfig {
                        block_time_ms: spec.l1_block_time_ms,
                        deploy_block: a.rollup_deploy_block.unwrap_or(0),
                        beacon_url: a.l1_beacon.clone(),
                        ..RpcConfig::default()
                    },
                )
                .await
                .with_context(|| format!("connecting to L1 at {url}"))?;
                let theirs = l1.chain_spec_hash().await.context("reading the contract's chain spec hash")?;
                if theirs != spec.hash() {
                    bail!(
                        "the Rollup contract at {rollup} was deployed for chain spec {theirs}, this node runs {}: refusing to start (check --preset, --spec and --genesis-time)",
                        spec.hash()
                    );
                }
                serve(cfg, Arc::new(l1)).await
            }
            None => {
                let addrs: Vec<Address> = dev_keys(&phrase, validators).iter().map(PrivateKey::address).collect();
                let genesis_hash = genesis.hash(&spec)?;
                let now = chunkseq_node::clock::Clock::now(&chunkseq_node::clock::SystemClock);
                let l1 = SharedEmbeddedL1::new(EmbeddedL1::new(
                    &spec,
                    genesis_hash,
                    &addrs,
                    EmbeddedConfig {
                        start: Some(now.min(EmbeddedL1::default_start(&spec))),
                        ..EmbeddedConfig::default()
                    },
                )?);
                let _driver = chunkseq_node::clock::drive_embedded_l1(&l1);
                serve(cfg, Arc::new(l1)).await
            }
        }
    })
}

async fn serve<L: L1 + 'static>(cfg: NodeConfig, l1: Arc<L>) -> Result<()> {
    let node = Node::start(cfg, l1).await?;
    eprintln!(
        "node running: rpc http://{} (websocket on the same port), metrics {}, p2p {} /p2p/{}",
        node.rpc_addr(),
        node.metrics_addr()
            .map_or_else(|| "off".into(), |a| format!("http://{a}/metrics")),
        node.listen_addrs()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        node.peer_id()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("stopping");
    node.stop().await;
    Ok(())
}
