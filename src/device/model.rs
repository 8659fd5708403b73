//! Device models for the simulated rig: a small TOML file describing what a device does to
//! the sweep (gain, filters, distortion, noise, latency, clock drift, faults), and the exact
//! truth that follows from it (response, latency, noise levels, THD), for checking the
//! measurement engine end to end.
//!
//! # Signal chain
//!
//! In this order, per played sample (playback clock) and then per captured sample (capture
//! clock):
//!
//! 1. `gain_db`, then the linear `[[stage]]`s in file order (RBJ biquads, FIRs);
//! 2. the memoryless `[nonlinearity]` (so its input amplitude is the sweep amplitude times
//!    the gain and stage response at each frequency);
//! 3. the latency: a whole-sample delay line, plus, when the latency is not a whole number of
//!    samples, a 128-tap Kaiser-windowed-sinc fractional-delay FIR
//!    ([`crate::dsp::filters::fractional_delay_fir`], β = [`FRAC_BETA`]) centred at
//!    63 + the fractional part; the truth includes that FIR's exact response;
//! 4. clock drift: the rendered signal is resampled with band-limited (Kaiser-windowed sinc,
//!    ±32 taps) interpolation so that a played frame n arrives at capture frame
//!    (n + latency)·(1 + drift_ppm·10⁻⁶): a positive `drift_ppm` is a capture clock running
//!    fast (the sweep is stretched in the capture);
//! 5. in the capture domain: mute (the signal path is cut, the noise remains), the noise
//!    sources (generated at the capture clock: they are the capture device's own noise),
//!    AGC steps (they scale signal and noise), dropouts, then the converter: a `clip` fault
//!    hard-clips at its level, and every sample is clipped to ±1.0 (full scale) as a real
//!    converter would.
//!
//! Extra capture channels (`channels` > 1) carry the same signal with their own independent
//! noise (`extra_channels = "copy"`, the default) or only noise (`extra_channels = "noise"`,
//! like an unused input). Output routing is irrelevant to the simulation.
//!
//! # File format
//!
//! The full commented example is [`EXAMPLE_TOML`] (`fixtures/models/example.toml`):
//!
//! ```toml
#![doc = include_str!("../../fixtures/models/example.toml")]
//! ```
//!
//! Every error names the file and the field at fault (`Error::BadInput`, exit 2). Checks
//! that need the sample rate (a filter above Nyquist, a fractional latency too short for the
//! fractional-delay filter, an FIR WAV at another rate) are made by
//! [`DeviceModel::check_rate`], which the simulated device calls at the start of a run.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use realfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::dsp::filters::{Biquad, fir_response, fractional_delay_fir};
use crate::dsp::weighting::a_weighting_gain;
use crate::error::{Error, Result};
use crate::kind::DeviceKind;

/// The full commented example of the model file format.
pub const EXAMPLE_TOML: &str = include_str!("../../fixtures/models/example.toml");

/// Taps of the fractional-delay FIR used for a latency that is not a whole number of samples.
pub const FRAC_TAPS: usize = 128;
/// Kaiser β of that FIR.
pub const FRAC_BETA: f64 = 10.0;
/// Whole samples of delay inside the fractional-delay FIR (its centre is this + the fraction).
pub const FRAC_CENTRE: usize = FRAC_TAPS / 2 - 1;
/// Highest harmonic counted in the THD truth (the engine's `MAX_HARMONIC`).
pub const TRUTH_MAX_HARMONIC: usize = 9;
/// Longest FIR accepted, taps.
pub const MAX_FIR_TAPS: usize = 65_536;

/// A validated device model.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    /// Short name (file stem unless given), used in session.json and file names.
    pub name: String,
    /// Display name.
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub description: Option<String>,
    /// Overall gain, dB.
    pub gain_db: f64,
    pub stages: Vec<Stage>,
    pub nonlinearity: Nonlinearity,
    pub noise: Vec<NoiseSource>,
    pub latency: Latency,
    /// Capture clock relative to the playback clock, ppm (+: capture faster).
    pub drift_ppm: f64,
    pub faults: Vec<Fault>,
    /// Capture channels.
    pub channels: u16,
    pub extra_channels: ExtraChannels,
    /// Where the model came from (a file, or `builtin:<name>`), for error messages.
    pub origin: PathBuf,
}

/// A linear stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Biquad {
        shape: BiquadShape,
        freq_hz: f64,
        q: f64,
        /// Only for peaking and shelves (0 otherwise).
        gain_db: f64,
    },
    Fir {
        taps: Vec<f64>,
        /// The coefficient file.
        file: PathBuf,
        /// Sample rate of a WAV coefficient file (the run must use it); None for text files.
        sample_rate: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiquadShape {
    Highpass,
    Lowpass,
    Peaking,
    LowShelf,
    HighShelf,
}

impl BiquadShape {
    pub fn as_str(self) -> &'static str {
        match self {
            BiquadShape::Highpass => "highpass",
            BiquadShape::Lowpass => "lowpass",
            BiquadShape::Peaking => "peaking",
            BiquadShape::LowShelf => "low_shelf",
            BiquadShape::HighShelf => "high_shelf",
        }
    }
    fn has_gain(self) -> bool {
        matches!(
            self,
            BiquadShape::Peaking | BiquadShape::LowShelf | BiquadShape::HighShelf
        )
    }
    /// The RBJ cookbook biquad at `fs`.
    pub fn design(self, fs: f64, freq_hz: f64, q: f64, gain_db: f64) -> Biquad {
        match self {
            BiquadShape::Highpass => Biquad::highpass(fs, freq_hz, q),
            BiquadShape::Lowpass => Biquad::lowpass(fs, freq_hz, q),
            BiquadShape::Peaking => Biquad::peaking(fs, freq_hz, q, gain_db),
            BiquadShape::LowShelf => Biquad::low_shelf(fs, freq_hz, q, gain_db),
            BiquadShape::HighShelf => Biquad::high_shelf(fs, freq_hz, q, gain_db),
        }
    }
}

/// The memoryless nonlinearity.
#[derive(Debug, Clone, PartialEq)]
pub enum Nonlinearity {
    None,
    /// y = a1·x + a2·x² + a3·x³ + … (`coeffs[0]` is a1).
    Polynomial {
        coeffs: Vec<f64>,
    },
    /// y = tanh(drive·x)/drive.
    SoftClip {
        drive: f64,
    },
}

impl Nonlinearity {
    #[inline]
    pub fn apply(&self, x: f64) -> f64 {
        match self {
            Nonlinearity::None => x,
            Nonlinearity::Polynomial { coeffs } => {
                // Horner on x·(a1 + x·(a2 + x·(…)))
                let mut acc = 0.0;
                for &a in coeffs.iter().rev() {
                    acc = acc * x + a;
                }
                acc * x
            }
            Nonlinearity::SoftClip { drive } => (drive * x).tanh() / drive,
        }
    }

    /// Output amplitudes of harmonics 1..=kmax (index 0 is harmonic 1) for the input
    /// B·sin θ: the DFT of f(B·sin θ) over 512 points, exact for polynomials of degree < 256
    /// (and to rounding for tanh, whose harmonics above the 255th are negligible).
    pub fn harmonic_amplitudes(&self, amplitude: f64, kmax: usize) -> Vec<f64> {
        const N: usize = 512;
        let y: Vec<f64> = (0..N)
            .map(|n| self.apply(amplitude * (2.0 * PI * n as f64 / N as f64).sin()))
            .collect();
        (1..=kmax)
            .map(|k| {
                let c: Complex64 = y
                    .iter()
                    .enumerate()
                    .map(|(n, &v)| {
                        Complex64::from_polar(v, -2.0 * PI * (k * n % N) as f64 / N as f64)
                    })
                    .sum();
                2.0 * c.norm() / N as f64
            })
            .collect()
    }
}

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

