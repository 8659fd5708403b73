//! A synthetic [`Analysis`] with analytically known curves, for tests, benchmarks and
//! trying the plots without a measurement. Nothing here is measured data.

use std::f64::consts::PI;

use crate::results::{
    ANALYSIS_FORMAT, ANALYSIS_VERSION, Analysis, ChannelAnalysis, FrequencyResponse, HarmonicCurve,
    Impulse, Noise, NoiseSpectrum, Source, SweepInfo, Thd,
};

/// Complex response of a 2nd-order high-pass at `f0` (quality `q`) at frequency `f`.
pub fn highpass2(f: f64, f0: f64, q: f64) -> (f64, f64) {
    // H(s) = s² / (s² + s·w0/q + w0²), s = jw
    let w = f / f0;
    let (nr, ni) = (-w * w, 0.0);
    let (dr, di) = (1.0 - w * w, w / q);
    let den = dr * dr + di * di;
    ((nr * dr + ni * di) / den, (ni * dr - nr * di) / den)
}

/// Complex response of a 2nd-order low-pass at `f0` (quality `q`).
pub fn lowpass2(f: f64, f0: f64, q: f64) -> (f64, f64) {
    let w = f / f0;
    let (dr, di) = (1.0 - w * w, w / q);
    let den = dr * dr + di * di;
    (dr / den, -di / den)
}

fn cmul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// The log grid the analysis uses: `ppo` points per octave from `lo` to `hi`.
pub fn log_grid(lo: f64, hi: f64, ppo: f64) -> Vec<f64> {
    let n = ((hi / lo).log2() * ppo).ceil() as usize;
    (0..=n)
        .map(|i| (lo * 2f64.powf(i as f64 / ppo)).min(hi))
        .collect()
}

/// Takes out of a response the points strictly between `lo_hz` and `hi_hz` (as the analysis
/// leaves out points below the noise), from every curve of it; returns how many.
pub fn cut_response(fr: &mut FrequencyResponse, lo_hz: f64, hi_hz: f64) -> usize {
    let keep: Vec<bool> = fr
        .freq_hz
        .iter()
        .map(|&f| !(f > lo_hz && f < hi_hz))
        .collect();
    let pick = |v: &mut Vec<f64>| {
        if v.len() == keep.len() {
            let mut k = keep.iter();
            v.retain(|_| *k.next().unwrap_or(&true));
        }
    };
    pick(&mut fr.gain_db);
    pick(&mut fr.phase_deg);
    pick(&mut fr.group_delay_s);
    pick(&mut fr.freq_hz);
    keep.iter().filter(|k| !**k).count()
}

/// A channel holding only a frequency response (no THD, noise or impulse), for tests that
/// build analyses by hand.
pub fn curve_channel(freq_hz: Vec<f64>, gain_db: Vec<f64>) -> ChannelAnalysis {
    let band = (freq_hz.first().copied(), freq_hz.last().copied());
    let mut c = ChannelAnalysis::without_signal(0, None, Vec::new());
    c.measured_band_hz = match band {
        (Some(a), Some(b)) => Some([a, b]),
        _ => None,
    };
    c.frequency_response.freq_hz = freq_hz;
    c.frequency_response.gain_db = gain_db;
    c
}

