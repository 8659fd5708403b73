//! The exact truth of a device model for a sweep: what an ideal measurement of it reports
//! (response, latency, THD, noise levels, the CONTRACT metrics), computed from the model's
//! definition, never by measuring a simulated capture.

use serde::{Deserialize, Serialize};

use super::model::*;
use crate::dsp::filters::fir_response;
use crate::kind::DeviceKind;

/// The exact truth of a model for a sweep: what an ideal measurement reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub model: String,
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub sample_rate: u32,
    pub sweep_level_dbfs: f64,
    /// Frequencies of `gain_db` and `thd_percent`.
    pub freq_hz: Vec<f64>,
    /// Linear (fundamental) response, dB: gain × biquads × FIRs × fractional-delay FIR ×
    /// the nonlinearity's fundamental gain at the amplitude that reaches it at each frequency.
    pub gain_db: Vec<f64>,
    /// The same at 1 kHz.
    pub gain_1k_db: f64,
    /// THD at the sweep level, % (harmonics 2…9 that lie below 0.95 × Nyquist; null where 2f
    /// does not); zero without a nonlinearity.
    pub thd_percent: Vec<Option<f64>>,
    pub thd_1k_percent: f64,
    /// THD as sweeplab measures it, from the harmonics inside the swept band only (up to
    /// `thd_band_top_hz`, 1/12 octave below the sweep's end), on `freq_hz`: what the
    /// analysis of the simulated session should read. Only in the truth of a sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thd_in_band_percent: Option<Vec<Option<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thd_band_top_hz: Option<f64>,
    /// The model's pure delay (latency_ms or latency_samples), samples and seconds.
    pub latency_samples: f64,
    pub latency_s: f64,
    /// Where the main peak of the linear impulse response lands (the contract's latency):
    /// the maximum of |h(t)|, h being the band-limited (ideal sinc) interpolation of the
    /// model's exact linear impulse response. Equals `latency_samples` for a pure delay;
    /// filters move it (a low-pass delays the peak).
    pub ir_peak_samples: f64,
    pub ir_peak_s: f64,
    /// Noise of each capture channel (all channels alike), null when the model has none.
    pub noise: Option<TruthNoise>,
    pub drift_ppm: f64,
    pub faults: Vec<Fault>,
    pub channels: u16,
    /// CONTRACT.md compare metrics computed on the exact response.
    pub metrics: TruthMetrics,
    /// How the numbers above are defined.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthNoise {
    /// AES17 band level 20 Hz – min(20 kHz, fs/2), dBFS.
    pub rms_dbfs: f64,
    /// The same A-weighted (IEC 61672-1).
    pub a_weighted_dbfs: f64,
    /// Each source: (type, band level, A-weighted level).
    pub sources: Vec<TruthNoiseSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthNoiseSource {
    #[serde(rename = "type")]
    pub color: String,
    pub rms_dbfs: f64,
    pub a_weighted_dbfs: f64,
}

/// The contract's compare metrics on the exact response (96 points per octave, 20 Hz to
/// min(20 kHz, 0.95 × Nyquist), means taken over log frequency: each octave weighs equally).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthMetrics {
    pub reference_db: f64,
    pub bass_db: f64,
    pub treble_db: f64,
    pub low_extension_hz: Option<f64>,
    pub high_extension_hz: Option<f64>,
    pub noise_rms_dbfs: Option<f64>,
    pub snr_db: Option<f64>,
    pub thd_1k_percent: f64,
}

impl DeviceModel {
    /// The truth for a sweep as `simulate` writes it: 121 log-spaced frequencies over the
    /// sweep's band (its end clamped below Nyquist).
    pub fn truth_for_sweep(&self, spec: &crate::dsp::sweep::SweepSpec) -> Truth {
        let end = spec
            .end_hz
            .min(crate::dsp::sweep::max_end_hz(spec.sample_rate));
        let grid: Vec<f64> = (0..=120)
            .map(|i| spec.start_hz * (end / spec.start_hz).powf(i as f64 / 120.0))
            .collect();
        let mut t = self.truth(spec.sample_rate, spec.level_dbfs, &grid);
        let top = end / 2f64.powf(crate::dsp::analyze::FADE_OUT_OCT);
        t.thd_in_band_percent = Some(
            self.truth_within(spec.sample_rate, spec.level_dbfs, &grid, top)
                .thd_percent,
        );
        t.thd_band_top_hz = Some(top);
        t
    }

