//! The comparison's plots (drawn by `crate::report`) and `claims.md`.

use std::path::Path;

use super::claims::Verdict;
use super::{
    CompareResult, DEVIATION_PNG, Device, DeviceResult, METRICS_PNG, RESPONSE_PNG, Target,
};
use crate::dsp::smoothing::interp_linear;
use crate::error::Result;
use crate::metrics::{Normalize, clean};
use crate::report::{
    ImageFormat, RenderOptions, Series, render_bars, render_overlay, smoothing_label,
};
use crate::units::{NA, created, hz, md_escape, prose, sig2, signed};

/// Palette indices for devices: everything but grey, which is the target's.
const DEVICE_COLORS: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 8, 9];
const TARGET_COLOR: usize = 7;

fn color(i: usize) -> usize {
    DEVICE_COLORS[i % DEVICE_COLORS.len()]
}

/// The curve as plotted: smoothed (1/n octave) or raw, minus the normalisation offset.
fn plotted(
    freq: &[f64],
    gain: &[f64],
    offset: Option<f64>,
    n: Option<f64>,
) -> (Vec<f64>, Vec<f64>) {
    let (x, y) = match n {
        Some(n) => crate::report::smoothed_db(freq, gain, n),
        None => clean(freq, gain),
    };
    let off = offset.unwrap_or(0.0);
    (x, y.into_iter().map(|v| v - off).collect())
}

/// A plotted curve with its holes broken (no line across what was not measured).
fn drawn((x, y): &(Vec<f64>, Vec<f64>)) -> (Vec<f64>, Vec<f64>) {
    crate::report::broken_at_holes((x.clone(), y.clone()))
}

fn legend(d: &DeviceResult) -> String {
    let mut s = d.label.clone();
    if let Some(k) = &d.kind {
        s.push_str(&format!(" ({k})"));
    }
    if d.normalization_offset_db.is_none() {
        s.push_str(", not normalized");
    }
    s
}

fn smoothing_words(n: Option<f64>) -> String {
    match n {
        Some(n) => format!("{} smoothed", smoothing_label(n)),
        None => "unsmoothed".into(),
    }
}

fn y_label(norm: Normalize) -> &'static str {
    match norm {
        Normalize::OneK => "Level re 1 kHz (dB)",
        Normalize::Mean => "Level re 250 Hz–4 kHz mean (dB)",
        Normalize::None => "Gain (dB)",
    }
}

/// `a − b(x)` on `a`'s points, `b` interpolated over log f; NaN outside `b`'s range.
fn difference(a: &(Vec<f64>, Vec<f64>), b: &(Vec<f64>, Vec<f64>)) -> (Vec<f64>, Vec<f64>) {
    let (bx, by) = b;
    if bx.len() < 2 {
        return (a.0.clone(), vec![f64::NAN; a.0.len()]);
    }
    let (lo, hi) = (bx[0], bx[bx.len() - 1]);
    let lbx: Vec<f64> = bx.iter().map(|f| f.log2()).collect();
    // none where the base has a hole: it was not measured there
    let holes = crate::metrics::holes(bx);
    let y =
        a.0.iter()
            .zip(&a.1)
            .map(|(&f, &v)| {
                if f < lo || f > hi || holes.iter().any(|&(x, y)| f > x && f < y) {
                    f64::NAN
                } else {
                    v - interp_linear(&lbx, by, f.log2())
                }
            })
            .collect();
    crate::report::broken_at_holes((a.0.clone(), y))
}

/// The base's own line in a deviation plot: 0 dB over the base's points, from its first to
/// its last, broken where the base has a hole (it was not measured there, so it is not the
/// 0 dB the other curves are taken from). `x_range` when the base has no points.
fn zero_line(x: &[f64], x_range: (f64, f64)) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = match (x.first(), x.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => x_range,
    };
    let (mut xs, mut ys) = (vec![a], vec![0.0]);
    for (lo, hi) in crate::metrics::holes(x) {
        xs.extend([lo, (lo * hi).sqrt(), hi]);
        ys.extend([0.0, f64::NAN, 0.0]);
    }
    xs.push(b);
    ys.push(0.0);
    (xs, ys)
}

