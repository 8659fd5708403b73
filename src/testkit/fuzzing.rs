//! Fuzz entry points: one function per input format sweeplab owns, each driving the bytes
//! through the path the CLI takes with them (not only the parser: the analysis, comparison,
//! rendering or simulation that follows).
//!
//! `fuzz/` (cargo fuzz, libFuzzer) calls these; `tests/fuzz_regressions.rs` replays every
//! input saved in `fixtures/fuzz/<target>/` (crashes found, and seeds) on the stable
//! toolchain. A function returns whether sweeplab accepted the input all the way through
//! (the seeds must be), and panics when an invariant breaks:
//! - a hostile input gives `Ok`, or an exit-2 error whose message names the file at fault;
//! - an error leaves no file in the output folder;
//! - what was written can be read back (`analysis.json`, `compare.json`);
//! - simulated captures are finite.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::compare::CompareArgs;
use crate::device::{Duplex, MemorySink, OutputRouting, RunRequest};
use crate::dsp::sweep::SweepSpec;
use crate::error::{Error, Result};
use crate::session::compare as run_compare_session;
use crate::session::{AnalyzeOptions, analyze_external, analyze_session, create_sweep_session};
use crate::sim::DeviceModel;
use crate::sim::SimDuplex;
use crate::storage::session_file::{ANALYSIS_JSON, SESSION_JSON, read_analysis};
use crate::storage::wav::{read_wav, write_wav_f32};

/// A fuzz target: takes the fuzzer's bytes, says whether the input was accepted.
pub type Target = fn(&[u8]) -> bool;

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and `fixtures/fuzz/<name>/` are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("wav", wav),
    ("session_json", session_json),
    ("analysis_json", analysis_json),
    ("curve", curve),
    ("claims_toml", claims_toml),
    ("model_toml", model_toml),
];

/// The fixed sweep the fixtures use: short, so that one analysis takes a few milliseconds.
fn spec_rate() -> u32 {
    fixture_sweep().sample_rate
}

pub fn fixture_sweep() -> SweepSpec {
    SweepSpec {
        sample_rate: 8000,
        start_hz: 100.0,
        end_hz: 3000.0,
        duration_s: 0.3,
        level_dbfs: -6.0,
        pre_s: 0.05,
        post_s: 0.1,
    }
}

/// A per-thread scratch folder with valid fixtures beside the fuzzed file:
/// `stim.wav`/`cap.wav` (an external pair), `session/` (a complete session), `a/` and `b/`
/// (analyses of it, kinds headset and headphones).
struct Scratch {
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

fn scratch() -> PathBuf {
    SCRATCH.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| {
                let dir = std::env::temp_dir().join(format!(
                    "sweeplab-fuzz-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).expect("fuzz scratch folder");
                make_fixtures(&dir).expect("fuzz fixtures");
                Scratch { dir }
            })
            .dir
            .clone()
    })
}

fn make_fixtures(dir: &Path) -> Result<()> {
    let spec = fixture_sweep();
    let session = dir.join("session");
    let (_, d) = create_sweep_session(&session, &spec, Some("fixture".into()), None, true)?;
    let stim = d.generate();
    // the device: 0.5 × (x + 0.05 x²), 17 samples late
    let cap: Vec<f32> = (0..stim.len() + 800)
        .map(|i| {
            let x = i.checked_sub(17).and_then(|j| stim.get(j)).copied();
            x.map_or(0.0, |x| (0.5 * (x + 0.05 * x * x)) as f32)
        })
        .collect();
    let stim32: Vec<f32> = stim.iter().map(|&v| v as f32).collect();
    write_wav_f32(&session.join("capture.wav"), spec.sample_rate, 1, &cap)?;
    write_wav_f32(&dir.join("stim.wav"), spec.sample_rate, 1, &stim32)?;
    write_wav_f32(&dir.join("cap.wav"), spec.sample_rate, 1, &cap)?;
    for (name, kind) in [
        ("a", crate::kind::DeviceKind::Headset),
        ("b", crate::kind::DeviceKind::Headphones),
    ] {
        let opts = AnalyzeOptions {
            plots: false,
            label: Some(name.into()),
            kind: Some(kind),
            ..Default::default()
        };
        analyze_session(&session, &dir.join(name), &opts)?;
    }
    Ok(())
}

/// Writes the fuzzed bytes to `path` and empties `out`.
fn stage(data: &[u8], path: &Path, out: &Path) {
    std::fs::write(path, data).expect("write fuzz input");
    let _ = std::fs::remove_dir_all(out);
}

/// `compare SOURCES --out OUT --no-plots`, the CLI's defaults otherwise.
fn compare_args(sources: Vec<PathBuf>, out: &Path) -> CompareArgs {
    CompareArgs {
        plots: false,
        ..CompareArgs::new(sources, out)
    }
}

