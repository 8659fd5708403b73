//! The measurement panels: response (with phase or group delay), distortion, noise, impulse
//! and energy-time curve, and the message drawn where a panel has nothing to show.

use super::axes::*;
use super::canvas::*;
use super::frame::*;
use super::layout::*;
use super::*;
use crate::results::Analysis;
use crate::units;

// ---------------------------------------------------------------------------------------
// Panels

pub(super) fn paint_response(
    c: &mut Canvas,
    rect: Rect,
    a: &Analysis,
    opts: &RenderOptions,
    f: &Fonts,
    compact: bool,
) -> R<()> {
    let series = response_series(a, opts);
    let bands = response_bands(a);
    let refs: Vec<&Series> = series.iter().collect();
    let x = freq_axis(Some(a), &refs);
    // the y range holds the placements' spread too
    let edges: Vec<Series> = bands
        .iter()
        .flat_map(|b| {
            [
                Series::new("", b.x.clone(), b.lo.clone()),
                Series::new("", b.x.clone(), b.hi.clone()),
            ]
        })
        .collect();
    let yv = y_in_band(&refs.iter().copied().chain(&edges).collect::<Vec<_>>(), &x);
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
        y_label: if response_spl_offset_db(a).is_some() {
            format!("Level at the sweep's level (dB SPL{cal})")
        } else {
            format!("Gain (dB{cal})")
        },
        curves,
        bands: bands.iter().map(Band::from_series).collect(),
        extra: bands.iter().map(Band::legend).collect(),
        show_x_labels: true,
        message: if empty {
            vec!["no frequency response data".into()]
        } else {
            Vec::new()
        },
    };
    // below the magnitude: the phase (unwrapped, latency removed) and the group delay
    // (latency removed), each where the analysis has it
    let (phase, delay) = if compact {
        (Vec::new(), Vec::new())
    } else {
        (phase_series(a), group_delay_series(a))
    };
    let mut lower = Vec::new();
    for (series, label) in [(&phase, "Phase (°)"), (&delay, "Delay (ms)")] {
        if series.is_empty() {
            continue;
        }
        let pc: Vec<Curve> = series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut cv = Curve::from_series(s, i, f);
                cv.legend = None;
                cv.stroke.width = (1.5 * f.line).max(1.0);
                cv
            })
            .collect();
        let refs: Vec<&Series> = series.iter().collect();
        let mut v: Vec<f64> = y_in_band(&refs, &x)
            .into_iter()
            .filter(|v| v.is_finite())
            .collect();
        // 2nd to 98th percentile: a group delay spike at a band edge does not flatten the rest
        let (lo, hi) = if v.is_empty() {
            (0.0, 1.0)
        } else {
            let n = v.len();
            let lo = *v.select_nth_unstable_by(n * 2 / 100, f64::total_cmp).1;
            let hi = *v
                .select_nth_unstable_by((n * 98 / 100).min(n - 1), f64::total_cmp)
                .1;
            (lo, hi)
        };
        let (min, max) = nice_range(lo, hi, false);
        lower.push(Panel {
            title: None,
            x: x.clone(),
            y: YRange::Fixed {
                scale: Scale::Lin { min, max },
                ticks: TickKind::Nice,
            },
            y_label: label.into(),
            curves: pc,
            bands: Vec::new(),
            extra: Vec::new(),
            show_x_labels: false,
            message: Vec::new(),
        });
    }
    if lower.is_empty() {
        return paint_panel(c, rect, &main, f);
    }
    main.show_x_labels = false;
    if let Some(last) = lower.last_mut() {
        last.show_x_labels = true;
    }
    let gap = f.tick * 0.6;
    let (top, rest) = rect.split_v(if lower.len() == 2 { 0.56 } else { 0.68 }, gap);
    let mut rects = vec![top];
    if lower.len() == 2 {
        let (m, b) = rest.split_v(0.5, gap);
        rects.extend([m, b]);
    } else {
        rects.push(rest);
    }
    let mut panels = vec![(rects[0], &main)];
    panels.extend(rects[1..].iter().copied().zip(lower.iter()));
    paint_stacked(c, &panels, f)
}

