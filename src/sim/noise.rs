//! The simulated devices' noise: the sources a model names (white, pink, hum), their band
//! levels, the pink filter that colours them, and the exact levels (total and A-weighted)
//! that the truth reports. Must not import anything above `sim`.

use std::f64::consts::PI;

use realfft::num_complex::Complex64;

use crate::dsp::weighting::a_weighting_gain;

/// A noise source. Its level is the AES17 band level over 20 Hz – min(20 kHz, fs/2): a mean
/// square m reads 10·log10(2·m) dBFS.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseSource {
    pub color: NoiseColor,
    pub level_dbfs: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoiseColor {
    /// Gaussian, flat spectrum.
    White,
    /// Gaussian white noise through [`PinkFilter`] (−3.01 dB/octave within ±0.06 dB
    /// from 20 Hz to 20 kHz).
    Pink,
    /// Mains hum: `freq_hz` (50 or 60) and harmonics 2…`harmonics`, harmonic k with amplitude
    /// ∝ 1/k, fixed random phases; the whole sum (the partials below fs/2) reads `level_dbfs`.
    Hum { freq_hz: f64, harmonics: u32 },
}

impl NoiseColor {
    pub fn as_str(&self) -> &'static str {
        match self {
            NoiseColor::White => "white",
            NoiseColor::Pink => "pink",
            NoiseColor::Hum { .. } => "hum",
        }
    }
}

/// The top of the noise band at `fs`.
pub fn noise_band_hi(fs: f64) -> f64 {
    20000f64.min(fs / 2.0)
}

/// Paul Kellet's "refined" pink-noise filter (parallel one-pole sections plus a direct
/// path): H(z) = 0.5362 + 0.115926·z⁻¹ + Σ gᵢ/(1 − pᵢ·z⁻¹). Its response is −3.01 dB/octave
/// within ±0.06 dB from 20 Hz to 20 kHz at 44.1, 48 and 96 kHz; the truth integrates its
/// exact response, so that small ripple is accounted for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PinkFilter {
    state: [f64; 6],
    last: f64,
}

const PINK_POLES: [f64; 6] = [0.99886, 0.99332, 0.96900, 0.86650, 0.55000, -0.7616];
const PINK_GAINS: [f64; 6] = [
    0.0555179, 0.0750759, 0.1538520, 0.3104856, 0.5329522, -0.0168980,
];
const PINK_DIRECT: f64 = 0.5362;
const PINK_DELAYED: f64 = 0.115926;

impl PinkFilter {
    #[inline]
    pub fn process(&mut self, white: f64) -> f64 {
        let mut y = PINK_DIRECT * white + PINK_DELAYED * self.last;
        for ((b, p), g) in self.state.iter_mut().zip(PINK_POLES).zip(PINK_GAINS) {
            *b = p * *b + g * white;
            y += *b;
        }
        self.last = white;
        y
    }

    /// Exact response at `f` Hz.
    pub fn response(f: f64, fs: f64) -> Complex64 {
        let z1 = Complex64::from_polar(1.0, -2.0 * PI * f / fs);
        let mut h = PINK_DIRECT + PINK_DELAYED * z1;
        for (p, g) in PINK_POLES.iter().zip(PINK_GAINS) {
            h += g / (1.0 - p * z1);
        }
        h
    }
}

/// ∫ g(f) df from `lo` to `hi` (composite Simpson in log frequency, 8192 intervals).
fn integrate_log(lo: f64, hi: f64, g: impl Fn(f64) -> f64) -> f64 {
    let n = 8192;
    let (a, b) = (lo.ln(), hi.ln());
    let h = (b - a) / n as f64;
    let mut s = 0.0;
    for i in 0..=n {
        let u = a + h * i as f64;
        let f = u.exp();
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        s += w * g(f) * f;
    }
    s * h / 3.0
}

/// What a noise source needs at run time, and its exact levels.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisePlan {
    /// Standard deviation of the Gaussian white input (white and pink).
    pub sigma: f64,
    /// (frequency, amplitude) of the hum partials.
    pub partials: Vec<(f64, f64)>,
    /// Mean square in the band 20 Hz – min(20 kHz, fs/2).
    pub band_ms: f64,
    /// The same A-weighted.
    pub a_weighted_ms: f64,
}

impl NoiseSource {
    /// One-sided power spectral density at `f`, (full scale)²/Hz, of the white and pink
    /// sources (0 for hum, whose power sits in lines at its partials).
    pub fn psd(&self, f: f64, fs: f64) -> f64 {
        let p = self.plan(fs);
        match self.color {
            NoiseColor::White => 2.0 * p.sigma * p.sigma / fs,
            NoiseColor::Pink => {
                2.0 * p.sigma * p.sigma / fs * PinkFilter::response(f, fs).norm_sqr()
            }
            NoiseColor::Hum { .. } => 0.0,
        }
    }

    /// Generator parameters and exact band / A-weighted mean squares at `fs`.
    pub fn plan(&self, fs: f64) -> NoisePlan {
        let target = 10f64.powf(self.level_dbfs / 10.0) / 2.0;
        let hi = noise_band_hi(fs);
        let aw2 = |f: f64| a_weighting_gain(f).powi(2);
        match self.color {
            NoiseColor::White => {
                // one-sided PSD 2σ²/fs, flat
                let sigma2 = target * fs / (2.0 * (hi - 20.0));
                NoisePlan {
                    sigma: sigma2.sqrt(),
                    partials: Vec::new(),
                    band_ms: target,
                    a_weighted_ms: 2.0 * sigma2 / fs * integrate_log(20.0, hi, aw2),
                }
            }
            NoiseColor::Pink => {
                let h2 = |f: f64| PinkFilter::response(f, fs).norm_sqr();
                let unit_band = 2.0 / fs * integrate_log(20.0, hi, h2);
                let unit_a = 2.0 / fs * integrate_log(20.0, hi, |f| h2(f) * aw2(f));
                let sigma2 = target / unit_band;
                NoisePlan {
                    sigma: sigma2.sqrt(),
                    partials: Vec::new(),
                    band_ms: target,
                    a_weighted_ms: sigma2 * unit_a,
                }
            }
            NoiseColor::Hum { freq_hz, harmonics } => {
                let ks: Vec<u32> = (1..=harmonics)
                    .filter(|&k| f64::from(k) * freq_hz < fs / 2.0)
                    .collect();
                let in_band = |k: u32| {
                    let f = f64::from(k) * freq_hz;
                    (20.0..=hi).contains(&f)
                };
                // amplitude c/k; band mean square Σ (c/k)²/2 over partials in the band
                let unit: f64 = ks
                    .iter()
                    .filter(|&&k| in_band(k))
                    .map(|&k| 0.5 / f64::from(k * k))
                    .sum();
                let c = if unit > 0.0 {
                    (target / unit).sqrt()
                } else {
                    0.0
                };
                let partials: Vec<(f64, f64)> = ks
                    .iter()
                    .map(|&k| (f64::from(k) * freq_hz, c / f64::from(k)))
                    .collect();
                let a_weighted_ms = ks
                    .iter()
                    .filter(|&&k| in_band(k))
                    .map(|&k| {
                        let (f, a) = (f64::from(k) * freq_hz, c / f64::from(k));
                        a * a / 2.0 * aw2(f)
                    })
                    .sum();
                NoisePlan {
                    sigma: 0.0,
                    partials,
                    band_ms: if unit > 0.0 { target } else { 0.0 },
                    a_weighted_ms,
                }
            }
        }
    }
}
