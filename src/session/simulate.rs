//! The simulated rig as a user drives it: `simulate` (one model, recorded exactly as
//! `measure` records a real device, plus its `truth.json`) and `demo` (every built-in model,
//! analysed and compared).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{AnalyzeOptions, RecordRequest, analyze_session, record_session};
use crate::compare::{CompareArgs, CompareResult};
use crate::device::{OutputRouting, Progress};
use crate::dsp::sweep::SweepSpec;
use crate::error::{Error, Result};
use crate::kind::DeviceKind;
use crate::results::Analysis;
use crate::sim::{DeviceModel, SimDuplex};
use crate::storage::session_file::{TRUTH_JSON, prepare_output_dir, read_session};

/// One simulated session to record.
#[derive(Debug, Clone)]
pub struct SimulateRequest {
    pub model: DeviceModel,
    pub out: PathBuf,
    pub spec: SweepSpec,
    /// Overrides of the model's own label and kind.
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub force: bool,
    /// Analyse into `out/report` after recording.
    pub analyze: bool,
    /// Placements to record (1: a single one); the model's `[fit]` moves the response
    /// between them ([`DeviceModel::placement`]).
    pub reseats: u32,
    /// A distortion-against-level series recorded after the session's own sweep.
    pub levels: Option<super::levels::LevelSeries>,
    /// Drive the left side, then the right (`--sides`): the model needs a `[sides]` table.
    pub sides: bool,
}

/// Records one simulated session (and its `truth.json`) and, if asked, analyses it into
/// `out/report`. Returns the analysis when there is one.
pub fn simulate(
    req: SimulateRequest,
    stop: &'static AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<Analysis>> {
    let SimulateRequest {
        model,
        out,
        spec,
        label,
        kind,
        force,
        analyze,
        reseats,
        levels,
        sides,
    } = req;
    super::record::check_reseats(reseats)?;
    if sides {
        super::record::check_sides(reseats, levels.is_some())?;
        if model.sides.is_none() {
            return Err(Error::bad_usage(
                "--sides",
                format!(
                    "the model {} has one driver (no [sides] table); give it a [sides] table (see fixtures/models/example.toml) or leave --sides out",
                    model.name
                ),
            ));
        }
    }
    for p in 0..reseats as usize {
        model
            .placement(p, spec.sample_rate)
            .check_rate(spec.sample_rate)?;
    }
    let rec = RecordRequest {
        out: out.clone(),
        spec,
        label: label
            .or_else(|| model.label.clone())
            .or_else(|| Some(model.name.clone())),
        kind: kind.or(model.kind),
        force,
        output: OutputRouting::Both,
        input_channels: None,
        repeats: 1,
        extra_s: 0.5,
        model: Some(model.name.clone()),
        reseats: (reseats > 1).then_some(reseats),
        sides,
    };
    let truth = model.truth_for_sweep(&spec);
    let mut device = SimDuplex::new(model.placement(0, spec.sample_rate), 1);
    record_session(&mut device, &rec, stop, progress)?;
    if sides {
        // the right side is its own run (a new stream, its own noise)
        let mut device = SimDuplex::new(model.placement(0, spec.sample_rate), 2);
        super::record::record_side(&mut device, &rec, stop, progress)?;
    }
    for p in 2..=reseats as usize {
        // each placement its own device run (a new stream) and its own noise
        let mut device = SimDuplex::new(model.placement(p - 1, spec.sample_rate), p as u64);
        super::record::record_placement(&mut device, &rec, p, stop, progress)?;
    }
    if let Some(series) = &levels {
        let rate = spec.sample_rate;
        let mut seed = 100;
        super::levels::record_level_series(
            &rec,
            series,
            stop,
            &mut |req| {
                seed += 1;
                let mut device = SimDuplex::new(model.placement(0, rate), seed);
                record_session(&mut device, req, stop, progress)
            },
            &mut |_| {},
        )?;
    }
    let text = serde_json::to_string_pretty(&truth)
        .map_err(|e| Error::io(out.join(TRUTH_JSON), std::io::Error::other(e)))?;
    crate::storage::write_atomic(&out.join(TRUTH_JSON), text.as_bytes())?;
    if sides {
        // truth.json is the left driver's (the model as written); the right's beside it
        let right = model.side(crate::kind::Side::Right).truth_for_sweep(&spec);
        let path = out.join(TRUTH_RIGHT_JSON);
        let text = serde_json::to_string_pretty(&right)
            .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        crate::storage::write_atomic(&path, text.as_bytes())?;
    } else {
        // a session recorded anew over a two-sided one: its right truth no longer applies
        match std::fs::remove_file(out.join(TRUTH_RIGHT_JSON)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(out.join(TRUTH_RIGHT_JSON), e));
            }
            _ => {}
        }
    }
    if !analyze {
        return Ok(None);
    }
    let opts = AnalyzeOptions {
        stop: Some(stop),
        ..AnalyzeOptions::default()
    };
    analyze_session(&out, &out.join("report"), &opts).map(Some)
}

