//! The exports (impulse WAV, REW text, FRD, THD CSV, noise CSV) read back by readers written
//! here from the formats' descriptions (a RIFF/WAVE parser, whitespace and CSV splitting),
//! not by sweeplab's code or hound, and held against the simulated devices' known truth.

mod common;
use common::{json, sweeplab};

use std::path::{Path, PathBuf};

fn simulate(dir: &Path, name: &str, model: &str) -> PathBuf {
    common::simulate_model(dir, name, model, "3")
}

/// A 32-bit float mono WAV, read from the RIFF/WAVE layout: (rate, samples).
fn read_float_wav(p: &Path) -> (u32, Vec<f32>) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    assert_eq!(&b[8..12], b"WAVE");
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let mut i = 12;
    let (mut rate, mut data) = (0, None);
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let size = u32_at(i + 4) as usize;
        let body = i + 8;
        if id == b"fmt " {
            let tag = u16_at(body);
            // 3 = IEEE float; 0xFFFE = extensible (its sub-format then says float)
            assert!(tag == 3 || tag == 0xFFFE, "format tag {tag}");
            assert_eq!(u16_at(body + 2), 1, "mono");
            rate = u32_at(body + 4);
            assert_eq!(u16_at(body + 14), 32, "32 bits");
        } else if id == b"data" {
            data = Some(
                b[body..body + size]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            );
        }
        i = body + size + (size & 1);
    }
    (rate, data.expect("a data chunk"))
}

/// Numeric rows of a text export: lines not starting with `*`, split on whitespace.
fn numeric_rows(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .filter(|l| !l.starts_with('*') && !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|v| v.parse::<f64>().unwrap())
                .collect()
        })
        .collect()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn impulse_wav_rew_and_frd_read_back_and_keep_the_gain() {
    let tmp = tempfile::tempdir().unwrap();
    // a wire with −6 dB of gain and 2.5 ms of latency, quiet noise
    let rep = simulate(
        tmp.path(),
        "wire",
        "gain_db = -6.0\nlatency_samples = 120\n[[noise]]\ntype = \"white\"\nlevel_dbfs = -110.0\n",
    );
    let a = json(&rep.join("analysis.json"));
    let ch = &a["channels"][0];

    // the impulse: the same samples as analysis.json, at its rate, gain preserved: its DFT
    // at 1 kHz (a direct sum here) is −6 dB (tolerance 0.05 dB)
    let (rate, x) = read_float_wav(&rep.join("impulse-ch0.wav"));
    assert_eq!(
        u64::from(rate),
        ch["impulse"]["sample_rate"].as_u64().unwrap()
    );
    let want: Vec<f32> = floats(&ch["impulse"]["samples"])
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert_eq!(x, want);
    let w = 2.0 * std::f64::consts::PI * 1000.0 / f64::from(rate);
    let (re, im) = x.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &v)| {
        (
            re + f64::from(v) * (w * n as f64).cos(),
            im - f64::from(v) * (w * n as f64).sin(),
        )
    });
    let db = 10.0 * (re * re + im * im).log10();
    assert!((db + 6.0).abs() < 0.05, "impulse at 1 kHz: {db} dB");

    // REW text: "* " header lines ending with the column line, then three numbers a row,
    // the analysis's response to the printed precision (1e-6 Hz, 1e-4 dB and degrees)
    let rew = std::fs::read_to_string(rep.join("response-ch0-rew.txt")).unwrap();
    let header: Vec<&str> = rew.lines().take_while(|l| l.starts_with('*')).collect();
    assert!(header[0].starts_with("* Measurement data measured by sweeplab"));
    assert_eq!(*header.last().unwrap(), "* Freq(Hz) SPL(dB) Phase(degrees)");
    let rows = numeric_rows(&rew);
    let f = floats(&ch["frequency_response"]["freq_hz"]);
    let g = floats(&ch["frequency_response"]["gain_db"]);
    let p = floats(&ch["frequency_response"]["phase_deg"]);
    assert_eq!(rows.len(), f.len());
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 3);
        assert!(
            (r[0] - f[k]).abs() <= 1e-6
                && (r[1] - g[k]).abs() <= 5e-5
                && (r[2] - p[k]).abs() <= 5e-5
        );
        // the truth: −6 dB, and (latency removed) a phase of 0 in the band's middle
        if (100.0..=10000.0).contains(&r[0]) {
            assert!((r[1] + 6.0).abs() < 0.05, "{} Hz: {} dB", r[0], r[1]);
            assert!(r[2].abs() < 1.0, "{} Hz: {}°", r[0], r[2]);
        }
    }
    // FRD: the same rows, `*` comments only at the top
    let frd = std::fs::read_to_string(rep.join("response-ch0.frd")).unwrap();
    let first_data = frd.lines().position(|l| !l.starts_with('*')).unwrap();
    assert!(frd.lines().skip(first_data).all(|l| !l.starts_with('*')));
    assert_eq!(numeric_rows(&frd), rows);

    // `sweeplab report` writes them too, from analysis.json alone
    let again = tmp.path().join("again");
    let o = sweeplab(&[
        "report",
        rep.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(again.join("response-ch0.frd")).unwrap(),
        frd.as_bytes()
    );
}

