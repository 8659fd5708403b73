//! Test helpers: a deterministic noise source and reference systems evaluated exactly.
#![allow(dead_code)]

pub mod loopback;
pub mod pg;

/// Runs the sweeplab binary under test with `args` and waits for it.
pub fn sweeplab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args(args)
        .output()
        .expect("run sweeplab")
}

/// Writes `model` (TOML) as `DIR/NAME.toml`, simulates a session of it into `DIR/NAME` with a
/// sweep of `duration_s` (1 s pre-roll, 0.5 s post-roll) and returns its analysis folder.
pub fn simulate_model(
    dir: &std::path::Path,
    name: &str,
    model: &str,
    duration_s: &str,
) -> std::path::PathBuf {
    let m = dir.join(format!("{name}.toml"));
    std::fs::write(&m, model).unwrap();
    let out = dir.join(name);
    let o = sweeplab(&[
        "simulate",
        "--model",
        m.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--duration",
        duration_s,
        "--pre",
        "1",
        "--post",
        "0.5",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    out.join("report")
}

/// A JSON file, parsed.
pub fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A finished command's stdout and stderr, for assertions and messages.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

use sweeplab::dsp::analyze::{Analyzer, SweepLayout};
use sweeplab::dsp::filters::{Biquad, BiquadState};
use sweeplab::dsp::sweep::{SweepDesign, SweepSpec};

/// SplitMix64 with Box–Muller: reproducible Gaussian noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn gauss(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

pub fn spec(rate: u32) -> SweepSpec {
    SweepSpec {
        sample_rate: rate,
        start_hz: 20.0,
        end_hz: 20000.0,
        duration_s: 3.0,
        level_dbfs: -12.0,
        pre_s: 0.5,
        post_s: 0.5,
    }
}

/// The demo's sweep: 2 s from 20 Hz to 20 kHz at −12 dBFS, 0.5 s of silence either side.
pub fn spec_2s(rate: u32) -> SweepSpec {
    SweepSpec {
        duration_s: 2.0,
        ..spec(rate)
    }
}

/// A simulated session of `model` into `out` with [`spec_2s`] at 48 kHz, as `simulate`
/// records it (`reseats` placements; both sides, each alone, when `sides`), analysed.
pub fn simulate_2s(
    model: &sweeplab::sim::DeviceModel,
    out: &std::path::Path,
    reseats: u32,
    sides: bool,
) -> sweeplab::results::Analysis {
    static NEVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let req = sweeplab::session::simulate::SimulateRequest {
        model: model.clone(),
        out: out.to_path_buf(),
        spec: spec_2s(48000),
        label: None,
        kind: None,
        force: false,
        analyze: true,
        reseats,
        levels: None,
        sides,
    };
    sweeplab::session::simulate::simulate(req, &NEVER, &mut |_| {})
        .unwrap()
        .unwrap()
}

pub fn biquads(x: &[f64], chain: &[Biquad]) -> Vec<f64> {
    let mut y = x.to_vec();
    for q in chain {
        let mut st = BiquadState::default();
        for v in y.iter_mut() {
            *v = st.process(q, *v);
        }
    }
    y
}

pub fn fir(x: &[f64], h: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len() + h.len() - 1];
    for (i, &xv) in x.iter().enumerate() {
        if xv != 0.0 {
            for (j, &hv) in h.iter().enumerate() {
                y[i + j] += xv * hv;
            }
        }
    }
    y
}

/// Prepends `d` zeros.
pub fn delay(x: &[f64], d: usize) -> Vec<f64> {
    let mut y = vec![0.0; d];
    y.extend_from_slice(x);
    y
}

/// Adds white Gaussian noise with an AES17 level of `level_dbfs` (rms = 10^(L/20)/√2).
pub fn add_noise(x: &mut [f64], level_dbfs: f64, seed: u64) {
    let sigma = 10f64.powf(level_dbfs / 20.0) / 2f64.sqrt();
    let mut rng = Rng::new(seed);
    for v in x.iter_mut() {
        *v += sigma * rng.gauss();
    }
}

/// The analysis layout of one of our own sweeps.
pub fn layout(d: &SweepDesign) -> SweepLayout {
    SweepLayout {
        sample_rate: d.sample_rate,
        start_hz: d.start_hz,
        end_hz: d.end_hz,
        rate_l_s: d.rate_l_s,
        phase_start_hz: d.phase_start_hz,
        level_dbfs: d.level_dbfs,
        sweep_first_sample: d.pre_samples(),
        sweep_end_sample: d.pre_samples() + d.sweep_samples(),
    }
}

pub fn analyze_one(
    d: &SweepDesign,
    stim: &[f64],
    capture: &[f64],
) -> sweeplab::results::ChannelAnalysis {
    let a = Analyzer::new(stim, capture.len(), layout(d));
    a.analyze_channel(0, capture)
}