/// The model's latency, as given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    Ms(f64),
    Samples(f64),
}

impl Latency {
    pub fn samples(self, fs: f64) -> f64 {
        match self {
            Latency::Ms(ms) => ms * fs / 1000.0,
            Latency::Samples(n) => n,
        }
    }
}

/// How a latency of `d` samples is rendered: a whole-sample delay line plus, for a
/// fractional `d`, the fractional-delay FIR (whose own whole-sample centre is counted).
#[derive(Debug, Clone, PartialEq)]
pub struct DelayPlan {
    pub line: usize,
    pub fir: Option<Vec<f64>>,
}

/// Plans a delay of `d` ≥ 0 samples; Err(explanation) when a fractional delay is shorter
/// than the fractional-delay FIR's centre.
pub fn delay_plan(d: f64) -> std::result::Result<DelayPlan, String> {
    let whole = d.floor();
    let frac = d - whole;
    if frac.abs() < 1e-9 || (1.0 - frac).abs() < 1e-9 {
        return Ok(DelayPlan {
            line: d.round() as usize,
            fir: None,
        });
    }
    if whole < FRAC_CENTRE as f64 {
        return Err(format!(
            "{d:.3} samples is not a whole number of samples and is shorter than {FRAC_CENTRE} samples, the centre of the fractional-delay filter; use a whole number of samples (latency_samples) or a latency of at least {} samples",
            FRAC_CENTRE + 1
        ));
    }
    Ok(DelayPlan {
        line: whole as usize - FRAC_CENTRE,
        fir: Some(fractional_delay_fir(
            FRAC_CENTRE as f64 + frac,
            FRAC_TAPS,
            FRAC_BETA,
        )),
    })
}

/// A fault injected into the capture. Times are seconds of capture-device time since the
/// capture started (the position in capture.wav, unless an earlier `missing` dropout removed
/// frames before it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fault {
    /// `zero`: the frames are delivered as zeros (silently, as a glitching driver does);
    /// `missing`: the frames are lost (the capture continues with later audio, so everything
    /// after arrives `duration_ms` early) and the backend reports one xrun.
    Dropout {
        at_s: f64,
        duration_ms: f64,
        mode: DropoutMode,
    },
    /// The capture gain changes by `gain_db` at `at_s` (signal and noise), a step.
    AgcStep { at_s: f64, gain_db: f64 },
    /// The signal path is cut from `at_s` for `duration_ms` (to the end when absent): the
    /// capture holds only the device's noise (a hardware mute switch).
    Mute {
        at_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<f64>,
    },
    /// Hard clip of the capture at ±`level` (full scale 1.0).
    Clip { level: f64 },
    /// The device disappears at `at_s`: the run delivers what was captured before, then
    /// fails with `Error::Device`.
    DeviceLost { at_s: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropoutMode {
    Zero,
    Missing,
}

/// What extra capture channels carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraChannels {
    /// The same signal, each channel with its own independent noise.
    Copy,
    /// Only (independent) noise.
    Noise,
}

/// The exact truth of a model for a sweep: what an ideal measurement reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub model: String,
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub sample_rate: u32,
    pub sweep_level_dbfs: f64,
    /// Frequencies of `gain_db` and `thd_percent`.
    pub freq_hz: Vec<f64>,
    /// Linear (fundamental) response, dB: gain × biquads × FIRs × fractional-delay FIR ×
    /// the nonlinearity's fundamental gain at the amplitude that reaches it at each frequency.
    pub gain_db: Vec<f64>,
    /// The same at 1 kHz.
    pub gain_1k_db: f64,
    /// THD at the sweep level, % (harmonics 2…9 that lie below 0.95 × Nyquist; null where 2f
    /// does not); zero without a nonlinearity.
    pub thd_percent: Vec<Option<f64>>,
    pub thd_1k_percent: f64,
    /// The model's pure delay (latency_ms or latency_samples), samples and seconds.
    pub latency_samples: f64,
    pub latency_s: f64,
    /// Where the main peak of the linear impulse response lands (the contract's latency):
    /// the maximum of |h(t)|, h being the band-limited (ideal sinc) interpolation of the
    /// model's exact linear impulse response. Equals `latency_samples` for a pure delay;
    /// filters move it (a low-pass delays the peak).
    pub ir_peak_samples: f64,
    pub ir_peak_s: f64,
    /// Noise of each capture channel (all channels alike), null when the model has none.
    pub noise: Option<TruthNoise>,
    pub drift_ppm: f64,
    pub faults: Vec<Fault>,
    pub channels: u16,
    /// CONTRACT.md compare metrics computed on the exact response.
    pub metrics: TruthMetrics,
    /// How the numbers above are defined.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthNoise {
    /// AES17 band level 20 Hz – min(20 kHz, fs/2), dBFS.
    pub rms_dbfs: f64,
    /// The same A-weighted (IEC 61672-1).
    pub a_weighted_dbfs: f64,
    /// Each source: (type, band level, A-weighted level).
    pub sources: Vec<TruthNoiseSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthNoiseSource {
    #[serde(rename = "type")]
    pub color: String,
    pub rms_dbfs: f64,
    pub a_weighted_dbfs: f64,
}

/// The contract's compare metrics on the exact response (96 points per octave, 20 Hz to
/// min(20 kHz, 0.95 × Nyquist), means taken over log frequency: each octave weighs equally).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthMetrics {
    pub reference_db: f64,
    pub bass_db: f64,
    pub treble_db: f64,
    pub low_extension_hz: Option<f64>,
    pub high_extension_hz: Option<f64>,
    pub noise_rms_dbfs: Option<f64>,
    pub snr_db: Option<f64>,
    pub thd_1k_percent: f64,
}

// ---------------------------------------------------------------------------------------
// parsing