/// The file names of written paths.
fn file_names(paths: Vec<std::path::PathBuf>) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// Writes the three plots (in each of `formats`); returns the names written.
pub(super) fn write_plots(
    out: &Path,
    devices: &[Device],
    target: Option<&Target>,
    norm: Normalize,
    smoothing: Option<f64>,
    formats: &[ImageFormat],
    warnings: &mut Vec<String>,
) -> Result<Vec<String>> {
    let opts = RenderOptions {
        smoothing,
        formats: formats.to_vec(),
        ..RenderOptions::default()
    };
    let mut written = Vec::new();
    let curves: Vec<(Vec<f64>, Vec<f64>)> = devices
        .iter()
        .map(|d| {
            plotted(
                &d.freq_hz,
                &d.gain_db,
                d.result.normalization_offset_db,
                smoothing,
            )
        })
        .collect();
    let target_curve = target.map(|t| {
        plotted(
            &t.freq_hz,
            &t.gain_db,
            t.info.normalization_offset_db,
            smoothing,
        )
    });
    let (mut lo, mut hi) = (20.0f64, 20000.0f64);
    for (x, _) in curves.iter().chain(target_curve.iter()) {
        if let (Some(a), Some(b)) = (x.first(), x.last()) {
            lo = lo.min(*a);
            hi = hi.max(*b);
        }
    }
    let x_range = (lo, hi);

    // 1. normalised overlays
    let mut series: Vec<Series> = devices
        .iter()
        .zip(&curves)
        .enumerate()
        .map(|(i, (d, c))| {
            let (x, y) = drawn(c);
            let mut s = Series::new(legend(&d.result), x, y);
            s.color = Some(color(i));
            s
        })
        .collect();
    if let (Some(t), Some(c)) = (target, &target_curve) {
        let (x, y) = drawn(c);
        let mut s = Series::new(format!("target: {}", t.info.label), x, y);
        s.color = Some(TARGET_COLOR);
        s.dashed = true;
        series.push(s);
    }
    written.extend(file_names(render_overlay(
        &out.join(RESPONSE_PNG),
        &format!(
            "Frequency response, {}, {}",
            norm.describe(),
            smoothing_words(smoothing)
        ),
        y_label(norm),
        &series,
        x_range,
        &opts,
    )?));

    // 2. deviation from the target, or from the first device, whose own line is 0 dB
    let flat = |name: String, x: &[f64], c: usize| -> Series {
        let (x, y) = zero_line(x, (lo, hi));
        let mut s = Series::new(name, x, y);
        s.color = Some(c);
        s.dashed = true;
        s.style = crate::report::SeriesStyle::Normal;
        s
    };
    let deviation = |base: &(Vec<f64>, Vec<f64>), skip: usize| -> Vec<Series> {
        devices
            .iter()
            .zip(&curves)
            .enumerate()
            .skip(skip)
            .map(|(i, (d, c))| {
                let (x, y) = difference(c, base);
                let mut s = Series::new(legend(&d.result), x, y);
                s.color = Some(color(i));
                s
            })
            .collect()
    };
    let plot = match (target, &target_curve) {
        (Some(t), Some(tc)) => {
            let mut series = vec![flat(
                format!("target: {} (0 dB)", t.info.label),
                &tc.0,
                TARGET_COLOR,
            )];
            series.extend(deviation(tc, 0));
            Some((
                format!(
                    "Deviation from the target {} ({}, {})",
                    t.info.label,
                    norm.describe(),
                    smoothing_words(smoothing)
                ),
                "Device − target (dB)".to_string(),
                series,
            ))
        }
        _ if devices.len() >= 2 => {
            let first = &devices[0].result;
            let mut series = vec![flat(
                format!("{} (reference, 0 dB)", first.label),
                &curves[0].0,
                color(0),
            )];
            series.extend(deviation(&curves[0], 1));
            Some((
                format!(
                    "Difference from {} ({}, {})",
                    first.label,
                    norm.describe(),
                    smoothing_words(smoothing)
                ),
                format!("Device − {} (dB)", first.label),
                series,
            ))
        }
        _ => {
            warnings.push(format!(
                "{DEVIATION_PNG} not written: one device and no --target, nothing to take a difference from"
            ));
            None
        }
    };
    if let Some((title, ylab, series)) = plot {
        written.extend(file_names(render_overlay(
            &out.join(DEVIATION_PNG),
            &title,
            &ylab,
            &series,
            x_range,
            &opts,
        )?));
    }

    // 3. key figures as bars (absolute levels left out: they depend on the volume and,
    // for published curves, on their SPL reference)
    let any_target = target.is_some();
    let mut categories = vec![
        "Bass 20–250 Hz re mid (dB)".to_string(),
        "Treble 4–20 kHz re mid (dB)".to_string(),
        "Low −6 dB point (Hz)".to_string(),
        "High −6 dB point (kHz)".to_string(),
        "THD at 1 kHz (%)".to_string(),
        "Noise 20 Hz–20 kHz (dBFS)".to_string(),
        "SNR (dB)".to_string(),
    ];
    if any_target {
        categories.push("RMS deviation from target (dB)".to_string());
    }
    let groups: Vec<(String, Vec<Option<f64>>)> = devices
        .iter()
        .map(|d| {
            let m = &d.result.metrics;
            let mut v = vec![
                m.bass_db,
                m.treble_db,
                m.low_extension_hz,
                m.high_extension_hz.map(|f| f / 1000.0),
                m.thd_1k_percent,
                m.noise_rms_dbfs,
                m.snr_db,
            ];
            if any_target {
                v.push(d.result.rms_deviation_db);
            }
            (d.result.label.clone(), v)
        })
        .collect();
    let edge = devices
        .iter()
        .any(|d| d.result.low_extension_at_band_edge || d.result.high_extension_at_band_edge);
    written.extend(file_names(render_bars(
        &out.join(METRICS_PNG),
        if edge {
            "Key figures per device (a −6 dB point at the band edge only bounds the true one)"
        } else {
            "Key figures per device"
        },
        &categories,
        &groups,
        &opts,
    )?));
    Ok(written)
}

