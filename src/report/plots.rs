//! The images: a header (title, device, warnings) and one or more panels.

use super::axes::{
    Axis, Entry, Fonts, Frame, INK, LegendBox, MUTED, Scale, TickKind, WARN, db_axis_range_q,
    db_axis_range_step, fit_text, log_axis_range, nice_range,
};
use super::canvas::{ASCENT, Align, CAP, Canvas, Rect, Rgb, Stroke};
use super::{
    ETC_FLOOR_DB, RenderOptions, Series, SeriesStyle, distortion_series, impulse_series,
    noise_series, phase_series, response_series,
};
use crate::results::Analysis;
use crate::units;

type R<T> = std::result::Result<T, String>;

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
    pub extra: Vec<Entry>,
    pub show_x_labels: bool,
    /// Drawn centred in the plot area instead of (or over) the curves.
    pub message: Vec<String>,
}

struct Prepared {
    frame: Frame,
    legend: Option<(LegendBox, (f64, f64))>,
}

fn y_axis(y: &YRange, label: &str, kb: f64, kt: f64) -> Axis {
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

/// Lays out a panel; grows an expandable y range (up to two steps at either end) until the
/// legend fits in a corner without hiding data.
fn prepare(c: &Canvas, rect: Rect, p: &Panel, f: &Fonts, lr: Option<(f64, f64)>) -> Prepared {
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
    let (frame, pos, _) = best.expect("at least one layout");
    Prepared {
        frame,
        legend: lb.map(|lb| (lb, pos)),
    }
}

fn draw_prepared(c: &mut Canvas, pr: &Prepared, p: &Panel) -> R<()> {
    let fr = &pr.frame;
    fr.draw_under(c)?;
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

fn paint_panel(c: &mut Canvas, rect: Rect, p: &Panel, f: &Fonts) -> R<()> {
    let pr = prepare(c, rect, p, f, None);
    draw_prepared(c, &pr, p)
}

/// Two panels stacked with aligned plot areas (same left and right edges).
fn paint_stacked(c: &mut Canvas, top: (Rect, &Panel), bottom: (Rect, &Panel), f: &Fonts) -> R<()> {
    let a = prepare(c, top.0, top.1, f, None);
    let b = prepare(c, bottom.0, bottom.1, f, None);
    let lr = (
        a.frame.plot.x0.max(b.frame.plot.x0),
        a.frame.plot.x1.min(b.frame.plot.x1),
    );
    let a = prepare(c, top.0, top.1, f, Some(lr));
    let b = prepare(c, bottom.0, bottom.1, f, Some(lr));
    draw_prepared(c, &a, top.1)?;
    draw_prepared(c, &b, bottom.1)
}

/// The frequency axis over the sweep band (or the data, or 20 Hz–20 kHz).
fn freq_axis(a: Option<&Analysis>, data: &[&Series]) -> Axis {
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
fn y_in_band(series: &[&Series], x: &Axis) -> Vec<f64> {
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

fn db_yrange(values: &[f64]) -> YRange {
    let (min, max, step) = db_axis_range_step(values, 20.0);
    YRange::Expandable {
        scale: Scale::Lin { min, max },
        step,
        ticks: TickKind::Nice,
        limits: (f64::NEG_INFINITY, f64::INFINITY),
    }
}

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
                    format!("ch{}: {}", ch.index, w)
                })
        })
        .collect()
}

fn margin(f: &Fonts) -> f64 {
    (f.title * 0.6).round()
}