/// Keys of the top level (for the hint on a key misplaced below a table header).
const TOP_LEVEL_KEYS: [&str; 10] = [
    "name",
    "label",
    "kind",
    "description",
    "latency_ms",
    "latency_samples",
    "drift_ppm",
    "channels",
    "extra_channels",
    "gain_db",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: Option<String>,
    label: Option<String>,
    kind: Option<String>,
    description: Option<String>,
    gain_db: Option<f64>,
    #[serde(default)]
    stage: Vec<RawStage>,
    nonlinearity: Option<RawNonlinearity>,
    #[serde(default)]
    noise: Vec<RawNoise>,
    latency_ms: Option<f64>,
    latency_samples: Option<f64>,
    drift_ppm: Option<f64>,
    #[serde(default)]
    fault: Vec<RawFault>,
    channels: Option<i64>,
    extra_channels: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    #[serde(rename = "type")]
    kind: Option<String>,
    freq_hz: Option<f64>,
    q: Option<f64>,
    gain_db: Option<f64>,
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNonlinearity {
    #[serde(rename = "type")]
    kind: Option<String>,
    coeffs: Option<Vec<f64>>,
    drive: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNoise {
    #[serde(rename = "type")]
    kind: Option<String>,
    level_dbfs: Option<f64>,
    freq_hz: Option<f64>,
    harmonics: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    #[serde(rename = "type")]
    kind: Option<String>,
    at_s: Option<f64>,
    duration_ms: Option<f64>,
    mode: Option<String>,
    gain_db: Option<f64>,
    level: Option<f64>,
}

/// Builds error messages naming the file.
struct Ctx<'a> {
    origin: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::bad_input(self.origin, msg)
    }
    /// A required field.
    fn need<T: Copy>(&self, where_: &str, field: &str, v: Option<T>, hint: &str) -> Result<T> {
        v.ok_or_else(|| self.err(format!("{where_}: missing `{field}` ({hint})")))
    }
    /// A field that does not apply.
    fn refuse<T>(&self, where_: &str, field: &str, v: &Option<T>, why: &str) -> Result<()> {
        if v.is_some() {
            return Err(self.err(format!(
                "{where_}: `{field}` does not apply ({why}); remove it"
            )));
        }
        Ok(())
    }
    fn finite(&self, where_: &str, field: &str, v: f64) -> Result<f64> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.err(format!("{where_}: `{field}` = {v} must be a finite number")))
        }
    }
    fn range(&self, where_: &str, field: &str, v: f64, lo: f64, hi: f64) -> Result<f64> {
        let v = self.finite(where_, field, v)?;
        if v < lo || v > hi {
            return Err(self.err(format!("{where_}: `{field}` = {v} is outside {lo}…{hi}")));
        }
        Ok(v)
    }
}

impl DeviceModel {
    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<DeviceModel> {
        use crate::storage::TextError;
        let text = crate::storage::read_text(path).map_err(|e| match e {
            TextError::Folder => Error::bad_input(
                path,
                "is a directory, but a device model (TOML) was expected",
            ),
            TextError::NotFound => Error::bad_input(
                path,
                format!(
                    "no such model file (built-in models: {})",
                    BUILTIN_NAMES.join(", ")
                ),
            ),
            TextError::NotUtf8(_) => {
                Error::bad_input(path, "is not UTF-8 text: a TOML device model was expected")
            }
            e => Error::bad_input(path, e.to_string()),
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and validates a model. `origin` names it in errors; FIR files are read
    /// relative to its folder.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<DeviceModel> {
        let cx = Ctx { origin };
        let raw: RawModel = toml::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let misplaced = TOP_LEVEL_KEYS
                .iter()
                .find(|k| msg.contains(&format!("unknown field `{k}`")));
            let hint = match misplaced {
                Some(k) => format!(
                    "\n`{k}` is a top-level key: write it above the first [table] or [[table]] header (TOML puts a key written below a header into that table)"
                ),
                None => String::new(),
            };
            cx.err(format!("not a valid device model: {}{hint}", msg.trim()))
        })?;
        let name = match raw.name {
            Some(n) => {
                let ok = !n.is_empty()
                    && n.len() <= 64
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
                if !ok {
                    return Err(cx.err(format!(
                        "`name` = {n:?}: use 1–64 letters, digits, '-', '_' or '.' (it becomes a folder name)"
                    )));
                }
                n
            }
            None => origin
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "model".into()),
        };
        let kind = raw
            .kind
            .as_deref()
            .map(|k| {
                k.parse::<DeviceKind>()
                    .map_err(|e| cx.err(format!("`kind`: {e}")))
            })
            .transpose()?;
        let gain_db = cx.range(
            "top level",
            "gain_db",
            raw.gain_db.unwrap_or(0.0),
            -120.0,
            60.0,
        )?;

