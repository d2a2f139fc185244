//! The embedded L1: revm runs the Rollup contract in process, producing L1
//! blocks on a clock the caller drives, with configurable inclusion delay,
//! congestion and one-block reorgs, all reproducible from a seed.
//!
//! Calls that carry blobs run as EIP-4844 (type 3) transactions: the L1
//! computes their versioned hashes from the blobs (KZG commitments), so the
//! contract's `blobhash` sees what a real L1 would; blocks hold at most the
//! configured number of blobs, the blob base fee follows EIP-4844's excess
//! blob gas, and the blobs of included transactions are kept for a
//! retention window and served by versioned hash ([`EmbeddedL1::blobs`]).

use std::{collections::VecDeque, sync::Arc};

use alloy_eips::{
    eip4844::{Blob, DATA_GAS_PER_BLOB},
    eip7840::BlobParams,
};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256};
use alloy_sol_types::SolValue;
use chunkseq_primitives::{ChainSpec, UnixMillis};
use revm::{
    Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext,
    context::{BlockEnv, CfgEnv, TxEnv, result::ExecutionResult},
    context_interface::block::BlobExcessGasAndPrice,
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::AccountInfo,
};
use tracing::{debug, warn};

use crate::{
    abi::ContractAbi,
    blob_data::resolve_own_blobs,
    calls::RollupCall,
    error::L1Error,
    events::{
        CheckpointData, L1Block, L1Event, Revert, SubmissionId, decode_checkpoint_log,
        decode_rollup_log, revert_reason,
    },
    rng::SplitMix64,
    sidecars::Sidecars,
    views::{
        ChainSpecHash, DomainSeparator, Duties, RollupTip, Tip, Validator, ValidatorCount,
        ValidatorStanding, View,
    },
};

/// The account that deploys the Rollup contract (the first account of the
/// well-known local test mnemonic; its first contract lands at the presets'
/// `rollup_address`).
pub const DEPLOYER: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// How the embedded L1 behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddedConfig {
    /// Time of the first L1 block; `None` puts it ten L1 blocks before the
    /// L2 genesis, so validators register before genesis and the contract's
    /// gap between the last pre-genesis registration and the first seed
    /// (8 blocks) has passed at genesis.
    pub start: Option<UnixMillis>,
    /// Blocks between submission and inclusion (0: the next block).
    pub inclusion_delay_blocks: u64,
    /// Probability that a submission is never included.
    pub drop_probability: f64,
    /// Probability that a submission is included late.
    pub delay_probability: f64,
    /// The most extra blocks a late submission waits.
    pub max_extra_delay_blocks: u64,
    /// Probability that a new block first replaces the previous one.
    pub reorg_probability: f64,
    /// Seed of congestion, reorgs and block randomness.
    pub seed: u64,
    /// Stake each genesis validator registers with.
    pub stake: U256,
    /// The blob fee market: target and maximum blobs per block, the base
    /// fee update fraction, the minimum blob base fee and the most blobs
    /// per transaction. Defaults to Osaka mainnet (target 6, max 9, update
    /// fraction 5,007,716, at most 6 blobs per transaction).
    pub blob_params: BlobParams,
    /// How many L1 blocks the blobs of an included transaction are served
    /// for ([`EmbeddedL1::blobs`], and the bodies of blob checkpoints that
    /// [`EmbeddedL1::checkpoints_after`] returns). Defaults to
    /// [`BLOB_RETENTION_BLOCKS`].
    pub blob_retention_blocks: u64,
}

/// The embedded L1's default blob retention window, in L1 blocks. Ethereum
/// keeps blobs 4,096 epochs (about 18 days), far more than a process should
/// hold in memory; 4,096 blocks is 2.3 hours of the devnet's 2 s blocks,
/// which covers the [`CHECKPOINT_HISTORY`] there (one checkpoint every four
/// blocks), and 13.6 hours of 12 s blocks. Memory: 128 KiB per blob kept,
/// so about 0.5 GiB for one one-blob checkpoint every block at most, and
/// `blob_params.max_blob_count` × 128 KiB per block in the worst case.
pub const BLOB_RETENTION_BLOCKS: u64 = 4_096;

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            start: None,
            inclusion_delay_blocks: 0,
            drop_probability: 0.0,
            delay_probability: 0.0,
            max_extra_delay_blocks: 3,
            reorg_probability: 0.0,
            seed: 1,
            stake: U256::from(32u64) * U256::from(10u64).pow(U256::from(18u64)),
            blob_params: BlobParams::osaka(),
            blob_retention_blocks: BLOB_RETENTION_BLOCKS,
        }
    }
}

/// What one opcode cost during a profiled call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpcodeCost {
    /// The opcode.
    pub opcode: u8,
    /// How often it ran.
    pub count: u64,
    /// Gas it charged directly.
    pub gas: u64,
}

