//! Catching up, which every core does when it starts: until it has applied
//! every checkpoint L1 holds, it takes no part (no duties, no transactions,
//! gossip ignored) and asks its peers and L1's logs for what it missed.
//!
//! - It learns L1's checkpoint tip ([`Output::FetchL1Tip`] ->
//!   [`Input::L1Tip`]). Level with it, it is caught up.
//! - Behind, it asks every `catch_up_retry_ms` ([`Output::RequestSync`] to
//!   peers, [`Output::FetchCheckpoints`] to L1). A peer's checkpoints count
//!   only when their hash chain ends at L1's tip ([`sync::verify_chain`]);
//!   L1's own need only continue this node's chain
//!   ([`sync::verify_continuation`]), so a partial answer is progress.
//! - L1 events that arrive meanwhile are held and applied once caught up.
//! - After `catch_up_give_up_ms` with no way forward it takes part anyway,
//!   and says so ([`Event::CaughtUp`] with `level: false`).
//! - Once caught up it asks its peers for the provisional blocks above its
//!   checkpoint, replayed as gossip (each is checked as gossip is).

use std::collections::VecDeque;

use alloy_primitives::Bytes;
use chunkseq_l1::{L1Event, RollupTip};
use chunkseq_primitives::{ProposalMessage, ProvisionalBlockMessage, UnixMillis, WireCodec};
use tracing::{debug, info, warn};

use crate::{
    core::Core,
    io::{Event, Gossip, Input, Output, TxRefused},
    sync::{
        self, CheckpointRecord, MAX_SYNC_ANSWER_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_CHECKPOINTS,
        SyncRequest, SyncResponse,
    },
};

/// Most L1 events held while catching up; the oldest go first (a
/// checkpoint among them is fetched again: without it the node stays
/// behind L1's tip, and catching up goes on).
const MAX_HELD_L1_EVENTS: usize = 4_096;

/// The state of a core that is catching up.
#[derive(Debug, Default)]
pub(crate) struct CatchUp {
    /// When it began (the first input's time).
    since: Option<UnixMillis>,
    /// When peers and L1 were last asked.
    asked: Option<UnixMillis>,
    /// L1 events that arrived meanwhile, oldest first.
    held: VecDeque<L1Event>,
}

/// Where this node stands against L1's checkpoint tip.
enum Standing {
    /// L1's tip is not known yet.
    Unknown,
    /// Level with L1 (or ahead of the tip this node knows).
    Level,
    /// L1 holds checkpoints this node has not applied.
    Behind(RollupTip),
}

impl Core {
    /// Whether this core is still catching up (it takes part once it is not).
    pub const fn is_catching_up(&self) -> bool {
        self.catching_up.is_some()
    }

    /// L1's checkpoint tip, as last passed in.
    pub const fn l1_tip(&self) -> Option<RollupTip> {
        self.l1_tip
    }

    /// What this node serves a peer that asks what it missed: `checkpoints`
    /// (read by the driver from its index, oldest first, at most
    /// [`MAX_SYNC_CHECKPOINTS`] used) and the provisional blocks above its
    /// checkpoint with their proposals.
    /// The answer holds at most [`MAX_SYNC_ANSWER_BYTES`] of checkpoints and
    /// messages, so it stays within what the transport carries.
    pub fn sync_answer(&self, mut checkpoints: Vec<CheckpointRecord>) -> SyncResponse {
        checkpoints.truncate(MAX_SYNC_CHECKPOINTS);
        let mut budget = MAX_SYNC_ANSWER_BYTES;
        let mut kept = 0usize;
        for c in &checkpoints {
            let size = c
                .headers
                .iter()
                .chain(&c.bodies)
                .map(|b| b.len())
                .fold(0usize, usize::saturating_add);
            match budget.checked_sub(size) {
                Some(left) => {
                    budget = left;
                    kept = kept.saturating_add(1);
                }
                None => break,
            }
        }
        checkpoints.truncate(kept);
        let mut proposals = Vec::new();
        let mut provisionals = Vec::new();
        for b in self.chain.provisional().iter().take(MAX_SYNC_BLOCKS) {
            let Some(p) = self.bodies.get(&b.hash) else {
                continue;
            };
            let provisional = ProvisionalBlockMessage {
                header: b.header.clone(),
                checkpointHeader: b.checkpoint_header.clone(),
                dataHash: b.data_hash,
                attestations: b.attestations.clone(),
                proposerSignature: b.proposer_signature.clone(),
            };
            let (p, v) = (p.encode_wire(), provisional.encode_wire());
            let Some(left) = budget.checked_sub(p.len().saturating_add(v.len())) else {
                break;
            };
            budget = left;
            proposals.push(Bytes::from(p));
            provisionals.push(Bytes::from(v));
        }
        SyncResponse {
            checkpoints,
            proposals,
            provisionals,
        }
    }

    fn standing(&self) -> Standing {
        let Some(tip) = self.l1_tip else {
            return Standing::Unknown;
        };
        let ours = self.chain.checkpointed();
        if tip.has_checkpoint && tip.header_hash != ours.header_hash && tip.slot > ours.slot {
            Standing::Behind(tip)
        } else {
            Standing::Level
        }
    }

