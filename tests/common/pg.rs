//! A private PostgreSQL server for the results-database tests: its own cluster in a temporary
//! folder, on a free port of 127.0.0.1, trust authentication, stopped and removed on drop. It
//! uses the server binaries of Debian's `postgresql` package (`/usr/lib/postgresql/*/bin`, or
//! `SWEEPLAB_PG_BIN`); as root (CI) it runs them as the package's `postgres` user, since
//! PostgreSQL refuses to run as root.
//!
//! Policy: if no server can be started, [`PgServer::start_or_skip`] PANICS when `CI` is set and
//! otherwise prints "SKIP: <test>: … because …" to stderr and returns `None`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

fn find_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SWEEPLAB_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgServer {
    fn run(&self, tool: &str, args: &[&str]) -> Result<Output, String> {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let o = c
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if o.status.success() {
            Ok(o)
        } else {
            Err(format!(
                "{tool} {args:?} failed: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ))
        }
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn options(&self) -> String {
        format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        )
    }

    /// Starts a new cluster.
    pub fn start() -> Result<PgServer, String> {
        let bin =
            find_bin().ok_or("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl)")?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("sweeplab-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        if as_postgres {
            let o = Command::new("chown")
                .args(["postgres:postgres", &dir.path().display().to_string()])
                .output()
                .map_err(|e| e.to_string())?;
            if !o.status.success() {
                return Err(format!(
                    "cannot hand the cluster folder to the postgres user: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let s = PgServer {
            dir,
            bin,
            as_postgres,
            port,
        };
        s.run(
            "initdb",
            &[
                "-D",
                &s.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        s.pg_ctl("start")?;
        Ok(s)
    }

    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let log = self.dir.path().join("server.log").display().to_string();
        let (data, opts) = (self.data(), self.options());
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts];
        if action == "restart" {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        self.run("pg_ctl", &args).map(|_| ())
    }

    /// Stops the server the fast way (sessions are terminated), then starts it again.
    pub fn restart(&self) {
        self.pg_ctl("restart").expect("restart PostgreSQL");
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A server, or `None` (outside CI) with a SKIP line naming `test`.
    pub fn start_or_skip(test: &str) -> Option<PgServer> {
        match PgServer::start() {
            Ok(s) => Some(s),
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!(
                    "{test}: PostgreSQL is needed in CI (.ci/run installs Debian's postgresql): {e}"
                )
            }
            Err(e) => {
                eprintln!(
                    "SKIP: {test}: no private PostgreSQL server because {e}; install Debian's `postgresql` package to run it"
                );
                None
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