#[derive(Clone, Debug)]
struct Pending {
    id: SubmissionId,
    from: Address,
    call: RollupCall,
    /// The versioned hashes of the call's blobs, computed from them at
    /// submission (empty for a transaction without blobs).
    blob_hashes: Vec<B256>,
    include_at: u64,
    deadline: Option<UnixMillis>,
}

/// A block's blob gas: what the blob base fee follows (EIP-4844).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct BlobGas {
    /// The block's excess blob gas.
    excess: u64,
    /// Blob gas its transactions used.
    used: u64,
}

#[derive(Clone, Debug)]
struct Previous {
    /// The state before the block; kept only when reorgs are enabled, so
    /// ordinary block production never copies the state.
    db: Option<CacheDB<EmptyDB>>,
    head: L1Block,
    blob_gas: BlobGas,
    included: Vec<Pending>,
}

/// An L1 chain in memory running the Rollup contract.
#[derive(Debug)]
pub struct EmbeddedL1 {
    abi: ContractAbi,
    rollup: Address,
    chain_id: u64,
    block_time_ms: u64,
    db: CacheDB<EmptyDB>,
    head: L1Block,
    previous: Option<Previous>,
    pending: Vec<Pending>,
    next_id: SubmissionId,
    rng: SplitMix64,
    cfg: EmbeddedConfig,
    /// The latest accepted checkpoints, oldest first: the embedded L1's
    /// stand-in for an Ethereum node's log history. Blob checkpoints are
    /// kept with their bodies resolved while their blobs are kept.
    checkpoints: VecDeque<L1Event>,
    /// The head's blob gas.
    blob_gas: BlobGas,
    /// The blobs of included transactions, within the retention window.
    sidecars: Sidecars,
    /// The last blobs admitted and their versioned hashes.
    admitted: Option<(Arc<Vec<Blob>>, Vec<B256>)>,
}

/// L1 blocks the embedded L1 starts before the L2 genesis by default.
pub const GENESIS_LEAD_BLOCKS: u64 = 10;

/// How many accepted checkpoints the embedded L1 keeps for
/// [`EmbeddedL1::checkpoints_after`]: over two hours of 8 s slots, at most
/// about 100 MB of bodies at devnet load. A node down for longer catches up
/// from its peers.
pub const CHECKPOINT_HISTORY: usize = 1_024;

/// The lowest blob base fee EIP-4844 allows, in wei: the blob base fee of a
/// block without excess blob gas.
pub const MIN_BLOB_BASE_FEE: u128 = 1;

impl EmbeddedL1 {
    /// An L1 with the Rollup contract deployed for `spec` and `validators`
    /// registered (funded from genesis), before the L2 genesis.
    pub fn new(
        spec: &ChainSpec,
        l2_genesis_hash: B256,
        validators: &[Address],
        cfg: EmbeddedConfig,
    ) -> Result<Self, L1Error> {
        let abi = ContractAbi::rollup()?;
        let rollup = DEPLOYER.create(0);
        if rollup != spec.rollup_address {
            return Err(L1Error::Artifact(format!(
                "the embedded L1 deploys the Rollup contract at {rollup}; the chain spec says {}",
                spec.rollup_address
            )));
        }
        let start = cfg.start.unwrap_or_else(|| Self::default_start(spec));
        let rich = U256::from(10u64).pow(U256::from(30u64));
        let mut db = CacheDB::new(EmptyDB::default());
        for a in std::iter::once(&DEPLOYER).chain(validators) {
            db.insert_account_info(
                *a,
                AccountInfo {
                    balance: rich,
                    ..AccountInfo::default()
                },
            );
        }
        let mut rng = SplitMix64::new(cfg.seed);
        let head = L1Block {
            number: 0,
            timestamp: start,
            randomness: B256::from(U256::from(rng.next_u64())),
            base_fee: 0,
            blob_base_fee: cfg.blob_params.calc_blob_fee(0),
        };
        let sidecars = Sidecars::new(cfg.blob_retention_blocks);
        let mut l1 = Self {
            abi,
            rollup,
            chain_id: spec.l1_chain_id,
            block_time_ms: spec.l1_block_time_ms,
            db,
            head,
            previous: None,
            pending: Vec::new(),
            next_id: 0,
            rng,
            cfg,
            checkpoints: VecDeque::new(),
            blob_gas: BlobGas::default(),
            sidecars,
            admitted: None,
        };
        let mut deploy = l1.abi.bytecode().to_vec();
        deploy
            .extend_from_slice(&(spec.params(), l2_genesis_hash, l1.cfg.stake).abi_encode_params());
        let result = l1.execute(DEPLOYER, TxKind::Create, deploy.into(), U256::ZERO)?;
        if !result.is_success() {
            return Err(L1Error::Reverted {
                reason: l1.revert_reason(&result),
            });
        }
        for v in validators {
            let call = RollupCall::Register {
                withdrawal: *v,
                stake: l1.cfg.stake,
            };
            let data = call.calldata(&l1.abi)?;
            let result = l1.execute(*v, TxKind::Call(rollup), data, call.value())?;
            if !result.is_success() {
                return Err(L1Error::Reverted {
                    reason: l1.revert_reason(&result),
                });
            }
        }
        Ok(l1)
    }

