//! What each plot draws, as data: the [`Series`] built from an [`Analysis`] for every image,
//! so that the curves can be checked against the analysis without looking at pixels.

use crate::dsp::smoothing::smooth_db;
use crate::results::Analysis;

use super::RenderOptions;

/// How a series is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesStyle {
    /// Thick and opaque: the curve to read (smoothed response, THD).
    Bold,
    /// Medium and opaque (harmonics, phase, impulse).
    Normal,
    /// Thin and translucent: the raw data behind a smoothed curve.
    Faint,
}

/// One curve as a plot receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text, e.g. "ch0 raw", "ch0 1/6 oct", "ch0 H3".
    pub name: String,
    /// `ChannelAnalysis::index` of the channel it comes from (0 for curves of no channel).
    pub channel: usize,
    pub x: Vec<f64>,
    /// Non-finite values (NaN for a missing point) break the line.
    pub y: Vec<f64>,
    pub style: SeriesStyle,
    pub dashed: bool,
    /// Palette index; `None` lets `render_overlay` pick one per curve.
    pub color: Option<usize>,
    /// Which panel of the plot it goes to (0 = main/upper, 1 = lower: phase, energy-time;
    /// 2 = group delay, below the phase).
    pub panel: usize,
}

impl Series {
    /// A solid bold curve with an automatic colour, for `render_overlay`.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            channel: 0,
            x,
            y,
            style: SeriesStyle::Bold,
            dashed: false,
            color: None,
            panel: 0,
        }
    }
}

/// Lowest ETC level drawn, dB re peak.
pub const ETC_FLOOR_DB: f64 = -100.0;

/// A usable smoothing fraction, if any.
fn smoothing_fraction(opts: &RenderOptions) -> Option<f64> {
    opts.smoothing.filter(|n| n.is_finite() && *n > 0.0)
}

/// "1/6 oct", "1/3 oct", "1/1.5 oct".
pub(crate) fn smoothing_label(n: f64) -> String {
    crate::units::smoothing(n)
}

/// The points of a curve that can be smoothed: positive, finite, strictly increasing
/// frequencies with a finite value within ±1000 dB.
fn smoothable(freq: &[f64], vals: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(freq.len());
    let mut ys = Vec::with_capacity(freq.len());
    for (&f, &v) in freq.iter().zip(vals) {
        // |dB| beyond 1000 is no measurement (and would overflow the power average)
        if f.is_finite()
            && f > 0.0
            && v.is_finite()
            && v.abs() <= 1000.0
            && xs.last().is_none_or(|&l| f > l)
        {
            xs.push(f);
            ys.push(v);
        }
    }
    (xs, ys)
}

/// A curve with a break (a NaN point) in each of its holes ([`crate::metrics::holes`]: the
/// stretches where a response has no points, left out below the noise or absent from a
/// published curve), so that no line is drawn across what was not measured. Points that are
/// not positive and increasing are left as they are.
pub(crate) fn broken_at_holes((x, y): (Vec<f64>, Vec<f64>)) -> (Vec<f64>, Vec<f64>) {
    if !x.windows(2).all(|w| w[0] > 0.0 && w[1] > w[0]) {
        return (x, y);
    }
    let holes = crate::metrics::holes(&x);
    if holes.is_empty() {
        return (x, y);
    }
    let mut xs = Vec::with_capacity(x.len() + holes.len());
    let mut ys = Vec::with_capacity(x.len() + holes.len());
    let mut next = holes.iter().peekable();
    for (&a, &b) in x.iter().zip(&y) {
        if let Some(&&(lo, hi)) = next.peek()
            && a == hi
        {
            xs.push((lo * hi).sqrt());
            ys.push(f64::NAN);
            next.next();
        }
        xs.push(a);
        ys.push(b);
    }
    (xs, ys)
}

/// `smooth_db` on the usable points of a dB curve (power average, 1/`n` octave).
pub(crate) fn smoothed_db(freq: &[f64], db: &[f64], n: f64) -> (Vec<f64>, Vec<f64>) {
    let (xs, ys) = smoothable(freq, db);
    if xs.is_empty() {
        return (xs, ys);
    }
    let sm = smooth_db(&xs, &ys, &xs, n);
    (xs, sm)
}

fn take_pair(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len().min(y.len());
    (x[..n].to_vec(), y[..n].to_vec())
}

/// A shaded range behind the curves: at each `x`, from `lo` to `hi` (NaN breaks it).
#[derive(Debug, Clone, PartialEq)]
pub struct BandSeries {
    /// Legend text, e.g. "ch0 placements min–max".
    pub name: String,
    pub channel: usize,
    pub x: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// Palette index (the channel's).
    pub color: usize,
    /// Opacity of the fill.
    pub alpha: f64,
}