        let mut stages = Vec::new();
        for (i, s) in raw.stage.iter().enumerate() {
            stages.push(parse_stage(&cx, i + 1, s)?);
        }
        let nonlinearity = match &raw.nonlinearity {
            None => Nonlinearity::None,
            Some(n) => parse_nonlinearity(&cx, n)?,
        };
        let mut noise = Vec::new();
        for (i, n) in raw.noise.iter().enumerate() {
            noise.push(parse_noise(&cx, i + 1, n)?);
        }
        let latency = match (raw.latency_ms, raw.latency_samples) {
            (Some(_), Some(_)) => {
                return Err(
                    cx.err("both `latency_ms` and `latency_samples` are given; keep one of them")
                );
            }
            (Some(ms), None) => {
                Latency::Ms(cx.range("top level", "latency_ms", ms, 0.0, 10_000.0)?)
            }
            (None, Some(n)) => {
                Latency::Samples(cx.range("top level", "latency_samples", n, 0.0, 2_000_000.0)?)
            }
            (None, None) => Latency::Samples(0.0),
        };
        let drift_ppm = cx.range(
            "top level",
            "drift_ppm",
            raw.drift_ppm.unwrap_or(0.0),
            -10_000.0,
            10_000.0,
        )?;
        let mut faults = Vec::new();
        for (i, f) in raw.fault.iter().enumerate() {
            faults.push(parse_fault(&cx, i + 1, f)?);
        }
        if faults
            .iter()
            .filter(|f| matches!(f, Fault::DeviceLost { .. }))
            .count()
            > 1
        {
            return Err(cx.err("[[fault]]: more than one `device_lost`; keep the first"));
        }
        let channels = match raw.channels {
            None => 1,
            Some(c) if (1..=32).contains(&c) => c as u16,
            Some(c) => {
                return Err(cx.err(format!("`channels` = {c} is outside 1…32")));
            }
        };
        let extra_channels = match raw.extra_channels.as_deref() {
            None | Some("copy") => ExtraChannels::Copy,
            Some("noise") => ExtraChannels::Noise,
            Some(other) => {
                return Err(cx.err(format!(
                    "`extra_channels` = {other:?} is not \"copy\" (same signal, own noise) or \"noise\" (noise only)"
                )));
            }
        };
        Ok(DeviceModel {
            name,
            label: raw.label,
            kind,
            description: raw.description,
            gain_db,
            stages,
            nonlinearity,
            noise,
            latency,
            drift_ppm,
            faults,
            channels,
            extra_channels,
            origin: origin.to_path_buf(),
        })
    }

    /// Checks what depends on the sample rate: filters below Nyquist, the fractional latency,
    /// the rate of WAV coefficient files.
    pub fn check_rate(&self, sample_rate: u32) -> Result<()> {
        let fs = f64::from(sample_rate);
        let cx = Ctx {
            origin: &self.origin,
        };
        for (i, s) in self.stages.iter().enumerate() {
            match s {
                Stage::Biquad { shape, freq_hz, .. } if *freq_hz >= 0.49 * fs => {
                    return Err(cx.err(format!(
                        "[[stage]] #{} ({}): `freq_hz` = {freq_hz} Hz is not below Nyquist at {sample_rate} Hz (must be under {:.0} Hz); lower it or measure at a higher --rate",
                        i + 1,
                        shape.as_str(),
                        0.49 * fs
                    )));
                }
                Stage::Fir {
                    file,
                    sample_rate: Some(r),
                    ..
                } if *r != sample_rate => {
                    return Err(cx.err(format!(
                        "[[stage]] #{} (fir): {} is at {r} Hz but the measurement runs at {sample_rate} Hz; measure at --rate {r} or resample the coefficients",
                        i + 1,
                        file.display()
                    )));
                }
                _ => {}
            }
        }
        let d = self.latency.samples(fs);
        delay_plan(d).map_err(|m| cx.err(format!("latency at {sample_rate} Hz: {m}")))?;
        Ok(())
    }

    /// The biquad stages designed at `fs`, in chain order (FIR stages left out).
    pub fn biquads(&self, fs: f64) -> Vec<Biquad> {
        self.stages
            .iter()
            .filter_map(|s| match s {
                Stage::Biquad {
                    shape,
                    freq_hz,
                    q,
                    gain_db,
                } => Some(shape.design(fs, *freq_hz, *q, *gain_db)),
                Stage::Fir { .. } => None,
            })
            .collect()
    }

    /// Exact response of gain and stages (before the nonlinearity) at `f`.
    pub fn stages_response(&self, f: f64, fs: f64) -> Complex64 {
        let g = 10f64.powf(self.gain_db / 20.0);
        let mut h = Complex64::new(g, 0.0);
        for s in &self.stages {
            h *= match s {
                Stage::Biquad {
                    shape,
                    freq_hz,
                    q,
                    gain_db,
                } => shape.design(fs, *freq_hz, *q, *gain_db).response(f, fs),
                Stage::Fir { taps, .. } => fir_response(taps, f, fs),
            };
        }
        h
    }

    /// The fractional-delay FIR used at `fs` (None for a whole-sample latency).
    fn frac_fir(&self, fs: f64) -> Option<Vec<f64>> {
        delay_plan(self.latency.samples(fs))
            .ok()
            .and_then(|p| p.fir)
    }

    /// The exact truth for a sweep of peak level `sweep_level_dbfs` at `sample_rate`, the
    /// response and THD on `freqs_hz` (each must be below Nyquist).
    pub fn truth(&self, sample_rate: u32, sweep_level_dbfs: f64, freqs_hz: &[f64]) -> Truth {
        let fs = f64::from(sample_rate);
        let amp = 10f64.powf(sweep_level_dbfs / 20.0);
        let frac = self.frac_fir(fs);
        let frac_mag = |f: f64| frac.as_ref().map_or(1.0, |h| fir_response(h, f, fs).norm());
        let kmax = TRUTH_MAX_HARMONIC;
        let top = crate::dsp::sweep::max_end_hz(sample_rate);
        // (linear gain, THD %) at f
        let at = |f: f64| -> (f64, Option<f64>) {
            let b = amp * self.stages_response(f, fs).norm();
            let (c1, thd) = match &self.nonlinearity {
                Nonlinearity::None => (b, Some(0.0)),
                nl => {
                    let c = nl.harmonic_amplitudes(b, kmax);
                    let fund = c[0] * frac_mag(f);
                    let mut sum = 0.0;
                    for (i, ck) in c.iter().enumerate().skip(1) {
                        let fk = (i + 1) as f64 * f;
                        if fk <= top {
                            sum += (ck * frac_mag(fk)).powi(2);
                        }
                    }
                    (c[0], Some(100.0 * sum.sqrt() / fund.max(1e-300)))
                }
            };
            let gain = c1 * frac_mag(f) / amp;
            let thd = if 2.0 * f <= top { thd } else { None };
            (20.0 * gain.max(1e-300).log10(), thd)
        };
        let (gain_db, thd_percent): (Vec<f64>, Vec<Option<f64>>) =
            freqs_hz.iter().map(|&f| at(f)).unzip();
        let (gain_1k_db, thd_1k) = at(1000.0);
        let thd_1k_percent = thd_1k.unwrap_or(0.0);

        let latency_samples = self.latency.samples(fs);
        let ir_peak_samples = self.ir_peak(fs);

        let noise = if self.noise.is_empty() {
            None
        } else {
            let plans: Vec<NoisePlan> = self.noise.iter().map(|n| n.plan(fs)).collect();
            let db = |ms: f64| 10.0 * (2.0 * ms).max(1e-300).log10();
            Some(TruthNoise {
                rms_dbfs: db(plans.iter().map(|p| p.band_ms).sum()),
                a_weighted_dbfs: db(plans.iter().map(|p| p.a_weighted_ms).sum()),
                sources: self
                    .noise
                    .iter()
                    .zip(&plans)
                    .map(|(n, p)| TruthNoiseSource {
                        color: n.color.as_str().into(),
                        rms_dbfs: db(p.band_ms),
                        a_weighted_dbfs: db(p.a_weighted_ms),
                    })
                    .collect(),
            })
        };

        // compare metrics on a dense log grid
        let hi = 20000f64.min(top);
        let count = ((hi / 20.0).log2() * 96.0).floor() as usize;
        let grid: Vec<f64> = (0..=count)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 96.0))
            .collect();
        let g: Vec<f64> = grid.iter().map(|&f| at(f).0).collect();
        let mean_in = |lo: f64, hi: f64| {
            let v: Vec<f64> = grid
                .iter()
                .zip(&g)
                .filter(|(f, _)| **f >= lo && **f <= hi)
                .map(|(_, g)| *g)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let reference_db = mean_in(250.0, 4000.0);
        // third-octave power smoothing: mean of |H|² over ±1/6 octave (log-spaced points)
        let smooth: Vec<f64> = grid
            .iter()
            .map(|&f| {
                let (lo, hi) = (f * 2f64.powf(-1.0 / 6.0), f * 2f64.powf(1.0 / 6.0));
                let p: Vec<f64> = grid
                    .iter()
                    .zip(&g)
                    .filter(|(x, _)| **x >= lo && **x <= hi)
                    .map(|(_, g)| 10f64.powf(g / 10.0))
                    .collect();
                10.0 * (p.iter().sum::<f64>() / p.len().max(1) as f64).log10()
            })
            .collect();
        let thr = reference_db - 6.0;
        let i1k = grid.iter().position(|&f| f >= 1000.0).unwrap_or(0);
        let low_extension_hz = {
            let mut i = i1k;
            while i > 0 && smooth[i - 1] >= thr {
                i -= 1;
            }
            (smooth[i] >= thr).then_some(grid[i])
        };
        let high_extension_hz = {
            let mut i = i1k;
            while i + 1 < grid.len() && smooth[i + 1] >= thr {
                i += 1;
            }
            (smooth[i] >= thr).then_some(grid[i])
        };
        let metrics = TruthMetrics {
            reference_db,
            bass_db: mean_in(20.0, 250.0) - reference_db,
            treble_db: mean_in(4000.0, 20000.0) - reference_db,
            low_extension_hz,
            high_extension_hz,
            noise_rms_dbfs: noise.as_ref().map(|n| n.rms_dbfs),
            snr_db: noise
                .as_ref()
                .map(|n| sweep_level_dbfs + gain_1k_db - n.rms_dbfs),
            thd_1k_percent,
        };

        Truth {
            model: self.name.clone(),
            label: self.label.clone(),
            kind: self.kind,
            sample_rate,
            sweep_level_dbfs,
            freq_hz: freqs_hz.to_vec(),
            gain_db,
            gain_1k_db,
            thd_percent,
            thd_1k_percent,
            latency_samples,
            latency_s: latency_samples / fs,
            ir_peak_samples,
            ir_peak_s: ir_peak_samples / fs,
            noise,
            drift_ppm: self.drift_ppm,
            faults: self.faults.clone(),
            channels: self.channels,
            metrics,
            notes: vec![
                "gain_db: exact |H| of gain × biquads × FIRs × fractional-delay FIR, times the nonlinearity's fundamental gain c1(B)/B at the amplitude B = sweep amplitude × |gain × stages| reaching it".into(),
                format!("thd_percent: harmonics 2…{TRUTH_MAX_HARMONIC} of the nonlinearity at that amplitude (those below 0.95 × Nyquist), relative to the fundamental"),
                "ir_peak_samples: maximum of the ideal band-limited interpolation of the exact linear impulse response; latency_samples: the model's pure delay".into(),
                "noise: AES17 band level 20 Hz – min(20 kHz, fs/2), summed over the sources, integrated exactly from their spectra; A-weighting per IEC 61672-1".into(),
                "faults and drift are listed, not folded into the numbers above".into(),
            ],
        }
    }

    /// The exact discrete linear impulse response (gain, stages, fractional-delay FIR and
    /// whole-sample delay; the nonlinearity's small-signal gain a1 for a polynomial).
    pub fn linear_impulse_response(&self, fs: f64) -> Vec<f64> {
        let plan = delay_plan(self.latency.samples(fs)).unwrap_or(DelayPlan {
            line: self.latency.samples(fs).round() as usize,
            fir: None,
        });
        let fir_len: usize = self
            .stages
            .iter()
            .map(|s| match s {
                Stage::Fir { taps, .. } => taps.len(),
                _ => 0,
            })
            .sum();
        let len = fir_len + plan.fir.as_ref().map_or(0, Vec::len) + (fs as usize).max(8192);
        let mut h = vec![0.0; len];
        h[0] = 10f64.powf(self.gain_db / 20.0);
        for s in &self.stages {
            match s {
                Stage::Biquad {
                    shape,
                    freq_hz,
                    q,
                    gain_db,
                } => {
                    let bq = shape.design(fs, *freq_hz, *q, *gain_db);
                    let mut st = crate::dsp::filters::BiquadState::default();
                    h.iter_mut().for_each(|v| *v = st.process(&bq, *v));
                }
                Stage::Fir { taps, .. } => h = convolve_truncated(&h, taps),
            }
        }
        let a1 = match &self.nonlinearity {
            Nonlinearity::None => 1.0,
            Nonlinearity::Polynomial { coeffs } => coeffs[0],
            Nonlinearity::SoftClip { .. } => 1.0,
        };
        h.iter_mut().for_each(|v| *v *= a1);
        if let Some(f) = &plan.fir {
            h = convolve_truncated(&h, f);
        }
        let mut out = vec![0.0; plan.line];
        out.extend_from_slice(&h);
        out
    }

    /// Position of the main peak of the linear impulse response, samples.
    fn ir_peak(&self, fs: f64) -> f64 {
        let h = self.linear_impulse_response(fs);
        let (p, _) = h.iter().enumerate().fold((0, -1.0), |(bi, bv), (i, v)| {
            if v.abs() > bv { (i, v.abs()) } else { (bi, bv) }
        });
        let sign = h[p].signum();
        // ideal sinc interpolation over the whole response
        let val = |t: f64| -> f64 {
            sign * h
                .iter()
                .enumerate()
                .map(|(n, &v)| v * crate::dsp::filters::sinc(t - n as f64))
                .sum::<f64>()
        };
        crate::dsp::ir::golden_max(val, p as f64 - 1.0, p as f64 + 1.0, 1e-7)
    }
}

