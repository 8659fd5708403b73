//! The command line: the flags (clap derive, with typed value parsers) here, the dispatch and
//! printing in `commands`, the one progress display in `progress`. Nothing below the CLI
//! imports it; it only parses, calls the session layer and prints.

pub mod commands;
pub mod interrupt;
pub mod output;
pub mod production;
pub mod progress;

pub use commands::{exit_code_of, run};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::kind::DeviceKind;
use crate::metrics::Normalize;
use crate::report::ImageFormat;

#[derive(Debug, Parser)]
#[command(
    name = "sweeplab",
    version,
    about = "Measure headsets, headphones and microphones with exponential sine sweeps",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a stimulus (DIR/stimulus.wav) and DIR/session.json for another player/recorder.
    Sweep(SweepCmd),
    /// Analyze session folders, or a stimulus/capture pair made by another tool.
    Analyze(AnalyzeCmd),
    /// Compare devices side by side and judge sound-quality claims.
    Compare(CompareCmd),
    /// Run a live measurement on real audio devices.
    Measure(MeasureCmd),
    /// List audio hosts and devices.
    Devices(DevicesCmd),
    /// Measure a simulated device model (TOML) exactly as `measure` measures a real one.
    Simulate(SimulateCmd),
    /// Run a whole session and comparison on the built-in simulated rig (no hardware).
    Demo(DemoCmd),
    /// Re-render the plots and summary of an analysis folder from its analysis.json.
    Report(ReportCmd),
    /// A measurement microphone's sensitivity from a recording of an acoustic calibrator.
    Calibrate(CalibrateCmd),
    /// Build a limits file from golden units (production testing).
    Limits(LimitsCmd),
    /// Hold one unit against limits: PASS/FAIL per limit (exit 3 if one fails), result stored.
    Check(CheckCmd),
    /// Read the results database: yield, failing limits, Cpk, trend; or add a kept result.
    Results(ResultsCmd),
}

/// Sweep flags shared by `sweep`, `measure`, `simulate` (CONTRACT.md defaults).
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Sample rate, Hz.
    #[arg(long, default_value_t = 48000)]
    pub rate: u32,
    /// Sweep start frequency, Hz (also --sweep-start).
    #[arg(long, visible_alias = "sweep-start", default_value_t = 20.0)]
    pub start: f64,
    /// Sweep end frequency, Hz, clamped below Nyquist (also --sweep-end).
    #[arg(long, visible_alias = "sweep-end", default_value_t = 20000.0)]
    pub end: f64,
    /// Duration of the sweep itself, s.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Peak level of the sweep, dBFS.
    #[arg(long, default_value_t = -12.0, allow_hyphen_values = true)]
    pub level: f64,
    /// Silence before the sweep, s (used for the noise floor).
    #[arg(long, default_value_t = 1.0)]
    pub pre: f64,
    /// Silence after the sweep, s (for the impulse response's decay).
    #[arg(long, default_value_t = 1.0)]
    pub post: f64,
}

/// Labels shared by `sweep`, `measure`, `simulate`.
#[derive(Debug, Clone, Args)]
pub struct LabelArgs {
    /// The device's name, shown on plots.
    #[arg(long, value_parser = parse_label)]
    pub label: Option<String>,
    /// What kind of device is measured.
    #[arg(long, value_enum)]
    pub kind: Option<DeviceKind>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab sweep --out s1 --duration 5 --level -12\n  (record s1/capture.wav at 48 kHz with any tool, then)\n  sweeplab analyze s1 --out s1/report"
)]
pub struct SweepCmd {
    /// Session folder to create.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub sweep: SweepArgs,
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Overwrite an existing session folder.
    #[arg(long)]
    pub force: bool,
}