/// The right driver's truth in a simulated `--sides` session (`truth.json` is the left's).
pub const TRUTH_RIGHT_JSON: &str = "truth-R.json";

/// The demo's sweep: 2 s keeps the demo to a few seconds; everything else is the default.
pub const DEMO_SWEEP: SweepSpec = SweepSpec {
    sample_rate: 48000,
    start_hz: 20.0,
    end_hz: 20000.0,
    duration_s: 2.0,
    level_dbfs: -12.0,
    pre_s: 0.5,
    post_s: 0.5,
};

/// The level series the demo plays on the gaming headset's driver, dBFS.
pub const DEMO_LEVELS_DBFS: [f64; 5] = [-24.0, -18.0, -12.0, -6.0, 0.0];

/// Placements the demo records of each model with a `[fit]` (the headphones).
pub const DEMO_RESEATS: u32 = 5;

/// What the demo measured and concluded.
pub struct DemoOutcome {
    pub devices: Vec<Analysis>,
    /// The simulated devices compared (verdicts marked as resting on simulated devices).
    pub compare_dir: PathBuf,
    pub compare: CompareResult,
    /// Real products: published measurements compared with the same claims.
    pub published_dir: PathBuf,
    pub published: CompareResult,
    /// A short production run on simulated units.
    pub production: ProductionRun,
    /// Both sides of the studio headphones, each driven alone (`--sides`).
    pub sides: Analysis,
}

/// The demo's production run: limits from three golden units of the gaming headset (its fit
/// moves the bass ±1 dB), five units checked against them (two with faults), every result in
/// a SQLite database.
pub struct ProductionRun {
    pub dir: PathBuf,
    pub limits: PathBuf,
    pub db: PathBuf,
    /// Each unit's serial and its outcome.
    pub units: Vec<(String, super::production::CheckOutcome)>,
    pub summary: crate::db::stats::Summary,
}

/// A unit of the demo's production run: the gaming headset's driver with its fit (a low
/// shelf at 120 Hz), its gain spread, and optional faults.
fn demo_unit(base: &DeviceModel, gain_db: f64, fit_db: f64, resonance_db: f64) -> DeviceModel {
    use crate::sim::model::{BiquadShape, Stage};
    let mut m = base.clone();
    m.gain_db += gain_db;
    m.stages.push(Stage::Biquad {
        shape: BiquadShape::LowShelf,
        freq_hz: 120.0,
        q: 0.707,
        gain_db: fit_db,
    });
    if resonance_db != 0.0 {
        m.stages.push(Stage::Biquad {
            shape: BiquadShape::Peaking,
            freq_hz: 6300.0,
            q: 2.0,
            gain_db: resonance_db,
        });
    }
    m
}

/// Runs the demo's production run into `dir` (its database is the demo's own: made anew).
fn production_run(dir: &Path, stop: &'static AtomicBool) -> Result<ProductionRun> {
    use super::production as prod;
    // a built-in model (embedded, parsed by the tests): always there
    let base = crate::sim::builtin("gaming-headset-speaker").expect("built-in model");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let run_one = |name: &str, model: DeviceModel| -> Result<PathBuf> {
        let out = dir.join(name);
        let own = read_session(&out)
            .ok()
            .and_then(|s| s.capture)
            .is_some_and(|ci| ci.model.is_some());
        let req = SimulateRequest {
            model,
            out: out.clone(),
            spec: DEMO_SWEEP,
            label: Some(format!("Gaming headset {name}")),
            kind: None,
            force: own,
            analyze: true,
            reseats: 1,
            levels: None,
            sides: false,
        };
        simulate(req, stop, &mut |_| {})?;
        Ok(out)
    };
    let mut goldens = Vec::new();
    for (i, (g, fit)) in [(-0.2, -1.0), (0.0, 0.0), (0.2, 1.0)]
        .into_iter()
        .enumerate()
    {
        goldens.push(run_one(
            &format!("golden{}", i + 1),
            demo_unit(&base, g, fit, 0.0),
        )?);
    }
    let limits = dir.join("limits.toml");
    let opts = crate::limits::BuildOptions::default();
    prod::make_limits(&goldens, &limits, &opts, true, Some(stop))?;
    let db = dir.join("results.sqlite");
    for f in ["results.sqlite", "results.sqlite-wal", "results.sqlite-shm"] {
        match std::fs::remove_file(dir.join(f)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(dir.join(f), e));
            }
            _ => {}
        }
    }
    let spec = db.display().to_string();
    let mut units = Vec::new();
    for (serial, g, fit, res) in [
        ("SN1001", 0.1, 0.4, 0.0),
        ("SN1002", -0.15, -0.7, 0.0),
        ("SN1003", -4.0, 0.0, 0.0), // a weak driver
        ("SN1004", 0.0, 0.2, 6.0),  // a resonance at 6.3 kHz
        ("SN1005", 0.05, -0.3, 0.0),
    ] {
        let unit = run_one(serial, demo_unit(&base, g, fit, res))?;
        let ids = prod::CheckIds {
            serial: Some(serial.into()),
            station: Some("demo-line".into()),
            operator: Some("demo".into()),
        };
        let o = prod::check(&unit, &limits, Some(&spec), &ids, Some(stop))?;
        if let Some(e) = o.db_error {
            return Err(e);
        }
        units.push((serial.to_string(), o));
    }
    let (_, summary) = prod::read_results(&spec, None)?;
    Ok(ProductionRun {
        dir: dir.to_path_buf(),
        limits,
        db,
        units,
        summary,
    })
}

