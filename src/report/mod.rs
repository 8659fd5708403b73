//! Plots and summaries: the only code that imports plotters. It only reads finished results
//! (and `metrics` for the figures it prints). Must not import: `dsp` (beyond smoothing for
//! display), `device`, `sim`, `compare`, `session`, `cli`.
//!
//! Every plot is drawn into an in-memory RGB buffer, encoded to PNG here and written with
//! [`crate::storage::write_atomic`], so no half-written image is ever left behind. Text uses
//! the embedded DejaVu Sans font (registered once with plotters), never system fonts.
//!
//! The data each plot receives is exposed as [`Series`] (`response_series`,
//! `distortion_series`, `noise_series`, `impulse_series`) so it can be checked against the
//! [`Analysis`] without looking at pixels.

mod axes;
mod canvas;
mod frame;
mod layout;
mod pages;
mod panels;
mod series;
mod summary;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::results::Analysis;

pub use axes::db_axis_range;
pub use series::*;
pub use summary::summary_markdown;

/// Size of the images and the smoothing of the bold curves.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    /// n of 1/n-octave smoothing for the bold curves; `None` draws the raw curves bold.
    pub smoothing: Option<f64>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            width: 1600,
            height: 1000,
            smoothing: Some(6.0),
        }
    }
}

/// Writes `response.png`, `distortion.png`, `noise.png`, `impulse.png`, `overview.png` and
/// `summary.md` into `out_dir` (which exists). Returns the paths written.
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
    check_size(opts)?;
    let mut written = Vec::new();
    type Painter = fn(&Analysis, &RenderOptions) -> std::result::Result<canvas::Canvas, String>;
    let jobs: [(&str, Painter); 5] = [
        ("response.png", pages::response_image),
        ("distortion.png", pages::distortion_image),
        ("noise.png", pages::noise_image),
        ("impulse.png", pages::impulse_image),
        ("overview.png", pages::overview_image),
    ];
    // two worker threads: the images are independent
    let results: Vec<(PathBuf, std::result::Result<Vec<u8>, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = [&jobs[..3], &jobs[3..]]
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(name, paint)| {
                            if stopped() {
                                return (out_dir.join(name), Err(String::new()));
                            }
                            let bytes = canvas::ensure_fonts()
                                .and_then(|_| paint(analysis, opts))
                                .and_then(|c| c.to_png());
                            (out_dir.join(name), bytes)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(_) => vec![(out_dir.to_path_buf(), Err("a plot thread panicked".into()))],
            })
            .collect()
    });
    if stopped() {
        return Err(Error::Interrupted(format!(
            "no plots written to {}",
            out_dir.display()
        )));
    }
    for (path, bytes) in results {
        let bytes = bytes.map_err(|msg| plot_error(&path, msg))?;
        crate::storage::write_atomic(&path, &bytes)?;
        written.push(path);
    }
    let md = out_dir.join("summary.md");
    crate::storage::write_atomic(&md, summary_markdown(analysis).as_bytes())?;
    written.push(md);
    Ok(written)
}

/// A log-frequency overlay of `curves` (e.g. several devices for `compare`): one colour per
/// curve (or `Series::color`), a legend, the y range from the data (as for dB responses).
pub fn render_overlay(
    path: &Path,
    title: &str,
    y_label: &str,
    curves: &[Series],
    x_range_hz: (f64, f64),
    opts: &RenderOptions,
) -> Result<()> {
    check_size(opts)?;
    let c = canvas::ensure_fonts()
        .and_then(|_| pages::overlay_image(title, y_label, curves, x_range_hz, opts))
        .and_then(|c| c.to_png())
        .map_err(|m| plot_error(path, m))?;
    crate::storage::write_atomic(path, &c)
}

/// A figure against a linear x (a metric over units, with its limits as flat lines).
pub fn render_trend(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Series],
    opts: &RenderOptions,
) -> Result<()> {
    check_size(opts)?;
    let c = canvas::ensure_fonts()
        .and_then(|_| pages::trend_image(title, x_label, y_label, curves, opts))
        .and_then(|c| c.to_png())
        .map_err(|m| plot_error(path, m))?;
    crate::storage::write_atomic(path, &c)
}

/// A grouped bar chart: one group of bars per category, one bar (and colour) per group entry
/// (e.g. per device); `None` is shown as "n/a".
pub fn render_bars(
    path: &Path,
    title: &str,
    categories: &[String],
    groups: &[(String, Vec<Option<f64>>)],
    opts: &RenderOptions,
) -> Result<()> {
    check_size(opts)?;
    let c = canvas::ensure_fonts()
        .and_then(|_| pages::bars_image(title, categories, groups, opts))
        .and_then(|c| c.to_png())
        .map_err(|m| plot_error(path, m))?;
    crate::storage::write_atomic(path, &c)
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
