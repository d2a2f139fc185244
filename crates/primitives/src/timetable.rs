//! The timetable: when each slot is built, attested and published, as pure
//! functions of a [`ChainSpec`].
//!
//! For slot `s` starting at `T = genesis + s * S`, with margin `m`:
//!
//! | mode | build window | attestation deadline | tip freeze | L1 inclusion |
//! |---|---|---|---|---|
//! | non-staggered | `[T + sync, T + S - publish)` | build end + `m` | deadline + `m` | `[T, T + S)` |
//! | staggered | `[T - S, T - 2m)` | `T - m` | `T` | `[T, T + S)` |
//!
//! The build window is cut into `chunks_per_slot` equal chunks; chunk `k`
//! holds at most block `k`. In both modes the last block has one margin for
//! its attestation round trip before the deadline, after which nothing of the
//! slot is attested or signed as provisional, and a provisional block signed
//! before the deadline has one more margin to reach every node before the tip
//! freezes. In staggered mode the tip freezes exactly when the next proposer
//! starts building on it. See `docs/timetable.md`.

use serde::Serialize;
use thiserror::Error;

use crate::{
    ids::{BlockIndex, Slot, UnixMillis},
    spec::{ChainSpec, SpecError},
};

/// A time the timetable cannot answer for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimetableError {
    /// The slot starts beyond the range of millisecond timestamps.
    #[error("{0} lies beyond the representable time range")]
    SlotOutOfRange(Slot),
    /// In staggered mode slot 0 would be built before genesis; nothing is built for it.
    #[error("{0} has no build window: in staggered mode the first slot with blocks is slot 1")]
    NoBuildWindow(Slot),
    /// No such chunk in a slot.
    #[error("{index} is out of range: a slot has {chunks} chunks")]
    NoSuchChunk {
        /// The index asked for.
        index: BlockIndex,
        /// Chunks per slot.
        chunks: u32,
    },
}

/// The rescue window of a validated spec (see [`Timetable::rescue_window_ms`]).
fn rescue_window_ms(spec: &ChainSpec) -> u64 {
    let l1 = spec.l1_block_time_ms;
    let blocks = if spec.staggered {
        spec.slot_duration_ms.checked_div(l1).map(|b| b >> 1)
    } else {
        spec.sync_allowance_ms.checked_div(l1)
    };
    blocks.unwrap_or(0).max(1).saturating_mul(l1)
}

/// The derived timing of a validated `ChainSpec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timetable {
    genesis: UnixMillis,
    slot_ms: u64,
    chunks: u32,
    staggered: bool,
    /// Build window start relative to the slot start (negative when staggered).
    build_start_offset: i64,
    /// Build window end relative to the slot start.
    build_end_offset: i64,
    /// Attestation deadline relative to the slot start.
    deadline_offset: i64,
    /// Tip freeze relative to the slot start.
    freeze_offset: i64,
    attestation_timeout_ms: u64,
    /// L1 block time.
    l1_block_ms: u64,
    /// How long after a slot ends its attested chain may be rescued.
    rescue_window_ms: u64,
    /// Staggered slots whose build window is longer than `chunks - 1` slot
    /// periods: every chunk but the first lasts one period
    /// (`slot / chunks`), and the first takes what is left. See
    /// [`Timetable::chunk`].
    period_ms: Option<u64>,
}

/// One chunk of a slot's build window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChunkWindow {
    /// The block index this chunk may hold.
    pub index: BlockIndex,
    /// When the chunk opens (the previous block closed).
    pub start: UnixMillis,
    /// When the block of this chunk closes.
    pub close: UnixMillis,
}

/// Everything time-related about one slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlotSchedule {
    /// The slot.
    pub slot: Slot,
    /// `T`, when the slot begins.
    pub slot_start: UnixMillis,
    /// `T + S`, when the next slot begins.
    pub slot_end: UnixMillis,
    /// When the proposer starts building block 0.
    pub build_start: UnixMillis,
    /// When the last chunk closes.
    pub build_end: UnixMillis,
    /// The chunks, in index order.
    pub chunks: Vec<ChunkWindow>,
    /// Nothing of this slot is attested, or signed as provisional, after this.
    pub attestation_deadline: UnixMillis,
    /// Followers accept no provisional block of this slot after this; the
    /// slot's chain is final and the next proposer builds on it.
    pub tip_freeze: UnixMillis,
    /// The checkpoint counts only in an L1 block with a timestamp in
    /// `[l1_inclusion_start, l1_inclusion_end)`, that is `[T, T + S)`.
    pub l1_inclusion_start: UnixMillis,
    /// End (exclusive) of the L1 inclusion window.
    pub l1_inclusion_end: UnixMillis,
    /// When the proposer publishes: from the later of the tip freeze and the
    /// inclusion window's start (earlier when all chunks are provisional)
    /// until the inclusion window ends.
    pub publish_start: UnixMillis,
    /// End (exclusive) of the rescue window, which opens at `slot_end`:
    /// until then anyone holding the slot's attested chain may publish it
    /// if the proposer did not (docs/rescue.md).
    pub rescue_end: UnixMillis,
}

