//! Distortion against level: the analyses of a series of sweeps at rising levels, read at
//! fixed frequencies, and the level at which THD reaches 1 % and 3 % (how APx reports and
//! microphone datasheets state maximum SPL).
//!
//! The threshold is found between the last step below it and the first at or above it, on
//! a straight line in (level, log THD): harmonic distortion grows as a power of the level,
//! which is a straight line there. Where THD never reaches it, or already exceeds it at the
//! first step, there is no level, and a note says which.

use super::thd_at;
use crate::results::{Analysis, DistortionVsLevel, LevelChannel, LevelThreshold};

/// Frequencies THD is read at, Hz.
pub const LEVEL_SERIES_FREQ_HZ: [f64; 2] = [100.0, 1000.0];

/// The series from its steps' analyses (`(sweep level dBFS, analysis)`, in rising level).
pub fn distortion_vs_level(
    steps: &[(f64, &Analysis)],
    stopped: Option<String>,
) -> DistortionVsLevel {
    let levels: Vec<f64> = steps.iter().map(|s| s.0).collect();
    let n_ch = steps.iter().map(|s| s.1.channels.len()).max().unwrap_or(0);
    let channels = (0..n_ch)
        .map(|c| {
            fn ch<'a>(
                s: &(f64, &'a Analysis),
                c: usize,
            ) -> Option<&'a crate::results::ChannelAnalysis> {
                s.1.channels.get(c).filter(|ch| ch.has_signal())
            }
            let level_1k: Vec<Option<f64>> = steps
                .iter()
                .map(|s| ch(s, c).and_then(|ch| ch.level_1k_dbfs))
                .collect();
            let thd: Vec<Vec<Option<f64>>> = LEVEL_SERIES_FREQ_HZ
                .iter()
                .map(|&f| {
                    steps
                        .iter()
                        .map(|s| {
                            ch(s, c).and_then(|ch| thd_at(&ch.thd.freq_hz, &ch.thd.percent, f))
                        })
                        .collect()
                })
                .collect();
            let at = |limit: f64| -> Vec<LevelThreshold> {
                thd.iter()
                    .map(|t| threshold(&levels, &level_1k, t, limit))
                    .collect()
            };
            LevelChannel {
                index: c,
                at_1_percent: at(1.0),
                at_3_percent: at(3.0),
                level_1k_dbfs: level_1k,
                thd_percent: thd,
            }
        })
        .collect();
    DistortionVsLevel {
        levels_dbfs: levels,
        freq_hz: LEVEL_SERIES_FREQ_HZ.to_vec(),
        stopped,
        channels,
    }
}

/// Where `thd` (per step, rising `levels`) first reaches `limit` percent.
fn threshold(
    levels: &[f64],
    level_1k: &[Option<f64>],
    thd: &[Option<f64>],
    limit: f64,
) -> LevelThreshold {
    let none = |note: String| LevelThreshold {
        level_dbfs: None,
        output_1k_dbfs: None,
        note: Some(note),
    };
    let measured: Vec<usize> = (0..levels.len()).filter(|&i| thd[i].is_some()).collect();
    let Some(&first) = measured.first() else {
        return none("THD was not measured at any step (no harmonic rose above the noise)".into());
    };
    let Some(pos) = measured.iter().position(|&i| thd[i].unwrap() >= limit) else {
        let last = measured[measured.len() - 1];
        return none(format!(
            "THD stayed below {limit} % up to the last step measured ({} dBFS)",
            levels[last]
        ));
    };
    if pos == 0 {
        return none(format!(
            "THD was already {:.2} % at the first step measured ({} dBFS): the level is lower",
            thd[first].unwrap(),
            levels[first]
        ));
    }
    let (i, j) = (measured[pos - 1], measured[pos]);
    let (t0, t1) = (thd[i].unwrap().log10(), thd[j].unwrap().log10());
    let w = if t1 > t0 {
        (limit.log10() - t0) / (t1 - t0)
    } else {
        1.0
    };
    let level = levels[i] + w * (levels[j] - levels[i]);
    let output = match (level_1k[i], level_1k[j]) {
        (Some(a), Some(b)) => Some(a + w * (b - a)),
        _ => None,
    };
    LevelThreshold {
        level_dbfs: Some(level),
        output_1k_dbfs: output,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// THD doubling every 6 dB (0.5 % at −18, 1 % at −12, 2 % at −6): 1 % is reached at
    /// −12 exactly, 3 % at −6 + 6·log2(1.5) = −2.49 … beyond the last step: not reached.
    /// Between steps the line in (level, log THD): 0.7 % → 1.4 % from −18 to −12 puts 1 % at
    /// −18 + 6·log(1/0.7)/log 2 = −14.91 dB (by hand). Tolerance 1e-9.
    #[test]
    fn thresholds_between_steps_and_beyond_them() {
        let lv = [-18.0, -12.0, -6.0];
        let out = [Some(-20.0), Some(-14.0), Some(-8.0)];
        let t = threshold(&lv, &out, &[Some(0.5), Some(1.0), Some(2.0)], 1.0);
        assert!((t.level_dbfs.unwrap() + 12.0).abs() < 1e-9);
        assert!((t.output_1k_dbfs.unwrap() + 14.0).abs() < 1e-9);
        let t = threshold(&lv, &out, &[Some(0.5), Some(1.0), Some(2.0)], 3.0);
        assert!(t.level_dbfs.is_none() && t.note.unwrap().contains("stayed below 3 %"));
        let t = threshold(&lv, &out, &[Some(0.7), Some(1.4), Some(2.8)], 1.0);
        let want = -18.0 + 6.0 * (1.0f64 / 0.7).ln() / 2f64.ln();
        assert!((t.level_dbfs.unwrap() - want).abs() < 1e-9, "{t:?}");
        let t = threshold(&lv, &out, &[Some(1.5), Some(3.0), None], 1.0);
        assert!(t.level_dbfs.is_none() && t.note.unwrap().contains("already"));
        let t = threshold(&lv, &out, &[None, None, None], 1.0);
        assert!(t.level_dbfs.is_none());
    }
}
