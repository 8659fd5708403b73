//! Finished analysis results: plain data shared by `dsp` (which produces them), `storage`
//! (which writes and reads them as `analysis.json`) and `report` (which draws them).
//!
//! Field names follow the interface document (`docs/interface.md`); every extra field is an
//! extension. Imports only `kind` and `bounds`.

use serde::{Deserialize, Serialize};

use crate::kind::{DeviceKind, Provenance};

pub const ANALYSIS_FORMAT: &str = "sweeplab-analysis";
pub const ANALYSIS_VERSION: u32 = 1;

/// Sweep parameters as stored in `session.json` (`sweep` object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    pub start_hz: f64,
    pub end_hz: f64,
    pub duration_s: f64,
    pub level_dbfs: f64,
    pub pre_s: f64,
    pub post_s: f64,
}

/// The whole content of `analysis.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub format: String,
    pub version: u32,
    pub sample_rate: u32,
    /// Device label (from `session.json` or `--label`), shown on plots.
    #[serde(default)]
    pub label: Option<String>,
    /// Device kind: headset, headphones, microphone, loopback, other.
    #[serde(default)]
    pub kind: Option<DeviceKind>,
    /// When the analysis was made (RFC 3339, UTC).
    #[serde(default)]
    pub created: Option<String>,
    /// The sweep band actually analysed (end clamped below Nyquist).
    pub sweep: SweepInfo,
    /// Where the data came from.
    #[serde(default)]
    pub source: Source,
    /// Microphone calibration removed from the response, if any.
    #[serde(default)]
    pub calibration: Option<CalibrationInfo>,
    /// A real capture (`measured`) or the simulated rig's (`simulated`); null in files
    /// written before sweeplab recorded it.
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// The measurement microphone's sensitivity (`analyze --sensitivity`, from `sweeplab
    /// calibrate`): dB SPL = dBFS + `offset_db`. Null without one: levels are dBFS only.
    #[serde(default)]
    pub spl: Option<SplInfo>,
    /// Sweeps played back to back and averaged (`--repeats`), and how each was aligned;
    /// null for a single sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<RepeatsInfo>,
    /// Distortion against level (`--levels`); absent for a single level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distortion_vs_level: Option<DistortionVsLevel>,
    /// A two-sided session (`--sides`): balance, left/right difference, crosstalk and
    /// polarity; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sides: Option<SidesAnalysis>,
    /// The microphone under test's own sensitivity and self-noise; absent unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic_under_test: Option<MicUnderTest>,
    pub channels: Vec<ChannelAnalysis>,
    /// The files this run wrote (not part of analysis.json: a fact about the run).
    #[serde(skip)]
    pub written: Vec<std::path::PathBuf>,
}

/// The sign of a channel's impulse response at its main peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Positive,
    Negative,
}

impl Polarity {
    pub fn as_str(self) -> &'static str {
        match self {
            Polarity::Positive => "positive",
            Polarity::Negative => "negative",
        }
    }
}

/// Left against right in a two-sided session (`--sides`), each side driven alone and heard
/// in its own ear (channel L: the left side's capture, input 0; R: the right side's, input
/// 1). A figure that was not measured is null and `notes` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidesAnalysis {
    /// L − R, the mean over 250 Hz–4 kHz (each octave weighted equally) of the raw
    /// responses, dB: positive when the left side is louder. Null unless both sides measured
    /// at least 90 % of that band. It holds the two ear microphones' own difference too.
    pub balance_db: Option<f64>,
    /// The largest |L − R| of the 1/6-octave smoothed responses over 100 Hz–10 kHz (the part
    /// both sides measured), dB, and where.
    pub max_difference_db: Option<f64>,
    pub max_difference_hz: Option<f64>,
    /// The band the largest difference was sought in (100 Hz–10 kHz ∩ what both sides
    /// measured), Hz.
    pub difference_band_hz: Option<[f64; 2]>,
    /// L − R per frequency, 1/6-octave smoothed, wherever both sides measured.
    pub difference: DifferenceCurve,
    /// What the undriven ear heard, for each side driven.
    pub crosstalk: Vec<Crosstalk>,
    /// Each side's polarity (the sign of its impulse response's main peak).
    pub polarity: Vec<SidePolarity>,
    /// Whether the two sides have the same polarity; null when either is unknown.
    pub polarity_matched: Option<bool>,
    /// Why a figure is null or limited.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Faults: a side not recorded, a reversed polarity.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DifferenceCurve {
    pub freq_hz: Vec<f64>,
    pub db: Vec<f64>,
}

