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
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, StreamConfig};

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

struct Endpoint {
    dir: Direction,
    device: cpal::Device,
    name: String,
    id: String,
    /// Supported ranges that contain the sample rate and have a usable format.
    ranges: Vec<cpal::SupportedStreamConfigRange>,
    default_channels: Option<u16>,
}

impl Endpoint {
    fn label(&self) -> String {
        format!(
            "{} device \"{}\" ({})",
            self.dir.as_str(),
            self.name,
            self.id
        )
    }
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
        let needed = match &req.input_channels {
            Some(list) if list.is_empty() => {
                return Err(Error::bad_usage(
                    "--input-channel",
                    "no input channel selected",
                ));
            }
            Some(list) => list.iter().map(|&c| c.saturating_add(1)).max().unwrap_or(1),
            None => 1,
        };
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
        let select = match &req.input_channels {
            Some(list) => list.iter().map(|&c| c as usize).collect(),
            None => (0..choice.channels as usize).collect(),
        };
        Ok((choice, select))
    }
}

/// A stream configuration picked from the supported ranges.
#[derive(Debug, Clone, Copy)]
struct Choice {
    channels: u16,
    format: SampleFormat,
    buffer: cpal::BufferSize,
}

/// Preference of sample formats: float first, then integers by width. DSD is never usable.
fn format_rank(f: SampleFormat) -> Option<u8> {
    Some(match f {
        SampleFormat::F32 => 0,
        SampleFormat::F64 => 1,
        SampleFormat::I32 => 2,
        SampleFormat::I24 => 3,
        SampleFormat::I16 => 4,
        SampleFormat::U32 => 5,
        SampleFormat::U24 => 6,
        SampleFormat::U16 => 7,
        SampleFormat::I64 => 8,
        SampleFormat::U64 => 9,
        SampleFormat::I8 => 10,
        SampleFormat::U8 => 11,
        _ => return None,
    })
}

/// The best format; within it the first preferred channel count that is supported and at
/// least `needed`, else the smallest count that is.
fn choose(ep: &Endpoint, needed: u16, prefer: &[Option<u16>], fs: u32) -> Option<Choice> {
    let mut formats: Vec<SampleFormat> = ep.ranges.iter().map(|r| r.sample_format()).collect();
    formats.sort_by_key(|&f| format_rank(f));
    formats.dedup();
    formats.into_iter().find_map(|format| {
        let mut counts: Vec<u16> = ep
            .ranges
            .iter()
            .filter(|r| r.sample_format() == format && r.channels() >= needed)
            .map(|r| r.channels())
            .collect();
        counts.sort_unstable();
        let channels = prefer
            .iter()
            .flatten()
            .find(|p| counts.contains(p))
            .copied()
            .or_else(|| counts.first().copied())?;
        let range = ep
            .ranges
            .iter()
            .find(|r| r.sample_format() == format && r.channels() == channels)?;
        Some(Choice {
            channels,
            format,
            buffer: buffer_size(range.buffer_size(), fs),
        })
    })
}

/// Frames per callback: the power of two nearest [`TARGET_PERIOD_S`] (2048 at 48 kHz), within
/// what the device supports; the backend's default when it does not say.
///
/// cpal's ALSA host double-buffers (buffer = 2 periods), so a callback may be late by about
/// one period before the output underruns or the input overruns. Its default period on
/// PulseAudio (512 frames, 10.7 ms) underran now and then on a loaded 2-core machine; latency
/// does not matter to a measurement, glitches do.
fn buffer_size(supported: &cpal::SupportedBufferSize, fs: u32) -> cpal::BufferSize {
    let target = fs as f64 * TARGET_PERIOD_S;
    let pow2 = 2f64.powf(target.log2().round()).max(64.0) as u32;
    match *supported {
        cpal::SupportedBufferSize::Range { min, max } if min <= max => {
            cpal::BufferSize::Fixed(pow2.clamp(min, max))
        }
        _ => cpal::BufferSize::Default,
    }
}

fn max_channels(ep: &Endpoint) -> u16 {
    ep.ranges.iter().map(|r| r.channels()).max().unwrap_or(0)
}

