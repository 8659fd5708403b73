//! Plots and summaries: the only code that imports plotters. It only reads finished results
//! (and `metrics` for the figures it prints). Must not import: `dsp` (beyond smoothing for
//! display), `device`, `sim`, `compare`, `session`, `cli`.
//!
//! Every plot is drawn once into a display list (`canvas`), replayed through a plotters
//! backend for each requested format (`backend`: PNG through tiny-skia, SVG through
//! plotters' SVG backend) and written with [`crate::storage::write_atomic`], so no
//! half-written image is ever left behind. Text uses the embedded DejaVu Sans font, never
//! system fonts (an SVG names DejaVu Sans, with fallbacks, for its reader to draw).
//!
//! The data each plot receives is exposed as [`Series`] (`response_series`,
//! `distortion_series`, `noise_series`, `impulse_series`) so it can be checked against the
//! [`Analysis`] without looking at pixels.

mod axes;
mod backend;
mod canvas;
mod decay;
mod frame;
mod layout;
mod levels;
mod pages;
mod panels;
#[cfg(test)]
mod render_tests;
mod series;
mod sides;
mod spectrogram;
mod summary;
#[cfg(test)]
mod tests;
mod text;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::results::Analysis;

pub use axes::db_axis_range;
pub use decay::{DecaySlice, decay_series};
pub use levels::level_series;
pub use series::*;
pub use sides::sides_series;
pub use summary::summary_markdown;

/// An image file format: every plot can be written in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ImageFormat {
    /// 8-bit RGB PNG, anti-aliased.
    Png,
    /// SVG: vector plots for papers and reports (width and height in pixels as the PNG's).
    Svg,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// Size of the images, their formats and the smoothing of the bold curves.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    /// n of 1/n-octave smoothing for the bold curves; `None` draws the raw curves bold.
    pub smoothing: Option<f64>,
    /// The formats each plot is written in (each once, in this order).
    pub formats: Vec<ImageFormat>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            width: 1600,
            height: 1000,
            smoothing: Some(6.0),
            formats: vec![ImageFormat::Png],
        }
    }
}

impl RenderOptions {
    /// The formats, without repeats; PNG when none is given.
    fn formats(&self) -> Vec<ImageFormat> {
        let mut f: Vec<ImageFormat> = Vec::new();
        for x in &self.formats {
            if !f.contains(x) {
                f.push(*x);
            }
        }
        if f.is_empty() {
            f.push(ImageFormat::Png);
        }
        f
    }
}

/// One drawn page encoded in `format`; a PNG is drawn in `spare`'s memory, which then holds
/// the image's buffer for the next page of the same thread.
fn encode(
    c: &canvas::Canvas,
    format: ImageFormat,
    spare: &mut Vec<u8>,
) -> std::result::Result<Vec<u8>, String> {
    match format {
        ImageFormat::Png => backend::to_png_reusing(c, spare),
        ImageFormat::Svg => backend::to_svg(c).map(String::into_bytes),
    }
}

