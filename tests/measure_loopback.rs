//! `sweeplab measure` end to end through a real audio server: a private PulseAudio null-sink
//! loopback (tests/loopback.sh), optionally with a LADSPA Butterworth filter or delay line of
//! known response. Each test (re)starts the daemon in the configuration it needs; they are
//! serialized. Policy (tests/common/loopback.rs): without a loopback a test FAILS when `CI`
//! is set, and otherwise prints "SKIP: … because …" and passes.
//!
//! These tests need the `live` feature (cpal): `cargo test --release --features live`; CI
//! runs them so. The default build has no live audio and compiles them out.
#![cfg(feature = "live")]

mod common;

use common::loopback::{Loopback, lock};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn loopback(test: &str, args: &[&str]) -> Option<Loopback> {
    Loopback::start(test, "measure", args)
}

/// `sweeplab measure` against the loopback (its environment given to the child only).
trait Measure {
    fn measure(&self, out: &Path, extra: &[&str]) -> Output {
        self.measure_for(out, "2", extra)
    }
    fn measure_for(&self, out: &Path, duration_s: &str, extra: &[&str]) -> Output;
}

impl Measure for Loopback {
    fn measure_for(&self, out: &Path, duration_s: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "measure",
            "--out",
            out.to_str().unwrap(),
            "--duration",
            duration_s,
            "--pre",
            "0.5",
            "--post",
            "0.5",
            "--force",
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_sweeplab"))
            .args(&args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run sweeplab")
    }
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "measure failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// (freq, gain) of channel 0 from a session's report.
fn response(dir: &Path) -> (Vec<f64>, Vec<f64>, serde_json::Value) {
    let a = json(&dir.join("report/analysis.json"));
    let ch = a["channels"][0].clone();
    let f = ch["frequency_response"]["freq_hz"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let g = ch["frequency_response"]["gain_db"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (f, g, ch)
}

/// The swh-plugins Butterworth biquads (bilinear, prewarped, resonance r = 1.4):
/// |H|² = 1/((1−W²)² + r²W²) (lowpass), W⁴/(…) (highpass), W = tan(πf/fs)/tan(πfc/fs).
fn butterworth_db(f: f64, fc: f64, highpass: bool) -> f64 {
    let fs = 48000.0;
    let r = 1.4;
    let w = (std::f64::consts::PI * f / fs).tan() / (std::f64::consts::PI * fc / fs).tan();
    let d = (1.0 - w * w).powi(2) + r * r * w * w;
    10.0 * (if highpass { w.powi(4) / d } else { 1.0 / d }).log10()
}

#[test]
fn plain_loopback_is_flat_and_clean() {
    let _g = lock();
    let Some(lb) = loopback("plain_loopback_is_flat_and_clean", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plain");
    let t0 = Instant::now();
    let o = lb.measure(
        &out,
        &[
            "--label",
            "PulseAudio loopback",
            "--kind",
            "loopback",
            "--no-analyze",
        ],
    );
    let capture_wall = t0.elapsed();
    ok(&o);
    // wall time: ≤ 1.3 × (pre + sweep + post) plus device start-up (level check 0.9 s, 1 s margin)
    let budget = Duration::from_secs_f64(1.3 * 3.0 + 0.9 + 1.0);
    assert!(
        capture_wall <= budget,
        "capture took {capture_wall:?}, budget {budget:?}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "analyze",
            out.to_str().unwrap(),
            "--out",
            out.join("report").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&o);
    let s = json(&out.join("session.json"));
    assert_eq!(s["complete"], true);
    assert_eq!(s["capture"]["xruns"], 0, "{s}");
    assert!(s["capture"]["timestamp_latency_s"].is_number());
    let (f, g, ch) = response(&out);
    for (fv, gv) in f.iter().zip(&g) {
        if (40.0..=18000.0).contains(fv) {
            assert!(gv.abs() <= 0.05, "{fv} Hz: {gv} dB");
        }
    }
    assert!(
        ch["warnings"].as_array().unwrap().is_empty(),
        "{}",
        ch["warnings"]
    );
    assert!(out.join("report/overview.png").is_file());
}

#[test]
fn butterworth_filters_match_their_formula() {
    let _g = lock();
    for (filter, highpass) in [("lowpass", false), ("highpass", true)] {
        let Some(lb) = loopback(
            "butterworth_filters_match_their_formula",
            &["--filter", filter, "--fc", "1000"],
        ) else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(filter);
        ok(&lb.measure(&out, &[]));
        let (f, g, _) = response(&out);
        let mut worst = (0.0f64, 0.0);
        for (fv, gv) in f.iter().zip(&g) {
            let want = butterworth_db(*fv, 1000.0, highpass);
            if (40.0..=18000.0).contains(fv) && want >= -30.0 && (gv - want).abs() > worst.0.abs() {
                worst = (gv - want, *fv);
            }
        }
        eprintln!("{filter}: worst {:.3} dB at {:.0} Hz", worst.0, worst.1);
        assert!(
            worst.0.abs() <= 0.1,
            "{filter}: {:.3} dB off at {:.0} Hz",
            worst.0,
            worst.1
        );
    }
}

#[test]
fn extra_delay_moves_the_latency_exactly() {
    let _g = lock();
    let mut lat = Vec::new();
    for args in [vec![], vec!["--delay-ms", "100"]] {
        let Some(lb) = loopback("extra_delay_moves_the_latency_exactly", &args) else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("d");
        ok(&lb.measure(&out, &["--no-level-check"]));
        let (_, _, ch) = response(&out);
        lat.push(ch["latency_samples"].as_f64().unwrap());
    }
    let moved = lat[1] - lat[0];
    eprintln!(
        "latency {:.2} → {:.2} samples: moved {moved:.2}",
        lat[0], lat[1]
    );
    assert!(
        (moved - 4800.0).abs() <= 1.0,
        "moved {moved} samples, expected 4800 ±1"
    );
}

#[test]
fn repeats_are_averaged() {
    let _g = lock();
    let Some(lb) = loopback(
        "repeats_are_averaged",
        &["--filter", "lowpass", "--fc", "2000"],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    ok(&lb.measure(&out, &["--repeats", "3"]));
    let s = json(&out.join("session.json"));
    assert_eq!(s["capture"]["repeats"], 3);
    let frames = s["capture"]["frames"].as_u64().unwrap();
    assert!(frames >= 3 * 3 * 48000, "{frames} frames for 3 × 3 s");
    let (f, g, ch) = response(&out);
    for (fv, gv) in f.iter().zip(&g) {
        let want = butterworth_db(*fv, 2000.0, false);
        if (40.0..=18000.0).contains(fv) && want >= -30.0 {
            assert!((gv - want).abs() <= 0.1, "{fv} Hz: {gv} vs {want}");
        }
    }
    assert!(
        ch["warnings"].as_array().unwrap().is_empty(),
        "{}",
        ch["warnings"]
    );
}

/// A re-seat series through the real server: three placements, each its own stream and
/// capture; through an unchanging loopback every placement measures the same filter, so the
/// average matches its formula (0.1 dB) and the spread is nil (< 0.1 dB, deviations
/// < 0.05 dB), with nothing to warn about.
#[test]
fn a_reseat_series_records_every_placement() {
    let _g = lock();
    let Some(lb) = loopback(
        "a_reseat_series_records_every_placement",
        &["--filter", "lowpass", "--fc", "2000"],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let o = lb.measure(&out, &["--reseats", "3", "--reseat-wait", "0.2"]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("placement 3 of 3"), "{err}");
    let s = json(&out.join("session.json"));
    assert_eq!(s["reseats"], 3);
    let pl = s["placements"].as_array().unwrap();
    assert_eq!(pl.len(), 3);
    for (i, p) in pl.iter().enumerate() {
        assert_eq!(p["complete"], true, "{p}");
        let name = p["capture"].as_str().unwrap();
        assert_eq!(
            name,
            if i == 0 {
                "capture.wav".to_string()
            } else {
                format!("capture-{}.wav", i + 1)
            }
        );
        assert!(out.join(name).exists());
    }
    let (f, g, ch) = response(&out);
    for (fv, gv) in f.iter().zip(&g) {
        let want = butterworth_db(*fv, 2000.0, false);
        if (40.0..=18000.0).contains(fv) && want >= -30.0 {
            assert!((gv - want).abs() <= 0.1, "{fv} Hz: {gv} vs {want}");
        }
    }
    let sp = &ch["placements"];
    assert_eq!(sp["averaged"], serde_json::json!([1, 2, 3]));
    let num = |v: &serde_json::Value| v.as_f64().unwrap();
    let freq: Vec<f64> = sp["freq_hz"].as_array().unwrap().iter().map(num).collect();
    let (lo, hi) = (
        sp["min_db"].as_array().unwrap(),
        sp["max_db"].as_array().unwrap(),
    );
    for (i, fv) in freq.iter().enumerate() {
        if (40.0..=18000.0).contains(fv) && butterworth_db(*fv, 2000.0, false) >= -30.0 {
            let spread = num(&hi[i]) - num(&lo[i]);
            assert!(spread < 0.1, "{fv} Hz: placements span {spread} dB");
        }
    }
    for d in sp["deviation_db"].as_array().unwrap() {
        assert!(num(d) < 0.05, "{d}");
    }
    assert!(
        ch["warnings"].as_array().unwrap().is_empty(),
        "{}",
        ch["warnings"]
    );
}

/// Two sides through the real server: the left channel plays through the Butterworth
/// lowpass at 100 % volume, the right at PulseAudio's 50 % (a software gain of 0.5³,
/// −18.062 dB). `measure --sides` drives each alone: L matches the formula, R the formula
/// −18.062 dB (0.1 dB each), the balance is +18.062 dB (0.1 dB), the largest difference the
/// same, both polarities positive and matched with nothing warned; the undriven ear of a
/// null sink receives digital silence, so no crosstalk is reported and a note says why.
#[test]
fn two_sides_with_a_known_gain_between_them() {
    let _g = lock();
    let Some(lb) = loopback(
        "two_sides_with_a_known_gain_between_them",
        &[
            "--filter",
            "lowpass",
            "--fc",
            "2000",
            "--right-volume",
            "50",
        ],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lr");
    let o = lb.measure(&out, &["--sides"]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("right side (output channel 1)"), "{err}");
    let s = json(&out.join("session.json"));
    let sides = s["sides"].as_array().unwrap();
    assert_eq!(sides.len(), 2);
    for (sd, (side, name)) in sides
        .iter()
        .zip([("L", "capture.wav"), ("R", "capture-R.wav")])
    {
        assert_eq!(
            (sd["side"].as_str(), sd["capture"].as_str()),
            (Some(side), Some(name))
        );
        assert_eq!(sd["complete"], true, "{sd}");
        assert!(out.join(name).exists());
    }
    let right_db = 20.0 * 0.125f64.log10();
    let a = json(&out.join("report/analysis.json"));
    let num = |v: &serde_json::Value| v.as_f64().unwrap();
    for (k, (side, offset)) in [("L", 0.0), ("R", right_db)].into_iter().enumerate() {
        let ch = &a["channels"][k];
        assert_eq!(ch["side"], side);
        let fr = &ch["frequency_response"];
        let (f, g) = (
            fr["freq_hz"].as_array().unwrap(),
            fr["gain_db"].as_array().unwrap(),
        );
        let mut checked = 0;
        for (fv, gv) in f.iter().map(num).zip(g.iter().map(num)) {
            let want = butterworth_db(fv, 2000.0, false) + offset;
            if (40.0..=18000.0).contains(&fv) && want >= offset - 30.0 {
                assert!((gv - want).abs() <= 0.1, "{side} {fv} Hz: {gv} vs {want}");
                checked += 1;
            }
        }
        assert!(checked > 300, "{side}: {checked} points");
        assert!(
            ch["warnings"].as_array().unwrap().is_empty(),
            "{}",
            ch["warnings"]
        );
    }
    let sd = &a["sides"];
    let balance = num(&sd["balance_db"]);
    assert!((balance + right_db).abs() < 0.1, "balance {balance}");
    let max = num(&sd["max_difference_db"]);
    eprintln!(
        "balance {balance:.4} dB, largest difference {max:.4} dB, truth {:.4} dB",
        -right_db
    );
    assert!((max + right_db).abs() < 0.1, "largest difference {max}");
    assert_eq!(sd["polarity_matched"], true);
    assert!(
        sd["warnings"].as_array().unwrap().is_empty(),
        "{}",
        sd["warnings"]
    );
    for x in sd["crosstalk"].as_array().unwrap() {
        assert!(
            x["mean_db"].is_null() && x["freq_hz"].as_array().unwrap().is_empty(),
            "{x}"
        );
    }
    assert!(
        sd["notes"].to_string().contains("did not hear"),
        "{}",
        sd["notes"]
    );
}

/// The interactive re-seat series, as a user at a terminal runs it: `measure --reseats 2`
/// under a pseudo-terminal (util-linux `script`), which asks for the headphone to be put
/// back and waits for Enter; the Enter typed is read at the prompt and the second placement
/// recorded. Both placements are complete and averaged.
#[test]
fn a_reseat_series_at_a_terminal_waits_for_enter() {
    use std::io::Write;
    use std::process::Stdio;
    let _g = lock();
    let Some(lb) = loopback("a_reseat_series_at_a_terminal_waits_for_enter", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tty");
    let cmd = format!(
        "{} measure --out {} --duration 1 --pre 0.5 --post 0.5 --force --reseats 2",
        env!("CARGO_BIN_EXE_sweeplab"),
        out.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .envs(lb.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    // typed ahead: the terminal holds the line until the prompt reads it
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "measure did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{said}");
    assert!(
        said.contains("Press Enter to record the next placement"),
        "{said}"
    );
    assert!(said.contains("placement 2 of 2"), "{said}");
    let s = json(&out.join("session.json"));
    let pl = s["placements"].as_array().unwrap();
    assert_eq!(pl.len(), 2);
    assert!(pl.iter().all(|p| p["complete"] == true), "{pl:?}");
    let a = json(&out.join("report/analysis.json"));
    assert_eq!(
        a["channels"][0]["placements"]["averaged"],
        serde_json::json!([1, 2])
    );
}

/// Waiting for Enter needs a terminal: without one (and without --reseat-wait) a series is
/// refused before any device is opened or file written (exit 2). Needs no audio server.
#[test]
fn a_reseat_series_without_a_terminal_is_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args(["measure", "--out", out.to_str().unwrap(), "--reseats", "2"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--reseat-wait"), "{e}");
    assert!(!out.exists());
    for bad in [["--reseats", "0"], ["--reseat-wait", "-1"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
            .args(["measure", "--out", out.to_str().unwrap()])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(bad[0]),
            "{bad:?}"
        );
        assert!(!out.exists());
    }
}

/// A level series through the real server: each step its own session, the series read at
/// 100 Hz and 1 kHz; a clean loopback has no THD to measure (so no level is given for it: no
/// harmonic rises above the noise, and a note says so). With a microphone sensitivity, a
/// series whose loudest step the level check predicts above --max-spl is refused before any
/// sweep (exit 2, nothing written).
#[test]
fn a_level_series_and_its_safe_spl() {
    let _g = lock();
    let Some(lb) = loopback("a_level_series_and_its_safe_spl", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("l");
    ok(&lb.measure(&out, &["--levels=-30,-20"]));
    let s = json(&out.join("session.json"));
    assert_eq!(s["levels"].as_array().unwrap().len(), 2, "{s}");
    assert!(out.join("levels/2/capture.wav").is_file());
    let a = json(&out.join("report/analysis.json"));
    let d = &a["distortion_vs_level"];
    assert_eq!(d["levels_dbfs"], serde_json::json!([-30.0, -20.0]));
    let t = &d["channels"][0]["at_1_percent"][1];
    assert!(t["level_dbfs"].is_null(), "{t}");
    assert!(
        t["note"]
            .as_str()
            .unwrap()
            .contains("no harmonic rose above the noise"),
        "{t}"
    );
    assert!(out.join("report/distortion-vs-level.png").is_file());

    // a sensitivity of dB SPL = dBFS + 120: the −12 dBFS check tone reads about 108 dB SPL,
    // so a −6 dBFS step would reach about 114, above the default 110 dB SPL
    let mic = tmp.path().join("mic.json");
    std::fs::write(
        &mic,
        r#"{"format":"sweeplab-mic-sensitivity","version":1,"created":"2026-11-30T00:00:00Z","recording":"cal.wav","channel":0,"calibrator_db_spl":94.0,"calibrator_dbfs":-26.0,"freq_hz":1000.0,"offset_db":120.0,"dbfs_at_94_db_spl":-26.0}"#,
    )
    .unwrap();
    let loud = tmp.path().join("loud");
    // (not through the helper, whose --force would override the refusal)
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "measure",
            "--out",
            loud.to_str().unwrap(),
            "--duration",
            "2",
            "--levels=-30,-6",
            "--sensitivity",
            mic.to_str().unwrap(),
        ])
        .envs(lb.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("--max-spl") && e.contains("114 dB SPL"), "{e}");
    assert!(!loud.join("session.json").exists());
}

#[test]
fn server_killed_mid_sweep_leaves_a_readable_partial_session() {
    let _g = lock();
    let Some(lb) = loopback(
        "server_killed_mid_sweep_leaves_a_readable_partial_session",
        &[],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k");
    let pid = lb.pid();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2500));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let o = lb.measure_for(&out, "5", &[]);
    killer.join().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("error: ") && e.contains("capture.wav") && e.contains("incomplete"),
        "{e}"
    );
    let s = json(&out.join("session.json"));
    assert_eq!(s["complete"], false);
    assert!(s["capture"]["stop_reason"].is_string());
    let r = hound::WavReader::open(out.join("capture.wav")).expect("a readable partial capture");
    let frames = r.duration();
    assert!(
        frames > 48000 && u64::from(frames) == s["capture"]["frames"].as_u64().unwrap(),
        "{frames} frames"
    );
    // a later analyze works on the partial data or says why it can't
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "analyze",
            out.to_str().unwrap(),
            "--out",
            tmp.path().join("a").to_str().unwrap(),
            "--no-plots",
        ])
        .output()
        .unwrap();
    let a = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() || !o.stderr.is_empty(), "{a}");
    if o.status.success() {
        assert!(a.contains("incomplete"), "{a}");
    }
}

#[test]
fn ctrl_c_mid_sweep_keeps_what_was_captured() {
    let _g = lock();
    let Some(lb) = loopback("ctrl_c_mid_sweep_keeps_what_was_captured", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let child = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "measure",
            "--out",
            out.to_str().unwrap(),
            "--duration",
            "5",
            "--pre",
            "0.5",
            "--post",
            "0.5",
            "--no-level-check",
        ])
        .envs(lb.env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let t0 = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "took {:?} to stop after SIGINT",
        t0.elapsed()
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("interrupted") && e.contains("capture.wav"),
        "{e}"
    );
    let s = json(&out.join("session.json"));
    assert_eq!(s["complete"], false);
    let r = hound::WavReader::open(out.join("capture.wav")).expect("a readable partial capture");
    assert!(
        r.duration() > 48000 && u64::from(r.duration()) == s["capture"]["frames"].as_u64().unwrap()
    );
}

/// `sweeplab measure` with its stderr read line by line: waits for a line containing
/// `cue`, sends SIGINT `delay` later, and returns (exit status, all of stderr, seconds from
/// the signal to the exit).
fn interrupt_at(
    lb: &Loopback,
    args: &[&str],
    cue: &str,
    delay: Duration,
) -> (Option<i32>, String, f64) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args(args)
        .envs(lb.env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(cue);
                seen.push(line);
                if hit {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("never saw {cue:?} on stderr:\n{}", seen.join("\n"));
            }
        }
    }
    std::thread::sleep(delay);
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let t0 = Instant::now();
    let status = child.wait().unwrap();
    let took = t0.elapsed().as_secs_f64();
    reader.join().unwrap();
    seen.extend(rx.try_iter());
    (status.code(), seen.join("\n"), took)
}

#[test]
fn ctrl_c_during_the_level_check_records_nothing() {
    let _g = lock();
    let Some(lb) = loopback("ctrl_c_during_the_level_check_records_nothing", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("l");
    let args = ["measure", "--out", out.to_str().unwrap(), "--duration", "2"];
    // the level check (0.9 s of tone and silence) starts right after the device names
    let (code, e, took) = interrupt_at(&lb, &args, "input:", Duration::from_millis(300));
    assert_eq!(code, Some(1), "{e}");
    assert!(took < 2.0, "took {took:.2} s to stop after SIGINT");
    assert!(
        e.contains("interrupted") && e.contains("level check") && !e.contains("level check: 1 kHz"),
        "{e}"
    );
    assert!(
        !out.exists(),
        "a session folder was made although nothing was recorded"
    );
}

#[test]
fn ctrl_c_during_the_analysis_keeps_the_whole_session() {
    let _g = lock();
    let Some(lb) = loopback("ctrl_c_during_the_analysis_keeps_the_whole_session", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a");
    let args = [
        "measure",
        "--out",
        out.to_str().unwrap(),
        "--duration",
        "2",
        "--pre",
        "0.5",
        "--post",
        "0.5",
        "--no-level-check",
    ];
    // "captured in …" is printed once the session is on disk, as the analysis starts
    let (code, e, took) = interrupt_at(&lb, &args, "captured in", Duration::ZERO);
    assert_eq!(code, Some(1), "{e}");
    assert!(took < 2.0, "took {took:.2} s to stop after SIGINT");
    assert!(
        e.contains("interrupted") && e.contains("Ctrl-C") && e.contains("sweeplab "),
        "{e}"
    );
    // the recording is whole and says so
    let s = json(&out.join("session.json"));
    assert_eq!(s["complete"], true, "{s}");
    let r = hound::WavReader::open(out.join("capture.wav")).expect("capture.wav");
    assert_eq!(
        u64::from(r.duration()),
        s["capture"]["frames"].as_u64().unwrap()
    );
    assert!(
        r.duration() as usize >= 3 * 48000,
        "{} frames",
        r.duration()
    );
    // whatever the analysis had written is whole: no temporary files, and analysis.json
    // (if there) reads
    if let Ok(entries) = std::fs::read_dir(out.join("report")) {
        for p in entries.flatten().map(|e| e.path()) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.ends_with(".partial"),
                "a temporary file was left: {name}"
            );
            if name == "analysis.json" {
                json(&p);
            }
        }
    }
    // and a later analyze finishes the job
    let report = out.join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "analyze",
            out.to_str().unwrap(),
            "--out",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = json(&out.join("report").join("analysis.json"));
    assert!(a["channels"][0]["latency_s"].as_f64().unwrap() > 0.0, "{a}");
    assert!(out.join("report").join("response.png").is_file());
}

/// `--input-channel 5` on the loopback's 2-channel source recorded silence and exited 0: it
/// is refused before anything is played or written; channel 1 (its second) records the
/// sweep. Legal flags needing more memory than the machine has are refused before the
/// devices are opened.
#[test]
fn input_channels_and_memory_are_checked_before_the_sweep() {
    let _g = lock();
    let Some(lb) = loopback(
        "input_channels_and_memory_are_checked_before_the_sweep",
        &[],
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c5");
    let o = lb.measure(&out, &["--input-channel", "5"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("--input-channel") && e.contains("2 input channel(s) of its own"),
        "{e}"
    );
    assert!(
        !out.exists(),
        "a refused measurement wrote {}",
        out.display()
    );
    let out = tmp.path().join("c1");
    ok(&lb.measure(&out, &["--input-channel", "1"]));
    let (_, g, _) = response(&out);
    assert!(!g.is_empty(), "channel 1 holds the sweep");

    let out = tmp.path().join("big");
    let o = Command::new("prlimit")
        .arg("--as=2000000000")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "measure",
            "--out",
            out.to_str().unwrap(),
            "--repeats",
            "100",
            "--duration",
            "600",
        ])
        .envs(lb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("MB of memory") && e.contains("--repeats"), "{e}");
    assert!(!out.exists());
}

#[test]
fn measure_with_limits_checks_the_unit_it_measured() {
    let _g = lock();
    let Some(lb) = loopback("measure_with_limits_checks_the_unit_it_measured", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let golden = tmp.path().join("golden");
    ok(&lb.measure(&golden, &[]));
    let limits = tmp.path().join("limits.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "limits",
            "--from",
            golden.to_str().unwrap(),
            "--out",
            limits.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&o);
    // PulseAudio's latency differs from one stream to the next by more than the ±1 ms a
    // golden's window allows: this test holds the unit to everything else
    let text: String = std::fs::read_to_string(&limits)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("latency_ms"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&limits, text).unwrap();
    // a limits file that is not one: exit 2 before the sweep, no session
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "format = \"nope\"\n").unwrap();
    let refused = tmp.path().join("refused");
    let o = lb.measure(&refused, &["--limits", bad.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!refused.exists());
    // a measurement microphone's sensitivity from a calibrator tone (−26 dBFS peak at
    // 94 dB SPL: dB SPL = dBFS + 120), given to measure
    let cal = tmp.path().join("cal.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&cal, spec).unwrap();
    for i in 0..48000 * 4 {
        let t = i as f64 / 48000.0;
        let v = 10f64.powf(-26.0 / 20.0) * (2.0 * std::f64::consts::PI * 1000.0 * t).sin();
        w.write_sample(v as f32).unwrap();
    }
    w.finalize().unwrap();
    let mic = tmp.path().join("mic.json");
    let o = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args([
            "calibrate",
            cal.to_str().unwrap(),
            "--out",
            mic.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&o);
    // the unit: measured, analysed (in dB SPL too), checked, stored
    let unit = tmp.path().join("unit");
    let db = tmp.path().join("r.sqlite");
    let o = lb.measure(
        &unit,
        &[
            "--limits",
            limits.to_str().unwrap(),
            "--serial",
            "LB1",
            "--db",
            db.to_str().unwrap(),
            "--sensitivity",
            mic.to_str().unwrap(),
        ],
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("LB1: PASS"), "{out}");
    let r = json(&unit.join("report/check.json"));
    assert_eq!(r["serial"], "LB1");
    assert!(
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "ch0 response upper")
    );
    assert!(db.is_file());
    let a = json(&unit.join("report/analysis.json"));
    assert!(
        (a["spl"]["offset_db"].as_f64().unwrap() - 120.0).abs() < 0.02,
        "{}",
        a["spl"]
    );
    assert!(out.contains("dB SPL"), "{out}");
}
