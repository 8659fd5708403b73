//! A re-seat series: the same headphone measured in several placements (taken off and put
//! back between them), combined the way the labs publish it. The response is the power
//! average of the placements (each one's |H|² averaged, then dB), and its spread is kept: the
//! lowest, the highest and the standard deviation per frequency, and each placement's RMS
//! deviation from the average. A power average needs no alignment: a placement's latency
//! and clock change its phase, not |H|.
//!
//! What a placement changes is the fit (the seal's bass, the position's treble), so the
//! figures read off the response are averaged with it: the smoothed curves, the level at
//! 1 kHz and the SNR that follows, THD (harmonic power relative to the fundamental,
//! averaged). The rest describes the device or the rig rather than the fit and is taken from
//! the first placement: phase and group delay, the impulse response and its decay, the noise
//! floor and the spectrogram. A note says which is which.

use crate::results::{Analysis, ChannelAnalysis, PlacementSpread};

/// Band over which each placement's deviation from the average is measured, Hz.
pub const DEVIATION_BAND_HZ: (f64, f64) = (100.0, 10_000.0);

/// Combines the analyses of a series' placements (`(number, analysis)`, the first one
/// present; None for a placement left out, whose reason is in `left_out`) into one.
pub fn combine(placements: Vec<(usize, Option<Analysis>)>, left_out: Vec<String>) -> Analysis {
    let total = placements.len();
    let present: Vec<(usize, Analysis)> = placements
        .into_iter()
        .filter_map(|(n, a)| a.map(|a| (n, a)))
        .collect();
    let mut base = present[0].1.clone();
    for c in 0..base.channels.len() {
        let mut warnings = left_out.clone();
        let mut members: Vec<(usize, &ChannelAnalysis)> = Vec::new();
        for (n, a) in &present {
            match a.channels.get(c) {
                Some(ch) if ch.has_signal() => members.push((*n, ch)),
                _ => warnings.push(format!(
                    "placement {n} did not hold the sweep on this channel: left out of the average"
                )),
            }
        }
        let combined = combine_channel(&base.channels[c], &members, total);
        let ch = &mut base.channels[c];
        *ch = combined;
        ch.warnings.extend(warnings);
    }
    base
}

