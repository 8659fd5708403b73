//! `session.json`, `analysis.json` and `response.csv`: reading, validating and writing them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::output::{OutputDir, lock_dir};
use super::write_atomic;
use crate::error::{Error, Result};
use crate::results::{ANALYSIS_FORMAT, ANALYSIS_VERSION, Analysis, SweepInfo};

pub const SESSION_FORMAT: &str = "sweeplab-session";
pub const SESSION_VERSION: u32 = 1;
pub const SESSION_JSON: &str = "session.json";
pub const STIMULUS_WAV: &str = "stimulus.wav";
pub const CAPTURE_WAV: &str = "capture.wav";
pub const ANALYSIS_JSON: &str = "analysis.json";
pub const RESPONSE_CSV: &str = "response.csv";
/// The response with a microphone calibration removed (`analyze --calibration`).
pub const RESPONSE_CALIBRATED_CSV: &str = "response-calibrated.csv";
/// A simulated session's exact truth (`sweeplab simulate`).
pub const TRUTH_JSON: &str = "truth.json";

/// Extra facts about our own synchronized sweep (absent when another tool made the session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSync {
    /// Phase start f₀ ≤ start_hz with f₀·L an integer.
    pub phase_start_hz: f64,
    /// Sweep rate L, s.
    pub rate_l_s: f64,
    pub fade_in_s: f64,
    pub fade_out_s: f64,
    /// The end asked for, before clamping below Nyquist.
    pub requested_end_hz: f64,
}

/// What happened while capturing (live or simulated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureInfo {
    pub channels: u16,
    pub frames: u64,
    #[serde(default)]
    pub output_device: String,
    #[serde(default)]
    pub input_device: String,
    #[serde(default)]
    pub xruns: u64,
    #[serde(default)]
    pub device_errors: Vec<String>,
    /// Round-trip latency from the audio backend's timestamps, s.
    #[serde(default)]
    pub timestamp_latency_s: Option<f64>,
    /// Main IR-peak latency, s (filled in after analysis).
    #[serde(default)]
    pub ir_latency_s: Option<f64>,
    /// Sweeps played and averaged.
    #[serde(default = "one")]
    pub repeats: u32,
    /// Set when the capture stopped early: Ctrl-C, device lost, disk full.
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The simulated model, when the device was simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

fn one() -> u32 {
    1
}

/// The content of `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFile {
    pub format: String,
    pub version: u32,
    pub sample_rate: u32,
    pub sweep: SweepInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SweepSync>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub kind: Option<crate::kind::DeviceKind>,
    #[serde(default)]
    pub created: Option<String>,
    /// False while capturing and after an interrupted capture.
    #[serde(default = "yes")]
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureInfo>,
    #[serde(default)]
    pub tool: Option<String>,
    /// Placements asked for in a re-seat series (`measure --reseats N`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseats: Option<u32>,
    /// The placements recorded so far, the first being `capture.wav`; empty when the session
    /// is not a re-seat series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<Placement>,
    /// A two-sided session (`--sides`): the left side driven into `capture.wav`, then the
    /// right into `capture-R.wav`, each listed before its capture starts; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sides: Vec<SideCapture>,
    /// A distortion-against-level series (`--levels`): its steps, each a whole session in
    /// its own folder, in the order played (rising level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelStep>,
    /// Why the level series stopped before its last step (the input clipped, THD passed the
    /// limit, Ctrl-C), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels_stopped: Option<String>,
    /// What to do next, in a session that `sweeplab sweep` wrote and no capture exists yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

/// One placement of a re-seat series: the device taken off and put back, the sweep recorded
/// again into its own capture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Its capture, a file in the session folder ([`placement_capture`]).
    pub capture: String,
    pub frames: u64,
    /// False when its recording stopped early (the reason is in `stop_reason`).
    pub complete: bool,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub xruns: u64,
}

/// One side of a `--sides` session: the output it drove alone and its capture, in which
/// input channel 0 is the left ear and 1 the right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideCapture {
    pub side: crate::kind::Side,
    #[serde(flatten)]
    pub run: Placement,
}

/// The capture file of a side: `capture.wav` for the left (the session's own capture),
/// `capture-R.wav` for the right.
pub fn side_capture(side: crate::kind::Side) -> String {
    match side {
        crate::kind::Side::Left => CAPTURE_WAV.to_string(),
        crate::kind::Side::Right => "capture-R.wav".to_string(),
    }
}

/// One step of a distortion-against-level series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelStep {
    /// The sweep's level, dBFS.
    pub level_dbfs: f64,
    /// The step's session folder, relative to the series' session (`levels/1`, …).
    pub dir: String,
}

/// The folder of level step `i` (1-based) inside a session.
pub fn level_step_dir(i: usize) -> String {
    format!("levels/{i}")
}

