//! The session layer: where dsp, storage, device, sim, report and compare meet. Each file is
//! one thing a user does: create a session for another recorder (`create`), analyse one
//! (`analyze`), record one through a device (`record`), measure live (`live`), simulate one
//! and run the demo (`simulate`), compare devices (`compare`).
//!
//! Only this layer and the CLI above it combine rooms; the rooms below never import it.
//! Must not import: `cli`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::kind::DeviceKind;

pub mod analyze;
pub mod calibrate;
pub mod compare;
pub mod create;
pub mod levels;
pub mod live;
pub mod memory;
pub mod production;
pub mod published;
pub mod record;
pub mod simulate;

pub use analyze::{
    analyze_external, analyze_session, analyze_sessions, rerender, run_analysis, write_outputs,
};
pub use compare::compare;
pub use create::{create_sweep_session, design_sweep, session_for};
pub use live::{LevelReport, level_check};
pub use record::{RecordRequest, record_placement, record_session};

/// How to analyse and what to write.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Smoothing of the bold plotted curve, n of 1/n octave.
    pub smoothing: Option<f64>,
    pub plots: bool,
    pub size: (u32, u32),
    /// The plots' formats (PNG, SVG).
    pub formats: Vec<crate::report::ImageFormat>,
    /// Overrides for the device label and kind.
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    /// A measurement microphone's calibration to remove from the response.
    pub calibration: Option<crate::compare::Calibration>,
    /// A measurement microphone's sensitivity (`sweeplab calibrate`): levels in dB SPL too.
    pub sensitivity: Option<crate::results::SplInfo>,
    /// The microphone under test's own sensitivity: its dBFS/Pa (dBV/Pa) and self-noise.
    pub mic_sensitivity: Option<crate::results::SplInfo>,
    /// How the output was driven: with `sensitivity`, a driver's dB SPL per volt and per mW.
    pub drive: Option<crate::results::DriveLevel>,
    /// A fixed right side of the impulse-response window, s (`--window`); `None`: the
    /// measured decay with a frequency-dependent window.
    pub window_s: Option<f64>,
    /// Set by Ctrl-C: the analysis then stops at its next step with [`Error::Interrupted`]
    /// (before analysing, before writing, before each plot), leaving every file it had
    /// written whole (the recording is never touched).
    pub stop: Option<&'static AtomicBool>,
}

/// `Err(NoSignal)` when no channel of `a` holds the sweep: what could be written is in `out`
/// for inspection, but the run failed (exit 1).
pub fn require_signal(a: &crate::results::Analysis, out: &Path) -> Result<()> {
    if a.channels.iter().any(|c| c.has_signal()) {
        Ok(())
    } else {
        Err(Error::NoSignal(format!(
            "no channel holds the sweep (see the warnings); {} holds what could be written, for inspection",
            out.display()
        )))
    }
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
            formats: vec![crate::report::ImageFormat::Png],
            label: None,
            kind: None,
            calibration: None,
            sensitivity: None,
            mic_sensitivity: None,
            drive: None,
            window_s: None,
            stop: None,
        }
    }
}
