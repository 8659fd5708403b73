//! The private PulseAudio null-sink loopback of tests/loopback.sh, for the live tests.
//!
//! Policy: if the loopback cannot be started (no pulseaudio, …) [`Loopback::start`] PANICS
//! when `CI` is set, and otherwise prints "SKIP: <test>: … because …" to stderr and returns
//! `None`, so the test passes without running.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once};

static LOCK: Mutex<()> = Mutex::new(());
static PROCESS_ENV: Once = Once::new();

/// Serializes the tests of one binary that use the loopback (one daemon at a time).
pub fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loopback.sh")
}

/// A running loopback daemon; stopped on drop (its folder is kept if the test failed).
pub struct Loopback {
    pub lb: PathBuf,
    /// What a client needs to reach it (PULSE_SERVER, ALSA_CONFIG_PATH, …).
    pub env: Vec<(String, String)>,
}

impl Loopback {
    /// (Re)starts the daemon with `args` (tests/loopback.sh start options) in a folder named
    /// after `tag` and this process. `None`: skipped (see the module's policy).
    pub fn start(test: &str, tag: &str, args: &[&str]) -> Option<Loopback> {
        let lb = std::env::temp_dir().join(format!("sweeplab-lb-{tag}-{}", std::process::id()));
        let out = Command::new("timeout")
            .arg("60")
            .arg("bash")
            .arg(script())
            .arg("restart")
            .args(args)
            .env("LB", &lb)
            .output();
        let why = match out {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "`tests/loopback.sh restart {}` failed ({}): {}",
                args.join(" "),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run tests/loopback.sh: {e}")),
        };
        if let Some(why) = why {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: the PulseAudio loopback is required when CI is set: {why}");
            }
            // Straight to stderr: eprintln! would be swallowed by the harness for a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: {test}: no software audio loopback because {why}"
            );
            return None;
        }
        let text = std::fs::read_to_string(lb.join("env")).expect("loopback env file");
        let env = text
            .lines()
            .filter_map(|l| l.strip_prefix("export ").and_then(|l| l.split_once('=')))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Loopback { lb, env })
    }

    /// Puts [`Loopback::env`] into this process's environment (for cpal in-process), once:
    /// the ALSA configuration cpal reads is process-global, so every start of one test
    /// binary must use the same folder (the same `tag`).
    pub fn export_to_process(&self) {
        PROCESS_ENV.call_once(|| {
            for (k, v) in &self.env {
                // SAFETY: done once, under `lock()`, before any audio thread of this process
                // exists; no other thread reads the environment concurrently.
                unsafe { std::env::set_var(k, v) };
            }
        });
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        std::fs::read_to_string(self.lb.join("pulseaudio.pid"))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid")
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .arg("30")
            .arg("bash")
            .arg(script())
            .arg("stop")
            .env("LB", &self.lb)
            .output();
        // Keep the daemon's log of a failed test; otherwise leave nothing behind.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.lb);
        }
    }
}
