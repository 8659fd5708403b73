//! `summary.md`: the key figures per channel as a GitHub-rendering Markdown table.
//!
//! Band means and extensions follow CONTRACT.md's compare metrics: means over a band weight
//! each octave equally (integral over log frequency) on the raw response, the extension points
//! are read on the 1/3-octave power-averaged response. A figure that cannot be measured is
//! "n/a", never estimated.

use super::plots::{describe, fmt_created};
use crate::dsp::smoothing::interp_linear;
use crate::results::{Analysis, ChannelAnalysis};

/// The derived figures of one channel (all `None` when they cannot be measured).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelMetrics {
    /// Mean of `gain_db` over 250 Hz–4 kHz (each octave weighted equally).
    pub reference_db: Option<f64>,
    /// Mean over 20–250 Hz minus the reference.
    pub bass_db: Option<f64>,
    /// Mean over 4–20 kHz minus the reference.
    pub treble_db: Option<f64>,
    /// Lowest frequency below 1 kHz where the 1/3-octave response is ≥ reference − 3 dB,
    /// and whether that is the first point of the measured band (the sweep start).
    pub low_3db_hz: Option<(f64, bool)>,
    /// Highest frequency above 1 kHz where it is ≥ reference − 3 dB (and whether that is
    /// the last point of the band).
    pub high_3db_hz: Option<(f64, bool)>,
    pub low_6db_hz: Option<(f64, bool)>,
    pub high_6db_hz: Option<(f64, bool)>,
    pub thd_100_percent: Option<f64>,
    pub thd_1k_percent: Option<f64>,
    pub thd_10k_percent: Option<f64>,
}

/// Finite points with positive, strictly increasing frequency.
fn clean(freq: &[f64], vals: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for (&f, &v) in freq.iter().zip(vals) {
        if f.is_finite() && f > 0.0 && v.is_finite() && xs.last().is_none_or(|&l| f > l) {
            xs.push(f);
            ys.push(v);
        }
    }
    (xs, ys)
}

/// Mean of a dB curve over [lo, hi] ∩ the measured band, weighting each octave equally
/// (trapezoidal integral over log2 f of the curve interpolated linearly in log f).
pub(crate) fn band_mean_db(freq: &[f64], db: &[f64], lo: f64, hi: f64) -> Option<f64> {
    let (xs, ys) = clean(freq, db);
    if xs.len() < 2 {
        return None;
    }
    let a = lo.max(xs[0]);
    let b = hi.min(xs[xs.len() - 1]);
    if b.partial_cmp(&(a * (1.0 + 1e-9))) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let lx: Vec<f64> = xs.iter().map(|f| f.log2()).collect();
    let (la, lb) = (a.log2(), b.log2());
    let mut pts = vec![(la, interp_linear(&lx, &ys, la))];
    for (x, y) in lx.iter().zip(&ys) {
        if *x > la && *x < lb {
            pts.push((*x, *y));
        }
    }
    pts.push((lb, interp_linear(&lx, &ys, lb)));
    let area: f64 = pts
        .windows(2)
        .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0))
        .sum();
    Some(area / (lb - la))
}

/// The extension point for a `drop` dB threshold below `reference` on a (smoothed) curve.
fn extension(xs: &[f64], ys: &[f64], reference: f64, drop: f64, low: bool) -> Option<(f64, bool)> {
    let thr = reference - drop;
    let n = xs.len();
    if low {
        (0..n)
            .filter(|&i| xs[i] < 1000.0)
            .find(|&i| ys[i] >= thr)
            .map(|i| (xs[i], i == 0))
    } else {
        (0..n)
            .rev()
            .filter(|&i| xs[i] > 1000.0)
            .find(|&i| ys[i] >= thr)
            .map(|i| (xs[i], i == n - 1))
    }
}

/// THD at `f`, interpolated linearly over log frequency; `None` outside the measured range.
pub(crate) fn thd_at(freq: &[f64], percent: &[f64], f: f64) -> Option<f64> {
    let n = freq.len().min(percent.len());
    let (xs, ys) = (&freq[..n], &percent[..n]);
    for i in 0..n {
        if xs[i] == f && ys[i].is_finite() {
            return Some(ys[i]);
        }
    }
    for i in 1..n {
        let (a, b) = (xs[i - 1], xs[i]);
        if a > 0.0 && b > a && f > a && f < b {
            let (ya, yb) = (ys[i - 1], ys[i]);
            if !(ya.is_finite() && yb.is_finite()) {
                return None;
            }
            let t = (f / a).ln() / (b / a).ln();
            return Some(ya + t * (yb - ya));
        }
    }
    None
}

