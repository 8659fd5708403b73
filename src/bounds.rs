//! What sweeplab accepts: the limits every input, flag and file is checked against, each in
//! one place, so that a limit is the same wherever it is checked and is checked before the
//! work it protects. Imports nothing of sweeplab.

use std::ops::RangeInclusive;

/// Sample rates sweeplab analyses, records and simulates, Hz.
pub const SAMPLE_RATES_HZ: RangeInclusive<u32> = 8000..=192_000;

/// `Err("… is outside 8000–192000 Hz")` for a rate sweeplab does not handle.
pub fn check_rate(rate_hz: u32) -> Result<(), String> {
    if SAMPLE_RATES_HZ.contains(&rate_hz) {
        Ok(())
    } else {
        Err(format!(
            "{rate_hz} Hz is outside the supported {}–{} Hz",
            SAMPLE_RATES_HZ.start(),
            SAMPLE_RATES_HZ.end()
        ))
    }
}
