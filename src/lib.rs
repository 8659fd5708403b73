//! sweeplab: exponential-sine-sweep measurement of headsets, headphones and microphones.
//!
//! Module boundaries: `dsp` is pure computation; `storage` is the only code that touches WAV
//! files and session folders; `report` is the only code that draws; `device` is the only code
//! that talks to audio hardware; `session` is where they meet; `app` dispatches the CLI.

pub mod app;
pub mod cli;
pub mod compare;
pub mod device;
pub mod dsp;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod kind;
pub mod metrics;
pub mod progress;
pub mod report;
pub mod results;
pub mod session;
pub mod sim;
pub mod storage;
pub mod units;

pub use error::{Error, Result};