    /// When the embedded L1 starts by default: [`GENESIS_LEAD_BLOCKS`] L1
    /// blocks before the L2 genesis. A caller on the wall clock starts at
    /// the earlier of this and now, so that the contract's gap between the
    /// genesis validators' registration and the first seed has passed at
    /// genesis.
    pub fn default_start(spec: &ChainSpec) -> UnixMillis {
        UnixMillis(
            spec.genesis_time
                .saturating_mul(1000)
                .saturating_sub(spec.l1_block_time_ms.saturating_mul(GENESIS_LEAD_BLOCKS)),
        )
    }

    /// The Rollup contract's address.
    pub const fn rollup(&self) -> Address {
        self.rollup
    }

    /// The latest block.
    pub const fn head(&self) -> L1Block {
        self.head
    }

    /// The accepted checkpoints of slots after `after_slot` in L1 blocks from
    /// `from_block` on, oldest first, at most `max` (from the last
    /// [`CHECKPOINT_HISTORY`] ones). A checkpoint published in blobs comes
    /// with the bodies its blobs decode to (resolved when it was included)
    /// while its blobs are within the retention window; after that its
    /// bodies are empty and its data says the blobs were pruned, as a node
    /// catching up from an Ethereum node's logs would find.
    pub fn checkpoints_after(&self, after_slot: u64, from_block: u64, max: usize) -> Vec<L1Event> {
        self.checkpoints
            .iter()
            .filter(|e| {
                matches!(e, L1Event::CheckpointAccepted { slot, l1_block, .. }
                    if *slot > after_slot && *l1_block >= from_block)
            })
            .take(max)
            .cloned()
            .collect()
    }

    /// The blobs with `versioned_hashes`, in order, as carried by
    /// transactions included in the last `blob_retention_blocks` blocks;
    /// [`L1Error::BlobUnavailable`] names the first one that is not (never
    /// included, pruned, or its block dropped by a reorg).
    pub fn blobs(&self, versioned_hashes: &[B256]) -> Result<Vec<Blob>, L1Error> {
        let mut out = Vec::with_capacity(versioned_hashes.len());
        for hash in versioned_hashes {
            let Some(blob) = self.sidecars.get(hash) else {
                return Err(L1Error::BlobUnavailable {
                    hash: *hash,
                    reason: format!(
                        "no transaction included in L1 blocks {} to {} carries it \
                         (never included, pruned after {} blocks, or reorged out)",
                        self.sidecars.oldest_kept(self.head.number),
                        self.head.number,
                        self.sidecars.retention(),
                    ),
                });
            };
            // Copied straight into the vector: a blob is 128 KiB, too big
            // to pass through the stack of an unoptimised build.
            out.extend_from_slice(std::slice::from_ref(blob));
        }
        Ok(out)
    }

    /// [`EmbeddedL1::blobs`], of transactions included in block `l1_block`
    /// only, as an Ethereum node's beacon API serves them.
    pub fn blobs_in(&self, l1_block: u64, versioned_hashes: &[B256]) -> Result<Vec<Blob>, L1Error> {
        if let Some(hash) = versioned_hashes
            .iter()
            .find(|h| !self.sidecars.carried_in(l1_block, h))
        {
            return Err(L1Error::BlobUnavailable {
                hash: *hash,
                reason: format!(
                    "no transaction of L1 block {l1_block} carries it, or the L1 no longer keeps it"
                ),
            });
        }
        self.blobs(versioned_hashes)
    }

    /// The contract's ABI.
    pub const fn abi(&self) -> &ContractAbi {
        &self.abi
    }

    /// What an L1 node checks before admitting a transaction that carries
    /// `call`'s blobs (none for others): 1 to `blob_params.max_blobs_per_tx`
    /// blobs (and no more than a block holds), each a vector of canonical
    /// field elements, whose KZG commitments give the versioned hashes the
    /// transaction lists. Returns those hashes, computed here and never
    /// taken from the call: a call whose `blob_hashes` differ from its
    /// blobs' is admitted, and the contract refuses it.
    ///
    /// A commitment takes about 10 ms per blob, so the hashes of the last
    /// blobs admitted are kept: checking a call and then submitting it (as
    /// the simulator and the shared handle do) computes them once.
    pub fn admit_blobs(&mut self, call: &RollupCall) -> Result<Vec<B256>, L1Error> {
        let Some(blobs) = call.shared_blobs() else {
            return Ok(Vec::new());
        };
        if blobs.is_empty() {
            return Ok(Vec::new());
        }
        let params = &self.cfg.blob_params;
        let max = params.max_blobs_per_tx.min(params.max_blob_count);
        if blobs.len() as u64 > max {
            return Err(L1Error::BlobTxRefused(format!(
                "{} blobs; a transaction carries at most {max}",
                blobs.len()
            )));
        }
        // The same allocation, which the kept clone keeps alive and
        // immutable: the same blobs.
        if let Some((kept, hashes)) = &self.admitted
            && Arc::ptr_eq(kept, blobs)
        {
            return Ok(hashes.clone());
        }
        let hashes = chunkseq_da::versioned_hashes(blobs)
            .map_err(|e| L1Error::BlobTxRefused(format!("no KZG commitment: {e}")))?;
        self.admitted = Some((Arc::clone(blobs), hashes.clone()));
        Ok(hashes)
    }

