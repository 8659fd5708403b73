//! `sweeplab calibrate`: a measurement microphone's sensitivity from a recording of an
//! acoustic calibrator (a steady 1 kHz tone of 94 or 114 dB SPL), kept in a small JSON file
//! that `analyze --sensitivity` applies: dB SPL = dBFS + offset. A microphone under test is
//! not measured through the measurement microphone: there it is not applied.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::AnalyzeOptions;
use crate::error::{Error, Result};
use crate::kind::DeviceKind;
use crate::results::{Analysis, SplInfo};

pub const SENSITIVITY_FORMAT: &str = "sweeplab-mic-sensitivity";
/// The longest calibrator recording read, s (a calibrator is recorded for seconds).
const MAX_RECORDING_S: f64 = 600.0;

/// The sensitivity file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicSensitivity {
    pub format: String,
    pub version: u32,
    pub created: String,
    /// The calibrator recording, and its channel.
    pub recording: String,
    pub channel: usize,
    /// The calibrator's level, dB SPL.
    pub calibrator_db_spl: f64,
    /// Its tone as recorded: AES17 dBFS, and its frequency.
    pub calibrator_dbfs: f64,
    pub freq_hz: f64,
    /// dB SPL = dBFS + offset_db.
    pub offset_db: f64,
    /// The microphone's sensitivity as datasheets give it: dBFS at 94 dB SPL (1 Pa).
    pub dbfs_at_94_db_spl: f64,
    /// The input's RMS volts for a full-scale sine (`--input-vrms`), when given …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_vrms_at_0dbfs: Option<f64>,
    /// … and then the microphone's sensitivity in dBV/Pa: dBFS at 1 Pa + 20·log10(that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbv_per_pa: Option<f64>,
}

/// Measures the calibrator tone in `recording` (channel `channel`) and writes the
/// sensitivity to `out` (never over a file without `force`).
pub fn calibrate(
    recording: &Path,
    channel: usize,
    calibrator_db_spl: f64,
    input_vrms: Option<f64>,
    out: &Path,
    force: bool,
) -> Result<MicSensitivity> {
    if !(calibrator_db_spl.is_finite() && (60.0..=160.0).contains(&calibrator_db_spl)) {
        return Err(Error::bad_usage(
            "--spl",
            format!("{calibrator_db_spl} dB SPL is not a calibrator's level (94 or 114 are usual)"),
        ));
    }
    if out.exists() && !force {
        return Err(Error::WouldOverwrite {
            path: out.to_path_buf(),
            msg: "exists; choose another --out, or pass --force to replace it".into(),
        });
    }
    let info = crate::storage::wav::probe_wav(recording)?;
    let max_frames = (MAX_RECORDING_S * f64::from(info.sample_rate)) as usize;
    let (wav, _) = crate::storage::wav::read_wav_prefix(recording, Some(max_frames))?;
    let x = wav.channels.get(channel).ok_or_else(|| {
        Error::bad_usage(
            "--channel",
            format!(
                "{} has {} channel(s); channel {channel} does not exist",
                recording.display(),
                wav.channels.len()
            ),
        )
    })?;
    let t = crate::dsp::tone::calibrator_level(x, f64::from(wav.sample_rate))
        .map_err(|m| Error::bad_input(recording, m))?;
    let offset_db = calibrator_db_spl - t.level_dbfs;
    let s = MicSensitivity {
        format: SENSITIVITY_FORMAT.into(),
        version: 1,
        created: crate::units::now_rfc3339(),
        recording: recording.display().to_string(),
        channel,
        calibrator_db_spl,
        calibrator_dbfs: t.level_dbfs,
        freq_hz: t.freq_hz,
        offset_db,
        dbfs_at_94_db_spl: 94.0 - offset_db,
        input_vrms_at_0dbfs: input_vrms,
        dbv_per_pa: input_vrms.map(|v| 94.0 - offset_db + 20.0 * v.log10()),
    };
    let json =
        serde_json::to_string_pretty(&s).map_err(|e| Error::io(out, std::io::Error::other(e)))?;
    crate::storage::write_atomic(out, format!("{json}\n").as_bytes())?;
    Ok(s)
}

