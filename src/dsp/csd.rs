//! Cumulative spectral decay (CSD, the "waterfall"): the spectrum of what is left of an
//! impulse response after each of a series of start times, up to one fixed end. Each slice
//! starts with a short half-Hann rise; all share the same end taper. A resonance that rings
//! on (a cup, a boom, a port) stands out as a ridge that decays slower than its neighbours.
//! Pure.
//!
//! A slice's value at a frequency is left out (NaN) where it is less than 10 dB above what
//! the impulse response's own noise would put into a slice of its length: below that, the
//! slice shows the noise, not the device. (10 dB, not the response's 6 dB: the slices share
//! their tail, so one high draw of the noise would otherwise stand in several of them.)

use std::f64::consts::PI;

use rayon::prelude::*;

use super::fft::FftCache;
use crate::results::Csd;

/// Slices of a channel's stored decay.
const CSD_SLICES: usize = 30;

/// Where the slices start and how they are shaped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsdSettings {
    /// Time between slice starts, s.
    pub step_s: f64,
    pub slices: usize,
    /// Length of each slice's rise, s.
    pub rise_s: f64,
    /// Length of the common end taper, s.
    pub end_taper_s: f64,
}

/// The slices' levels, dB re the first slice's highest value: `level_db[k][i]` at slice `k`
/// (starting `k · step_s` after the peak) and `grid_hz[i]`; NaN where not measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CsdSlices {
    pub start_s: Vec<f64>,
    pub level_db: Vec<Vec<f64>>,
}

/// Power below which a slice's point is noise: 10 dB above the expected noise.
const NOISE_GATE: f64 = 10.0;