    /// Hands over commitments computed ahead, off this L1's lock: they
    /// become the memo of the last blobs admitted, which the next
    /// [`EmbeddedL1::admit_blobs`] of the same blobs uses.
    pub fn prime_blobs(&mut self, committed: CommittedBlobs) {
        self.admitted = Some((committed.blobs, committed.hashes));
    }

    /// Queues a call from `from`; congestion decides when (or whether) it lands.
    pub fn submit(&mut self, from: Address, call: RollupCall) -> SubmissionId {
        self.submit_until(from, call, None)
    }

    /// Queues a call that is given up (an [`L1Event::Expired`]) if no block
    /// with a timestamp at or before `deadline` includes it. A blob
    /// transaction the L1 does not admit ([`EmbeddedL1::admit_blobs`]) is
    /// dropped with a warning, never included; [`EmbeddedL1::try_submit`]
    /// reports why instead.
    pub fn submit_until(
        &mut self,
        from: Address,
        call: RollupCall,
        deadline: Option<UnixMillis>,
    ) -> SubmissionId {
        match self.admit_blobs(&call) {
            Ok(hashes) => self.queue(from, call, hashes, deadline),
            Err(e) => {
                warn!(target: "chunkseq::l1", call = call.name(), error = %e, "embedded L1 refuses the transaction");
                self.take_id()
            }
        }
    }

    /// Submits as an L1 node's `eth_sendRawTransaction` after the sender's
    /// gas estimate would: refuses a blob transaction it does not admit
    /// ([`L1Error::BlobTxRefused`]) and a call that would revert in the next
    /// block ([`L1Error::Reverted`]), and queues any other.
    pub fn try_submit(
        &mut self,
        from: Address,
        call: RollupCall,
        deadline: Option<UnixMillis>,
    ) -> Result<SubmissionId, L1Error> {
        let hashes = self.admit_blobs(&call)?;
        self.check_with(from, &call, &hashes)?;
        Ok(self.queue(from, call, hashes, deadline))
    }

