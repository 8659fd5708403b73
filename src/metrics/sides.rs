//! Left against right in a two-sided session (`--sides`): the balance, the largest
//! difference, the crosstalk into the undriven ear and each side's polarity, from the channels
//! each side's own capture gave. The one home of these figures (limits read `polarity` here).

use super::{REFERENCE_BAND_HZ, band_mean_db};
use crate::kind::Side;
use crate::results::{
    ChannelAnalysis, Crosstalk, DifferenceCurve, Polarity, SidePolarity, SidesAnalysis,
};

/// Where the largest left/right difference is sought, Hz.
pub const DIFFERENCE_BAND_HZ: (f64, f64) = (100.0, 10000.0);
/// The smoothing of the curves compared for it (1/n octave).
pub const DIFFERENCE_SMOOTHING: u32 = 6;

/// The sign of the impulse response at its main peak (the latency), or None without signal.
pub fn polarity(ch: &ChannelAnalysis) -> Option<Polarity> {
    let latency = ch.latency_s?;
    let imp = &ch.impulse;
    let fs = f64::from(imp.sample_rate);
    let at = ((latency - imp.start_s) * fs).round() as isize;
    let lo = (at - 2).max(0) as usize;
    let hi = ((at + 3).max(0) as usize).min(imp.samples.len());
    let peak = imp
        .samples
        .get(lo..hi)?
        .iter()
        .copied()
        .max_by(|a, b| a.abs().total_cmp(&b.abs()))?;
    if peak == 0.0 {
        None
    } else if peak > 0.0 {
        Some(Polarity::Positive)
    } else {
        Some(Polarity::Negative)
    }
}

/// The points where two curves on one analysis grid both hold a value (each curve leaves out
/// the points it could not measure): (f, a, b). Both are sorted by frequency.
pub fn common(fa: &[f64], a: &[f64], fb: &[f64], b: &[f64]) -> Vec<(f64, f64, f64)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < fa.len().min(a.len()) && j < fb.len().min(b.len()) {
        let (x, y) = (fa[i], fb[j]);
        if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) {
            if a[i].is_finite() && b[j].is_finite() {
                out.push((x, a[i], b[j]));
            }
            i += 1;
            j += 1;
        } else if x < y {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Share of a band a figure's points must cover for the figure to stand for the band.
pub const MIN_COVERAGE: f64 = 0.9;

/// The share of [lo, hi] (in octaves) that sorted points `f` cover: the stretches between
/// neighbouring points at most 1/12 octave apart (four steps of the analysis's grid), inside
/// the band. Points left out (below the noise) leave holes.
pub fn coverage(f: &[f64], lo: f64, hi: f64) -> f64 {
    let span = (hi / lo).log2();
    let covered: f64 = f
        .windows(2)
        .filter(|w| (w[1] / w[0]).log2() <= 1.0 / 12.0 + 1e-9)
        .map(|w| {
            let (a, b) = (w[0].max(lo), w[1].min(hi));
            if b > a { (b / a).log2() } else { 0.0 }
        })
        .sum();
    (covered / span).clamp(0.0, 1.0)
}

/// A band mean only where the points cover at least [`MIN_COVERAGE`] of the band; otherwise
/// None and the share covered.
fn covered_mean(f: &[f64], v: &[f64], lo: f64, hi: f64) -> Result<f64, f64> {
    let share = coverage(f, lo, hi);
    if share < MIN_COVERAGE {
        return Err(share);
    }
    band_mean_db(f, v, lo, hi).ok_or(share)
}

/// A channel's smoothed curve of 1/`fraction` octave.
fn smoothed(ch: &ChannelAnalysis, fraction: u32) -> Option<&[f64]> {
    ch.smoothed
        .iter()
        .find(|c| c.fraction == fraction)
        .map(|c| c.gain_db.as_slice())
}

/// What one side's run heard: the side driven, its own ear's channel, and the other ear's
/// channel (None when that ear was not recorded).
pub struct SideRun<'a> {
    pub driven: Side,
    pub own: Option<&'a ChannelAnalysis>,
    pub other: Option<&'a ChannelAnalysis>,
}

