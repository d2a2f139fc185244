//! The RPC L1: the Rollup contract on an Ethereum node reached over JSON-RPC
//! (anvil, a testnet or mainnet node), through an alloy provider.
//!
//! Calls are checked against the node's current state before they are sent
//! (a call that would revert is refused at once with its reason and costs no
//! fee), sent as EIP-1559 transactions with nonces this handle tracks, and
//! resent with higher fees (the same nonce, so at most one lands) every
//! [`FeePolicy::bump_after_blocks`] blocks until one is included or the
//! deadline passes. A submission past its deadline is cancelled by a zero-value
//! transfer to self at a higher fee, which frees the nonce for later calls.
//!
//! A call that carries blobs (a checkpoint published in blobs) is sent as an
//! EIP-4844 (type 3) transaction with a sidecar of the version the node's
//! fork takes (EIP-7594 cell proofs from Osaka on), computed once per
//! submission on the blocking pool and reused by every resend; its blob fee
//! cap follows the blob base fee (see [`FeePolicy`]).
//!
//! Events come from polling: each new block is read with its randomness, the
//! Rollup contract's logs and the receipts of this handle's transactions. A
//! block whose parent is not the block this handle saw before reports the
//! replaced blocks as [`L1Event::Reorg`]. A checkpoint accepted in blob mode
//! comes back with its bodies read from the beacon API's blobs (see
//! [`BeaconClient`]), each blob checked against its versioned hash first.

mod anvil;
mod beacon;
mod blob_tx;
mod deploy;
mod fees;
mod tracker;

pub use anvil::{ANVIL_DEPLOYER_KEY, AnvilProcess};
pub use beacon::{
    BeaconBlockId, BeaconClient, MAX_BLOBS_PER_BLOCK, default_beacon_url, max_blobs_response_bytes,
    parse_blobs,
};
pub use blob_tx::{BlobFork, BlobSchedule, MAX_BLOBS_PER_TX};
pub use chunkseq_da::SidecarVersion;
pub use deploy::{DeployReport, deploy_rollup};
pub use fees::{BLOB_REPLACEMENT_BUMP_PERCENT, FeePolicy, Fees, REPLACEMENT_BUMP_PERCENT};

use std::{borrow::Cow, sync::Arc};

use alloy::{
    eips::{BlockId, BlockNumberOrTag, Encodable2718, eip7594::BlobTransactionSidecarVariant},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    providers::{Provider, RootProvider},
    rpc::types::{BlockOverrides, Filter, TransactionRequest},
    signers::local::PrivateKeySigner,
    transports::{RpcError, TransportErrorKind},
};
use alloy_eips::eip4844::Blob;
use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::{PrivateKey, UnixMillis};
use parking_lot::Mutex;
use tracing::{debug, info, warn};

use crate::{
    abi::ContractAbi,
    blob_data::resolve_blobs,
    calls::RollupCall,
    error::L1Error,
    events::{
        CheckpointData, CheckpointLog, L1Block, L1Event, Revert, SubmissionId,
        decode_checkpoint_log, decode_rollup_log, revert_reason,
    },
    interface::{ControlledL1, L1},
    views::{
        ChainSpecHash, DomainSeparator, Duties, RollupTip, Tip, Validator, ValidatorStanding, View,
    },
};
use tracker::{Sent, Tracker};

/// Settings of an RPC L1 handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// Pricing and repricing of transactions.
    pub fees: FeePolicy,
    /// The deepest reorg followed; a deeper one is an error.
    pub max_reorg_depth: u64,
    /// L1 block time, for [`ControlledL1`] on development nodes.
    pub block_time_ms: u64,
    /// The L1 block the Rollup contract was deployed in: log searches for
    /// missed checkpoints start no earlier.
    pub deploy_block: u64,
    /// The most L1 blocks one `eth_getLogs` request spans (providers cap
    /// the range, commonly at 10,000 or fewer blocks).
    pub log_range: u64,
    /// The beacon API that serves the blobs of checkpoints published in
    /// blobs (`--l1-beacon URL`). `None`: the L1 RPC URL's scheme, host and
    /// port, where anvil serves it.
    pub beacon_url: Option<String>,
    /// How L1 blocks are named to the beacon API.
    pub beacon_block_id: BeaconBlockId,
    /// The sidecar blob transactions carry. `None`: the one the node's fork
    /// takes (EIP-7594 from Osaka on, read from `eth_config`).
    pub blob_sidecar: Option<SidecarVersion>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            fees: FeePolicy::default(),
            max_reorg_depth: 64,
            block_time_ms: 12_000,
            deploy_block: 0,
            log_range: 5_000,
            beacon_url: None,
            beacon_block_id: BeaconBlockId::Auto,
            blob_sidecar: None,
        }
    }
}