/// A distortion-against-level series (`simulate`, `measure`).
#[derive(Debug, Clone, Args)]
pub struct LevelSeriesArgs {
    /// A distortion-against-level series after the sweep: these levels (dBFS, comma-separated,
    /// played rising), each its own session in DIR/levels/N.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        value_name = "DBFS,..."
    )]
    pub levels: Option<Vec<f64>>,
    /// Stop the level series after a step whose THD at 1 kHz passes this, percent.
    #[arg(long, default_value_t = crate::session::levels::DEFAULT_THD_STOP_PERCENT, value_name = "PERCENT")]
    pub thd_stop: f64,
}

impl LevelSeriesArgs {
    /// The series asked for, checked (exit 2 on a bad one); None without `--levels`.
    pub fn series(&self) -> crate::error::Result<Option<crate::session::levels::LevelSeries>> {
        self.levels
            .as_deref()
            .map(|l| crate::session::levels::check_levels(l, self.thd_stop))
            .transpose()
    }
}

#[derive(Debug, Clone, Args)]
pub struct AnalysisOptions {
    /// Smoothing of the bold curve on plots (1/1 … 1/48 octave, or "none").
    #[arg(long, default_value = "1/6", value_parser = parse_smoothing)]
    pub smoothing: Smoothing,
    /// Microphone calibration file (REW/miniDSP: optional "Sens Factor =…dB", then freq dB).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// A measurement microphone's sensitivity (from `sweeplab calibrate`): levels at 1 kHz
    /// and noise also in dB SPL.
    #[arg(long)]
    pub sensitivity: Option<PathBuf>,
    /// The microphone under test's own sensitivity (`sweeplab calibrate` of that
    /// microphone with a calibrator): its dBFS/Pa (dBV/Pa) and self-noise in dB(A) SPL.
    #[arg(long, value_name = "FILE")]
    pub mic_sensitivity: Option<PathBuf>,
    /// RMS volts at the output for a full-scale (0 dBFS) sine (measure it with a voltmeter):
    /// with --sensitivity, the driver's sensitivity in dB SPL per volt.
    #[arg(long, value_name = "VOLTS", requires = "sensitivity", value_parser = parse_positive, allow_negative_numbers = true)]
    pub output_vrms: Option<f64>,
    /// The driver's impedance, ohms: with --output-vrms, its sensitivity in dB SPL per mW.
    #[arg(long, value_name = "OHMS", requires = "output_vrms", value_parser = parse_positive, allow_negative_numbers = true)]
    pub impedance: Option<f64>,
    /// Skip the PNG plots and summary.md (analysis.json, response.csv and the exports only).
    #[arg(long)]
    pub no_plots: bool,
    /// A fixed impulse-response window: ms after the peak, at every frequency (default: to
    /// the measured decay, widened to 15 periods at low frequencies).
    #[arg(long, value_name = "MS", value_parser = parse_window_ms)]
    pub window: Option<f64>,
    /// Plot size in pixels, WxH.
    #[arg(long, default_value = "1600x1000", value_parser = parse_size)]
    pub size: Size,
    /// Plot formats, comma-separated: png, svg (vector plots for papers), or png,svg.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "png")]
    pub format: Vec<ImageFormat>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab analyze s1 --out s1/report\n  sweeplab analyze --stimulus sweep.wav --capture rec.wav --start 20 --end 20000 --out r --json"
)]
pub struct AnalyzeCmd {
    /// Session folders (each with session.json, stimulus.wav, capture.wav).
    pub dirs: Vec<PathBuf>,
    /// Output folder (several DIRs: OUT/<basename of DIR>/).
    #[arg(long)]
    pub out: PathBuf,
    /// Stimulus WAV made by another tool (instead of a session folder).
    #[arg(long, requires_all = ["capture", "sweep_start", "sweep_end"], conflicts_with = "dirs")]
    pub stimulus: Option<PathBuf>,
    /// Capture WAV made by another tool.
    #[arg(long, requires = "stimulus")]
    pub capture: Option<PathBuf>,
    /// Start frequency of the external sweep, Hz (also --start).
    #[arg(long, visible_alias = "start", requires = "stimulus")]
    pub sweep_start: Option<f64>,
    /// End frequency of the external sweep, Hz (also --end).
    #[arg(long, visible_alias = "end", requires = "stimulus")]
    pub sweep_end: Option<f64>,
    #[command(flatten)]
    pub print: PrintArgs,
    #[command(flatten)]
    pub labels: LabelArgs,
    #[command(flatten)]
    pub options: AnalysisOptions,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab compare headset/report headphones/report --out cmp\n  sweeplab compare a.csv b.csv --label \"Model A,Model B\" --kind headset,headphones --out cmp --json"
)]
pub struct CompareCmd {
    /// Session folders, analysis folders, or published curves (AutoEq CSV, REW text export).
    #[arg(required = true, num_args = 2..)]
    pub sources: Vec<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Labels for the sources, in order (overrides what a source says).
    #[arg(long, value_delimiter = ',', value_parser = parse_label)]
    pub label: Vec<String>,
    /// Kinds for the sources, in order (overrides what a source says).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub kind: Vec<DeviceKind>,
    /// Level alignment of the overlays: 1k, mean (250 Hz–4 kHz) or none.
    #[arg(long, value_enum, default_value_t = Normalize::OneK)]
    pub normalize: Normalize,
    /// Target curve (AutoEq CSV) to plot deviations against.
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Claims file (TOML); default: the built-in set.
    #[arg(long)]
    pub claims: Option<PathBuf>,
    /// Microphone calibration file applied to session/analysis sources.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Which channel of each measured source: L or R (a side of a two-sided session), both
    /// (the two sides' power average, claims judged over both), or a channel number.
    /// Default: both sides of a two-sided session, else channel 0.
    #[arg(long, value_name = "L|R|both|N")]
    pub channel: Option<crate::compare::ChannelChoice>,
    /// Smoothing of the overlay curves (1/1 … 1/48 octave, or "none").
    #[arg(long, default_value = "1/6", value_parser = parse_smoothing)]
    pub smoothing: Smoothing,
    /// Skip the plots (compare.json and claims.md only).
    #[arg(long)]
    pub no_plots: bool,
    /// Plot formats, comma-separated: png, svg, or png,svg.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "png")]
    pub format: Vec<ImageFormat>,
    #[command(flatten)]
    pub print: PrintArgs,
}