    fn take_id(&mut self) -> SubmissionId {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    fn queue(
        &mut self,
        from: Address,
        call: RollupCall,
        blob_hashes: Vec<B256>,
        deadline: Option<UnixMillis>,
    ) -> SubmissionId {
        let id = self.take_id();
        let base = self
            .head
            .number
            .saturating_add(1)
            .saturating_add(self.cfg.inclusion_delay_blocks);
        let draw = self.rng.next_f64();
        let include_at = if draw < self.cfg.drop_probability {
            debug!(target: "chunkseq::l1", id, call = call.name(), "embedded L1 drops the submission");
            return id;
        } else if draw < self.cfg.drop_probability + self.cfg.delay_probability {
            base.saturating_add(self.rng.between_one_and(self.cfg.max_extra_delay_blocks))
        } else {
            base
        };
        self.pending.push(Pending {
            id,
            from,
            call,
            blob_hashes,
            include_at,
            deadline,
        });
        id
    }

    /// Produces every block due by `now`; returns what happened, in order.
    pub fn advance_to(&mut self, now: UnixMillis) -> Result<Vec<L1Event>, L1Error> {
        let mut events = Vec::new();
        while self
            .head
            .timestamp
            .checked_add_ms(self.block_time_ms)
            .is_some_and(|t| t <= now)
        {
            events.extend(self.mine_block()?);
        }
        Ok(events)
    }

    /// The excess blob gas of the block after the head (EIP-4844, with
    /// Osaka's reserve price, EIP-7918).
    fn next_excess_blob_gas(&self) -> u64 {
        self.cfg.blob_params.next_block_excess_blob_gas_osaka(
            self.blob_gas.excess,
            self.blob_gas.used,
            u64::try_from(self.head.base_fee).unwrap_or(u64::MAX),
        )
    }

    /// The block after the head, with `excess` blob gas.
    fn next_block(&self, excess: u64, randomness: B256) -> L1Block {
        L1Block {
            number: self.head.number.saturating_add(1),
            timestamp: self
                .head
                .timestamp
                .checked_add_ms(self.block_time_ms)
                .unwrap_or(self.head.timestamp),
            randomness,
            base_fee: 0,
            blob_base_fee: self.cfg.blob_params.calc_blob_fee(excess),
        }
    }

    /// Produces the next block now, including every submission due. A block
    /// holds at most `blob_params.max_blob_count` blobs: blob transactions
    /// beyond that wait for a later block.
    pub fn mine_block(&mut self) -> Result<Vec<L1Event>, L1Error> {
        let mut events = Vec::new();
        if self.previous.is_some()
            && self.rng.next_f64() < self.cfg.reorg_probability
            && let Some(prev) = self.previous.take()
            && let Some(db) = prev.db
        {
            events.push(L1Event::Reorg {
                dropped_block: self.head.number,
            });
            let dropped = self.head.number;
            self.checkpoints.retain(
                |e| !matches!(e, L1Event::CheckpointAccepted { l1_block, .. } if *l1_block >= dropped),
            );
            // The dropped block's blob transactions go back to pending with
            // their blobs; until included again, their blobs are not served.
            self.sidecars.drop_from(dropped);
            self.db = db;
            self.head = prev.head;
            self.blob_gas = prev.blob_gas;
            let mut back = prev.included;
            back.append(&mut self.pending);
            self.pending = back;
        }
        let saved = Previous {
            db: (self.cfg.reorg_probability > 0.0).then(|| self.db.clone()),
            head: self.head,
            blob_gas: self.blob_gas,
            included: Vec::new(),
        };
        let excess = self.next_excess_blob_gas();
        let randomness = B256::from(U256::from(self.rng.next_u64()));
        self.head = self.next_block(excess, randomness);
        self.blob_gas = BlobGas { excess, used: 0 };
        self.prune_blobs();
        events.push(L1Event::Block(self.head));
        let now = self.head.timestamp;
        let (expired, live): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.deadline.is_some_and(|d| d < now));
        events.extend(expired.iter().map(|p| L1Event::Expired {
            submission: p.id,
            call: p.call.name(),
        }));
        let (due, later): (Vec<Pending>, Vec<Pending>) = live
            .into_iter()
            .partition(|p| p.include_at <= self.head.number);
        let max_blob_gas = self.cfg.blob_params.max_blob_gas_per_block();
        let mut included = Vec::with_capacity(due.len());
        let mut waiting = Vec::new();
        for p in due {
            let blob_gas_used = DATA_GAS_PER_BLOB.saturating_mul(p.blob_hashes.len() as u64);
            if self.blob_gas.used.saturating_add(blob_gas_used) > max_blob_gas {
                debug!(target: "chunkseq::l1", id = p.id, blobs = p.blob_hashes.len(), "block full of blobs; the transaction waits");
                waiting.push(p);
                continue;
            }
            let data = p.call.calldata(&self.abi)?;
            // The embedded L1 has no signed transactions; it names each one
            // by its sender, block, submission and calldata.
            let l1_tx = keccak256((p.from, self.head.number, p.id, data.clone()).abi_encode());
            let tx = self.tx_with_blobs(
                self.tx(
                    p.from,
                    TxKind::Call(self.rollup),
                    data.clone(),
                    p.call.value(),
                ),
                &p.blob_hashes,
                self.head.blob_base_fee,
            );
            let result = self.execute_tx(tx)?;
            let outcome = if result.is_success() {
                Ok(())
            } else {
                Err(Revert(self.revert_reason(&result)))
            };
            self.blob_gas.used = self.blob_gas.used.saturating_add(blob_gas_used);
            if let Some(blobs) = p.call.shared_blobs()
                && !p.blob_hashes.is_empty()
            {
                self.sidecars
                    .insert(self.head.number, &p.blob_hashes, blobs);
            }
            events.push(L1Event::Included {
                submission: p.id,
                call: p.call.name(),
                l1_block: self.head.number,
                gas_used: result.tx_gas_used(),
                blob_gas_used,
                outcome,
            });
            for mut e in self.decode_logs(&result, l1_tx, &data) {
                if matches!(e, L1Event::CheckpointAccepted { .. }) {
                    // Nodes get the bodies of a checkpoint published in
                    // blobs, decoded from the blobs L1 now keeps: their
                    // versioned hashes were computed from them on admission.
                    resolve_own_blobs(&mut e, |hashes| {
                        self.blobs(hashes).map_err(|e| e.to_string())
                    });
                    if self.checkpoints.len() >= CHECKPOINT_HISTORY {
                        self.checkpoints.pop_front();
                    }
                    self.checkpoints.push_back(e.clone());
                }
                events.push(e);
            }
            included.push(p);
        }
        waiting.extend(later);
        self.pending = waiting;
        self.previous = Some(Previous { included, ..saved });
        Ok(events)
    }

