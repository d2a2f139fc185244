//! The follower, which every node runs: accepting provisional blocks,
//! applying L1 checkpoints, and dropping slots whose publish window closed
//! without one (docs/design.md section 6).

use alloy_primitives::{Address, B256, Bytes, keccak256};
use chunkseq_execution::{BlockContext, KnownTransactions, RecoveredTx, reexecute};
use chunkseq_l1::L1Block;
use chunkseq_primitives::{
    BlockHeader, BlockIndex, BlockNumber, CheckpointHeader, ProvisionalBlock,
    ProvisionalBlockMessage, Slot, UnixMillis, body::decode_body, crypto::SIGNATURE_LEN,
};
use tracing::{debug, info, warn};

use crate::{
    chain::{ChainBlock, CheckpointTip},
    core::Core,
    exec_cache::KnownSenders,
    fees::tip_percentiles,
    io::{BlockEntry, Event, Output, ReorgCause, TxStatus},
    verify,
};

/// Most provisional blocks held until they can be applied (their duties,
/// parent or proposal are still to come).
pub const MAX_HELD_PROVISIONAL: usize = 256;

impl Core {
    /// The block context a header claims, with the spec's limits.
    pub(crate) fn context_of(&self, header: &BlockHeader) -> BlockContext {
        BlockContext {
            number: BlockNumber(header.number),
            slot: Slot(header.slot),
            index: BlockIndex(header.index),
            parent_hash: header.parentHash,
            timestamp: UnixMillis(header.timestamp),
            coinbase: header.coinbase,
            gas_limit: self.spec.block_gas_limit,
            max_txs: self.spec.block_max_txs,
            chain_id: self.spec.chain_id,
            fees: self.spec.fees,
            data_price: header.dataPrice,
        }
    }

