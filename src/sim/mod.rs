//! The simulated rig: device models (what a device does to the sweep), their exact truth,
//! and a simulated duplex that plays a stimulus through a model behind the same
//! [`crate::device::Duplex`] trait as real hardware, so the session layer cannot tell them
//! apart. Used by `simulate`, `demo`, the fixtures and the tests.
//!
//! Must not import: `session`, `report`, `compare`, `cli` (it sits below them), nor cpal.

pub mod builtin;
pub mod duplex;
pub mod model;
pub mod noise;
pub mod parse;
pub mod truth;

pub use builtin::{BUILTIN_NAMES, builtin, builtin_models, resolve};
pub use duplex::SimDuplex;
pub use model::{DeviceModel, DropoutMode, Fault};
pub use truth::Truth;
