//! Hostile inputs, resource limits and outputs that stay where they belong (issue 13): each
//! case a small generated input, asserting the exit status, the message, and where that is
//! the point the time and the memory (sweeplab run under `prlimit --as`, so that a refusal
//! is shown to come before the allocation, not after it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sweeplab::testkit::fuzzing::WavBytes;

const BIN: &str = env!("CARGO_BIN_EXE_sweeplab");

fn sweeplab(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run sweeplab")
}

/// sweeplab with its address space capped at `mb` MB: an allocation beyond it fails (the
/// process would abort with "memory allocation failed").
fn sweeplab_capped(mb: u64, args: &[&str]) -> Output {
    Command::new("prlimit")
        .arg(format!("--as={}", mb * 1_000_000))
        .arg("--")
        .arg(BIN)
        .args(args)
        .output()
        .expect("prlimit (util-linux) runs sweeplab")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_exit(o: &Output, code: i32) -> String {
    let e = err(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A session of a simulated loopback: `dir` with stimulus, capture and session.json.
fn session(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "simulate",
        "--model",
        "loopback",
        "--out",
        p(dir),
        "--duration",
        "1",
        "--pre",
        "0.3",
        "--post",
        "0.2",
        "--no-analyze",
    ];
    args.extend_from_slice(extra);
    let o = sweeplab(&args);
    assert_exit(&o, 0);
}

/// A WAV header announcing `data_len` bytes, followed by that many zero bytes as a sparse
/// file (nothing is stored on disk): huge inputs for free.
fn sparse_wav(path: &Path, channels: u16, rate: u32, data_len: u64) {
    sparse_wav_bits(path, channels, rate, 32, data_len)
}

/// [`sparse_wav`] with integer samples of `bits` (32: float).
fn sparse_wav_bits(path: &Path, channels: u16, rate: u32, bits: u16, data_len: u64) {
    let header = WavBytes {
        channels,
        rate,
        bits,
        format: if bits == 32 { 3 } else { 1 },
        declared_data: Some(u32::try_from(data_len).unwrap_or(u32::MAX)),
        ..WavBytes::float(&[])
    }
    .bytes();
    std::fs::write(path, &header).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(header.len() as u64 + data_len).unwrap();
}

// ---------------------------------------------------------------------------------------
// Files read from outside, and echoed

/// A model's FIR file must lie inside the model's folder (links resolved); the error names
/// the model and the `file` value, never the content of what it points at.
#[test]
fn a_model_reads_no_file_outside_its_folder_and_echoes_none() {
    let t = tempfile::tempdir().unwrap();
    let models = t.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let secret = t.path().join("secret.txt");
    std::fs::write(&secret, "0.5\nTOPSECRET\n").unwrap();
    std::os::unix::fs::symlink(&secret, models.join("link.txt")).unwrap();
    for file in [
        "/etc/passwd",
        "/proc/self/environ",
        "../secret.txt",
        "link.txt",
        p(&secret),
    ] {
        let m = models.join("m.toml");
        std::fs::write(
            &m,
            format!("[[stage]]\ntype = \"fir\"\nfile = \"{file}\"\n"),
        )
        .unwrap();
        let out = t.path().join("s");
        let o = Command::new(BIN)
            .args(["simulate", "--model", p(&m), "--out", p(&out)])
            .env("SWEEPLAB_TEST_SECRET", "TOPSECRET")
            .output()
            .unwrap();
        let e = assert_exit(&o, 2);
        assert!(
            e.contains("m.toml") && e.contains("outside the model's folder"),
            "{file}: {e}"
        );
        for leak in ["root:", "TOPSECRET", "PATH="] {
            assert!(!e.contains(leak), "{file}: the error quotes {leak}: {e}");
        }
        assert!(!out.exists(), "{file}: output left behind");
    }
    // inside the folder it is read, and a bad line is named without its content
    std::fs::write(models.join("h.txt"), "0.5\nTOPSECRET\n").unwrap();
    let m = models.join("m.toml");
    std::fs::write(&m, "[[stage]]\ntype = \"fir\"\nfile = \"h.txt\"\n").unwrap();
    let o = sweeplab(&[
        "simulate",
        "--model",
        p(&m),
        "--out",
        p(&t.path().join("s")),
    ]);
    let e = assert_exit(&o, 2);
    assert!(e.contains("line 2") && !e.contains("TOPSECRET"), "{e}");
}

/// A model that is not TOML at all (the environment, a binary) is quoted only as a short,
/// escaped excerpt.
#[test]
fn a_model_error_quotes_only_a_short_escaped_excerpt() {
    let t = tempfile::tempdir().unwrap();
    let m = t.path().join("env.toml");
    let mut text = b"A=1\0B=2\0".to_vec();
    text.extend(format!("LONG={}\0TOPSECRET=x\0", "y".repeat(500)).bytes());
    std::fs::write(&m, &text).unwrap();
    let o = sweeplab(&[
        "simulate",
        "--model",
        p(&m),
        "--out",
        p(&t.path().join("s")),
    ]);
    let e = assert_exit(&o, 2);
    assert!(e.len() < 400, "{} bytes: {e}", e.len());
    assert!(!e.contains("TOPSECRET") && !e.contains('\0'), "{e}");
}

// ---------------------------------------------------------------------------------------
// Limits before work

/// A 65,535-channel capture is refused from its header, at once and within 100 MB.
#[test]
fn too_many_channels_are_refused_from_the_header() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    session(&s, &[]);
    let cap = s.join("capture.wav");
    // 8-bit: the only sample size whose block of 65,535 channels fits the header's 16 bits
    sparse_wav_bits(&cap, 65_535, 48_000, 8, 65_535 * 40);
    let start = Instant::now();
    let o = sweeplab_capped(100, &["analyze", p(&s), "--out", p(&t.path().join("a"))]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("65535 channels") && e.contains("at most 32"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // 32 channels are analysed, and everything written reads back
    sparse_wav(&cap, 32, 48_000, 32 * 4 * 48_000);
    let out = t.path().join("b");
    let o = sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]);
    // a silent capture has no signal: exit 1, but analysis.json is written for inspection
    assert_exit(&o, 1);
    let o = sweeplab(&["report", p(&out), "--out", p(&t.path().join("r"))]);
    assert_exit(&o, 0);
}

/// `analyze --stimulus/--capture` reads a long capture the same bounded way as a session: a
/// 30-minute capture (690 MB as samples) is analysed within a 400 MB address space.
#[test]
fn an_external_capture_is_read_only_as_far_as_needed() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    session(&s, &[]);
    // the real capture, then 30 minutes of (sparse) silence after it
    let cap = std::fs::read(s.join("capture.wav")).unwrap();
    let long = t.path().join("long.wav");
    let extra: u64 = 30 * 60 * 48_000 * 4;
    let data_at = cap.windows(4).position(|w| w == b"data").unwrap() + 8;
    let total = (cap.len() - data_at) as u64 + extra;
    let mut bytes = cap.clone();
    bytes[data_at - 4..data_at].copy_from_slice(&(total as u32).to_le_bytes());
    std::fs::write(&long, &bytes).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&long)
        .unwrap()
        .set_len(data_at as u64 + total)
        .unwrap();
    let out = t.path().join("a");
    let o = sweeplab_capped(
        400,
        &[
            "analyze",
            "--stimulus",
            p(&s.join("stimulus.wav")),
            "--capture",
            p(&long),
            "--sweep-start",
            "20",
            "--sweep-end",
            "20000",
            "--out",
            p(&out),
            "--no-plots",
        ],
    );
    assert_exit(&o, 0);
    let a = json(&out.join("analysis.json"));
    assert!(a["channels"][0]["latency_s"].as_f64().is_some());
}

