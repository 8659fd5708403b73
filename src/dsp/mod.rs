//! Pure, deterministic signal processing: samples in, numbers out; no I/O, no clocks, no
//! threads of its own (independent parts of one computation may run side by side on the
//! caller's rayon pool, `join`/`par_iter`, never with a result that depends on it). Must not import: `storage`, `device`, `sim`, `report`, `compare`,
//! `session`, `cli` (only `results` for the data it fills, `bounds` for its limits).

pub mod align;
pub mod analyze;
pub mod csd;
pub mod deconv;
pub mod distortion;
pub mod drift;
pub mod faults;
pub mod fft;
pub mod filters;
pub mod gate;
pub mod ir;
pub mod noise;
pub mod placements;
pub mod resample;
pub mod smoothing;
pub mod spectrogram;
pub mod sweep;
pub mod tone;
pub mod weighting;
pub mod window;
