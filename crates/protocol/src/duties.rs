//! Committee and proposer of each slot: asked of L1 ahead of time, asked
//! again while L1 cannot answer, and recorded on L1 by validators.
//!
//! The contract serves only recorded committees. A committee's seed is the
//! L1 randomness of the block that first records its epoch, which anyone may
//! time within the recording window, so honest nodes record early: the
//! proposer of each epoch's first slot records the epoch two ahead at once,
//! every checkpoint records the next two epochs, and a validator whose
//! duties L1 cannot serve (after genesis, after a stretch without
//! checkpoints) records everything up to two epochs ahead.

use chunkseq_l1::RollupCall;
use chunkseq_primitives::UnixMillis;
use tracing::debug;

use crate::{
    core::Core,
    io::{Duties, Output},
};

/// L1 blocks between two attempts to record the same epoch's committee.
const RECORD_RETRY_L1_BLOCKS: u64 = 4;

impl Core {
    /// Slots per epoch.
    pub(crate) fn epoch_slots(&self) -> u64 {
        u64::from(self.spec.epoch_slots.max(1))
    }

    /// The epoch at `now` (0 before genesis).
    pub(crate) fn epoch_at(&self, now: UnixMillis) -> u64 {
        self.timetable.slot_at(now).map_or(0, |s| s.0) / self.epoch_slots()
    }

    /// Half an L1 block before genesis: when a validator asks L1 to record
    /// the first committees, so that they land in the first block at genesis
    /// and slot 1 has its duties at once. (The call is checked against the
    /// next L1 block, which by then is the one at genesis.)
    pub(crate) fn genesis_record_time(&self) -> UnixMillis {
        let genesis = self.timetable.genesis();
        genesis
            .checked_sub_ms(self.spec.l1_block_time_ms / 2)
            .unwrap_or(genesis)
    }

    /// Asks for the duties of the current slot, the next two, and any slot a
    /// pending report needs, unless already known, asked, or waiting to be
    /// asked again. Just before genesis, records the first committees.
    pub(crate) fn request_duties(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let Some(current) = self.timetable.slot_at(now) else {
            if now >= self.genesis_record_time()
                && !self.genesis_record_sent
                && self.signer.is_some()
            {
                // Not throttled like later attempts: if L1 refuses it (its
                // next block is still before genesis), the first duties
                // request at genesis records at once.
                self.genesis_record_sent = true;
                out.push(Output::SubmitL1 {
                    call: RollupCall::RecordCommittee { epoch: 2 },
                    deadline: None,
                });
            }
            return;
        };
        for slot in current.0..=current.0.saturating_add(2) {
            self.ask_duties(now, slot, out);
        }
        // Runs on every input: no allocation unless a report waits.
        if !self.wanted_duties.is_empty() {
            let wanted: Vec<u64> = self.wanted_duties.iter().copied().collect();
            for slot in wanted {
                self.ask_duties(now, slot, out);
            }
        }
        self.record_at_epoch_start(now, current.0, out);
    }

    /// Asks for the duties of `slot` unless known, asked, or waiting to be
    /// asked again.
    fn ask_duties(&mut self, now: UnixMillis, slot: u64, out: &mut Vec<Output>) {
        if slot == 0 || self.duties.contains_key(&slot) {
            return;
        }
        if self.duties_retry_at.get(&slot).is_some_and(|t| *t > now) {
            return;
        }
        if self.requested_duties.insert(slot) {
            out.push(Output::FetchDuties(slot));
        }
    }

    /// The duties of `slot` arrived.
    pub(crate) fn on_duties(&mut self, slot: u64, duties: Duties) {
        self.duties.insert(slot, duties);
        self.duties_retry_at.remove(&slot);
        self.wanted_duties.remove(&slot);
    }

    /// L1 could not give the duties of `slot` (not recorded yet, or L1 lags):
    /// ask again one L1 block later, and, as a validator, record the
    /// committees up to two epochs ahead.
    pub(crate) fn on_duties_unavailable(
        &mut self,
        now: UnixMillis,
        slot: u64,
        reason: &str,
        out: &mut Vec<Output>,
    ) {
        debug!(target: "chunkseq::protocol", slot, reason, "duties unavailable");
        self.requested_duties.remove(&slot);
        let current = self.timetable.slot_at(now).map_or(0, |s| s.0);
        self.prune_duties(current);
        let block_ms = self.spec.l1_block_time_ms;
        self.duties_retry_at
            .insert(slot, now.checked_add_ms(block_ms).unwrap_or(now));
        // L1 records an epoch from two epochs before it until the epoch
        // itself: outside that window the call could only be refused.
        let epoch = slot / self.epoch_slots();
        let current_epoch = self.epoch_at(now);
        if epoch < current_epoch || epoch > current_epoch.saturating_add(2) {
            return;
        }
        self.record(now, current_epoch.saturating_add(2), out);
    }

    /// At the start of an epoch, its first slot's proposer records the
    /// epoch two ahead, so the seed comes from the epoch's first L1 blocks
    /// rather than from whichever block someone picks later.
    fn record_at_epoch_start(&mut self, now: UnixMillis, slot: u64, out: &mut Vec<Output>) {
        if !slot.is_multiple_of(self.epoch_slots()) {
            return;
        }
        let (Some(me), Some(duties)) = (self.me(), self.duties.get(&slot)) else {
            return;
        };
        if duties.proposer != me {
            return;
        }
        let target = (slot / self.epoch_slots()).saturating_add(2);
        if !self.recording.contains_key(&target) {
            self.record(now, target, out);
        }
    }

    /// Asks L1 to record every unrecorded committee up to `epoch`, at most
    /// once per [`RECORD_RETRY_L1_BLOCKS`] L1 blocks. L1 refuses the call
    /// (at no cost) when there is nothing to record or it is too early.
    fn record(&mut self, now: UnixMillis, epoch: u64, out: &mut Vec<Output>) {
        if self.signer.is_none() || now < self.timetable.genesis() {
            return;
        }
        let retry = self
            .spec
            .l1_block_time_ms
            .saturating_mul(RECORD_RETRY_L1_BLOCKS);
        if self
            .recording
            .get(&epoch)
            .is_some_and(|t| now.millis_since(*t).is_none_or(|d| d < retry))
        {
            return;
        }
        self.recording.insert(epoch, now);
        out.push(Output::SubmitL1 {
            call: RollupCall::RecordCommittee { epoch },
            deadline: None,
        });
    }

    /// The earliest time a duties request is due again.
    pub(crate) fn next_duties_retry(&self) -> Option<UnixMillis> {
        self.duties_retry_at.values().min().copied()
    }

    /// Forgets retry bookkeeping of slots well behind `current`.
    fn prune_duties(&mut self, current: u64) {
        let keep_from = current.saturating_sub(self.cfg.keep_slots.saturating_mul(4));
        self.duties_retry_at = self.duties_retry_at.split_off(&keep_from);
        self.recording = self.recording.split_off(&(keep_from / self.epoch_slots()));
    }
}
