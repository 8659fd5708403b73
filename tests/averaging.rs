//! Averaging several sweeps: repeats played back to back and re-seats recorded one after
//! another are averaged only after each is aligned (latency and clock drift measured per run
//! and corrected), so the average equals one run's response.
//!
//! Tolerance: the averaged response equals the single run's within 0.05 dB from 1.5 × the
//! sweep's start to its end ÷ 1.25 (the figure), where the model's response is within
//! 30 dB of its 1 kHz level.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use sweeplab::device::OutputRouting;
use sweeplab::dsp::sweep::SweepSpec;

mod common;
use sweeplab::results::Analysis;
use sweeplab::session::{AnalyzeOptions, RecordRequest, analyze_session, record_session};
use sweeplab::sim::DeviceModel;
use sweeplab::sim::duplex::SimDuplex;
use sweeplab::storage::session_file::{read_session, write_session};
use sweeplab::storage::wav::{read_wav, write_wav_f32};

const RATE: u32 = 48000;

fn spec() -> SweepSpec {
    common::spec_2s(RATE)
}

fn model(extra: &str) -> DeviceModel {
    model_at(100.3, extra)
}

fn model_at(latency_samples: f64, extra: &str) -> DeviceModel {
    let text = format!(
        "name = \"dut\"\ngain_db = -6\nlatency_samples = {latency_samples}\n{extra}\n\
         [[stage]]\ntype = \"peaking\"\nfreq_hz = 3000\nq = 2\ngain_db = 6\n\
         [[stage]]\ntype = \"highpass\"\nfreq_hz = 60\nq = 0.7\n\
         [[noise]]\ntype = \"white\"\nlevel_dbfs = -90\n"
    );
    DeviceModel::from_toml_str(&text, Path::new("averaging.toml")).unwrap()
}

fn record_and_analyze(m: &DeviceModel, dir: &Path, repeats: u32) -> Analysis {
    let req = RecordRequest {
        out: dir.to_path_buf(),
        spec: spec(),
        label: None,
        kind: None,
        force: false,
        output: OutputRouting::Both,
        input_channels: None,
        repeats,
        extra_s: 0.1,
        model: Some(m.name.clone()),
        reseats: None,
        sides: false,
    };
    let mut dev = SimDuplex::new(m.clone(), 7);
    record_session(&mut dev, &req, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    analyze_session(dir, &dir.join("report"), &opts).unwrap()
}

/// The largest difference between two analyses' responses over the checked band.
fn worst_db(m: &DeviceModel, a: &Analysis, b: &Analysis) -> (f64, f64) {
    let (fa, fb) = (
        &a.channels[0].frequency_response,
        &b.channels[0].frequency_response,
    );
    assert_eq!(fa.freq_hz, fb.freq_hz);
    let t1k = m.truth(RATE, -12.0, &[1000.0]).gain_db[0];
    let t = m.truth(RATE, -12.0, &fa.freq_hz);
    let mut worst = (0.0f64, 0.0);
    for i in 0..fa.freq_hz.len() {
        let f = fa.freq_hz[i];
        if !(30.0..=16000.0).contains(&f) || t.gain_db[i] < t1k - 30.0 {
            continue;
        }
        let (x, y) = (fa.gain_db[i], fb.gain_db[i]);
        if (x - y).abs() > worst.0 {
            worst = ((x - y).abs(), f);
        }
    }
    worst
}

#[test]
fn repeats_with_drift_average_to_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    for ppm in [20.0, -20.0] {
        let m = model(&format!("drift_ppm = {ppm}"));
        let one = record_and_analyze(&m, &dir.path().join(format!("one{ppm}")), 1);
        let four = record_and_analyze(&m, &dir.path().join(format!("four{ppm}")), 4);
        let (db, f) = worst_db(&m, &one, &four);
        eprintln!("{ppm} ppm: 4 repeats differ from one run by {db:.4} dB at {f:.0} Hz");
        assert!(db < 0.05, "{ppm} ppm: {db:.3} dB at {f:.0} Hz");
        // the measured alignment against the rig's truth: played frame n arrives at capture
        // frame (n + latency)(1 + ε), so sweep r (period P) lands r·P·ε later than the first,
        // on the same clock (relative drift 0). Tolerances 0.05 sample, 0.5 ppm.
        let info = four.repeats.as_ref().expect("repeats recorded");
        assert_eq!((info.requested, info.captured, info.averaged), (4, 4, 4));
        assert!(info.aligned);
        let period = 3.0 * f64::from(RATE);
        for (r, run) in info.runs.iter().enumerate() {
            let want = r as f64 * period * ppm * 1e-6;
            assert!(
                (run.delay_samples - want).abs() < 0.05 && run.drift_ppm.abs() < 0.5,
                "sweep {r}: {run:?}, want delay {want:.3}"
            );
            assert!(run.averaged && run.coherence > 0.99, "{run:?}");
        }
        let w = &four.channels[0].warnings;
        assert!(!w.iter().any(|w| w.contains("repeated sweep")), "{w:?}");
    }
}

