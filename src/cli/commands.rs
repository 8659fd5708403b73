//! Command dispatch: turns parsed flags into one call on `session` and prints what happened.
//! No measurement logic lives here.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use super::progress::Reporter;
use super::{
    AnalysisOptions, AnalyzeCmd, Cli, Command, CompareCmd, DemoCmd, DevicesCmd, MeasureCmd,
    ReportCmd, SimulateCmd, SweepArgs, SweepCmd,
};
use crate::compare::{CompareArgs, CompareResult};
use crate::dsp::sweep::SweepSpec;
use crate::error::Error;
use crate::kind::DeviceKind;
use crate::results::Analysis;
use crate::session::simulate::{SimulateRequest, demo as run_demo, simulate as run_simulate};
use crate::session::{self, AnalyzeOptions};
use crate::units;

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

/// Set by Ctrl-C; every capture loop and analysis step polls it.
pub fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    });
    &STOP
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

fn analyze_options(
    o: &AnalysisOptions,
    label: Option<String>,
    kind: Option<DeviceKind>,
) -> Result<AnalyzeOptions, Error> {
    Ok(AnalyzeOptions {
        smoothing: o.smoothing.0,
        plots: !o.no_plots,
        size: (o.size.width, o.size.height),
        label,
        kind,
        calibration: o
            .calibration
            .as_deref()
            .map(crate::compare::read_calibration)
            .transpose()?,
        window_s: o.window,
        stop: Some(stop_flag()),
    })
}