/// The CSD of impulse response `ir` (circular: indices wrap) from its `peak` (sample index)
/// to the fixed `end` (samples after the peak), on `grid_hz`. `noise` is a stretch of the
/// response holding only noise (indices after the peak), if there is one.
#[allow(clippy::too_many_arguments)]
pub fn cumulative_spectral_decay(
    ir: &[f64],
    peak: isize,
    end: usize,
    noise: Option<(isize, isize)>,
    fs: f64,
    grid_hz: &[f64],
    s: &CsdSettings,
    fft: &mut FftCache,
) -> CsdSlices {
    let len = ir.len() as isize;
    let at = |o: isize| ir[(peak + o).rem_euclid(len) as usize];
    let rise = ((s.rise_s * fs).round() as usize).max(1);
    let taper = ((s.end_taper_s * fs).round() as usize).max(1);
    let step = s.step_s * fs;
    // a transform long enough for the longest slice, padded to at least twice its length
    // (the grid is read between bins)
    let n = (2 * end).next_power_of_two().max(1024);
    let bin = |f: f64| f * n as f64 / fs;
    // the noise power a slice of `l` samples collects per bin, from the noise stretch
    let noise_per_sample: Option<Vec<f64>> = noise.and_then(|(a, b)| {
        let l = (b - a).max(0) as usize;
        (l >= 64).then(|| {
            let x: Vec<f64> = (a..b).map(at).collect();
            let spec = fft.forward(&x, n);
            grid_hz
                .iter()
                .map(|&f| {
                    // averaged over ±1/12 octave: a single bin of noise scatters
                    let (lo, hi) = (
                        bin(f / 1.06).floor() as usize,
                        bin(f * 1.06).ceil() as usize,
                    );
                    let hi = hi.min(n / 2).max(lo + 1);
                    let p: f64 = spec[lo..hi].iter().map(|c| c.norm_sqr()).sum();
                    p / (hi - lo) as f64 / l as f64
                })
                .collect()
        })
    });
    // the slices that fit before the end (the condition only grows with k), each its own
    // transform: made side by side (rayon keeps their order)
    let from_of = |k: usize| (k as f64 * step).round() as usize;
    let count = (0..s.slices)
        .take_while(|&k| from_of(k) + rise + taper < end)
        .count();
    let start_s: Vec<f64> = (0..count).map(|k| from_of(k) as f64 / fs).collect();
    let powers: Vec<Vec<f64>> = (0..count)
        .into_par_iter()
        .map_init(
            || fft.clone(),
            |fft, k| {
                let from = from_of(k);
                let l = end - from;
                let x: Vec<f64> = (0..l)
                    .map(|i| {
                        let mut w = 1.0;
                        if i < rise {
                            w *= 0.5 - 0.5 * (PI * (i as f64 + 0.5) / rise as f64).cos();
                        }
                        let j = l - 1 - i;
                        if j < taper {
                            w *= 0.5 - 0.5 * (PI * (j as f64 + 0.5) / taper as f64).cos();
                        }
                        at(from as isize + i as isize) * w
                    })
                    .collect();
                let spec = fft.forward(&x, n);
                let p: Vec<f64> = grid_hz
                    .iter()
                    .map(|&f| {
                        let b = bin(f);
                        let i = (b.floor() as usize).min(n / 2 - 1);
                        let t = b - i as f64;
                        let m = spec[i].norm() * (1.0 - t) + spec[i + 1].norm() * t;
                        m * m
                    })
                    .collect();
                match &noise_per_sample {
                    Some(np) => p
                        .iter()
                        .zip(np)
                        .map(|(&p, &q)| {
                            if p >= NOISE_GATE * q * l as f64 {
                                p
                            } else {
                                f64::NAN
                            }
                        })
                        .collect(),
                    None => p,
                }
            },
        )
        .collect();
    let top = powers
        .first()
        .map(|p| {
            p.iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let level_db = powers
        .into_iter()
        .map(|p| {
            p.into_iter()
                .map(|v| {
                    if v.is_finite() && top > 0.0 && v > 0.0 {
                        10.0 * (v / top).log10()
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect();
    CsdSlices { start_s, level_db }
}

/// A channel's decay as stored: 30 slices over the first half of its measured decay (2–20 ms
/// in all), every slice ending at the end of the response's window (`decay` samples after the
/// peak, at least 5 ms, at most `max_right`), on `freq_hz`; levels to 0.01 dB (a view, not a
/// figure that needs more). `None` when fewer than two slices fit, or when there is no
/// stretch of pure `noise` to tell the slices from noise by.
pub fn channel_csd(
    ir: &[f64],
    peak: isize,
    (decay, max_right): (usize, usize),
    noise: Option<(isize, isize)>,
    fs: f64,
    freq_hz: Vec<f64>,
    fft: &mut FftCache,
) -> Option<Csd> {
    noise?;
    let end = decay.max((0.005 * fs) as usize).min(max_right);
    let span = (decay as f64 / fs * 0.5).clamp(0.002, 0.02);
    let settings = CsdSettings {
        step_s: span / (CSD_SLICES - 1) as f64,
        slices: CSD_SLICES,
        rise_s: 0.0001,
        end_taper_s: 0.1 * end as f64 / fs,
    };
    let c = cumulative_spectral_decay(ir, peak, end, noise, fs, &freq_hz, &settings, fft);
    (c.start_s.len() >= 2).then(|| Csd {
        freq_hz,
        start_ms: c.start_s.iter().map(|t| t * 1e3).collect(),
        level_db: c
            .level_db
            .iter()
            .map(|s| {
                s.iter()
                    .map(|v| v.is_finite().then(|| (v * 100.0).round() / 100.0))
                    .collect()
            })
            .collect(),
        end_ms: end as f64 / fs * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decaying sinusoid h(n) = e^{−n/τ}·sin(2π f₀ n/fs) loses 20·log10(e)·t/τ dB by slice
    /// time t at f₀ (each slice is the first one scaled by e^{−t/τ}, its phase turned): exact
    /// to the leakage of the negative-frequency image, here under 0.05 dB.
    #[test]
    fn a_resonance_decays_at_its_time_constant() {
        let fs = 48000.0;
        let (f0, tau) = (3000.0, 0.002);
        let n = 1 << 14;
        let ir: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                (-t / tau).exp() * (2.0 * PI * f0 * t).sin()
            })
            .collect();
        let grid = vec![1000.0, f0, 6000.0];
        let s = CsdSettings {
            step_s: 0.0005,
            slices: 12,
            rise_s: 0.0001,
            end_taper_s: 0.001,
        };
        let mut fft = FftCache::new();
        let c = cumulative_spectral_decay(&ir, 0, 2400, None, fs, &grid, &s, &mut fft);
        assert_eq!(c.start_s.len(), 12);
        let l0 = c.level_db[0][1];
        assert!(
            l0.abs() < 1e-9,
            "the first slice's peak is 0 dB at f0: {l0}"
        );
        for (k, t) in c.start_s.iter().enumerate() {
            let want = -20.0 * std::f64::consts::E.log10() * t / tau;
            let got = c.level_db[k][1] - l0;
            assert!(
                (got - want).abs() < 0.05,
                "slice {k} at {t} s: {got:.3} dB, want {want:.3}"
            );
        }
    }

    /// Where the response has sunk into its noise, the slice is not measured (NaN); where it
    /// stands well above, it is.
    #[test]
    fn slices_below_the_noise_are_left_out() {
        let fs = 48000.0;
        let (f0, tau) = (2000.0, 0.001);
        let n = 1 << 14;
        let mut seed = 7u64;
        let ir: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2e-4;
                (-t / tau).exp() * (2.0 * PI * f0 * t).sin() + noise
            })
            .collect();
        let grid = vec![f0];
        let s = CsdSettings {
            step_s: 0.001,
            slices: 20,
            rise_s: 0.0001,
            end_taper_s: 0.001,
        };
        let mut fft = FftCache::new();
        let c =
            cumulative_spectral_decay(&ir, 0, 2400, Some((4000, 12000)), fs, &grid, &s, &mut fft);
        // up to 6 ms (−52 dB) the ringing stands ≥ 25 dB above the noise a slice collects
        for k in 0..=6 {
            assert!(c.level_db[k][0].is_finite(), "slice {k} ms left out");
        }
        // from 10 ms (−87 dB, below the noise) every slice is left out
        for k in 10..20 {
            let v = c.level_db[k][0];
            assert!(v.is_nan(), "slice {k} ms, in the noise, reads {v} dB");
        }
    }

    /// A channel's stored decay needs a stretch of pure noise to tell its slices from noise
    /// by: without one it is not reported; with one it has 30 slices to the window's end.
    #[test]
    fn no_noise_stretch_no_decay() {
        let fs = 48000.0;
        let ir: Vec<f64> = (0..1 << 15)
            .map(|i| {
                let t = i as f64 / fs;
                (-t / 0.002).exp() * (2.0 * PI * 3000.0 * t).sin()
            })
            .collect();
        let freq = vec![1000.0, 3000.0];
        let mut fft = FftCache::new();
        let none = channel_csd(&ir, 0, (2400, 9600), None, fs, freq.clone(), &mut fft);
        assert!(none.is_none());
        let c = channel_csd(
            &ir,
            0,
            (2400, 9600),
            Some((9600, 20000)),
            fs,
            freq,
            &mut fft,
        )
        .expect("a decay");
        assert_eq!(c.start_ms.len(), 30);
        assert!((c.end_ms - 50.0).abs() < 1e-9);
        // slices over the first half of the 50 ms decay: the last starts at 20 ms (capped)
        assert!((c.start_ms[29] - 20.0).abs() < 0.05, "{}", c.start_ms[29]);
    }
}