/// The Rollup contract on an Ethereum JSON-RPC node.
#[derive(Debug)]
pub struct RpcL1 {
    provider: RootProvider,
    wallet: EthereumWallet,
    senders: Vec<Address>,
    abi: ContractAbi,
    rollup: Address,
    chain_id: u64,
    cfg: RpcConfig,
    tracker: Mutex<Tracker>,
    blob_schedule: BlobSchedule,
    beacon: BeaconClient,
    /// Whether blocks come from [`ControlledL1`] alone (automatic mining
    /// off): the pending block then already carries the next block's
    /// timestamp.
    controlled: std::sync::atomic::AtomicBool,
}

pub(crate) fn rpc_error(what: &'static str) -> impl Fn(RpcError<TransportErrorKind>) -> L1Error {
    move |e| L1Error::Rpc {
        what,
        reason: e.to_string(),
    }
}

/// A revert's reason from a JSON-RPC error, if the error is a revert.
pub(crate) fn revert_of(abi: &ContractAbi, e: &RpcError<TransportErrorKind>) -> Option<String> {
    let payload = e.as_error_resp()?;
    match payload.as_revert_data() {
        Some(data) => Some(revert_reason(abi, &data)),
        None if payload.message.contains("revert") => Some(payload.message.to_string()),
        None => None,
    }
}

/// An alloy signer for one of our keys.
pub fn local_signer(key: &PrivateKey) -> Result<PrivateKeySigner, L1Error> {
    PrivateKeySigner::from_bytes(&B256::from(key.to_bytes()))
        .map_err(|e| L1Error::Key(e.to_string()))
}

impl RpcL1 {
    /// Connects to `url`, checks that a contract is deployed at `rollup` and
    /// starts following L1 from its current head. `keys` are the accounts
    /// calls may be sent from.
    pub async fn connect(
        url: &str,
        rollup: Address,
        keys: &[PrivateKey],
        cfg: RpcConfig,
    ) -> Result<Self, L1Error> {
        let parsed = url.parse().map_err(|e| L1Error::Rpc {
            what: "endpoint URL",
            reason: format!("{url}: {e}"),
        })?;
        let provider = RootProvider::new_http(parsed);
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(rpc_error("eth_chainId"))?;
        let code = provider
            .get_code_at(rollup)
            .await
            .map_err(rpc_error("eth_getCode"))?;
        if code.is_empty() {
            return Err(L1Error::NotDeployed { address: rollup });
        }
        let mut wallet: Option<EthereumWallet> = None;
        let mut senders = Vec::new();
        for key in keys {
            let signer = local_signer(key)?;
            senders.push(signer.address());
            match &mut wallet {
                Some(w) => w.register_signer(signer),
                None => wallet = Some(EthereumWallet::from(signer)),
            }
        }
        let wallet = match wallet {
            Some(w) => w,
            None => EthereumWallet::from(PrivateKeySigner::random()),
        };
        let head = provider
            .get_block_number()
            .await
            .map_err(rpc_error("eth_blockNumber"))?;
        let head_block = provider
            .get_block_by_number(BlockNumberOrTag::Number(head))
            .await
            .map_err(rpc_error("eth_getBlockByNumber"))?
            .ok_or(L1Error::MissingBlock(head))?;
        let blob_schedule = BlobSchedule::detect(&provider).await;
        let beacon_url = match &cfg.beacon_url {
            Some(u) => u.clone(),
            None => default_beacon_url(url)?,
        };
        let beacon = BeaconClient::new(&beacon_url, cfg.beacon_block_id)?;
        if cfg.beacon_block_id == BeaconBlockId::Auto {
            let client = provider.get_client_version().await.unwrap_or_default();
            beacon.settle_auto(client.to_ascii_lowercase().starts_with("anvil"));
        }
        info!(target: "chunkseq::l1", url, %rollup, chain_id, head, beacon = beacon.base_url(), block_id = ?beacon.block_id(), "connected to the L1 node");
        Ok(Self {
            provider,
            wallet,
            senders,
            abi: ContractAbi::rollup()?,
            rollup,
            chain_id,
            cfg,
            tracker: Mutex::new(Tracker::new(head, head_block.header.hash)),
            blob_schedule,
            beacon,
            controlled: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The beacon API client that fetches checkpoint blobs.
    pub const fn beacon(&self) -> &BeaconClient {
        &self.beacon
    }

    /// The node's blob rules, fork by fork.
    pub const fn blob_schedule(&self) -> &BlobSchedule {
        &self.blob_schedule
    }

    /// Fills in the bodies of a checkpoint accepted in blob mode from the
    /// beacon API: the blobs of the L1 block that included it, each checked
    /// against its versioned hash ([`resolve_blobs`]); a blob that cannot be
    /// had or does not match leaves the bodies empty and says why in
    /// `unavailable`. `timestamp` is the L1 block's (unix seconds), read
    /// from the node when `None` and the beacon API names blocks by slot.
    /// Other events are returned as they are.
    pub async fn resolve_checkpoint_blobs(
        &self,
        event: L1Event,
        timestamp: Option<u64>,
    ) -> Result<L1Event, L1Error> {
        let L1Event::CheckpointAccepted {
            data:
                CheckpointData::Blobs {
                    versioned_hashes,
                    unavailable: Some(_),
                },
            l1_block,
            ..
        } = &event
        else {
            return Ok(event);
        };
        let (number, hashes) = (*l1_block, versioned_hashes.clone());
        let timestamp = match timestamp {
            Some(t) => t,
            None if self.beacon.needs_timestamp() => self.block_timestamp(number).await?,
            None => 0,
        };
        let fetched = self
            .beacon
            .blobs(number, timestamp, &hashes)
            .await
            .map_err(|e| e.to_string());
        // Hashing the blobs and decompressing them is CPU work.
        tokio::task::spawn_blocking(move || {
            let mut event = event;
            resolve_blobs(&mut event, |_| fetched);
            event
        })
        .await
        .map_err(|e| L1Error::Blobs(format!("the blob decoding task failed: {e}")))
    }

    async fn block_timestamp(&self, number: u64) -> Result<u64, L1Error> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc_error("eth_getBlockByNumber"))?
            .ok_or(L1Error::MissingBlock(number))?
            .header
            .timestamp)
    }

