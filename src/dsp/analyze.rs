//! The whole analysis of one stimulus and its capture channels: deconvolution, impulse
//! response, latency, frequency response, harmonic distortion, noise floor, SNR, warnings.
//! Pure: samples in, `ChannelAnalysis` out.

use std::f64::consts::PI;

use realfft::num_complex::Complex64;

use super::deconv::Deconvolver;
use super::drift::estimate_drift;
use super::faults::{find_faults, find_gain_step};
use super::fft::{FftCache, good_size};
use super::ir::{extract_window, peak_position};
use super::noise::{dbfs_from_power, welch_psd};
use super::smoothing::smooth_power;
use crate::results::{
    ChannelAnalysis, FrequencyResponse, HarmonicCurve, Impulse, Noise, NoiseSpectrum,
    SmoothedCurve, Thd,
};

/// Points per octave of the reported frequency response.
pub const POINTS_PER_OCTAVE: f64 = 96.0;
/// Highest harmonic order analysed (when it fits).
pub const MAX_HARMONIC: usize = 9;
/// Smoothed curves stored beside the raw one (1/n octave).
pub const STORED_SMOOTHING: [u32; 2] = [3, 6];
/// A sample at or above this magnitude counts as clipped.
pub const CLIP_LEVEL: f64 = 0.999;
/// Drift at or beyond this (ppm) is warned about.
pub const DRIFT_WARN_PPM: f64 = 5.0;
/// The noise floor needs at least this much silence (and at least 0.1 s).
const MIN_NOISE_SAMPLES: usize = 1024;
/// Share of the gap between the linear response and H2 given to the linear window's
/// pre-peak side (its band-edge pre-ringing); H2 keeps the rest.
const LINEAR_SHARE: f64 = 0.7;

/// What the analysis needs to know about the sweep in the stimulus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepLayout {
    pub sample_rate: u32,
    /// Analysis band (the end already clamped below Nyquist).
    pub start_hz: f64,
    pub end_hz: f64,
    /// Sweep rate L, s: the k-th harmonic response lies L·ln k before the linear one.
    pub rate_l_s: f64,
    /// The frequency at the sweep's first sample (≤ start_hz for a synchronized sweep).
    pub phase_start_hz: f64,
    /// Peak level of the sweep, dBFS.
    pub level_dbfs: f64,
    /// Where the sweep starts and ends in the stimulus, samples.
    pub sweep_first_sample: usize,
    pub sweep_end_sample: usize,
}

/// Analyses capture channels against one stimulus, reusing the inverse filter and FFT plans.
pub struct Analyzer {
    layout: SweepLayout,
    fft: FftCache,
    deconv: Deconvolver,
    harmonics: usize,
    grid_hz: Vec<f64>,
}

impl Analyzer {
    /// `stimulus` must have its DC offset removed; `capture_len` is the longest channel.
    pub fn new(stimulus: &[f64], capture_len: usize, layout: SweepLayout) -> Self {
        let fs = layout.sample_rate as f64;
        let mut fft = FftCache::new();
        let base = stimulus.len().max(capture_len);
        let lfs = layout.rate_l_s * fs;
        // The circular length only has to hold the longer signal: the harmonic responses land
        // at negative lags (the end of the buffer), where the linear response of a capture
        // this long has long decayed; harmonics are kept only while their zone fits in half
        // of the buffer. A shorter buffer also gives shorter transforms.
        let min_len = base.max((2.0 * lfs * 3f64.ln()).ceil() as usize);
        let deconv = Deconvolver::new(
            stimulus,
            min_len,
            fs,
            (layout.start_hz, layout.end_hz),
            &mut fft,
        );
        let n = deconv.n as f64;
        // harmonics k with their zone inside half of the buffer
        let mut harmonics = 1;
        for k in 2..=MAX_HARMONIC {
            if lfs * (k as f64 + 0.5).ln() <= n / 2.0 {
                harmonics = k;
            }
        }
        let octaves = (layout.end_hz / layout.start_hz).log2();
        let count = (octaves * POINTS_PER_OCTAVE).floor() as usize;
        let mut grid_hz: Vec<f64> = (0..=count)
            .map(|i| layout.start_hz * 2f64.powf(i as f64 / POINTS_PER_OCTAVE))
            .collect();
        if layout.end_hz / grid_hz[count] > 1.0 + 1e-9 {
            grid_hz.push(layout.end_hz);
        }
        Analyzer {
            layout,
            fft,
            deconv,
            harmonics,
            grid_hz,
        }
    }

