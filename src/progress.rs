//! The one progress display: an indicatif bar with elapsed time and a live input level meter
//! on a terminal, plain lines once a second otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::device::Progress;

/// Returns a callback for `Duplex::run` that shows `what` and the capture's progress.
pub fn capture_reporter(what: &str, sample_rate: u32) -> (impl FnMut(Progress), impl FnOnce()) {
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = ProgressBar::new(1);
        b.set_style(
            ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} s  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_prefix(what.to_string());
        Some(b)
    } else {
        eprintln!("{what}…");
        None
    };
    let bar2 = bar.clone();
    let mut last = Instant::now() - Duration::from_secs(10);
    let fs = f64::from(sample_rate);
    let update = move |p: Progress| {
        let done_s = p.frames_done as f64 / fs;
        let total_s = p.frames_total as f64 / fs;
        let meter = level_meter(p.input_peak_dbfs);
        match &bar {
            Some(b) => {
                b.set_length(total_s.ceil() as u64);
                b.set_position(done_s.floor() as u64);
                b.set_message(format!("input {:>6.1} dBFS {meter}", p.input_peak_dbfs));
            }
            None => {
                if last.elapsed() >= Duration::from_secs(1) {
                    last = Instant::now();
                    eprintln!(
                        "  {done_s:5.1} / {total_s:.1} s  input peak {:6.1} dBFS",
                        p.input_peak_dbfs
                    );
                }
            }
        }
    };
    let finish = move || {
        if let Some(b) = bar2 {
            b.finish_and_clear();
        }
    };
    (update, finish)
}

/// A 20-character bar from −60 to 0 dBFS.
fn level_meter(dbfs: f64) -> String {
    let filled = (((dbfs + 60.0) / 60.0).clamp(0.0, 1.0) * 20.0).round() as usize;
    format!("|{}{}|", "#".repeat(filled), "-".repeat(20 - filled))
}