    /// The exact truth for a sweep of peak level `sweep_level_dbfs` at `sample_rate`, the
    /// response and THD on `freqs_hz` (each must be below Nyquist).
    pub fn truth(&self, sample_rate: u32, sweep_level_dbfs: f64, freqs_hz: &[f64]) -> Truth {
        let top = crate::dsp::sweep::max_end_hz(sample_rate);
        self.truth_within(sample_rate, sweep_level_dbfs, freqs_hz, top)
    }

    /// `truth` with THD counting only the harmonics at or below `harmonic_top_hz` (null where
    /// 2f is above it): the THD an analyzer reports within its measurement bandwidth, as
    /// sweeplab does within the band the capture holds.
    pub fn truth_within(
        &self,
        sample_rate: u32,
        sweep_level_dbfs: f64,
        freqs_hz: &[f64],
        harmonic_top_hz: f64,
    ) -> Truth {
        let fs = f64::from(sample_rate);
        let amp = 10f64.powf(sweep_level_dbfs / 20.0);
        let frac = self.frac_fir(fs);
        let frac_mag = |f: f64| frac.as_ref().map_or(1.0, |h| fir_response(h, f, fs).norm());
        let kmax = TRUTH_MAX_HARMONIC;
        let top = harmonic_top_hz.min(crate::dsp::sweep::max_end_hz(sample_rate));
        // (linear gain, THD %) at f
        let at = |f: f64| -> (f64, Option<f64>) {
            let b = amp * self.stages_response(f, fs).norm();
            let (c1, thd) = match &self.nonlinearity {
                Nonlinearity::None => (b, Some(0.0)),
                nl => {
                    let c = nl.harmonic_amplitudes(b, kmax);
                    let fund = c[0] * frac_mag(f);
                    let mut sum = 0.0;
                    for (i, ck) in c.iter().enumerate().skip(1) {
                        let fk = (i + 1) as f64 * f;
                        if fk <= top {
                            sum += (ck * frac_mag(fk)).powi(2);
                        }
                    }
                    (c[0], Some(100.0 * sum.sqrt() / fund.max(1e-300)))
                }
            };
            let gain = c1 * frac_mag(f) / amp;
            let thd = if 2.0 * f <= top { thd } else { None };
            (20.0 * gain.max(1e-300).log10(), thd)
        };
        let (gain_db, thd_percent): (Vec<f64>, Vec<Option<f64>>) =
            freqs_hz.iter().map(|&f| at(f)).unzip();
        let (gain_1k_db, thd_1k) = at(1000.0);
        let thd_1k_percent = thd_1k.unwrap_or(0.0);

        let latency_samples = self.latency.samples(fs);
        let ir_peak_samples = self.ir_peak(fs);

        let noise = if self.noise.is_empty() {
            None
        } else {
            let plans: Vec<NoisePlan> = self.noise.iter().map(|n| n.plan(fs)).collect();
            let db = |ms: f64| 10.0 * (2.0 * ms).max(1e-300).log10();
            Some(TruthNoise {
                rms_dbfs: db(plans.iter().map(|p| p.band_ms).sum()),
                a_weighted_dbfs: db(plans.iter().map(|p| p.a_weighted_ms).sum()),
                sources: self
                    .noise
                    .iter()
                    .zip(&plans)
                    .map(|(n, p)| TruthNoiseSource {
                        color: n.color.as_str().into(),
                        rms_dbfs: db(p.band_ms),
                        a_weighted_dbfs: db(p.a_weighted_ms),
                    })
                    .collect(),
            })
        };

        // compare metrics on a dense log grid
        let hi = 20000f64.min(top);
        let count = ((hi / 20.0).log2() * 96.0).floor() as usize;
        let grid: Vec<f64> = (0..=count)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 96.0))
            .collect();
        let g: Vec<f64> = grid.iter().map(|&f| at(f).0).collect();
        let mean_in = |lo: f64, hi: f64| {
            let v: Vec<f64> = grid
                .iter()
                .zip(&g)
                .filter(|(f, _)| **f >= lo && **f <= hi)
                .map(|(_, g)| *g)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let reference_db = mean_in(250.0, 4000.0);
        // third-octave power smoothing: mean of |H|² over ±1/6 octave (log-spaced points)
        let smooth: Vec<f64> = grid
            .iter()
            .map(|&f| {
                let (lo, hi) = (f * 2f64.powf(-1.0 / 6.0), f * 2f64.powf(1.0 / 6.0));
                let p: Vec<f64> = grid
                    .iter()
                    .zip(&g)
                    .filter(|(x, _)| **x >= lo && **x <= hi)
                    .map(|(_, g)| 10f64.powf(g / 10.0))
                    .collect();
                10.0 * (p.iter().sum::<f64>() / p.len().max(1) as f64).log10()
            })
            .collect();
        let thr = reference_db - 6.0;
        let i1k = grid.iter().position(|&f| f >= 1000.0).unwrap_or(0);
        let low_extension_hz = {
            let mut i = i1k;
            while i > 0 && smooth[i - 1] >= thr {
                i -= 1;
            }
            (smooth[i] >= thr).then_some(grid[i])
        };
        let high_extension_hz = {
            let mut i = i1k;
            while i + 1 < grid.len() && smooth[i + 1] >= thr {
                i += 1;
            }
            (smooth[i] >= thr).then_some(grid[i])
        };
        let metrics = TruthMetrics {
            reference_db,
            bass_db: mean_in(20.0, 250.0) - reference_db,
            treble_db: mean_in(4000.0, 20000.0) - reference_db,
            low_extension_hz,
            high_extension_hz,
            noise_rms_dbfs: noise.as_ref().map(|n| n.rms_dbfs),
            snr_db: noise
                .as_ref()
                .map(|n| sweep_level_dbfs + gain_1k_db - n.rms_dbfs),
            thd_1k_percent,
        };

        Truth {
            model: self.name.clone(),
            label: self.label.clone(),
            kind: self.kind,
            sample_rate,
            sweep_level_dbfs,
            freq_hz: freqs_hz.to_vec(),
            gain_db,
            gain_1k_db,
            thd_percent,
            thd_1k_percent,
            thd_in_band_percent: None,
            thd_band_top_hz: None,
            latency_samples,
            latency_s: latency_samples / fs,
            ir_peak_samples,
            ir_peak_s: ir_peak_samples / fs,
            noise,
            drift_ppm: self.drift_ppm,
            faults: self.faults.clone(),
            channels: self.channels,
            metrics,
            notes: vec![
                "gain_db: exact |H| of gain × biquads × FIRs × fractional-delay FIR, times the nonlinearity's fundamental gain c1(B)/B at the amplitude B = sweep amplitude × |gain × stages| reaching it".into(),
                format!("thd_percent: harmonics 2…{TRUTH_MAX_HARMONIC} of the nonlinearity at that amplitude (those at or below {} Hz), relative to the fundamental; the simulator runs the nonlinearity at the capture's rate, so the harmonics above Nyquist fold back into the capture as a digital nonlinearity's do; sweeplab reports THD from the harmonics inside the swept band only (thd_in_band_percent)", top.round()),
                "ir_peak_samples: maximum of the ideal band-limited interpolation of the exact linear impulse response; latency_samples: the model's pure delay".into(),
                "noise: AES17 band level 20 Hz – min(20 kHz, fs/2), summed over the sources, integrated exactly from their spectra; A-weighting per IEC 61672-1".into(),
                "faults and drift are listed, not folded into the numbers above".into(),
            ],
        }
    }
}