/// The figures `summary.md` reports for one channel.
pub fn channel_metrics(ch: &ChannelAnalysis) -> ChannelMetrics {
    let fr = &ch.frequency_response;
    let reference = band_mean_db(&fr.freq_hz, &fr.gain_db, 250.0, 4000.0);
    let mut m = ChannelMetrics {
        reference_db: reference,
        ..Default::default()
    };
    if let Some(r) = reference {
        m.bass_db = band_mean_db(&fr.freq_hz, &fr.gain_db, 20.0, 250.0).map(|v| v - r);
        m.treble_db = band_mean_db(&fr.freq_hz, &fr.gain_db, 4000.0, 20000.0).map(|v| v - r);
        let (xs, ys) = clean(&fr.freq_hz, &fr.gain_db);
        if !xs.is_empty() {
            let sm = crate::dsp::smoothing::smooth_db(&xs, &ys, &xs, 3.0);
            m.low_3db_hz = extension(&xs, &sm, r, 3.0, true);
            m.high_3db_hz = extension(&xs, &sm, r, 3.0, false);
            m.low_6db_hz = extension(&xs, &sm, r, 6.0, true);
            m.high_6db_hz = extension(&xs, &sm, r, 6.0, false);
        }
    }
    let t = &ch.thd;
    m.thd_100_percent = thd_at(&t.freq_hz, &t.percent, 100.0);
    m.thd_1k_percent = thd_at(&t.freq_hz, &t.percent, 1000.0);
    m.thd_10k_percent = thd_at(&t.freq_hz, &t.percent, 10000.0);
    m
}

const NA: &str = "n/a";

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

fn num(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v);
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// dB with one decimal and a unit, or n/a.
pub(crate) fn fmt_db(v: Option<f64>, unit: &str) -> String {
    finite(v).map_or(NA.into(), |v| format!("{} {unit}", num(v, 1)))
}

/// A relative dB value with an explicit sign.
fn fmt_db_signed(v: Option<f64>) -> String {
    finite(v).map_or(NA.into(), |v| {
        let s = num(v, 1);
        if v > 0.0 && s != "0.0" {
            format!("+{s} dB")
        } else {
            format!("{s} dB")
        }
    })
}