impl Timetable {
    /// Validates the spec and derives its timetable.
    pub fn new(spec: &ChainSpec) -> Result<Self, SpecError> {
        spec.validate()?;
        // After validation every duration is at most a day, so the i64 casts are exact.
        let slot = spec.slot_duration_ms as i64;
        let m = spec.attestation_margin_ms as i64;
        let (start, end) = if spec.staggered {
            (slot.saturating_neg(), m.saturating_mul(-2))
        } else {
            (
                spec.sync_allowance_ms as i64,
                slot.saturating_sub(spec.publish_allowance_ms as i64),
            )
        };
        let deadline = end.saturating_add(m);
        let window = end.abs_diff(start);
        let n = u64::from(spec.chunks_per_slot);
        let period = spec.slot_duration_ms.checked_div(n).unwrap_or(0);
        let rest = period.saturating_mul(n.saturating_sub(1));
        let period_ms = (spec.staggered && n > 1 && window > rest).then_some(period);
        Ok(Self {
            genesis: UnixMillis(spec.genesis_time.saturating_mul(1000)),
            slot_ms: spec.slot_duration_ms,
            chunks: spec.chunks_per_slot,
            staggered: spec.staggered,
            build_start_offset: start,
            build_end_offset: end,
            deadline_offset: deadline,
            freeze_offset: deadline.saturating_add(m),
            attestation_timeout_ms: spec.attestation_timeout_ms,
            l1_block_ms: spec.l1_block_time_ms,
            rescue_window_ms: rescue_window_ms(spec),
            period_ms,
        })
    }

    /// L1 block time.
    pub const fn l1_block_time_ms(&self) -> u64 {
        self.l1_block_ms
    }

    /// How long after a slot ends its attested chain may still be rescued
    /// (and the next slot's checkpoint waits, unless the slot's proposer
    /// published): half the slot's L1 blocks when staggered, the sync
    /// allowance when not, at least one L1 block. The Rollup contract
    /// derives the same from the same parameters.
    pub const fn rescue_window_ms(&self) -> u64 {
        self.rescue_window_ms
    }

    /// The rescue window of `slot`: `[end of the slot, end + rescue window)`.
    pub fn rescue_window(&self, slot: Slot) -> Result<(UnixMillis, UnixMillis), TimetableError> {
        let end = self
            .slot_start(slot)?
            .checked_add_ms(self.slot_ms)
            .ok_or(TimetableError::SlotOutOfRange(slot))?;
        let close = end
            .checked_add_ms(self.rescue_window_ms)
            .ok_or(TimetableError::SlotOutOfRange(slot))?;
        Ok((end, close))
    }

    /// Start of slot 0.
    pub const fn genesis(&self) -> UnixMillis {
        self.genesis
    }

    /// Slot length in milliseconds.
    pub const fn slot_duration_ms(&self) -> u64 {
        self.slot_ms
    }

    /// Whether slots are staggered.
    pub const fn staggered(&self) -> bool {
        self.staggered
    }

    /// How long a proposer waits for one block's attestations.
    pub const fn attestation_timeout_ms(&self) -> u64 {
        self.attestation_timeout_ms
    }

    /// Length of one chunk: one slot period over the chunk count when slots
    /// are staggered and the first chunk absorbs the hand-over gap, else the
    /// build window over the chunk count (the remainder of an uneven split
    /// going to the last chunks).
    pub fn chunk_duration_ms(&self) -> u64 {
        self.period_ms.unwrap_or_else(|| {
            self.build_window_ms()
                .checked_div(u64::from(self.chunks))
                .unwrap_or(0)
        })
    }

