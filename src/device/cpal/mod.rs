//! [`CpalDuplex`]: the real-device [`Duplex`], one cpal output stream plus one cpal input
//! stream (cpal 0.18 has no full-duplex stream).
//!
//! # Threads and buffers
//! - The **output callback** reads the stimulus from a shared, read-only `Arc<[f32]>` with a
//!   position it owns, writes it to the chosen channel(s) (other channels and everything
//!   after the end: silence), converting to the device's sample format in place.
//! - The **input callback** converts the requested channels to interleaved f32 and pushes them
//!   into a lock-free SPSC ring ([`rtrb`]) sized for [`RING_SECONDS`] seconds; if the ring is
//!   full it drops whole frames and counts an overflow (an xrun).
//! - The **calling thread** drains the ring into the [`CaptureSink`], reports [`Progress`] and
//!   watches for the end, the stop flag and failures.
//!
//! Callbacks never allocate, lock, print or touch the disk: they only read/write memory
//! allocated before the streams start and update atomics. Backend errors arrive in the error
//! callbacks as owned `cpal::Error`s, which are moved into a small ring and formatted by the
//! calling thread.
//!
//! # Start race
//! The input stream is started first; the output stream only once the input has delivered
//! data. Everything the input delivers from its start is kept, so the capture always covers the
//! stimulus, whichever stream the backend really starts first; the stimulus therefore sits at
//! some latency (round trip + input lead) in the capture, which the analysis measures. The run
//! ends when `stimulus.len() + extra_frames` frames have been captured counting from the input
//! frame that was current when the output callback ran for the first time.
//!
//! # Timestamp latency
//! cpal gives each output callback the `playback` instant of its first frame and each input
//! callback the `capture` instant of its first frame, each on its own stream's clock (ALSA:
//! time since that stream was created). Per callback we compute the instant of output frame 0
//! (= stimulus frame 0) as `playback − frames_written_before / fs`, and the instant of capture
//! frame 0 as `capture − frames_received_before / fs`, for callbacks between 0.25 s and 1.25 s
//! of each stream (the output's first callbacks only fill its buffer and are tens of ms off),
//! and take the medians. The two clocks are related by reading `Stream::now()` of both streams
//! back to back (the pair with the shortest bracket of 20). Then
//! `timestamp_latency_s = t_play(stimulus[0]) − t_capture(capture[0])`: the position of the
//! stimulus in the capture *predicted by the backend's latency reports*. Compared with the
//! latency the analysis measures, the difference is the latency the backend does not know
//! about (analog path, DSP in the device, a delay line in a loopback).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cpal::StreamConfig;
use cpal::traits::StreamTrait;

mod clock;
mod pump;
mod realtime;
mod select;
#[cfg(test)]
mod tests;

use clock::*;
use pump::*;
use realtime::*;
use select::*;

use super::list::{self, Candidate, Direction};
use super::{CaptureSink, Duplex, OutputRouting, Progress, RunRequest, RunStats};
use crate::error::{Error, Result};

/// Capacity of the capture ring, seconds of audio.
pub const RING_SECONDS: usize = 8;
/// A run fails when the input delivers nothing (or the output consumes nothing) this long.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Wanted duration of one callback period, s (see [`buffer_size`]).
pub const TARGET_PERIOD_S: f64 = 0.04;
/// How often the calling thread wakes up to drain the ring.
const POLL_INTERVAL: Duration = Duration::from_millis(5);
/// How often `progress` is called.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);
/// Stream time (s) from which to which callback timestamps are used for the latency estimate.
const TIMESTAMP_WINDOW_S: (f64, f64) = (0.25, 1.25);
/// Per-callback timestamp estimates kept per stream (the window above).
const TIMESTAMP_SLOTS: usize = 1024;
/// Backend errors (other than xruns) after which a run is considered broken.
const MAX_BACKEND_ERRORS: u64 = 50;
/// How long a run waits for its streams to close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// ALSA poll timeout: lets the backend notice a vanished device even when no poll event comes.
const BACKEND_POLL_TIMEOUT: Duration = Duration::from_millis(500);

