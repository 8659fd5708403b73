//! Production testing: limits from golden units (`sweeplab limits`), one unit checked against
//! them and its result kept (`sweeplab check`, `measure --limits`), and the results database
//! read back (`sweeplab results`). The result is written beside the unit's analysis
//! (`check.json`, `check.png`) before the database is touched, so a database failure never
//! loses it: `sweeplab results add` adds it later, exactly once.

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{AnalyzeOptions, analyze_session};
use crate::db::ResultRecord;
use crate::error::{Error, Result};
use crate::limits::{
    BuildOptions, CheckReport, Limits, MaskMode, Verdict, build_limits, check_unit,
};
use crate::report::{RenderOptions, Series, SeriesStyle};
use crate::results::Analysis;
use crate::storage::session_file::{ANALYSIS_JSON, CAPTURE_WAV, SESSION_JSON, read_analysis};

pub const CHECK_JSON: &str = "check.json";
pub const CHECK_PNG: &str = "check.png";

/// A unit given as a session folder or an analysis folder: its analysis, and the folder that
/// holds it (where check.json goes). A session without an analysis newer than its capture
/// is analysed into `DIR/report` first.
pub fn load_unit(
    src: &Path,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
) -> Result<(Analysis, PathBuf)> {
    if src.join(ANALYSIS_JSON).is_file() {
        return Ok((read_analysis(src)?, src.to_path_buf()));
    }
    if !src.join(SESSION_JSON).is_file() {
        return Err(Error::bad_input(
            src,
            "is neither a session folder (session.json) nor an analysis folder (analysis.json)",
        ));
    }
    let report = src.join("report");
    let fresh = |p: &Path| -> Option<bool> {
        let a = std::fs::metadata(p.join(ANALYSIS_JSON))
            .ok()?
            .modified()
            .ok()?;
        let c = std::fs::metadata(src.join(CAPTURE_WAV))
            .ok()?
            .modified()
            .ok()?;
        Some(a >= c)
    };
    if fresh(&report) == Some(true) {
        return Ok((read_analysis(&report)?, report));
    }
    let opts = AnalyzeOptions {
        stop,
        ..AnalyzeOptions::default()
    };
    let a = analyze_session(src, &report, &opts)?;
    Ok((a, report))
}

/// `sweeplab limits`: builds a limits file from golden units and writes it to `out` (never
/// over an existing file without `force`).
pub fn make_limits(
    goldens: &[PathBuf],
    out: &Path,
    opts: &BuildOptions,
    force: bool,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
) -> Result<Limits> {
    if out.exists() && !force {
        return Err(Error::WouldOverwrite {
            path: out.to_path_buf(),
            msg: "exists; choose another --out, or pass --force to replace it".into(),
        });
    }
    let mut loaded = Vec::new();
    for g in goldens {
        let (a, _) = load_unit(g, stop)?;
        loaded.push((g.display().to_string(), a));
    }
    let refs: Vec<(String, &Analysis)> = loaded.iter().map(|(n, a)| (n.clone(), a)).collect();
    let limits = build_limits(&refs, opts).map_err(|m| Error::bad_input(&goldens[0], m))?;
    let text = format!(
        "# sweeplab limits built from {} golden unit(s); see fixtures/limits/example.toml for every field\n{}",
        goldens.len(),
        limits.to_toml()
    );
    crate::storage::write_atomic(out, text.as_bytes())?;
    Ok(limits)
}

/// Reads a limits file; also returns its SHA-256 (stored with every result).
pub fn read_limits(path: &Path) -> Result<(Limits, String)> {
    let text = crate::storage::read_input(
        path,
        "a limits file (TOML)",
        "no such limits file; build one with `sweeplab limits --from GOLDEN… --out LIMITS.toml`",
    )?;
    let limits = Limits::parse(&text).map_err(|m| Error::bad_input(path, m))?;
    let hash = sha2::Sha256::digest(text.as_bytes());
    Ok((limits, hash.iter().map(|b| format!("{b:02x}")).collect()))
}

/// Who checked what.
#[derive(Debug, Clone, Default)]
pub struct CheckIds {
    pub serial: Option<String>,
    pub station: Option<String>,
    pub operator: Option<String>,
}

/// What `check` did.
#[derive(Debug)]
pub struct CheckOutcome {
    pub report: CheckReport,
    pub record: ResultRecord,
    /// Where check.json and check.png were written.
    pub dir: PathBuf,
    /// The database error, if the result could not be stored (it is kept in check.json).
    pub db_error: Option<Error>,
}