    /// A provisional block from gossip (or this node's own, as proposer).
    pub(crate) fn on_provisional(
        &mut self,
        now: UnixMillis,
        msg: ProvisionalBlockMessage,
        out: &mut Vec<Output>,
    ) {
        let slot = msg.header.slot;
        let index = msg.header.index;
        let hash = msg.header.hash();
        if self.chain.provisional().iter().any(|b| b.hash == hash)
            || slot < self.chain.checkpointed().slot
            || (slot == self.chain.checkpointed().slot && slot != 0)
        {
            return;
        }
        let Some(duties) = self.duties.get(&slot).cloned() else {
            // Held for its duties only if its slot is near and its index
            // exists: anything else could fill memory unchecked.
            let near = self
                .timetable
                .slot_at(now)
                .is_none_or(|s| slot <= s.0.saturating_add(2));
            if near && index < self.spec.chunks_per_slot {
                self.hold_provisional(msg, out);
            } else {
                out.push(Output::Ignored {
                    topic: "provisional",
                    reason: format!("slot {slot} index {index} is out of reach"),
                });
            }
            return;
        };
        match self.timetable.tip_freeze(Slot(slot)) {
            Ok(freeze) if now <= freeze => {}
            _ => {
                out.push(Output::Rejected {
                    topic: "provisional",
                    reason: format!("provisional block of slot {slot} after its tip freeze"),
                });
                return;
            }
        }
        match verify::provisional(self.sig_cache.as_deref(), &self.domain, &duties, &msg) {
            Ok(n) => self.work.signatures = self.work.signatures.saturating_add(n),
            Err(e) => {
                out.push(Output::Rejected {
                    topic: "provisional",
                    reason: e.to_string(),
                });
                return;
            }
        }
        // Kept against the slot's checkpoint on L1 (omission evidence).
        let statement =
            ProvisionalBlock::new(&msg.header, &msg.checkpointHeader, &msg.attestations);
        if let Some(candidate) =
            self.evidence
                .on_provisional(duties.proposer, statement, msg.proposerSignature.clone())
        {
            self.report_omission(&candidate, out);
        }
        // It must extend the provisional tip, with the right running header.
        let (tip_hash, _) = self.chain.tip();
        let expected_header = match self.chain.tip_block() {
            Some(tip) if tip.header.slot == slot => {
                if tip.header.index.checked_add(1) != Some(index) {
                    self.hold_provisional(msg, out);
                    return;
                }
                tip.checkpoint_header.extended(hash)
            }
            _ if index == 0 => {
                CheckpointHeader::empty(Slot(slot), self.chain.parent_checkpoint_hash())
                    .extended(hash)
            }
            _ => {
                self.hold_provisional(msg, out);
                return;
            }
        };
        if msg.header.parentHash != tip_hash {
            self.hold_provisional(msg, out);
            return;
        }
        if expected_header.as_ref() != Some(&msg.checkpointHeader) {
            out.push(Output::Rejected {
                topic: "provisional",
                reason: "the checkpoint header does not extend the slot's chain".into(),
            });
            return;
        }
        // The block's state: from this node's attestation job, or re-executed.
        let executed = self
            .jobs
            .get(&slot)
            .and_then(|job| job.executed_block(index, hash));
        let (transactions, (state, txs, receipts)) = match executed {
            Some(e) => e,
            None => {
                let Some(body) = self.bodies.get(&hash).map(|p| p.transactions.clone()) else {
                    // The proposal has not arrived yet.
                    self.hold_provisional(msg, out);
                    return;
                };
                let shared = self
                    .exec_cache
                    .as_ref()
                    .and_then(|c| c.get(msg.header.parentHash, hash));
                if let Some(executed) = shared {
                    self.work.gas = self.work.gas.saturating_add(msg.header.gasUsed);
                    (body, executed)
                } else {
                    let fork = match self.chain.fork_at_tip() {
                        Ok(f) => f,
                        Err(e) => {
                            warn!(target: "chunkseq::protocol", "state unavailable: {e}");
                            return;
                        }
                    };
                    match reexecute(
                        fork,
                        self.context_of(&msg.header),
                        &msg.header,
                        &body,
                        &self.known_senders(),
                    ) {
                        Ok(built) => {
                            self.work.gas = self.work.gas.saturating_add(built.header.gasUsed);
                            let txs = self.recovered(&body);
                            let receipts = std::sync::Arc::new(built.receipts);
                            if let Some(c) = &self.exec_cache {
                                c.insert(
                                    msg.header.parentHash,
                                    hash,
                                    (
                                        std::sync::Arc::clone(&built.state),
                                        txs.clone(),
                                        std::sync::Arc::clone(&receipts),
                                    ),
                                );
                            }
                            (body, (built.state, txs, receipts))
                        }
                        Err(e) => {
                            // Attested by a threshold yet invalid here: local
                            // trouble or a committee fault; never evidence.
                            warn!(target: "chunkseq::protocol", slot, index, "provisional block does not re-execute: {e}");
                            return;
                        }
                    }
                }
            }
        };
        self.accept_provisional(
            ChainBlock {
                header: msg.header,
                hash,
                transactions,
                txs,
                receipts,
                state,
                checkpoint_header: msg.checkpointHeader,
                data_hash: msg.dataHash,
                attestations: msg.attestations,
                proposer_signature: msg.proposerSignature,
            },
            out,
        );
    }

    /// Keeps the statuses of the last `keep_slots` checkpoints' transactions
    /// and forgets older ones (bounded memory; the node's index has them).
    fn forget_old_statuses(&mut self, checkpointed: Vec<B256>) {
        self.checkpointed_txs.push_back(checkpointed);
        let keep = usize::try_from(self.cfg.keep_slots).unwrap_or(usize::MAX);
        while self.checkpointed_txs.len() > keep {
            for h in self.checkpointed_txs.pop_front().unwrap_or_default() {
                if self.tx_status.get(&h) == Some(&TxStatus::Checkpointed) {
                    self.tx_status.remove(&h);
                }
            }
        }
    }

    /// Holds a provisional block that cannot be applied yet, up to
    /// [`MAX_HELD_PROVISIONAL`]; past that it is ignored (not forwarded).
    fn hold_provisional(&mut self, msg: ProvisionalBlockMessage, out: &mut Vec<Output>) {
        let key = (msg.header.slot, msg.header.index);
        if self.held_provisional.len() >= MAX_HELD_PROVISIONAL
            && !self.held_provisional.contains_key(&key)
        {
            out.push(Output::Ignored {
                topic: "provisional",
                reason: "too many provisional blocks waiting".into(),
            });
            return;
        }
        self.held_provisional.insert(key, msg);
    }

