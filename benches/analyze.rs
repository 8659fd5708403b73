//! Analysis of a 10 s, 48 kHz sweep session (1 s pre-roll, 1 s post-roll), all metrics —
//! from reading the WAVs to writing analysis.json, response.csv and the exports — without
//! and with the plots; and the exports' share alone.
//!
//! `cargo bench --bench analyze` (divan: median, mean, fastest and slowest of the samples).

use std::path::PathBuf;
use std::sync::LazyLock;

use sweeplab::dsp::filters::{Biquad, BiquadState};
use sweeplab::dsp::sweep::SweepSpec;
use sweeplab::session::{AnalyzeOptions, analyze_session, create_sweep_session};

fn main() {
    // the fixture is made before any timing starts
    LazyLock::force(&FIXTURE);
    divan::main();
}

/// The session (made once): the stimulus through a peaking filter, 480 samples late, with a
/// little noise.
struct Fixture {
    _tmp: tempfile::TempDir,
    session: PathBuf,
    out: PathBuf,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let session = tmp.path().join("session");
    let spec = SweepSpec {
        sample_rate: 48000,
        start_hz: 20.0,
        end_hz: 20000.0,
        duration_s: 10.0,
        level_dbfs: -12.0,
        pre_s: 1.0,
        post_s: 1.0,
    };
    create_sweep_session(&session, &spec, Some("bench".into()), None, true).expect("session");
    let mut r = hound::WavReader::open(session.join("stimulus.wav")).expect("stimulus");
    let x: Vec<f32> = r.samples::<f32>().map(|s| s.expect("sample")).collect();
    let q = Biquad::peaking(48000.0, 1000.0, 1.0, 6.0);
    let mut st = BiquadState::default();
    let mut w = hound::WavWriter::create(session.join("capture.wav"), r.spec()).expect("capture");
    let mut seed = 1u32;
    for i in 0..x.len() + 4800 {
        let v = if i >= 480 && i - 480 < x.len() {
            f64::from(x[i - 480])
        } else {
            0.0
        };
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = ((seed >> 8) as f64 / (1u32 << 24) as f64 - 0.5) * 1e-4;
        w.write_sample((st.process(&q, v) + noise) as f32)
            .expect("write");
    }
    w.finalize().expect("finalize");
    let out = tmp.path().join("out");
    Fixture {
        _tmp: tmp,
        session,
        out,
    }
});

/// All metrics and the exports, no plots.
#[divan::bench(sample_count = 12, sample_size = 1)]
fn analyze_10s_48k_no_plots() {
    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    analyze_session(&FIXTURE.session, &FIXTURE.out, &opts).expect("analyse");
}

/// The same with the five PNGs and summary.md.
#[divan::bench(sample_count = 6, sample_size = 1)]
fn analyze_10s_48k_with_plots() {
    analyze_session(&FIXTURE.session, &FIXTURE.out, &AnalyzeOptions::default()).expect("analyse");
}

/// Of the first: the exports (impulse WAV, REW text, FRD, THD and noise CSV).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn exports_alone(bencher: divan::Bencher) {
    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    let a = analyze_session(&FIXTURE.session, &FIXTURE.out, &opts).expect("analyse");
    bencher.bench_local(|| {
        sweeplab::storage::export::write_exports(&FIXTURE.out, &a).expect("exports")
    });
}
