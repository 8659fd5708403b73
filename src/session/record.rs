//! Recording a session through any [`Duplex`] (a real device or the simulated rig): the
//! stimulus and an incomplete `session.json` first, the capture streamed to disk as it
//! arrives, and `session.json` brought up to date whatever happens. Nothing captured is lost.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::create::{design_sweep, session_for};
use crate::device::{CaptureSink, Duplex, OutputRouting, Progress, RunRequest, RunStats};
use crate::dsp::sweep::SweepSpec;
use crate::error::{Error, Result};
use crate::kind::{DeviceKind, Side};
use crate::storage::session_file::{
    CAPTURE_WAV, CaptureInfo, Placement, STIMULUS_WAV, SessionFile, SideCapture, placement_capture,
    prepare_session_dir, side_capture, write_session,
};
use crate::storage::wav::{CaptureWriter, write_wav_f32};

/// What to record in a new session.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    pub out: PathBuf,
    pub spec: SweepSpec,
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub force: bool,
    pub output: OutputRouting,
    pub input_channels: Option<Vec<u16>>,
    /// Sweeps played back to back; the analysis averages them.
    pub repeats: u32,
    /// Extra capture after the last sweep, s (latency margin).
    pub extra_s: f64,
    /// The simulated model's name, for session.json.
    pub model: Option<String>,
    /// Placements of a re-seat series (`--reseats N`), recorded as placement 1 here and
    /// [`record_placement`] for the rest; None for a single placement.
    pub reseats: Option<u32>,
    /// A two-sided session (`--sides`): this request records the left side (its `output`
    /// is then ignored) and [`record_side`] the right.
    pub sides: bool,
}

/// The most sweeps one session plays back to back.
pub const MAX_REPEATS: u32 = 100;

/// `--repeats` must be 1…[`MAX_REPEATS`].
pub fn check_repeats(repeats: u32) -> Result<()> {
    if (1..=MAX_REPEATS).contains(&repeats) {
        Ok(())
    } else {
        Err(Error::bad_usage(
            "--repeats",
            format!("{repeats} is outside 1–{MAX_REPEATS}"),
        ))
    }
}

/// The most placements one re-seat series records.
pub const MAX_RESEATS: u32 = 20;

/// `--reseats` must be 1…[`MAX_RESEATS`].
pub fn check_reseats(reseats: u32) -> Result<()> {
    if (1..=MAX_RESEATS).contains(&reseats) {
        Ok(())
    } else {
        Err(Error::bad_usage(
            "--reseats",
            format!("{reseats} is outside 1–{MAX_RESEATS}"),
        ))
    }
}

/// `--sides` is one placement at one level: it cannot be combined with `--reseats` or
/// `--levels` (each placement or step would need both sides).
pub fn check_sides(reseats: u32, levels: bool) -> Result<()> {
    if reseats > 1 {
        return Err(Error::bad_usage(
            "--sides",
            "cannot be combined with --reseats: measure the sides in a session of their own",
        ));
    }
    if levels {
        return Err(Error::bad_usage(
            "--sides",
            "cannot be combined with --levels: measure the level series in a session of their own",
        ));
    }
    Ok(())
}

/// Forwards captured blocks to the WAV writer and remembers the peak level.
struct WavSink<'a> {
    writer: &'a mut crate::storage::wav::CaptureWriter,
}

impl CaptureSink for WavSink<'_> {
    fn write(&mut self, interleaved: &[f32]) -> Result<()> {
        self.writer.write(interleaved)
    }
}

