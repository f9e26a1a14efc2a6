//! A fixed-bucket latency histogram on atomics: one `fetch_add` per bucket hit plus one for
//! the sum, no lock and no allocation per observation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the request-duration buckets, in seconds (`+Inf` is implicit).
pub(crate) const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Upper bounds of the time-to-first-token buckets, in seconds.
pub(crate) const TTFT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counts per bucket (not cumulative; the exposition sums them) and the sum in microseconds.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// The bounds in microseconds, compared on the hot path instead of floats.
    bounds_us: Box<[u64]>,
    /// One per bound, then `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_us: AtomicU64,
}

/// A consistent-enough reading for the exposition: cumulative counts end with `+Inf`, which
/// is the count, whatever observations raced with the read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// `(le, cumulative count)` per bound, `+Inf` last (as `f64::INFINITY`).
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            bounds_us: bounds.iter().map(|b| (b * 1e6).round() as u64).collect(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = self
            .bounds_us
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(self.bounds_us.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut total = 0;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.iter().enumerate() {
            total += c.load(Ordering::Relaxed);
            let le = self.bounds.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((le, total));
        }
        Snapshot {
            buckets,
            sum_seconds: self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
            count: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_the_count() {
        let h = Histogram::new(&[0.01, 0.1]);
        h.observe(Duration::from_millis(10)); // on the bound: counted in le=0.01
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_secs(3));
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(0.01, 1), (0.1, 2), (f64::INFINITY, 3)]);
        assert_eq!(s.count, 3);
        assert!((s.sum_seconds - 3.06).abs() < 1e-9, "{}", s.sum_seconds);
    }
}
