//! Recording a session through any [`Duplex`] (a real device or the simulated rig): the
//! stimulus and an incomplete `session.json` first, the capture streamed to disk as it
//! arrives, and `session.json` brought up to date whatever happens. Nothing captured is lost.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::create::{design_sweep, session_for};
use crate::device::{CaptureSink, Duplex, OutputRouting, Progress, RunRequest};
use crate::dsp::sweep::SweepSpec;
use crate::error::{Error, Result};
use crate::kind::DeviceKind;
use crate::storage::session_file::{
    CAPTURE_WAV, CaptureInfo, STIMULUS_WAV, SessionFile, prepare_session_dir, write_session,
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
    let handed = writer.frames();
    let finalized = writer.finalize();
    // what is on disk is what counts: after a write failure the header, session.json and the
    // message all give the frames the file really holds
    let frames = match (&result, &finalized) {
        (Ok(_), Ok(n)) => *n,
        _ => crate::storage::wav::repair_capture(&cap_path).unwrap_or(handed),
    };

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
