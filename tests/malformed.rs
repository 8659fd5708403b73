//! A corpus of malformed and unusual inputs. Each bad one exits 2 with a message naming the
//! file and the problem, never panics, and leaves no output behind; each unusual but valid
//! one (8-bit, WAVE_FORMAT_EXTENSIBLE, unknown and odd-sized chunks) is accepted.

mod common;
use common::sweeplab;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sweeplab::testkit::fuzzing::WavBytes as Wav;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    stimulus: PathBuf,
    samples: Vec<f32>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let s = root.join("s");
    let o = sweeplab(&[
        "sweep",
        "--out",
        p(&s),
        "--duration",
        "1",
        "--pre",
        "0.3",
        "--post",
        "0.2",
    ]);
    assert!(o.status.success());
    let mut r = hound::WavReader::open(s.join("stimulus.wav")).unwrap();
    let samples: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    Fixture {
        stimulus: s.join("stimulus.wav"),
        samples,
        root,
        _tmp: tmp,
    }
}

impl Fixture {
    /// Analyses `capture` bytes against the good stimulus.
    fn analyze(&self, name: &str, capture: &[u8]) -> (Output, PathBuf) {
        let cap = self.root.join(name);
        std::fs::write(&cap, capture).unwrap();
        let out = self.root.join(format!("out-{name}"));
        let o = sweeplab(&[
            "analyze",
            "--stimulus",
            p(&self.stimulus),
            "--capture",
            p(&cap),
            "--sweep-start",
            "20",
            "--sweep-end",
            "20000",
            "--out",
            p(&out),
            "--no-plots",
        ]);
        (o, out)
    }
    fn expect_bad(&self, name: &str, capture: &[u8], needle: &str) {
        let (o, out) = self.analyze(name, capture);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(
            e.contains(name),
            "{name}: message does not name the file: {e}"
        );
        assert!(
            e.to_lowercase().contains(&needle.to_lowercase()),
            "{name}: expected {needle:?} in {e}"
        );
        assert!(!e.contains("panicked"), "{e}");
        assert!(
            !out.join("analysis.json").exists(),
            "{name}: output left behind"
        );
    }
    fn expect_ok(&self, name: &str, capture: &[u8]) {
        let (o, out) = self.analyze(name, capture);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.join("analysis.json").is_file());
    }
}

#[test]
fn malformed_wavs_are_rejected_with_the_reason() {
    let f = fixture();
    let good = Wav::float(&f.samples).bytes();
    f.expect_bad("empty.wav", &[], "empty");
    f.expect_bad("header-cut.wav", &good[..30], "truncated");
    f.expect_bad(
        "not-riff.wav",
        b"ID3\x03\x00\x00\x00\x00\x00\x00 mp3 data here ....",
        "not a valid WAV",
    );
    f.expect_bad(
        "data-too-long.wav",
        &Wav {
            declared_data: Some(u32::MAX - 100),
            ..Wav::float(&f.samples)
        }
        .bytes(),
        "claims",
    );
    f.expect_bad("data-cut.wav", &good[..good.len() - 1000], "claims");
    f.expect_bad(
        "float64.wav",
        &Wav {
            bits: 64,
            data: vec![0; 800],
            ..Wav::float(&[])
        }
        .bytes(),
        "64-bit float",
    );
    f.expect_bad(
        "mulaw.wav",
        &Wav {
            format: 7,
            bits: 8,
            data: vec![0xFF; 4800],
            ..Wav::float(&[])
        }
        .bytes(),
        "unsupported",
    );
    f.expect_bad(
        "zero-channels.wav",
        &Wav {
            channels: 0,
            block_align: Some(4),
            ..Wav::float(&f.samples)
        }
        .bytes(),
        "0 channels",
    );
    f.expect_bad(
        "zero-rate.wav",
        &Wav {
            rate: 0,
            ..Wav::float(&f.samples)
        }
        .bytes(),
        "Hz",
    );
    f.expect_bad(
        "absurd-rate.wav",
        &Wav {
            rate: 4_000_000_000,
            ..Wav::float(&f.samples)
        }
        .bytes(),
        "Hz",
    );
    let mut nan = f.samples.clone();
    nan[1234] = f32::NAN;
    f.expect_bad("nan.wav", &Wav::float(&nan).bytes(), "NaN");
    let mut inf = f.samples.clone();
    inf[99] = f32::NEG_INFINITY;
    f.expect_bad("inf.wav", &Wav::float(&inf).bytes(), "inf");
    f.expect_bad("zero-length.wav", &Wav::float(&[]).bytes(), "no samples");
    f.expect_bad(
        "other-rate.wav",
        &Wav {
            rate: 44100,
            ..Wav::float(&f.samples)
        }
        .bytes(),
        "44100 Hz",
    );
}