/// Measures every built-in model into `out/<model>/` (analysis in `report/`), compares them
/// into `out/compare/`, and compares the published measurements of real products that ship
/// with sweeplab into `out/compare-published/`. `on_device` hears of each device as it is
/// done.
pub fn demo(
    out: &Path,
    stop: &'static AtomicBool,
    on_device: &mut dyn FnMut(&Analysis),
) -> Result<DemoOutcome> {
    let _out = prepare_output_dir(out)?;
    let mut devices = Vec::new();
    let mut dirs = Vec::new();
    for (name, model) in crate::sim::builtin_models() {
        let dir = out.join(name);
        // the demo may redo its own simulated sessions, never a real one
        let own = read_session(&dir)
            .ok()
            .and_then(|s| s.capture)
            .is_some_and(|ci| ci.model.is_some());
        // a headphone is measured as labs do: several placements, their average and spread
        let reseats = if model.fit.is_some() { DEMO_RESEATS } else { 1 };
        let req = SimulateRequest {
            model,
            out: dir.clone(),
            spec: DEMO_SWEEP,
            label: None,
            kind: None,
            force: own,
            analyze: false,
            reseats,
            // the headset's driver distorts: its distortion against level, to 1 % and 3 %
            levels: (name == "gaming-headset-speaker").then(|| super::levels::LevelSeries {
                levels_dbfs: DEMO_LEVELS_DBFS.to_vec(),
                thd_stop_percent: super::levels::DEFAULT_THD_STOP_PERCENT,
            }),
            sides: false,
        };
        simulate(req, stop, &mut |_| {})?;
        let opts = AnalyzeOptions {
            stop: Some(stop),
            ..AnalyzeOptions::default()
        };
        let a = analyze_session(&dir, &dir.join("report"), &opts)?;
        on_device(&a);
        devices.push(a);
        dirs.push(dir.join("report"));
    }
    let compare_dir = out.join("compare");
    let args = CompareArgs::new(dirs, compare_dir.clone());
    let compare = super::compare(&args, Some(stop), &mut |_, _| {})?;
    let published_dir = out.join("compare-published");
    let published =
        super::published::compare_published(&out.join("published"), &published_dir, Some(stop))?;
    let production = production_run(&out.join("production"), stop)?;
    let sides = demo_sides(&out.join(DEMO_SIDES_DIR), stop)?;
    Ok(DemoOutcome {
        devices,
        compare_dir,
        compare,
        published_dir,
        published,
        production,
        sides,
    })
}

/// Where the demo measures both sides of the studio headphones (inside its folder).
pub const DEMO_SIDES_DIR: &str = "studio-headphones-lr";

/// The demo's two-sided session: the studio headphones' two drivers, each driven alone,
/// analysed into `dir/report` (balance, difference, crosstalk, polarity; `balance.png`).
fn demo_sides(dir: &Path, stop: &'static AtomicBool) -> Result<Analysis> {
    let model = crate::sim::builtin("studio-headphones").expect("built-in model");
    let own = read_session(dir)
        .ok()
        .and_then(|s| s.capture)
        .is_some_and(|ci| ci.model.is_some());
    let req = SimulateRequest {
        model,
        out: dir.to_path_buf(),
        spec: DEMO_SWEEP,
        label: Some("Studio headphones (left and right)".into()),
        kind: None,
        force: own,
        analyze: true,
        reseats: 1,
        levels: None,
        sides: true,
    };
    simulate(req, stop, &mut |_| {})?.ok_or_else(|| Error::Interrupted("not analysed".into()))
}
