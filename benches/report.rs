//! Rendering all plots (and summary.md) of one analysis: the five pages as PNG at two sizes,
//! one and two channels, and as SVG.
//!
//! `cargo bench --bench report` (divan: median, mean, fastest and slowest of the samples).
//! The pages are drawn by two worker threads, so wall time is about half the CPU time.

use sweeplab::report::{ImageFormat, RenderOptions, render_analysis};
use sweeplab::testkit::example;

fn main() {
    divan::main();
}

/// "WxH, N ch, format".
const CASES: [&str; 6] = [
    "1600x1000 1ch png",
    "1600x1000 2ch png",
    "800x500 1ch png",
    "800x500 2ch png",
    "1600x1000 1ch svg",
    "1600x1000 1ch png+svg",
];

#[divan::bench(args = CASES, sample_count = 20, sample_size = 1)]
fn render_all_pages(bencher: divan::Bencher, case: &str) {
    let f: Vec<&str> = case.split(' ').collect();
    let (w, h) = f[0].split_once('x').expect("WxH");
    let channels: usize = f[1].trim_end_matches("ch").parse().expect("channels");
    let formats = f[2]
        .split('+')
        .map(|x| match x {
            "svg" => ImageFormat::Svg,
            _ => ImageFormat::Png,
        })
        .collect();
    let opts = RenderOptions {
        width: w.parse().expect("width"),
        height: h.parse().expect("height"),
        formats,
        ..RenderOptions::default()
    };
    let a = example::analysis(channels);
    let dir = tempfile::tempdir().expect("temporary directory");
    render_analysis(&a, dir.path(), &opts).expect("render"); // warm-up: fonts, page cache
    bencher.bench_local(|| render_analysis(&a, dir.path(), &opts).expect("render"));
}
