//! Production testing on the simulated rig, through the command line: limits built from golden
//! units with a known fit spread, good units that pass, units with known faults that fail for
//! the right limit with the margin the analytic truth gives, and the SQLite results database
//! (yield, failures, Cpk, CSV, trend, `results add` exactly once, a database failure that
//! keeps the result).

mod common;
use common::{sweeplab, text};

use std::path::{Path, PathBuf};
use std::process::Output;

use sweeplab::limits::Limits;

/// A stereo headset model: gain, a low shelf at 120 Hz (the fit: seal leakage moves the bass),
/// a 14 kHz low-pass, white noise, and optional extra TOML (stages, a nonlinearity).
fn model(
    dir: &Path,
    name: &str,
    gain_db: f64,
    shelf_db: f64,
    noise_dbfs: f64,
    extra: &str,
    extra_channels: &str,
) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    let t = format!(
        r#"kind = "headset"
gain_db = {gain_db}
channels = 2
extra_channels = "{extra_channels}"
[[stage]]
type = "low_shelf"
freq_hz = 120.0
q = 0.707
gain_db = {shelf_db}
[[stage]]
type = "lowpass"
freq_hz = 14000.0
q = 0.707
{extra}
[[noise]]
type = "white"
level_dbfs = {noise_dbfs}
"#
    );
    std::fs::write(&p, t).unwrap();
    p
}

/// Simulates `model` into DIR/name (2 s sweep at −12 dBFS, 48 kHz) and returns the folder.
fn unit(dir: &Path, name: &str, model: &Path) -> PathBuf {
    let out = dir.join(name);
    let o = sweeplab(&[
        "simulate",
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--duration",
        "2",
        "--pre",
        "0.5",
        "--post",
        "0.5",
    ]);
    assert!(o.status.success(), "simulate {name}: {}", text(&o));
    out
}

const RESONANCE: &str = "[[stage]]\ntype = \"peaking\"\nfreq_hz = 6300.0\nq = 1.0\ngain_db = 6.0";
const REVERSED: &str = "[nonlinearity]\ntype = \"polynomial\"\ncoeffs = [-1.0]";
const LEVEL_DBFS: f64 = -12.0;
const FS: f64 = 48000.0;

/// |H|² of an RBJ Audio-EQ-Cookbook biquad at f (evaluated here from the cookbook formulas,
/// not through sweeplab's filters).
fn biquad_power(b: [f64; 3], a: [f64; 3], f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f / FS;
    let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
    let num = (b[0] + b[1] * c1 + b[2] * c2).powi(2) + (b[1] * s1 + b[2] * s2).powi(2);
    let den = (a[0] + a[1] * c1 + a[2] * c2).powi(2) + (a[1] * s1 + a[2] * s2).powi(2);
    num / den
}

/// The resonant unit's |H(f)|²: the 14 kHz low-pass (Q 0.707) and the 6.3 kHz peak (+6 dB,
/// Q 1); its low shelf has 0 dB gain and its overall gain cancels in a relative mask.
fn resonant_power(f: f64) -> f64 {
    let w0 = 2.0 * std::f64::consts::PI * 14000.0 / FS;
    let al = w0.sin() / (2.0 * 0.707);
    let lp = biquad_power(
        [
            (1.0 - w0.cos()) / 2.0,
            1.0 - w0.cos(),
            (1.0 - w0.cos()) / 2.0,
        ],
        [1.0 + al, -2.0 * w0.cos(), 1.0 - al],
        f,
    );
    let a_lin = 10f64.powf(6.0 / 40.0);
    let w0 = 2.0 * std::f64::consts::PI * 6300.0 / FS;
    let al = w0.sin() / 2.0;
    let pk = biquad_power(
        [1.0 + al * a_lin, -2.0 * w0.cos(), 1.0 - al * a_lin],
        [1.0 + al / a_lin, -2.0 * w0.cos(), 1.0 - al / a_lin],
        f,
    );
    lp * pk
}