/// The two-sided figures from each side's run (left first). A side that was not recorded,
/// or whose ear holds no signal, leaves the figures that need it null with a note.
pub fn sides_figures(runs: &[SideRun]) -> SidesAnalysis {
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let own = |s: Side| {
        runs.iter()
            .find(|r| r.driven == s)
            .and_then(|r| r.own)
            .filter(|c| c.has_signal())
    };
    let (left, right) = (own(Side::Left), own(Side::Right));
    for (s, c) in [(Side::Left, left), (Side::Right, right)] {
        if c.is_none() {
            notes.push(format!(
                "the {} side holds no measured response: no balance, difference or polarity match",
                s.word()
            ));
        }
    }
    let mut a = SidesAnalysis {
        balance_db: None,
        max_difference_db: None,
        max_difference_hz: None,
        difference_band_hz: None,
        difference: DifferenceCurve::default(),
        crosstalk: Vec::new(),
        polarity: Vec::new(),
        polarity_matched: None,
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    if let (Some(l), Some(r)) = (left, right) {
        let (lf, rf) = (&l.frequency_response, &r.frequency_response);
        let raw = common(&lf.freq_hz, &lf.gain_db, &rf.freq_hz, &rf.gain_db);
        let f: Vec<f64> = raw.iter().map(|p| p.0).collect();
        let d: Vec<f64> = raw.iter().map(|p| p.1 - p.2).collect();
        match covered_mean(&f, &d, REFERENCE_BAND_HZ.0, REFERENCE_BAND_HZ.1) {
            Ok(b) => a.balance_db = Some(b),
            Err(share) => notes.push(format!(
                "no balance: the two sides both measured only {:.0} % of 250 Hz–4 kHz (at least {:.0} % needed)",
                100.0 * share,
                100.0 * MIN_COVERAGE
            )),
        }
        if let (Some(ls), Some(rs)) = (
            smoothed(l, DIFFERENCE_SMOOTHING),
            smoothed(r, DIFFERENCE_SMOOTHING),
        ) {
            let pts = common(&lf.freq_hz, ls, &rf.freq_hz, rs);
            a.difference = DifferenceCurve {
                freq_hz: pts.iter().map(|p| p.0).collect(),
                db: pts.iter().map(|p| p.1 - p.2).collect(),
            };
            let inside: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| (DIFFERENCE_BAND_HZ.0..=DIFFERENCE_BAND_HZ.1).contains(&p.0))
                .map(|p| (p.0, p.1 - p.2))
                .collect();
            if let Some(&(fw, dw)) = inside.iter().max_by(|x, y| x.1.abs().total_cmp(&y.1.abs())) {
                a.max_difference_db = Some(dw.abs());
                a.max_difference_hz = Some(fw);
                let (lo, hi) = (inside[0].0, inside[inside.len() - 1].0);
                a.difference_band_hz = Some([lo, hi]);
                if lo > DIFFERENCE_BAND_HZ.0 * 1.03 || hi < DIFFERENCE_BAND_HZ.1 * 0.97 {
                    notes.push(format!(
                        "the largest difference is sought over {:.0}–{:.0} Hz only, the part of 100 Hz–10 kHz both sides measured",
                        lo, hi
                    ));
                }
            } else {
                notes.push(
                    "no largest difference: the two sides have no measured point in common over 100 Hz–10 kHz"
                        .into(),
                );
            }
        }
    }
    for run in runs {
        let into = run.driven.other();
        let Some(driven) = run.own.filter(|c| c.has_signal()) else {
            continue;
        };
        let Some(other) = run.other else {
            notes.push(format!(
                "no crosstalk from the {} side: the {} ear was not recorded while it played",
                run.driven.word(),
                into.word()
            ));
            continue;
        };
        let (df, of) = (&driven.frequency_response, &other.frequency_response);
        let pts = if other.has_signal() {
            common(&df.freq_hz, &df.gain_db, &of.freq_hz, &of.gain_db)
        } else {
            Vec::new()
        };
        let freq_hz: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let db: Vec<f64> = pts.iter().map(|p| p.2 - p.1).collect();
        let mean = covered_mean(&freq_hz, &db, REFERENCE_BAND_HZ.0, REFERENCE_BAND_HZ.1);
        let mean_db = mean.ok();
        // sought where the difference is (the sweep's fades at the band's edges leave the
        // undriven ear's last points closest to its noise)
        let max = pts
            .iter()
            .filter(|p| (DIFFERENCE_BAND_HZ.0..=DIFFERENCE_BAND_HZ.1).contains(&p.0))
            .map(|p| (p.0, p.2 - p.1))
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if pts.is_empty() {
            notes.push(format!(
                "the {} ear did not hear the {} side above its noise: the crosstalk lies below what the capture shows",
                into.word(),
                run.driven.word()
            ));
        } else if let Err(share) = mean {
            notes.push(format!(
                "no mean crosstalk from the {} side: the {} ear heard it above its noise over {:.0} % of 250 Hz–4 kHz only (at least {:.0} % needed); its curve shows where",
                run.driven.word(),
                into.word(),
                100.0 * share,
                100.0 * MIN_COVERAGE
            ));
        }
        a.crosstalk.push(Crosstalk {
            driven: run.driven,
            into,
            freq_hz,
            db,
            mean_db,
            max_db: max.map(|m| m.1),
            max_hz: max.map(|m| m.0),
        });
    }
    a.polarity = [(Side::Left, left), (Side::Right, right)]
        .into_iter()
        .map(|(side, c)| SidePolarity {
            side,
            polarity: c.and_then(polarity),
        })
        .collect();
    if let [
        SidePolarity {
            polarity: Some(pl), ..
        },
        SidePolarity {
            polarity: Some(pr), ..
        },
    ] = a.polarity.as_slice()
    {
        a.polarity_matched = Some(pl == pr);
        if pl != pr {
            warnings.push(format!(
                "the two sides have opposite polarity (L {}, R {}): one driver is wired in reverse",
                pl.as_str(),
                pr.as_str()
            ));
        }
    }
    a.notes = notes;
    a.warnings = warnings;
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analysis's grid, 48 points per octave, from 20 Hz to 20 kHz.
    fn grid() -> Vec<f64> {
        (0..=478)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 48.0))
            .collect()
    }

    /// The grid with its points between 500 Hz and 1 kHz left out, and the hole's edges (the
    /// grid's last point below 500 Hz and first above 1 kHz).
    fn holed() -> (Vec<f64>, f64, f64) {
        let g = grid();
        let inside = |f: f64| f > 500.0 && f < 1000.0;
        let lo = g
            .iter()
            .copied()
            .filter(|&f| f <= 500.0)
            .fold(0.0, f64::max);
        let hi = g
            .iter()
            .copied()
            .filter(|&f| f >= 1000.0)
            .fold(f64::MAX, f64::min);
        let f = g.into_iter().filter(|&f| !inside(f)).collect();
        (f, lo, hi)
    }

    /// Coverage against shares worked out directly (to 1e-9): the whole grid covers 250 Hz–
    /// 4 kHz; a hole from the grid's last point below 500 Hz to its first above 1 kHz
    /// leaves 1 − log2(hi/lo)/4 of the four octaves (about 3/4); points every 1/6 octave
    /// (gaps wider than 1/12) cover nothing.
    #[test]
    fn coverage_counts_the_octaves_the_points_cover() {
        let g = grid();
        assert!((coverage(&g, 250.0, 4000.0) - 1.0).abs() < 1e-9);
        let (f, lo, hi) = holed();
        let want = 1.0 - (hi / lo).log2() / 4.0;
        assert!((coverage(&f, 250.0, 4000.0) - want).abs() < 1e-9);
        assert!((want - 0.75).abs() < 0.01, "{want}");
        let sparse: Vec<f64> = g.iter().copied().step_by(8).collect();
        assert_eq!(coverage(&sparse, 250.0, 4000.0), 0.0);
    }

    /// A mean over a band is given only where the points cover 90 % of it: a flat −60 dB
    /// over the whole band gives −60; the same with a one-octave hole gives no figure.
    #[test]
    fn a_band_mean_needs_the_band() {
        let g = grid();
        let v = vec![-60.0; g.len()];
        assert!((covered_mean(&g, &v, 250.0, 4000.0).unwrap() + 60.0).abs() < 1e-9);
        let (f, lo, hi) = holed();
        let v = vec![-60.0; f.len()];
        let share = covered_mean(&f, &v, 250.0, 4000.0).unwrap_err();
        assert!(
            (share - (1.0 - (hi / lo).log2() / 4.0)).abs() < 1e-9,
            "{share}"
        );
    }
}
