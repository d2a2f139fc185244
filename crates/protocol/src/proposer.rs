//! The proposer: builds its slot's blocks chunk by chunk, sends proposal k+1
//! only once block k is attested (with provisional k), cuts the slot when
//! attestations time out, and publishes the checkpoint (docs/design.md section 3).

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
};

use alloy_primitives::{Address, B256, Bytes, map::AddressMap};
use chunkseq_execution::{AddTxError, BlockBuilder, BlockContext, BuiltBlock, RecoveredTx};
use chunkseq_l1::RollupCall;
use chunkseq_primitives::{
    AttestationMessage, BlockHeader, BlockIndex, BlockNumber, ChainSpec, Checkpoint,
    CheckpointHeader, ProposalMessage, ProvisionalBlock, ProvisionalBlockMessage, SignRequest,
    SignedStatement, SignerError, Slot, Timetable, UnixMillis, body::encode_body,
};
use chunkseq_state::SealedState;
use tracing::{debug, info, warn};

use crate::{
    chain::ChainBlock,
    core::Core,
    io::{Duties, Event, Gossip, Output, TxStatus},
    slot_data::{SlotData, calldata_floor_gas, calldata_is_cheaper},
    standby::LeaseAnswer,
};

/// A sealed block of the slot being built.
#[derive(Debug)]
pub(crate) struct SlotBlock {
    header: BlockHeader,
    hash: B256,
    transactions: Vec<Bytes>,
    txs: Vec<RecoveredTx>,
    receipts: crate::io::Receipts,
    state: Arc<SealedState>,
    /// The slot's data up to and including this block.
    data: Arc<SlotData>,
    proposal_signature: Bytes,
    proposed_at: Option<UnixMillis>,
    attestations: BTreeMap<Address, Bytes>,
    /// Attestations that came before this node committed the block's data:
    /// (attester, data hash, signature), counted once the data hash is known.
    early_attestations: Vec<(Address, B256, Bytes)>,
    /// Set once provisional: the running header and this node's signature.
    provisional: Option<ProvisionalBlockMessage>,
    provisional_sent: bool,
}

impl SlotBlock {
    /// A block of the slot that is provisional already (a build taken over
    /// from the partner node of a validator pair).
    pub(crate) fn provisional(
        block: ChainBlock,
        data: Arc<SlotData>,
        proposal_signature: Bytes,
        proposed_at: UnixMillis,
    ) -> Self {
        let provisional = ProvisionalBlockMessage {
            header: block.header.clone(),
            checkpointHeader: block.checkpoint_header,
            dataHash: block.data_hash,
            attestations: block.attestations,
            proposerSignature: block.proposer_signature,
        };
        Self {
            header: block.header,
            hash: block.hash,
            transactions: block.transactions,
            txs: block.txs,
            receipts: block.receipts,
            state: block.state,
            data,
            proposal_signature,
            proposed_at: Some(proposed_at),
            attestations: BTreeMap::new(),
            early_attestations: Vec::new(),
            provisional: Some(provisional),
            provisional_sent: true,
        }
    }

    /// A block proposed already (by the partner node of a validator pair)
    /// that waits for its attestations; `data` is not committed yet.
    pub(crate) fn in_flight(
        built: BuiltBlock,
        txs: Vec<RecoveredTx>,
        data: Arc<SlotData>,
        proposal_signature: Bytes,
        proposed_at: UnixMillis,
        early_attestations: Vec<(Address, B256, Bytes)>,
    ) -> Self {
        Self {
            hash: built.hash(),
            header: built.header,
            transactions: built.transactions,
            txs,
            receipts: Arc::new(built.receipts),
            state: built.state,
            data,
            proposal_signature,
            proposed_at: Some(proposed_at),
            attestations: BTreeMap::new(),
            early_attestations,
            provisional: None,
            provisional_sent: false,
        }
    }

    /// The block hash.
    pub(crate) const fn hash(&self) -> B256 {
        self.hash
    }

    /// The slot's data up to and including this block.
    pub(crate) const fn data(&self) -> &Arc<SlotData> {
        &self.data
    }
}

/// The slot this node is building as proposer.
pub(crate) struct SlotBuild {
    pub(crate) slot: u64,
    pub(crate) parent_hash: B256,
    pub(crate) accepted: bool,
    duties: Duties,
    parent_number: u64,
    parent_checkpoint: B256,
    /// The chunk the open block closes with.
    chunk: u32,
    builder: Option<BlockBuilder>,
    builder_txs: Vec<RecoveredTx>,
    /// Per sender, the nonce after the last one the open block took
    /// (`u64::MAX` once one of its transactions failed there).
    builder_next: AddressMap<u64>,
    /// Set when the next transaction in order no longer fits the slot's
    /// byte budget: later fills of this slot are skipped.
    slot_full: bool,
    /// The slot's data through its sealed blocks.
    data: Arc<SlotData>,
    /// What the open block's transactions take of the budget, in the unit
    /// of [`SlotData::room`].
    open_bytes: u64,
    blocks: Vec<SlotBlock>,
    done_building: bool,
    submitted_at: Option<UnixMillis>,
    checkpoint_call: Option<RollupCall>,
    /// When this node last took or renewed the slot's build lease.
    pub(crate) lease_renewed_at: UnixMillis,
    /// Set when the partner node of a validator pair took the slot over
    /// (its lease, or a signature it recorded first): this node stops.
    pub(crate) lost: bool,
}