    /// The Rollup contract's address.
    pub const fn rollup(&self) -> Address {
        self.rollup
    }

    /// The L1 chain id.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The provider, for reads this type does not wrap.
    pub const fn provider(&self) -> &RootProvider {
        &self.provider
    }

    /// Calls a view function of the contract at the latest block.
    pub async fn view<V: View + Sync>(&self, view: V) -> Result<V::Output, L1Error> {
        let data = view.calldata(&self.abi)?;
        let request = TransactionRequest::default()
            .with_to(self.rollup)
            .with_input(data);
        // The latest block, never alloy's default of "pending": a pending
        // block's state is speculative (anvil executes a pending
        // `recordCommittee` with a prevrandao the mined block will not
        // have, so duties read there named the wrong proposer).
        let out = self.provider.call(request).latest().await.map_err(|e| {
            match revert_of(&self.abi, &e) {
                Some(reason) => L1Error::Reverted { reason },
                None => rpc_error("eth_call")(e),
            }
        })?;
        view.decode(&out)
    }

    fn request(&self, from: Address, data: Bytes, value: U256) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(from)
            .with_to(self.rollup)
            .with_input(data)
            .with_value(value)
            .with_chain_id(self.chain_id)
    }

    async fn next_nonce(&self, from: Address) -> Result<u64, L1Error> {
        if let Some(n) = self.tracker.lock().take_nonce(from) {
            return Ok(n);
        }
        let n = self
            .provider
            .get_transaction_count(from)
            .pending()
            .await
            .map_err(rpc_error("eth_getTransactionCount"))?;
        Ok(self.tracker.lock().seed_nonce(from, n))
    }

    /// Signs and sends `request` with `nonce` and `fees` (and `sidecar`, as
    /// a blob transaction); returns its hash.
    async fn send(
        &self,
        mut request: TransactionRequest,
        nonce: u64,
        gas_limit: u64,
        fees: Fees,
        sidecar: Option<&BlobTransactionSidecarVariant>,
    ) -> Result<B256, L1Error> {
        if let Some(sidecar) = sidecar {
            request.sidecar = Some(sidecar.clone());
            request.populate_blob_hashes();
            request.max_fee_per_blob_gas = Some(fees.max_fee_per_blob_gas.unwrap_or(1));
        }
        let envelope = request
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
            .build(&self.wallet)
            .await
            .map_err(|e| L1Error::Key(e.to_string()))?;
        let hash = *envelope.tx_hash();
        let _pending = self
            .provider
            .send_raw_transaction(&envelope.encoded_2718())
            .await
            .map_err(rpc_error("eth_sendRawTransaction"))?;
        Ok(hash)
    }

    async fn fee_estimate(&self) -> Result<Fees, L1Error> {
        let estimate = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(rpc_error("fee estimate"))?;
        Ok(self.cfg.fees.initial(Fees {
            max_fee_per_gas: estimate.max_fee_per_gas,
            max_priority_fee_per_gas: estimate.max_priority_fee_per_gas,
            max_fee_per_blob_gas: None,
        }))
    }

    /// The blob base fee of the next block, from the latest header's excess
    /// blob gas under the blob parameters of the fork then in force, and
    /// that fork.
    async fn blob_base_fee(&self) -> Result<(u128, BlobFork), L1Error> {
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_error("eth_getBlockByNumber"))?
            .ok_or(L1Error::MissingBlock(u64::MAX))?;
        let header = &latest.header;
        let fork = self.blob_schedule.at(header.timestamp);
        let fee = header
            .next_block_blob_fee(fork.params)
            .or_else(|| header.inner.blob_fee(fork.params))
            .unwrap_or(1);
        Ok((fee, fork))
    }

    /// The gas limit, fees and sidecar of a call that carries blobs: the
    /// sidecar is computed on the blocking pool while the call is checked
    /// against the pending block with the blobs' versioned hashes.
    async fn prepare_blob_call(
        &self,
        call: &RollupCall,
        request: TransactionRequest,
    ) -> Result<(u64, Fees, Arc<BlobTransactionSidecarVariant>), L1Error> {
        let Some(blobs) = call.shared_blobs() else {
            return Err(L1Error::Blobs(format!("{} carries no blobs", call.name())));
        };
        blob_tx::check_blob_count(blobs.len())?;
        let (blob_base_fee, fork) = self.blob_base_fee().await?;
        let version = self.cfg.blob_sidecar.unwrap_or(fork.sidecar);
        let sidecar = tokio::spawn(blob_tx::build_sidecar(Arc::clone(blobs), version));
        // The transaction lists the versioned hashes of the blobs it
        // carries, whatever the call declares: the check runs with those
        // (the commitments alone, ~10 ms a blob, while the proofs compute),
        // so a call declaring other hashes is refused with the contract's
        // reason (MissingBlob, WrongBlob, ExtraBlob), as on the embedded L1.
        let carried = {
            let blobs = Arc::clone(blobs);
            tokio::task::spawn_blocking(move || chunkseq_da::versioned_hashes(&blobs))
                .await
                .map_err(|e| L1Error::Blobs(format!("the commitment task failed: {e}")))?
                .map_err(|e| L1Error::Blobs(format!("no KZG commitment: {e}")))?
        };
        let estimate = self.fee_estimate().await?;
        let fees = self.cfg.fees.initial_blob(estimate, blob_base_fee);
        let mut check = request;
        check.blob_versioned_hashes = Some(carried.clone());
        check.max_fee_per_blob_gas = fees.max_fee_per_blob_gas;
        let gas = self
            .provider
            .estimate_gas(check)
            .block(BlockId::pending())
            .with_block_overrides_opt(self.next_block_time(call).await)
            .await
            .map_err(|e| match revert_of(&self.abi, &e) {
                Some(reason) => L1Error::Reverted { reason },
                None => rpc_error("eth_estimateGas")(e),
            })?;
        let sidecar = sidecar
            .await
            .map_err(|e| L1Error::Blobs(format!("the sidecar task failed: {e}")))??;
        blob_tx::check_sidecar_hashes(&sidecar, &carried)?;
        debug!(target: "chunkseq::l1", blobs = blobs.len(), ?version, blob_base_fee, "blob transaction prepared");
        Ok((self.cfg.fees.gas_limit(gas), fees, Arc::new(sidecar)))
    }

    /// The revert reason of a failed transaction, from the node's call tracer.
    async fn failure_reason(&self, tx: B256) -> String {
        let traced: Result<serde_json::Value, _> = self
            .provider
            .raw_request(
                Cow::Borrowed("debug_traceTransaction"),
                (tx, serde_json::json!({ "tracer": "callTracer" })),
            )
            .await;
        let output = traced.ok().and_then(|v| {
            v.get("output")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse::<Bytes>().ok())
        });
        match output {
            Some(data) => revert_reason(&self.abi, &data),
            None => "reverted (the node does not trace transactions)".to_owned(),
        }
    }

    /// Reads blocks after the last one seen, up to the head.
    async fn read_new_blocks(&self) -> Result<Vec<L1Event>, L1Error> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(rpc_error("eth_blockNumber"))?;
        let mut events = Vec::new();
        loop {
            let (next, expected_parent) = self.tracker.lock().next_block();
            if next > head {
                break;
            }
            let block = self
                .provider
                .get_block_by_number(BlockNumberOrTag::Number(next))
                .await
                .map_err(rpc_error("eth_getBlockByNumber"))?
                .ok_or(L1Error::MissingBlock(next))?;
            let header = &block.header;
            if header.parent_hash != expected_parent {
                let dropped = self
                    .tracker
                    .lock()
                    .rewind(self.cfg.max_reorg_depth)
                    .ok_or(L1Error::ReorgTooDeep(self.cfg.max_reorg_depth))?;
                warn!(target: "chunkseq::l1", dropped, "L1 reorg: block replaced");
                events.push(L1Event::Reorg {
                    dropped_block: dropped,
                });
                continue;
            }
            events.push(L1Event::Block(L1Block {
                number: next,
                timestamp: UnixMillis(header.timestamp.saturating_mul(1000)),
                randomness: header.mix_hash,
                base_fee: header.base_fee_per_gas.map_or(0, u128::from),
                blob_base_fee: header
                    .inner
                    .blob_fee(self.blob_schedule.at(header.timestamp).params)
                    .unwrap_or(1),
            }));
            for event in self.block_events(next, header.hash).await? {
                events.push(
                    self.resolve_checkpoint_blobs(event, Some(header.timestamp))
                        .await?,
                );
            }
            self.tracker
                .lock()
                .seen(next, header.hash, header.timestamp.saturating_mul(1000));
        }
        Ok(events)
    }

    /// Inclusions of our transactions and the Rollup's events in one block,
    /// in transaction order.
    async fn block_events(&self, number: u64, hash: B256) -> Result<Vec<L1Event>, L1Error> {
        let logs = self
            .provider
            .get_logs(&Filter::new().address(self.rollup).at_block_hash(hash))
            .await
            .map_err(rpc_error("eth_getLogs"))?;
        let mut ordered: Vec<(u64, u64, L1Event)> = Vec::new();
        for log in logs {
            let (topics, data) = (log.inner.data.topics(), &log.inner.data.data);
            let tx = log.transaction_hash.unwrap_or_default();
            let event = match decode_checkpoint_log(&self.abi, topics, data) {
                Some(checkpoint) => Some(self.checkpoint_event(checkpoint, number, tx).await?),
                None => decode_rollup_log(&self.abi, topics, data, number, tx),
            };
            if let Some(event) = event {
                ordered.push((
                    log.transaction_index.unwrap_or(u64::MAX),
                    log.log_index.unwrap_or(u64::MAX),
                    event,
                ));
            }
        }
        let watched = self.tracker.lock().watched_hashes();
        for (id, tx) in watched {
            let Some(receipt) = self
                .provider
                .get_transaction_receipt(tx)
                .await
                .map_err(rpc_error("eth_getTransactionReceipt"))?
            else {
                continue;
            };
            if receipt.block_hash != Some(hash) {
                continue;
            }
            let Some(call) = self.tracker.lock().included(id, number) else {
                continue;
            };
            let outcome = if receipt.status() {
                Ok(())
            } else {
                Err(Revert(self.failure_reason(tx).await))
            };
            debug!(target: "chunkseq::l1", id, call, ?outcome, number, "submission included");
            ordered.push((
                receipt.transaction_index.unwrap_or(u64::MAX),
                0,
                L1Event::Included {
                    submission: id,
                    call,
                    l1_block: number,
                    gas_used: receipt.gas_used,
                    blob_gas_used: receipt.blob_gas_used.unwrap_or(0),
                    outcome,
                },
            ));
        }
        // Inclusion first, then that transaction's logs.
        ordered.sort_by_key(|(tx, log, e)| (*tx, !matches!(e, L1Event::Included { .. }), *log));
        Ok(ordered.into_iter().map(|(_, _, e)| e).collect())
    }

    /// Resends what is pending too long at higher fees; cancels what is past
    /// its deadline.
    async fn reprice(&self) -> Result<Vec<L1Event>, L1Error> {
        let (due, expired) = self
            .tracker
            .lock()
            .due_for_resend(self.cfg.fees.bump_after_blocks);
        let mut events = Vec::new();
        for sent in expired {
            let Some(fees) = self.cfg.fees.bumped(sent.fees) else {
                continue;
            };
            let cancel = TransactionRequest::default()
                .with_from(sent.from)
                .with_to(sent.from)
                .with_value(U256::ZERO)
                .with_chain_id(self.chain_id);
            // A blob pool replaces a blob transaction only with another one:
            // the cancel carries the first of its blobs.
            let cancel_sidecar = sent.sidecar.as_deref().map(blob_tx::first_blob_only);
            match self
                .send(cancel, sent.nonce, 21_000, fees, cancel_sidecar.as_ref())
                .await
            {
                Ok(hash) => {
                    info!(target: "chunkseq::l1", id = sent.id, call = sent.call, "deadline passed; cancelled");
                    self.tracker.lock().cancelled(sent.id, hash, fees);
                }
                Err(e) => warn!(target: "chunkseq::l1", id = sent.id, "cancel failed: {e}"),
            }
            events.push(L1Event::Expired {
                submission: sent.id,
                call: sent.call,
            });
        }
        for sent in due {
            let Some(fees) = self.cfg.fees.bumped(sent.fees) else {
                continue;
            };
            let request = self.request(sent.from, sent.data.clone(), sent.value);
            match self
                .send(
                    request,
                    sent.nonce,
                    sent.gas_limit,
                    fees,
                    sent.sidecar.as_deref(),
                )
                .await
            {
                Ok(hash) => {
                    debug!(target: "chunkseq::l1", id = sent.id, call = sent.call, max_fee = fees.max_fee_per_gas, max_blob_fee = ?fees.max_fee_per_blob_gas, "resent with higher fees");
                    self.tracker.lock().resent(sent.id, hash, fees);
                }
                Err(e) => warn!(target: "chunkseq::l1", id = sent.id, "resend failed: {e}"),
            }
        }
        Ok(events)
    }
}

