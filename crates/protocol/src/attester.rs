//! Attestation jobs: one per slot, re-executing the slot's proposals strictly
//! in index order on a fork at the slot's parent (docs/design.md section 6).

use std::{collections::BTreeMap, sync::Arc};

use alloy_primitives::{B256, Bytes};
use chunkseq_execution::{RecoveredTx, reexecute};
use chunkseq_primitives::{
    AttestationMessage, BlockHeader, BlockIndex, ProposalMessage, SignRequest, Slot, UnixMillis,
};
use chunkseq_state::SealedState;
use tracing::{debug, warn};

use crate::{
    core::Core,
    io::{Event, Gossip, Output, TxStatus},
    slot_data::{SlotData, SlotDataError},
    verify,
};

/// A block the job re-executed and found valid.
#[derive(Clone, Debug)]
pub(crate) struct ExecutedBlock {
    hash: B256,
    number: u64,
    timestamp: u64,
    state: Arc<SealedState>,
    transactions: Vec<Bytes>,
    txs: Vec<RecoveredTx>,
    receipts: crate::io::Receipts,
    /// The slot's data up to and including this block.
    data: Arc<SlotData>,
}

/// One slot's attestation job.
#[derive(Debug, Default)]
pub(crate) struct AttestationJob {
    /// Proposals that arrived before their turn, by index.
    held: BTreeMap<u32, ProposalMessage>,
    /// Valid blocks, by index.
    executed: BTreeMap<u32, ExecutedBlock>,
    /// Hash of the first proposal seen per index: a different one later is
    /// an equivocation and is never attested.
    first_seen: BTreeMap<u32, B256>,
    /// Set when a proposal failed: nothing later in the slot is attested.
    failed: Option<String>,
}

impl AttestationJob {
    /// The state, transactions and receipts of a block this job validated.
    pub(crate) fn executed_block(
        &self,
        index: u32,
        hash: B256,
    ) -> Option<(Vec<Bytes>, crate::io::Executed)> {
        self.executed
            .get(&index)
            .filter(|e| e.hash == hash)
            .map(|e| {
                (
                    e.transactions.clone(),
                    (Arc::clone(&e.state), e.txs.clone(), Arc::clone(&e.receipts)),
                )
            })
    }

    fn next_index(&self) -> u32 {
        self.executed
            .last_key_value()
            .map_or(0, |(i, _)| i.saturating_add(1))
    }
}

