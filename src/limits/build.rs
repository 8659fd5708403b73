//! Limits from golden units, as Audio Precision and SoundCheck build them: each figure's
//! average over the goldens, widened by their spread and a margin.
//!
//! - Response mask (per channel): on a 1/12-octave grid over the band every golden measured,
//!   the goldens' responses smoothed to 1/n octave (relative: each normalised to 0 dB over
//!   250 Hz–4 kHz); upper/lower = mean ± (largest deviation of a golden from the mean + margin).
//! - THD per band (fundamentals up to 1 kHz, and from 1 kHz to where 2f leaves the band): twice
//!   (6 dB above) the worst golden, plus the margin; where no golden showed any harmonic, the
//!   same above the highest noise floor under which THD was invisible.
//! - Noise: the worst golden + 3 dB + margin; SNR: the worst golden − 3 dB − margin.
//! - Sensitivity (level at 1 kHz): mean ± (spread + margin); latency: [min − 1 ms, max + 1 ms];
//!   polarity: the goldens' own (they must agree).
//! - Balance (two channels or more): the worst golden's level difference and matching + margin.

use super::*;
use crate::dsp::smoothing::smooth_db;
use crate::metrics::{band_hole_reason, band_mean_db_in};
use crate::results::{Analysis, ChannelAnalysis};

/// How to build limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildOptions {
    pub margin_db: f64,
    /// n of the 1/n-octave smoothing of the response masks.
    pub smoothing: f64,
    pub mode: MaskMode,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            margin_db: 1.5,
            smoothing: 6.0,
            mode: MaskMode::Relative,
        }
    }
}

/// Grid points per octave of a response mask.
const MASK_POINTS_PER_OCTAVE: f64 = 12.0;
/// Extra room above the worst golden for noise and SNR, dB, and for THD (a factor of 2).
const LEVEL_ROOM_DB: f64 = 3.0;
const THD_ROOM_DB: f64 = 6.0;
/// Above this level difference (dB at 1 kHz) channels 0 and 1 are not two sides of one unit.
const MAX_PAIR_DIFFERENCE_DB: f64 = 12.0;
/// A noise floor above this (percent) leaves THD unmeasurable: no THD limit is built on it.
const MAX_FLOOR_PERCENT: f64 = 10.0;
/// The lowest THD limit built, percent (−100 dB).
const MIN_THD_PERCENT: f64 = 0.001;
/// Latency window beyond the goldens', ms.
const LATENCY_ROOM_MS: f64 = 1.0;

