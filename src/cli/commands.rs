//! Command dispatch: turns parsed flags into one call on `session` and prints what happened.
//! No measurement logic lives here.

use std::path::Path;
use std::process::ExitCode;

use super::interrupt::stop_flag;
use super::output::{self, AnalysisSummary, AnalyzeSummary, CompareSummary, ErrorSummary, Printer};
use super::progress::{Reporter, Steps};
use super::{
    AnalysisOptions, AnalyzeCmd, CalibrateCmd, Cli, Command, CompareCmd, DemoCmd, DevicesCmd,
    MeasureCmd, ReportCmd, SimulateCmd, SweepArgs, SweepCmd,
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
        Command::Calibrate(c) => calibrate(c),
        Command::Limits(c) => super::production::limits(c),
        Command::Check(c) => super::production::check(c),
        Command::Results(c) => super::production::results(c),
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
    if let Some(next) = &s.next_step {
        println!("next: {next}");
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
        formats: o.format.clone(),
        label,
        kind,
        calibration: o
            .calibration
            .as_deref()
            .map(crate::compare::read_calibration)
            .transpose()?,
        sensitivity: o
            .sensitivity
            .as_deref()
            .map(session::calibrate::read_sensitivity)
            .transpose()?,
        mic_sensitivity: o
            .mic_sensitivity
            .as_deref()
            .map(session::calibrate::read_sensitivity)
            .transpose()?,
        drive: o.output_vrms.map(|v| crate::results::DriveLevel {
            volts_rms_at_0dbfs: v,
            impedance_ohm: o.impedance,
        }),
        window_s: o.window,
        stop: Some(stop_flag()),
    })
}

fn calibrate(c: CalibrateCmd) -> anyhow::Result<ExitCode> {
    let s = session::calibrate::calibrate(
        &c.recording,
        c.channel,
        c.spl,
        c.input_vrms,
        &c.out,
        c.force,
    )?;
    println!(
        "wrote {}: the {} dB SPL tone ({:.1} Hz) reads {:.2} dBFS; dB SPL = dBFS + {:.2} dB (the microphone and input read {:.2} dBFS at 94 dB SPL{})",
        c.out.display(),
        s.calibrator_db_spl,
        s.freq_hz,
        s.calibrator_dbfs,
        s.offset_db,
        s.dbfs_at_94_db_spl,
        s.dbv_per_pa
            .map_or(String::new(), |v| format!(": {v:.2} dBV/Pa"))
    );
    Ok(ExitCode::SUCCESS)
}

