//! The per-device figures of `compare.json` (CONTRACT.md "compare.json" metrics), level
//! normalisation of the overlays and the RMS deviation from a target.
//!
//! The band means, the −6 dB points and THD at 1 kHz are [`crate::report::channel_metrics`]'s
//! (the same definitions as `summary.md`); this module only adds the sub-grid interpolation
//! of the −6 dB crossing and band means over other bands.

use serde::{Deserialize, Serialize};

use crate::dsp::smoothing::{interp_linear, smooth_db};
use crate::report::channel_metrics;
use crate::results::{ChannelAnalysis, FrequencyResponse, Impulse, Thd};

/// The metrics CONTRACT.md names, in its order; `null` when not measurable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub reference_db: Option<f64>,
    pub bass_db: Option<f64>,
    pub treble_db: Option<f64>,
    pub low_extension_hz: Option<f64>,
    pub high_extension_hz: Option<f64>,
    pub noise_rms_dbfs: Option<f64>,
    pub snr_db: Option<f64>,
    pub thd_1k_percent: Option<f64>,
}

/// Metrics plus whether each extension point is the edge of the measured band (the response
/// never fell 6 dB below the reference inside it: the true point lies at or beyond the edge).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub metrics: Metrics,
    pub low_at_band_edge: bool,
    pub high_at_band_edge: bool,
}

/// Drop below `reference_db` that defines the extension points, dB.
pub const EXTENSION_DROP_DB: f64 = 6.0;

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

/// Finite points with positive, strictly increasing frequency (what `channel_metrics` and
/// the smoothing accept).
pub(crate) fn clean(freq: &[f64], vals: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(freq.len());
    let mut ys = Vec::with_capacity(freq.len());
    for (&f, &v) in freq.iter().zip(vals) {
        if f.is_finite() && f > 0.0 && v.is_finite() && xs.last().is_none_or(|&l| f > l) {
            xs.push(f);
            ys.push(v);
        }
    }
    (xs, ys)
}

/// A channel holding only a frequency response (a published curve, a target): no THD, no
/// noise, no impulse.
pub fn curve_channel(freq_hz: Vec<f64>, gain_db: Vec<f64>) -> ChannelAnalysis {
    ChannelAnalysis {
        index: 0,
        latency_s: f64::NAN,
        latency_samples: f64::NAN,
        frequency_response: FrequencyResponse {
            freq_hz,
            gain_db,
            phase_deg: Vec::new(),
            group_delay_s: Vec::new(),
        },
        smoothed: Vec::new(),
        thd: Thd {
            freq_hz: Vec::new(),
            percent: Vec::new(),
            harmonics: Vec::new(),
        },
        noise: None,
        snr_db: None,
        level_1k_dbfs: None,
        peak_dbfs: None,
        impulse: Impulse {
            sample_rate: 0,
            start_s: 0.0,
            samples: Vec::new(),
        },
        drift_ppm: None,
        warnings: Vec::new(),
    }
}

/// CONTRACT metrics of one channel (its raw, un-normalised response).
pub fn measure(ch: &ChannelAnalysis) -> Measured {
    let cm = channel_metrics(ch);
    let fr = &ch.frequency_response;
    let (xs, ys) = clean(&fr.freq_hz, &fr.gain_db);
    let reference = finite(cm.reference_db);
    let ext = |point: Option<(f64, bool)>, low: bool| -> (Option<f64>, bool) {
        match (point, reference) {
            (Some((f, true)), Some(_)) => (Some(f), true),
            (Some((f, false)), Some(r)) => (
                refine_crossing(&xs, &ys, f, r - EXTENSION_DROP_DB, low),
                false,
            ),
            _ => (None, false),
        }
    };
    let (low, low_edge) = ext(cm.low_6db_hz, true);
    let (high, high_edge) = ext(cm.high_6db_hz, false);
    Measured {
        metrics: Metrics {
            reference_db: reference,
            bass_db: finite(cm.bass_db),
            treble_db: finite(cm.treble_db),
            low_extension_hz: finite(low),
            high_extension_hz: finite(high),
            noise_rms_dbfs: finite(ch.noise.as_ref().map(|n| n.rms_dbfs)),
            snr_db: finite(ch.snr_db),
            thd_1k_percent: finite(cm.thd_1k_percent),
        },
        low_at_band_edge: low_edge,
        high_at_band_edge: high_edge,
    }
}