/// Writes `response`, `distortion`, `noise`, `impulse`, `decay` (the cumulative spectral
/// decay), `spectrogram` (of the capture) and `overview` (`.png`, and `.svg`
/// when asked) and `summary.md` into `out_dir` (which exists). Returns the paths written.
pub fn render_analysis(
    analysis: &Analysis,
    out_dir: &Path,
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>> {
    render_analysis_unless(analysis, out_dir, opts, &|| false)
}

/// [`render_analysis`], giving up with [`Error::Interrupted`] as soon as `stopped()` is true
/// (checked before each image and before writing any): then no image is written.
pub fn render_analysis_unless(
    analysis: &Analysis,
    out_dir: &Path,
    opts: &RenderOptions,
    stopped: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<PathBuf>> {
    paint_analysis_unless(analysis, out_dir, opts, stopped)?.write()
}

/// The pages of an analysis painted and encoded in memory, not written yet (so that they can
/// be made while other files are written, and written only once those are).
pub struct PaintedPages {
    /// Each image's path and bytes (or why it could not be drawn), in the pages' order.
    images: Vec<(PathBuf, std::result::Result<Vec<u8>, String>)>,
    summary_path: PathBuf,
    summary: String,
}

impl PaintedPages {
    /// Writes the images (each atomically), then summary.md; the first image that could not
    /// be drawn stops it with its error. Returns the paths written.
    pub fn write(self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for (path, bytes) in self.images {
            let bytes = bytes.map_err(|msg| plot_error(&path, msg))?;
            crate::storage::write_atomic(&path, &bytes)?;
            written.push(path);
        }
        crate::storage::write_atomic(&self.summary_path, self.summary.as_bytes())?;
        written.push(self.summary_path);
        Ok(written)
    }
}

/// Paints and encodes the pages of [`render_analysis_unless`] without writing anything;
/// [`Error::Interrupted`] as soon as `stopped()` is true.
pub fn paint_analysis_unless(
    analysis: &Analysis,
    out_dir: &Path,
    opts: &RenderOptions,
    stopped: &(dyn Fn() -> bool + Sync),
) -> Result<PaintedPages> {
    check_size(opts)?;
    type Painter = fn(&Analysis, &RenderOptions) -> std::result::Result<canvas::Canvas, String>;
    let mut jobs: Vec<(&str, Painter)> = vec![
        ("response", pages::response_image),
        ("distortion", pages::distortion_image),
        ("noise", pages::noise_image),
        ("impulse", pages::impulse_image),
        ("decay", decay::decay_image),
        ("spectrogram", spectrogram::spectrogram_image),
        ("overview", pages::overview_image),
    ];
    if analysis.distortion_vs_level.is_some() {
        jobs.push(("distortion-vs-level", levels::levels_image));
    }
    if analysis.sides.is_some() {
        jobs.push(("balance", sides::sides_image));
    }
    let formats = opts.formats();
    let formats = &formats;
    type Encoded = (PathBuf, std::result::Result<Vec<u8>, String>);
    // two workers: the images are independent. Each takes the next page not yet taken (the
    // overview, four panels, first), so neither waits while the other still has several;
    // the files are then written in the pages' own order. They run on rayon's pool, whose
    // threads' heaps already hold the memory the analysis freed (threads of their own
    // would each start a heap of their own: about 20 MiB more peak memory with the plots at
    // 10 s, mono and stereo, measured)
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| jobs[i].0 != "overview");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || {
        let mut done: Vec<(usize, Encoded)> = Vec::new();
        let mut spare = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(k) else {
                break;
            };
            let (name, paint) = jobs[i];
            let path = |f: ImageFormat| out_dir.join(format!("{name}.{}", f.extension()));
            if stopped() {
                done.push((i, (path(formats[0]), Err(String::new()))));
                continue;
            }
            match text::ensure_fonts().and_then(|_| paint(analysis, opts)) {
                Ok(c) => {
                    for &f in formats {
                        done.push((i, (path(f), encode(&c, f, &mut spare))));
                    }
                }
                Err(e) => done.push((i, (path(formats[0]), Err(e)))),
            }
        }
        done
    };
    // a page that panics becomes that page's error, as a thread of its own would
    let guarded = || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(worker)).unwrap_or_else(|_| {
            vec![(
                usize::MAX,
                (out_dir.to_path_buf(), Err("a plot thread panicked".into())),
            )]
        })
    };
    let (mut results, other) = rayon::join(guarded, guarded);
    results.extend(other);
    // stable: a page's formats keep their order
    results.sort_by_key(|r| r.0);
    let results = results.into_iter().map(|r| r.1);
    if stopped() {
        return Err(Error::Interrupted(format!(
            "no plots written to {}",
            out_dir.display()
        )));
    }
    Ok(PaintedPages {
        images: results.collect(),
        summary_path: out_dir.join("summary.md"),
        summary: summary_markdown(analysis),
    })
}

/// A log-frequency overlay of `curves` (e.g. several devices for `compare`): one colour per
/// curve (or `Series::color`), a legend, the y range from the data (as for dB responses).
/// Written at `path` with each format's extension; returns the paths written.
pub fn render_overlay(
    path: &Path,
    title: &str,
    y_label: &str,
    curves: &[Series],
    x_range_hz: (f64, f64),
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>> {
    check_size(opts)?;
    let c = text::ensure_fonts()
        .and_then(|_| pages::overlay_image(title, y_label, curves, x_range_hz, opts))
        .map_err(|m| plot_error(path, m))?;
    write_formats(path, &c, opts)
}

/// A figure against a linear x (a metric over units, with its limits as flat lines).
pub fn render_trend(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Series],
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>> {
    check_size(opts)?;
    let c = text::ensure_fonts()
        .and_then(|_| pages::trend_image(title, x_label, y_label, curves, opts))
        .map_err(|m| plot_error(path, m))?;
    write_formats(path, &c, opts)
}

/// A grouped bar chart: one group of bars per category, one bar (and colour) per group entry
/// (e.g. per device); `None` is shown as "n/a".
pub fn render_bars(
    path: &Path,
    title: &str,
    categories: &[String],
    groups: &[(String, Vec<Option<f64>>)],
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>> {
    check_size(opts)?;
    let c = text::ensure_fonts()
        .and_then(|_| pages::bars_image(title, categories, groups, opts))
        .map_err(|m| plot_error(path, m))?;
    write_formats(path, &c, opts)
}

/// Writes page `c` at `path` with each format's extension; returns the paths written.
fn write_formats(path: &Path, c: &canvas::Canvas, opts: &RenderOptions) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for f in opts.formats() {
        let p = path.with_extension(f.extension());
        let bytes = encode(c, f, &mut Vec::new()).map_err(|m| plot_error(&p, m))?;
        crate::storage::write_atomic(&p, &bytes)?;
        written.push(p);
    }
    Ok(written)
}

fn plot_error(path: &Path, msg: String) -> Error {
    Error::io(
        path,
        std::io::Error::other(format!("drawing the plot failed: {msg}")),
    )
}

fn check_size(opts: &RenderOptions) -> Result<()> {
    let (w, h) = (opts.width, opts.height);
    if !(200..=10_000).contains(&w) || !(150..=10_000).contains(&h) {
        return Err(Error::bad_usage(
            "--size",
            format!(
                "{w}x{h} is not a usable image size: use between 200x150 and 10000x10000 pixels"
            ),
        ));
    }
    Ok(())
}
