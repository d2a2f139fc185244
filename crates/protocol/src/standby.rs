//! A validator pair: two nodes with one key, of which one builds each of
//! the key's slots while the other stands by (docs/slashing-protection.md,
//! "A pair that divides the work").
//!
//! The builder holds the slot's build lease in the shared protection store
//! and renews it while it builds and publishes. The standby follows the
//! slot's provisional blocks from gossip like any follower. When the lease
//! goes unrenewed, the standby takes it, rebuilds the builder's state from
//! the provisional chain (and the proposal in flight, if any) and carries
//! on from the next block: it builds the rest of the slot and publishes the
//! checkpoint. A builder that finds its lease taken, or a signature refused
//! because the partner signed first, gives the slot up. Whoever builds,
//! the protection records keep every signature unique: the lease only
//! decides who does the work.

use std::sync::Arc;

use alloy_primitives::B256;
use chunkseq_execution::reexecute;
use chunkseq_primitives::{BlockIndex, BuildLease, ProposalMessage, Slot, UnixMillis};
use tracing::{info, warn};

use crate::{
    chain::ChainBlock,
    core::Core,
    io::{Event, Output},
    proposer::{SlotBlock, SlotBuild},
    slot_data::SlotData,
};

/// A slot of this node's key that the partner node builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Standby {
    /// The partner holding the lease, as it names itself.
    pub(crate) holder: String,
    /// When to ask for the lease again.
    pub(crate) next_try: UnixMillis,
}

/// What asking for a slot's build lease gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LeaseAnswer {
    /// This node builds.
    Held,
    /// The partner builds.
    Partner(String),
    /// The store could not answer: nothing may be decided now.
    Unknown,
}

impl Core {
    /// Asks the signer for the build lease of `slot` from block `from`.
    pub(crate) fn ask_lease(&self, now: UnixMillis, slot: u64, from: usize) -> LeaseAnswer {
        let Some(signer) = &self.signer else {
            return LeaseAnswer::Unknown;
        };
        let from = BlockIndex(u32::try_from(from).unwrap_or(u32::MAX));
        match signer.lease_build(Slot(slot), from, now, self.cfg.ha_lease_ms) {
            Ok(BuildLease::Held) => LeaseAnswer::Held,
            Ok(BuildLease::HeldBy(node)) => LeaseAnswer::Partner(node),
            Err(_) => LeaseAnswer::Unknown,
        }
    }

    /// Stands by for `slot`, which the partner `holder` builds.
    pub(crate) fn stand_by(&mut self, now: UnixMillis, slot: u64, holder: String) {
        info!(target: "chunkseq::protocol", slot, %holder, "standing by: the partner builds this slot");
        self.standby.insert(
            slot,
            Standby {
                holder,
                next_try: self.next_lease_try(now),
            },
        );
    }

    /// When a standby asks for the lease again: every half lease.
    fn next_lease_try(&self, now: UnixMillis) -> UnixMillis {
        now.checked_add_ms((self.cfg.ha_lease_ms / 2).max(1))
            .unwrap_or(now)
    }

    /// Renews the lease of the builds this node holds, a quarter lease
    /// after the last renewal; a build whose lease the partner took is
    /// given up.
    pub(crate) fn renew_leases(&mut self, now: UnixMillis, build: &mut SlotBuild) {
        if build.accepted || build.lost || !self.leases_shared() {
            return;
        }
        let every = (self.cfg.ha_lease_ms / 4).max(1);
        if now
            .millis_since(build.lease_renewed_at)
            .is_some_and(|d| d < every)
        {
            return;
        }
        match self.ask_lease(now, build.slot, build.provisional_count()) {
            LeaseAnswer::Held => build.lease_renewed_at = now,
            LeaseAnswer::Partner(holder) => {
                warn!(target: "chunkseq::protocol", slot = build.slot, %holder, "the partner took this slot's build lease: giving the slot up");
                build.lost = true;
            }
            // Not renewed: the partner may take the slot; the protection
            // records keep signatures unique meanwhile.
            LeaseAnswer::Unknown => {}
        }
    }

    /// Whether this node's key may be shared with a partner node.
    fn leases_shared(&self) -> bool {
        self.signer.as_ref().is_some_and(|s| s.leases_shared())
    }