fn db(v: Option<f64>) -> String {
    v.map_or(NA.into(), |v| prose(v, "dB"))
}

fn db_signed(v: Option<f64>) -> String {
    v.map_or(NA.into(), |v| format!("{} dB", signed(v)))
}

fn ext(v: Option<f64>, edge: bool, low: bool) -> String {
    match v {
        Some(f) if edge => format!(
            "{} {} (band {})",
            if low { "≤" } else { "≥" },
            hz(f),
            if low { "start" } else { "end" }
        ),
        Some(f) => hz(f),
        None => NA.into(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or(NA.into(), |v| format!("{} %", sig2(v)))
}

/// "measured, published" for claims.md.
fn provenance_words(p: &[crate::kind::Provenance]) -> String {
    if p.is_empty() {
        return "no device".into();
    }
    let words: Vec<&str> = p.iter().map(|p| p.as_str()).collect();
    format!("{} devices", words.join(" and "))
}

fn verdict_cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Supported => "**supported**",
        Verdict::Contradicted => "**contradicted**",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// `claims.md`: who was measured, how the claims are judged, and a row per claim.
pub(super) fn claims_markdown(r: &CompareResult) -> String {
    let mut s = String::from("# Claims checked against measurements\n\n");
    s.push_str(&format!(
        "{} device{} compared{}. Claims: {}.{}{}\n\n",
        r.devices.len(),
        if r.devices.len() == 1 { "" } else { "s" },
        r.created
            .as_deref()
            .map(|c| format!(" on {}", created(c)))
            .unwrap_or_default(),
        md_escape(&r.claims_file),
        r.calibration
            .as_ref()
            .map(|c| format!(
                " Microphone calibration {} ({} points) removed from the devices marked calibrated.",
                md_escape(&c.file),
                c.points
            ))
            .unwrap_or_default(),
        r.target
            .as_ref()
            .map(|t| format!(" Target curve: {}.", md_escape(&t.file)))
            .unwrap_or_default(),
    ));

    s.push_str("## Devices\n\n");
    s.push_str("| # | Device | Kind | Provenance | Source | Measured band | Mid level | Bass | Treble | −6 dB low | −6 dB high | THD 1 kHz | Noise | SNR |");
    let with_target = r.target.is_some();
    if with_target {
        s.push_str(" RMS dev. from target |");
    }
    s.push_str("\n|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    if with_target {
        s.push_str("---:|");
    }
    s.push('\n');
    for (i, d) in r.devices.iter().enumerate() {
        let m = &d.metrics;
        let src = match d.source_type.as_str() {
            "session" => format!("session `{}`, analysed here", d.source.replace('`', "'")),
            "analysis" => format!("analysis `{}`", d.source.replace('`', "'")),
            _ => format!("published curve `{}`", d.source.replace('`', "'")),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            md_escape(&d.label),
            d.kind.map_or("—".into(), |k| k.to_string()),
            d.provenance,
            src,
            if d.calibrated { ", calibrated" } else { "" },
            d.band_hz
                .map_or("nothing measured".into(), |[a, b]| format!(
                    "{}–{}",
                    hz(a),
                    hz(b)
                )),
            db(m.reference_db),
            db_signed(m.bass_db),
            db_signed(m.treble_db),
            ext(m.low_extension_hz, d.low_extension_at_band_edge, true),
            ext(m.high_extension_hz, d.high_extension_at_band_edge, false),
            percent(m.thd_1k_percent),
            m.noise_rms_dbfs.map_or(NA.into(), |v| prose(v, "dBFS")),
            db(m.snr_db),
        ));
        if with_target {
            s.push_str(&format!(" {} |", db(d.rms_deviation_db)));
        }
        s.push('\n');
    }
    s.push('\n');
    if !r.kind_counts.is_empty() {
        s.push_str(&format!(
            "Devices per kind: {}.{}\n\n",
            r.kind_counts
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            if r.kind_counts.values().all(|&n| n <= 1) {
                " With one device of a kind, a verdict describes that device, not the kind."
            } else {
                ""
            }
        ));
    }
    let warned: Vec<&DeviceResult> = r
        .devices
        .iter()
        .filter(|d| !d.warnings.is_empty())
        .collect();
    if !warned.is_empty() || !r.warnings.is_empty() {
        s.push_str("Warnings:\n\n");
        for d in warned {
            for w in &d.warnings {
                s.push_str(&format!("- {}: {}\n", md_escape(&d.label), md_escape(w)));
            }
        }
        for w in &r.warnings {
            s.push_str(&format!("- {}\n", md_escape(w)));
        }
        s.push('\n');
    }

    s.push_str("## How the claims are judged\n\n");
    s.push_str(
        "- Every figure is read on channel 0's raw frequency response (the gain from the \
         stimulus to the capture; not normalized, not smoothed unless stated). **Mid level**: \
         the mean gain over 250 Hz–4 kHz, each octave weighted equally; it is an absolute gain \
         and depends on the volume setting, so claims compare shapes, not this level. **Bass** \
         / **treble**: the same mean over 20–250 Hz / 4–20 kHz (the part the sweep covered) \
         minus the mid level. **−6 dB low / high**: on the 1/3-octave smoothed response, the \
         lowest frequency below 1 kHz / the highest above 1 kHz still within 6 dB of the mid \
         level (a dip in between does not count); \"band start/end\" means the response never \
         fell that far inside the measured band, so the true point lies beyond it and only \
         bounds a comparison. **THD at 1 kHz**: at the sweep's level. **Noise**: 20 Hz–20 kHz \
         in the silence before the sweep (AES17 dBFS; higher is noisier). **SNR**: the level at \
         1 kHz minus the noise (higher is better). Published curves carry no THD or noise: \
         n/a.\n",
    );
    s.push_str(
        "- A claim compares the devices of kind A with those of kind B (or with a fixed value). \
         The difference is always **A − B**: in dB for levels, in octaves (log2 of the \
         frequency ratio) for the −6 dB points, in dB of ratio (20·log10) or percentage \
         points for THD. A claim says which way A should differ (\"A − B ≥ +3 dB\" or \
         \"≤ −3 dB\") and by how much at least (its threshold).\n",
    );
    s.push_str(
        "- Every A device is paired with every B device. **supported**: every pair differs in \
         the claimed direction by at least the threshold. **contradicted**: every pair differs \
         the opposite way by at least the threshold. **inconclusive**: otherwise (a difference \
         below the threshold, pairs that disagree, no device of a kind, a metric missing), or \
         the claim cannot be measured at all. Pairs missing the metric are left out and named. \
         A claim with several conditions is supported when all hold and contradicted when any \
         is contradicted.\n\n",
    );

    s.push_str("## Claims\n\n");
    s.push_str(
        "| Claim | Devices compared (A vs B) | Numbers (A − B, threshold) | Verdict | Why |\n",
    );
    s.push_str("|---|---|---|---|---|\n");
    for c in &r.claims {
        let devices = if !c.decidable {
            "—".to_string()
        } else {
            let a = if c.a_devices.is_empty() {
                format!("no {}", c.a_kind.map_or("?", |k| k.as_str()))
            } else {
                c.a_devices.join(", ")
            };
            match &c.b_kind {
                Some(bk) => {
                    let b = if c.b_devices.is_empty() {
                        format!("no {bk}")
                    } else {
                        c.b_devices.join(", ")
                    };
                    format!(
                        "{} ({}) vs {} ({})",
                        md_escape(&a),
                        c.a_kind.map_or("", |k| k.as_str()),
                        md_escape(&b),
                        bk
                    )
                }
                None => format!(
                    "{} ({}) vs fixed values",
                    md_escape(&a),
                    c.a_kind.map_or("", |k| k.as_str())
                ),
            }
        };
        let numbers = if c.conditions.is_empty() {
            "—".to_string()
        } else {
            c.conditions
                .iter()
                .map(|k| {
                    let pairs: Vec<String> =
                        k.pairs.iter().map(|p| md_escape(&p.evidence)).collect();
                    format!(
                        "*{}*: {}",
                        md_escape(k.what.as_deref().unwrap_or(&k.metric)),
                        pairs.join("; ")
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let why = if c.conditions.is_empty() {
            md_escape(&c.evidence)
        } else {
            let parts: Vec<String> = c
                .conditions
                .iter()
                .map(|k| {
                    let left = if k.left_out.is_empty() {
                        String::new()
                    } else {
                        format!(" (left out: {})", k.left_out.join("; "))
                    };
                    format!(
                        "{} → {}{}",
                        md_escape(&k.summary),
                        k.verdict.as_str(),
                        md_escape(&left)
                    )
                })
                .collect();
            parts.join("<br>")
        };
        let statement = match &c.note {
            Some(n) => format!(
                "**{}**<br>`{}`<br>*Read as:* {}",
                md_escape(&c.statement),
                c.id,
                md_escape(n)
            ),
            None => format!("**{}**<br>`{}`", md_escape(&c.statement), c.id),
        };
        let why = if c.caveats.is_empty() {
            why
        } else {
            format!(
                "{why}<br>*Rests on {}; {}*",
                provenance_words(&c.provenance),
                md_escape(&c.caveats.join("; "))
            )
        };
        s.push_str(&format!(
            "| {statement} | {devices} | {numbers} | {}{} | {why} |\n",
            verdict_cell(c.verdict),
            c.mark()
        ));
    }
    s.push_str("\n## Plots\n\n");
    for f in &r.files {
        if f.ends_with(".png") {
            s.push_str(&format!("- [{f}]({f})\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deviation from a base curve is absent where the base has a hole (45–55 Hz, on a
    /// 1/24-octave grid) and broken there; elsewhere it is the difference (1e-12 dB: both
    /// curves constant).
    #[test]
    fn no_deviation_where_the_base_was_not_measured() {
        let grid: Vec<f64> = (0..=240)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 24.0))
            .collect();
        let a = (grid.clone(), vec![3.0; grid.len()]);
        let bx: Vec<f64> = grid
            .iter()
            .copied()
            .filter(|&f| !(f > 45.0 && f < 55.0))
            .collect();
        let b = (bx.clone(), vec![1.0; bx.len()]);
        let (x, y) = difference(&a, &b);
        for (f, v) in x.iter().zip(&y) {
            if *f > 45.0 && *f < 55.0 {
                assert!(v.is_nan(), "{f}: {v}");
            } else {
                assert!((v - 2.0).abs() < 1e-12, "{f}: {v}");
            }
        }
        // the base itself, drawn, breaks once in its hole
        let (dx, dy) = drawn(&b);
        assert_eq!(dx.len(), bx.len() + 1);
        let nan: Vec<f64> = dx
            .iter()
            .zip(&dy)
            .filter(|(_, y)| y.is_nan())
            .map(|(x, _)| *x)
            .collect();
        assert!(nan.len() == 1 && nan[0] > 45.0 && nan[0] < 55.0, "{nan:?}");
        assert_eq!(drawn(&a), a);
        // and so does its 0 dB line, which runs from its first point to its last
        let (zx, zy) = zero_line(&bx, (20.0, 20000.0));
        let gaps: Vec<f64> = zx
            .iter()
            .zip(&zy)
            .filter(|(_, y)| y.is_nan())
            .map(|(x, _)| *x)
            .collect();
        assert!(
            gaps.len() == 1 && gaps[0] > 45.0 && gaps[0] < 55.0,
            "{gaps:?}"
        );
        assert_eq!((zx[0], zx[zx.len() - 1]), (bx[0], bx[bx.len() - 1]));
        assert!(zy.iter().all(|y| y.is_nan() || *y == 0.0));
        assert_eq!(
            zero_line(&grid, (20.0, 20000.0)),
            (vec![grid[0], grid[240]], vec![0.0, 0.0])
        );
    }
}