/// The undriven ear while `driven` played: its response relative to the driven ear's, per
/// frequency, wherever it stood above its noise (elsewhere the crosstalk lies below what
/// the capture can show, and the point is absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crosstalk {
    pub driven: crate::kind::Side,
    pub into: crate::kind::Side,
    pub freq_hz: Vec<f64>,
    /// Undriven − driven, dB (raw responses).
    pub db: Vec<f64>,
    /// The mean over 250 Hz–4 kHz (each octave weighted equally), dB; null unless the
    /// undriven ear heard the sweep above its noise over at least 90 % of that band.
    pub mean_db: Option<f64>,
    /// The largest value over 100 Hz–10 kHz, dB, and where; null when nothing was heard
    /// there.
    pub max_db: Option<f64>,
    pub max_hz: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidePolarity {
    pub side: crate::kind::Side,
    pub polarity: Option<Polarity>,
}

/// Repeated sweeps and their alignment before the average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatsInfo {
    /// Sweeps the session asked for.
    pub requested: u32,
    /// Sweeps captured completely.
    pub captured: u32,
    /// Sweeps that went into the average.
    pub averaged: u32,
    /// Whether they were aligned (latency and clock measured per sweep) before the average;
    /// false when no channel held the sweep clearly enough to align on.
    pub aligned: bool,
    /// Per captured sweep, relative to the first: delay at the sweep's start (samples), clock
    /// (ppm), coherence (1 = the same signal up to that timing), averaged or left out.
    #[serde(default)]
    pub runs: Vec<RunAlignmentInfo>,
}

/// One sweep's alignment (see [`RepeatsInfo`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunAlignmentInfo {
    pub delay_samples: f64,
    pub drift_ppm: f64,
    pub coherence: f64,
    pub averaged: bool,
}

/// A measurement microphone's sensitivity, as `sweeplab calibrate` measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplInfo {
    /// The sensitivity file.
    pub file: String,
    /// The calibrator's level, dB SPL (94 or 114).
    pub calibrator_db_spl: f64,
    /// Its tone as recorded, dBFS (AES17).
    pub calibrator_dbfs: f64,
    /// dB SPL = dBFS + offset_db.
    pub offset_db: f64,
    /// The microphone's sensitivity in dBV/Pa, when its input's voltage was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbv_per_pa: Option<f64>,
}

/// Distortion against level: a series of sweeps at rising levels, THD read at fixed
/// frequencies on each, and the level at which THD reaches 1 % and 3 %.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistortionVsLevel {
    /// The steps' sweep levels, dBFS, rising.
    pub levels_dbfs: Vec<f64>,
    /// The frequencies THD is read at, Hz.
    pub freq_hz: Vec<f64>,
    /// Why the series stopped early, if it did.
    pub stopped: Option<String>,
    pub channels: Vec<LevelChannel>,
}

/// One channel of [`DistortionVsLevel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelChannel {
    pub index: usize,
    /// Per step: the level at 1 kHz in the capture, dBFS (null where not measured).
    pub level_1k_dbfs: Vec<Option<f64>>,
    /// `thd_percent[f][step]`: THD at `freq_hz[f]` (null where not measured).
    pub thd_percent: Vec<Vec<Option<f64>>>,
    /// Per frequency, the thresholds: THD reaches 1 % and 3 % (see [`LevelThreshold`]).
    pub at_1_percent: Vec<LevelThreshold>,
    pub at_3_percent: Vec<LevelThreshold>,
}