impl std::fmt::Debug for SlotBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotBuild")
            .field("slot", &self.slot)
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

impl SlotBuild {
    /// A build of slot `slot` on `parent` (hash, number, checkpoint header
    /// hash), with `blocks` of it already sealed: empty for a fresh slot,
    /// the partner's blocks for one taken over.
    pub(crate) fn new(
        slot: u64,
        duties: Duties,
        parent: (B256, u64, B256),
        data: Arc<SlotData>,
        blocks: Vec<SlotBlock>,
        now: UnixMillis,
    ) -> Self {
        let (parent_hash, parent_number, parent_checkpoint) = parent;
        Self {
            slot,
            parent_hash,
            accepted: false,
            duties,
            parent_number,
            parent_checkpoint,
            chunk: 0,
            builder: None,
            builder_txs: Vec::new(),
            builder_next: AddressMap::default(),
            slot_full: false,
            data,
            open_bytes: 0,
            blocks,
            done_building: false,
            submitted_at: None,
            checkpoint_call: None,
            lease_renewed_at: now,
            lost: false,
        }
    }

    /// Resumes building in `chunk` (the current one), or a later chunk
    /// whose close comes after the last sealed block's timestamp.
    pub(crate) fn resume_at_chunk(&mut self, timetable: &Timetable, spec: &ChainSpec, chunk: u32) {
        let after = self.blocks.last().map_or(0, |b| b.header.timestamp);
        let mut chunk = chunk.max(u32::try_from(self.blocks.len()).unwrap_or(u32::MAX));
        while timetable
            .chunk(Slot(self.slot), BlockIndex(chunk))
            .is_ok_and(|c| c.close.0 <= after)
        {
            chunk = chunk.saturating_add(1);
        }
        self.chunk = chunk;
        if chunk >= spec.chunks_per_slot || self.blocks.len() >= spec.chunks_per_slot as usize {
            self.done_building = true;
        }
    }

    /// Builds no more blocks: only the checkpoint remains.
    pub(crate) fn stop_building(&mut self) {
        self.done_building = true;
        self.builder = None;
    }

    /// Whether the build only publishes now.
    pub(crate) const fn is_done_building(&self) -> bool {
        self.done_building
    }

    /// How many of the slot's blocks are provisional.
    pub(crate) fn provisional_count(&self) -> usize {
        self.blocks
            .iter()
            .take_while(|b| b.provisional.is_some())
            .count()
    }

    /// The moments this build next needs attention.
    pub(crate) fn deadlines(&self, timetable: &Timetable, spec: &ChainSpec) -> Vec<UnixMillis> {
        let mut out = Vec::new();
        if let Ok(c) = timetable.chunk(Slot(self.slot), BlockIndex(self.chunk)) {
            out.push(c.close);
        }
        for b in &self.blocks {
            if let (Some(at), None) = (b.proposed_at, &b.provisional) {
                out.extend(at.checked_add_ms(spec.attestation_timeout_ms));
            }
        }
        if let Ok(s) = timetable.schedule(Slot(self.slot)) {
            out.push(s.attestation_deadline);
            out.push(s.l1_inclusion_start);
            out.push(s.publish_start);
        }
        if let Some(at) = self.submitted_at {
            let again = spec.l1_block_time_ms.saturating_mul(2).max(4_000);
            out.extend(at.checked_add_ms(again));
        }
        out
    }

    fn threshold(&self) -> usize {
        self.duties.threshold()
    }

    /// Whether a sealed block still waits for its data commitments.
    pub(crate) fn has_uncommitted(&self) -> bool {
        self.blocks.iter().any(|b| !b.data.is_committed())
    }
}

