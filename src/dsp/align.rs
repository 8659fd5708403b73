//! Aligning several runs of the same sweep before they are averaged.
//!
//! Sweeps played back to back drift apart when the capture clock differs from the playback
//! clock (20 ppm over a 3 s period is 2.9 samples a run: averaged as recorded, the runs cancel
//! each other above a few kHz), and runs recorded one after another (re-seats) arrive with
//! different latencies. Each run is therefore compared with the first, its offset and its
//! clock ratio measured, and it is resampled onto the first run's timeline before the average.
//!
//! The measurement: the cross-spectrum C(f) = Y_r(f)·conj(Y_0(f)) of two runs of one
//! exponential sweep cancels the sweep and (nearly) the device, leaving the relative timing.
//! A run that is late by τ and whose clock runs ε faster than the first run's receives the
//! frequency f, played at t(f) = t₀ + L·ln(f/f₀), τ + ε·L·ln(f/f₀) later, so
//! arg C(f) = a − 2π·f·(τ + ε·L·ln(f/f₀)). The whole-sample part of τ comes from the
//! cross-correlation's peak; a weighted least-squares fit of the phase left (smoothed over
//! neighbouring bins, unwrapped) gives the rest of τ and ε. The same model, for one run
//! against the stimulus, is what [`super::drift`] fits.

use std::f64::consts::PI;

use realfft::num_complex::Complex64;

use super::fft::{FftCache, good_size};
use super::resample::{HALF_TAPS, SincInterpolator};
use super::sweep::SweepLayout;

/// A run whose aligned cross-spectrum keeps less than this share of its magnitude (1 = the
/// two runs are the same signal up to the fitted timing) is not the same measurement (a
/// dropout, a moved microphone, noise only) and is left out of the average.
pub const MIN_COHERENCE: f64 = 0.5;
/// Bins averaged into each point of the phase fit (smooths noise before unwrapping).
const SMOOTH_BINS: usize = 32;
/// The sweep must stand this far (dB) above the pre-roll on the reference channel for runs
/// to be aligned at all; below it there is nothing to align on.
const MIN_SWEEP_OVER_NOISE_DB: f64 = 20.0;

/// How one run was placed on the first run's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunAlignment {
    /// Samples by which this run arrives later than the first (at the sweep's start).
    pub delay_samples: f64,
    /// Its clock relative to the first run's, ppm (+: this run's sweep is stretched).
    pub drift_ppm: f64,
    /// |Σ C·e^{−iφ_fit}| / Σ|C| over the swept band: 1 for runs that differ only in timing.
    pub coherence: f64,
    /// Whether it went into the average.
    pub used: bool,
}

/// The runs averaged, and how each was aligned.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignedAverage {
    /// The average, per channel.
    pub channels: Vec<Vec<f64>>,
    /// One entry per run (the first: zero delay and drift); empty when the runs could not be
    /// aligned (no channel holds the sweep) and were averaged as recorded.
    pub runs: Vec<RunAlignment>,
}

/// Averages `runs` (each a set of channels, sample 0 of each run at the stimulus's sample 0)
/// into `len` samples per channel, each run aligned to the first. Runs that do not match the
/// first (coherence below [`MIN_COHERENCE`]) are left out (`used` false). When no channel
/// holds the sweep clearly, the runs are averaged as recorded and `runs` is empty.
pub fn average_aligned(
    runs: &[Vec<&[f64]>],
    len: usize,
    layout: &SweepLayout,
    fft: &mut FftCache,
) -> AlignedAverage {
    let n_ch = runs.first().map_or(0, Vec::len);
    let Some(reference) = reference_channel(&runs[0], layout) else {
        let plain = (0..n_ch)
            .map(|c| average(runs.iter().map(|r| Shifted::whole(r[c])), len))
            .collect();
        return AlignedAverage {
            channels: plain,
            runs: Vec::new(),
        };
    };
    let mut fits = vec![RunAlignment {
        delay_samples: 0.0,
        drift_ppm: 0.0,
        coherence: 1.0,
        used: true,
    }];
    // one transform length for all (zero-padded to twice the longest run: no wrap-around in
    // the cross-correlation), and the first run's spectrum taken once
    let longest = runs.iter().map(|r| r[reference].len()).max().unwrap_or(0);
    let n = good_size(2 * longest.max(HALF_TAPS));
    let first = fft.forward(runs[0][reference], n);
    for run in &runs[1..] {
        fits.push(relative_timing(&first, n, run[reference], layout, fft));
    }
    // the drift term's time origin: the sweep's first sample, where it is at f₀
    let origin = layout.sweep_first_sample as f64;
    let interp = SincInterpolator::new();
    let channels = (0..n_ch)
        .map(|c| {
            let shifted = runs
                .iter()
                .zip(&fits)
                .filter(|(_, f)| f.used)
                .map(|(r, f)| Shifted {
                    x: r[c],
                    delay: f.delay_samples,
                    drift: f.drift_ppm * 1e-6,
                    origin,
                    interp: Some(&interp),
                });
            average(shifted, len)
        })
        .collect();
    AlignedAverage {
        channels,
        runs: fits,
    }
}

