//! The simulated measurement rig: a [`Duplex`] that "plays" the stimulus through a
//! [`DeviceModel`] and delivers the capture block by block, as a real device does.
//!
//! The capture is rendered incrementally in blocks of [`DEFAULT_BLOCK_FRAMES`] frames: filter
//! states, delay lines, the drift resampler's history and the noise generators carry over
//! from block to block, so the capture does not depend on the block size (a test checks it
//! bit for bit). A run captures `stimulus.len() + extra_frames` frames, calls the sink once
//! per block, reports progress every 0.1 s of audio, checks the stop flag before every block
//! and, for a `device_lost` fault, delivers what was captured before the loss and then fails
//! with [`Error::Device`]. It runs as fast as it can (no real-time pacing). Output routing is
//! irrelevant: the model is the whole path from the stimulus to the capture. The same model
//! and seed always give the same capture.
//!
//! See [`crate::sim::model`] for the signal chain and the model file.

use std::collections::VecDeque;
use std::f64::consts::PI;
use std::sync::atomic::{AtomicBool, Ordering};

use super::model::{
    DeviceModel, DropoutMode, ExtraChannels, Fault, NoiseColor, PinkFilter, Stage, delay_plan,
};
use crate::device::{CaptureSink, Duplex, OutputRouting, Progress, RunRequest, RunStats};
use crate::dsp::filters::{Biquad, BiquadState};
use crate::dsp::resample::{HALF_TAPS, SincInterpolator};
use crate::error::{Error, Result};

/// Frames per delivered block (10 ms at 48 kHz).
pub const DEFAULT_BLOCK_FRAMES: usize = 480;

/// A simulated playback + capture device.
#[derive(Debug, Clone)]
pub struct SimDuplex {
    model: DeviceModel,
    seed: u64,
    block_frames: usize,
}

impl SimDuplex {
    /// A device that behaves as `model`, its noise drawn from `seed`.
    pub fn new(model: DeviceModel, seed: u64) -> Self {
        SimDuplex {
            model,
            seed,
            block_frames: DEFAULT_BLOCK_FRAMES,
        }
    }

    /// Delivers blocks of `frames` frames instead of [`DEFAULT_BLOCK_FRAMES`].
    pub fn with_block_frames(mut self, frames: usize) -> Self {
        self.block_frames = frames.max(1);
        self
    }

    pub fn model(&self) -> &DeviceModel {
        &self.model
    }

    /// The model a run plays: a two-sided model's driven side when the run drives one
    /// side (see [`DeviceModel::side`]), the model itself otherwise.
    fn played(&self, req: &RunRequest) -> Option<(DeviceModel, &'static str)> {
        self.model.sides.as_ref()?;
        match req.output {
            OutputRouting::Left => Some((self.model.side(crate::kind::Side::Left), "left driver")),
            OutputRouting::Right => {
                Some((self.model.side(crate::kind::Side::Right), "right driver"))
            }
            OutputRouting::Both => None,
        }
    }

    fn selected_channels(&self, model: &DeviceModel, req: &RunRequest) -> Result<Vec<u16>> {
        match &req.input_channels {
            None => Ok((0..model.channels).collect()),
            Some(list) => {
                if list.is_empty() {
                    return Err(Error::bad_usage(
                        "--input-channels",
                        "the list of input channels is empty",
                    ));
                }
                if let Some(c) = list.iter().find(|&&c| c >= model.channels) {
                    return Err(Error::bad_usage(
                        "--input-channels",
                        format!(
                            "channel {c} does not exist: the simulated device {} has {} capture channel(s), numbered from 0",
                            model.name, model.channels
                        ),
                    ));
                }
                Ok(list.clone())
            }
        }
    }
}

/// `run` checks the model at the request's rate first ([`DeviceModel::check_rate`]; a bad
/// model is `Error::BadInput`, a bad channel list `Error::BadUsage`). Its [`RunStats`]:
/// `xruns` counts the `missing` dropouts (a backend reports lost frames; `zero` dropouts go
/// unreported, as a glitching driver's do), `timestamp_latency_s` is the model's nominal
/// latency, the device names start with "simulated:".
impl Duplex for SimDuplex {
    fn input_channel_count(&self, req: &RunRequest) -> u16 {
        let channels = self
            .played(req)
            .map_or(self.model.channels, |(m, _)| m.channels);
        req.input_channels
            .as_ref()
            .map_or(channels, |l| l.len() as u16)
    }