impl Core {
    /// A proposal from gossip: kept as a body for followers, and re-executed
    /// by committee members.
    pub(crate) fn on_proposal(
        &mut self,
        now: UnixMillis,
        msg: ProposalMessage,
        out: &mut Vec<Output>,
    ) {
        let slot = msg.header.slot;
        let index = msg.header.index;
        let hash = msg.header.hash();
        if index >= self.spec.chunks_per_slot {
            out.push(Output::Rejected {
                topic: "proposal",
                reason: format!(
                    "index {index} beyond the slot's {} chunks",
                    self.spec.chunks_per_slot
                ),
            });
            return;
        }
        let Some(duties) = self.duties.get(&slot).cloned() else {
            if self.held_proposals.len() < 4 * self.spec.chunks_per_slot as usize {
                self.held_proposals.push(msg);
            }
            return;
        };
        if self.bodies.contains_key(&hash) {
            return;
        }
        match self.timetable.attestation_deadline(Slot(slot)) {
            Ok(deadline) if now <= deadline => {}
            _ => {
                out.push(Output::Rejected {
                    topic: "proposal",
                    reason: format!("proposal of slot {slot} after its attestation deadline"),
                });
                return;
            }
        }
        match verify::proposal(self.sig_cache.as_deref(), &self.domain, &duties, &msg) {
            Ok(n) => self.work.signatures = self.work.signatures.saturating_add(n),
            Err(e) => {
                out.push(Output::Rejected {
                    topic: "proposal",
                    reason: e.to_string(),
                });
                return;
            }
        }
        if let Some(evidence) = self.evidence.on_proposal(
            duties.proposer,
            msg.header.proposal(),
            msg.signature.clone(),
        ) {
            self.report_evidence(evidence, true, out);
        }
        // A block another honest node validated comes with its hashes.
        let hashes: Vec<B256> = match self
            .exec_cache
            .as_ref()
            .and_then(|c| c.transactions(msg.header.parentHash, hash))
        {
            Some(txs) => txs.iter().map(RecoveredTx::hash).collect(),
            None => msg
                .transactions
                .iter()
                .map(alloy_primitives::keccak256)
                .collect(),
        };
        for h in hashes {
            if self.tx_status.get(&h) == Some(&TxStatus::Pending) {
                self.set_status(h, TxStatus::Proposed, out);
            }
        }
        // Two versions of a position are all evidence needs; an equivocating
        // proposer cannot fill memory with more.
        let versions = self
            .bodies
            .values()
            .filter(|p| p.header.slot == slot && p.header.index == index)
            .count();
        if versions < 2 {
            self.bodies.insert(hash, msg.clone());
        }
        if self.proposed.is_none_or(|(_, n)| msg.header.number > n) {
            self.proposed = Some((hash, msg.header.number));
        }
        let Some(me) = self.me() else { return };
        if me == duties.proposer || !duties.is_member(&me) {
            return;
        }
        let job = self.jobs.entry(slot).or_default();
        match job.first_seen.get(&index) {
            Some(first) if *first != hash => {
                warn!(target: "chunkseq::protocol", slot, index, "second proposal for one index: not attesting it");
                return;
            }
            Some(_) => {}
            None => {
                job.first_seen.insert(index, hash);
            }
        }
        job.held.insert(index, msg);
        self.run_job(now, slot, out);
    }

    /// Re-executes the job's held proposals that are next in index order.
    fn run_job(&mut self, now: UnixMillis, slot: u64, out: &mut Vec<Output>) {
        loop {
            let Some(job) = self.jobs.get_mut(&slot) else {
                return;
            };
            if job.failed.is_some() {
                return;
            }
            let next = job.next_index();
            let Some(msg) = job.held.remove(&next) else {
                return;
            };
            let previous = next
                .checked_sub(1)
                .and_then(|i| job.executed.get(&i))
                .cloned();
            match self.validate_proposal(now, &msg, previous.as_ref()) {
                Ok(Some(block)) => {
                    let (hash, data_hash) = (block.hash, block.data.data_hash());
                    if let Some(job) = self.jobs.get_mut(&slot) {
                        job.executed.insert(next, block);
                    }
                    self.attest(slot, &msg, hash, data_hash, out);
                }
                Ok(None) => {
                    // Its parent is not known here yet: wait.
                    if let Some(job) = self.jobs.get_mut(&slot) {
                        job.held.insert(next, msg);
                    }
                    return;
                }
                Err(reason) => {
                    warn!(target: "chunkseq::protocol", slot, index = next, %reason, "invalid proposal: not attesting the rest of the slot");
                    if let Some(job) = self.jobs.get_mut(&slot) {
                        job.failed = Some(reason);
                    }
                    return;
                }
            }
        }
    }