/// `channel_metrics` gives the outermost grid point `f` at or above `thr` on the 1/3-octave
/// smoothed curve; the crossing lies between it and its outer neighbour (below `thr`).
/// Returns the crossing of the straight line between them in log f.
fn refine_crossing(xs: &[f64], ys: &[f64], f: f64, thr: f64, low: bool) -> Option<f64> {
    let i = xs.iter().position(|&x| x == f)?;
    let j = if low {
        i.checked_sub(1)?
    } else {
        Some(i + 1).filter(|&j| j < xs.len())?
    };
    let s = smooth_db(xs, ys, &[xs[j], xs[i]], 3.0);
    let (outer, inner) = (s[0], s[1]);
    if !(inner >= thr && outer < thr) {
        return Some(f);
    }
    let t = (thr - outer) / (inner - outer);
    let (lj, li) = (xs[j].log2(), xs[i].log2());
    Some(2f64.powf(lj + t * (li - lj)))
}

/// Mean of a dB curve over [lo, hi] ∩ the measured band, each octave weighted equally:
/// `channel_metrics`'s `reference_db` (the same mean over 250 Hz–4 kHz) on the curve with
/// its log-frequency axis mapped affinely so that [lo, hi] lands on [250, 4000] Hz. An
/// affine map of log f preserves both the octave-weighted mean and the piecewise-linear
/// interpolation, so this is exactly that definition over [lo, hi].
pub fn band_mean_db(freq: &[f64], gain_db: &[f64], lo: f64, hi: f64) -> Option<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return None;
    }
    let scale = (4000f64 / 250.0).log2() / (hi / lo).log2();
    let mapped: Vec<f64> = freq
        .iter()
        .map(|f| 250.0 * 2f64.powf((f / lo).log2() * scale))
        .collect();
    finite(channel_metrics(&curve_channel(mapped, gain_db.to_vec())).reference_db)
}

/// How overlays are level-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    /// 0 dB at 1 kHz (read on the 1/3-octave smoothed response).
    OneK,
    /// The 250 Hz–4 kHz mean (`reference_db`) at 0 dB.
    Mean,
    None,
}

impl Normalize {
    pub fn parse(s: &str) -> Option<Normalize> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1k" | "1khz" | "1000" => Some(Normalize::OneK),
            "mean" => Some(Normalize::Mean),
            "none" => Some(Normalize::None),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Normalize::OneK => "1k",
            Normalize::Mean => "mean",
            Normalize::None => "none",
        }
    }
    /// What the normalised curves are relative to, for axis labels.
    pub fn describe(self) -> &'static str {
        match self {
            Normalize::OneK => "0 dB at 1 kHz",
            Normalize::Mean => "0 dB = mean over 250 Hz–4 kHz",
            Normalize::None => "not normalized",
        }
    }

    /// The level subtracted from a curve (`None`: the curve cannot be normalised this way,
    /// e.g. it does not reach 1 kHz).
    pub fn offset_db(
        self,
        freq: &[f64],
        gain_db: &[f64],
        reference_db: Option<f64>,
    ) -> Option<f64> {
        match self {
            Normalize::None => Some(0.0),
            Normalize::Mean => reference_db,
            Normalize::OneK => {
                let (xs, ys) = clean(freq, gain_db);
                let (first, last) = (*xs.first()?, *xs.last()?);
                if !(first <= 1000.0 && last >= 1000.0) {
                    return None;
                }
                finite(smooth_db(&xs, &ys, &[1000.0], 3.0).first().copied())
            }
        }
    }
}

/// Band over which the RMS deviation from a target is computed, Hz.
pub const DEVIATION_BAND_HZ: (f64, f64) = (20.0, 10000.0);

