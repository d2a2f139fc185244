//! Deploying the Rollup contract on an Ethereum node and registering the
//! genesis validators: what `chunkseq l1 deploy` does.

use std::time::Duration;

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolValue;
use chunkseq_primitives::{ChainSpec, PrivateKey};
use tracing::info;

use super::{local_signer, revert_of, rpc_error};
use crate::{abi::ContractAbi, calls::RollupCall, error::L1Error};

/// What a deployment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployReport {
    /// The Rollup contract's address.
    pub rollup: Address,
    /// The L1 block that created it.
    pub deployed_in_block: u64,
    /// The validators registered, in order.
    pub registered: Vec<Address>,
}

/// Deploys the Rollup contract for `spec` and `l2_genesis_hash` from
/// `deployer`, then registers each of `validators` with `stake` (topping up
/// from the deployer any validator without enough to pay for it).
pub async fn deploy_rollup(
    url: &str,
    deployer: &PrivateKey,
    spec: &ChainSpec,
    l2_genesis_hash: B256,
    stake: U256,
    validators: &[PrivateKey],
) -> Result<DeployReport, L1Error> {
    let endpoint = url.parse().map_err(|e| L1Error::Rpc {
        what: "endpoint URL",
        reason: format!("{url}: {e}"),
    })?;
    let deployer_signer = local_signer(deployer)?;
    let deployer_address = deployer_signer.address();
    let mut wallet = EthereumWallet::from(deployer_signer);
    for v in validators {
        wallet.register_signer(local_signer(v)?);
    }
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(endpoint);
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(rpc_error("eth_chainId"))?;
    if chain_id != spec.l1_chain_id {
        return Err(L1Error::WrongChain {
            expected: spec.l1_chain_id,
            found: chain_id,
        });
    }
    let abi = ContractAbi::rollup()?;
    let mut code = abi.bytecode().to_vec();
    code.extend_from_slice(&(spec.params(), l2_genesis_hash, stake).abi_encode_params());
    let create = TransactionRequest::default()
        .with_from(deployer_address)
        .with_deploy_code(code);
    let receipt = provider
        .send_transaction(create)
        .await
        .map_err(|e| match revert_of(&abi, &e) {
            Some(reason) => L1Error::Reverted { reason },
            None => rpc_error("deploying")(e),
        })?
        .with_timeout(Some(Duration::from_secs(120)))
        .get_receipt()
        .await
        .map_err(|e| L1Error::Rpc {
            what: "deployment receipt",
            reason: e.to_string(),
        })?;
    let rollup = receipt
        .contract_address
        .filter(|_| receipt.status())
        .ok_or_else(|| L1Error::Reverted {
            reason: "the deployment transaction failed".into(),
        })?;
    let deployed_in_block = receipt.block_number.unwrap_or_default();
    info!(target: "chunkseq::l1", %rollup, deployed_in_block, "Rollup contract deployed");

    // Fund validators that cannot pay stake plus gas.
    let needed = stake.saturating_add(U256::from(10u64).pow(U256::from(17u64)));
    let mut registered = Vec::with_capacity(validators.len());
    for v in validators {
        let who = v.address();
        let balance = provider
            .get_balance(who)
            .await
            .map_err(rpc_error("eth_getBalance"))?;
        if balance < needed {
            let top_up = TransactionRequest::default()
                .with_from(deployer_address)
                .with_to(who)
                .with_value(needed.saturating_sub(balance));
            let receipt = provider
                .send_transaction(top_up)
                .await
                .map_err(rpc_error("funding a validator"))?
                .get_receipt()
                .await
                .map_err(|e| L1Error::Rpc {
                    what: "funding receipt",
                    reason: e.to_string(),
                })?;
            if !receipt.status() {
                return Err(L1Error::Reverted {
                    reason: format!("funding {who} failed"),
                });
            }
        }
        let call = RollupCall::Register {
            withdrawal: who,
            stake,
        };
        let register = TransactionRequest::default()
            .with_from(who)
            .with_to(rollup)
            .with_input(call.calldata(&abi)?)
            .with_value(stake);
        let receipt = provider
            .send_transaction(register)
            .await
            .map_err(rpc_error("registering a validator"))?
            .get_receipt()
            .await
            .map_err(|e| L1Error::Rpc {
                what: "registration receipt",
                reason: e.to_string(),
            })?;
        if !receipt.status() {
            return Err(L1Error::Reverted {
                reason: format!("registering {who} failed"),
            });
        }
        info!(target: "chunkseq::l1", validator = %who, "registered");
        registered.push(who);
    }
    Ok(DeployReport {
        rollup,
        deployed_in_block,
        registered,
    })
}
