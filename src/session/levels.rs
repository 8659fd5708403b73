//! Distortion against level: the sweep played at rising levels after the session's own
//! sweep, each step a whole session in `DIR/levels/N` (analysed as it is recorded), listed in
//! the series' `session.json`. The series stops early when the input clips or THD at 1 kHz
//! passes a limit, to protect the driver and the listener's ears.

use std::sync::atomic::AtomicBool;

use super::{AnalyzeOptions, RecordRequest, analyze_session};
use crate::error::{Error, Result};
use crate::metrics::thd_at;
use crate::storage::session_file::{
    LevelStep, SessionFile, level_step_dir, read_session, write_session,
};

/// THD at 1 kHz, percent, past which a series stops (unless told otherwise).
pub const DEFAULT_THD_STOP_PERCENT: f64 = 10.0;
/// The loudest SPL a live series may reach at the microphone by default, dB SPL (a
/// headphone's maximum in a coupler; well above listening levels, below damage to most
/// drivers in a short sweep).
pub const DEFAULT_MAX_SPL_DB: f64 = 110.0;
/// The most steps in one series.
pub const MAX_LEVEL_STEPS: usize = 20;
/// A capture peak at or above this (dBFS) is taken as the input clipping.
const CLIP_DBFS: f64 = -0.01;

/// A series to record: the levels (dBFS, rising) and when to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelSeries {
    pub levels_dbfs: Vec<f64>,
    pub thd_stop_percent: f64,
}

/// `--levels` as given: 2–20 distinct levels from −120 to 0 dBFS, played rising; and
/// `--thd-stop` above 0.
pub fn check_levels(levels: &[f64], thd_stop_percent: f64) -> Result<LevelSeries> {
    let bad = |m: String| Error::bad_usage("--levels", m);
    if !(2..=MAX_LEVEL_STEPS).contains(&levels.len()) {
        return Err(bad(format!(
            "{} level(s) given; a series needs 2–{MAX_LEVEL_STEPS}",
            levels.len()
        )));
    }
    if let Some(l) = levels
        .iter()
        .find(|l| !(l.is_finite() && (-120.0..=0.0).contains(*l)))
    {
        return Err(bad(format!("{l} dBFS is outside −120…0 dBFS")));
    }
    let mut sorted = levels.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.windows(2).any(|w| w[1] - w[0] < 0.1) {
        return Err(bad("two levels are the same (closer than 0.1 dB)".into()));
    }
    if !(thd_stop_percent.is_finite() && thd_stop_percent > 0.0 && thd_stop_percent <= 100.0) {
        return Err(Error::bad_usage(
            "--thd-stop",
            format!("{thd_stop_percent} % is outside 0–100 %"),
        ));
    }
    Ok(LevelSeries {
        levels_dbfs: sorted,
        thd_stop_percent,
    })
}

/// Records `series` into the session `base.out` (which `record_session` made): each step
/// through `record_step` (the same device, or the simulated rig anew), analysed at once, and
/// added to `session.json`; stops after a step whose input clipped or whose THD at 1 kHz
/// passed the limit, saying why there and through `say`.
pub fn record_level_series(
    base: &RecordRequest,
    series: &LevelSeries,
    stop: &'static AtomicBool,
    record_step: &mut dyn FnMut(&RecordRequest) -> Result<SessionFile>,
    say: &mut dyn FnMut(&str),
) -> Result<()> {
    let n = series.levels_dbfs.len();
    for (i, &level) in series.levels_dbfs.iter().enumerate() {
        let rel = level_step_dir(i + 1);
        let dir = base.out.join(&rel);
        let mut req = base.clone();
        req.out = dir.clone();
        req.spec.level_dbfs = level;
        req.reseats = None;
        say(&format!("level step {} of {n}: {level} dBFS", i + 1));
        record_step(&req)?;
        let opts = AnalyzeOptions {
            plots: false,
            stop: Some(stop),
            ..AnalyzeOptions::default()
        };
        let a = analyze_session(&dir, &dir.join("report"), &opts)?;
        let clipped = a
            .channels
            .iter()
            .any(|c| c.peak_dbfs.is_some_and(|p| p >= CLIP_DBFS));
        let thd_1k = a
            .channels
            .iter()
            .filter_map(|c| thd_at(&c.thd.freq_hz, &c.thd.percent, 1000.0))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        let why = if clipped {
            Some(format!("the input clipped at the {level} dBFS step"))
        } else {
            thd_1k.filter(|t| *t > series.thd_stop_percent).map(|t| {
                format!(
                    "THD at 1 kHz reached {t:.1} % at the {level} dBFS step (the limit: {} %)",
                    series.thd_stop_percent
                )
            })
        };
        let mut s = read_session(&base.out)?;
        if i == 0 {
            s.levels.clear();
        }
        s.levels.push(LevelStep {
            level_dbfs: level,
            dir: rel,
        });
        let stop_here = why.is_some() && i + 1 < n;
        s.levels_stopped = why.clone().filter(|_| stop_here).map(|w| {
            format!(
                "{w}: the series stopped there, {} louder step(s) not played",
                n - i - 1
            )
        });
        write_session(&base.out, &s)?;
        if stop_here {
            say(&format!(
                "stopping the level series: {}",
                s.levels_stopped.as_deref().unwrap_or_default()
            ));
            break;
        }
    }
    Ok(())
}
