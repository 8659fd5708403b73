//! Axes for measurement plots: log-frequency and log-percent scales with engineering tick
//! labels (20, 50, 100 … 10k, 20k), linear "nice" scales and the axis-range rules. Written
//! here rather than taken from plotters' chart layer, whose log axes label only powers of
//! ten and whose ranges cannot follow the data's percentiles. The frame and legend that use
//! them are in `frame.rs`.

use super::canvas::Rgb;
use crate::units;

pub(crate) const INK: Rgb = [0x20, 0x20, 0x20];
pub(crate) const TICK_INK: Rgb = [0x30, 0x30, 0x30];
pub(crate) const GRID_MAJOR: Rgb = [0xc8, 0xc8, 0xc8];
pub(crate) const GRID_MINOR: Rgb = [0xe8, 0xe8, 0xe8];
pub(crate) const FRAME: Rgb = [0x50, 0x50, 0x50];
pub(crate) const WHITE: Rgb = [0xff, 0xff, 0xff];
pub(crate) const WARN: Rgb = [0xc0, 0x10, 0x10];
pub(crate) const MUTED: Rgb = [0x60, 0x60, 0x60];

/// Font sizes and line widths for one drawing, in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fonts {
    pub title: f64,
    pub label: f64,
    pub tick: f64,
    pub legend: f64,
    /// Line-width scale (1.0 at 1600×1000).
    pub line: f64,
}

