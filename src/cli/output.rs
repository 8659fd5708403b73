//! What the terminal gets: human lines on stdout, or with `--json` one JSON document on stdout
//! and the human lines on stderr; `-q/--quiet` silences the human lines (never errors nor the
//! JSON). The JSON summaries of `analyze` and `compare` are built here (docs/interface.md).

use std::path::Path;

use serde::Serialize;

use crate::compare::CompareResult;
use crate::error::Error;
use crate::kind::{DeviceKind, Provenance};
use crate::metrics::Metrics;
use crate::results::Analysis;

/// Where human lines go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    pub json: bool,
    pub quiet: bool,
}

impl Printer {
    /// A human line: stdout, stderr when stdout carries JSON, nowhere when quiet.
    pub fn say(&self, line: &str) {
        if self.quiet {
        } else if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    /// Whether progress bars may be drawn (not when quiet).
    pub fn progress(&self) -> bool {
        !self.quiet
    }
    /// Prints the JSON document on stdout (only in JSON mode).
    pub fn document<T: Serialize>(&self, doc: &T) {
        if self.json {
            match serde_json::to_string_pretty(doc) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("error: cannot print the JSON summary: {e}"),
            }
        }
    }
}

pub const ANALYZE_SUMMARY_FORMAT: &str = "sweeplab-analyze-summary";
pub const COMPARE_SUMMARY_FORMAT: &str = "sweeplab-compare-summary";

/// An error as the JSON summaries carry it.
#[derive(Debug, Serialize)]
pub struct ErrorSummary {
    pub message: String,
    pub exit_code: u8,
}

impl ErrorSummary {
    pub fn of(e: &Error) -> ErrorSummary {
        ErrorSummary {
            message: e.to_string(),
            exit_code: e.exit_code(),
        }
    }
}

/// `analyze --json`: one entry per analysis.
#[derive(Debug, Serialize)]
pub struct AnalyzeSummary {
    pub format: &'static str,
    pub version: u32,
    /// Every analysis succeeded and found the sweep.
    pub ok: bool,
    pub analyses: Vec<AnalysisSummary>,
    /// The error that stopped the command before any analysis (bad flags, bad input).
    pub error: Option<ErrorSummary>,
}

#[derive(Debug, Serialize)]
pub struct AnalysisSummary {
    /// The session folder, or the capture of an external pair.
    pub source: String,
    /// The output folder.
    pub out: String,
    /// Files written, relative to `out`.
    pub files: Vec<String>,
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub provenance: Option<Provenance>,
    /// Channel 0's CONTRACT metrics (null where not measured).
    pub metrics: Option<Metrics>,
    pub channels: Vec<ChannelSummary>,
    /// A two-sided session: balance, largest difference, mean crosstalk, polarity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sides: Option<SidesSummary>,
    pub error: Option<ErrorSummary>,
}

