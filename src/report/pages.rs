//! Whole images: the header (title, device, warnings) over one or more panels, the five
//! analysis pages, and the comparison's overlay and bar charts.

use super::axes::*;
use super::canvas::*;
use super::frame::*;
use super::layout::*;
use super::panels::*;
use super::*;
use crate::results::Analysis;
use crate::units;

// ---------------------------------------------------------------------------------------
// Header

/// Device label · kind · rate · date · calibration.
pub(crate) fn describe(a: &Analysis) -> String {
    let mut parts = Vec::new();
    parts.push(
        a.label
            .clone()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| "unlabelled device".into()),
    );
    if let Some(k) = a.kind {
        parts.push(k.to_string());
    }
    parts.push(units::rate(a.sample_rate));
    if let Some(c) = a.created.as_ref().filter(|c| !c.trim().is_empty()) {
        parts.push(units::created(c));
    }
    if let Some(cal) = &a.calibration {
        parts.push(format!("calibrated ({})", cal.file));
    }
    parts.join(" · ")
}

/// All warnings, prefixed with their channel.
pub(crate) fn warnings(a: &Analysis) -> Vec<String> {
    a.channels
        .iter()
        .flat_map(|ch| {
            ch.warnings
                .iter()
                .filter(|w| !w.trim().is_empty())
                .map(move |w| {
                    let w: String = w
                        .trim()
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                    format!("{}: {}", ch.tag(), w)
                })
        })
        .collect()
}

pub(super) fn margin(f: &Fonts) -> f64 {
    (f.title * 0.6).round()
}

/// Draws the title line ("What — device · kind · rate · date") and the warnings under it;
/// returns the y where the content starts.
pub(super) fn header(
    c: &mut Canvas,
    f: &Fonts,
    what: &str,
    desc: &str,
    warns: &[String],
    max_warn: usize,
) -> R<f64> {
    let m = margin(f);
    let maxw = c.w as f64 - 2.0 * m;
    let base = m + f.title * ASCENT * 0.9;
    let what = fit_text(c, what, f.title, maxw, true);
    c.text(&what, m, base, f.title, INK, Align::Left, true)?;
    let ww = c.text_width(&what, f.title, true);
    if !desc.is_empty() {
        let sep = "  —  ";
        let rest = maxw - ww - c.text_width(sep, f.title * 0.8, false);
        if rest > f.title * 3.0 {
            let d = fit_text(c, &format!("{sep}{desc}"), f.title * 0.8, maxw - ww, false);
            c.text(&d, m + ww, base, f.title * 0.8, MUTED, Align::Left, false)?;
        }
    }
    let mut y = base + f.title * 0.35;
    let lines: Vec<String> = if warns.len() > max_warn {
        let mut v: Vec<String> = warns[..max_warn.saturating_sub(1)].to_vec();
        v.push(format!(
            "… and {} more warnings (see summary.md)",
            warns.len() - v.len()
        ));
        v
    } else {
        warns.to_vec()
    };
    for w in &lines {
        y += f.tick * 1.3;
        let t = fit_text(c, &format!("⚠ {w}"), f.tick, maxw, false);
        c.text(&t, m, y, f.tick, WARN, Align::Left, false)?;
    }
    Ok(y + f.tick * 0.6)
}

pub(super) fn content_rect(c: &Canvas, f: &Fonts, top: f64) -> Rect {
    let m = margin(f);
    Rect::new(m * 0.5, top, c.w as f64 - m, c.h as f64 - m * 0.5)
}

pub(super) fn new_canvas(opts: &RenderOptions) -> (Canvas, Fonts) {
    let c = Canvas::new(opts.width, opts.height, [0xff, 0xff, 0xff]);
    let f = Fonts::for_size(opts.width, opts.height);
    (c, f)
}

// ---------------------------------------------------------------------------------------
// Images

/// A page about one analysis: its title, the analysis's description and up to
/// `warning_lines` of its warnings, then `paint` in the rest.
pub(super) fn analysis_page(
    a: &Analysis,
    opts: &RenderOptions,
    title: &str,
    warning_lines: usize,
    paint: impl FnOnce(&mut Canvas, Rect, &Fonts) -> R<()>,
) -> R<Canvas> {
    let (mut c, f) = new_canvas(opts);
    let top = header(&mut c, &f, title, &describe(a), &warnings(a), warning_lines)?;
    let r = content_rect(&c, &f, top);
    paint(&mut c, r, &f)?;
    Ok(c)
}

pub(crate) fn response_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Frequency response", 3, |c, r, f| {
        paint_response(c, r, a, opts, f, false)
    })
}

pub(crate) fn distortion_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    let lvl = if a.sweep.level_dbfs.is_finite() {
        format!(" at {} dBFS", units::fixed_minus(a.sweep.level_dbfs, 1))
    } else {
        String::new()
    };
    analysis_page(a, opts, &format!("Distortion{lvl}"), 3, |c, r, f| {
        paint_distortion(c, r, a, f, false)
    })
}