/// `sweeplab check`: holds the unit `src` against `limits_path`, writes check.json and
/// check.png beside its analysis, then appends the result to the database `db`.
pub fn check(
    src: &Path,
    limits_path: &Path,
    db: Option<&str>,
    ids: &CheckIds,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
) -> Result<CheckOutcome> {
    for (flag, v) in [
        ("--serial", &ids.serial),
        ("--station", &ids.station),
        ("--operator", &ids.operator),
    ] {
        if let Some(v) = v {
            crate::bounds::check_label(v).map_err(|m| Error::bad_usage(flag, m))?;
        }
    }
    let (limits, sha) = read_limits(limits_path)?;
    let (a, dir) = load_unit(src, stop)?;
    let report = check_unit(&a, &limits);
    let record = ResultRecord {
        uid: crate::db::new_uid(),
        time: crate::units::now_rfc3339(),
        serial: ids.serial.clone(),
        station: ids.station.clone(),
        operator: ids.operator.clone(),
        limits_file: limits_path.display().to_string(),
        limits_sha256: sha,
        verdict: report.verdict,
        session: Some(src.display().to_string()),
        metrics: unit_metrics(&a),
        checks: report.checks.clone(),
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::io(dir.join(CHECK_JSON), std::io::Error::other(e)))?;
    crate::storage::write_atomic(&dir.join(CHECK_JSON), format!("{json}\n").as_bytes())?;
    plot_masks(&a, &limits, &report, &dir.join(CHECK_PNG))?;
    let db_error = db.map_or(Ok(()), |spec| {
        crate::db::open(spec)
            .and_then(|mut s| s.append(&record))
            .map(|_| ())
    });
    Ok(CheckOutcome {
        report,
        record,
        dir,
        db_error: db_error.err(),
    })
}

/// The figures stored with a result: channel 0's CONTRACT metrics, its level at 1 kHz and
/// latency.
fn unit_metrics(a: &Analysis) -> serde_json::Value {
    let Some(ch) = a.channels.first() else {
        return serde_json::Value::Null;
    };
    let m = crate::metrics::measure(ch).metrics;
    let mut v = serde_json::to_value(m).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("level_1k_dbfs".into(), serde_json::json!(ch.level_1k_dbfs));
        o.insert(
            "latency_ms".into(),
            serde_json::json!(ch.latency_s.map(|s| s * 1e3)),
        );
    }
    v
}

/// check.png: each channel's response (as the mask sees it) between its masks, the points
/// outside them marked.
fn plot_masks(a: &Analysis, limits: &Limits, report: &CheckReport, path: &Path) -> Result<()> {
    let mut curves = Vec::new();
    let mut range = (f64::INFINITY, 0.0f64);
    for cl in &limits.channel {
        let (Some(m), Some(ch)) = (
            &cl.response,
            a.channels.iter().find(|c| c.index == cl.index),
        ) else {
            continue;
        };
        let unit = crate::limits::build::mask_curve(
            ch,
            m.mode,
            m.normalize_band_hz,
            m.smoothing,
            &m.freq_hz,
        );
        let y: Vec<f64> = unit.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let out: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                if v > m.upper_db[k] || v < m.lower_db[k] {
                    v
                } else {
                    f64::NAN
                }
            })
            .collect();
        let c = cl.index;
        let color = 2 * c;
        curves.push(Series {
            color: Some(color),
            channel: c,
            ..Series::new(format!("ch{c} unit"), m.freq_hz.clone(), y)
        });
        for (name, lim) in [("upper", &m.upper_db), ("lower", &m.lower_db)] {
            curves.push(Series {
                color: Some(color + 1),
                dashed: true,
                style: SeriesStyle::Normal,
                channel: c,
                ..Series::new(
                    format!("ch{c} {name} limit"),
                    m.freq_hz.clone(),
                    lim.clone(),
                )
            });
        }
        if out.iter().any(|v| v.is_finite()) {
            curves.push(Series {
                color: Some(3),
                channel: c,
                ..Series::new(format!("ch{c} outside the limits"), m.freq_hz.clone(), out)
            });
        }
        range = (
            range.0.min(m.freq_hz[0]),
            range.1.max(*m.freq_hz.last().unwrap_or(&0.0)),
        );
    }
    if curves.is_empty() {
        return Ok(());
    }
    let mode = match limits
        .channel
        .iter()
        .find_map(|c| c.response.as_ref())
        .map(|m| m.mode)
    {
        Some(MaskMode::Relative) => "dB re 250 Hz–4 kHz",
        _ => "dB",
    };
    let title = format!(
        "Limit check: {} ({} of {} limits failed)",
        report.verdict.as_str().to_uppercase(),
        report.failed().count(),
        report.checks.len()
    );
    crate::report::render_overlay(
        path,
        &title,
        mode,
        &curves,
        range,
        &RenderOptions::default(),
    )
    .map(drop)
}

