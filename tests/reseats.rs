//! Re-seat series on the simulated rig: a headphone model whose `[fit]` moves the bass and
//! treble by known amounts at each placement, recorded as `simulate --reseats N` records it
//! and analysed; every figure of the series is checked against the placements' exact truth.
//!
//! Tolerances: each placement's response and the power average within 0.1 dB of their truth
//! (the figure for levels), the min/max band and the standard deviation within
//! 0.1 dB, each placement's RMS deviation within 0.05 dB; all from 1.5 × the sweep's start to
//! its end ÷ 1.25 where the model is within 30 dB of its 1 kHz level.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use sweeplab::dsp::sweep::SweepSpec;
use sweeplab::results::Analysis;
use sweeplab::session::simulate::{SimulateRequest, simulate};
use sweeplab::session::{AnalyzeOptions, analyze_session};
use sweeplab::sim::{DeviceModel, builtin};

mod common;

static STOP: AtomicBool = AtomicBool::new(false);
const RATE: u32 = 48000;
const LEVEL: f64 = -12.0;

fn spec() -> SweepSpec {
    common::spec_2s(RATE)
}

fn record(model: &DeviceModel, out: &Path, reseats: u32) -> Analysis {
    common::simulate_2s(model, out, reseats, false)
}

fn reanalyze(dir: &Path) -> Analysis {
    let opts = AnalyzeOptions {
        plots: false,
        ..AnalyzeOptions::default()
    };
    analyze_session(dir, &dir.join("report2"), &opts).unwrap()
}

fn power_mean(v: &[f64]) -> f64 {
    10.0 * (v.iter().map(|d| 10f64.powf(d / 10.0)).sum::<f64>() / v.len() as f64).log10()
}

/// Checks a combined analysis against the truth of `placements` (0-based) of `model`.
fn check_against_truth(model: &DeviceModel, a: &Analysis, placements: &[usize]) {
    let ch = &a.channels[0];
    let sp = ch.placements.as_ref().expect("a spread");
    assert_eq!(
        sp.averaged,
        placements.iter().map(|p| p + 1).collect::<Vec<_>>()
    );
    let f = &sp.freq_hz;
    assert_eq!(f, &ch.frequency_response.freq_hz);
    let truths: Vec<Vec<f64>> = placements
        .iter()
        .map(|&p| model.placement(p, RATE).truth(RATE, LEVEL, f).gain_db)
        .collect();
    let t1k = model.truth(RATE, LEVEL, &[1000.0]).gain_db[0];
    let mut checked = 0;
    let mut worst = [0.0f64; 4];
    for i in 0..f.len() {
        let t: Vec<f64> = truths.iter().map(|t| t[i]).collect();
        if !(30.0..=16000.0).contains(&f[i]) || t.iter().any(|v| *v < t1k - 30.0) {
            continue;
        }
        checked += 1;
        for (k, tk) in t.iter().enumerate() {
            let e = (sp.gain_db[k][i] - tk).abs();
            assert!(e < 0.1, "placement {}: {e:.3} dB at {:.0} Hz", k + 1, f[i]);
            worst[0] = worst[0].max(e);
        }
        let avg = power_mean(&t);
        let e = (ch.frequency_response.gain_db[i] - avg).abs();
        assert!(e < 0.1, "average: {e:.3} dB at {:.0} Hz", f[i]);
        worst[1] = worst[1].max(e);
        let (lo, hi) = t
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let sd = (t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (t.len() - 1) as f64).sqrt();
        let e = (sp.min_db[i] - lo)
            .abs()
            .max((sp.max_db[i] - hi).abs())
            .max((sp.std_db[i] - sd).abs());
        assert!(e < 0.1, "spread: {e:.3} dB at {:.0} Hz", f[i]);
        worst[2] = worst[2].max(e);
    }
    assert!(checked > 300, "only {checked} points checked");
    // each placement's RMS deviation from the average over 100 Hz–10 kHz, on the truth
    for (k, d) in sp.deviation_db.iter().enumerate() {
        let sel: Vec<usize> = (0..f.len())
            .filter(|&i| (100.0..=10_000.0).contains(&f[i]))
            .collect();
        let want = (sel
            .iter()
            .map(|&i| {
                let t: Vec<f64> = truths.iter().map(|t| t[i]).collect();
                (t[k] - power_mean(&t)).powi(2)
            })
            .sum::<f64>()
            / sel.len() as f64)
            .sqrt();
        let e = (d.unwrap() - want).abs();
        assert!(e < 0.05, "placement {} deviation {d:?} vs {want:.3}", k + 1);
        worst[3] = worst[3].max(e);
    }
    eprintln!(
        "worst errors: placements {:.4} dB, average {:.4} dB, spread {:.4} dB, deviation {:.4} dB over {checked} points",
        worst[0], worst[1], worst[2], worst[3]
    );
}

