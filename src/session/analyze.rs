//! Analysing a session folder, or a stimulus/capture pair made by another tool, and writing
//! what the analysis found (analysis.json, response.csv, plots, summary).

use std::path::{Path, PathBuf};

use super::AnalyzeOptions;
use crate::dsp::align::average_aligned;
use crate::dsp::analyze::{Analyzer, SweepLayout};
use crate::dsp::fft::FftCache;
use crate::dsp::sweep::{detect_sweep, max_end_hz};
use crate::error::{Error, Result};
use crate::kind::{DeviceKind, Provenance};
use crate::results::{
    ANALYSIS_FORMAT, ANALYSIS_VERSION, Analysis, CalibratedResponse, RepeatsInfo, RunAlignmentInfo,
    Source, SweepInfo,
};
use crate::storage::output::OutputDir;
use crate::storage::session_file::{
    CAPTURE_WAV, RESPONSE_CALIBRATED_CSV, RESPONSE_CSV, SESSION_JSON, STIMULUS_WAV,
    prepare_output_dir, read_session, write_analysis, write_response_csv,
};
use crate::storage::wav::{WavData, WavInfo, probe_wav, read_wav};

/// Analyses several session folders in parallel (they are independent): one folder into `out`
/// itself, several into `out/<basename of DIR>/` (their basenames must differ). Returns each
/// output folder with its result, in the order given.
/// `on_done` hears of each folder as its analysis ends (from the worker threads).
pub fn analyze_sessions(
    dirs: &[PathBuf],
    out: &Path,
    opts: &AnalyzeOptions,
    on_done: &(dyn Fn(&Path) + Sync),
) -> Result<Vec<(PathBuf, Result<Analysis>)>> {
    use rayon::prelude::*;
    let outs = output_dirs(dirs, out)?;
    let results: Vec<Result<Analysis>> = dirs
        .par_iter()
        .zip(outs.par_iter())
        .map(|(dir, out)| {
            let r = analyze_session(dir, out, opts);
            on_done(dir);
            r
        })
        .collect();
    Ok(outs.into_iter().zip(results).collect())
}

/// One DIR: OUT itself; several: OUT/<basename of DIR>/ (basenames must differ).
fn output_dirs(dirs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>> {
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
                return Err(Error::bad_input(
                    d,
                    format!(
                        "another DIR has the same name \"{}\"; their outputs would collide under --out",
                        base.to_string_lossy()
                    ),
                ));
            }
            Ok(out.join(base))
        })
        .collect()
}

