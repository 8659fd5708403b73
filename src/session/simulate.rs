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
    } = req;
    model.check_rate(spec.sample_rate)?;
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
    };
    let truth = model.truth_for_sweep(&spec);
    let mut device = SimDuplex::new(model, 1);
    record_session(&mut device, &rec, stop, progress)?;
    let text = serde_json::to_string_pretty(&truth)
        .map_err(|e| Error::io(out.join(TRUTH_JSON), std::io::Error::other(e)))?;
    crate::storage::write_atomic(&out.join(TRUTH_JSON), text.as_bytes())?;
    if !analyze {
        return Ok(None);
    }
    let opts = AnalyzeOptions {
        stop: Some(stop),
        ..AnalyzeOptions::default()
    };
    analyze_session(&out, &out.join("report"), &opts).map(Some)
}

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

/// What the demo measured and concluded.
pub struct DemoOutcome {
    pub devices: Vec<Analysis>,
    /// The simulated devices compared (verdicts marked as resting on simulated devices).
    pub compare_dir: PathBuf,
    pub compare: CompareResult,
    /// Real products: published measurements compared with the same claims.
    pub published_dir: PathBuf,
    pub published: CompareResult,
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
        let req = SimulateRequest {
            model,
            out: dir.clone(),
            spec: DEMO_SWEEP,
            label: None,
            kind: None,
            force: own,
            analyze: false,
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
    let compare = super::compare(&args, Some(stop))?;
    let published_dir = out.join("compare-published");
    let published =
        super::published::compare_published(&out.join("published"), &published_dir, Some(stop))?;
    Ok(DemoOutcome {
        devices,
        compare_dir,
        compare,
        published_dir,
        published,
    })
}
