//! The embedded results database: a SQLite file (WAL journal, so that readers do not block
//! the writer; several stations on one machine wait for each other up to 10 s).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::*;

pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

impl SqliteStore {
    /// Opens `path`, creating the database and its schema on first use.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if path.is_dir() {
            return Err(Error::bad_usage(
                "--db",
                format!(
                    "{} is a folder; give a file for the SQLite database (e.g. {}/{DEFAULT_DB})",
                    path.display(),
                    path.display()
                ),
            ));
        }
        let what = format!("SQLite database {}", path.display());
        let conn = Connection::open(path).map_err(|e| db_error(&what, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db_error(&what, e))?;
        // "not a database" shows up at the first statement
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db_error(&what, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| db_error(&what, e))?;
        let mut store = SqliteStore {
            path: path.to_path_buf(),
            conn,
        };
        store.create_schema()?;
        Ok(store)
    }

    fn what(&self) -> String {
        format!("SQLite database {}", self.path.display())
    }

    fn create_schema(&mut self) -> Result<()> {
        let what = self.what();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| db_error(&what, e))?;
        for s in schema("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL") {
            tx.execute(&s, []).map_err(|e| db_error(&what, e))?;
        }
        let v: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM sweeplab_schema", [], |r| r.get(0))
            .optional()
            .map_err(|e| db_error(&what, e))?
            .flatten();
        check_version(v, &what)?;
        if v.is_none() {
            tx.execute(
                "INSERT INTO sweeplab_schema (version) VALUES (?1)",
                [SCHEMA_VERSION],
            )
            .map_err(|e| db_error(&what, e))?;
        }
        tx.commit().map_err(|e| db_error(&what, e))
    }
}

impl Store for SqliteStore {
    fn append_all(&mut self, rs: &[ResultRecord]) -> Result<usize> {
        let what = self.what();
        let err = |e: rusqlite::Error| db_error(&what, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut added = 0;
        for r in rs {
            if insert(&tx, r).map_err(err)? {
                added += 1;
            }
        }
        tx.commit().map_err(err)?;
        Ok(added)
    }

    fn load(&mut self) -> Result<Vec<ResultRecord>> {
        let what = self.what();
        let err = |e: rusqlite::Error| db_error(&what, e);
        let mut checks: std::collections::HashMap<String, Vec<LimitCheck>> =
            std::collections::HashMap::new();
        {
            let mut st = self
                .conn
                .prepare(
                    "SELECT result_uid, name, verdict, margin, unit, at_hz, value, lower_limit,
                        upper_limit, detail FROM checks ORDER BY result_uid, position",
                )
                .map_err(err)?;
            let mut rows = st.query([]).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let uid: String = row.get(0).map_err(err)?;
                let v: String = row.get(2).map_err(err)?;
                checks.entry(uid).or_default().push(LimitCheck {
                    name: row.get(1).map_err(err)?,
                    verdict: verdict_of(&v)?,
                    margin: row.get(3).map_err(err)?,
                    unit: row.get(4).map_err(err)?,
                    at_hz: row.get(5).map_err(err)?,
                    value: row.get(6).map_err(err)?,
                    lower: row.get(7).map_err(err)?,
                    upper: row.get(8).map_err(err)?,
                    detail: row.get(9).map_err(err)?,
                });
            }
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT uid, time, serial, station, operator, limits_file, limits_sha256, verdict,
                    session, metrics FROM results ORDER BY time, id",
            )
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let uid: String = row.get(0).map_err(err)?;
            let v: String = row.get(7).map_err(err)?;
            let m: String = row.get(9).map_err(err)?;
            out.push(ResultRecord {
                checks: checks.remove(&uid).unwrap_or_default(),
                uid,
                time: row.get(1).map_err(err)?,
                serial: row.get(2).map_err(err)?,
                station: row.get(3).map_err(err)?,
                operator: row.get(4).map_err(err)?,
                limits_file: row.get(5).map_err(err)?,
                limits_sha256: row.get(6).map_err(err)?,
                verdict: verdict_of(&v)?,
                session: row.get(8).map_err(err)?,
                metrics: serde_json::from_str(&m).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        self.what()
    }
}

/// Inserts one result and its checks in the open transaction; `false` if its uid is stored.
fn insert(tx: &rusqlite::Transaction, r: &ResultRecord) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT INTO results (uid, time, serial, station, operator, limits_file,
            limits_sha256, verdict, session, metrics)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (uid) DO NOTHING",
        params![
            r.uid,
            r.time,
            r.serial,
            r.station,
            r.operator,
            r.limits_file,
            r.limits_sha256,
            r.verdict.as_str(),
            r.session,
            r.metrics.to_string()
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    let mut st = tx.prepare_cached(
        "INSERT INTO checks (result_uid, position, name, verdict, margin, unit, at_hz,
            value, lower_limit, upper_limit, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (i, c) in r.checks.iter().enumerate() {
        st.execute(params![
            r.uid,
            i as i64,
            c.name,
            c.verdict.as_str(),
            c.margin,
            c.unit,
            c.at_hz,
            c.value,
            c.lower,
            c.upper,
            c.detail
        ])?;
    }
    Ok(true)
}