/// `sweeplab results add SRC…`: adds the results kept in the units' check.json files (after
/// a database failure, or to gather stations' results in one database), all in one
/// transaction; a result already stored is left as it is. Every file is read before the
/// database is touched. Returns the results and how many were new.
pub fn add_results(srcs: &[PathBuf], db: &str) -> Result<(Vec<ResultRecord>, usize)> {
    let mut rs = Vec::with_capacity(srcs.len());
    for src in srcs {
        let file = [src.join(CHECK_JSON), src.join("report").join(CHECK_JSON)]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Error::bad_input(
                    src,
                    "holds no check.json (nor report/check.json): run `sweeplab check` on it first",
                )
            })?;
        let text = crate::storage::read_input(&file, "check.json", "missing")?;
        let r: ResultRecord = serde_json::from_str(&text)
            .map_err(|e| Error::bad_input(&file, format!("not a sweeplab check result: {e}")))?;
        rs.push(r);
    }
    let added = crate::db::open(db)?.append_all(&rs)?;
    Ok((rs, added))
}

/// `sweeplab results`: every stored result and the summary over them.
pub fn read_results(
    db: &str,
    limits: Option<&[String]>,
) -> Result<(Vec<ResultRecord>, crate::db::stats::Summary)> {
    let mut store = crate::db::open(db)?;
    let rs = store.load()?;
    let s = crate::db::stats::summarize(&rs, limits);
    Ok((rs, s))
}

/// The results as CSV: one row per unit, the main figures and each limit's margin.
pub fn results_csv(rs: &[ResultRecord]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in rs {
        for c in &r.checks {
            if !names.contains(&c.name.as_str()) {
                names.push(&c.name);
            }
        }
    }
    let metric_keys = [
        "level_1k_dbfs",
        "reference_db",
        "noise_rms_dbfs",
        "snr_db",
        "thd_1k_percent",
        "latency_ms",
    ];
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from("time,serial,station,operator,verdict,session,limits_file");
    for k in metric_keys {
        out.push(',');
        out.push_str(k);
    }
    for n in &names {
        out.push(',');
        out.push_str(&quote(&format!("{n} margin")));
    }
    out.push('\n');
    for r in rs {
        let opt = |v: &Option<String>| quote(v.as_deref().unwrap_or(""));
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            r.time,
            opt(&r.serial),
            opt(&r.station),
            opt(&r.operator),
            r.verdict.as_str(),
            opt(&r.session),
            quote(&r.limits_file)
        ));
        for k in metric_keys {
            out.push(',');
            if let Some(v) = r.metrics.get(k).and_then(|v| v.as_f64()) {
                out.push_str(&format!("{v}"));
            }
        }
        for n in &names {
            out.push(',');
            if let Some(m) = r
                .checks
                .iter()
                .find(|c| c.name == *n)
                .and_then(|c| c.margin)
            {
                out.push_str(&format!("{m}"));
            }
        }
        out.push('\n');
    }
    out
}

/// A trend plot of one limit's figure over the units (in the order they were checked), with
/// its limits as flat lines.
pub fn plot_trend(rs: &[ResultRecord], limit: &str, path: &Path) -> Result<()> {
    let pts: Vec<(f64, &crate::limits::LimitCheck)> = rs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.checks
                .iter()
                .find(|c| c.name == limit)
                .map(|c| ((i + 1) as f64, c))
        })
        .collect();
    if pts.is_empty() {
        return Err(Error::bad_usage(
            "--trend",
            format!(
                "no stored result has a limit named {}",
                crate::text::excerpt(limit, 80)
            ),
        ));
    }
    let scalar = pts.iter().all(|(_, c)| c.value.is_some());
    let value = |c: &crate::limits::LimitCheck| if scalar { c.value } else { c.margin };
    let x: Vec<f64> = pts.iter().map(|(x, _)| *x).collect();
    let y: Vec<f64> = pts
        .iter()
        .map(|(_, c)| value(c).unwrap_or(f64::NAN))
        .collect();
    let mut curves = vec![Series {
        color: Some(0),
        ..Series::new(limit.to_string(), x.clone(), y)
    }];
    let last = pts.last().map(|(_, c)| *c);
    let bounds: Vec<(&str, Option<f64>)> = if scalar {
        vec![
            ("lower limit", last.and_then(|c| c.lower)),
            ("upper limit", last.and_then(|c| c.upper)),
        ]
    } else {
        vec![("limit (margin 0)", Some(0.0))]
    };
    for (name, b) in bounds {
        if let Some(b) = b {
            curves.push(Series {
                color: Some(3),
                dashed: true,
                style: SeriesStyle::Normal,
                ..Series::new(name, vec![x[0], *x.last().unwrap_or(&x[0])], vec![b, b])
            });
        }
    }
    let unit = last.map_or(String::new(), |c| c.unit.clone());
    let y_label = if scalar {
        unit
    } else {
        format!("margin to the mask ({unit})")
    };
    let verdicts = pts
        .iter()
        .filter(|(_, c)| c.verdict == Verdict::Fail)
        .count();
    crate::report::render_trend(
        path,
        &format!("{limit} over {} units ({verdicts} failed)", pts.len()),
        "Unit (in the order checked)",
        &y_label,
        &curves,
        &RenderOptions::default(),
    )
    .map(drop)
}