/// A 500 MB FIR WAV is refused from its header before its samples are read.
#[test]
fn an_fir_tap_limit_is_checked_before_the_read() {
    let t = tempfile::tempdir().unwrap();
    sparse_wav(&t.path().join("h.wav"), 1, 48_000, 500_000_000);
    let m = t.path().join("m.toml");
    std::fs::write(&m, "[[stage]]\ntype = \"fir\"\nfile = \"h.wav\"\n").unwrap();
    let start = Instant::now();
    let o = sweeplab_capped(
        100,
        &[
            "simulate",
            "--model",
            p(&m),
            "--out",
            p(&t.path().join("s")),
        ],
    );
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("125000000 coefficients") && e.contains("65536"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // a text file with too many coefficients stops counting at the limit
    let text = "0.1\n".repeat(70_000);
    std::fs::write(t.path().join("h.txt"), text).unwrap();
    std::fs::write(&m, "[[stage]]\ntype = \"fir\"\nfile = \"h.txt\"\n").unwrap();
    let o = sweeplab(&[
        "simulate",
        "--model",
        p(&m),
        "--out",
        p(&t.path().join("s")),
    ]);
    let e = assert_exit(&o, 2);
    assert!(e.contains("more than 65536 coefficients"), "{e}");
}

/// Legal flags needing more memory than the process may have are refused up front with the
/// figure, exit 2, nothing written: a 192 kHz, 600 s sweep under a 400 MB address space, and
/// the analysis of such a session (sparse WAVs) under 1 GB.
#[test]
fn runs_bigger_than_memory_are_refused_before_they_start() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("big");
    let o = sweeplab_capped(
        400,
        &[
            "sweep",
            "--rate",
            "192000",
            "--duration",
            "600",
            "--out",
            p(&out),
        ],
    );
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("--duration") && e.contains("MB of memory"),
        "{e}"
    );
    assert!(!out.exists());
    let o = sweeplab_capped(
        400,
        &[
            "simulate",
            "--model",
            "loopback",
            "--rate",
            "192000",
            "--duration",
            "600",
            "--out",
            p(&out),
        ],
    );
    let e = assert_exit(&o, 2);
    assert!(e.contains("MB of memory"), "{e}");
    assert!(!out.exists());

    // a session whose files say 600 s at 192 kHz: analysis refused from the headers
    let s = t.path().join("s");
    session(&s, &["--rate", "192000", "--end", "20000"]);
    let frames: u64 = 192_000 * 602;
    sparse_wav(&s.join("stimulus.wav"), 1, 192_000, frames * 4);
    sparse_wav(&s.join("capture.wav"), 2, 192_000, frames * 8);
    let start = Instant::now();
    let a = t.path().join("a");
    let o = sweeplab_capped(1000, &["analyze", p(&s), "--out", p(&a)]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("capture.wav") && e.contains("MB of memory"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!a.exists());
}