impl Core {
    /// Starts, advances and finishes this node's build; submits the checkpoint.
    pub(crate) fn proposer_poll(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        self.standby_poll(now, out);
        self.maybe_start_build(now, out);
        for mut build in std::mem::take(&mut self.publishing) {
            self.renew_leases(now, &mut build);
            self.maybe_submit_checkpoint(now, &mut build, out);
            if build.lost {
                self.give_up(now, build, out);
            } else if self.still_publishing(now, &build) {
                self.publishing.push(build);
            }
        }
        let Some(mut build) = self.building.take() else {
            return;
        };
        self.renew_leases(now, &mut build);
        if !build.lost {
            self.commit_sealed(now, &mut build, out);
            self.fill(&mut build);
            self.seal_due(now, &mut build, out);
            self.try_propose(now, &mut build, out);
            self.apply_own_provisional(&build, out);
            self.cut_timed_out(now, &mut build, out);
            self.maybe_submit_checkpoint(now, &mut build, out);
        }
        if build.lost {
            self.give_up(now, build, out);
        } else if self.still_publishing(now, &build) {
            self.building = Some(build);
        }
    }

    /// Hands a build the partner node took over back: the blocks that are
    /// not provisional and the open block's transactions return to the
    /// pool, and this node stands by for the slot.
    fn give_up(&mut self, now: UnixMillis, mut build: SlotBuild, out: &mut Vec<Output>) {
        let keep = build.provisional_count();
        let txs: Vec<RecoveredTx> = build
            .blocks
            .split_off(keep.min(build.blocks.len()))
            .into_iter()
            .flat_map(|b| b.txs)
            .chain(std::mem::take(&mut build.builder_txs))
            .collect();
        self.return_to_pool(txs, out);
        let holder = match self.ask_lease(now, build.slot, keep) {
            LeaseAnswer::Partner(holder) => holder,
            _ => "the partner".to_owned(),
        };
        self.stand_by(now, build.slot, holder);
    }

    /// Notes a refused signature: a conflict means the partner node of a
    /// validator pair signed this duty first and the slot is its now.
    fn signing_refused(
        build: &mut SlotBuild,
        what: &'static str,
        e: &SignerError,
        out: &mut Vec<Output>,
    ) {
        if matches!(e, SignerError::Conflict { .. }) {
            warn!(target: "chunkseq::protocol", slot = build.slot, what, "the partner signed this duty first: giving the slot up");
            build.lost = true;
        } else {
            warn!(target: "chunkseq::protocol", slot = build.slot, what, "not signed: {e}");
        }
        out.push(Output::Event(Event::SigningRefused {
            what,
            reason: e.to_string(),
        }));
    }

    /// Whether building `slot` now would stack a third unsettled slot.
    /// Staggered, slot s + 2 builds on slot s + 1, which builds on slot s.
    /// Until L1 settles slot s (checkpointed, or dropped once an L1 block
    /// past its inclusion window arrives), wait: building on it would let
    /// a missed publish of slot s retract three slots instead of two.
    pub(crate) fn would_outrun_l1(&self, slot: u64) -> bool {
        self.timetable.staggered()
            && self
                .chain
                .provisional()
                .first()
                .is_some_and(|b| b.header.slot.saturating_add(2) <= slot)
    }

    /// How long a checkpoint may take to land before it is sent again: the
    /// configured time, and at least two L1 blocks.
    pub(crate) fn resubmit_after_ms(&self) -> u64 {
        self.cfg
            .resubmit_after_ms
            .max(self.spec.l1_block_time_ms.saturating_mul(2))
    }

    /// L1 refused this node's checkpoint before it was sent (its check of
    /// the call against the pending block failed, as it does for a call
    /// sent a moment before the block that allows it, e.g. the end of the
    /// previous slot's rescue window): it is sent again one L1 block later
    /// rather than after the full resubmission time.
    pub(crate) fn checkpoint_refused(&mut self, now: UnixMillis) {
        let wait = self.resubmit_after_ms();
        let back = wait.saturating_sub(self.spec.l1_block_time_ms);
        for b in self.building.iter_mut().chain(self.publishing.iter_mut()) {
            if !b.accepted && b.submitted_at.is_some() {
                b.submitted_at = now.checked_sub_ms(back).or(Some(now));
            }
        }
    }

    /// Whether a build's checkpoint may still land.
    fn still_publishing(&self, now: UnixMillis, build: &SlotBuild) -> bool {
        !build.accepted
            && self
                .timetable
                .schedule(Slot(build.slot))
                .is_ok_and(|s| now < s.l1_inclusion_end)
    }

