//! Claims as data (a TOML file) and their verdicts against the measured devices.
//!
//! A claim compares the devices of one kind (`a_kind`) with those of another (`b_kind`), or
//! with a fixed `value`, on one metric or on several (`[[claim.condition]]`, all must hold).
//! Every device of kind A is paired with every device of kind B and the difference A − B is
//! taken in the claim's unit: dB for levels, octaves (log2 of the frequency ratio) for the
//! extension frequencies, dB (20·log10 of the ratio) or percentage points for THD.
//!
//! Verdicts, per condition: *supported* when every pair differs in the claimed direction by
//! at least `min_difference`; *contradicted* when every pair differs in the opposite direction
//! by at least `min_difference`; otherwise *inconclusive* (difference below the threshold,
//! pairs disagreeing, no device of a kind, the metric missing). A claim with several
//! conditions is supported when all are, contradicted when any is, else inconclusive. A claim
//! marked `decidable = false` is inconclusive: "not measurable".

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kind::DeviceKind;
use crate::units::{hz, prose, sig2, signed, signed_trim, trim};

/// The built-in claims (`fixtures/claims/default.toml`).
pub const DEFAULT_CLAIMS: &str = include_str!("../../fixtures/claims/default.toml");
/// How `compare.json` names the built-in set.
pub const DEFAULT_CLAIMS_NAME: &str = "built-in (fixtures/claims/default.toml)";

pub const CLAIMS_FORMAT: &str = "sweeplab-claims";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Supported,
    Contradicted,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    AGreater,
    ALess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Db,
    Octave,
    Percent,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Db => "dB",
            Unit::Octave => "octave",
            Unit::Percent => "percent",
        }
    }
}

/// A metric a claim can use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    ReferenceDb,
    BassDb,
    TrebleDb,
    LowExtensionHz,
    HighExtensionHz,
    NoiseRmsDbfs,
    SnrDb,
    Thd1kPercent,
    /// RMS deviation from the `--target` curve.
    RmsDeviationDb,
    /// Mean over [lo, hi] Hz minus `reference_db`, or minus the mean over `relative_to`.
    Band {
        lo: f64,
        hi: f64,
        relative_to: Option<(f64, f64)>,
    },
}

pub const METRIC_NAMES: [&str; 9] = [
    "reference_db",
    "bass_db",
    "treble_db",
    "low_extension_hz",
    "high_extension_hz",
    "noise_rms_dbfs",
    "snr_db",
    "thd_1k_percent",
    "rms_deviation_db",
];

impl Metric {
    fn from_name(s: &str) -> Option<Metric> {
        Some(match s {
            "reference_db" => Metric::ReferenceDb,
            "bass_db" => Metric::BassDb,
            "treble_db" => Metric::TrebleDb,
            "low_extension_hz" => Metric::LowExtensionHz,
            "high_extension_hz" => Metric::HighExtensionHz,
            "noise_rms_dbfs" => Metric::NoiseRmsDbfs,
            "snr_db" => Metric::SnrDb,
            "thd_1k_percent" => Metric::Thd1kPercent,
            "rms_deviation_db" => Metric::RmsDeviationDb,
            _ => return None,
        })
    }

    /// The name used in `compare.json` (`band_db[250,4000]` for a band).
    pub fn name(&self) -> String {
        match self {
            Metric::Band {
                lo,
                hi,
                relative_to,
            } => match relative_to {
                Some((a, b)) => format!("band_db[{lo},{hi}]-band_db[{a},{b}]"),
                None => format!("band_db[{lo},{hi}]"),
            },
            m => METRIC_NAMES[m.index()].to_string(),
        }
    }

    fn index(&self) -> usize {
        match self {
            Metric::ReferenceDb => 0,
            Metric::BassDb => 1,
            Metric::TrebleDb => 2,
            Metric::LowExtensionHz => 3,
            Metric::HighExtensionHz => 4,
            Metric::NoiseRmsDbfs => 5,
            Metric::SnrDb => 6,
            Metric::Thd1kPercent => 7,
            Metric::RmsDeviationDb => 8,
            Metric::Band { .. } => usize::MAX,
        }
    }