    fn run(
        &mut self,
        req: &RunRequest,
        sink: &mut dyn CaptureSink,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunStats> {
        self.model.check_rate(req.sample_rate)?;
        // a two-sided model plays the driver of the side the run drives
        let played = self.played(req);
        let (model, routing) = match &played {
            Some((m, r)) => (m, *r),
            None => (&self.model, "output routing ignored"),
        };
        let channels = self.selected_channels(model, req)?;
        let fs = f64::from(req.sample_rate);
        let total = req.stimulus.len() as u64 + req.extra_frames as u64;
        let label = self.model.label.clone().unwrap_or(self.model.name.clone());
        let mut stats = RunStats {
            channels: channels.len() as u16,
            timestamp_latency_s: Some(model.latency.samples(fs) / fs),
            output_device: format!("simulated: {label} ({routing})"),
            input_device: format!("simulated: {label}"),
            ..RunStats::default()
        };
        let mut r = Renderer::new(model, req.stimulus, fs, self.seed, &channels);
        let nch = channels.len();
        let progress_every = (fs / 10.0).round().max(1.0) as u64;
        let mut since_progress = 0u64;
        let mut block = Vec::with_capacity(self.block_frames * nch);
        let mut frames = 0u64;
        while frames < total {
            if stop.load(Ordering::Relaxed) {
                stats.interrupted = true;
                break;
            }
            let n = (self.block_frames as u64).min(total - frames) as usize;
            block.clear();
            let mut lost = false;
            for _ in 0..n {
                if !r.render_frame(&mut block) {
                    lost = true;
                    break;
                }
            }
            let got = (block.len() / nch) as u64;
            if got > 0 {
                sink.write(&block)?;
            }
            frames += got;
            stats.frames_captured = frames;
            stats.xruns = r.xruns;
            if lost {
                let at = r.lost_at_s.unwrap_or(0.0);
                return Err(Error::Device(format!(
                    "simulated device lost at {at:.3} s (model {}, fault device_lost) after {frames} frames",
                    self.model.name
                )));
            }
            since_progress += got;
            if since_progress >= progress_every || frames == total {
                since_progress = 0;
                let peak = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                progress(Progress {
                    frames_done: frames,
                    frames_total: total,
                    input_peak_dbfs: 20.0 * f64::from(peak).max(1e-10).log10(),
                });
            }
        }
        Ok(stats)
    }
}

// ---------------------------------------------------------------------------------------

/// SplitMix64 with Box–Muller: reproducible Gaussian noise.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
}

/// A streaming FIR (direct form over a doubled ring buffer).
struct FirState {
    taps_rev: Vec<f64>,
    buf: Vec<f64>,
    pos: usize,
}

impl FirState {
    fn new(taps: &[f64]) -> Self {
        FirState {
            taps_rev: taps.iter().rev().copied().collect(),
            buf: vec![0.0; 2 * taps.len()],
            pos: 0,
        }
    }
    #[inline]
    fn process(&mut self, x: f64) -> f64 {
        let l = self.taps_rev.len();
        self.buf[self.pos] = x;
        self.buf[self.pos + l] = x;
        // buf[pos+1 ..= pos+l] holds x[n−l+1] … x[n]
        let y = self.buf[self.pos + 1..=self.pos + l]
            .iter()
            .zip(&self.taps_rev)
            .map(|(a, b)| a * b)
            .sum();
        self.pos = (self.pos + 1) % l;
        y
    }
}

enum StageState {
    Biquad(Biquad, BiquadState),
    Fir(FirState),
}

/// The playback-clock part of the chain: gain, stages, nonlinearity, latency.
struct Playback<'a> {
    stimulus: &'a [f32],
    next: usize,
    gain: f64,
    stages: Vec<StageState>,
    model: &'a DeviceModel,
    frac: Option<FirState>,
    line: VecDeque<f64>,
}

impl Playback<'_> {
    fn next_sample(&mut self) -> f64 {
        let x = self.stimulus.get(self.next).map_or(0.0, |&v| f64::from(v));
        self.next += 1;
        let mut y = x * self.gain;
        for s in &mut self.stages {
            y = match s {
                StageState::Biquad(q, st) => st.process(q, y),
                StageState::Fir(f) => f.process(y),
            };
        }
        y = self.model.nonlinearity.apply(y);
        if let Some(f) = &mut self.frac {
            y = f.process(y);
        }
        if self.line.is_empty() {
            y
        } else {
            self.line.push_back(y);
            self.line.pop_front().unwrap_or(0.0)
        }
    }
}

