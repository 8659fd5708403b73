//! Reading device models: the TOML file format (documented in full by
//! `fixtures/models/example.toml`), its validation with messages that name the file and the
//! field; FIR coefficient files are read by `fir.rs`, the built-in models are in `builtin.rs`.

use std::path::Path;

use serde::Deserialize;

use super::builtin::BUILTIN_NAMES;
use super::model::*;
use crate::error::{Error, Result};
use crate::kind::DeviceKind;

#[path = "fir.rs"]
mod fir;
use fir::load_fir;

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
    fit: Option<RawFit>,
    sides: Option<RawSides>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSides {
    right_gain_db: Option<f64>,
    right_inverted: Option<bool>,
    crosstalk_db: Option<f64>,
    right_crosstalk_db: Option<f64>,
    #[serde(default)]
    right_stage: Vec<RawStage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFit {
    bass_db: Option<f64>,
    treble_db: Option<f64>,
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
    /// Checks what depends on the sample rate: filters below Nyquist, the fractional latency,
    /// the rate of WAV coefficient files.
    pub fn check_rate(&self, sample_rate: u32) -> Result<()> {
        let fs = f64::from(sample_rate);
        let cx = Ctx {
            origin: &self.origin,
        };
        let right = self.sides.iter().flat_map(|s| &s.right_stages);
        let tables = std::iter::repeat("[[stage]]")
            .zip(self.stages.iter().enumerate())
            .chain(std::iter::repeat("[[sides.right_stage]]").zip(right.enumerate()));
        for (table, (i, s)) in tables {
            match s {
                Stage::Biquad { shape, freq_hz, .. } if *freq_hz >= 0.49 * fs => {
                    return Err(cx.err(format!(
                        "{table} #{} ({}): `freq_hz` = {freq_hz} Hz is not below Nyquist at {sample_rate} Hz (must be under {:.0} Hz); lower it or measure at a higher --rate",
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
                        "{table} #{} (fir): {} is at {r} Hz but the measurement runs at {sample_rate} Hz; measure at --rate {r} or resample the coefficients",
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

    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<DeviceModel> {
        let text = crate::storage::read_input(
            path,
            "a device model (TOML)",
            &format!(
                "no such model file (built-in models: {})",
                BUILTIN_NAMES.join(", ")
            ),
        )?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and validates a model. `origin` names it in errors; FIR files are read
    /// relative to its folder.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<DeviceModel> {
        let cx = Ctx { origin };
        let raw: RawModel = toml::from_str(text).map_err(|e| {
            let msg = crate::text::toml_error(text, &e);
            let misplaced = TOP_LEVEL_KEYS
                .iter()
                .find(|k| msg.contains(&format!("unknown field `{k}`")));
            let hint = match misplaced {
                Some(k) => format!(
                    "\n`{k}` is a top-level key: write it above the first [table] or [[table]] header (TOML puts a key written below a header into that table)"
                ),
                None => String::new(),
            };
            cx.err(format!("not a valid device model: {msg}{hint}"))
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
            stages.push(parse_stage(&cx, &format!("[[stage]] #{}", i + 1), s)?);
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
        let fit = raw
            .fit
            .as_ref()
            .map(|f| -> Result<FitVariation> {
                Ok(FitVariation {
                    bass_db: cx.range("[fit]", "bass_db", f.bass_db.unwrap_or(0.0), 0.0, 12.0)?,
                    treble_db: cx.range(
                        "[fit]",
                        "treble_db",
                        f.treble_db.unwrap_or(0.0),
                        0.0,
                        12.0,
                    )?,
                })
            })
            .transpose()?;
        let sides = raw
            .sides
            .as_ref()
            .map(|sd| -> Result<SidesModel> {
                let mut right_stages = Vec::new();
                for (i, s) in sd.right_stage.iter().enumerate() {
                    right_stages.push(parse_stage(
                        &cx,
                        &format!("[[sides.right_stage]] #{}", i + 1),
                        s,
                    )?);
                }
                Ok(SidesModel {
                    right_gain_db: cx.range(
                        "[sides]",
                        "right_gain_db",
                        sd.right_gain_db.unwrap_or(0.0),
                        -40.0,
                        40.0,
                    )?,
                    right_stages,
                    right_inverted: sd.right_inverted.unwrap_or(false),
                    crosstalk_db: sd
                        .crosstalk_db
                        .map(|db| cx.range("[sides]", "crosstalk_db", db, -140.0, 0.0))
                        .transpose()?,
                    right_crosstalk_db: sd
                        .right_crosstalk_db
                        .map(|db| cx.range("[sides]", "right_crosstalk_db", db, -140.0, 0.0))
                        .transpose()?,
                })
            })
            .transpose()?;
        if let Some(l) = &raw.label {
            crate::bounds::check_label(l).map_err(|m| cx.err(format!("`label`: {m}")))?;
        }
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
            fit,
            sides,
            capture_gains: None,
            origin: origin.to_path_buf(),
        })
    }
}

/// `w`: where the stage is written ("[[stage]] #2"), for messages.
fn parse_stage(cx: &Ctx, w: &str, s: &RawStage) -> Result<Stage> {
    let w = w.to_string();
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

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
