//! Exponential (logarithmic) sine sweep, synchronized form (Novák et al. 2015).
//!
//! x(t) = A·w(t)·sin(2π·f₀·L·(e^{t/L} − 1)), 0 ≤ t < T, with L = T / ln(f₂/f₀) and f₀·L an
//! integer. The integer makes sin(k·φ(t)) = sin(φ(t + L·ln k)): the k-th harmonic is the
//! sweep itself advanced by L·ln k, so after deconvolution each harmonic impulse response
//! sits at −L·ln k with a known phase. To keep the requested duration and end frequency exact,
//! the phase start f₀ is lowered slightly below the requested start (at most a few percent);
//! the fade-in w(t) covers that part, so the sweep reaches the requested start at full level.

use std::f64::consts::PI;

/// What the user asked for (CONTRACT.md sweep flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepSpec {
    pub sample_rate: u32,
    pub start_hz: f64,
    pub end_hz: f64,
    pub duration_s: f64,
    pub level_dbfs: f64,
    pub pre_s: f64,
    pub post_s: f64,
}

/// Why a sweep cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    #[error("--{flag}: {msg}")]
    Invalid { flag: &'static str, msg: String },
}

fn invalid(flag: &'static str, msg: impl Into<String>) -> SweepError {
    SweepError::Invalid {
        flag,
        msg: msg.into(),
    }
}

/// The highest sweep end allowed at a sample rate: 0.95 × Nyquist.
pub fn max_end_hz(sample_rate: u32) -> f64 {
    0.95 * sample_rate as f64 / 2.0
}

/// A fully determined sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepDesign {
    pub sample_rate: u32,
    /// Requested start (the sweep is at full level from here on).
    pub start_hz: f64,
    /// End frequency, clamped below Nyquist.
    pub end_hz: f64,
    /// Phase start f₀ ≤ start_hz with f₀·L integer.
    pub phase_start_hz: f64,
    /// Sweep rate L = T / ln(f₂/f₀), seconds.
    pub rate_l_s: f64,
    pub duration_s: f64,
    /// Peak amplitude (linear, full scale = 1).
    pub amplitude: f64,
    pub level_dbfs: f64,
    pub pre_s: f64,
    pub post_s: f64,
    pub fade_in_s: f64,
    pub fade_out_s: f64,
    /// True when the end was lowered to fit below Nyquist.
    pub end_clamped: bool,
}