/// The channel on which runs are aligned: the one whose sweep stands highest above its
/// pre-roll, if any stands [`MIN_SWEEP_OVER_NOISE_DB`] above it.
fn reference_channel(run: &[&[f64]], layout: &SweepLayout) -> Option<usize> {
    let (first, end) = (layout.sweep_first_sample, layout.sweep_end_sample);
    let ms = |x: &[f64]| {
        if x.is_empty() {
            0.0
        } else {
            x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
        }
    };
    run.iter()
        .enumerate()
        .filter_map(|(i, x)| {
            let sweep = ms(&x[first.min(x.len())..end.min(x.len())]);
            // the pre-roll, short of where the sweep could already arrive
            let noise = ms(&x[..(first * 9 / 10).min(x.len())]);
            let ratio_db = 10.0 * (sweep / noise.max(1e-30)).log10();
            (sweep > 0.0 && ratio_db >= MIN_SWEEP_OVER_NOISE_DB).then_some((i, sweep))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The timing of `y` relative to the first run, whose spectrum (length `n`) is `first`
/// (both one channel of one run of the same sweep).
fn relative_timing(
    first: &[Complex64],
    n: usize,
    y: &[f64],
    layout: &SweepLayout,
    fft: &mut FftCache,
) -> RunAlignment {
    let unusable = RunAlignment {
        delay_samples: 0.0,
        drift_ppm: 0.0,
        coherence: 0.0,
        used: false,
    };
    if y.len() < 2 * HALF_TAPS {
        return unusable;
    }
    let fs = f64::from(layout.sample_rate);
    // the cross-spectrum, formed in place in y's spectrum
    let mut cross = fft.forward(y, n);
    for (c, x) in cross.iter_mut().zip(first) {
        *c *= x.conj();
    }
    // whole samples: the cross-correlation's peak (lags wrap: n − k is −k)
    let cc = fft.inverse(&cross, n);
    let (peak, _) =
        cc.iter().enumerate().fold(
            (0, 0.0f64),
            |b, (i, v)| if v.abs() > b.1 { (i, v.abs()) } else { b },
        );
    let lag = if peak > n / 2 {
        peak as f64 - n as f64
    } else {
        peak as f64
    };
    // remove it, then fit what is left over the band the sweep covered
    let df = fs / n as f64;
    for (k, c) in cross.iter_mut().enumerate() {
        *c *= Complex64::from_polar(1.0, 2.0 * PI * k as f64 * lag / n as f64);
    }
    let (lo_hz, hi_hz) = (layout.start_hz * 1.5, layout.end_hz / 1.25);
    let (k0, k1) = (
        (lo_hz / df).ceil() as usize,
        ((hi_hz / df).floor() as usize).min(cross.len() - 1),
    );
    if k1 <= k0 + 4 * SMOOTH_BINS {
        return unusable;
    }
    // points: bins averaged in groups (complex, so weighted by magnitude), unwrapped
    let mut points: Vec<(f64, f64, f64)> = Vec::new(); // (f Hz, unwrapped phase, weight)
    let mut prev: Option<f64> = None;
    for start in (k0..k1).step_by(SMOOTH_BINS) {
        let end = (start + SMOOTH_BINS).min(k1);
        let sum: Complex64 = cross[start..end].iter().sum();
        let f = df * 0.5 * (start + end - 1) as f64;
        let mut phase = sum.arg();
        if let Some(p) = prev {
            phase += 2.0 * PI * ((p - phase) / (2.0 * PI)).round();
        }
        prev = Some(phase);
        points.push((f, phase, sum.norm()));
    }
    // weighted least squares: φ = a − 2π·f·(τ + ε·L·ln(f/f₀)), unknowns (a, τ, ε)
    let (l, f0) = (layout.rate_l_s, layout.phase_start_hz);
    let rows: Vec<([f64; 3], f64, f64)> = points
        .iter()
        .map(|&(f, ph, w)| {
            (
                [1.0, -2.0 * PI * f, -2.0 * PI * f * l * (f / f0).ln()],
                ph,
                w,
            )
        })
        .collect();
    let Some([a, tau_s, eps]) = least_squares3(&rows) else {
        return unusable;
    };
    // coherence: how much of the cross-spectrum the fitted timing explains
    let (mut along, mut total) = (Complex64::new(0.0, 0.0), 0.0);
    for (k, c) in cross.iter().enumerate().take(k1 + 1).skip(k0) {
        let f = k as f64 * df;
        let model = a - 2.0 * PI * f * (tau_s + eps * l * (f / f0).ln());
        along += c * Complex64::from_polar(1.0, -model);
        total += c.norm();
    }
    let coherence = if total > 0.0 {
        along.norm() / total
    } else {
        0.0
    };
    let usable = coherence >= MIN_COHERENCE && eps.abs() < 1e-3;
    RunAlignment {
        delay_samples: lag + tau_s * fs,
        drift_ppm: eps * 1e6,
        coherence,
        used: usable,
    }
}

/// Solves the 3-unknown weighted least-squares problem Σ w·(row·p − y)² → min by its normal
/// equations (Cramer's rule; three unknowns need no linear-algebra crate).
fn least_squares3(rows: &[([f64; 3], f64, f64)]) -> Option<[f64; 3]> {
    let mut m = [[0.0; 3]; 3];
    let mut v = [0.0; 3];
    for (r, y, w) in rows {
        for i in 0..3 {
            v[i] += w * r[i] * y;
            for j in 0..3 {
                m[i][j] += w * r[i] * r[j];
            }
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-300 || !d.is_finite() {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = v[i];
        }
        *o = det(&mk) / d;
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// One run seen on the first run's timeline: its sample at position p of the first run is
/// `x` at p + delay + drift·(p − origin), band-limited interpolated (`interp` None: the run
/// as recorded).
struct Shifted<'a> {
    x: &'a [f64],
    delay: f64,
    drift: f64,
    origin: f64,
    interp: Option<&'a SincInterpolator>,
}

impl<'a> Shifted<'a> {
    /// A run taken as recorded.
    fn whole(x: &'a [f64]) -> Shifted<'a> {
        Shifted {
            x,
            delay: 0.0,
            drift: 0.0,
            origin: 0.0,
            interp: None,
        }
    }

    /// Its value at position `p` of the first run's timeline, None outside what it holds.
    fn at(&self, p: usize) -> Option<f64> {
        match self.interp {
            Some(k) if self.delay != 0.0 || self.drift != 0.0 => {
                let t = p as f64 + self.delay + self.drift * (p as f64 - self.origin);
                (t >= 0.0 && t <= (self.x.len() - 1) as f64).then(|| k.value_in(self.x, t))
            }
            _ => self.x.get(p).copied(),
        }
    }
}

/// The average of `runs` at each of `len` positions, over the runs that hold the position.
fn average<'a>(runs: impl Iterator<Item = Shifted<'a>>, len: usize) -> Vec<f64> {
    let runs: Vec<Shifted> = runs.collect();
    (0..len)
        .map(|p| {
            let (sum, count) = runs
                .iter()
                .filter_map(|r| r.at(p))
                .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
            sum / count.max(1) as f64
        })
        .collect()
}
