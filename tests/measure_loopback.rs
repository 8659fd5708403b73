//! `sweeplab measure` end to end through a real audio server: a private PulseAudio null-sink
//! loopback (tests/loopback.sh), optionally with a LADSPA Butterworth filter or delay line of
//! known response. Each test (re)starts the daemon in the configuration it needs; they are
//! serialized. Policy: without a loopback a test FAILS when `CI` is set, and otherwise prints
//! "SKIP: … because …" and passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

struct Loopback {
    lb: PathBuf,
    env: Vec<(String, String)>,
}

impl Loopback {
    fn start(test: &str, args: &[&str]) -> Option<Loopback> {
        let lb = std::env::temp_dir().join(format!("sweeplab-lb-measure-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loopback.sh");
        let out = Command::new("timeout")
            .arg("60")
            .arg("bash")
            .arg(&script)
            .arg("restart")
            .args(args)
            .env("LB", &lb)
            .output();
        let why = match out {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "`tests/loopback.sh restart {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run tests/loopback.sh: {e}")),
        };
        if let Some(why) = why {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: the PulseAudio loopback is required when CI is set: {why}");
            }
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: {test}: no software audio loopback because {why}"
            );
            return None;
        }
        let text = std::fs::read_to_string(lb.join("env")).expect("loopback env file");
        let env = text
            .lines()
            .filter_map(|l| l.strip_prefix("export ").and_then(|l| l.split_once('=')))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Loopback { lb, env })
    }

    fn measure(&self, out: &Path, extra: &[&str]) -> Output {
        self.measure_for(out, "2", extra)
    }

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

    fn pid(&self) -> u32 {
        std::fs::read_to_string(self.lb.join("pulseaudio.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loopback.sh");
        let _ = Command::new("timeout")
            .arg("30")
            .arg("bash")
            .arg(script)
            .arg("stop")
            .env("LB", &self.lb)
            .output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.lb);
        }
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
    let Some(lb) = Loopback::start("plain_loopback_is_flat_and_clean", &[]) else {
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
        let Some(lb) = Loopback::start(
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
        let Some(lb) = Loopback::start("extra_delay_moves_the_latency_exactly", &args) else {
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
    let Some(lb) = Loopback::start(
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

#[test]
fn server_killed_mid_sweep_leaves_a_readable_partial_session() {
    let _g = lock();
    let Some(lb) = Loopback::start(
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
    let Some(lb) = Loopback::start("ctrl_c_mid_sweep_keeps_what_was_captured", &[]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
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