/// A real output device and input device driven through cpal (the default host, ALSA on
/// Linux, or whichever host the named device belongs to).
pub struct CpalDuplex {
    sample_rate: u32,
    output: Endpoint,
    input: Endpoint,
    last_run: Option<RunDetails>,
}

/// One opened stream's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamSetup {
    pub channels: u16,
    pub sample_format: String,
    pub sample_rate: u32,
    /// Frames per callback as the backend reports it.
    pub period_frames: Option<u32>,
}

/// Diagnostics of the most recent run, beyond [`RunStats`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunDetails {
    pub output: StreamSetup,
    pub input: StreamSetup,
    /// Capture frames delivered before the output callback first ran (the input's lead).
    pub capture_frames_before_output: u64,
    /// Capture frames dropped because the ring was full.
    pub capture_frames_dropped: u64,
    /// Same as [`RunStats::timestamp_latency_s`].
    pub timestamp_latency_s: Option<f64>,
    /// Spread (max − min) of the per-callback estimates of the output's and the input's frame-0
    /// instant, s: how much the backend's timestamps jitter.
    pub timestamp_spread_s: (Option<f64>, Option<f64>),
    /// `in.now() − out.now()`, ns: the offset between the two streams' clocks.
    pub clock_offset_ns: Option<i64>,
}

