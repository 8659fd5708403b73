//! The shared results database on a PostgreSQL server, for many stations: the same schema as
//! SQLite, created under an advisory lock (so that stations starting at once do not race),
//! and writes retried while the server restarts (the result's unique id makes a retry of a
//! write that did commit harmless).

use postgres::{Client, NoTls};

use super::*;

/// How long a write waits for a server that went away (a restart) before giving up.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// How long opening waits for a server that is unreachable or starting up (a restart).
const CONNECT_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether an error means the connection or the server went away (a restart, a crash, a
/// network cut) rather than a refusal: the write is then retried on a new connection.
/// Class 08 is "connection exception"; 57P01–57P03 are "admin shutdown", "crash shutdown" and
/// "cannot connect now" (the server is starting up).
fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        None => true,
        Some(d) => {
            let code = d.code().code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
    }
}
/// An arbitrary key for the advisory lock taken while the schema is created.
const SCHEMA_LOCK: i64 = 0x5357_4545_504c_4142; // "SWEEPLAB"

/// A failure while opening: the server's, or sweeplab's own verdict on what it found.
enum Fail {
    Pg(postgres::Error),
    Ours(Error),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

pub struct PgStore {
    url: String,
    client: Option<Client>,
}

impl PgStore {
    pub fn open(url: &str) -> Result<PgStore> {
        let mut s = PgStore {
            url: url.to_string(),
            client: None,
        };
        let what = s.describe();
        let start = std::time::Instant::now();
        loop {
            s.connect()?;
            match s.ensure_schema() {
                Ok(()) => return Ok(s),
                Err(Fail::Pg(e)) if transient(&e) && start.elapsed() < RETRY_FOR => {
                    s.client = None;
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                Err(Fail::Pg(e)) => return Err(db_error(&what, e)),
                Err(Fail::Ours(e)) => return Err(e),
            }
        }
    }

    /// Creates the schema on first use. A database that has it is only read (no lock is taken
    /// on its tables, so opening never waits for a writer); creating it happens under an
    /// advisory lock, so that stations starting at once do not race.
    fn ensure_schema(&mut self) -> std::result::Result<(), Fail> {
        let what = self.describe();
        let c = self.client.as_mut().expect("connected");
        let version =
            |c: &mut postgres::Transaction| -> std::result::Result<Option<i32>, postgres::Error> {
                let exists: bool = c
                    .query_one("SELECT to_regclass('sweeplab_schema') IS NOT NULL", &[])?
                    .get(0);
                if !exists {
                    return Ok(None);
                }
                c.query_one("SELECT MAX(version) FROM sweeplab_schema", &[])
                    .map(|r| r.get(0))
            };
        let mut tx = c.transaction()?;
        if let Some(v) = version(&mut tx)? {
            check_version(Some(i64::from(v)), &what).map_err(Fail::Ours)?;
            return Ok(tx.commit()?);
        }
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        // under the lock: the statements are idempotent, and another station may have created
        // the schema while this one waited (a name lookup such as to_regclass() may not see
        // that yet; CREATE … IF NOT EXISTS and the version query do)
        for st in schema("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION") {
            tx.batch_execute(&st)?;
        }
        let v: Option<i32> = tx
            .query_one("SELECT MAX(version) FROM sweeplab_schema", &[])?
            .get(0);
        check_version(v.map(i64::from), &what).map_err(Fail::Ours)?;
        if v.is_none() {
            tx.execute(
                "INSERT INTO sweeplab_schema (version) VALUES ($1)",
                &[&(SCHEMA_VERSION as i32)],
            )?;
        }
        Ok(tx.commit()?)
    }

    /// Connects, waiting up to `CONNECT_FOR` for a server that is unreachable or starting up
    /// (a wrong password or database name fails at once).
    fn connect(&mut self) -> Result<()> {
        let what = self.describe();
        let start = std::time::Instant::now();
        loop {
            match Client::connect(&self.url, NoTls) {
                Ok(c) => {
                    self.client = Some(c);
                    return Ok(());
                }
                Err(e) if transient(&e) && start.elapsed() < CONNECT_FOR => {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                Err(e) => return Err(db_error(&what, e)),
            }
        }
    }

    fn try_append_all(
        &mut self,
        rs: &[ResultRecord],
    ) -> std::result::Result<usize, postgres::Error> {
        let c = self.client.as_mut().expect("connected");
        let mut tx = c.transaction()?;
        let result = tx.prepare(
            "INSERT INTO results (uid, time, serial, station, operator, limits_file,
                limits_sha256, verdict, session, metrics)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (uid) DO NOTHING",
        )?;
        let check = tx.prepare(
            "INSERT INTO checks (result_uid, position, name, verdict, margin, unit, at_hz,
                value, lower_limit, upper_limit, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )?;
        let mut added = 0;
        for r in rs {
            let n = tx.execute(
                &result,
                &[
                    &r.uid,
                    &r.time,
                    &r.serial,
                    &r.station,
                    &r.operator,
                    &r.limits_file,
                    &r.limits_sha256,
                    &r.verdict.as_str(),
                    &r.session,
                    &r.metrics.to_string(),
                ],
            )?;
            if n == 0 {
                continue; // stored before (a retry, or `results add` again)
            }
            added += 1;
            for (i, ch) in r.checks.iter().enumerate() {
                tx.execute(
                    &check,
                    &[
                        &r.uid,
                        &(i as i32),
                        &ch.name,
                        &ch.verdict.as_str(),
                        &ch.margin,
                        &ch.unit,
                        &ch.at_hz,
                        &ch.value,
                        &ch.lower,
                        &ch.upper,
                        &ch.detail,
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(added)
    }
}

impl Store for PgStore {
    fn append_all(&mut self, rs: &[ResultRecord]) -> Result<usize> {
        let what = self.describe();
        let start = std::time::Instant::now();
        loop {
            if self.client.as_ref().is_none_or(|c| c.is_closed()) {
                match self.connect() {
                    Ok(()) => {}
                    Err(_) if start.elapsed() < RETRY_FOR => continue,
                    Err(e) => return Err(e),
                }
            }
            match self.try_append_all(rs) {
                Ok(inserted) => return Ok(inserted),
                // the connection broke (a server restart): reconnect and write again; the
                // unique id keeps a write that did commit from being stored twice
                Err(e) if transient(&e) => {
                    self.client = None;
                    if start.elapsed() >= RETRY_FOR {
                        return Err(db_error(&what, e));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
                Err(e) => return Err(db_error(&what, e)),
            }
        }
    }

    fn load(&mut self) -> Result<Vec<ResultRecord>> {
        let what = self.describe();
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.connect()?;
        }
        let c = self.client.as_mut().expect("connected");
        let err = |e: postgres::Error| db_error(&what, e);
        let mut checks: std::collections::HashMap<String, Vec<LimitCheck>> =
            std::collections::HashMap::new();
        for row in c
            .query(
                "SELECT result_uid, name, verdict, margin, unit, at_hz, value, lower_limit,
                    upper_limit, detail FROM checks ORDER BY result_uid, position",
                &[],
            )
            .map_err(err)?
        {
            let v: String = row.get(2);
            checks.entry(row.get(0)).or_default().push(LimitCheck {
                name: row.get(1),
                verdict: verdict_of(&v)?,
                margin: row.get(3),
                unit: row.get(4),
                at_hz: row.get(5),
                value: row.get(6),
                lower: row.get(7),
                upper: row.get(8),
                detail: row.get(9),
            });
        }
        let mut out = Vec::new();
        for row in c
            .query(
                "SELECT uid, time, serial, station, operator, limits_file, limits_sha256, verdict,
                    session, metrics FROM results ORDER BY time, id",
                &[],
            )
            .map_err(err)?
        {
            let uid: String = row.get(0);
            let v: String = row.get(7);
            let m: String = row.get(9);
            out.push(ResultRecord {
                checks: checks.remove(&uid).unwrap_or_default(),
                uid,
                time: row.get(1),
                serial: row.get(2),
                station: row.get(3),
                operator: row.get(4),
                limits_file: row.get(5),
                limits_sha256: row.get(6),
                verdict: verdict_of(&v)?,
                session: row.get(8),
                metrics: serde_json::from_str(&m).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("PostgreSQL database {}", redact(&self.url))
    }
}