    /// Where this node finds senders it need not recover again.
    pub(crate) fn known_senders(&self) -> KnownSenders<'_> {
        KnownSenders {
            pool: &self.pool,
            cache: self.sig_cache.as_deref(),
        }
    }

    /// Transactions of a body with senders: from the pool or the shared
    /// cache when known, recovered otherwise (undecodable ones are skipped;
    /// re-execution already accepted the body).
    pub(crate) fn recovered(&self, body: &[Bytes]) -> Vec<RecoveredTx> {
        let known = self.known_senders();
        body.iter()
            .filter_map(|raw| {
                let hash = alloy_primitives::keccak256(raw);
                known.known(&hash).or_else(|| {
                    match &self.sig_cache {
                        Some(cache) => cache.transaction(hash, raw, self.spec.chain_id),
                        None => chunkseq_execution::pool::recover(raw, self.spec.chain_id),
                    }
                    .ok()
                })
            })
            .collect()
    }

    /// Appends a checked block to the provisional chain.
    pub(crate) fn accept_provisional(&mut self, block: ChainBlock, out: &mut Vec<Output>) {
        let included: Vec<_> = block.txs.iter().map(|t| (t.sender(), t.nonce())).collect();
        self.pool.remove_included(&included);
        let entry = self.entry_of(&block);
        let hashes = entry.txs.clone();
        out.push(Output::Event(Event::ProvisionalAccepted {
            slot: block.header.slot,
            index: block.header.index,
            number: block.header.number,
            hash: block.hash,
            block: Box::new(entry),
        }));
        debug!(target: "chunkseq::protocol", slot = block.header.slot, index = block.header.index, number = block.header.number, "provisional");
        self.chain.push(block);
        for h in hashes {
            self.set_status(h, TxStatus::Provisional, out);
        }
    }

    /// Drops provisional blocks from position `from` on, returns their
    /// transactions to the pool, and announces the reorg.
    pub(crate) fn drop_provisional(
        &mut self,
        from: usize,
        cause: ReorgCause,
        out: &mut Vec<Output>,
    ) {
        let dropped = self.chain.truncate(from);
        if dropped.is_empty() {
            return;
        }
        let mut slots: Vec<u64> = dropped.iter().map(|b| b.header.slot).collect();
        slots.dedup();
        let hashes: Vec<B256> = dropped.iter().map(|b| b.hash).collect();
        let txs: Vec<RecoveredTx> = dropped.into_iter().flat_map(|b| b.txs).collect();
        let dropped_txs: Vec<B256> = txs.iter().map(RecoveredTx::hash).collect();
        info!(target: "chunkseq::protocol", ?slots, blocks = hashes.len(), ?cause, "reorg: provisional blocks dropped");
        // A build on top of a dropped block cannot be checkpointed any more.
        if let Some(b) = &self.building
            && hashes.contains(&b.parent_hash)
        {
            let build = self.building.take();
            if let Some(build) = build {
                self.abandon_build(build, out);
            }
        }
        self.jobs.retain(|slot, _| !slots.contains(slot));
        self.return_to_pool(txs, out);
        out.push(Output::Event(Event::Reorg {
            cause,
            slots,
            dropped: hashes,
            dropped_txs,
            new_tip: self.chain.tip().0,
            new_tip_number: self.chain.tip().1,
        }));
    }

    /// Drops slots whose publish window and rescue window ended, as seen by
    /// L1 block time, with no checkpoint (the one-slot or, staggered,
    /// two-slot reorg), and blocks left beyond a rescue of their slot once no
    /// longer rescue can land.
    pub(crate) fn check_publish_windows(&mut self, block: L1Block, out: &mut Vec<Output>) {
        let Some(first) = self.chain.provisional().first() else {
            return;
        };
        let slot = first.header.slot;
        let Ok(schedule) = self.timetable.schedule(Slot(slot)) else {
            return;
        };
        if block.timestamp < schedule.rescue_end {
            return;
        }
        if slot == self.chain.checkpointed().slot && slot != 0 {
            info!(target: "chunkseq::protocol", slot, "rescue window closed: the blocks the rescue left out are dropped");
            self.drop_provisional(0, ReorgCause::CheckpointDiffers, out);
        } else {
            warn!(target: "chunkseq::protocol", slot, "publish and rescue windows closed without a checkpoint");
            self.drop_provisional(0, ReorgCause::MissedPublishWindow, out);
        }
    }

    /// A checkpoint accepted on L1: mark its blocks checkpointed, or move to
    /// L1's version of the chain. A rescue that extends the rescue this
    /// node applied for the same slot replaces it: its further blocks are
    /// applied on top.
    pub(crate) fn on_checkpoint(&mut self, cp: L1Checkpoint, out: &mut Vec<Output>) {
        let L1Checkpoint {
            slot,
            header_hash,
            proposer,
            rescuer,
            headers,
            bodies,
            blob_hashes,
            l1_block,
            l1_tx,
        } = cp;
        let checkpointed = self.chain.checkpointed();
        let extended_rescue = self
            .rescue
            .accepted
            .as_ref()
            .filter(|r| {
                rescuer.is_some()
                    && r.slot == slot
                    && checkpointed.slot == slot
                    && r.headers.len() < headers.len()
                    && headers.get(..r.headers.len()) == Some(r.headers.as_slice())
            })
            .map(|r| (r.parent_checkpoint, r.headers.len()));
        // The same checkpoint again (an L1 reorg re-included it, or catch-up
        // applied it already): nothing new.
        if extended_rescue.is_none() && slot <= checkpointed.slot && checkpointed.slot != 0 {
            return;
        }
        let (parent_checkpoint, skip) = extended_rescue.unwrap_or((checkpointed.header_hash, 0));
        // L1 accepts a checkpoint only on its tip, so one that does not
        // extend this node's checkpoint means this node missed one: it
        // changes nothing and the node catches up.
        let block_hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let extends = CheckpointHeader::covering(Slot(slot), parent_checkpoint, &block_hashes)
            .is_some_and(|h| h.hash() == header_hash);
        if !extends {
            warn!(target: "chunkseq::protocol", slot, ours = checkpointed.slot, "a checkpoint that does not extend this node's: catching up");
            out.push(Output::Event(Event::CheckpointNotApplied {
                slot,
                reason: "it does not extend this node's checkpoint".into(),
            }));
            self.fall_behind(slot, out);
            return;
        }
        // The proposer signed no checkpoint of a rescued slot: nothing is
        // omitted from one.
        if rescuer.is_none() {
            for candidate in self
                .evidence
                .on_checkpoint(slot, parent_checkpoint, &block_hashes)
            {
                self.report_omission(&candidate, out);
            }
        }
        let keep_from = slot.saturating_sub(self.cfg.keep_slots.saturating_mul(4));
        self.evidence.prune_below(keep_from);
        self.prune_messages(keep_from);
        // A checkpointed slot's blocks are final on L1's side: the
        // attestation jobs of it and earlier slots, with every block they
        // re-executed, are done, and so are their proposals' bodies (L1 and
        // the node's store hold them; only provisional blocks are served
        // from here).
        self.jobs.retain(|s, _| *s > slot);
        self.bodies.retain(|_, p| p.header.slot > slot);
        let new_headers = headers.get(skip..).unwrap_or_default();
        let new_hashes = block_hashes.get(skip..).unwrap_or_default();
        let new_bodies = if bodies.len() == headers.len() {
            bodies.get(skip..).unwrap_or_default()
        } else {
            &[]
        };
        let matching = self
            .chain
            .provisional()
            .iter()
            .zip(new_hashes)
            .take_while(|(b, h)| b.hash == **h)
            .count();
        let (last_hash, last_number) = headers
            .last()
            .map_or(self.chain.tip(), |h| (h.hash(), h.number));
        let tip = CheckpointTip {
            slot,
            header_hash,
            last_number,
            last_hash,
            l1_block,
        };
        // L1's blocks past the matching prefix are re-executed first, on
        // the prefix's state, committing nothing: a block that does not
        // apply leaves this node exactly as it was.
        let base = matching
            .checked_sub(1)
            .and_then(|i| self.chain.provisional().get(i))
            .map_or(checkpointed.last_hash, |b| b.hash);
        let applied = match self.execute_l1_blocks(base, new_headers, new_bodies, matching) {
            Ok(applied) => applied,
            Err(e) => {
                warn!(target: "chunkseq::protocol", slot, "cannot apply the checkpoint L1 accepted: {e}");
                out.push(Output::Event(Event::CheckpointNotApplied {
                    slot,
                    reason: e.to_string(),
                }));
                return;
            }
        };
        if matching < new_headers.len() {
            // L1 holds blocks this node does not: drop what differs.
            self.drop_provisional(matching, ReorgCause::CheckpointDiffers, out);
        }
        let mut entries: Vec<BlockEntry> = self
            .chain
            .provisional()
            .iter()
            .take(matching)
            .map(|b| self.entry_of(b))
            .collect();
        // The matching blocks and L1's others are committed, then the
        // checkpoint is recorded: a store failure in between leaves the
        // recorded tip where it was, and the node catches up.
        let committed = self.chain.commit_prefix(matching).and_then(|()| {
            for block in &applied {
                self.chain.commit_direct(&block.state, block.entry.hash)?;
            }
            Ok(())
        });
        if let Err(e) = committed {
            warn!(target: "chunkseq::protocol", slot, "committing the checkpoint failed: {e}");
            out.push(Output::Event(Event::CheckpointNotApplied {
                slot,
                reason: format!("state store: {e}"),
            }));
            self.fall_behind(slot, out);
            return;
        }
        for block in applied {
            self.pool.remove_included(&block.included);
            entries.push(block.entry);
        }
        self.chain.record_checkpoint(tip);
        if rescuer.is_some() {
            self.record_rescue(slot, parent_checkpoint, &headers, &bodies);
            info!(target: "chunkseq::protocol", slot, blocks = headers.len(), ?rescuer, "slot rescued");
        } else {
            self.rescue.accepted = None;
        }
        // Blocks of this slot beyond the checkpoint were left out of it; a
        // rescue's stay until its window closes, for a longer rescue.
        if rescuer.is_none()
            && let Some(pos) = self
                .chain
                .provisional()
                .iter()
                .position(|b| b.header.slot <= slot)
        {
            self.drop_provisional(pos, ReorgCause::CheckpointDiffers, out);
        }
        let all_txs: Vec<B256> = entries.iter().flat_map(|e| e.txs.iter().copied()).collect();
        for &h in &all_txs {
            self.set_status(h, TxStatus::Checkpointed, out);
        }
        self.forget_old_statuses(all_txs);
        for b in self.building.iter_mut().chain(self.publishing.iter_mut()) {
            if b.slot == slot {
                b.accepted = true;
            }
        }
        out.push(Output::Event(Event::CheckpointAccepted {
            slot,
            header_hash,
            proposer,
            rescuer,
            blocks: entries,
            headers,
            bodies,
            blob_hashes,
            last_number,
            l1_block,
            l1_tx,
        }));
    }

    /// What an index records of a provisional block.
    fn entry_of(&self, b: &ChainBlock) -> BlockEntry {
        BlockEntry {
            header: b.header.clone(),
            hash: b.hash,
            txs: b.txs.iter().map(RecoveredTx::hash).collect(),
            transactions: b.transactions.clone(),
            senders: b.txs.iter().map(RecoveredTx::sender).collect(),
            receipts: std::sync::Arc::clone(&b.receipts),
            attestations: b.attestations.len() / SIGNATURE_LEN,
            threshold: self.threshold_of(b.header.slot),
            tip_percentiles: tip_percentiles(&b.txs, b.header.baseFee),
        }
    }

    /// Attestations the blocks of `slot` need (0 when its duties are unknown).
    fn threshold_of(&self, slot: u64) -> usize {
        self.duties
            .get(&slot)
            .map_or(0, crate::io::Duties::threshold)
    }

    /// Forgets proposals and held provisional blocks of slots before
    /// `slot` (bounded memory; their slots are checkpointed).
    fn prune_messages(&mut self, slot: u64) {
        self.bodies.retain(|_, p| p.header.slot >= slot);
        self.held_provisional.retain(|(s, _), _| *s >= slot);
    }

    /// Re-executes L1's blocks `headers[skip..]` from their bodies, each on
    /// the one before, starting on block `base` (the checkpointed tip or a
    /// provisional block); commits nothing. Returns each block's state and
    /// entry.
    fn execute_l1_blocks(
        &mut self,
        base: B256,
        headers: &[BlockHeader],
        bodies: &[Bytes],
        skip: usize,
    ) -> Result<Vec<ExecutedL1Block>, ApplyError> {
        let mut applied: Vec<ExecutedL1Block> = Vec::new();
        if skip < headers.len() && bodies.len() != headers.len() {
            return Err(ApplyError::MissingBodies {
                headers: headers.len(),
                bodies: bodies.len(),
            });
        }
        for (header, body) in headers.iter().zip(bodies).skip(skip) {
            let fork = match applied.last() {
                Some(b) => self.chain.db().fork_on(&b.state, b.entry.hash)?,
                None => self
                    .chain
                    .fork_on(base)?
                    .ok_or(ApplyError::UnknownParent(base))?,
            };
            // L1 checked the body against its header; a peer's answer may
            // not have been, and this is cheaper than executing it.
            if keccak256(body) != header.bodyHash {
                return Err(ApplyError::WrongBody(header.index));
            }
            let transactions = decode_body(body)?;
            let built = reexecute(
                fork,
                self.context_of(header),
                header,
                &transactions,
                &self.known_senders(),
            )?;
            self.work.gas = self.work.gas.saturating_add(built.header.gasUsed);
            let txs = self.recovered(&transactions);
            applied.push(ExecutedL1Block {
                entry: BlockEntry {
                    header: header.clone(),
                    hash: built.hash(),
                    txs: txs.iter().map(RecoveredTx::hash).collect(),
                    transactions,
                    senders: txs.iter().map(RecoveredTx::sender).collect(),
                    receipts: std::sync::Arc::new(built.receipts),
                    attestations: 0,
                    threshold: self.threshold_of(header.slot),
                    tip_percentiles: tip_percentiles(&txs, header.baseFee),
                },
                included: txs.iter().map(|t| (t.sender(), t.nonce())).collect(),
                state: built.state,
            });
        }
        Ok(applied)
    }
}