/// Reads a sensitivity file written by `calibrate`.
pub fn read_sensitivity(path: &Path) -> Result<SplInfo> {
    let text = crate::storage::read_input(
        path,
        "a microphone sensitivity file",
        "no such file; make one with `sweeplab calibrate CALIBRATOR.wav --out mic.json`",
    )?;
    let s: MicSensitivity = serde_json::from_str(&text)
        .map_err(|e| Error::bad_input(path, format!("not a sweeplab sensitivity file: {e}")))?;
    if s.format != SENSITIVITY_FORMAT || s.version != 1 {
        return Err(Error::bad_input(
            path,
            format!("is not a {SENSITIVITY_FORMAT} file of version 1"),
        ));
    }
    if !(s.offset_db.is_finite()
        && s.calibrator_dbfs.is_finite()
        && s.calibrator_db_spl.is_finite())
    {
        return Err(Error::bad_input(path, "holds a level that is not a number"));
    }
    Ok(SplInfo {
        file: path.display().to_string(),
        calibrator_db_spl: s.calibrator_db_spl,
        calibrator_dbfs: s.calibrator_dbfs,
        offset_db: s.offset_db,
        dbv_per_pa: s.dbv_per_pa.filter(|v| v.is_finite()),
    })
}

/// The microphone under test's own sensitivity (`analyze --mic-sensitivity`, from
/// `sweeplab calibrate` of that microphone): its sensitivity per pascal, and its self-noise
/// (the A-weighted noise of the silence before the sweep) as an equivalent dB(A) SPL.
pub fn apply_mic_sensitivity(a: &mut Analysis, mic: &SplInfo) {
    a.mic_under_test = Some(crate::results::MicUnderTest {
        file: mic.file.clone(),
        dbfs_per_pa: 94.0 - mic.offset_db,
        dbv_per_pa: mic.dbv_per_pa,
        self_noise_dba_spl: a
            .channels
            .iter()
            .map(|c| c.noise.as_ref().map(|n| n.a_weighted_dbfs + mic.offset_db))
            .collect(),
    });
}

/// Records the sensitivity on the analysis (dB SPL figures follow from it), except for a
/// microphone under test, which is not measured through the measurement microphone.
pub fn apply_sensitivity(a: &mut Analysis, opts: &AnalyzeOptions) {
    let Some(spl) = &opts.sensitivity else {
        return;
    };
    if a.kind.is_some_and(DeviceKind::is_microphone) {
        for ch in &mut a.channels {
            ch.notes.push(format!(
                "sensitivity {} not applied: a microphone under test is not measured through the measurement microphone",
                spl.file
            ));
        }
        return;
    }
    a.spl = Some(spl.clone());
    apply_drive(a, opts);
}

/// A driver's sensitivity per volt and per milliwatt (`opts.drive`), on every channel whose
/// level at 1 kHz was measured, once levels are in dB SPL.
fn apply_drive(a: &mut Analysis, opts: &AnalyzeOptions) {
    let (Some(drive), Some(spl)) = (&opts.drive, &a.spl) else {
        return;
    };
    let v = drive.volts_rms_at_0dbfs * 10f64.powf(a.sweep.level_dbfs / 20.0);
    for ch in &mut a.channels {
        let Some(level) = ch.level_1k_dbfs else {
            ch.notes
                .push("no driver sensitivity: the level at 1 kHz was not measured".into());
            continue;
        };
        let spl_1k = level + spl.offset_db;
        let power_w = drive.impedance_ohm.map(|z| v * v / z);
        ch.driver_sensitivity = Some(crate::results::DriverSensitivity {
            spl_1k_db: spl_1k,
            volts_rms: v,
            db_spl_per_v: spl_1k - 20.0 * v.log10(),
            impedance_ohm: drive.impedance_ohm,
            power_mw: power_w.map(|p| p * 1e3),
            db_spl_per_mw: power_w.map(|p| spl_1k - 10.0 * (p / 1e-3).log10()),
        });
    }
}