pub(super) fn paint_distortion(
    c: &mut Canvas,
    rect: Rect,
    a: &Analysis,
    f: &Fonts,
    compact: bool,
) -> R<()> {
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
                text: ch.tag(),
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
        bands: Vec::new(),
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
pub(super) fn noise_band(sr: u32) -> String {
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

pub(super) fn paint_noise(
    c: &mut Canvas,
    rect: Rect,
    a: &Analysis,
    opts: &RenderOptions,
    f: &Fonts,
    compact: bool,
) -> R<()> {
    let series = noise_series(a, opts);
    let refs: Vec<&Series> = series.iter().collect();
    let multi = a.channels.len() > 1;
    let title = compact.then(|| {
        if multi {
            format!(
                "Noise floor (noise {}, A-weighted, SNR)",
                noise_band(a.sample_rate)
            )
        } else {
            "Noise floor".to_string()
        }
    });
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
    let mut extra = Vec::new();
    for (k, ch) in a.channels.iter().enumerate() {
        let pre = if multi {
            format!("{} ", ch.tag())
        } else {
            String::new()
        };
        let color = if multi { palette(k) } else { INK };
        let snr = ch
            .snr_db
            .filter(|v| v.is_finite())
            .map(|v| format!("{} dB", units::fixed_minus(v, 1)))
            .unwrap_or_else(|| "n/a".into());
        match &ch.noise {
            // the overview's quarter panel with two sides: one line per side, so that the
            // box leaves the curves room (three lines each covered them below 500 Hz)
            Some(n) if compact && multi => extra.push(Entry::Text {
                text: format!(
                    "{pre}{} dBFS, {} dBFS(A), SNR {snr}",
                    units::fixed_minus(n.rms_dbfs, 1),
                    units::fixed_minus(n.a_weighted_dbfs, 1)
                ),
                color,
                bold: true,
            }),
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
                    text: format!("{pre}SNR: {snr}"),
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
        bands: Vec::new(),
        extra,
        show_x_labels: true,
        message: Vec::new(),
    };
    paint_panel(c, rect, &p, f)
}

/// A titled box with a centred message instead of a chart.
pub(super) fn paint_message(
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
pub(super) fn ir_window(irs: &[&Series]) -> Option<(f64, f64)> {
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

pub(super) fn thin_curve<'a>(s: &'a Series, i: usize, f: &Fonts) -> Curve<'a> {
    let mut cv = Curve::from_series(s, i, f);
    cv.stroke.width = (1.5 * f.line).max(1.0);
    cv
}

pub(super) fn paint_impulse(
    c: &mut Canvas,
    rect: Rect,
    a: &Analysis,
    f: &Fonts,
    compact: bool,
) -> R<()> {
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
        .filter_map(|ch| Some((ch, ch.latency_s.filter(|v| v.is_finite())?)))
        .map(|(ch, latency_s)| {
            if compact {
                format!(
                    "{} {} ms",
                    ch.tag(),
                    units::fixed_minus(latency_s * 1000.0, 2)
                )
            } else {
                format!(
                    "{} {} ms ({} samples)",
                    ch.tag(),
                    units::fixed_minus(latency_s * 1000.0, 2),
                    units::fixed_minus(ch.latency_samples.unwrap_or(f64::NAN), 1)
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
        bands: Vec::new(),
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
        bands: Vec::new(),
        extra: Vec::new(),
        show_x_labels: true,
        message: Vec::new(),
    };
    let (top, bottom) = rect.split_v(0.5, f.tick * 0.8);
    paint_stacked(c, &[(top, &ir), (bottom, &etc)], f)
}