/// A percentage with two significant digits ("0.012 %", "1.2 %", "12 %").
pub(crate) fn fmt_percent(v: Option<f64>) -> String {
    let Some(v) = finite(v) else {
        return NA.into();
    };
    if v == 0.0 {
        return "0 %".into();
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (1 - mag).max(0) as usize;
    if decimals == 0 {
        let p = 10f64.powi(mag - 1);
        format!("{} %", num((v / p).round() * p, 0))
    } else {
        format!("{} %", num(v, decimals))
    }
}

/// A frequency with three significant digits ("45.3 Hz", "1.23 kHz", "15.2 kHz").
pub(crate) fn fmt_hz(f: f64) -> String {
    let (v, unit) = if f >= 1000.0 {
        (f / 1000.0, "kHz")
    } else {
        (f, "Hz")
    };
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{} {unit}", num(v, decimals))
}

fn fmt_ext(v: Option<(f64, bool)>, low: bool) -> String {
    match v {
        Some((f, edge)) if f.is_finite() => {
            if edge {
                // the response never fell below the threshold inside the measured band
                format!("{} {} (band edge)", if low { "≤" } else { "≥" }, fmt_hz(f))
            } else {
                fmt_hz(f)
            }
        }
        _ => NA.into(),
    }
}

fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The Markdown summary: device and sweep, a table of the key figures per channel,
/// warnings, and the plots.
pub fn summary_markdown(analysis: &Analysis) -> String {
    let a = analysis;
    let mut s = String::new();
    let label = a
        .label
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "unlabelled device".into());
    s.push_str(&format!("# Measurement summary: {}\n\n", md_escape(&label)));
    s.push_str(&format!("{}\n\n", md_escape(&describe(a))));

    s.push_str("| Measurement | |\n|---|---|\n");
    s.push_str(&format!(
        "| Device | {}{} |\n",
        md_escape(&label),
        a.kind
            .as_ref()
            .map(|k| format!(" ({})", md_escape(k)))
            .unwrap_or_default()
    ));
    s.push_str(&format!(
        "| Sample rate | {} |\n",
        if a.sample_rate > 0 {
            format!("{} Hz", a.sample_rate)
        } else {
            NA.into()
        }
    ));
    if let Some(c) = &a.created {
        s.push_str(&format!("| Analysed | {} |\n", md_escape(&fmt_created(c))));
    }
    let sw = &a.sweep;
    s.push_str(&format!(
        "| Sweep | {} to {}, {} s at {} dBFS; {} s silence before, {} s after |\n",
        fmt_hz(sw.start_hz),
        fmt_hz(sw.end_hz),
        num(sw.duration_s, 2),
        num(sw.level_dbfs, 1),
        num(sw.pre_s, 2),
        num(sw.post_s, 2)
    ));
    s.push_str(&format!(
        "| Calibration | {} |\n",
        match &a.calibration {
            Some(c) => format!(
                "{} ({} points{})",
                md_escape(&c.file),
                c.points,
                c.sens_factor_db
                    .filter(|v| v.is_finite())
                    .map(|v| format!(", sensitivity factor {} dB", num(v, 2)))
                    .unwrap_or_default()
            ),
            None => "none (raw electrical/acoustic response)".into(),
        }
    ));
    if let Some(d) = &a.source.session_dir {
        s.push_str(&format!("| Session | `{}` |\n", d.replace('`', "'")));
    }
    s.push('\n');

    if a.channels.is_empty() {
        s.push_str("No channels were analysed.\n");
        return s;
    }

    let metrics: Vec<ChannelMetrics> = a.channels.iter().map(channel_metrics).collect();
    s.push_str("## Key figures\n\n| |");
    for ch in &a.channels {
        s.push_str(&format!(" ch{} |", ch.index));
    }
    s.push_str("\n|---|");
    for _ in &a.channels {
        s.push_str("---:|");
    }
    s.push('\n');
    let mut row = |name: &str, cells: Vec<String>| {
        s.push_str(&format!("| {name} |"));
        for c in cells {
            s.push_str(&format!(" {c} |"));
        }
        s.push('\n');
    };
    let chs = &a.channels;
    row(
        "Latency",
        chs.iter()
            .map(|c| {
                if c.latency_s.is_finite() {
                    format!(
                        "{} ms ({} samples)",
                        num(c.latency_s * 1000.0, 2),
                        if c.latency_samples.is_finite() {
                            num(c.latency_samples, 1)
                        } else {
                            NA.into()
                        }
                    )
                } else {
                    NA.into()
                }
            })
            .collect(),
    );
    row(
        "Level at 1 kHz",
        chs.iter()
            .map(|c| fmt_db(c.level_1k_dbfs, "dBFS"))
            .collect(),
    );
    row(
        "Peak sample level",
        chs.iter().map(|c| fmt_db(c.peak_dbfs, "dBFS")).collect(),
    );
    row(
        "Mid level (250 Hz–4 kHz mean gain)",
        metrics
            .iter()
            .map(|m| fmt_db(m.reference_db, "dB"))
            .collect(),
    );
    row(
        "Bass (20–250 Hz) re mid",
        metrics.iter().map(|m| fmt_db_signed(m.bass_db)).collect(),
    );
    row(
        "Treble (4–20 kHz) re mid",
        metrics.iter().map(|m| fmt_db_signed(m.treble_db)).collect(),
    );
    row(
        "−3 dB low / high",
        metrics
            .iter()
            .map(|m| {
                format!(
                    "{} / {}",
                    fmt_ext(m.low_3db_hz, true),
                    fmt_ext(m.high_3db_hz, false)
                )
            })
            .collect(),
    );
    row(
        "−6 dB low / high",
        metrics
            .iter()
            .map(|m| {
                format!(
                    "{} / {}",
                    fmt_ext(m.low_6db_hz, true),
                    fmt_ext(m.high_6db_hz, false)
                )
            })
            .collect(),
    );
    row(
        "THD at 100 Hz",
        metrics
            .iter()
            .map(|m| fmt_percent(m.thd_100_percent))
            .collect(),
    );
    row(
        "THD at 1 kHz",
        metrics
            .iter()
            .map(|m| fmt_percent(m.thd_1k_percent))
            .collect(),
    );
    row(
        "THD at 10 kHz",
        metrics
            .iter()
            .map(|m| fmt_percent(m.thd_10k_percent))
            .collect(),
    );
    row(
        "Noise (20 Hz–20 kHz)",
        chs.iter()
            .map(|c| fmt_db(c.noise.as_ref().map(|n| n.rms_dbfs), "dBFS"))
            .collect(),
    );
    row(
        "Noise, A-weighted",
        chs.iter()
            .map(|c| fmt_db(c.noise.as_ref().map(|n| n.a_weighted_dbfs), "dBFS(A)"))
            .collect(),
    );
    row("SNR", chs.iter().map(|c| fmt_db(c.snr_db, "dB")).collect());
    row(
        "Warnings",
        chs.iter()
            .map(|c| match c.warnings.len() {
                0 => "none".to_string(),
                1 => "1 (see below)".to_string(),
                n => format!("{n} (see below)"),
            })
            .collect(),
    );
    s.push('\n');
    s.push_str(
        "Mid level: mean of the raw gain over 250 Hz–4 kHz, each octave weighted equally. \
         Bass and treble: the same mean over their band (the part the sweep covered) minus the \
         mid level. −3/−6 dB points: the lowest frequency below 1 kHz and the highest above \
         1 kHz where the 1/3-octave smoothed response is within 3/6 dB of the mid level \
         (\"band edge\": it never fell that far inside the swept band). THD is interpolated \
         on the measured curve; n/a where it was not measured. Noise is measured on the \
         silence before the sweep (AES17 dBFS).\n\n",
    );

    let warned: Vec<&ChannelAnalysis> = chs.iter().filter(|c| !c.warnings.is_empty()).collect();
    if !warned.is_empty() {
        s.push_str("## Warnings\n\n");
        for c in warned {
            for w in &c.warnings {
                s.push_str(&format!("- ch{}: {}\n", c.index, md_escape(w)));
            }
        }
        s.push('\n');
    }

    s.push_str("## Plots\n\n![Overview](overview.png)\n\n");
    for (file, what) in [
        ("response.png", "Frequency response"),
        ("distortion.png", "Distortion (THD and harmonics)"),
        ("noise.png", "Noise floor"),
        ("impulse.png", "Impulse response and energy-time curve"),
    ] {
        s.push_str(&format!("- [{what}]({file})\n"));
    }
    s
}