    /// When chunk `k` (`0..=chunks`, `chunks` meaning the window's end)
    /// opens, in ms after the build window's start.
    fn chunk_offset(&self, k: u64) -> u64 {
        let window = self.build_window_ms();
        let n = u64::from(self.chunks);
        match self.period_ms {
            // Counted back from the window's end, one period each, so the
            // first chunk is the short one: a transaction that arrives while
            // no block is open (between two slots' build windows) still waits
            // at most one period.
            Some(p) if k > 0 => window.saturating_sub(p.saturating_mul(n.saturating_sub(k))),
            Some(_) => 0,
            // k <= 64 and the window is at most a day: no overflow.
            None => k.saturating_mul(window).checked_div(n).unwrap_or(0),
        }
    }

    /// Length of the build window.
    pub fn build_window_ms(&self) -> u64 {
        self.build_end_offset.abs_diff(self.build_start_offset)
    }

    /// The first slot that has blocks: 1 when staggered (slot 0 would be built
    /// before genesis), else 0.
    pub const fn first_building_slot(&self) -> Slot {
        if self.staggered { Slot(1) } else { Slot(0) }
    }

    /// When `slot` starts.
    pub fn slot_start(&self, slot: Slot) -> Result<UnixMillis, TimetableError> {
        slot.0
            .checked_mul(self.slot_ms)
            .and_then(|d| self.genesis.checked_add_ms(d))
            .and_then(|t| t.checked_add_ms(self.slot_ms).map(|_| t))
            .ok_or(TimetableError::SlotOutOfRange(slot))
    }

    /// The slot in progress at `now`, or `None` before genesis.
    pub fn slot_at(&self, now: UnixMillis) -> Option<Slot> {
        now.millis_since(self.genesis)
            .and_then(|d| d.checked_div(self.slot_ms))
            .map(Slot)
    }

    /// The slot whose build window contains `now`, with the chunk that is open,
    /// or `None` when no build window is open (between windows, before the
    /// first one).
    pub fn building_at(&self, now: UnixMillis) -> Option<(Slot, BlockIndex)> {
        let current = self.slot_at(now)?;
        // A build window overlaps the slot it serves or, staggered, the one before.
        let candidate = if self.staggered {
            current.checked_next()?
        } else {
            current
        };
        let start = self.offset(self.slot_start(candidate).ok()?, self.build_start_offset)?;
        let end = self.offset(self.slot_start(candidate).ok()?, self.build_end_offset)?;
        if now < start || now >= end {
            return None;
        }
        let elapsed = now.millis_since(start)?;
        let window = self.build_window_ms();
        let n = u64::from(self.chunks);
        let k = match self.period_ms {
            Some(p) => {
                let first = self.chunk_offset(1);
                if elapsed < first {
                    0
                } else {
                    elapsed.checked_sub(first)?.checked_div(p)?.checked_add(1)?
                }
            }
            // Chunk k covers [floor(kW/N), floor((k+1)W/N)) from the window
            // start, so floor(kW/N) <= e  <=>  k <= floor(((e+1)N - 1) / W).
            None => elapsed
                .checked_add(1)?
                .checked_mul(n)?
                .checked_sub(1)?
                .checked_div(window)?,
        };
        let index = u32::try_from(k).ok().filter(|k| *k < self.chunks)?;
        Some((candidate, BlockIndex(index)))
    }

    /// When chunk `index` of `slot` opens and closes.
    pub fn chunk(&self, slot: Slot, index: BlockIndex) -> Result<ChunkWindow, TimetableError> {
        if index.0 >= self.chunks {
            return Err(TimetableError::NoSuchChunk {
                index,
                chunks: self.chunks,
            });
        }
        let build_start = self.build_start(slot)?;
        let at = |k: u64| -> Result<UnixMillis, TimetableError> {
            build_start
                .checked_add_ms(self.chunk_offset(k))
                .ok_or(TimetableError::SlotOutOfRange(slot))
        };
        let k = u64::from(index.0);
        Ok(ChunkWindow {
            index,
            start: at(k)?,
            close: at(k.saturating_add(1))?,
        })
    }

    /// When the proposer of `slot` starts building.
    pub fn build_start(&self, slot: Slot) -> Result<UnixMillis, TimetableError> {
        if slot < self.first_building_slot() {
            return Err(TimetableError::NoBuildWindow(slot));
        }
        let t = self.slot_start(slot)?;
        self.offset(t, self.build_start_offset)
            .ok_or(TimetableError::NoBuildWindow(slot))
    }

    /// The attestation deadline of `slot`.
    pub fn attestation_deadline(&self, slot: Slot) -> Result<UnixMillis, TimetableError> {
        let t = self.slot_start(slot)?;
        self.offset(t, self.deadline_offset)
            .ok_or(TimetableError::SlotOutOfRange(slot))
    }