    fn maybe_start_build(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let Some(me) = self.me() else { return };
        let Some((slot, chunk)) = self.timetable.building_at(now) else {
            return;
        };
        if self.building.as_ref().is_some_and(|b| b.slot >= slot.0) {
            return;
        }
        let Some(duties) = self.duties.get(&slot.0).cloned() else {
            return;
        };
        if duties.proposer != me {
            return;
        }
        if self.would_outrun_l1(slot.0) {
            return;
        }
        if self.standby.contains_key(&slot.0) {
            return;
        }
        // Of a validator pair, the node that takes the lease builds; the
        // other stands by (and so does a node whose store cannot answer,
        // asking again every half lease rather than on every input).
        match self.ask_lease(now, slot.0, 0) {
            LeaseAnswer::Held => {}
            LeaseAnswer::Partner(holder) => {
                self.stand_by(now, slot.0, holder);
                return;
            }
            LeaseAnswer::Unknown => {
                self.stand_by(now, slot.0, "unknown (store unavailable)".to_owned());
                return;
            }
        }
        // Begun before this node restarted: continued, not begun again.
        if self.slot_begun(slot.0) {
            if !self.take_over(now, slot.0, "this node before a restart".to_owned(), out) {
                self.stand_by(now, slot.0, "nobody yet".to_owned());
            }
            return;
        }
        // The previous build only waits for its checkpoint now.
        if let Some(previous) = self.building.take() {
            self.publishing.push(previous);
        }
        // Build on the provisional tip, which is frozen by now.
        let (parent_hash, parent_number) = self.chain.tip();
        let parent_checkpoint = self.chain.parent_checkpoint_hash();
        info!(target: "chunkseq::protocol", slot = slot.0, chunk = chunk.0, parent_number, "building slot");
        let mut build = SlotBuild::new(
            slot.0,
            duties,
            (parent_hash, parent_number, parent_checkpoint),
            Arc::new(SlotData::new(&self.spec)),
            Vec::new(),
            now,
        );
        build.chunk = chunk.0;
        self.open_block(&mut build, out);
        self.building = Some(build);
    }

    /// Opens the next block of the build, closing with its current chunk.
    pub(crate) fn open_block(&mut self, build: &mut SlotBuild, out: &mut Vec<Output>) {
        let Ok(chunk) = self
            .timetable
            .chunk(Slot(build.slot), BlockIndex(build.chunk))
        else {
            build.done_building = true;
            return;
        };
        let (parent_hash, parent_number, fork) = match build.blocks.last() {
            Some(b) => (
                b.hash,
                b.header.number,
                self.chain.db().fork_on(&b.state, b.hash),
            ),
            None => (
                build.parent_hash,
                build.parent_number,
                self.chain.fork_on(build.parent_hash).and_then(|f| {
                    f.ok_or(chunkseq_state::StateError::Corrupt("parent gone".into()))
                }),
            ),
        };
        let Ok(fork) = fork else {
            warn!(target: "chunkseq::protocol", slot = build.slot, error = %fork.err().map(|e| e.to_string()).unwrap_or_default(), "cannot fork the parent state: abandoning the build");
            build.done_building = true;
            return;
        };
        let Some(me) = self.me() else { return };
        let index = u32::try_from(build.blocks.len()).unwrap_or(u32::MAX);
        let ctx = BlockContext {
            number: BlockNumber(parent_number.saturating_add(1)),
            slot: Slot(build.slot),
            index: BlockIndex(index),
            parent_hash,
            timestamp: chunk.close,
            coinbase: me,
            gas_limit: self.spec.block_gas_limit,
            max_txs: self.spec.block_max_txs,
            chain_id: self.spec.chain_id,
            fees: self.spec.fees,
            data_price: self.data_price(),
        };
        match BlockBuilder::new(fork, ctx) {
            Ok(b) => {
                out.push(Output::Event(Event::BlockOpened {
                    slot: build.slot,
                    index,
                    parent: parent_hash,
                }));
                build.builder = Some(b);
                build.builder_txs.clear();
                build.builder_next.clear();
                build.open_bytes = 0;
            }
            Err(e) => {
                warn!(target: "chunkseq::protocol", "cannot open a block: {e}");
                build.done_building = true;
            }
        }
    }

    /// Adds pool transactions to the open block until it is full, or the
    /// slot's data would probably grow past its budget (the exact check
    /// comes when the block is sealed).
    pub(crate) fn fill(&mut self, build: &mut SlotBuild) {
        let Some(builder) = build.builder.as_mut() else {
            return;
        };
        // Nothing to do once the block or the slot is full (this runs on
        // every input, so it must be cheap then).
        let room_txs = (self.spec.block_max_txs as usize).saturating_sub(builder.tx_count());
        let room = build.data.room();
        if build.slot_full || builder.is_full() || room_txs == 0 || build.open_bytes >= room {
            return;
        }
        let candidates: Vec<RecoveredTx> = self
            .pool
            .best_after(&build.builder_next)
            .take(room_txs)
            .cloned()
            .collect();
        for tx in candidates {
            if builder.is_full() {
                break;
            }
            let size = build.data.tx_cost(tx.encoded().len());
            if build.open_bytes.saturating_add(size) > room {
                build.slot_full = true;
                break;
            }
            match builder.add_tx(&tx) {
                Ok(outcome) => {
                    build.open_bytes = build.open_bytes.saturating_add(size);
                    self.work.gas = self.work.gas.saturating_add(outcome.gas_used);
                    build
                        .builder_next
                        .insert(tx.sender(), tx.nonce().saturating_add(1));
                    build.builder_txs.push(tx);
                }
                Err(AddTxError::TooManyTxs(_)) => break,
                Err(e) => {
                    debug!(target: "chunkseq::protocol", hash = %tx.hash(), "not included: {e}");
                    // Not retried in this block, nor its sender's later
                    // nonces, which cannot execute without it.
                    build.builder_next.insert(tx.sender(), u64::MAX);
                }
            }
        }
    }