/// The spread of a re-seat series on `response.png`, per channel that has one: the range
/// of its placements (min–max, pale) and ±1 σ about their mean in dB (darker), calibrated
/// like the response drawn.
pub fn response_bands(analysis: &Analysis) -> Vec<BandSeries> {
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        let curves = ch.placement_responses();
        let Some((x, _)) = curves.first() else {
            continue;
        };
        let n = curves.len() as f64;
        let column = |i: usize| curves.iter().map(move |c| c.1[i]);
        let (mut lo, mut hi, mut sd_lo, mut sd_hi) = (vec![], vec![], vec![], vec![]);
        for i in 0..x.len() {
            let mean = column(i).sum::<f64>() / n;
            let sd = (column(i).map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            lo.push(column(i).fold(f64::INFINITY, f64::min));
            hi.push(column(i).fold(f64::NEG_INFINITY, f64::max));
            sd_lo.push(mean - sd);
            sd_hi.push(mean + sd);
        }
        let shift = response_spl_offset_db(analysis).unwrap_or(0.0);
        for v in lo
            .iter_mut()
            .chain(&mut hi)
            .chain(&mut sd_lo)
            .chain(&mut sd_hi)
        {
            *v += shift;
        }
        // no fill across the response's holes
        let broken = |v: Vec<f64>| broken_at_holes((x.clone(), v));
        let ((bx, lo), (_, hi)) = (broken(lo), broken(hi));
        let ((_, sd_lo), (_, sd_hi)) = (broken(sd_lo), broken(sd_hi));
        out.push(BandSeries {
            name: format!("{} {} placements, min–max", ch.tag(), curves.len()),
            channel: ch.index,
            x: bx.clone(),
            lo,
            hi,
            color: k,
            alpha: 0.14,
        });
        out.push(BandSeries {
            name: format!("{} ±1 σ", ch.tag()),
            channel: ch.index,
            x: bx,
            lo: sd_lo,
            hi: sd_hi,
            color: k,
            alpha: 0.28,
        });
    }
    out
}

/// With a measurement microphone's sensitivity, `response.png` reads as sound pressure: the
/// gain plus the sweep's level plus the sensitivity's offset, dB SPL at the sweep's level.
/// The dB added; None without a sensitivity (the plot then shows the gain).
pub fn response_spl_offset_db(analysis: &Analysis) -> Option<f64> {
    let spl = analysis.spl.as_ref()?;
    let l = analysis.sweep.level_dbfs;
    (l.is_finite() && spl.offset_db.is_finite()).then_some(l + spl.offset_db)
}

/// The magnitude curves of `response.png`: per channel the raw `gain_db` (faint, or bold
/// when there is no smoothing) and the 1/n-octave smoothed curve (bold), in channel colour.
pub fn response_series(analysis: &Analysis, opts: &RenderOptions) -> Vec<Series> {
    let mut out = response_series_db(analysis, opts);
    if let Some(shift) = response_spl_offset_db(analysis) {
        for s in &mut out {
            s.y.iter_mut().for_each(|v| *v += shift);
        }
    }
    out
}

/// [`response_series`] in dB of gain.
fn response_series_db(analysis: &Analysis, opts: &RenderOptions) -> Vec<Series> {
    let n = smoothing_fraction(opts);
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        // with a calibration removed, that is the response to read
        let (freq, gain) = ch.response();
        out.extend(raw_and_smoothed(
            &ch.tag(),
            ch.index,
            k,
            freq,
            gain,
            n,
            if ch.calibrated.is_some() {
                "calibrated"
            } else {
                "raw"
            },
        ));
    }
    out
}

/// A curve drawn faint with its 1/n-octave smoothed version bold on top (the raw curve alone,
/// bold, when there is no smoothing), both in the channel's colour.
fn raw_and_smoothed(
    prefix: &str,
    channel: usize,
    color: usize,
    x: &[f64],
    y_db: &[f64],
    n: Option<f64>,
    raw_name: &str,
) -> Vec<Series> {
    let series = |name: String, (x, y): (Vec<f64>, Vec<f64>), style| Series {
        name,
        channel,
        x,
        y,
        style,
        dashed: false,
        color: Some(color),
        panel: 0,
    };
    let raw_style = if n.is_some() {
        SeriesStyle::Faint
    } else {
        SeriesStyle::Bold
    };
    let mut out = vec![series(
        format!("{prefix} {raw_name}"),
        broken_at_holes(take_pair(x, y_db)),
        raw_style,
    )];
    if let Some(n) = n {
        let label = if raw_name == "raw" {
            smoothing_label(n)
        } else {
            format!("{raw_name} {}", smoothing_label(n))
        };
        out.push(series(
            format!("{prefix} {label}"),
            broken_at_holes(smoothed_db(x, y_db, n)),
            SeriesStyle::Bold,
        ));
    }
    out
}

