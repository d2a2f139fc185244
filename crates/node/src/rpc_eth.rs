//! Ethereum's JSON-RPC methods for the tools people already use (`cast`,
//! viem, wallets), over this chain's tiers: `latest` is the provisional
//! tip, `pending` adds the pool (for nonces), `safe` is the checkpointed
//! tip and `finalized` the tip checkpointed in a finalized L1 block.
//! docs/node.md lists them; the `chunkseq_` methods stay beside them.

use alloy_primitives::U64;
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use serde_json::{Value, json};

use crate::rpc::{RpcContext, account, address_param, tag_param};

/// What `web3_clientVersion` answers: name, version and target.
pub fn client_version() -> String {
    format!(
        "chunkseq/v{}/{}-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Registers the methods on `m`.
pub(crate) fn register(
    m: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    m.register_async_method("eth_blockNumber", |_, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let tip = ctx.view().await?.tips.provisional.1;
        Ok::<_, ErrorObjectOwned>(U64::from(tip))
    })?;
    m.register_async_method("eth_getTransactionCount", |p, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        let who = address_param(&p)?;
        let tag = tag_param(&p, 1)?;
        account(&ctx, who, tag).await.map(|(n, _)| U64::from(n))
    })?;
    m.register_method("net_version", |_, ctx, _| ctx.chain_id.to_string())?;
    m.register_method("web3_clientVersion", |_, _, _| client_version())?;
    m.register_method("eth_accounts", |_, _, _| Vec::<String>::new())?;
    m.register_async_method("eth_syncing", |_, ctx, _| async move {
        ctx.metrics.rpc_requests.inc();
        if ctx.sync.lock().synced {
            return Ok::<Value, ErrorObjectOwned>(Value::Bool(false));
        }
        // Catching up: from what it has applied towards L1's checkpoints;
        // the checkpointed tip is as far as the node knows it must go.
        let (current, checkpointed) = ctx
            .query(|c| {
                let t = c.tips();
                (t.provisional.1, t.checkpointed.1)
            })
            .await?;
        Ok(json!({
            "startingBlock": U64::ZERO,
            "currentBlock": U64::from(current),
            "highestBlock": U64::from(current.max(checkpointed)),
        }))
    })?;
    Ok(())
}