fn no_plots() -> AnalyzeOptions {
    AnalyzeOptions {
        plots: false,
        ..Default::default()
    }
}

/// The invariants on an outcome: an error is exit 2, names `culprit` (the fuzzed file's
/// name or a flag) and leaves `out` without files.
fn check<T>(r: &Result<T>, culprits: &[&str], out: &Path) {
    let Err(e) = r else { return };
    let msg = e.to_string();
    assert_eq!(
        e.exit_code(),
        2,
        "a hostile input gave an exit-{} error (not a clear input error): {msg}",
        e.exit_code()
    );
    assert!(
        culprits.iter().any(|c| msg.contains(c)),
        "the error names none of {culprits:?}: {msg}"
    );
    if let Ok(entries) = std::fs::read_dir(out) {
        let files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        assert!(files.is_empty(), "an error left output behind: {files:?}");
    }
}

/// [`check`], and what `analyze` wrote reads back. True when the analysis succeeded.
fn check_analysis(r: &Result<crate::results::Analysis>, culprits: &[&str], out: &Path) -> bool {
    check(r, culprits, out);
    if r.is_ok()
        && let Err(e) = read_analysis(out)
    {
        panic!("analysis.json written by analyze does not read back: {e}");
    }
    r.is_ok()
}

/// [`check`], and `compare.json` reads back. True when the comparison succeeded.
fn check_compare(r: &Result<crate::compare::CompareResult>, culprits: &[&str], out: &Path) -> bool {
    check(r, culprits, out);
    if r.is_ok() {
        let text = std::fs::read_to_string(out.join(crate::compare::COMPARE_JSON))
            .expect("compare.json written");
        if let Err(e) = serde_json::from_str::<crate::compare::CompareResult>(&text) {
            panic!("compare.json does not read back: {e}");
        }
    }
    r.is_ok()
}

/// A WAV file as `analyze` reads it. The first byte picks its role: the capture or the
/// stimulus of an external pair, or the capture of a session (read bounded by the sweep).
pub fn wav(data: &[u8]) -> bool {
    let Some((&role, bytes)) = data.split_first() else {
        return false;
    };
    let dir = scratch();
    let fuzzed = dir.join("fuzzed.wav");
    let out = dir.join("out");
    stage(bytes, &fuzzed, &out);
    let culprits = ["fuzzed.wav", "--sweep-start", "--sweep-end"];
    let (stim, cap) = (dir.join("stim.wav"), dir.join("cap.wav"));
    let accepted = match role % 3 {
        0 => {
            let r = analyze_external(&stim, &fuzzed, 100.0, 3000.0, &out, &no_plots());
            check_analysis(&r, &culprits, &out)
        }
        1 => {
            let r = analyze_external(&fuzzed, &cap, 100.0, 3000.0, &out, &no_plots());
            check_analysis(&r, &culprits, &out)
        }
        _ => {
            let session = dir.join("session");
            let session_cap = session.join("capture.wav");
            std::fs::copy(&fuzzed, &session_cap).expect("copy fuzz input");
            let r = analyze_session(&session, &out, &no_plots());
            // the session's own capture back, for the other targets
            std::fs::copy(&cap, &session_cap).expect("restore capture");
            check_analysis(&r, &["capture.wav"], &out)
        }
    };
    // the plain reader too: whatever it accepts is a well-formed signal
    if let Ok(w) = read_wav(&fuzzed) {
        assert!(!w.channels.is_empty(), "a WAV read with no channels");
        assert!(w.channels.iter().all(|c| c.len() == w.frames()));
        assert!(
            w.channels.iter().flatten().all(|v| v.is_finite()),
            "non-finite samples accepted"
        );
    }
    accepted
}

/// A `session.json` beside a valid stimulus and capture, as `analyze SESSION` reads it.
pub fn session_json(data: &[u8]) -> bool {
    let dir = scratch();
    let session = dir.join("session");
    let path = session.join(SESSION_JSON);
    let out = dir.join("out");
    let original = std::fs::read(&path).expect("fixture session.json");
    stage(data, &path, &out);
    let r = analyze_session(&session, &out, &no_plots());
    std::fs::write(&path, original).expect("restore session.json");
    check_analysis(&r, &[SESSION_JSON, "stimulus.wav", "capture.wav"], &out)
}

/// An `analysis.json`, as `report` re-renders it (small plots) and `compare` reads it.
pub fn analysis_json(data: &[u8]) -> bool {
    let dir = scratch();
    let src = dir.join("fuzzed");
    let out = dir.join("out");
    std::fs::create_dir_all(&src).expect("fuzz input folder");
    stage(data, &src.join(ANALYSIS_JSON), &out);
    let opts = AnalyzeOptions {
        size: (320, 240),
        ..Default::default()
    };
    let r = crate::session::rerender(&src, Some(&out), &opts);
    check(&r, &[ANALYSIS_JSON], &out);
    let _ = std::fs::remove_dir_all(&out);
    let args = compare_args(vec![src, dir.join("a")], &out);
    let compared = run_compare_session(&args, None, &mut |_, _| {});
    r.is_ok() & check_compare(&compared, &[ANALYSIS_JSON, "fuzzed"], &out)
}