/// What `analyze` and `compare` print.
#[derive(Debug, Clone, Args)]
pub struct PrintArgs {
    /// Print one JSON document on stdout summarizing what was written (paths, key figures,
    /// warnings, verdicts); human messages go to stderr.
    #[arg(long)]
    pub json: bool,
    /// No progress and no summary lines (errors are still printed; --json still prints).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputChannel {
    Left,
    Right,
    Both,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab devices\n  sweeplab measure --out hp1 --output-device alsa:default --input-device alsa:default --kind headphones --label \"HD 600\"\n  sweeplab measure --out hp1 --kind headphones --reseats 5\n  sweeplab measure --out hp2 --kind headphones --sides"
)]
pub struct MeasureCmd {
    /// Session folder to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Output device name or id (as `devices` prints it); default: the host's default.
    #[arg(long)]
    pub output_device: Option<String>,
    /// Input device name or id; default: the host's default.
    #[arg(long)]
    pub input_device: Option<String>,
    /// Which output channel(s) play the sweep.
    #[arg(long, value_enum, default_value_t = OutputChannel::Both)]
    pub output_channel: OutputChannel,
    /// Drive the left output, then the right, each alone, with a microphone in each ear
    /// (input channel 0 the left, 1 the right): the analysis names the channels L and R
    /// and gives balance, crosstalk and polarity.
    #[arg(long, conflicts_with_all = ["output_channel", "input_channel"])]
    pub sides: bool,
    /// Input channel to keep (0-based), or "all".
    #[arg(long, default_value = "all", value_parser = parse_input_channel)]
    pub input_channel: InputChannel,
    /// Sweeps to play; they are aligned and averaged.
    #[arg(long, default_value_t = 1)]
    pub repeats: u32,
    /// Placements to record (a re-seat series): between them it asks you to take the
    /// headphone off and put it back; the analysis gives their power average and spread.
    #[arg(long, default_value_t = 1)]
    pub reseats: u32,
    #[command(flatten)]
    pub level_series: LevelSeriesArgs,
    /// The loudest SPL a level series may reach at the microphone (predicted from the level
    /// check with --sensitivity); louder series are refused unless --force.
    #[arg(long, default_value_t = crate::session::levels::DEFAULT_MAX_SPL_DB, value_name = "DB_SPL")]
    pub max_spl: f64,
    /// Between placements, wait this long instead of for Enter (scripts, no terminal).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub reseat_wait: Option<f64>,
    #[command(flatten)]
    pub sweep: SweepArgs,
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Overwrite an existing session; measure despite a failed level check.
    #[arg(long)]
    pub force: bool,
    /// Do not analyze after capturing.
    #[arg(long)]
    pub no_analyze: bool,
    /// Skip the level check before the sweep.
    #[arg(long)]
    pub no_level_check: bool,
    /// The measurement microphone's sensitivity (from `sweeplab calibrate`): the analysis
    /// gives levels in dB SPL too. Read before the sweep.
    #[arg(long, conflicts_with = "no_analyze")]
    pub sensitivity: Option<PathBuf>,
    /// RMS volts at the output for a full-scale (0 dBFS) sine: with --sensitivity, the
    /// driver's sensitivity in dB SPL per volt.
    #[arg(long, value_name = "VOLTS", requires = "sensitivity", value_parser = parse_positive, allow_negative_numbers = true)]
    pub output_vrms: Option<f64>,
    /// The driver's impedance, ohms: with --output-vrms, dB SPL per mW.
    #[arg(long, value_name = "OHMS", requires = "output_vrms", value_parser = parse_positive, allow_negative_numbers = true)]
    pub impedance: Option<f64>,
    #[command(flatten)]
    pub check: LimitsRunArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sweeplab devices\n  sweeplab devices --json")]
pub struct DevicesCmd {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab simulate --model gaming-headset-mic --out sim1\n  sweeplab simulate --model fixtures/models/example.toml --out sim2 --duration 10\n  sweeplab simulate --model studio-headphones --out hp --reseats 5\n  sweeplab simulate --model studio-headphones --out hp-lr --sides"
)]
pub struct SimulateCmd {
    /// Device model (TOML) or a built-in model name.
    #[arg(long)]
    pub model: String,
    /// Session folder to create.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub sweep: SweepArgs,
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Overwrite an existing session.
    #[arg(long)]
    pub force: bool,
    /// Do not analyze after capturing.
    #[arg(long)]
    pub no_analyze: bool,
    /// Placements to record (a re-seat series): the model's `[fit]` moves the response
    /// between them; the analysis gives their power average and spread.
    #[arg(long, default_value_t = 1)]
    pub reseats: u32,
    /// Drive the left side, then the right, each alone (the model needs a [sides] table):
    /// the analysis names the channels L and R and gives balance, crosstalk and polarity.
    #[arg(long)]
    pub sides: bool,
    #[command(flatten)]
    pub level_series: LevelSeriesArgs,
    #[command(flatten)]
    pub check: LimitsRunArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sweeplab demo\n  sweeplab demo --out /tmp/demo")]
pub struct DemoCmd {
    /// Output folder.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab report s1/report --smoothing 1/3\n  sweeplab report s1/report --size 2400x1500 --out s1/big"
)]
pub struct ReportCmd {
    /// Analysis folder (holding analysis.json).
    pub analysis_dir: PathBuf,
    /// Output folder (default: the analysis folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Smoothing of the bold curve (1/1 … 1/48 octave, or "none").
    #[arg(long, default_value = "1/6", value_parser = parse_smoothing)]
    pub smoothing: Smoothing,
    /// Plot size in pixels, WxH.
    #[arg(long, default_value = "1600x1000", value_parser = parse_size)]
    pub size: Size,
    /// Plot formats, comma-separated: png, svg (vector plots for papers), or png,svg.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "png")]
    pub format: Vec<ImageFormat>,
}

