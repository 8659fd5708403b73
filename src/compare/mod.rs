//! `sweeplab compare`: several devices side by side, and claims about device kinds judged
//! against their measurements. Must not import: `session` (session sources are analysed
//! through the callback the session layer gives), `device`, `sim`, `cli`.
//!
//! Sources are session folders (analysed here, into `OUT/sources/<name>/`), analysis folders
//! (`analysis.json`) or published curves (AutoEq CSV, REW text export). Each device's
//! CONTRACT metrics are computed on channel 0's raw response (after removing a microphone
//! calibration if one is given); normalisation and smoothing only affect the plots. Outputs:
//! `compare.json`, `claims.md`, `compare-response.png`, `compare-deviation.png`,
//! `compare-metrics.png`, all written atomically.

pub mod claims;
pub mod curve;
mod render;
mod sources;

use sources::load_source;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::results::{Analysis, CalibrationInfo};
use crate::storage::session_file::{
    ANALYSIS_JSON, SESSION_JSON, prepare_output_dir, read_analysis,
};

use crate::kind::{DeviceKind, Provenance};
use crate::metrics;
pub use crate::metrics::{Metrics, Normalize};
pub use claims::{
    Claim, ClaimResult, ConditionResult, PairResult, Verdict, parse_claims, read_claims,
};
pub use curve::{Calibration, read_calibration, read_curve};

pub const COMPARE_FORMAT: &str = "sweeplab-compare";
pub const COMPARE_VERSION: u32 = 1;
pub const COMPARE_JSON: &str = "compare.json";
pub const CLAIMS_MD: &str = "claims.md";
pub const RESPONSE_PNG: &str = "compare-response.png";
pub const DEVIATION_PNG: &str = "compare-deviation.png";
pub const METRICS_PNG: &str = "compare-metrics.png";
/// Where session sources are analysed, under `--out`.
pub const SOURCES_DIR: &str = "sources";

/// What `sweeplab compare` was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareArgs {
    /// Session folders, analysis folders (or `analysis.json` files), curve files.
    pub sources: Vec<PathBuf>,
    pub out: PathBuf,
    /// Labels by position; an empty entry keeps the source's own.
    pub labels: Vec<String>,
    /// Kinds by position; `None` keeps the source's own.
    pub kinds: Vec<Option<DeviceKind>>,
    /// Level alignment of the plotted curves.
    pub normalize: Normalize,
    /// A target curve (AutoEq CSV or REW text).
    pub target: Option<PathBuf>,
    /// A claims TOML file; `None`: the built-in set.
    pub claims: Option<PathBuf>,
    /// n of 1/n-octave smoothing of the plotted curves; `None`: unsmoothed.
    pub smoothing: Option<f64>,
    /// Measurement-microphone calibration removed from session and analysis sources.
    pub calibration: Option<PathBuf>,
    /// Draw the plots (`--no-plots`: compare.json and claims.md only).
    pub plots: bool,
    /// The plots' formats.
    pub formats: Vec<crate::report::ImageFormat>,
    /// Which channel of each analysed source is compared; `None`: what the source says (both
    /// sides of a two-sided session, else channel 0).
    pub channel: Option<ChannelChoice>,
}

/// `compare --channel`: which channel of a measured source is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelChoice {
    /// One side of a two-sided session (a source with one side only compares channel 0).
    Side(crate::kind::Side),
    /// Both sides of a two-sided session: their power average, claims judged over both.
    Both,
    /// Channel N (its `index`) of every measured source.
    Index(usize),
}

impl std::str::FromStr for ChannelChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "L" | "l" | "left" => Ok(ChannelChoice::Side(crate::kind::Side::Left)),
            "R" | "r" | "right" => Ok(ChannelChoice::Side(crate::kind::Side::Right)),
            "both" => Ok(ChannelChoice::Both),
            n => n
                .parse::<usize>()
                .map(ChannelChoice::Index)
                .map_err(|_| format!("{s:?} is not L, R, both or a channel number (0, 1, …)")),
        }
    }
}