/// RMS of (device − offset) − (target − offset) in dB over [`DEVIATION_BAND_HZ`] ∩ both
/// curves' bands, each octave weighted equally, on the raw (unsmoothed) curves. Also returns
/// the band used. `None` when they overlap by less than an octave there.
pub fn rms_deviation_db(
    dev: (&[f64], &[f64], f64),
    target: (&[f64], &[f64], f64),
) -> Option<(f64, (f64, f64))> {
    let (dx, dy) = clean(dev.0, dev.1);
    let (tx, ty) = clean(target.0, target.1);
    if dx.len() < 2 || tx.len() < 2 {
        return None;
    }
    let lo = DEVIATION_BAND_HZ.0.max(dx[0]).max(tx[0]);
    let hi = DEVIATION_BAND_HZ
        .1
        .min(dx[dx.len() - 1])
        .min(tx[tx.len() - 1]);
    if hi.is_nan() || hi < 2.0 * lo {
        return None;
    }
    // 96 points per octave over the overlap, trapezoid over log2 f
    let n = ((hi / lo).log2() * 96.0).ceil() as usize;
    let ldx: Vec<f64> = dx.iter().map(|v| v.log2()).collect();
    let ltx: Vec<f64> = tx.iter().map(|v| v.log2()).collect();
    let (la, lb) = (lo.log2(), hi.log2());
    let sq: Vec<f64> = (0..=n)
        .map(|k| {
            let l = la + (lb - la) * k as f64 / n as f64;
            let d =
                (interp_linear(&ldx, &dy, l) - dev.2) - (interp_linear(&ltx, &ty, l) - target.2);
            d * d
        })
        .collect();
    let mean = sq.windows(2).map(|w| 0.5 * (w[0] + w[1])).sum::<f64>() / n as f64;
    Some((mean.sqrt(), (lo, hi)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lo: f64, hi: f64, ppo: f64) -> Vec<f64> {
        crate::report::example::log_grid(lo, hi, ppo)
    }

    /// A straight line in log f has its band mean at the band's log-centre.
    #[test]
    fn band_mean_of_a_log_line() {
        let f = grid(20.0, 20000.0, 48.0);
        let g: Vec<f64> = f.iter().map(|x| 3.0 * x.log2()).collect();
        let m = band_mean_db(&f, &g, 100.0, 400.0).unwrap();
        assert!((m - 3.0 * 200f64.log2()).abs() < 1e-9, "{m}");
        // only the covered part of the band counts
        let m = band_mean_db(&f, &g, 5.0, 80.0).unwrap();
        assert!((m - 3.0 * 40f64.log2()).abs() < 1e-9, "{m}");
        assert_eq!(band_mean_db(&f, &g, 30000.0, 40000.0), None);
    }

    /// A response linear in log f below 1 kHz crosses −6 dB where the line does (1/3-octave
    /// power smoothing of a straight dB line in log f shifts it by a known small amount,
    /// computed here by brute-force integration).
    #[test]
    fn extension_is_interpolated_between_grid_points() {
        let f = grid(20.0, 20000.0, 12.0); // coarse grid: interpolation matters
        // flat 0 dB above 200 Hz (so reference_db is 0), falling 12 dB/octave below
        let g: Vec<f64> = f
            .iter()
            .map(|&x| {
                if x >= 200.0 {
                    0.0
                } else {
                    12.0 * (x / 200.0).log2()
                }
            })
            .collect();
        let m = measure(&curve_channel(f.clone(), g.clone()));
        assert!(m.metrics.reference_db.unwrap().abs() < 1e-12);
        let low = m.metrics.low_extension_hz.unwrap();
        assert!(!m.low_at_band_edge);
        // exact: bisection on the smoothed curve evaluated densely
        let (mut a, mut b) = (50.0f64, 1000.0f64);
        for _ in 0..60 {
            let c = (a * b).sqrt();
            let s = smooth_db(&f, &g, &[c], 3.0)[0];
            if s >= -6.0 { b = c } else { a = c }
        }
        // the crossing of the interpolated smoothed curve is within 1/200 octave of it
        assert!((low / b).log2().abs() < 0.005, "{low} vs {b}");
        assert!(m.metrics.high_extension_hz.is_some() && m.high_at_band_edge);
    }

    #[test]
    fn normalisation_offsets() {
        let f = grid(20.0, 20000.0, 48.0);
        let g = vec![-7.5; f.len()];
        assert!((Normalize::OneK.offset_db(&f, &g, None).unwrap() + 7.5).abs() < 1e-12);
        assert_eq!(Normalize::Mean.offset_db(&f, &g, Some(-7.0)), Some(-7.0));
        assert_eq!(Normalize::None.offset_db(&f, &g, None), Some(0.0));
        let f2 = grid(2000.0, 20000.0, 48.0);
        assert_eq!(Normalize::OneK.offset_db(&f2, &g[..f2.len()], None), None);
    }

    #[test]
    fn rms_deviation_of_a_constant_offset_and_a_tilt() {
        let f = grid(20.0, 20000.0, 48.0);
        let a: Vec<f64> = vec![2.0; f.len()];
        let t: Vec<f64> = vec![0.0; f.len()];
        let (r, band) = rms_deviation_db((&f, &a, 0.0), (&f, &t, 0.0)).unwrap();
        assert!((r - 2.0).abs() < 1e-12 && band == (20.0, 10000.0));
        let (r, _) = rms_deviation_db((&f, &a, 2.0), (&f, &t, 0.0)).unwrap();
        assert!(r.abs() < 1e-12);
        // a tilt of 1 dB/octave centred in the band: RMS = L/√12 over L octaves
        let l = (10000f64 / 20.0).log2();
        let c = (20f64 * 10000.0).sqrt().log2();
        let tilt: Vec<f64> = f.iter().map(|x| x.log2() - c).collect();
        let (r, _) = rms_deviation_db((&f, &tilt, 0.0), (&f, &t, 0.0)).unwrap();
        assert!((r - l / 12f64.sqrt()).abs() < 1e-3, "{r}");
    }
}