/// A fractional-octave smoothing: n of 1/n octave, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing(pub Option<f64>);

/// "1/6" → 1/6 octave, "3" → 1/3 octave, "none" (or "0") → unsmoothed; 1/1 … 1/48.
pub fn parse_label(s: &str) -> Result<String, String> {
    crate::bounds::check_label(s).map(|()| s.to_string())
}

pub fn parse_smoothing(s: &str) -> Result<Smoothing, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("none") || t == "0" {
        return Ok(Smoothing(None));
    }
    let n: f64 = t
        .strip_prefix("1/")
        .unwrap_or(t)
        .parse()
        .map_err(|_| format!("\"{s}\" is not 1/1 … 1/48 or none"))?;
    if (1.0..=48.0).contains(&n) {
        Ok(Smoothing(Some(n)))
    } else {
        Err(format!("\"{s}\" is not 1/1 … 1/48 or none"))
    }
}

/// An image size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// "1600x1000", between 200x150 and 8000x8000.
pub fn parse_size(s: &str) -> Result<Size, String> {
    let bad = || format!("\"{s}\" is not WxH between 200x150 and 8000x8000");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if (200..=8000).contains(&w) && (150..=8000).contains(&h) {
        Ok(Size {
            width: w,
            height: h,
        })
    } else {
        Err(bad())
    }
}