/// Where THD reaches a threshold: between two steps (interpolated in level against
/// log THD), or not within the series (null levels, and a note why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelThreshold {
    /// The sweep level at which THD reaches it, dBFS.
    pub level_dbfs: Option<f64>,
    /// The level at 1 kHz in the capture there, dBFS (dB SPL = this + `spl.offset_db`).
    pub output_1k_dbfs: Option<f64>,
    pub note: Option<String>,
}

/// The microphone under test's own sensitivity (`analyze --mic-sensitivity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicUnderTest {
    /// The sensitivity file (`sweeplab calibrate` of this microphone).
    pub file: String,
    /// dBFS (AES17) for 1 Pa (94 dB SPL).
    pub dbfs_per_pa: f64,
    /// dBV for 1 Pa, when the input's voltage was given to `calibrate`.
    pub dbv_per_pa: Option<f64>,
    /// Per channel: the self-noise, the A-weighted noise before the sweep as an equivalent
    /// dB(A) SPL (null where no noise was measured).
    pub self_noise_dba_spl: Vec<Option<f64>>,
}

/// Warnings that are faults of the capture (not limits of what could be measured): a
/// device whose capture has one is left out of claims, since its figures may be wrong.
pub const FAULT_WARNINGS: [&str; 6] = [
    "clipping",
    "dropout",
    "glitch",
    "gain change",
    "no signal",
    "more dropouts",
];

/// Whether a warning reports a fault of the capture.
pub fn is_fault(warning: &str) -> bool {
    let w = warning.trim_start().to_ascii_lowercase();
    FAULT_WARNINGS.iter().any(|p| w.starts_with(p))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    #[serde(default)]
    pub session_dir: Option<String>,
    #[serde(default)]
    pub stimulus: Option<String>,
    #[serde(default)]
    pub capture: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    pub file: String,
    pub sens_factor_db: Option<f64>,
    pub points: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelAnalysis {
    pub index: usize,
    /// The side this channel is in a two-sided session (`--sides`): "L" or "R", and the
    /// channel's name everywhere (plots, files, compare); absent otherwise (named `chN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<crate::kind::Side>,
    /// Main IR peak position relative to the stimulus, seconds (sub-sample interpolated);
    /// null when the channel holds no signal.
    pub latency_s: Option<f64>,
    /// The same in samples.
    pub latency_samples: Option<f64>,
    /// The band the capture actually holds, Hz: the sweep's band, narrowed where the capture
    /// starts after the sweep began or stops before it ended; null without signal. The
    /// response, THD and every figure derived from them lie inside it.
    #[serde(default)]
    pub measured_band_hz: Option<[f64; 2]>,
    /// The band the sweep covered, Hz, when the capture holds less of it
    /// (`measured_band_hz` narrower): band figures (bass, treble, the mid level, a limit's
    /// offset) are judged over the sweep's band, so what the capture lost counts as not
    /// measured rather than narrowing the band a figure is named after. Absent when the
    /// capture holds the whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept_band_hz: Option<[f64; 2]>,
    /// How the linear response was windowed (null without signal).
    #[serde(default)]
    pub window: Option<ResponseWindow>,
    pub frequency_response: FrequencyResponse,
    /// The response with the measurement microphone's calibration removed (`analyze
    /// --calibration`), over the part of the band the calibration covers; the raw
    /// `frequency_response` stays as measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated: Option<CalibratedResponse>,
    /// A re-seat series: the placements behind the averaged response and their spread;
    /// absent for one placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placements: Option<PlacementSpread>,
    /// A driver's sensitivity as datasheets state it (`--output-vrms`, `--impedance`, with
    /// `--sensitivity`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_sensitivity: Option<DriverSensitivity>,
    /// Fractional-octave smoothed versions of `frequency_response.gain_db`, on the same grid.
    #[serde(default)]
    pub smoothed: Vec<SmoothedCurve>,
    pub thd: Thd,
    /// Null when the capture has no usable pre-roll silence.
    pub noise: Option<Noise>,
    /// Null when no noise floor could be measured.
    pub snr_db: Option<f64>,
    /// Level the sweep reaches in the capture at 1 kHz, dBFS (sweep level + gain at 1 kHz).
    #[serde(default)]
    pub level_1k_dbfs: Option<f64>,
    /// Peak absolute sample value of this capture channel (dBFS, sample peak).
    #[serde(default)]
    pub peak_dbfs: Option<f64>,
    pub impulse: Impulse,
    /// Clock drift between playback and capture, ppm (positive: the capture clock runs fast),
    /// from the excess phase of the response. Null when it cannot be estimated.
    #[serde(default)]
    pub drift_ppm: Option<f64>,
    /// Cumulative spectral decay of the impulse response (the waterfall); absent when not
    /// measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csd: Option<Csd>,
    /// The capture channel's spectrogram (also for a channel without signal: it shows what
    /// went wrong); absent when the capture is too short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectrogram: Option<Spectrogram>,
    /// Faults in the capture and figures left out because of them, in words.
    pub warnings: Vec<String>,
    /// Why a figure is null or limited when no fault is to blame (e.g. drift not estimated
    /// on a response that is not minimum-phase), in words.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// How the output was driven (`--output-vrms`, `--impedance`): enough to turn a level in
/// dB SPL into a driver's sensitivity per volt and per milliwatt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriveLevel {
    /// RMS voltage at the output for a full-scale (0 dBFS) sine, V.
    pub volts_rms_at_0dbfs: f64,
    /// The driver's impedance, Ω (for the power).
    pub impedance_ohm: Option<f64>,
}

/// A driver's sensitivity, from the level at 1 kHz in dB SPL at the sweep's level: the
/// sweep (peak L dBFS) drives V = V₀·10^(L/20) RMS, P = V²/Z; dB SPL/V = SPL − 20·log10(V),
/// dB SPL/mW = SPL − 10·log10(P / 1 mW).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverSensitivity {
    /// The level at 1 kHz at the sweep's level, dB SPL.
    pub spl_1k_db: f64,
    /// RMS voltage the sweep drove the output with, V.
    pub volts_rms: f64,
    pub db_spl_per_v: f64,
    pub impedance_ohm: Option<f64>,
    /// Electrical power at the sweep's level, mW (with the impedance).
    pub power_mw: Option<f64>,
    pub db_spl_per_mw: Option<f64>,
}

