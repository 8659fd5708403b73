//! Noise band level and A-weighted level within ±0.5 dB of the truth for white and pink noise,
//! measured through the whole analysis (the pre-roll of a capture).

mod common;

use common::*;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex64;
use sweeplab::dsp::sweep::SweepDesign;

/// A-weighting written out here from IEC 61672-1's pole frequencies, independently of the
/// library (whose own formula is checked against the standard's table in its unit tests).
fn a_weight_power(f: f64) -> f64 {
    let f2 = f * f;
    let num = 12194.0f64.powi(2) * f2 * f2;
    let den = (f2 + 20.6f64.powi(2))
        * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
        * (f2 + 12194.0f64.powi(2));
    (num / den * 10f64.powf(2.0 / 20.0)).powi(2)
}

/// Noise synthesised in the frequency domain: magnitude √S(f) exactly, random phases. Its
/// power in any band is then known exactly by Parseval. Returns (samples, band mean-square
/// 20 Hz–20 kHz, A-weighted mean-square).
fn synth(
    n: usize,
    fs: f64,
    psd_shape: impl Fn(f64) -> f64,
    rms: f64,
    seed: u64,
) -> (Vec<f64>, f64, f64) {
    let mut rng = Rng::new(seed);
    let bins = n / 2 + 1;
    let mut spec: Vec<Complex64> = (0..bins)
        .map(|k| {
            let f = k as f64 * fs / n as f64;
            if k == 0 || k == bins - 1 {
                return Complex64::new(0.0, 0.0);
            }
            Complex64::from_polar(
                psd_shape(f).sqrt(),
                2.0 * std::f64::consts::PI * rng.uniform(),
            )
        })
        .collect();
    // mean square of the time signal = Σ 2|X_k|²/N² over 0<k<N/2
    let ms = |spec: &[Complex64], lo: f64, hi: f64, weighted: bool| -> f64 {
        spec.iter()
            .enumerate()
            .map(|(k, x)| {
                let f = k as f64 * fs / n as f64;
                if f < lo || f > hi {
                    return 0.0;
                }
                let w = if weighted { a_weight_power(f) } else { 1.0 };
                2.0 * x.norm_sqr() / (n as f64).powi(2) * w
            })
            .sum()
    };
    let total = ms(&spec, 0.0, fs, false);
    let scale = rms / total.sqrt();
    spec.iter_mut().for_each(|x| *x *= scale);
    let band = ms(&spec, 20.0, 20000.0, false);
    let aw = ms(&spec, 20.0, 20000.0, true);
    let mut planner = RealFftPlanner::<f64>::new();
    let inv = planner.plan_fft_inverse(n);
    let mut out = inv.make_output_vec();
    inv.process(&mut spec, &mut out).unwrap();
    // realfft's inverse is unnormalised: x[n] = Σ X_k e^{…}; the 1/N is ours to apply
    out.iter_mut().for_each(|v| *v /= n as f64);
    (out, band, aw)
}

fn dbfs(ms: f64) -> f64 {
    10.0 * (2.0 * ms).log10()
}

#[test]
fn white_and_pink_noise_levels_within_0_5_db() {
    let d = SweepDesign::new(&spec(48000)).unwrap();
    let fs = 48000.0;
    let stim = d.generate();
    type Shape = Box<dyn Fn(f64) -> f64>;
    let cases: [(&str, Shape, f64); 4] = [
        ("white", Box::new(|_| 1.0), 0.001),
        ("pink", Box::new(|f: f64| 1.0 / f), 0.001),
        ("white quiet", Box::new(|_| 1.0), 3e-5),
        ("pink loud", Box::new(|f: f64| 1.0 / f.max(5.0)), 0.01),
    ];
    for (i, (name, shape, rms)) in cases.iter().enumerate() {
        let (noise, band_ms, aw_ms) = synth(1 << 19, fs, shape, *rms, 100 + i as u64);
        let mut y = stim.clone();
        for (v, n) in y.iter_mut().zip(&noise) {
            *v += n;
        }
        let a = analyze_one(&d, &stim, &y);
        let nz = a.noise.as_ref().expect("pre-roll present");
        let (want, want_a) = (dbfs(band_ms), dbfs(aw_ms));
        eprintln!(
            "{name}: band {:.3} dBFS (truth {want:.3}), A {:.3} (truth {want_a:.3})",
            nz.rms_dbfs, nz.a_weighted_dbfs
        );
        assert!(
            (nz.rms_dbfs - want).abs() <= 0.5,
            "{name} band level {} vs {want}",
            nz.rms_dbfs
        );
        assert!(
            (nz.a_weighted_dbfs - want_a).abs() <= 0.5,
            "{name} A-weighted {} vs {want_a}",
            nz.a_weighted_dbfs
        );
        // SNR = level at 1 kHz − band noise level; the system is flat (0 dB), so the level at
        // 1 kHz is the sweep's −12 dBFS (±0.05 dB where the noise leaves ≥ 45 dB SNR)
        let (snr, l1k) = (a.snr_db.unwrap(), a.level_1k_dbfs.unwrap());
        assert!((snr - (l1k - nz.rms_dbfs)).abs() < 1e-9, "snr {snr}");
        if *rms <= 0.001 {
            assert!((l1k + 12.0).abs() < 0.05, "level at 1 kHz {l1k}");
        }
    }
}

/// A sine's AES17 reading: the spectrum of a −20 dBFS tone integrates to −20 dBFS ±0.1 dB.
#[test]
fn tone_reads_its_aes17_level() {
    let d = SweepDesign::new(&spec(48000)).unwrap();
    let stim = d.generate();
    let mut y = stim.clone();
    let amp = 0.1; // −20 dBFS
    for (i, v) in y.iter_mut().enumerate() {
        *v += amp * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / 48000.0).sin();
    }
    let a = analyze_one(&d, &stim, &y);
    let nz = a.noise.unwrap();
    assert!((nz.rms_dbfs + 20.0).abs() < 0.1, "{}", nz.rms_dbfs);
    // A-weighting at 997 Hz is −0.0 dB
    assert!(
        (nz.a_weighted_dbfs + 20.0).abs() < 0.1,
        "{}",
        nz.a_weighted_dbfs
    );
}