impl L1 for RpcL1 {
    async fn submit(
        &self,
        from: Address,
        call: RollupCall,
        deadline: Option<UnixMillis>,
    ) -> Result<SubmissionId, L1Error> {
        if !self.senders.contains(&from) {
            return Err(L1Error::Key(format!("no key for {from}")));
        }
        blob_tx::check_blob_count(call.blobs().len())?;
        let data = call.calldata(&self.abi)?;
        let value = call.value();
        let request = self.request(from, data.clone(), value);
        let (gas_limit, fees, sidecar) = if call.blobs().is_empty() {
            let estimate = self
                .provider
                .estimate_gas(request.clone())
                .block(BlockId::pending())
                .with_block_overrides_opt(self.next_block_time(&call).await)
                .await
                .map_err(|e| match revert_of(&self.abi, &e) {
                    Some(reason) => L1Error::Reverted { reason },
                    None => rpc_error("eth_estimateGas")(e),
                })?;
            (
                self.cfg.fees.gas_limit(estimate),
                self.fee_estimate().await?,
                None,
            )
        } else {
            let (gas_limit, fees, sidecar) = self.prepare_blob_call(&call, request.clone()).await?;
            (gas_limit, fees, Some(sidecar))
        };
        let nonce = self.next_nonce(from).await?;
        let hash = match self
            .send(request, nonce, gas_limit, fees, sidecar.as_deref())
            .await
        {
            Ok(hash) => hash,
            Err(e) => {
                self.tracker.lock().forget_nonce(from);
                return Err(e);
            }
        };
        let id = self.tracker.lock().track(Sent {
            id: 0,
            from,
            call: call.name(),
            data,
            value,
            nonce,
            gas_limit,
            fees,
            deadline,
            hashes: vec![hash],
            sent_at_block: 0,
            sidecar,
        });
        debug!(target: "chunkseq::l1", id, call = call.name(), %hash, nonce, "submitted");
        Ok(id)
    }