pub(crate) fn noise_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Noise floor", 3, |c, r, f| {
        paint_noise(c, r, a, opts, f, false)
    })
}

pub(crate) fn impulse_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Impulse response", 3, |c, r, f| {
        paint_impulse(c, r, a, f, false)
    })
}

pub(crate) fn overview_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Measurement overview", 2, |c, r, f| {
        let fq = f.scaled(0.85);
        let gap = f.tick * 0.8;
        let (upper, lower) = r.split_v(0.5, gap);
        let split_h = |r: Rect| {
            let xm = (r.x0 + r.x1) / 2.0;
            (
                Rect::new(r.x0, r.y0, xm - gap / 2.0, r.y1),
                Rect::new(xm + gap / 2.0, r.y0, r.x1, r.y1),
            )
        };
        let (q0, q1) = split_h(upper);
        let (q2, q3) = split_h(lower);
        paint_response(c, q0, a, opts, &fq, true)?;
        paint_distortion(c, q1, a, &fq, true)?;
        paint_noise(c, q2, a, opts, &fq, true)?;
        paint_impulse(c, q3, a, &fq, true)
    })
}

pub(crate) fn overlay_image(
    title: &str,
    y_label: &str,
    curves: &[Series],
    x_range_hz: (f64, f64),
    opts: &RenderOptions,
) -> R<Canvas> {
    let (mut c, f) = new_canvas(opts);
    let top = header(&mut c, &f, title, "", &[], 0)?;
    let r = content_rect(&c, &f, top);
    let refs: Vec<&Series> = curves.iter().collect();
    let (lo, hi) = x_range_hz;
    let x = if lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo * 1.01 {
        Axis {
            scale: Scale::Log { min: lo, max: hi },
            ticks: TickKind::LogFreq,
            label: "Frequency (Hz)".into(),
        }
    } else {
        freq_axis(None, &refs)
    };
    let yv = y_in_band(&refs, &x);
    let y = db_yrange(&yv);
    let empty = curves.is_empty().then_some("no curves");
    one_panel(&mut c, &f, r, x, y, y_label, curves, empty)?;
    Ok(c)
}

/// One panel of `curves` filling `r`, with a message instead when `empty` says so.
#[allow(clippy::too_many_arguments)]
fn one_panel(
    c: &mut Canvas,
    f: &Fonts,
    r: Rect,
    x: Axis,
    y: YRange,
    y_label: &str,
    curves: &[Series],
    empty: Option<&str>,
) -> R<()> {
    let p = Panel {
        title: None,
        x,
        y,
        y_label: y_label.to_string(),
        curves: curves
            .iter()
            .enumerate()
            .map(|(i, s)| Curve::from_series(s, i, f))
            .collect(),
        bands: Vec::new(),
        extra: Vec::new(),
        show_x_labels: true,
        message: empty.map(|m| vec![m.to_string()]).unwrap_or_default(),
    };
    paint_panel(c, r, &p, f)
}

/// A figure against a linear x (e.g. a metric over units, `sweeplab results --trend`).
pub(crate) fn trend_image(
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Series],
    opts: &RenderOptions,
) -> R<Canvas> {
    let (mut c, f) = new_canvas(opts);
    let top = header(&mut c, &f, title, "", &[], 0)?;
    let r = content_rect(&c, &f, top);
    let finite = |v: &&f64| v.is_finite();
    let xs: Vec<f64> = curves
        .iter()
        .flat_map(|s| s.x.iter())
        .filter(finite)
        .copied()
        .collect();
    let ys: Vec<f64> = curves
        .iter()
        .flat_map(|s| s.y.iter())
        .filter(finite)
        .copied()
        .collect();
    let (x0, x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (x0, x1) = if x1 > x0 {
        (x0, x1)
    } else {
        (x0 - 1.0, x0 + 1.0)
    };
    let (y0, y1) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
            (a.min(y), b.max(y))
        });
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let (ylo, yhi) = nice_range(y0 - pad, y1 + pad, false);
    let x = Axis {
        scale: Scale::Lin { min: x0, max: x1 },
        // units are counted: whole-number ticks while they fit, nice ones beyond
        ticks: if x1 - x0 <= 20.0 {
            TickKind::Step(1.0)
        } else {
            TickKind::Nice
        },
        label: x_label.to_string(),
    };
    let y = YRange::Fixed {
        scale: Scale::Lin { min: ylo, max: yhi },
        ticks: TickKind::Nice,
    };
    let empty = ys.is_empty().then_some("nothing to plot");
    one_panel(&mut c, &f, r, x, y, y_label, curves, empty)?;
    Ok(c)
}

