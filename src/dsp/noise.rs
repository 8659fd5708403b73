//! Noise floor: Welch power spectral density and band levels (AES17 dBFS).

use std::f64::consts::PI;

use super::fft::FftCache;
use super::weighting::a_weighting_gain;

/// A one-sided power spectral density, units of (full scale)²/Hz.
#[derive(Debug, Clone)]
pub struct Psd {
    pub freq_hz: Vec<f64>,
    pub power_per_hz: Vec<f64>,
    pub bin_hz: f64,
}

/// Welch PSD with a periodic Hann window, 50 % overlap, mean removed per segment.
/// `segment` is a power of two; the signal must hold at least one segment.
pub fn welch_psd(x: &[f64], sample_rate: f64, segment: usize, fft: &mut FftCache) -> Psd {
    assert!(segment >= 16 && x.len() >= segment);
    let window: Vec<f64> = (0..segment)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / segment as f64).cos())
        .collect();
    let wpow: f64 = window.iter().map(|w| w * w).sum();
    let hop = segment / 2;
    let bins = segment / 2 + 1;
    let mut acc = vec![0.0; bins];
    let mut count = 0usize;
    let mut buf = vec![0.0; segment];
    let mut start = 0;
    while start + segment <= x.len() {
        let seg = &x[start..start + segment];
        let mean = seg.iter().sum::<f64>() / segment as f64;
        for ((b, &v), &w) in buf.iter_mut().zip(seg).zip(&window) {
            *b = (v - mean) * w;
        }
        let spec = fft.forward(&buf, segment);
        for (a, s) in acc.iter_mut().zip(&spec) {
            *a += s.norm_sqr();
        }
        count += 1;
        start += hop;
    }
    let scale = 1.0 / (sample_rate * wpow * count as f64);
    let power_per_hz = acc
        .iter()
        .enumerate()
        .map(|(k, &a)| {
            if k == 0 || k == bins - 1 {
                a * scale
            } else {
                2.0 * a * scale
            }
        })
        .collect();
    let bin_hz = sample_rate / segment as f64;
    Psd {
        freq_hz: (0..bins).map(|k| k as f64 * bin_hz).collect(),
        power_per_hz,
        bin_hz,
    }
}

impl Psd {
    /// Mean-square level in [lo, hi] Hz (each bin counted over the part of its width inside),
    /// optionally A-weighted.
    pub fn band_power(&self, lo_hz: f64, hi_hz: f64, a_weighted: bool) -> f64 {
        let half = self.bin_hz / 2.0;
        self.freq_hz
            .iter()
            .zip(&self.power_per_hz)
            .map(|(&f, &p)| {
                let overlap = ((f + half).min(hi_hz) - (f - half).max(lo_hz)).max(0.0);
                let w = if a_weighted {
                    a_weighting_gain(f).powi(2)
                } else {
                    1.0
                };
                p * w * overlap
            })
            .sum()
    }
}

/// The share of `x` (0…1) that lies in runs of at least `min_run` identical samples: digital
/// silence (a noise gate, a muted input, a converter stuck at one value), where no noise
/// floor can be measured. Real noise, even 16-bit noise a few LSB strong, has no such runs.
pub fn digital_silence_share(x: &[f64], min_run: usize) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mut silent = 0usize;
    let mut i = 0;
    while i < x.len() {
        let mut j = i + 1;
        while j < x.len() && x[j] == x[i] {
            j += 1;
        }
        if j - i >= min_run {
            silent += j - i;
        }
        i = j;
    }
    silent as f64 / x.len() as f64
}

/// AES17 level of a mean-square value: a full-scale sine (mean square ½) reads 0 dBFS.
pub fn dbfs_from_power(mean_square: f64) -> f64 {
    10.0 * (2.0 * mean_square).max(1e-30).log10()
}