    async fn duties(&self, slot: u64) -> Result<(Vec<Address>, Address), L1Error> {
        self.view(Duties(slot)).await
    }

    async fn tip(&self) -> Result<RollupTip, L1Error> {
        self.view(Tip).await
    }

    async fn chain_spec_hash(&self) -> Result<B256, L1Error> {
        self.view(ChainSpecHash).await
    }

    async fn domain_separator(&self) -> Result<B256, L1Error> {
        self.view(DomainSeparator).await
    }

    async fn validator(&self, who: Address) -> Result<ValidatorStanding, L1Error> {
        self.view(Validator(who)).await
    }

    async fn balance(&self, who: Address) -> Result<U256, L1Error> {
        self.provider
            .get_balance(who)
            .await
            .map_err(rpc_error("eth_getBalance"))
    }

    async fn poll_events(&self) -> Result<Vec<L1Event>, L1Error> {
        let mut events = self.read_new_blocks().await?;
        events.extend(self.reprice().await?);
        Ok(events)
    }

    async fn blobs(&self, l1_block: u64, versioned_hashes: &[B256]) -> Result<Vec<Blob>, L1Error> {
        let Some(first) = versioned_hashes.first().copied() else {
            return Ok(Vec::new());
        };
        let unavailable = |reason: String| L1Error::BlobUnavailable {
            hash: first,
            reason,
        };
        let timestamp = if self.beacon.needs_timestamp() {
            self.block_timestamp(l1_block).await?
        } else {
            0
        };
        let blobs = self
            .beacon
            .blobs(l1_block, timestamp, versioned_hashes)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let hashes = versioned_hashes.to_vec();
        tokio::task::spawn_blocking(move || {
            chunkseq_da::verify_blobs(&blobs, &hashes).map(|()| blobs)
        })
        .await
        .map_err(|e| L1Error::Blobs(format!("the blob check task failed: {e}")))?
        .map_err(|e| unavailable(format!("the beacon API's blobs: {e}")))
    }

