//! `simulate`, `demo` and the committed fixture sessions, through the command line.

mod common;
use common::sweeplab;

use std::path::Path;
use std::process::Command;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn demo_writes_a_report_per_device() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = sweeplab(&["demo", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // the production run: two faulty units fail for their fault, the rest pass
    let stdout = String::from_utf8_lossy(&o.stdout);
    for line in [
        "SN1001  PASS",
        "SN1002  PASS",
        "SN1003  FAIL: ch0 sensitivity (level at 1 kHz)",
        "SN1004  FAIL: ch0 response upper",
        "SN1005  PASS",
        "5 units, yield 60 %",
    ] {
        assert!(stdout.contains(line), "{line} in {stdout}");
    }
    assert!(out.join("production/results.sqlite").is_file());
    assert!(out.join("production/SN1004/report/check.png").is_file());
    for m in [
        "studio-headphones",
        "gaming-headset-speaker",
        "gaming-headset-mic",
        "usb-mic",
        "loopback",
    ] {
        for f in [
            "session.json",
            "capture.wav",
            "truth.json",
            "report/analysis.json",
            "report/overview.png",
            "report/summary.md",
        ] {
            assert!(out.join(m).join(f).is_file(), "{m}/{f}");
        }
    }
    // the verdicts about simulated devices carry their mark, on the terminal and in the files
    let stdout = String::from_utf8_lossy(&o.stdout);
    let simulated = stdout
        .split("published measurements of real products")
        .next()
        .unwrap();
    let mut decided = 0;
    for line in simulated.lines() {
        let l = line.trim_start();
        if l.starts_with("supported") || l.starts_with("contradicted") {
            decided += 1;
            assert!(
                l.ends_with("(simulated devices)"),
                "unmarked verdict: {line}"
            );
        }
    }
    assert!(decided > 0, "{stdout}");
    let cmp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare/compare.json")).unwrap())
            .unwrap();
    for d in cmp["devices"].as_array().unwrap() {
        assert_eq!(d["provenance"], "simulated", "{d}");
    }
    for c in cmp["claims"].as_array().unwrap() {
        if c["verdict"] != "inconclusive" {
            assert!(
                c["caveats"]
                    .to_string()
                    .contains("not a fact about real products"),
                "{c}"
            );
        }
    }
    // the headphones are measured in five placements: the average, its spread, and claims
    // judged over the spread
    for m in ["studio-headphones", "gaming-headset-speaker"] {
        let a = json(&out.join(m).join("report/analysis.json"));
        assert_eq!(
            a["channels"][0]["placements"]["averaged"],
            serde_json::json!([1, 2, 3, 4, 5]),
            "{m}"
        );
        assert!(out.join(m).join("capture-5.wav").is_file());
    }
    assert!(
        cmp["claims"].to_string().contains("over the placements"),
        "{}",
        cmp["claims"]
    );
    // the headset's driver is played at rising levels: its distortion against level
    let a = json(&out.join("gaming-headset-speaker/report/analysis.json"));
    assert_eq!(
        a["distortion_vs_level"]["levels_dbfs"]
            .as_array()
            .unwrap()
            .len(),
        5,
        "{}",
        a["distortion_vs_level"]
    );
    assert!(
        out.join("gaming-headset-speaker/report/distortion-vs-level.png")
            .is_file()
    );
    // and real products are judged on published measurements, with their licence and source
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("compare-published/compare.json")).unwrap(),
    )
    .unwrap();
    let devs = published["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 8);
    assert!(devs.iter().all(|d| d["provenance"] == "published"));
    assert_eq!(published["kind_counts"]["headset"], 4);
    assert!(out.join("published/LICENSE").is_file() && out.join("published/README.md").is_file());
    assert!(
        stdout.contains("published measurements of real products"),
        "{stdout}"
    );
    // a second run redoes its own simulated sessions
    let o = sweeplab(&["demo", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn simulate_refuses_to_overwrite_and_rejects_bad_models() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    let args = [
        "simulate",
        "--model",
        "loopback",
        "--out",
        s.to_str().unwrap(),
        "--duration",
        "1",
        "--pre",
        "0.3",
        "--post",
        "0.3",
    ];
    let o = sweeplab(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(s.join("report/analysis.json").is_file());
    let o = sweeplab(&args);
    assert_eq!(o.status.code(), Some(2));
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[stage]]\ntype = \"peaking\"\nfreq_hz = 1000\nq = 1\n",
    )
    .unwrap();
    let o = sweeplab(&[
        "simulate",
        "--model",
        bad.to_str().unwrap(),
        "--out",
        tmp.path().join("t").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("bad.toml") && e.contains("gain_db"), "{e}");
    let o = sweeplab(&[
        "simulate",
        "--model",
        "no-such-model",
        "--out",
        tmp.path().join("u").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// Each committed fixture session analyses to its model's truth: IR-peak latency ±0.1 sample,
/// gain at 1 kHz ±0.1 dB, noise band level ±1 dB (only 0.3 s of pre-roll: a short realization
/// of the noise; the ±0.5 dB requirement is checked on 1 s pre-rolls in sim_truth).
#[test]
fn fixture_sessions_match_their_truth() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sessions");
    let tmp = tempfile::tempdir().unwrap();
    for m in [
        "studio-headphones",
        "gaming-headset-speaker",
        "gaming-headset-mic",
        "usb-mic",
        "loopback",
    ] {
        let out = tmp.path().join(m);
        let o = sweeplab(&[
            "analyze",
            root.join(m).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
        ]);
        assert!(
            o.status.success(),
            "{m}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let a = json(&out.join("analysis.json"));
        let t = &json(&root.join(m).join("truth.json"))["truth"];
        let ch = &a["channels"][0];
        let lat = ch["latency_samples"].as_f64().unwrap();
        assert!(
            (lat - t["ir_peak_samples"].as_f64().unwrap()).abs() < 0.1,
            "{m}: latency {lat}"
        );
        let l1k = ch["level_1k_dbfs"].as_f64().unwrap();
        assert!(
            (l1k - (-12.0 + t["gain_1k_db"].as_f64().unwrap())).abs() < 0.1,
            "{m}: level {l1k}"
        );
        let noise = ch["noise"]["rms_dbfs"].as_f64().unwrap();
        assert!(
            (noise - t["noise"]["rms_dbfs"].as_f64().unwrap()).abs() < 1.0,
            "{m}: noise {noise}"
        );
    }
}

/// A write failure mid-capture (a file-size limit, as a full disk would): exit 1, the error
/// names capture.wav, session.json says what happened, the partial capture stays readable and
/// a later analyze works on it.
#[test]
fn write_failure_mid_capture_keeps_a_readable_partial_session() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    // SIGXFSZ ignored (inherited through exec), so the write fails with EFBIG instead of
    // killing the process; 1400 KiB holds the 1.34 MB stimulus but not the 1.5 MB capture
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 1400; exec '{}' simulate --model loopback --out '{}' --duration 5",
            env!("CARGO_BIN_EXE_sweeplab"),
            s.display()
        ))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("capture.wav") && e.contains("incomplete"), "{e}");
    let session = json(&s.join("session.json"));
    assert_eq!(session["complete"], false);
    assert!(
        session["capture"]["stop_reason"]
            .as_str()
            .unwrap()
            .contains("capture"),
        "{session}"
    );
    let r = hound::WavReader::open(s.join("capture.wav")).expect("readable partial capture");
    assert!(r.duration() > 48000, "{} frames", r.duration());
    let out = tmp.path().join("a");
    let o = sweeplab(&[
        "analyze",
        s.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = std::fs::read_to_string(out.join("analysis.json")).unwrap();
    assert!(a.contains("incomplete"), "{a:.200}");
}
