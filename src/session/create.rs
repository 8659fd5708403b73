//! `sweeplab sweep`: a stimulus and its `session.json` for another player/recorder to fill.

use std::path::Path;

use crate::dsp::sweep::{SweepDesign, SweepSpec};
use crate::error::{Error, Result};
use crate::kind::DeviceKind;
use crate::results::SweepInfo;
use crate::storage::session_file::{
    STIMULUS_WAV, SessionFile, SweepSync, prepare_session_dir, tool_name, write_session,
};
use crate::storage::wav::write_wav_f32;

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
    kind: Option<DeviceKind>,
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
        reseats: None,
        sides: Vec::new(),
        placements: Vec::new(),
        levels: Vec::new(),
        levels_stopped: None,
        next_step: None,
    }
}

/// `sweeplab sweep`: writes DIR/stimulus.wav and DIR/session.json (no capture).
pub fn create_sweep_session(
    out: &Path,
    spec: &SweepSpec,
    label: Option<String>,
    kind: Option<DeviceKind>,
    force: bool,
) -> Result<(SessionFile, SweepDesign)> {
    let d = design_sweep(spec)?;
    let frames = d.total_samples() as u64;
    super::memory::check(super::memory::sweep_bytes(frames), |m| too_big(&d, m))?;
    let _out = prepare_session_dir(out, force)?;
    let stim: Vec<f32> = d.generate().iter().map(|&v| v as f32).collect();
    write_wav_f32(&out.join(STIMULUS_WAV), d.sample_rate, 1, &stim)?;
    let mut s = session_for(&d, spec.end_hz, label, kind);
    s.next_step = Some(next_step(out, d.sample_rate));
    write_session(out, &s)?;
    Ok((s, d))
}

/// The refusal of a sweep too long for this machine's memory: names the flags that set its
/// length.
pub fn too_big(d: &SweepDesign, why: String) -> Error {
    Error::bad_usage(
        "--duration",
        format!(
            "a {:.0} s session at {} Hz {why}; use a shorter --duration (or --pre/--post), a lower --rate, or fewer --repeats",
            d.pre_s + d.duration_s + d.post_s,
            d.sample_rate
        ),
    )
}

/// What a session written by `sweeplab sweep` needs next (in session.json and on the terminal).
pub fn next_step(out: &Path, sample_rate: u32) -> String {
    format!(
        "no capture yet: play stimulus.wav and record {} at {sample_rate} Hz with any tool (start recording before playback), then `sweeplab analyze {} --out {}`",
        out.join(crate::storage::session_file::CAPTURE_WAV)
            .display(),
        out.display(),
        out.join("report").display()
    )
}