/// A window length in ms: 1 … 60000 → seconds.
/// A positive, finite number below 1e6 (volts, ohms).
pub fn parse_positive(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("\"{s}\" is not a number"))?;
    if v.is_finite() && v > 0.0 && v < 1e6 {
        Ok(v)
    } else {
        Err(format!("{v} must be above 0 and below 1000000"))
    }
}

pub fn parse_window_ms(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("\"{s}\" is not a length in ms"))?;
    if (1.0..=60000.0).contains(&v) {
        Ok(v / 1000.0)
    } else {
        Err(format!("{v} ms is outside 1–60000 ms"))
    }
}

/// Which input channels a live measurement keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputChannel {
    All,
    One(u16),
}

/// "all" or a 0-based channel number.
pub fn parse_input_channel(s: &str) -> Result<InputChannel, String> {
    match s.trim() {
        "all" => Ok(InputChannel::All),
        v => v
            .parse()
            .map(InputChannel::One)
            .map_err(|_| format!("\"{s}\" is not a channel number (0, 1, …) or \"all\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn typed_values_parse_and_refuse() {
        assert_eq!(parse_smoothing("1/6"), Ok(Smoothing(Some(6.0))));
        assert_eq!(parse_smoothing("none"), Ok(Smoothing(None)));
        assert!(parse_smoothing("1/96").is_err());
        assert_eq!(
            parse_size("1600x1000"),
            Ok(Size {
                width: 1600,
                height: 1000
            })
        );
        assert!(parse_size("10x10").is_err());
        assert_eq!(parse_input_channel("all"), Ok(InputChannel::All));
        assert_eq!(parse_input_channel("3"), Ok(InputChannel::One(3)));
        assert!(parse_input_channel("left").is_err());
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab limits --from golden1 golden2 golden3 --out limits.toml --margin 1.5\n  sweeplab limits --from g1/report g2/report --out abs.toml --absolute"
)]
pub struct LimitsCmd {
    /// Golden units: session folders or analysis folders.
    #[arg(long, required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// The limits file to write (TOML).
    #[arg(long)]
    pub out: PathBuf,
    /// Margin added to the goldens' spread, dB.
    #[arg(long, default_value_t = 1.5)]
    pub margin: f64,
    /// Smoothing of the response masks (1/1 … 1/48 octave).
    #[arg(long, default_value = "1/6", value_parser = parse_smoothing)]
    pub smoothing: Smoothing,
    /// Absolute response masks (dB as measured) instead of relative ones (each unit
    /// normalised over 250 Hz–4 kHz, so that a volume difference does not fail it).
    #[arg(long)]
    pub absolute: bool,
    /// Replace an existing limits file.
    #[arg(long)]
    pub force: bool,
}

/// Where results are stored.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Results database: a SQLite file, or a postgres:// URL.
    #[arg(long, default_value = crate::db::DEFAULT_DB)]
    pub db: String,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab calibrate umik-94db.wav --out umik.json\n  sweeplab calibrate cal.wav --spl 114 --channel 1 --out mic.json\n  sweeplab analyze s1 --out s1/report --sensitivity umik.json"
)]
pub struct CalibrateCmd {
    /// A WAV recording of the calibrator's tone through the measurement microphone, at the
    /// input gain the measurements will use (2 s or more; the middle 80 % is measured).
    pub recording: PathBuf,
    /// The calibrator's level, dB SPL.
    #[arg(long, default_value_t = 94.0)]
    pub spl: f64,
    /// The channel of the recording that holds the microphone (0-based).
    #[arg(long, default_value_t = 0)]
    pub channel: usize,
    /// The input's RMS volts for a full-scale (0 dBFS) sine: the sensitivity in dBV/Pa too.
    #[arg(long, value_name = "VOLTS", value_parser = parse_positive, allow_negative_numbers = true)]
    pub input_vrms: Option<f64>,
    /// The sensitivity file to write (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Who checked the unit, and where its result goes (`check`, and `measure`/`simulate
/// --limits`).
#[derive(Debug, Clone, Args)]
pub struct UnitArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Do not store the result (check.json is still written).
    #[arg(long)]
    pub no_db: bool,
    /// The unit's serial number.
    #[arg(long, value_parser = parse_label)]
    pub serial: Option<String>,
    /// The test station.
    #[arg(long, value_parser = parse_label)]
    pub station: Option<String>,
    /// The operator.
    #[arg(long, value_parser = parse_label)]
    pub operator: Option<String>,
}