    /// Every check of a proposal, then re-execution on its parent's state.
    /// `Ok(None)` when the parent (the provisional tip, for block 0) is not
    /// known yet.
    fn validate_proposal(
        &mut self,
        now: UnixMillis,
        msg: &ProposalMessage,
        previous: Option<&ExecutedBlock>,
    ) -> Result<Option<ExecutedBlock>, String> {
        let h = &msg.header;
        let slot = Slot(h.slot);
        let deadline = self
            .timetable
            .attestation_deadline(slot)
            .map_err(|e| e.to_string())?;
        if now > deadline {
            return Err("past the slot's attestation deadline".into());
        }
        let proposer = self.duties.get(&h.slot).map(|d| d.proposer);
        if proposer != Some(h.coinbase) {
            return Err(format!("coinbase {} is not the proposer", h.coinbase));
        }
        if h.gasLimit != self.spec.block_gas_limit {
            return Err(format!("gas limit {} is not the spec's", h.gasLimit));
        }
        let own_price = self.data_price();
        if !self.spec.fees.data_price_acceptable(h.dataPrice, own_price) {
            return Err(format!(
                "data price {} wei is outside [{}, {}] (the floor, and {} times this node's L1 price)",
                h.dataPrice,
                self.spec.fees.min_data_price,
                own_price.saturating_mul(chunkseq_primitives::spec::MAX_DATA_PRICE_FACTOR),
                chunkseq_primitives::spec::MAX_DATA_PRICE_FACTOR,
            ));
        }
        // The timestamp is the close of this index's chunk or a later one.
        let chunk = self
            .timetable
            .chunk(slot, BlockIndex(h.index))
            .map_err(|e| e.to_string())?;
        let closes: Vec<u64> = (h.index..self.spec.chunks_per_slot)
            .filter_map(|k| self.timetable.chunk(slot, BlockIndex(k)).ok())
            .map(|c| c.close.0)
            .collect();
        if h.timestamp < chunk.close.0 || !closes.contains(&h.timestamp) {
            return Err(format!(
                "timestamp {} is not a chunk close of the slot",
                h.timestamp
            ));
        }
        let parent = match previous {
            Some(p) => {
                if h.parentHash != p.hash || Some(h.number) != p.number.checked_add(1) {
                    return Err("does not extend the slot's previous block".into());
                }
                if h.timestamp <= p.timestamp {
                    return Err("timestamp does not increase".into());
                }
                Some(p)
            }
            None => {
                if h.index != 0 {
                    return Err("first block of the slot is not index 0".into());
                }
                let (tip_hash, tip_number) = self.chain.tip();
                if h.parentHash != tip_hash {
                    return Ok(None);
                }
                if Some(h.number) != tip_number.checked_add(1) {
                    return Err("block number does not follow the tip".into());
                }
                None
            }
        };
        let hash = h.hash();
        // The slot's data budget, a consensus rule, is checked before the
        // block is executed; its commitments after.
        let shared_data = self.exec_cache.as_ref().and_then(|c| c.slot_data(hash));
        let appended = match &shared_data {
            Some(_) => None,
            None => Some(
                previous
                    .map_or_else(|| SlotData::new(&self.spec), |p| p.data.as_ref().clone())
                    .appended(&msg.transactions)
                    .map_err(|e| e.to_string())?,
            ),
        };
        let shared = self
            .exec_cache
            .as_ref()
            .and_then(|c| c.get(h.parentHash, hash));
        // Re-execution and the data's commitments depend on different
        // inputs (state, bytes): when both are to do, they run side by side.
        let (executed, committed) = match (shared, appended) {
            (Some(hit), appended) => (
                Ok(hit),
                appended.map(|a| a.commit(&mut self.versioned_hashes)),
            ),
            (None, None) => (self.reexecute_on(parent, h, &msg.transactions), None),
            (None, Some(a)) => {
                let mut cache = std::mem::take(&mut self.versioned_hashes);
                let (executed, joined) = std::thread::scope(|scope| {
                    let commit = scope.spawn(|| a.commit(&mut cache));
                    let executed = self.reexecute_on(parent, h, &msg.transactions);
                    (executed, commit.join())
                });
                self.versioned_hashes = cache;
                let committed = joined.unwrap_or_else(|_| {
                    Err(SlotDataError::Commitment(
                        "the commitment thread panicked".into(),
                    ))
                });
                (executed, Some(committed))
            }
        };
        let committed = committed.map(|r| r.map_err(|e| e.to_string()));
        let (state, txs, receipts) = executed?;
        self.work.gas = self.work.gas.saturating_add(h.gasUsed);
        let data = match (shared_data, committed) {
            (Some(data), _) => data,
            (None, Some(committed)) => {
                let data = Arc::new(committed?);
                if let Some(c) = &self.exec_cache {
                    c.insert_slot_data(hash, Arc::clone(&data));
                }
                data
            }
            (None, None) => return Err("slot data unavailable".into()),
        };
        self.work.add_commitments(data.touched());
        Ok(Some(ExecutedBlock {
            hash,
            number: h.number,
            timestamp: h.timestamp,
            state,
            transactions: msg.transactions.clone(),
            txs,
            receipts,
            data,
        }))
    }