impl Fonts {
    /// Sizes for a `w`×`h` image: 28 px titles, 24 px labels, 21 px ticks at 1600×1000,
    /// scaled sub-linearly so small images stay legible.
    pub fn for_size(w: u32, h: u32) -> Fonts {
        let s = (w as f64 / 1600.0).min(h as f64 / 1000.0).max(0.05);
        let f = s.powf(0.7).clamp(0.45, 6.0);
        Fonts {
            title: 28.0 * f,
            label: 24.0 * f,
            tick: 21.0 * f,
            legend: 21.0 * f,
            line: s.clamp(0.5, 6.0),
        }
    }
    pub fn scaled(&self, k: f64) -> Fonts {
        Fonts {
            title: self.title * k,
            label: self.label * k,
            tick: self.tick * k,
            legend: self.legend * k,
            line: self.line,
        }
    }
    pub fn grid(&self) -> f64 {
        self.line.round().max(1.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    Lin { min: f64, max: f64 },
    Log { min: f64, max: f64 },
}

impl Scale {
    /// Position of `v` along the axis, 0 at min and 1 at max (NaN where undefined).
    pub fn frac(&self, v: f64) -> f64 {
        match *self {
            Scale::Lin { min, max } => (v - min) / (max - min),
            Scale::Log { min, max } => {
                if v > 0.0 {
                    (v.log10() - min.log10()) / (max.log10() - min.log10())
                } else {
                    f64::NAN
                }
            }
        }
    }
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Scale::Lin { min, max } | Scale::Log { min, max } => (min, max),
        }
    }
    pub fn contains(&self, v: f64) -> bool {
        let (a, b) = self.bounds();
        let tol = match self {
            Scale::Lin { .. } => (b - a).abs() * 1e-9,
            Scale::Log { .. } => 0.0,
        };
        match self {
            Scale::Lin { .. } => v >= a - tol && v <= b + tol,
            Scale::Log { .. } => v >= a * (1.0 - 1e-9) && v <= b * (1.0 + 1e-9),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TickKind {
    /// Log frequency: labels at 1, 2, 5 × 10^k ("20", "500", "1k", "20k"), minor at the rest.
    LogFreq,
    /// Log axis of a percentage or ratio: labels at decades (and 2, 5 when few decades).
    LogDecade,
    /// Linear with 1/2/5 steps.
    Nice,
    /// Linear with a fixed step (e.g. 90° for phase).
    Step(f64),
}

#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub scale: Scale,
    pub ticks: TickKind,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tick {
    pub v: f64,
    pub label: Option<String>,
    pub major: bool,
}

/// A 1/2/5 × 10^k step near `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

impl Axis {
    /// Ticks for an axis `len_px` long with labels about `font` px tall/wide.
    pub fn ticks(&self, len_px: f64, font: f64, vertical: bool) -> Vec<Tick> {
        let (min, max) = self.scale.bounds();
        let mut out = Vec::new();
        if !(min.is_finite() && max.is_finite() && max > min) {
            return out;
        }
        match (self.ticks, self.scale) {
            (TickKind::LogFreq, Scale::Log { .. }) | (TickKind::LogDecade, Scale::Log { .. }) => {
                let d0 = min.log10().floor() as i32;
                let d1 = max.log10().ceil() as i32;
                let decades = max.log10() - min.log10();
                let few = decades <= 2.5;
                // minor lines only where a decade is long enough to keep them apart
                let decade_px = len_px / decades;
                for d in d0..=d1 {
                    let p = 10f64.powi(d);
                    for m in 1..=9 {
                        let v = m as f64 * p;
                        if !self.scale.contains(v) {
                            continue;
                        }
                        let labelled = match self.ticks {
                            TickKind::LogFreq => m == 1 || m == 2 || m == 5,
                            _ => m == 1 || (few && (m == 2 || m == 5)),
                        };
                        if !labelled && decade_px < 40.0 {
                            continue;
                        }
                        if !labelled && decade_px < 120.0 && m != 2 && m != 5 {
                            continue;
                        }
                        let label = labelled.then(|| match self.ticks {
                            TickKind::LogFreq => units::hz_tick(v),
                            _ => units::short(v),
                        });
                        out.push(Tick {
                            v,
                            label,
                            major: labelled,
                        });
                    }
                }
                // a sweep band that is narrower than one decade may have few labels: add its ends
                if out.iter().filter(|t| t.label.is_some()).count() < 2 {
                    for v in [min, max] {
                        out.push(Tick {
                            v,
                            label: Some(units::hz_tick((v * 10.0).round() / 10.0)),
                            major: true,
                        });
                    }
                }
            }
            (kind, _) => {
                let spacing = if vertical { font * 2.6 } else { font * 6.0 };
                let target = (len_px / spacing).clamp(2.0, 12.0);
                let step = match kind {
                    TickKind::Step(s) if s > 0.0 && (max - min) / s <= 40.0 => s,
                    _ => nice_step((max - min) / target),
                };
                let m = step / 10f64.powf(step.log10().floor());
                let px_per_unit = len_px / (max - min);
                let mut minor_div = if (m - 2.0).abs() < 0.01 { 2.0 } else { 5.0 };
                if step / minor_div * px_per_unit < 12.0 {
                    minor_div = 2.0;
                }
                if step / minor_div * px_per_unit < 12.0 {
                    minor_div = 1.0;
                }
                let minor = step / minor_div;
                let decimals = (-(step.log10() + 1e-9).floor()).max(0.0) as usize;
                let i0 = (min / minor).ceil() as i64;
                let i1 = (max / minor).floor() as i64;
                if i1 - i0 > 2000 {
                    return out;
                }
                for i in i0..=i1 {
                    let v = i as f64 * minor;
                    let k = v / step;
                    let major = (k - k.round()).abs() < 1e-6;
                    let v = if major { k.round() * step } else { v };
                    out.push(Tick {
                        v,
                        label: major.then(|| units::fixed_minus(v, decimals)),
                        major,
                    });
                }
            }
        }
        out
    }
}

/// Percentile of sorted finite values (nearest rank).
/// The nearest-rank `p` quantile of `v` (not empty), which it reorders: a selection, not a
/// sort (a sort of every curve's values was 3 % of a batch's time with plots).
fn percentile(v: &mut [f64], p: f64) -> f64 {
    let n = v.len();
    let i = ((p * (n - 1) as f64).round() as usize).min(n - 1);
    *v.select_nth_unstable_by(i, f64::total_cmp).1
}

/// The y range for a dB axis: the data between its 0.5 % and 99.5 % percentiles, padded by
/// 0.5 dB, widened to at least `min_span` dB around its centre, then rounded outwards to
/// multiples of 5 dB (10 dB when the span exceeds 60 dB).
pub fn db_axis_range(values: &[f64], min_span: f64) -> (f64, f64) {
    let (lo, hi, _) = db_axis_range_step(values, min_span);
    (lo, hi)
}

/// `db_axis_range` and the step it rounded to.
pub(crate) fn db_axis_range_step(values: &[f64], min_span: f64) -> (f64, f64, f64) {
    db_axis_range_q(values, min_span, 0.005, 0.995)
}

/// `db_axis_range_step` between the `q_lo` and `q_hi` quantiles (1.0 keeps every peak).
pub(crate) fn db_axis_range_q(
    values: &[f64],
    min_span: f64,
    q_lo: f64,
    q_hi: f64,
) -> (f64, f64, f64) {
    let min_span = if min_span.is_finite() {
        min_span.max(1.0)
    } else {
        20.0
    };
    let mut v: Vec<f64> = values
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .map(|x| x.clamp(-1000.0, 1000.0))
        .collect();
    if v.is_empty() {
        let lo = -(min_span / 10.0).ceil() * 10.0;
        return (lo, 0.0, if -lo > 60.0 { 10.0 } else { 5.0 });
    }
    let mut lo = percentile(&mut v, q_lo) - 0.5;
    let mut hi = percentile(&mut v, q_hi) + 0.5;
    if hi - lo < min_span {
        let c = (lo + hi) / 2.0;
        lo = c - min_span / 2.0;
        hi = c + min_span / 2.0;
    }
    let step = if hi - lo > 60.0 { 10.0 } else { 5.0 };
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// A log range covering the data in whole decades, clamped to [`floor`, `ceil`], at least
/// `min_decades` wide.
pub(crate) fn log_axis_range(
    values: &[f64],
    floor: f64,
    ceil: f64,
    min_decades: f64,
) -> (f64, f64) {
    let mut v: Vec<f64> = values
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    let (mut d0, mut d1) = if v.is_empty() {
        (floor.log10().floor(), ceil.log10().ceil())
    } else {
        let lo = percentile(&mut v, 0.005).clamp(floor, ceil);
        let hi = percentile(&mut v, 0.995).clamp(lo, ceil);
        // a little headroom so a value on a decade does not sit on the frame
        ((lo.log10() - 0.05).floor(), (hi.log10() + 0.05).ceil())
    };
    let min_decades = min_decades.max(1.0);
    let top = ceil.log10().ceil();
    while d1 - d0 < min_decades {
        if d1 < top {
            d1 += 1.0;
        } else {
            d0 -= 1.0;
        }
    }
    (10f64.powf(d0), 10f64.powf(d1))
}

/// A linear range enclosing [lo, hi] (and zero if `with_zero`), rounded out to nice steps.
pub(crate) fn nice_range(lo: f64, hi: f64, with_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && hi >= lo {
        (lo, hi)
    } else {
        (-1.0, 1.0)
    };
    if with_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo <= 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= d;
        hi += d;
    }
    let step = nice_step((hi - lo) / 8.0);
    ((lo / step).floor() * step, (hi / step).ceil() * step)
}