/// Five placements of the studio headphones (bass ±1.5 dB, treble ±1 dB by placement):
/// every placement, the average and the spread match the truth, and nothing is warned about.
#[test]
fn a_reseat_series_measures_each_placement_the_average_and_the_spread() {
    let dir = tempfile::tempdir().unwrap();
    let model = builtin("studio-headphones").unwrap();
    assert!(model.fit.is_some());
    let a = record(&model, &dir.path().join("hp"), 5);
    check_against_truth(&model, &a, &[0, 1, 2, 3, 4]);
    let ch = &a.channels[0];
    assert!(ch.warnings.is_empty(), "{:?}", ch.warnings);
    // the fit spread is real: at 60 Hz the placements span 2·1.5 dB of shelf, not noise
    let sp = ch.placements.as_ref().unwrap();
    let i = sp.freq_hz.partition_point(|&f| f < 60.0);
    assert!(
        sp.max_db[i] - sp.min_db[i] > 2.0,
        "{}",
        sp.max_db[i] - sp.min_db[i]
    );
    // the spread as the plot draws it: min–max and mean ± σ of the placements (exact)
    let bands = sweeplab::report::response_bands(&a);
    assert_eq!(bands.len(), 2);
    assert_eq!((&bands[0].lo, &bands[0].hi), (&sp.min_db, &sp.max_db));
    for (i, (lo, hi)) in bands[1].lo.iter().zip(&bands[1].hi).enumerate() {
        let mean = sp.gain_db.iter().map(|g| g[i]).sum::<f64>() / 5.0;
        assert!(
            (lo - (mean - sp.std_db[i])).abs() < 1e-9 && (hi - (mean + sp.std_db[i])).abs() < 1e-9
        );
    }
    // a stretch of the grid left out (45-55 Hz): both fills break there, once
    let mut holed = a.clone();
    let hp = holed.channels[0].placements.as_mut().unwrap();
    let keep: Vec<bool> = hp
        .freq_hz
        .iter()
        .map(|&f| !(f > 45.0 && f < 55.0))
        .collect();
    let pick = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| *x)
            .collect()
    };
    hp.freq_hz = pick(&hp.freq_hz);
    hp.min_db = pick(&hp.min_db);
    hp.max_db = pick(&hp.max_db);
    hp.std_db = pick(&hp.std_db);
    hp.gain_db = hp.gain_db.iter().map(|g| pick(g)).collect();
    for b in sweeplab::report::response_bands(&holed) {
        let nan: Vec<f64> =
            b.x.iter()
                .zip(&b.lo)
                .filter(|(_, v)| v.is_nan())
                .map(|(x, _)| *x)
                .collect();
        assert!(
            nan.len() == 1 && nan[0] > 44.0 && nan[0] < 56.0,
            "{}: {nan:?}",
            b.name
        );
        assert!(
            b.hi.iter().filter(|v| v.is_nan()).count() == 1,
            "{}",
            b.name
        );
    }
    // placement 3 without points at 40-80 Hz (an octave, 27 % of the bass band): its bass is
    // not given, so neither is the range over the placements, and the summary says which
    // placement and why; the treble range stays
    let mut gapped = a.clone();
    let gp = gapped.channels[0].placements.as_mut().unwrap();
    for (f, g) in gp.freq_hz.iter().zip(gp.gain_db[2].iter_mut()) {
        if *f > 40.0 && *f < 80.0 {
            *g = f64::NAN;
        }
    }
    let md = sweeplab::report::summary_markdown(&gapped);
    let row = |md: &str, name: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row {name}: {md}"))
            .to_string()
    };
    assert_eq!(
        row(&md, "Bass re mid, per placement"),
        "| Bass re mid, per placement | n/a (placement 3 of 5: points left out below the noise) |"
    );
    let treble = row(&md, "Treble re mid, per placement");
    assert!(
        treble.ends_with(" dB |") && !treble.contains("n/a"),
        "{treble}"
    );
    let whole = sweeplab::report::summary_markdown(&a);
    assert!(
        !row(&whole, "Bass re mid, per placement").contains("n/a"),
        "{whole}"
    );
    // the exports and the summary carry the series
    let report = dir.path().join("hp/report");
    let csv = std::fs::read_to_string(report.join("placements-ch0.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "frequency_hz,average_db,min_db,max_db,std_db,placement1_db,placement2_db,placement3_db,placement4_db,placement5_db"
    );
    assert_eq!(lines.count(), sp.freq_hz.len());
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(summary.contains("| Placements averaged | 5 |"), "{summary}");
    let rew = std::fs::read_to_string(report.join("response-ch0-rew.txt")).unwrap();
    assert!(rew.contains("power average of 5 placements"));
    // each placement is a new stream: its latency moved by 42 samples a placement (to 0.2
    // sample: the fit's shelf and peak move the impulse response's peak a little)
    for (k, l) in sp.latency_s.iter().enumerate() {
        let want = 8.75e-3 + 42.0 * k as f64 / 48000.0;
        assert!((l.unwrap() - want).abs() < 0.2 / 48000.0, "{l:?} vs {want}");
    }
}

