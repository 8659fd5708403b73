//! Tests of the module beside it (kept apart so that the module reads in one sitting).

use super::*;
use crate::sim::{builtin, builtin_models, resolve};
use std::f64::consts::PI;

fn parse(text: &str) -> Result<DeviceModel> {
    DeviceModel::from_toml_str(text, Path::new("/models/test.toml"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(m) => panic!("expected an error, parsed {m:?}"),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn example_and_builtins_parse() {
    let m = parse(EXAMPLE_TOML).unwrap();
    assert_eq!(m.name, "my-headset");
    assert!(!m.stages.is_empty() && !m.noise.is_empty());
    m.check_rate(48000).unwrap();
    let all = builtin_models();
    assert_eq!(all.len(), BUILTIN_NAMES.len());
    for (n, m) in all {
        assert_eq!(n, m.name);
        assert!(m.label.is_some() && m.kind.is_some(), "{n}");
        for rate in [44100, 48000, 96000] {
            m.check_rate(rate).unwrap();
        }
    }
    assert!(builtin("nope").is_none());
}

#[test]
fn errors_name_the_file_and_the_field() {
    let e = err("gain_db = 1\n[[stage]]\ntype = \"bandpass\"\nfreq_hz = 100\nq = 1\n");
    assert!(
        e.contains("/models/test.toml") && e.contains("[[stage]] #1") && e.contains("bandpass"),
        "{e}"
    );
    let e = err("[[stage]]\ntype = \"highpass\"\nfreq_hz = 100\nq = -1\n");
    assert!(e.contains("`q`") && e.contains("-1"), "{e}");
    let e = err("[[stage]]\ntype = \"peaking\"\nfreq_hz = 100\nq = 1\n");
    assert!(e.contains("missing `gain_db`"), "{e}");
    let e = err("[[stage]]\ntype = \"lowpass\"\nfreq_hz = 100\nq = 1\ngain_db = 3\n");
    assert!(e.contains("`gain_db` does not apply"), "{e}");
    let e = err("gian_db = 3\n");
    assert!(e.contains("gian_db"), "{e}");
    let e = err("gain_db = \"loud\"\n");
    assert!(e.contains("gain_db"), "{e}");
    let e = err("[nonlinearity]\ntype = \"cubic\"\n");
    assert!(e.contains("[nonlinearity]") && e.contains("cubic"), "{e}");
    let e = err("[nonlinearity]\ntype = \"polynomial\"\ncoeffs = []\n");
    assert!(e.contains("coeffs"), "{e}");
    let e = err("[[noise]]\ntype = \"hum\"\nfreq_hz = 55\nlevel_dbfs = -90\n");
    assert!(e.contains("50 or 60"), "{e}");
    let e = err("[[noise]]\ntype = \"brown\"\nlevel_dbfs = -90\n");
    assert!(e.contains("[[noise]] #1") && e.contains("brown"), "{e}");
    let e = err("[[noise]]\ntype = \"white\"\n");
    assert!(e.contains("level_dbfs"), "{e}");
    let e = err("latency_ms = 1\nlatency_samples = 48\n");
    assert!(
        e.contains("latency_ms") && e.contains("latency_samples"),
        "{e}"
    );
    let e = err("latency_ms = -1\n");
    assert!(e.contains("latency_ms"), "{e}");
    let e = err("[[fault]]\ntype = \"dropout\"\nat_s = 1\nduration_ms = 5\nmode = \"gap\"\n");
    assert!(e.contains("[[fault]] #1") && e.contains("mode"), "{e}");
    let e = err("[[fault]]\ntype = \"clip\"\nlevel = 2\n");
    assert!(e.contains("level"), "{e}");
    let e = err("[[fault]]\ntype = \"explode\"\n");
    assert!(e.contains("explode"), "{e}");
    let e = err("[[fault]]\ntype = \"agc_step\"\ngain_db = 3\n");
    assert!(e.contains("at_s"), "{e}");
    let e = err("channels = 0\n");
    assert!(e.contains("channels"), "{e}");
    let e = err("kind = \"speaker\"\n");
    assert!(e.contains("kind"), "{e}");
    let e = err("[[stage]]\ntype = \"fir\"\nfile = \"nope.txt\"\n");
    assert!(e.contains("nope.txt"), "{e}");
    let e = err("[[noise]]\ntype = \"white\"\nlevel_dbfs = -90\nlatency_ms = 3\n");
    assert!(e.contains("top-level key"), "{e}");
    let e = err("this is not toml");
    assert!(e.contains("not a valid device model"), "{e}");
}

#[test]
fn resolve_builtin_names_and_files() {
    assert_eq!(resolve("loopback").unwrap().name, "loopback");
    let e = resolve("no-such-device").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("--model") && e.to_string().contains("usb-mic"),
        "{e}"
    );
    let e = resolve("missing-model.toml").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("missing-model.toml")
            && e.to_string().contains("no such model file"),
        "{e}"
    );
}

#[test]
fn rate_dependent_checks() {
    let m = parse("[[stage]]\ntype = \"lowpass\"\nfreq_hz = 30000\nq = 0.7\n").unwrap();
    let e = m.check_rate(48000).unwrap_err().to_string();
    assert!(e.contains("[[stage]] #1") && e.contains("Nyquist"), "{e}");
    m.check_rate(96000).unwrap();
    let m = parse("latency_samples = 10.5\n").unwrap();
    let e = m.check_rate(48000).unwrap_err().to_string();
    assert!(e.contains("latency"), "{e}");
    parse("latency_samples = 10\n")
        .unwrap()
        .check_rate(48000)
        .unwrap();
    parse("latency_samples = 100.5\n")
        .unwrap()
        .check_rate(48000)
        .unwrap();
}

#[test]
fn fir_files_text_and_wav() {
    let dir = std::env::temp_dir().join(format!("sweeplab-model-fir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("h.txt"), "# taps\n0.5\n0.25 # second\n\n0.125\n").unwrap();
    std::fs::write(dir.join("bad.txt"), "0.5\nzero\n").unwrap();
    crate::storage::wav::write_wav_f32(&dir.join("h.wav"), 44100, 1, &[0.5, 0.25]).unwrap();
    let origin = dir.join("m.toml");
    let m = DeviceModel::from_toml_str("[[stage]]\ntype = \"fir\"\nfile = \"h.txt\"\n", &origin)
        .unwrap();
    match &m.stages[0] {
        Stage::Fir {
            taps, sample_rate, ..
        } => {
            assert_eq!(taps, &[0.5, 0.25, 0.125]);
            assert_eq!(*sample_rate, None);
        }
        s => panic!("{s:?}"),
    }
    let e = DeviceModel::from_toml_str("[[stage]]\ntype = \"fir\"\nfile = \"bad.txt\"\n", &origin)
        .unwrap_err()
        .to_string();
    // the line is named, its content is not echoed
    assert!(
        e.contains("\"bad.txt\", line 2") && !e.contains("zero"),
        "{e}"
    );
    let m = DeviceModel::from_toml_str("[[stage]]\ntype = \"fir\"\nfile = \"h.wav\"\n", &origin)
        .unwrap();
    m.check_rate(44100).unwrap();
    let e = m.check_rate(48000).unwrap_err().to_string();
    assert!(e.contains("44100"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The DFT harmonic amplitudes agree with the closed forms for a cubic:
/// c1 = a1·B + 3a3B³/4, c2 = a2B²/2, c3 = a3B³/4.
#[test]
fn harmonic_amplitudes_of_a_cubic() {
    let (a1, a2, a3, b) = (0.9, 0.2, -0.3, 0.4);
    let nl = Nonlinearity::Polynomial {
        coeffs: vec![a1, a2, a3],
    };
    let c = nl.harmonic_amplitudes(b, 5);
    let want = [
        a1 * b + 0.75 * a3 * b.powi(3),
        a2 * b * b / 2.0,
        (a3 * b.powi(3) / 4.0).abs(),
        0.0,
        0.0,
    ];
    for (g, w) in c.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{c:?} vs {want:?}");
    }
    // quintic: c1 = a1B + 3a3B³/4 + 10a5B⁵/16
    let nl = Nonlinearity::Polynomial {
        coeffs: vec![1.0, 0.0, 0.1, 0.0, 0.2],
    };
    let c = nl.harmonic_amplitudes(0.5, 5);
    let w1 = 0.5 + 0.75 * 0.1 * 0.125 + 10.0 / 16.0 * 0.2 * 0.5f64.powi(5);
    assert!((c[0] - w1).abs() < 1e-12);
}

/// White, pink and hum noise plans hit their band level; the pink filter is within
/// ±0.06 dB of −3.01 dB/octave from 20 Hz to 20 kHz at 44.1, 48 and 96 kHz.
#[test]
fn noise_plans() {
    let fs = 48000.0;
    for color in [
        NoiseColor::White,
        NoiseColor::Pink,
        NoiseColor::Hum {
            freq_hz: 60.0,
            harmonics: 7,
        },
    ] {
        let p = NoiseSource {
            color,
            level_dbfs: -70.0,
        }
        .plan(fs);
        assert!((10.0 * (2.0 * p.band_ms).log10() + 70.0).abs() < 1e-9);
        assert!(p.a_weighted_ms < p.band_ms);
    }
    for fs in [44100.0, 48000.0, 96000.0] {
        let db = |f: f64| 20.0 * PinkFilter::response(f, fs).norm().log10();
        let r1k = db(1000.0);
        let mut f = 20.0;
        while f <= 20000.0 {
            let want = r1k - 10.0 * (f / 1000.0f64).log10();
            assert!(
                (db(f) - want).abs() < 0.07,
                "{fs}: {f} Hz: {} vs {want}",
                db(f)
            );
            f *= 1.05;
        }
    }
    // the filter as run matches its response (a 1 kHz tone's steady-state amplitude)
    let mut pf = PinkFilter::default();
    let y: Vec<f64> = (0..96000)
        .map(|i| pf.process((2.0 * PI * 1000.0 * i as f64 / fs).sin()))
        .collect();
    let amp = (2.0 * y[48000..].iter().map(|v| v * v).sum::<f64>() / 48000.0).sqrt();
    assert!((amp / PinkFilter::response(1000.0, fs).norm() - 1.0).abs() < 1e-4);
}

/// A pure delay: the IR peak truth is the delay, whole or fractional.
#[test]
fn ir_peak_of_a_pure_delay() {
    for d in [0.0, 100.0, 100.37, 250.5] {
        let m = parse(&format!("latency_samples = {d}\n")).unwrap();
        let t = m.truth(48000, -12.0, &[1000.0]);
        // the 128-tap windowed-sinc fractional delay peaks within 0.005 sample of its
        // nominal delay under ideal interpolation (its response deviates near Nyquist)
        assert!(
            (t.ir_peak_samples - d).abs() < 5e-3,
            "{d}: {}",
            t.ir_peak_samples
        );
        assert_eq!(t.latency_samples, d);
    }
}