/// Builds limits from golden units (`(name, analysis)`); an error says which golden is at
/// fault (no signal, a fault, a different channel count, polarities that disagree).
pub fn build_limits(goldens: &[(String, &Analysis)], o: &BuildOptions) -> Result<Limits, String> {
    if goldens.is_empty() {
        return Err("no golden units given".into());
    }
    if !(o.margin_db.is_finite() && (0.0..=60.0).contains(&o.margin_db)) {
        return Err(format!("--margin {} dB is outside 0–60 dB", o.margin_db));
    }
    let n_ch = goldens[0].1.channels.len();
    for (name, a) in goldens {
        if a.channels.len() != n_ch {
            return Err(format!(
                "golden {name} has {} channels, {} has {n_ch}: goldens must be the same kind of unit",
                a.channels.len(),
                goldens[0].0
            ));
        }
        for ch in &a.channels {
            if !ch.has_signal() {
                return Err(format!(
                    "golden {name} channel {} holds no signal: it is not a good unit",
                    ch.index
                ));
            }
            if let Some(w) = ch.warnings.first() {
                return Err(format!(
                    "golden {name} channel {} has a fault ({w}): measure it again",
                    ch.index
                ));
            }
        }
    }
    let mut channel = Vec::new();
    let mut notes = Vec::new();
    for c in 0..n_ch {
        let chs: Vec<(&str, &ChannelAnalysis)> = goldens
            .iter()
            .map(|(n, a)| (n.as_str(), &a.channels[c]))
            .collect();
        channel.push(channel_limits(c, &chs, o, &mut notes)?);
    }
    let balance = if n_ch >= 2 {
        let mut level = 0.0f64;
        let mut matching = 0.0f64;
        for (name, a) in goldens {
            let b = balance_figures(&a.channels[0], &a.channels[1], matching_band())
                .ok_or_else(|| {
                    format!("golden {name}: the balance of channels 0 and 1 cannot be measured (1 kHz or 250 Hz–4 kHz missing)")
                })?;
            level = level.max(b.level_difference_db.abs());
            matching = matching.max(b.matching_db);
        }
        // two sides of one unit differ by a few dB; far more means channel 1 is not the other
        // side (the undriven ear of a one-sided capture, a second mic): no balance limit
        if level > MAX_PAIR_DIFFERENCE_DB {
            notes.push(format!(
                "no balance limits: channels 0 and 1 of the goldens differ by up to {level:.1} dB at 1 kHz, more than the {MAX_PAIR_DIFFERENCE_DB} dB of two sides of one unit"
            ));
            None
        } else {
            Some(BalanceLimits {
                max_level_difference_db: round2(level + o.margin_db),
                max_matching_db: round2(matching + o.margin_db),
                matching_band_hz: matching_band(),
            })
        }
    } else {
        None
    };
    Ok(Limits {
        format: LIMITS_FORMAT.into(),
        version: LIMITS_VERSION,
        created: Some(crate::units::now_rfc3339()),
        golden: goldens.iter().map(|(n, _)| n.clone()).collect(),
        margin_db: o.margin_db,
        faults_fail: true,
        channel,
        balance,
        notes,
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn channel_limits(
    index: usize,
    chs: &[(&str, &ChannelAnalysis)],
    o: &BuildOptions,
    notes: &mut Vec<String>,
) -> Result<ChannelLimits, String> {
    let m = o.margin_db;
    // the band every golden measured
    let lo = chs
        .iter()
        .map(|(_, c)| c.frequency_response.freq_hz[0])
        .fold(0.0, f64::max);
    let hi = chs
        .iter()
        .map(|(_, c)| *c.frequency_response.freq_hz.last().unwrap_or(&0.0))
        .fold(f64::INFINITY, f64::min);
    let response = if hi > lo * 2.0 {
        let n = ((hi / lo).log2() * MASK_POINTS_PER_OCTAVE).floor() as usize;
        let grid: Vec<f64> = (0..=n)
            .map(|i| lo * 2f64.powf(i as f64 / MASK_POINTS_PER_OCTAVE))
            .collect();
        let curves: Vec<Vec<Option<f64>>> = chs
            .iter()
            .map(|(_, c)| mask_curve(c, o.mode, default_band(), o.smoothing, &grid))
            .collect();
        let (mut f, mut up, mut low) = (Vec::new(), Vec::new(), Vec::new());
        for (k, &g) in grid.iter().enumerate() {
            let vals: Option<Vec<f64>> = curves.iter().map(|c| c[k]).collect();
            let Some(vals) = vals else { continue };
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let spread = vals.iter().map(|v| (v - mean).abs()).fold(0.0, f64::max);
            f.push((g * 100.0).round() / 100.0);
            up.push(round2(mean + spread + m));
            low.push(round2(mean - spread - m));
        }
        if f.len() < 2 {
            // a relative mask needs each golden's level over the normalising band
            let [a, b] = default_band();
            let why = chs.iter().find_map(|(name, c)| {
                let (fr, g) = c.response();
                (o.mode == MaskMode::Relative)
                    .then(|| band_hole_reason(fr, g, a, b, c.figures_band()))
                    .flatten()
                    .map(|why| format!(" (golden {name}: {why})"))
            });
            return Err(format!(
                "channel {index}: the goldens' responses share no band to build a mask on{}",
                why.unwrap_or_default()
            ));
        }
        Some(ResponseMask {
            mode: o.mode,
            normalize_band_hz: default_band(),
            smoothing: o.smoothing,
            freq_hz: f,
            upper_db: up,
            lower_db: low,
        })
    } else {
        None
    };

    // THD bands: up to 1 kHz, and from 1 kHz to where the second harmonic leaves the band
    let thd_lo = lo * 2f64.powf(0.25);
    let thd_hi = hi / 2.0;
    let mut thd = Vec::new();
    for band in [[thd_lo, 1000.0], [1000.0, thd_hi]] {
        // the band as the file will say it, so that a check reads the same points
        let band = band.map(f64::round);
        if band[1] <= band[0] * 1.5 {
            continue;
        }
        let worst = chs
            .iter()
            .filter_map(|(_, c)| thd_in_band(c, band).map(|(v, _)| v))
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
        let floor = chs
            .iter()
            .filter_map(|(_, c)| floor_in_band(c, band))
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
        // where no golden showed a harmonic and their noise hides THD below MAX_FLOOR_PERCENT,
        // THD is not measurable in the band: no limit (a limit of hundreds of % tests nothing)
        if worst.is_none()
            && let Some(fl) = floor
            && fl > MAX_FLOOR_PERCENT
        {
            notes.push(format!(
                "channel {index}: no THD limit over {}–{}: the goldens' noise hides THD below {fl:.1} % there",
                crate::units::hz3(band[0]),
                crate::units::hz3(band[1])
            ));
            continue;
        }
        if let Some(base) = worst.or(floor) {
            // a digital loopback has neither harmonics nor noise (a floor of 0): the limit is
            // then MIN_THD_PERCENT, and limits are rounded up, never to 0
            let limit = (base * 10f64.powf((THD_ROOM_DB + m) / 20.0)).max(MIN_THD_PERCENT);
            thd.push(ThdLimit {
                band_hz: band,
                max_percent: (limit * 1e4).ceil() / 1e4,
            });
        }
    }

    let all = |f: &dyn Fn(&ChannelAnalysis) -> Option<f64>| -> Option<Vec<f64>> {
        chs.iter().map(|(_, c)| f(c)).collect()
    };
    let noise_max_dbfs = all(&|c| c.noise.as_ref().map(|n| n.rms_dbfs))
        .map(|v| round2(v.iter().fold(f64::MIN, |a, &b| a.max(b)) + LEVEL_ROOM_DB + m));
    let snr_min_db = all(&|c| c.snr_db)
        .map(|v| round2(v.iter().fold(f64::MAX, |a, &b| a.min(b)) - LEVEL_ROOM_DB - m));
    let sensitivity_dbfs = all(&|c| c.level_1k_dbfs).map(|v| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let spread = v.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max);
        [round2(mean - spread - m), round2(mean + spread + m)]
    });
    let latency_ms = all(&|c| c.latency_s.map(|s| s * 1e3)).map(|v| {
        let (a, b) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        [(a - LATENCY_ROOM_MS).max(0.0), b + LATENCY_ROOM_MS].map(|x| (x * 1000.0).round() / 1000.0)
    });
    let pols: Vec<(&str, Option<Polarity>)> = chs.iter().map(|(n, c)| (*n, polarity(c))).collect();
    let polarity = match pols.first().and_then(|p| p.1) {
        Some(p0) => {
            if let Some((n, p)) = pols.iter().find(|(_, p)| *p != Some(p0)) {
                return Err(format!(
                    "channel {index}: the goldens' polarities disagree ({} is {}, {n} is {}); check the wiring",
                    pols[0].0,
                    p0.as_str(),
                    p.map_or("unknown", |p| p.as_str())
                ));
            }
            Some(p0)
        }
        None => None,
    };
    Ok(ChannelLimits {
        index,
        response,
        thd,
        noise_max_dbfs,
        snr_min_db,
        sensitivity_dbfs,
        latency_ms,
        polarity,
    })
}

/// The response the masks apply to: smoothed to 1/`smoothing` octave on `grid`, normalised
/// to 0 dB over `band` for relative masks; `None` where the response was not measured (the
/// grid point is outside it, or in a gap of it).
pub fn mask_curve(
    ch: &ChannelAnalysis,
    mode: MaskMode,
    band: [f64; 2],
    smoothing: f64,
    grid: &[f64],
) -> Vec<Option<f64>> {
    let (f, g) = ch.response();
    if f.len() < 2 {
        return vec![None; grid.len()];
    }
    let offset = match mode {
        MaskMode::Absolute => Some(0.0),
        MaskMode::Relative => band_mean_db_in(f, g, band[0], band[1], ch.figures_band()),
    };
    let Some(offset) = offset else {
        return vec![None; grid.len()];
    };
    let smoothed = smooth_db(f, g, grid, smoothing);
    // a point is measured where the response has a point within 1/24 octave of it
    let tol = 2f64.powf(1.0 / 24.0);
    grid.iter()
        .zip(smoothed)
        .map(|(&x, s)| {
            let i = f.partition_point(|&v| v < x);
            let near = [i.checked_sub(1), Some(i)]
                .into_iter()
                .flatten()
                .filter_map(|j| f.get(j))
                .any(|&v| v / x < tol && x / v < tol);
            (near && s.is_finite()).then_some(s - offset)
        })
        .collect()
}

/// The worst measured THD over fundamentals in `band`, and where.
pub fn thd_in_band(ch: &ChannelAnalysis, band: [f64; 2]) -> Option<(f64, f64)> {
    ch.thd
        .freq_hz
        .iter()
        .zip(&ch.thd.percent)
        .filter(|(f, p)| (band[0]..=band[1]).contains(*f) && p.is_finite())
        .map(|(&f, &p)| (p, f))
        .fold(None, |a: Option<(f64, f64)>, v| match a {
            Some(a) if a.0 >= v.0 => Some(a),
            _ => Some(v),
        })
}

/// The highest noise floor (percent) under which THD was invisible in `band`.
pub fn floor_in_band(ch: &ChannelAnalysis, band: [f64; 2]) -> Option<f64> {
    let fl = ch.thd.noise_floor.as_ref()?;
    fl.freq_hz
        .iter()
        .zip(&fl.percent)
        .filter(|(f, p)| (band[0]..=band[1]).contains(*f) && p.is_finite())
        .map(|(_, &p)| p)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
}

pub use crate::metrics::sides::polarity;

/// Left/right figures of two channels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balance {
    /// Level at 1 kHz of channel 1 minus channel 0, dB.
    pub level_difference_db: f64,
    /// Largest |difference| of their 1/3-octave responses normalised over 250 Hz–4 kHz, and
    /// where.
    pub matching_db: f64,
    pub matching_at_hz: f64,
}

pub fn balance_figures(
    a: &ChannelAnalysis,
    b: &ChannelAnalysis,
    band: [f64; 2],
) -> Option<Balance> {
    let level = b.level_1k_dbfs? - a.level_1k_dbfs?;
    let n = ((band[1] / band[0]).log2() * MASK_POINTS_PER_OCTAVE).floor() as usize;
    let grid: Vec<f64> = (0..=n)
        .map(|i| band[0] * 2f64.powf(i as f64 / MASK_POINTS_PER_OCTAVE))
        .collect();
    let ca = mask_curve(a, MaskMode::Relative, default_band(), 3.0, &grid);
    let cb = mask_curve(b, MaskMode::Relative, default_band(), 3.0, &grid);
    let (mut worst, mut at) = (None, 0.0);
    for ((x, y), &f) in ca.iter().zip(&cb).zip(&grid) {
        if let (Some(x), Some(y)) = (x, y) {
            let d = (x - y).abs();
            if worst.is_none_or(|w| d > w) {
                worst = Some(d);
                at = f;
            }
        }
    }
    Some(Balance {
        level_difference_db: level,
        matching_db: worst?,
        matching_at_hz: at,
    })
}