impl CompareArgs {
    /// The defaults of the command line: normalised at 1 kHz, 1/6-octave smoothing, built-in
    /// claims.
    pub fn new(sources: Vec<PathBuf>, out: impl Into<PathBuf>) -> CompareArgs {
        CompareArgs {
            sources,
            out: out.into(),
            labels: Vec::new(),
            kinds: Vec::new(),
            normalize: Normalize::OneK,
            target: None,
            claims: None,
            smoothing: Some(6.0),
            calibration: None,
            plots: true,
            formats: vec![crate::report::ImageFormat::Png],
            channel: None,
        }
    }
}

/// One device in `compare.json`. `label`, `kind`, `source`, `metrics` are CONTRACT's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceResult {
    pub label: String,
    pub kind: Option<DeviceKind>,
    /// The path given on the command line.
    pub source: String,
    /// "session" (analysed by this run), "analysis" or "curve" (a published curve file).
    pub source_type: String,
    /// Where the numbers come from: a real capture, the simulated rig, or a published curve.
    pub provenance: Provenance,
    /// The sweep's level, dBFS, for measured and simulated devices (SNR and THD depend on
    /// it); null for published curves.
    pub sweep_level_dbfs: Option<f64>,
    /// Faults of the capture (clipping, dropouts, glitches, an AGC, no signal): a device with
    /// one is left out of every claim, named with the reason.
    pub faults: Vec<String>,
    pub metrics: Metrics,
    /// True when `low_extension_hz` is the start of the measured band: the response never
    /// fell 6 dB below the reference inside it, so the true point is at or below it.
    pub low_extension_at_band_edge: bool,
    /// Likewise for `high_extension_hz` and the end of the band (true point at or above).
    pub high_extension_at_band_edge: bool,
    /// First and last frequency of the response, Hz; null when nothing was measured.
    pub band_hz: Option<[f64; 2]>,
    /// Whether a microphone calibration is removed from this response (`--calibration`, or
    /// one the analysis already applied).
    pub calibrated: bool,
    /// Where a session source was analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_dir: Option<String>,
    /// dB subtracted from this device's curve in the plots (`normalize`); null when it could
    /// not be normalised (the curve is then drawn as measured).
    pub normalization_offset_db: Option<f64>,
    /// RMS deviation from the target over 20 Hz–10 kHz (normalised alike, raw curves, each
    /// octave weighted equally); null without `--target` or without an octave of overlap.
    pub rms_deviation_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rms_deviation_band_hz: Option<[f64; 2]>,
    /// A re-seat series: the range of each response metric over the averaged response and
    /// each placement's own; claims must hold over the whole range. Absent for one placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_spread: Option<MetricsSpread>,
    /// The analysis's warnings (channel 0) and what compare noticed.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub file: String,
    pub label: String,
    pub normalization_offset_db: Option<f64>,
}

/// The content of `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareResult {
    pub format: String,
    pub version: u32,
    pub created: Option<String>,
    pub devices: Vec<DeviceResult>,
    pub claims: Vec<ClaimResult>,
    /// "1k", "mean" or "none" (plots only; metrics are never normalised).
    pub normalize: String,
    /// n of the 1/n-octave smoothing of the plotted curves; null: unsmoothed.
    pub smoothing: Option<f64>,
    pub target: Option<TargetInfo>,
    pub calibration: Option<CalibrationInfo>,
    /// The claims file used, or the built-in set.
    pub claims_file: String,
    /// The files written (relative to the output folder).
    pub files: Vec<String>,
    /// How many devices of each kind were compared.
    #[serde(default)]
    pub kind_counts: std::collections::BTreeMap<String, usize>,
    pub warnings: Vec<String>,
}

/// The range, `[lowest, highest]`, of each response metric over a re-seat series: the
/// averaged response and every placement's own (null where any of them has no value, or an
/// extension is only bounded by the band's edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSpread {
    /// The curves the range is over (placements, or the two sides).
    pub placements: usize,
    /// What they are: "placements" or "sides".
    pub over: claims::Over,
    pub reference_db: Option<[f64; 2]>,
    pub bass_db: Option<[f64; 2]>,
    pub treble_db: Option<[f64; 2]>,
    pub low_extension_hz: Option<[f64; 2]>,
    pub high_extension_hz: Option<[f64; 2]>,
}