/// A curve file (AutoEq CSV, REW text) or a microphone calibration, as `compare` reads it.
/// The first byte picks the role: a source, the `--target`, or the `--calibration`.
pub fn curve(data: &[u8]) -> bool {
    let Some((&role, bytes)) = data.split_first() else {
        return false;
    };
    let dir = scratch();
    let fuzzed = dir.join("fuzzed.txt");
    let out = dir.join("out");
    stage(bytes, &fuzzed, &out);
    let mut args = compare_args(vec![dir.join("a"), dir.join("b")], &out);
    match role % 3 {
        0 => args.sources.push(fuzzed.clone()),
        1 => args.target = Some(fuzzed.clone()),
        _ => args.calibration = Some(fuzzed.clone()),
    }
    let r = run_compare_session(&args, None, &mut |_, _| {});
    if let Ok(c) = crate::compare::read_calibration(&fuzzed) {
        let f: Vec<f64> = (0..50).map(|i| 10.0 * 1.2f64.powi(i)).collect();
        let g = c.apply(&f, &vec![0.0; f.len()]);
        assert!(
            g.iter().all(|v| v.is_finite()),
            "a calibration gives non-finite corrections"
        );
    }
    check_compare(&r, &["fuzzed.txt"], &out)
}

/// A claims file, as `compare --claims` reads and judges it (two analyses, headset and
/// headphones).
pub fn claims_toml(data: &[u8]) -> bool {
    let dir = scratch();
    let fuzzed = dir.join("fuzzed.toml");
    let out = dir.join("out");
    stage(data, &fuzzed, &out);
    let mut args = compare_args(vec![dir.join("a"), dir.join("b")], &out);
    args.claims = Some(fuzzed);
    let r = run_compare_session(&args, None, &mut |_, _| {});
    check_compare(&r, &["fuzzed.toml"], &out)
}

/// A device model, as `simulate --model` loads it and plays a short sweep through it at
/// 8 and 48 kHz.
pub fn model_toml(data: &[u8]) -> bool {
    let dir = scratch();
    let fuzzed = dir.join("fuzzed-model.toml");
    let out = dir.join("out");
    stage(data, &fuzzed, &out);
    let r = DeviceModel::load(&fuzzed);
    check(&r, &["fuzzed-model.toml"], &out);
    let Ok(model) = r else { return false };
    let stimulus: Vec<f32> = (0..400).map(|i| 0.5 * (i as f32 * 0.3).sin()).collect();
    let mut accepted = false; // at either rate
    for rate in [8000u32, 48000] {
        if let Err(e) = model.check_rate(rate) {
            check::<()>(&Err(e), &["fuzzed-model.toml"], &out);
            continue;
        }
        accepted = true;
        let req = RunRequest {
            sample_rate: rate,
            stimulus: &stimulus,
            output: OutputRouting::Both,
            input_channels: None,
            extra_frames: 400,
        };
        let mut sink = MemorySink::default();
        let stop = AtomicBool::new(false);
        match SimDuplex::new(model.clone(), 1).run(&req, &mut sink, &stop, &mut |_| {}) {
            Ok(stats) => assert_eq!(
                stats.frames_captured as usize * usize::from(stats.channels),
                sink.samples.len(),
                "the frames reported are not the frames delivered"
            ),
            Err(Error::Device(_)) => {} // a device_lost fault
            Err(e) => panic!("a model that passed its checks failed to run: {e}"),
        }
        assert!(
            sink.samples.iter().all(|v| v.is_finite()),
            "the simulated capture holds non-finite samples"
        );
        let truth = model.truth(rate, -6.0, &[100.0, 1000.0, 3000.0]);
        serde_json::to_string(&truth).expect("truth serializes");
    }
    accepted
}