/// Analyses a session folder into `out`. A re-seat series (placements in `session.json`) is
/// analysed placement by placement and combined: see [`crate::dsp::placements`].
pub fn analyze_session(dir: &Path, out: &Path, opts: &AnalyzeOptions) -> Result<Analysis> {
    let session = read_session(dir)?;
    let stim_path = dir.join(STIMULUS_WAV);
    let cap_path = dir.join(CAPTURE_WAV);
    if !cap_path.exists() {
        // a read first, so that a missing stimulus is named before a missing capture
        probe_wav(&stim_path)?;
        return Err(Error::bad_input(
            &cap_path,
            "missing: the session has no capture yet; record the stimulus into capture.wav (same rate), or run `sweeplab measure`",
        ));
    }
    let again = format!(
        "`sweeplab analyze {} --out {}` analyses it",
        dir.display(),
        out.display()
    );
    let first = analyze_capture(dir, &session, &cap_path, true)?;
    // the inputs hold together: lock the output folder before the work
    let out = prepare_output_dir(out)?;
    opts.check_stop(dir, &again)?;
    let mut analysis = first.run(opts.window_s);
    opts.check_stop(dir, &again)?;
    if session.placements.len() >= 2 {
        let mut placements = vec![(1, Some(analysis))];
        let mut left_out = Vec::new();
        for (i, pl) in session.placements.iter().enumerate().skip(1) {
            let path = dir.join(&pl.capture);
            let why = if !pl.complete {
                Some(format!(
                    "stopped early ({})",
                    pl.stop_reason.as_deref().unwrap_or("unknown reason")
                ))
            } else if !path.exists() {
                Some("its capture is missing".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                left_out.push(format!(
                    "placement {} {why}: left out of the average (its capture, if any, is kept in {})",
                    i + 1,
                    path.display()
                ));
                placements.push((i + 1, None));
                continue;
            }
            let one = analyze_capture(dir, &session, &path, false)?;
            placements.push((i + 1, Some(one.run(opts.window_s))));
            opts.check_stop(dir, &again)?;
        }
        analysis = crate::dsp::placements::combine(placements, left_out);
    }
    if !session.sides.is_empty() {
        analysis = two_sides(dir, &session, analysis, opts.window_s)?;
        opts.check_stop(dir, &again)?;
    }
    if !session.levels.is_empty() {
        analysis.distortion_vs_level = Some(level_series(dir, &session, opts)?);
        opts.check_stop(dir, &again)?;
    }
    analysis.label = opts.label.clone().or(session.label.clone());
    analysis.kind = opts.kind.or(session.kind);
    analysis.source = Source {
        session_dir: Some(dir.display().to_string()),
        stimulus: Some(stim_path.display().to_string()),
        capture: Some(cap_path.display().to_string()),
    };
    analysis.provenance = Some(
        if session.capture.as_ref().is_some_and(|c| c.model.is_some()) {
            Provenance::Simulated
        } else {
            Provenance::Measured
        },
    );
    apply_levels(&mut analysis, opts);
    analysis.written = write_outputs(&out, &analysis, opts)?;
    Ok(analysis)
}

/// A two-sided session (`--sides`): `left` is the analysis of `capture.wav` (the left side
/// driven); the right side's capture is analysed likewise, and the channels become L (the
/// left ear while the left side played) and R (the right ear while the right side played).
/// The other ear of each run gives the crosstalk ([`crate::metrics::sides`]). A right side
/// that was not recorded leaves an analysis of L alone, with a warning.
fn two_sides(
    dir: &Path,
    session: &crate::storage::session_file::SessionFile,
    left: Analysis,
    window_s: Option<f64>,
) -> Result<Analysis> {
    use crate::kind::Side;
    let path = dir.join(crate::storage::session_file::side_capture(Side::Right));
    let mut warnings = Vec::new();
    let right = match session.sides.get(1) {
        None => {
            warnings.push(
                "the right side was not recorded (session.json lists the left side alone): no R channel, no balance"
                    .to_string(),
            );
            None
        }
        Some(_) if !path.exists() => {
            warnings.push(format!(
                "the right side's capture {} is missing: no R channel, no balance",
                path.display()
            ));
            None
        }
        Some(entry) if entry.run.frames == 0 && !entry.run.complete => {
            warnings.push(format!(
                "the right side's capture {} holds nothing ({}): no R channel, no balance",
                path.display(),
                entry.run.stop_reason.as_deref().unwrap_or("stopped early")
            ));
            None
        }
        Some(entry) => {
            // the right side's recording failing leaves the left one to analyse
            let mut a = match analyze_capture(dir, session, &path, false) {
                Ok(job) => job.run(window_s),
                Err(e) => {
                    warnings.push(format!(
                        "the right side's capture could not be analysed ({e}): no R channel, no balance"
                    ));
                    return Ok(finish_sides(left, None, warnings));
                }
            };
            if !entry.run.complete {
                let why = entry.run.stop_reason.as_deref().unwrap_or("unknown reason");
                for ch in &mut a.channels {
                    ch.warnings.insert(
                        0,
                        format!(
                            "the right side's capture stopped early ({why}); the analysis uses what was captured"
                        ),
                    );
                }
            }
            Some(a)
        }
    };
    Ok(finish_sides(left, right, warnings))
}

/// The two sides' channels and figures from the left run's analysis and the right run's
/// (None when it was not recorded or could not be analysed; `warnings` say why).
fn finish_sides(left: Analysis, right: Option<Analysis>, mut warnings: Vec<String>) -> Analysis {
    use crate::kind::Side;
    use crate::metrics::sides::{SideRun, sides_figures};
    let mut analysis = left;
    let lch = std::mem::take(&mut analysis.channels);
    let rch = right.map(|a| a.channels).unwrap_or_default();
    if lch.len() < 2 || (!rch.is_empty() && rch.len() < 2) {
        warnings.push(
            "a side's capture has one channel: a --sides session records a microphone in each ear (input 0 the left, 1 the right); the ear missing gives no response and no crosstalk"
                .to_string(),
        );
    }
    let runs = [
        SideRun {
            driven: Side::Left,
            own: lch.first(),
            other: lch.get(1),
        },
        SideRun {
            driven: Side::Right,
            own: rch.get(1),
            other: rch.first(),
        },
    ];
    let mut figures = sides_figures(&runs);
    figures.warnings.splice(0..0, warnings);
    for (side, ch) in [(Side::Left, lch.first()), (Side::Right, rch.get(1))] {
        if let Some(ch) = ch {
            let mut ch = ch.clone();
            ch.index = side.channel();
            ch.side = Some(side);
            analysis.channels.push(ch);
        }
    }
    analysis.sides = Some(figures);
    analysis
}

/// A distortion-against-level series: each step's session analysed as the session itself
/// is, read at the series' frequencies.
fn level_series(
    dir: &Path,
    session: &crate::storage::session_file::SessionFile,
    opts: &AnalyzeOptions,
) -> Result<crate::results::DistortionVsLevel> {
    let mut steps = Vec::new();
    for step in &session.levels {
        let sub = dir.join(&step.dir);
        let s = read_session(&sub)?;
        let job = analyze_capture(&sub, &s, &sub.join(CAPTURE_WAV), true)?;
        steps.push((step.level_dbfs, job.run(opts.window_s)));
    }
    let refs: Vec<(f64, &Analysis)> = steps.iter().map(|(l, a)| (*l, a)).collect();
    Ok(crate::metrics::levels::distortion_vs_level(
        &refs,
        session.levels_stopped.clone(),
    ))
}

/// One capture of a session, read and checked, ready to analyse.
struct CaptureJob {
    stimulus: Vec<f64>,
    cap: WavData,
    layout: SweepLayout,
    sweep: SweepInfo,
    extra: Vec<String>,
    repeats: Option<RepeatsInfo>,
}

impl CaptureJob {
    fn run(self, window_s: Option<f64>) -> Analysis {
        let mut a = run_analysis(
            self.stimulus,
            &self.cap,
            self.layout,
            self.sweep,
            &self.extra,
            window_s,
        );
        a.repeats = self.repeats;
        a
    }
}

/// Reads `cap_path` (bounded: the sweeps and 5 s after them) with the session's stimulus,
/// checks that they belong together, and averages repeated sweeps. `own`: the session's
/// own capture (warned about when the session is incomplete).
fn analyze_capture(
    dir: &Path,
    session: &crate::storage::session_file::SessionFile,
    cap_path: &Path,
    own: bool,
) -> Result<CaptureJob> {
    let stim_path = dir.join(STIMULUS_WAV);
    // only the sweeps and what follows them matter: a capture that ran on (an hour-long
    // recording) is read up to 5 s past the last sweep, so memory stays bounded
    let repeats = session.capture.as_ref().map_or(1, |c| c.repeats.max(1)) as usize;
    let stim_info = probe_wav(&stim_path)?;
    let needed = stim_info.frames * repeats + 5 * stim_info.sample_rate as usize;
    check_memory(&stim_info, cap_path, needed)?;
    // the transform's length follows from the headers: its plans (as long as a transform
    // to make) are made while the samples are read
    let cap_info = probe_wav(cap_path)?;
    let sw = &session.sweep;
    // only for what the checks below will pass as a plain sweep session: a length from a
    // broken session (a rate that is not the stimulus's, a sweep rate that is not finite,
    // a length far beyond the files') is left to those checks, which refuse it first
    let ahead = (repeats == 1 && stim_info.sample_rate == session.sample_rate)
        .then(|| {
            let (_, rate_l_s, _) = sweep_rate(session, session.sample_rate);
            let lfs = rate_l_s * f64::from(session.sample_rate);
            let base = stim_info.frames.max(cap_info.frames.min(needed));
            (lfs.is_finite() && lfs > 0.0 && lfs < 4.0 * base as f64).then(|| {
                crate::dsp::analyze::transform_len(
                    stim_info.frames,
                    cap_info.frames.min(needed),
                    lfs,
                )
            })
        })
        .flatten();
    // the two files are read side by side, each followed by one of the two plans; the
    // stimulus is checked and prepared on its own side as soon as it is read (its errors are
    // returned below, in the order the checks are made)
    let plan = ahead.filter(|&n| n > 0);
    let ((stim, ready), cap) = rayon::join(
        || {
            let mut stim = read_wav(&stim_path);
            let ready = stim
                .as_mut()
                .ok()
                .and_then(|s| prepare_stimulus(&stim_path, s, session));
            if let Some(n) = plan {
                crate::dsp::fft::plan_forward(n);
            }
            (stim, ready)
        },
        || {
            let cap = crate::storage::wav::read_wav_prefix(cap_path, Some(needed));
            if let Some(n) = plan {
                crate::dsp::fft::plan_inverse(n);
            }
            cap
        },
    );
    let (mut stim, (cap, cap_total)) = (stim?, cap?);
    if stim.sample_rate != session.sample_rate {
        return Err(Error::bad_input(
            &stim_path,
            format!(
                "is at {} Hz but session.json says {} Hz",
                stim.sample_rate, session.sample_rate
            ),
        ));
    }
    check_pair(&stim_path, &stim, cap_path, &cap)?;
    let fs = f64::from(stim.sample_rate);
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
    let (end_hz, rate_l_s, phase_start_hz) = sweep_rate(session, stim.sample_rate);
    let ReadyStimulus {
        own_check,
        detected,
    } = match ready {
        Some(r) => r,
        None => prepare_stimulus(&stim_path, &mut stim, session).ok_or_else(|| {
            Error::bad_input(&stim_path, "is not a mono stimulus of the session's rate")
        })?,
    };
    own_check?;
    let stimulus = std::mem::take(&mut stim.channels[0]);
    detected.map_err(|m| Error::bad_input(&stim_path, m))?;
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
    if own && !session.complete {
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
            "{} holds {:.1} s; only its first {:.1} s (the sweep and 5 s after it) were analysed",
            cap_path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            cap_total as f64 / fs,
            cap.frames() as f64 / fs
        ));
    }
    let (cap, repeats_info) = if repeats > 1 {
        let (c, info) = average_repeats(cap, stimulus.len(), repeats, &layout, &mut extra);
        (c, Some(info))
    } else {
        (cap, None)
    };
    Ok(CaptureJob {
        stimulus,
        cap,
        layout,
        sweep: sw.clone(),
        extra,
        repeats: repeats_info,
    })
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
    // read the same bounded way as a session's capture: up to 5 s past the stimulus
    let stim_info = probe_wav(stim_path)?;
    let needed = stim_info.frames + 5 * stim_info.sample_rate as usize;
    check_memory(&stim_info, cap_path, needed)?;
    let mut stim = read_wav(stim_path)?;
    let (cap, _) = crate::storage::wav::read_wav_prefix(cap_path, Some(needed))?;
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
    let out = prepare_output_dir(out)?;
    opts.check_stop(cap_path, again)?;
    let mut analysis = run_analysis(stimulus, &cap, layout, sweep, &[], opts.window_s);
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
    analysis.provenance = Some(Provenance::Measured);
    apply_levels(&mut analysis, opts);
    analysis.written = write_outputs(&out, &analysis, opts)?;
    Ok(analysis)
}

