//! What runs on the audio threads: the output and input callbacks' state and the error
//! callback. They never allocate, lock, print or touch the disk: they read and write memory
//! allocated before the streams start, push into a lock-free ring and update atomics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cpal::traits::DeviceTrait;
use cpal::{FromSample, Sample, SampleFormat, StreamConfig};

use super::*;

#[derive(Default)]
pub(super) struct Counters {
    /// Input callbacks so far (the stall watchdog).
    pub(super) in_callbacks: AtomicU64,
    /// Frames pushed into the capture ring.
    pub(super) in_frames: AtomicU64,
    pub(super) in_overflows: AtomicU64,
    pub(super) in_dropped_frames: AtomicU64,
    /// Output frames written (stall watchdog, progress).
    pub(super) out_frames: AtomicU64,
    pub(super) out_started: AtomicBool,
    /// `in_frames` when the output callback first ran.
    pub(super) in_frames_at_out_start: AtomicU64,
    pub(super) backend_xruns: AtomicU64,
    pub(super) backend_errors: AtomicU64,
    /// The device is gone or the stream is invalid.
    pub(super) fatal: AtomicBool,
    /// Errors that did not fit their ring.
    pub(super) errors_lost: AtomicU64,
}

pub(super) struct Shared {
    pub(super) c: Counters,
    pub(super) out_ts: TimestampLog,
    pub(super) in_ts: TimestampLog,
}

pub(super) struct OutputState {
    pub(super) stimulus: Arc<[f32]>,
    pub(super) pos: usize,
    pub(super) frames_written: u64,
    pub(super) channels: usize,
    /// Per output channel: carries the stimulus.
    pub(super) route: Box<[bool]>,
    pub(super) fs: u64,
    pub(super) shared: Arc<Shared>,
}

impl OutputState {
    pub(super) fn fill<T: Sample + FromSample<f32>>(
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

pub(super) struct InputState {
    pub(super) producer: rtrb::Producer<f32>,
    pub(super) channels: usize,
    pub(super) select: Box<[usize]>,
    pub(super) frames_received: u64,
    pub(super) fs: u64,
    pub(super) shared: Arc<Shared>,
}

impl InputState {
    pub(super) fn push<T: Sample>(&mut self, data: &[T], info: &cpal::InputCallbackInfo)
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
pub(super) struct ErrorReporter {
    pub(super) ring: rtrb::Producer<cpal::Error>,
    pub(super) shared: Arc<Shared>,
}

impl ErrorReporter {
    pub(super) fn report(&mut self, e: cpal::Error) {
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

pub(super) fn build_output(
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

pub(super) fn build_input(
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