/// Writes a seed corpus, `root/<target>/…`: valid inputs of each kind (the fixtures above,
/// the shipped models and claims, a REW export, a calibration), so that fuzzing starts from
/// inputs that reach the analysis.
pub fn write_seeds(root: &Path, fixtures: &Path) -> std::io::Result<()> {
    let dir = scratch();
    let put = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let d = root.join(target);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(name), bytes)
    };
    let with_role = |role: u8, bytes: &[u8]| [&[role], bytes].concat();
    let stim = std::fs::read(dir.join("stim.wav"))?;
    let cap = std::fs::read(dir.join("cap.wav"))?;
    put("wav", "capture-f32", &with_role(0, &cap))?;
    put("wav", "stimulus-f32", &with_role(1, &stim))?;
    put("wav", "session-capture-f32", &with_role(2, &cap))?;
    // the same capture as 16-bit, 24-bit and 8-bit PCM, EXTENSIBLE, with odd-sized chunks
    let samples: Vec<f32> = read_wav(&dir.join("cap.wav"))
        .map_err(std::io::Error::other)?
        .channels[0]
        .iter()
        .map(|&v| v as f32)
        .collect();
    let pcm = |bits: u16| -> Vec<u8> {
        let scale = ((1u32 << (bits - 1)) - 1) as f32;
        samples
            .iter()
            .flat_map(|&s| {
                let v = (s * scale).round() as i32;
                match bits {
                    8 => vec![(v + 128) as u8],
                    16 => (v as i16).to_le_bytes().to_vec(),
                    _ => v.to_le_bytes()[..3].to_vec(),
                }
            })
            .collect()
    };
    let base = WavBytes {
        rate: spec_rate(),
        ..WavBytes::float(&samples)
    };
    for bits in [8u16, 16, 24] {
        let w = WavBytes {
            format: 1,
            bits,
            data: pcm(bits),
            ..base.clone()
        };
        put(
            "wav",
            &format!("capture-i{bits}"),
            &with_role(0, &w.bytes()),
        )?;
    }
    let odd = WavBytes {
        extensible_sub: Some(3),
        extra_chunks: vec![(b"LIST", b"odd".to_vec()), (b"junk", vec![0; 5])],
        ..base.clone()
    };
    put(
        "wav",
        "capture-extensible-odd-chunks",
        &with_role(0, &odd.bytes()),
    )?;

    let session = std::fs::read_to_string(dir.join("session").join(SESSION_JSON))?;
    put("session_json", "complete", session.as_bytes())?;
    let partial = session.replace(
        "\"complete\": true,",
        "\"complete\": false,\n  \"capture\": {\"channels\": 1, \"frames\": 3000, \"xruns\": 2, \"repeats\": 2, \"stop_reason\": \"interrupted\"},",
    );
    put("session_json", "partial-repeats", partial.as_bytes())?;

    for name in ["a", "b"] {
        put(
            "analysis_json",
            name,
            &std::fs::read(dir.join(name).join(ANALYSIS_JSON))?,
        )?;
    }
    let csv = std::fs::read(dir.join("a").join("response.csv"))?;
    let rew = b"* Measurement data measured by REW V5.20\n* Freq(Hz) SPL(dB) Phase(degrees)\n20.0 70.1 0.0\n100.0 75.3 -10.0\n1000.0 80.0 -45.0\n10000.0 77.5 -90.0\n20000.0 60.2 -120.0\n";
    let cal = b"\"Sens Factor =-1.23dB, SERNO: 7001234\"\n10.0 -2.1\n100.0 -0.3\n1000.0 0.0\n10000.0 1.2\n20000.0 -0.8\n";
    for (role, name) in [(0u8, "source"), (1, "target"), (2, "calibration")] {
        put("curve", &format!("{name}-csv"), &with_role(role, &csv))?;
        put("curve", &format!("{name}-rew"), &with_role(role, rew))?;
    }
    put("curve", "calibration-umik", &with_role(2, cal))?;

    put(
        "claims_toml",
        "default",
        &std::fs::read(fixtures.join("claims").join("default.toml"))?,
    )?;
    let fixed = br#"[[claim]]
id = "headset-thd"
statement = "Headsets distort less than 1 % at 1 kHz."
a_kind = "headset"
metric = "thd_1k_percent"
direction = "a_less"
value = 1.0
min_difference = 0.1
unit = "percent"

[[claim]]
id = "comfort"
statement = "Headphones are more comfortable."
decidable = false
reason = "comfort is not an acoustic measurement"
"#;
    put("claims_toml", "fixed-value", fixed)?;
    for e in std::fs::read_dir(fixtures.join("models"))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "toml") {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            put("model_toml", &name, &std::fs::read(&p)?)?;
        }
    }
    Ok(())
}

/// A RIFF/WAVE file built byte by byte (malformed-input tests and seeds): fmt fields, extra chunks before data, data bytes, and an
/// optional override of the data chunk's declared size.
#[derive(Debug, Clone)]
pub struct WavBytes {
    pub format: u16,
    pub channels: u16,
    pub rate: u32,
    pub bits: u16,
    pub block_align: Option<u16>,
    pub extensible_sub: Option<u16>,
    pub extra_chunks: Vec<(&'static [u8; 4], Vec<u8>)>,
    pub data: Vec<u8>,
    pub declared_data: Option<u32>,
}

impl WavBytes {
    pub fn float(samples: &[f32]) -> WavBytes {
        WavBytes {
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
    pub fn bytes(&self) -> Vec<u8> {
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
