//! The state machine: `handle(now, input) -> outputs`, dispatching to the
//! proposer, the attestation jobs and the follower.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::Arc,
};

use alloy_primitives::{Address, B256, map::B256Map};
use chunkseq_execution::{
    Pool, PoolConfig, PoolError, RecoveredTx,
    pool::{Backlog, recover},
};
use chunkseq_l1::{L1Block, L1Event, RollupTip};
use chunkseq_primitives::{
    ChainSpec, DataMode, Eip712Domain, ProposalMessage, ProvisionalBlockMessage, Signer, SpecError,
    StatusDetail, Timetable, UnixMillis,
};
use chunkseq_state::{Fork, StateDb, StateError};
use tracing::{debug, warn};

/// How many ended statuses (replaced, dropped by the pool) a core keeps.
const ENDED_STATUSES_KEPT: usize = 65_536;

/// How often the pool drops transactions that waited too long behind a
/// nonce gap, ms.
const POOL_EXPIRY_EVERY_MS: u64 = 1_000;

use crate::{
    accounts::ForkAccounts,
    attester::AttestationJob,
    catch_up::CatchUp,
    chain::{Chain, CheckpointTip},
    evidence::{EvidenceDetector, Offence},
    exec_cache::{ExecutionCache, RecoveryCache},
    io::{Duties, Event, Gossip, Input, Output, TxIn, TxOrigin, TxRefused, TxStatus, Work},
    proposer::SlotBuild,
    reporting::PendingReport,
    slot_data::VERSIONED_HASH_CACHE_BLOBS,
};
use chunkseq_da::{DATA_BYTES_PER_BLOB, VersionedHashCache};

/// Settings of a core that are not consensus parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreConfig {
    /// L1 blocks after which a checkpoint counts as final.
    pub l1_finality_blocks: u64,
    /// How long a proposer waits for its checkpoint to land before sending it again.
    pub resubmit_after_ms: u64,
    /// Slots of messages kept behind the checkpointed tip (then pruned).
    pub keep_slots: u64,
    /// Whether each transaction status change is reported as an
    /// [`Event::TxStatusChanged`] (for RPC subscriptions). The statuses are
    /// kept either way; the simulator turns the events off for every node
    /// but the one it measures.
    pub tx_status_events: bool,
    /// How often a catching-up node asks its peers and L1 again.
    pub catch_up_retry_ms: u64,
    /// How long a node waits for what it missed before it takes part anyway.
    pub catch_up_give_up_ms: u64,
    /// Transactions users send are refused (retryable, [`TxRefused::Backlog`])
    /// while the pool holds this many chunks of work or more: a chunk's work
    /// is at most `block_max_txs` executable transactions and at most a
    /// chunk's share of the slot's data budget. Peers' transactions are
    /// still taken, up to the pool's own bounds.
    pub max_backlog_chunks: u64,
    /// How long a validator pair's build lease lasts unrenewed before the
    /// partner node may take the slot over, ms. The builder renews it every
    /// quarter of this; the standby asks every half.
    pub ha_lease_ms: u64,
    /// Threads that compute one step's missing blob commitments side by
    /// side (see `VersionedHashCache::with_commit_threads`): 1 for a node,
    /// whose other cores have work of their own; the simulator uses 2.
    pub commit_threads: usize,
    /// Whether this node rescues slots whose proposer did not publish
    /// (docs/rescue.md). Off, it still follows rescues others publish.
    pub rescue: bool,
    /// How long this node waits before rescuing once a slot's rescue
    /// window opens. `None` (the default): its turn, one L1 block per rank
    /// among the slot's committee (docs/rescue.md). `Some(ms)`: a delay of
    /// its own between 0 and `ms`; `Some(0)` sends at once.
    pub rescue_spread_ms: Option<u64>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            l1_finality_blocks: 64,
            resubmit_after_ms: 4_000,
            keep_slots: 4,
            tx_status_events: true,
            catch_up_retry_ms: 1_500,
            catch_up_give_up_ms: 20_000,
            max_backlog_chunks: 4,
            ha_lease_ms: 1_500,
            commit_threads: 1,
            rescue: true,
            rescue_spread_ms: None,
        }
    }
}

