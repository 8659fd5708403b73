//! Where dsp, storage, device and report meet: creating sessions, capturing, analysing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::dsp::analyze::{Analyzer, SweepLayout};
use crate::dsp::sweep::{SweepDesign, SweepSpec, detect_sweep, max_end_hz};
use crate::error::{Error, Result};
use crate::results::{ANALYSIS_FORMAT, ANALYSIS_VERSION, Analysis, Source, SweepInfo};
use crate::storage::session_file::{
    CAPTURE_WAV, RESPONSE_CSV, SESSION_JSON, STIMULUS_WAV, SessionFile, SweepSync,
    prepare_output_dir, prepare_session_dir, read_session, tool_name, write_analysis,
    write_response_csv, write_session,
};
use crate::storage::wav::{WavData, read_wav, write_wav_f32};

/// How to analyse and what to write.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Smoothing of the bold plotted curve, n of 1/n octave.
    pub smoothing: Option<f64>,
    pub plots: bool,
    pub size: (u32, u32),
    /// Overrides for the device label and kind.
    pub label: Option<String>,
    pub kind: Option<crate::kind::DeviceKind>,
    /// Set by Ctrl-C: the analysis then stops at its next step with [`Error::Interrupted`]
    /// (before analysing, before writing, before each plot), leaving every file it had
    /// written whole (the recording is never touched).
    pub stop: Option<&'static AtomicBool>,
}

impl AnalyzeOptions {
    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// `Err(Interrupted)` once Ctrl-C was pressed; `what` names the input, `again` the
    /// command that would finish the job.
    fn check_stop(&self, what: &Path, again: &str) -> Result<()> {
        if self.stopped() {
            return Err(Error::Interrupted(format!(
                "the analysis of {} was stopped (Ctrl-C); nothing recorded was touched: {again}",
                what.display()
            )));
        }
        Ok(())
    }
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            smoothing: Some(6.0),
            plots: true,
            size: (1600, 1000),
            label: None,
            kind: None,
            stop: None,
        }
    }
}

/// Designs a sweep, or explains which flag is wrong.
pub fn design_sweep(spec: &SweepSpec) -> Result<SweepDesign> {
    SweepDesign::new(spec).map_err(|e| match e {
        crate::dsp::sweep::SweepError::Invalid { flag, msg } => {
            Error::bad_usage(format!("--{flag}"), msg)
        }
    })
}

/// The `session.json` describing a sweep of ours.
pub fn session_for(
    d: &SweepDesign,
    requested_end_hz: f64,
    label: Option<String>,
    kind: Option<crate::kind::DeviceKind>,
) -> SessionFile {
    SessionFile {
        format: crate::storage::session_file::SESSION_FORMAT.into(),
        version: crate::storage::session_file::SESSION_VERSION,
        sample_rate: d.sample_rate,
        sweep: SweepInfo {
            start_hz: d.start_hz,
            end_hz: d.end_hz,
            duration_s: d.duration_s,
            level_dbfs: d.level_dbfs,
            pre_s: d.pre_s,
            post_s: d.post_s,
        },
        sync: Some(SweepSync {
            phase_start_hz: d.phase_start_hz,
            rate_l_s: d.rate_l_s,
            fade_in_s: d.fade_in_s,
            fade_out_s: d.fade_out_s,
            requested_end_hz,
        }),
        label,
        kind,
        created: Some(crate::units::now_rfc3339()),
        complete: true,
        capture: None,
        tool: Some(tool_name()),
    }
}

/// `sweeplab sweep`: writes DIR/stimulus.wav and DIR/session.json (no capture).
pub fn create_sweep_session(
    out: &Path,
    spec: &SweepSpec,
    label: Option<String>,
    kind: Option<crate::kind::DeviceKind>,
    force: bool,
) -> Result<(SessionFile, SweepDesign)> {
    let d = design_sweep(spec)?;
    prepare_session_dir(out, force)?;
    let stim: Vec<f32> = d.generate().iter().map(|&v| v as f32).collect();
    write_wav_f32(&out.join(STIMULUS_WAV), d.sample_rate, 1, &stim)?;
    let s = session_for(&d, spec.end_hz, label, kind);
    write_session(out, &s)?;
    Ok((s, d))
}

