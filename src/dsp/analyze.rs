//! The whole analysis of one stimulus and its capture channels: deconvolution, impulse
//! response, latency, frequency response, harmonic distortion, noise floor, SNR, warnings.
//! Pure: samples in, `ChannelAnalysis` out.
//!
//! Every figure is either measured or absent: a channel without signal gets no figures; the
//! response, THD and the figures derived from them cover only the band the capture holds
//! (a capture that starts late or stops early holds less than the sweep); harmonics count
//! only inside the swept band and above their window's noise; the noise floor is measured
//! only on silence before the sweep that is not digital silence.

use std::f64::consts::PI;
use std::sync::OnceLock;

use realfft::num_complex::Complex64;

use super::csd::channel_csd;
use super::deconv::Deconvolver;
use super::distortion::{HarmonicBand, LINEAR_SHARE, Leakage, distortion};
use super::drift::judged_drift;
pub use super::drift::{DRIFT_PLAUSIBLE_PPM, DRIFT_WARN_PPM};
use super::faults::{
    Measured, capture_faults, dropout_warnings, dropouts, loud_and_quiet, zero_runs,
};
use super::fft::{FftCache, good_size};
use super::gate;
use super::ir::{extract_window, peak_position};
use super::noise::noise_before_sweep;
use super::spectrogram::capture_spectrogram;
pub use super::sweep::SweepLayout;
use super::window::{FDW_CYCLES, find_decay, windowed_response};
use crate::results::{
    ChannelAnalysis, FrequencyResponse, Impulse, ResponseWindow, SmoothedCurve, Thd,
};

/// Points per octave of the reported frequency response.
pub const POINTS_PER_OCTAVE: f64 = 96.0;

/// The frequencies the response is evaluated at: [`POINTS_PER_OCTAVE`] an octave from
/// `start_hz`, and `end_hz` itself when it falls between two of them.
pub fn analysis_grid(start_hz: f64, end_hz: f64) -> Vec<f64> {
    let octaves = (end_hz / start_hz).log2();
    let count = (octaves * POINTS_PER_OCTAVE).floor() as usize;
    let mut grid_hz: Vec<f64> = (0..=count)
        .map(|i| start_hz * 2f64.powf(i as f64 / POINTS_PER_OCTAVE))
        .collect();
    if end_hz / grid_hz[count] > 1.0 + 1e-9 {
        grid_hz.push(end_hz);
    }
    grid_hz
}
/// Highest harmonic order analysed (when it fits).
pub const MAX_HARMONIC: usize = 9;
/// Smoothed curves stored beside the raw one (1/n octave).
pub const STORED_SMOOTHING: [u32; 2] = [3, 6];
/// A sample at or above this magnitude counts as clipped.
pub const CLIP_LEVEL: f64 = 0.999;
/// The impulse response must stand this far above its own noise to count as signal, dB.
const SIGNAL_MIN_DB: f64 = 30.0;
/// Margin, in octaves, kept inside a band edge where the capture cuts the sweep off.
const CUT_MARGIN_OCT: f64 = 1.0 / 6.0;
/// The fundamental is at full sweep level from this far above the start: the fade-in (1/6
/// octave for sweeplab's sweeps) and the harmonic windows' own resolution (1/12 octave).
const FADE_IN_OCT: f64 = 1.0 / 4.0;
/// Harmonics are measured up to this far below the sweep's end (its fade-out, with margin).
pub const FADE_OUT_OCT: f64 = 1.0 / 12.0;

/// A capture channel's spectrum on the deconvolution's length, its mean removed: the one
/// transform of a channel that needs nothing of the stimulus, so it can be made while the
/// stimulus's inverse is.
pub struct CaptureSpectrum {
    y: Vec<Complex64>,
}

/// The spectrum of `raw` (its mean removed) on `n` points.
pub fn capture_spectrum(raw: &[f64], n: usize) -> CaptureSpectrum {
    CaptureSpectrum {
        y: FftCache::new().forward_offset(raw, mean_of(raw), n),
    }
}

fn mean_of(raw: &[f64]) -> f64 {
    if raw.is_empty() {
        0.0
    } else {
        raw.iter().sum::<f64>() / raw.len() as f64
    }
}