    /// Handles one input of a core that is catching up.
    pub(crate) fn on_input_catching_up(
        &mut self,
        now: UnixMillis,
        input: Input,
        out: &mut Vec<Output>,
    ) {
        match input {
            Input::Tick | Input::DutiesUnavailable { .. } => {}
            Input::L1Tip(tip) => self.l1_tip = Some(tip),
            Input::L1(event) => {
                if let Some(c) = &mut self.catching_up {
                    if c.held.len() >= MAX_HELD_L1_EVENTS {
                        c.held.pop_front();
                    }
                    c.held.push_back(event);
                }
            }
            Input::L1Checkpoints(events) => self.apply_l1_checkpoints(events, out),
            Input::SyncResponse(response) => self.apply_served_checkpoints(&response, out),
            Input::Gossip(g) => out.push(Output::Ignored {
                topic: g.topic(),
                reason: "catching up".into(),
            }),
            Input::Transactions { txs, origin } => {
                for tx in txs {
                    self.refused(tx.hash(), origin, TxRefused::CatchingUp, out);
                }
            }
            Input::Duties { slot, duties } => self.on_duties(slot, duties),
            Input::L1CallFailed { call, reason } => {
                debug!(target: "chunkseq::sync", call, %reason, "L1 refused a call");
            }
        }
        self.catch_up_poll(now, out);
    }

    /// Handles a catch-up input of a core that takes part already: a peer's
    /// provisional blocks are replayed as gossip; L1's tip shows whether it
    /// fell behind (two or more slots: one is the race between L1's tip and
    /// its events) or, after giving up, is level again; the rest is stale.
    pub(crate) fn on_catch_up_input_live(
        &mut self,
        now: UnixMillis,
        input: Input,
        out: &mut Vec<Output>,
    ) {
        match input {
            Input::L1Tip(tip) => {
                self.l1_tip = Some(tip);
                let ours = self.chain.checkpointed();
                match self.standing() {
                    Standing::Behind(t) if t.slot > ours.slot.saturating_add(1) => {
                        self.fall_behind(t.slot, out);
                        // This tip is fresh: no need to ask for it again.
                        self.l1_tip = Some(tip);
                    }
                    Standing::Level if !self.level => {
                        self.level = true;
                        info!(target: "chunkseq::sync", slot = ours.slot, "level with L1 again");
                        out.push(Output::Event(Event::CaughtUp {
                            slot: ours.slot,
                            number: ours.last_number,
                            level: true,
                        }));
                    }
                    _ => {}
                }
            }
            Input::SyncResponse(response) => self.replay_provisional(now, &response, out),
            Input::L1Checkpoints(events) => {
                debug!(target: "chunkseq::sync", count = events.len(), "checkpoints from L1's logs arrived after catching up; L1's events carry them");
            }
            _ => {}
        }
    }

    /// Applies verified checkpoints, oldest first. When the checkpointed
    /// tip moves, the give-up timer starts again: a node that makes
    /// progress keeps going however far behind it started.
    fn apply_checkpoints(&mut self, events: Vec<L1Event>, out: &mut Vec<Output>) {
        let before = self.chain.checkpointed().slot;
        for e in events {
            self.on_l1(e, out);
        }
        if self.chain.checkpointed().slot > before
            && let Some(c) = &mut self.catching_up
        {
            c.since = None;
        }
    }

    /// Starts catching up again: this node missed a checkpoint L1 holds.
    pub(crate) fn fall_behind(&mut self, l1_slot: u64, out: &mut Vec<Output>) {
        if self.catching_up.is_some() {
            return;
        }
        let ours = self.chain.checkpointed();
        warn!(target: "chunkseq::sync", slot = ours.slot, l1_slot, "behind L1: catching up again");
        self.catching_up = Some(CatchUp::default());
        self.level = false;
        // The tip it knows may be stale (it said level): ask L1 again.
        self.l1_tip = None;
        out.push(Output::Event(Event::FellBehind {
            slot: ours.slot,
            l1_slot,
        }));
    }

    /// Asks again when due, and ends the catch-up when level with L1 or
    /// when waiting longer is pointless.
    pub(crate) fn catch_up_poll(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let retry = self.cfg.catch_up_retry_ms;
        let give_up = self.cfg.catch_up_give_up_ms;
        let standing = self.standing();
        let (since, asked) = match &mut self.catching_up {
            Some(c) => (*c.since.get_or_insert(now), c.asked),
            None => return,
        };
        let waited_out = now.0.saturating_sub(since.0) >= give_up;
        let due = asked.is_none_or(|t| now.0 >= t.0.saturating_add(retry));
        match standing {
            Standing::Level => self.caught_up(true, out),
            Standing::Unknown if waited_out => {
                warn!(target: "chunkseq::sync", "no answer from L1 about its checkpoint tip; taking part anyway");
                self.caught_up(false, out);
            }
            Standing::Behind(_) if waited_out => {
                warn!(target: "chunkseq::sync", "the missed checkpoints were not served; taking part behind L1");
                self.caught_up(false, out);
            }
            Standing::Unknown if due => {
                self.asked_at(now);
                out.push(Output::FetchL1Tip);
            }
            Standing::Behind(tip) if due => {
                self.asked_at(now);
                let ours = self.chain.checkpointed();
                debug!(target: "chunkseq::sync", after_slot = ours.slot, l1_slot = tip.slot, "asking peers and L1 for missed checkpoints");
                out.push(Output::RequestSync(SyncRequest {
                    after_slot: ours.slot,
                }));
                out.push(Output::FetchCheckpoints {
                    after_slot: ours.slot,
                    from_l1_block: ours.l1_block,
                });
            }
            Standing::Unknown | Standing::Behind(_) => {}
        }
    }