/// x ∗ h truncated to x's length.
fn convolve_truncated(x: &[f64], h: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (i, &xv) in x.iter().enumerate() {
        if xv == 0.0 {
            continue;
        }
        for (j, &hv) in h.iter().enumerate() {
            if i + j >= y.len() {
                break;
            }
            y[i + j] += xv * hv;
        }
    }
    y
}

fn parse_stage(cx: &Ctx, i: usize, s: &RawStage) -> Result<Stage> {
    let w = format!("[[stage]] #{i}");
    let kind = s.kind.as_deref().ok_or_else(|| {
        cx.err(format!(
            "{w}: missing `type` (highpass, lowpass, peaking, low_shelf, high_shelf or fir)"
        ))
    })?;
    let shape = match kind {
        "highpass" => BiquadShape::Highpass,
        "lowpass" => BiquadShape::Lowpass,
        "peaking" => BiquadShape::Peaking,
        "low_shelf" => BiquadShape::LowShelf,
        "high_shelf" => BiquadShape::HighShelf,
        "fir" => {
            let w = format!("{w} (fir)");
            cx.refuse(
                &w,
                "freq_hz",
                &s.freq_hz,
                "an FIR is given by its coefficients",
            )?;
            cx.refuse(&w, "q", &s.q, "an FIR is given by its coefficients")?;
            cx.refuse(&w, "gain_db", &s.gain_db, "use the top-level gain_db")?;
            let file = s.file.as_deref().ok_or_else(|| {
                cx.err(format!(
                    "{w}: missing `file` (a text file of coefficients, one per line, or a mono WAV, relative to this model's folder)"
                ))
            })?;
            return load_fir(cx, &w, file);
        }
        other => {
            return Err(cx.err(format!(
                "{w}: unknown `type` = {other:?}; use highpass, lowpass, peaking, low_shelf, high_shelf or fir"
            )));
        }
    };
    let w = format!("{w} ({kind})");
    cx.refuse(&w, "file", &s.file, "only an fir stage reads a file")?;
    let freq_hz = cx.need(
        &w,
        "freq_hz",
        s.freq_hz,
        "the corner or centre frequency, Hz",
    )?;
    if !(freq_hz.is_finite() && freq_hz > 0.0) {
        return Err(cx.err(format!(
            "{w}: `freq_hz` = {freq_hz} must be a positive frequency"
        )));
    }
    let q = cx.need(&w, "q", s.q, "e.g. 0.707 for a Butterworth corner")?;
    if !(q.is_finite() && q > 0.0 && q <= 100.0) {
        return Err(cx.err(format!("{w}: `q` = {q} must be positive (and at most 100)")));
    }
    let gain_db = if shape.has_gain() {
        let g = cx.need(&w, "gain_db", s.gain_db, "the boost (+) or cut (−), dB")?;
        cx.range(&w, "gain_db", g, -60.0, 60.0)?
    } else {
        cx.refuse(
            &w,
            "gain_db",
            &s.gain_db,
            "a high-/low-pass has no gain; use the top-level gain_db",
        )?;
        0.0
    };
    Ok(Stage::Biquad {
        shape,
        freq_hz,
        q,
        gain_db,
    })
}

