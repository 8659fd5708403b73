//! Audio devices: the only code that talks to audio hardware (cpal, behind the `live`
//! feature). Must not import: `storage`, `dsp`, `report`, `compare`, `session`, `cli`.
//!
//! Everything sits behind [`Duplex`]: play a mono stimulus on an output while recording an
//! input, delivering the capture block by block to a [`CaptureSink`] from a normal thread
//! (never from the audio callback). The simulated rig implements the same trait, so the
//! session code cannot tell a real device from a model.

use std::sync::atomic::AtomicBool;

use crate::error::Result;

#[cfg(feature = "live")]
pub mod cpal;
#[cfg(feature = "live")]
pub mod list;

#[cfg(feature = "live")]
pub use self::cpal::CpalDuplex;
#[cfg(feature = "live")]
pub use list::{DeviceList, list_devices};

/// Which output channel(s) carry the stimulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputRouting {
    Left,
    Right,
    Both,
}

/// One play-and-record run.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    pub sample_rate: u32,
    /// The mono stimulus, played from its first sample.
    pub stimulus: &'a [f32],
    pub output: OutputRouting,
    /// Input channels to keep (0-based); `None` keeps all.
    pub input_channels: Option<Vec<u16>>,
    /// Frames to record after the stimulus has been played out (latency + decay margin).
    pub extra_frames: usize,
}

/// What a run reports besides the captured samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    pub frames_captured: u64,
    /// Number of channels delivered to the sink.
    pub channels: u16,
    /// Buffer under/overruns reported by the backend.
    pub xruns: u64,
    /// Device/stream errors reported during the run (already formatted).
    pub device_errors: Vec<String>,
    /// Round-trip latency estimated from the backend's callback timestamps, s.
    pub timestamp_latency_s: Option<f64>,
    pub output_device: String,
    pub input_device: String,
    /// True when the run stopped before its end (stop flag, device lost).
    pub interrupted: bool,
}

/// Live state for a progress display, sent a few times per second.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub frames_done: u64,
    pub frames_total: u64,
    /// Peak input level of the most recent block, dBFS.
    pub input_peak_dbfs: f64,
}

/// Receives captured audio, interleaved f32, `channels` per frame.
pub trait CaptureSink {
    fn write(&mut self, interleaved: &[f32]) -> Result<()>;
}

/// Collects a capture in memory (level checks, tests).
#[derive(Debug, Default)]
pub struct MemorySink {
    pub samples: Vec<f32>,
}

impl CaptureSink for MemorySink {
    fn write(&mut self, interleaved: &[f32]) -> Result<()> {
        self.samples.extend_from_slice(interleaved);
        Ok(())
    }
}

/// A playback + capture pair.
pub trait Duplex {
    /// Channels delivered to the sink for the given request's `input_channels`.
    fn input_channel_count(&self, req: &RunRequest) -> u16;
    /// Plays and records. Returns when the stimulus plus `extra_frames` has been captured,
    /// when `stop` becomes true (stats.interrupted), or on a device failure (Err, after all
    /// audio captured so far has been delivered to the sink).
    fn run(
        &mut self,
        req: &RunRequest,
        sink: &mut dyn CaptureSink,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunStats>;
}