/// The placements of a re-seat series behind one channel's response, and their spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacementSpread {
    /// The placements averaged (1 = the first), in order.
    pub averaged: Vec<usize>,
    /// Frequencies every averaged placement measured (the response's grid).
    pub freq_hz: Vec<f64>,
    /// Lowest, highest and standard deviation (n − 1) of the placements' gains, dB.
    pub min_db: Vec<f64>,
    pub max_db: Vec<f64>,
    pub std_db: Vec<f64>,
    /// Each averaged placement's response on `freq_hz`, dB.
    pub gain_db: Vec<Vec<f64>>,
    /// Each averaged placement's RMS deviation from the average over 100 Hz–10 kHz, dB
    /// (null when the grid holds no point there).
    pub deviation_db: Vec<Option<f64>>,
    /// Each averaged placement's latency, s.
    pub latency_s: Vec<Option<f64>>,
}

/// Cumulative spectral decay: what is left of the impulse response after each start time, to
/// one fixed end, as a spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csd {
    pub freq_hz: Vec<f64>,
    /// Each slice's start after the impulse response's peak, ms.
    pub start_ms: Vec<f64>,
    /// `level_db[k][i]`: slice `k` at `freq_hz[i]`, dB re the first slice's highest value;
    /// null where it is less than 10 dB above the impulse response's noise.
    pub level_db: Vec<Vec<Option<f64>>>,
    /// Where every slice ends, ms after the peak.
    pub end_ms: f64,
}

/// Levels of a capture channel over time and frequency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrogram {
    /// Frame centres, s from the capture's first sample.
    pub time_s: Vec<f64>,
    /// 1/6-octave band centres, Hz (from where a band is at least one FFT bin wide).
    pub freq_hz: Vec<f64>,
    /// `level_dbfs[frame][band]`, dBFS (a full-scale sine in the band reads 0), to 0.1 dB;
    /// null where the frame is digital silence in the band.
    pub level_dbfs: Vec<Vec<Option<f64>>>,
    /// Each frame's length, s.
    pub frame_s: f64,
}

