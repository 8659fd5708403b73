//! Command dispatch: turns parsed flags into calls on `session`, prints what happened.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{AnalysisOptions, AnalyzeCmd, Cli, Command, ReportCmd, SweepArgs, SweepCmd};
use crate::dsp::sweep::SweepSpec;
use crate::error::Error;
use crate::session::{self, AnalyzeOptions};

/// Runs one CLI command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sweep(c) => sweep(c),
        Command::Analyze(c) => analyze(c),
        Command::Report(c) => report(c),
        other => Err(anyhow::anyhow!(
            "`{}` is not available in this build yet",
            command_name(&other)
        )),
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Sweep(_) => "sweep",
        Command::Analyze(_) => "analyze",
        Command::Compare(_) => "compare",
        Command::Measure(_) => "measure",
        Command::Devices(_) => "devices",
        Command::Simulate(_) => "simulate",
        Command::Demo(_) => "demo",
        Command::Report(_) => "report",
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
    let (s, d) = session::create_sweep_session(
        &c.out,
        &spec,
        c.labels.label,
        c.labels.kind.map(|k| k.as_str().to_string()),
        c.force,
    )?;
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
    kind: Option<String>,
) -> Result<AnalyzeOptions, Error> {
    let smoothing = crate::util::parse_smoothing(&o.smoothing).ok_or_else(|| {
        Error::bad_usage(
            "--smoothing",
            format!("\"{}\" is not 1/1 … 1/48 or none", o.smoothing),
        )
    })?;
    let size = crate::util::parse_size(&o.size).ok_or_else(|| {
        Error::bad_usage(
            "--size",
            format!("\"{}\" is not WxH between 200x150 and 8000x8000", o.size),
        )
    })?;
    Ok(AnalyzeOptions {
        smoothing,
        plots: !o.no_plots,
        size,
        label,
        kind,
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
    let opts = analyze_options(
        &c.options,
        c.labels.label.clone(),
        c.labels.kind.map(|k| k.as_str().to_string()),
    )?;
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
    for (dir, out) in c.dirs.iter().zip(&outs) {
        let a = session::analyze_session(dir, out, &opts)?;
        print_analysis_summary(out, &a);
    }
    Ok(ExitCode::SUCCESS)
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