/// Plays the sweep on `device` and records it into a new session folder. The stimulus and a
/// `session.json` marked incomplete are written first; the capture streams to `capture.wav`
/// as it arrives; on any stop (done, Ctrl-C, device lost, disk full) the WAV is finalized
/// and `session.json` says what happened. Nothing captured is lost.
pub fn record_session(
    device: &mut dyn Duplex,
    req: &RecordRequest,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<SessionFile> {
    check_repeats(req.repeats)?;
    let d = design_sweep(&req.spec)?;
    let channels_guess = req
        .input_channels
        .as_ref()
        .map_or(2, |c| c.len().max(1) as u16);
    super::memory::check(
        super::memory::record_bytes(d.total_samples() as u64, req.repeats, channels_guess),
        |m| super::create::too_big(&d, m),
    )?;
    let _out = prepare_session_dir(&req.out, req.force)?;
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

    if req.sides {
        session.sides = vec![SideCapture {
            side: Side::Left,
            run: Placement {
                capture: side_capture(Side::Left),
                frames: 0,
                complete: false,
                stop_reason: Some("capture in progress (or the program was killed)".into()),
                xruns: 0,
            },
        }];
        write_session(&req.out, &session)?;
    }
    let left_only;
    let req = if req.sides {
        left_only = RecordRequest {
            output: OutputRouting::Left,
            ..req.clone()
        };
        &left_only
    } else {
        req
    };
    let end = capture_to(
        device,
        &d,
        &one,
        req,
        &req.out.join(CAPTURE_WAV),
        stop,
        progress,
    )?;
    let info = session.capture.as_mut().expect("set above");
    info.channels = end.channels;
    info.frames = end.frames;
    if let Some(stats) = &end.stats {
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
    }
    session.complete = end.stop_reason.is_none();
    info.stop_reason = end.stop_reason;
    if let Some(n) = req.reseats {
        session.reseats = Some(n);
        session.placements = vec![Placement {
            capture: placement_capture(1),
            frames: end.frames,
            complete: session.complete,
            stop_reason: info.stop_reason.clone(),
            xruns: info.xruns,
        }];
    }
    if let Some(left) = session.sides.first_mut() {
        left.run = Placement {
            capture: side_capture(Side::Left),
            frames: end.frames,
            complete: session.complete,
            stop_reason: info.stop_reason.clone(),
            xruns: info.xruns,
        };
    }
    finish(&req.out, &session, end.result)
}

/// Records placement `p` (2, 3, …) of a re-seat series into the session `req.out` that
/// [`record_session`] began: the same sweep, into its own `capture-p.wav`, listed in
/// `session.json` before the capture starts and brought up to date however it ends. Never
/// overwrites a capture.
pub fn record_placement(
    device: &mut dyn Duplex,
    req: &RecordRequest,
    p: usize,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<SessionFile> {
    record_more(
        device,
        req,
        &placement_capture(p),
        &|s| {
            (p >= 2 && s.placements.len() + 1 == p)
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "placement {p} does not follow the {} recorded in session.json (or its capture exists); start the series again with --force",
                        s.placements.len()
                    )
                })
        },
        &|s, pl| s.placements.push(pl),
        &|s| s.placements.last_mut(),
        stop,
        progress,
    )
}