fn load_fir(cx: &Ctx, w: &str, file: &str) -> Result<Stage> {
    let base = cx.origin.parent().unwrap_or(Path::new(""));
    let path = base.join(file);
    let is_wav = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    let (taps, sample_rate) = if is_wav {
        let wav = crate::storage::wav::read_wav(&path)
            .map_err(|e| cx.err(format!("{w}: `file` = {file:?} cannot be used: {e}")))?;
        if wav.channels.len() != 1 {
            return Err(cx.err(format!(
                "{w}: `file` = {file:?} has {} channels; FIR coefficients must be a mono WAV",
                wav.channels.len()
            )));
        }
        (
            wav.channels.into_iter().next().unwrap_or_default(),
            Some(wav.sample_rate),
        )
    } else {
        let text = crate::storage::read_text(&path).map_err(|e| {
            cx.err(format!(
                "{w}: `file` = {file:?} ({}) cannot be read: {e}",
                path.display()
            ))
        })?;
        let mut taps = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            let t = line.split('#').next().unwrap_or("").trim();
            if t.is_empty() {
                continue;
            }
            let v: f64 = t.parse().map_err(|_| {
                cx.err(format!(
                    "{w}: {}:{}: {t:?} is not a number (one coefficient per line; # starts a comment)",
                    path.display(),
                    ln + 1
                ))
            })?;
            if !v.is_finite() {
                return Err(cx.err(format!(
                    "{w}: {}:{}: coefficient {v} is not finite",
                    path.display(),
                    ln + 1
                )));
            }
            taps.push(v);
        }
        (taps, None)
    };
    if taps.is_empty() {
        return Err(cx.err(format!("{w}: `file` = {file:?} holds no coefficients")));
    }
    if taps.len() > MAX_FIR_TAPS {
        return Err(cx.err(format!(
            "{w}: `file` = {file:?} holds {} coefficients; at most {MAX_FIR_TAPS} are supported",
            taps.len()
        )));
    }
    if taps.iter().all(|&v| v == 0.0) {
        return Err(cx.err(format!(
            "{w}: `file` = {file:?}: all coefficients are zero (the device would pass nothing)"
        )));
    }
    Ok(Stage::Fir {
        taps,
        file: path,
        sample_rate,
    })
}

fn parse_nonlinearity(cx: &Ctx, n: &RawNonlinearity) -> Result<Nonlinearity> {
    let w = "[nonlinearity]";
    match n.kind.as_deref() {
        Some("polynomial") => {
            cx.refuse(w, "drive", &n.drive, "drive belongs to soft_clip")?;
            let coeffs = n.coeffs.clone().ok_or_else(|| {
                cx.err(format!(
                    "{w} (polynomial): missing `coeffs` = [a1, a2, a3, …] (y = a1·x + a2·x² + …)"
                ))
            })?;
            if coeffs.is_empty() || coeffs.len() > 16 {
                return Err(cx.err(format!(
                    "{w} (polynomial): `coeffs` must hold 1 to 16 values [a1, a2, …], not {}",
                    coeffs.len()
                )));
            }
            if let Some(v) = coeffs.iter().find(|v| !v.is_finite()) {
                return Err(cx.err(format!("{w} (polynomial): `coeffs` holds {v}")));
            }
            if coeffs[0] == 0.0 {
                return Err(cx.err(format!(
                    "{w} (polynomial): `coeffs`[0] (a1, the linear gain) is 0; use 1.0 for unity gain"
                )));
            }
            Ok(Nonlinearity::Polynomial { coeffs })
        }
        Some("soft_clip") => {
            cx.refuse(w, "coeffs", &n.coeffs, "coeffs belong to polynomial")?;
            let drive = cx.need(w, "drive", n.drive, "y = tanh(drive·x)/drive")?;
            if !(drive.is_finite() && drive > 0.0 && drive <= 1000.0) {
                return Err(cx.err(format!(
                    "{w} (soft_clip): `drive` = {drive} must be positive (and at most 1000)"
                )));
            }
            Ok(Nonlinearity::SoftClip { drive })
        }
        Some(other) => Err(cx.err(format!(
            "{w}: unknown `type` = {other:?}; use polynomial or soft_clip"
        ))),
        None => Err(cx.err(format!("{w}: missing `type` (polynomial or soft_clip)"))),
    }
}

fn parse_noise(cx: &Ctx, i: usize, n: &RawNoise) -> Result<NoiseSource> {
    let w = format!("[[noise]] #{i}");
    let kind = n
        .kind
        .as_deref()
        .ok_or_else(|| cx.err(format!("{w}: missing `type` (white, pink or hum)")))?;
    let w = format!("{w} ({kind})");
    let level = cx.need(
        &w,
        "level_dbfs",
        n.level_dbfs,
        "AES17 band level 20 Hz–20 kHz, dBFS",
    )?;
    let level_dbfs = cx.range(&w, "level_dbfs", level, -200.0, 0.0)?;
    let color = match kind {
        "white" | "pink" => {
            cx.refuse(&w, "freq_hz", &n.freq_hz, "only hum has a frequency")?;
            cx.refuse(&w, "harmonics", &n.harmonics, "only hum has harmonics")?;
            if kind == "white" {
                NoiseColor::White
            } else {
                NoiseColor::Pink
            }
        }
        "hum" => {
            let f = cx.need(&w, "freq_hz", n.freq_hz, "the mains frequency, 50 or 60")?;
            if f != 50.0 && f != 60.0 {
                return Err(cx.err(format!("{w}: `freq_hz` = {f}: mains hum is at 50 or 60 Hz")));
            }
            let h = n.harmonics.unwrap_or(1);
            if !(1..=100).contains(&h) {
                return Err(cx.err(format!(
                    "{w}: `harmonics` = {h} is outside 1…100 (1 = the fundamental only)"
                )));
            }
            NoiseColor::Hum {
                freq_hz: f,
                harmonics: h as u32,
            }
        }
        other => {
            return Err(cx.err(format!(
                "[[noise]] #{i}: unknown `type` = {other:?}; use white, pink or hum"
            )));
        }
    };
    Ok(NoiseSource { color, level_dbfs })
}

fn parse_fault(cx: &Ctx, i: usize, f: &RawFault) -> Result<Fault> {
    let w = format!("[[fault]] #{i}");
    let kind = f.kind.as_deref().ok_or_else(|| {
        cx.err(format!(
            "{w}: missing `type` (dropout, agc_step, mute, clip or device_lost)"
        ))
    })?;
    let w = format!("{w} ({kind})");
    let at = |required: bool| -> Result<f64> {
        match f.at_s {
            Some(v) => cx.range(&w, "at_s", v, 0.0, 86_400.0),
            None if required => Err(cx.err(format!(
                "{w}: missing `at_s` (seconds since the capture started)"
            ))),
            None => Ok(0.0),
        }
    };
    let duration = |v: f64| cx.range(&w, "duration_ms", v, 0.0, 86_400_000.0);
    let fault = match kind {
        "dropout" => {
            cx.refuse(&w, "gain_db", &f.gain_db, "a dropout has no gain")?;
            cx.refuse(&w, "level", &f.level, "a dropout has no level")?;
            let d = cx.need(&w, "duration_ms", f.duration_ms, "how long the gap lasts")?;
            let mode = match f.mode.as_deref() {
                Some("zero") | None => DropoutMode::Zero,
                Some("missing") => DropoutMode::Missing,
                Some(other) => {
                    return Err(cx.err(format!(
                        "{w}: `mode` = {other:?} is not \"zero\" (frames delivered as zeros) or \"missing\" (frames lost)"
                    )));
                }
            };
            Fault::Dropout {
                at_s: at(true)?,
                duration_ms: duration(d)?,
                mode,
            }
        }
        "agc_step" => {
            cx.refuse(
                &w,
                "duration_ms",
                &f.duration_ms,
                "the step is instantaneous",
            )?;
            cx.refuse(&w, "mode", &f.mode, "only dropouts have a mode")?;
            cx.refuse(&w, "level", &f.level, "use gain_db")?;
            let g = cx.need(&w, "gain_db", f.gain_db, "the gain change, dB")?;
            Fault::AgcStep {
                at_s: at(true)?,
                gain_db: cx.range(&w, "gain_db", g, -60.0, 60.0)?,
            }
        }
        "mute" => {
            cx.refuse(&w, "gain_db", &f.gain_db, "a mute has no gain")?;
            cx.refuse(&w, "mode", &f.mode, "only dropouts have a mode")?;
            cx.refuse(&w, "level", &f.level, "a mute has no level")?;
            Fault::Mute {
                at_s: at(false)?,
                duration_ms: f.duration_ms.map(duration).transpose()?,
            }
        }
        "clip" => {
            cx.refuse(&w, "at_s", &f.at_s, "clipping applies to the whole capture")?;
            cx.refuse(
                &w,
                "duration_ms",
                &f.duration_ms,
                "clipping applies to the whole capture",
            )?;
            cx.refuse(&w, "mode", &f.mode, "only dropouts have a mode")?;
            cx.refuse(&w, "gain_db", &f.gain_db, "use level")?;
            let l = cx.need(
                &w,
                "level",
                f.level,
                "the clipping amplitude, full scale = 1.0",
            )?;
            let l = cx.finite(&w, "level", l)?;
            if !(l > 0.0 && l <= 1.0) {
                return Err(cx.err(format!(
                    "{w}: `level` = {l} must be above 0 and at most 1.0 (full scale)"
                )));
            }
            Fault::Clip { level: l }
        }
        "device_lost" => {
            cx.refuse(
                &w,
                "duration_ms",
                &f.duration_ms,
                "the device does not come back",
            )?;
            cx.refuse(&w, "mode", &f.mode, "only dropouts have a mode")?;
            cx.refuse(&w, "gain_db", &f.gain_db, "a lost device has no gain")?;
            cx.refuse(&w, "level", &f.level, "a lost device has no level")?;
            Fault::DeviceLost { at_s: at(true)? }
        }
        other => {
            return Err(cx.err(format!(
                "[[fault]] #{i}: unknown `type` = {other:?}; use dropout, agc_step, mute, clip or device_lost"
            )));
        }
    };
    Ok(fault)
}

