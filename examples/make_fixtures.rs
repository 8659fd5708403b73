//! Regenerates the fixture sessions of the built-in simulated devices, byte for byte:
//! for each built-in model, `record_session` on `SimDuplex` (seed 1) with a short sweep
//! (48 kHz, 20 Hz–20 kHz over 0.5 s at −12 dBFS, 0.3 s pre-roll, 0.15 s post-roll, 0.05 s
//! extra capture) into `<OUT>/<model>/`, overwriting it, then `truth.json` beside it.
//!
//! `session.json` records when it was created; for reproducible bytes its `created` is set
//! to the fixed [`FIXED_CREATED`] after recording (the file is otherwise what
//! `record_session` wrote). Same toolchain and platform → same bytes (the noise uses libm's
//! `ln`, `cos`, `sin`, `tanh`, which another platform may round differently in the last bit).
//!
//! Run through `fixtures/make_fixtures.sh` (or `cargo run --release --example
//! make_fixtures -- fixtures/sessions`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use sweeplab::device::OutputRouting;
use sweeplab::dsp::sweep::SweepSpec;
use sweeplab::session::{RecordRequest, record_session};
use sweeplab::sim::duplex::SimDuplex;
use sweeplab::sim::{Truth, builtin_models};
use sweeplab::storage::session_file::{read_session, write_session};

/// The `created` time written into every fixture's session.json.
const FIXED_CREATED: &str = "2026-01-01T00:00:00Z";
const SEED: u64 = 1;
const RATE: u32 = 48000;
const LEVEL: f64 = -12.0;

/// truth.json: the truth on a 1/12-octave grid, and how the session was made.
#[derive(Serialize)]
struct TruthFile<'a> {
    format: &'static str,
    version: u32,
    seed: u64,
    /// The model file the session was simulated from.
    model_file: String,
    truth: &'a Truth,
}

fn main() -> ExitCode {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fixtures/sessions".into()),
    );
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make_fixtures: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(out: &Path) -> sweeplab::Result<()> {
    let spec = SweepSpec {
        sample_rate: RATE,
        start_hz: 20.0,
        end_hz: 20000.0,
        duration_s: 0.5,
        level_dbfs: LEVEL,
        pre_s: 0.3,
        post_s: 0.15,
    };
    // 1/12 octave from 20 Hz to 20 kHz
    let grid: Vec<f64> = (0..=120)
        .map(|i| 20.0 * 2f64.powf(f64::from(i) / 12.0))
        .filter(|&f| f <= 20000.0 * (1.0 + 1e-9))
        .collect();
    for (name, model) in builtin_models() {
        let dir = out.join(name);
        let req = RecordRequest {
            out: dir.clone(),
            spec,
            label: model.label.clone(),
            kind: model.kind,
            force: true,
            output: OutputRouting::Both,
            input_channels: None,
            repeats: 1,
            extra_s: 0.05,
            model: Some(name.to_string()),
            reseats: None,
            sides: false,
        };
        let mut dev = SimDuplex::new(model.clone(), SEED);
        record_session(&mut dev, &req, &AtomicBool::new(false), &mut |_| {})?;
        let mut s = read_session(&dir)?;
        s.created = Some(FIXED_CREATED.into());
        write_session(&dir, &s)?;

        let truth = model.truth(RATE, LEVEL, &grid);
        let file = TruthFile {
            format: "sweeplab-sim-truth",
            version: 1,
            seed: SEED,
            model_file: format!("fixtures/models/{name}.toml"),
            truth: &truth,
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| sweeplab::Error::io(dir.join("truth.json"), std::io::Error::other(e)))?;
        let path = dir.join("truth.json");
        std::fs::write(&path, format!("{text}\n")).map_err(|e| sweeplab::Error::io(&path, e))?;

        let m = &truth.metrics;
        println!(
            "{name}: level@1k {:+.2} dB, bass {:+.2} dB, treble {:+.2} dB, extension {}–{} Hz, noise {} dBFS (A {}), THD@1k {:.3} %, latency {:.3} samples (IR peak {:.3})",
            truth.gain_1k_db,
            m.bass_db,
            m.treble_db,
            m.low_extension_hz.map_or("—".into(), |f| format!("{f:.0}")),
            m.high_extension_hz
                .map_or("—".into(), |f| format!("{f:.0}")),
            truth
                .noise
                .as_ref()
                .map_or("—".into(), |n| format!("{:.1}", n.rms_dbfs)),
            truth
                .noise
                .as_ref()
                .map_or("—".into(), |n| format!("{:.1}", n.a_weighted_dbfs)),
            truth.thd_1k_percent,
            truth.latency_samples,
            truth.ir_peak_samples,
        );
    }
    Ok(())
}