    /// Seals the open block when its chunk closes.
    fn seal_due(&mut self, now: UnixMillis, build: &mut SlotBuild, out: &mut Vec<Output>) {
        while !build.done_building {
            let Ok(chunk) = self
                .timetable
                .chunk(Slot(build.slot), BlockIndex(build.chunk))
            else {
                build.done_building = true;
                return;
            };
            if now < chunk.close {
                return;
            }
            let last_chunk = build.chunk.saturating_add(1) >= self.spec.chunks_per_slot;
            let empty = build.builder_txs.is_empty();
            let Some(builder) = build.builder.take() else {
                build.done_building = true;
                return;
            };
            // Block 0 is always produced; later blocks only with transactions.
            if empty && !build.blocks.is_empty() {
                build.chunk = build.chunk.saturating_add(1);
                if last_chunk {
                    build.done_building = true;
                    return;
                }
                self.open_block(build, out);
                self.fill(build);
                continue;
            }
            debug!(
                target: "chunkseq::protocol",
                slot = build.slot,
                chunk = build.chunk,
                txs = builder.tx_count(),
                pooled = self.pool.len(),
                slot_full = build.slot_full,
                room = build.data.room(),
                "sealing"
            );
            let built = builder.seal();
            let hash = built.hash();
            let Some(signer) = self.signer.clone() else {
                return;
            };
            // The exact budget check. The block's commitments (its data
            // hash) come on the next input, after its proposal is out.
            let data = match build.data.appended(&built.transactions) {
                Ok(d) => Arc::new(d),
                Err(e) => {
                    warn!(target: "chunkseq::protocol", slot = build.slot, index = built.header.index, "block left out: {e}");
                    build.done_building = true;
                    let txs = std::mem::take(&mut build.builder_txs);
                    self.return_to_pool(txs, out);
                    return;
                }
            };
            let proposal = built.header.proposal();
            let proposal_signature = match signer.sign(&SignRequest::new(&self.domain, &proposal)) {
                Ok(s) => Bytes::from(s.to_vec()),
                Err(e) => {
                    Self::signing_refused(build, "proposal", &e, out);
                    build.done_building = true;
                    return;
                }
            };
            self.work.signed = self.work.signed.saturating_add(1);
            let txs = std::mem::take(&mut build.builder_txs);
            let included: Vec<_> = txs.iter().map(|t| (t.sender(), t.nonce())).collect();
            self.pool.remove_included(&included);
            for t in &txs {
                self.set_status(t.hash(), TxStatus::Proposed, out);
            }
            out.push(Output::Event(Event::BlockBuilt {
                slot: build.slot,
                index: built.header.index,
                number: built.header.number,
                hash,
                txs: txs.len(),
                gas_used: built.header.gasUsed,
            }));
            build.blocks.push(SlotBlock {
                header: built.header,
                hash,
                transactions: built.transactions,
                txs,
                receipts: Arc::new(built.receipts),
                state: built.state,
                data: Arc::clone(&data),
                proposal_signature,
                proposed_at: None,
                attestations: BTreeMap::new(),
                early_attestations: Vec::new(),
                provisional: None,
                provisional_sent: false,
            });
            build.data = data;
            self.check_attested(now, build, build.blocks.len().saturating_sub(1));
            build.chunk = build.chunk.saturating_add(1);
            if last_chunk || build.blocks.len() >= self.spec.chunks_per_slot as usize {
                build.done_building = true;
                return;
            }
            self.open_block(build, out);
            self.fill(build);
        }
    }

    /// Computes the data commitments of blocks sealed on an earlier input
    /// (their proposals may be out already), then signs this node's own
    /// attestation and counts the attestations that came first.
    fn commit_sealed(&mut self, now: UnixMillis, build: &mut SlotBuild, out: &mut Vec<Output>) {
        let Some(signer) = self.signer.clone() else {
            return;
        };
        let member = build.duties.is_member(&signer.address());
        for i in 0..build.blocks.len() {
            let Some(b) = build.blocks.get_mut(i) else {
                break;
            };
            if b.data.is_committed() {
                continue;
            }
            let data = match b.data.as_ref().clone().commit(&mut self.versioned_hashes) {
                Ok(d) => Arc::new(d),
                Err(e) => {
                    warn!(target: "chunkseq::protocol", slot = build.slot, index = i, "block left out: {e}");
                    self.drop_blocks_from(build, i, out);
                    return;
                }
            };
            if let Some(c) = &self.exec_cache {
                c.insert_slot_data(b.hash, Arc::clone(&data));
            }
            self.work.add_commitments(data.touched());
            let data_hash = data.data_hash();
            b.data = data;
            if member
                && let Ok(s) = signer.sign(&SignRequest::new(
                    &self.domain,
                    &b.header.attestation(data_hash),
                ))
            {
                self.work.signed = self.work.signed.saturating_add(1);
                b.attestations
                    .insert(signer.address(), Bytes::from(s.to_vec()));
            }
            for (attester, hash, sig) in std::mem::take(&mut b.early_attestations) {
                if hash == data_hash {
                    b.attestations.entry(attester).or_insert(sig);
                }
            }
            self.check_attested(now, build, i);
        }
    }