/// What the options say about levels: the measurement microphone's calibration and
/// sensitivity (dB SPL, a driver's sensitivity), the microphone under test's own.
fn apply_levels(a: &mut Analysis, opts: &AnalyzeOptions) {
    apply_calibration(a, opts);
    super::calibrate::apply_sensitivity(a, opts);
    if let Some(mic) = &opts.mic_sensitivity {
        super::calibrate::apply_mic_sensitivity(a, mic);
    }
}

/// Removes the measurement microphone's calibration (`opts.calibration`) from every channel
/// with signal, over the part of its band the calibration covers, and records it. A
/// microphone under test is not measured through a measurement microphone: then nothing is
/// applied and a note says so.
fn apply_calibration(a: &mut Analysis, opts: &AnalyzeOptions) {
    let Some(cal) = &opts.calibration else {
        return;
    };
    if a.kind.is_some_and(DeviceKind::is_microphone) {
        for ch in &mut a.channels {
            ch.notes.push(format!(
                "calibration {} not applied: a microphone under test is not measured through the measurement microphone",
                cal.file.display()
            ));
        }
        return;
    }
    for ch in a.channels.iter_mut().filter(|c| c.has_signal()) {
        let fr = &ch.frequency_response;
        let (freq_hz, gain_db) = cal.apply_within(&fr.freq_hz, &fr.gain_db);
        if freq_hz.len() < fr.freq_hz.len() {
            ch.notes.push(format!(
                "the calibration covers {:.0} Hz–{:.0} Hz: the calibrated response leaves out the rest of the band",
                cal.freq_hz[0],
                cal.freq_hz[cal.freq_hz.len() - 1]
            ));
        }
        ch.calibrated = (freq_hz.len() >= 2).then_some(CalibratedResponse { freq_hz, gain_db });
    }
    a.calibration = Some(cal.info());
}

