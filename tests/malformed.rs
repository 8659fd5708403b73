//! A corpus of malformed and unusual inputs. Each bad one exits 2 with a message naming the
//! file and the problem, never panics, and leaves no output behind; each unusual but valid
//! one (8-bit, WAVE_FORMAT_EXTENSIBLE, unknown and odd-sized chunks) is accepted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sweeplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args(args)
        .output()
        .expect("run sweeplab")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A RIFF/WAVE file from parts: fmt fields, extra chunks before data, data bytes, and an
/// optional override of the data chunk's declared size.
struct Wav {
    format: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    block_align: Option<u16>,
    extensible_sub: Option<u16>,
    extra_chunks: Vec<(&'static [u8; 4], Vec<u8>)>,
    data: Vec<u8>,
    declared_data: Option<u32>,
}

impl Wav {
    fn float(samples: &[f32]) -> Wav {
        Wav {
            format: 3,
            channels: 1,
            rate: 48000,
            bits: 32,
            block_align: None,
            extensible_sub: None,
            extra_chunks: vec![],
            data: samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
            declared_data: None,
        }
    }
    fn bytes(&self) -> Vec<u8> {
        let ba = self
            .block_align
            .unwrap_or(self.channels * self.bits.div_ceil(8));
        let mut fmt = Vec::new();
        let fmt_tag = if self.extensible_sub.is_some() {
            0xFFFE
        } else {
            self.format
        };
        fmt.extend(fmt_tag.to_le_bytes());
        fmt.extend(self.channels.to_le_bytes());
        fmt.extend(self.rate.to_le_bytes());
        fmt.extend((self.rate * u32::from(ba)).to_le_bytes());
        fmt.extend(ba.to_le_bytes());
        fmt.extend(self.bits.to_le_bytes());
        if let Some(sub) = self.extensible_sub {
            fmt.extend(22u16.to_le_bytes());
            fmt.extend(self.bits.to_le_bytes());
            fmt.extend(4u32.to_le_bytes()); // channel mask: front centre
            fmt.extend(sub.to_le_bytes());
            fmt.extend([
                0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
            ]);
        }
        let mut body = b"WAVE".to_vec();
        body.extend(b"fmt ");
        body.extend((fmt.len() as u32).to_le_bytes());
        body.extend(&fmt);
        for (id, content) in &self.extra_chunks {
            body.extend(*id);
            body.extend((content.len() as u32).to_le_bytes());
            body.extend(content);
            if content.len() % 2 == 1 {
                body.push(0);
            }
        }
        body.extend(b"data");
        body.extend(
            self.declared_data
                .unwrap_or(self.data.len() as u32)
                .to_le_bytes(),
        );
        body.extend(&self.data);
        let mut out = b"RIFF".to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }
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
    assert!(a.contains("does not fit in the capture"), "{a:.300}");
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
    check(None, "missing");
    // a directory where a file is expected
    std::fs::write(s.join("session.json"), &ok).unwrap();
    std::fs::remove_file(s.join("capture.wav")).unwrap();
    std::fs::create_dir(s.join("capture.wav")).unwrap();
    let o = sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("directory"));
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