#[derive(Debug, Serialize)]
pub struct SidesSummary {
    pub balance_db: Option<f64>,
    pub max_difference_db: Option<f64>,
    pub max_difference_hz: Option<f64>,
    /// Mean crosstalk over 250 Hz–4 kHz, per side driven ("L", "R").
    pub crosstalk_mean_db: std::collections::BTreeMap<String, Option<f64>>,
    pub polarity_matched: Option<bool>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ChannelSummary {
    pub index: usize,
    /// "L" or "R" in a two-sided session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<crate::kind::Side>,
    /// The channel holds the sweep (else every figure is null).
    pub signal: bool,
    pub measured_band_hz: Option<[f64; 2]>,
    pub latency_s: Option<f64>,
    pub latency_samples: Option<f64>,
    pub level_1k_dbfs: Option<f64>,
    pub noise_rms_dbfs: Option<f64>,
    pub noise_a_weighted_dbfs: Option<f64>,
    pub snr_db: Option<f64>,
    pub thd_1k_percent: Option<f64>,
    pub drift_ppm: Option<f64>,
    /// A re-seat series: the placements averaged (absent for one placement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placements: Option<usize>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

impl AnalysisSummary {
    pub fn of(source: &Path, out: &Path, a: &Analysis) -> AnalysisSummary {
        AnalysisSummary {
            source: source.display().to_string(),
            out: out.display().to_string(),
            files: a
                .written
                .iter()
                .map(|p| p.strip_prefix(out).unwrap_or(p).display().to_string())
                .collect(),
            label: a.label.clone(),
            kind: a.kind,
            provenance: a.provenance,
            metrics: a
                .channels
                .first()
                .filter(|c| c.has_signal())
                .map(|c| crate::metrics::measure(c).metrics),
            channels: a
                .channels
                .iter()
                .map(|c| ChannelSummary {
                    index: c.index,
                    side: c.side,
                    signal: c.has_signal(),
                    measured_band_hz: c.measured_band_hz,
                    latency_s: c.latency_s,
                    latency_samples: c.latency_samples,
                    level_1k_dbfs: c.level_1k_dbfs,
                    noise_rms_dbfs: c.noise.as_ref().map(|n| n.rms_dbfs),
                    noise_a_weighted_dbfs: c.noise.as_ref().map(|n| n.a_weighted_dbfs),
                    snr_db: c.snr_db,
                    thd_1k_percent: crate::metrics::thd_at(&c.thd.freq_hz, &c.thd.percent, 1000.0),
                    drift_ppm: c.drift_ppm,
                    placements: c.placements.as_ref().map(|p| p.averaged.len()),
                    warnings: c.warnings.clone(),
                    notes: c.notes.clone(),
                })
                .collect(),
            sides: a.sides.as_ref().map(|sd| SidesSummary {
                balance_db: sd.balance_db,
                max_difference_db: sd.max_difference_db,
                max_difference_hz: sd.max_difference_hz,
                crosstalk_mean_db: sd
                    .crosstalk
                    .iter()
                    .map(|x| (x.driven.to_string(), x.mean_db))
                    .collect(),
                polarity_matched: sd.polarity_matched,
                warnings: sd.warnings.clone(),
                notes: sd.notes.clone(),
            }),
            error: None,
        }
    }

    pub fn failed(source: &Path, out: &Path, e: &Error) -> AnalysisSummary {
        AnalysisSummary {
            source: source.display().to_string(),
            out: out.display().to_string(),
            files: Vec::new(),
            label: None,
            kind: None,
            provenance: None,
            metrics: None,
            channels: Vec::new(),
            sides: None,
            error: Some(ErrorSummary::of(e)),
        }
    }
}

/// `compare --json`.
#[derive(Debug, Serialize)]
pub struct CompareSummary {
    pub format: &'static str,
    pub version: u32,
    pub ok: bool,
    pub out: String,
    pub files: Vec<String>,
    pub devices: Vec<DeviceSummary>,
    pub claims: Vec<ClaimSummary>,
    pub warnings: Vec<String>,
    pub error: Option<ErrorSummary>,
}

#[derive(Debug, Serialize)]
pub struct DeviceSummary {
    pub label: String,
    pub kind: Option<DeviceKind>,
    pub provenance: Provenance,
    pub source: String,
    pub metrics: Metrics,
    pub faults: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ClaimSummary {
    pub id: String,
    pub statement: String,
    pub verdict: &'static str,
    pub evidence: String,
    /// The verdict rests on simulated devices: it shows the method, not a fact.
    pub simulated: bool,
}

impl CompareSummary {
    pub fn of(out: &Path, r: &CompareResult) -> CompareSummary {
        CompareSummary {
            format: COMPARE_SUMMARY_FORMAT,
            version: 1,
            ok: true,
            out: out.display().to_string(),
            files: r.files.clone(),
            devices: r
                .devices
                .iter()
                .map(|d| DeviceSummary {
                    label: d.label.clone(),
                    kind: d.kind,
                    provenance: d.provenance,
                    source: d.source.clone(),
                    metrics: d.metrics.clone(),
                    faults: d.faults.clone(),
                    warnings: d.warnings.clone(),
                })
                .collect(),
            claims: r
                .claims
                .iter()
                .map(|c| ClaimSummary {
                    id: c.id.clone(),
                    statement: c.statement.clone(),
                    verdict: c.verdict.as_str(),
                    evidence: c.evidence.clone(),
                    simulated: !c.mark().is_empty(),
                })
                .collect(),
            warnings: r.warnings.clone(),
            error: None,
        }
    }

    pub fn failed(out: &Path, e: &Error) -> CompareSummary {
        CompareSummary {
            format: COMPARE_SUMMARY_FORMAT,
            version: 1,
            ok: false,
            out: out.display().to_string(),
            files: Vec::new(),
            devices: Vec::new(),
            claims: Vec::new(),
            warnings: Vec::new(),
            error: Some(ErrorSummary::of(e)),
        }
    }
}