impl SweepDesign {
    /// Checks the spec and designs the synchronized sweep.
    pub fn new(spec: &SweepSpec) -> Result<Self, SweepError> {
        let fs = spec.sample_rate as f64;
        crate::bounds::check_rate(spec.sample_rate).map_err(|m| invalid("rate", m))?;
        if !(spec.start_hz.is_finite() && spec.start_hz >= 1.0) {
            return Err(invalid(
                "start",
                format!("{} Hz: the start must be at least 1 Hz", spec.start_hz),
            ));
        }
        if !spec.end_hz.is_finite() {
            return Err(invalid("end", "the end frequency must be a number"));
        }
        let end_max = max_end_hz(spec.sample_rate);
        let end_clamped = spec.end_hz > end_max;
        let end_hz = spec.end_hz.min(end_max);
        if end_hz < spec.start_hz * 2.0 {
            return Err(invalid(
                "end",
                format!(
                    "the sweep must span at least an octave: start {} Hz, end {:.0} Hz{}",
                    spec.start_hz,
                    end_hz,
                    if end_clamped {
                        format!(" (clamped to 0.95 × Nyquist at {} Hz)", spec.sample_rate)
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        if !(spec.duration_s.is_finite() && (0.1..=600.0).contains(&spec.duration_s)) {
            return Err(invalid(
                "duration",
                format!("{} s is outside 0.1–600 s", spec.duration_s),
            ));
        }
        if !(spec.level_dbfs.is_finite() && spec.level_dbfs <= 0.0 && spec.level_dbfs >= -100.0) {
            return Err(invalid(
                "level",
                format!("{} dBFS is outside −100…0 dBFS", spec.level_dbfs),
            ));
        }
        for (flag, v) in [("pre", spec.pre_s), ("post", spec.post_s)] {
            if !(v.is_finite() && (0.0..=60.0).contains(&v)) {
                return Err(invalid(flag, format!("{v} s is outside 0–60 s")));
            }
        }
        let t = spec.duration_s;
        let f2 = end_hz;
        // largest integer k with k ≤ f1·T/ln(f2/f1); then solve f0·T/ln(f2/f0) = k for f0 ≤ f1
        let k0 = spec.start_hz * t / (f2 / spec.start_hz).ln();
        let k = k0.floor().max(1.0);
        let mut f0 = spec.start_hz;
        for _ in 0..100 {
            // Newton on g(f0) = f0·T − k·ln(f2/f0) = 0; g' = T + k/f0
            let g = f0 * t - k * (f2 / f0).ln();
            let step = g / (t + k / f0);
            f0 -= step;
            if step.abs() < 1e-13 * f0 {
                break;
            }
        }
        let rate_l_s = t / (f2 / f0).ln();
        // fade-in until 1/6 octave above the requested start, fade-out over the last 1/24 octave
        let fade_in_s = (rate_l_s * (spec.start_hz * 2f64.powf(1.0 / 6.0) / f0).ln()).min(t / 4.0);
        let fade_out_s = (rate_l_s * 2f64.ln() / 24.0).min(t / 8.0);
        if fs * fade_in_s < 1.0 {
            return Err(invalid("duration", "the sweep is too short for its fades"));
        }
        Ok(SweepDesign {
            sample_rate: spec.sample_rate,
            start_hz: spec.start_hz,
            end_hz,
            phase_start_hz: f0,
            rate_l_s,
            duration_s: t,
            amplitude: 10f64.powf(spec.level_dbfs / 20.0),
            level_dbfs: spec.level_dbfs,
            pre_s: spec.pre_s,
            post_s: spec.post_s,
            fade_in_s,
            fade_out_s,
            end_clamped,
        })
    }

    pub fn pre_samples(&self) -> usize {
        (self.pre_s * self.sample_rate as f64).round() as usize
    }
    pub fn sweep_samples(&self) -> usize {
        (self.duration_s * self.sample_rate as f64).round() as usize
    }
    pub fn post_samples(&self) -> usize {
        (self.post_s * self.sample_rate as f64).round() as usize
    }
    pub fn total_samples(&self) -> usize {
        self.pre_samples() + self.sweep_samples() + self.post_samples()
    }

    /// Instantaneous frequency at time t into the sweep, Hz.
    pub fn frequency_at(&self, t_s: f64) -> f64 {
        self.phase_start_hz * (t_s / self.rate_l_s).exp()
    }

    /// The stimulus: pre-roll silence, faded sweep, post-roll silence.
    pub fn generate(&self) -> Vec<f64> {
        let n_sweep = self.sweep_samples();
        let mut out = vec![0.0; self.total_samples()];
        let pre = self.pre_samples();
        for n in 0..n_sweep {
            out[pre + n] = self.sweep_sample(n);
        }
        out
    }

    /// Sample `n` of the sweep itself (0 at its first sample, before the pre-roll is added):
    /// what [`SweepDesign::generate`] puts at `pre_samples() + n`.
    pub fn sweep_sample(&self, n: usize) -> f64 {
        let fs = self.sample_rate as f64;
        let n_sweep = self.sweep_samples();
        let fi = self.fade_in_s * fs;
        let fo = self.fade_out_s * fs;
        let k = self.phase_start_hz * self.rate_l_s;
        let t = n as f64 / fs;
        let phase = 2.0 * PI * k * ((t / self.rate_l_s).exp_m1());
        let nf = n as f64;
        let mut w = 1.0;
        if nf < fi {
            w = 0.5 - 0.5 * (PI * nf / fi).cos();
        }
        let from_end = n_sweep.saturating_sub(n + 1) as f64;
        if from_end < fo {
            w *= 0.5 - 0.5 * (PI * from_end / fo).cos();
        }
        self.amplitude * w * phase.sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SweepSpec {
        SweepSpec {
            sample_rate: 48000,
            start_hz: 20.0,
            end_hz: 20000.0,
            duration_s: 5.0,
            level_dbfs: -12.0,
            pre_s: 1.0,
            post_s: 1.0,
        }
    }

    /// A sample evaluated alone is the sample `generate` writes (bit for bit), and the
    /// pre- and post-roll are silence.
    #[test]
    fn a_sample_alone_is_the_generated_one() {
        let d = SweepDesign::new(&spec()).unwrap();
        let all = d.generate();
        let pre = d.pre_samples();
        assert!(all[..pre].iter().all(|v| *v == 0.0));
        assert!(all[pre + d.sweep_samples()..].iter().all(|v| *v == 0.0));
        for n in (0..d.sweep_samples())
            .step_by(997)
            .chain([d.sweep_samples() - 1])
        {
            assert_eq!(
                d.sweep_sample(n).to_bits(),
                all[pre + n].to_bits(),
                "sample {n}"
            );
        }
    }

    /// f₀·L is an integer (to 1e-9) and the duration and end stay as asked.
    #[test]
    fn synchronized_and_exact_duration() {
        let d = SweepDesign::new(&spec()).unwrap();
        let k = d.phase_start_hz * d.rate_l_s;
        assert!((k - k.round()).abs() < 1e-9, "f0·L = {k}");
        assert!(d.phase_start_hz <= 20.0 && d.phase_start_hz > 20.0 * 0.9);
        assert!((d.frequency_at(d.duration_s) - 20000.0).abs() < 1e-6);
        assert_eq!(d.total_samples(), 7 * 48000);
    }

    /// The k-th harmonic of the sweep is the sweep advanced by L·ln k: sin(2φ(t)) = sin(φ(t+L ln2)),
    /// checked on the unfaded middle to 1e-6.
    #[test]
    fn harmonics_are_time_shifted_copies() {
        let d = SweepDesign::new(&spec()).unwrap();
        let k = d.phase_start_hz * d.rate_l_s;
        let phi = |t: f64| 2.0 * PI * k * (t / d.rate_l_s).exp_m1();
        for &t in &[0.5, 1.3, 2.0, 3.1] {
            for h in 2..=5 {
                let a = (h as f64 * phi(t)).sin();
                let b = phi(t + d.rate_l_s * (h as f64).ln()).sin();
                assert!((a - b).abs() < 1e-6, "t={t} h={h}: {a} vs {b}");
            }
        }
    }

    /// Peak amplitude equals 10^(level/20) within 0.01 dB; silence before and after.
    #[test]
    fn level_and_silences() {
        let d = SweepDesign::new(&spec()).unwrap();
        let x = d.generate();
        let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!((20.0 * peak.log10() + 12.0).abs() < 0.01, "peak {peak}");
        assert!(x[..48000].iter().all(|&v| v == 0.0));
        assert!(x[6 * 48000..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn end_is_clamped_below_nyquist_and_bad_flags_rejected() {
        let d = SweepDesign::new(&SweepSpec {
            sample_rate: 8000,
            ..spec()
        })
        .unwrap();
        assert!(d.end_clamped && (d.end_hz - 3800.0).abs() < 1e-9);
        assert!(
            SweepDesign::new(&SweepSpec {
                level_dbfs: 3.0,
                ..spec()
            })
            .is_err()
        );
        assert!(
            SweepDesign::new(&SweepSpec {
                start_hz: 15000.0,
                ..spec()
            })
            .is_err()
        );
        assert!(
            SweepDesign::new(&SweepSpec {
                sample_rate: 1000,
                ..spec()
            })
            .is_err()
        );
        assert!(
            SweepDesign::new(&SweepSpec {
                duration_s: f64::NAN,
                ..spec()
            })
            .is_err()
        );
    }
}

/// Where a sweep sits in a stimulus, as found from its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedSweep {
    /// First and one-past-last sample above −60 dB of the peak (DC removed).
    pub first_sample: usize,
    pub end_sample: usize,
    /// Peak absolute sample (DC removed).
    pub peak: f64,
    /// Sweep rate L fitted from zero crossings, s.
    pub fitted_rate_l_s: f64,
}

/// Checks that `x` (DC removed) holds an exponential sweep from about `start_hz` to `end_hz`
/// and finds where it is. Errors say in words why it does not look like one.
pub fn detect_sweep(
    x: &[f64],
    sample_rate: u32,
    start_hz: f64,
    end_hz: f64,
) -> Result<DetectedSweep, String> {
    let fs = sample_rate as f64;
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak.is_nan() || peak <= 0.0 || !peak.is_finite() {
        return Err("the stimulus is silent (all samples are zero)".into());
    }
    let thr = peak * 1e-3;
    let first = x.iter().position(|v| v.abs() > thr).unwrap_or(0);
    let end = x.len() - x.iter().rev().position(|v| v.abs() > thr).unwrap_or(0);
    let len = end - first;
    if (len as f64) < 0.05 * fs {
        return Err(format!(
            "the active part of the stimulus is only {:.3} s long",
            len as f64 / fs
        ));
    }
    // zero-crossing frequency in 16 segments of the active part
    let segs = 16;
    let seg_len = len / segs;
    let mut pts = Vec::new();
    for s in 0..segs {
        let a = first + s * seg_len;
        let seg = &x[a..a + seg_len];
        let crossings = seg
            .windows(2)
            .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
            .count();
        let f = crossings as f64 / 2.0 / (seg_len as f64 / fs);
        let t = (s as f64 + 0.5) * seg_len as f64 / fs;
        if f > 0.0 {
            pts.push((t, f.ln()));
        }
    }
    if pts.len() < 8 {
        return Err("the stimulus has too few zero crossings to be a sweep".into());
    }
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mf = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - mf)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - mf).powi(2)).sum();
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    let expected = (end_hz / start_hz).ln() / (len as f64 / fs);
    if !(r2 > 0.9 && slope > 0.6 * expected && slope < 1.5 * expected) {
        return Err(format!(
            "it does not look like an exponential sweep from {start_hz} to {end_hz} Hz \
             (its frequency rises {:.2} octaves/s where such a sweep rises {:.2}, fit R² {:.2}); \
             check the file and --sweep-start/--sweep-end",
            slope / 2f64.ln(),
            expected / 2f64.ln(),
            r2
        ));
    }
    Ok(DetectedSweep {
        first_sample: first,
        end_sample: end,
        peak,
        fitted_rate_l_s: 1.0 / slope,
    })
}

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

impl SweepLayout {
    /// The sweep's instantaneous frequency `t` seconds after its first sample.
    pub fn frequency_at(&self, t_s: f64) -> f64 {
        self.phase_start_hz * (t_s / self.rate_l_s).exp()
    }
    /// Seconds after its first sample at which the sweep passes `f`.
    pub fn time_of(&self, f_hz: f64) -> f64 {
        self.rate_l_s * (f_hz / self.phase_start_hz).ln()
    }
}
