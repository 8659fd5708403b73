//! Plots and summaries: the only code that imports plotters. It only reads finished results.

#[allow(dead_code)]
mod axes;
#[allow(dead_code)]
mod canvas;
