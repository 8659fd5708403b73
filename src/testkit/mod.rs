//! Test-only code: synthetic analyses with analytically known curves (`example`) and the
//! fuzz targets' bodies with their seeds (`fuzzing`). Compiled only for sweeplab's own tests,
//! benches, examples and fuzzers (the `testkit` feature, which they enable), never into the
//! program a user runs.

pub mod example;
pub mod fuzzing;