/// A bar value label: three significant digits, no trailing zeros.
pub(super) fn fmt_bar(v: f64) -> String {
    let a = v.abs();
    let d = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a > 0.0 {
        ((2.0 - a.log10().floor()) as usize).min(6)
    } else {
        0
    };
    let s = units::fixed_minus(v, d);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Grouped bars as small multiples: one panel per category with its own y axis (categories
/// usually have different units), one colour per group, a shared legend.
pub(crate) fn bars_image(
    title: &str,
    categories: &[String],
    groups: &[(String, Vec<Option<f64>>)],
    opts: &RenderOptions,
) -> R<Canvas> {
    let (mut c, f) = new_canvas(opts);
    let top = header(&mut c, &f, title, "", &[], 0)?;
    let r = content_rect(&c, &f, top);
    let entries: Vec<Entry> = groups
        .iter()
        .enumerate()
        .map(|(i, (name, _))| Entry::Swatch {
            color: palette(i),
            text: name.clone(),
        })
        .collect();
    if categories.is_empty() || groups.is_empty() {
        return paint_message(&mut c, r, None, &["no metrics to compare".to_string()], &f)
            .map(|_| c);
    }
    // the legend is a row above the panels, right-aligned, so it never hides a bar
    let lb = LegendBox::new(&c, entries, &f);
    lb.draw(&mut c, (r.x1 - lb.w, r.y0), &f)?;
    let r = Rect::new(r.x0, r.y0 + lb.h + f.legend * 0.4, r.x1, r.y1);
    let n = categories.len();
    let cols = n.min(4);
    let rows = n.div_ceil(cols);
    let gap = f.tick * 1.2;
    let cw = (r.w() - gap * (cols - 1) as f64) / cols as f64;
    let rh = (r.h() - gap * (rows - 1) as f64) / rows as f64;
    let fq = if n > 4 { f.scaled(0.85) } else { f };
    for (ci, cat) in categories.iter().enumerate() {
        let (col, row) = (ci % cols, ci / cols);
        let cell = Rect::new(
            r.x0 + col as f64 * (cw + gap),
            r.y0 + row as f64 * (rh + gap),
            r.x0 + col as f64 * (cw + gap) + cw,
            r.y0 + row as f64 * (rh + gap) + rh,
        );
        let vals: Vec<Option<f64>> = groups
            .iter()
            .map(|(_, v)| v.get(ci).copied().flatten().filter(|v| v.is_finite()))
            .collect();
        let lo = vals.iter().flatten().copied().fold(0.0f64, f64::min);
        let hi = vals.iter().flatten().copied().fold(0.0f64, f64::max);
        let pad = (hi - lo).max(1e-12) * 0.12;
        let (ymin, ymax) = nice_range(
            if lo < 0.0 { lo - pad } else { lo },
            if hi > 0.0 { hi + pad } else { hi },
            true,
        );
        let mut frame = Frame::layout(
            &c,
            cell,
            Some(cat.clone()),
            Axis {
                scale: Scale::Lin { min: 0.0, max: 1.0 },
                ticks: TickKind::Step(1.0),
                label: String::new(),
            },
            Axis {
                scale: Scale::Lin {
                    min: ymin,
                    max: ymax,
                },
                ticks: TickKind::Nice,
                label: String::new(),
            },
            fq,
            false,
            None,
        );
        frame.xticks.clear();
        frame.draw_under(&mut c)?;
        let zero = frame.py(0.0);
        let ng = groups.len();
        let bw = frame.plot.w() * 0.8 / ng as f64;
        let size = (fq.tick * 0.9).min(bw * 0.5).max(8.0);
        for (gi, v) in vals.iter().enumerate() {
            let x0 = frame.plot.x0 + frame.plot.w() * 0.1 + bw * gi as f64;
            let cx = x0 + bw / 2.0;
            match v {
                Some(v) => {
                    let y = frame.py(*v).clamp(frame.plot.y0, frame.plot.y1);
                    c.fill_rect(
                        Rect::new(x0 + bw * 0.08, y.min(zero), x0 + bw * 0.92, y.max(zero)),
                        palette(gi),
                        1.0,
                    );
                    let ty = if *v >= 0.0 {
                        y - size * 0.35
                    } else {
                        y + size * (CAP + 0.35)
                    };
                    c.text(&fmt_bar(*v), cx, ty, size, INK, Align::Center, false)?;
                }
                None => {
                    c.text(
                        "n/a",
                        cx,
                        zero - size * 0.35,
                        size,
                        MUTED,
                        Align::Center,
                        false,
                    )?;
                }
            }
        }
        c.hline(
            frame.plot.x0,
            frame.plot.x1,
            zero,
            fq.grid(),
            super::axes::FRAME,
        );
        frame.draw_over(&mut c)?;
    }
    Ok(c)
}