#[test]
fn unusual_but_valid_wavs_are_accepted() {
    let f = fixture();
    // 8-bit unsigned PCM
    let u8data: Vec<u8> = f
        .samples
        .iter()
        .map(|&s| (f64::from(s) * 127.0 + 128.0).round() as u8)
        .collect();
    f.expect_ok(
        "pcm8.wav",
        &Wav {
            format: 1,
            bits: 8,
            data: u8data,
            ..Wav::float(&[])
        }
        .bytes(),
    );
    // 24-bit PCM in WAVE_FORMAT_EXTENSIBLE
    let i24: Vec<u8> = f
        .samples
        .iter()
        .flat_map(|&s| ((f64::from(s) * 8_388_607.0) as i32).to_le_bytes()[..3].to_vec())
        .collect();
    f.expect_ok(
        "ext24.wav",
        &Wav {
            format: 1,
            bits: 24,
            extensible_sub: Some(1),
            data: i24,
            ..Wav::float(&[])
        }
        .bytes(),
    );
    // float in EXTENSIBLE, with an unknown odd-sized chunk and a LIST chunk before the data
    let w = Wav {
        extensible_sub: Some(3),
        extra_chunks: vec![
            (b"junk", vec![1, 2, 3]),
            (b"LIST", b"INFOISFT\x06\x00\x00\x00tool!\x00".to_vec()),
        ],
        ..Wav::float(&f.samples)
    };
    f.expect_ok("ext-float-chunks.wav", &w.bytes());
    // a capture shorter than the sweep: analysed, with a warning
    let short = Wav::float(&f.samples[..f.samples.len() / 2]).bytes();
    let (o, out) = f.analyze("short.wav", &short);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = std::fs::read_to_string(out.join("analysis.json")).unwrap();
    assert!(a.contains("the capture ends"), "{a:.300}");
}

#[test]
fn bad_session_json_and_paths() {
    let f = fixture();
    let s = f.root.join("s");
    std::fs::copy(&f.stimulus, s.join("capture.wav")).unwrap();
    let out = f.root.join("out");
    let check = |content: Option<&str>, needle: &str| {
        if let Some(c) = content {
            std::fs::write(s.join("session.json"), c).unwrap();
        } else {
            let _ = std::fs::remove_file(s.join("session.json"));
        }
        let o = sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains("session.json") && e.contains(needle),
            "expected {needle:?}: {e}"
        );
    };
    let ok = std::fs::read_to_string(s.join("session.json")).unwrap();
    check(Some("[1, 2"), "not valid JSON");
    check(
        Some(&ok.replace("\"version\": 1", "\"version\": 7")),
        "version 7",
    );
    check(
        Some(&ok.replace("sweeplab-session", "something-else")),
        "format",
    );
    check(
        Some(r#"{"format": "sweeplab-session", "version": 1, "sample_rate": 48000}"#),
        "sweep",
    );
    check(
        Some(&ok.replace("\"start_hz\": 20.0", "\"start_hz\": -5.0")),
        "start_hz",
    );
    // numbers that parse but do not fit the stimulus (found by fuzzing: an overflow)
    check(
        Some(&ok.replace("\"pre_s\": 0.3", "\"pre_s\": 1e300")),
        "pre_s",
    );
    check(
        Some(&ok.replace("\"pre_s\": 0.3", "\"pre_s\": 59.0")),
        "do not belong together",
    );
    check(
        Some(&ok.replace("\"rate_l_s\": ", "\"rate_l_s\": 1e-3, \"was\": ")),
        "rate_l_s",
    );
    check(None, "missing");
    // a directory where a file is expected
    std::fs::write(s.join("session.json"), &ok).unwrap();
    std::fs::remove_file(s.join("capture.wav")).unwrap();
    std::fs::create_dir(s.join("capture.wav")).unwrap();
    let o = sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is a folder, but a WAV file was expected")
    );
    std::fs::remove_dir(s.join("capture.wav")).unwrap();
    std::fs::copy(&f.stimulus, s.join("capture.wav")).unwrap();
    // an output path that is a file
    let file = f.root.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let o = sweeplab(&["analyze", p(&s), "--out", p(&file), "--no-plots"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("a-file"));
}

#[test]
fn fifos_devices_and_inconsistent_analyses_are_refused() {
    let f = fixture();
    // a FIFO would block a reader forever, /dev/zero would fill memory
    let fifo = f.root.join("pipe.wav");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let out = f.root.join("out-fifo");
    let analyze = [
        "analyze",
        "--stimulus",
        p(&f.stimulus),
        "--capture",
        p(&fifo),
        "--sweep-start",
        "20",
        "--sweep-end",
        "20000",
    ];
    for (args, culprit) in [
        (&analyze[..], p(&fifo)),
        (&["simulate", "--model", p(&fifo)][..], p(&fifo)),
        (&["compare", "/dev/zero", "/dev/zero"][..], "/dev/zero"),
    ] {
        let o = sweeplab(&[args, &["--out", p(&out)]].concat());
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains(culprit) && e.contains("not a regular file"),
            "{args:?}: {e}"
        );
    }
    // an analysis.json whose series do not line up
    let s = f.root.join("s");
    std::fs::copy(&f.stimulus, s.join("capture.wav")).unwrap();
    let a = f.root.join("a");
    let o = sweeplab(&["analyze", p(&s), "--out", p(&a), "--no-plots"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = a.join("analysis.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["channels"][0]["frequency_response"]["gain_db"]
        .as_array_mut()
        .unwrap()
        .truncate(5);
    std::fs::write(&file, v.to_string()).unwrap();
    let o = sweeplab(&["report", p(&a)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("analysis.json") && e.contains("gain_db has 5 values"),
        "{e}"
    );
    assert!(!a.join("response.png").exists(), "a plot was drawn from it");
}