/// The chain's tips, each as (block hash, number); each is at or above the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tips {
    /// The newest block proposed on top of the provisional chain.
    pub proposed: (B256, u64),
    /// The provisional tip.
    pub provisional: (B256, u64),
    /// The last checkpointed block.
    pub checkpointed: (B256, u64),
    /// The last block of the newest L1-final checkpoint.
    pub finalized: (B256, u64),
}

/// Why a core could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The chain spec is inconsistent.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The state store holds no genesis.
    #[error("the state store has no genesis block: write genesis first")]
    NoGenesis,
    /// The state store's head is not the checkpoint to resume from.
    #[error("cannot resume: the state store is at block {head} but the checkpoint ends at {tip}")]
    ResumeMismatch {
        /// The store's head.
        head: u64,
        /// The checkpoint's last block.
        tip: u64,
    },
}

/// One node's protocol state machine. It reads no clock and draws no
/// randomness: `now` comes with every input.
pub struct Core {
    pub(crate) spec: ChainSpec,
    pub(crate) timetable: Timetable,
    pub(crate) domain: Eip712Domain,
    pub(crate) cfg: CoreConfig,
    pub(crate) signer: Option<Arc<dyn Signer>>,
    pub(crate) chain: Chain,
    pub(crate) pool: Pool,
    pub(crate) duties: BTreeMap<u64, Duties>,
    pub(crate) requested_duties: BTreeSet<u64>,
    /// When to ask again for duties L1 could not give.
    pub(crate) duties_retry_at: BTreeMap<u64, UnixMillis>,
    /// Slots beyond the next few whose duties a pending report needs.
    pub(crate) wanted_duties: BTreeSet<u64>,
    /// Epochs whose committee this node asked L1 to record, and when.
    pub(crate) recording: BTreeMap<u64, UnixMillis>,
    /// Slashing reports to (re)submit until L1 shows the slash.
    pub(crate) pending_reports: BTreeMap<B256, PendingReport>,
    pub(crate) building: Option<SlotBuild>,
    /// Finished builds whose checkpoint is still to land.
    pub(crate) publishing: Vec<SlotBuild>,
    /// Slots of this key that the partner node of a validator pair builds.
    pub(crate) standby: BTreeMap<u64, crate::standby::Standby>,
    pub(crate) jobs: BTreeMap<u64, AttestationJob>,
    /// Proposals seen, by block hash: the bodies followers re-execute.
    pub(crate) bodies: BTreeMap<B256, ProposalMessage>,
    /// Provisional blocks that do not extend the tip yet, by (slot, index).
    pub(crate) held_provisional: BTreeMap<(u64, u32), ProvisionalBlockMessage>,
    /// Proposals waiting for their slot's duties.
    pub(crate) held_proposals: Vec<ProposalMessage>,
    pub(crate) l1_head: Option<L1Block>,
    /// The prices quoted to the pool and the RPC, and what for.
    pub(crate) fee_quote: crate::fees::FeeQuote,
    pub(crate) fee_quote_at: Option<crate::fees::QuoteKey>,
    /// The highest proposed block seen (hash, number).
    pub(crate) proposed: Option<(B256, u64)>,
    /// Each known transaction's status; checkpointed ones are forgotten
    /// `keep_slots` checkpoints later (the node's index keeps them).
    pub(crate) tx_status: B256Map<TxStatus>,
    /// Why transactions the pool let go ended (replaced, dropped), for the
    /// last [`ENDED_STATUSES_KEPT`] of them, oldest first in `ended`.
    tx_detail: B256Map<StatusDetail>,
    ended: VecDeque<B256>,
    /// Transactions checkpointed by each recent checkpoint, oldest first.
    pub(crate) checkpointed_txs: VecDeque<Vec<B256>>,
    pub(crate) evidence: EvidenceDetector,
    /// Evidence already reported or submitted, by hash of its wire encoding.
    pub(crate) reported: BTreeSet<B256>,
    pub(crate) work: Work,
    pub(crate) exec_cache: Option<Arc<ExecutionCache>>,
    pub(crate) sig_cache: Option<Arc<RecoveryCache>>,
    /// Commitments of recent blobs, so each block commits only the blobs it
    /// changed.
    pub(crate) versioned_hashes: VersionedHashCache,
    pub(crate) wake: Option<UnixMillis>,
    /// The time of the latest input.
    pub(crate) last_now: Option<UnixMillis>,
    /// When the pool next drops transactions that waited too long behind a
    /// nonce gap.
    next_pool_expiry: UnixMillis,
    /// Whether this validator asked L1 to record the first committees
    /// before genesis.
    pub(crate) genesis_record_sent: bool,
    /// Set until the core has caught up with L1 (`catch_up`).
    pub(crate) catching_up: Option<CatchUp>,
    /// L1's checkpoint tip, as last passed in.
    pub(crate) l1_tip: Option<RollupTip>,
    /// Whether the last catch-up ended level with L1 (false after giving up).
    pub(crate) level: bool,
    /// Rescues this node applied or is about to send.
    pub(crate) rescue: crate::rescue::RescueState,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("me", &self.me())
            .field("tip", &self.chain.tip())
            .field("checkpointed", &self.chain.checkpointed())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A core over `db` (holding at least the genesis block). With a signer
    /// the node is a validator; without one, a follower.
    pub fn new(
        spec: ChainSpec,
        cfg: CoreConfig,
        db: Arc<StateDb>,
        signer: Option<Arc<dyn Signer>>,
    ) -> Result<Self, CoreError> {
        let timetable = Timetable::new(&spec)?;
        let head = db.head().ok_or(CoreError::NoGenesis)?;
        let fees = spec.fees;
        let commit_threads = cfg.commit_threads;
        let tip = CheckpointTip {
            slot: 0,
            header_hash: B256::ZERO,
            last_number: head.number.0,
            last_hash: head.block_hash,
            l1_block: 0,
        };
        Ok(Self {
            domain: spec.eip712_domain(),
            pool: Pool::new(PoolConfig::from_spec(&spec)),
            timetable,
            cfg,
            signer,
            chain: Chain::new(db, tip),
            spec,
            duties: BTreeMap::new(),
            requested_duties: BTreeSet::new(),
            duties_retry_at: BTreeMap::new(),
            wanted_duties: BTreeSet::new(),
            recording: BTreeMap::new(),
            pending_reports: BTreeMap::new(),
            building: None,
            publishing: Vec::new(),
            standby: BTreeMap::new(),
            jobs: BTreeMap::new(),
            bodies: BTreeMap::new(),
            held_provisional: BTreeMap::new(),
            held_proposals: Vec::new(),
            l1_head: None,
            fee_quote: crate::fees::FeeQuote {
                base_fee: fees.min_base_fee,
                data_price: fees.min_data_price,
            },
            fee_quote_at: None,
            proposed: None,
            tx_status: B256Map::default(),
            tx_detail: B256Map::default(),
            ended: VecDeque::new(),
            checkpointed_txs: VecDeque::new(),
            evidence: EvidenceDetector::new(),
            reported: BTreeSet::new(),
            work: Work::default(),
            exec_cache: None,
            sig_cache: None,
            versioned_hashes: VersionedHashCache::new(VERSIONED_HASH_CACHE_BLOBS)
                .with_commit_threads(commit_threads),
            wake: None,
            last_now: None,
            next_pool_expiry: UnixMillis(0),
            genesis_record_sent: false,
            catching_up: Some(CatchUp::default()),
            l1_tip: None,
            level: false,
            rescue: crate::rescue::RescueState::default(),
        })
    }

