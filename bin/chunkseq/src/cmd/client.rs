//! `chunkseq tx send|status` and `chunkseq status`: JSON-RPC clients of a
//! running node.

use std::{path::PathBuf, time::Duration};

use alloy_primitives::{Address, B256, U256};
use anyhow::{Context, Result, bail};
use chunkseq_execution::{DEVNET_PHRASE, DEVNET_USERS, dev_keys, pool::signed_transfer};
use chunkseq_primitives::PrivateKey;
use clap::{Args, Subcommand};
use jsonrpsee::{core::client::ClientT, rpc_params};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};

/// Where the node's RPC is.
#[derive(Debug, Args)]
pub(crate) struct RpcTarget {
    /// The node's JSON-RPC endpoint.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8545",
        env = "CHUNKSEQ_RPC"
    )]
    rpc: String,
}

impl RpcTarget {
    fn client(&self) -> Result<HttpClient> {
        HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(10))
            .build(&self.rpc)
            .with_context(|| format!("RPC endpoint {}", self.rpc))
    }
}

/// Transaction subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TxCommand {
    /// Sign and send a transfer; prints its hash.
    Send(SendArgs),
    /// Print a transaction's status.
    Status(StatusArgs),
}

/// Arguments of `chunkseq tx send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    target: RpcTarget,
    /// Sender key: a hex key file or a V3 keystore.
    #[arg(long, value_name = "FILE", conflicts_with = "dev_account")]
    key: Option<PathBuf>,
    /// Password file of the keystore.
    #[arg(long, value_name = "FILE", env = "CHUNKSEQ_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Send from devnet load account N (insecure: for local networks).
    #[arg(long, value_name = "N")]
    dev_account: Option<usize>,
    /// Validators in the devnet genesis (the load accounts come after them).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Recipient.
    #[arg(long)]
    to: Address,
    /// Amount in wei.
    #[arg(long, default_value_t = U256::from(1u64))]
    value: U256,
    /// Nonce [default: the sender's provisional nonce].
    #[arg(long)]
    nonce: Option<u64>,
    /// Wait until the transaction is checkpointed on L1, printing each status.
    #[arg(long)]
    wait: bool,
}

/// Arguments of `chunkseq tx status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    target: RpcTarget,
    /// The transaction hash.
    hash: B256,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) fn tx(command: TxCommand) -> Result<()> {
    runtime()?.block_on(async move {
        match command {
            TxCommand::Send(a) => send(a).await,
            TxCommand::Status(a) => {
                let c = a.target.client()?;
                let v: serde_json::Value = c
                    .request("chunkseq_getTransactionStatus", rpc_params![a.hash])
                    .await
                    .context("chunkseq_getTransactionStatus")?;
                if v.is_null() {
                    bail!("the node does not know transaction {}", a.hash);
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
                Ok(())
            }
        }
    })
}

async fn send(a: SendArgs) -> Result<()> {
    let key: PrivateKey = match (&a.key, a.dev_account) {
        (Some(path), _) => crate::cmd::l1::read_key(path, a.password_file.as_deref())?,
        (None, Some(n)) => dev_keys(DEVNET_PHRASE, a.validators.saturating_add(DEVNET_USERS))
            .into_iter()
            .nth(a.validators.saturating_add(n))
            .context("no such devnet account")?,
        (None, None) => bail!("give --key FILE or --dev-account N"),
    };
    let c = a.target.client()?;
    let chain_id: String = c
        .request("eth_chainId", rpc_params![])
        .await
        .context("eth_chainId")?;
    let chain_id = u64::from_str_radix(chain_id.trim_start_matches("0x"), 16)
        .with_context(|| format!("bad chain id {chain_id}"))?;
    let nonce = match a.nonce {
        Some(n) => n,
        None => c
            .request(
                "chunkseq_getNonce",
                rpc_params![key.address(), "provisional"],
            )
            .await
            .context("chunkseq_getNonce")?,
    };
    let raw = signed_transfer(&key, chain_id, nonce, a.to, a.value);
    let hash: B256 = c
        .request("chunkseq_sendRawTransaction", rpc_params![raw])
        .await
        .context("chunkseq_sendRawTransaction")?;
    println!("{hash}");
    if a.wait {
        let mut last = String::new();
        for _ in 0..600 {
            let v: serde_json::Value = c
                .request("chunkseq_getTransactionStatus", rpc_params![hash])
                .await
                .context("chunkseq_getTransactionStatus")?;
            let status = v
                .get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("unknown")
                .to_owned();
            if status != last {
                eprintln!("{status}");
                last = status;
            }
            if last == "checkpointed" {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("not checkpointed after 2 minutes (last status {last})");
    }
    Ok(())
}

pub(crate) fn status(target: RpcTarget) -> Result<()> {
    runtime()?.block_on(async move {
        let c = target.client()?;
        let v: serde_json::Value = c
            .request("chunkseq_status", rpc_params![])
            .await
            .context("chunkseq_status")?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        Ok(())
    })
}
