//! Accuracy of the measurement engine against systems whose truth is known analytically:
//! biquad chains and FIRs evaluated exactly from their z-transforms, known (fractional)
//! delays, a known polynomial distortion, and noise of a known level.

mod common;

use common::*;
use sweeplab::dsp::filters::{Biquad, fir_response, fractional_delay_fir};
use sweeplab::dsp::sweep::SweepDesign;

/// Frequency response within ±0.05 dB of the exact response from 1.5 × start to end ÷ 1.25,
/// at 70 dB SNR, at 44.1, 48 and 96 kHz, with a fractional latency in the capture.
#[test]
fn frequency_response_within_0_05_db() {
    for &rate in &[44100u32, 48000, 96000] {
        let fs = rate as f64;
        let d = SweepDesign::new(&spec(rate)).unwrap();
        let stim = d.generate();
        let chain = [
            Biquad::highpass(fs, 40.0, 0.7),
            Biquad::peaking(fs, 1000.0, 1.0, 6.0),
            Biquad::high_shelf(fs, 6000.0, 0.7, -4.0),
            Biquad::lowpass(fs, 16000.0, 0.8),
        ];
        let frac = fractional_delay_fir(31.37, 64, 9.0);
        let mut y = delay(&fir(&biquads(&stim, &chain), &frac), 1234);
        y.extend(vec![0.0; rate as usize / 2]);
        // 70 dB SNR: the level at 1 kHz is −12 + 6 dB (peaking) ≈ −6 dBFS
        add_noise(&mut y, -6.0 - 70.0, 7);
        let a = analyze_one(&d, &stim, &y);
        let fr = &a.frequency_response;
        let mut worst = (0.0f64, 0.0);
        for (f, g) in fr.freq_hz.iter().zip(&fr.gain_db) {
            if *f < 1.5 * d.start_hz || *f > d.end_hz / 1.25 {
                continue;
            }
            let h = chain
                .iter()
                .map(|q| q.response(*f, fs))
                .product::<realfft::num_complex::Complex64>()
                * fir_response(&frac, *f, fs);
            let err = g - 20.0 * h.norm().log10();
            if err.abs() > worst.0.abs() {
                worst = (err, *f);
            }
        }
        eprintln!(
            "{rate} Hz: worst error {:.4} dB at {:.1} Hz",
            worst.0, worst.1
        );
        assert!(
            worst.0.abs() <= 0.05,
            "{rate} Hz: error {:.4} dB at {:.1} Hz",
            worst.0,
            worst.1
        );
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }
}

/// Latency within ±0.1 sample of a known fractional delay (integer delay + windowed-sinc FIR
/// whose exact group delay is its centre).
#[test]
fn latency_within_0_1_sample() {
    for &(rate, int_delay, centre) in &[
        (48000u32, 0usize, 40.0),
        (48000, 517, 40.25),
        (44100, 2010, 40.5),
        (96000, 1500, 40.81),
    ] {
        let d = SweepDesign::new(&spec(rate)).unwrap();
        let stim = d.generate();
        let frac = fractional_delay_fir(centre, 82, 9.0);
        let mut y = delay(&fir(&stim, &frac), int_delay);
        add_noise(&mut y, -90.0, 3);
        let a = analyze_one(&d, &stim, &y);
        let want = int_delay as f64 + centre;
        let got = a.latency_samples.unwrap();
        eprintln!("{rate} Hz delay {want}: measured {got:.4}");
        assert!((got - want).abs() <= 0.1, "{rate}: {got} vs {want}");
        assert!((a.latency_s.unwrap() - want / rate as f64).abs() < 1e-9);
    }
}