#[test]
fn thd_and_noise_csv_hold_what_was_measured_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    // y = x + 0.1·x²: at the sweep's −12 dBFS peak (A = 0.2512) the second harmonic is
    // 0.1·A/2 of the fundamental: 20·log10(0.012559) = −38.02 dB; no third harmonic at all.
    // White noise at −100 dBFS over 20 Hz–20 kHz: −100 − 10·log10(19980) = −143.01 dBFS per Hz.
    let rep = simulate(
        tmp.path(),
        "h2",
        "[nonlinearity]\ntype = \"polynomial\"\ncoeffs = [1.0, 0.1]\n[[noise]]\ntype = \"white\"\nlevel_dbfs = -100.0\n",
    );
    let csv = std::fs::read_to_string(rep.join("thd-ch0.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&head[..3], ["frequency_hz", "thd_percent", "h2_db"]);
    let h3 = head.iter().position(|h| *h == "h3_db").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty());
    let truth = 20.0 * (0.1 * 10f64.powf(-12.0 / 20.0) / 2.0).log10();
    let mut checked = 0;
    for r in &rows {
        assert_eq!(r.len(), head.len());
        let f: f64 = r[0].parse().unwrap();
        // no third harmonic exists: none may be written above 40 Hz; in the sweep's first
        // half-octave the second harmonic's response leaks into the third's window at about
        // −50 dB below it (a known limit of the harmonic separation, 0.005 % of THD here)
        if f >= 40.0 {
            assert!(
                r[h3].is_empty(),
                "no third harmonic exists, none may be written ({f} Hz)"
            );
        } else if !r[h3].is_empty() {
            let (h2, h3): (f64, f64) = (r[2].parse().unwrap(), r[h3].parse().unwrap());
            assert!(h3 < h2 - 45.0, "{f} Hz: H3 {h3} dB against H2 {h2} dB");
        }
        if (200.0..=5000.0).contains(&f) {
            let h2: f64 = r[2].parse().unwrap();
            assert!(
                (h2 - truth).abs() < 0.1,
                "{f} Hz: H2 {h2} dB, truth {truth}"
            );
            let thd: f64 = r[1].parse().unwrap();
            // 5 % relative
            assert!(
                (thd / (100.0 * 10f64.powf(truth / 20.0)) - 1.0).abs() < 0.05,
                "{f} Hz: {thd} %"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");

    let csv = std::fs::read_to_string(rep.join("noise-ch0.csv")).unwrap();
    let mut mid: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .filter(|r| (1000.0..=10000.0).contains(&r[0]))
        .map(|r| r[1])
        .collect();
    mid.sort_by(f64::total_cmp);
    let median = mid[mid.len() / 2];
    let truth = -100.0 - 10.0 * 19980f64.log10();
    // the median of a white spectrum's bins sits below its mean by up to 1.6 dB (a χ² with
    // few degrees of freedom): tolerance 2 dB
    assert!(
        (median - truth).abs() < 2.0,
        "noise {median} dBFS/Hz, truth {truth}"
    );
}

#[test]
fn a_channel_without_signal_exports_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let rep = common::simulate_model(
        tmp.path(),
        "dead",
        "channels = 2\nextra_channels = \"noise\"\n[[noise]]\ntype = \"white\"\nlevel_dbfs = -90.0\n",
        "2",
    );
    assert!(rep.join("response-ch0.frd").is_file());
    for f in [
        "impulse-ch1.wav",
        "response-ch1-rew.txt",
        "response-ch1.frd",
        "thd-ch1.csv",
        "noise-ch1.csv",
    ] {
        assert!(!rep.join(f).exists(), "{f}");
    }
}
