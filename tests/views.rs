//! The capture's spectrogram end to end through `simulate`: it shows a dropout where the
//! model put it, mains hum where it is, and the sweep's ridge where the sweep was. (The
//! cumulative spectral decay's truth test is in `dsp/csd.rs`.)

mod common;
use common::json;

use std::path::{Path, PathBuf};

fn simulate(dir: &Path, name: &str, model: &str) -> PathBuf {
    common::simulate_model(dir, name, model, "4")
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn the_spectrogram_shows_the_dropout_the_hum_and_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    // a 0.3 s dropout (zeros) at 3.0 s, white noise at −80 dBFS, and a 50 Hz hum whose
    // 5th and last partial (250 Hz, about −67 dBFS) is in the bands
    let r = simulate(
        dir.path(),
        "drop",
        r#"
name = "drop"
kind = "headphones"
latency_ms = 5.0
[[noise]]
type = "white"
level_dbfs = -80.0
[[noise]]
type = "hum"
freq_hz = 50
harmonics = 5
level_dbfs = -50.0
[[fault]]
type = "dropout"
at_s = 3.0
duration_ms = 300
mode = "zero"
"#,
    );
    let a = json(&r.join("analysis.json"));
    let s = &a["channels"][0]["spectrogram"];
    let t = floats(&s["time_s"]);
    let f = floats(&s["freq_hz"]);
    let frame = s["frame_s"].as_f64().unwrap();
    let rows: Vec<Vec<Option<f64>>> = s["level_dbfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64()).collect())
        .collect();
    assert!(
        t.len() > 50 && f.len() > 30,
        "{} frames, {} bands",
        t.len(),
        f.len()
    );
    // frames wholly inside the dropout are digital silence: null in every band
    let inside: Vec<usize> = (0..t.len())
        .filter(|&j| t[j] - frame / 2.0 >= 3.0 && t[j] + frame / 2.0 <= 3.3)
        .collect();
    assert!(!inside.is_empty());
    for &j in &inside {
        assert!(
            rows[j].iter().all(|v| v.is_none()),
            "frame at {} s: {:?}",
            t[j],
            rows[j]
        );
    }
    // the 250 Hz hum partial: in the pre-roll (no sweep, before 1 s) its band stands more
    // than 10 dB above the bands 1/3 and 1/2 octave higher (no partial there; the white
    // noise puts about −108 dBFS into a band there)
    let band = |hz: f64| {
        f.iter()
            .position(|&c| c * 2f64.powf(-1.0 / 12.0) <= hz && hz < c * 2f64.powf(1.0 / 12.0))
            .unwrap()
    };
    let hb = band(250.0);
    for j in (0..t.len()).filter(|&j| t[j] + frame / 2.0 < 0.95) {
        let h = rows[j][hb].unwrap();
        for nb in [hb + 2, hb + 3] {
            assert!(
                h > rows[j][nb].unwrap() + 10.0,
                "at {} s: hum {h}, band {nb} {:?}",
                t[j],
                rows[j][nb]
            );
        }
    }
    // the sweep (20 Hz → 20 kHz over 4 s from 1 s + 5 ms) is the loudest band at 2 kHz
    let sweep = &a["sweep"];
    let (f1, f2) = (
        sweep["start_hz"].as_f64().unwrap(),
        sweep["end_hz"].as_f64().unwrap(),
    );
    let l = 4.0 / (f2 / f1).ln();
    let at = 1.005 + l * (2000.0 / f1).ln();
    let j = (0..t.len())
        .min_by(|&p, &q| (t[p] - at).abs().total_cmp(&(t[q] - at).abs()))
        .unwrap();
    let loudest = (0..f.len())
        .max_by(|&p, &q| {
            rows[j][p]
                .unwrap_or(-999.0)
                .total_cmp(&rows[j][q].unwrap_or(-999.0))
        })
        .unwrap();
    assert!(
        (f[loudest] / 2000.0).log2().abs() < 0.34,
        "at {at:.3} s the loudest band is {} Hz",
        f[loudest]
    );
    assert!(r.join("spectrogram.png").exists() && r.join("decay.png").exists());
}