// ---------------------------------------------------------------------------------------
// built-in models

/// Names of the built-in models, in demo order.
pub const BUILTIN_NAMES: [&str; 5] = [
    "studio-headphones",
    "gaming-headset-speaker",
    "gaming-headset-mic",
    "usb-mic",
    "loopback",
];

fn builtin_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "studio-headphones" => include_str!("../../fixtures/models/studio-headphones.toml"),
        "gaming-headset-speaker" => {
            include_str!("../../fixtures/models/gaming-headset-speaker.toml")
        }
        "gaming-headset-mic" => include_str!("../../fixtures/models/gaming-headset-mic.toml"),
        "usb-mic" => include_str!("../../fixtures/models/usb-mic.toml"),
        "loopback" => include_str!("../../fixtures/models/loopback.toml"),
        _ => return None,
    })
}

/// A built-in model by name (`fixtures/models/<name>.toml`, embedded at build time).
pub fn builtin(name: &str) -> Option<DeviceModel> {
    let text = builtin_text(name)?;
    let origin = PathBuf::from(format!("builtin:{name}"));
    // the embedded files are parsed by the tests; a failure here is a build defect
    Some(
        DeviceModel::from_toml_str(text, &origin)
            .unwrap_or_else(|e| panic!("built-in model {name} is invalid: {e}")),
    )
}

/// All built-in models, in demo order.
pub fn builtin_models() -> Vec<(&'static str, DeviceModel)> {
    BUILTIN_NAMES
        .iter()
        .filter_map(|&n| builtin(n).map(|m| (n, m)))
        .collect()
}