/// Records the right side of a `--sides` session that [`record_session`] began with the
/// left: the same sweep played on the right output alone, into `capture-R.wav`, listed in
/// `session.json` before the capture starts and brought up to date however it ends. Never
/// overwrites a capture.
pub fn record_side(
    device: &mut dyn Duplex,
    req: &RecordRequest,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<SessionFile> {
    let req = RecordRequest {
        output: OutputRouting::Right,
        ..req.clone()
    };
    record_more(
        device,
        &req,
        &side_capture(Side::Right),
        &|s| {
            (s.sides.len() == 1)
                .then_some(())
                .ok_or_else(|| {
                    "the right side follows the left one in a --sides session, and session.json does not list the left side alone; start again with --force".to_string()
                })
        },
        &|s, run| {
            s.sides.push(SideCapture {
                side: Side::Right,
                run,
            })
        },
        &|s| s.sides.last_mut().map(|sc| &mut sc.run),
        stop,
        progress,
    )
}

/// Records one more capture `name` into the session `req.out`: `follows` says whether the
/// session is ready for it, `add` lists it in session.json before the capture starts, `last`
/// finds that entry again to say how the capture ended.
#[allow(clippy::too_many_arguments)]
fn record_more(
    device: &mut dyn Duplex,
    req: &RecordRequest,
    name: &str,
    follows: &dyn Fn(&SessionFile) -> std::result::Result<(), String>,
    add: &dyn Fn(&mut SessionFile, Placement),
    last: &dyn Fn(&mut SessionFile) -> Option<&mut Placement>,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<SessionFile> {
    let d = design_sweep(&req.spec)?;
    let _out = crate::storage::session_file::prepare_output_dir(&req.out)?;
    let mut session = crate::storage::session_file::read_session(&req.out)?;
    let cap_path = req.out.join(name);
    let refused = follows(&session).err().or_else(|| {
        cap_path
            .exists()
            .then(|| format!("{name} exists already; start again with --force"))
    });
    if let Some(msg) = refused {
        return Err(Error::WouldOverwrite {
            path: cap_path,
            msg,
        });
    }
    add(
        &mut session,
        Placement {
            capture: name.to_string(),
            frames: 0,
            complete: false,
            stop_reason: Some("capture in progress (or the program was killed)".into()),
            xruns: 0,
        },
    );
    write_session(&req.out, &session)?;
    let one: Vec<f32> = d.generate().iter().map(|&v| v as f32).collect();
    let end = capture_to(device, &d, &one, req, &cap_path, stop, progress)?;
    let entry = last(&mut session).expect("added above");
    entry.frames = end.frames;
    entry.complete = end.stop_reason.is_none();
    entry.xruns = end.stats.as_ref().map_or(0, |s| s.xruns);
    entry.stop_reason = end.stop_reason;
    finish(&req.out, &session, end.result)
}

/// How one capture ended.
struct CaptureEnd {
    channels: u16,
    /// Frames the file holds.
    frames: u64,
    /// The device's report, when the run itself ended (done or interrupted).
    stats: Option<RunStats>,
    /// Why it stopped early; None when complete.
    stop_reason: Option<String>,
    /// The error to report, if any.
    result: Result<()>,
}

/// Plays `one` (repeated `req.repeats` times) on `device` and streams the capture to
/// `cap_path`; finalizes the WAV however the run ends. Fails only when the WAV cannot be
/// created.
fn capture_to(
    device: &mut dyn Duplex,
    d: &crate::dsp::sweep::SweepDesign,
    one: &[f32],
    req: &RecordRequest,
    cap_path: &std::path::Path,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<CaptureEnd> {
    let played: Vec<f32> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * req.repeats as usize)
        .collect();
    let run_req = RunRequest {
        sample_rate: d.sample_rate,
        stimulus: &played,
        output: req.output,
        input_channels: req.input_channels.clone(),
        extra_frames: (req.extra_s * f64::from(d.sample_rate)).round() as usize,
    };
    let channels = device.input_channel_count(&run_req);
    let mut writer = CaptureWriter::create(cap_path, d.sample_rate, channels)?;
    let result = device.run(
        &run_req,
        &mut WavSink {
            writer: &mut writer,
        },
        stop,
        progress,
    );
    let handed = writer.frames();
    let finalized = writer.finalize();
    // what is on disk is what counts: after a write failure the header, session.json and the
    // message all give the frames the file really holds
    let frames = match (&result, &finalized) {
        (Ok(_), Ok(n)) => *n,
        _ => crate::storage::wav::repair_capture(cap_path).unwrap_or(handed),
    };
    let mut end = CaptureEnd {
        channels,
        frames,
        stats: None,
        stop_reason: None,
        result: Ok(()),
    };
    match (result, finalized) {
        (Ok(stats), Ok(_)) => {
            if stats.interrupted {
                end.stop_reason = Some(format!(
                    "interrupted after {:.2} s of capture",
                    frames as f64 / f64::from(d.sample_rate)
                ));
                end.result = Err(Error::Interrupted(format!(
                    "the capture stopped early; {} holds the {frames} frames captured so far and session.json is marked incomplete",
                    cap_path.display()
                )));
            }
            end.stats = Some(stats);
        }
        (Err(Error::Io { path, err }), _) => {
            end.stop_reason = Some(format!(
                "writing the capture failed: {}: {err}",
                path.display()
            ));
            end.result = Err(Error::io(
                path,
                std::io::Error::new(
                    err.kind(),
                    format!(
                        "{err}; the capture stopped after {frames} frames, kept in {} (session.json is marked incomplete)",
                        cap_path.display()
                    ),
                ),
            ));
        }
        (Err(e), _) => {
            let msg = match e {
                Error::Device(m) => m,
                other => other.to_string(),
            };
            end.stop_reason = Some(msg.clone());
            end.result = Err(Error::Device(format!(
                "{msg}; {} holds the {frames} frames captured before the failure and session.json is marked incomplete",
                cap_path.display()
            )));
        }
        (Ok(_), Err(e)) => {
            end.stop_reason = Some(format!("writing the capture failed: {e}"));
            end.result = Err(Error::io(cap_path, std::io::Error::other(e.to_string())));
        }
    }
    Ok(end)
}

/// Writes `session` whatever happened; the first failure is the one to report.
fn finish(
    dir: &std::path::Path,
    session: &SessionFile,
    outcome: Result<()>,
) -> Result<SessionFile> {
    match (outcome, write_session(dir, session)) {
        (Ok(()), Ok(())) => Ok(session.clone()),
        (Ok(()), Err(e)) => Err(e),
        (Err(first), Ok(())) => Err(first),
        (Err(first), Err(e)) => {
            eprintln!("error: could not update session.json either: {e}");
            Err(first)
        }
    }
}
