//! The results database: one row per checked unit (and one per limit), in an embedded SQLite
//! file (rusqlite with the bundled library: no server, no system package) or, when many
//! stations feed one place, a PostgreSQL server (`postgres://…`), with the same versioned
//! schema. A result carries a unique id, so adding it again (a retry after a lost
//! connection, `sweeplab results add`) never duplicates it; a result and its limits are
//! written in one transaction, so a killed writer leaves all of it or none.
//! The only code that talks to a database. Must not import: `session`, `cli`, `device`,
//! `report`, `sim`, `storage`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{LimitCheck, Verdict};

pub mod pg;
pub mod sqlite;
pub mod stats;

/// The schema version this sweeplab writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// The default database: a SQLite file in the current folder.
pub const DEFAULT_DB: &str = "sweeplab-results.sqlite";

/// One checked unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// Unique per check: the same result added twice is stored once.
    pub uid: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub serial: Option<String>,
    pub station: Option<String>,
    pub operator: Option<String>,
    pub limits_file: String,
    pub limits_sha256: String,
    pub verdict: Verdict,
    /// The session or analysis folder checked.
    pub session: Option<String>,
    /// The unit's main figures (channel 0's CONTRACT metrics, level at 1 kHz, latency).
    pub metrics: serde_json::Value,
    pub checks: Vec<LimitCheck>,
}

/// A results database.
pub trait Store {
    /// Appends results in one transaction (all of them or nothing); those already stored
    /// (the same uid) are left as they are. Returns how many were new.
    fn append_all(&mut self, rs: &[ResultRecord]) -> Result<usize>;
    /// Appends one result (all of it or nothing). `Ok(false)`: it was already there.
    fn append(&mut self, r: &ResultRecord) -> Result<bool> {
        Ok(self.append_all(std::slice::from_ref(r))? == 1)
    }
    /// Every result, oldest first.
    fn load(&mut self) -> Result<Vec<ResultRecord>>;
    /// Where it is, for messages (a URL without its password).
    fn describe(&self) -> String;
}

/// Opens (creating on first use) the database `spec` names: a `postgres://` or
/// `postgresql://` URL, else a SQLite file path.
pub fn open(spec: &str) -> Result<Box<dyn Store>> {
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Ok(Box::new(pg::PgStore::open(spec)?))
    } else {
        Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(
            spec,
        ))?))
    }
}

/// A database failure (exit 1); `what` says which database and what was being done.
pub fn db_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Database(format!("{what}: {e}"))
}

/// A URL with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A new unique id: the time, the process and a per-process random key, hashed.
pub fn new_uid() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let state = std::collections::hash_map::RandomState::new();
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = state.build_hasher();
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_usize(i);
        *p = h.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}

/// The schema, one statement per entry (SQLite and PostgreSQL differ only in the id column
/// and the float type).
fn schema(id_column: &str, float: &str) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS sweeplab_schema (version INTEGER NOT NULL)".into(),
        format!(
            "CREATE TABLE IF NOT EXISTS results (
                id {id_column},
                uid TEXT NOT NULL UNIQUE,
                time TEXT NOT NULL,
                serial TEXT,
                station TEXT,
                operator TEXT,
                limits_file TEXT NOT NULL,
                limits_sha256 TEXT NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
                session TEXT,
                metrics TEXT NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS checks (
                result_uid TEXT NOT NULL REFERENCES results(uid) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                name TEXT NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
                margin {float},
                unit TEXT NOT NULL,
                at_hz {float},
                value {float},
                lower_limit {float},
                upper_limit {float},
                detail TEXT NOT NULL,
                PRIMARY KEY (result_uid, position)
            )"
        ),
        "CREATE INDEX IF NOT EXISTS results_time ON results (time)".into(),
        "CREATE INDEX IF NOT EXISTS checks_name ON checks (name, verdict)".into(),
    ]
}

fn verdict_of(s: &str) -> Result<Verdict> {
    match s {
        "pass" => Ok(Verdict::Pass),
        "fail" => Ok(Verdict::Fail),
        other => Err(Error::Database(format!(
            "the database holds a verdict {other:?}; it was not written by sweeplab"
        ))),
    }
}

/// Checks the version a database was written with.
fn check_version(found: Option<i64>, where_: &str) -> Result<()> {
    match found {
        Some(v) if v > SCHEMA_VERSION => Err(Error::Database(format!(
            "{where_} has schema version {v}, newer than this sweeplab's {SCHEMA_VERSION}: upgrade sweeplab"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_unique_and_urls_redacted() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_uid()).collect();
        assert_eq!(ids.len(), 10_000);
        assert_eq!(
            redact("postgres://line:secret@db.local:5432/prod"),
            "postgres://line:***@db.local:5432/prod"
        );
        assert_eq!(redact("postgres://db/prod"), "postgres://db/prod");
    }
}
