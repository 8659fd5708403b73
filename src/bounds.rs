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

/// The most channels a capture may have: far more than any measurement uses (an audio
/// interface with 32 inputs), and few enough that everything written about them (analysis.json,
/// about 1.7 MB per channel at 192 kHz) stays readable back under the 64 MiB text limit.
pub const MAX_CHANNELS: u16 = 32;

/// The longest label (a device's name), in characters: labels go into every output and
/// plot, so they are bounded where they are read.
pub const MAX_LABEL_CHARS: usize = 200;

/// `Err` with what to do for a label that is too long or holds control characters.
pub fn check_label(label: &str) -> Result<(), String> {
    let n = label.chars().count();
    if n > MAX_LABEL_CHARS {
        return Err(format!(
            "the label is {n} characters long; at most {MAX_LABEL_CHARS} are allowed"
        ));
    }
    if label.chars().any(char::is_control) {
        return Err(
            "the label holds control characters (line breaks, tabs…); use plain text".into(),
        );
    }
    Ok(())
}