/// Analyses a session folder into `out`.
pub fn analyze_session(dir: &Path, out: &Path, opts: &AnalyzeOptions) -> Result<Analysis> {
    let session = read_session(dir)?;
    let stim_path = dir.join(STIMULUS_WAV);
    let cap_path = dir.join(CAPTURE_WAV);
    let mut stim = read_wav(&stim_path)?;
    if !cap_path.exists() {
        return Err(Error::bad_input(
            &cap_path,
            "missing: the session has no capture yet; record the stimulus into capture.wav (same rate), or run `sweeplab measure`",
        ));
    }
    // only the sweeps and what follows them matter: a capture that ran on (an hour-long
    // recording) is read up to 5 s past the last sweep, so memory stays bounded
    let repeats = session.capture.as_ref().map_or(1, |c| c.repeats.max(1)) as usize;
    let needed = stim.frames() * repeats + 5 * stim.sample_rate as usize;
    let (cap, cap_total) = crate::storage::wav::read_wav_prefix(&cap_path, Some(needed))?;
    if stim.sample_rate != session.sample_rate {
        return Err(Error::bad_input(
            &stim_path,
            format!(
                "is at {} Hz but session.json says {} Hz",
                stim.sample_rate, session.sample_rate
            ),
        ));
    }
    check_pair(&stim_path, &stim, &cap_path, &cap)?;
    let fs = f64::from(stim.sample_rate);
    let sw = &session.sweep;
    let stim_s = stim.frames() as f64 / fs;
    if sw.pre_s + sw.duration_s > stim_s + 0.5 / fs {
        return Err(Error::bad_input(
            dir.join(SESSION_JSON),
            format!(
                "says the sweep ends {:.3} s into the stimulus (pre_s + duration_s), but {} lasts {stim_s:.3} s: they do not belong together",
                sw.pre_s + sw.duration_s,
                stim_path.display()
            ),
        ));
    }
    let end_hz = sw.end_hz.min(max_end_hz(stim.sample_rate));
    let (rate_l_s, phase_start_hz) = match &session.sync {
        Some(s) => (s.rate_l_s, s.phase_start_hz),
        None => (sw.duration_s / (end_hz / sw.start_hz).ln(), sw.start_hz),
    };
    let stimulus = dc_removed(std::mem::take(&mut stim.channels[0]));
    detect_sweep(&stimulus, stim.sample_rate, sw.start_hz, end_hz)
        .map_err(|m| Error::bad_input(&stim_path, m))?;
    let first = (sw.pre_s * fs).round() as usize;
    let layout = SweepLayout {
        sample_rate: stim.sample_rate,
        start_hz: sw.start_hz,
        end_hz,
        rate_l_s,
        phase_start_hz,
        level_dbfs: sw.level_dbfs,
        sweep_first_sample: first,
        sweep_end_sample: first + (sw.duration_s * fs).round() as usize,
    };
    let mut extra = Vec::new();
    if !session.complete {
        let why = session
            .capture
            .as_ref()
            .and_then(|c| c.stop_reason.clone())
            .unwrap_or_else(|| "unknown reason".into());
        extra.push(format!(
            "the session is incomplete ({why}); the analysis uses what was captured"
        ));
    }
    if cap_total > cap.frames() {
        extra.push(format!(
            "capture.wav holds {:.1} s; only its first {:.1} s (the sweep and 5 s after it) were analysed",
            cap_total as f64 / fs,
            cap.frames() as f64 / fs
        ));
    }
    let cap = if repeats > 1 {
        average_repeats(cap, stimulus.len(), repeats, &mut extra)
    } else {
        cap
    };
    let again = format!(
        "`sweeplab analyze {} --out {}` analyses it",
        dir.display(),
        out.display()
    );
    opts.check_stop(dir, &again)?;
    let mut analysis = run_analysis(stimulus, &cap, layout, sw.clone(), &extra);
    opts.check_stop(dir, &again)?;
    analysis.label = opts.label.clone().or(session.label.clone());
    analysis.kind = opts.kind.or(session.kind);
    analysis.source = Source {
        session_dir: Some(dir.display().to_string()),
        stimulus: Some(stim_path.display().to_string()),
        capture: Some(cap_path.display().to_string()),
    };
    write_outputs(out, &analysis, opts)?;
    Ok(analysis)
}