    /// Sends proposals whose predecessor is provisional, each preceded by
    /// that predecessor's provisional block.
    fn try_propose(&mut self, now: UnixMillis, build: &mut SlotBuild, out: &mut Vec<Output>) {
        while let Some(i) = build.blocks.iter().position(|b| b.proposed_at.is_none()) {
            if let Some(prev) = i.checked_sub(1).and_then(|p| build.blocks.get(p))
                && prev.provisional.is_none()
            {
                break;
            }
            self.send_provisional(build, i.checked_sub(1), out);
            let Some(b) = build.blocks.get_mut(i) else {
                break;
            };
            b.proposed_at = Some(now);
            let proposal = ProposalMessage {
                header: b.header.clone(),
                transactions: b.transactions.clone(),
                signature: b.proposal_signature.clone(),
            };
            // Kept like a peer's, for peers that catch up.
            self.bodies.insert(b.hash, proposal.clone());
            out.push(Output::Publish(Gossip::Proposal(proposal)));
            out.push(Output::Event(Event::ProposalSent {
                slot: build.slot,
                index: b.header.index,
                hash: b.hash,
            }));
            // A one-member committee attests on its own.
            self.check_attested(now, build, i);
        }
        // The last provisional block goes out on its own.
        if let Some(i) = build.blocks.iter().rposition(|b| b.provisional.is_some()) {
            self.send_provisional(build, Some(i), out);
        }
    }

    fn send_provisional(&mut self, build: &mut SlotBuild, i: Option<usize>, out: &mut Vec<Output>) {
        let Some(b) = i.and_then(|i| build.blocks.get_mut(i)) else {
            return;
        };
        if b.provisional_sent {
            return;
        }
        if let Some(p) = &b.provisional {
            b.provisional_sent = true;
            out.push(Output::Publish(Gossip::Provisional(p.clone())));
        }
    }

    /// Counts an attestation for this node's slot.
    pub(crate) fn add_attestation(
        &mut self,
        now: UnixMillis,
        attester: Address,
        msg: &AttestationMessage,
        out: &mut Vec<Output>,
    ) {
        let Some(mut build) = self.building.take() else {
            return;
        };
        let a = &msg.attestation;
        let threshold = build.threshold();
        if let Some(i) = build.blocks.iter().position(|b| {
            b.header.index == a.index && b.hash == a.blockHash && b.proposed_at.is_some()
        }) && let Some(b) = build.blocks.get_mut(i)
        {
            if !b.data.is_committed() {
                // Held until this node knows the data hash; one per attester.
                if b.early_attestations.len() < threshold.saturating_mul(2)
                    && !b.early_attestations.iter().any(|(x, _, _)| *x == attester)
                {
                    b.early_attestations
                        .push((attester, a.dataHash, msg.signature.clone()));
                }
            } else if b.data.data_hash() == a.dataHash {
                b.attestations
                    .entry(attester)
                    .or_insert_with(|| msg.signature.clone());
                if self.check_attested(now, &mut build, i) {
                    self.try_propose(now, &mut build, out);
                    self.apply_own_provisional(&build, out);
                }
            }
        }
        self.building = Some(build);
    }