/// Draws the title line ("What — device · kind · rate · date") and the warnings under it;
/// returns the y where the content starts.
fn header(
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

fn content_rect(c: &Canvas, f: &Fonts, top: f64) -> Rect {
    let m = margin(f);
    Rect::new(m * 0.5, top, c.w as f64 - m, c.h as f64 - m * 0.5)
}

fn new_canvas(opts: &RenderOptions) -> (Canvas, Fonts) {
    let c = Canvas::new(opts.width, opts.height, [0xff, 0xff, 0xff]);
    let f = Fonts::for_size(opts.width, opts.height);
    (c, f)
}

// ---------------------------------------------------------------------------------------
// Panels

fn paint_response(
    c: &mut Canvas,
    rect: Rect,
    a: &Analysis,
    opts: &RenderOptions,
    f: &Fonts,
    compact: bool,
) -> R<()> {
    let series = response_series(a, opts);
    let refs: Vec<&Series> = series.iter().collect();
    let x = freq_axis(Some(a), &refs);
    let yv = y_in_band(&refs, &x);
    let curves: Vec<Curve> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Curve::from_series(s, i, f))
        .collect();
    let empty = yv.iter().all(|v| !v.is_finite());
    let cal = if a.calibration.is_some() {
        ", calibrated"
    } else {
        ""
    };
    let mut main = Panel {
        title: compact.then(|| "Frequency response".to_string()),
        x: x.clone(),
        y: db_yrange(&yv),
        y_label: format!("Gain (dB{cal})"),
        curves,
        extra: Vec::new(),
        show_x_labels: true,
        message: if empty {
            vec!["no frequency response data".into()]
        } else {
            Vec::new()
        },
    };
    let phase = if compact { Vec::new() } else { phase_series(a) };
    if phase.is_empty() {
        return paint_panel(c, rect, &main, f);
    }
    let is_phase = phase[0].name.ends_with("phase");
    let pc: Vec<Curve> = phase
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut cv = Curve::from_series(s, i, f);
            cv.legend = None;
            cv.stroke.width = (1.5 * f.line).max(1.0);
            if is_phase {
                cv.break_jump = Some(180.0);
            }
            cv
        })
        .collect();
    let y = if is_phase {
        YRange::Fixed {
            scale: Scale::Lin {
                min: -180.0,
                max: 180.0,
            },
            ticks: TickKind::Step(90.0),
        }
    } else {
        let refs: Vec<&Series> = phase.iter().collect();
        let mut v: Vec<f64> = y_in_band(&refs, &x)
            .into_iter()
            .filter(|v| v.is_finite())
            .collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let (lo, hi) = if v.is_empty() {
            (0.0, 1.0)
        } else {
            (
                v[v.len() * 2 / 100],
                v[(v.len() * 98 / 100).min(v.len() - 1)],
            )
        };
        let (min, max) = nice_range(lo, hi, false);
        YRange::Fixed {
            scale: Scale::Lin { min, max },
            ticks: TickKind::Nice,
        }
    };
    main.show_x_labels = false;
    let lower = Panel {
        title: None,
        x,
        y,
        y_label: if is_phase {
            "Phase (°)".into()
        } else {
            "Group delay (ms)".into()
        },
        curves: pc,
        extra: Vec::new(),
        show_x_labels: true,
        message: Vec::new(),
    };
    let (top, bottom) = rect.split_v(0.68, f.tick * 0.6);
    paint_stacked(c, (top, &main), (bottom, &lower), f)
}

fn paint_distortion(c: &mut Canvas, rect: Rect, a: &Analysis, f: &Fonts, compact: bool) -> R<()> {
    let series = distortion_series(a);
    let refs: Vec<&Series> = series.iter().collect();
    let x = freq_axis(Some(a), &refs);
    let yv = y_in_band(&refs, &x);
    let (min, max) = log_axis_range(&yv, 1e-4, 1000.0, 2.0);
    // legend by order (colour) and, with several channels, by channel (line style)
    let mut extra = Vec::new();
    let mut seen = Vec::new();
    for s in &series {
        let what = s.name.split_once(' ').map_or(s.name.as_str(), |(_, w)| w);
        if !seen.contains(&what.to_string()) {
            seen.push(what.to_string());
            let mut st = stroke_for(s, 0, f);
            st.dash = None;
            extra.push(Entry::Line {
                stroke: st,
                text: what.to_string(),
            });
        }
    }
    if a.channels.len() > 1 {
        for (k, ch) in a.channels.iter().enumerate() {
            extra.push(Entry::Line {
                stroke: Stroke {
                    color: MUTED,
                    width: 2.0 * f.line,
                    alpha: 1.0,
                    dash: (k > 0).then_some((12.0 * f.line, 7.0 * f.line)),
                },
                text: format!("ch{}", ch.index),
            });
        }
    }
    let curves: Vec<Curve> = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut cv = Curve::from_series(s, i, f);
            cv.legend = None;
            cv
        })
        .collect();
    let empty = !yv.iter().any(|v| v.is_finite() && *v > 0.0);
    let p = Panel {
        title: compact.then(|| "Distortion".to_string()),
        x,
        y: YRange::Expandable {
            scale: Scale::Log { min, max },
            step: 10.0,
            ticks: TickKind::LogDecade,
            limits: (1e-4, 100.0),
        },
        y_label: "THD, harmonics (% of fundamental)".into(),
        curves,
        extra,
        show_x_labels: true,
        message: if empty {
            vec!["no distortion data".into()]
        } else {
            Vec::new()
        },
    };
    paint_panel(c, rect, &p, f)
}