/// The lower panel of `response.png`: phase (degrees, latency removed) where the analysis
/// has it, otherwise group delay in milliseconds; empty when it has neither.
pub fn phase_series(analysis: &Analysis) -> Vec<Series> {
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        let fr = &ch.frequency_response;
        if fr.phase_deg.is_empty() || fr.phase_deg.len() != fr.freq_hz.len() {
            continue;
        }
        let (x, y) = take_pair(&fr.freq_hz, &fr.phase_deg);
        let y = unwrap_deg(&x, &y);
        let (x, y) = broken_at_holes((x, y));
        out.push(Series {
            color: Some(k),
            channel: ch.index,
            panel: 1,
            style: SeriesStyle::Normal,
            ..Series::new(format!("{} phase", ch.tag()), x, y)
        });
    }
    out
}

/// Each channel's group delay less its latency (the impulse peak), ms: what the device adds
/// beyond its delay, as the phase shows it.
pub fn group_delay_series(analysis: &Analysis) -> Vec<Series> {
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        let fr = &ch.frequency_response;
        if fr.group_delay_s.is_empty() || fr.group_delay_s.len() != fr.freq_hz.len() {
            continue;
        }
        let latency = ch.latency_s.unwrap_or(0.0);
        let y = fr
            .group_delay_s
            .iter()
            .map(|s| (s - latency) * 1000.0)
            .collect();
        let (x, y) = broken_at_holes((fr.freq_hz.clone(), y));
        out.push(Series {
            color: Some(k),
            channel: ch.index,
            panel: 2,
            style: SeriesStyle::Normal,
            ..Series::new(format!("{} group delay", ch.tag()), x, y)
        });
    }
    out
}

/// Unwraps a phase (degrees, wrapped to ±180°) along frequency: each step larger than 180°
/// is taken as a wrap. Anchored so that the point nearest 1 kHz keeps its wrapped value
/// (the phase is then read there as the analysis gives it). A gap in frequency of more than
/// 1/6 octave starts afresh (the phase across a gap is unknown).
pub fn unwrap_deg(freq_hz: &[f64], deg: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(deg.len());
    let mut offset = 0.0;
    for (i, &d) in deg.iter().enumerate() {
        if i > 0 && d.is_finite() && deg[i - 1].is_finite() {
            if freq_hz[i] / freq_hz[i - 1] > 2f64.powf(1.0 / 6.0) {
                offset = 0.0;
            } else {
                let step = d - deg[i - 1];
                offset -= 360.0 * (step / 360.0).round();
            }
        }
        out.push(d + offset);
    }
    if let Some(k) = freq_hz
        .iter()
        .enumerate()
        .filter(|(i, _)| out[*i].is_finite())
        .min_by(|a, b| {
            (a.1.ln() - 1000f64.ln())
                .abs()
                .total_cmp(&(b.1.ln() - 1000f64.ln()).abs())
        })
        .map(|(i, _)| i)
    {
        let shift = out[k] - deg[k];
        for v in &mut out {
            *v -= shift;
        }
    }
    out
}

/// Colour of harmonic `order` in `distortion.png` (THD is 0, H2 is 1 …).
fn harmonic_color(order: u32) -> usize {
    order.saturating_sub(1) as usize
}

/// `100·10^(dB/20)`: a level relative to the fundamental as a percentage.
pub fn relative_db_to_percent(db: f64) -> f64 {
    100.0 * 10f64.powf(db / 20.0)
}

/// The curves of `distortion.png`: per channel THD % (bold) and H2…H5 in % of the
/// fundamental (NaN where the harmonic is out of band). One colour per order; channels
/// after the first are dashed.
pub fn distortion_series(analysis: &Analysis) -> Vec<Series> {
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        let t = &ch.thd;
        if let Some(fl) = &t.noise_floor {
            // broken where the THD has no points (a line across a hole was drawn)
            let (x, y) = take_pair(&fl.freq_hz, &fl.percent);
            let (x, y) = with_gaps(&x, &y);
            out.push(Series {
                name: format!("{} noise floor", ch.tag()),
                channel: ch.index,
                x,
                y,
                style: SeriesStyle::Faint,
                dashed: k > 0,
                color: Some(NOISE_FLOOR_COLOR),
                panel: 0,
            });
        }
        let (x, y) = with_gaps(&t.freq_hz, &t.percent);
        out.push(Series {
            name: format!("{} THD", ch.tag()),
            channel: ch.index,
            x,
            y,
            style: SeriesStyle::Bold,
            dashed: k > 0,
            color: Some(harmonic_color(1)),
            panel: 0,
        });
        let mut hs: Vec<_> = t
            .harmonics
            .iter()
            .filter(|h| (2..=5).contains(&h.order))
            .collect();
        hs.sort_by_key(|h| h.order);
        for h in hs {
            let n = t.freq_hz.len().min(h.relative_db.len());
            // a harmonic never measured has no curve, and so no legend entry
            if h.relative_db[..n].iter().all(Option::is_none) {
                continue;
            }
            let y: Vec<f64> = h.relative_db[..n]
                .iter()
                .map(|v| v.map(relative_db_to_percent).unwrap_or(f64::NAN))
                .collect();
            let (x, y) = with_gaps(&t.freq_hz[..n], &y);
            out.push(Series {
                name: format!("{} H{}", ch.tag(), h.order),
                channel: ch.index,
                x,
                y,
                style: SeriesStyle::Normal,
                dashed: k > 0,
                color: Some(harmonic_color(h.order)),
                panel: 0,
            });
        }
    }
    out
}

