//! Small statistics over timings.

use std::time::Duration;

/// Median of durations in milliseconds (0 for none).
pub(super) fn median_ms(samples: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let upper = ms.get(n / 2).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        upper
    } else {
        let lower = n
            .checked_sub(1)
            .and_then(|i| ms.get(i / 2))
            .copied()
            .unwrap_or(0.0);
        (lower + upper) / 2.0
    }
}

/// Items per second at `ms` milliseconds per `items`.
pub(super) fn per_second(items: usize, ms: f64) -> f64 {
    if ms <= 0.0 {
        0.0
    } else {
        items as f64 * 1000.0 / ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let d = |ms| Duration::from_millis(ms);
        assert_eq!(median_ms(&[d(3), d(1), d(2)]), 2.0);
        assert_eq!(median_ms(&[d(4), d(1), d(2), d(3)]), 2.5);
        assert_eq!(median_ms(&[]), 0.0);
        assert_eq!(per_second(1000, 50.0), 20_000.0);
    }
}
