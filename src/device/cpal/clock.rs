//! The two streams' clocks: per-callback estimates of each stream's frame-0 instant (from
//! cpal's timestamps, written by the callbacks into atomics) and the offset between the
//! output's and the input's clock, from which the backend's idea of the latency follows.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use cpal::traits::StreamTrait;

use super::*;

/// Per-callback estimates of a stream's frame-0 instant (ns on that stream's clock), with the
/// stream position (frames) of the callback, for the first [`TIMESTAMP_WINDOW_S`] seconds.
pub(super) struct TimestampLog {
    pub(super) frames: Box<[AtomicU64]>,
    pub(super) ns: Box<[AtomicI64]>,
    pub(super) len: AtomicUsize,
}

impl TimestampLog {
    pub(super) fn new() -> Self {
        TimestampLog {
            frames: (0..TIMESTAMP_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            ns: (0..TIMESTAMP_SLOTS).map(|_| AtomicI64::new(0)).collect(),
            len: AtomicUsize::new(0),
        }
    }

    /// Whether a callback at stream position `frames` is still inside the window.
    pub(super) fn wants(frames: u64, fs: u64) -> bool {
        (frames as f64) < TIMESTAMP_WINDOW_S.1 * fs as f64
    }

    /// Single writer (one callback thread).
    pub(super) fn record(&self, frames: u64, ns: i64) {
        let i = self.len.load(Ordering::Relaxed);
        if i < self.ns.len() {
            self.frames[i].store(frames, Ordering::Relaxed);
            self.ns[i].store(ns, Ordering::Relaxed);
            self.len.store(i + 1, Ordering::Release);
        }
    }

    /// Median and spread (max − min) of the estimates, ns. Callbacks of the stream's first
    /// [`TIMESTAMP_WINDOW_S`]`.0` seconds are left out when enough later ones exist: an output
    /// stream's first callbacks fill its buffer before the device runs, and their `playback`
    /// instants are tens of ms early.
    pub(super) fn estimate(&self, fs: u64) -> Option<(i64, i64)> {
        let n = self.len.load(Ordering::Acquire);
        let all: Vec<(u64, i64)> = (0..n)
            .map(|i| {
                (
                    self.frames[i].load(Ordering::Relaxed),
                    self.ns[i].load(Ordering::Relaxed),
                )
            })
            .collect();
        let settled = |&(f, _): &(u64, i64)| f as f64 >= TIMESTAMP_WINDOW_S.0 * fs as f64;
        let mut v: Vec<i64> = if all.iter().filter(|e| settled(e)).count() >= 3 {
            all.iter().filter(|e| settled(e)).map(|e| e.1).collect()
        } else {
            all.iter().map(|e| e.1).collect()
        };
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some((v[v.len() / 2], v[v.len() - 1] - v[0]))
    }
}

#[inline]
pub(super) fn frames_to_ns(frames: u64, fs: u64) -> i64 {
    (frames as u128 * 1_000_000_000 / fs as u128) as i64
}

/// `in.now() − out.now()` in ns, from the back-to-back reading (of 20) with the tightest
/// bracket.
pub(super) fn clock_offset(out: &cpal::Stream, inp: &cpal::Stream) -> i64 {
    let mut best = (u128::MAX, 0i64);
    for _ in 0..20 {
        let a = out.now().as_nanos();
        let b = inp.now().as_nanos();
        let c = out.now().as_nanos();
        let bracket = c.saturating_sub(a);
        if bracket < best.0 {
            best = (bracket, (b as i128 - ((a + c) / 2) as i128) as i64);
        }
    }
    best.1
}
