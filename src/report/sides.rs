//! The left/right page of a two-sided session (`balance.png`): the two sides' 1/6-octave
//! responses, their difference L − R with the balance and the largest difference, and the
//! crosstalk into each undriven ear. Reads only `Analysis`.

use super::axes::*;
use super::canvas::*;
use super::frame::Entry;
use super::layout::*;
use super::pages::analysis_page;
use super::panels::paint_message;
use super::*;
use crate::metrics::sides::DIFFERENCE_SMOOTHING;
use crate::results::Analysis;
use crate::units;

/// The curves drawn, by panel: 0 the sides' 1/6-octave responses, 1 L − R, 2 the crosstalk
/// into each undriven ear (NaN where a point was not measured).
pub fn sides_series(a: &Analysis) -> Vec<Series> {
    let Some(sd) = &a.sides else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, ch) in a.channels.iter().enumerate() {
        let Some(sm) = ch
            .smoothed
            .iter()
            .find(|c| c.fraction == DIFFERENCE_SMOOTHING)
        else {
            continue;
        };
        let (x, y) = broken_at_holes((ch.frequency_response.freq_hz.clone(), sm.gain_db.clone()));
        let mut s = Series::new(format!("{} 1/{DIFFERENCE_SMOOTHING} oct", ch.tag()), x, y);
        s.channel = ch.index;
        s.color = Some(k);
        out.push(s);
    }
    if !sd.difference.freq_hz.is_empty() {
        let (x, y) = broken_at_holes((sd.difference.freq_hz.clone(), sd.difference.db.clone()));
        let mut s = Series::new("L − R", x, y);
        s.panel = 1;
        s.color = Some(2);
        out.push(s);
    }
    for (k, x) in sd.crosstalk.iter().enumerate() {
        if x.freq_hz.is_empty() {
            continue;
        }
        let (fx, fy) = broken_at_holes((x.freq_hz.clone(), x.db.clone()));
        let mut s = Series::new(format!("{} into {}", x.driven, x.into), fx, fy);
        s.panel = 2;
        s.color = Some(3 + k);
        s.style = SeriesStyle::Normal;
        out.push(s);
    }
    out
}

fn db(v: Option<f64>) -> String {
    v.map_or(units::NA.to_string(), |v| {
        format!("{} dB", units::fixed_minus(v, 1))
    })
}

pub(crate) fn sides_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Left and right", 3, |c, r, f| {
        let series = sides_series(a);
        let Some(sd) = a.sides.as_ref().filter(|_| !series.is_empty()) else {
            let lines = vec!["No measured side in this analysis.".to_string()];
            return paint_message(c, r, None, &lines, f);
        };
        let fq = f.scaled(0.85);
        let gap = f.tick * 0.8;
        let (upper, rest) = r.split_v(0.42, gap);
        let (middle, lower) = rest.split_v(0.5, gap);
        let by_panel =
            |p: usize| -> Vec<&Series> { series.iter().filter(|s| s.panel == p).collect() };
        let all: Vec<&Series> = series.iter().collect();
        let x = freq_axis(Some(a), &all);
        // the sides' responses
        let top = by_panel(0);
        let mut extra = vec![Entry::Text {
            text: format!("Balance L − R (250 Hz–4 kHz): {}", db(sd.balance_db)),
            color: INK,
            bold: true,
        }];
        for p in &sd.polarity {
            extra.push(Entry::Text {
                text: format!(
                    "{} polarity: {}",
                    p.side,
                    p.polarity.map_or(units::NA, |p| p.as_str())
                ),
                color: INK,
                bold: false,
            });
        }
        // why a panel has nothing to draw: the notes and warnings about its figure
        let why = |topic: &str| -> Vec<String> {
            let lines: Vec<String> = sd
                .notes
                .iter()
                .chain(&sd.warnings)
                .filter(|n| n.contains(topic))
                .cloned()
                .collect();
            if lines.is_empty() {
                vec!["not measured (summary.md says why)".to_string()]
            } else {
                lines
            }
        };
        let panel = |title: &str,
                     curves: &[&Series],
                     y_label: &str,
                     min_span: f64,
                     extra: Vec<Entry>,
                     topic: &str,
                     c: &mut Canvas,
                     rect: Rect|
         -> R<()> {
            if curves.is_empty() {
                return paint_message(c, rect, Some(title), &why(topic), &fq);
            }
            let yv = y_in_band(curves, &x);
            let (min, max, step) = db_axis_range_q(&yv, min_span, 0.0, 1.0);
            let drawn: Vec<Curve> = series
                .iter()
                .enumerate()
                .filter(|(_, s)| curves.iter().any(|c| std::ptr::eq(*c, *s)))
                .map(|(i, s)| Curve::from_series(s, i, &fq))
                .collect();
            let p = Panel {
                title: Some(title.to_string()),
                x: x.clone(),
                y: YRange::Expandable {
                    scale: Scale::Lin { min, max },
                    step,
                    ticks: TickKind::Nice,
                    limits: (f64::NEG_INFINITY, f64::INFINITY),
                },
                y_label: y_label.into(),
                curves: drawn,
                bands: Vec::new(),
                extra,
                show_x_labels: true,
                message: Vec::new(),
            };
            paint_panel(c, rect, &p, &fq)
        };
        panel(
            "Each side driven alone, heard in its own ear",
            &top,
            "Gain (dB)",
            20.0,
            extra,
            "side",
            c,
            upper,
        )?;
        let diff = vec![Entry::Text {
            text: format!(
                "largest |L − R| 100 Hz–10 kHz: {}{}",
                db(sd.max_difference_db),
                sd.max_difference_hz
                    .map_or(String::new(), |h| format!(" at {}", units::hz(h)))
            ),
            color: INK,
            bold: true,
        }];
        panel(
            "Difference L − R (1/6 octave)",
            &by_panel(1),
            "L − R (dB)",
            4.0,
            diff,
            "difference",
            c,
            middle,
        )?;
        let xt = sd
            .crosstalk
            .iter()
            .map(|x| Entry::Text {
                text: format!(
                    "{} into {}: mean {} (250 Hz–4 kHz), largest {}",
                    x.driven,
                    x.into,
                    db(x.mean_db),
                    db(x.max_db)
                ),
                color: INK,
                bold: false,
            })
            .collect();
        panel(
            "Crosstalk: the undriven ear against the driven one",
            &by_panel(2),
            "Crosstalk (dB)",
            20.0,
            xt,
            "crosstalk",
            c,
            lower,
        )
    })
}
