//! The distortion-against-level page: THD at each series frequency against the sweep's
//! level, one curve per channel and frequency, with the 1 % and 3 % lines and where each
//! curve reaches them. Reads only `Analysis`.

use super::axes::*;
use super::canvas::*;
use super::frame::Entry;
use super::layout::*;
use super::pages::analysis_page;
use super::panels::paint_message;
use super::*;
use crate::results::Analysis;
use crate::units;

/// The curves drawn: per channel and frequency, THD (%) against the sweep level (NaN where
/// not measured); then the 1 % and 3 % lines across the series.
pub fn level_series(a: &Analysis) -> Vec<Series> {
    let Some(d) = &a.distortion_vs_level else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, ch) in d.channels.iter().enumerate() {
        for (fi, f) in d.freq_hz.iter().enumerate() {
            let mut s = Series::new(
                format!("ch{} {}", ch.index, units::hz(*f)),
                d.levels_dbfs.clone(),
                ch.thd_percent[fi]
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect(),
            );
            s.channel = ch.index;
            s.style = SeriesStyle::Normal;
            s.color = Some(fi);
            s.dashed = k > 0;
            out.push(s);
        }
    }
    let (lo, hi) = (
        d.levels_dbfs.first().copied().unwrap_or(-30.0),
        d.levels_dbfs.last().copied().unwrap_or(0.0),
    );
    for limit in [1.0, 3.0] {
        let mut s = Series::new(format!("{limit} %"), vec![lo, hi], vec![limit, limit]);
        s.style = SeriesStyle::Faint;
        s.dashed = true;
        s.color = Some(7);
        out.push(s);
    }
    out
}

pub(crate) fn levels_image(a: &Analysis, opts: &RenderOptions) -> R<Canvas> {
    analysis_page(a, opts, "Distortion against level", 3, |c, r, f| {
        let series = level_series(a);
        let Some(d) = a
            .distortion_vs_level
            .as_ref()
            .filter(|_| !series.is_empty())
        else {
            let lines = vec!["No level series in this analysis.".to_string()];
            return paint_message(c, r, None, &lines, f);
        };
        let yv: Vec<f64> = series.iter().flat_map(|s| s.y.iter().copied()).collect();
        let (min, max) = log_axis_range(&yv, 1e-4, 1000.0, 2.0);
        let (lo, hi) = (d.levels_dbfs[0], d.levels_dbfs[d.levels_dbfs.len() - 1]);
        let (xmin, xmax) = nice_range(lo - 1.0, hi + 1.0, false);
        let spl = a.spl.as_ref().map(|s| s.offset_db);
        let mut extra = Vec::new();
        for ch in &d.channels {
            for (fi, freq) in d.freq_hz.iter().enumerate() {
                for (limit, t) in [(1, &ch.at_1_percent[fi]), (3, &ch.at_3_percent[fi])] {
                    let text = match (t.level_dbfs, t.output_1k_dbfs) {
                        (Some(l), Some(o)) => format!(
                            "ch{} {}: {limit} % at {} dBFS ({})",
                            ch.index,
                            units::hz(*freq),
                            units::fixed(l, 1),
                            match spl {
                                Some(off) =>
                                    format!("{} dB SPL at 1 kHz", units::fixed(o + off, 1)),
                                None => format!("{} dBFS at 1 kHz", units::fixed(o, 1)),
                            }
                        ),
                        (Some(l), None) => format!(
                            "ch{} {}: {limit} % at {} dBFS",
                            ch.index,
                            units::hz(*freq),
                            units::fixed(l, 1)
                        ),
                        _ => format!("ch{} {}: {limit} % not reached", ch.index, units::hz(*freq)),
                    };
                    extra.push(Entry::Text {
                        text,
                        color: INK,
                        bold: false,
                    });
                }
            }
        }
        if d.stopped.is_some() {
            extra.push(Entry::Text {
                text: "the series stopped early (summary.md says why)".into(),
                color: INK,
                bold: true,
            });
        }
        let curves: Vec<Curve> = series
            .iter()
            .enumerate()
            .map(|(i, s)| Curve::from_series(s, i, f))
            .collect();
        let p = Panel {
            title: None,
            x: Axis {
                scale: Scale::Lin {
                    min: xmin,
                    max: xmax,
                },
                ticks: TickKind::Nice,
                label: "Sweep level (dBFS)".into(),
            },
            y: YRange::Expandable {
                scale: Scale::Log { min, max },
                step: 10.0,
                ticks: TickKind::LogDecade,
                limits: (1e-4, 100.0),
            },
            y_label: "THD (% of fundamental)".into(),
            curves,
            bands: Vec::new(),
            extra,
            show_x_labels: true,
            message: Vec::new(),
        };
        paint_panel(c, r, &p, f)
    })
}