/// The truth of what a relative 1/6-octave mask sees of the resonant unit at f: the power
/// averaged over [f·2^(−1/12), f·2^(1/12)] (in linear frequency), in dB, less the mean of the
/// dB response over 250 Hz–4 kHz with each octave weighted equally; both integrals by
/// 20,000-step midpoint sums.
fn resonant_relative_db(f: f64) -> f64 {
    let n = 20_000;
    let (a, b) = (f * 2f64.powf(-1.0 / 12.0), f * 2f64.powf(1.0 / 12.0));
    let p = (0..n)
        .map(|i| resonant_power(a + (b - a) * (i as f64 + 0.5) / n as f64))
        .sum::<f64>()
        / n as f64;
    let (la, lb) = (250f64.log2(), 4000f64.log2());
    let mean = (0..n)
        .map(|i| {
            let x = la + (lb - la) * (i as f64 + 0.5) / n as f64;
            10.0 * resonant_power(2f64.powf(x)).log10()
        })
        .sum::<f64>()
        / n as f64;
    10.0 * p.log10() - mean
}

fn check_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("check --json: {e}: {}", text(o)))
}

/// The named limit's entry of a `check --json` document.
fn limit<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no limit {name} in {doc}"))
}

fn failed(doc: &serde_json::Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn goldens_limits_good_and_faulty_units_and_the_results_database() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // three goldens: the fit moves the bass by ±1 dB, the level by ±0.2 dB
    let goldens: Vec<PathBuf> = [(-0.2, -1.0), (0.0, 0.0), (0.2, 1.0)]
        .iter()
        .enumerate()
        .map(|(i, &(g, s))| {
            let m = model(d, &format!("g{i}"), g, s, -90.0, "", "copy");
            unit(d, &format!("g{i}"), &m)
        })
        .collect();
    let limits = d.join("limits.toml");
    let mut args = vec![
        "limits",
        "--margin",
        "1.5",
        "--out",
        limits.to_str().unwrap(),
        "--from",
    ];
    args.extend(goldens.iter().map(|g| g.to_str().unwrap()));
    let o = sweeplab(&args);
    assert!(o.status.success(), "limits: {}", text(&o));
    let lim = Limits::parse(&std::fs::read_to_string(&limits).unwrap()).unwrap();
    assert_eq!(lim.channel.len(), 2);
    let c0 = &lim.channel[0];
    // sensitivity: the goldens read −12.2, −12, −11.8 dBFS at 1 kHz: mean −12 ± (0.2 + 1.5)
    // (tolerance 0.02 dB: the analysis is exact to ~0.01 dB on a clean simulation)
    let [lo, hi] = c0.sensitivity_dbfs.unwrap();
    assert!(
        (lo + 13.7).abs() < 0.02 && (hi + 10.3).abs() < 0.02,
        "{lo} {hi}"
    );
    // the mask: ±1.5 dB in the mid band, wider by the fit spread at 20 Hz (shelf ±1 dB)
    let m = c0.response.as_ref().unwrap();
    let at = |f: f64| {
        m.freq_hz
            .iter()
            .position(|&x| (x / f - 1.0).abs() < 0.03)
            .unwrap()
    };
    let k1 = at(1000.0);
    assert!((m.upper_db[k1] - 1.5).abs() < 0.05 && (m.lower_db[k1] + 1.5).abs() < 0.05);
    let k20 = at(20.0);
    assert!(
        m.upper_db[k20] > 2.3 && m.upper_db[k20] < 2.8,
        "{}",
        m.upper_db[k20]
    );
    assert_eq!(c0.polarity, Some(sweeplab::limits::Polarity::Positive));
    assert!(lim.balance.is_some());
    // limits never overwrite a file without --force
    let o = sweeplab(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let db = d.join("results.sqlite");
    let run = |name: &str, dir: &Path, station: &str| -> (Option<i32>, serde_json::Value) {
        let o = sweeplab(&[
            "check",
            dir.to_str().unwrap(),
            "--limits",
            limits.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--serial",
            name,
            "--station",
            station,
            "--operator",
            "test",
            "--json",
        ]);
        (o.status.code(), check_json(&o))
    };

    // good units: inside the goldens' spread
    for (name, g, s) in [("good1", 0.1, 0.5), ("good2", -0.1, -0.6)] {
        let m = model(d, name, g, s, -90.0, "", "copy");
        let (code, doc) = run(name, &unit(d, name, &m), "st1");
        assert_eq!(code, Some(0), "{name}: {doc}");
        assert_eq!(doc["verdict"], "pass");
        assert!(failed(&doc).is_empty());
    }

    // a resonance: the response's upper mask, at the peak, by what the truth says (0.1 dB)
    let m = model(d, "resonance", 0.0, 0.0, -90.0, RESONANCE, "copy");
    let (code, doc) = run("resonance", &unit(d, "resonance", &m), "st1");
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(failed(&doc), ["ch0 response upper", "ch1 response upper"]);
    let c = limit(&doc, "ch0 response upper");
    let (truth, truth_at) = m_truth(
        m_upper(&lim),
        &lim.channel[0].response.as_ref().unwrap().freq_hz,
    );
    let margin = c["margin"].as_f64().unwrap();
    eprintln!("resonance: upper margin {margin:.3} dB, truth {truth:.3} dB");
    assert!(
        (margin - truth).abs() < 0.1,
        "margin {margin} dB, truth {truth} dB"
    );
    assert!(truth < -3.0, "the resonance fails clearly: {truth}");
    let at_hz = c["at_hz"].as_f64().unwrap();
    assert!(
        (at_hz / truth_at).log2().abs() < 1.0 / 11.0,
        "at {at_hz} Hz, truth {truth_at} Hz"
    );

    // a weak driver (−6 dB): sensitivity, by (−12 − 6) − lower (exact: the level at 1 kHz of a
    // gain is the gain); SNR falls with it
    let m = model(d, "weak", -6.0, 0.0, -90.0, "", "copy");
    let (code, doc) = run("weak", &unit(d, "weak", &m), "st2");
    assert_eq!(code, Some(3));
    let c = limit(&doc, "ch0 sensitivity (level at 1 kHz)");
    let truth = (LEVEL_DBFS - 6.0) - lo;
    let margin = c["margin"].as_f64().unwrap();
    assert_eq!(c["verdict"], "fail");
    eprintln!("weak driver: sensitivity margin {margin:.3} dB, truth {truth:.3} dB");
    assert!(
        (margin - truth).abs() < 0.1,
        "margin {margin}, truth {truth}"
    );
    assert!(
        failed(&doc)
            .iter()
            .all(|n| n.contains("sensitivity") || n.contains("SNR")),
        "{doc}"
    );

    // reversed polarity: polarity only
    let m = model(d, "reversed", 0.0, 0.0, -90.0, REVERSED, "copy");
    let (code, doc) = run("reversed", &unit(d, "reversed", &m), "st2");
    assert_eq!(code, Some(3));
    assert_eq!(failed(&doc), ["ch0 polarity", "ch1 polarity"]);

    // a noisy mic (white noise at −60 dBFS instead of −90): noise and SNR, the noise margin
    // by the truth (noise_max − (−60)) within 0.1 dB
    let m = model(d, "noisy", 0.0, 0.0, -60.0, "", "copy");
    let (code, doc) = run("noisy", &unit(d, "noisy", &m), "st2");
    assert_eq!(code, Some(3));
    let f = failed(&doc);
    for n in ["ch0 noise", "ch0 SNR", "ch1 noise", "ch1 SNR"] {
        assert!(f.contains(&n.to_string()), "{n} in {f:?}");
    }
    assert!(
        f.iter()
            .all(|n| n.contains("noise") || n.contains("SNR") || n.contains("THD")),
        "{f:?}"
    );
    let truth = c0.noise_max_dbfs.unwrap() - (-60.0);
    let margin = limit(&doc, "ch0 noise")["margin"].as_f64().unwrap();
    eprintln!("noisy mic: noise margin {margin:.3} dB, truth {truth:.3} dB");
    assert!(
        (margin - truth).abs() < 0.1,
        "margin {margin}, truth {truth}"
    );

    // a dead channel: the fault, and channel 1's limits unmeasured (failed, no number)
    let m = model(d, "dead", 0.0, 0.0, -90.0, "", "noise");
    let (code, doc) = run("dead", &unit(d, "dead", &m), "st2");
    assert_eq!(code, Some(3));
    let f = failed(&doc);
    assert!(f.contains(&"faults".to_string()), "{f:?}");
    assert!(
        f.iter().all(|n| !n.starts_with("ch0")),
        "channel 0 is fine: {f:?}"
    );
    let c = limit(&doc, "ch1 sensitivity (level at 1 kHz)");
    assert!(c["margin"].is_null() && c["value"].is_null(), "{c}");
    assert!(c["detail"].as_str().unwrap().contains("no signal"));

    // the database: 7 units, 2 passed, per station, the failures counted, Cpk
    let o = sweeplab(&["results", "--db", db.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = &r["summary"];
    assert_eq!(s["units"], 7);
    assert_eq!(s["passed"], 2);
    assert!((s["yield_percent"].as_f64().unwrap() - 200.0 / 7.0).abs() < 1e-9);
    let st: Vec<(String, u64, u64)> = s["per_station"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["key"].as_str().unwrap().into(),
                y["units"].as_u64().unwrap(),
                y["passed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(st, [("st1".to_string(), 3, 2), ("st2".to_string(), 4, 0)]);
    let fails: Vec<(String, u64)> = s["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["limit"].as_str().unwrap().into(),
                f["failures"].as_u64().unwrap(),
            )
        })
        .collect();
    // channel 1's SNR failed on the weak, noisy and dead units
    assert_eq!(fails[0], ("ch1 SNR".to_string(), 3), "{fails:?}");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 7);
    assert_eq!(results[0]["serial"], "good1");
    assert_eq!(results[0]["operator"], "test");
    assert_eq!(results[0]["limits_sha256"].as_str().unwrap().len(), 64);
    // Cpk of the sensitivity over the 7 units (all measured channel 0), recomputed here
    let levels: Vec<f64> = results
        .iter()
        .filter_map(|x| {
            x["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "ch0 sensitivity (level at 1 kHz)")?["value"]
                .as_f64()
        })
        .collect();
    assert_eq!(levels.len(), 7);
    let n = levels.len() as f64;
    let mean = levels.iter().sum::<f64>() / n;
    let sd = (levels.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let cpk = ((hi - mean).min(mean - lo)) / (3.0 * sd);
    let cap = s["capability"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["limit"] == "ch0 sensitivity (level at 1 kHz)")
        .unwrap();
    assert!(
        (cap["cpk"].as_f64().unwrap() - cpk).abs() < 1e-6,
        "{cap} vs {cpk}"
    );

    // CSV and a trend plot
    let csv = d.join("results.csv");
    let png = d.join("trend.png");
    let o = sweeplab(&[
        "results",
        "--db",
        db.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--trend",
        "ch0 sensitivity (level at 1 kHz)",
        "--trend-png",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("yield 28.6 %"), "{}", text(&o));
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 8);
    assert!(csv.lines().nth(1).unwrap().contains("\"good1\""));
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");

    // a database that cannot be written: the verdict is printed, check.json kept, exit 1;
    // `results add` stores it later, once
    let bad_db = d.join("no-such-folder").join("r.sqlite");
    let good1 = d.join("good1");
    let o = sweeplab(&[
        "check",
        good1.to_str().unwrap(),
        "--limits",
        limits.to_str().unwrap(),
        "--db",
        bad_db.to_str().unwrap(),
        "--serial",
        "again",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("unit: PASS") || text(&o).contains("again: PASS"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("results add"), "{}", text(&o));
    for (i, want) in ["added", "already stored"].iter().enumerate() {
        let o = sweeplab(&[
            "results",
            "add",
            good1.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).starts_with(want), "add #{i}: {}", text(&o));
    }
    let o = sweeplab(&["results", "--db", db.to_str().unwrap(), "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["summary"]["units"], 8);

    // several kept results gathered into another database in one go, once
    let other = d.join("gathered.sqlite");
    let units: Vec<String> = ["good1", "weak", "noisy"]
        .iter()
        .map(|u| d.join(u).display().to_string())
        .collect();
    for want in [
        "added 3 of 3 results",
        "added 0 of 3 results to the database (3 already stored)",
    ] {
        let mut args = vec!["results", "add", "--db", other.to_str().unwrap()];
        args.extend(units.iter().map(String::as_str));
        let o = sweeplab(&args);
        assert!(
            o.status.success() && text(&o).starts_with(want),
            "{}",
            text(&o)
        );
    }
    // a folder without a result: exit 2 before anything is written
    let o = sweeplab(&[
        "results",
        "add",
        "--db",
        other.to_str().unwrap(),
        &units[0],
        d.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("check.json"), "{}", text(&o));

    // the check plot shows the masks
    assert_eq!(
        &std::fs::read(d.join("resonance/report/check.png")).unwrap()[1..4],
        b"PNG"
    );
}

fn m_upper(l: &Limits) -> &[f64] {
    &l.channel[0].response.as_ref().unwrap().upper_db
}

/// The truth of the resonant unit's upper-mask margin: min over the mask points of
/// upper − truth, and where.
fn m_truth(upper: &[f64], freq_hz: &[f64]) -> (f64, f64) {
    freq_hz
        .iter()
        .zip(upper)
        .map(|(&f, &u)| (u - resonant_relative_db(f), f))
        .fold((f64::INFINITY, 0.0), |a, b| if b.0 < a.0 { b } else { a })
}

#[test]
fn limits_and_check_refuse_bad_input_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let m = model(d, "u", 0.0, 0.0, -90.0, "", "copy");
    let u = unit(d, "u", &m);
    // a limits file that is not one
    let bad = d.join("bad.toml");
    for (body, says) in [
        ("format = \"x\"\nversion = 1\n", "format"),
        (
            "format = \"sweeplab-limits\"\nversion = 1\n",
            "no [[channel]]",
        ),
        (
            "format = \"sweeplab-limits\"\nversion = 1\n[[channel]]\nindex = 0\nlatency_ms = [5.0, 1.0]\n",
            "latency_ms",
        ),
        (
            "format = \"sweeplab-limits\"\nversion = 1\n[[channel]]\nindex = 0\nunknown = 1\n",
            "unknown",
        ),
    ] {
        std::fs::write(&bad, body).unwrap();
        let o = sweeplab(&[
            "check",
            u.to_str().unwrap(),
            "--limits",
            bad.to_str().unwrap(),
            "--no-db",
        ]);
        assert_eq!(o.status.code(), Some(2), "{body}: {}", text(&o));
        assert!(
            text(&o).contains("bad.toml") && text(&o).contains(says),
            "{body}: {}",
            text(&o)
        );
    }
    // a golden with a dead channel is not a golden
    let dead = model(d, "dead", 0.0, 0.0, -90.0, "", "noise");
    let dead = unit(d, "dead", &dead);
    let out = d.join("l.toml");
    let o = sweeplab(&[
        "limits",
        "--from",
        u.to_str().unwrap(),
        dead.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no signal"), "{}", text(&o));
    assert!(!out.exists());
    // a folder that is no unit
    let o = sweeplab(&[
        "limits",
        "--from",
        d.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // goldens of different polarity: the wiring is wrong
    let rev = model(d, "rev", 0.0, 0.0, -90.0, REVERSED, "copy");
    let rev = unit(d, "rev", &rev);
    let o = sweeplab(&[
        "limits",
        "--from",
        u.to_str().unwrap(),
        rev.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("polarities disagree"), "{}", text(&o));
    // simulate --limits: the limits are read before the run (a bad file: exit 2, no session)…
    let sess = d.join("sim-bad-limits");
    let o = sweeplab(&[
        "simulate",
        "--model",
        m.to_str().unwrap(),
        "--out",
        sess.to_str().unwrap(),
        "--duration",
        "2",
        "--limits",
        bad.to_str().unwrap(),
        "--no-db",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!sess.exists(), "nothing was simulated");
    // …and the unit is checked as soon as it is analysed: limits from u, u's twin passes,
    // a dead-channel unit fails (exit 3, not the exit 1 of a run without signal)
    let lim = d.join("u-limits.toml");
    let o = sweeplab(&[
        "limits",
        "--from",
        u.to_str().unwrap(),
        "--out",
        lim.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let db = d.join("r.sqlite");
    for (name, model, code) in [("twin", &m, 0), ("dead2", &d.join("dead.toml"), 3)] {
        let out = d.join(name);
        let o = sweeplab(&[
            "simulate",
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--duration",
            "2",
            "--pre",
            "0.5",
            "--post",
            "0.5",
            "--limits",
            lim.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--serial",
            name,
        ]);
        assert_eq!(o.status.code(), Some(code), "{name}: {}", text(&o));
        assert!(
            text(&o).contains(if code == 0 {
                "twin: PASS"
            } else {
                "dead2: FAIL"
            }),
            "{}",
            text(&o)
        );
        assert!(out.join("report/check.json").is_file());
    }

    // the example limits file in fixtures/ parses and checks a unit (a single mono golden's
    // limits are not the example's: it only has to be read)
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/limits/example.toml");
    let o = sweeplab(&[
        "check",
        u.to_str().unwrap(),
        "--limits",
        ex.to_str().unwrap(),
        "--no-db",
    ]);
    assert!(matches!(o.status.code(), Some(0) | Some(3)), "{}", text(&o));
}