    /// Makes block `i` provisional once it has threshold attestations and
    /// its predecessor is provisional, up to the slot's attestation
    /// deadline. Returns whether it just did.
    fn check_attested(&mut self, now: UnixMillis, build: &mut SlotBuild, i: usize) -> bool {
        let threshold = build.threshold();
        // After the slot's attestation deadline the next proposer builds on
        // the tip as it stood: no block of this slot may join it any more.
        if self
            .timetable
            .attestation_deadline(Slot(build.slot))
            .is_ok_and(|deadline| now > deadline)
        {
            return false;
        }
        let parent_header = match i.checked_sub(1) {
            Some(p) => match build.blocks.get(p).and_then(|b| b.provisional.as_ref()) {
                Some(prov) => prov.checkpointHeader.clone(),
                None => return false,
            },
            None => CheckpointHeader::empty(Slot(build.slot), build.parent_checkpoint),
        };
        let Some(signer) = self.signer.clone() else {
            return false;
        };
        let Some(b) = build.blocks.get_mut(i) else {
            return false;
        };
        if b.provisional.is_some()
            || b.proposed_at.is_none()
            || !b.data.is_committed()
            || b.attestations.len() < threshold
        {
            return false;
        }
        let Some(checkpoint_header) = parent_header.extended(b.hash) else {
            return false;
        };
        let attestations: Bytes = b
            .attestations
            .values()
            .flat_map(|s| s.iter().copied())
            .collect::<Vec<u8>>()
            .into();
        let statement = ProvisionalBlock::new(&b.header, &checkpoint_header, &attestations);
        match signer.sign(&SignRequest::new(&self.domain, &statement)) {
            Ok(sig) => {
                self.work.signed = self.work.signed.saturating_add(1);
                b.provisional = Some(ProvisionalBlockMessage {
                    header: b.header.clone(),
                    checkpointHeader: checkpoint_header,
                    dataHash: b.data.data_hash(),
                    attestations,
                    proposerSignature: Bytes::from(sig.to_vec()),
                });
                true
            }
            Err(e) => {
                if matches!(e, SignerError::Conflict { .. }) {
                    warn!(target: "chunkseq::protocol", slot = build.slot, index = i, "the partner signed this provisional block first: giving the slot up");
                    build.lost = true;
                } else {
                    warn!(target: "chunkseq::protocol", "provisional block not signed: {e}");
                }
                false
            }
        }
    }

    /// Applies this node's provisional blocks to its own chain.
    fn apply_own_provisional(&mut self, build: &SlotBuild, out: &mut Vec<Output>) {
        for b in &build.blocks {
            let Some(p) = &b.provisional else { break };
            if self.chain.provisional().iter().any(|c| c.hash == b.hash) {
                continue;
            }
            if self.chain.tip().0 != b.header.parentHash {
                break;
            }
            self.accept_provisional(
                ChainBlock {
                    header: b.header.clone(),
                    hash: b.hash,
                    transactions: b.transactions.clone(),
                    txs: b.txs.clone(),
                    receipts: Arc::clone(&b.receipts),
                    state: Arc::clone(&b.state),
                    checkpoint_header: p.checkpointHeader.clone(),
                    data_hash: p.dataHash,
                    attestations: p.attestations.clone(),
                    proposer_signature: p.proposerSignature.clone(),
                },
                out,
            );
        }
    }

    /// Ends the slot's chain at the last provisional block when a proposed
    /// block missed its attestations, or at the attestation deadline.
    fn cut_timed_out(&mut self, now: UnixMillis, build: &mut SlotBuild, out: &mut Vec<Output>) {
        let deadline = self.timetable.attestation_deadline(Slot(build.slot)).ok();
        let past_deadline = deadline.is_some_and(|d| now >= d);
        let timed_out = build.blocks.iter().position(|b| {
            b.provisional.is_none()
                && (past_deadline
                    || b.proposed_at
                        .and_then(|t| t.checked_add_ms(self.spec.attestation_timeout_ms))
                        .is_some_and(|t| now >= t))
        });
        if let Some(i) = timed_out {
            warn!(target: "chunkseq::protocol", slot = build.slot, index = i, dropped = build.blocks.len().saturating_sub(i), "attestations timed out: the slot ends here");
            self.drop_blocks_from(build, i, out);
        } else if past_deadline && !build.done_building {
            build.builder = None;
            build.done_building = true;
            let txs = std::mem::take(&mut build.builder_txs);
            self.return_to_pool(txs, out);
        }
    }

    /// Ends the slot's chain before block `i`: it and the blocks after it
    /// are discarded, and the pool takes their transactions back.
    fn drop_blocks_from(&mut self, build: &mut SlotBuild, i: usize, out: &mut Vec<Output>) {
        let dropped = build.blocks.split_off(i.min(build.blocks.len()));
        let txs: Vec<RecoveredTx> = dropped
            .into_iter()
            .flat_map(|b| b.txs)
            .chain(std::mem::take(&mut build.builder_txs))
            .collect();
        build.builder = None;
        build.done_building = true;
        self.return_to_pool(txs, out);
    }

