//! `chunkseq l1`: set up the Rollup contract on an Ethereum node.

use std::path::{Path, PathBuf};

use alloy_primitives::U256;
use anyhow::{Context, Result, bail};
use chunkseq_execution::{DEVNET_PHRASE, DEVNET_USERS, Genesis, dev_keys};
use chunkseq_l1::rpc::deploy_rollup;
use chunkseq_primitives::{ChainSpec, Preset, PrivateKey};
use clap::{Args, Subcommand};

use crate::keystore;

/// L1 subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum L1Command {
    /// Deploy the Rollup contract on a running node (such as anvil) and
    /// register the devnet validators; prints the contract's address.
    Deploy(DeployArgs),
}

/// Arguments of `chunkseq l1 deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The L1 node's JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Named parameter set: seed, seed-staggered, fast or devnet.
    #[arg(long, default_value = "devnet", conflicts_with = "spec")]
    preset: Preset,
    /// TOML chain spec to deploy instead of a preset.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Override the spec's genesis time (unix seconds).
    #[arg(long, value_name = "SECONDS")]
    genesis_time: Option<u64>,
    /// How many devnet validators to register (keys derived from --dev-phrase).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Accounts the load generator uses, funded at L2 genesis after the validators.
    #[arg(long, default_value_t = DEVNET_USERS)]
    users: usize,
    /// Phrase the devnet keys are derived from (see `Genesis::devnet`).
    #[arg(long, default_value = DEVNET_PHRASE)]
    dev_phrase: String,
    /// The deployer's key: a file holding a hex private key on its first line,
    /// or an encrypted V3 keystore (with --password-file). The deployer pays
    /// for the deployment and funds validators that cannot pay their stake.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Password of the keystore given with --key.
    #[arg(long, value_name = "FILE", env = "CHUNKSEQ_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Stake each validator registers with, in ether.
    #[arg(long, default_value_t = 32)]
    stake_ether: u64,
    /// Print the deployment as JSON on stdout instead of the address alone.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: L1Command) -> Result<()> {
    match command {
        L1Command::Deploy(args) => deploy(&args),
    }
}

fn deploy(args: &DeployArgs) -> Result<()> {
    let mut spec: ChainSpec = match &args.spec {
        Some(path) => ChainSpec::from_toml_file(path)?,
        None => args.preset.spec(),
    };
    if let Some(t) = args.genesis_time {
        spec.genesis_time = t;
    }
    spec.validate().context("chain spec")?;
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
    let deployer = read_key(&args.key, args.password_file.as_deref())?;
    let validators = dev_keys(&args.dev_phrase, args.validators);
    let genesis_hash = Genesis::devnet(&args.dev_phrase, args.validators, args.users)?
        .hash(&spec)
        .context("computing the L2 genesis")?;
    let stake = U256::from(args.stake_ether)
        .checked_mul(U256::from(10u64).pow(U256::from(18u64)))
        .context("--stake-ether is too large")?;
    eprintln!(
        "deploying the Rollup contract to {} from {} (chain spec {}, L2 genesis {genesis_hash}), registering {} validators",
        args.rpc,
        deployer.address(),
        spec.hash(),
        validators.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime
        .block_on(deploy_rollup(
            &args.rpc,
            &deployer,
            &spec,
            genesis_hash,
            stake,
            &validators,
        ))
        .with_context(|| format!("deploying to {}", args.rpc))?;
    if report.rollup != spec.rollup_address {
        eprintln!(
            "warning: the contract landed at {}, but the chain spec names {}: signatures are bound \
             to the spec's address, so give nodes a spec file with rollup_address = \"{}\" \
             (the presets expect the deployer's first transaction on a fresh anvil)",
            report.rollup, spec.rollup_address, report.rollup
        );
    }
    eprintln!(
        "deployed in L1 block {}; registered {} validators",
        report.deployed_in_block,
        report.registered.len()
    );
    if args.json {
        let doc = serde_json::json!({
            "rollup": report.rollup.to_string(),
            "deployed_in_block": report.deployed_in_block,
            "chain_spec_hash": spec.hash().to_string(),
            "l2_genesis_hash": genesis_hash.to_string(),
            "validators": report.registered.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("{}", report.rollup);
    }
    Ok(())
}

const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// A deployer key from a hex file or an encrypted keystore.
pub(crate) fn read_key(path: &Path, password_file: Option<&Path>) -> Result<PrivateKey> {
    let bytes = chunkseq_primitives::fs::read_bounded(path, MAX_KEY_FILE_BYTES)
        .with_context(|| format!("key file {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    if text.trim_start().starts_with('{') {
        let Some(password_file) = password_file else {
            bail!(
                "{} is a keystore: pass --password-file FILE to decrypt it",
                path.display()
            );
        };
        let password = crate::cmd::keys::read_password_file(password_file)?;
        return Ok(keystore::read(path, password.as_bytes())?);
    }
    let line = text.lines().next().unwrap_or_default().trim();
    let hex_key = line.strip_prefix("0x").unwrap_or(line);
    let raw: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| {
            format!(
                "{}: expected a 32-byte hex private key on the first line, or a V3 keystore",
                path.display()
            )
        })?;
    PrivateKey::from_bytes(raw).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
