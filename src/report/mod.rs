//! Plots and summaries: the only code that imports plotters. It only reads finished results.