    pub fn grid_hz(&self) -> &[f64] {
        &self.grid_hz
    }

    /// Analyses one capture channel (raw samples as recorded).
    pub fn analyze_channel(&mut self, index: usize, raw: &[f64]) -> ChannelAnalysis {
        let lay = self.layout;
        let fs = lay.sample_rate as f64;
        let n = self.deconv.n;
        let nf = n as f64;
        let lfs = lay.rate_l_s * fs;
        let mut warnings = Vec::new();

        // level checks on the raw samples
        let peak_abs = raw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let clipped = raw.iter().filter(|v| v.abs() >= CLIP_LEVEL).count();
        if clipped > 0 {
            warnings.push(format!(
                "clipping: {clipped} samples at full scale in channel {index}; lower the output level or the input gain and measure again"
            ));
        }
        let mean = if raw.is_empty() {
            0.0
        } else {
            raw.iter().sum::<f64>() / raw.len() as f64
        };

        let h = self.deconv.impulse_response(raw, mean, &mut self.fft);

        // main peak: anywhere but the harmonic zone
        let gap2 = lfs * 2f64.ln();
        let harm_zone = lfs * (self.harmonics as f64 + 0.5).ln();
        let zone = (
            (nf - harm_zone).max(0.0) as usize,
            (nf - 0.25 * gap2).max(0.0) as usize,
        );
        let peak_pos = peak_position(&h, |i| i < zone.0 || i >= zone.1);
        let latency_samples = if peak_pos > nf / 2.0 {
            peak_pos - nf
        } else {
            peak_pos
        };
        let pi = peak_pos.round() as isize;
        let frac = peak_pos - pi as f64;

        // signal presence: peak against the impulse response's noise far from the peak
        let peak_val = h[(pi.rem_euclid(n as isize)) as usize].abs();
        let lin_end = (nf - harm_zone - 0.25 * gap2).max(LINEAR_SHARE * gap2 + 16.0);
        let tail_rms = {
            let (a, b) = ((lin_end * 0.5) as isize, lin_end as isize);
            let s: f64 = (a..b)
                .map(|o| h[(pi + o).rem_euclid(n as isize) as usize].powi(2))
                .sum();
            (s / (b - a).max(1) as f64).sqrt()
        };
        let ir_snr_db = 20.0 * (peak_val / tail_rms.max(1e-300)).log10();
        let no_signal = peak_abs == 0.0 || ir_snr_db < 30.0;
        if no_signal {
            warnings.push(format!(
                "no signal: the sweep was not found in channel {index} (peak {:.1} dBFS, impulse response {:.0} dB above its noise); is the mic muted or the wrong input selected?",
                20.0 * peak_abs.max(1e-12).log10(),
                ir_snr_db
            ));
        }

        // linear impulse response window and its spectrum (peak moved to index 0)
        let pre = (LINEAR_SHARE * gap2).min(nf / 4.0) as isize;
        let post = lin_end as isize;
        let spec = {
            let lin = extract_window(
                &h,
                pi,
                -pre,
                post,
                (pre / 4) as usize,
                (post / 10).max(1) as usize,
                n,
            );
            self.fft.forward_owned(lin, n)
        };
        let df = fs / nf;

        // response on the log grid
        let eval = |spec: &[Complex64], df: f64, f: f64| -> Complex64 {
            let x = f / df;
            let k = (x.floor() as usize).min(spec.len() - 2);
            let t = x - k as f64;
            spec[k] * (1.0 - t) + spec[k + 1] * t
        };
        let mag_at = |spec: &[Complex64], df: f64, f: f64| -> f64 {
            let x = f / df;
            let k = (x.floor() as usize).min(spec.len() - 2);
            let t = x - k as f64;
            spec[k].norm() * (1.0 - t) + spec[k + 1].norm() * t
        };
        let mut gain_db = Vec::with_capacity(self.grid_hz.len());
        let mut phase_deg = Vec::with_capacity(self.grid_hz.len());
        let mut group_delay_s = Vec::with_capacity(self.grid_hz.len());
        for &f in &self.grid_hz {
            gain_db.push(20.0 * mag_at(&spec, df, f).max(1e-15).log10());
            // remove the fractional part of the latency from the phase
            let c = eval(&spec, df, f) * Complex64::from_polar(1.0, 2.0 * PI * f * frac / fs);
            phase_deg.push(c.arg().to_degrees());
            let k = ((f / df).round() as usize).clamp(1, spec.len() - 2);
            let dphi = (spec[k + 1] * spec[k - 1].conj()).arg();
            group_delay_s.push(-dphi / (2.0 * PI * 2.0 * df) + pi as f64 / fs);
        }

        // smoothed curves from the fine spectrum
        let (lo_bin, hi_bin) = (
            ((lay.start_hz / 1.5 / df).floor() as usize).max(1),
            ((lay.end_hz * 1.5 / df).ceil() as usize).min(spec.len() - 1),
        );
        let bin_f: Vec<f64> = (lo_bin..=hi_bin).map(|k| k as f64 * df).collect();
        let bin_p: Vec<f64> = spec[lo_bin..=hi_bin].iter().map(|c| c.norm_sqr()).collect();
        let smoothed = STORED_SMOOTHING
            .iter()
            .map(|&frac_n| SmoothedCurve {
                fraction: frac_n,
                gain_db: smooth_power(&bin_f, &bin_p, &self.grid_hz, frac_n as f64)
                    .into_iter()
                    .map(|p| 10.0 * p.max(1e-30).log10())
                    .collect(),
            })
            .collect();

        // harmonic responses
        let thd = self.distortion(&h, peak_pos, &spec, df);

        // clock drift from the excess phase of a shorter window of the linear response
        let m = ((fs as usize).next_power_of_two()).min(1 << 18).min(n);
        let (pre_m, post_m) = (pre.min(m as isize / 8), post.min(m as isize * 3 / 4));
        let short = extract_window(
            &h,
            pi,
            -pre_m,
            post_m,
            (pre_m / 2) as usize,
            (post_m / 4).max(1) as usize,
            m,
        );
        let fit_band = (
            (lay.start_hz * 2.0).max(50.0),
            (lay.end_hz / 1.5).min(0.4 * fs),
        );
        let fits = (raw.len() as f64) >= lay.sweep_end_sample as f64 + latency_samples.max(0.0);
        let drift_ppm = if no_signal || !fits || fit_band.1 < fit_band.0 * 4.0 {
            None
        } else {
            estimate_drift(
                &short,
                fs,
                (lay.start_hz, lay.end_hz),
                fit_band,
                lay.rate_l_s,
                lay.start_hz,
                &mut self.fft,
            )
            .map(|e| e * 1e6)
        };
        if let Some(d) = drift_ppm.filter(|d| d.abs() >= DRIFT_WARN_PPM) {
            warnings.push(format!(
                "clock drift of {d:+.1} ppm between playback and capture (separate devices or clocks?); the response is still valid, phase and group delay include the drift"
            ));
        }

        // impulse response section: 10 ms before the peak to 300 ms after (or the window end)
        let before = (0.01 * fs) as isize;
        let after = ((0.3 * fs) as isize).min(post);
        let samples: Vec<f32> = (-before..after)
            .map(|o| h[(pi + o).rem_euclid(n as isize) as usize] as f32)
            .collect();

        // the full impulse response is not needed any more: free it before the prediction
        drop(h);

        // noise floor from the pre-roll, latency accounted for
        let sweep_arrival = lay.sweep_first_sample as f64 + latency_samples.max(0.0);
        let guard = 0.01 * fs;
        let region_end = (sweep_arrival - guard).floor().max(0.0) as usize;
        let region_end = region_end.min(raw.len());
        let skip = ((0.05 * fs) as usize).min(region_end / 10);
        let region = &raw[skip.min(region_end)..region_end]; // welch_psd removes each segment's mean
        let segment = ((fs / 6.0) as usize).next_power_of_two();
        let noise = if region.len() >= MIN_NOISE_SAMPLES.max((0.1 * fs) as usize) {
            let seg = if region.len() >= segment {
                segment
            } else {
                1usize << (usize::BITS - 1 - region.len().leading_zeros())
            };
            let psd = welch_psd(region, fs, seg, &mut self.fft);
            let hi = 20000f64.min(fs / 2.0);
            let rms = dbfs_from_power(psd.band_power(20.0, hi, false));
            let aw = dbfs_from_power(psd.band_power(20.0, hi, true));
            if (region.len() as f64) < 0.25 * fs {
                warnings.push(format!(
                    "too little pre-roll: the noise floor was measured on only {:.2} s of silence; use --pre 1 or more",
                    region.len() as f64 / fs
                ));
            }
            Some(Noise {
                rms_dbfs: rms,
                a_weighted_dbfs: aw,
                spectrum: NoiseSpectrum {
                    freq_hz: psd.freq_hz[1..].to_vec(),
                    dbfs_per_hz: psd.power_per_hz[1..]
                        .iter()
                        .map(|&p| dbfs_from_power(p))
                        .collect(),
                },
                duration_s: region.len() as f64 / fs,
            })
        } else {
            warnings.push(format!(
                "too little pre-roll: {:.3} s of silence before the sweep arrives; the noise floor and SNR are not measured (use --pre 1 or more)",
                region_end as f64 / fs
            ));
            None
        };

        // level at 1 kHz and SNR
        let level_1k = if (lay.start_hz..=lay.end_hz).contains(&1000.0) {
            Some(lay.level_dbfs + 20.0 * mag_at(&spec, df, 1000.0).max(1e-15).log10())
        } else {
            None
        };
        let snr_db = match (level_1k, &noise) {
            (Some(l), Some(nz)) => Some(l - nz.rms_dbfs),
            _ => None,
        };

        // faults: the capture against its prediction (stimulus through the measured response)
        if !no_signal {
            // the prediction has the peak at lag 0: rotate it onto the capture's timeline
            let mut aligned = self.deconv.predict(&spec, &mut self.fft);
            aligned.rotate_right(pi.rem_euclid(n as isize) as usize);
            aligned.truncate(raw.len());
            aligned.iter_mut().for_each(|v| *v += mean);
            // where the sweep is well inside the measured band (2 × start … end ÷ 1.25)
            let arrive = lay.sweep_first_sample as f64 + latency_samples.max(0.0);
            let from = (arrive + lay.rate_l_s * (2.0 * lay.start_hz / lay.phase_start_hz).ln() * fs)
                as usize;
            let to = (arrive + lay.rate_l_s * (lay.end_hz / 1.25 / lay.phase_start_hz).ln() * fs)
                as usize;
            // a capture cut short (disk full, device lost) ends abruptly: leave its last 0.1 s out
            let to = to.min(raw.len().saturating_sub((0.1 * fs) as usize));
            warnings.extend(find_faults(raw, &aligned, from, to, fs));
            if let Some((f, step)) = find_gain_step(
                &self.grid_hz,
                &gain_db,
                lay.start_hz * 2.0,
                lay.end_hz / 1.25,
            ) {
                let t = arrive / fs + lay.rate_l_s * (f / lay.phase_start_hz).ln();
                warnings.push(format!(
                    "gain change of {step:+.1} dB at {t:.3} s in the capture (the response steps at {f:.0} Hz, where the sweep was then): an AGC or a level change mid-sweep; disable automatic gain control and measure again"
                ));
            }
        }

        // capture too short for the sweep
        let needed = lay.sweep_end_sample as f64 + latency_samples.max(0.0);
        if (raw.len() as f64) < needed && !no_signal {
            let missing_s = (needed - raw.len() as f64) / fs;
            let t_end = (raw.len() as f64 - latency_samples - lay.sweep_first_sample as f64) / fs;
            let f_cut = lay.start_hz * (t_end.max(0.0) / lay.rate_l_s).exp();
            warnings.push(format!(
                "the sweep does not fit in the capture: it ends {missing_s:.3} s too early, so the response above about {:.0} Hz is not measured",
                f_cut.min(lay.end_hz)
            ));
        }

        ChannelAnalysis {
            index,
            latency_s: latency_samples / fs,
            latency_samples,
            frequency_response: FrequencyResponse {
                freq_hz: self.grid_hz.clone(),
                gain_db,
                phase_deg,
                group_delay_s,
            },
            smoothed,
            thd,
            noise,
            snr_db,
            level_1k_dbfs: level_1k,
            peak_dbfs: Some(20.0 * peak_abs.max(1e-12).log10()),
            drift_ppm,
            impulse: Impulse {
                sample_rate: lay.sample_rate,
                start_s: (latency_samples.round() - before as f64) / fs,
                samples,
            },
            warnings,
        }
    }

