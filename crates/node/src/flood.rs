//! The devnet's flood benchmark: load far above capacity for a while, then
//! back to the base rate, and what that did to admission, latency and
//! memory (docs/execution.md, "Flood").
//!
//! Times are ms since the devnet's origin, as the aggregator counts them.

use chunkseq_report::Percentiles;

/// A flood to run: `tps` for `seconds`, starting when the slot
/// `after_slots` after the first loaded one starts building.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flood {
    /// The rate during the flood.
    pub tps: f64,
    /// Slots at the base rate before it.
    pub after_slots: u64,
    /// Its length.
    pub seconds: u64,
}

/// A slot is back to normal once its provisional p99 is at most this many
/// times the p99 before the flood (or that plus [`NORMAL_SLACK_MS`]).
pub const NORMAL_FACTOR: f64 = 1.5;
/// See [`NORMAL_FACTOR`].
pub const NORMAL_SLACK_MS: f64 = 250.0;

/// What the devnet samples while a flood runs.
#[derive(Clone, Debug)]
pub struct FloodWatch {
    /// The window, ms.
    pub start_ms: u64,
    /// Its end, ms.
    pub end_ms: u64,
    /// Resident memory at the last sample before the window.
    pub rss_before: Option<u64>,
    /// Highest resident memory sampled from the window on.
    pub rss_peak: u64,
    /// Largest pool of any node sampled from the window on.
    pub pool_peak: u64,
}

impl FloodWatch {
    /// A watch over `[start_ms, end_ms)`.
    pub const fn new(start_ms: u64, end_ms: u64) -> Self {
        Self {
            start_ms,
            end_ms,
            rss_before: None,
            rss_peak: 0,
            pool_peak: 0,
        }
    }

    /// Takes a sample at `ms`: resident memory and the largest pool.
    pub fn sample(&mut self, ms: u64, rss: Option<u64>, pool: u64) {
        if ms < self.start_ms {
            self.rss_before = rss.or(self.rss_before);
        } else {
            self.rss_peak = self.rss_peak.max(rss.unwrap_or(0));
            self.pool_peak = self.pool_peak.max(pool);
        }
    }

    /// The figures of a finished run. `latencies` are `(submitted, provisional
    /// latency)` of every transaction seen provisional, ms; `slots` are
    /// `(slot, build start, provisional latencies of its transactions)`.
    pub fn summary(
        &self,
        latencies: &[(u64, u64)],
        slots: &[(u64, u64, Vec<f64>)],
        made: (u64, u64),
        rss_after: Option<u64>,
    ) -> FloodSummary {
        let window = |from: u64, to: u64| -> Vec<f64> {
            latencies
                .iter()
                .filter(|(at, _)| *at >= from && *at < to)
                .map(|(_, l)| *l as f64)
                .collect()
        };
        let before = window(0, self.start_ms);
        let during = window(self.start_ms, self.end_ms);
        let after = window(self.end_ms, u64::MAX);
        let normal_p99 = Percentiles::of(&before).p99;
        let bound = (normal_p99 * NORMAL_FACTOR).max(normal_p99 + NORMAL_SLACK_MS);
        let mut after_slots = slots.iter().filter(|(_, start, _)| *start >= self.end_ms);
        let back_to_normal = after_slots
            .position(|(_, _, l)| !l.is_empty() && Percentiles::of(l).p99 <= bound)
            .map(|n| n as u64);
        FloodSummary {
            made_during: made.0,
            provisional_during: during.len() as u64,
            made_after: made.1,
            p99_before_ms: normal_p99,
            p99_during_ms: Percentiles::of(&during).p99,
            max_during_ms: during.iter().copied().fold(0.0, f64::max),
            p99_after_ms: Percentiles::of(&after).p99,
            back_to_normal_slots: back_to_normal,
            pool_peak: self.pool_peak,
            rss_before: self.rss_before,
            rss_peak: self.rss_peak,
            rss_after,
        }
    }
}

/// A flood's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodSummary {
    /// Transactions made during the flood.
    pub made_during: u64,
    /// Of those, how many became provisional.
    pub provisional_during: u64,
    /// Transactions made after it.
    pub made_after: u64,
    /// Provisional p99 of transactions sent before the flood, ms.
    pub p99_before_ms: f64,
    /// Provisional p99 of transactions sent during it that were accepted, ms.
    pub p99_during_ms: f64,
    /// The slowest of those, ms.
    pub max_during_ms: f64,
    /// Provisional p99 of transactions sent after it, ms.
    pub p99_after_ms: f64,
    /// Slots after the flood's end until one's p99 is back within
    /// [`NORMAL_FACTOR`] of `p99_before_ms` (0: the first one was);
    /// `None` if none was.
    pub back_to_normal_slots: Option<u64>,
    /// Largest pool of any node.
    pub pool_peak: u64,
    /// Resident memory before, at the peak and after, bytes.
    pub rss_before: Option<u64>,
    /// See `rss_before`.
    pub rss_peak: u64,
    /// See `rss_before`.
    pub rss_after: Option<u64>,
}

impl std::fmt::Display for FloodSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::memory::mib;
        let mb =
            |b: Option<u64>| b.map_or_else(|| "?".to_owned(), |b| format!("{:.0} MiB", mib(b)));
        writeln!(
            f,
            "flood: {} txs made during it, {} of them provisional; {} made after it; peak pool {}",
            self.made_during, self.provisional_during, self.made_after, self.pool_peak
        )?;
        writeln!(
            f,
            "flood: provisional p99 {:.0} ms before, {:.0} ms during (slowest {:.0} ms), {:.0} ms after; {}",
            self.p99_before_ms,
            self.p99_during_ms,
            self.max_during_ms,
            self.p99_after_ms,
            match self.back_to_normal_slots {
                Some(n) => format!("back to normal {n} slot(s) after it ended"),
                None => "not back to normal by the end of the run".to_owned(),
            }
        )?;
        let ratio = match (self.rss_before, self.rss_after) {
            (Some(b), Some(a)) if b > 0 => format!(" ({:.2}x before)", a as f64 / b as f64),
            _ => String::new(),
        };
        write!(
            f,
            "flood: resident memory {} before, {} peak, {} after{ratio}",
            mb(self.rss_before),
            mb(Some(self.rss_peak)),
            mb(self.rss_after)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_splits_by_submission_time_and_finds_the_return_to_normal() {
        let mut w = FloodWatch::new(1_000, 2_000);
        w.sample(500, Some(100), 5);
        w.sample(1_500, Some(300), 900);
        w.sample(2_500, Some(120), 10);
        let latencies = [
            (100, 500),
            (900, 600),
            (1_200, 4_000),
            (1_900, 9_000),
            (2_100, 700),
        ];
        let slots = vec![
            (1, 0, vec![500.0, 600.0]),
            (2, 1_000, vec![4_000.0]),
            (3, 2_000, vec![3_000.0]),
            (4, 3_000, vec![700.0]),
        ];
        let s = w.summary(&latencies, &slots, (2, 1), Some(130));
        assert_eq!(
            (s.rss_before, s.rss_peak, s.pool_peak),
            (Some(100), 300, 900)
        );
        assert_eq!(s.provisional_during, 2);
        assert_eq!(s.max_during_ms, 9_000.0);
        assert_eq!(
            s.back_to_normal_slots,
            Some(1),
            "slot 3 is slow, slot 4 normal"
        );
        let text = s.to_string();
        assert!(text.contains("(1.30x before)"), "{text}");
    }
}