    /// Shares re-execution results with other honest cores of this process
    /// (the simulator's memoization). The work is still reported as done.
    pub fn share_executions(&mut self, cache: Arc<ExecutionCache>) {
        self.exec_cache = Some(cache);
    }

    /// Shares signature recoveries with the other cores of this process.
    /// The work is still reported as done.
    pub fn share_recoveries(&mut self, cache: Arc<RecoveryCache>) {
        self.sig_cache = Some(cache);
    }

    /// Resumes a core whose state store was left at the last block of the
    /// checkpoint `tip` (a restart): the next checkpoint must build on it.
    /// Refused when the store's head is not that block.
    pub fn resume_from(&mut self, tip: CheckpointTip) -> Result<(), CoreError> {
        let head = self.chain.db().head().ok_or(CoreError::NoGenesis)?;
        if head.number.0 != tip.last_number || head.block_hash != tip.last_hash {
            return Err(CoreError::ResumeMismatch {
                head: head.number.0,
                tip: tip.last_number,
            });
        }
        self.chain.record_checkpoint(tip);
        Ok(())
    }

    /// The committee and proposer of `slot`, once fetched from L1.
    pub fn duties(&self, slot: u64) -> Option<&Duties> {
        self.duties.get(&slot)
    }

    /// The slot timetable.
    pub const fn timetable(&self) -> &Timetable {
        &self.timetable
    }