/// Palette index of the THD noise floor (grey).
const NOISE_FLOOR_COLOR: usize = 7;

/// A curve with a break (NaN) wherever consecutive frequencies are more than 2 % apart: the
/// points between were not measured, and no line may bridge them.
fn with_gaps(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(x.len());
    let mut ys = Vec::with_capacity(y.len());
    for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
        if i > 0 && a > x[i - 1] * 1.02 {
            xs.push((a * x[i - 1]).sqrt());
            ys.push(f64::NAN);
        }
        xs.push(a);
        ys.push(b);
    }
    (xs, ys)
}

/// The curves of `noise.png`: per channel with a measured noise floor, the PSD in dBFS/Hz
/// (faint) and its 1/n-octave power average (bold).
pub fn noise_series(analysis: &Analysis, opts: &RenderOptions) -> Vec<Series> {
    let n = smoothing_fraction(opts);
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        let Some(noise) = &ch.noise else { continue };
        let sp = &noise.spectrum;
        out.extend(raw_and_smoothed(
            &ch.tag(),
            ch.index,
            k,
            &sp.freq_hz,
            &sp.dbfs_per_hz,
            n,
            "PSD",
        ));
    }
    out
}

/// Time of the IR peak (the latency) in seconds: `latency_s` when it is finite, else the
/// largest |sample|.
pub(crate) fn peak_time_s(ch: &crate::results::ChannelAnalysis, sr: f64) -> Option<f64> {
    if let Some(l) = ch.latency_s.filter(|v| v.is_finite()) {
        return Some(l);
    }
    let imp = &ch.impulse;
    let (i, _) = imp
        .samples
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
    Some(imp.start_s + i as f64 / sr)
}

pub(crate) fn impulse_rate(analysis: &Analysis, ch: &crate::results::ChannelAnalysis) -> f64 {
    if ch.impulse.sample_rate > 0 {
        ch.impulse.sample_rate as f64
    } else {
        analysis.sample_rate as f64
    }
}

/// The curves of `impulse.png`: per channel the impulse response (panel 0: amplitude
/// against ms relative to the IR peak, i.e. the latency) and the energy-time curve
/// (panel 1: 20·log10|h| relative to the largest |h|, floored at `ETC_FLOOR_DB`).
pub fn impulse_series(analysis: &Analysis) -> Vec<Series> {
    let mut out = Vec::new();
    for (k, ch) in analysis.channels.iter().enumerate() {
        let imp = &ch.impulse;
        let sr = impulse_rate(analysis, ch);
        if imp.samples.is_empty() || !sr.is_finite() || sr <= 0.0 || !imp.start_s.is_finite() {
            continue;
        }
        let Some(t_peak) = peak_time_s(ch, sr) else {
            continue;
        };
        let x: Vec<f64> = (0..imp.samples.len())
            .map(|i| (imp.start_s + i as f64 / sr - t_peak) * 1000.0)
            .collect();
        let y: Vec<f64> = imp.samples.iter().map(|&v| v as f64).collect();
        let peak = y
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let etc: Vec<f64> = y
            .iter()
            .map(|v| {
                if !v.is_finite() {
                    f64::NAN
                } else if peak > 0.0 {
                    (20.0 * (v.abs() / peak).log10()).max(ETC_FLOOR_DB)
                } else {
                    ETC_FLOOR_DB
                }
            })
            .collect();
        out.push(Series {
            name: format!("{} IR", ch.tag()),
            channel: ch.index,
            x: x.clone(),
            y,
            style: SeriesStyle::Normal,
            dashed: false,
            color: Some(k),
            panel: 0,
        });
        out.push(Series {
            name: format!("{} ETC", ch.tag()),
            channel: ch.index,
            x,
            y: etc,
            style: SeriesStyle::Normal,
            dashed: false,
            color: Some(k),
            panel: 1,
        });
    }
    out
}