/// Analyses a stimulus/capture pair made by another tool: the sweep may start at sample 0,
/// the capture may carry any latency, either may carry a DC offset.
pub fn analyze_external(
    stim_path: &Path,
    cap_path: &Path,
    start_hz: f64,
    end_hz: f64,
    out: &Path,
    opts: &AnalyzeOptions,
) -> Result<Analysis> {
    if !(start_hz.is_finite() && start_hz > 0.0) {
        return Err(Error::bad_usage(
            "--sweep-start",
            format!("{start_hz} Hz must be a positive frequency"),
        ));
    }
    if !(end_hz.is_finite() && end_hz > start_hz * 2.0) {
        return Err(Error::bad_usage(
            "--sweep-end",
            format!("{end_hz} Hz must be at least an octave above --sweep-start ({start_hz} Hz)"),
        ));
    }
    let mut stim = read_wav(stim_path)?;
    let cap = read_wav(cap_path)?;
    check_pair(stim_path, &stim, cap_path, &cap)?;
    let fs = f64::from(stim.sample_rate);
    let nyq_end = max_end_hz(stim.sample_rate);
    if end_hz > fs / 2.0 {
        return Err(Error::bad_usage(
            "--sweep-end",
            format!(
                "{end_hz} Hz is above Nyquist ({} Hz) of {}",
                fs / 2.0,
                stim_path.display()
            ),
        ));
    }
    let band_end = end_hz.min(nyq_end);
    let stimulus = dc_removed(std::mem::take(&mut stim.channels[0]));
    let det = detect_sweep(&stimulus, stim.sample_rate, start_hz, end_hz)
        .map_err(|m| Error::bad_input(stim_path, m))?;
    let duration_s = (det.end_sample - det.first_sample) as f64 / fs;
    let level_dbfs = 20.0 * det.peak.log10();
    let sweep = SweepInfo {
        start_hz,
        end_hz: band_end,
        duration_s,
        level_dbfs,
        pre_s: det.first_sample as f64 / fs,
        post_s: (stimulus.len() - det.end_sample) as f64 / fs,
    };
    let layout = SweepLayout {
        sample_rate: stim.sample_rate,
        start_hz,
        end_hz: band_end,
        rate_l_s: duration_s / (end_hz / start_hz).ln(),
        phase_start_hz: start_hz,
        level_dbfs,
        sweep_first_sample: det.first_sample,
        sweep_end_sample: det.end_sample,
    };
    let again = "run the same `sweeplab analyze` again";
    opts.check_stop(cap_path, again)?;
    let mut analysis = run_analysis(stimulus, &cap, layout, sweep, &[]);
    opts.check_stop(cap_path, again)?;
    analysis.label = opts.label.clone().or_else(|| {
        cap_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
    });
    analysis.kind = opts.kind;
    analysis.source = Source {
        session_dir: None,
        stimulus: Some(stim_path.display().to_string()),
        capture: Some(cap_path.display().to_string()),
    };
    write_outputs(out, &analysis, opts)?;
    Ok(analysis)
}

/// Averages `repeats` back-to-back sweeps of `period` samples (played as one continuous
/// stream, so they are exactly `period` apart in the capture) into one capture whose tail
/// keeps what followed the last sweep.
fn average_repeats(
    cap: WavData,
    period: usize,
    repeats: usize,
    warnings: &mut Vec<String>,
) -> WavData {
    let complete = (cap.frames().saturating_sub(0) / period).min(repeats);
    if complete < repeats {
        warnings.push(format!(
            "only {complete} of {repeats} repeated sweeps were captured completely; averaging those"
        ));
    }
    let k = complete.max(1);
    let out_len = cap.frames().saturating_sub((k - 1) * period);
    let channels = cap
        .channels
        .iter()
        .map(|ch| {
            (0..out_len)
                .map(|i| {
                    let (sum, count) = (0..k)
                        .filter_map(|r| ch.get(r * period + i))
                        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
                    sum / count.max(1) as f64
                })
                .collect()
        })
        .collect();
    WavData {
        sample_rate: cap.sample_rate,
        channels,
        format: cap.format,
    }
}

