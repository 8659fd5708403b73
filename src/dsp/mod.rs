//! Pure, deterministic signal processing: no I/O.

pub mod smoothing;