    /// This node's validator address, if it is one.
    pub fn me(&self) -> Option<Address> {
        self.signer.as_ref().map(|s| s.address())
    }

    /// The chain spec.
    pub const fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The chain: checkpointed tip and provisional blocks.
    pub const fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The four tips: proposed (seen, not attested), provisional,
    /// checkpointed (on L1) and finalized (L1-final), as (hash, number).
    pub fn tips(&self) -> Tips {
        let provisional = self.chain.tip();
        let checkpointed = self.chain.checkpointed();
        let finalized = self.chain.finalized();
        Tips {
            proposed: self
                .proposed
                .filter(|(_, n)| *n > provisional.1)
                .unwrap_or(provisional),
            provisional,
            checkpointed: (checkpointed.last_hash, checkpointed.last_number),
            finalized: (finalized.last_hash, finalized.last_number),
        }
    }

    /// The transaction pool.
    pub const fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A transaction's status, if this node has seen it.
    pub fn tx_status(&self, hash: &B256) -> Option<TxStatus> {
        self.tx_status.get(hash).copied()
    }

    /// Why a transaction the pool let go ended: replaced (by which) or
    /// dropped (evicted, expired, nonce used), while the core remembers.
    pub fn tx_status_detail(&self, hash: &B256) -> Option<StatusDetail> {
        self.tx_detail.get(hash).copied()
    }

    /// The work done since the last call.
    pub fn take_work(&mut self) -> Work {
        std::mem::take(&mut self.work)
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, now: UnixMillis, input: Input) -> Vec<Output> {
        self.last_now = Some(now);
        self.pool.set_clock(now.0);
        let mut out = Vec::new();
        self.refresh_fees();
        self.handle_input(now, input, &mut out);
        self.refresh_fees();
        self.settle_pool_removals(&mut out);
        out
    }

    /// Statuses of the transactions the pool let go without a block:
    /// replaced, evicted, expired, or whose nonce a block used. A
    /// transaction a block took is not one of them.
    fn settle_pool_removals(&mut self, out: &mut Vec<Output>) {
        for (hash, detail) in self.pool.take_removed() {
            if detail == StatusDetail::NonceUsed
                && self.tx_status.get(&hash) != Some(&TxStatus::Pending)
            {
                continue;
            }
            let Some(status) = self.tx_status.get_mut(&hash) else {
                continue;
            };
            *status = detail.status();
            self.tx_detail.insert(hash, detail);
            self.ended.push_back(hash);
            while self.ended.len() > ENDED_STATUSES_KEPT {
                let Some(old) = self.ended.pop_front() else {
                    break;
                };
                if self.tx_detail.remove(&old).is_some()
                    && matches!(
                        self.tx_status.get(&old),
                        Some(TxStatus::Dropped | TxStatus::Replaced)
                    )
                {
                    self.tx_status.remove(&old);
                }
            }
            if self.cfg.tx_status_events {
                out.push(Output::Event(Event::TxStatusChanged {
                    hash,
                    status: detail.status(),
                    detail: Some(detail),
                }));
            }
        }
    }