    /// When the provisional tip of `slot` freezes.
    pub fn tip_freeze(&self, slot: Slot) -> Result<UnixMillis, TimetableError> {
        let t = self.slot_start(slot)?;
        self.offset(t, self.freeze_offset)
            .ok_or(TimetableError::SlotOutOfRange(slot))
    }

    /// The full schedule of `slot`.
    pub fn schedule(&self, slot: Slot) -> Result<SlotSchedule, TimetableError> {
        let slot_start = self.slot_start(slot)?;
        let slot_end = slot_start
            .checked_add_ms(self.slot_ms)
            .ok_or(TimetableError::SlotOutOfRange(slot))?;
        let chunks = (0..self.chunks)
            .map(|k| self.chunk(slot, BlockIndex(k)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SlotSchedule {
            slot,
            slot_start,
            slot_end,
            build_start: self.build_start(slot)?,
            build_end: self
                .offset(slot_start, self.build_end_offset)
                .ok_or(TimetableError::NoBuildWindow(slot))?,
            chunks,
            attestation_deadline: self.attestation_deadline(slot)?,
            tip_freeze: self.tip_freeze(slot)?,
            l1_inclusion_start: slot_start,
            l1_inclusion_end: slot_end,
            publish_start: self.tip_freeze(slot)?.max(slot_start),
            rescue_end: self.rescue_window(slot)?.1,
        })
    }

    fn offset(&self, t: UnixMillis, offset: i64) -> Option<UnixMillis> {
        if offset >= 0 {
            t.checked_add_ms(offset.unsigned_abs())
        } else {
            t.checked_sub_ms(offset.unsigned_abs())
        }
    }
}

impl SlotSchedule {
    /// Milliseconds from the slot start to `t` (negative before it).
    pub fn offset_ms(&self, t: UnixMillis) -> i64 {
        let diff = i128::from(t.0).saturating_sub(i128::from(self.slot_start.0));
        i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;
    use proptest::prelude::*;

    fn table(p: Preset) -> Timetable {
        Timetable::new(&p.spec()).unwrap()
    }

    #[test]
    fn devnet_slot_one() {
        let tt = table(Preset::Devnet);
        let s = tt.schedule(Slot(1)).unwrap();
        let g = tt.genesis().0;
        assert_eq!(s.slot_start.0, g + 8_000);
        assert_eq!(
            s.build_start.0, g,
            "staggered: slot 1 is built during slot 0"
        );
        assert_eq!(
            s.build_end.0,
            g + 7_400,
            "two margins before the slot starts"
        );
        assert_eq!(
            s.attestation_deadline.0,
            g + 7_700,
            "one margin before the slot starts"
        );
        assert_eq!(
            s.tip_freeze, s.slot_start,
            "the next proposer starts on a frozen tip"
        );
        assert_eq!(s.chunks.len(), 8);
        // One-second chunks; the first absorbs the 600 ms hand-over gap, so
        // no transaction waits more than one second for a block to close.
        assert_eq!(tt.chunk_duration_ms(), 1_000);
        assert_eq!((s.chunks[0].start.0, s.chunks[0].close.0), (g, g + 400));
        for (k, c) in s.chunks.iter().enumerate().skip(1) {
            assert_eq!(c.start.0, g + 400 + 1_000 * (k as u64 - 1));
            assert_eq!(c.close.0, g + 400 + 1_000 * k as u64);
        }
        let next = tt.schedule(Slot(2)).unwrap();
        assert_eq!(
            next.chunks[0].close.0 - s.chunks[7].close.0,
            1_000,
            "the gap between slots and the next first chunk make one period"
        );
        assert_eq!(
            (s.l1_inclusion_start, s.l1_inclusion_end),
            (s.slot_start, s.slot_end)
        );
        assert_eq!(s.publish_start, s.slot_start);
    }

    #[test]
    fn seed_slot_zero() {
        let tt = table(Preset::Seed);
        let s = tt.schedule(Slot(0)).unwrap();
        let g = tt.genesis().0;
        assert_eq!(s.build_start.0, g + 12_000);
        assert_eq!(s.build_end.0, g + 48_000);
        let closes: Vec<u64> = s.chunks.iter().map(|c| c.close.0 - g).collect();
        assert_eq!(closes, vec![30_000, 48_000]);
        assert_eq!(s.attestation_deadline.0, g + 51_000);
        assert_eq!(s.tip_freeze.0, g + 54_000);
        assert_eq!(s.publish_start, s.tip_freeze);
        assert!(
            s.tip_freeze.0 + 12_000 <= s.l1_inclusion_end.0,
            "one L1 block left to publish"
        );
    }

    #[test]
    fn staggered_slots_hand_over_at_the_tip_freeze() {
        for p in [Preset::SeedStaggered, Preset::Fast, Preset::Devnet] {
            let tt = table(p);
            for s in 1..20 {
                let a = tt.schedule(Slot(s)).unwrap();
                let b = tt.schedule(Slot(s + 1)).unwrap();
                assert_eq!(a.tip_freeze, b.build_start, "{p} slot {s}");
                assert!(a.build_end < a.attestation_deadline, "{p}");
                assert!(a.attestation_deadline < a.tip_freeze, "{p}");
            }
        }
    }

    #[test]
    fn chunks_are_contiguous_and_cover_the_window() {
        for p in Preset::ALL {
            let tt = table(p);
            let s = tt.schedule(tt.first_building_slot()).unwrap();
            assert_eq!(s.chunks.first().unwrap().start, s.build_start, "{p}");
            assert_eq!(s.chunks.last().unwrap().close, s.build_end, "{p}");
            for w in s.chunks.windows(2) {
                assert_eq!(w[0].close, w[1].start, "{p}");
                assert!(w[0].start < w[0].close, "{p}");
            }
        }
    }

    fn check_building_at(tt: &Timetable, slot: Slot) -> Result<(), TestCaseError> {
        let s = tt.schedule(slot).unwrap();
        for c in &s.chunks {
            prop_assert_eq!(tt.building_at(c.start), Some((slot, c.index)));
            prop_assert_eq!(
                tt.building_at(UnixMillis(c.close.0 - 1)),
                Some((slot, c.index))
            );
        }
        prop_assert_eq!(
            tt.building_at(s.build_end),
            None,
            "the margins are not chunks"
        );
        prop_assert_eq!(
            tt.building_at(UnixMillis(s.build_start.0 - 1)).map(|b| b.0) == Some(slot),
            false
        );
        Ok(())
    }

    #[test]
    fn building_at_agrees_with_the_chunks_of_the_presets() {
        for p in Preset::ALL {
            let tt = table(p);
            for slot in 1..4 {
                check_building_at(&tt, Slot(slot)).unwrap();
            }
        }
    }

    proptest! {
        /// Any valid spec, including windows that do not divide evenly.
        #[test]
        fn building_at_agrees_with_the_chunks(
            staggered in any::<bool>(), slot_s in 2u64..200, chunks in 1u32..=64,
            margin in 1u64..2_000, sync in 1u64..5_000, slot in 1u64..1_000,
        ) {
            let mut spec = Preset::Devnet.spec();
            spec.staggered = staggered;
            spec.slot_duration_ms = slot_s * 1000;
            spec.l1_block_time_ms = 1000;
            spec.chunks_per_slot = chunks;
            spec.attestation_margin_ms = margin;
            spec.attestation_timeout_ms = 1000;
            if !staggered {
                spec.sync_allowance_ms = sync;
                spec.publish_allowance_ms = 2 * margin + 1000;
            }
            prop_assume!(spec.validate().is_ok());
            check_building_at(&Timetable::new(&spec).unwrap(), Slot(slot))?;
        }
    }

    #[test]
    fn slot_at_and_slot_start_are_inverse() {
        let tt = table(Preset::Fast);
        assert_eq!(tt.slot_at(UnixMillis(tt.genesis().0 - 1)), None);
        for s in [0, 1, 7, 1_000_000] {
            let t = tt.slot_start(Slot(s)).unwrap();
            assert_eq!(tt.slot_at(t), Some(Slot(s)));
            assert_eq!(tt.slot_at(UnixMillis(t.0 + 23_999)), Some(Slot(s)));
        }
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        let tt = table(Preset::Devnet);
        assert_eq!(
            tt.schedule(Slot(0)),
            Err(TimetableError::NoBuildWindow(Slot(0)))
        );
        assert_eq!(
            tt.schedule(Slot(u64::MAX)),
            Err(TimetableError::SlotOutOfRange(Slot(u64::MAX)))
        );
        assert!(matches!(
            tt.chunk(Slot(1), BlockIndex(8)),
            Err(TimetableError::NoSuchChunk { .. })
        ));
        let mut spec = Preset::Devnet.spec();
        spec.genesis_time = 0;
        let tt = Timetable::new(&spec).unwrap();
        assert_eq!(
            tt.schedule(Slot(0)),
            Err(TimetableError::NoBuildWindow(Slot(0)))
        );
        assert!(tt.schedule(Slot(1)).is_ok());
    }
}
