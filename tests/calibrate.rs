//! `sweeplab calibrate` and `analyze --sensitivity`: a microphone's sensitivity from a
//! recording of an acoustic calibrator, and levels in dB SPL, against tones and simulated
//! devices whose levels are known exactly.

mod common;
use common::{sweeplab, text};

use std::path::{Path, PathBuf};

/// A two-channel 48 kHz float WAV: channel 0 silent-ish, channel 1 a tone of peak `amp` at
/// `freq_hz` with noise 50 dB below it.
fn calibrator_wav(path: &Path, freq_hz: f64, amp: f64, secs: f64) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut s = 7u64;
    for i in 0..(48000.0 * secs) as usize {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
        let t = i as f64 / 48000.0;
        w.write_sample((1e-4 * noise) as f32).unwrap();
        let v = amp * (2.0 * std::f64::consts::PI * freq_hz * t).sin() + amp * 0.003 * noise;
        w.write_sample(v as f32).unwrap();
    }
    w.finalize().unwrap();
}

/// Calibrates a microphone from a 94 dB SPL calibrator recording whose tone peaks at
/// `peak_dbfs` (channel 1), with `extra` flags; returns the sensitivity file.
fn calibrated_mic(d: &Path, name: &str, peak_dbfs: f64, extra: &[&str]) -> std::path::PathBuf {
    let cal = d.join(format!("{name}.wav"));
    calibrator_wav(&cal, 1000.0, 10f64.powf(peak_dbfs / 20.0), 5.0);
    let mic = d.join(format!("{name}.json"));
    let mut args = vec![
        "calibrate",
        cal.to_str().unwrap(),
        "--channel",
        "1",
        "--out",
        mic.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = sweeplab(&args);
    assert!(o.status.success(), "{}", text(&o));
    mic
}

/// Simulates `model` (TOML) into `d/name` without analysing it (2 s sweep).
fn simulated(d: &Path, name: &str, model: &str) -> std::path::PathBuf {
    let m = d.join(format!("{name}.toml"));
    std::fs::write(&m, model).unwrap();
    let s = d.join(name);
    let o = sweeplab(&[
        "simulate",
        "--model",
        m.to_str().unwrap(),
        "--out",
        s.to_str().unwrap(),
        "--no-analyze",
        "--duration",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    s
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn a_calibrated_microphone_gives_levels_in_db_spl() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // a 94 dB SPL calibrator read at −26 dBFS peak (a UMIK-like mic): dB SPL = dBFS + 120
    let cal = d.join("cal.wav");
    calibrator_wav(&cal, 1000.0, 10f64.powf(-26.0 / 20.0), 5.0);
    let mic = d.join("mic.json");
    let o = sweeplab(&[
        "calibrate",
        cal.to_str().unwrap(),
        "--channel",
        "1",
        "--out",
        mic.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let m = json(&mic);
    // tolerance 0.02 dB: the tone's level against its analytic −26 dBFS
    assert!(
        (m["offset_db"].as_f64().unwrap() - 120.0).abs() < 0.02,
        "{m}"
    );
    assert!(
        (m["dbfs_at_94_db_spl"].as_f64().unwrap() + 26.0).abs() < 0.02,
        "{m}"
    );
    // never over the file without --force
    let o = sweeplab(&[
        "calibrate",
        cal.to_str().unwrap(),
        "--channel",
        "1",
        "--out",
        mic.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // headphones of −6 dB gain measured with it at the sweep's −12 dBFS: the level at 1 kHz
    // is −18 dBFS, so 102 dB SPL (tolerance 0.1 dB)
    let s = simulated(
        d,
        "hp",
        "kind = \"headphones\"\ngain_db = -6.0\n[[noise]]\ntype = \"white\"\nlevel_dbfs = -100.0\n",
    );
    let rep = d.join("hp-report");
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        rep.to_str().unwrap(),
        "--sensitivity",
        mic.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let a = json(&rep.join("analysis.json"));
    let offset = a["spl"]["offset_db"].as_f64().unwrap();
    let level = a["channels"][0]["level_1k_dbfs"].as_f64().unwrap();
    assert!(
        (level + offset - 102.0).abs() < 0.1,
        "{} dB SPL",
        level + offset
    );
    assert!(text(&o).contains("dB SPL"), "{}", text(&o));
    // and the response plot reads in dB SPL: its bold (smoothed) curve at 1 kHz is 102 dB SPL
    let an = sweeplab::storage::session_file::read_analysis(&rep).unwrap();
    let series =
        sweeplab::report::response_series(&an, &sweeplab::report::RenderOptions::default());
    let bold = series
        .iter()
        .find(|s| s.style == sweeplab::report::SeriesStyle::Bold)
        .unwrap();
    let i = bold.x.partition_point(|&f| f < 1000.0);
    assert!(
        (bold.y[i] - 102.0).abs() < 0.1,
        "{} dB SPL at {} Hz",
        bold.y[i],
        bold.x[i]
    );
    let summary = std::fs::read_to_string(rep.join("summary.md")).unwrap();
    assert!(
        summary.contains("| Level at 1 kHz (SPL) | 102.0 dB SPL |"),
        "{summary}"
    );
    assert!(summary.contains("dB SPL = dBFS + 120.0"), "{summary}");

    // without it: dBFS only, and the summary says how to get dB SPL
    let plain = d.join("plain");
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(json(&plain.join("analysis.json"))["spl"].is_null());
    assert!(
        !std::fs::read_to_string(plain.join("summary.md"))
            .unwrap()
            .contains("dB SPL |")
    );

    // a microphone under test is not measured through the measurement microphone
    let mic_rep = d.join("as-mic");
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        mic_rep.to_str().unwrap(),
        "--sensitivity",
        mic.to_str().unwrap(),
        "--no-plots",
        "--kind",
        "microphone",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let a = json(&mic_rep.join("analysis.json"));
    assert!(a["spl"].is_null());
    assert!(
        a["channels"][0]["notes"]
            .to_string()
            .contains("sensitivity"),
        "{a}"
    );
}

#[test]
fn what_is_not_a_calibrator_recording_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = d.join("mic.json");
    let run = |wav: &PathBuf, extra: &[&str]| {
        let mut args = vec![
            "calibrate",
            wav.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        sweeplab(&args)
    };
    let wrong = d.join("wrong.wav");
    calibrator_wav(&wrong, 440.0, 0.1, 4.0);
    let o = run(&wrong, &["--channel", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("wrong.wav") && text(&o).contains("not 1 kHz"),
        "{}",
        text(&o)
    );
    let silent = d.join("silent.wav");
    calibrator_wav(&silent, 1000.0, 0.1, 4.0);
    let o = run(&silent, &["--channel", "0"]); // channel 0 holds only noise
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run(&silent, &["--channel", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--channel"), "{}", text(&o));
    let o = run(&silent, &["--channel", "1", "--spl", "20"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--spl"), "{}", text(&o));
    let o = run(&d.join("missing.wav"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "nothing written on a refusal");
    // analyze with a file that is not a sensitivity file
    std::fs::write(d.join("bad.json"), "{}").unwrap();
    let o = sweeplab(&[
        "analyze",
        "--stimulus",
        silent.to_str().unwrap(),
        "--capture",
        silent.to_str().unwrap(),
        "--start",
        "20",
        "--end",
        "20000",
        "--out",
        d.join("x").to_str().unwrap(),
        "--sensitivity",
        d.join("bad.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bad.json"), "{}", text(&o));
}

/// A driver's sensitivity as datasheets give it. The rig: headphones of −6 dB gain at the
/// sweep's −12 dBFS through a microphone reading dB SPL = dBFS + 120, so 102 dB SPL at
/// 1 kHz; the output gives 2.0 V RMS at 0 dBFS, so the sweep drives 2·10^(−12/20) = 0.5024 V
/// and, into 32 Ω, 7.888 mW. Truth: 102 − 20·log10(0.5024) = 107.98 dB SPL/V and
/// 102 − 10·log10(7.888) = 93.03 dB SPL/mW (by hand). Tolerance 0.1 dB (the level's).
#[test]
fn a_driver_sensitivity_per_volt_and_per_milliwatt() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mic = calibrated_mic(d, "cal", -26.0, &[]);
    let s = simulated(
        d,
        "hp",
        "kind = \"headphones\"\ngain_db = -6.0\n[[noise]]\ntype = \"white\"\nlevel_dbfs = -100.0\n",
    );
    let analyze = |name: &str, extra: &[&str]| {
        let rep = d.join(name);
        let mut args = vec![
            "analyze",
            s.to_str().unwrap(),
            "--out",
            rep.to_str().unwrap(),
            "--sensitivity",
            mic.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        (sweeplab(&args), rep)
    };
    let (o, rep) = analyze("rep", &["--output-vrms", "2.0", "--impedance", "32"]);
    assert!(o.status.success(), "{}", text(&o));
    let a = json(&rep.join("analysis.json"));
    let ds = &a["channels"][0]["driver_sensitivity"];
    let num = |k: &str| ds[k].as_f64().unwrap();
    assert!((num("volts_rms") - 0.50238).abs() < 1e-4, "{ds}");
    assert!((num("power_mw") - 7.8870).abs() < 1e-3, "{ds}");
    assert!((num("spl_1k_db") - 102.0).abs() < 0.1, "{ds}");
    assert!((num("db_spl_per_v") - 107.98).abs() < 0.1, "{ds}");
    assert!((num("db_spl_per_mw") - 93.03).abs() < 0.1, "{ds}");
    let summary = std::fs::read_to_string(rep.join("summary.md")).unwrap();
    assert!(
        summary.contains("dB SPL/mW (7.887 mW into 32.0 Ω)"),
        "{summary}"
    );
    // per volt only, without the impedance
    let (o, rep) = analyze("rep-v", &["--output-vrms", "2.0", "--no-plots"]);
    assert!(o.status.success(), "{}", text(&o));
    let a = json(&rep.join("analysis.json"));
    assert!(a["channels"][0]["driver_sensitivity"]["db_spl_per_mw"].is_null());
    // what cannot give a sensitivity is refused before any work (exit 2, the flag named)
    for (bad, flag) in [
        (vec!["--impedance", "32"], "--output-vrms"),
        (vec!["--output-vrms", "-1"], "--output-vrms"),
        (vec!["--output-vrms", "0"], "--output-vrms"),
    ] {
        let (o, rep) = analyze("bad", &bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(text(&o).contains(flag), "{bad:?}: {}", text(&o));
        assert!(!rep.exists());
    }
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        d.join("nos").to_str().unwrap(),
        "--output-vrms",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--sensitivity"), "{}", text(&o));
}

/// A microphone under test calibrated on its own: a calibrator's 94 dB SPL tone reads
/// −30 dBFS (AES17) through it, so −30 dBFS/Pa, and with an input giving 1.228 V RMS at
/// full scale, −30 + 20·log10(1.228) = −28.216 dBV/Pa (by hand; 0.02 dB, the calibrator
/// reading's tolerance). Its self-noise is the A-weighted noise before the sweep as an
/// equivalent SPL: the model's exact A-weighted noise (truth.json) + 124 dB, within 0.5 dB
/// (the noise levels' tolerance).
#[test]
fn a_microphone_under_test_gives_its_sensitivity_per_pascal_and_self_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mic = calibrated_mic(d, "dut", -30.0, &["--input-vrms", "1.228"]);
    let m = json(&mic);
    assert!(
        (m["dbv_per_pa"].as_f64().unwrap() + 28.216).abs() < 0.02,
        "{m}"
    );
    let s = simulated(
        d,
        "m",
        "kind = \"microphone\"\ngain_db = -10.0\n[[noise]]\ntype = \"pink\"\nlevel_dbfs = -80.0\n",
    );
    let rep = d.join("rep");
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        rep.to_str().unwrap(),
        "--mic-sensitivity",
        mic.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let a = json(&rep.join("analysis.json"));
    let mt = &a["mic_under_test"];
    assert!(
        (mt["dbfs_per_pa"].as_f64().unwrap() + 30.0).abs() < 0.02,
        "{mt}"
    );
    assert!(
        (mt["dbv_per_pa"].as_f64().unwrap() + 28.216).abs() < 0.02,
        "{mt}"
    );
    let truth = json(&s.join("truth.json"));
    let want = truth["noise"]["a_weighted_dbfs"].as_f64().unwrap() + 124.0;
    let got = mt["self_noise_dba_spl"][0].as_f64().unwrap();
    assert!((got - want).abs() < 0.5, "{got} vs {want}");
    let summary = std::fs::read_to_string(rep.join("summary.md")).unwrap();
    assert!(
        summary.contains("| Microphone sensitivity | -30.0 dBFS/Pa (-28.2 dBV/Pa) |"),
        "{summary}"
    );
    assert!(summary.contains("dB(A) SPL"), "{summary}");
}