/// Text fields are bounded where they are read; claims parse in linear time and are bounded.
#[test]
fn labels_and_claims_are_bounded() {
    let t = tempfile::tempdir().unwrap();
    let long = "x".repeat(1000);
    let o = sweeplab(&["sweep", "--out", p(&t.path().join("s")), "--label", &long]);
    let e = assert_exit(&o, 2);
    assert!(e.contains("--label") && e.contains("at most 200"), "{e}");
    assert!(!t.path().join("s").exists());

    // a session.json carrying a 24 MB label
    let s = t.path().join("s2");
    session(&s, &[]);
    let mut v = json(&s.join("session.json"));
    v["label"] = serde_json::Value::String("y".repeat(24 << 20));
    std::fs::write(s.join("session.json"), v.to_string()).unwrap();
    let start = Instant::now();
    let o = sweeplab(&["analyze", p(&s), "--out", p(&t.path().join("a"))]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("session.json") && e.contains("label"),
        "{}",
        &e[..e.len().min(300)]
    );
    assert!(e.len() < 1000, "the error echoes the label");
    assert!(start.elapsed() < Duration::from_secs(5));

    // --label and --kind lists must match the sources
    let c1 = t.path().join("a.csv");
    let c2 = t.path().join("b.csv");
    std::fs::write(&c1, "frequency,raw\n20,0\n20000,0\n").unwrap();
    std::fs::write(&c2, "frequency,raw\n20,1\n20000,1\n").unwrap();
    let o = sweeplab(&[
        "compare",
        p(&c1),
        p(&c2),
        "--label",
        "A",
        "--out",
        p(&t.path().join("c")),
    ]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("--label") && e.contains("1 values for 2 sources"),
        "{e}"
    );

    // 50,000 claims: refused at once (it took over a minute)
    let mut claims = String::new();
    for i in 0..50_000 {
        claims.push_str(&format!(
            "[[claim]]\nid = \"c{i}\"\nstatement = \"s\"\ndecidable = false\n"
        ));
    }
    let cf = t.path().join("claims.toml");
    std::fs::write(&cf, &claims).unwrap();
    let start = Instant::now();
    let o = sweeplab(&[
        "compare",
        p(&c1),
        p(&c2),
        "--claims",
        p(&cf),
        "--out",
        p(&t.path().join("c")),
    ]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("50000 claims") && e.contains("at most 1000"),
        "{e}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    // 1000 are judged
    let thousand: String = claims
        .split("[[claim]]")
        .skip(1)
        .take(1000)
        .map(|c| format!("[[claim]]{c}"))
        .collect();
    std::fs::write(&cf, thousand).unwrap();
    let o = sweeplab(&[
        "compare",
        p(&c1),
        p(&c2),
        "--claims",
        p(&cf),
        "--no-plots",
        "--out",
        p(&t.path().join("c")),
    ]);
    assert_exit(&o, 0);
}

// ---------------------------------------------------------------------------------------
// Inputs read wrongly with exit 0

/// Decimal commas are read where the separators make them unambiguous, refused where not.
#[test]
fn decimal_commas_are_read_or_refused() {
    let t = tempfile::tempdir().unwrap();
    let flat = t.path().join("flat.csv");
    std::fs::write(&flat, "frequency,raw\n20,75\n1000,75\n20000,75\n").unwrap();
    let cases = [
        (
            "semicolon.txt",
            "20,000;75,370\n1000,5;75,370\n20000,000;75,370\n",
        ),
        (
            "tab.txt",
            "20,000\t75,370\n1000,5\t75,370\n20000,000\t75,370\n",
        ),
        (
            "blank.txt",
            "* REW\n20,000 75,370 -1,5\n1000,5 75,370 -2,0\n20000,000 75,370 3,0\n",
        ),
        (
            "csv-semicolon.csv",
            "frequency;raw\n20,0;75,37\n1000,5;75,37\n20000;75,37\n",
        ),
    ];
    for (name, text) in cases {
        let f = t.path().join(name);
        std::fs::write(&f, text).unwrap();
        let out = t.path().join(format!("c-{name}"));
        let o = sweeplab(&[
            "compare",
            p(&flat),
            p(&f),
            "--normalize",
            "none",
            "--no-plots",
            "--out",
            p(&out),
        ]);
        assert_exit(&o, 0);
        let c = json(&out.join("compare.json"));
        let r = c["devices"][1]["metrics"]["reference_db"].as_f64().unwrap();
        assert!(
            (r - 75.37).abs() < 1e-6,
            "{name}: reference {r} dB (75.37 expected)"
        );
    }
    // commas that could be decimal marks or separators
    let f = t.path().join("ambiguous.txt");
    std::fs::write(&f, "20,000,75,370\n1000,000,75,370\n").unwrap();
    let o = sweeplab(&["compare", p(&flat), p(&f), "--out", p(&t.path().join("c"))]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("ambiguous.txt") && e.contains("line 1") && e.contains("decimal commas"),
        "{e}"
    );
    // thousands separators with decimal commas
    std::fs::write(&f, "1.000,5;75,3\n2.000,5;75,3\n").unwrap();
    let o = sweeplab(&["compare", p(&flat), p(&f), "--out", p(&t.path().join("c"))]);
    let e = assert_exit(&o, 2);
    assert!(e.contains("thousands separator"), "{e}");
    // a decimal-comma calibration file with its sensitivity line
    let cal = t.path().join("cal.txt");
    std::fs::write(
        &cal,
        "\"Sens Factor =-1,5dB, SERNO: 7023270\"\n20,0 -2,5\n20000,0 -2,5\n",
    )
    .unwrap();
    let out = t.path().join("cal-out");
    let o = sweeplab(&[
        "compare",
        p(&flat),
        p(&flat),
        "--calibration",
        p(&cal),
        "--no-plots",
        "--out",
        p(&out),
    ]);
    assert_exit(&o, 0);
}

/// A stimulus that is not the sweep its session.json describes is refused (it was analysed
/// with a warning of 464,330 ppm drift).
#[test]
fn a_stimulus_that_does_not_match_its_session_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    session(&a, &[]);
    let b = t.path().join("b");
    session(&b, &["--start", "100", "--end", "10000"]);
    std::fs::copy(b.join("stimulus.wav"), a.join("stimulus.wav")).unwrap();
    let o = sweeplab(&["analyze", p(&a), "--out", p(&t.path().join("x"))]);
    let e = assert_exit(&o, 2);
    assert!(
        e.contains("stimulus.wav") && e.contains("is not the sweep session.json describes"),
        "{e}"
    );
    // the session's own stimulus passes, also as 16-bit PCM
    let o = sweeplab(&[
        "analyze",
        p(&b),
        "--out",
        p(&t.path().join("y")),
        "--no-plots",
    ]);
    assert_exit(&o, 0);
}

