//! The spectrogram page: each capture channel's level over time (x) and 1/6-octave bands
//! (y, log), coloured from dark (90 dB below the loudest cell, or silence) to pale yellow
//! (the loudest). Reads only `Analysis`.

use super::axes::*;
use super::canvas::*;
use super::frame::Entry;
use super::layout::*;
use super::pages::analysis_page;
use super::panels::paint_message;
use super::*;
use crate::results::{Analysis, Spectrogram};
use crate::units;

/// The colour scale's range below the loudest cell, dB.
const RANGE_DB: f64 = 90.0;

/// Stops of the colour scale, from the bottom of the range to the top (after matplotlib's
/// "magma": dark, purple, red, orange, pale yellow; readable in grey too).
const STOPS: [Rgb; 5] = [
    [0x00, 0x00, 0x04],
    [0x51, 0x12, 0x7c],
    [0xb7, 0x37, 0x79],
    [0xfc, 0x89, 0x61],
    [0xfc, 0xfd, 0xbf],
];

/// The colour of `t` in 0…1 of the range.
fn color_at(t: f64) -> Rgb {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let u = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * u).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    [mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2])]
}

/// The loudest cell of the channels' spectrograms, rounded up to 10 dB.
fn top_db(s: &[&Spectrogram]) -> Option<f64> {
    let m = s
        .iter()
        .flat_map(|s| s.level_dbfs.iter().flatten().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    m.is_finite().then(|| (m / 10.0).ceil() * 10.0)
}

pub(crate) fn spectrogram_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Spectrogram of the capture", 3, |c, r, f| {
        let chans: Vec<(String, &Spectrogram)> = a
            .channels
            .iter()
            .filter_map(|ch| ch.spectrogram.as_ref().map(|s| (ch.tag(), s)))
            .filter(|(_, s)| s.time_s.len() >= 2 && s.freq_hz.len() >= 2)
            .collect();
        let all: Vec<&Spectrogram> = chans.iter().map(|(_, s)| *s).collect();
        let Some(top) = top_db(&all) else {
            let lines = vec!["No spectrogram: the capture is too short or silent.".to_string()];
            return paint_message(c, r, None, &lines, f);
        };
        let gap = f.tick * 0.8;
        let n = chans.len();
        let h = (r.h() - gap * (n - 1) as f64) / n as f64;
        for (k, (index, s)) in chans.iter().enumerate() {
            let y0 = r.y0 + k as f64 * (h + gap);
            let rect = Rect::new(r.x0, y0, r.x1, y0 + h);
            paint_one(c, rect, index, s, top, n > 1, f)?;
        }
        Ok(())
    })
}

fn paint_one(
    c: &mut Canvas,
    rect: Rect,
    index: &str,
    s: &Spectrogram,
    top: f64,
    titled: bool,
    f: &Fonts,
) -> R<()> {
    let half_band = 2f64.powf(1.0 / 12.0);
    let (f_lo, f_hi) = (
        s.freq_hz[0] / half_band,
        s.freq_hz[s.freq_hz.len() - 1] * half_band,
    );
    let step = s.time_s[1] - s.time_s[0];
    let t_end = s.time_s[s.time_s.len() - 1] + s.frame_s / 2.0;
    let mut extra = Vec::new();
    for db in [0.0, -20.0, -40.0, -60.0, -80.0] {
        extra.push(Entry::Swatch {
            color: color_at((db + RANGE_DB) / RANGE_DB),
            text: format!("{} dBFS", units::fixed_minus(top + db, 0)),
        });
    }
    let p = Panel {
        title: titled.then(|| index.to_string()),
        x: Axis {
            scale: Scale::Lin {
                min: 0.0,
                max: t_end.max(step),
            },
            ticks: TickKind::Nice,
            label: "Time in the capture (s)".into(),
        },
        y: YRange::Fixed {
            scale: Scale::Log {
                min: f_lo,
                max: f_hi,
            },
            ticks: TickKind::LogFreq,
        },
        y_label: "Frequency (Hz)".into(),
        curves: Vec::new(),
        bands: Vec::new(),
        extra,
        show_x_labels: true,
        message: Vec::new(),
    };
    let pr = prepare(c, rect, &p, f, None);
    draw_prepared_over(c, &pr, &p, &mut |c, fr| {
        let clip = fr.plot;
        for (j, (&t, row)) in s.time_s.iter().zip(&s.level_dbfs).enumerate() {
            // each frame from the midpoint with its neighbours (its hop), the first and last
            // from their frame's edge
            let left = if j == 0 {
                t - s.frame_s / 2.0
            } else {
                (t + s.time_s[j - 1]) / 2.0
            };
            let right = match s.time_s.get(j + 1) {
                Some(&nx) => (t + nx) / 2.0,
                None => t + s.frame_s / 2.0,
            };
            let (x0, x1) = (fr.px(left.max(0.0)).max(clip.x0), fr.px(right).min(clip.x1));
            for (&fc, v) in s.freq_hz.iter().zip(row) {
                let level = v.unwrap_or(f64::NEG_INFINITY);
                let (ya, yb) = (fr.py(fc * half_band), fr.py(fc / half_band));
                let cell = Rect::new(x0, ya.max(clip.y0), x1, yb.min(clip.y1));
                c.fill_rect(cell, color_at((level - top + RANGE_DB) / RANGE_DB), 1.0);
            }
        }
        Ok(())
    })
}