    async fn checkpoints_after(
        &self,
        after_slot: u64,
        from_block: u64,
        max: usize,
    ) -> Result<Vec<L1Event>, L1Error> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(rpc_error("eth_blockNumber"))?;
        let topic = self
            .abi
            .event_topic("CheckpointAccepted")
            .ok_or_else(|| L1Error::Artifact("no CheckpointAccepted event in the ABI".into()))?;
        let range = self.cfg.log_range.max(1);
        let mut start = from_block.max(self.cfg.deploy_block);
        let mut found = Vec::new();
        while start <= head && found.len() < max {
            let end = start.saturating_add(range - 1).min(head);
            let filter = Filter::new()
                .address(self.rollup)
                .event_signature(topic)
                .from_block(start)
                .to_block(end);
            let logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(rpc_error("eth_getLogs"))?;
            debug!(target: "chunkseq::l1", start, end, logs = logs.len(), "searched L1 for checkpoints");
            for log in logs {
                if log.removed {
                    continue;
                }
                let Some(number) = log.block_number else {
                    continue;
                };
                if let Some(checkpoint) =
                    decode_checkpoint_log(&self.abi, log.inner.data.topics(), &log.inner.data.data)
                    && checkpoint.slot > after_slot
                    && found.len() < max
                {
                    let tx = log.transaction_hash.unwrap_or_default();
                    let event = self.checkpoint_event(checkpoint, number, tx).await?;
                    let timestamp = log.block_timestamp;
                    found.push(self.resolve_checkpoint_blobs(event, timestamp).await?);
                }
            }
            if end >= head {
                break;
            }
            start = end.saturating_add(1);
        }
        Ok(found)
    }
}

