//! `limits`, `check` and `results`: production testing at the terminal. Exit status of
//! `check`: 0 every limit passed, 3 a limit failed (CONTRACT), 1 and 2 as everywhere (a
//! database failure is 1, after the verdict is printed and the result kept in check.json).

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::interrupt::stop_flag;
use super::output::Printer;
use super::{CheckCmd, LimitsCmd, LimitsRunArgs, ResultsAction, ResultsCmd, UnitArgs};
use crate::db::ResultRecord;
use crate::db::stats::Summary;
use crate::error::Error;
use crate::limits::{BuildOptions, LimitCheck, MaskMode, Verdict};
use crate::session::production::{self as prod, CheckIds};

/// Exit status of a unit that failed a limit.
pub const EXIT_FAILED_UNIT: u8 = 3;

pub fn limits(c: LimitsCmd) -> anyhow::Result<ExitCode> {
    let opts = BuildOptions {
        margin_db: c.margin,
        smoothing: c.smoothing.0.unwrap_or(6.0),
        mode: if c.absolute {
            MaskMode::Absolute
        } else {
            MaskMode::Relative
        },
    };
    if !(c.margin.is_finite() && (0.0..=60.0).contains(&c.margin)) {
        return Err(
            Error::bad_usage("--margin", format!("{} dB is outside 0–60 dB", c.margin)).into(),
        );
    }
    let l = prod::make_limits(&c.from, &c.out, &opts, c.force, Some(stop_flag()))?;
    println!(
        "wrote {}: limits for {} channel(s) from {} golden unit(s), margin {} dB",
        c.out.display(),
        l.channel.len(),
        c.from.len(),
        c.margin
    );
    for n in &l.notes {
        println!("  note: {n}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct CheckSummary<'a> {
    format: &'static str,
    version: u32,
    verdict: Verdict,
    uid: &'a str,
    serial: &'a Option<String>,
    checks: &'a [LimitCheck],
    files: Vec<String>,
    stored: bool,
    db_error: Option<String>,
}

pub fn check(c: CheckCmd) -> anyhow::Result<ExitCode> {
    let pr = Printer {
        json: c.print.json,
        quiet: c.print.quiet,
    };
    check_unit(&c.src, &c.limits, &c.unit, &pr)
}

/// Reads `--limits` of `measure`/`simulate` before the sweep (a bad file is exit 2 before
/// anything is played or written).
pub fn preflight(c: &LimitsRunArgs) -> anyhow::Result<()> {
    if let Some(l) = &c.limits {
        prod::read_limits(l)?;
    }
    Ok(())
}

/// `measure`/`simulate --limits`: checks the session just analysed; `None` without --limits.
pub fn check_after_run(session: &Path, c: &LimitsRunArgs) -> anyhow::Result<Option<ExitCode>> {
    match &c.limits {
        Some(l) => check_unit(session, l, &c.unit, &Printer::default()).map(Some),
        None => Ok(None),
    }
}

/// Holds the unit at `src` against `limits`, prints a line per limit and the verdict, stores
/// the result; exit 0 pass, 3 fail, 1 the database failed (the result kept in check.json).
fn check_unit(src: &Path, limits: &Path, u: &UnitArgs, pr: &Printer) -> anyhow::Result<ExitCode> {
    let ids = CheckIds {
        serial: u.serial.clone(),
        station: u.station.clone(),
        operator: u.operator.clone(),
    };
    let db = (!u.no_db).then_some(u.db.db.as_str());
    let o = prod::check(src, limits, db, &ids, Some(stop_flag()))?;
    for ch in &o.report.checks {
        pr.say(&ch.line());
    }
    let verdict = o.report.verdict;
    pr.say(&format!(
        "{}: {} ({} of {} limits failed); result in {}",
        ids.serial.as_deref().unwrap_or("unit"),
        verdict.as_str().to_uppercase(),
        o.report.failed().count(),
        o.report.checks.len(),
        o.dir.join(prod::CHECK_JSON).display()
    ));
    pr.document(&CheckSummary {
        format: "sweeplab-check",
        version: 1,
        verdict,
        uid: &o.record.uid,
        serial: &o.record.serial,
        checks: &o.report.checks,
        files: [prod::CHECK_JSON, prod::CHECK_PNG]
            .iter()
            .map(|f| o.dir.join(f).display().to_string())
            .collect(),
        stored: db.is_some() && o.db_error.is_none(),
        db_error: o.db_error.as_ref().map(|e| e.to_string()),
    });
    if let Some(e) = o.db_error {
        return Err(Error::Database(format!(
            "{e}; the result is kept in {}: add it with `sweeplab results add {} --db …` when the database is back",
            o.dir.join(prod::CHECK_JSON).display(),
            src.display()
        ))
        .into());
    }
    Ok(match verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(EXIT_FAILED_UNIT),
    })
}

#[derive(Serialize)]
struct ResultsDoc<'a> {
    format: &'static str,
    version: u32,
    database: String,
    results: &'a [ResultRecord],
    summary: &'a Summary,
}