/// Runs recorded one after another, each with its own latency and clock (as re-seats on
/// separate streams, or separate USB devices), stored back to back as one session's repeats:
/// their aligned average equals one run's response within 0.05 dB, and each run's measured
/// delay and drift relative to the first match the rig's settings (0.05 sample, 0.5 ppm).
#[test]
fn runs_with_different_latencies_and_clocks_average_to_one_run() {
    let dir = tempfile::tempdir().unwrap();
    // (latency samples, drift ppm)
    let settings = [(100.3, 20.0), (731.8, -20.0), (412.55, 0.0), (95.0, 15.0)];
    let mut runs = Vec::new();
    for (i, (lat, ppm)) in settings.iter().enumerate() {
        let m = model_at(*lat, &format!("drift_ppm = {ppm}"));
        let d = dir.path().join(format!("run{i}"));
        let a = record_and_analyze(&m, &d, 1);
        runs.push((m, d, a));
    }
    let caps: Vec<Vec<f64>> = runs
        .iter()
        .map(|(_, d, _)| read_wav(&d.join("capture.wav")).unwrap().channels.remove(0))
        .collect();
    let avg = analyze_joined(&runs[0].1, &caps, &dir.path().join("all"));
    let (m0, _, one) = &runs[0];
    let (db, f) = worst_db(m0, one, &avg);
    eprintln!("4 runs differ from the first alone by {db:.4} dB at {f:.0} Hz");
    assert!(db < 0.05, "{db:.3} dB at {f:.0} Hz");
    let info = avg.repeats.as_ref().unwrap();
    let (lat0, ppm0) = settings[0];
    for (r, run) in info.runs.iter().enumerate() {
        let (lat, ppm) = settings[r];
        // at the sweep's first sample s₀ (0.5 s in): (s₀ + lat)(1 + ε) − (s₀ + lat₀)(1 + ε₀)
        let s0 = 0.5 * f64::from(RATE);
        let want = (s0 + lat) * (1.0 + ppm * 1e-6) - (s0 + lat0) * (1.0 + ppm0 * 1e-6);
        // the clock of run r against the first's
        let want_ppm = ((1.0 + ppm * 1e-6) / (1.0 + ppm0 * 1e-6) - 1.0) * 1e6;
        assert!(
            (run.delay_samples - want).abs() < 0.05 && (run.drift_ppm - want_ppm).abs() < 0.5,
            "run {r}: {run:?}, want {want:.3} samples, {want_ppm:.2} ppm"
        );
        assert!(run.averaged);
    }
}

/// Writes the runs' captures back to back (each cut to the stimulus's period, the last
/// whole) as one session's repeats beside `first`'s stimulus, and analyses it.
fn analyze_joined(first: &Path, caps: &[Vec<f64>], all: &Path) -> Analysis {
    let period = 3 * RATE as usize;
    let mut joined: Vec<f32> = Vec::new();
    for (i, x) in caps.iter().enumerate() {
        let take = if i + 1 == caps.len() { x.len() } else { period };
        joined.extend(x[..take].iter().map(|&v| v as f32));
    }
    std::fs::create_dir(all).unwrap();
    std::fs::copy(first.join("stimulus.wav"), all.join("stimulus.wav")).unwrap();
    write_wav_f32(&all.join("capture.wav"), RATE, 1, &joined).unwrap();
    let mut s = read_session(first).unwrap();
    s.capture.as_mut().unwrap().repeats = caps.len() as u32;
    write_session(all, &s).unwrap();
    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    analyze_session(all, &all.join("report"), &opts).unwrap()
}

/// A run that is not the same measurement (here its sweep replaced by noise, as when the
/// microphone was pulled out during it) is left out of the average with a warning naming it, and the
/// average of the rest still equals one run within 0.05 dB.
#[test]
fn a_run_that_does_not_match_is_left_out_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let m = model("");
    let d = dir.path().join("one");
    let one = record_and_analyze(&m, &d, 1);
    let x = read_wav(&d.join("capture.wav")).unwrap().channels.remove(0);
    // deterministic white noise at about −40 dBFS RMS
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<f64> = (0..x.len())
        .map(|i| {
            if !(RATE as usize / 2..5 * RATE as usize / 2).contains(&i) {
                return x[i]; // its pre-roll and post-roll as recorded
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state as f64 / u64::MAX as f64 - 0.5) * 0.035
        })
        .collect();
    let caps = vec![x.clone(), x.clone(), noise, x];
    let avg = analyze_joined(&d, &caps, &dir.path().join("all"));
    let info = avg.repeats.as_ref().unwrap();
    assert_eq!((info.captured, info.averaged), (4, 3), "{info:?}");
    assert!(!info.runs[2].averaged && info.runs[2].coherence < 0.5);
    let w = &avg.channels[0].warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("repeated sweep 3 of 4 does not match")),
        "{w:?}"
    );
    let (db, f) = worst_db(&m, &one, &avg);
    assert!(db < 0.05, "{db:.3} dB at {f:.0} Hz");
}
