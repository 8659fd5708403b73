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
//!
//! This module holds the types; `parse` reads claims files, `judge` gives the verdicts.

use serde::{Deserialize, Serialize};

use crate::kind::{DeviceKind, Provenance};
use crate::units::{hz, trim};

mod judge;
mod parse;

pub use judge::evaluate;
pub use parse::{parse_claims, read_claims};

/// The built-in claims (`fixtures/claims/default.toml`).
pub const DEFAULT_CLAIMS: &str = include_str!("../../../fixtures/claims/default.toml");
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
    /// A re-seat series (or the two sides of a headphone): `value` from the averaged
    /// response, `lo`…`hi` the range over it and each placement's (side's) own response. A
    /// claim must hold over the whole range.
    Spread {
        value: f64,
        lo: f64,
        hi: f64,
        over: Over,
    },
}

/// What a spread of readings is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Over {
    /// The placements of a re-seat series.
    Placements,
    /// The two sides of a two-sided session (`compare --channel both`).
    Sides,
}

impl Over {
    pub fn as_str(self) -> &'static str {
        match self {
            Over::Placements => "placements",
            Over::Sides => "sides",
        }
    }
}

/// What the evaluation needs to know about a device.
pub trait Subject {
    fn label(&self) -> &str;
    fn kind(&self) -> Option<DeviceKind>;
    fn reading(&self, metric: &Metric) -> Reading;
    /// Where its numbers come from.
    fn provenance(&self) -> Provenance {
        Provenance::Measured
    }
    /// Why it must be left out of every claim (faults of its capture), if it must.
    fn excluded(&self) -> Option<String> {
        None
    }
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
    /// Where the devices the verdict rests on come from (measured, simulated, published).
    #[serde(default)]
    pub provenance: Vec<Provenance>,
    /// What the verdict does not show: it rests on simulated devices, on one device per
    /// kind, on curves from other rigs.
    #[serde(default)]
    pub caveats: Vec<String>,
}

impl ClaimResult {
    /// The mark a verdict carries when it rests on simulated devices: " (simulated
    /// devices)"; nothing otherwise.
    pub fn mark(&self) -> &'static str {
        if self.verdict != Verdict::Inconclusive && self.provenance.contains(&Provenance::Simulated)
        {
            " (simulated devices)"
        } else {
            ""
        }
    }
}

/// What a verdict resting on simulated devices says about real products.
pub const SIMULATED_CAVEAT: &str =
    "simulated devices: this shows the method, not a fact about real products";
