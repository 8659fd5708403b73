//! The command line as other programs see it: files written, JSON fields, exit codes and
//! error messages (CONTRACT.md).

mod common;
use common::sweeplab;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A session whose capture is the stimulus scaled by ½ (−6.02 dB) and delayed 100 samples,
/// with faint noise (−110 dBFS) as a real converter has.
fn make_session(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let o = sweeplab(&[
        "sweep",
        "--out",
        p(&dir),
        "--duration",
        "3",
        "--pre",
        "0.5",
        "--post",
        "0.3",
        "--label",
        name,
        "--kind",
        "headset",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut r = hound::WavReader::open(dir.join("stimulus.wav")).unwrap();
    let spec = r.spec();
    let x: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    let mut w = hound::WavWriter::create(dir.join("capture.wav"), spec).unwrap();
    let mut seed = 3u64;
    let mut noise = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1e-5
    };
    for _ in 0..100 {
        w.write_sample(noise()).unwrap();
    }
    for v in x {
        w.write_sample(v * 0.5 + noise()).unwrap();
    }
    w.finalize().unwrap();
    dir
}

#[test]
fn sweep_then_analyze_writes_the_contract_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = make_session(tmp.path(), "s1");
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).unwrap()).unwrap();
    assert_eq!(session["format"], "sweeplab-session");
    assert_eq!(session["version"], 1);
    assert_eq!(session["sample_rate"], 48000);
    for k in [
        "start_hz",
        "end_hz",
        "duration_s",
        "level_dbfs",
        "pre_s",
        "post_s",
    ] {
        assert!(session["sweep"][k].is_number(), "sweep.{k}");
    }
    assert_eq!(session["kind"], "headset");

    let out = tmp.path().join("out");
    let o = sweeplab(&["analyze", p(&dir), "--out", p(&out), "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(a["format"], "sweeplab-analysis");
    assert_eq!(a["version"], 1);
    let ch = &a["channels"][0];
    assert_eq!(ch["index"], 0);
    // 100 samples of delay, ±0.1 sample
    assert!((ch["latency_s"].as_f64().unwrap() * 48000.0 - 100.0).abs() < 0.1);
    let f = ch["frequency_response"]["freq_hz"].as_array().unwrap();
    let g = ch["frequency_response"]["gain_db"].as_array().unwrap();
    assert_eq!(f.len(), g.len());
    // ≥ 48 points per octave over 20 Hz–20 kHz (~10 octaves), starting at the sweep start
    assert!(f.len() >= 480, "{} points", f.len());
    assert!(
        (f[0].as_f64().unwrap() - 20.0).abs() < 1e-9
            && (f.last().unwrap().as_f64().unwrap() - 20000.0).abs() < 1e-6
    );
    // gain −6.02 dB (×½) across the band, ±0.05 dB from 30 Hz to 16 kHz
    for (fv, gv) in f.iter().zip(g) {
        let (fv, gv) = (fv.as_f64().unwrap(), gv.as_f64().unwrap());
        if (30.0..=16000.0).contains(&fv) {
            assert!((gv + 6.0206).abs() < 0.05, "{fv} Hz: {gv} dB");
        }
    }
    assert!(ch["thd"]["freq_hz"].is_array() && ch["thd"]["percent"].is_array());
    assert!(ch["noise"]["rms_dbfs"].is_number() && ch["noise"]["a_weighted_dbfs"].is_number());
    assert!(
        ch["noise"]["spectrum"]["freq_hz"].is_array()
            && ch["noise"]["spectrum"]["dbfs_per_hz"].is_array()
    );
    assert!(ch["snr_db"].is_number());
    assert!(
        ch["warnings"].as_array().unwrap().is_empty(),
        "{:?}",
        ch["warnings"]
    );
    let csv = std::fs::read_to_string(out.join("response.csv")).unwrap();
    assert!(csv.starts_with("frequency,raw\n"));
    assert_eq!(csv.lines().count(), f.len() + 1);
}

#[test]
fn several_sessions_go_to_named_subfolders() {
    let tmp = tempfile::tempdir().unwrap();
    let a = make_session(tmp.path(), "alpha");
    let b = make_session(tmp.path(), "beta");
    let out = tmp.path().join("out");
    let o = sweeplab(&["analyze", p(&a), p(&b), "--out", p(&out), "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("alpha/analysis.json").is_file() && out.join("beta/analysis.json").is_file());
    // the parallel run gives exactly what one-by-one runs give
    for (dir, name) in [(&a, "alpha"), (&b, "beta")] {
        let single = tmp.path().join(format!("single-{name}"));
        assert!(
            sweeplab(&["analyze", p(dir), "--out", p(&single), "--no-plots"])
                .status
                .success()
        );
        let load = |f: &Path| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
        };
        assert_eq!(
            load(&out.join(name).join("analysis.json"))["channels"],
            load(&single.join("analysis.json"))["channels"]
        );
    }
}

#[test]
fn existing_session_is_never_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = make_session(tmp.path(), "s");
    let before = std::fs::read(dir.join("capture.wav")).unwrap();
    let o = sweeplab(&["sweep", "--out", p(&dir)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(dir.join("capture.wav")).unwrap(), before);
    let o = sweeplab(&["sweep", "--out", p(&dir), "--force"]);
    assert!(o.status.success());
    assert!(
        !dir.join("capture.wav").exists(),
        "--force starts a fresh session"
    );
}

#[test]
fn bad_inputs_exit_2_and_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let check = |args: &[&str], needle: &str| {
        let o = sweeplab(args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.starts_with("error: "), "{e}");
        assert!(e.contains(needle), "{args:?}: expected {needle:?} in {e}");
        assert!(!e.contains("panicked"), "{e}");
    };
    // missing session.json
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    check(&["analyze", p(&empty), "--out", p(&out)], "session.json");
    // session without capture
    let s = tmp.path().join("nocap");
    assert!(
        sweeplab(&["sweep", "--out", p(&s), "--duration", "1"])
            .status
            .success()
    );
    check(&["analyze", p(&s), "--out", p(&out)], "capture.wav");
    // a capture at another rate
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(s.join("capture.wav"), spec).unwrap();
    for i in 0..44100 {
        w.write_sample(((i % 100) * 100) as i16).unwrap();
    }
    w.finalize().unwrap();
    check(&["analyze", p(&s), "--out", p(&out)], "44100 Hz");
    // an empty capture
    let spec48 = hound::WavSpec {
        sample_rate: 48000,
        ..spec
    };
    hound::WavWriter::create(s.join("capture.wav"), spec48)
        .unwrap()
        .finalize()
        .unwrap();
    check(&["analyze", p(&s), "--out", p(&out)], "capture.wav");
    // not a WAV at all
    std::fs::write(s.join("capture.wav"), b"hello, this is not audio").unwrap();
    check(&["analyze", p(&s), "--out", p(&out)], "capture.wav");
    // truncated: header says more data than there is
    let good = tmp.path().join("good.wav");
    let mut w = hound::WavWriter::create(&good, spec48).unwrap();
    for i in 0..48000 {
        w.write_sample((i % 300) as i16).unwrap();
    }
    w.finalize().unwrap();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(s.join("capture.wav"), &bytes[..bytes.len() / 2]).unwrap();
    check(&["analyze", p(&s), "--out", p(&out)], "truncated");
    // a stimulus that is noise, not a sweep
    let noise = tmp.path().join("noise.wav");
    let fspec = hound::WavSpec {
        channels: 1,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&noise, fspec).unwrap();
    let mut state = 1u32;
    for _ in 0..96000 {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        w.write_sample((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
            .unwrap();
    }
    w.finalize().unwrap();
    check(
        &[
            "analyze",
            "--stimulus",
            p(&noise),
            "--capture",
            p(&noise),
            "--sweep-start",
            "20",
            "--sweep-end",
            "20000",
            "--out",
            p(&out),
        ],
        "noise.wav",
    );
    // not JSON
    std::fs::write(s.join("session.json"), b"{ nope").unwrap();
    check(&["analyze", p(&s), "--out", p(&out)], "not valid JSON");
    // bad flags
    check(
        &["sweep", "--out", p(&tmp.path().join("x")), "--level", "6"],
        "--level",
    );
    check(
        &["sweep", "--out", p(&tmp.path().join("y")), "--rate", "1000"],
        "--rate",
    );
    check(
        &[
            "analyze",
            p(&empty),
            "--out",
            p(&out),
            "--smoothing",
            "1/100",
        ],
        "--smoothing",
    );
    // typed flags: a kind, a normalisation, a size or a channel that is no such thing
    check(
        &[
            "compare",
            p(&s),
            p(&s),
            "--out",
            p(&out),
            "--kind",
            "head set",
        ],
        "--kind",
    );
    check(
        &[
            "compare",
            p(&s),
            p(&s),
            "--out",
            p(&out),
            "--normalize",
            "2k",
        ],
        "--normalize",
    );
    check(
        &["analyze", p(&empty), "--out", p(&out), "--size", "10x10"],
        "--size",
    );
    check(
        &[
            "sweep",
            "--out",
            p(&tmp.path().join("z")),
            "--kind",
            "earbuds",
        ],
        "--kind",
    );
    // an unknown flag is a usage error too (clap)
    assert_eq!(sweeplab(&["analyze", "--bogus"]).status.code(), Some(2));
    // no partial output was left behind by the failures
    assert!(!out.join("analysis.json").exists());
}

#[test]
fn external_recording_from_another_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/farina_sweep");
    let out = tmp.path().join("farina");
    let o = sweeplab(&[
        "analyze",
        "--stimulus",
        p(&fx.join("closed_loop_stimulus.wav")),
        "--capture",
        p(&fx.join("closed_loop.wav")),
        "--sweep-start",
        "20",
        "--sweep-end",
        "5500",
        "--out",
        p(&out),
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    let ch = &a["channels"][0];
    assert!((ch["latency_s"].as_f64().unwrap() - 0.0456).abs() < 0.0002);
    assert!(ch["noise"].is_null() && ch["snr_db"].is_null());
    let f = ch["frequency_response"]["freq_hz"].as_array().unwrap();
    assert!((f.last().unwrap().as_f64().unwrap() - 5500.0).abs() < 1e-6);
}

/// A capture that ran on long after the sweep is read only up to 5 s past it (bounded memory)
/// and says so; the measurement is unaffected (latency ±0.1 sample, gain ±0.05 dB).
#[test]
fn long_capture_is_read_only_as_far_as_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = make_session(tmp.path(), "long");
    // append 60 s of low noise to the capture
    let mut r = hound::WavReader::open(dir.join("capture.wav")).unwrap();
    let spec = r.spec();
    let mut x: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    let mut state = 7u32;
    x.extend((0..60 * 48000).map(|_| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 1e-5
    }));
    let mut w = hound::WavWriter::create(dir.join("capture.wav"), spec).unwrap();
    x.iter().for_each(|&v| w.write_sample(v).unwrap());
    w.finalize().unwrap();
    let out = tmp.path().join("out");
    let o = sweeplab(&["analyze", p(&dir), "--out", p(&out), "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    let ch = &a["channels"][0];
    assert!(
        ch["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("only its first")),
        "{}",
        ch["warnings"]
    );
    assert!((ch["latency_s"].as_f64().unwrap() * 48000.0 - 100.0).abs() < 0.1);
    assert!((ch["level_1k_dbfs"].as_f64().unwrap() - (-12.0 - 6.0206)).abs() < 0.05);
}

/// Without the `live` feature, `measure` and `devices` refuse with exit 2 and say how to get
/// live audio; nothing is created.
#[cfg(not(feature = "live"))]
#[test]
fn measure_and_devices_say_how_to_get_live_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    for args in [vec!["measure", "--out", p(&out)], vec!["devices"]] {
        let o = sweeplab(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(args[0]), "{e}");
        assert!(
            e.contains("libasound2-dev") && e.contains("--features live"),
            "{e}"
        );
    }
    assert!(!out.exists());
}

#[cfg(feature = "live")]
#[test]
fn devices_keeps_backend_chatter_off_the_terminal() {
    // alsa-lib ("ALSA lib pcm.c: …") and libjack ("Cannot connect to server …", when ALSA's
    // jack plugin is probed) print while devices are probed; those lines go to
    // backend_messages in --json, never to the terminal
    let o = sweeplab(&["devices"]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    for noise in ["ALSA lib", "Cannot connect", "jack server", "JackShm"] {
        assert!(!e.contains(noise), "{noise:?} reached stderr:\n{e}");
    }
    let o = sweeplab(&["devices", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("devices --json");
    assert!(v["backend_messages"].is_array(), "{v}");
    assert!(!stderr(&o).contains("Cannot connect"));
}

/// A muted capture (all zeros): `analyze` writes what it can (analysis.json with the warning
/// and no figures) and exits 1 saying no channel holds the sweep.
#[test]
fn a_muted_capture_is_exit_1_with_no_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = make_session(tmp.path(), "muted");
    let r = hound::WavReader::open(dir.join("capture.wav")).unwrap();
    let (spec, n) = (r.spec(), r.duration());
    drop(r);
    let mut w = hound::WavWriter::create(dir.join("capture.wav"), spec).unwrap();
    for _ in 0..n {
        w.write_sample(0.0f32).unwrap();
    }
    w.finalize().unwrap();
    let out = tmp.path().join("out");
    let o = sweeplab(&["analyze", p(&dir), "--out", p(&out), "--no-plots"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("no channel holds the sweep"), "{e}");
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    let ch = &a["channels"][0];
    assert!(ch["latency_s"].is_null() && ch["snr_db"].is_null() && ch["noise"].is_null());
    assert_eq!(
        ch["frequency_response"]["freq_hz"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(ch["warnings"][0].as_str().unwrap().starts_with("no signal"));
}

/// `analyze --calibration`: the calibrated response is the raw one minus the calibration
/// (1e-9 dB) where the calibration covers it, recorded in analysis.json, summary.md and
/// response-calibrated.csv; the raw frequency_response stays as measured; a missing file is
/// exit 2 naming it.
#[test]
fn analyze_applies_a_calibration() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = make_session(tmp.path(), "cal");
    // a microphone 3 dB hot above 1 kHz, covering 30 Hz–15 kHz
    let cal = tmp.path().join("mic.txt");
    std::fs::write(
        &cal,
        "\"Sens Factor =-1.5dB\"\n30 0\n1000 0\n2000 3\n15000 3\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = sweeplab(&[
        "analyze",
        p(&dir),
        "--out",
        p(&out),
        "--calibration",
        p(&cal),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(a["calibration"]["points"], 4);
    let ch = &a["channels"][0];
    let raw_f = ch["frequency_response"]["freq_hz"].as_array().unwrap();
    let raw_g = ch["frequency_response"]["gain_db"].as_array().unwrap();
    let cf = ch["calibrated"]["freq_hz"].as_array().unwrap();
    let cg = ch["calibrated"]["gain_db"].as_array().unwrap();
    assert!(cf.first().unwrap().as_f64().unwrap() >= 30.0);
    assert!(cf.last().unwrap().as_f64().unwrap() <= 15000.0);
    for (f, g) in cf.iter().zip(cg) {
        let (f, g) = (f.as_f64().unwrap(), g.as_f64().unwrap());
        let i = raw_f.iter().position(|x| x.as_f64().unwrap() == f).unwrap();
        let raw = raw_g[i].as_f64().unwrap();
        let want = if f <= 1000.0 {
            0.0
        } else if f >= 2000.0 {
            3.0
        } else {
            3.0 * (f / 1000.0).log2()
        };
        assert!(
            (raw - g - want).abs() < 1e-9,
            "{f} Hz: {raw} − {g} ≠ {want}"
        );
    }
    // the raw response is still the measured −6.02 dB
    let i = raw_f
        .iter()
        .position(|x| x.as_f64().unwrap() >= 5000.0)
        .unwrap();
    assert!((raw_g[i].as_f64().unwrap() + 6.0206).abs() < 0.05);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("mic.txt (4 points"), "{md}");
    assert!(out.join("response-calibrated.csv").is_file());
    // a calibration file that does not exist
    let missing = tmp.path().join("nope.txt");
    let o = sweeplab(&[
        "analyze",
        p(&dir),
        "--out",
        p(&tmp.path().join("out2")),
        "--calibration",
        p(&missing),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.txt"), "{}", stderr(&o));
    assert!(!tmp.path().join("out2").join("analysis.json").exists());
}

/// For scripts: `--json` prints one JSON document on stdout (human lines on stderr), also on
/// failure; `-q` prints nothing but errors; one spelling of the sweep band everywhere; every
/// subcommand's help ends with examples.
#[test]
fn json_quiet_aliases_and_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let s = make_session(tmp.path(), "dev");
    let out = tmp.path().join("a");
    let o = sweeplab(&["analyze", p(&s), "--out", p(&out), "--json", "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(doc["format"], "sweeplab-analyze-summary");
    assert_eq!(doc["ok"], true);
    let a = &doc["analyses"][0];
    assert_eq!(a["out"], p(&out));
    assert_eq!(a["label"], "dev");
    for f in a["files"].as_array().unwrap() {
        assert!(out.join(f.as_str().unwrap()).is_file(), "{f}");
    }
    // the figures are analysis.json's
    let full: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(
        a["channels"][0]["latency_samples"],
        full["channels"][0]["latency_samples"]
    );
    assert!(a["metrics"]["reference_db"].as_f64().is_some());
    assert!(stderr(&o).contains("analysis written to"));

    // a failure still prints a document, with the error and its exit status
    let o = sweeplab(&[
        "analyze",
        p(&tmp.path().join("nope")),
        "--out",
        p(&out),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["analyses"][0]["error"]["exit_code"], 2);

    // quiet: nothing on stdout, nothing but errors on stderr
    let o = sweeplab(&["analyze", p(&s), "--out", p(&out), "-q", "--no-plots"]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stderr(&o));

    // compare --json
    let cmp = tmp.path().join("c");
    let o = sweeplab(&[
        "compare",
        p(&out),
        p(&out),
        "--out",
        p(&cmp),
        "--json",
        "--no-plots",
        "--kind",
        "headset,headphones",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["format"], "sweeplab-compare-summary");
    assert_eq!(doc["devices"].as_array().unwrap().len(), 2);
    assert!(!doc["claims"].as_array().unwrap().is_empty());
    for c in doc["claims"].as_array().unwrap() {
        assert!(
            ["supported", "contradicted", "inconclusive"].contains(&c["verdict"].as_str().unwrap())
        );
    }
    // a --kind list shorter than the sources is refused, not padded
    let o = sweeplab(&[
        "compare",
        p(&out),
        p(&out),
        "--out",
        p(&cmp),
        "--kind",
        "headset",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--kind"), "{}", stderr(&o));

    // --start/--end and --sweep-start/--sweep-end are one flag each, in every subcommand
    let o = sweeplab(&[
        "analyze",
        "--stimulus",
        p(&s.join("stimulus.wav")),
        "--capture",
        p(&s.join("capture.wav")),
        "--start",
        "20",
        "--end",
        "20000",
        "--out",
        p(&tmp.path().join("ext")),
        "--no-plots",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sweeplab(&[
        "sweep",
        "--out",
        p(&tmp.path().join("s2")),
        "--sweep-start",
        "30",
        "--sweep-end",
        "15000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("s2/session.json")).unwrap())
            .unwrap();
    assert_eq!(j["sweep"]["start_hz"], 30.0);
    assert_eq!(j["sweep"]["end_hz"], 15000.0);
    // `sweep` says what comes next, and so does its session.json
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("next: no capture yet"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        j["next_step"]
            .as_str()
            .unwrap()
            .contains("sweeplab analyze")
    );

    for cmd in [
        "sweep", "analyze", "compare", "measure", "devices", "simulate", "demo", "report",
    ] {
        let o = sweeplab(&[cmd, "--help"]);
        let h = String::from_utf8_lossy(&o.stdout);
        assert!(h.contains("Examples:\n  sweeplab "), "{cmd} --help:\n{h}");
    }
}

/// `analyze` of several sessions and `compare` show a progress bar on a terminal (run under
/// `script`, which gives the command a pseudo-terminal) and nothing when their output is
/// piped, as in every other test.
#[test]
fn progress_shows_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_sweeplab");
    let mut dirs = Vec::new();
    for m in ["usb-mic", "loopback"] {
        let d = tmp.path().join(m);
        let o = Command::new(bin)
            .args([
                "simulate",
                "--model",
                m,
                "--out",
                d.to_str().unwrap(),
                "--no-analyze",
                "--duration",
                "1",
            ])
            .output()
            .unwrap();
        assert!(o.status.success());
        dirs.push(d.display().to_string());
    }
    let analyze = |out: &str| {
        format!(
            "{bin} analyze {} {} --out {}",
            dirs[0],
            dirs[1],
            tmp.path().join(out).display()
        )
    };
    let compare = |out: &str| {
        format!(
            "{bin} compare {} {} --out {} --no-plots",
            dirs[0],
            dirs[1],
            tmp.path().join(format!("cmp-{out}")).display()
        )
    };
    for (cmd, what) in [
        (&analyze as &dyn Fn(&str) -> String, "analysing ["),
        (&compare, "comparing ["),
    ] {
        let piped = Command::new("sh")
            .args(["-c", &cmd("piped")])
            .output()
            .unwrap();
        assert!(
            piped.status.success(),
            "{}",
            String::from_utf8_lossy(&piped.stderr)
        );
        assert!(!String::from_utf8_lossy(&piped.stderr).contains(what));
        let tty = Command::new("script")
            .args(["-qec", &cmd("tty"), "/dev/null"])
            .output()
            .expect("script (util-linux/bsdutils) gives a pseudo-terminal");
        let text = String::from_utf8_lossy(&tty.stdout);
        assert!(tty.status.success(), "{text}");
        assert!(text.contains(what) && text.contains("/2"), "{text}");
    }
}