/// A response with a microphone calibration removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedResponse {
    pub freq_hz: Vec<f64>,
    pub gain_db: Vec<f64>,
}

/// The window of the linear impulse response: cut where its energy-time curve has decayed
/// into the noise, and widened at low frequencies to `fdw_cycles` periods (a frequency-
/// dependent window, as REW's FDW), so that noise after the decay does not enter the
/// response while low frequencies keep their resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseWindow {
    /// Right side of the window at high frequencies, ms after the peak (the decay cut).
    pub decay_ms: f64,
    /// The longest right side used (at the lowest frequencies), ms.
    pub longest_ms: f64,
    /// Periods of a frequency the window spans at least (up to `longest_ms`).
    pub fdw_cycles: f64,
    /// Noise level of the impulse response's tail, dB relative to its peak.
    pub ir_noise_db: f64,
}

/// Raw (unsmoothed, uncalibrated unless `calibration` is set) transfer function on a log grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequencyResponse {
    pub freq_hz: Vec<f64>,
    pub gain_db: Vec<f64>,
    /// Phase with the IR-peak latency removed, degrees, wrapped to (-180, 180].
    #[serde(default)]
    pub phase_deg: Vec<f64>,
    /// Group delay including the latency, seconds.
    #[serde(default)]
    pub group_delay_s: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmoothedCurve {
    /// n of 1/n octave (3 = third-octave).
    pub fraction: u32,
    pub gain_db: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thd {
    /// Fundamental frequencies at which THD was measured: where at least one harmonic lies
    /// inside the swept band (its fades left out) and above the noise of its window.
    pub freq_hz: Vec<f64>,
    pub percent: Vec<f64>,
    /// Each harmonic's level relative to the fundamental, dB, on `freq_hz` (null where that
    /// harmonic falls outside the swept band or below the noise of its window).
    #[serde(default)]
    pub harmonics: Vec<HarmonicCurve>,
    /// The level below which no harmonic can be seen: the noise of the second harmonic's
    /// window at 2f relative to the fundamental at f, in percent, over every fundamental
    /// whose second harmonic lies in the band.
    #[serde(default)]
    pub noise_floor: Option<ThdFloor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThdFloor {
    pub freq_hz: Vec<f64>,
    pub percent: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarmonicCurve {
    /// 2 = second harmonic.
    pub order: u32,
    pub relative_db: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    pub rms_dbfs: f64,
    pub a_weighted_dbfs: f64,
    pub spectrum: NoiseSpectrum,
    /// Length of the silence the noise was measured on.
    #[serde(default)]
    pub duration_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseSpectrum {
    pub freq_hz: Vec<f64>,
    /// Power spectral density, AES17 dBFS per Hz (10·log10(2·PSD)).
    pub dbfs_per_hz: Vec<f64>,
}

/// A section of the linear impulse response around its main peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impulse {
    pub sample_rate: u32,
    /// Time of `samples[0]` relative to the stimulus start, seconds.
    pub start_s: f64,
    pub samples: Vec<f32>,
}

impl Analysis {
    /// Checks what a reader of `analysis.json` relies on: a rate in range, at least one
    /// channel, and per channel a response on ≥ 2 strictly rising positive frequencies with
    /// every parallel series (gain, phase, group delay, smoothed curves, THD and its
    /// harmonics, noise spectrum) of matching length. Says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        crate::bounds::check_rate(self.sample_rate).map_err(|m| format!("sample_rate {m}"))?;
        if self.channels.is_empty() {
            return Err("\"channels\" is empty".into());
        }
        if self.channels.len() > usize::from(crate::bounds::MAX_CHANNELS) {
            return Err(format!(
                "{} channels; at most {} are supported",
                self.channels.len(),
                crate::bounds::MAX_CHANNELS
            ));
        }
        if let Some(l) = &self.label {
            crate::bounds::check_label(l).map_err(|m| format!("\"label\": {m}"))?;
        }
        for (i, ch) in self.channels.iter().enumerate() {
            ch.check().map_err(|m| format!("channels[{i}]: {m}"))?;
        }
        if let Some(sd) = &self.sides {
            let curve = |what: &str, f: &[f64], v: &[f64]| {
                if f.len() != v.len() {
                    Err(format!(
                        "sides.{what}: {} values for {} frequencies",
                        v.len(),
                        f.len()
                    ))
                } else if !f.iter().all(|f| f.is_finite() && *f > 0.0)
                    || f.windows(2).any(|w| w[1] <= w[0])
                {
                    Err(format!(
                        "sides.{what}.freq_hz must be positive and strictly rising"
                    ))
                } else {
                    Ok(())
                }
            };
            curve("difference", &sd.difference.freq_hz, &sd.difference.db)?;
            for x in &sd.crosstalk {
                curve("crosstalk", &x.freq_hz, &x.db)?;
            }
        }
        Ok(())
    }
}

impl ChannelAnalysis {
    /// The channel's name: its side ("L", "R") in a two-sided session, else "chN".
    pub fn tag(&self) -> String {
        match self.side {
            Some(s) => s.as_str().to_string(),
            None => format!("ch{}", self.index),
        }
    }

    /// A channel in which nothing was measured: no figures, only why.
    pub fn without_signal(index: usize, peak_dbfs: Option<f64>, warnings: Vec<String>) -> Self {
        ChannelAnalysis {
            index,
            side: None,
            latency_s: None,
            latency_samples: None,
            measured_band_hz: None,
            swept_band_hz: None,
            window: None,
            calibrated: None,
            placements: None,
            driver_sensitivity: None,
            frequency_response: FrequencyResponse {
                freq_hz: Vec::new(),
                gain_db: Vec::new(),
                phase_deg: Vec::new(),
                group_delay_s: Vec::new(),
            },
            smoothed: Vec::new(),
            thd: Thd {
                freq_hz: Vec::new(),
                percent: Vec::new(),
                harmonics: Vec::new(),
                noise_floor: None,
            },
            noise: None,
            snr_db: None,
            level_1k_dbfs: None,
            peak_dbfs,
            impulse: Impulse {
                sample_rate: 0,
                start_s: 0.0,
                samples: Vec::new(),
            },
            drift_ppm: None,
            csd: None,
            spectrogram: None,
            warnings,
            notes: Vec::new(),
        }
    }

    /// Whether any figure was measured on this channel.
    pub fn has_signal(&self) -> bool {
        self.latency_s.is_some() && !self.frequency_response.freq_hz.is_empty()
    }

    /// The band the capture holds (`measured_band_hz`), as a pair.
    pub fn measured_band(&self) -> Option<(f64, f64)> {
        self.measured_band_hz.map(|[a, b]| (a, b))
    }

    /// The band a band figure of this channel is judged over (the `within` of
    /// `metrics::band_mean_db_in`): the band the sweep covered (`swept_band_hz`), or the
    /// measured band when the capture holds all of it. Points missing at its ends count as
    /// not measured.
    pub fn figures_band(&self) -> Option<(f64, f64)> {
        self.swept_band_hz
            .or(self.measured_band_hz)
            .map(|[a, b]| (a, b))
    }

    /// The response the derived figures are read on: the calibrated one when a calibration
    /// was applied, else the raw one.
    pub fn response(&self) -> (&[f64], &[f64]) {
        match &self.calibrated {
            Some(c) => (&c.freq_hz, &c.gain_db),
            None => (
                &self.frequency_response.freq_hz,
                &self.frequency_response.gain_db,
            ),
        }
    }

    /// Each placement's response of a re-seat series (empty for one placement), on the
    /// grid [`ChannelAnalysis::response`] gives: with a calibration removed, each placement
    /// moved by the same correction (points the calibration does not cover left out).
    pub fn placement_responses(&self) -> Vec<(Vec<f64>, Vec<f64>)> {
        let Some(sp) = &self.placements else {
            return Vec::new();
        };
        let fr = &self.frequency_response;
        // the correction at each point of the spread's grid, where there is one
        let correction: Vec<Option<f64>> = sp
            .freq_hz
            .iter()
            .map(|f| match &self.calibrated {
                None => Some(0.0),
                Some(cal) => {
                    let raw = fr.freq_hz.binary_search_by(|g| g.total_cmp(f)).ok();
                    let c = cal.freq_hz.binary_search_by(|g| g.total_cmp(f)).ok();
                    match (raw, c) {
                        (Some(i), Some(j)) => Some(cal.gain_db[j] - fr.gain_db[i]),
                        _ => None,
                    }
                }
            })
            .collect();
        sp.gain_db
            .iter()
            .map(|g| {
                sp.freq_hz
                    .iter()
                    .zip(g)
                    .zip(&correction)
                    .filter_map(|((f, v), c)| c.map(|c| (*f, v + c)))
                    .unzip()
            })
            .collect()
    }

    fn check(&self) -> Result<(), String> {
        if let Some(sp) = &self.placements {
            let n = sp.freq_hz.len();
            let k = sp.averaged.len();
            if k < 2
                || sp.gain_db.len() != k
                || sp.deviation_db.len() != k
                || sp.latency_s.len() != k
                || [&sp.min_db, &sp.max_db, &sp.std_db]
                    .iter()
                    .any(|v| v.len() != n)
                || sp.gain_db.iter().any(|g| g.len() != n)
            {
                return Err("placements: every list must hold one entry per placement averaged (at least 2) or per frequency".into());
            }
            if !sp.freq_hz.iter().all(|f| f.is_finite() && *f > 0.0)
                || sp.freq_hz.windows(2).any(|w| w[1] <= w[0])
            {
                return Err("placements.freq_hz must be positive and strictly rising".into());
            }
        }
        let fr = &self.frequency_response;
        let n = fr.freq_hz.len();
        // no points at all: a channel without signal (its warnings say so)
        if n == 1 {
            return Err("frequency_response holds 1 point (none, or at least 2)".into());
        }
        if !fr.freq_hz.iter().all(|f| f.is_finite() && *f > 0.0)
            || fr.freq_hz.windows(2).any(|w| w[1] <= w[0])
        {
            return Err("frequency_response.freq_hz must be positive and strictly rising".into());
        }
        let same = |what: &str, len: usize, optional: bool| {
            if len == n || (optional && len == 0) {
                Ok(())
            } else {
                Err(format!("{what} has {len} values for {n} frequencies"))
            }
        };
        same("frequency_response.gain_db", fr.gain_db.len(), false)?;
        same("frequency_response.phase_deg", fr.phase_deg.len(), true)?;
        same(
            "frequency_response.group_delay_s",
            fr.group_delay_s.len(),
            true,
        )?;
        for s in &self.smoothed {
            if !(1..=48).contains(&s.fraction) {
                return Err(format!(
                    "smoothed fraction 1/{} is outside 1/1–1/48",
                    s.fraction
                ));
            }
            same(
                &format!("smoothed (1/{} octave) gain_db", s.fraction),
                s.gain_db.len(),
                false,
            )?;
        }
        let t = &self.thd;
        if t.percent.len() != t.freq_hz.len()
            || t.harmonics
                .iter()
                .any(|h| h.relative_db.len() != t.freq_hz.len())
        {
            return Err(format!(
                "thd: percent and harmonics must have one value per thd.freq_hz ({})",
                t.freq_hz.len()
            ));
        }
        if let Some(f) = &t.noise_floor
            && f.percent.len() != f.freq_hz.len()
        {
            return Err("thd.noise_floor: freq_hz and percent differ in length".into());
        }
        if let Some(noise) = &self.noise
            && noise.spectrum.freq_hz.len() != noise.spectrum.dbfs_per_hz.len()
        {
            return Err("noise.spectrum: freq_hz and dbfs_per_hz differ in length".into());
        }
        if !self.impulse.samples.is_empty() {
            crate::bounds::check_rate(self.impulse.sample_rate)
                .map_err(|m| format!("impulse.sample_rate {m}"))?;
        }
        Ok(())
    }
}
