//! Panels and their layout: curves with their strokes, the y-range rules, and the placement
//! of a legend where it hides the least data (growing the y range if that helps).

use super::axes::*;
use super::canvas::*;
use super::frame::*;
use super::*;
use crate::results::Analysis;

pub(super) type R<T> = std::result::Result<T, String>;

/// Tableau 10: distinguishable, colour-blind-friendlier than primaries.
pub(crate) const PALETTE: [Rgb; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

pub(crate) fn palette(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

pub(crate) fn stroke_for(s: &Series, idx: usize, f: &Fonts) -> Stroke {
    let (w, alpha) = match s.style {
        SeriesStyle::Bold => (3.0, 1.0),
        SeriesStyle::Normal => (2.0, 1.0),
        SeriesStyle::Faint => (1.5, 0.35),
    };
    Stroke {
        color: palette(s.color.unwrap_or(idx)),
        width: (w * f.line).max(1.0),
        alpha,
        dash: s.dashed.then_some((12.0 * f.line, 7.0 * f.line)),
    }
}

/// A curve to draw in a panel.
pub(crate) struct Curve<'a> {
    pub xs: &'a [f64],
    pub ys: &'a [f64],
    pub stroke: Stroke,
    pub rank: u8,
    pub legend: Option<String>,
    pub break_jump: Option<f64>,
}

impl<'a> Curve<'a> {
    pub fn from_series(s: &'a Series, idx: usize, f: &Fonts) -> Curve<'a> {
        Curve {
            xs: &s.x,
            ys: &s.y,
            stroke: stroke_for(s, idx, f),
            rank: match s.style {
                SeriesStyle::Faint => 0,
                SeriesStyle::Normal => 1,
                SeriesStyle::Bold => 2,
            },
            legend: Some(s.name.clone()),
            break_jump: None,
        }
    }
}

/// A shaded range drawn behind a panel's curves (see [`BandSeries`]).
pub(crate) struct Band<'a> {
    pub xs: &'a [f64],
    pub lo: &'a [f64],
    pub hi: &'a [f64],
    pub color: Rgb,
    pub alpha: f64,
}

impl<'a> Band<'a> {
    pub fn from_series(b: &'a BandSeries) -> Band<'a> {
        Band {
            xs: &b.x,
            lo: &b.lo,
            hi: &b.hi,
            color: palette(b.color),
            alpha: b.alpha,
        }
    }

    /// Its legend entry: a swatch of the fill as it looks on white.
    pub fn legend(b: &BandSeries) -> Entry {
        let c = palette(b.color);
        let mix = |v: u8| (255.0 - b.alpha * (255.0 - f64::from(v))).round() as u8;
        Entry::Swatch {
            color: [mix(c[0]), mix(c[1]), mix(c[2])],
            text: b.name.clone(),
        }
    }

    /// Fills, column by column of whole pixels, the range between the band's edges
    /// (interpolated between its points; a gap wider than 1/12 octave, or a NaN, breaks it).
    fn draw(&self, c: &mut Canvas, fr: &Frame) {
        let n = self.xs.len().min(self.lo.len()).min(self.hi.len());
        let pts: Vec<Option<(f64, f64, f64)>> = (0..n)
            .map(|i| {
                let (x, a, b) = (fr.px(self.xs[i]), fr.py(self.lo[i]), fr.py(self.hi[i]));
                (x.is_finite() && a.is_finite() && b.is_finite()).then_some((x, a, b))
            })
            .collect();
        let plot = fr.plot;
        for i in 1..n {
            let (Some(p0), Some(p1)) = (pts[i - 1], pts[i]) else {
                continue;
            };
            if self.xs[i] / self.xs[i - 1] > 2f64.powf(1.0 / 12.0) || p1.0 <= p0.0 {
                continue;
            }
            // the columns whose centres fall in [p0.x, p1.x)
            let first = (p0.0 - 0.5).ceil().max(plot.x0.floor());
            let last = (p1.0 - 0.5).ceil().min(plot.x1.ceil());
            let mut col = first;
            while col < last {
                let t = (col + 0.5 - p0.0) / (p1.0 - p0.0);
                let ya = p0.1 + t * (p1.1 - p0.1);
                let yb = p0.2 + t * (p1.2 - p0.2);
                let (top, bottom) = (ya.min(yb).max(plot.y0), ya.max(yb).min(plot.y1));
                if bottom > top {
                    c.fill_rect(
                        Rect::new(col, top, col + 1.0, bottom),
                        self.color,
                        self.alpha,
                    );
                }
                col += 1.0;
            }
        }
    }
}

/// How a panel's y axis is chosen.
pub(crate) enum YRange {
    /// May grow by `step` at either end (within `limits`) to make room for the legend.
    Expandable {
        scale: Scale,
        step: f64,
        ticks: TickKind,
        limits: (f64, f64),
    },
    Fixed {
        scale: Scale,
        ticks: TickKind,
    },
}

pub(crate) struct Panel<'a> {
    pub title: Option<String>,
    pub x: Axis,
    pub y: YRange,
    pub y_label: String,
    pub curves: Vec<Curve<'a>>,
    /// Shaded ranges behind the curves.
    pub bands: Vec<Band<'a>>,
    pub extra: Vec<Entry>,
    pub show_x_labels: bool,
    /// Drawn centred in the plot area instead of (or over) the curves.
    pub message: Vec<String>,
}

pub(super) struct Prepared {
    frame: Frame,
    legend: Option<(LegendBox, (f64, f64))>,
}

pub(super) fn y_axis(y: &YRange, label: &str, kb: f64, kt: f64) -> Axis {
    let (scale, ticks) = match *y {
        YRange::Fixed { scale, ticks } => (scale, ticks),
        YRange::Expandable {
            scale,
            step,
            ticks,
            limits,
        } => (
            match scale {
                Scale::Lin { min, max } => Scale::Lin {
                    min: (min - kb * step).max(limits.0.min(min)),
                    max: (max + kt * step).min(limits.1.max(max)),
                },
                Scale::Log { min, max } => Scale::Log {
                    min: (min / step.powf(kb)).max(limits.0.min(min)),
                    max: (max * step.powf(kt)).min(limits.1.max(max)),
                },
            },
            ticks,
        ),
    };
    Axis {
        scale,
        ticks,
        label: label.to_string(),
    }
}

#[cfg(test)]
thread_local! {
    /// Each panel laid out on this thread: its title and how much data its legend hides
    /// (0: none), for the tests.
    pub(super) static HIDDEN: std::cell::RefCell<Vec<(Option<String>, f64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Lays out a panel; grows an expandable y range (up to two steps at either end) until the
/// legend fits in a corner without hiding data.
pub(super) fn prepare(
    c: &Canvas,
    rect: Rect,
    p: &Panel,
    f: &Fonts,
    lr: Option<(f64, f64)>,
) -> Prepared {
    let mut entries: Vec<Entry> = p
        .curves
        .iter()
        .filter_map(|cv| {
            cv.legend.as_ref().map(|t| Entry::Line {
                stroke: cv.stroke,
                text: t.clone(),
            })
        })
        .collect();
    entries.extend(p.extra.iter().cloned());
    let exts: &[(f64, f64)] = match p.y {
        YRange::Expandable { .. } => &[
            (0.0, 0.0),
            (1.0, 0.0),
            (0.0, 1.0),
            (1.0, 1.0),
            (2.0, 0.0),
            (0.0, 2.0),
            (2.0, 1.0),
            (1.0, 2.0),
            (2.0, 2.0),
        ],
        YRange::Fixed { .. } => &[(0.0, 0.0)],
    };
    let lb = (!entries.is_empty()).then(|| LegendBox::new(c, entries, f));
    let mut best: Option<(Frame, (f64, f64), f64)> = None;
    for &(kb, kt) in exts {
        let frame = Frame::layout(
            c,
            rect,
            p.title.clone(),
            p.x.clone(),
            y_axis(&p.y, &p.y_label, kb, kt),
            *f,
            p.show_x_labels,
            lr,
        );
        let Some(lb) = &lb else {
            best = Some((frame, (0.0, 0.0), 0.0));
            break;
        };
        let mut runs = Vec::new();
        for cv in &p.curves {
            let w = if cv.rank == 0 { 0.5 } else { 1.0 };
            for r in frame.runs(cv.xs, cv.ys, cv.break_jump) {
                runs.push((r, w));
            }
        }
        let (pos, score) = lb.place(&frame, &runs);
        if best.as_ref().is_none_or(|b| score < b.2) {
            best = Some((frame, pos, score));
        }
        if score == 0.0 {
            break;
        }
    }
    let (frame, pos, hidden) = best.expect("at least one layout");
    #[cfg(test)]
    HIDDEN.with(|h| h.borrow_mut().push((p.title.clone(), hidden)));
    #[cfg(not(test))]
    let _ = hidden;
    Prepared {
        frame,
        legend: lb.map(|lb| (lb, pos)),
    }
}

pub(super) fn draw_prepared(c: &mut Canvas, pr: &Prepared, p: &Panel) -> R<()> {
    draw_prepared_over(c, pr, p, &mut |_, _| Ok(()))
}

/// [`draw_prepared`], with `under` drawing into the plot area after the grid and before the
/// curves (a spectrogram's cells).
pub(super) fn draw_prepared_over(
    c: &mut Canvas,
    pr: &Prepared,
    p: &Panel,
    under: &mut dyn FnMut(&mut Canvas, &Frame) -> R<()>,
) -> R<()> {
    let fr = &pr.frame;
    fr.draw_under(c)?;
    under(c, fr)?;
    for b in &p.bands {
        b.draw(c, fr);
    }
    let mut order: Vec<&Curve> = p.curves.iter().collect();
    order.sort_by_key(|cv| cv.rank);
    for cv in order {
        for run in fr.runs(cv.xs, cv.ys, cv.break_jump) {
            if run.len() == 1 {
                // an isolated point: a visible dot rather than a one-pixel speck
                let mut st = cv.stroke;
                st.width = (st.width * 2.0).max(5.0 * fr.fonts.line);
                st.alpha = st.alpha.max(0.6);
                c.polyline(&run, &st, fr.plot);
            } else {
                c.polyline(&run, &cv.stroke, fr.plot);
            }
        }
    }
    fr.draw_over(c)?;
    if !p.message.is_empty() {
        fr.message(c, &p.message)?;
    }
    if let Some((lb, pos)) = &pr.legend {
        lb.draw(c, *pos, &fr.fonts)?;
    }
    Ok(())
}

pub(super) fn paint_panel(c: &mut Canvas, rect: Rect, p: &Panel, f: &Fonts) -> R<()> {
    let pr = prepare(c, rect, p, f, None);
    draw_prepared(c, &pr, p)
}

/// Two panels stacked with aligned plot areas (same left and right edges).
pub(super) fn paint_stacked(c: &mut Canvas, panels: &[(Rect, &Panel)], f: &Fonts) -> R<()> {
    // one plot area width for all, so that their x axes line up
    let first: Vec<_> = panels
        .iter()
        .map(|(r, p)| prepare(c, *r, p, f, None))
        .collect();
    let lr = first.iter().fold((f64::MIN, f64::MAX), |(l, r), p| {
        (l.max(p.frame.plot.x0), r.min(p.frame.plot.x1))
    });
    for (r, p) in panels {
        let prepared = prepare(c, *r, p, f, Some(lr));
        draw_prepared(c, &prepared, p)?;
    }
    Ok(())
}

/// The frequency axis over the sweep band (or the data, or 20 Hz–20 kHz).
pub(super) fn freq_axis(a: Option<&Analysis>, data: &[&Series]) -> Axis {
    let mut band = a.map(|a| (a.sweep.start_hz, a.sweep.end_hz));
    if !band.is_some_and(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo * 1.01)
    {
        let xs = data
            .iter()
            .flat_map(|s| s.x.iter().copied())
            .filter(|x| x.is_finite() && *x > 0.0);
        let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(l, h), x| (l.min(x), h.max(x)));
        band = Some(if hi > lo * 1.01 {
            (lo, hi)
        } else {
            (20.0, 20000.0)
        });
    }
    let (min, max) = band.unwrap();
    Axis {
        scale: Scale::Log { min, max },
        ticks: TickKind::LogFreq,
        label: "Frequency (Hz)".into(),
    }
}

/// y values of `series` whose x is inside the axis.
pub(super) fn y_in_band(series: &[&Series], x: &Axis) -> Vec<f64> {
    series
        .iter()
        .flat_map(|s| {
            s.x.iter()
                .zip(&s.y)
                .filter(|(xv, _)| x.scale.contains(**xv))
                .map(|(_, y)| *y)
        })
        .collect()
}

pub(super) fn db_yrange(values: &[f64]) -> YRange {
    let (min, max, step) = db_axis_range_step(values, 20.0);
    YRange::Expandable {
        scale: Scale::Lin { min, max },
        step,
        ticks: TickKind::Nice,
        limits: (f64::NEG_INFINITY, f64::INFINITY),
    }
}