/// One channel of the series: `members` are the placements that hold the sweep on it.
fn combine_channel(
    first: &ChannelAnalysis,
    members: &[(usize, &ChannelAnalysis)],
    total: usize,
) -> ChannelAnalysis {
    let Some(&(_, lead)) = members.first() else {
        return first.clone();
    };
    let mut out = lead.clone();
    if members.len() < 2 {
        out.notes.push(format!(
            "only placement {} of {total} measured this channel: no average, no spread",
            members[0].0
        ));
        return out;
    }
    let chans: Vec<&ChannelAnalysis> = members.iter().map(|m| m.1).collect();
    // the points every placement measured (the grid is the same: same sweep, same rate)
    let fr = &lead.frequency_response;
    let idx: Vec<Vec<usize>> = chans
        .iter()
        .map(|ch| positions(&fr.freq_hz, &ch.frequency_response.freq_hz))
        .collect();
    let keep: Vec<usize> = (0..fr.freq_hz.len())
        .filter(|&i| idx.iter().all(|p| p[i] != usize::MAX))
        .collect();
    let at = |k: usize, i: usize, v: &[f64]| v[idx[k][i]];
    let freq_hz: Vec<f64> = keep.iter().map(|&i| fr.freq_hz[i]).collect();
    let per: Vec<Vec<f64>> = (0..chans.len())
        .map(|k| {
            keep.iter()
                .map(|&i| at(k, i, &chans[k].frequency_response.gain_db))
                .collect()
        })
        .collect();
    let gain_db: Vec<f64> = (0..keep.len())
        .map(|j| power_mean_db(per.iter().map(|p| p[j])))
        .collect();
    // the smoothed curves, on the same points: smoothing is a power average, so averaging
    // the placements' smoothed powers is smoothing the averaged power
    for (s, curve) in out.smoothed.iter_mut().enumerate() {
        curve.gain_db = keep
            .iter()
            .map(|&i| {
                power_mean_db((0..chans.len()).map(|k| at(k, i, &chans[k].smoothed[s].gain_db)))
            })
            .collect();
    }
    let take = |v: &[f64]| -> Vec<f64> {
        if v.len() == fr.freq_hz.len() {
            keep.iter().map(|&i| v[i]).collect()
        } else {
            Vec::new()
        }
    };
    out.frequency_response.phase_deg = take(&fr.phase_deg);
    out.frequency_response.group_delay_s = take(&fr.group_delay_s);
    out.frequency_response.freq_hz = freq_hz.clone();
    out.frequency_response.gain_db = gain_db.clone();

    // the level at 1 kHz (and the SNR on it) when every placement has one
    let levels: Option<Vec<f64>> = chans.iter().map(|c| c.level_1k_dbfs).collect();
    out.level_1k_dbfs = levels.map(|l| round_to(power_mean_db(l.into_iter()), 1e-6));
    out.snr_db = match (out.level_1k_dbfs, &out.noise) {
        (Some(l), Some(n)) => Some(l - n.rms_dbfs),
        _ => None,
    };
    combine_thd(&mut out, &chans);

    // the spread
    let n = chans.len() as f64;
    let (mut min_db, mut max_db, mut std_db) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..keep.len() {
        let vals: Vec<f64> = per.iter().map(|p| p[j]).collect();
        let mean = vals.iter().sum::<f64>() / n;
        min_db.push(vals.iter().copied().fold(f64::INFINITY, f64::min));
        max_db.push(vals.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        std_db.push((vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    }
    let (lo, hi) = DEVIATION_BAND_HZ;
    let deviation_db = per
        .iter()
        .map(|p| {
            let d: Vec<f64> = (0..keep.len())
                .filter(|&j| (lo..=hi).contains(&freq_hz[j]))
                .map(|j| (p[j] - gain_db[j]).powi(2))
                .collect();
            (!d.is_empty()).then(|| (d.iter().sum::<f64>() / d.len() as f64).sqrt())
        })
        .collect();
    let numbers: Vec<usize> = members.iter().map(|m| m.0).collect();
    out.notes.push(format!(
        "response, smoothed curves, level at 1 kHz, SNR and THD: power average of placements {} ({} of {total}); phase, impulse, decay, noise and spectrogram: placement {}",
        numbers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        numbers.len(),
        numbers[0]
    ));
    out.placements = Some(PlacementSpread {
        averaged: numbers,
        freq_hz,
        min_db,
        max_db,
        std_db,
        gain_db: per,
        deviation_db,
        latency_s: chans.iter().map(|c| c.latency_s).collect(),
    });
    out
}

/// THD averaged as harmonic power relative to the fundamental, where every placement
/// measured it; each harmonic likewise (null where any placement has none).
fn combine_thd(out: &mut ChannelAnalysis, chans: &[&ChannelAnalysis]) {
    let lead = &chans[0].thd;
    let idx: Vec<Vec<usize>> = chans
        .iter()
        .map(|c| positions(&lead.freq_hz, &c.thd.freq_hz))
        .collect();
    let keep: Vec<usize> = (0..lead.freq_hz.len())
        .filter(|&i| idx.iter().all(|p| p[i] != usize::MAX))
        .collect();
    let n = chans.len() as f64;
    out.thd.freq_hz = keep.iter().map(|&i| lead.freq_hz[i]).collect();
    out.thd.percent = keep
        .iter()
        .map(|&i| {
            let p2: f64 = (0..chans.len())
                .map(|k| chans[k].thd.percent[idx[k][i]].powi(2))
                .sum();
            (p2 / n).sqrt()
        })
        .collect();
    for (h, curve) in out.thd.harmonics.iter_mut().enumerate() {
        curve.relative_db = keep
            .iter()
            .map(|&i| {
                let vals: Option<Vec<f64>> = (0..chans.len())
                    .map(|k| {
                        chans[k]
                            .thd
                            .harmonics
                            .get(h)
                            .and_then(|c| c.relative_db.get(idx[k][i]).copied().flatten())
                    })
                    .collect();
                vals.map(|v| power_mean_db(v.into_iter()))
            })
            .collect();
    }
}

/// For each frequency of `grid`, its index in `other` (usize::MAX where absent). Both come
/// from the same grid generator, so a shared point is the same f64.
fn positions(grid: &[f64], other: &[f64]) -> Vec<usize> {
    grid.iter()
        .map(|f| {
            other
                .binary_search_by(|g| g.total_cmp(f))
                .unwrap_or(usize::MAX)
        })
        .collect()
}

/// 10·log10 of the mean of 10^(dB/10).
fn power_mean_db(db: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = db.fold((0.0, 0usize), |(s, n), v| (s + 10f64.powf(v / 10.0), n + 1));
    10.0 * (sum / n.max(1) as f64).log10()
}

fn round_to(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Power mean of +3 dB and −3 dB: 10·log10((10^0.3 + 10^−0.3)/2) = 0.96293 dB (computed
    /// by hand), not their 0 dB mean. Tolerance 1e-4 dB.
    #[test]
    fn power_mean_is_of_powers() {
        assert!((power_mean_db([3.0, -3.0].into_iter()) - 0.96293).abs() < 1e-4);
        assert!((power_mean_db([-7.0; 5].into_iter()) + 7.0).abs() < 1e-12);
    }
}