/// "20 Hz–20 kHz" for the AES17 noise band (up to Nyquist).
fn noise_band(sr: u32) -> String {
    let hi = if sr > 0 {
        (sr as f64 / 2.0).min(20000.0)
    } else {
        20000.0
    };
    let hi = if hi >= 1000.0 {
        format!("{} kHz", units::short((hi / 100.0).round() / 10.0))
    } else {
        format!("{} Hz", hi.round())
    };
    format!("20 Hz–{hi}")
}

fn paint_noise(
    c: &mut Canvas,
    rect: Rect,
    a: &Analysis,
    opts: &RenderOptions,
    f: &Fonts,
    compact: bool,
) -> R<()> {
    let series = noise_series(a, opts);
    let refs: Vec<&Series> = series.iter().collect();
    let title = compact.then(|| "Noise floor".to_string());
    let measured = a.channels.iter().filter(|ch| ch.noise.is_some()).count();
    if measured == 0 {
        let lines = if a.channels.is_empty() {
            vec!["no channels analysed".to_string()]
        } else {
            vec![
                "no pre-roll silence: noise floor not measured".to_string(),
                "(record with silence before the sweep, e.g. --pre 1.0)".to_string(),
            ]
        };
        return paint_message(c, rect, title.as_deref(), &lines, f);
    }
    let x = freq_axis(Some(a), &refs);
    let yv = y_in_band(&refs, &x);
    let curves: Vec<Curve> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Curve::from_series(s, i, f))
        .collect();
    let multi = a.channels.len() > 1;
    let mut extra = Vec::new();
    for (k, ch) in a.channels.iter().enumerate() {
        let pre = if multi {
            format!("ch{} ", ch.index)
        } else {
            String::new()
        };
        let color = if multi { palette(k) } else { INK };
        match &ch.noise {
            Some(n) => {
                extra.push(Entry::Text {
                    text: format!(
                        "{pre}Noise {}: {} dBFS",
                        noise_band(a.sample_rate),
                        units::fixed_minus(n.rms_dbfs, 1)
                    ),
                    color,
                    bold: true,
                });
                extra.push(Entry::Text {
                    text: format!(
                        "{pre}A-weighted: {} dBFS(A)",
                        units::fixed_minus(n.a_weighted_dbfs, 1)
                    ),
                    color,
                    bold: false,
                });
                extra.push(Entry::Text {
                    text: format!(
                        "{pre}SNR: {}",
                        ch.snr_db
                            .filter(|v| v.is_finite())
                            .map(|v| format!("{} dB", units::fixed_minus(v, 1)))
                            .unwrap_or_else(|| "n/a".into())
                    ),
                    color,
                    bold: false,
                });
            }
            None => extra.push(Entry::Text {
                text: format!("{pre}no pre-roll silence: not measured"),
                color,
                bold: false,
            }),
        }
    }
    // every peak (mains hum) stays on the plot; only the deepest 0.5 % of dips may be cut
    let (min, max, step) = db_axis_range_q(&yv, 20.0, 0.005, 1.0);
    let p = Panel {
        title,
        x,
        y: YRange::Expandable {
            scale: Scale::Lin { min, max },
            step,
            ticks: TickKind::Nice,
            limits: (f64::NEG_INFINITY, f64::INFINITY),
        },
        y_label: "Noise PSD (dBFS/Hz)".into(),
        curves,
        extra,
        show_x_labels: true,
        message: Vec::new(),
    };
    paint_panel(c, rect, &p, f)
}

