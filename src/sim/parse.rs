//! Reading device models: the TOML file format (documented in full by
//! `fixtures/models/example.toml`), its validation with messages that name the file and the
//! field, FIR coefficient files, and the built-in models.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::model::*;
use crate::error::{Error, Result};
use crate::kind::DeviceKind;

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
    use std::f64::consts::PI;

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