    /// Prunes the blobs that left the retention window, and the bodies of
    /// the checkpoints they carried from the history.
    fn prune_blobs(&mut self) {
        self.sidecars.prune(self.head.number);
        let oldest = self.sidecars.oldest_kept(self.head.number);
        let retention = self.sidecars.retention();
        for e in &mut self.checkpoints {
            let L1Event::CheckpointAccepted {
                bodies,
                data: CheckpointData::Blobs { unavailable, .. },
                l1_block,
                ..
            } = e
            else {
                continue;
            };
            if *l1_block >= oldest {
                break;
            }
            if unavailable.is_none() {
                bodies.clear();
                *unavailable = Some(format!(
                    "blobs pruned: L1 keeps them {retention} blocks, they were included in block {l1_block}"
                ));
            }
        }
    }

    /// Calls a view function; returns its raw output.
    pub fn view_raw(&mut self, data: Bytes) -> Result<Bytes, L1Error> {
        let db = std::mem::take(&mut self.db);
        let mut evm = self.evm(db);
        let out = evm.transact(self.tx(Address::ZERO, TxKind::Call(self.rollup), data, U256::ZERO));
        self.db = evm.ctx.journaled_state.database;
        let result = out.map_err(|e| L1Error::Evm(e.to_string()))?.result;
        match &result {
            ExecutionResult::Success { .. } => Ok(result.output().cloned().unwrap_or_default()),
            _ => Err(L1Error::Reverted {
                reason: self.revert_reason(&result),
            }),
        }
    }

    /// Calls a view function of the contract.
    pub fn view<V: View>(&mut self, view: V) -> Result<V::Output, L1Error> {
        let data = view.calldata(&self.abi)?;
        let out = self.view_raw(data)?;
        view.decode(&out)
    }

    /// The committee (sorted) and proposer of `slot`.
    pub fn duties(&mut self, slot: u64) -> Result<(Vec<Address>, Address), L1Error> {
        self.view(Duties(slot))
    }

    /// The contract's tip.
    pub fn tip(&mut self) -> Result<RollupTip, L1Error> {
        self.view(Tip)
    }

    /// The chain spec hash the contract was deployed with.
    pub fn chain_spec_hash(&mut self) -> Result<B256, L1Error> {
        self.view(ChainSpecHash)
    }

    /// Records the committees of epochs 0 to 2 from `from` in the first L1
    /// block at or after `genesis` (the contract refuses earlier), as the
    /// first validator to act at genesis does; blocks up to then are mined.
    /// Tests and the simulator start from there.
    pub fn record_genesis_committees(
        &mut self,
        from: Address,
        genesis: UnixMillis,
    ) -> Result<Vec<L1Event>, L1Error> {
        let mut events = self.advance_to(genesis.checked_sub_ms(1).unwrap_or(genesis))?;
        let id = self.submit(from, RollupCall::RecordCommittee { epoch: 2 });
        let mut mined = self.advance_to(genesis)?;
        if mined.is_empty() {
            mined = self.mine_block()?;
        }
        if let Some((_, Err(Revert(reason)))) = L1Event::inclusion(&mined, id) {
            return Err(L1Error::Reverted { reason });
        }
        events.extend(mined);
        Ok(events)
    }

    /// Entries in the contract's validator set.
    pub fn validator_count(&mut self) -> Result<u64, L1Error> {
        self.view(ValidatorCount)
    }

    /// The minimum stake the contract was deployed with (each genesis
    /// validator's stake).
    pub const fn min_stake(&self) -> U256 {
        self.cfg.stake
    }

    /// The contract's EIP-712 domain separator.
    pub fn domain_separator(&mut self) -> Result<B256, L1Error> {
        self.view(DomainSeparator)
    }

    /// A validator's remaining stake and whether it was slashed.
    pub fn validator(&mut self, who: Address) -> Result<ValidatorStanding, L1Error> {
        self.view(Validator(who))
    }

    /// Sets the balance of an L1 account (the development faucet).
    pub fn set_balance(&mut self, who: Address, wei: U256) {
        let mut info = self
            .db
            .cache
            .accounts
            .get(&who)
            .map(|a| a.info.clone())
            .unwrap_or_default();
        info.balance = wei;
        self.db.insert_account_info(who, info);
    }

    /// Sets the code of an L1 account (development, like anvil's
    /// `anvil_setCode`): a contract of a test's own, or an EIP-7702
    /// delegation designator (`0xef0100 ‖ address`) on an account.
    pub fn set_code(&mut self, who: Address, code: Bytes) {
        let mut info = self
            .db
            .cache
            .accounts
            .get(&who)
            .map(|a| a.info.clone())
            .unwrap_or_default();
        let code = revm::bytecode::Bytecode::new_raw(code);
        info.code_hash = code.hash_slow();
        info.code = Some(code);
        self.db.insert_account_info(who, info);
    }

