//! The real recording in fixtures/farina_sweep (made by another tool, MIT licence) against an
//! independent deconvolution (fixtures/farina_sweep/make_reference.py: Farina's time-reversed
//! inverse filter, computed with numpy, kept beside its output).

use std::path::Path;

use sweeplab::dsp::smoothing::interp_linear;
use sweeplab::session::{AnalyzeOptions, analyze_external};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/farina_sweep")
        .join(name)
}

#[test]
fn farina_recording_matches_independent_deconvolution() {
    let out = tempfile::tempdir().unwrap();
    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    let a = analyze_external(
        &fixture("closed_loop_stimulus.wav"),
        &fixture("closed_loop.wav"),
        20.0,
        5500.0,
        out.path(),
        &opts,
    )
    .unwrap();
    let ch = &a.channels[0];
    let latency = ch.latency_samples.unwrap();

    // latency: about 2010 samples (45.6 ms); the reference's own estimate within 0.5 sample
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap();
    let ref_latency = reference["latency_samples"].as_f64().unwrap();
    eprintln!(
        "latency {:.3} samples ({:.3} ms); reference {ref_latency}",
        latency,
        ch.latency_s.unwrap() * 1e3
    );
    assert!((latency - 2010.0).abs() < 1.0, "latency {latency}");
    assert!((latency - ref_latency).abs() < 0.5);

    // no pre-roll silence: no noise floor, no SNR
    assert!(ch.noise.is_none() && ch.snr_db.is_none());
    // a healthy real recording raises no fault (no false dropout, glitch or gain step)
    for w in &ch.warnings {
        assert!(
            !(w.starts_with("dropout") || w.starts_with("glitch") || w.starts_with("gain change")),
            "{w}"
        );
    }

    // 1/6-octave smoothed response within 0.5 dB of the reference from 40 Hz to 4 kHz
    let s6 = ch
        .smoothed
        .iter()
        .find(|s| s.fraction == 6)
        .expect("1/6-octave curve stored");
    let text = std::fs::read_to_string(fixture("reference.csv")).unwrap();
    let mut worst = (0.0f64, 0.0);
    let mut compared = 0;
    for line in text.lines().skip(1) {
        let mut it = line.split(',').map(|v| v.parse::<f64>().unwrap());
        let (f, want) = (it.next().unwrap(), it.next().unwrap());
        if !(40.0..=4000.0).contains(&f) {
            continue;
        }
        let got = interp_linear(&ch.frequency_response.freq_hz, &s6.gain_db, f);
        compared += 1;
        if (got - want).abs() > worst.0.abs() {
            worst = (got - want, f);
        }
    }
    eprintln!(
        "worst difference {:.3} dB at {:.0} Hz over {compared} points",
        worst.0, worst.1
    );
    assert!(compared > 60);
    assert!(
        worst.0.abs() <= 0.5,
        "{:.3} dB at {:.0} Hz",
        worst.0,
        worst.1
    );
}