fn report(c: ReportCmd) -> anyhow::Result<ExitCode> {
    let opts = AnalyzeOptions {
        smoothing: c.smoothing.0,
        size: (c.size.width, c.size.height),
        formats: c.format,
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
    let pr = Printer {
        json: c.print.json,
        quiet: c.print.quiet,
    };
    let mut summary = AnalyzeSummary {
        format: output::ANALYZE_SUMMARY_FORMAT,
        version: 1,
        ok: true,
        analyses: Vec::new(),
        error: None,
    };
    let r = analyze_into(&c, &pr, &mut summary);
    if let Err(e) = &r {
        summary.ok = false;
        if summary.analyses.is_empty() {
            summary.error = Some(ErrorSummary::of(e));
        }
    }
    pr.document(&summary);
    r.map(|()| ExitCode::SUCCESS).map_err(Into::into)
}

/// Runs `analyze`, printing each analysis and adding it to `summary`; the first error is
/// returned (the others are printed).
fn analyze_into(c: &AnalyzeCmd, pr: &Printer, summary: &mut AnalyzeSummary) -> Result<(), Error> {
    let opts = analyze_options(&c.options, c.labels.label.clone(), c.labels.kind)?;
    if let Some(stim) = &c.stimulus {
        let (Some(cap), Some(start), Some(end)) = (&c.capture, c.sweep_start, c.sweep_end) else {
            return Err(Error::bad_usage(
                "--stimulus",
                "needs --capture, --sweep-start and --sweep-end",
            ));
        };
        let a = session::analyze_external(stim, cap, start, end, &c.out, &opts)?;
        print_analysis(pr, &c.out, &a);
        summary.analyses.push(AnalysisSummary::of(cap, &c.out, &a));
        return session::require_signal(&a, &c.out);
    }
    if c.dirs.is_empty() {
        return Err(Error::bad_usage(
            "DIR",
            "give one or more session folders, or --stimulus/--capture/--sweep-start/--sweep-end",
        ));
    }
    let mut first_err = None;
    let steps = Steps::new("analysing", c.dirs.len(), pr.quiet || pr.json);
    let results = session::analyze_sessions(&c.dirs, &c.out, &opts, &|dir| {
        steps.done(&dir.display().to_string())
    });
    steps.finish();
    for (dir, (out, r)) in c.dirs.iter().zip(results?) {
        let r = r.and_then(|a| {
            print_analysis(pr, &out, &a);
            summary.analyses.push(AnalysisSummary::of(dir, &out, &a));
            session::require_signal(&a, &out)
        });
        match r {
            Ok(()) => {}
            Err(e) => {
                if summary
                    .analyses
                    .last()
                    .is_none_or(|s| s.source != dir.display().to_string())
                {
                    summary
                        .analyses
                        .push(AnalysisSummary::failed(dir, &out, &e));
                } else if let Some(last) = summary.analyses.last_mut() {
                    last.error = Some(ErrorSummary::of(&e));
                }
                if first_err.is_none() {
                    first_err = Some(e);
                } else {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn print_analysis(pr: &Printer, out: &Path, a: &Analysis) {
    pr.say(&format!("analysis written to {}", out.display()));
    for ch in &a.channels {
        let f = |v: Option<f64>, unit: &str| {
            v.map_or(units::NA.to_string(), |v| format!("{v:.1} {unit}"))
        };
        let latency = match (ch.latency_s, ch.latency_samples) {
            (Some(s), Some(n)) => format!("{:.3} ms ({n:.2} samples)", s * 1e3),
            _ => units::NA.into(),
        };
        pr.say(&format!(
            "  {}: latency {latency}, level at 1 kHz {}, noise {}, SNR {}",
            ch.tag(),
            f(ch.level_1k_dbfs, "dBFS"),
            f(ch.noise.as_ref().map(|n| n.rms_dbfs), "dBFS"),
            f(ch.snr_db, "dB"),
        ));
        if let Some(spl) = &a.spl {
            pr.say(&format!(
                "  {}: level at 1 kHz {}, noise {}",
                ch.tag(),
                f(ch.level_1k_dbfs.map(|v| v + spl.offset_db), "dB SPL"),
                f(
                    ch.noise.as_ref().map(|n| n.a_weighted_dbfs + spl.offset_db),
                    "dB(A) SPL"
                ),
            ));
        }
        if let Some(p) = &ch.placements {
            let spread = p
                .max_db
                .iter()
                .zip(&p.min_db)
                .zip(&p.freq_hz)
                .filter(|(_, f)| (100.0..=10_000.0).contains(*f))
                .map(|((hi, lo), f)| (hi - lo, *f))
                .fold((0.0f64, 0.0), |b, x| if x.0 > b.0 { x } else { b });
            pr.say(&format!(
                "  {}: power average of {} placements; they differ by up to {:.1} dB (at {}) from 100 Hz to 10 kHz",
                ch.tag(),
                p.averaged.len(),
                spread.0,
                units::hz(spread.1)
            ));
        }
        if let Some(d) = &ch.driver_sensitivity {
            let per_mw = d
                .db_spl_per_mw
                .map_or(String::new(), |v| format!(", {v:.1} dB SPL/mW"));
            pr.say(&format!(
                "  {}: driver sensitivity {:.1} dB SPL/V{per_mw}",
                ch.tag(),
                d.db_spl_per_v
            ));
        }
        for w in &ch.warnings {
            pr.say(&format!("  warning: {w}"));
        }
    }
    if let Some(sd) = &a.sides {
        let db = |v: Option<f64>| v.map_or(units::NA.to_string(), |v| format!("{v:.1} dB"));
        let xt: Vec<String> = sd
            .crosstalk
            .iter()
            .map(|x| format!("{} into {} {}", x.driven, x.into, db(x.mean_db)))
            .collect();
        pr.say(&format!(
            "  left/right: balance L − R {}, largest |L − R| {}{}, crosstalk {}, polarity {}",
            db(sd.balance_db),
            db(sd.max_difference_db),
            sd.max_difference_hz
                .map_or(String::new(), |h| format!(" at {}", units::hz(h))),
            if xt.is_empty() {
                units::NA.to_string()
            } else {
                xt.join(", ")
            },
            match sd.polarity_matched {
                Some(true) => "matched",
                Some(false) => "OPPOSITE",
                None => units::NA,
            }
        ));
        for n in &sd.notes {
            pr.say(&format!("  note: {n}"));
        }
        for w in &sd.warnings {
            pr.say(&format!("  warning: {w}"));
        }
    }
    if let Some(m) = &a.mic_under_test {
        let noise: Vec<String> = m
            .self_noise_dba_spl
            .iter()
            .map(|v| v.map_or(units::NA.to_string(), |v| format!("{v:.1} dB(A) SPL")))
            .collect();
        pr.say(&format!(
            "  microphone under test: {:.1} dBFS/Pa{}, self-noise {}",
            m.dbfs_per_pa,
            m.dbv_per_pa
                .map_or(String::new(), |v| format!(" ({v:.1} dBV/Pa)")),
            noise.join(", ")
        ));
    }
}

fn simulate(c: SimulateCmd) -> anyhow::Result<ExitCode> {
    super::production::preflight(&c.check)?;
    let req = SimulateRequest {
        model: crate::sim::resolve(&c.model)?,
        out: c.out.clone(),
        spec: sweep_spec(&c.sweep),
        label: c.labels.label,
        kind: c.labels.kind,
        force: c.force,
        analyze: !c.no_analyze,
        reseats: c.reseats,
        levels: c.level_series.series()?,
        sides: c.sides,
    };
    let progress = Reporter::new("simulating", req.spec.sample_rate);
    let r = run_simulate(req, stop_flag(), &mut progress.updater());
    progress.finish();
    let a = r?;
    println!("session written to {}", c.out.display());
    if let Some(a) = a {
        print_analysis(&Printer::default(), &c.out.join("report"), &a);
        // with limits, a unit without signal is a failed unit (exit 3), not a failed run
        if let Some(code) = super::production::check_after_run(&c.out, &c.check)? {
            return Ok(code);
        }
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
    print_compare(&Printer::default(), &outcome.compare_dir, &outcome.compare);
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
    print_compare(
        &Printer::default(),
        &outcome.published_dir,
        &outcome.published,
    );
    let lr = &outcome.sides;
    println!(
        "both sides of the studio headphones, each driven alone ({}):",
        c.out
            .join(session::simulate::DEMO_SIDES_DIR)
            .join("report")
            .join("balance.png")
            .display()
    );
    print_analysis(
        &Printer::default(),
        &c.out.join(session::simulate::DEMO_SIDES_DIR).join("report"),
        lr,
    );
    let run = &outcome.production;
    println!(
        "a production run (simulated gaming headsets; limits from 3 golden units: {}):",
        run.limits.display()
    );
    for (serial, o) in &run.units {
        let failed: Vec<&str> = o.report.failed().map(|c| c.name.as_str()).collect();
        println!(
            "  {serial}  {}{}",
            o.report.verdict.as_str().to_uppercase(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(": {}", failed.join(", "))
            }
        );
    }
    println!(
        "  sweeplab results --db {}: {} units, yield {:.0} %{}",
        run.db.display(),
        run.summary.units,
        run.summary.yield_percent,
        run.summary
            .failing
            .first()
            .map_or(String::new(), |f| format!(
                ", most frequent failure: {}",
                f.limit
            ))
    );
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
    let pr = Printer {
        json: c.print.json,
        quiet: c.print.quiet,
    };
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
        formats: c.format,
        channel: c.channel,
    };
    let steps = Steps::new("comparing", args.sources.len(), pr.quiet || pr.json);
    let r = session::compare(&args, Some(stop_flag()), &mut |i, src| {
        if i > 0 {
            steps.done("");
        }
        steps.working_on(&src.display().to_string());
    });
    steps.finish();
    match r {
        Ok(r) => {
            print_compare(&pr, &c.out, &r);
            pr.document(&CompareSummary::of(&c.out, &r));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            pr.document(&CompareSummary::failed(&c.out, &e));
            Err(e.into())
        }
    }
}

fn print_compare(pr: &Printer, out: &Path, r: &CompareResult) {
    pr.say(&format!(
        "comparison written to {} ({})",
        out.display(),
        r.files.join(", ")
    ));
    for cl in &r.claims {
        pr.say(&format!(
            "  {:>12}  {}{}",
            cl.verdict.as_str(),
            cl.statement,
            cl.mark()
        ));
    }
    if r.claims.iter().any(|c| !c.mark().is_empty()) {
        pr.say(&format!("  ({})", crate::compare::claims::SIMULATED_CAVEAT));
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

/// How a re-seat series waits between placements: for Enter (None), or a fixed time.
/// Checked before any device is opened: waiting for Enter needs a terminal.
#[cfg(feature = "live")]
fn reseat_wait(reseats: u32, wait_s: Option<f64>) -> crate::error::Result<Option<f64>> {
    use std::io::IsTerminal;
    session::record::check_reseats(reseats)?;
    match wait_s {
        Some(s) if !(s.is_finite() && (0.0..=3600.0).contains(&s)) => Err(Error::bad_usage(
            "--reseat-wait",
            format!("{s} s is outside 0–3600 s"),
        )),
        Some(s) => Ok(Some(s)),
        None if reseats > 1 && !std::io::stdin().is_terminal() => Err(Error::bad_usage(
            "--reseats",
            "between placements it waits for Enter, but standard input is not a terminal; give --reseat-wait SECONDS to wait a fixed time instead",
        )),
        None => Ok(None),
    }
}

/// Waits for Enter (or `wait_s`), giving up when Ctrl-C sets `stop`.
#[cfg(feature = "live")]
fn wait_between(
    wait_s: Option<f64>,
    stop: &'static std::sync::atomic::AtomicBool,
    say: &mut dyn FnMut(&str),
) -> crate::error::Result<()> {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    let stopped = || {
        Error::Interrupted(
            "the re-seat series stopped between placements; the placements recorded are kept and `sweeplab analyze` averages them".into(),
        )
    };
    let poll = Duration::from_millis(50);
    match wait_s {
        Some(s) => {
            say(&format!("recording the next placement in {s:.1} s"));
            let until = Instant::now() + Duration::from_secs_f64(s);
            while Instant::now() < until {
                if stop.load(Ordering::SeqCst) {
                    return Err(stopped());
                }
                std::thread::sleep(poll.min(until.saturating_duration_since(Instant::now())));
            }
        }
        None => {
            say(
                "Press Enter to record the next placement (Ctrl-C stops; what is recorded is kept).",
            );
            // a thread reads the line so that Ctrl-C is noticed while waiting for it
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = tx.send(std::io::stdin().read_line(&mut line).map(|n| n > 0));
            });
            loop {
                if stop.load(Ordering::SeqCst) {
                    return Err(stopped());
                }
                match rx.recv_timeout(poll) {
                    Ok(Ok(true)) => break,
                    // end of input or a read error: nobody can press Enter
                    Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(stopped());
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                }
            }
        }
    }
    if stop.load(Ordering::SeqCst) {
        return Err(stopped());
    }
    Ok(())
}

#[cfg(feature = "live")]
fn measure(c: MeasureCmd) -> anyhow::Result<ExitCode> {
    use crate::device::OutputRouting;
    use crate::session::live::{MeasureRequest, measure as run_measure};
    super::production::preflight(&c.check)?;
    let sensitivity = c
        .sensitivity
        .as_deref()
        .map(session::calibrate::read_sensitivity)
        .transpose()?;
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
        sensitivity,
        drive: c.output_vrms.map(|v| crate::results::DriveLevel {
            volts_rms_at_0dbfs: v,
            impedance_ohm: c.impedance,
        }),
        reseats: c.reseats,
        levels: c.level_series.series()?,
        max_spl_db: c.max_spl,
        sides: c.sides,
    };
    if !(c.max_spl.is_finite() && (60.0..=160.0).contains(&c.max_spl)) {
        return Err(Error::bad_usage(
            "--max-spl",
            format!("{} dB SPL is outside 60–160", c.max_spl),
        )
        .into());
    }
    let wait = reseat_wait(c.reseats, c.reseat_wait)?;
    let progress = Reporter::new("measuring", req.spec.sample_rate);
    let r = run_measure(
        &req,
        stop_flag(),
        &mut |line| progress.say(line),
        &mut progress.updater(),
        &mut |p, n| {
            progress.say(&format!(
                "placement {} of {n} recorded. Take the headphone off and put it back on as you wear it.",
                p - 1
            ));
            wait_between(wait, stop_flag(), &mut |line| progress.say(line))
        },
    );
    progress.finish();
    let outcome = r?;
    if let Some(a) = &outcome.analysis {
        print_analysis(&Printer::default(), &c.out.join("report"), a);
        // with limits, a unit without signal is a failed unit (exit 3), not a failed run
        if let Some(code) = super::production::check_after_run(&c.out, &c.check)? {
            return Ok(code);
        }
        session::require_signal(a, &c.out.join("report"))?;
    }
    Ok(ExitCode::SUCCESS)
}