impl RpcL1 {
    /// The event of a `CheckpointAccepted` log of transaction `tx` in block
    /// `number`, with the headers (and calldata bodies) of the transaction's
    /// input, which must be a direct `proposeCheckpoint` call.
    async fn checkpoint_event(
        &self,
        checkpoint: CheckpointLog,
        number: u64,
        tx: B256,
    ) -> Result<L1Event, L1Error> {
        use alloy::consensus::Transaction as _;
        let sent = self
            .provider
            .get_transaction_by_hash(tx)
            .await
            .map_err(rpc_error("eth_getTransactionByHash"))?
            .ok_or_else(|| L1Error::Rpc {
                what: "eth_getTransactionByHash",
                reason: format!("no transaction {tx}"),
            })?;
        checkpoint
            .into_event(&self.abi, sent.input(), number, tx)
            .map_err(|reason| L1Error::Decode {
                what: "checkpoint transaction",
                reason,
            })
    }

    /// For a checkpoint or a rescue, whose validity depends on the block's
    /// time, the check runs at the next block's timestamp (the latest
    /// block's plus one block time) rather than at the pending block's,
    /// which a node on interval mining dates at the wall clock: a call sent
    /// just before the block that allows it would be refused otherwise. (On
    /// a controlled node the pending block has the next timestamp already.)
    async fn next_block_time(&self, call: &RollupCall) -> Option<BlockOverrides> {
        call.checkpoint_slot()?;
        if self.controlled.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let latest = self.latest_timestamp_ms().await.ok()?;
        let next = latest.saturating_add(self.cfg.block_time_ms).div_ceil(1000);
        Some(BlockOverrides {
            time: Some(next),
            ..BlockOverrides::default()
        })
    }