/// A placement that stopped early, one whose capture is gone and one without the sweep
/// are left out of the average, each named in a warning; the rest still match their truth.
#[test]
fn placements_that_cannot_count_are_left_out_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = builtin("gaming-headset-speaker").unwrap();
    let hp = dir.path().join("hp");
    record(&model, &hp, 5);
    // placement 2: its capture silenced (the headphone fell off, the cable came out)
    let cap2 = hp.join("capture-2.wav");
    let w = sweeplab::storage::wav::read_wav(&cap2).unwrap();
    let zeros = vec![0f32; w.frames()];
    sweeplab::storage::wav::write_wav_f32(&cap2, RATE, 1, &zeros).unwrap();
    // placement 3: missing; placement 4: marked as stopped early
    std::fs::remove_file(hp.join("capture-3.wav")).unwrap();
    let mut s = sweeplab::storage::session_file::read_session(&hp).unwrap();
    s.placements[3].complete = false;
    s.placements[3].stop_reason = Some("interrupted after 1.20 s of capture".into());
    sweeplab::storage::session_file::write_session(&hp, &s).unwrap();
    let a = reanalyze(&hp);
    check_against_truth(&model, &a, &[0, 4]);
    let w = &a.channels[0].warnings;
    for want in [
        "placement 2 did not hold the sweep",
        "placement 3 its capture is missing",
        "placement 4 stopped early (interrupted after 1.20 s",
    ] {
        assert!(w.iter().any(|x| x.contains(want)), "{want}: {w:?}");
    }
    // none of these is a fault of the capture that is averaged: the device stays in claims
    assert!(!w.iter().any(|x| sweeplab::results::is_fault(x)), "{w:?}");
}

/// A series is one session: `--force` replaces all of it, and without `--force` nothing
/// of it is touched.
#[test]
fn a_series_is_overwritten_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let model = builtin("studio-headphones").unwrap();
    let hp = dir.path().join("hp");
    record(&model, &hp, 3);
    let before = std::fs::read(hp.join("capture-3.wav")).unwrap();
    let req = SimulateRequest {
        model: model.clone(),
        out: hp.clone(),
        spec: spec(),
        label: None,
        kind: None,
        force: false,
        analyze: false,
        reseats: 2,
        levels: None,
        sides: false,
    };
    assert!(simulate(req.clone(), &STOP, &mut |_| {}).is_err());
    assert_eq!(std::fs::read(hp.join("capture-3.wav")).unwrap(), before);
    simulate(SimulateRequest { force: true, ..req }, &STOP, &mut |_| {}).unwrap();
    assert!(!hp.join("capture-3.wav").exists());
    assert!(hp.join("capture-2.wav").exists());
    let s = sweeplab::storage::session_file::read_session(&hp).unwrap();
    assert_eq!(s.placements.len(), 2);
}