/// THD within ±5 % (relative) of the analytic value for y = x + a2·x² + a3·x³ at 200 Hz,
/// 1 kHz and 3 kHz: THD = sqrt((a2·A/2)² + (a3·A²/4)²) / (1 + 3·a3·A²/4).
#[test]
fn thd_of_polynomial_within_5_percent() {
    let d = SweepDesign::new(&spec(48000)).unwrap();
    let stim = d.generate();
    let amp = d.amplitude;
    for &(a2, a3) in &[(0.1, 0.0), (0.0, 0.3), (0.05, 0.2), (0.02, 0.01)] {
        let mut y: Vec<f64> = stim
            .iter()
            .map(|&x| x + a2 * x * x + a3 * x * x * x)
            .collect();
        y = delay(&y, 300);
        y.extend(vec![0.0; 1000]);
        add_noise(&mut y, -100.0, 11);
        let a = analyze_one(&d, &stim, &y);
        let want = 100.0 * ((a2 * amp / 2.0).powi(2) + (a3 * amp * amp / 4.0).powi(2)).sqrt()
            / (1.0 + 3.0 * a3 * amp * amp / 4.0);
        for f in [200.0, 1000.0, 3000.0] {
            let i = a.thd.freq_hz.iter().position(|&g| g >= f).unwrap();
            let got = a.thd.percent[i];
            eprintln!("a2={a2} a3={a3} {f} Hz: THD {got:.5} % (analytic {want:.5} %)");
            assert!(
                (got / want - 1.0).abs() <= 0.05,
                "a2={a2} a3={a3} at {f} Hz: {got} % vs {want} %"
            );
        }
        // H2 level relative to the fundamental: a2·A/2 / (1 + 3a3A²/4)
        if a2 > 0.0 {
            let h2 = &a.thd.harmonics[0];
            let i = a.thd.freq_hz.iter().position(|&g| g >= 1000.0).unwrap();
            let want_db = 20.0 * (a2 * amp / 2.0 / (1.0 + 3.0 * a3 * amp * amp / 4.0)).log10();
            let got_db = h2.relative_db[i].unwrap();
            assert!(
                (got_db - want_db).abs() < 0.3,
                "H2 {got_db} dB vs {want_db} dB"
            );
        }
    }
}

/// Clock drift: the capture resampled by (1 + ε) with band-limited interpolation is reported
/// within ±1 ppm (through a minimum-phase biquad chain), and the response stays within
/// ±0.2 dB up to 10 kHz at 20 ppm.
#[test]
fn drift_is_reported_and_response_holds() {
    use sweeplab::dsp::ir::interpolate;
    let rate = 48000u32;
    let fs = rate as f64;
    let d = SweepDesign::new(&sweeplab::dsp::sweep::SweepSpec {
        duration_s: 5.0,
        pre_s: 1.0,
        post_s: 1.0,
        ..spec(rate)
    })
    .unwrap();
    let stim = d.generate();
    let chain = [
        Biquad::highpass(fs, 60.0, 0.7),
        Biquad::peaking(fs, 2500.0, 1.5, 5.0),
        Biquad::lowpass(fs, 14000.0, 0.7),
    ];
    let clean = delay(&biquads(&stim, &chain), 700);
    for ppm in [0.0, 20.0, -20.0, 3.0] {
        let eps = ppm * 1e-6;
        // capture clock fast by ε: capture sample n is the signal at time n / (1 + ε)
        let len = clean.len() + 2000;
        let mut padded = clean.clone();
        padded.resize(len + 200, 0.0);
        let mut y: Vec<f64> = (0..len)
            .map(|i| interpolate(&padded, i as f64 / (1.0 + eps)))
            .collect();
        add_noise(&mut y, -100.0, 5);
        let a = analyze_one(&d, &stim, &y);
        let got = a.drift_ppm.expect("drift estimated");
        eprintln!("drift {ppm} ppm: measured {got:.3} ppm");
        assert!((got - ppm).abs() <= 1.0, "{ppm} ppm: measured {got}");
        let fr = &a.frequency_response;
        for (f, g) in fr.freq_hz.iter().zip(&fr.gain_db) {
            if *f < 30.0 || *f > 10000.0 {
                continue;
            }
            let want = 20.0
                * chain
                    .iter()
                    .map(|q| q.response(*f, fs))
                    .product::<realfft::num_complex::Complex64>()
                    .norm()
                    .log10();
            assert!(
                (g - want).abs() <= 0.2,
                "{ppm} ppm at {f} Hz: {g} vs {want}"
            );
        }
    }
}

