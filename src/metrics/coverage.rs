//! Where a curve has no points: the holes that a response's left-out points (below the
//! noise) or a published curve's gaps leave, and how much of a band the points cover. A band
//! mean (`super::band_mean_db_in`) is given only where they cover enough of its band; the
//! plots break their lines in the holes (`report::broken_at_holes`).

use super::clean;

/// Share of a band (in octaves, of the part of it the sweep covered) that a band mean's
/// points must cover, the holes between them bridged by interpolation, for the mean to stand
/// for the band; the same share as a two-sided session's figures ([`super::sides::MIN_COVERAGE`]).
pub const MIN_BAND_COVERAGE: f64 = 0.9;

/// The widest step between two points that is bridged rather than a hole, octaves (eight
/// steps of the analysis's grid; a two-sided session's coverage counts the same).
pub const MAX_BRIDGED_OCT: f64 = 1.0 / 12.0;

/// The holes in a curve's points (finite, sorted, as [`clean`] gives them): the stretches
/// between two neighbours more than [`MAX_BRIDGED_OCT`] apart where the curve's own spacing
/// says points are missing.
/// - A curve on an even logarithmic grid of at most 1/12 octave with points taken out (every
///   inner step a whole number of its smallest, as the analysis leaves out the points below
///   the noise from its 96-an-octave grid, [`crate::dsp::analyze::analysis_grid`]): every
///   step wider than 1/12 octave is a hole, however few points remain.
/// - Any other dense curve (its median step at most 1/12 octave: a published curve on a
///   linear grid, on a rounded one, or denser in one band than another): a step is a hole
///   where it is more than twice the median of the steps on each side of it (up to three;
///   at the curve's first and last step, three times the three on its one side). A linear
///   grid's steps shrink smoothly, and are never holes.
/// - A sparse curve (a target given at a few frequencies) has none: it is read by
///   interpolation.
pub fn holes(xs: &[f64]) -> Vec<(f64, f64)> {
    let steps: Vec<f64> = xs.windows(2).map(|w| (w[1] / w[0]).log2()).collect();
    if steps.len() < 2 || !steps.iter().all(|s| s.is_finite() && *s > 0.0) {
        return Vec::new();
    }
    let wide = |i: &usize| steps[*i] > MAX_BRIDGED_OCT * (1.0 + 1e-9);
    let pair = |i: usize| (xs[i], xs[i + 1]);
    // an even grid: judged on the inner steps (the first and last may be clamped onto the
    // band's ends), each a whole number of the smallest to 0.2 % of it (frequencies read
    // back from a file with six decimals stray by 1e-5 of a step at 20 Hz)
    let inner = &steps[1..steps.len() - 1];
    let base = inner.iter().copied().fold(f64::INFINITY, f64::min);
    let even = inner.len() >= 2
        && base <= MAX_BRIDGED_OCT * (1.0 + 1e-9)
        && inner.iter().all(|s| {
            let k = (s / base).round();
            (s - k * base).abs() <= 2e-3 * base
        });
    if even {
        return (0..steps.len()).filter(wide).map(pair).collect();
    }
    let median = |v: &[f64]| -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 {
            v[m]
        } else {
            0.5 * (v[m - 1] + v[m])
        }
    };
    if median(&steps) > MAX_BRIDGED_OCT {
        return Vec::new();
    }
    // elsewhere a hole is wider than the spacing on both sides of it (a curve coarse below
    // some frequency and fine above has no hole where the spacing changes)
    (0..steps.len())
        .filter(wide)
        .filter(|&i| {
            let before = &steps[i.saturating_sub(3)..i];
            let after = &steps[i + 1..(i + 4).min(steps.len())];
            match (before.is_empty(), after.is_empty()) {
                (false, false) => steps[i] > 2.0 * median(before) && steps[i] > 2.0 * median(after),
                (true, false) => after.len() >= 3 && steps[i] > 3.0 * median(after),
                (false, true) => before.len() >= 3 && steps[i] > 3.0 * median(before),
                (true, true) => false,
            }
        })
        .map(pair)
        .collect()
}

