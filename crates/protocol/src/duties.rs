//! Committee and proposer of each slot: asked of L1 ahead of time, asked
//! again while L1 cannot answer, and recorded on L1 by validators when the
//! committee of an upcoming epoch has not been recorded yet (the contract
//! serves only recorded committees; checkpoints record the epoch two ahead,
//! so this happens after genesis and after a stretch without checkpoints).

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
    /// Asks for the duties of the current slot, the next two, and any slot a
    /// pending report needs, unless already known, asked, or waiting to be
    /// asked again.
    pub(crate) fn request_duties(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        let Some(current) = self.timetable.slot_at(now) else {
            return;
        };
        let upcoming = current.0..=current.0.saturating_add(2);
        let wanted: Vec<u64> = upcoming.chain(self.wanted_duties.iter().copied()).collect();
        for slot in wanted {
            if slot == 0 || self.duties.contains_key(&slot) {
                continue;
            }
            if self.duties_retry_at.get(&slot).is_some_and(|t| *t > now) {
                continue;
            }
            if self.requested_duties.insert(slot) {
                out.push(Output::FetchDuties(slot));
            }
        }
    }

    /// The duties of `slot` arrived.
    pub(crate) fn on_duties(&mut self, slot: u64, duties: Duties) {
        self.duties.insert(slot, duties);
        self.duties_retry_at.remove(&slot);
        self.wanted_duties.remove(&slot);
    }

    /// L1 could not give the duties of `slot` (not recorded yet, or L1 lags):
    /// ask again one L1 block later. A validator also records the slot's
    /// committee, at most once per [`RECORD_RETRY_L1_BLOCKS`] L1 blocks; L1
    /// refuses that call (costing nothing) when the epoch cannot be recorded.
    pub(crate) fn on_duties_unavailable(
        &mut self,
        now: UnixMillis,
        slot: u64,
        reason: &str,
        out: &mut Vec<Output>,
    ) {
        debug!(target: "chunkseq::protocol", slot, reason, "duties unavailable");
        self.requested_duties.remove(&slot);
        let block_ms = self.spec.l1_block_time_ms;
        self.prune_duties(slot);
        self.duties_retry_at
            .insert(slot, now.checked_add_ms(block_ms).unwrap_or(now));
        if self.signer.is_none() || now < self.timetable.genesis() {
            return;
        }
        let epoch = slot / u64::from(self.spec.epoch_slots.max(1));
        let retry = block_ms.saturating_mul(RECORD_RETRY_L1_BLOCKS);
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
        let epoch_slots = u64::from(self.spec.epoch_slots.max(1));
        self.recording = self.recording.split_off(&(keep_from / epoch_slots));
    }
}