    /// Plain words for claims.md, including which way is "more".
    pub fn describe(&self) -> String {
        match self {
            Metric::ReferenceDb => "mid level (mean gain over 250 Hz–4 kHz, absolute: depends on the volume setting)".into(),
            Metric::BassDb => "bass level (mean over 20–250 Hz relative to the 250 Hz–4 kHz mean)".into(),
            Metric::TrebleDb => "treble level (mean over 4–20 kHz relative to the 250 Hz–4 kHz mean)".into(),
            Metric::LowExtensionHz => "low-frequency extension (lowest frequency within 6 dB of the mid level; lower reaches deeper)".into(),
            Metric::HighExtensionHz => "high-frequency extension (highest frequency within 6 dB of the mid level; higher reaches further)".into(),
            Metric::NoiseRmsDbfs => "noise floor (20 Hz–20 kHz, dBFS; higher is noisier)".into(),
            Metric::SnrDb => "signal-to-noise ratio (level at 1 kHz minus the noise floor; higher is better)".into(),
            Metric::Thd1kPercent => "THD at 1 kHz (higher is more distortion)".into(),
            Metric::RmsDeviationDb => "RMS deviation from the target curve over 20 Hz–10 kHz (lower is closer)".into(),
            Metric::Band { lo, hi, relative_to } => match relative_to {
                Some((a, b)) => format!(
                    "mean level over {}–{} minus the mean over {}–{}",
                    hz(*lo), hz(*hi), hz(*a), hz(*b)
                ),
                None => format!(
                    "mean level over {}–{} relative to the 250 Hz–4 kHz mean",
                    hz(*lo), hz(*hi)
                ),
            },
        }
    }

    fn is_frequency(&self) -> bool {
        matches!(self, Metric::LowExtensionHz | Metric::HighExtensionHz)
    }

    fn default_unit(&self) -> Unit {
        if self.is_frequency() {
            Unit::Octave
        } else {
            Unit::Db
        }
    }

    fn allowed_units(&self) -> &'static [Unit] {
        match self {
            Metric::LowExtensionHz | Metric::HighExtensionHz => &[Unit::Octave],
            Metric::Thd1kPercent => &[Unit::Db, Unit::Percent],
            _ => &[Unit::Db],
        }
    }
}