/// The capture file of placement `p` (1-based): `capture.wav`, then `capture-2.wav`, ….
pub fn placement_capture(p: usize) -> String {
    if p <= 1 {
        CAPTURE_WAV.to_string()
    } else {
        format!("capture-{p}.wav")
    }
}

/// Whether `name` is a further placement's capture (`capture-N.wav`, N ≥ 2).
fn is_placement_capture(name: &str) -> bool {
    name.strip_prefix("capture-")
        .and_then(|r| r.strip_suffix(".wav"))
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n >= 2)
}

fn yes() -> bool {
    true
}

pub fn tool_name() -> String {
    format!("sweeplab {}", env!("CARGO_PKG_VERSION"))
}

/// Reads and validates `dir/session.json`.
pub fn read_session(dir: &Path) -> Result<SessionFile> {
    if !dir.exists() {
        return Err(Error::bad_input(dir, "no such session folder"));
    }
    if !dir.is_dir() {
        return Err(Error::bad_input(
            dir,
            "is a file, but a session folder was expected",
        ));
    }
    let path = dir.join(SESSION_JSON);
    let text = super::read_input(
        &path,
        "session.json",
        "missing: this folder is not a sweeplab session (create one with `sweeplab sweep --out DIR`)",
    )?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::bad_input(&path, format!("not valid JSON: {e}")))?;
    match value.get("format").and_then(|v| v.as_str()) {
        Some(SESSION_FORMAT) => {}
        Some(other) => {
            return Err(Error::bad_input(
                &path,
                format!("\"format\" is \"{other}\", expected \"{SESSION_FORMAT}\""),
            ));
        }
        None => {
            return Err(Error::bad_input(
                &path,
                format!("missing field \"format\" (expected \"{SESSION_FORMAT}\")"),
            ));
        }
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SESSION_VERSION) => {}
        Some(v) => {
            return Err(Error::bad_input(
                &path,
                format!(
                    "version {v} is not supported (this sweeplab reads version {SESSION_VERSION}); upgrade sweeplab"
                ),
            ));
        }
        None => {
            return Err(Error::bad_input(
                &path,
                "missing or non-integer field \"version\"",
            ));
        }
    }
    let s: SessionFile = serde_json::from_value(value)
        .map_err(|e| Error::bad_input(&path, format!("invalid session: {e}")))?;
    let sw = &s.sweep;
    let bad = |m: String| Err(Error::bad_input(&path, m));
    if let Err(m) = crate::bounds::check_rate(s.sample_rate) {
        return bad(format!("\"sample_rate\" {m}"));
    }
    // the bounds `sweeplab sweep` designs within (dsp::sweep::SweepDesign::new)
    if !(sw.start_hz.is_finite()
        && sw.start_hz >= 1.0
        && sw.end_hz.is_finite()
        && sw.end_hz > sw.start_hz)
    {
        return bad(format!(
            "sweep start_hz {} / end_hz {} must be at least 1 Hz and rising",
            sw.start_hz, sw.end_hz
        ));
    }
    if !(sw.duration_s.is_finite() && (0.1..=600.0).contains(&sw.duration_s)) {
        return bad(format!(
            "sweep duration_s {} is outside 0.1–600 s",
            sw.duration_s
        ));
    }
    for (name, v) in [("pre_s", sw.pre_s), ("post_s", sw.post_s)] {
        if !(v.is_finite() && (0.0..=60.0).contains(&v)) {
            return bad(format!("sweep {name} {v} is outside 0–60 s"));
        }
    }
    if !(sw.level_dbfs.is_finite() && (-100.0..=0.0).contains(&sw.level_dbfs)) {
        return bad(format!(
            "sweep level_dbfs {} is outside −100…0 dBFS",
            sw.level_dbfs
        ));
    }
    if let Some(sync) = &s.sync {
        // a synchronized sweep's rate follows from its duration, end and phase start
        let f0 = sync.phase_start_hz;
        let expected_l = sw.duration_s / (sw.end_hz / f0).ln();
        if !(f0.is_finite() && f0 > 0.0 && f0 <= sw.start_hz * (1.0 + 1e-9)) {
            return bad(format!(
                "sync.phase_start_hz {f0} must be positive and not above start_hz {}",
                sw.start_hz
            ));
        }
        if !(sync.rate_l_s.is_finite() && (sync.rate_l_s - expected_l).abs() <= 1e-6 * expected_l) {
            return bad(format!(
                "sync.rate_l_s {} does not match the sweep (duration_s / ln(end_hz / phase_start_hz) = {expected_l}); the file was edited or damaged",
                sync.rate_l_s
            ));
        }
    }
    if let Some(l) = &s.label
        && let Err(m) = crate::bounds::check_label(l)
    {
        return bad(format!("\"label\": {m}"));
    }
    if let Some(c) = &s.capture
        && !(1..=100).contains(&c.repeats)
    {
        return bad(format!("capture.repeats {} is outside 1–100", c.repeats));
    }
    if !s.sides.is_empty() {
        if !s.placements.is_empty() || !s.levels.is_empty() {
            return bad(
                "\"sides\" cannot be combined with \"placements\" or \"levels\" in one session"
                    .into(),
            );
        }
        for (i, sc) in s.sides.iter().enumerate() {
            let want = crate::kind::Side::BOTH[i.min(1)];
            if i > 1 || sc.side != want || sc.run.capture != side_capture(want) {
                return bad(format!(
                    "\"sides\" entry {} must be side {} with capture {} (the left side is recorded first)",
                    i + 1,
                    want,
                    side_capture(want)
                ));
            }
        }
    }
    Ok(s)
}

