//! sweeplab: exponential-sine-sweep measurement of headsets, headphones and microphones.
//!
//! Layers, top to bottom (a module imports only from layers below it):
//! - `cli`: flags, dispatch, printing, the progress display;
//! - `session`: where the rooms below meet (create, analyse, record, measure, simulate, compare);
//! - `compare` (devices side by side, claims), `limits` (production limits and checks), `report` (the only code that draws), `sim` (the
//!   simulated rig), `device` (the only code that talks to audio hardware, behind the `live`
//!   feature for cpal);
//! - `db` (the results database: the only code that talks to one), `metrics` (every derived figure), `storage` (the only code that touches WAV and session
//!   files), `dsp` (pure signal processing);
//! - `results`, `kind`, `units`, `text`, `bounds`, `error`: plain data, formatting, limits.

pub mod bounds;
pub mod cli;
pub mod compare;
pub mod db;
pub mod device;
pub mod dsp;
pub mod error;
pub mod kind;
pub mod limits;
pub mod metrics;
pub mod report;
pub mod results;
pub mod session;
pub mod sim;
pub mod storage;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod text;
pub mod units;

pub use error::{Error, Result};