fn report(c: ReportCmd) -> anyhow::Result<ExitCode> {
    let opts = AnalyzeOptions {
        smoothing: c.smoothing.0,
        size: (c.size.width, c.size.height),
        stop: Some(stop_flag()),
        ..AnalyzeOptions::default()
    };
    // (calibration, label and kind are the analysis's own: `report` only draws)
    for p in session::rerender(&c.analysis_dir, c.out.as_deref(), &opts)? {
        println!("wrote {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn analyze(c: AnalyzeCmd) -> anyhow::Result<ExitCode> {
    let opts = analyze_options(&c.options, c.labels.label.clone(), c.labels.kind)?;
    if let Some(stim) = &c.stimulus {
        let (Some(cap), Some(start), Some(end)) = (&c.capture, c.sweep_start, c.sweep_end) else {
            return Err(Error::bad_usage(
                "--stimulus",
                "needs --capture, --sweep-start and --sweep-end",
            )
            .into());
        };
        let a = session::analyze_external(stim, cap, start, end, &c.out, &opts)?;
        print_analysis(&c.out, &a);
        session::require_signal(&a, &c.out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if c.dirs.is_empty() {
        return Err(Error::bad_usage(
            "DIR",
            "give one or more session folders, or --stimulus/--capture/--sweep-start/--sweep-end",
        )
        .into());
    }
    let mut first_err = None;
    for (out, r) in session::analyze_sessions(&c.dirs, &c.out, &opts)? {
        match r.and_then(|a| {
            print_analysis(&out, &a);
            session::require_signal(&a, &out)
        }) {
            Ok(()) => {}
            Err(e) if first_err.is_none() => first_err = Some(e),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn print_analysis(out: &Path, a: &Analysis) {
    println!("analysis written to {}", out.display());
    for ch in &a.channels {
        let f = |v: Option<f64>, unit: &str| {
            v.map_or(units::NA.to_string(), |v| format!("{v:.1} {unit}"))
        };
        let latency = match (ch.latency_s, ch.latency_samples) {
            (Some(s), Some(n)) => format!("{:.3} ms ({n:.2} samples)", s * 1e3),
            _ => units::NA.into(),
        };
        println!(
            "  ch{}: latency {latency}, level at 1 kHz {}, noise {}, SNR {}",
            ch.index,
            f(ch.level_1k_dbfs, "dBFS"),
            f(ch.noise.as_ref().map(|n| n.rms_dbfs), "dBFS"),
            f(ch.snr_db, "dB"),
        );
        for w in &ch.warnings {
            println!("  warning: {w}");
        }
    }
}

fn simulate(c: SimulateCmd) -> anyhow::Result<ExitCode> {
    let req = SimulateRequest {
        model: crate::sim::resolve(&c.model)?,
        out: c.out.clone(),
        spec: sweep_spec(&c.sweep),
        label: c.labels.label,
        kind: c.labels.kind,
        force: c.force,
        analyze: !c.no_analyze,
    };
    let progress = Reporter::new("simulating", req.spec.sample_rate);
    let r = run_simulate(req, stop_flag(), &mut progress.updater());
    progress.finish();
    let a = r?;
    println!("session written to {}", c.out.display());
    if let Some(a) = a {
        print_analysis(&c.out.join("report"), &a);
        session::require_signal(&a, &c.out.join("report"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn demo(c: DemoCmd) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    println!(
        "sweeplab demo: measuring the built-in simulated devices into {}",
        c.out.display()
    );
    let outcome = run_demo(&c.out, stop_flag(), &mut |a| {
        let ch = &a.channels[0];
        println!(
            "  {:<24} {:<11} level at 1 kHz {:>6.1} dBFS  noise {:>7}  THD 1 kHz {:>7}  latency {:>6.2} ms",
            a.label.clone().unwrap_or_default(),
            a.kind.map_or(String::new(), |k| k.to_string()),
            ch.level_1k_dbfs.unwrap_or(f64::NAN),
            ch.noise
                .as_ref()
                .map_or(units::NA.into(), |n| format!("{:.1} dBFS", n.rms_dbfs)),
            crate::metrics::thd_at(&ch.thd.freq_hz, &ch.thd.percent, 1000.0)
                .map_or(units::NA.into(), |v| format!("{v:.2} %")),
            ch.latency_s.map_or(f64::NAN, |s| s * 1e3)
        );
    })?;
    println!("simulated devices (the method at work, not facts about real products):");
    print_compare(&outcome.compare_dir, &outcome.compare);
    println!(
        "published measurements of real products (Rtings, via AutoEq; {} headsets, {} headphones, one rig):",
        outcome
            .published
            .kind_counts
            .get("headset")
            .copied()
            .unwrap_or(0),
        outcome
            .published
            .kind_counts
            .get("headphones")
            .copied()
            .unwrap_or(0)
    );
    print_compare(&outcome.published_dir, &outcome.published);
    println!(
        "reports: {}/<device>/report/overview.png and summary.md; comparisons: {}/claims.md, {}/claims.md",
        c.out.display(),
        outcome.compare_dir.display(),
        outcome.published_dir.display()
    );
    println!("done in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn compare(c: CompareCmd) -> anyhow::Result<ExitCode> {
    let args = CompareArgs {
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
    let r = session::compare(&args, Some(stop_flag()))?;
    print_compare(&c.out, &r);
    Ok(ExitCode::SUCCESS)
}

fn print_compare(out: &Path, r: &CompareResult) {
    println!(
        "comparison written to {} ({})",
        out.display(),
        r.files.join(", ")
    );
    for cl in &r.claims {
        println!(
            "  {:>12}  {}{}",
            cl.verdict.as_str(),
            cl.statement,
            cl.mark()
        );
    }
    if r.claims.iter().any(|c| !c.mark().is_empty()) {
        println!("  ({})", crate::compare::claims::SIMULATED_CAVEAT);
    }
}

/// What `measure` and `devices` say in a build without live audio.
#[cfg(not(feature = "live"))]
fn no_live_audio(command: &str) -> anyhow::Error {
    Error::bad_usage(
        command,
        "this sweeplab was built without live audio (the offline commands need none); to measure real devices, install the ALSA headers (`sudo apt-get install libasound2-dev pkg-config`) and build with the `live` feature: `cargo build --release --features live`",
    )
    .into()
}

#[cfg(not(feature = "live"))]
fn devices(_: DevicesCmd) -> anyhow::Result<ExitCode> {
    Err(no_live_audio("devices"))
}

#[cfg(not(feature = "live"))]
fn measure(_: MeasureCmd) -> anyhow::Result<ExitCode> {
    Err(no_live_audio("measure"))
}

#[cfg(feature = "live")]
fn devices(c: DevicesCmd) -> anyhow::Result<ExitCode> {
    let list = crate::device::list::list_devices()?;
    if c.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print!("{list}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "live")]
fn measure(c: MeasureCmd) -> anyhow::Result<ExitCode> {
    use crate::device::OutputRouting;
    use crate::session::live::{MeasureRequest, measure as run_measure};
    let req = MeasureRequest {
        out: c.out.clone(),
        output_device: c.output_device,
        input_device: c.input_device,
        output: match c.output_channel {
            super::OutputChannel::Left => OutputRouting::Left,
            super::OutputChannel::Right => OutputRouting::Right,
            super::OutputChannel::Both => OutputRouting::Both,
        },
        input_channels: match c.input_channel {
            super::InputChannel::All => None,
            super::InputChannel::One(i) => Some(vec![i]),
        },
        repeats: c.repeats,
        spec: sweep_spec(&c.sweep),
        label: c.labels.label,
        kind: c.labels.kind,
        force: c.force,
        level_check: !c.no_level_check,
        analyze: !c.no_analyze,
    };
    let progress = Reporter::new("measuring", req.spec.sample_rate);
    let r = run_measure(
        &req,
        stop_flag(),
        &mut |line| progress.say(line),
        &mut progress.updater(),
    );
    progress.finish();
    let outcome = r?;
    if let Some(a) = &outcome.analysis {
        print_analysis(&c.out.join("report"), a);
        session::require_signal(a, &c.out.join("report"))?;
    }
    Ok(ExitCode::SUCCESS)
}