fn check_pair(stim_path: &Path, stim: &WavData, cap_path: &Path, cap: &WavData) -> Result<()> {
    if stim.channels.len() != 1 {
        return Err(Error::bad_input(
            stim_path,
            format!(
                "has {} channels; the stimulus must be mono",
                stim.channels.len()
            ),
        ));
    }
    if stim.frames() == 0 {
        return Err(Error::bad_input(stim_path, "holds no samples"));
    }
    if cap.frames() == 0 {
        return Err(Error::bad_input(
            cap_path,
            "holds no samples: the capture is empty (was the recording started?)",
        ));
    }
    if cap.sample_rate != stim.sample_rate {
        return Err(Error::bad_input(
            cap_path,
            format!(
                "is at {} Hz but the stimulus {} is at {} Hz; sweeplab never resamples: record at the stimulus's rate",
                cap.sample_rate,
                stim_path.display(),
                stim.sample_rate
            ),
        ));
    }
    Ok(())
}

/// The stimulus with its DC offset removed. A sweep is a constant-amplitude sine, so its
/// offset is the midpoint of its extremes (the mean would be biased by the sweep's own
/// low-frequency asymmetry and leave any held silence off zero).
fn dc_removed(mut x: Vec<f64>) -> Vec<f64> {
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let mid = if lo.is_finite() { 0.5 * (lo + hi) } else { 0.0 };
    x.iter_mut().for_each(|v| *v -= mid);
    x
}

/// The pure part: every channel analysed against the stimulus.
pub fn run_analysis(
    stimulus: Vec<f64>,
    cap: &WavData,
    layout: SweepLayout,
    sweep: SweepInfo,
    extra_warnings: &[String],
) -> Analysis {
    let mut analyzer = Analyzer::new(&stimulus, cap.frames(), layout);
    // only its spectrum is needed from here on
    drop(stimulus);
    let channels = cap
        .channels
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let mut c = analyzer.analyze_channel(i, ch);
            c.warnings.splice(0..0, extra_warnings.iter().cloned());
            c
        })
        .collect();
    Analysis {
        format: ANALYSIS_FORMAT.into(),
        version: ANALYSIS_VERSION,
        sample_rate: layout.sample_rate,
        label: None,
        kind: None,
        created: Some(crate::units::now_rfc3339()),
        sweep,
        source: Source::default(),
        calibration: None,
        channels,
    }
}

/// Writes analysis.json, response.csv (channel 0) and, unless disabled, the plots.
pub fn write_outputs(out: &Path, a: &Analysis, opts: &AnalyzeOptions) -> Result<Vec<PathBuf>> {
    prepare_output_dir(out)?;
    let mut written = vec![write_analysis(out, a)?];
    if let Some(ch) = a.channels.first() {
        let p = out.join(RESPONSE_CSV);
        write_response_csv(
            &p,
            &ch.frequency_response.freq_hz,
            &ch.frequency_response.gain_db,
        )?;
        written.push(p);
    }
    if opts.plots {
        let ropts = crate::report::RenderOptions {
            width: opts.size.0,
            height: opts.size.1,
            smoothing: opts.smoothing,
        };
        let stopped = || opts.stopped();
        match crate::report::render_analysis_unless(a, out, &ropts, &stopped) {
            Err(Error::Interrupted(_)) => {
                return Err(Error::Interrupted(format!(
                    "stopped (Ctrl-C) before the plots: {} holds analysis.json; `sweeplab report {}` draws them",
                    out.display(),
                    out.display()
                )));
            }
            r => written.extend(r?),
        }
    }
    Ok(written)
}

/// `sweeplab report`: re-renders plots and summary from an analysis.json, no re-analysis.
pub fn rerender(
    analysis_dir: &Path,
    out: Option<&Path>,
    opts: &AnalyzeOptions,
) -> Result<Vec<PathBuf>> {
    let a = crate::storage::session_file::read_analysis(analysis_dir)?;
    let out = out.unwrap_or(analysis_dir);
    prepare_output_dir(out)?;
    let ropts = crate::report::RenderOptions {
        width: opts.size.0,
        height: opts.size.1,
        smoothing: opts.smoothing,
    };
    crate::report::render_analysis(&a, out, &ropts)
}

/// What to record in a new session.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    pub out: PathBuf,
    pub spec: SweepSpec,
    pub label: Option<String>,
    pub kind: Option<crate::kind::DeviceKind>,
    pub force: bool,
    pub output: crate::device::OutputRouting,
    pub input_channels: Option<Vec<u16>>,
    /// Sweeps played back to back; the analysis averages them.
    pub repeats: u32,
    /// Extra capture after the last sweep, s (latency margin).
    pub extra_s: f64,
    /// The simulated model's name, for session.json.
    pub model: Option<String>,
}

