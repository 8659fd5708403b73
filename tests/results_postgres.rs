//! The results database on a real PostgreSQL server (a private cluster, tests/common/pg.rs):
//! several stations writing at once into a fresh database, a writer killed in the middle of
//! its transaction, and the server restarted under writers. Nothing may be lost or stored
//! twice. Outside CI these tests skip with a message when no server can be started; in CI they
//! fail.

mod common;
use common::{sweeplab, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::PgServer;

/// A simulated unit (a built-in model, 1 s sweep) analysed in DIR/unit, and limits built from
/// it in DIR/limits.toml.
fn unit_and_limits(d: &Path) -> (PathBuf, PathBuf) {
    let u = d.join("unit");
    let o = sweeplab(&[
        "simulate",
        "--model",
        "usb-mic",
        "--out",
        u.to_str().unwrap(),
        "--duration",
        "1",
        "--pre",
        "0.5",
        "--post",
        "0.3",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let l = d.join("limits.toml");
    let o = sweeplab(&[
        "limits",
        "--from",
        u.to_str().unwrap(),
        "--out",
        l.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    (u.join("report"), l)
}

/// A copy of the unit's analysis folder at `to` (a unit of its own, for its own check.json).
fn copy_unit(analysis_dir: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(analysis_dir.join("analysis.json"), to.join("analysis.json")).unwrap();
    to.to_path_buf()
}

/// check.json for the unit at `dir`, not stored (`--no-db`); returns its uid.
fn kept_result(dir: &Path, limits: &Path, serial: &str) -> String {
    let o = sweeplab(&[
        "check",
        dir.to_str().unwrap(),
        "--limits",
        limits.to_str().unwrap(),
        "--no-db",
        "--serial",
        serial,
    ]);
    assert!(matches!(o.status.code(), Some(0) | Some(3)), "{}", text(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("check.json")).unwrap()).unwrap();
    j["uid"].as_str().unwrap().to_string()
}

fn client(s: &PgServer) -> postgres::Client {
    postgres::Client::connect(&s.url(), postgres::NoTls).expect("connect to the test server")
}

fn count(c: &mut postgres::Client, sql: &str, uid: &str) -> i64 {
    c.query_one(sql, &[&uid]).unwrap().get(0)
}

/// Results stored with `uid`, and its checks.
fn stored(s: &PgServer, uid: &str) -> (i64, i64) {
    let mut c = client(s);
    (
        count(&mut c, "SELECT COUNT(*) FROM results WHERE uid = $1", uid),
        count(
            &mut c,
            "SELECT COUNT(*) FROM checks WHERE result_uid = $1",
            uid,
        ),
    )
}

/// Waits until a writer waits on a lock while inserting its checks (its result row is then
/// written, its transaction open); returns its backend pid.
fn wait_for_blocked_writer(c: &mut postgres::Client) -> i32 {
    let t = Instant::now();
    loop {
        let rows = c
            .query(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()
                   AND query LIKE '%INSERT INTO checks%'",
                &[],
            )
            .unwrap();
        if let Some(r) = rows.first() {
            return r.get(0);
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no writer reached the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn n_checks(limits_run: &Path) -> i64 {
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(limits_run.join("check.json")).unwrap())
            .unwrap();
    j["checks"].as_array().unwrap().len() as i64
}

#[test]
fn several_stations_write_at_once_into_a_new_database() {
    let Some(s) = PgServer::start_or_skip("several_stations_write_at_once_into_a_new_database")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (analysis, limits) = unit_and_limits(tmp.path());
    let url = s.url();
    // 6 stations × 4 units, all starting at once against a database with no schema yet
    let stations = 6;
    let per = 4;
    let dirs: Vec<Vec<PathBuf>> = (0..stations)
        .map(|st| {
            (0..per)
                .map(|k| copy_unit(&analysis, &tmp.path().join(format!("s{st}u{k}"))))
                .collect()
        })
        .collect();
    std::thread::scope(|sc| {
        for (st, units) in dirs.iter().enumerate() {
            let (url, limits) = (&url, &limits);
            sc.spawn(move || {
                for (k, u) in units.iter().enumerate() {
                    let serial = format!("S{st}-{k}");
                    let station = format!("station{st}");
                    let o = sweeplab(&[
                        "check",
                        u.to_str().unwrap(),
                        "--limits",
                        limits.to_str().unwrap(),
                        "--db",
                        url,
                        "--serial",
                        &serial,
                        "--station",
                        &station,
                    ]);
                    assert_eq!(o.status.code(), Some(0), "{serial}: {}", text(&o));
                }
            });
        }
    });
    let o = sweeplab(&["results", "--db", &url, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), stations * per);
    let serials: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|x| x["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), stations * per, "every unit once");
    let checks = n_checks(&dirs[0][0]);
    for x in results {
        assert_eq!(
            x["checks"].as_array().unwrap().len() as i64,
            checks,
            "{}",
            x["serial"]
        );
    }
    assert_eq!(
        r["summary"]["per_station"].as_array().unwrap().len(),
        stations
    );
    assert_eq!(r["summary"]["units"], (stations * per) as u64);
    // one schema version row, whoever created it
    let mut c = client(&s);
    let v: i64 = c
        .query_one("SELECT COUNT(*) FROM sweeplab_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 1);
}

#[test]
fn a_writer_killed_in_its_transaction_leaves_nothing_and_the_result_is_added_once_later() {
    let Some(s) = PgServer::start_or_skip(
        "a_writer_killed_in_its_transaction_leaves_nothing_and_the_result_is_added_once_later",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (analysis, limits) = unit_and_limits(tmp.path());
    let u = copy_unit(&analysis, &tmp.path().join("killed"));
    let uid = kept_result(&u, &limits, "K1");
    let url = s.url();
    let o = sweeplab(&["results", "--db", &url]);
    assert!(o.status.success(), "creates the schema: {}", text(&o));

    // hold the checks table: the writer inserts its result row, then waits for the table
    let mut c = client(&s);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("LOCK TABLE checks IN EXCLUSIVE MODE")
        .unwrap();
    let mut writer = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args(["results", "add", u.to_str().unwrap(), "--db", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut watch = client(&s);
    let backend = wait_for_blocked_writer(&mut watch);
    // the writer is inside its transaction, its result row written: kill it there
    writer.kill().unwrap();
    writer.wait().unwrap();
    tx.rollback().unwrap();
    // the server ends the dead client's session and rolls its transaction back
    let t = Instant::now();
    while watch
        .query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&backend])
        .unwrap()
        .len()
        == 1
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the killed writer's session stays"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        stored(&s, &uid),
        (0, 0),
        "a killed writer leaves none of its result"
    );

    // the result was kept in check.json: added later, once
    let o = sweeplab(&["results", "add", u.to_str().unwrap(), "--db", &url]);
    assert!(
        o.status.success() && text(&o).starts_with("added"),
        "{}",
        text(&o)
    );
    let o = sweeplab(&["results", "add", u.to_str().unwrap(), "--db", &url]);
    assert!(
        o.status.success() && text(&o).starts_with("already stored"),
        "{}",
        text(&o)
    );
    assert_eq!(stored(&s, &uid), (1, n_checks(&u)));
}

#[test]
fn the_server_restarts_under_writers_and_nothing_is_lost_or_doubled() {
    let Some(s) =
        PgServer::start_or_skip("the_server_restarts_under_writers_and_nothing_is_lost_or_doubled")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (analysis, limits) = unit_and_limits(tmp.path());
    let url = s.url();
    assert!(sweeplab(&["results", "--db", &url]).status.success());

    // one writer caught in its transaction by the restart
    let caught = copy_unit(&analysis, &tmp.path().join("caught"));
    let caught_uid = kept_result(&caught, &limits, "C1");
    // and four stations adding results one after another while the server restarts
    let stations = 4;
    let per = 6;
    let mut uids = Vec::new();
    let mut dirs = Vec::new();
    for st in 0..stations {
        let mut v = Vec::new();
        for k in 0..per {
            let d = copy_unit(&analysis, &tmp.path().join(format!("r{st}u{k}")));
            uids.push(kept_result(&d, &limits, &format!("R{st}-{k}")));
            v.push(d);
        }
        dirs.push(v);
    }

    let mut c = client(&s);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("LOCK TABLE checks IN EXCLUSIVE MODE")
        .unwrap();
    let writer = Command::new(env!("CARGO_BIN_EXE_sweeplab"))
        .args(["results", "add", caught.to_str().unwrap(), "--db", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watch = client(&s);
    wait_for_blocked_writer(&mut watch);
    drop(watch);

    let outcomes = std::thread::scope(|sc| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|units| {
                let url = &url;
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for u in units {
                        let o = sweeplab(&["results", "add", u.to_str().unwrap(), "--db", url]);
                        out.push((u.clone(), o));
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    out
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(250));
        // fast shutdown: every session is terminated, the open transactions rolled back
        s.restart();
        drop(tx);
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    drop(c);

    // the caught writer reconnected and wrote its result again, once
    let o = writer.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the caught writer: {}\nserver log:\n{}",
        text(&o),
        s.log()
    );
    assert!(text(&o).starts_with("added"), "{}", text(&o));
    assert_eq!(stored(&s, &caught_uid), (1, n_checks(&caught)));

    // a station whose write did not get through was told so (exit 1, `results add` named)
    // and adds it again, as the message says; in the end every result is there once
    let mut failed = 0;
    for (u, o) in outcomes {
        if !o.status.success() {
            failed += 1;
            assert_eq!(o.status.code(), Some(1), "{}", text(&o));
            let o = sweeplab(&["results", "add", u.to_str().unwrap(), "--db", &url]);
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    eprintln!(
        "restart: {failed} of {} station writes had to be added again",
        stations * per
    );
    for uid in &uids {
        assert_eq!(stored(&s, uid).0, 1, "result {uid}");
    }
    let mut c = client(&s);
    let total: i64 = c
        .query_one("SELECT COUNT(*) FROM results", &[])
        .unwrap()
        .get(0);
    assert_eq!(total, (stations * per + 1) as i64);
    let orphans: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM checks WHERE result_uid NOT IN (SELECT uid FROM results)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0);
}