/// Averages `repeats` back-to-back sweeps of `period` samples (played as one continuous
/// stream) into one capture whose tail keeps what followed the last sweep. Each sweep is
/// aligned to the first before the average (a capture clock 20 ppm off moves each sweep
/// 2.9 samples further at a 3 s period: averaged as recorded they cancel above a few kHz);
/// a sweep that does not match the first is left out, and a warning says so.
fn average_repeats(
    cap: WavData,
    period: usize,
    repeats: usize,
    layout: &SweepLayout,
    warnings: &mut Vec<String>,
) -> (WavData, RepeatsInfo) {
    let complete = (cap.frames() / period).min(repeats);
    if complete < repeats {
        warnings.push(format!(
            "only {complete} of {repeats} repeated sweeps were captured completely; averaging those"
        ));
    }
    let k = complete.max(1);
    let out_len = cap.frames().saturating_sub((k - 1) * period);
    let runs: Vec<Vec<&[f64]>> = (0..k)
        .map(|r| {
            cap.channels
                .iter()
                .map(|ch| &ch[(r * period).min(ch.len())..(r * period + out_len).min(ch.len())])
                .collect()
        })
        .collect();
    let avg = average_aligned(&runs, out_len, layout, &mut FftCache::new());
    for (i, run) in avg.runs.iter().enumerate().filter(|(_, r)| !r.used) {
        warnings.push(format!(
            "repeated sweep {} of {k} does not match the first (coherence {:.2}; a dropout, a moved microphone or headphone?): averaged without it",
            i + 1,
            run.coherence
        ));
    }
    let info = RepeatsInfo {
        requested: repeats as u32,
        captured: complete as u32,
        averaged: if avg.runs.is_empty() {
            k as u32
        } else {
            avg.runs.iter().filter(|r| r.used).count() as u32
        },
        aligned: !avg.runs.is_empty(),
        runs: avg
            .runs
            .iter()
            .map(|r| RunAlignmentInfo {
                delay_samples: round_to(r.delay_samples, 1e-3),
                drift_ppm: round_to(r.drift_ppm, 1e-3),
                coherence: round_to(r.coherence, 1e-4),
                averaged: r.used,
            })
            .collect(),
    };
    let data = WavData {
        sample_rate: cap.sample_rate,
        channels: avg.channels,
        format: cap.format,
    };
    (data, info)
}

