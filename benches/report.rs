//! Time to render all plots (and summary.md) of one analysis.
//!
//! `cargo bench --bench report` (release build). Budget: ≤ 250 ms per analysis.
//! Prints wall-clock time and, on Linux, the process CPU time (all threads), which is less
//! disturbed by other load on the machine.

use std::time::{Duration, Instant};

use sweeplab::report::{RenderOptions, render_analysis};
use sweeplab::testkit::example;

/// User + system CPU time of this process so far (Linux), in seconds.
fn cpu_time_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let iters = 20;
    for (w, h) in [(1600, 1000), (800, 500)] {
        let opts = RenderOptions {
            width: w,
            height: h,
            ..RenderOptions::default()
        };
        for channels in [1, 2] {
            let a = example::analysis(channels);
            // warm-up (font registration, page cache)
            render_analysis(&a, dir.path(), &opts).expect("render");
            let cpu0 = cpu_time_s();
            let mut times: Vec<Duration> = (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    render_analysis(&a, dir.path(), &opts).expect("render");
                    t.elapsed()
                })
                .collect();
            let cpu = cpu_time_s().zip(cpu0).map(|(b, a)| (b - a) / iters as f64);
            times.sort();
            println!(
                "render_analysis {w}x{h}, {channels} channel(s): wall median {:.1} ms \
                 (min {:.1}, max {:.1}); CPU {} per analysis",
                times[times.len() / 2].as_secs_f64() * 1e3,
                times[0].as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3,
                cpu.map_or("n/a".to_string(), |c| format!("{:.1} ms", c * 1e3)),
            );
        }
    }
}
