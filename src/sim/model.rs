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
//! like an unused input). Output routing is irrelevant to the simulation, except for a
//! two-sided model (`[sides]`): a run that drives only the left or the right output plays that
//! side's driver, heard on its own ear's channel and through the crosstalk on the other
//! ([`DeviceModel::side`]).
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
use std::path::PathBuf;

use realfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::dsp::filters::{Biquad, fir_response, fractional_delay_fir};
use crate::kind::DeviceKind;

pub use super::noise::{NoiseColor, NoisePlan, NoiseSource, PinkFilter, noise_band_hi};

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
    /// How the response moves each time the device is taken off and put back (`[fit]`);
    /// None: every placement is the same.
    pub fit: Option<FitVariation>,
    /// A two-sided device (`[sides]`): how the right driver differs from the left (the model
    /// as written) and what the undriven ear hears; None: one driver.
    pub sides: Option<SidesModel>,
    /// Each capture channel's share of the played signal, set by [`DeviceModel::side`]; None:
    /// channel 0 and, with `extra_channels = "copy"`, the others carry it whole.
    pub capture_gains: Option<Vec<f64>>,
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
    pub(crate) fn has_gain(self) -> bool {
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

/// How a headphone's response changes from one placement to the next (`[fit]`): the seal
/// moves the bass (a low shelf at [`FIT_BASS_HZ`]) and the position the treble (a peak at
/// [`FIT_TREBLE_HZ`]). Placement p adds the shelf at `bass_db`·u_p and the peak at
/// `treble_db`·v_p, (u_p, v_p) = [`FIT_SEQUENCE`]`[p mod 8]`; the first placement is the model
/// as written. Each placement is also a new stream: it arrives p·[`FIT_LATENCY_STEP`]
/// samples later (whole samples, so that a valid latency stays valid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitVariation {
    pub bass_db: f64,
    pub treble_db: f64,
}

/// Corner of the placement's bass shelf (Q 0.707), Hz.
pub const FIT_BASS_HZ: f64 = 120.0;
/// Centre of the placement's treble peak (Q 2), Hz.
pub const FIT_TREBLE_HZ: f64 = 8000.0;
/// Extra latency of each further placement (a new stream, a new latency), samples.
pub const FIT_LATENCY_STEP: f64 = 42.0;
/// (u_p, v_p): each placement's share of the bass and treble variation.
pub const FIT_SEQUENCE: [(f64, f64); 8] = [
    (0.0, 0.0),
    (1.0, -0.5),
    (-1.0, 0.5),
    (0.5, 1.0),
    (-0.5, -1.0),
    (0.25, 0.75),
    (-0.75, -0.25),
    (0.75, -0.75),
];

/// A two-sided device (`[sides]`). A run that drives one side ([`DeviceModel::side`]) plays
/// that side's driver: the left is the model as written; the right adds `right_gain_db`, the
/// `right_stages` and, when `right_inverted`, a polarity inversion. Capture channel 0 is the
/// left ear, 1 the right: the driven side's ear hears its driver whole, the other ear hears
/// it `crosstalk_db` lower (flat, same polarity as the driver; `right_crosstalk_db`, when
/// given, for what the left ear hears of the right driver); without a crosstalk it hears
/// only its own noise.
#[derive(Debug, Clone, PartialEq)]
pub struct SidesModel {
    pub right_gain_db: f64,
    pub right_stages: Vec<Stage>,
    pub right_inverted: bool,
    pub crosstalk_db: Option<f64>,
    /// The left ear's crosstalk from the right driver, when it differs from `crosstalk_db`.
    pub right_crosstalk_db: Option<f64>,
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

impl DeviceModel {
    /// The model at placement `p` (0 = the first, the model as written) at `sample_rate`:
    /// with its `[fit]` variation's stages added and its latency moved (see
    /// [`FitVariation`]). Without a `[fit]`, the model itself.
    pub fn placement(&self, p: usize, sample_rate: u32) -> DeviceModel {
        let mut m = self.clone();
        let Some(fit) = self.fit else {
            return m;
        };
        let (u, v) = FIT_SEQUENCE[p % FIT_SEQUENCE.len()];
        if fit.bass_db * u != 0.0 {
            m.stages.push(Stage::Biquad {
                shape: BiquadShape::LowShelf,
                freq_hz: FIT_BASS_HZ,
                q: 0.707,
                gain_db: fit.bass_db * u,
            });
        }
        if fit.treble_db * v != 0.0 {
            m.stages.push(Stage::Biquad {
                shape: BiquadShape::Peaking,
                freq_hz: FIT_TREBLE_HZ,
                q: 2.0,
                gain_db: fit.treble_db * v,
            });
        }
        if p > 0 {
            m.latency = Latency::Samples(
                self.latency.samples(f64::from(sample_rate)) + FIT_LATENCY_STEP * p as f64,
            );
        }
        m
    }

    /// The model when only `side` is driven: that side's driver, heard whole on its own
    /// capture channel and through the crosstalk on the other (see [`SidesModel`]). A model
    /// without `[sides]` is returned as it is.
    pub fn side(&self, side: crate::kind::Side) -> DeviceModel {
        let mut m = self.clone();
        let Some(sides) = &self.sides else {
            return m;
        };
        let mut sign = 1.0;
        if side == crate::kind::Side::Right {
            m.gain_db += sides.right_gain_db;
            m.stages.extend(sides.right_stages.iter().cloned());
            if sides.right_inverted {
                sign = -1.0;
            }
        }
        let db = match side {
            crate::kind::Side::Left => sides.crosstalk_db,
            crate::kind::Side::Right => sides.right_crosstalk_db.or(sides.crosstalk_db),
        };
        let leak = db.map_or(0.0, |db| 10f64.powf(db / 20.0));
        let mut gains = vec![0.0; usize::from(m.channels.max(2))];
        gains[side.channel()] = sign;
        gains[side.other().channel()] = sign * leak;
        m.channels = m.channels.max(2);
        m.capture_gains = Some(gains);
        m
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
    pub(crate) fn frac_fir(&self, fs: f64) -> Option<Vec<f64>> {
        delay_plan(self.latency.samples(fs))
            .ok()
            .and_then(|p| p.fir)
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
    pub(crate) fn ir_peak(&self, fs: f64) -> f64 {
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