    /// Runs a transaction from `from` to any account with `data` on the
    /// head's state at once and commits it (development: calling a contract
    /// of a test's own, which [`RollupCall`]s cannot). Its logs are not
    /// reported; the outcome is its output or revert reason.
    pub fn transact(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
    ) -> Result<Result<Bytes, Revert>, L1Error> {
        let result = self.execute(from, TxKind::Call(to), data, U256::ZERO)?;
        Ok(if result.is_success() {
            Ok(result.output().cloned().unwrap_or_default())
        } else {
            Err(Revert(self.revert_reason(&result)))
        })
    }

    /// Changes the chain id that later calls run with (an L1 fork that
    /// changes its id).
    pub fn set_chain_id(&mut self, chain_id: u64) {
        self.chain_id = chain_id;
    }

    /// Balance of an L1 account.
    pub fn balance(&self, who: Address) -> U256 {
        self.db
            .cache
            .accounts
            .get(&who)
            .map_or(U256::ZERO, |a| a.info.balance)
    }

    /// Runs `call` without committing it and counts, per opcode, how often
    /// it ran and the gas it charged directly (calls exclude the gas they
    /// forward). For finding what dominates a call's cost.
    pub fn profile(
        &mut self,
        from: Address,
        call: &RollupCall,
    ) -> Result<Vec<OpcodeCost>, L1Error> {
        use revm::{
            InspectEvm, Inspector,
            interpreter::{Interpreter, interpreter_types::Jumps},
        };
        #[derive(Default)]
        struct Profile {
            count: Vec<u64>,
            gas: Vec<u64>,
            pending: Option<(u8, u64)>,
        }
        impl<CTX> Inspector<CTX> for Profile {
            fn step(&mut self, interp: &mut Interpreter, _: &mut CTX) {
                self.pending = Some((interp.bytecode.opcode(), interp.gas.remaining()));
            }
            fn step_end(&mut self, interp: &mut Interpreter, _: &mut CTX) {
                if let Some((op, before)) = self.pending.take() {
                    let i = usize::from(op);
                    if let (Some(c), Some(g)) = (self.count.get_mut(i), self.gas.get_mut(i)) {
                        *c = c.saturating_add(1);
                        // CALL-family opcodes forward gas; count only their own cost.
                        if !matches!(op, 0xf1 | 0xf2 | 0xf4 | 0xfa | 0xf0 | 0xf5) {
                            *g = g.saturating_add(before.saturating_sub(interp.gas.remaining()));
                        }
                    }
                }
            }
        }
        let hashes = self.admit_blobs(call)?;
        let data = call.calldata(&self.abi)?;
        let tx = self.tx_with_blobs(
            self.tx(from, TxKind::Call(self.rollup), data, call.value()),
            &hashes,
            self.head.blob_base_fee,
        );
        let db = self.db.clone();
        let profile = Profile {
            count: vec![0; 256],
            gas: vec![0; 256],
            pending: None,
        };
        let (cfg, block) = self.env();
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet_with_inspector(profile);
        evm.inspect_one_tx(tx)
            .map_err(|e| L1Error::Evm(e.to_string()))?;
        let p = &evm.inspector;
        Ok((0..=255u8)
            .filter_map(|op| {
                let i = usize::from(op);
                let count = p.count.get(i).copied().unwrap_or(0);
                (count > 0).then(|| OpcodeCost {
                    opcode: op,
                    count,
                    gas: p.gas.get(i).copied().unwrap_or(0),
                })
            })
            .collect())
    }

    /// Runs `call` from `from` as the next block would run it, without
    /// committing anything: `Err(L1Error::Reverted)` with the contract's
    /// reason when it would fail, `Err(L1Error::BlobTxRefused)` when the L1
    /// would not admit its blobs. The RPC L1 checks each call this way before
    /// paying for it; the shared handle does the same so both behave alike.
    pub fn check(&mut self, from: Address, call: &RollupCall) -> Result<(), L1Error> {
        let hashes = self.admit_blobs(call)?;
        self.check_with(from, call, &hashes)
    }

    /// [`EmbeddedL1::check`] with the blobs' versioned hashes computed.
    fn check_with(
        &mut self,
        from: Address,
        call: &RollupCall,
        blob_hashes: &[B256],
    ) -> Result<(), L1Error> {
        let data = call.calldata(&self.abi)?;
        let excess = self.next_excess_blob_gas();
        let next = self.next_block(excess, self.head.randomness);
        let tx = self.tx_with_blobs(
            self.tx(from, TxKind::Call(self.rollup), data, call.value()),
            blob_hashes,
            next.blob_base_fee,
        );
        let (cfg, block) = self.env_at(next, excess);
        let db = std::mem::take(&mut self.db);
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet();
        let out = evm.transact(tx);
        self.db = evm.ctx.journaled_state.database;
        let result = out.map_err(|e| L1Error::Evm(e.to_string()))?.result;
        if result.is_success() {
            Ok(())
        } else {
            Err(L1Error::Reverted {
                reason: self.revert_reason(&result),
            })
        }
    }

