//! Production testing: `check` of one analysed unit, and the SQLite results database with
//! 10,000 results (appending them two ways, then yield and Cpk over them).
//!
//! `cargo bench --bench production` (divan: median, mean, fastest and slowest of the
//! samples). Budgets (issue 16): check ≤ 50 ms; 10,000 appends plus the summary ≤ 1 s.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use sweeplab::db;
use sweeplab::limits::{BuildOptions, Limits, build_limits, check_unit};
use sweeplab::results::Analysis;
use sweeplab::session::production::{self as prod, CheckIds};

fn main() {
    // the fixture is made before any timing starts
    LazyLock::force(&FIXTURE);
    divan::main();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// The committed fixture session (a simulated headset mic, 48 kHz) analysed once, limits
/// built from it, and 10,000 results of it from four stations.
struct Fixture {
    tmp: tempfile::TempDir,
    unit: PathBuf,
    analysis: Analysis,
    limits: Limits,
    limits_path: PathBuf,
    records: Vec<db::ResultRecord>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let unit = tmp.path().join("unit");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sessions/gaming-headset-mic"),
        &unit,
    );
    let (analysis, _) = prod::load_unit(&unit, None).expect("analyse the unit");
    let limits =
        build_limits(&[("golden".into(), &analysis)], &BuildOptions::default()).expect("limits");
    let limits_path = tmp.path().join("limits.toml");
    std::fs::write(&limits_path, limits.to_toml()).expect("write limits");
    let record = prod::check(&unit, &limits_path, None, &CheckIds::default(), None)
        .expect("check")
        .record;
    let records = (0..10_000)
        .map(|i| {
            let mut r = record.clone();
            r.uid = db::new_uid();
            r.serial = Some(format!("SN{i:05}"));
            r.station = Some(format!("station{}", i % 4));
            r
        })
        .collect();
    Fixture {
        tmp,
        unit,
        analysis,
        limits,
        limits_path,
        records,
    }
});

/// The verdicts alone.
#[divan::bench(sample_count = 200)]
fn check_unit_verdicts() {
    let f = &*FIXTURE;
    divan::black_box(check_unit(&f.analysis, &f.limits));
}

/// `sweeplab check` without a database: read analysis.json and the limits, the verdicts,
/// check.json and check.png.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn check_without_db() {
    let f = &*FIXTURE;
    prod::check(&f.unit, &f.limits_path, None, &CheckIds::default(), None).expect("check");
}

/// The same, the result appended to SQLite.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn check_with_sqlite(bencher: divan::Bencher) {
    let f = &*FIXTURE;
    let spec = f.tmp.path().join("check.sqlite").display().to_string();
    bencher.bench_local(|| {
        prod::check(
            &f.unit,
            &f.limits_path,
            Some(&spec),
            &CheckIds::default(),
            None,
        )
        .expect("check")
    });
}

/// A fresh database path for each sample.
fn fresh_db() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let i = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    FIXTURE
        .tmp
        .path()
        .join(format!("bench-{i}.sqlite"))
        .display()
        .to_string()
}

/// 10,000 results in one transaction (`results add` of many units, an import).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sqlite_append_10000_in_one_transaction(bencher: divan::Bencher) {
    bencher.with_inputs(fresh_db).bench_local_values(|spec| {
        let mut store = db::open(&spec).expect("open");
        assert_eq!(store.append_all(&FIXTURE.records).expect("append"), 10_000);
    });
}

/// 10,000 results one transaction each, as stations write (SQLite syncs the disk at every
/// commit: durability first).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn sqlite_append_10000_one_transaction_each(bencher: divan::Bencher) {
    bencher.with_inputs(fresh_db).bench_local_values(|spec| {
        let mut store = db::open(&spec).expect("open");
        for r in &FIXTURE.records {
            assert!(store.append(r).expect("append"));
        }
    });
}

/// 10,000 results read back and summarised (yield per station and day, failing limits, Cpk
/// of every limit).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn sqlite_load_and_summarise_10000(bencher: divan::Bencher) {
    let spec = fresh_db();
    db::open(&spec)
        .expect("open")
        .append_all(&FIXTURE.records)
        .expect("append");
    bencher.bench_local(|| {
        let rs = db::open(&spec).expect("open").load().expect("load");
        let s = db::stats::summarize(&rs, None);
        assert_eq!(s.units, 10_000);
    });
}