/// One condition of a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Short name shown in claims.md ("mid-range prominence"); defaults to the metric name.
    pub what: Option<String>,
    pub metric: Metric,
    pub direction: Direction,
    /// ≥ 0, in `unit`.
    pub min_difference: f64,
    pub unit: Unit,
    /// Compare with this fixed value (in the metric's own unit: dB, Hz, %) instead of B.
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimTest {
    /// No measurement here can decide it.
    NotMeasurable { reason: String },
    Measurable {
        a_kind: DeviceKind,
        b_kind: Option<DeviceKind>,
        conditions: Vec<Condition>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub id: String,
    pub statement: String,
    /// How the statement is read as measurements (shown in claims.md).
    pub note: Option<String>,
    pub test: ClaimTest,
}

// ---------------------------------------------------------------------------------------
// TOML

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    claim: Vec<ClaimToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimToml {
    id: toml::Spanned<String>,
    statement: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    decidable: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    a_kind: Option<String>,
    #[serde(default)]
    b_kind: Option<String>,
    // a single condition may be given at the claim's top level
    #[serde(default)]
    what: Option<String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    band_db: Option<Vec<f64>>,
    #[serde(default)]
    relative_to: Option<Vec<f64>>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    min_difference: Option<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    condition: Vec<CondToml>,
}

impl ClaimToml {
    fn single(&self) -> CondToml {
        CondToml {
            what: self.what.clone(),
            metric: self.metric.clone(),
            band_db: self.band_db.clone(),
            relative_to: self.relative_to.clone(),
            direction: self.direction.clone(),
            min_difference: self.min_difference,
            unit: self.unit.clone(),
            value: self.value,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CondToml {
    #[serde(default)]
    what: Option<String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    band_db: Option<Vec<f64>>,
    #[serde(default)]
    relative_to: Option<Vec<f64>>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    min_difference: Option<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    value: Option<f64>,
}

impl CondToml {
    fn is_empty(&self) -> bool {
        self.what.is_none()
            && self.metric.is_none()
            && self.band_db.is_none()
            && self.relative_to.is_none()
            && self.direction.is_none()
            && self.min_difference.is_none()
            && self.unit.is_none()
            && self.value.is_none()
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Reads a claims file.
pub fn read_claims(path: &Path) -> Result<Vec<Claim>> {
    let text = crate::storage::read_text(path).map_err(|e| match e {
        crate::storage::TextError::NotFound => Error::bad_input(path, "no such claims file"),
        e => Error::bad_input(path, e.to_string()),
    })?;
    parse_claims(path, &text)
}

/// Parses claims TOML; `path` names the file in errors.
pub fn parse_claims(path: &Path, text: &str) -> Result<Vec<Claim>> {
    let file: FileToml = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        Error::bad_input(
            path,
            format!("line {line}: {}", e.message().trim().replace('\n', " ")),
        )
    })?;
    if let Some(f) = &file.format
        && f != CLAIMS_FORMAT
    {
        return Err(Error::bad_input(
            path,
            format!("\"format\" is \"{f}\", expected \"{CLAIMS_FORMAT}\""),
        ));
    }
    if let Some(v) = file.version
        && v != 1
    {
        return Err(Error::bad_input(
            path,
            format!("version {v} is not supported (expected 1)"),
        ));
    }
    if file.claim.is_empty() {
        return Err(Error::bad_input(
            path,
            "holds no [[claim]] tables; see fixtures/claims/default.toml for the format",
        ));
    }
    let mut out: Vec<Claim> = Vec::new();
    for c in file.claim {
        let line = line_of(text, c.id.span().start);
        let id = c.id.get_ref().clone();
        let bad = |m: String| Error::bad_input(path, format!("line {line}: claim \"{id}\": {m}"));
        if id.trim().is_empty() {
            return Err(bad("the id is empty".into()));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(bad("this id is used twice".into()));
        }
        if c.statement.trim().is_empty() {
            return Err(bad("the statement is empty".into()));
        }
        let decidable = c.decidable.unwrap_or(true);
        let single = c.single();
        let test = if !decidable {
            if c.a_kind.is_some() || !single.is_empty() || !c.condition.is_empty() {
                return Err(bad(
                    "decidable = false claims take no kinds, metrics or conditions (only a reason)"
                        .into(),
                ));
            }
            ClaimTest::NotMeasurable {
                reason: c
                    .reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or_else(|| "no measurement of this tool can decide it".into()),
            }
        } else {
            let a_kind: DeviceKind = c
                .a_kind
                .as_deref()
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| bad("needs a_kind (the kind of device the claim is about)".into()))?
                .parse()
                .map_err(|e| bad(format!("a_kind: {e}")))?;
            let b_kind: Option<DeviceKind> = c
                .b_kind
                .as_deref()
                .map(|k| k.parse().map_err(|e| bad(format!("b_kind: {e}"))))
                .transpose()?;
            if b_kind == Some(a_kind) {
                return Err(bad(format!(
                    "a_kind and b_kind are both \"{a_kind}\"; a claim compares two kinds"
                )));
            }
            let raw: Vec<&CondToml> = match (single.is_empty(), c.condition.is_empty()) {
                (false, true) => vec![&single],
                (true, false) => c.condition.iter().collect(),
                (false, false) => {
                    return Err(bad(
                        "give the metric either at the claim's top level or in [[claim.condition]] tables, not both"
                            .into(),
                    ));
                }
                (true, true) => {
                    return Err(bad(
                        "needs a metric (metric = \"bass_db\" or band_db = [lo, hi]) and a direction"
                            .into(),
                    ));
                }
            };
            let conditions = raw
                .into_iter()
                .enumerate()
                .map(|(k, t)| {
                    condition(t, b_kind.is_some()).map_err(|m| {
                        if c.condition.is_empty() {
                            bad(m)
                        } else {
                            bad(format!("condition {}: {m}", k + 1))
                        }
                    })
                })
                .collect::<std::result::Result<Vec<_>, Error>>()?;
            ClaimTest::Measurable {
                a_kind,
                b_kind,
                conditions,
            }
        };
        if decidable && c.reason.is_some() {
            return Err(bad(
                "\"reason\" is for decidable = false claims; use \"note\" to explain a measurable one"
                    .into(),
            ));
        }
        out.push(Claim {
            id,
            statement: c.statement,
            note: c.note,
            test,
        });
    }
    Ok(out)
}

fn band(v: &[f64], key: &str) -> std::result::Result<(f64, f64), String> {
    match v {
        [lo, hi] if lo.is_finite() && hi.is_finite() && *lo > 0.0 && hi > lo => Ok((*lo, *hi)),
        _ => Err(format!(
            "{key} must be [low_hz, high_hz] with 0 < low < high, got {v:?}"
        )),
    }
}

fn condition(t: &CondToml, has_b: bool) -> std::result::Result<Condition, String> {
    let metric = match (&t.metric, &t.band_db) {
        (Some(m), None) => {
            if t.relative_to.is_some() {
                return Err("relative_to only goes with band_db".into());
            }
            Metric::from_name(m).ok_or_else(|| {
                format!(
                    "unknown metric \"{m}\"; use one of {} or band_db = [lo, hi]",
                    METRIC_NAMES.join(", ")
                )
            })?
        }
        (None, Some(b)) => {
            let (lo, hi) = band(b, "band_db")?;
            let relative_to = t
                .relative_to
                .as_deref()
                .map(|r| band(r, "relative_to"))
                .transpose()?;
            Metric::Band {
                lo,
                hi,
                relative_to,
            }
        }
        (Some(_), Some(_)) => return Err("give either metric or band_db, not both".into()),
        (None, None) => return Err("needs metric = \"…\" or band_db = [lo, hi]".into()),
    };
    let direction = match t.direction.as_deref() {
        Some("a_greater") => Direction::AGreater,
        Some("a_less") => Direction::ALess,
        Some(d) => {
            return Err(format!(
                "direction \"{d}\" is not \"a_greater\" or \"a_less\""
            ));
        }
        None => {
            return Err(
                "needs direction = \"a_greater\" or \"a_less\" (A's value above or below B's)"
                    .into(),
            );
        }
    };
    let unit = match t.unit.as_deref() {
        None => metric.default_unit(),
        Some(u) => match u.to_ascii_lowercase().as_str() {
            "db" => Unit::Db,
            "octave" | "octaves" | "oct" => Unit::Octave,
            "percent" | "%" => Unit::Percent,
            _ => return Err(format!("unit \"{u}\" is not dB, octave or percent")),
        },
    };
    if !metric.allowed_units().contains(&unit) {
        let ok: Vec<&str> = metric.allowed_units().iter().map(|u| u.as_str()).collect();
        return Err(format!(
            "{} is compared in {}, not {}",
            metric.name(),
            ok.join(" or "),
            unit.as_str()
        ));
    }
    let min_difference = match t.min_difference {
        Some(d) if d.is_finite() && d >= 0.0 => d,
        Some(d) => return Err(format!("min_difference {d} must be zero or positive")),
        None => match unit {
            Unit::Octave => 1.0 / 6.0,
            Unit::Db => 1.0,
            Unit::Percent => {
                return Err("min_difference (percentage points) must be given".into());
            }
        },
    };
    match (t.value, has_b) {
        (Some(_), true) => {
            return Err("has both b_kind and value; compare with one or the other".into());
        }
        (None, false) => {
            return Err("needs b_kind (devices to compare with) or value (a fixed level)".into());
        }
        (Some(v), false) if !v.is_finite() || (metric.is_frequency() && v <= 0.0) => {
            return Err(format!("value {v} is not usable for {}", metric.name()));
        }
        (Some(v), false) if metric == Metric::Thd1kPercent && unit == Unit::Db && v <= 0.0 => {
            return Err(format!(
                "value {v} % cannot be compared as a ratio in dB; use unit = \"percent\""
            ));
        }
        _ => {}
    }
    Ok(Condition {
        what: t.what.clone(),
        metric,
        direction,
        min_difference,
        unit,
        value: t.value,
    })
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// A device's value of a metric, as the claim evaluation sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Missing,
    /// A value in the metric's own unit.
    Exact(f64),
    /// The true value is at or below this (a low extension at the band's start).
    AtMost(f64),
    /// The true value is at or above this (a high extension at the band's end).
    AtLeast(f64),
}

/// What the evaluation needs to know about a device.
pub trait Subject {
    fn label(&self) -> &str;
    fn kind(&self) -> Option<DeviceKind>;
    fn reading(&self, metric: &Metric) -> Reading;
}

/// One A–B pair of one condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairResult {
    pub a: String,
    /// The B device's label, or the fixed value in words ("80 Hz").
    pub b: String,
    /// A's value in the metric's own unit (dB, Hz, %); for a band-edge extension, the edge.
    pub a_value: Option<f64>,
    pub b_value: Option<f64>,
    /// A − B in the condition's unit (octaves for frequencies); null when a value is
    /// missing or only bounded.
    pub difference: Option<f64>,
    /// A value is missing: the pair is left out of the verdict.
    pub missing_value: bool,
    pub verdict: Verdict,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    /// The condition's short name, if the claims file gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    pub metric: String,
    pub direction: String,
    pub min_difference: f64,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub pairs: Vec<PairResult>,
    pub verdict: Verdict,
    /// Why the verdict, in a sentence (without the numbers).
    pub summary: String,
    /// Pairs left out for a missing value, in words.
    pub left_out: Vec<String>,
    /// The summary with every pair's numbers.
    pub evidence: String,
}

/// A claim's verdict. `id`, `statement`, `verdict`, `evidence` are CONTRACT's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    pub id: String,
    pub statement: String,
    pub verdict: Verdict,
    pub evidence: String,
    pub decidable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub a_kind: Option<DeviceKind>,
    pub b_kind: Option<DeviceKind>,
    pub a_devices: Vec<String>,
    pub b_devices: Vec<String>,
    pub conditions: Vec<ConditionResult>,
}

/// Where a reading sits on the comparison scale (dB, log2 Hz, %): [lo, hi].
fn interval(r: Reading, metric: &Metric, unit: Unit) -> Option<(f64, f64)> {
    let t = |v: f64| -> Option<f64> {
        let x = match (metric.is_frequency(), unit) {
            (true, _) if v > 0.0 => v.log2(),
            (true, _) => return None,
            (false, Unit::Db) if *metric == Metric::Thd1kPercent => {
                if v > 0.0 {
                    20.0 * v.log10()
                } else {
                    return None;
                }
            }
            _ => v,
        };
        x.is_finite().then_some(x)
    };
    match r {
        Reading::Missing => None,
        Reading::Exact(v) => t(v).map(|x| (x, x)),
        Reading::AtMost(v) => t(v).map(|x| (f64::NEG_INFINITY, x)),
        Reading::AtLeast(v) => t(v).map(|x| (x, f64::INFINITY)),
    }
}

fn reading_value(r: Reading) -> Option<f64> {
    match r {
        Reading::Missing => None,
        Reading::Exact(v) | Reading::AtMost(v) | Reading::AtLeast(v) => Some(v),
    }
}

/// A reading in words: "−6.2 dB", "45.3 Hz", "≤ 20 Hz (sweep start)", "0.12 %".
fn show(r: Reading, metric: &Metric) -> String {
    let v = |x: f64| -> String {
        match metric {
            Metric::LowExtensionHz | Metric::HighExtensionHz => hz(x),
            Metric::Thd1kPercent => format!("{} %", sig2(x)),
            Metric::NoiseRmsDbfs => prose(x, "dBFS"),
            Metric::ReferenceDb | Metric::SnrDb | Metric::RmsDeviationDb => prose(x, "dB"),
            _ => format!("{} dB", signed(x)),
        }
    };
    match r {
        Reading::Missing => "n/a".into(),
        Reading::Exact(x) => v(x),
        Reading::AtMost(x) => format!("≤ {} (band start)", v(x)),
        Reading::AtLeast(x) => format!("≥ {} (band end)", v(x)),
    }
}

/// A difference in the condition's unit.
fn show_diff(d: f64, unit: Unit) -> String {
    match unit {
        Unit::Db => format!("{} dB", signed(d)),
        Unit::Octave => format!("{} oct", signed_trim(d, 2)),
        Unit::Percent => format!(
            "{}{} points",
            if d > 0.0 { "+" } else { "" },
            sig2(d).replace('-', "−")
        ),
    }
}

fn show_threshold(c: &Condition) -> String {
    if c.min_difference == 0.0 {
        return match c.direction {
            Direction::AGreater => "> 0".into(),
            Direction::ALess => "< 0".into(),
        };
    }
    let d = match c.unit {
        Unit::Db => format!("{} dB", trim(c.min_difference, 2)),
        Unit::Octave => format!("{} oct", oct_fraction(c.min_difference)),
        Unit::Percent => format!("{} points", sig2(c.min_difference)),
    };
    let sign = match c.direction {
        Direction::AGreater => "≥ +",
        Direction::ALess => "≤ −",
    };
    format!("{sign}{d}")
}

/// 0.1667 → "1/6", 0.5 → "1/2", 1 → "1", 0.3 → "0.3".
fn oct_fraction(v: f64) -> String {
    for n in [1u32, 2, 3, 4, 6, 8, 12, 24] {
        if (v * n as f64 - (v * n as f64).round()).abs() < 1e-6 && (v * n as f64).round() >= 1.0 {
            let k = (v * n as f64).round() as u32;
            return if n == 1 {
                k.to_string()
            } else {
                format!("{k}/{n}")
            };
        }
    }
    trim(v, 3)
}

fn judge(diff: (f64, f64), c: &Condition) -> Verdict {
    let d = c.min_difference;
    let (lo, hi) = diff;
    let (pro, contra) = match c.direction {
        Direction::AGreater => (lo >= d && lo > 0.0, hi <= -d && hi < 0.0),
        Direction::ALess => (hi <= -d && hi < 0.0, lo >= d && lo > 0.0),
    };
    if pro {
        Verdict::Supported
    } else if contra {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    }
}

fn pair(a: &dyn Subject, b: Option<&dyn Subject>, c: &Condition) -> PairResult {
    let ra = a.reading(&c.metric);
    let rb = match (b, c.value) {
        (Some(b), _) => b.reading(&c.metric),
        (None, Some(v)) => Reading::Exact(v),
        (None, None) => Reading::Missing,
    };
    let b_name = b.map_or_else(
        || show(Reading::Exact(c.value.unwrap_or(f64::NAN)), &c.metric),
        |b| b.label().to_string(),
    );
    let mut out = PairResult {
        a: a.label().to_string(),
        b: b_name.clone(),
        a_value: reading_value(ra),
        b_value: reading_value(rb),
        difference: None,
        missing_value: false,
        verdict: Verdict::Inconclusive,
        evidence: String::new(),
    };
    let (Some(ia), Some(ib)) = (
        interval(ra, &c.metric, c.unit),
        interval(rb, &c.metric, c.unit),
    ) else {
        let missing: Vec<&str> = [(ra, a.label()), (rb, b_name.as_str())]
            .iter()
            .filter(|(r, _)| interval(*r, &c.metric, c.unit).is_none())
            .map(|(_, l)| *l)
            .collect();
        out.missing_value = true;
        out.evidence = format!("{} has no {} value", missing.join(" and "), c.metric.name());
        return out;
    };
    let diff = (ia.0 - ib.1, ia.1 - ib.0);
    out.verdict = judge(diff, c);
    let numbers = format!(
        "{} {} vs {} {}",
        a.label(),
        show(ra, &c.metric),
        b_name,
        if b.is_some() {
            show(rb, &c.metric)
        } else {
            String::new()
        }
    );
    let numbers = numbers.trim_end().to_string();
    if diff.0 == diff.1 {
        out.difference = Some(diff.0);
        out.evidence = format!(
            "{numbers}: A − B = {} (needs {})",
            show_diff(diff.0, c.unit),
            show_threshold(c)
        );
    } else {
        let bound = if diff.0.is_finite() {
            format!("A − B ≥ {}", show_diff(diff.0, c.unit))
        } else {
            format!("A − B ≤ {}", show_diff(diff.1, c.unit))
        };
        out.evidence = format!(
            "{numbers}: {bound}, a bound because a band-edge extension only bounds the true one (needs {})",
            show_threshold(c)
        );
    }
    out
}

fn condition_result(
    c: &Condition,
    a_devs: &[&dyn Subject],
    b_devs: &[&dyn Subject],
    fixed: bool,
) -> ConditionResult {
    let mut pairs = Vec::new();
    for a in a_devs {
        if fixed {
            pairs.push(pair(*a, None, c));
        } else {
            for b in b_devs {
                pairs.push(pair(*a, Some(*b), c));
            }
        }
    }
    let complete: Vec<&PairResult> = pairs.iter().filter(|p| !p.missing_value).collect();
    let skipped = pairs.len() - complete.len();
    let name = c.what.clone().unwrap_or_else(|| c.metric.name());
    let (verdict, why) = if complete.is_empty() {
        (
            Verdict::Inconclusive,
            format!("{name}: no pair of devices has this metric"),
        )
    } else {
        let n = complete.len();
        let count = |v: Verdict| complete.iter().filter(|p| p.verdict == v).count();
        let (s, k) = (count(Verdict::Supported), count(Verdict::Contradicted));
        let every = match (n, fixed) {
            (1, _) => String::new(),
            (2, true) => " for both devices".into(),
            (2, false) => " for both pairs".into(),
            (_, true) => format!(" for all {n} devices"),
            (_, false) => format!(" for all {n} pairs"),
        };
        if s == n {
            (Verdict::Supported, format!("{name}: holds{every}"))
        } else if k == n {
            (
                Verdict::Contradicted,
                format!("{name}: the opposite holds{every}"),
            )
        } else if s == 0 && k == 0 {
            (
                Verdict::Inconclusive,
                format!(
                    "{name}: the difference is smaller than the {} threshold{}",
                    show_threshold(c).trim_start_matches(['≥', '≤', ' ', '+', '−']),
                    every
                ),
            )
        } else {
            (
                Verdict::Inconclusive,
                format!("{name}: pairs disagree ({s} of {n} support it, {k} contradict it)"),
            )
        }
    };
    let mut evidence = format!(
        "{why} [{}]",
        complete
            .iter()
            .map(|p| p.evidence.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut left_out = Vec::new();
    if skipped > 0 {
        let missing: Vec<&str> = pairs
            .iter()
            .filter(|p| p.missing_value)
            .map(|p| p.evidence.as_str())
            .collect();
        left_out = dedup(missing).into_iter().map(String::from).collect();
        evidence.push_str(&format!("; left out: {}", left_out.join("; ")));
    }
    ConditionResult {
        what: c.what.clone(),
        metric: c.metric.name(),
        direction: match c.direction {
            Direction::AGreater => "a_greater".into(),
            Direction::ALess => "a_less".into(),
        },
        min_difference: c.min_difference,
        unit: c.unit.as_str().into(),
        value: c.value,
        pairs,
        verdict,
        summary: why,
        left_out,
        evidence,
    }
}

fn dedup(v: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn kinds_present(devs: &[&dyn Subject]) -> String {
    let mut kinds: Vec<String> = devs
        .iter()
        .map(|d| d.kind().map_or("no kind".into(), |k| k.to_string()))
        .collect();
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join(", ")
    }
}

/// Judges one claim against the devices.
pub fn evaluate(claim: &Claim, devices: &[&dyn Subject]) -> ClaimResult {
    let mut r = ClaimResult {
        id: claim.id.clone(),
        statement: claim.statement.clone(),
        verdict: Verdict::Inconclusive,
        evidence: String::new(),
        decidable: true,
        note: claim.note.clone(),
        a_kind: None,
        b_kind: None,
        a_devices: Vec::new(),
        b_devices: Vec::new(),
        conditions: Vec::new(),
    };
    let (a_kind, b_kind, conditions) = match &claim.test {
        ClaimTest::NotMeasurable { reason } => {
            r.decidable = false;
            r.evidence = format!("not measurable: {reason}");
            return r;
        }
        ClaimTest::Measurable {
            a_kind,
            b_kind,
            conditions,
        } => (a_kind, b_kind, conditions),
    };
    r.a_kind = Some(*a_kind);
    r.b_kind = *b_kind;
    let of_kind = |k: DeviceKind| -> Vec<&dyn Subject> {
        devices
            .iter()
            .copied()
            .filter(|d| d.kind() == Some(k))
            .collect()
    };
    let a_devs = of_kind(*a_kind);
    let b_devs = b_kind.map(of_kind).unwrap_or_default();
    r.a_devices = a_devs.iter().map(|d| d.label().to_string()).collect();
    r.b_devices = b_devs.iter().map(|d| d.label().to_string()).collect();
    let mut missing = Vec::new();
    if a_devs.is_empty() {
        missing.push(a_kind.as_str());
    }
    if let Some(b) = b_kind
        && b_devs.is_empty()
    {
        missing.push(b.as_str());
    }
    if !missing.is_empty() {
        r.evidence = format!(
            "no device of kind {} among the sources (kinds present: {}); give a source's kind with --kind",
            missing
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(" or "),
            kinds_present(devices)
        );
        return r;
    }
    r.conditions = conditions
        .iter()
        .map(|c| condition_result(c, &a_devs, &b_devs, b_kind.is_none()))
        .collect();
    let verdicts: Vec<Verdict> = r.conditions.iter().map(|c| c.verdict).collect();
    r.verdict = if verdicts.iter().all(|v| *v == Verdict::Supported) {
        Verdict::Supported
    } else if verdicts.contains(&Verdict::Contradicted) {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    };
    r.evidence = r
        .conditions
        .iter()
        .map(|c| c.evidence.clone())
        .collect::<Vec<_>>()
        .join(" | ");
    if r.conditions.len() > 1 {
        let rule = match r.verdict {
            Verdict::Supported => "all conditions hold",
            Verdict::Contradicted => "a condition is contradicted",
            Verdict::Inconclusive => "not every condition is decided",
        };
        r.evidence = format!("{rule}: {}", r.evidence);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_claims_parse() {
        let claims = parse_claims(Path::new("default.toml"), DEFAULT_CLAIMS).unwrap();
        assert!(claims.len() >= 8);
        assert!(
            claims
                .iter()
                .any(|c| matches!(c.test, ClaimTest::NotMeasurable { .. }))
        );
    }

    fn err(text: &str) -> String {
        match parse_claims(Path::new("c.toml"), text) {
            Err(Error::BadInput { msg, .. }) => msg,
            other => panic!("expected BadInput, got {other:?}"),
        }
    }

    #[test]
    fn bad_claims_name_the_line() {
        let head = "[[claim]]\nid = \"x\"\nstatement = \"s\"\na_kind = \"headset\"\nb_kind = \"headphones\"\n";
        let m = err(&format!(
            "{head}metric = \"loudness\"\ndirection = \"a_less\"\n"
        ));
        assert!(
            m.starts_with("line 2: claim \"x\": unknown metric \"loudness\""),
            "{m}"
        );
        let m = err(&format!(
            "{head}metric = \"bass_db\"\ndirection = \"down\"\n"
        ));
        assert!(m.contains("direction \"down\""), "{m}");
        let m = err(&format!(
            "{head}metric = \"low_extension_hz\"\ndirection = \"a_less\"\nunit = \"dB\"\n"
        ));
        assert!(m.contains("compared in octave"), "{m}");
        let m = err(&format!(
            "{head}metric = \"bass_db\"\ndirection = \"a_less\"\nmin_difference = -1\n"
        ));
        assert!(m.contains("min_difference"), "{m}");
        let m = err("[[claim]]\nid = \"x\"\nstatement = \"s\"\nbogus = 1\n");
        assert!(m.starts_with("line "), "{m}");
        let m = err("[[claim]\n");
        assert!(m.starts_with("line 1:"), "{m}");
        let m = err("format = \"sweeplab-claims\"\n");
        assert!(m.contains("no [[claim]]"), "{m}");
        let m = err(&format!(
            "{head}band_db = [400, 100]\ndirection = \"a_less\"\n"
        ));
        assert!(m.contains("band_db"), "{m}");
        let m = err(&format!(
            "{head}metric = \"bass_db\"\ndirection = \"a_less\"\nvalue = 3\n"
        ));
        assert!(m.contains("both b_kind and value"), "{m}");
    }

    struct D(&'static str, &'static str, Reading);
    impl Subject for D {
        fn label(&self) -> &str {
            self.0
        }
        fn kind(&self) -> Option<DeviceKind> {
            self.1.parse().ok()
        }
        fn reading(&self, _: &Metric) -> Reading {
            self.2
        }
    }

    fn cond(metric: Metric, direction: Direction, d: f64) -> Claim {
        Claim {
            id: "c".into(),
            statement: "s".into(),
            note: None,
            test: ClaimTest::Measurable {
                a_kind: DeviceKind::Headset,
                b_kind: Some(DeviceKind::Headphones),
                conditions: vec![Condition {
                    what: None,
                    metric,
                    direction,
                    min_difference: d,
                    unit: metric.default_unit(),
                    value: None,
                }],
            },
        }
    }

    #[test]
    fn verdicts_and_bounds() {
        let hs = D("HS", "headset", Reading::Exact(-6.0));
        let hp = D("HP", "headphones", Reading::Exact(-1.0));
        let v = |c: &Claim, a: &D, b: &D| evaluate(c, &[a as &dyn Subject, b]).verdict;
        assert_eq!(
            v(&cond(Metric::BassDb, Direction::ALess, 3.0), &hs, &hp),
            Verdict::Supported
        );
        assert_eq!(
            v(&cond(Metric::BassDb, Direction::AGreater, 3.0), &hs, &hp),
            Verdict::Contradicted
        );
        assert_eq!(
            v(&cond(Metric::BassDb, Direction::ALess, 6.0), &hs, &hp),
            Verdict::Inconclusive
        );
        // extension bounds: HS at ≥ 20 kHz (band end) vs HP 10 kHz: A − B ≥ 1 octave
        let m = Metric::HighExtensionHz;
        let hs = D("HS", "headset", Reading::AtLeast(20000.0));
        let hp = D("HP", "headphones", Reading::Exact(10000.0));
        assert_eq!(
            v(&cond(m, Direction::AGreater, 0.5), &hs, &hp),
            Verdict::Supported
        );
        assert_eq!(
            v(&cond(m, Direction::AGreater, 1.5), &hs, &hp),
            Verdict::Inconclusive
        );
        assert_eq!(
            v(&cond(m, Direction::ALess, 0.1), &hs, &hp),
            Verdict::Contradicted
        );
        let hp2 = D("HP2", "headphones", Reading::AtLeast(20000.0));
        assert_eq!(
            v(&cond(m, Direction::AGreater, 0.1), &hs, &hp2),
            Verdict::Inconclusive
        );
        let none = D("HP", "headphones", Reading::Missing);
        let r = evaluate(&cond(m, Direction::AGreater, 0.1), &[&hs, &none]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(
            r.evidence.contains("HP has no high_extension_hz"),
            "{}",
            r.evidence
        );
    }
}