/// The share of [a, b] (in octaves) that the points cover: outside the holes, and between
/// the first and the last point.
fn covered_share(xs: &[f64], holes: &[(f64, f64)], a: f64, b: f64) -> f64 {
    let span = (b / a).log2();
    let outside = |x: f64, y: f64| {
        let (x, y) = (x.max(a), y.min(b));
        if y > x { (y / x).log2() } else { 0.0 }
    };
    let (first, last) = (xs[0], xs[xs.len() - 1]);
    let missing: f64 = holes.iter().map(|&(x, y)| outside(x, y)).sum::<f64>()
        + outside(a, first)
        + outside(last, b);
    (1.0 - missing / span).clamp(0.0, 1.0)
}

/// Why a band mean over [lo, hi] is not given although the curve reaches the band: its
/// holes, and the ends of `within` (the band the sweep covered; the span of the points when
/// `None`) that it has no points in, leave less than [`MIN_BAND_COVERAGE`] of the band
/// measured. `None` when the mean is given, or when the curve does not reach the band.
pub fn band_hole_reason(
    freq: &[f64],
    db: &[f64],
    lo: f64,
    hi: f64,
    within: Option<(f64, f64)>,
) -> Option<String> {
    let BandPoints {
        xs,
        band: (a, b),
        holes: hs,
        share,
        ..
    } = band_points(freq, db, lo, hi, within)?;
    if share >= MIN_BAND_COVERAGE {
        return None;
    }
    let (first, last) = (xs[0], xs[xs.len() - 1]);
    let mut gaps: Vec<(f64, f64)> = Vec::new();
    if first > a {
        gaps.push((a, first));
    }
    gaps.extend(hs.iter().copied().filter(|&(x, y)| y > a && x < b));
    if last < b {
        gaps.push((last, b));
    }
    let named: Vec<String> = gaps
        .iter()
        .map(|&(x, y)| {
            format!(
                "{}–{}",
                crate::units::hz(x.max(a)),
                crate::units::hz(y.min(b))
            )
        })
        .collect();
    Some(format!(
        "the curve has no points at {} (not measured), {:.0} % of {}–{}: more than a tenth of a mean over it would be interpolated across points never measured, so it is not given",
        named.join(", "),
        100.0 * (1.0 - share),
        crate::units::hz(a),
        crate::units::hz(b)
    ))
}

/// A curve's usable points over a band, and how much of the band they cover.
pub(super) struct BandPoints {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// [lo, hi] ∩ `within` (the span of the points when `None`).
    pub band: (f64, f64),
    pub holes: Vec<(f64, f64)>,
    /// The share of `band` the points cover ([`covered_share`]).
    pub share: f64,
}

/// The points of a curve over [lo, hi] ∩ `within`; `None` when they do not reach it.
pub(super) fn band_points(
    freq: &[f64],
    db: &[f64],
    lo: f64,
    hi: f64,
    within: Option<(f64, f64)>,
) -> Option<BandPoints> {
    let (xs, ys) = clean(freq, db);
    let band = band_within(&xs, lo, hi, within)?;
    let holes = holes(&xs);
    let share = covered_share(&xs, &holes, band.0, band.1);
    Some(BandPoints {
        xs,
        ys,
        band,
        holes,
        share,
    })
}

/// [lo, hi] ∩ `within` (the span of the points when `None`), if it is a band the points
/// reach.
fn band_within(xs: &[f64], lo: f64, hi: f64, within: Option<(f64, f64)>) -> Option<(f64, f64)> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) || xs.len() < 2 {
        return None;
    }
    let (first, last) = (xs[0], xs[xs.len() - 1]);
    let (s0, s1) = within.unwrap_or((first, last));
    let a = lo.max(s0);
    let b = hi.min(s1);
    if b.partial_cmp(&(a * (1.0 + 1e-9))) != Some(std::cmp::Ordering::Greater)
        || last <= a
        || first >= b
    {
        return None;
    }
    Some((a, b))
}