/// A block of an L1 checkpoint, re-executed and not yet committed.
struct ExecutedL1Block {
    entry: BlockEntry,
    /// Its transactions' (sender, nonce), to clear from the pool.
    included: Vec<(Address, u64)>,
    state: std::sync::Arc<chunkseq_state::SealedState>,
}

/// A checkpoint L1 accepted, as the follower applies it.
#[derive(Debug)]
pub(crate) struct L1Checkpoint {
    pub(crate) slot: u64,
    pub(crate) header_hash: B256,
    pub(crate) proposer: Address,
    /// Who rescued it, if its proposer did not publish it.
    pub(crate) rescuer: Option<Address>,
    pub(crate) headers: Vec<BlockHeader>,
    pub(crate) bodies: Vec<Bytes>,
    /// The blobs' versioned hashes when the data came in blobs.
    pub(crate) blob_hashes: Vec<B256>,
    pub(crate) l1_block: u64,
    pub(crate) l1_tx: B256,
}

/// Why a block of an L1 checkpoint could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Its body does not decode.
    #[error("body: {0}")]
    Body(#[from] chunkseq_primitives::DecodeError),
    /// The state store failed.
    #[error("state: {0}")]
    State(#[from] chunkseq_state::StateError),
    /// It does not re-execute to its header.
    #[error("re-execution: {0}")]
    Reexecute(#[from] chunkseq_execution::ReexecError),
    /// The block it builds on is neither the checkpointed tip nor provisional.
    #[error("unknown parent block {0}")]
    UnknownParent(B256),
    /// The body of the block at this index does not hash to its header's
    /// `bodyHash`.
    #[error("the body of block {0} does not match its header")]
    WrongBody(u32),
    /// The checkpoint came without the bodies this node needs (its blobs
    /// could not be fetched or did not match).
    #[error("{bodies} bodies for {headers} blocks: the checkpoint's data is unavailable")]
    MissingBodies {
        /// Blocks in the checkpoint.
        headers: usize,
        /// Bodies that came with it.
        bodies: usize,
    },
}