    fn handle_input(&mut self, now: UnixMillis, input: Input, out: &mut Vec<Output>) {
        if self.catching_up.is_some() {
            self.on_input_catching_up(now, input, out);
            if self.catching_up.is_some() {
                self.schedule_wake(now, out);
                return;
            }
        } else {
            self.on_input_live(now, input, out);
            if self.catching_up.is_some() {
                // It fell behind on this input: it starts asking at once.
                self.catch_up_poll(now, out);
                self.schedule_wake(now, out);
                return;
            }
        }
        // Gossip verdicts (`Rejected`, `Ignored`) are about the input alone:
        // a held message the poll retries already had its verdict when it
        // arrived, so the poll's are only logged.
        let input_outputs = out.len();
        self.poll(now, out);
        let mut index = 0usize;
        out.retain(|o| {
            let from_poll = index >= input_outputs;
            index = index.saturating_add(1);
            match o {
                Output::Rejected { topic, reason } | Output::Ignored { topic, reason }
                    if from_poll =>
                {
                    debug!(target: "chunkseq::protocol", topic, %reason, "held message refused");
                    false
                }
                _ => true,
            }
        });
        self.schedule_wake(now, out);
    }

    /// Dispatches one input of a core that takes part.
    pub(crate) fn on_input_live(&mut self, now: UnixMillis, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Tick => {}
            Input::Transactions { txs, origin } => self.on_transactions(txs, origin, out),
            // A transaction gossiped to the core enters by the same door.
            Input::Gossip(Gossip::Tx(raw)) => {
                self.on_transactions(vec![TxIn::Raw(raw)], TxOrigin::Gossip, out);
            }
            Input::Gossip(Gossip::Proposal(msg)) => self.on_proposal(now, msg, out),
            Input::Gossip(Gossip::Attestation(msg)) => self.on_attestation(now, &msg, out),
            Input::Gossip(Gossip::Provisional(msg)) => self.on_provisional(now, msg, out),
            Input::Gossip(Gossip::Evidence(e)) => self.on_evidence(&e, out),
            Input::L1(event) => self.on_l1(event, out),
            Input::Duties { slot, duties } => {
                self.on_duties(slot, duties);
                self.retry_held(now, out);
            }
            Input::DutiesUnavailable { slot, reason } => {
                self.on_duties_unavailable(now, slot, &reason, out);
            }
            Input::L1CallFailed { call, reason } => {
                debug!(target: "chunkseq::protocol", call, %reason, "L1 refused a call");
                if call == "proposeCheckpoint" {
                    self.checkpoint_refused(now);
                }
            }
            catch_up @ (Input::L1Tip(_) | Input::SyncResponse(_) | Input::L1Checkpoints(_)) => {
                self.on_catch_up_input_live(now, catch_up, out);
            }
        }
    }

    /// Everything that depends on the time alone.
    fn poll(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        if now >= self.next_pool_expiry {
            self.pool.expire_queued();
            self.pool.shrink_if_sparse();
            chunkseq_execution::pool::shrink_if_sparse(&mut self.tx_status);
            chunkseq_execution::pool::shrink_if_sparse(&mut self.tx_detail);
            self.next_pool_expiry = now.checked_add_ms(POOL_EXPIRY_EVERY_MS).unwrap_or(now);
        }
        self.request_duties(now, out);
        self.proposer_poll(now, out);
        self.retry_held(now, out);
        self.submit_reports(now, out);
        self.rescue_poll(now, out);
    }

    fn schedule_wake(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let next = self.next_deadline(now);
        if next.is_some() && next != self.wake {
            self.wake = next;
            if let Some(t) = next {
                out.push(Output::WakeAt(t));
            }
        }
    }

    /// The next moment something is due: a chunk boundary, an attestation
    /// timeout, a slot boundary.
    fn next_deadline(&self, now: UnixMillis) -> Option<UnixMillis> {
        if self.catching_up.is_some() {
            return self.next_catch_up_deadline().filter(|t| *t > now);
        }
        let mut candidates: Vec<UnixMillis> = Vec::new();
        for b in self.building.iter().chain(&self.publishing) {
            candidates.extend(b.deadlines(&self.timetable, &self.spec));
        }
        // Sealed blocks' commitments: on the next input, right after the
        // proposals went out.
        if self.building.as_ref().is_some_and(|b| b.has_uncommitted()) {
            candidates.extend(now.checked_add_ms(1));
        }
        if let Some(slot) = self.timetable.slot_at(now) {
            for s in slot.0..=slot.0.saturating_add(2) {
                if let Ok(schedule) = self.timetable.schedule(chunkseq_primitives::Slot(s)) {
                    candidates.push(schedule.slot_start);
                    candidates.push(schedule.tip_freeze);
                    candidates.extend(schedule.chunks.iter().map(|c| c.close));
                    candidates.extend(schedule.chunks.first().map(|c| c.start));
                }
            }
        } else {
            candidates.push(self.timetable.genesis());
            candidates.push(self.genesis_record_time());
        }
        candidates.extend(self.lease_deadlines());
        candidates.extend(self.next_duties_retry());
        candidates.extend(self.next_report_retry());
        candidates.extend(self.rescue_due());
        candidates.into_iter().filter(|t| *t > now).min()
    }

    pub(crate) fn set_status(&mut self, hash: B256, status: TxStatus, out: &mut Vec<Output>) {
        // A transaction the pool let go may come back (sent again).
        if !self.tx_detail.is_empty() {
            self.tx_detail.remove(&hash);
        }
        if self.tx_status.insert(hash, status) != Some(status) && self.cfg.tx_status_events {
            out.push(Output::Event(Event::TxStatusChanged {
                hash,
                status,
                detail: None,
            }));
        }
    }

    /// The one way transactions enter: each is decoded if need be and
    /// admitted against one view of the state on the provisional tip.
    fn on_transactions(&mut self, txs: Vec<TxIn>, origin: TxOrigin, out: &mut Vec<Output>) {
        let fork = match self.chain.fork_at_tip() {
            Ok(f) => Some(f),
            Err(e) => {
                warn!(target: "chunkseq::protocol", count = txs.len(), "state unavailable for transactions: {e}");
                None
            }
        };
        // Executable transactions waiting, for the backlog check of users'
        // transactions: counted once per input, then kept up to date.
        let mut pending = (origin == TxOrigin::Rpc).then(|| self.pool.pending_size());
        for tx in txs {
            let hash = tx.hash();
            let admitted = match tx {
                TxIn::Recovered(tx) => self.admit_on(fork.as_ref(), tx, origin, &mut pending, out),
                TxIn::Raw(raw) => match hash.filter(|h| self.pool.contains(h)) {
                    Some(h) => Err(TxRefused::Pool(PoolError::AlreadyKnown(h))),
                    None => match recover(&raw, self.spec.chain_id) {
                        Ok(tx) => self.admit_on(fork.as_ref(), tx, origin, &mut pending, out),
                        Err(e) => Err(TxRefused::Pool(e)),
                    },
                },
            };
            if let Err(reason) = admitted {
                self.refused(hash, origin, reason, out);
            }
        }
    }

    /// Admits `tx` checked against `fork`, the state on the provisional tip;
    /// a transaction a user sent goes out on gossip.
    fn admit_on(
        &mut self,
        fork: Option<&Fork>,
        tx: RecoveredTx,
        origin: TxOrigin,
        pending: &mut Option<Backlog>,
        out: &mut Vec<Output>,
    ) -> Result<B256, TxRefused> {
        let Some(fork) = fork else {
            return Err(TxRefused::StateUnavailable(
                "the provisional tip's state could not be read".into(),
            ));
        };
        // Only executable transactions count: ones behind a nonce gap wait
        // for no block, and must not let anyone lock users out. One that
        // would wait behind a gap is taken only while everything pooled
        // stays under the limit, so filling gaps later cannot lift the
        // executable backlog past twice the limit. It is also taken only
        // while the executable backlog is under half the limit: near the
        // limit, the transaction that would fill its gap was most likely
        // refused and may be refused again on every retry, and what waits
        // behind it, acknowledged, would wait for as long.
        if let Some(waiting) = *pending {
            let limit = self.backlog_limit();
            let half = limit.halved();
            let would_wait = self
                .pool
                .would_wait(tx.sender(), tx.nonce(), &ForkAccounts(fork));
            let (counted, bound) = if !would_wait {
                (waiting, limit)
            } else if waiting.reaches(&half) {
                (waiting, half)
            } else {
                let pooled = Backlog {
                    count: self.pool.len(),
                    bytes: self.pool.bytes(),
                };
                (pooled, limit)
            };
            if counted.reaches(&bound) {
                return Err(TxRefused::Backlog {
                    pooled: counted.count,
                    bytes: counted.bytes,
                    limit: bound.count,
                    limit_bytes: bound.bytes,
                });
            }
            if !would_wait {
                *pending = Some(waiting.plus(tx.encoded().len()));
            }
        }
        self.work.signatures = self.work.signatures.saturating_add(1);
        let raw = (origin == TxOrigin::Rpc).then(|| tx.encoded().clone());
        let hash = match origin {
            TxOrigin::Gossip => self.pool.add_from_peer(tx, &ForkAccounts(fork))?,
            TxOrigin::Rpc => self.pool.add(tx, &ForkAccounts(fork))?,
        };
        self.set_status(hash, TxStatus::Pending, out);
        if let Some(raw) = raw {
            out.push(Output::Publish(Gossip::Tx(raw)));
        }
        Ok(hash)
    }

    /// Slots whose attestation jobs the core holds: a slot's job, with the
    /// blocks it re-executed, ends with the slot's checkpoint (or its
    /// blocks' reorg).
    pub fn attestation_job_slots(&self) -> impl Iterator<Item = u64> + '_ {
        self.jobs.keys().copied()
    }

    /// Slots whose proposals (with their transactions) the core holds: a
    /// slot's proposals are let go with its checkpoint.
    pub fn proposal_slots(&self) -> BTreeSet<u64> {
        self.bodies.values().map(|p| p.header.slot).collect()
    }

    /// The refusal users' transactions get now, before their senders are
    /// known: `Some` while the executable backlog is at its limit (see
    /// [`Self::backlog_limit`]), `None` while there is room.
    pub fn backlog(&self) -> Option<TxRefused> {
        let limit = self.backlog_limit();
        let waiting = self.pool.pending_size();
        waiting.reaches(&limit).then_some(TxRefused::Backlog {
            pooled: waiting.count,
            bytes: waiting.bytes,
            limit: limit.count,
            limit_bytes: limit.bytes,
        })
    }

    /// Executable pooled transactions, and their bytes, past which users'
    /// transactions are refused: [`CoreConfig::max_backlog_chunks`] chunks
    /// of work, where a chunk holds at most `block_max_txs` transactions
    /// and its share of the slot's data budget (the blobs' or calldata's
    /// bytes, scaled back by the expected compression).
    fn backlog_limit(&self) -> Backlog {
        let chunks = self.cfg.max_backlog_chunks.max(1);
        let count = u64::from(self.spec.block_max_txs).saturating_mul(chunks);
        let blob_bytes = (DATA_BYTES_PER_BLOB as u64)
            .saturating_mul(u64::from(self.spec.max_blobs_per_checkpoint));
        let data = match self.spec.data_mode {
            DataMode::Calldata => self.spec.max_calldata_bytes,
            DataMode::Blobs => blob_bytes,
            DataMode::Auto => blob_bytes.max(self.spec.max_calldata_bytes),
        };
        let raw = u128::from(data)
            .saturating_mul(1_000_000)
            .checked_div(u128::from(self.spec.fees.data_compression_ppm))
            .unwrap_or(u128::MAX);
        let bytes = raw
            .saturating_mul(u128::from(chunks))
            .checked_div(u128::from(self.spec.chunks_per_slot.max(1)))
            .unwrap_or(u128::MAX);
        Backlog {
            count: usize::try_from(count).unwrap_or(usize::MAX),
            bytes: usize::try_from(bytes).unwrap_or(usize::MAX),
        }
    }

    /// Reports a refused transaction; for gossip, says whether to forward
    /// the message and whether to hold it against the sender.
    pub(crate) fn refused(
        &mut self,
        hash: Option<B256>,
        origin: TxOrigin,
        reason: TxRefused,
        out: &mut Vec<Output>,
    ) {
        debug!(target: "chunkseq::protocol", ?hash, ?origin, "transaction refused: {reason}");
        if origin == TxOrigin::Gossip {
            let invalid = matches!(&reason, TxRefused::Pool(e) if e.is_invalid());
            let text = reason.to_string();
            out.push(if invalid {
                Output::Rejected {
                    topic: "tx",
                    reason: text,
                }
            } else {
                Output::Ignored {
                    topic: "tx",
                    reason: text,
                }
            });
        }
        out.push(Output::Event(Event::TransactionRefused {
            hash,
            origin,
            reason,
        }));
    }

    /// Gives transactions of dropped blocks back to the pool.
    pub(crate) fn return_to_pool(&mut self, txs: Vec<RecoveredTx>, out: &mut Vec<Output>) {
        let hashes: Vec<B256> = txs.iter().map(RecoveredTx::hash).collect();
        for h in &hashes {
            self.set_status(*h, TxStatus::Dropped, out);
        }
        let refused = match self.chain.fork_at_tip() {
            Ok(fork) => self.pool.reinsert(txs, &ForkAccounts(&fork)),
            Err(e) => {
                warn!(target: "chunkseq::protocol", "state unavailable to take back transactions: {e}");
                return;
            }
        };
        let refused: BTreeSet<B256> = refused.into_iter().map(|(h, _)| h).collect();
        for h in hashes {
            if !refused.contains(&h) {
                self.set_status(h, TxStatus::Pending, out);
            }
        }
    }

    fn on_evidence(&mut self, evidence: &chunkseq_primitives::Evidence, out: &mut Vec<Output>) {
        match evidence.offender(&self.domain) {
            Ok(_) => self.report_evidence(evidence.clone(), false, out),
            Err(e) => out.push(Output::Rejected {
                topic: "evidence",
                reason: e.to_string(),
            }),
        }
    }

    pub(crate) fn on_l1(&mut self, event: L1Event, out: &mut Vec<Output>) {
        match event {
            L1Event::Block(block) => {
                self.l1_head = Some(block);
                self.check_publish_windows(block, out);
                if let Some(final_block) = block.number.checked_sub(self.cfg.l1_finality_blocks) {
                    self.chain.finalize_up_to(final_block);
                }
            }
            L1Event::CheckpointAccepted {
                slot,
                header_hash,
                headers,
                bodies,
                data,
                proposer,
                rescuer,
                l1_block,
                l1_tx,
            } => {
                if let chunkseq_l1::CheckpointData::Blobs {
                    unavailable: Some(why),
                    ..
                } = &data
                {
                    warn!(target: "chunkseq::protocol", slot, "the checkpoint's blobs are unavailable: {why}");
                }
                self.on_checkpoint(
                    crate::follower::L1Checkpoint {
                        slot,
                        header_hash,
                        proposer,
                        rescuer,
                        headers,
                        bodies,
                        blob_hashes: match data {
                            chunkseq_l1::CheckpointData::Calldata => Vec::new(),
                            chunkseq_l1::CheckpointData::Blobs {
                                versioned_hashes, ..
                            } => versioned_hashes,
                        },
                        l1_block,
                        l1_tx,
                    },
                    out,
                )
            }
            L1Event::ValidatorSlashed {
                validator,
                offence,
                slot,
                ..
            } => {
                if let Some(known) = Offence::from_l1_code(offence) {
                    self.evidence.mark_slashed(validator, known, slot);
                    out.push(Output::Event(Event::OffenceSlashed {
                        validator,
                        offence: known,
                        slot,
                    }));
                } else {
                    warn!(target: "chunkseq::protocol", %validator, offence, slot, "L1 slashed for an offence code this node does not know");
                }
            }
            L1Event::Included { .. } | L1Event::Reorg { .. } | L1Event::Expired { .. } => {}
        }
    }

    /// Moves held messages forward once what they wait for has arrived.
    fn retry_held(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let proposals = std::mem::take(&mut self.held_proposals);
        for p in proposals {
            self.on_proposal(now, p, out);
        }
        loop {
            let (tip_slot, tip_index) = self.chain.tip_block().map_or((None, None), |b| {
                (Some(b.header.slot), Some(b.header.index))
            });
            let next = self
                .held_provisional
                .iter()
                .find(|((s, i), _)| match (tip_slot, tip_index) {
                    (Some(ts), Some(ti)) => {
                        (*s == ts && Some(*i) == ti.checked_add(1)) || (*s > ts && *i == 0)
                    }
                    _ => *i == 0,
                })
                .map(|(k, _)| *k);
            let Some(key) = next else { break };
            let Some(msg) = self.held_provisional.remove(&key) else {
                break;
            };
            let before = self.chain.tip();
            self.on_provisional(now, msg, out);
            if self.chain.tip() == before {
                break;
            }
        }
    }
}