impl MetricsSpread {
    /// The spread of `avg`'s response metrics over `placements` ((freq, gain) each, over
    /// the band `within` the sweep covered); None for fewer than two placements.
    pub fn of(
        avg: &metrics::Measured,
        placements: &[(Vec<f64>, Vec<f64>)],
        over: claims::Over,
        within: Option<(f64, f64)>,
    ) -> Option<Self> {
        if placements.len() < 2 {
            return None;
        }
        let each: Vec<metrics::Measured> = placements
            .iter()
            .map(|(f, g)| metrics::measure_curve_in(f, g, within))
            .collect();
        let range = |get: &dyn Fn(&metrics::Measured) -> Option<f64>| -> Option<[f64; 2]> {
            let mut lo_hi = get(avg).map(|v| [v, v])?;
            for m in &each {
                let v = get(m)?;
                lo_hi = [lo_hi[0].min(v), lo_hi[1].max(v)];
            }
            Some(lo_hi)
        };
        Some(MetricsSpread {
            placements: placements.len(),
            over,
            reference_db: range(&|m| m.metrics.reference_db),
            bass_db: range(&|m| m.metrics.bass_db),
            treble_db: range(&|m| m.metrics.treble_db),
            low_extension_hz: range(&|m| {
                m.metrics.low_extension_hz.filter(|_| !m.low_at_band_edge)
            }),
            high_extension_hz: range(&|m| {
                m.metrics.high_extension_hz.filter(|_| !m.high_at_band_edge)
            }),
        })
    }
}

/// A loaded device: its response (calibrated) and everything reported about it.
pub(crate) struct Device {
    pub result: DeviceResult,
    /// The raw response compared (channel 0, calibration removed where it applies).
    pub freq_hz: Vec<f64>,
    pub gain_db: Vec<f64>,
    /// A re-seat series: each placement's response, calibrated alike (empty otherwise).
    pub placements: Vec<(Vec<f64>, Vec<f64>)>,
    /// The band the sweep covered (an analysed channel's `measured_band_hz`; `None` for a
    /// published curve): band means count the points missing at its ends.
    pub within: Option<(f64, f64)>,
}

impl claims::Subject for Device {
    fn label(&self) -> &str {
        &self.result.label
    }
    fn kind(&self) -> Option<DeviceKind> {
        self.result.kind
    }
    fn provenance(&self) -> Provenance {
        self.result.provenance
    }
    fn excluded(&self) -> Option<String> {
        (!self.result.faults.is_empty()).then(|| {
            format!(
                "{} is left out: its capture has faults ({})",
                self.result.label,
                self.result.faults.join("; ")
            )
        })
    }
    fn reading(&self, metric: &claims::Metric) -> claims::Reading {
        use claims::{Metric as M, Reading as R};
        let m = &self.result.metrics;
        let exact = |v: Option<f64>| v.map_or(R::Missing, R::Exact);
        let r = &self.result;
        let sp = r.metrics_spread.as_ref();
        // a re-seat series: the value with its range over the placements
        let spread = |v: Option<f64>, range: Option<[f64; 2]>| match (v, range) {
            (Some(value), Some([lo, hi])) => R::Spread {
                value,
                lo,
                hi,
                over: sp.map_or(claims::Over::Placements, |s| s.over),
            },
            (v, _) => exact(v),
        };
        match metric {
            M::ReferenceDb => spread(m.reference_db, sp.and_then(|s| s.reference_db)),
            M::BassDb => spread(m.bass_db, sp.and_then(|s| s.bass_db)),
            M::TrebleDb => spread(m.treble_db, sp.and_then(|s| s.treble_db)),
            M::LowExtensionHz => match m.low_extension_hz {
                Some(f) if r.low_extension_at_band_edge => R::AtMost(f),
                v => spread(v, sp.and_then(|s| s.low_extension_hz)),
            },
            M::HighExtensionHz => match m.high_extension_hz {
                Some(f) if r.high_extension_at_band_edge => R::AtLeast(f),
                v => spread(v, sp.and_then(|s| s.high_extension_hz)),
            },
            M::NoiseRmsDbfs => exact(m.noise_rms_dbfs),
            M::SnrDb => exact(m.snr_db),
            M::Thd1kPercent => exact(m.thd_1k_percent),
            M::RmsDeviationDb => exact(r.rms_deviation_db),
            M::Band {
                lo,
                hi,
                relative_to,
            } => {
                let within = self.within;
                let level = |f: &[f64], g: &[f64]| -> Option<f64> {
                    let mean = metrics::band_mean_db_in(f, g, *lo, *hi, within)?;
                    let base = match relative_to {
                        Some((a, b)) => metrics::band_mean_db_in(f, g, *a, *b, within),
                        None => metrics::measure_curve_in(f, g, within).metrics.reference_db,
                    }?;
                    Some(mean - base)
                };
                let Some(value) = level(&self.freq_hz, &self.gain_db) else {
                    return R::Missing;
                };
                // over a re-seat series, the range of the placements too
                let each: Option<Vec<f64>> =
                    self.placements.iter().map(|(f, g)| level(f, g)).collect();
                match each {
                    Some(v) if !v.is_empty() => R::Spread {
                        over: sp.map_or(claims::Over::Placements, |s| s.over),
                        value,
                        lo: v.iter().copied().fold(value, f64::min),
                        hi: v.iter().copied().fold(value, f64::max),
                    },
                    _ => R::Exact(value),
                }
            }
        }
    }
}

