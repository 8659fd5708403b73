//! Benchmark: analysis of a 10 s, 48 kHz sweep session (1 s pre-roll, 1 s post-roll), all
//! metrics, no plots — from reading the WAVs to writing analysis.json and response.csv.
//! Run: cargo bench --bench analyze

use std::time::Instant;

use sweeplab::dsp::filters::{Biquad, BiquadState};
use sweeplab::dsp::sweep::SweepSpec;
use sweeplab::session::{AnalyzeOptions, analyze_session, create_sweep_session};

fn main() {
    let tmp = std::env::temp_dir().join(format!("sweeplab-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let dir = tmp.join("session");
    let spec = SweepSpec {
        sample_rate: 48000,
        start_hz: 20.0,
        end_hz: 20000.0,
        duration_s: 10.0,
        level_dbfs: -12.0,
        pre_s: 1.0,
        post_s: 1.0,
    };
    create_sweep_session(&dir, &spec, Some("bench".into()), None, true).unwrap();
    // capture: the stimulus through a peaking filter, 480 samples late, with a little noise
    let mut r = hound::WavReader::open(dir.join("stimulus.wav")).unwrap();
    let x: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    let q = Biquad::peaking(48000.0, 1000.0, 1.0, 6.0);
    let mut st = BiquadState::default();
    let mut w = hound::WavWriter::create(dir.join("capture.wav"), r.spec()).unwrap();
    let mut seed = 1u32;
    for i in 0..x.len() + 4800 {
        let v = if i >= 480 && i - 480 < x.len() {
            f64::from(x[i - 480])
        } else {
            0.0
        };
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = ((seed >> 8) as f64 / (1u32 << 24) as f64 - 0.5) * 1e-4;
        w.write_sample((st.process(&q, v) + noise) as f32).unwrap();
    }
    w.finalize().unwrap();

    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    let out = tmp.join("out");
    let mut times = Vec::new();
    for _ in 0..12 {
        let t = Instant::now();
        analyze_session(&dir, &out, &opts).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "analyze 10 s @ 48 kHz, all metrics, no plots: median {:.1} ms, min {:.1} ms, max {:.1} ms (12 runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    // of which the exports (impulse WAV, REW text, FRD, THD and noise CSV)
    let a = analyze_session(&dir, &out, &opts).unwrap();
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        sweeplab::storage::export::write_exports(&out, &a).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  of which the exports: median {:.2} ms (20 runs)",
        times[times.len() / 2]
    );
    let opts = AnalyzeOptions::default();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        analyze_session(&dir, &out, &opts).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "analyze with plots: median {:.1} ms (5 runs)",
        times[times.len() / 2]
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
