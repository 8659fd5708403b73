//! Distortion against level on the simulated rig: a soft-clipping driver whose THD at each
//! level is known in closed form (`DeviceModel::truth`), recorded as `simulate --levels`
//! records it.
//!
//! Tolerances: THD per step within 5 % (relative) of the truth where measured; the level at
//! which THD reaches 1 % and 3 % within 0.3 dB of the same interpolation on the true THD at
//! the same steps, and within 1 dB of the true crossing (the steps are 6 dB apart: the
//! straight line in level against log THD is the method's own approximation).

mod common;

use std::path::Path;

use sweeplab::sim::DeviceModel;

const MODEL: &str = "name = \"lv\"\nkind = \"headphones\"\ngain_db = -3\n\
    [nonlinearity]\ntype = \"soft_clip\"\ndrive = 4.0\n\
    [[noise]]\ntype = \"white\"\nlevel_dbfs = -100\n";

fn simulate(dir: &Path, model: &str, extra: &[&str]) -> std::process::Output {
    let m = dir.join("m.toml");
    std::fs::write(&m, model).unwrap();
    let mut args = vec![
        "simulate",
        "--model",
        m.to_str().unwrap(),
        "--out",
        dir.join("s").to_str().unwrap().to_string().leak(),
        "--duration",
        "2",
        "--pre",
        "0.5",
        "--post",
        "0.5",
    ];
    args.extend_from_slice(extra);
    common::sweeplab(&args)
}

/// The true THD (%) at `f` for a sweep at `level`.
fn true_thd(m: &DeviceModel, level: f64, f: f64) -> f64 {
    m.truth(48000, level, &[f]).thd_percent[0].unwrap()
}

#[test]
fn thd_against_level_and_the_levels_of_1_and_3_percent() {
    let tmp = tempfile::tempdir().unwrap();
    let o = simulate(tmp.path(), MODEL, &["--levels=-30,-24,-18,-12,-6"]);
    assert!(o.status.success(), "{}", common::text(&o));
    let model = DeviceModel::from_toml_str(MODEL, Path::new("m.toml")).unwrap();
    let a = common::json(&tmp.path().join("s/report/analysis.json"));
    let d = &a["distortion_vs_level"];
    let levels: Vec<f64> = d["levels_dbfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(levels, [-30.0, -24.0, -18.0, -12.0, -6.0]);
    assert!(d["stopped"].is_null());
    let ch = &d["channels"][0];
    for (fi, f) in [100.0, 1000.0].iter().enumerate() {
        for (i, l) in levels.iter().enumerate() {
            let got = ch["thd_percent"][fi][i].as_f64().expect("measured");
            let want = true_thd(&model, *l, *f);
            assert!(
                (got / want - 1.0).abs() < 0.05,
                "{f} Hz at {l} dBFS: {got} % vs {want} %"
            );
        }
        for (key, limit) in [("at_1_percent", 1.0f64), ("at_3_percent", 3.0)] {
            let got = ch[key][fi]["level_dbfs"].as_f64().expect("reached");
            // the same interpolation on the truth at the same steps
            let t: Vec<f64> = levels.iter().map(|l| true_thd(&model, *l, *f)).collect();
            let j = t.iter().position(|v| *v >= limit).unwrap();
            let w = (limit.log10() - t[j - 1].log10()) / (t[j].log10() - t[j - 1].log10());
            let interp = levels[j - 1] + w * 6.0;
            // the true crossing, by bisection on the closed form
            let (mut lo, mut hi) = (levels[j - 1], levels[j]);
            // 16 halvings of a 6 dB step: to 0.0001 dB
            for _ in 0..16 {
                let mid = 0.5 * (lo + hi);
                if true_thd(&model, mid, *f) < limit {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            eprintln!(
                "{f} Hz {limit} %: measured {got:.2}, interpolated truth {interp:.2}, exact {lo:.2} dBFS"
            );
            assert!(
                (got - interp).abs() < 0.3,
                "{f} Hz {limit} %: {got} vs {interp}"
            );
            assert!((got - lo).abs() < 1.0, "{f} Hz {limit} %: {got} vs {lo}");
        }
    }
    // each step is a whole session, with its own report
    assert!(tmp.path().join("s/levels/5/report/analysis.json").is_file());
    assert!(
        tmp.path()
            .join("s/report/distortion-vs-level.png")
            .is_file()
    );
    let summary = std::fs::read_to_string(tmp.path().join("s/report/summary.md")).unwrap();
    assert!(summary.contains("THD reaches 1 %"), "{summary}");
}

/// The series stops after a step whose THD at 1 kHz passes the limit, and after one whose
/// input clipped; the louder steps are never played, and session.json says why.
#[test]
fn a_series_stops_where_thd_passes_the_limit_or_the_input_clips() {
    let tmp = tempfile::tempdir().unwrap();
    let o = simulate(
        tmp.path(),
        MODEL,
        &["--levels=-30,-24,-18,-12,-6", "--thd-stop", "2"],
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let s = common::json(&tmp.path().join("s/session.json"));
    assert_eq!(s["levels"].as_array().unwrap().len(), 4, "{s}");
    let why = s["levels_stopped"].as_str().unwrap();
    assert!(
        why.contains("THD at 1 kHz reached 3.") && why.contains("1 louder step"),
        "{why}"
    );
    assert!(!tmp.path().join("s/levels/5").exists());
    let a = common::json(&tmp.path().join("s/report/analysis.json"));
    assert_eq!(a["distortion_vs_level"]["stopped"], why);

    let loud = "name = \"loud\"\nkind = \"headphones\"\ngain_db = 10\n\
        [[noise]]\ntype = \"white\"\nlevel_dbfs = -100\n";
    let tmp = tempfile::tempdir().unwrap();
    let o = simulate(tmp.path(), loud, &["--levels=-30,-20,-10,-5"]);
    assert!(o.status.success(), "{}", common::text(&o));
    let s = common::json(&tmp.path().join("s/session.json"));
    assert_eq!(s["levels"].as_array().unwrap().len(), 3, "{s}");
    assert!(
        s["levels_stopped"]
            .as_str()
            .unwrap()
            .contains("clipped at the -10 dBFS step")
    );

    // a series that cannot be played is refused before any work (exit 2, the flag named)
    for (bad, flag) in [
        (vec!["--levels=-12"], "--levels"),
        (vec!["--levels=-12,3"], "--levels"),
        (vec!["--levels=-12,-12"], "--levels"),
        (vec!["--levels=-12,-6", "--thd-stop", "0"], "--thd-stop"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let o = simulate(tmp.path(), MODEL, &bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", common::text(&o));
        assert!(
            common::text(&o).contains(flag),
            "{bad:?}: {}",
            common::text(&o)
        );
        assert!(!tmp.path().join("s").exists(), "{bad:?}");
    }
}