/// A target curve, normalised like the devices.
pub(crate) struct Target {
    pub info: TargetInfo,
    pub freq_hz: Vec<f64>,
    pub gain_db: Vec<f64>,
}

/// Analyses a session source (`src`) into `out` with the label and kind given for it; the
/// session layer provides it, so that this module never runs an analysis itself.
pub type AnalyseSession<'a> =
    dyn FnMut(&Path, &Path, Option<String>, Option<DeviceKind>) -> Result<Analysis> + 'a;

/// Runs `sweeplab compare`: loads and measures the sources (session sources through
/// `analyse`, into `OUT/sources/<name>/`), judges the claims, writes `compare.json`,
/// `claims.md` and the plots into `args.out`.
/// `stopped` says when Ctrl-C was pressed: the run stops between sources and before the
/// plots, and says what it leaves behind. `on_source` hears of each source (its position and
/// path) as its loading starts (a progress display).
pub fn run(
    args: &CompareArgs,
    analyse: &mut AnalyseSession,
    stopped: &dyn Fn() -> bool,
    on_source: &mut dyn FnMut(usize, &Path),
) -> Result<CompareResult> {
    if args.sources.is_empty() {
        return Err(Error::bad_usage(
            "SOURCES",
            "give at least one session folder, analysis folder or curve file",
        ));
    }
    for (flag, n) in [("--label", args.labels.len()), ("--kind", args.kinds.len())] {
        if n != 0 && n != args.sources.len() {
            return Err(Error::bad_usage(
                flag,
                format!(
                    "{n} values for {} sources; give one per source, in order (an empty --label value keeps the source's own: `--label A,,C`)",
                    args.sources.len()
                ),
            ));
        }
    }
    for l in &args.labels {
        crate::bounds::check_label(l).map_err(|m| Error::bad_usage("--label", m))?;
    }
    let norm = args.normalize;
    if let Some(n) = args.smoothing
        && !(n.is_finite() && (1.0..=48.0).contains(&n))
    {
        return Err(Error::bad_usage(
            "--smoothing",
            format!("1/{n} octave is not between 1/1 and 1/48 octave"),
        ));
    }
    // read every small input before the (possibly long) analyses, so a typo fails fast
    let (claim_list, claims_file) = match &args.claims {
        Some(p) => (read_claims(p)?, p.display().to_string()),
        None => (
            parse_claims(
                Path::new("fixtures/claims/default.toml"),
                claims::DEFAULT_CLAIMS,
            )?,
            claims::DEFAULT_CLAIMS_NAME.to_string(),
        ),
    };
    let calibration = args
        .calibration
        .as_deref()
        .map(read_calibration)
        .transpose()?;
    let target = match &args.target {
        Some(p) => {
            let (f, g) = read_curve(p)?;
            Some((p.clone(), f, g))
        }
        None => None,
    };
    let _out = prepare_output_dir(&args.out)?;

    let mut warnings = Vec::new();
    let mut devices = Vec::new();
    let mut used_names = Vec::new();
    let again = "run the same `sweeplab compare` again";
    let interrupted = |done: usize| {
        Error::Interrupted(format!(
            "stopped (Ctrl-C) after {done} of {} sources; nothing was compared and {} holds no compare.json ({} keeps the analyses finished so far): {again}",
            args.sources.len(),
            args.out.display(),
            args.out.join("sources").display()
        ))
    };
    for (i, src) in args.sources.iter().enumerate() {
        if stopped() {
            return Err(interrupted(i));
        }
        on_source(i, src);
        let label = args
            .labels
            .get(i)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let kind = args.kinds.get(i).copied().flatten();
        match load_source(
            src,
            sources::Wanted {
                label,
                kind,
                channel: args.channel,
            },
            &args.out,
            calibration.as_ref(),
            &mut used_names,
            analyse,
        ) {
            Ok(d) => devices.push(d),
            Err(Error::Interrupted(_)) => return Err(interrupted(i)),
            Err(e) => return Err(e),
        }
    }
    unique_labels(&mut devices);

    for d in &mut devices {
        for (name, (lo, hi)) in [
            ("reference_db", metrics::REFERENCE_BAND_HZ),
            ("bass_db", metrics::BASS_BAND_HZ),
            ("treble_db", metrics::TREBLE_BAND_HZ),
        ] {
            if let Some(why) = metrics::band_hole_reason(&d.freq_hz, &d.gain_db, lo, hi, d.within) {
                d.result.warnings.push(format!("no {name}: {why}"));
            }
        }
        d.result.normalization_offset_db =
            norm.offset_db(&d.freq_hz, &d.gain_db, d.result.metrics.reference_db);
        if d.result.normalization_offset_db.is_none() {
            d.result.warnings.push(format!(
                "cannot be normalized ({}): the curve does not cover what that needs; plotted as measured",
                norm.describe()
            ));
        }
    }
    let target = target.map(|(path, f, g)| {
        let reference = metrics::measure_curve(&f, &g).metrics.reference_db;
        let off = norm.offset_db(&f, &g, reference);
        if off.is_none() {
            warnings.push(format!(
                "the target {} cannot be normalized ({}); it is used as given",
                path.display(),
                norm.describe()
            ));
        }
        Target {
            info: TargetInfo {
                file: path.display().to_string(),
                label: path
                    .file_stem()
                    .map_or("target".into(), |s| s.to_string_lossy().into_owned()),
                normalization_offset_db: off,
            },
            freq_hz: f,
            gain_db: g,
        }
    });
    if let Some(t) = &target {
        for d in &mut devices {
            let r = metrics::rms_deviation_db(
                (
                    &d.freq_hz,
                    &d.gain_db,
                    d.result.normalization_offset_db.unwrap_or(0.0),
                ),
                (
                    &t.freq_hz,
                    &t.gain_db,
                    t.info.normalization_offset_db.unwrap_or(0.0),
                ),
            );
            match r {
                Ok((v, (a, b))) => {
                    d.result.rms_deviation_db = Some(v);
                    d.result.rms_deviation_band_hz = Some([a, b]);
                }
                Err(why) => {
                    d.result.rms_deviation_db = None;
                    d.result.rms_deviation_band_hz = None;
                    d.result
                        .warnings
                        .push(format!("no RMS deviation from the target: {why}"));
                }
            }
        }
    }

    let subjects: Vec<&dyn claims::Subject> =
        devices.iter().map(|d| d as &dyn claims::Subject).collect();
    let claim_results: Vec<ClaimResult> = claim_list
        .iter()
        .map(|c| claims::evaluate(c, &subjects))
        .collect();

    let mut kind_counts = std::collections::BTreeMap::new();
    for d in &devices {
        if let Some(k) = d.result.kind {
            *kind_counts.entry(k.to_string()).or_insert(0) += 1;
        }
    }
    warnings.extend(comparability_warnings(&devices));
    let mut result = CompareResult {
        format: COMPARE_FORMAT.into(),
        version: COMPARE_VERSION,
        created: Some(crate::units::now_rfc3339()),
        devices: devices.iter().map(|d| d.result.clone()).collect(),
        claims: claim_results,
        normalize: norm.as_str().into(),
        smoothing: args.smoothing,
        target: target.as_ref().map(|t| t.info.clone()),
        calibration: calibration.as_ref().map(|c| c.info()),
        claims_file,
        files: Vec::new(),
        kind_counts,
        warnings,
    };
    if stopped() {
        return Err(Error::Interrupted(format!(
            "stopped (Ctrl-C) before writing the comparison; {} holds no compare.json: {again}",
            args.out.display()
        )));
    }
    // the comparison first, the plots after: a full disk or Ctrl-C during the plots leaves
    // compare.json and claims.md whole, saying which plots exist
    result.files = vec![CLAIMS_MD.into(), COMPARE_JSON.into()];
    write_results(&args.out, &result)?;
    if args.plots {
        if stopped() {
            return Err(Error::Interrupted(format!(
                "stopped (Ctrl-C) before the plots; {} holds compare.json and claims.md: {again} for the plots",
                args.out.display()
            )));
        }
        match render::write_plots(
            &args.out,
            &devices,
            target.as_ref(),
            norm,
            args.smoothing,
            &args.formats,
            &mut result.warnings,
        ) {
            Ok(plots) => {
                result.files.splice(0..0, plots);
                write_results(&args.out, &result)?;
            }
            Err(e) => {
                return Err(Error::io(
                    &args.out,
                    std::io::Error::other(format!(
                        "{e}; the plots were not all written, but compare.json and claims.md hold the whole comparison: {again} for the plots"
                    )),
                ));
            }
        }
    }
    Ok(result)
}