/// A WAV whose data size was left at 0 (or 0xFFFFFFFF) by a streaming recorder is read to
/// the end of the file, and gives the same analysis as the finished file.
#[test]
fn an_unfinished_data_size_is_read_to_the_end() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    session(&s, &[]);
    let good = t.path().join("good");
    assert_exit(
        &sweeplab(&["analyze", p(&s), "--out", p(&good), "--no-plots"]),
        0,
    );
    let cap = std::fs::read(s.join("capture.wav")).unwrap();
    let data_at = cap.windows(4).position(|w| w == b"data").unwrap() + 8;
    for declared in [0u32, u32::MAX] {
        let mut bytes = cap.clone();
        bytes[data_at - 4..data_at].copy_from_slice(&declared.to_le_bytes());
        std::fs::write(s.join("capture.wav"), &bytes).unwrap();
        let out = t.path().join(format!("d{declared}"));
        assert_exit(
            &sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]),
            0,
        );
        let (x, y) = (
            json(&good.join("analysis.json")),
            json(&out.join("analysis.json")),
        );
        assert_eq!(
            x["channels"][0]["frequency_response"], y["channels"][0]["frequency_response"],
            "data size {declared}"
        );
    }
    // an empty data chunk with nothing after it is still an empty capture
    std::fs::write(s.join("capture.wav"), &cap[..data_at]).unwrap();
    let mut bytes = cap[..data_at].to_vec();
    bytes[data_at - 4..data_at].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(s.join("capture.wav"), &bytes).unwrap();
    let e = assert_exit(
        &sweeplab(&["analyze", p(&s), "--out", p(&t.path().join("e"))]),
        2,
    );
    assert!(e.contains("capture.wav") && e.contains("no samples"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Outputs stay inside --out, whole

/// A planted link where an output goes is refused (exit 2) and what it points at is left
/// alone; temporary files have unpredictable names, so a planted `.partial` link is never
/// written through.
#[test]
fn planted_links_are_never_written_through() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    session(&s, &[]);
    let victim = t.path().join("victim.txt");
    std::fs::write(&victim, "keep").unwrap();
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&victim, out.join(".analysis.json.partial")).unwrap();
    assert_exit(
        &sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]),
        0,
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(out.join("analysis.json").is_file());
    std::fs::remove_file(out.join("analysis.json")).unwrap();
    std::os::unix::fs::symlink(&victim, out.join("analysis.json")).unwrap();
    let e = assert_exit(
        &sweeplab(&["analyze", p(&s), "--out", p(&out), "--no-plots"]),
        2,
    );
    assert!(
        e.contains("analysis.json") && e.contains("symbolic link"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");

    // a dangling capture.wav link in a session folder: simulate refuses, nothing is created
    let s2 = t.path().join("s2");
    std::fs::create_dir(&s2).unwrap();
    let target = t.path().join("elsewhere.wav");
    std::os::unix::fs::symlink(&target, s2.join("capture.wav")).unwrap();
    for force in [false, true] {
        let mut args = vec!["simulate", "--model", "loopback", "--out", p(&s2)];
        if force {
            args.push("--force");
        }
        let e = assert_exit(&sweeplab(&args), 2);
        assert!(
            e.contains("capture.wav") && e.contains("symbolic link"),
            "{e}"
        );
        assert!(!target.exists());
    }
}

/// Two runs writing into one folder at once: the second is refused (exit 1) naming the
/// first's process, the first finishes whole, and no lock is left behind.
#[test]
fn a_second_run_into_the_same_folder_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    let o = sweeplab(&[
        "simulate",
        "--model",
        "loopback",
        "--out",
        p(&s),
        "--duration",
        "30",
        "--no-analyze",
    ]);
    assert_exit(&o, 0);
    let out = t.path().join("out");
    let mut first = Command::new(BIN)
        .args(["analyze", p(&s), "--out", p(&out)])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lock = out.join(".sweeplab.lock");
    let start = Instant::now();
    while !lock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the first run never locked"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = sweeplab(&["analyze", p(&s), "--out", p(&out)]);
    let e = assert_exit(&o, 1);
    assert!(
        e.contains(&format!("another sweeplab (process {})", first.id())) && e.contains(p(&out)),
        "{e}"
    );
    assert!(first.wait().unwrap().success());
    assert!(out.join("analysis.json").is_file() && out.join("summary.md").is_file());
    assert!(!lock.exists(), "the lock is left behind");
}