/// A titled box with a centred message instead of a chart.
fn paint_message(
    c: &mut Canvas,
    rect: Rect,
    title: Option<&str>,
    lines: &[String],
    f: &Fonts,
) -> R<()> {
    let mut r = rect.inset(f.label * 1.4, f.tick * 0.7, f.tick * 0.8, f.tick * 0.6);
    if let Some(t) = title {
        c.text(t, r.x0, rect.y0 + f.label, f.label, INK, Align::Left, true)?;
        r.y0 = rect.y0 + f.label * 1.55;
    }
    c.fill_rect(r, [0xf6, 0xf6, 0xf6], 1.0);
    c.stroke_rect(r, f.grid(), [0xb0, 0xb0, 0xb0]);
    let lh = f.label * 1.5;
    let y0 = (r.y0 + r.y1) / 2.0 - lh * (lines.len() as f64 - 1.0) / 2.0;
    for (i, l) in lines.iter().enumerate() {
        let size = if i == 0 { f.label } else { f.tick };
        let l = fit_text(c, l, size, r.w() * 0.95, false);
        c.text(
            &l,
            (r.x0 + r.x1) / 2.0,
            y0 + i as f64 * lh + size * CAP / 2.0,
            size,
            if i == 0 { INK } else { MUTED },
            Align::Center,
            false,
        )?;
    }
    Ok(())
}

/// The IR display window (ms re peak): from a little before the first sample above −40 dB
/// re peak to a little after the last one.
fn ir_window(irs: &[&Series]) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in irs {
        let peak =
            s.y.iter()
                .filter(|v| v.is_finite())
                .fold(0.0f64, |m, v| m.max(v.abs()));
        let xs = &s.x;
        if xs.is_empty() {
            continue;
        }
        let thr = peak * 0.01;
        let idx: Vec<usize> = (0..s.y.len().min(xs.len()))
            .filter(|&i| s.y[i].is_finite() && s.y[i].abs() >= thr && peak > 0.0)
            .collect();
        let (t0, t1) = match (idx.first(), idx.last()) {
            (Some(&a), Some(&b)) => (xs[a], xs[b]),
            _ => (xs[0], xs[xs.len() - 1]),
        };
        let len = (t1 - t0).max(0.0);
        let a = t0.min(0.0) - (0.25 * len).max(0.5);
        let b = t1.max(0.0) + (0.5 * len).max(2.0);
        let (d0, d1) = (xs[0].min(xs[xs.len() - 1]), xs[0].max(xs[xs.len() - 1]));
        lo = lo.min(a.max(d0));
        hi = hi.max(b.min(d1));
    }
    (lo.is_finite() && hi.is_finite() && hi > lo).then_some((lo, hi))
}

fn thin_curve<'a>(s: &'a Series, i: usize, f: &Fonts) -> Curve<'a> {
    let mut cv = Curve::from_series(s, i, f);
    cv.stroke.width = (1.5 * f.line).max(1.0);
    cv
}