pub fn write_session(dir: &Path, s: &SessionFile) -> Result<()> {
    let text = serde_json::to_string_pretty(s)
        .map_err(|e| Error::io(dir.join(SESSION_JSON), std::io::Error::other(e)))?;
    let path = dir.join(SESSION_JSON);
    let bytes = format!("{text}\n");
    super::write_durable(&path, bytes.as_bytes()).or_else(|first| {
        // a full disk has no room for the temporary copy: rewrite the file in place (it keeps
        // its blocks), so that session.json still says what happened
        super::output::rewrite_in_place(&path, bytes.as_bytes()).map_err(|_| first)
    })
}

/// Prepares a folder for a new session: creates and locks it, or refuses to touch an existing
/// session unless `force`. A link where a session file goes is refused even with `force`.
pub fn prepare_session_dir(dir: &Path, force: bool) -> Result<OutputDir> {
    let out = lock_dir(dir)?;
    // a re-seat series' further captures belong to the session as much as capture.wav
    let mut files: Vec<String> = [SESSION_JSON, STIMULUS_WAV, CAPTURE_WAV]
        .map(String::from)
        .to_vec();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut more: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| is_placement_capture(n) || *n == side_capture(crate::kind::Side::Right))
            .collect();
        more.sort();
        files.extend(more);
    }
    for f in &files {
        super::output::refuse_link(&dir.join(f))?;
    }
    let taken: Vec<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| dir.join(f).exists())
        .collect();
    if !taken.is_empty() && !force {
        return Err(Error::WouldOverwrite {
            path: dir.to_path_buf(),
            msg: format!(
                "already holds a session ({}); choose another --out, or pass --force to overwrite it",
                taken.join(", ")
            ),
        });
    }
    if force {
        for f in taken {
            std::fs::remove_file(dir.join(f)).map_err(|e| Error::io(dir.join(f), e))?;
        }
    }
    Ok(out)
}

/// Creates and locks an output folder for results (results may be rewritten: they derive
/// from data). Creating the lock file also proves the folder writable before any work.
pub fn prepare_output_dir(dir: &Path) -> Result<OutputDir> {
    lock_dir(dir)
}

pub fn write_analysis(dir: &Path, a: &Analysis) -> Result<PathBuf> {
    let path = dir.join(ANALYSIS_JSON);
    let text = serde_json::to_string(a).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Reads `analysis.json` from a folder (or the file itself).
pub fn read_analysis(path: &Path) -> Result<Analysis> {
    let file = if path.is_dir() {
        path.join(ANALYSIS_JSON)
    } else {
        path.to_path_buf()
    };
    let text = super::read_input(
        &file,
        "analysis.json",
        "missing: run `sweeplab analyze` first",
    )?;
    let a: Analysis = serde_json::from_str(&text)
        .map_err(|e| Error::bad_input(&file, format!("not a valid analysis.json: {e}")))?;
    if a.format != ANALYSIS_FORMAT {
        return Err(Error::bad_input(
            &file,
            format!(
                "\"format\" is \"{}\", expected \"{ANALYSIS_FORMAT}\"",
                a.format
            ),
        ));
    }
    if a.version != ANALYSIS_VERSION {
        return Err(Error::bad_input(
            &file,
            format!(
                "version {} is not supported (expected {ANALYSIS_VERSION})",
                a.version
            ),
        ));
    }
    a.check()
        .map_err(|m| Error::bad_input(&file, format!("inconsistent analysis: {m}")))?;
    Ok(a)
}

/// `frequency,raw` CSV (AutoEq / squig.link) of a response.
pub fn write_response_csv(path: &Path, freq_hz: &[f64], gain_db: &[f64]) -> Result<()> {
    let mut s = String::from("frequency,raw\n");
    for (f, g) in freq_hz.iter().zip(gain_db) {
        s.push_str(&format!("{f:.6},{g:.6}\n"));
    }
    write_atomic(path, s.as_bytes())
}