/// `--limits` on `measure` and `simulate`: check the unit as soon as it is analysed.
#[derive(Debug, Clone, Args)]
pub struct LimitsRunArgs {
    /// Hold the measured unit against this limits file (as `sweeplab check` does; exit 3 if a
    /// limit fails). The file is read before the sweep.
    #[arg(long)]
    pub limits: Option<PathBuf>,
    #[command(flatten)]
    pub unit: UnitArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sweeplab check unit17 --limits limits.toml --serial SN0017 --station line1 --operator ana\n  sweeplab check unit17/report --limits limits.toml --db postgres://qc@db/line --json"
)]
pub struct CheckCmd {
    /// The unit: a session folder or an analysis folder.
    pub src: PathBuf,
    /// Limits file (from `sweeplab limits`).
    #[arg(long)]
    pub limits: PathBuf,
    #[command(flatten)]
    pub unit: UnitArgs,
    #[command(flatten)]
    pub print: PrintArgs,
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  sweeplab results\n  sweeplab results --json --csv results.csv --trend \"ch0 noise\" --trend-png noise.png\n  sweeplab results add unit17 --db postgres://qc@db/line"
)]
pub struct ResultsCmd {
    #[command(subcommand)]
    pub action: Option<ResultsAction>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print the results and the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write every result as CSV (one row per unit) to this file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Process capability (Cpk) of these limits only (default: every limit).
    #[arg(long = "limit")]
    pub limits: Vec<String>,
    /// Draw the trend of one limit's figure over the units…
    #[arg(long, requires = "trend_png")]
    pub trend: Option<String>,
    /// …into this PNG.
    #[arg(long, requires = "trend")]
    pub trend_png: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ResultsAction {
    /// Add the results kept in units' check.json (after a database failure, or to gather
    /// stations' results), in one transaction; a result already stored is not added again.
    Add {
        /// The units' session or analysis folders.
        #[arg(required = true, num_args = 1..)]
        src: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}