/// The rendered playback signal, indexed by playback sample, produced on demand.
struct Source<'a> {
    pb: Playback<'a>,
    buf: VecDeque<f64>,
    base: i64,
}

impl Source<'_> {
    fn at(&mut self, n: i64) -> f64 {
        if n < self.base {
            return 0.0; // before the start (n < 0) or already trimmed (never asked for)
        }
        while self.base + (self.buf.len() as i64) <= n {
            let v = self.pb.next_sample();
            self.buf.push_back(v);
        }
        self.buf[(n - self.base) as usize]
    }
    /// Forgets samples before `n`.
    fn trim(&mut self, n: i64) {
        while self.base < n && !self.buf.is_empty() {
            self.buf.pop_front();
            self.base += 1;
        }
    }
}

enum NoiseGen {
    White {
        sigma: f64,
        rng: Rng,
    },
    Pink {
        sigma: f64,
        rng: Rng,
        filter: PinkFilter,
    },
    Hum {
        /// (ω per sample, amplitude, phase)
        partials: Vec<(f64, f64, f64)>,
    },
}

impl NoiseGen {
    #[inline]
    fn next(&mut self, m: u64) -> f64 {
        match self {
            NoiseGen::White { sigma, rng } => *sigma * rng.gauss(),
            NoiseGen::Pink { sigma, rng, filter } => filter.process(*sigma * rng.gauss()),
            NoiseGen::Hum { partials } => {
                let t = m as f64;
                partials
                    .iter()
                    .map(|&(w, a, ph)| a * (w * t + ph).sin())
                    .sum()
            }
        }
    }
}

/// Seed of an independent stream.
fn stream_seed(seed: u64, channel: u16, source: usize) -> u64 {
    let mut r = Rng(seed ^ (u64::from(channel) << 40) ^ ((source as u64 + 1) << 20));
    r.next_u64()
}

struct ChannelGen {
    /// The channel's share of the played signal (1: whole, 0: noise only).
    signal: f64,
    noise: Vec<NoiseGen>,
}

/// Renders capture frames one by one.
struct Renderer<'a> {
    source: Source<'a>,
    interp: Option<SincInterpolator>,
    /// 1 / (1 + ppm·10⁻⁶)
    rate: f64,
    /// Device-time index of the next capture frame.
    m: u64,
    channels: Vec<ChannelGen>,
    mutes: Vec<(u64, u64)>,
    zeros: Vec<(u64, u64)>,
    /// (start, length), sorted; `next_missing` indexes the next one.
    missing: Vec<(u64, u64)>,
    next_missing: usize,
    /// (frame, factor), sorted.
    agc: Vec<(u64, f64)>,
    clip: f64,
    lost: Option<u64>,
    lost_at_s: Option<f64>,
    xruns: u64,
}

