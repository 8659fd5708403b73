//! The calling thread's side of a run: draining the capture ring into the sink, progress,
//! the stop flag, stalls and backend errors, and closing the streams.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::StreamTrait;

use super::*;

// ---------------------------------------------------------------------------------------------
// The calling thread.

pub(super) enum Outcome {
    Done,
    Stopped,
    Failed(String),
}

pub(super) fn peak_dbfs(peak: f32) -> f64 {
    20.0 * (peak as f64).log10()
}

/// Drops the streams (output first) on a helper thread and waits at most [`CLOSE_TIMEOUT`] for
/// that. Closing can block as long as the backend does not answer (PulseAudio's ALSA plugin
/// waits for a frozen server indefinitely); a run must still return, so a stuck close is left
/// to finish in the background. Returns whether the streams were closed in time.
pub(super) fn close_streams(output: cpal::Stream, input: cpal::Stream) -> bool {
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

pub(super) fn format_errors(errors: &[(String, u64)], lost: u64) -> Vec<String> {
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
pub(super) struct Pump<'a> {
    pub(super) shared: &'a Shared,
    pub(super) consumer: rtrb::Consumer<f32>,
    pub(super) error_rings: [(&'static str, rtrb::Consumer<cpal::Error>); 2],
    pub(super) width: usize,
    pub(super) total_after_start: u64,
    /// Frames delivered to the sink.
    pub(super) delivered: u64,
    /// Peak magnitude delivered since the last progress report.
    pub(super) peak: f32,
    /// Formatted backend errors with their counts.
    pub(super) errors: Vec<(String, u64)>,
    pub(super) clock_offset_ns: Option<i64>,
}

impl Pump<'_> {
    /// Frames to deliver in total: unknown (`u64::MAX`) until the output has started.
    pub(super) fn limit(&self) -> u64 {
        let c = &self.shared.c;
        if c.out_started.load(Ordering::Acquire) {
            c.in_frames_at_out_start.load(Ordering::Relaxed) + self.total_after_start
        } else {
            u64::MAX
        }
    }

    /// Moves what the ring holds to the sink, up to the limit.
    pub(super) fn drain(&mut self, sink: &mut dyn CaptureSink) -> Result<()> {
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
    pub(super) fn collect_errors(&mut self) {
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
    pub(super) fn monitor(
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