pub fn results(c: ResultsCmd) -> anyhow::Result<ExitCode> {
    if let Some(ResultsAction::Add { src, db }) = c.action {
        let (rs, added) = prod::add_results(&src, &db.db)?;
        match rs.as_slice() {
            [r] => println!(
                "{} result {} ({}, {}) {}",
                if added == 1 {
                    "added"
                } else {
                    "already stored:"
                },
                r.uid,
                r.serial.as_deref().unwrap_or("no serial"),
                r.verdict.as_str(),
                if added == 1 {
                    "to the database"
                } else {
                    "nothing changed"
                }
            ),
            _ => println!(
                "added {added} of {} results to the database ({} already stored)",
                rs.len(),
                rs.len() - added
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let limits = (!c.limits.is_empty()).then_some(c.limits.as_slice());
    let (rs, s) = prod::read_results(&c.db.db, limits)?;
    if let Some(p) = &c.csv {
        crate::storage::write_atomic(p, prod::results_csv(&rs).as_bytes())?;
    }
    if let (Some(limit), Some(png)) = (&c.trend, &c.trend_png) {
        prod::plot_trend(&rs, limit, png)?;
    }
    if c.json {
        let doc = ResultsDoc {
            format: "sweeplab-results",
            version: 1,
            database: c.db.db.clone(),
            results: &rs,
            summary: &s,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_summary(&s);
    if let Some(p) = &c.csv {
        println!("CSV: {}", p.display());
    }
    if let Some(p) = &c.trend_png {
        println!("trend: {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &Summary) {
    println!(
        "{} unit(s), {} passed: yield {:.1} %",
        s.units, s.passed, s.yield_percent
    );
    if s.units == 0 {
        return;
    }
    println!("per station:");
    for y in &s.per_station {
        println!(
            "  {:<20} {:>6} units  {:>5.1} %",
            y.key, y.units, y.yield_percent
        );
    }
    println!("per day:");
    for y in &s.per_day {
        println!(
            "  {:<20} {:>6} units  {:>5.1} %",
            y.key, y.units, y.yield_percent
        );
    }
    if !s.failing.is_empty() {
        println!("most frequent failures:");
        for f in s.failing.iter().take(10) {
            println!(
                "  {:<40} {:>6} ({:.1} % of units)",
                f.limit, f.failures, f.percent
            );
        }
    }
    println!("capability (Cpk ≥ 1.33 is a capable process):");
    for c in &s.capability {
        println!(
            "  {:<40} n {:>5}  {} {:>9.3} ± {:<8.3} {}  Cpk {}",
            c.limit,
            c.n,
            if c.of == "margin" { "margin" } else { "mean  " },
            c.mean,
            c.std_dev,
            c.unit,
            c.cpk.map_or("n/a".to_string(), |v| format!("{v:.2}"))
        );
    }
}