/// Forwards captured blocks to the WAV writer and remembers the peak level.
struct WavSink<'a> {
    writer: &'a mut crate::storage::wav::CaptureWriter,
}

impl crate::device::CaptureSink for WavSink<'_> {
    fn write(&mut self, interleaved: &[f32]) -> Result<()> {
        self.writer.write(interleaved)
    }
}

/// Plays the sweep on `device` and records it into a new session folder. The stimulus and a
/// `session.json` marked incomplete are written first; the capture streams to `capture.wav`
/// as it arrives; on any stop (done, Ctrl-C, device lost, disk full) the WAV is finalized
/// and `session.json` says what happened. Nothing captured is lost.
pub fn record_session(
    device: &mut dyn crate::device::Duplex,
    req: &RecordRequest,
    stop: &std::sync::atomic::AtomicBool,
    progress: &mut dyn FnMut(crate::device::Progress),
) -> Result<SessionFile> {
    use crate::storage::session_file::CaptureInfo;
    use crate::storage::wav::CaptureWriter;

    if req.repeats == 0 || req.repeats > 100 {
        return Err(Error::bad_usage(
            "--repeats",
            format!("{} is outside 1–100", req.repeats),
        ));
    }
    let d = design_sweep(&req.spec)?;
    prepare_session_dir(&req.out, req.force)?;
    let one: Vec<f32> = d.generate().iter().map(|&v| v as f32).collect();
    write_wav_f32(&req.out.join(STIMULUS_WAV), d.sample_rate, 1, &one)?;
    let mut session = session_for(&d, req.spec.end_hz, req.label.clone(), req.kind);
    session.complete = false;
    session.capture = Some(CaptureInfo {
        repeats: req.repeats,
        model: req.model.clone(),
        stop_reason: Some("capture in progress (or the program was killed)".into()),
        ..CaptureInfo::default()
    });
    write_session(&req.out, &session)?;

    let played: Vec<f32> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * req.repeats as usize)
        .collect();
    let run_req = crate::device::RunRequest {
        sample_rate: d.sample_rate,
        stimulus: &played,
        output: req.output,
        input_channels: req.input_channels.clone(),
        extra_frames: (req.extra_s * f64::from(d.sample_rate)).round() as usize,
    };
    let channels = device.input_channel_count(&run_req);
    let cap_path = req.out.join(CAPTURE_WAV);
    let mut writer = CaptureWriter::create(&cap_path, d.sample_rate, channels)?;
    let result = device.run(
        &run_req,
        &mut WavSink {
            writer: &mut writer,
        },
        stop,
        progress,
    );
    let frames = writer.frames();
    let finalized = writer.finalize();

    let info = session.capture.as_mut().expect("set above");
    info.channels = channels;
    info.frames = frames;
    let outcome = match (&result, &finalized) {
        (Ok(stats), Ok(_)) => {
            info.xruns = stats.xruns;
            info.device_errors = stats.device_errors.clone();
            info.timestamp_latency_s = stats.timestamp_latency_s;
            info.output_device = stats.output_device.clone();
            info.input_device = stats.input_device.clone();
            if stats.xruns > 0 {
                info.warnings.push(format!(
                    "{} buffer under/overruns (xruns) during the capture; samples may be missing",
                    stats.xruns
                ));
            }
            if stats.interrupted {
                info.stop_reason = Some(format!(
                    "interrupted after {:.2} s of capture",
                    frames as f64 / f64::from(d.sample_rate)
                ));
                Err(Error::Interrupted(format!(
                    "the capture stopped early; {} holds the {frames} frames captured so far and session.json is marked incomplete",
                    cap_path.display()
                )))
            } else {
                info.stop_reason = None;
                session.complete = true;
                Ok(())
            }
        }
        (Err(Error::Io { path, err }), _) => {
            info.stop_reason = Some(format!(
                "writing the capture failed: {}: {err}",
                path.display()
            ));
            Err(Error::io(
                path,
                std::io::Error::new(
                    err.kind(),
                    format!(
                        "{err}; the capture stopped after {frames} frames, kept in {} (session.json is marked incomplete)",
                        cap_path.display()
                    ),
                ),
            ))
        }
        (Err(e), _) => {
            let msg = match e {
                Error::Device(m) => m.clone(),
                other => other.to_string(),
            };
            info.stop_reason = Some(msg.clone());
            Err(Error::Device(format!(
                "{msg}; {} holds the {frames} frames captured before the failure and session.json is marked incomplete",
                cap_path.display()
            )))
        }
        (Ok(_), Err(e)) => {
            info.stop_reason = Some(format!("writing the capture failed: {e}"));
            Err(Error::io(&cap_path, std::io::Error::other(e.to_string())))
        }
    };
    // the first failure is the one to report; session.json is updated whatever happened
    match (outcome, write_session(&req.out, &session)) {
        (Ok(()), Ok(())) => Ok(session),
        (Ok(()), Err(e)) => Err(e),
        (Err(first), Ok(())) => Err(first),
        (Err(first), Err(e)) => {
            eprintln!("error: could not update session.json either: {e}");
            Err(first)
        }
    }
}