/// A write failure during a capture (a file-size limit, as a full disk would): the WAV
/// header, session.json and the message all give the frames really on disk.
#[test]
fn after_a_full_disk_the_header_session_and_message_agree_with_the_disk() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 1400; exec '{BIN}' simulate --model loopback --out '{}' --duration 5",
            s.display()
        ))
        .output()
        .unwrap();
    let e = assert_exit(&o, 1);
    let session = json(&s.join("session.json"));
    let in_json = session["capture"]["frames"].as_u64().unwrap();
    let bytes = std::fs::read(s.join("capture.wav")).unwrap();
    let data_at = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
    let on_disk = (bytes.len() - data_at) as u64 / 4;
    let header = hound::WavReader::open(s.join("capture.wav"))
        .unwrap()
        .duration() as u64;
    assert_eq!((in_json, header), (on_disk, on_disk), "{e}");
    assert!(e.contains(&format!("{on_disk} frames")), "{e}");
}

/// Ctrl-C during `compare` stops between sources and says what it leaves; a full disk
/// during its plots leaves compare.json and claims.md whole.
#[test]
fn compare_stops_and_fails_like_analyze() {
    let t = tempfile::tempdir().unwrap();
    let mut sources = Vec::new();
    for i in 0..6 {
        let s = t.path().join(format!("s{i}"));
        let o = sweeplab(&[
            "simulate",
            "--model",
            "loopback",
            "--out",
            p(&s),
            "--duration",
            "20",
            "--no-analyze",
        ]);
        assert_exit(&o, 0);
        sources.push(s);
    }
    let out = t.path().join("c");
    let mut args: Vec<&str> = vec!["compare"];
    args.extend(sources.iter().map(|s| p(s)));
    args.extend(["--out", p(&out)]);
    let child = Command::new(BIN)
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let e = assert_exit(&o, 1);
    assert!(
        e.contains("stopped (Ctrl-C) after") && e.contains("of 6 sources"),
        "{e}"
    );
    assert!(!out.join("compare.json").exists());

    // plots cannot be written (each PNG is over 50 KiB): compare.json and claims.md are
    let curves: Vec<PathBuf> = (0..2)
        .map(|i| {
            let c = t.path().join(format!("{i}.csv"));
            std::fs::write(&c, format!("frequency,raw\n20,{i}\n1000,0\n20000,{i}\n")).unwrap();
            c
        })
        .collect();
    let out = t.path().join("full");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 50; exec '{BIN}' compare '{}' '{}' --out '{}'",
            curves[0].display(),
            curves[1].display(),
            out.display()
        ))
        .output()
        .unwrap();
    let e = assert_exit(&o, 1);
    assert!(
        e.contains("compare.json and claims.md hold the whole comparison"),
        "{e}"
    );
    let c = json(&out.join("compare.json"));
    let files: Vec<&str> = c["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files, ["claims.md", "compare.json"]);
    assert!(out.join("claims.md").is_file());
}

/// A full disk while analysis.json is written leaves no plot behind: the pages are painted
/// while the files are written (issue 17), but written only once the files are, so a folder
/// never holds new plots beside a missing or stale analysis.json.
#[test]
fn a_full_disk_at_analysis_json_leaves_no_plot() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    session(&s, &[]);
    let out = t.path().join("out");
    // 200 KiB: analysis.json of this session is larger, most pages are smaller
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 200; exec '{BIN}' analyze '{}' --out '{}'",
            s.display(),
            out.display()
        ))
        .output()
        .unwrap();
    let e = assert_exit(&o, 1);
    assert!(e.contains("analysis.json"), "{e}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .map(|d| {
            d.map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !left
            .iter()
            .any(|n| n.ends_with(".png") || n.ends_with(".svg") || n == "summary.md"),
        "plots written beside a failed analysis.json: {left:?}"
    );
}