    async fn latest_timestamp_ms(&self) -> Result<u64, L1Error> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_error("eth_getBlockByNumber"))?
            .ok_or(L1Error::MissingBlock(u64::MAX))?;
        Ok(block.header.timestamp.saturating_mul(1000))
    }
}

impl RpcL1 {
    /// Mines one block with timestamp `at_ms` (rounded up to a second).
    async fn mine_at(&self, at_ms: u64) -> Result<(), L1Error> {
        let next = at_ms.div_ceil(1000);
        let _: serde_json::Value = self
            .provider
            .raw_request(Cow::Borrowed("evm_mine"), (next,))
            .await
            .map_err(rpc_error("evm_mine"))?;
        // Calls checked against the pending block (see `submit`) then see the
        // timestamp the next mined block will have.
        let after = next.saturating_add(self.cfg.block_time_ms.div_ceil(1000));
        let _: serde_json::Value = self
            .provider
            .raw_request(Cow::Borrowed("evm_setNextBlockTimestamp"), (after,))
            .await
            .map_err(rpc_error("evm_setNextBlockTimestamp"))?;
        Ok(())
    }

    /// Turns a development node's automatic mining (a block per transaction)
    /// on or off; with it off, blocks come from [`ControlledL1`] alone.
    pub async fn set_automine(&self, on: bool) -> Result<(), L1Error> {
        let _: serde_json::Value = self
            .provider
            .raw_request(Cow::Borrowed("evm_setAutomine"), (on,))
            .await
            .map_err(rpc_error("evm_setAutomine"))?;
        self.controlled
            .store(!on, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Most empty blocks [`ControlledL1::advance_to`] mines one by one on a
/// development node; a longer stretch is one jump in time. A jump mines one
/// block where many were due, so keep it above the contract's gap between
/// the last pre-genesis registration and the first seed (8 blocks) plus the
/// blocks a deployment leaves before genesis.
const LONGEST_MINED_STRETCH: u64 = 64;

impl ControlledL1 for RpcL1 {
    async fn mine_block(&self) -> Result<(), L1Error> {
        let last = self.latest_timestamp_ms().await?;
        self.mine_at(last.saturating_add(self.cfg.block_time_ms))
            .await
    }

    async fn set_balance(&self, who: Address, wei: U256) -> Result<(), L1Error> {
        let _: serde_json::Value = self
            .provider
            .raw_request(Cow::Borrowed("anvil_setBalance"), (who, wei))
            .await
            .map_err(rpc_error("anvil_setBalance"))?;
        Ok(())
    }

    async fn set_chain_id(&self, chain_id: u64) -> Result<(), L1Error> {
        let _: serde_json::Value = self
            .provider
            .raw_request(Cow::Borrowed("anvil_setChainId"), (chain_id,))
            .await
            .map_err(rpc_error("anvil_setChainId"))?;
        Ok(())
    }

    async fn advance_to(&self, now: UnixMillis) -> Result<(), L1Error> {
        let last = self.latest_timestamp_ms().await?;
        let block_ms = self.cfg.block_time_ms.max(1);
        let due = now.0.saturating_sub(last) / block_ms;
        if due > LONGEST_MINED_STRETCH {
            // A long stretch is one jump: a single block at the time of the
            // second-last block due stands for the empty blocks before it
            // (anvil's own multi-block mining follows its wall clock, not
            // ours).
            self.mine_at(last.saturating_add(due.saturating_sub(1).saturating_mul(block_ms)))
                .await?;
        }
        while self
            .latest_timestamp_ms()
            .await?
            .saturating_add(self.cfg.block_time_ms)
            <= now.0
        {
            self.mine_block().await?;
        }
        Ok(())
    }
}