/// What the level check heard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelReport {
    /// Peak input sample, dBFS.
    pub peak_dbfs: f64,
    /// Level of the test tone in the input (AES17 dBFS), from a single-bin DFT.
    pub tone_dbfs: f64,
}

/// Before a live sweep: plays a 1 kHz tone at the sweep level for 0.5 s and checks that the
/// input neither clips nor stays silent. Returns the report, or a `LevelCheck` error with
/// advice (the caller may go on anyway with `--force`).
pub fn level_check(
    device: &mut dyn crate::device::Duplex,
    sample_rate: u32,
    level_dbfs: f64,
    output: crate::device::OutputRouting,
    input_channels: Option<Vec<u16>>,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<LevelReport> {
    let fs = f64::from(sample_rate);
    let amp = 10f64.powf(level_dbfs / 20.0);
    let lead = (0.1 * fs) as usize;
    let tone_len = (0.5 * fs) as usize;
    let ramp = (0.01 * fs) as usize;
    let tone: Vec<f32> = (0..lead + tone_len)
        .map(|i| {
            if i < lead {
                return 0.0;
            }
            let k = i - lead;
            let w = (k.min(tone_len - 1 - k) as f64 / ramp as f64).min(1.0);
            (amp * w * (2.0 * std::f64::consts::PI * 1000.0 * k as f64 / fs).sin()) as f32
        })
        .collect();
    let req = crate::device::RunRequest {
        sample_rate,
        stimulus: &tone,
        output,
        input_channels,
        extra_frames: (0.3 * fs) as usize,
    };
    let channels = usize::from(device.input_channel_count(&req).max(1));
    let mut sink = crate::device::MemorySink::default();
    let stats = device.run(&req, &mut sink, stop, &mut |_| {})?;
    if stats.interrupted {
        return Err(Error::Interrupted(
            "stopped (Ctrl-C) during the level check, before anything was recorded".into(),
        ));
    }
    let x = &sink.samples;
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let peak_dbfs = 20.0 * f64::from(peak).max(1e-12).log10();
    // the loudest channel's 1 kHz component (Goertzel over the whole capture)
    let mut tone_dbfs = f64::NEG_INFINITY;
    for c in 0..channels {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let w = 2.0 * std::f64::consts::PI * 1000.0 / fs;
        let frames = x.len() / channels;
        for i in 0..frames {
            let s0 = f64::from(x[i * channels + c]) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        // amplitude of a tone lasting tone_len samples
        let a = 2.0 * power.sqrt() / tone_len as f64;
        tone_dbfs = tone_dbfs.max(20.0 * a.max(1e-12).log10());
    }
    let report = LevelReport {
        peak_dbfs,
        tone_dbfs,
    };
    if peak >= 0.999 {
        return Err(Error::LevelCheck(format!(
            "the input clips (peak {peak_dbfs:.1} dBFS) with a 1 kHz tone at {level_dbfs} dBFS: lower --level or the input gain, or pass --force"
        )));
    }
    if tone_dbfs < -80.0 {
        return Err(Error::LevelCheck(format!(
            "no signal: the 1 kHz test tone reads {tone_dbfs:.1} dBFS at the input (peak {peak_dbfs:.1} dBFS); is the mic muted, the wrong input selected, or the output not reaching it? Pass --force to measure anyway"
        )));
    }
    Ok(report)
}