/// Writes claims.md and compare.json (each atomically).
fn write_results(out: &Path, result: &CompareResult) -> Result<()> {
    crate::storage::write_atomic(
        &out.join(CLAIMS_MD),
        render::claims_markdown(result).as_bytes(),
    )?;
    let json = serde_json::to_string_pretty(result)
        .map_err(|e| Error::io(out.join(COMPARE_JSON), std::io::Error::other(e)))?;
    crate::storage::write_atomic(&out.join(COMPARE_JSON), format!("{json}\n").as_bytes())
}

/// What makes the devices hard to compare: own measurements beside published curves (other
/// rigs), and SNR or THD read at different sweep levels (both depend on the level).
fn comparability_warnings(devices: &[Device]) -> Vec<String> {
    let mut out = Vec::new();
    let published = devices
        .iter()
        .filter(|d| d.result.provenance == Provenance::Published)
        .count();
    if published > 0 && published < devices.len() {
        out.push(
            "own measurements are compared with published curves: those come from other rigs (couplers, microphones, compensation), so their levels and shapes differ for reasons other than the devices".into(),
        );
    }
    let levels: Vec<(String, f64)> = devices
        .iter()
        .filter(|d| d.result.metrics.snr_db.is_some() || d.result.metrics.thd_1k_percent.is_some())
        .filter_map(|d| Some((d.result.label.clone(), d.result.sweep_level_dbfs?)))
        .collect();
    if let (Some(lo), Some(hi)) = (
        levels.iter().map(|l| l.1).reduce(f64::min),
        levels.iter().map(|l| l.1).reduce(f64::max),
    ) && hi - lo > 0.5
    {
        out.push(format!(
            "SNR and THD were measured at different sweep levels ({}): both depend on the level, so compare them at one level",
            levels
                .iter()
                .map(|(l, v)| format!("{l} {}", crate::units::prose(*v, "dBFS")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

/// Whether the analysis's channel 0 response is calibrated (`analyze --calibration`).
fn ch_calibrated(a: &Analysis) -> bool {
    a.calibration.is_some() && a.channels.first().is_some_and(|c| c.calibrated.is_some())
}

/// Makes labels distinct ("X", "X (2)") so legends and claims name one device each.
fn unique_labels(devices: &mut [Device]) {
    let mut seen: Vec<String> = Vec::new();
    for d in devices.iter_mut() {
        let base = d.result.label.clone();
        let mut name = base.clone();
        let mut k = 2;
        while seen.contains(&name) {
            name = format!("{base} ({k})");
            k += 1;
        }
        seen.push(name.clone());
        d.result.label = name;
    }
}