    /// THD and harmonic levels from the harmonic impulse responses before the linear one.
    fn distortion(&mut self, h: &[f64], peak_pos: f64, lin_spec: &[Complex64], lin_df: f64) -> Thd {
        let lay = self.layout;
        let fs = lay.sample_rate as f64;
        let lfs = lay.rate_l_s * fs;
        let kmax = self.harmonics;
        let offset = |k: usize| -lfs * (k as f64).ln(); // relative to the linear peak
        let mut spectra: Vec<(Vec<Complex64>, f64)> = Vec::new();
        for k in 2..=kmax {
            let c = offset(k);
            let left = 0.5 * (offset(k + 1) - c); // negative
            let share = if k == 2 { 1.0 - LINEAR_SHARE } else { 0.5 };
            let right = share * (offset(k - 1) - c);
            let centre = (peak_pos + c).round() as isize;
            let (a, b) = (left.ceil() as isize, right.floor() as isize);
            let len = good_size(((b - a) as usize) * 2);
            let win = extract_window(
                h,
                centre,
                a,
                b,
                ((-a) / 4).max(1) as usize,
                (b / 4).max(1) as usize,
                len,
            );
            let spec = self.fft.forward(&win, len);
            spectra.push((spec, fs / len as f64));
        }
        let mag = |spec: &[Complex64], df: f64, f: f64| -> f64 {
            let x = f / df;
            let k = (x.floor() as usize).min(spec.len() - 2);
            let t = x - k as f64;
            spec[k].norm() * (1.0 - t) + spec[k + 1].norm() * t
        };
        let top = lay.end_hz;
        let freqs: Vec<f64> = self
            .grid_hz
            .iter()
            .copied()
            .filter(|&f| 2.0 * f <= top)
            .collect();
        let mut percent = Vec::with_capacity(freqs.len());
        let mut curves: Vec<Vec<Option<f64>>> =
            vec![Vec::with_capacity(freqs.len()); kmax.saturating_sub(1)];
        for &f in &freqs {
            let h1 = mag(lin_spec, lin_df, f).max(1e-300);
            let mut sum = 0.0;
            for (i, (spec, df)) in spectra.iter().enumerate() {
                let k = i + 2;
                let fk = k as f64 * f;
                if fk <= top {
                    let hk = mag(spec, *df, fk);
                    sum += hk * hk;
                    curves[i].push(Some(20.0 * (hk / h1).max(1e-15).log10()));
                } else {
                    curves[i].push(None);
                }
            }
            percent.push(100.0 * sum.sqrt() / h1);
        }
        Thd {
            freq_hz: freqs,
            percent,
            harmonics: curves
                .into_iter()
                .enumerate()
                .map(|(i, c)| HarmonicCurve {
                    order: i as u32 + 2,
                    relative_db: c,
                })
                .collect(),
        }
    }
}