    /// Signs (through slashing protection) and gossips an attestation.
    /// Re-executes a block on its parent's state (the slot's previous block,
    /// or the provisional tip), sharing the result with other nodes.
    fn reexecute_on(
        &self,
        parent: Option<&ExecutedBlock>,
        h: &BlockHeader,
        transactions: &[Bytes],
    ) -> Result<crate::io::Executed, String> {
        let fork = match parent {
            Some(p) => self.chain.db().fork_on(&p.state, p.hash),
            None => self.chain.fork_at_tip(),
        }
        .map_err(|e| e.to_string())?;
        let built = reexecute(
            fork,
            self.context_of(h),
            h,
            transactions,
            &self.known_senders(),
        )
        .map_err(|e| e.to_string())?;
        let txs = self.recovered(transactions);
        let receipts = Arc::new(built.receipts);
        if let Some(c) = &self.exec_cache {
            c.insert(
                h.parentHash,
                h.hash(),
                (Arc::clone(&built.state), txs.clone(), Arc::clone(&receipts)),
            );
        }
        Ok((built.state, txs, receipts))
    }

    fn attest(
        &mut self,
        slot: u64,
        msg: &ProposalMessage,
        hash: B256,
        data_hash: B256,
        out: &mut Vec<Output>,
    ) {
        let Some(signer) = self.signer.clone() else {
            return;
        };
        let attestation = msg.header.attestation(data_hash);
        match signer.sign(&SignRequest::new(&self.domain, &attestation)) {
            Ok(sig) => {
                self.work.signed = self.work.signed.saturating_add(1);
                debug!(target: "chunkseq::protocol", slot, index = msg.header.index, "attested");
                out.push(Output::Event(Event::AttestationSent {
                    slot,
                    index: msg.header.index,
                    hash,
                }));
                out.push(Output::Publish(Gossip::Attestation(AttestationMessage {
                    attestation,
                    signature: Bytes::from(sig.to_vec()),
                })));
            }
            Err(e) => out.push(Output::Event(Event::SigningRefused {
                what: "attestation",
                reason: e.to_string(),
            })),
        }
    }

    /// An attestation from gossip: checked for equivocation by every node,
    /// counted by the slot's proposer.
    pub(crate) fn on_attestation(
        &mut self,
        now: UnixMillis,
        msg: &AttestationMessage,
        out: &mut Vec<Output>,
    ) {
        let slot = msg.attestation.slot;
        let Some(duties) = self.duties.get(&slot).cloned() else {
            return;
        };
        let attester =
            match verify::attestation(self.sig_cache.as_deref(), &self.domain, &duties, msg) {
                Ok(attester) => attester,
                Err(e) => {
                    out.push(Output::Rejected {
                        topic: "attestation",
                        reason: e.to_string(),
                    });
                    return;
                }
            };
        self.work.signatures = self.work.signatures.saturating_add(1);
        if let Some(evidence) =
            self.evidence
                .on_attestation(attester, msg.attestation.clone(), msg.signature.clone())
        {
            self.report_evidence(evidence, true, out);
        }
        if self.building.as_ref().is_some_and(|b| b.slot == slot) {
            self.add_attestation(now, attester, msg, out);
        }
    }
}