/// Analyses capture channels against one stimulus, reusing the inverse filter and FFT plans.
pub struct Analyzer {
    layout: SweepLayout,
    fft: FftCache,
    deconv: Deconvolver,
    harmonics: usize,
    grid_hz: Vec<f64>,
    /// The deconvolution's own floor in each harmonic window: made when the first channel
    /// starts, beside its deconvolution (it costs about as much).
    leakage: OnceLock<Leakage>,
    /// A fixed right side of the linear window, samples (`--window`): no decay search, no
    /// frequency-dependent widening.
    fixed_right: Option<usize>,
}

/// The shortest circular length the deconvolution needs for signals of `base` samples (the
/// longer of stimulus and capture) and a sweep rate of `lfs` (L·fs, samples): room for the
/// harmonics' responses up to the third before the linear one. The transform length is the
/// next size with prime factors 2, 3 and 5 only ([`crate::dsp::fft::good_size`]).
pub fn transform_min_len(base: usize, lfs: f64) -> usize {
    base.max((2.0 * lfs * 3f64.ln()).ceil() as usize)
}

/// The deconvolution's transform length for a stimulus of `stimulus_len` samples, a capture
/// of `capture_len` and a sweep rate of `lfs` (L·fs, samples): what [`Analyzer::new`] plans,
/// known from the files' headers, so that the plans can be made while the samples are read.
pub fn transform_len(stimulus_len: usize, capture_len: usize, lfs: f64) -> usize {
    good_size(transform_min_len(stimulus_len.max(capture_len), lfs).max(stimulus_len))
}

impl Analyzer {
    /// `stimulus` must have its DC offset removed; `capture_len` is the longest channel.
    pub fn new(stimulus: &[f64], capture_len: usize, layout: SweepLayout) -> Self {
        let fs = layout.sample_rate as f64;
        let mut fft = FftCache::new();
        let lfs = layout.rate_l_s * fs;
        // The circular length only has to hold the longer signal: the harmonic responses land
        // at negative lags (the end of the buffer), where the linear response of a capture
        // this long has long decayed; harmonics are kept only while their zone fits in half
        // of the buffer. A shorter buffer also gives shorter transforms.
        let n = transform_len(stimulus.len(), capture_len, lfs);
        // both directions of the full length (made already if the caller planned ahead)
        fft.prepare(n);
        let deconv = Deconvolver::new(stimulus, n, fs, (layout.start_hz, layout.end_hz), &mut fft);
        let n = deconv.n as f64;
        // harmonics k with their zone inside half of the buffer
        let mut harmonics = 1;
        for k in 2..=MAX_HARMONIC {
            if lfs * (k as f64 + 0.5).ln() <= n / 2.0 {
                harmonics = k;
            }
        }
        let grid_hz = analysis_grid(layout.start_hz, layout.end_hz);
        Analyzer {
            layout,
            fft,
            deconv,
            harmonics,
            grid_hz,
            leakage: OnceLock::new(),
            fixed_right: None,
        }
    }

    /// Windows the linear response to `right_s` seconds after its peak at every frequency
    /// (as REW's fixed IR window), instead of to its measured decay with a
    /// frequency-dependent window.
    pub fn with_fixed_window(mut self, right_s: f64) -> Self {
        self.fixed_right =
            Some((right_s * self.layout.sample_rate as f64).round().max(1.0) as usize);
        self
    }

    /// The deconvolution's own floor in each harmonic window, made on first use.
    fn leakage(&self) -> &Leakage {
        self.leakage.get_or_init(|| {
            let mut fft = self.fft.clone();
            let h_self = self.deconv.self_response(&mut fft);
            let fs = self.layout.sample_rate as f64;
            let lfs = self.layout.rate_l_s * fs;
            Leakage::new(&h_self, lfs, self.harmonics.max(2), fs, &mut fft)
        })
    }

    pub fn grid_hz(&self) -> &[f64] {
        &self.grid_hz
    }

    /// The full transform length.
    pub fn transform_len(&self) -> usize {
        self.deconv.n
    }

    /// Analyses one capture channel (raw samples as recorded).
    ///
    /// Takes `&self`: channels can be analysed side by side, and the independent parts of
    /// one channel (the spectrogram beside the deconvolution; the deconvolution's own floor
    /// beside the linear response; distortion and decay beside the drift, the prediction and
    /// the noise floor) run on two threads when rayon has them.
    /// The result never depends on it: each part computes the same wherever it runs.
    pub fn analyze_channel(&self, index: usize, raw: &[f64]) -> ChannelAnalysis {
        self.analyze_channel_with(index, raw, None)
    }

