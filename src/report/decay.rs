//! The cumulative spectral decay page: one curve per slice, from dark (the first, at the
//! impulse response's peak) to light (the last), on the response's frequency axis; points
//! not measured (in the noise) are not drawn. Reads only `Analysis`.

use super::axes::*;
use super::canvas::*;
use super::frame::Entry;
use super::layout::*;
use super::pages::analysis_page;
use super::panels::paint_message;
use super::*;
use crate::results::Analysis;

/// The first slice's colour and the last one's: a dark blue fading to a pale one.
const FIRST: Rgb = [0x0b, 0x3c, 0x78];
const LAST: Rgb = [0xb8, 0xd4, 0xee];

fn ramp(t: f64) -> Rgb {
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    [
        mix(FIRST[0], LAST[0]),
        mix(FIRST[1], LAST[1]),
        mix(FIRST[2], LAST[2]),
    ]
}

/// One slice as drawn: its start (ms), frequencies and levels (NaN where not measured).
pub type DecaySlice = (f64, Vec<f64>, Vec<f64>);

/// The data drawn: the slices of the first channel that has a decay, and its name.
pub fn decay_series(a: &Analysis) -> Option<(String, Vec<DecaySlice>)> {
    let ch = a.channels.iter().find(|c| c.csd.is_some())?;
    let csd = ch.csd.as_ref()?;
    let slices = csd
        .start_ms
        .iter()
        .zip(&csd.level_db)
        .map(|(&t, row)| {
            let y = row.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            (t, csd.freq_hz.clone(), y)
        })
        .collect();
    Some((ch.tag(), slices))
}

pub(crate) fn decay_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Cumulative spectral decay", 3, |c, r, f| {
        let Some((index, slices)) = decay_series(a) else {
            let lines =
                vec!["No decay measured: no channel holds the sweep above its noise.".to_string()];
            return paint_message(c, r, None, &lines, f);
        };
        let n = slices.len().max(2);
        let width = (2.0 * f.line).max(1.0);
        let mut curves = Vec::new();
        let mut extra = Vec::new();
        let labelled = [0, n / 4, n / 2, 3 * n / 4, n - 1];
        // back to front: the late, pale slices first, the first slice on top
        for (k, (t, x, y)) in slices.iter().enumerate().rev() {
            let stroke = Stroke {
                color: ramp(k as f64 / (n - 1) as f64),
                width: if k == 0 { width * 1.5 } else { width },
                alpha: 1.0,
                dash: None,
            };
            curves.push(Curve {
                xs: x,
                ys: y,
                stroke,
                rank: if k == 0 { 2 } else { 1 },
                legend: None,
                break_jump: None,
            });
            if labelled.contains(&k) {
                extra.push(Entry::Line {
                    stroke,
                    text: format!("{t:.1} ms"),
                });
            }
        }
        extra.reverse();
        extra.insert(
            0,
            Entry::Text {
                text: format!("{index}, slices to the window's end"),
                color: INK,
                bold: true,
            },
        );
        let all: Vec<f64> = slices
            .iter()
            .flat_map(|(_, _, y)| y.iter().copied())
            .filter(|v| v.is_finite())
            .collect();
        let x = freq_axis(Some(a), &[]);
        let p = Panel {
            title: None,
            x,
            y: db_yrange(&all),
            y_label: "Level re the first slice's peak (dB)".into(),
            curves,
            bands: Vec::new(),
            extra,
            show_x_labels: true,
            message: Vec::new(),
        };
        paint_panel(c, r, &p, f)
    })
}
