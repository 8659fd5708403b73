//! Pure, deterministic signal processing: no I/O.

pub mod analyze;
pub mod deconv;
pub mod drift;
pub mod faults;
pub mod fft;
pub mod filters;
pub mod ir;
pub mod noise;
pub mod smoothing;
pub mod sweep;
pub mod weighting;