    fn asked_at(&mut self, now: UnixMillis) {
        if let Some(c) = &mut self.catching_up {
            c.asked = Some(now);
        }
    }

    /// The next time a catching-up core must look again.
    pub(crate) fn next_catch_up_deadline(&self) -> Option<UnixMillis> {
        let c = self.catching_up.as_ref()?;
        let retry = c
            .asked
            .map(|t| UnixMillis(t.0.saturating_add(self.cfg.catch_up_retry_ms)));
        let give_up = c
            .since
            .map(|t| UnixMillis(t.0.saturating_add(self.cfg.catch_up_give_up_ms)));
        retry.into_iter().chain(give_up).min()
    }

    /// Ends the catch-up: held L1 events are applied, and peers are asked
    /// for the provisional blocks above the checkpoint.
    fn caught_up(&mut self, level: bool, out: &mut Vec<Output>) {
        let Some(c) = self.catching_up.take() else {
            return;
        };
        self.level = level;
        for event in c.held {
            self.on_l1(event, out);
        }
        let ours = self.chain.checkpointed();
        info!(target: "chunkseq::sync", slot = ours.slot, number = ours.last_number, level, "caught up; taking part");
        out.push(Output::Event(Event::CaughtUp {
            slot: ours.slot,
            number: ours.last_number,
            level,
        }));
        out.push(Output::RequestSync(SyncRequest {
            after_slot: ours.slot,
        }));
    }

    /// Applies checkpoints read from L1 itself: they need only continue
    /// this node's chain.
    fn apply_l1_checkpoints(&mut self, events: Vec<L1Event>, out: &mut Vec<Output>) {
        if !matches!(self.standing(), Standing::Behind(_)) {
            return;
        }
        let ours = self.chain.checkpointed();
        let records: Vec<CheckpointRecord> = events
            .iter()
            .filter_map(CheckpointRecord::from_event)
            .filter(|r| r.slot > ours.slot)
            .collect();
        match sync::verify_continuation(ours.header_hash, &records) {
            Ok(events) => {
                if !events.is_empty() {
                    info!(target: "chunkseq::sync", checkpoints = events.len(), "applying checkpoints read from L1");
                }
                self.apply_checkpoints(events, out);
            }
            Err(e) => {
                warn!(target: "chunkseq::sync", error = %e, "checkpoints read from L1 do not continue this node's chain");
            }
        }
    }

    /// Applies checkpoints a peer served, when their hash chain ends at
    /// L1's tip.
    fn apply_served_checkpoints(&mut self, response: &SyncResponse, out: &mut Vec<Output>) {
        let Standing::Behind(tip) = self.standing() else {
            return;
        };
        let ours = self.chain.checkpointed();
        let served = response
            .checkpoints
            .get(..MAX_SYNC_CHECKPOINTS)
            .unwrap_or(&response.checkpoints);
        match sync::verify_chain(ours.header_hash, served, tip.header_hash) {
            Ok(events) => {
                info!(target: "chunkseq::sync", checkpoints = events.len(), "applying checkpoints served by a peer");
                self.apply_checkpoints(events, out);
            }
            Err(e) => debug!(target: "chunkseq::sync", error = %e, "sync answer not usable"),
        }
    }

    /// Replays a peer's provisional blocks above the checkpoint as gossip.
    fn replay_provisional(
        &mut self,
        now: UnixMillis,
        response: &SyncResponse,
        out: &mut Vec<Output>,
    ) {
        let mut replayed = 0usize;
        for raw in response.proposals.iter().take(MAX_SYNC_BLOCKS) {
            match ProposalMessage::decode_wire(raw) {
                Ok(m) => {
                    self.on_input_live(now, Input::Gossip(Gossip::Proposal(m)), out);
                    replayed = replayed.saturating_add(1);
                }
                Err(e) => {
                    debug!(target: "chunkseq::sync", error = %e, "undecodable proposal in a sync answer")
                }
            }
        }
        for raw in response.provisionals.iter().take(MAX_SYNC_BLOCKS) {
            match ProvisionalBlockMessage::decode_wire(raw) {
                Ok(m) => self.on_input_live(now, Input::Gossip(Gossip::Provisional(m)), out),
                Err(e) => {
                    debug!(target: "chunkseq::sync", error = %e, "undecodable provisional block in a sync answer")
                }
            }
        }
        if replayed > 0 {
            debug!(target: "chunkseq::sync", blocks = replayed, "replayed provisional blocks from a peer");
        }
    }
}