/// A model from a `--model` argument: a built-in name, or a path to a TOML file.
pub fn resolve(spec: &str) -> Result<DeviceModel> {
    let path = Path::new(spec);
    if path.exists() || spec.ends_with(".toml") || spec.contains(std::path::MAIN_SEPARATOR) {
        return DeviceModel::load(path);
    }
    builtin(spec).ok_or_else(|| {
        Error::bad_usage(
            "--model",
            format!(
                "{spec:?} is neither a model file nor a built-in model ({})",
                BUILTIN_NAMES.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DeviceModel> {
        DeviceModel::from_toml_str(text, Path::new("/models/test.toml"))
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(m) => panic!("expected an error, parsed {m:?}"),
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                e.to_string()
            }
        }
    }

    #[test]
    fn example_and_builtins_parse() {
        let m = parse(EXAMPLE_TOML).unwrap();
        assert_eq!(m.name, "my-headset");
        assert!(!m.stages.is_empty() && !m.noise.is_empty());
        m.check_rate(48000).unwrap();
        let all = builtin_models();
        assert_eq!(all.len(), BUILTIN_NAMES.len());
        for (n, m) in all {
            assert_eq!(n, m.name);
            assert!(m.label.is_some() && m.kind.is_some(), "{n}");
            for rate in [44100, 48000, 96000] {
                m.check_rate(rate).unwrap();
            }
        }
        assert!(builtin("nope").is_none());
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let e = err("gain_db = 1\n[[stage]]\ntype = \"bandpass\"\nfreq_hz = 100\nq = 1\n");
        assert!(
            e.contains("/models/test.toml") && e.contains("[[stage]] #1") && e.contains("bandpass"),
            "{e}"
        );
        let e = err("[[stage]]\ntype = \"highpass\"\nfreq_hz = 100\nq = -1\n");
        assert!(e.contains("`q`") && e.contains("-1"), "{e}");
        let e = err("[[stage]]\ntype = \"peaking\"\nfreq_hz = 100\nq = 1\n");
        assert!(e.contains("missing `gain_db`"), "{e}");
        let e = err("[[stage]]\ntype = \"lowpass\"\nfreq_hz = 100\nq = 1\ngain_db = 3\n");
        assert!(e.contains("`gain_db` does not apply"), "{e}");
        let e = err("gian_db = 3\n");
        assert!(e.contains("gian_db"), "{e}");
        let e = err("gain_db = \"loud\"\n");
        assert!(e.contains("gain_db"), "{e}");
        let e = err("[nonlinearity]\ntype = \"cubic\"\n");
        assert!(e.contains("[nonlinearity]") && e.contains("cubic"), "{e}");
        let e = err("[nonlinearity]\ntype = \"polynomial\"\ncoeffs = []\n");
        assert!(e.contains("coeffs"), "{e}");
        let e = err("[[noise]]\ntype = \"hum\"\nfreq_hz = 55\nlevel_dbfs = -90\n");
        assert!(e.contains("50 or 60"), "{e}");
        let e = err("[[noise]]\ntype = \"brown\"\nlevel_dbfs = -90\n");
        assert!(e.contains("[[noise]] #1") && e.contains("brown"), "{e}");
        let e = err("[[noise]]\ntype = \"white\"\n");
        assert!(e.contains("level_dbfs"), "{e}");
        let e = err("latency_ms = 1\nlatency_samples = 48\n");
        assert!(
            e.contains("latency_ms") && e.contains("latency_samples"),
            "{e}"
        );
        let e = err("latency_ms = -1\n");
        assert!(e.contains("latency_ms"), "{e}");
        let e = err("[[fault]]\ntype = \"dropout\"\nat_s = 1\nduration_ms = 5\nmode = \"gap\"\n");
        assert!(e.contains("[[fault]] #1") && e.contains("mode"), "{e}");
        let e = err("[[fault]]\ntype = \"clip\"\nlevel = 2\n");
        assert!(e.contains("level"), "{e}");
        let e = err("[[fault]]\ntype = \"explode\"\n");
        assert!(e.contains("explode"), "{e}");
        let e = err("[[fault]]\ntype = \"agc_step\"\ngain_db = 3\n");
        assert!(e.contains("at_s"), "{e}");
        let e = err("channels = 0\n");
        assert!(e.contains("channels"), "{e}");
        let e = err("kind = \"speaker\"\n");
        assert!(e.contains("kind"), "{e}");
        let e = err("[[stage]]\ntype = \"fir\"\nfile = \"nope.txt\"\n");
        assert!(e.contains("nope.txt"), "{e}");
        let e = err("[[noise]]\ntype = \"white\"\nlevel_dbfs = -90\nlatency_ms = 3\n");
        assert!(e.contains("top-level key"), "{e}");
        let e = err("this is not toml");
        assert!(e.contains("not a valid device model"), "{e}");
    }

    #[test]
    fn resolve_builtin_names_and_files() {
        assert_eq!(resolve("loopback").unwrap().name, "loopback");
        let e = resolve("no-such-device").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("--model") && e.to_string().contains("usb-mic"),
            "{e}"
        );
        let e = resolve("missing-model.toml").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("missing-model.toml")
                && e.to_string().contains("no such model file"),
            "{e}"
        );
    }

    #[test]
    fn rate_dependent_checks() {
        let m = parse("[[stage]]\ntype = \"lowpass\"\nfreq_hz = 30000\nq = 0.7\n").unwrap();
        let e = m.check_rate(48000).unwrap_err().to_string();
        assert!(e.contains("[[stage]] #1") && e.contains("Nyquist"), "{e}");
        m.check_rate(96000).unwrap();
        let m = parse("latency_samples = 10.5\n").unwrap();
        let e = m.check_rate(48000).unwrap_err().to_string();
        assert!(e.contains("latency"), "{e}");
        parse("latency_samples = 10\n")
            .unwrap()
            .check_rate(48000)
            .unwrap();
        parse("latency_samples = 100.5\n")
            .unwrap()
            .check_rate(48000)
            .unwrap();
    }

    #[test]
    fn fir_files_text_and_wav() {
        let dir = std::env::temp_dir().join(format!("sweeplab-model-fir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("h.txt"), "# taps\n0.5\n0.25 # second\n\n0.125\n").unwrap();
        std::fs::write(dir.join("bad.txt"), "0.5\nzero\n").unwrap();
        crate::storage::wav::write_wav_f32(&dir.join("h.wav"), 44100, 1, &[0.5, 0.25]).unwrap();
        let origin = dir.join("m.toml");
        let m =
            DeviceModel::from_toml_str("[[stage]]\ntype = \"fir\"\nfile = \"h.txt\"\n", &origin)
                .unwrap();
        match &m.stages[0] {
            Stage::Fir {
                taps, sample_rate, ..
            } => {
                assert_eq!(taps, &[0.5, 0.25, 0.125]);
                assert_eq!(*sample_rate, None);
            }
            s => panic!("{s:?}"),
        }
        let e =
            DeviceModel::from_toml_str("[[stage]]\ntype = \"fir\"\nfile = \"bad.txt\"\n", &origin)
                .unwrap_err()
                .to_string();
        assert!(e.contains("bad.txt:2") && e.contains("zero"), "{e}");
        let m =
            DeviceModel::from_toml_str("[[stage]]\ntype = \"fir\"\nfile = \"h.wav\"\n", &origin)
                .unwrap();
        m.check_rate(44100).unwrap();
        let e = m.check_rate(48000).unwrap_err().to_string();
        assert!(e.contains("44100"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The DFT harmonic amplitudes agree with the closed forms for a cubic:
    /// c1 = a1·B + 3a3B³/4, c2 = a2B²/2, c3 = a3B³/4.
    #[test]
    fn harmonic_amplitudes_of_a_cubic() {
        let (a1, a2, a3, b) = (0.9, 0.2, -0.3, 0.4);
        let nl = Nonlinearity::Polynomial {
            coeffs: vec![a1, a2, a3],
        };
        let c = nl.harmonic_amplitudes(b, 5);
        let want = [
            a1 * b + 0.75 * a3 * b.powi(3),
            a2 * b * b / 2.0,
            (a3 * b.powi(3) / 4.0).abs(),
            0.0,
            0.0,
        ];
        for (g, w) in c.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{c:?} vs {want:?}");
        }
        // quintic: c1 = a1B + 3a3B³/4 + 10a5B⁵/16
        let nl = Nonlinearity::Polynomial {
            coeffs: vec![1.0, 0.0, 0.1, 0.0, 0.2],
        };
        let c = nl.harmonic_amplitudes(0.5, 5);
        let w1 = 0.5 + 0.75 * 0.1 * 0.125 + 10.0 / 16.0 * 0.2 * 0.5f64.powi(5);
        assert!((c[0] - w1).abs() < 1e-12);
    }

    /// White, pink and hum noise plans hit their band level; the pink filter is within
    /// ±0.06 dB of −3.01 dB/octave from 20 Hz to 20 kHz at 44.1, 48 and 96 kHz.
    #[test]
    fn noise_plans() {
        let fs = 48000.0;
        for color in [
            NoiseColor::White,
            NoiseColor::Pink,
            NoiseColor::Hum {
                freq_hz: 60.0,
                harmonics: 7,
            },
        ] {
            let p = NoiseSource {
                color,
                level_dbfs: -70.0,
            }
            .plan(fs);
            assert!((10.0 * (2.0 * p.band_ms).log10() + 70.0).abs() < 1e-9);
            assert!(p.a_weighted_ms < p.band_ms);
        }
        for fs in [44100.0, 48000.0, 96000.0] {
            let db = |f: f64| 20.0 * PinkFilter::response(f, fs).norm().log10();
            let r1k = db(1000.0);
            let mut f = 20.0;
            while f <= 20000.0 {
                let want = r1k - 10.0 * (f / 1000.0f64).log10();
                assert!(
                    (db(f) - want).abs() < 0.07,
                    "{fs}: {f} Hz: {} vs {want}",
                    db(f)
                );
                f *= 1.05;
            }
        }
        // the filter as run matches its response (a 1 kHz tone's steady-state amplitude)
        let mut pf = PinkFilter::default();
        let y: Vec<f64> = (0..96000)
            .map(|i| pf.process((2.0 * PI * 1000.0 * i as f64 / fs).sin()))
            .collect();
        let amp = (2.0 * y[48000..].iter().map(|v| v * v).sum::<f64>() / 48000.0).sqrt();
        assert!((amp / PinkFilter::response(1000.0, fs).norm() - 1.0).abs() < 1e-4);
    }

    /// A pure delay: the IR peak truth is the delay, whole or fractional.
    #[test]
    fn ir_peak_of_a_pure_delay() {
        for d in [0.0, 100.0, 100.37, 250.5] {
            let m = parse(&format!("latency_samples = {d}\n")).unwrap();
            let t = m.truth(48000, -12.0, &[1000.0]);
            // the 128-tap windowed-sinc fractional delay peaks within 0.005 sample of its
            // nominal delay under ideal interpolation (its response deviates near Nyquist)
            assert!(
                (t.ir_peak_samples - d).abs() < 5e-3,
                "{d}: {}",
                t.ir_peak_samples
            );
            assert_eq!(t.latency_samples, d);
        }
    }
}