fn paint_impulse(c: &mut Canvas, rect: Rect, a: &Analysis, f: &Fonts, compact: bool) -> R<()> {
    let series = impulse_series(a);
    let irs: Vec<&Series> = series.iter().filter(|s| s.panel == 0).collect();
    let etcs: Vec<&Series> = series.iter().filter(|s| s.panel == 1).collect();
    let title = "Impulse response".to_string();
    let Some((w0, w1)) = ir_window(&irs) else {
        let msg = if a.channels.iter().all(|ch| ch.impulse.samples.is_empty()) {
            "no impulse response"
        } else {
            "impulse response: nothing to plot (too short, silent or no sample rate)"
        };
        return paint_message(
            c,
            rect,
            compact.then_some(title.as_str()),
            &[msg.to_string()],
            f,
        );
    };
    let (t0, t1) = (w0, w1);
    let mut ymin = 0.0f64;
    let mut ymax = 0.0f64;
    for s in &irs {
        for (x, y) in s.x.iter().zip(&s.y) {
            if *x >= t0 && *x <= t1 && y.is_finite() {
                ymin = ymin.min(*y);
                ymax = ymax.max(*y);
            }
        }
    }
    let (ylo, yhi) = nice_range(ymin * 1.05, ymax * 1.05, true);
    let lat: Vec<String> = a
        .channels
        .iter()
        .filter(|ch| ch.latency_s.is_finite())
        .map(|ch| {
            if compact {
                format!(
                    "ch{} {} ms",
                    ch.index,
                    units::fixed_minus(ch.latency_s * 1000.0, 2)
                )
            } else {
                format!(
                    "ch{} {} ms ({} samples)",
                    ch.index,
                    units::fixed_minus(ch.latency_s * 1000.0, 2),
                    units::fixed_minus(ch.latency_samples, 1)
                )
            }
        })
        .collect();
    let lat = if lat.is_empty() {
        String::new()
    } else {
        format!("latency: {}", lat.join(", "))
    };
    let time_label = "Time re IR peak (ms)".to_string();
    let ir = Panel {
        title: Some(if compact && !lat.is_empty() {
            format!("Impulse response ({lat})")
        } else if compact {
            "Impulse response".into()
        } else if lat.is_empty() {
            "Linear impulse response".into()
        } else {
            // the image title already says "Impulse response"
            let mut l = lat.clone();
            l.replace_range(..1, "L");
            l
        }),
        x: Axis {
            scale: Scale::Lin { min: t0, max: t1 },
            ticks: TickKind::Nice,
            label: time_label.clone(),
        },
        y: YRange::Fixed {
            scale: Scale::Lin { min: ylo, max: yhi },
            ticks: TickKind::Nice,
        },
        y_label: "Amplitude".into(),
        curves: irs
            .iter()
            .enumerate()
            .map(|(i, s)| thin_curve(s, i, f))
            .collect(),
        extra: Vec::new(),
        show_x_labels: true,
        message: Vec::new(),
    };
    let (e0, e1) = etcs
        .iter()
        .flat_map(|s| s.x.iter().copied())
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        });
    let (e0, e1) = if e1 > e0 { (e0, e1) } else { (t0, t1) };
    let etc = Panel {
        title: Some("Energy-time curve, 20·log10|h|".into()),
        x: Axis {
            scale: Scale::Lin { min: e0, max: e1 },
            ticks: TickKind::Nice,
            label: time_label,
        },
        y: YRange::Fixed {
            scale: Scale::Lin {
                min: ETC_FLOOR_DB - 5.0,
                max: 5.0,
            },
            ticks: TickKind::Step(if compact { 20.0 } else { 10.0 }),
        },
        y_label: "dB re peak".into(),
        curves: etcs
            .iter()
            .enumerate()
            .map(|(i, s)| thin_curve(s, i, f))
            .collect(),
        extra: Vec::new(),
        show_x_labels: true,
        message: Vec::new(),
    };
    let (top, bottom) = rect.split_v(0.5, f.tick * 0.8);
    paint_stacked(c, (top, &ir), (bottom, &etc), f)
}

// ---------------------------------------------------------------------------------------
// Images

/// A page about one analysis: its title, the analysis's description and up to
/// `warning_lines` of its warnings, then `paint` in the rest.
fn analysis_page(
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
    let p = Panel {
        title: None,
        y: db_yrange(&yv),
        x,
        y_label: y_label.to_string(),
        curves: curves
            .iter()
            .enumerate()
            .map(|(i, s)| Curve::from_series(s, i, &f))
            .collect(),
        extra: Vec::new(),
        show_x_labels: true,
        message: if curves.is_empty() {
            vec!["no curves".into()]
        } else {
            Vec::new()
        },
    };
    paint_panel(&mut c, r, &p, &f)?;
    Ok(c)
}

/// A bar value label: three significant digits, no trailing zeros.
fn fmt_bar(v: f64) -> String {
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