    /// Signs and submits the checkpoint once the slot's chain is final;
    /// sends it again while it has not landed and the window is open.
    fn maybe_submit_checkpoint(
        &mut self,
        now: UnixMillis,
        build: &mut SlotBuild,
        out: &mut Vec<Output>,
    ) {
        if !build.done_building || build.accepted {
            return;
        }
        if build.blocks.iter().any(|b| b.provisional.is_none()) {
            return;
        }
        let Ok(schedule) = self.timetable.schedule(Slot(build.slot)) else {
            return;
        };
        if now < schedule.l1_inclusion_start || now >= schedule.l1_inclusion_end {
            return;
        }
        // L1 refuses it on top of a rescue whose window is open, and on an
        // earlier slot's blocks that are not checkpointed yet (they may
        // still be rescued).
        if !self.rescue_window_passed()
            || self
                .chain
                .provisional()
                .first()
                .is_some_and(|b| b.header.slot < build.slot)
        {
            return;
        }
        let resubmit_after = self.resubmit_after_ms();
        if build
            .submitted_at
            .is_some_and(|t| now.millis_since(t).is_some_and(|d| d < resubmit_after))
        {
            return;
        }
        if build.checkpoint_call.is_none() {
            build.checkpoint_call = self.checkpoint_call(build);
        }
        let Some(call) = build.checkpoint_call.clone() else {
            return;
        };
        let first = build.submitted_at.is_none();
        build.submitted_at = Some(now);
        if first {
            let blobs = call.blobs().len();
            info!(target: "chunkseq::protocol", slot = build.slot, blocks = build.blocks.len(), blobs, "submitting checkpoint");
            out.push(Output::Event(Event::CheckpointSubmitted {
                slot: build.slot,
                blocks: u32::try_from(build.blocks.len()).unwrap_or(u32::MAX),
                blobs: u32::try_from(blobs).unwrap_or(u32::MAX),
            }));
        }
        out.push(Output::SubmitL1 {
            call,
            deadline: Some(schedule.l1_inclusion_end),
        });
    }

    /// The `proposeCheckpoint` call with the end-of-slot signature.
    fn checkpoint_call(&mut self, build: &mut SlotBuild) -> Option<RollupCall> {
        let last = build.blocks.last()?;
        let header = last.provisional.as_ref()?.checkpointHeader.clone();
        let checkpoint = Checkpoint::new(&header, last.hash);
        let signer = self.signer.clone()?;
        let signature = match signer.sign(&SignRequest::new(&self.domain, &checkpoint)) {
            Ok(s) => Bytes::from(s.to_vec()),
            Err(e) => {
                Self::signing_refused(build, "checkpoint", &e, &mut Vec::new());
                return None;
            }
        };
        self.work.signed = self.work.signed.saturating_add(1);
        let _ = Checkpoint::KIND;
        // The last block's attestations vouch for the slot.
        let attestations = build
            .blocks
            .last()
            .and_then(|b| b.provisional.as_ref())
            .map(|p| p.attestations.clone())?;
        let data = Arc::clone(&last.data);
        let bodies: Vec<Bytes> = build
            .blocks
            .iter()
            .map(|b| encode_body(&b.transactions))
            .collect();
        let (bodies, blobs) = self.checkpoint_payload(&data, bodies);
        Some(RollupCall::ProposeCheckpoint {
            slot: build.slot,
            headers: build.blocks.iter().map(|b| b.header.clone()).collect(),
            bodies,
            blob_hashes: data.versioned_hashes().to_vec(),
            blobs: Arc::new(blobs),
            attestations,
            committee: build.duties.committee.clone(),
            signature,
        })
    }

    /// How a checkpoint carries `data`: the blocks' `bodies` as calldata
    /// when the chain allows it and (if attestations sign blobs) calldata is
    /// cheaper at L1's current prices, as rollup batchers choose; its blobs
    /// otherwise. Returns (bodies, blobs), one of them empty.
    pub(crate) fn checkpoint_payload(
        &self,
        data: &SlotData,
        bodies: Vec<Bytes>,
    ) -> (Vec<Bytes>, Vec<alloy_eips::eip4844::Blob>) {
        let head = self.l1_head;
        let as_calldata = data.calldata_allowed()
            && (!data.spec_signs_blobs()
                || calldata_is_cheaper(
                    calldata_floor_gas(&bodies),
                    head.map_or(0, |h| h.base_fee),
                    data.blob_count(),
                    head.map_or(1, |h| h.blob_base_fee),
                ));
        if as_calldata {
            (bodies, Vec::new())
        } else {
            (Vec::new(), data.blobs())
        }
    }

    /// Gives up a build whose parent was dropped: its blocks can never be
    /// checkpointed. Their transactions return to the pool.
    pub(crate) fn abandon_build(&mut self, build: SlotBuild, out: &mut Vec<Output>) {
        info!(target: "chunkseq::protocol", slot = build.slot, "build abandoned: its parent was dropped");
        let own: HashSet<B256> = self.chain.provisional().iter().map(|b| b.hash).collect();
        let txs: Vec<RecoveredTx> = build
            .blocks
            .into_iter()
            .filter(|b| !own.contains(&b.hash))
            .flat_map(|b| b.txs)
            .chain(build.builder_txs)
            .collect();
        self.return_to_pool(txs, out);
    }
}
