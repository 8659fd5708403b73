//! Memory a run will need, estimated from the headers and flags before any sample is made or
//! read, and checked against what the machine (and `ulimit -v`) allows: a run too big for
//! the machine is refused with the figures (exit 2) instead of aborting half-way with
//! "memory allocation failed".
//!
//! The estimates are peak resident sizes measured on sweeplab itself (`/usr/bin/time -v`,
//! 48 kHz, 1–8 channels, 12–42 s of audio) with about 30 % headroom; they are linear in
//! the frames because every buffer is.

use crate::error::{Error, Result};

const MB: f64 = 1e6;

/// Peak memory of analysing `frames` of stimulus against a capture of `capture_frames`
/// frames × `channels`: the FFT buffers (about 90 B per frame of the longer signal), the
/// capture (about 16 B per sample: decoded, the file's bytes, what each channel's result
/// keeps) and the channel being analysed (about 45 B per frame: its
/// two halves run side by side, each with its full-length buffers; channels are analysed
/// one after another).
pub fn analysis_bytes(frames: u64, capture_frames: u64, channels: u16) -> u64 {
    let n = frames.max(capture_frames);
    10_000_000 + n * 90 + capture_frames * 16 * u64::from(channels) + n * 45
}

/// Peak memory of generating and writing a stimulus of `frames` (f64 while generated, f32
/// while written).
pub fn sweep_bytes(frames: u64) -> u64 {
    5_000_000 + frames * 16
}

/// Peak memory of recording `repeats` sweeps of `frames` into `channels`: the played signal
/// (f32, every repeat), the stimulus, and the capture streamed to disk in small blocks.
pub fn record_bytes(frames: u64, repeats: u32, channels: u16) -> u64 {
    sweep_bytes(frames) + frames * u64::from(repeats) * 4 + 8_000_000 * u64::from(channels)
}

/// How much memory this process may still use, and what limits it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub bytes: u64,
    pub limit: &'static str,
}

/// The smaller of the machine's available memory and what the address-space limit
/// (`ulimit -v`, `prlimit --as`) leaves this process; `None` where neither can be read
/// (then nothing is refused).
pub fn budget() -> Option<Budget> {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| kib_field(&t, "MemAvailable:"))
        .map(|b| Budget {
            bytes: b,
            limit: "the memory available on this machine",
        });
    let address_space = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max address space"))?;
            line.split_whitespace().nth(3)?.parse::<u64>().ok()
        })
        .map(|limit| {
            let used = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|t| kib_field(&t, "VmSize:"))
                .unwrap_or(0);
            Budget {
                bytes: limit.saturating_sub(used),
                limit: "the address-space limit of this process (ulimit -v)",
            }
        });
    match (available, address_space) {
        (Some(a), Some(b)) => Some(if b.bytes < a.bytes { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// `"MemAvailable:   123 kB"` → bytes.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a run that needs `need` bytes when the budget is smaller. `refuse` makes the
/// error from the sentence (it names the flag or file at fault and adds what to do).
pub fn check(need: u64, refuse: impl FnOnce(String) -> Error) -> Result<()> {
    check_against(need, budget(), refuse)
}

fn check_against(
    need: u64,
    budget: Option<Budget>,
    refuse: impl FnOnce(String) -> Error,
) -> Result<()> {
    match budget {
        Some(b) if need > b.bytes => Err(refuse(format!(
            "needs about {:.0} MB of memory, more than the {:.0} MB {} allows",
            need as f64 / MB,
            b.bytes as f64 / MB,
            b.limit
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_beyond_the_budget_is_refused_with_the_figures() {
        let b = Some(Budget {
            bytes: 500_000_000,
            limit: "test",
        });
        let e = check_against(11_500_000_000, b, |m| Error::bad_usage("--repeats", m))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--repeats: needs about 11500 MB of memory, more than the 500 MB test allows"
        );
        check_against(400_000_000, b, |m| Error::bad_usage("x", m)).unwrap();
        check_against(u64::MAX, None, |m| Error::bad_usage("x", m)).unwrap();
    }

    #[test]
    fn the_budget_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let b = budget().expect("/proc/meminfo");
            assert!(b.bytes > 0);
        }
    }

    #[test]
    fn the_estimates_cover_what_was_measured() {
        // measured peak RSS (MB, /usr/bin/time, two threads, the largest of three runs):
        // analysis of 576,000 frames, 1 channel 77.6, 8 channels 130.4; 2,016,000 frames,
        // 1 channel 222.8; a 2,016,000-frame sweep 28
        assert!(analysis_bytes(480_000, 576_000, 1) as f64 / MB >= 77.6);
        assert!(analysis_bytes(480_000, 576_000, 8) as f64 / MB >= 130.4);
        assert!(analysis_bytes(1_920_000, 2_016_000, 1) as f64 / MB >= 222.8);
        assert!(sweep_bytes(2_016_000) as f64 / MB >= 27.5);
        // and do not refuse real work by more than a factor of two
        assert!(analysis_bytes(1_920_000, 2_016_000, 1) as f64 / MB <= 2.0 * 222.8);
        assert!(analysis_bytes(480_000, 576_000, 8) as f64 / MB <= 2.0 * 130.4);
    }
}