fn round_to(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

/// The sweep the session played, at `sample_rate`: its end (below Nyquist), its rate L in
/// seconds and the frequency its phase starts from (sweeplab's own sessions say both).
fn sweep_rate(
    session: &crate::storage::session_file::SessionFile,
    sample_rate: u32,
) -> (f64, f64, f64) {
    let sw = &session.sweep;
    let end_hz = sw.end_hz.min(max_end_hz(sample_rate));
    match &session.sync {
        Some(s) => (end_hz, s.rate_l_s, s.phase_start_hz),
        None => (
            end_hz,
            sw.duration_s / (end_hz / sw.start_hz).ln(),
            sw.start_hz,
        ),
    }
}

/// The checks of a stimulus made as soon as it is read: that it is the session's own sweep,
/// and that it holds a sweep.
struct ReadyStimulus {
    own_check: Result<()>,
    detected: std::result::Result<(), String>,
}

/// Checks the stimulus (as read) and removes its DC offset in place. `None`, with the samples
/// untouched, where it fails a check made on it first (rate, channels, length): the caller
/// reports that one.
fn prepare_stimulus(
    stim_path: &Path,
    stim: &mut WavData,
    session: &crate::storage::session_file::SessionFile,
) -> Option<ReadyStimulus> {
    let fs = f64::from(stim.sample_rate);
    let sw = &session.sweep;
    if stim.sample_rate != session.sample_rate
        || stim.channels.len() != 1
        || stim.frames() == 0
        || sw.pre_s + sw.duration_s > stim.frames() as f64 / fs + 0.5 / fs
    {
        return None;
    }
    let own_check = match &session.sync {
        Some(sync) => check_own_stimulus(stim_path, &stim.channels[0], session, sync),
        None => Ok(()),
    };
    stim.channels[0] = dc_removed(std::mem::take(&mut stim.channels[0]));
    let (end_hz, _, _) = sweep_rate(session, stim.sample_rate);
    let detected =
        detect_sweep(&stim.channels[0], stim.sample_rate, sw.start_hz, end_hz).map(|_| ());
    Some(ReadyStimulus {
        own_check,
        detected,
    })
}

/// A session made by sweeplab says exactly which sweep it played: its stimulus.wav must be
/// that sweep (to within 16-bit rounding), or the analysis would measure one sweep against
/// another and report nonsense as drift.
fn check_own_stimulus(
    stim_path: &Path,
    stimulus: &[f64],
    session: &crate::storage::session_file::SessionFile,
    sync: &crate::storage::session_file::SweepSync,
) -> Result<()> {
    let sw = &session.sweep;
    let spec = crate::dsp::sweep::SweepSpec {
        sample_rate: session.sample_rate,
        start_hz: sw.start_hz,
        end_hz: sync.requested_end_hz,
        duration_s: sw.duration_s,
        level_dbfs: sw.level_dbfs,
        pre_s: sw.pre_s,
        post_s: sw.post_s,
    };
    let Ok(d) = crate::dsp::sweep::SweepDesign::new(&spec) else {
        return Ok(()); // read_session has checked the numbers; nothing to compare against
    };
    // the silences sample by sample; the sweep at every CHECK_STRIDE-th sample and its
    // last one: a stimulus of another sweep (another band, length, level or phase) differs
    // from this one almost everywhere, and evaluating every sample of a long sweep cost more
    // than a transform of it
    const CHECK_STRIDE: usize = 7;
    let pre = d.pre_samples();
    let n_sweep = d.sweep_samples();
    let n = d.total_samples().min(stimulus.len());
    let silence = stimulus[..n]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < pre || *i >= pre + n_sweep)
        .map(|(_, v)| v.abs());
    let sweep = (0..n_sweep)
        .step_by(CHECK_STRIDE)
        .chain(n_sweep.checked_sub(1))
        .filter(|&i| pre + i < n)
        .map(|i| (d.sweep_sample(i) - stimulus[pre + i]).abs());
    let worst = silence.chain(sweep).fold(0.0f64, f64::max);
    let tolerance = 0.01 * d.amplitude + 1e-4;
    if worst > tolerance {
        return Err(Error::bad_input(
            stim_path,
            format!(
                "is not the sweep session.json describes ({} Hz–{} Hz, {} s at {} dBFS): they differ by up to {:.1} dB of the sweep's level; put back the session's own stimulus.wav, or analyse the pair with `sweeplab analyze --stimulus S.wav --capture C.wav --sweep-start HZ --sweep-end HZ`",
                sw.start_hz,
                sw.end_hz,
                sw.duration_s,
                sw.level_dbfs,
                20.0 * (worst / d.amplitude).log10()
            ),
        ));
    }
    Ok(())
}