impl CpalDuplex {
    /// Opens the named devices (a name or an id as `sweeplab devices` prints them; `None`: the
    /// default host's default device) and checks that both support `sample_rate` exactly.
    ///
    /// Errors: an unknown device name is `BadUsage` on `--output-device`/`--input-device`
    /// (listing the devices there are); an unsupported rate is `BadUsage` on `--rate` (listing
    /// the rates each device supports and the ones both do; nothing is ever resampled); a
    /// device that cannot be queried is `Device`.
    pub fn open(
        output_device: Option<&str>,
        input_device: Option<&str>,
        sample_rate: u32,
    ) -> Result<Self> {
        if sample_rate == 0 {
            return Err(Error::bad_usage(
                "--rate",
                "the sample rate must be above 0 Hz",
            ));
        }
        let output = find_device(Direction::Output, output_device)?;
        let input = find_device(Direction::Input, input_device)?;
        let (out_all, output) = endpoint(Direction::Output, output, sample_rate)?;
        let (in_all, input) = endpoint(Direction::Input, input, sample_rate)?;
        if output.ranges.is_empty() || input.ranges.is_empty() {
            return Err(rate_error(sample_rate, &output, &out_all, &input, &in_all));
        }
        Ok(CpalDuplex {
            sample_rate,
            output,
            input,
            last_run: None,
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The output device's name as `devices` prints it.
    pub fn output_name(&self) -> &str {
        &self.output.name
    }

    /// The input device's name as `devices` prints it.
    pub fn input_name(&self) -> &str {
        &self.input.name
    }

    /// Diagnostics of the last run (also of a failed one, as far as it got).
    pub fn last_run(&self) -> Option<&RunDetails> {
        self.last_run.as_ref()
    }

    fn choose_output(&self, routing: OutputRouting) -> Result<Choice> {
        let needed = match routing {
            OutputRouting::Left | OutputRouting::Both => 1,
            OutputRouting::Right => 2,
        };
        let prefer = [Some(2), self.output.default_channels];
        choose(&self.output, needed, &prefer, self.sample_rate).ok_or_else(|| {
            Error::bad_usage(
                "--output-channel",
                format!(
                    "the {} has {} output channel(s) at {} Hz; 'right' needs 2",
                    self.output.label(),
                    max_channels(&self.output),
                    self.sample_rate
                ),
            )
        })
    }

    /// The input configuration and the device channels delivered to the sink, in order.
    fn choose_input(&self, req: &RunRequest) -> Result<(Choice, Vec<usize>)> {
        self.choose_input_channels(&req.input_channels)
    }

    /// Checks `--input-channel` against the input device before anything is played or
    /// written: a channel it does not have is refused (exit 2).
    pub fn check_input_channels(&self, input_channels: &Option<Vec<u16>>) -> Result<()> {
        self.choose_input_channels(input_channels).map(|_| ())
    }

    fn choose_input_channels(
        &self,
        input_channels: &Option<Vec<u16>>,
    ) -> Result<(Choice, Vec<usize>)> {
        let req_channels = input_channels;
        let needed = match req_channels {
            Some(list) if list.is_empty() => {
                return Err(Error::bad_usage(
                    "--input-channel",
                    "no input channel selected",
                ));
            }
            Some(list) => list.iter().map(|&c| c.saturating_add(1)).max().unwrap_or(1),
            None => 1,
        };
        if let Some(own) = own_channels(&self.input)
            && needed > own
        {
            return Err(Error::bad_usage(
                "--input-channel",
                format!(
                    "the {} has {own} input channel(s) of its own (0..={}); it accepts up to {} by mixing in software, so channel {} would be a copy or silence, not a recording",
                    self.input.label(),
                    own.saturating_sub(1),
                    max_channels(&self.input),
                    needed - 1
                ),
            ));
        }
        let prefer = [self.input.default_channels, Some(2)];
        let choice = choose(&self.input, needed, &prefer, self.sample_rate).ok_or_else(|| {
            let n = max_channels(&self.input);
            Error::bad_usage(
                "--input-channel",
                format!(
                    "the {} has {n} input channel(s) at {} Hz (0..={}); channel {} does not exist",
                    self.input.label(),
                    self.sample_rate,
                    n.saturating_sub(1),
                    needed - 1
                ),
            )
        })?;
        let select = match req_channels {
            Some(list) => list.iter().map(|&c| c as usize).collect(),
            None => (0..choice.channels as usize).collect(),
        };
        Ok((choice, select))
    }
}

/// A stream configuration picked from the supported ranges.
impl Duplex for CpalDuplex {
    fn input_channel_count(&self, req: &RunRequest) -> u16 {
        match &req.input_channels {
            Some(list) => list.len() as u16,
            None => self.choose_input(req).map(|(c, _)| c.channels).unwrap_or(0),
        }
    }

    fn run(
        &mut self,
        req: &RunRequest,
        sink: &mut dyn CaptureSink,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunStats> {
        if req.sample_rate != self.sample_rate {
            return Err(Error::bad_usage(
                "--rate",
                format!(
                    "the devices were opened at {} Hz but the run asks for {} Hz",
                    self.sample_rate, req.sample_rate
                ),
            ));
        }
        let fs = self.sample_rate;
        let out_choice = self.choose_output(req.output)?;
        let (in_choice, select) = self.choose_input(req)?;
        let width = select.len();
        let total_after_start = req.stimulus.len() as u64 + req.extra_frames as u64;

        let shared = Arc::new(Shared {
            c: Counters::default(),
            out_ts: TimestampLog::new(),
            in_ts: TimestampLog::new(),
        });
        let (producer, consumer) = rtrb::RingBuffer::<f32>::new(RING_SECONDS * fs as usize * width);
        let (out_err_tx, out_err_rx) = rtrb::RingBuffer::<cpal::Error>::new(64);
        let (in_err_tx, in_err_rx) = rtrb::RingBuffer::<cpal::Error>::new(64);
        let out_channels = out_choice.channels as usize;
        let route: Box<[bool]> = (0..out_channels)
            .map(|c| match req.output {
                OutputRouting::Left => c == 0,
                OutputRouting::Right => c == 1,
                OutputRouting::Both => c <= 1,
            })
            .collect();
        let out_config = StreamConfig {
            channels: out_choice.channels,
            sample_rate: fs,
            buffer_size: out_choice.buffer,
        };
        let in_config = StreamConfig {
            channels: in_choice.channels,
            sample_rate: fs,
            buffer_size: in_choice.buffer,
        };
        let output_state = OutputState {
            stimulus: Arc::from(req.stimulus),
            pos: 0,
            frames_written: 0,
            channels: out_channels,
            route,
            fs: fs as u64,
            shared: shared.clone(),
        };
        let input_state = InputState {
            producer,
            channels: in_choice.channels as usize,
            select: select.into_boxed_slice(),
            frames_received: 0,
            fs: fs as u64,
            shared: shared.clone(),
        };
        let mut details = RunDetails {
            output: StreamSetup {
                channels: out_choice.channels,
                sample_format: out_choice.format.to_string(),
                sample_rate: fs,
                period_frames: None,
            },
            input: StreamSetup {
                channels: in_choice.channels,
                sample_format: in_choice.format.to_string(),
                sample_rate: fs,
                period_frames: None,
            },
            ..RunDetails::default()
        };
        self.last_run = Some(details.clone());

        let stream_error = |ep: &Endpoint, what: &str, e: cpal::Error| {
            Error::Device(format!("cannot {what} a stream on the {}: {e}", ep.label()))
        };
        let in_stream = build_input(
            &self.input.device,
            in_config,
            in_choice.format,
            input_state,
            ErrorReporter {
                ring: in_err_tx,
                shared: shared.clone(),
            },
        )
        .map_err(|e| stream_error(&self.input, "open", e))?;
        let out_stream = build_output(
            &self.output.device,
            out_config,
            out_choice.format,
            output_state,
            ErrorReporter {
                ring: out_err_tx,
                shared: shared.clone(),
            },
        )
        .map_err(|e| stream_error(&self.output, "open", e))?;
        details.input.period_frames = in_stream.buffer_size().ok();
        details.output.period_frames = out_stream.buffer_size().ok();

        let mut pump = Pump {
            shared: &shared,
            consumer,
            error_rings: [("output", out_err_rx), ("input", in_err_rx)],
            width,
            total_after_start,
            delivered: 0,
            peak: 0.0,
            errors: Vec::new(),
            clock_offset_ns: None,
        };
        let outcome = pump.monitor(&out_stream, &in_stream, fs, sink, stop, progress);
        // Stop both streams (output first), then hand over what is still in the ring.
        if !close_streams(out_stream, in_stream) {
            pump.errors.push((
                format!(
                    "the streams did not close within {:.1} s (left to close in the background)",
                    CLOSE_TIMEOUT.as_secs_f64()
                ),
                1,
            ));
        }
        let outcome = outcome.and_then(|o| pump.drain(sink).map(|_| o));
        pump.collect_errors();
        let Pump {
            delivered,
            peak,
            errors,
            clock_offset_ns,
            ..
        } = pump;
        let c = &shared.c;

        // Timestamp latency (see the module docs).
        let out_est = shared.out_ts.estimate(fs as u64);
        let in_est = shared.in_ts.estimate(fs as u64);
        let latency = match (out_est, in_est, clock_offset_ns) {
            (Some((p0, _)), Some((c0, _)), Some(off)) => Some((p0 + off - c0) as f64 * 1e-9),
            _ => None,
        };
        details.capture_frames_before_output = c.in_frames_at_out_start.load(Ordering::Relaxed);
        details.capture_frames_dropped = c.in_dropped_frames.load(Ordering::Relaxed);
        details.timestamp_latency_s = latency;
        details.timestamp_spread_s = (
            out_est.map(|(_, s)| s as f64 * 1e-9),
            in_est.map(|(_, s)| s as f64 * 1e-9),
        );
        details.clock_offset_ns = clock_offset_ns;
        self.last_run = Some(details);

        let stats = RunStats {
            frames_captured: delivered,
            channels: width as u16,
            xruns: c.backend_xruns.load(Ordering::Relaxed) + c.in_overflows.load(Ordering::Relaxed),
            device_errors: format_errors(&errors, c.errors_lost.load(Ordering::Relaxed)),
            timestamp_latency_s: latency,
            output_device: self.output.name.clone(),
            input_device: self.input.name.clone(),
            interrupted: !matches!(outcome, Ok(Outcome::Done)),
        };
        match outcome? {
            Outcome::Failed(why) => {
                let mut msg = format!(
                    "{} → {}: {why}; {delivered} frames ({:.2} s) were captured and kept",
                    self.output.label(),
                    self.input.label(),
                    delivered as f64 / fs as f64
                );
                if !stats.device_errors.is_empty() {
                    msg.push_str(&format!("; details: {}", stats.device_errors.join("; ")));
                }
                Err(Error::Device(msg))
            }
            Outcome::Done => {
                progress(Progress {
                    frames_done: total_after_start,
                    frames_total: total_after_start,
                    input_peak_dbfs: peak_dbfs(peak),
                });
                Ok(stats)
            }
            Outcome::Stopped => Ok(stats),
        }
    }
}