impl<'a> Renderer<'a> {
    fn new(
        model: &'a DeviceModel,
        stimulus: &'a [f32],
        fs: f64,
        seed: u64,
        channels: &[u16],
    ) -> Self {
        let plan = delay_plan(model.latency.samples(fs))
            .unwrap_or(super::model::DelayPlan { line: 0, fir: None });
        let stages = model
            .stages
            .iter()
            .map(|s| match s {
                Stage::Biquad {
                    shape,
                    freq_hz,
                    q,
                    gain_db,
                } => StageState::Biquad(
                    shape.design(fs, *freq_hz, *q, *gain_db),
                    BiquadState::default(),
                ),
                Stage::Fir { taps, .. } => StageState::Fir(FirState::new(taps)),
            })
            .collect();
        let pb = Playback {
            stimulus,
            next: 0,
            gain: 10f64.powf(model.gain_db / 20.0),
            stages,
            model,
            frac: plan.fir.as_deref().map(FirState::new),
            line: std::iter::repeat_n(0.0, plan.line).collect(),
        };
        let plans: Vec<_> = model.noise.iter().map(|n| n.plan(fs)).collect();
        let channels = channels
            .iter()
            .map(|&c| {
                let noise = model
                    .noise
                    .iter()
                    .zip(&plans)
                    .enumerate()
                    .map(|(i, (src, p))| {
                        let mut rng = Rng(stream_seed(seed, c, i));
                        match src.color {
                            NoiseColor::White => NoiseGen::White {
                                sigma: p.sigma,
                                rng,
                            },
                            NoiseColor::Pink => NoiseGen::Pink {
                                sigma: p.sigma,
                                rng,
                                filter: PinkFilter::default(),
                            },
                            NoiseColor::Hum { .. } => NoiseGen::Hum {
                                partials: p
                                    .partials
                                    .iter()
                                    .map(|&(f, a)| (2.0 * PI * f / fs, a, 2.0 * PI * rng.uniform()))
                                    .collect(),
                            },
                        }
                    })
                    .collect();
                let whole = c == 0 || model.extra_channels == ExtraChannels::Copy;
                ChannelGen {
                    signal: match &model.capture_gains {
                        Some(g) => g.get(usize::from(c)).copied().unwrap_or(0.0),
                        None => f64::from(u8::from(whole)),
                    },
                    noise,
                }
            })
            .collect();
        let frame = |s: f64| (s * fs).round().max(0.0) as u64;
        let span = |ms: f64| (ms * fs / 1000.0).round().max(0.0) as u64;
        let (mut mutes, mut zeros, mut missing, mut agc) = (vec![], vec![], vec![], vec![]);
        let mut clip = 1.0f64;
        let mut lost = None;
        let mut lost_at_s = None;
        for f in &model.faults {
            match *f {
                Fault::Dropout {
                    at_s,
                    duration_ms,
                    mode,
                } => {
                    let iv = (frame(at_s), span(duration_ms));
                    match mode {
                        DropoutMode::Zero => zeros.push((iv.0, iv.0 + iv.1)),
                        DropoutMode::Missing => missing.push(iv),
                    }
                }
                Fault::AgcStep { at_s, gain_db } => {
                    agc.push((frame(at_s), 10f64.powf(gain_db / 20.0)))
                }
                Fault::Mute { at_s, duration_ms } => {
                    let a = frame(at_s);
                    mutes.push((a, duration_ms.map_or(u64::MAX, |d| a + span(d))));
                }
                Fault::Clip { level } => clip = clip.min(level),
                Fault::DeviceLost { at_s } => {
                    lost = Some(frame(at_s));
                    lost_at_s = Some(at_s);
                }
            }
        }
        missing.sort_unstable();
        agc.sort_by_key(|a| a.0);
        let drift = model.drift_ppm * 1e-6;
        Renderer {
            source: Source {
                pb,
                buf: VecDeque::new(),
                base: 0,
            },
            interp: (drift != 0.0).then(SincInterpolator::new),
            rate: 1.0 / (1.0 + drift),
            m: 0,
            channels,
            mutes,
            zeros,
            missing,
            next_missing: 0,
            agc,
            clip,
            lost,
            lost_at_s,
            xruns: 0,
        }
    }

    /// Appends one frame to `out`; false when the device is lost at this frame.
    fn render_frame(&mut self, out: &mut Vec<f32>) -> bool {
        while let Some(&(a, len)) = self.missing.get(self.next_missing) {
            if self.m < a {
                break;
            }
            if self.m < a + len {
                self.m = a + len;
                self.xruns += 1;
            }
            self.next_missing += 1;
        }
        let m = self.m;
        if self.lost.is_some_and(|l| m >= l) {
            return false;
        }
        let signal = match &self.interp {
            None => {
                let v = self.source.at(m as i64);
                self.source.trim(m as i64);
                v
            }
            Some(k) => {
                let t = m as f64 * self.rate;
                let v = k.value(t, |n| self.source.at(n));
                self.source.trim(t.floor() as i64 - HALF_TAPS as i64 - 2);
                v
            }
        };
        let inside = |iv: &[(u64, u64)]| iv.iter().any(|&(a, b)| m >= a && m < b);
        let muted = inside(&self.mutes);
        let zeroed = inside(&self.zeros);
        let gain: f64 = self
            .agc
            .iter()
            .take_while(|&&(a, _)| a <= m)
            .map(|&(_, g)| g)
            .product();
        for ch in &mut self.channels {
            let mut v = if muted { 0.0 } else { ch.signal * signal };
            for n in &mut ch.noise {
                v += n.next(m);
            }
            v *= gain;
            if zeroed {
                v = 0.0;
            }
            out.push(v.clamp(-self.clip, self.clip) as f32);
        }
        self.m += 1;
        true
    }
}

#[cfg(test)]
#[path = "duplex_tests.rs"]
mod tests;