/// Refuses, from the headers alone, an analysis bigger than this machine's memory.
fn check_memory(stim: &WavInfo, cap_path: &Path, needed_frames: usize) -> Result<()> {
    let cap = probe_wav(cap_path)?;
    let frames = cap.frames.min(needed_frames) as u64;
    let need = super::memory::analysis_bytes(stim.frames as u64, frames, cap.channels);
    super::memory::check(need, |m| {
        Error::bad_input(
            cap_path,
            format!(
                "analysing {:.0} s of {} channel{} {m}; keep only the channels you need (e.g. `sox in.wav out.wav remix 1`), or analyse on a machine with more memory",
                frames as f64 / f64::from(cap.sample_rate.max(1)),
                cap.channels,
                if cap.channels == 1 { "" } else { "s" }
            ),
        )
    })
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
    window_s: Option<f64>,
) -> Analysis {
    // the first channel's transform is made while the stimulus's inverse is
    let n = crate::dsp::analyze::transform_len(
        stimulus.len(),
        cap.frames(),
        layout.rate_l_s * f64::from(layout.sample_rate),
    );
    let (mut analyzer, first) = rayon::join(
        || Analyzer::new(&stimulus, cap.frames(), layout),
        || {
            cap.channels
                .first()
                .map(|ch| crate::dsp::analyze::capture_spectrum(ch, n))
        },
    );
    if let Some(w) = window_s {
        analyzer = analyzer.with_fixed_window(w);
    }
    // only its spectrum is needed from here on
    drop(stimulus);
    // channels one after another: each already keeps both cores busy, and two side by side
    // took 1.13-1.17x the time with 15-27 % more memory (stereo, 10 s at 48 kHz and 30 s at
    // 192 kHz, farm-bench paired)
    let mut first = first;
    let channels = cap
        .channels
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let mut c = analyzer.analyze_channel_with(i, ch, first.take());
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
        provenance: None,
        spl: None,
        repeats: None,
        mic_under_test: None,
        distortion_vs_level: None,
        sides: None,
        channels,
        written: Vec::new(),
    }
}

