//! The one progress display: an indicatif bar with elapsed time and a live input level meter
//! on a terminal, plain lines once a second otherwise.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::rc::Rc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::device::Progress;

/// The progress of a capture: a bar on a terminal (shown from the first report on, so that
/// lines printed before the capture starts come first), plain lines once a second otherwise.
#[derive(Clone)]
pub struct Reporter {
    state: Rc<RefCell<State>>,
}

struct State {
    what: String,
    tty: bool,
    sample_rate: f64,
    bar: Option<ProgressBar>,
    started: bool,
    last_line: Instant,
}

impl Reporter {
    pub fn new(what: &str, sample_rate: u32) -> Reporter {
        Reporter {
            state: Rc::new(RefCell::new(State {
                what: what.to_string(),
                tty: std::io::stderr().is_terminal(),
                sample_rate: f64::from(sample_rate),
                bar: None,
                started: false,
                last_line: Instant::now() - Duration::from_secs(10),
            })),
        }
    }

    /// The callback for `Duplex::run`.
    pub fn updater(&self) -> impl FnMut(Progress) + use<> {
        let state = self.state.clone();
        move |p: Progress| state.borrow_mut().update(p)
    }

    /// A line for the terminal, printed above the bar while it shows.
    pub fn say(&self, line: &str) {
        match &self.state.borrow().bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = self.state.borrow_mut().bar.take() {
            b.finish_and_clear();
        }
    }
}

impl State {
    fn update(&mut self, p: Progress) {
        if !self.started {
            self.started = true;
            if self.tty {
                let b = ProgressBar::new(1);
                b.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} s  {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b.set_prefix(self.what.clone());
                self.bar = Some(b);
            } else {
                eprintln!("{}…", self.what);
            }
        }
        let done_s = p.frames_done as f64 / self.sample_rate;
        let total_s = p.frames_total as f64 / self.sample_rate;
        if p.frames_total > 0 && p.frames_done >= p.frames_total {
            // the capture is complete: what follows (the analysis) is not part of it
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
            }
            return;
        }
        match &self.bar {
            Some(b) => {
                b.set_length(total_s.ceil() as u64);
                b.set_position(done_s.floor() as u64);
                b.set_message(format!(
                    "input {:>6.1} dBFS {}",
                    p.input_peak_dbfs,
                    level_meter(p.input_peak_dbfs)
                ));
            }
            None => {
                if self.last_line.elapsed() >= Duration::from_secs(1) {
                    self.last_line = Instant::now();
                    eprintln!(
                        "  {done_s:5.1} / {total_s:.1} s  input peak {:6.1} dBFS",
                        p.input_peak_dbfs
                    );
                }
            }
        }
    }
}

/// A 20-character bar from −60 to 0 dBFS.
fn level_meter(dbfs: f64) -> String {
    let filled = (((dbfs + 60.0) / 60.0).clamp(0.0, 1.0) * 20.0).round() as usize;
    format!("|{}{}|", "#".repeat(filled), "-".repeat(20 - filled))
}

/// Progress over steps (sessions analysed, sources compared): a bar on stderr while both
/// stdout and stderr are terminals and there is more than one step; nothing otherwise (a
/// pipe, a script, `--json`, `--quiet`).
#[derive(Clone)]
pub struct Steps {
    bar: Option<ProgressBar>,
}

impl Steps {
    pub fn new(what: &str, total: usize, quiet: bool) -> Steps {
        let show = !quiet
            && total > 1
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_prefix(what.to_string());
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Steps { bar }
    }

    /// One step done; `msg` says which.
    pub fn done(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(msg.to_string());
        }
    }

    /// Now working on `msg`.
    pub fn working_on(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        }
    }

    /// Clears the bar (before the results are printed).
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