    fn env(&self) -> (CfgEnv, BlockEnv) {
        self.env_at(self.head, self.blob_gas.excess)
    }

    fn env_at(&self, head: L1Block, excess_blob_gas: u64) -> (CfgEnv, BlockEnv) {
        let mut cfg = CfgEnv::new_with_spec(SpecId::OSAKA);
        cfg.chain_id = self.chain_id;
        cfg.disable_nonce_check = true;
        cfg.set_max_blobs_per_tx(self.cfg.blob_params.max_blobs_per_tx);
        let block = BlockEnv {
            number: U256::from(head.number),
            timestamp: U256::from(head.timestamp.as_secs()),
            gas_limit: 60_000_000,
            basefee: 0,
            prevrandao: Some(head.randomness),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice {
                excess_blob_gas,
                blob_gasprice: head.blob_base_fee,
            }),
            ..BlockEnv::default()
        };
        (cfg, block)
    }

    fn evm(
        &self,
        db: CacheDB<EmptyDB>,
    ) -> revm::handler::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>> {
        let (cfg, block) = self.env();
        Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet()
    }

    fn tx(&self, from: Address, kind: TxKind, data: Bytes, value: U256) -> TxEnv {
        TxEnv {
            caller: from,
            kind,
            data,
            value,
            // The per-transaction cap of the latest rules (EIP-7825).
            gas_limit: 1 << 24,
            gas_price: 0,
            chain_id: Some(self.chain_id),
            ..TxEnv::default()
        }
    }

    /// `tx` as an EIP-4844 transaction carrying blobs with `blob_hashes`
    /// (unchanged when there are none), paying up to `blob_base_fee` per
    /// blob gas: the block's, so it is always willing to pay it.
    fn tx_with_blobs(&self, tx: TxEnv, blob_hashes: &[B256], blob_base_fee: u128) -> TxEnv {
        if blob_hashes.is_empty() {
            return tx;
        }
        TxEnv {
            tx_type: 3,
            blob_hashes: blob_hashes.to_vec(),
            max_fee_per_blob_gas: blob_base_fee,
            gas_priority_fee: Some(0),
            ..tx
        }
    }

    fn execute(
        &mut self,
        from: Address,
        kind: TxKind,
        data: Bytes,
        value: U256,
    ) -> Result<ExecutionResult, L1Error> {
        let tx = self.tx(from, kind, data, value);
        self.execute_tx(tx)
    }

    fn execute_tx(&mut self, tx: TxEnv) -> Result<ExecutionResult, L1Error> {
        let db = std::mem::take(&mut self.db);
        let mut evm = self.evm(db);
        let out = evm.transact_commit(tx);
        self.db = evm.ctx.journaled_state.database;
        out.map_err(|e| L1Error::Evm(e.to_string()))
    }

    fn revert_reason(&self, result: &ExecutionResult) -> String {
        match result {
            ExecutionResult::Revert { output, .. } => revert_reason(&self.abi, output),
            ExecutionResult::Halt { reason, .. } => format!("halt {reason:?}"),
            ExecutionResult::Success { .. } => "success".into(),
        }
    }

    /// The Rollup's events in `result`, of transaction `l1_tx` with `input`
    /// (where an accepted checkpoint's headers and calldata bodies are).
    fn decode_logs(&self, result: &ExecutionResult, l1_tx: B256, input: &[u8]) -> Vec<L1Event> {
        let mut events = Vec::new();
        for log in result
            .logs()
            .iter()
            .filter(|log| log.address == self.rollup)
        {
            let (topics, data) = (log.topics(), &log.data.data);
            if let Some(checkpoint) = decode_checkpoint_log(&self.abi, topics, data) {
                match checkpoint.into_event(&self.abi, input, self.head.number, l1_tx) {
                    Ok(e) => events.push(e),
                    // The contract accepted this very call: never happens.
                    Err(why) => warn!(target: "chunkseq::l1", %why, "undecodable checkpoint"),
                }
            } else if let Some(e) =
                decode_rollup_log(&self.abi, topics, data, self.head.number, l1_tx)
            {
                events.push(e);
            }
        }
        events
    }
}

/// A call's blobs with the versioned hashes of their KZG commitments,
/// computed by [`CommittedBlobs::compute`] and nowhere else, so an L1 primed
/// with them ([`EmbeddedL1::prime_blobs`]) still checks every blob itself.
/// It lets a shared L1 do that work before it takes its lock.
#[derive(Debug, Clone)]
pub struct CommittedBlobs {
    blobs: Arc<Vec<Blob>>,
    hashes: Vec<B256>,
}

impl CommittedBlobs {
    /// Commits `blobs`; `None` for blobs c-kzg refuses (admission then
    /// reports why).
    pub fn compute(blobs: Arc<Vec<Blob>>) -> Option<Self> {
        let hashes = chunkseq_da::versioned_hashes(&blobs).ok()?;
        Some(Self { blobs, hashes })
    }
}
