//! Command dispatch: turns parsed flags into calls on `session`, prints what happened.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{
    AnalysisOptions, AnalyzeCmd, Cli, Command, CompareCmd, DemoCmd, DevicesCmd, MeasureCmd,
    ReportCmd, SimulateCmd, SweepArgs, SweepCmd,
};
use crate::dsp::sweep::SweepSpec;
use crate::error::Error;
use crate::session::{self, AnalyzeOptions};

/// Runs one CLI command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sweep(c) => sweep(c),
        Command::Analyze(c) => analyze(c),
        Command::Report(c) => report(c),
        Command::Simulate(c) => simulate(c),
        Command::Demo(c) => demo(c),
        Command::Devices(c) => devices(c),
        Command::Compare(c) => compare(c),
        Command::Measure(c) => measure(c),
    }
}

/// The exit status for an error: 2 for bad usage or input, else 1.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Error>())
        .map(Error::exit_code)
        .unwrap_or(1)
}

pub fn sweep_spec(a: &SweepArgs) -> SweepSpec {
    SweepSpec {
        sample_rate: a.rate,
        start_hz: a.start,
        end_hz: a.end,
        duration_s: a.duration,
        level_dbfs: a.level,
        pre_s: a.pre,
        post_s: a.post,
    }
}

fn sweep(c: SweepCmd) -> anyhow::Result<ExitCode> {
    let spec = sweep_spec(&c.sweep);
    let (s, d) =
        session::create_sweep_session(&c.out, &spec, c.labels.label, c.labels.kind, c.force)?;
    println!(
        "wrote {} and {}: {:.0}–{:.0} Hz over {} s at {} dBFS, {} Hz, {} frames",
        c.out.join("stimulus.wav").display(),
        c.out.join("session.json").display(),
        s.sweep.start_hz,
        s.sweep.end_hz,
        s.sweep.duration_s,
        s.sweep.level_dbfs,
        s.sample_rate,
        d.total_samples()
    );
    if d.end_clamped {
        eprintln!(
            "note: --end {} Hz was clamped to {:.0} Hz (0.95 × Nyquist)",
            spec.end_hz, d.end_hz
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn analyze_options(
    o: &AnalysisOptions,
    label: Option<String>,
    kind: Option<crate::kind::DeviceKind>,
) -> Result<AnalyzeOptions, Error> {
    Ok(AnalyzeOptions {
        smoothing: o.smoothing.0,
        plots: !o.no_plots,
        size: (o.size.width, o.size.height),
        label,
        kind,
        stop: Some(stop_flag()),
    })
}

fn report(c: ReportCmd) -> anyhow::Result<ExitCode> {
    let o = AnalysisOptions {
        smoothing: c.smoothing,
        calibration: None,
        no_plots: false,
        size: c.size,
    };
    let opts = analyze_options(&o, None, None)?;
    let written = session::rerender(&c.analysis_dir, c.out.as_deref(), &opts)?;
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn analyze(c: AnalyzeCmd) -> anyhow::Result<ExitCode> {
    let opts = analyze_options(&c.options, c.labels.label.clone(), c.labels.kind)?;
    if let Some(stim) = &c.stimulus {
        let (cap, start, end) = match (&c.capture, c.sweep_start, c.sweep_end) {
            (Some(cap), Some(s), Some(e)) => (cap, s, e),
            _ => {
                return Err(Error::bad_usage(
                    "--stimulus",
                    "needs --capture, --sweep-start and --sweep-end",
                )
                .into());
            }
        };
        let a = session::analyze_external(stim, cap, start, end, &c.out, &opts)?;
        print_analysis_summary(&c.out, &a);
        return Ok(ExitCode::SUCCESS);
    }
    if c.dirs.is_empty() {
        return Err(Error::bad_usage(
            "DIR",
            "give one or more session folders, or --stimulus/--capture/--sweep-start/--sweep-end",
        )
        .into());
    }
    let outs = output_dirs(&c.dirs, &c.out)?;
    // sessions are independent: analyse them in parallel, report in the order given
    use rayon::prelude::*;
    let results: Vec<_> = c
        .dirs
        .par_iter()
        .zip(outs.par_iter())
        .map(|(dir, out)| session::analyze_session(dir, out, &opts))
        .collect();
    let mut first_err = None;
    for (out, r) in outs.iter().zip(results) {
        match r {
            Ok(a) => print_analysis_summary(out, &a),
            Err(e) if first_err.is_none() => first_err = Some(e),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// One DIR: OUT itself; several: OUT/<basename of DIR>/ (basenames must differ).
fn output_dirs(dirs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, Error> {
    if dirs.len() == 1 {
        return Ok(vec![out.to_path_buf()]);
    }
    let mut seen = std::collections::HashSet::new();
    dirs.iter()
        .map(|d| {
            let base = d
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_owned()))
                .or_else(|| d.file_name().map(|n| n.to_owned()))
                .ok_or_else(|| Error::bad_input(d, "has no folder name to use under --out"))?;
            if !seen.insert(base.clone()) {
                return Err(Error::bad_input(d, format!("another DIR has the same name \"{}\"; their outputs would collide under --out", base.to_string_lossy())));
            }
            Ok(out.join(base))
        })
        .collect()
}

fn print_analysis_summary(out: &Path, a: &crate::results::Analysis) {
    println!("analysis written to {}", out.display());
    for ch in &a.channels {
        let f =
            |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.1} {unit}"));
        println!(
            "  ch{}: latency {:.3} ms ({:.2} samples), level at 1 kHz {}, noise {}, SNR {}",
            ch.index,
            ch.latency_s * 1e3,
            ch.latency_samples,
            f(ch.level_1k_dbfs, "dBFS"),
            f(ch.noise.as_ref().map(|n| n.rms_dbfs), "dBFS"),
            f(ch.snr_db, "dB"),
        );
        for w in &ch.warnings {
            println!("  warning: {w}");
        }
    }
}

/// Set by Ctrl-C; every capture loop polls it.
pub fn stop_flag() -> &'static std::sync::atomic::AtomicBool {
    static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            STOP.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    });
    &STOP
}

/// The default analysis, stopped by Ctrl-C.
fn stoppable() -> AnalyzeOptions {
    AnalyzeOptions {
        stop: Some(stop_flag()),
        ..AnalyzeOptions::default()
    }
}

/// Records one simulated session and analyses it into DIR/report (unless told not to).
fn simulate_one(
    model: crate::sim::DeviceModel,
    out: &Path,
    spec: SweepSpec,
    label: Option<String>,
    kind: Option<crate::kind::DeviceKind>,
    force: bool,
    analyze: bool,
    quiet: bool,
) -> anyhow::Result<Option<crate::results::Analysis>> {
    model.check_rate(spec.sample_rate)?;
    let req = session::RecordRequest {
        out: out.to_path_buf(),
        spec,
        label: label
            .or_else(|| model.label.clone())
            .or_else(|| Some(model.name.clone())),
        kind: kind.or(model.kind),
        force,
        output: crate::device::OutputRouting::Both,
        input_channels: None,
        repeats: 1,
        extra_s: 0.5,
        model: Some(model.name.clone()),
    };
    let truth_grid: Vec<f64> = (0..=120)
        .map(|i| {
            spec.start_hz
                * (spec
                    .end_hz
                    .min(crate::dsp::sweep::max_end_hz(spec.sample_rate))
                    / spec.start_hz)
                    .powf(i as f64 / 120.0)
        })
        .collect();
    let truth = model.truth(spec.sample_rate, spec.level_dbfs, &truth_grid);
    let mut device = crate::sim::SimDuplex::new(model, 1);
    let session = if quiet {
        session::record_session(&mut device, &req, stop_flag(), &mut |_| {})?
    } else {
        let (mut update, finish) =
            crate::progress::capture_reporter("simulating", spec.sample_rate);
        let r = session::record_session(&mut device, &req, stop_flag(), &mut update);
        finish();
        r?
    };
    let text = serde_json::to_string_pretty(&truth)
        .map_err(|e| Error::io(out.join("truth.json"), std::io::Error::other(e)))?;
    crate::storage::write_atomic(&out.join("truth.json"), text.as_bytes())?;
    if !analyze {
        return Ok(None);
    }
    let _ = session;
    let report = out.join("report");
    let a = session::analyze_session(out, &report, &stoppable())?;
    Ok(Some(a))
}

fn simulate(c: SimulateCmd) -> anyhow::Result<ExitCode> {
    let model = crate::sim::resolve(&c.model)?;
    let spec = sweep_spec(&c.sweep);
    let a = simulate_one(
        model,
        &c.out,
        spec,
        c.labels.label,
        c.labels.kind,
        c.force,
        !c.no_analyze,
        false,
    )?;
    println!("session written to {}", c.out.display());
    if let Some(a) = a {
        print_analysis_summary(&c.out.join("report"), &a);
    }
    Ok(ExitCode::SUCCESS)
}

fn demo(c: DemoCmd) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    // 2 s sweeps keep the demo to a few seconds; everything else is the default session
    let spec = SweepSpec {
        sample_rate: 48000,
        start_hz: 20.0,
        end_hz: 20000.0,
        duration_s: 2.0,
        level_dbfs: -12.0,
        pre_s: 0.5,
        post_s: 0.5,
    };
    crate::storage::session_file::prepare_output_dir(&c.out)?;
    println!(
        "sweeplab demo: measuring the built-in simulated devices into {}",
        c.out.display()
    );
    let mut dirs = Vec::new();
    for (name, model) in crate::sim::builtin_models() {
        let dir = c.out.join(name);
        // the demo may redo its own simulated sessions, never a real one
        let own = crate::storage::session_file::read_session(&dir)
            .ok()
            .and_then(|s| s.capture)
            .is_some_and(|ci| ci.model.is_some());
        let a = simulate_one(model, &dir, spec, None, None, own, true, true)?.expect("analysed");
        let ch = &a.channels[0];
        println!(
            "  {:<24} {:<11} level at 1 kHz {:>6.1} dBFS  noise {:>7}  THD 1 kHz {:>7}  latency {:>6.2} ms",
            a.label.clone().unwrap_or_default(),
            a.kind.map_or(String::new(), |k| k.to_string()),
            ch.level_1k_dbfs.unwrap_or(f64::NAN),
            ch.noise
                .as_ref()
                .map_or("n/a".into(), |n| format!("{:.1} dBFS", n.rms_dbfs)),
            interp_at(&ch.thd.freq_hz, &ch.thd.percent, 1000.0)
                .map_or("n/a".into(), |v| format!("{v:.2} %")),
            ch.latency_s * 1e3
        );
        dirs.push(dir);
    }
    let cmp = c.out.join("compare");
    let mut args = crate::compare::CompareArgs::new(
        dirs.iter().map(|d| d.join("report")).collect(),
        cmp.clone(),
    );
    args.smoothing = Some(6.0);
    let r = crate::compare::run_compare(&args)?;
    print_compare(&cmp, &r);
    println!(
        "reports: {}/<device>/report/overview.png and summary.md; comparison: {}/claims.md",
        c.out.display(),
        cmp.display()
    );
    println!("done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn interp_at(x: &[f64], y: &[f64], at: f64) -> Option<f64> {
    (x.first().is_some_and(|&a| a <= at) && x.last().is_some_and(|&b| b >= at))
        .then(|| crate::dsp::smoothing::interp_linear(x, y, at))
}

fn devices(c: DevicesCmd) -> anyhow::Result<ExitCode> {
    let list = crate::device::list::list_devices()?;
    if c.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print!("{list}");
    }
    Ok(ExitCode::SUCCESS)
}

fn measure(c: MeasureCmd) -> anyhow::Result<ExitCode> {
    let spec = sweep_spec(&c.sweep);
    let design = session::design_sweep(&spec)?;
    let input_channels = match c.input_channel {
        crate::cli::InputChannel::All => None,
        crate::cli::InputChannel::One(i) => Some(vec![i]),
    };
    if c.repeats == 0 || c.repeats > 100 {
        return Err(
            Error::bad_usage("--repeats", format!("{} is outside 1–100", c.repeats)).into(),
        );
    }
    // refuse to overwrite before touching any device
    if !c.force
        && c.out
            .join(crate::storage::session_file::SESSION_JSON)
            .exists()
    {
        crate::storage::session_file::prepare_session_dir(&c.out, false)?;
    }
    let routing = match c.output_channel {
        crate::cli::OutputChannel::Left => crate::device::OutputRouting::Left,
        crate::cli::OutputChannel::Right => crate::device::OutputRouting::Right,
        crate::cli::OutputChannel::Both => crate::device::OutputRouting::Both,
    };
    let mut device = crate::device::cpal_duplex::CpalDuplex::open(
        c.output_device.as_deref(),
        c.input_device.as_deref(),
        spec.sample_rate,
    )?;
    eprintln!(
        "output: {}\ninput:  {}",
        device.output_name(),
        device.input_name()
    );
    let stop = stop_flag();
    if !c.no_level_check {
        match session::level_check(
            &mut device,
            spec.sample_rate,
            spec.level_dbfs,
            routing,
            input_channels.clone(),
            stop,
        ) {
            Ok(r) => eprintln!(
                "level check: 1 kHz tone reads {:.1} dBFS at the input (peak {:.1} dBFS)",
                r.tone_dbfs, r.peak_dbfs
            ),
            Err(e @ Error::LevelCheck(_)) if c.force => {
                eprintln!("warning: {e} (going on: --force)")
            }
            Err(e) => return Err(e.into()),
        }
    }
    let req = session::RecordRequest {
        out: c.out.clone(),
        spec,
        label: c.labels.label.clone(),
        kind: c.labels.kind,
        force: c.force,
        output: routing,
        input_channels,
        repeats: c.repeats,
        extra_s: 0.5,
        model: None,
    };
    let t0 = std::time::Instant::now();
    let (mut update, finish) = crate::progress::capture_reporter("measuring", spec.sample_rate);
    let result = session::record_session(&mut device, &req, stop, &mut update);
    finish();
    let mut s = result?;
    let played_s =
        design.total_samples() as f64 * f64::from(c.repeats) / f64::from(spec.sample_rate);
    eprintln!(
        "captured in {:.2} s ({played_s:.2} s of stimulus)",
        t0.elapsed().as_secs_f64()
    );
    println!("session written to {}", c.out.display());
    if c.no_analyze {
        return Ok(ExitCode::SUCCESS);
    }
    let report = c.out.join("report");
    let a = session::analyze_session(&c.out, &report, &stoppable())?;
    if let (Some(ci), Some(ch)) = (s.capture.as_mut(), a.channels.first()) {
        ci.ir_latency_s = Some(ch.latency_s);
        crate::storage::session_file::write_session(&c.out, &s)?;
    }
    print_analysis_summary(&report, &a);
    Ok(ExitCode::SUCCESS)
}

fn compare(c: CompareCmd) -> anyhow::Result<ExitCode> {
    let args = crate::compare::CompareArgs {
        sources: c.sources,
        out: c.out.clone(),
        labels: c.label,
        kinds: c.kind.iter().map(|&k| Some(k)).collect(),
        normalize: c.normalize,
        target: c.target,
        claims: c.claims,
        smoothing: c.smoothing.0,
        calibration: c.calibration,
        plots: !c.no_plots,
    };
    let r = crate::compare::run_compare(&args)?;
    print_compare(&c.out, &r);
    Ok(ExitCode::SUCCESS)
}

fn print_compare(out: &Path, r: &crate::compare::CompareResult) {
    println!(
        "comparison written to {} ({})",
        out.display(),
        r.files.join(", ")
    );
    for cl in &r.claims {
        println!("  {:>12}  {}", cl.verdict.as_str(), cl.statement);
    }
}