fn flag_of(dir: Direction) -> &'static str {
    match dir {
        Direction::Input => "--input-device",
        Direction::Output => "--output-device",
    }
}

/// Finds a device by id (full "alsa:default" or bare "default"), then by exact name, then by
/// name ignoring case, over all hosts; `None` gives the default host's default device.
fn find_device(dir: Direction, query: Option<&str>) -> Result<Candidate> {
    let quiet = list::BackendMessages::capture();
    let found = find_device_inner(dir, query);
    drop(quiet.finish());
    found
}

fn find_device_inner(dir: Direction, query: Option<&str>) -> Result<Candidate> {
    let Some(query) = query else {
        let host = cpal::default_host();
        let device = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        let device = device.ok_or_else(|| {
            Error::Device(format!(
                "the {} host has no default {} device; name one with {} (see `sweeplab devices`)",
                host.id().name(),
                dir.as_str(),
                flag_of(dir)
            ))
        })?;
        let id = device
            .id()
            .map_err(|e| Error::Device(format!("default {} device: {e}", dir.as_str())))?;
        let name = device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_else(|_| id.id().to_string());
        return Ok(Candidate {
            device,
            name,
            id: id.to_string(),
            description: Vec::new(),
            default_input: dir == Direction::Input,
            default_output: dir == Direction::Output,
        });
    };
    let mut all: Vec<Candidate> = Vec::new();
    let mut host_errors = Vec::new();
    for host_id in cpal::available_hosts() {
        match cpal::host_from_id(host_id).map_err(|e| e.to_string()) {
            Ok(host) => match list::host_devices(&host) {
                Ok(devs) => all.extend(devs.into_iter().filter(|d| d.may_support(dir))),
                Err(e) => host_errors.push(format!("{}: {e}", host_id.name())),
            },
            Err(e) => host_errors.push(format!("{}: {e}", host_id.name())),
        }
    }
    let bare_id = |c: &Candidate| {
        c.id.split_once(':')
            .map(|(_, b)| b == query)
            .unwrap_or(false)
    };
    let rules: [&dyn Fn(&Candidate) -> bool; 3] = [
        &|c| c.id == query || bare_id(c),
        &|c| c.name == query,
        &|c| c.name.eq_ignore_ascii_case(query),
    ];
    for rule in rules {
        let mut hits: Vec<usize> = (0..all.len()).filter(|&i| rule(&all[i])).collect();
        match hits.len() {
            0 => continue,
            1 => return Ok(all.swap_remove(hits.remove(0))),
            _ => {
                let ids: Vec<String> = hits
                    .iter()
                    .map(|&i| format!("{} ({})", all[i].name, all[i].id))
                    .collect();
                return Err(Error::bad_usage(
                    flag_of(dir),
                    format!(
                        "\"{query}\" matches several {} devices: {}; give the id instead",
                        dir.as_str(),
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
    let available = if all.is_empty() {
        "none".to_string()
    } else {
        all.iter()
            .map(|c| format!("\"{}\" ({})", c.name, c.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let errors = if host_errors.is_empty() {
        String::new()
    } else {
        format!(" (host errors: {})", host_errors.join("; "))
    };
    Err(Error::bad_usage(
        flag_of(dir),
        format!(
            "no {} device named \"{query}\"; available {} devices: {available}{errors}",
            dir.as_str(),
            dir.as_str()
        ),
    ))
}

/// Queries a device's configurations; returns all usable ranges and the endpoint restricted to
/// those containing `rate`.
fn endpoint(
    dir: Direction,
    c: Candidate,
    rate: u32,
) -> Result<(Vec<cpal::SupportedStreamConfigRange>, Endpoint)> {
    let quiet = list::BackendMessages::capture();
    let ranges = list::supported_configs(&c.device, dir);
    let default = match dir {
        Direction::Input => c.device.default_input_config(),
        Direction::Output => c.device.default_output_config(),
    };
    let messages = quiet.finish();
    let all: Vec<_> = ranges
        .map_err(|e| {
            let extra = if messages.is_empty() {
                String::new()
            } else {
                format!(" [{}]", messages.join(" | "))
            };
            Error::Device(format!(
                "cannot open the {} device \"{}\" ({}): {e}{extra}",
                dir.as_str(),
                c.name,
                c.id
            ))
        })?
        .into_iter()
        .filter(|r| format_rank(r.sample_format()).is_some())
        .collect();
    let at_rate = all
        .iter()
        .filter(|r| r.contains_rate(rate))
        .copied()
        .collect();
    let ep = Endpoint {
        dir,
        device: c.device,
        name: c.name,
        id: c.id,
        ranges: at_rate,
        default_channels: default.ok().map(|d| d.channels()),
    };
    Ok((all, ep))
}

/// Distinct rate ranges, sorted.
fn rate_ranges(ranges: &[cpal::SupportedStreamConfigRange]) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = ranges
        .iter()
        .map(|r| (r.min_sample_rate(), r.max_sample_rate()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn describe_rates(v: &[(u32, u32)]) -> String {
    if v.is_empty() {
        return "nothing usable".into();
    }
    v.iter()
        .map(|&(lo, hi)| list::rate_range(lo, hi))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rate_error(
    rate: u32,
    output: &Endpoint,
    out_all: &[cpal::SupportedStreamConfigRange],
    input: &Endpoint,
    in_all: &[cpal::SupportedStreamConfigRange],
) -> Error {
    let o = rate_ranges(out_all);
    let i = rate_ranges(in_all);
    let mut common: Vec<(u32, u32)> = o
        .iter()
        .flat_map(|a| i.iter().map(move |b| (a.0.max(b.0), a.1.min(b.1))))
        .filter(|(lo, hi)| lo <= hi)
        .collect();
    common.sort_unstable();
    common.dedup();
    let which = match (output.ranges.is_empty(), input.ranges.is_empty()) {
        (true, true) => format!("{} nor by the {}", output.label(), input.label()),
        (true, false) => output.label(),
        _ => input.label(),
    };
    Error::bad_usage(
        "--rate",
        format!(
            "{rate} Hz is not supported by the {which}. Output supports {}; input supports {}; \
             both support {}. sweeplab never resamples: choose one of those rates with --rate, \
             or other devices",
            describe_rates(&o),
            describe_rates(&i),
            if common.is_empty() {
                "no common rate".to_string()
            } else {
                describe_rates(&common)
            }
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// State shared with the callbacks (atomics only).

/// Per-callback estimates of a stream's frame-0 instant (ns on that stream's clock), with the
/// stream position (frames) of the callback, for the first [`TIMESTAMP_WINDOW_S`] seconds.
struct TimestampLog {
    frames: Box<[AtomicU64]>,
    ns: Box<[AtomicI64]>,
    len: AtomicUsize,
}

impl TimestampLog {
    fn new() -> Self {
        TimestampLog {
            frames: (0..TIMESTAMP_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            ns: (0..TIMESTAMP_SLOTS).map(|_| AtomicI64::new(0)).collect(),
            len: AtomicUsize::new(0),
        }
    }

    /// Whether a callback at stream position `frames` is still inside the window.
    fn wants(frames: u64, fs: u64) -> bool {
        (frames as f64) < TIMESTAMP_WINDOW_S.1 * fs as f64
    }

    /// Single writer (one callback thread).
    fn record(&self, frames: u64, ns: i64) {
        let i = self.len.load(Ordering::Relaxed);
        if i < self.ns.len() {
            self.frames[i].store(frames, Ordering::Relaxed);
            self.ns[i].store(ns, Ordering::Relaxed);
            self.len.store(i + 1, Ordering::Release);
        }
    }

    /// Median and spread (max − min) of the estimates, ns. Callbacks of the stream's first
    /// [`TIMESTAMP_WINDOW_S`]`.0` seconds are left out when enough later ones exist: an output
    /// stream's first callbacks fill its buffer before the device runs, and their `playback`
    /// instants are tens of ms early.
    fn estimate(&self, fs: u64) -> Option<(i64, i64)> {
        let n = self.len.load(Ordering::Acquire);
        let all: Vec<(u64, i64)> = (0..n)
            .map(|i| {
                (
                    self.frames[i].load(Ordering::Relaxed),
                    self.ns[i].load(Ordering::Relaxed),
                )
            })
            .collect();
        let settled = |&(f, _): &(u64, i64)| f as f64 >= TIMESTAMP_WINDOW_S.0 * fs as f64;
        let mut v: Vec<i64> = if all.iter().filter(|e| settled(e)).count() >= 3 {
            all.iter().filter(|e| settled(e)).map(|e| e.1).collect()
        } else {
            all.iter().map(|e| e.1).collect()
        };
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some((v[v.len() / 2], v[v.len() - 1] - v[0]))
    }
}

#[derive(Default)]
struct Counters {
    /// Input callbacks so far (the stall watchdog).
    in_callbacks: AtomicU64,
    /// Frames pushed into the capture ring.
    in_frames: AtomicU64,
    in_overflows: AtomicU64,
    in_dropped_frames: AtomicU64,
    /// Output frames written (stall watchdog, progress).
    out_frames: AtomicU64,
    out_started: AtomicBool,
    /// `in_frames` when the output callback first ran.
    in_frames_at_out_start: AtomicU64,
    backend_xruns: AtomicU64,
    backend_errors: AtomicU64,
    /// The device is gone or the stream is invalid.
    fatal: AtomicBool,
    /// Errors that did not fit their ring.
    errors_lost: AtomicU64,
}

struct Shared {
    c: Counters,
    out_ts: TimestampLog,
    in_ts: TimestampLog,
}

#[inline]
fn frames_to_ns(frames: u64, fs: u64) -> i64 {
    (frames as u128 * 1_000_000_000 / fs as u128) as i64
}

struct OutputState {
    stimulus: Arc<[f32]>,
    pos: usize,
    frames_written: u64,
    channels: usize,
    /// Per output channel: carries the stimulus.
    route: Box<[bool]>,
    fs: u64,
    shared: Arc<Shared>,
}

impl OutputState {
    fn fill<T: Sample + FromSample<f32>>(
        &mut self,
        data: &mut [T],
        info: &cpal::OutputCallbackInfo,
    ) {
        let c = &self.shared.c;
        if self.frames_written == 0 {
            let at = c.in_frames.load(Ordering::Acquire);
            c.in_frames_at_out_start.store(at, Ordering::Relaxed);
            c.out_started.store(true, Ordering::Release);
        }
        if TimestampLog::wants(self.frames_written, self.fs) {
            let playback = info.timestamp().playback.as_nanos() as i64;
            self.shared.out_ts.record(
                self.frames_written,
                playback - frames_to_ns(self.frames_written, self.fs),
            );
        }
        for frame in data.chunks_exact_mut(self.channels) {
            let s = if self.pos < self.stimulus.len() {
                self.stimulus[self.pos]
            } else {
                0.0
            };
            self.pos += 1;
            for (x, &on) in frame.iter_mut().zip(self.route.iter()) {
                *x = T::from_sample(if on { s } else { 0.0 });
            }
        }
        self.frames_written += (data.len() / self.channels) as u64;
        c.out_frames.store(self.frames_written, Ordering::Release);
    }
}

struct InputState {
    producer: rtrb::Producer<f32>,
    channels: usize,
    select: Box<[usize]>,
    frames_received: u64,
    fs: u64,
    shared: Arc<Shared>,
}

impl InputState {
    fn push<T: Sample>(&mut self, data: &[T], info: &cpal::InputCallbackInfo)
    where
        f32: FromSample<T>,
    {
        let c = &self.shared.c;
        let frames = data.len() / self.channels;
        if TimestampLog::wants(self.frames_received, self.fs) {
            let capture = info.timestamp().capture.as_nanos() as i64;
            self.shared.in_ts.record(
                self.frames_received,
                capture - frames_to_ns(self.frames_received, self.fs),
            );
        }
        self.frames_received += frames as u64;
        let width = self.select.len();
        let fit = (self.producer.slots() / width).min(frames);
        if fit > 0 {
            if let Ok(chunk) = self.producer.write_chunk_uninit(fit * width) {
                let select = &self.select;
                chunk.fill_from_iter(
                    data.chunks_exact(self.channels)
                        .take(fit)
                        .flat_map(|fr| select.iter().map(move |&ch| fr[ch].to_sample::<f32>())),
                );
            }
            c.in_frames.fetch_add(fit as u64, Ordering::Release);
        }
        if fit < frames {
            c.in_overflows.fetch_add(1, Ordering::Relaxed);
            c.in_dropped_frames
                .fetch_add((frames - fit) as u64, Ordering::Relaxed);
        }
        c.in_callbacks.fetch_add(1, Ordering::Release);
    }
}

/// The error callback's side: counts, classifies and hands the error to the calling thread.
struct ErrorReporter {
    ring: rtrb::Producer<cpal::Error>,
    shared: Arc<Shared>,
}

impl ErrorReporter {
    fn report(&mut self, e: cpal::Error) {
        let c = &self.shared.c;
        match e.kind() {
            cpal::ErrorKind::Xrun => {
                c.backend_xruns.fetch_add(1, Ordering::Relaxed);
            }
            cpal::ErrorKind::DeviceNotAvailable
            | cpal::ErrorKind::StreamInvalidated
            | cpal::ErrorKind::DeviceChanged => c.fatal.store(true, Ordering::Release),
            // Not fatal, not worth reporting as a device error.
            cpal::ErrorKind::RealtimeDenied => return,
            _ => {
                c.backend_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.ring.push(e).is_err() {
            c.errors_lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

macro_rules! dispatch_format {
    ($format:expr, $build:ident) => {
        match $format {
            SampleFormat::F32 => $build!(f32),
            SampleFormat::F64 => $build!(f64),
            SampleFormat::I8 => $build!(i8),
            SampleFormat::I16 => $build!(i16),
            SampleFormat::I24 => $build!(cpal::I24),
            SampleFormat::I32 => $build!(i32),
            SampleFormat::I64 => $build!(i64),
            SampleFormat::U8 => $build!(u8),
            SampleFormat::U16 => $build!(u16),
            SampleFormat::U24 => $build!(cpal::U24),
            SampleFormat::U32 => $build!(u32),
            SampleFormat::U64 => $build!(u64),
            other => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {other} is not supported by sweeplab"),
            )),
        }
    };
}

fn build_output(
    device: &cpal::Device,
    config: StreamConfig,
    format: SampleFormat,
    mut state: OutputState,
    mut errors: ErrorReporter,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    macro_rules! build {
        ($t:ty) => {
            device.build_output_stream::<$t, _, _>(
                config,
                move |data: &mut [$t], info| state.fill(data, info),
                move |e| errors.report(e),
                Some(BACKEND_POLL_TIMEOUT),
            )
        };
    }
    dispatch_format!(format, build)
}

fn build_input(
    device: &cpal::Device,
    config: StreamConfig,
    format: SampleFormat,
    mut state: InputState,
    mut errors: ErrorReporter,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    macro_rules! build {
        ($t:ty) => {
            device.build_input_stream::<$t, _, _>(
                config,
                move |data: &[$t], info| state.push(data, info),
                move |e| errors.report(e),
                Some(BACKEND_POLL_TIMEOUT),
            )
        };
    }
    dispatch_format!(format, build)
}

// ---------------------------------------------------------------------------------------------
// The calling thread.

enum Outcome {
    Done,
    Stopped,
    Failed(String),
}

fn peak_dbfs(peak: f32) -> f64 {
    20.0 * (peak as f64).log10()
}

/// Drops the streams (output first) on a helper thread and waits at most [`CLOSE_TIMEOUT`] for
/// that. Closing can block as long as the backend does not answer (PulseAudio's ALSA plugin
/// waits for a frozen server indefinitely); a run must still return, so a stuck close is left
/// to finish in the background. Returns whether the streams were closed in time.
fn close_streams(output: cpal::Stream, input: cpal::Stream) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("sweeplab-close-streams".into())
        .spawn(move || {
            drop(output);
            drop(input);
            let _ = tx.send(());
        });
    // If no thread can be spawned, the closure (with the streams) was dropped right here.
    spawned.is_err() || rx.recv_timeout(CLOSE_TIMEOUT).is_ok()
}

/// `in.now() − out.now()` in ns, from the back-to-back reading (of 20) with the tightest
/// bracket.
fn clock_offset(out: &cpal::Stream, inp: &cpal::Stream) -> i64 {
    let mut best = (u128::MAX, 0i64);
    for _ in 0..20 {
        let a = out.now().as_nanos();
        let b = inp.now().as_nanos();
        let c = out.now().as_nanos();
        let bracket = c.saturating_sub(a);
        if bracket < best.0 {
            best = (bracket, (b as i128 - ((a + c) / 2) as i128) as i64);
        }
    }
    best.1
}

fn format_errors(errors: &[(String, u64)], lost: u64) -> Vec<String> {
    let mut v: Vec<String> = errors
        .iter()
        .map(|(t, n)| {
            if *n > 1 {
                format!("{t} (×{n})")
            } else {
                t.clone()
            }
        })
        .collect();
    if lost > 0 {
        v.push(format!("{lost} further error report(s) lost"));
    }
    v
}

/// The calling thread's side of a run: drains the capture, watches the streams.
struct Pump<'a> {
    shared: &'a Shared,
    consumer: rtrb::Consumer<f32>,
    error_rings: [(&'static str, rtrb::Consumer<cpal::Error>); 2],
    width: usize,
    total_after_start: u64,
    /// Frames delivered to the sink.
    delivered: u64,
    /// Peak magnitude delivered since the last progress report.
    peak: f32,
    /// Formatted backend errors with their counts.
    errors: Vec<(String, u64)>,
    clock_offset_ns: Option<i64>,
}

impl Pump<'_> {
    /// Frames to deliver in total: unknown (`u64::MAX`) until the output has started.
    fn limit(&self) -> u64 {
        let c = &self.shared.c;
        if c.out_started.load(Ordering::Acquire) {
            c.in_frames_at_out_start.load(Ordering::Relaxed) + self.total_after_start
        } else {
            u64::MAX
        }
    }

    /// Moves what the ring holds to the sink, up to the limit.
    fn drain(&mut self, sink: &mut dyn CaptureSink) -> Result<()> {
        let available = (self.consumer.slots() / self.width) as u64;
        let n = available.min(self.limit().saturating_sub(self.delivered)) as usize;
        if n == 0 {
            return Ok(());
        }
        let chunk = self
            .consumer
            .read_chunk(n * self.width)
            .map_err(|e| Error::Device(format!("capture ring: {e}")))?;
        let (a, b) = chunk.as_slices();
        self.peak = a.iter().chain(b).fold(self.peak, |m, &x| m.max(x.abs()));
        for part in [a, b] {
            if !part.is_empty() {
                sink.write(part)?;
            }
        }
        chunk.commit_all();
        self.delivered += n as u64;
        Ok(())
    }

    /// Formats the errors the callbacks reported; identical ones are merged with a count.
    fn collect_errors(&mut self) {
        for (which, ring) in self.error_rings.iter_mut() {
            while let Ok(e) = ring.pop() {
                let text = format!("{which}: {e}");
                match self.errors.iter_mut().find(|(t, _)| *t == text) {
                    Some((_, n)) => *n += 1,
                    None => self.errors.push((text, 1)),
                }
            }
        }
    }

    /// Starts the input, then the output once the input delivers, and drains the capture
    /// until the end, the stop flag or a failure. `Err` only for a sink error.
    fn monitor(
        &mut self,
        out_stream: &cpal::Stream,
        in_stream: &cpal::Stream,
        fs: u32,
        sink: &mut dyn CaptureSink,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Outcome> {
        let c = &self.shared.c;
        let started = Instant::now();
        // Generous bound on the whole run: the device clock would have to run at 2/3 speed.
        let deadline = started
            + STALL_TIMEOUT * 2
            + Duration::from_secs_f64(1.5 * self.total_after_start as f64 / fs as f64);
        if let Err(e) = in_stream.play() {
            return Ok(Outcome::Failed(format!(
                "cannot start the input stream: {e}"
            )));
        }
        let mut out_play_time: Option<Instant> = None;
        let mut last_in = (0u64, started);
        let mut last_out = (0u64, started);
        let mut last_progress = started;
        loop {
            std::thread::sleep(POLL_INTERVAL);
            let now = Instant::now();
            self.drain(sink)?;
            let limit = self.limit();
            if self.delivered >= limit {
                return Ok(Outcome::Done);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(Outcome::Stopped);
            }
            self.collect_errors();
            if c.fatal.load(Ordering::Acquire) {
                return Ok(Outcome::Failed("the device is no longer available".into()));
            }
            if c.backend_errors.load(Ordering::Relaxed) >= MAX_BACKEND_ERRORS {
                return Ok(Outcome::Failed(format!(
                    "the backend keeps failing ({MAX_BACKEND_ERRORS} errors): the device or \
                     audio server has probably gone away"
                )));
            }
            let in_cb = c.in_callbacks.load(Ordering::Acquire);
            if in_cb != last_in.0 {
                last_in = (in_cb, now);
            } else if now - last_in.1 > STALL_TIMEOUT {
                return Ok(Outcome::Failed(format!(
                    "no input data for {:.1} s",
                    (now - last_in.1).as_secs_f64()
                )));
            }
            match out_play_time {
                // The input runs: start the output.
                None if in_cb > 0 => {
                    if let Err(e) = out_stream.play() {
                        return Ok(Outcome::Failed(format!(
                            "cannot start the output stream: {e}"
                        )));
                    }
                    let t = Instant::now();
                    out_play_time = Some(t);
                    last_out = (0, t);
                    self.clock_offset_ns = Some(clock_offset(out_stream, in_stream));
                }
                None => {}
                Some(played) => {
                    let out_n = c.out_frames.load(Ordering::Acquire);
                    if out_n != last_out.0 {
                        last_out = (out_n, now);
                    } else if now - last_out.1 > STALL_TIMEOUT {
                        return Ok(Outcome::Failed(if out_n == 0 {
                            format!(
                                "the output stream did not start within {:.1} s",
                                (now - played).as_secs_f64()
                            )
                        } else {
                            format!(
                                "the output stream stopped consuming audio for {:.1} s",
                                (now - last_out.1).as_secs_f64()
                            )
                        }));
                    }
                }
            }
            if now > deadline {
                return Ok(Outcome::Failed(format!(
                    "the devices are far too slow: {} frames captured in {:.1} s",
                    self.delivered,
                    (now - started).as_secs_f64()
                )));
            }
            if now - last_progress >= PROGRESS_INTERVAL {
                last_progress = now;
                let done = (self.delivered + self.total_after_start).saturating_sub(limit);
                progress(Progress {
                    frames_done: done,
                    frames_total: self.total_after_start,
                    input_peak_dbfs: peak_dbfs(self.peak),
                });
                self.peak = 0.0;
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            c: Counters::default(),
            out_ts: TimestampLog::new(),
            in_ts: TimestampLog::new(),
        })
    }

    fn out_info(playback_ns: u64) -> cpal::OutputCallbackInfo {
        cpal::OutputCallbackInfo::new(cpal::OutputStreamTimestamp {
            callback: cpal::StreamInstant::from_nanos(playback_ns / 2),
            playback: cpal::StreamInstant::from_nanos(playback_ns),
        })
    }

    fn in_info(capture_ns: u64) -> cpal::InputCallbackInfo {
        cpal::InputCallbackInfo::new(cpal::InputStreamTimestamp {
            callback: cpal::StreamInstant::from_nanos(capture_ns * 2),
            capture: cpal::StreamInstant::from_nanos(capture_ns),
        })
    }

    #[test]
    fn output_routes_converts_and_pads_with_silence() {
        let sh = shared();
        sh.c.in_frames.store(7, Ordering::Relaxed);
        let mut out = OutputState {
            stimulus: Arc::from(&[0.5f32, -0.5, 0.25][..]),
            pos: 0,
            frames_written: 0,
            channels: 3,
            route: vec![false, true, false].into_boxed_slice(),
            fs: 1000,
            shared: sh.clone(),
        };
        let mut buf = [99i16; 6];
        out.fill(&mut buf, &out_info(5_000_000_000));
        assert_eq!(buf, [0, 16384, 0, 0, -16384, 0]);
        out.fill(&mut buf, &out_info(5_002_000_000));
        assert_eq!(buf, [0, 8192, 0, 0, 0, 0]);
        assert!(sh.c.out_started.load(Ordering::Relaxed));
        assert_eq!(sh.c.in_frames_at_out_start.load(Ordering::Relaxed), 7);
        assert_eq!(sh.c.out_frames.load(Ordering::Relaxed), 4);
        // Both callbacks put frame 0 at 5 s (the second one's first frame is frame 2).
        assert_eq!(sh.out_ts.estimate(1000), Some((5_000_000_000, 0)));
    }

    #[test]
    fn input_selects_converts_and_counts_overflow() {
        let sh = shared();
        let (producer, mut consumer) = rtrb::RingBuffer::<f32>::new(6);
        let mut inp = InputState {
            producer,
            channels: 3,
            select: vec![2, 0].into_boxed_slice(),
            frames_received: 0,
            fs: 1000,
            shared: sh.clone(),
        };
        // u8 is offset binary: 128 = 0.0, 192 = 0.5, 64 = -0.5.
        inp.push(&[192u8, 0, 64, 128, 0, 192], &in_info(1_000_000_000));
        inp.push(&[64u8, 0, 128, 192, 0, 64], &in_info(1_002_000_000));
        let got: Vec<f32> = std::iter::from_fn(|| consumer.pop().ok()).collect();
        // Room for 3 frames: the 4th is dropped and counted.
        assert_eq!(got, [-0.5, 0.5, 0.5, 0.0, 0.0, -0.5]);
        assert_eq!(sh.c.in_frames.load(Ordering::Relaxed), 3);
        assert_eq!(sh.c.in_overflows.load(Ordering::Relaxed), 1);
        assert_eq!(sh.c.in_dropped_frames.load(Ordering::Relaxed), 1);
        assert_eq!(sh.c.in_callbacks.load(Ordering::Relaxed), 2);
        assert_eq!(sh.in_ts.estimate(1000), Some((1_000_000_000, 0)));
    }

    #[test]
    fn timestamp_estimate_ignores_the_buffer_fill() {
        let log = TimestampLog::new();
        let fs = 48_000;
        // Buffer-filling callbacks: tens of ms early.
        for (i, early_ms) in [30, 60, 20].iter().enumerate() {
            log.record(i as u64 * 1365, 1_000_000_000 - early_ms * 1_000_000);
        }
        for i in 3..40u64 {
            log.record(i * 1365, 1_000_000_000 + (i as i64 % 3) * 10_000);
        }
        let (median, spread) = log.estimate(fs).unwrap();
        assert_eq!(median, 1_000_010_000);
        assert_eq!(spread, 20_000);
        // Beyond the window nothing is wanted.
        assert!(TimestampLog::wants(fs, fs));
        assert!(!TimestampLog::wants(fs * 2, fs));
    }

    #[test]
    fn period_is_the_power_of_two_nearest_40_ms_within_range() {
        let range = |min, max| cpal::SupportedBufferSize::Range { min, max };
        assert_eq!(
            buffer_size(&range(64, 8192), 48_000),
            cpal::BufferSize::Fixed(2048)
        );
        assert_eq!(
            buffer_size(&range(64, 8192), 44_100),
            cpal::BufferSize::Fixed(2048)
        );
        assert_eq!(
            buffer_size(&range(64, 8192), 96_000),
            cpal::BufferSize::Fixed(4096)
        );
        assert_eq!(
            buffer_size(&range(64, 1024), 48_000),
            cpal::BufferSize::Fixed(1024)
        );
        assert_eq!(
            buffer_size(&range(4096, 8192), 8_000),
            cpal::BufferSize::Fixed(4096)
        );
        assert_eq!(
            buffer_size(&cpal::SupportedBufferSize::Unknown, 48_000),
            cpal::BufferSize::Default
        );
    }
}