    /// The next moment the pair needs attention: a lease to renew or a
    /// standby to try again.
    pub(crate) fn lease_deadlines(&self) -> impl Iterator<Item = UnixMillis> + '_ {
        let every = (self.cfg.ha_lease_ms / 4).max(1);
        let shared = self.leases_shared();
        let renewals = self
            .building
            .iter()
            .chain(&self.publishing)
            .filter(move |b| shared && !b.accepted && !b.lost)
            .filter_map(move |b| b.lease_renewed_at.checked_add_ms(every));
        renewals.chain(self.standby.values().map(|s| s.next_try))
    }

    /// Checks the slots this node stands by for: drops the settled ones,
    /// and takes over one whose lease the partner no longer renews.
    pub(crate) fn standby_poll(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        if self.standby.is_empty() {
            return;
        }
        let checkpointed = self.chain.checkpointed().slot;
        let timetable = &self.timetable;
        self.standby.retain(|slot, _| {
            *slot > checkpointed
                && timetable
                    .schedule(Slot(*slot))
                    .is_ok_and(|s| now < s.l1_inclusion_end)
        });
        let due: Vec<u64> = self
            .standby
            .iter()
            .filter(|(_, s)| now >= s.next_try)
            .map(|(slot, _)| *slot)
            .collect();
        for slot in due {
            let from = self
                .chain
                .provisional()
                .iter()
                .filter(|b| b.header.slot == slot)
                .count();
            let holder = match self.ask_lease(now, slot, from) {
                LeaseAnswer::Held => {
                    let previous = self
                        .standby
                        .get(&slot)
                        .map(|s| s.holder.clone())
                        .unwrap_or_default();
                    if self.take_over(now, slot, previous, out) {
                        self.standby.remove(&slot);
                        continue;
                    }
                    None
                }
                LeaseAnswer::Partner(holder) => Some(holder),
                LeaseAnswer::Unknown => None,
            };
            // Not taken over (yet): asked again half a lease from now.
            let next_try = self.next_lease_try(now);
            if let Some(s) = self.standby.get_mut(&slot) {
                s.next_try = next_try;
                if let Some(holder) = holder {
                    s.holder = holder;
                }
            }
        }
    }

    /// Whether `slot` was begun already, by the partner or by this node
    /// before a restart: provisional blocks or proposals of it are known.
    pub(crate) fn slot_begun(&self, slot: u64) -> bool {
        let me = self.me();
        self.chain
            .provisional()
            .iter()
            .any(|b| b.header.slot == slot)
            || self
                .bodies
                .values()
                .any(|p| p.header.slot == slot && Some(p.header.coinbase) == me)
    }

    /// Continues `slot` where `previous` (the partner, or this node before
    /// a restart) left it: its provisional blocks as this node's own, then
    /// the proposal in flight if one was seen, then new blocks while the
    /// slot's build window lasts, then the checkpoint. Returns false when
    /// it should be tried again later.
    pub(crate) fn take_over(
        &mut self,
        now: UnixMillis,
        slot: u64,
        previous: String,
        out: &mut Vec<Output>,
    ) -> bool {
        let Some(duties) = self.duties.get(&slot).cloned() else {
            return false;
        };
        let building_now = self
            .timetable
            .building_at(now)
            .filter(|(s, _)| s.0 == slot)
            .map(|(_, c)| c.0);
        let begun = self.slot_begun(slot);
        if !begun {
            // Nothing to continue: a fresh build while the window lasts,
            // on a tip that does not outrun L1 (see `maybe_start_build`).
            if self.would_outrun_l1(slot) {
                return building_now.is_none();
            }
            if building_now.is_none() {
                return true;
            }
        }
        let chain_blocks: Vec<ChainBlock> = self
            .chain
            .provisional()
            .iter()
            .filter(|b| b.header.slot == slot)
            .cloned()
            .collect();
        let from = chain_blocks.len();
        let (parent_hash, parent_number, parent_checkpoint) = match chain_blocks.first() {
            Some(b) => (
                b.header.parentHash,
                b.header.number.saturating_sub(1),
                b.checkpoint_header.parentCheckpointHash,
            ),
            None => {
                let (hash, number) = self.chain.tip();
                (hash, number, self.chain.parent_checkpoint_hash())
            }
        };
        let mut data = SlotData::new(&self.spec);
        let mut blocks = Vec::with_capacity(chain_blocks.len().saturating_add(1));
        for b in chain_blocks {
            data = match data
                .appended(&b.transactions)
                .and_then(|d| d.commit(&mut self.versioned_hashes))
            {
                Ok(d) => d,
                Err(e) => {
                    warn!(target: "chunkseq::protocol", slot, index = b.header.index, "cannot take the slot over: {e}");
                    return true;
                }
            };
            if data.data_hash() != b.data_hash {
                warn!(target: "chunkseq::protocol", slot, index = b.header.index, "cannot take the slot over: the slot's data does not match its provisional block");
                return true;
            }
            let proposal_signature = self
                .bodies
                .get(&b.hash)
                .map(|p| p.signature.clone())
                .unwrap_or_default();
            blocks.push(SlotBlock::provisional(
                b,
                Arc::new(data.clone()),
                proposal_signature,
                now,
            ));
        }
        let tip = blocks.last().map_or(parent_hash, SlotBlock::hash);
        let mut data = Arc::new(data);
        if let Some(in_flight) = self.in_flight_proposal(slot, from, tip)
            && let Some(block) = self.resume_proposal(now, &in_flight, &data)
        {
            data = Arc::clone(block.data());
            blocks.push(block);
        }
        let mut build = SlotBuild::new(
            slot,
            duties,
            (parent_hash, parent_number, parent_checkpoint),
            data,
            blocks,
            now,
        );
        match building_now {
            Some(chunk) => build.resume_at_chunk(&self.timetable, &self.spec, chunk),
            None => build.stop_building(),
        }
        if begun {
            let duty = if build.is_done_building() {
                "publishing the checkpoint"
            } else {
                "building"
            };
            info!(target: "chunkseq::protocol", slot, from, %previous, duty, "took the slot over");
            out.push(Output::Event(Event::HaFailover {
                slot,
                from_index: u32::try_from(from).unwrap_or(u32::MAX),
                previous,
            }));
        } else {
            info!(target: "chunkseq::protocol", slot, parent_number, "building slot");
        }
        if build.is_done_building() {
            self.publishing.push(build);
            return true;
        }
        if let Some(current) = self.building.take() {
            self.publishing.push(current);
        }
        self.open_block(&mut build, out);
        self.fill(&mut build);
        self.building = Some(build);
        true
    }

    /// The partner's proposal of `slot` at `index` on `parent`, seen on
    /// gossip but not yet provisional.
    fn in_flight_proposal(&self, slot: u64, index: usize, parent: B256) -> Option<ProposalMessage> {
        let index = u32::try_from(index).ok()?;
        let me = self.me()?;
        self.bodies
            .values()
            .find(|p| {
                p.header.slot == slot
                    && p.header.index == index
                    && p.header.parentHash == parent
                    && p.header.coinbase == me
            })
            .cloned()
    }

    /// Re-executes the partner's proposal in flight so this node can
    /// collect its attestations and make it provisional: its signature
    /// is already recorded, so the same block is the only one this key may
    /// propose at its index.
    fn resume_proposal(
        &mut self,
        now: UnixMillis,
        msg: &ProposalMessage,
        data: &Arc<SlotData>,
    ) -> Option<SlotBlock> {
        let fork = match self.chain.fork_at_tip() {
            Ok(f) => f,
            Err(e) => {
                warn!(target: "chunkseq::protocol", "state unavailable to resume the proposal in flight: {e}");
                return None;
            }
        };
        let built = match reexecute(
            fork,
            self.context_of(&msg.header),
            &msg.header,
            &msg.transactions,
            &self.known_senders(),
        ) {
            Ok(b) => b,
            Err(e) => {
                warn!(target: "chunkseq::protocol", slot = msg.header.slot, index = msg.header.index, "the proposal in flight does not re-execute: {e}");
                return None;
            }
        };
        let data = match data.appended(&msg.transactions) {
            Ok(d) => Arc::new(d),
            Err(e) => {
                warn!(target: "chunkseq::protocol", slot = msg.header.slot, index = msg.header.index, "the proposal in flight does not fit the slot: {e}");
                return None;
            }
        };
        self.work.gas = self.work.gas.saturating_add(built.header.gasUsed);
        let txs = self.recovered(&msg.transactions);
        let included: Vec<_> = txs.iter().map(|t| (t.sender(), t.nonce())).collect();
        self.pool.remove_included(&included);
        let hash = built.hash();
        // Attestations that reached this node while it stood by.
        let early = self.evidence.attestations_of(
            msg.header.slot,
            msg.header.index,
            hash,
            self.spec.committee_size as usize,
        );
        Some(SlotBlock::in_flight(
            built,
            txs,
            data,
            msg.signature.clone(),
            now,
            early,
        ))
    }
}
