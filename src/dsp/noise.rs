//! Noise floor: Welch power spectral density and band levels (AES17 dBFS).

use std::f64::consts::PI;

use super::fft::FftCache;
use super::weighting::a_weighting_gain;
use crate::results::{Noise, NoiseSpectrum};

/// The noise floor needs at least this much silence (and at least 0.1 s).
const MIN_NOISE_SAMPLES: usize = 1024;
/// Runs of identical samples this long in the pre-roll are digital silence.
const SILENT_RUN: usize = 64;
/// A pre-roll with this share of digital silence has no measurable noise floor.
const SILENT_SHARE: f64 = 0.2;

/// The noise floor of channel `index` of a capture, measured on the silence before the sweep
/// arrives at sample `arrival` (10 ms of guard before it, up to 50 ms skipped at the start):
/// `None` with a warning when there is too little of it, with a note when it is digital
/// silence (a noise gate, a muted input, a digital loopback: nothing to measure); a warning
/// too when it was measured on less than 0.25 s.
pub fn noise_before_sweep(
    raw: &[f64],
    arrival: f64,
    fs: f64,
    index: usize,
    warnings: &mut Vec<String>,
    notes: &mut Vec<String>,
    fft: &mut FftCache,
) -> Option<Noise> {
    let guard = 0.01 * fs;
    let region_end = (arrival - guard).floor().max(0.0) as usize;
    let region_end = region_end.min(raw.len());
    let skip = ((0.05 * fs) as usize).min(region_end / 10);
    let region = &raw[skip.min(region_end)..region_end]; // welch_psd removes each segment's mean
    let segment = ((fs / 6.0) as usize).next_power_of_two();
    let silent_share = digital_silence_share(region, SILENT_RUN);
    if region.len() < MIN_NOISE_SAMPLES.max((0.1 * fs) as usize) {
        warnings.push(format!(
            "too little pre-roll: {:.3} s of silence before the sweep arrives; the noise floor and SNR are not measured (use --pre 1 or more)",
            region_end as f64 / fs
        ));
        None
    } else if silent_share > SILENT_SHARE {
        // a note, not a warning: nothing is wrong with the capture (a digital loopback
        // is silent too); the figure is just not there to be measured
        notes.push(format!(
            "digital silence before the sweep in channel {index} ({:.0} % of it is runs of identical samples: a noise gate, a muted input or a digital loopback): the noise floor cannot be measured there, so noise and SNR are not reported",
            100.0 * silent_share
        ));
        None
    } else {
        let seg = if region.len() >= segment {
            segment
        } else {
            1usize << (usize::BITS - 1 - region.len().leading_zeros())
        };
        let psd = welch_psd(region, fs, seg, fft);
        let hi = 20000f64.min(fs / 2.0);
        let rms = dbfs_from_power(psd.band_power(20.0, hi, false));
        let aw = dbfs_from_power(psd.band_power(20.0, hi, true));
        if (region.len() as f64) < 0.25 * fs {
            warnings.push(format!(
                "too little pre-roll: the noise floor was measured on only {:.2} s of silence; use --pre 1 or more",
                region.len() as f64 / fs
            ));
        }
        Some(Noise {
            rms_dbfs: rms,
            a_weighted_dbfs: aw,
            spectrum: NoiseSpectrum {
                freq_hz: psd.freq_hz[1..].to_vec(),
                dbfs_per_hz: psd.power_per_hz[1..]
                    .iter()
                    .map(|&p| dbfs_from_power(p))
                    .collect(),
            },
            duration_s: region.len() as f64 / fs,
        })
    }
}

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