/// A third harmonic of known level b = 1 % written into the capture as sin 3φ(t) of the
/// sweep's own phase. Band-limited (faded out before 3f reaches 21 kHz), it is measured as
/// 1 % ±5 % wherever 3f lies inside the band, and nothing is said of foreign products. Left
/// to fold back below Nyquist (3f > 24 kHz from f = 8 kHz: the alias of a nonlinearity
/// running at the capture's rate) it lands in H2's window from about 8.5 kHz; there it must
/// not be read as H2: no THD where only H2's window is inside the band (above 6.3 kHz), and
/// a note that says why. Before that was checked, the alias read as THD of 0.4-1 % there.
#[test]
fn aliased_harmonic_is_not_taken_for_one() {
    let d = SweepDesign::new(&spec(48000)).unwrap();
    let stim = d.generate();
    let fs = 48000.0;
    let b = 0.01;
    let pre = d.pre_samples();
    let k = d.phase_start_hz * d.rate_l_s;
    let capture = |band_limited: bool| -> Vec<f64> {
        let mut y = stim.clone();
        for n in 0..d.sweep_samples() {
            let t = n as f64 / fs;
            let f3 = 3.0 * d.frequency_at(t);
            let g = if !band_limited || f3 <= 20000.0 {
                1.0
            } else if f3 >= 21000.0 {
                0.0
            } else {
                0.5 + 0.5 * (std::f64::consts::PI * (f3 - 20000.0) / 1000.0).cos()
            };
            let phase = 2.0 * std::f64::consts::PI * k * (t / d.rate_l_s).exp_m1();
            // the stimulus's envelope (its raised-cosine fades) times b, on 3φ
            let (fi, fo) = (d.fade_in_s * fs, d.fade_out_s * fs);
            let from_end = (d.sweep_samples() - n - 1) as f64;
            let rc = |x: f64, len: f64| {
                if x < len {
                    0.5 - 0.5 * (std::f64::consts::PI * x / len).cos()
                } else {
                    1.0
                }
            };
            let env = d.amplitude * rc(n as f64, fi) * rc(from_end, fo);
            y[pre + n] += b * env * g * (3.0 * phase).sin();
        }
        let mut y = delay(&y, 300);
        y.extend(vec![0.0; 1000]);
        add_noise(&mut y, -100.0, 5);
        y
    };
    let foreign = |a: &sweeplab::results::ChannelAnalysis| {
        a.notes
            .iter()
            .any(|n| n.contains("does not arrive as a harmonic does"))
    };
    for band_limited in [true, false] {
        let a = analyze_one(&d, &stim, &capture(band_limited));
        let mut h3_points = 0;
        for (f, p) in a.thd.freq_hz.iter().zip(&a.thd.percent) {
            if 3.0 * f <= 20000.0 / 2f64.powf(1.0 / 12.0) && *f >= 100.0 {
                h3_points += 1;
                assert!(
                    (p / (100.0 * b) - 1.0).abs() <= 0.05,
                    "band-limited {band_limited}: THD {p:.4} % at {f:.0} Hz, want 1 %"
                );
            } else if *f > 6300.0 {
                panic!(
                    "band-limited {band_limited}: THD {p:.4} % at {f:.0} Hz, where only H2's window is in the band and it holds no H2"
                );
            }
        }
        assert!(h3_points > 300, "{h3_points} points of H3 measured");
        assert_eq!(foreign(&a), !band_limited, "{:?}", a.notes);
    }
}