/// A small deterministic pseudo-random sequence in [-1, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// One channel: a 2nd-order high-pass (`hp_hz`, Q 0.7) times a 2nd-order low-pass
/// (`lp_hz`, Q 0.9) with `gain_db` of gain and a little ripple; THD rising towards the bass;
/// a noise floor with mains hum; the matching minimum-phase-like impulse response.
pub fn channel(
    index: usize,
    sr: u32,
    hp_hz: f64,
    lp_hz: f64,
    gain_db: f64,
    seed: u64,
) -> ChannelAnalysis {
    let mut rng = Lcg(seed);
    let freq = log_grid(20.0, 20000.0, 48.0);
    let mut gain = Vec::with_capacity(freq.len());
    let mut phase = Vec::with_capacity(freq.len());
    let mut gd = Vec::with_capacity(freq.len());
    let latency_s = 0.01237 + index as f64 * 0.0004;
    for &f in &freq {
        let h = cmul(highpass2(f, hp_hz, 0.7), lowpass2(f, lp_hz, 0.9));
        let ripple =
            1.5 * (f.log2() * 3.1 + index as f64).sin() * (f / 2000.0).min(1.0) + 0.4 * rng.next();
        gain.push(gain_db + 10.0 * (h.0 * h.0 + h.1 * h.1).log10() + ripple);
        phase.push(h.1.atan2(h.0).to_degrees());
        gd.push(latency_s + 0.25 / (2.0 * PI * (f + hp_hz)));
    }
    let thd_freq: Vec<f64> = freq.iter().copied().filter(|f| *f <= 10000.0).collect();
    let percent: Vec<f64> = thd_freq
        .iter()
        .map(|f| {
            (1.0 + 0.8 * index as f64) * (0.03 + 3.0 * (60.0 / f).powi(2))
                + 0.01 * (f / 3000.0).powi(2)
        })
        .collect();
    let harmonics = (2..=6u32)
        .map(|k| HarmonicCurve {
            order: k,
            relative_db: thd_freq
                .iter()
                .zip(&percent)
                .map(|(f, p)| {
                    (f * k as f64 <= 20000.0).then(|| {
                        let share = [0.0, 0.0, 0.85, 0.45, 0.2, 0.1, 0.05][k as usize];
                        20.0 * (p / 100.0 * share).log10()
                    })
                })
                .collect(),
        })
        .collect();
    // noise PSD on an 8192-point FFT grid
    let n_fft = 8192usize;
    let df = sr as f64 / n_fft as f64;
    let nf: Vec<f64> = (0..=n_fft / 2).map(|i| i as f64 * df).collect();
    let psd: Vec<f64> = nf
        .iter()
        .map(|&f| {
            let f = f.max(df);
            let mut p = 10f64.powf((-128.0 + index as f64 * 2.0) / 10.0) * (1.0 + 200.0 / f);
            for (h, lvl) in [(50.0, -95.0), (150.0, -105.0), (250.0, -112.0)] {
                let bw: f64 = 8.0;
                p += 10f64.powf(lvl / 10.0) * (-(f - h).powi(2) / (2.0 * bw * bw)).exp();
            }
            10.0 * p.log10() + 4.0 * rng.next()
        })
        .collect();
    // impulse: a damped resonance (the low-pass) plus a slow tail (the high-pass)
    let pre = 0.005;
    let n = (sr as f64 * 0.1) as usize;
    let start_s = latency_s - pre;
    let samples: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / sr as f64 - pre;
            if t < -1.0 / sr as f64 {
                return (1e-6 * rng.next()) as f32;
            }
            let t = t.max(0.0);
            let hf =
                0.35 * (-t * 2.0 * PI * lp_hz / 1.8).exp() * (2.0 * PI * lp_hz * 0.9 * t).cos();
            let lf = -0.02 * (-t * 2.0 * PI * hp_hz / 1.4).exp();
            (10f64.powf(gain_db / 20.0) * (hf + lf) + 3e-6 * rng.next()) as f32
        })
        .collect();
    let level_1k = -12.0 + gain_db;
    let noise_rms = -75.0 + index as f64 * 2.0;
    ChannelAnalysis {
        index,
        side: None,
        latency_s: Some(latency_s),
        latency_samples: Some(latency_s * sr as f64),
        measured_band_hz: None,
        swept_band_hz: None,
        window: None,
        calibrated: None,
        placements: None,
        driver_sensitivity: None,
        frequency_response: FrequencyResponse {
            freq_hz: freq,
            gain_db: gain,
            phase_deg: phase,
            group_delay_s: gd,
        },
        smoothed: Vec::new(),
        thd: Thd {
            freq_hz: thd_freq,
            percent,
            harmonics,
            noise_floor: None,
        },
        noise: Some(Noise {
            rms_dbfs: noise_rms,
            a_weighted_dbfs: noise_rms - 2.3,
            spectrum: NoiseSpectrum {
                freq_hz: nf,
                dbfs_per_hz: psd,
            },
            duration_s: 0.95,
        }),
        snr_db: Some(level_1k - noise_rms),
        level_1k_dbfs: Some(level_1k),
        peak_dbfs: Some(-12.0 + gain_db + 1.2),
        drift_ppm: None,
        csd: None,
        spectrogram: None,
        impulse: Impulse {
            sample_rate: sr,
            start_s,
            samples,
        },
        warnings: Vec::new(),
        notes: Vec::new(),
    }
}

/// A headset-like analysis with `channels` channels (the second one a little different).
pub fn analysis(channels: usize) -> Analysis {
    let sr = 48000;
    Analysis {
        format: ANALYSIS_FORMAT.into(),
        version: ANALYSIS_VERSION,
        sample_rate: sr,
        label: Some("Synthetic headset".into()),
        kind: Some(crate::kind::DeviceKind::Headset),
        created: Some("2025-03-14T09:26:53Z".into()),
        sweep: SweepInfo {
            start_hz: 20.0,
            end_hz: 20000.0,
            duration_s: 5.0,
            level_dbfs: -12.0,
            pre_s: 1.0,
            post_s: 1.0,
        },
        source: Source::default(),
        calibration: None,
        provenance: None,
        spl: None,
        repeats: None,
        mic_under_test: None,
        distortion_vs_level: None,
        sides: None,
        written: Vec::new(),
        channels: (0..channels)
            .map(|i| {
                channel(
                    i,
                    sr,
                    80.0 + 40.0 * i as f64,
                    12000.0 - 3000.0 * i as f64,
                    -2.0 - 1.5 * i as f64,
                    7 + i as u64,
                )
            })
            .collect(),
    }
}