/// A claim judged on a re-seat series must hold over every placement: a headset whose bass
/// is about 4 dB under the headphones' on average, but whose fit moves it by ±3 dB (shelf), does
/// not support "at least 3 dB weaker" once its placements are measured, though one
/// placement alone would. The spread compare reports holds the truth's bass figure of every
/// placement (0.1 dB).
#[test]
fn claims_on_a_reseat_series_must_hold_over_its_spread() {
    let dir = tempfile::tempdir().unwrap();
    let headset_toml = "name = \"hs\"\nkind = \"headset\"\n\
        [[stage]]\ntype = \"low_shelf\"\nfreq_hz = 120\nq = 0.707\ngain_db = -6\n\
        [[noise]]\ntype = \"white\"\nlevel_dbfs = -90\n\
        [fit]\nbass_db = 3\n";
    let phones_toml = "name = \"hp\"\nkind = \"headphones\"\n\
        [[noise]]\ntype = \"white\"\nlevel_dbfs = -90\n";
    let sim = |name: &str, toml: &str, reseats: &str| {
        let m = dir.path().join(format!("{name}.toml"));
        std::fs::write(&m, toml).unwrap();
        let out = dir.path().join(name);
        let o = common::sweeplab(&[
            "simulate",
            "--model",
            m.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--duration",
            "2",
            "--pre",
            "0.5",
            "--post",
            "0.5",
            "--reseats",
            reseats,
        ]);
        assert!(o.status.success(), "{}", common::text(&o));
        // the printed lines say what the figures are
        assert_eq!(
            common::text(&o).contains("power average of 5 placements"),
            reseats == "5",
            "{}",
            common::text(&o)
        );
        out.join("report")
    };
    let one = sim("hs1", headset_toml, "1");
    let five = sim("hs5", headset_toml, "5");
    let phones = sim("hp", phones_toml, "1");
    let claims = dir.path().join("claims.toml");
    std::fs::write(
        &claims,
        "[[claim]]\nid = \"weaker-bass\"\nstatement = \"Headsets have weaker bass.\"\n\
         a_kind = \"headset\"\nb_kind = \"headphones\"\nmetric = \"bass_db\"\n\
         direction = \"a_less\"\nmin_difference = 3\n",
    )
    .unwrap();
    let verdict = |hs: &Path, name: &str| {
        let out = dir.path().join(name);
        let o = common::sweeplab(&[
            "compare",
            hs.to_str().unwrap(),
            phones.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--claims",
            claims.to_str().unwrap(),
            "--no-plots",
        ]);
        assert!(o.status.success(), "{}", common::text(&o));
        common::json(&out.join("compare.json"))
    };
    let c1 = verdict(&one, "c1");
    assert_eq!(
        c1["claims"][0]["verdict"], "supported",
        "{}",
        c1["claims"][0]
    );
    assert!(c1["devices"][0].get("metrics_spread").is_none());
    let c5 = verdict(&five, "c5");
    let claim = &c5["claims"][0];
    assert_eq!(claim["verdict"], "inconclusive", "{claim}");
    assert!(claim.to_string().contains("over the placements"), "{claim}");
    // the range compare reports holds every placement's true bass figure
    let model = DeviceModel::load(&dir.path().join("hs5.toml")).unwrap();
    let sp = &c5["devices"][0]["metrics_spread"];
    assert_eq!(sp["placements"], 5);
    let (lo, hi) = (
        sp["bass_db"][0].as_f64().unwrap(),
        sp["bass_db"][1].as_f64().unwrap(),
    );
    let grid: Vec<f64> = (0..=480)
        .map(|i| 20.0 * 1000f64.powf(i as f64 / 480.0))
        .collect();
    let truth_bass: Vec<f64> = (0..5)
        .map(|p| {
            let t = model.placement(p, RATE).truth(RATE, LEVEL, &grid);
            sweeplab::metrics::measure_curve(&grid, &t.gain_db)
                .metrics
                .bass_db
                .unwrap()
        })
        .collect();
    let (tlo, thi) = truth_bass
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    eprintln!("bass over placements: measured {lo:.3}…{hi:.3} dB, truth {tlo:.3}…{thi:.3} dB");
    assert!((lo - tlo).abs() < 0.1 && (hi - thi).abs() < 0.1);
}

/// An analysis.json whose placements do not hold together (a hand-edited or truncated file)
/// is refused with exit 2 naming it, never a panic.
#[test]
fn a_malformed_series_in_analysis_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = builtin("studio-headphones").unwrap();
    let hp = dir.path().join("hp");
    record(&model, &hp, 2);
    let path = hp.join("report/analysis.json");
    let mut v = common::json(&path);
    v["channels"][0]["placements"]["gain_db"][1]
        .as_array_mut()
        .unwrap()
        .pop();
    std::fs::write(&path, v.to_string()).unwrap();
    let out = dir.path().join("rep");
    let o = common::sweeplab(&[
        "report",
        hp.join("report").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", common::text(&o));
    let e = common::text(&o);
    assert!(
        e.contains("analysis.json") && e.contains("placements"),
        "{e}"
    );
}