/// Writes analysis.json, response.csv (channel 0) and, unless disabled, the plots.
pub fn write_outputs(
    out_dir: &OutputDir,
    a: &Analysis,
    opts: &AnalyzeOptions,
) -> Result<Vec<PathBuf>> {
    let out = out_dir.path();
    // the plots are painted in memory while the files are written, and written only once
    // the files are: a folder never holds new plots beside a missing or stale analysis.json
    let (files, painted) = rayon::join(|| write_files(out, a), || paint_plots(out, a, opts));
    let mut written = files?;
    if let Some(p) = painted? {
        written.extend(p.write()?);
    }
    Ok(written)
}

/// analysis.json, response.csv (and its calibrated twin) and the exports.
fn write_files(out: &Path, a: &Analysis) -> Result<Vec<PathBuf>> {
    let mut written = vec![write_analysis(out, a)?];
    if let Some(ch) = a.channels.first() {
        let p = out.join(RESPONSE_CSV);
        write_response_csv(
            &p,
            &ch.frequency_response.freq_hz,
            &ch.frequency_response.gain_db,
        )?;
        written.push(p);
        if let Some(c) = &ch.calibrated {
            let p = out.join(RESPONSE_CALIBRATED_CSV);
            write_response_csv(&p, &c.freq_hz, &c.gain_db)?;
            written.push(p);
        }
    }
    written.extend(crate::storage::export::write_exports(out, a)?);
    Ok(written)
}

/// The plots painted (not written), unless they are off.
fn paint_plots(
    out: &Path,
    a: &Analysis,
    opts: &AnalyzeOptions,
) -> Result<Option<crate::report::PaintedPages>> {
    if !opts.plots {
        return Ok(None);
    }
    let ropts = crate::report::RenderOptions {
        width: opts.size.0,
        height: opts.size.1,
        smoothing: opts.smoothing,
        formats: opts.formats.clone(),
    };
    let stopped = || opts.stopped();
    match crate::report::paint_analysis_unless(a, out, &ropts, &stopped) {
        Err(Error::Interrupted(_)) => Err(Error::Interrupted(format!(
            "stopped (Ctrl-C) before the plots: {} holds analysis.json; `sweeplab report {}` draws them",
            out.display(),
            out.display()
        ))),
        r => r.map(Some),
    }
}

/// `sweeplab report`: re-renders plots and summary from an analysis.json, no re-analysis.
pub fn rerender(
    analysis_dir: &Path,
    out: Option<&Path>,
    opts: &AnalyzeOptions,
) -> Result<Vec<PathBuf>> {
    let a = crate::storage::session_file::read_analysis(analysis_dir)?;
    let out = out.unwrap_or(analysis_dir);
    let _lock = prepare_output_dir(out)?;
    let ropts = crate::report::RenderOptions {
        width: opts.size.0,
        height: opts.size.1,
        smoothing: opts.smoothing,
        formats: opts.formats.clone(),
    };
    let mut written = crate::storage::export::write_exports(out, &a)?;
    written.extend(crate::report::render_analysis(&a, out, &ropts)?);
    Ok(written)
}