    /// [`Analyzer::analyze_channel`] with the channel's spectrum made beforehand
    /// ([`capture_spectrum`] on [`Analyzer::transform_len`]), e.g. beside this analyzer.
    pub fn analyze_channel_with(
        &self,
        index: usize,
        raw: &[f64],
        spectrum: Option<CaptureSpectrum>,
    ) -> ChannelAnalysis {
        // the deconvolution's own floor is needed only for the harmonics: it is made on
        // another thread (when rayon has one) while this one gets the impulse response and
        // the linear response
        rayon::scope(|s| {
            s.spawn(|_| {
                self.leakage();
            });
            self.channel(index, raw, spectrum)
        })
    }

    fn channel(
        &self,
        index: usize,
        raw: &[f64],
        spectrum: Option<CaptureSpectrum>,
    ) -> ChannelAnalysis {
        let lay = self.layout;
        let mut fft = self.fft.clone();
        let fs = lay.sample_rate as f64;
        let n = self.deconv.n;
        let nf = n as f64;
        let lfs = lay.rate_l_s * fs;
        let mut warnings = Vec::new();
        let mut notes = Vec::new();

        // level checks on the raw samples
        let peak_abs = raw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let clipped = raw.iter().filter(|v| v.abs() >= CLIP_LEVEL).count();
        if clipped > 0 {
            warnings.push(format!(
                "clipping: {clipped} samples at full scale in channel {index}; lower the output level or the input gain and measure again"
            ));
        }
        let mean = mean_of(raw);

        let (spectrogram, mut h) = {
            let mut fft2 = fft.clone();
            rayon::join(
                || capture_spectrogram(raw, fs, &mut fft2),
                || match spectrum.filter(|s| s.y.len() == n / 2 + 1) {
                    Some(s) => self.deconv.impulse_from_spectrum(s.y, &mut fft),
                    None => self.deconv.impulse_response(raw, mean, &mut fft),
                },
            )
        };

        // main peak: anywhere but the harmonic zone, unless the capture started so late that
        // the linear response itself sits there (then it stands far above everything else)
        let gap2 = lfs * 2f64.ln();
        let harm_zone = lfs * (self.harmonics as f64 + 0.5).ln();
        let zone = (
            (nf - harm_zone).max(0.0) as usize,
            (nf - 0.25 * gap2).max(0.0) as usize,
        );
        let outside = peak_position(&h, |i| i < zone.0 || i >= zone.1);
        let global = peak_position(&h, |_| true);
        let at = |p: f64| h[(p.round() as isize).rem_euclid(n as isize) as usize].abs();
        let peak_pos = if at(global) > 4.0 * at(outside) {
            global
        } else {
            outside
        };
        let latency_samples = if peak_pos > nf / 2.0 {
            peak_pos - nf
        } else {
            peak_pos
        };
        let pi = peak_pos.round() as isize;
        let frac = peak_pos - pi as f64;

        // where only noise is left of the linear response: the far half of the stretch before
        // the harmonic zone
        let lin_end = (nf - harm_zone - 0.25 * gap2).max(LINEAR_SHARE * gap2 + 16.0);
        let tail = ((lin_end * 0.5) as isize, lin_end as isize);
        let peak_val = at(peak_pos);
        let tail_rms = {
            let s: f64 = (tail.0..tail.1)
                .map(|o| h[(pi + o).rem_euclid(n as isize) as usize].powi(2))
                .sum();
            (s / (tail.1 - tail.0).max(1) as f64).sqrt()
        };
        let ir_snr_db = 20.0 * (peak_val / tail_rms.max(1e-300)).log10();
        let peak_dbfs = Some(20.0 * peak_abs.max(1e-12).log10());
        if peak_abs == 0.0 || ir_snr_db < SIGNAL_MIN_DB {
            warnings.push(format!(
                "no signal: the sweep was not found in channel {index} (peak {:.1} dBFS, impulse response {:.0} dB above its noise); no figure is reported for it. Is the mic muted or the wrong input selected?",
                20.0 * peak_abs.max(1e-12).log10(),
                ir_snr_db
            ));
            let mut c = ChannelAnalysis::without_signal(index, peak_dbfs, warnings);
            c.spectrogram = spectrogram;
            return c;
        }

        // the band the capture holds: the sweep passes f at (arrival + t(f)) in the capture
        let arrival = lay.sweep_first_sample as f64 + latency_samples;
        let sweep_len = (lay.sweep_end_sample - lay.sweep_first_sample) as f64;
        let margin = 2f64.powf(CUT_MARGIN_OCT);
        let mut band = (lay.start_hz, lay.end_hz);
        let captured_to = raw.len() as f64 - arrival;
        // a capture that cuts the sweep off starts or ends abruptly, which rings through the
        // response near the cut: its edge is faded over 1/6 octave of the sweep, and the
        // impulse response computed again from the faded capture
        let edge = (lay.rate_l_s * 2f64.ln() / 6.0 * fs).round() as usize;
        let (cut_start, cut_end) = (arrival < 0.0, captured_to < sweep_len);
        if (cut_start || cut_end) && raw.len() > 4 * edge {
            let mut faded: Vec<f64> = raw.iter().map(|v| v - mean).collect();
            for i in 0..edge {
                let w = 0.5 - 0.5 * (PI * (i as f64 + 0.5) / edge as f64).cos();
                if cut_start {
                    faded[i] *= w;
                }
                if cut_end {
                    let j = faded.len() - 1 - i;
                    faded[j] *= w;
                }
            }
            h = self.deconv.impulse_response(&faded, 0.0, &mut fft);
        }
        let fade = edge as f64;
        if cut_start {
            let f_first = lay.frequency_at((-arrival + fade) / fs) * margin;
            band.0 = band.0.max(f_first);
            warnings.push(format!(
                "the capture starts {:.3} s after the sweep began: the response is measured from {:.0} Hz only",
                -arrival / fs,
                band.0
            ));
        }
        if cut_end {
            let f_last = lay.frequency_at((captured_to - fade).max(0.0) / fs) / margin;
            band.1 = band.1.min(f_last);
            warnings.push(format!(
                "the capture ends {:.3} s before the sweep did: the response is measured up to {:.0} Hz only",
                (sweep_len - captured_to) / fs,
                band.1.max(0.0)
            ));
        }
        if band.1 < band.0 * 2f64.powf(1.0 / 3.0) {
            warnings.push(format!(
                "the capture holds less than a third of an octave of the sweep in channel {index}: no figure is reported for it"
            ));
            let mut c = ChannelAnalysis::without_signal(index, peak_dbfs, warnings);
            c.spectrogram = spectrogram;
            c.latency_s = Some(latency_samples / fs);
            c.latency_samples = Some(latency_samples);
            return c;
        }
        let grid: Vec<f64> = self
            .grid_hz
            .iter()
            .copied()
            .filter(|&f| f >= band.0 * (1.0 - 1e-9) && f <= band.1 * (1.0 + 1e-9))
            .collect();

        // the linear response: windowed to its decay, wider at low frequencies
        let pre = (LINEAR_SHARE * gap2).min(nf / 4.0) as usize;
        let max_right = (tail.0.max(1)) as usize;
        let mut decay = find_decay(&h, pi, tail, max_right, fs);
        let cycles = match self.fixed_right {
            Some(r) => {
                if r > max_right {
                    notes.push(format!(
                        "the window was shortened to {:.0} ms: the impulse response holds no more before its harmonics",
                        max_right as f64 / fs * 1e3
                    ));
                }
                decay.right = r.min(max_right);
                0.0
            }
            None => FDW_CYCLES,
        };
        // a stretch of the impulse response that holds only noise: past twice the decay, in
        // the far half of what lies before the harmonics
        let noise_stretch = {
            let from = (2 * decay.right).max(tail.0 as usize) as isize;
            (tail.1 - from > 64).then_some((from, tail.1))
        };
        let resp = windowed_response(
            &h,
            pi,
            pre,
            decay.right,
            max_right,
            cycles,
            &grid,
            &STORED_SMOOTHING.map(f64::from),
            noise_stretch,
            fs,
            &fft,
        );
        // the capture's prediction (the stimulus through the measured linear response, on
        // the capture's timeline), for the fault checks
        let predict = |fft: &mut FftCache| -> Vec<f64> {
            let lin = extract_window(
                &h,
                pi,
                -(pre as isize),
                resp.longest as isize,
                (pre / 4).max(1),
                (resp.longest / 5).max(1),
                n,
            );
            let spec = fft.forward_owned(lin, n);
            let mut p = self.deconv.predict(&spec, fft);
            p.rotate_right(pi.rem_euclid(n as isize) as usize);
            p.truncate(raw.len());
            p.iter_mut().for_each(|v| *v += mean);
            p
        };
        // the stretch of the capture where the sweep plays at full level (past its fade-in:
        // a noise gate that opens a few ms into the fade-in lost nothing the response needs)
        // (sweeplab's sweep fades in over its first 1/6 octave and out over its last 1/24: a
        // noise gate opening or closing there lost nothing the response needs)
        let full_from = lay.time_of(lay.start_hz * 2f64.powf(1.0 / 6.0)) * fs;
        let full_to = (lay.time_of(lay.end_hz * 2f64.powf(-1.0 / 24.0)) * fs).min(sweep_len);
        let span = (
            (arrival + full_from).max(0.0) as usize,
            ((arrival + full_to).max(0.0) as usize).min(raw.len()),
        );
        let freq_at = |i: usize| {
            let t = (i as f64 - arrival) / fs;
            (t >= 0.0 && t < sweep_len / fs).then(|| lay.frequency_at(t))
        };
        // digital silence from the sweep's arrival on; wholly inside the fade-in (a gate opening
        // late on the quiet start) it is no fault, but what it took of the lowest
        // frequencies is not measured either
        let silent = dropouts(
            raw,
            &zero_runs(raw, arrival.max(0.0).ceil() as usize, span.1),
            fs,
            &freq_at,
        );
        let (fade_in_runs, lost_runs): (Vec<_>, Vec<_>) =
            silent.iter().partition(|&&(_, b)| b <= span.0);
        let (dropout_runs, gated_runs) = loud_and_quiet(raw, &lost_runs, span, fs, &freq_at);
        // a note for each kind of silence that is no dropout: where, and what it is
        for (runs, place, what) in [
            (
                &gated_runs,
                "during the sweep where the capture was already 20 dB or more below its peak",
                "a noise gate closing on a part of the sweep the device hardly passes, not a dropout",
            ),
            (
                &fade_in_runs,
                "in the sweep's fade-in",
                "a gate opening late, or a dropout there",
            ),
        ] {
            if let Some(&(a, b)) = runs.first() {
                notes.push(format!(
                    "{} stretch(es) of digital silence {place}, the first at {:.3} s ({:.1} ms): {what}; the response points they change are left out",
                    runs.len(),
                    a as f64 / fs,
                    (b - a) as f64 / fs * 1e3
                ));
            }
        }
        let lost_runs = silent;
        // the points measured: 6 dB above the noise, and clear of a steady tone in it
        let above_noise = gate::above_noise(&resp);
        let tonal_near = gate::near_steady_tone(&grid, &resp);
        let tonal_dropped: Vec<bool> = tonal_near
            .iter()
            .zip(&above_noise)
            .map(|(t, a)| !(*t && *a))
            .collect();
        let near_tone = tonal_dropped.iter().filter(|k| !**k).count();
        let dropped = above_noise.iter().filter(|k| !**k).count();
        if dropped > 0 {
            // name the stretches left out (a band figure across one is not given)
            notes.push(format!(
                "{dropped} of {} response points lie less than 6 dB above the noise and are left out: {}",
                grid.len(),
                gate::name_stretches(&grid, &above_noise)
            ));
        }
        if near_tone > 0 {
            notes.push(format!(
                "{near_tone} of {} response points lie less than 30 dB above a steady tone in the noise (hum, a whine, interference: it lands in the response as in the silence) and are left out: {}",
                grid.len(),
                gate::name_stretches(&grid, &tonal_dropped)
            ));
        }
        let above_noise: Vec<bool> = above_noise
            .iter()
            .zip(&tonal_near)
            .map(|(a, t)| *a && !*t)
            .collect();
        // and where the capture lost the sweep (a dropout), the points it changed
        let mut lost_floor: Option<Leakage> = None;
        let held = match lost_runs.is_empty() {
            false => {
                // the stretches of the stimulus the capture lost (the latency taken off)
                let shift = latency_samples.round() as isize;
                let stretches: Vec<(isize, isize)> = lost_runs
                    .iter()
                    .map(|&(a, b)| (a as isize - shift, b as isize - shift))
                    .collect();
                let (whole, lost) = self.deconv.lost_stretches(&stretches, &mut fft);
                let window_fft = fft.clone();
                let respond = |ir: &[f64]| {
                    windowed_response(
                        ir,
                        0,
                        pre,
                        decay.right,
                        max_right,
                        cycles,
                        &grid,
                        &[],
                        None,
                        fs,
                        &window_fft,
                    )
                    .values
                };
                let held = gate::held_points(&whole, &lost, &grid, &respond);
                // the same loss read in the harmonics' windows: a floor under them
                lost_floor = Some(Leakage::new(
                    &lost,
                    lfs,
                    self.harmonics.max(2),
                    fs,
                    &mut fft,
                ));
                let lost = held
                    .iter()
                    .zip(&above_noise)
                    .filter(|(h, k)| !**h && **k)
                    .count();
                // (the points the loss alone takes out: those below the noise are named there)
                let named: Vec<bool> = held
                    .iter()
                    .zip(&above_noise)
                    .map(|(h, k)| *h || !*k)
                    .collect();
                if lost > 0 {
                    notes.push(format!(
                        "{lost} of {} response points are left out where the capture lost the sweep (digital silence: a dropout or a noise gate): the sweep's energy missing there changes them by more than {} dB: {}",
                        grid.len(),
                        gate::LOST_TOLERANCE_DB,
                        gate::name_stretches(&grid, &named)
                    ));
                }
                held
            }
            true => vec![true; grid.len()],
        };
        let kept: Vec<bool> = above_noise
            .iter()
            .zip(&held)
            .map(|(a, b)| *a && *b)
            .collect();
        // the device's typical magnitude: the median of the points measured (what the
        // floor a loss leaves under the harmonics is scaled by at least)
        let typical_magnitude = {
            let mut m: Vec<f64> = resp
                .values
                .iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.norm())
                .collect();
            m.sort_by(f64::total_cmp);
            m.get(m.len() / 2).copied().unwrap_or(0.0)
        };
        let dropped = kept.iter().filter(|k| !**k).count();
        if dropped + 2 > kept.len() {
            // (a capture the dropouts left nothing of still says where they are)
            warnings.extend(dropout_warnings(&dropout_runs, fs));
            warnings.push(format!(
                "the response of channel {index} lies below the noise at every frequency: no figure is reported for it"
            ));
            let mut c = ChannelAnalysis::without_signal(index, peak_dbfs, warnings);
            c.spectrogram = spectrogram;
            c.notes = notes;
            return c;
        }
        let full_grid = grid;
        let grid: Vec<f64> = full_grid
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(f, _)| *f)
            .collect();
        let pick = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        };
        let values: Vec<Complex64> = resp
            .values
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(v, _)| *v)
            .collect();
        let gds = pick(&resp.group_delay_s);
        let mut gain_db = Vec::with_capacity(grid.len());
        let mut phase_deg = Vec::with_capacity(grid.len());
        let mut phase_unwrapped = Vec::with_capacity(grid.len());
        let mut group_delay_s = Vec::with_capacity(grid.len());
        let mut last = 0.0f64;
        for ((&f, v), gd) in grid.iter().zip(&values).zip(&gds) {
            gain_db.push(20.0 * v.norm().max(1e-15).log10());
            // remove the fractional part of the latency from the phase
            let c = v * Complex64::from_polar(1.0, 2.0 * PI * f * frac / fs);
            let ph = c.arg();
            phase_deg.push(ph.to_degrees());
            let unwrapped = last + (ph - last + PI).rem_euclid(2.0 * PI) - PI;
            phase_unwrapped.push(unwrapped);
            last = unwrapped;
            group_delay_s.push(gd + pi as f64 / fs);
        }
        let smoothed: Vec<SmoothedCurve> = STORED_SMOOTHING
            .iter()
            .zip(&resp.smoothed_power)
            .map(|(&frac_n, p)| SmoothedCurve {
                fraction: frac_n,
                gain_db: pick(p)
                    .iter()
                    .map(|p| 10.0 * p.max(1e-30).log10())
                    .collect(),
            })
            .collect();
        let h1 = |f: f64| -> f64 {
            let g = &full_grid;
            let i = g.partition_point(|&x| x < f).min(g.len() - 1);
            if i == 0 || g[i] == f {
                return resp.values[i].norm();
            }
            let (a, b) = (g[i - 1], g[i]);
            let t = (f / a).ln() / (b / a).ln();
            resp.values[i - 1].norm() * (1.0 - t) + resp.values[i].norm() * t
        };

        // harmonics: the fundamental at full level, the harmonic inside the band the capture
        // holds and out of the sweep's fade-out; noise from the stretch past the decay
        let harm_band = HarmonicBand {
            fundamental_lo_hz: band.0.max(lay.start_hz * 2f64.powf(FADE_IN_OCT)),
            harmonic_hi_hz: band.1.min(lay.end_hz / 2f64.powf(FADE_OUT_OCT)),
        };
        if noise_stretch.is_none() {
            notes.push(
                "the impulse response holds no stretch of pure noise: harmonics are reported without checking them against their noise, and no spectral decay is reported (its slices could not be told from noise)".into(),
            );
        }
        // The rest is two independent halves, run side by side: the harmonics and the decay
        // read windows of the impulse response; the drift, the prediction (two full-length
        // transforms) and the noise floor the rest. Each half keeps its own warnings and
        // notes, joined below in the order one thread would have written them.
        let post = lin_end as isize;
        let mut fft_b = fft.clone();
        let (
            (thd, csd, samples, before, (warnings_a, notes_a)),
            (drift_ppm, prediction, noise, (warnings_b, notes_b)),
        ) = rayon::join(
            || {
                let (warnings, mut notes) = (Vec::new(), Vec::new());
                let thd = if self.harmonics >= 2 {
                    let d = distortion(
                        &h,
                        peak_pos,
                        lfs,
                        self.harmonics,
                        &grid,
                        &h1,
                        harm_band,
                        noise_stretch,
                        self.leakage(),
                        lost_floor.as_ref().map(|l| (l, typical_magnitude)),
                        fs,
                        &mut fft,
                    );
                    if let (Some(lo), Some(hi)) = (d.foreign_hz.first(), d.foreign_hz.last()) {
                        notes.push(format!(
                            "at fundamentals from {} to {} the harmonics' windows hold, above their noise floor, content that does not arrive as a harmonic does (it is spread over the window: an aliased harmonic of a nonlinearity running at the capture's rate, as a digital limiter's or a clipped capture's, or noise that the silence did not show): it is not counted as a harmonic, and no THD is given where it could hide one",
                            crate::units::hz3(*lo),
                            crate::units::hz3(*hi)
                        ));
                    }
                    d.thd
                } else {
                    notes.push("the sweep is too short to separate its harmonics: no THD".into());
                    Thd {
                        freq_hz: Vec::new(),
                        percent: Vec::new(),
                        harmonics: Vec::new(),
                        noise_floor: None,
                    }
                };

                // impulse response section: 10 ms before the peak to 300 ms after (or the
                // window end)
                let before = (0.01 * fs) as isize;
                let after = ((0.3 * fs) as isize).min(post);
                let samples: Vec<f32> = (-before..after)
                    .map(|o| h[(pi + o).rem_euclid(n as isize) as usize] as f32)
                    .collect();

                // the cumulative spectral decay: slices over the first half of the measured
                // decay (2–20 ms), every slice ending where the response's window does;
                // 1/24 octave, an octave above the band's start and a third below its end:
                // nearer the edges the slices show the sweep's own band limit ringing, not
                // the device
                let freq: Vec<f64> = grid
                    .iter()
                    .step_by(4)
                    .copied()
                    .filter(|&f| f >= 2.0 * band.0 && f <= band.1 / 1.25)
                    .collect();
                let csd = channel_csd(
                    &h,
                    pi,
                    (decay.right, max_right),
                    noise_stretch,
                    fs,
                    freq,
                    &mut fft,
                );
                (thd, csd, samples, before, (warnings, notes))
            },
            || {
                let (mut warnings, mut notes) = (Vec::new(), Vec::new());
                // clock drift from the excess phase of a shorter window of the linear response
                let m = ((fs as usize).next_power_of_two()).min(1 << 18).min(n);
                let (pre_m, post_m) = (
                    (pre as isize).min(m as isize / 8),
                    post.min(m as isize * 3 / 4),
                );
                let short = extract_window(
                    &h,
                    pi,
                    -pre_m,
                    post_m,
                    (pre_m / 2) as usize,
                    (post_m / 4).max(1) as usize,
                    m,
                );
                let fit_band = ((band.0 * 2.0).max(50.0), (band.1 / 1.5).min(0.4 * fs));
                let complete = arrival >= 0.0 && captured_to >= sweep_len;
                let drift_ppm = judged_drift(
                    &short,
                    fs,
                    (lay.start_hz, lay.end_hz),
                    fit_band,
                    lay.rate_l_s,
                    complete,
                    (&mut warnings, &mut notes),
                    &mut fft_b,
                );

                // the prediction of the capture for the fault checks: the stimulus through
                // the measured linear response (harmonics are left out: a glitch deconvolves
                // into a smear over every lag, and a window reaching over the harmonics would
                // predict it too)
                let prediction = predict(&mut fft_b);
                // noise floor from the silence before the sweep arrives
                let noise = noise_before_sweep(
                    raw,
                    arrival,
                    fs,
                    index,
                    &mut warnings,
                    &mut notes,
                    &mut fft_b,
                );
                (drift_ppm, prediction, noise, (warnings, notes))
            },
        );
        // the full impulse response is not needed any more
        drop(h);
        warnings.extend(warnings_a);
        warnings.extend(warnings_b);
        notes.extend(notes_a);
        notes.extend(notes_b);

        // level at 1 kHz: the 1/3-octave smoothed response, where its whole band is measured
        let third = 2f64.powf(1.0 / 6.0);
        let level_1k = if band.0 <= 1000.0 / third && band.1 >= 1000.0 * third {
            // the stored 1/3-octave curve at 1 kHz (interpolated in log f between grid points)
            let s3 = &smoothed[0].gain_db;
            let i = grid
                .partition_point(|&g| g < 1000.0)
                .clamp(1, grid.len() - 1);
            // both neighbours measured (not a gap left by the noise)
            (grid[i] / grid[i - 1] < 1.02 && grid[i - 1] <= 1000.0 && grid[i] >= 1000.0).then(
                || {
                    let t = (1000f64 / grid[i - 1]).ln() / (grid[i] / grid[i - 1]).ln();
                    lay.level_dbfs + s3[i - 1] * (1.0 - t) + s3[i] * t
                },
            )
        } else {
            notes.push(
                "no level at 1 kHz (nor SNR): the band measured does not cover 1 kHz ± 1/6 octave"
                    .into(),
            );
            None
        };
        let snr_db = match (level_1k, &noise) {
            (Some(l), Some(nz)) => Some(l - nz.rms_dbfs),
            _ => None,
        };

        warnings.extend(capture_faults(
            raw,
            &prediction,
            &lay,
            arrival,
            band,
            index,
            clipped,
            &Measured {
                grid_hz: &grid,
                gain_db: &gain_db,
                phase_unwrapped: &phase_unwrapped,
                thd: &thd,
                noise_rms_dbfs: noise.as_ref().map(|nz| nz.rms_dbfs),
            },
            &dropout_runs,
        ));
        // a gain change mid-sweep steps the response's magnitude without the phase a filter
        // would turn: the drift fit reads that excess phase as a clock drift (−139 ppm for a
        // −10 dB step at 200 Hz), so none is reported beside one
        let drift_ppm = if warnings.iter().any(|w| w.starts_with("gain change")) {
            let before = warnings.len();
            warnings.retain(|w| !w.starts_with("clock drift"));
            if drift_ppm.is_some() || warnings.len() < before {
                notes.push(
                    "drift not estimated: a gain change mid-sweep (see the warnings) bends the response's excess phase, which the drift fit would read as a clock drift".into(),
                );
            }
            None
        } else {
            drift_ppm
        };

        ChannelAnalysis {
            index,
            side: None,
            latency_s: Some(latency_samples / fs),
            latency_samples: Some(latency_samples),
            measured_band_hz: Some([band.0, band.1]),
            swept_band_hz: (cut_start || cut_end).then_some([lay.start_hz, lay.end_hz]),
            window: Some(ResponseWindow {
                decay_ms: decay.right as f64 / fs * 1e3,
                longest_ms: resp.longest as f64 / fs * 1e3,
                fdw_cycles: cycles,
                ir_noise_db: decay.noise_db,
            }),
            calibrated: None,
            placements: None,
            driver_sensitivity: None,
            frequency_response: FrequencyResponse {
                freq_hz: grid,
                gain_db,
                phase_deg,
                group_delay_s,
            },
            smoothed,
            thd,
            noise,
            snr_db,
            level_1k_dbfs: level_1k,
            peak_dbfs,
            drift_ppm,
            csd,
            spectrogram,
            impulse: Impulse {
                sample_rate: lay.sample_rate,
                start_s: (latency_samples.round() - before as f64) / fs,
                samples,
            },
            warnings,
            notes,
        }
    }
}
