//! Production testing: `check` of one analysed unit, and the SQLite results database with
//! 10,000 results (appending them, then yield and Cpk over them).
//!
//! `cargo bench --bench production` (release build). Budgets (issue 16): check ≤ 50 ms;
//! 10,000 appends plus the summary ≤ 1 s. Prints medians of wall-clock time.

use std::path::Path;
use std::time::{Duration, Instant};

use sweeplab::db;
use sweeplab::limits::{BuildOptions, build_limits, check_unit};
use sweeplab::session::production::{self as prod, CheckIds};

fn median(mut t: Vec<Duration>) -> (f64, f64, f64) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(t[t.len() / 2]), ms(t[0]), ms(t[t.len() - 1]))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

fn main() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let unit = tmp.path().join("unit");
    // the committed fixture session (a simulated headset mic, 48 kHz), analysed once
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sessions/gaming-headset-mic"),
        &unit,
    );
    let (a, _) = prod::load_unit(&unit, None).expect("analyse the unit");
    let limits = build_limits(&[("golden".into(), &a)], &BuildOptions::default()).expect("limits");
    let limits_path = tmp.path().join("limits.toml");
    std::fs::write(&limits_path, limits.to_toml()).expect("write limits");

    let time = |n: usize, f: &mut dyn FnMut()| -> (f64, f64, f64) {
        f(); // warm-up
        median(
            (0..n)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .collect(),
        )
    };
    let (m, lo, hi) = time(200, &mut || {
        std::hint::black_box(check_unit(&a, &limits));
    });
    println!("check_unit (the verdicts alone): median {m:.2} ms (min {lo:.2}, max {hi:.2})");
    let ids = CheckIds::default();
    let (m, lo, hi) = time(30, &mut || {
        prod::check(&unit, &limits_path, None, &ids, None).expect("check");
    });
    println!(
        "sweeplab check without a database (read analysis.json and the limits, verdicts, \
         check.json, check.png): median {m:.1} ms (min {lo:.1}, max {hi:.1})"
    );
    let db_path = tmp.path().join("check.sqlite");
    let spec = db_path.display().to_string();
    let (m, lo, hi) = time(30, &mut || {
        prod::check(&unit, &limits_path, Some(&spec), &ids, None).expect("check");
    });
    println!(
        "sweeplab check, result appended to SQLite: median {m:.1} ms (min {lo:.1}, max {hi:.1})"
    );

    // 10,000 results, then read back and summarised (yield per station and day, failing
    // limits, Cpk of every limit). Appended two ways: each in its own transaction, as stations
    // write (SQLite syncs the disk at every commit: durability first), and all in one
    // transaction (`results add` of many units, an import)
    let record = prod::check(&unit, &limits_path, None, &ids, None)
        .expect("check")
        .record;
    let records: Vec<_> = (0..10_000)
        .map(|i| {
            let mut r = record.clone();
            r.uid = db::new_uid();
            r.serial = Some(format!("SN{i:05}"));
            r.station = Some(format!("station{}", i % 4));
            r
        })
        .collect();
    for (how, batch) in [
        ("one transaction per result", false),
        ("one transaction", true),
    ] {
        for run in 0..3 {
            let path = tmp.path().join(format!("bench-{batch}-{run}.sqlite"));
            let t = Instant::now();
            let mut store = db::open(&path.display().to_string()).expect("open");
            if batch {
                assert_eq!(store.append_all(&records).expect("append"), 10_000);
            } else {
                for r in &records {
                    assert!(store.append(r).expect("append"));
                }
            }
            let append = t.elapsed();
            let t = Instant::now();
            let rs = store.load().expect("load");
            let s = db::stats::summarize(&rs, None);
            let summary = t.elapsed();
            assert_eq!(s.units, 10_000);
            println!(
                "SQLite, {how}, run {}: 10,000 appends {:.0} ms ({:.3} ms each), load + yield + Cpk {:.0} ms, total {:.0} ms",
                run + 1,
                append.as_secs_f64() * 1e3,
                append.as_secs_f64() * 1e3 / 10_000.0,
                summary.as_secs_f64() * 1e3,
                (append + summary).as_secs_f64() * 1e3
            );
        }
    }
}
