//! `summary.md`: the key figures per channel as a GitHub-rendering Markdown table.
//!
//! Band means and extensions follow CONTRACT.md's compare metrics: means over a band weight
//! each octave equally (integral over log frequency) on the raw response, the extension points
//! are read on the 1/3-octave power-averaged response. A figure that cannot be measured is
//! "n/a", never estimated.

use super::pages::describe;
use crate::metrics::{
    BASS_BAND_HZ, ChannelMetrics, REFERENCE_BAND_HZ, ResponseFigures, TREBLE_BAND_HZ,
    band_hole_reason, channel_metrics, response_figures_in,
};
use crate::results::{Analysis, ChannelAnalysis};
use crate::units;

fn fmt_ext(v: Option<(f64, bool)>, low: bool) -> String {
    match v {
        Some((f, edge)) if f.is_finite() => {
            if edge {
                // the response never fell below the threshold inside the measured band
                format!(
                    "{} {} (band edge)",
                    if low { "≤" } else { "≥" },
                    units::hz3(f)
                )
            } else {
                units::hz3(f)
            }
        }
        _ => units::NA.into(),
    }
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
    s.push_str(&format!(
        "# Measurement summary: {}\n\n",
        units::md_escape(&label)
    ));
    s.push_str(&format!("{}\n\n", units::md_escape(&describe(a))));

    s.push_str("| Measurement | |\n|---|---|\n");
    s.push_str(&format!(
        "| Device | {}{} |\n",
        units::md_escape(&label),
        a.kind.map(|k| format!(" ({k})")).unwrap_or_default()
    ));
    s.push_str(&format!(
        "| Sample rate | {} |\n",
        if a.sample_rate > 0 {
            format!("{} Hz", a.sample_rate)
        } else {
            units::NA.into()
        }
    ));
    if let Some(c) = &a.created {
        s.push_str(&format!(
            "| Analysed | {} |\n",
            units::md_escape(&units::created(c))
        ));
    }
    let sw = &a.sweep;
    s.push_str(&format!(
        "| Sweep | {} to {}, {} s at {} dBFS; {} s silence before, {} s after |\n",
        units::hz3(sw.start_hz),
        units::hz3(sw.end_hz),
        units::fixed(sw.duration_s, 2),
        units::fixed(sw.level_dbfs, 1),
        units::fixed(sw.pre_s, 2),
        units::fixed(sw.post_s, 2)
    ));
    s.push_str(&format!(
        "| Calibration | {} |\n",
        match &a.calibration {
            Some(c) => format!(
                "{} ({} points{})",
                units::md_escape(&c.file),
                c.points,
                c.sens_factor_db
                    .filter(|v| v.is_finite())
                    .map(|v| format!(", sensitivity factor {} dB", units::fixed(v, 2)))
                    .unwrap_or_default()
            ),
            None => "none (raw electrical/acoustic response)".into(),
        }
    ));
    s.push_str(&format!(
        "| Absolute level | {} |\n",
        match &a.spl {
            Some(p) => format!(
                "{}: the calibrator's {} dB SPL read {} dBFS, so dB SPL = dBFS + {} dB",
                units::md_escape(&p.file),
                units::fixed(p.calibrator_db_spl, 1),
                units::fixed(p.calibrator_dbfs, 2),
                units::fixed(p.offset_db, 2)
            ),
            None =>
                "none: levels are dBFS (give `--sensitivity` from `sweeplab calibrate` for dB SPL)"
                    .into(),
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
        s.push_str(&format!(" {} |", ch.tag()));
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
            .map(|c| match c.latency_s.filter(|v| v.is_finite()) {
                Some(l) => format!(
                    "{} ms ({} samples){}",
                    units::fixed(l * 1000.0, 2),
                    c.latency_samples
                        .filter(|v| v.is_finite())
                        .map_or(units::NA.into(), |n| units::fixed(n, 1)),
                    if l < 0.0 {
                        " (the capture starts after the stimulus: an offset between the files, not the device's delay)"
                    } else {
                        ""
                    }
                ),
                None => units::NA.into(),
            })
            .collect(),
    );
    row(
        "Measured band",
        chs.iter()
            .map(|c| {
                c.measured_band_hz.map_or(units::NA.into(), |[a, b]| {
                    format!("{}–{}", units::hz3(a), units::hz3(b))
                })
            })
            .collect(),
    );
    row(
        "THD measured for",
        chs.iter()
            .map(|c| match (c.thd.freq_hz.first(), c.thd.freq_hz.last()) {
                (Some(a), Some(b)) => format!("{}–{}", units::hz3(*a), units::hz3(*b)),
                _ => "none (below the noise or out of band)".into(),
            })
            .collect(),
    );
    row(
        "Level at 1 kHz",
        chs.iter()
            .map(|c| units::db(c.level_1k_dbfs, "dBFS"))
            .collect(),
    );
    if let Some(spl) = &a.spl {
        row(
            "Level at 1 kHz (SPL)",
            chs.iter()
                .map(|c| units::db(c.level_1k_dbfs.map(|v| v + spl.offset_db), "dB SPL"))
                .collect(),
        );
    }
    row(
        "Peak sample level",
        chs.iter().map(|c| units::db(c.peak_dbfs, "dBFS")).collect(),
    );
    row(
        "Mid level (250 Hz–4 kHz mean gain)",
        metrics
            .iter()
            .zip(chs)
            .map(|(m, c)| {
                withheld(c, REFERENCE_BAND_HZ)
                    .unwrap_or_else(|| units::db(m.response.reference_db, "dB"))
            })
            .collect(),
    );
    row(
        "Bass (20–250 Hz) re mid",
        metrics
            .iter()
            .zip(chs)
            .map(|(m, c)| {
                withheld(c, BASS_BAND_HZ).unwrap_or_else(|| units::db_signed(m.response.bass_db))
            })
            .collect(),
    );
    row(
        "Treble (4–20 kHz) re mid",
        metrics
            .iter()
            .zip(chs)
            .map(|(m, c)| {
                withheld(c, TREBLE_BAND_HZ)
                    .unwrap_or_else(|| units::db_signed(m.response.treble_db))
            })
            .collect(),
    );
    row(
        "−3 dB low / high",
        metrics
            .iter()
            .map(|m| {
                format!(
                    "{} / {}",
                    fmt_ext(m.response.low_3db_hz, true),
                    fmt_ext(m.response.high_3db_hz, false)
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
                    fmt_ext(m.response.low_6db_hz, true),
                    fmt_ext(m.response.high_6db_hz, false)
                )
            })
            .collect(),
    );
    row(
        "THD at 100 Hz",
        metrics
            .iter()
            .map(|m| units::percent(m.thd_100_percent))
            .collect(),
    );
    row(
        "THD at 1 kHz",
        metrics
            .iter()
            .map(|m| units::percent(m.thd_1k_percent))
            .collect(),
    );
    row(
        "THD at 10 kHz",
        metrics
            .iter()
            .map(|m| units::percent(m.thd_10k_percent))
            .collect(),
    );
    row(
        "Noise (20 Hz–20 kHz)",
        chs.iter()
            .map(|c| units::db(c.noise.as_ref().map(|n| n.rms_dbfs), "dBFS"))
            .collect(),
    );
    row(
        "Noise, A-weighted",
        chs.iter()
            .map(|c| units::db(c.noise.as_ref().map(|n| n.a_weighted_dbfs), "dBFS(A)"))
            .collect(),
    );
    if let Some(spl) = &a.spl {
        row(
            "Noise (SPL), A-weighted",
            chs.iter()
                .map(|c| {
                    units::db(
                        c.noise.as_ref().map(|n| n.a_weighted_dbfs + spl.offset_db),
                        "dB(A) SPL",
                    )
                })
                .collect(),
        );
    }
    row(
        "SNR",
        chs.iter().map(|c| units::db(c.snr_db, "dB")).collect(),
    );
    if let Some(m) = &a.mic_under_test {
        row(
            "Microphone sensitivity",
            chs.iter()
                .map(|_| match m.dbv_per_pa {
                    Some(v) => format!(
                        "{} dBFS/Pa ({} dBV/Pa)",
                        units::fixed(m.dbfs_per_pa, 1),
                        units::fixed(v, 1)
                    ),
                    None => format!("{} dBFS/Pa", units::fixed(m.dbfs_per_pa, 1)),
                })
                .collect(),
        );
        row(
            "Self-noise (equivalent SPL, A-weighted)",
            (0..chs.len())
                .map(|i| units::db(m.self_noise_dba_spl.get(i).copied().flatten(), "dB(A) SPL"))
                .collect(),
        );
    }
    if chs.iter().any(|c| c.driver_sensitivity.is_some()) {
        row(
            "Driver sensitivity at 1 kHz, per volt",
            chs.iter()
                .map(|c| match &c.driver_sensitivity {
                    Some(d) => format!(
                        "{} dB SPL/V ({} V RMS at the sweep's level)",
                        units::fixed(d.db_spl_per_v, 1),
                        units::fixed(d.volts_rms, 3)
                    ),
                    None => "n/a".into(),
                })
                .collect(),
        );
        row(
            "Driver sensitivity at 1 kHz, per mW",
            chs.iter()
                .map(|c| {
                    match c
                        .driver_sensitivity
                        .as_ref()
                        .and_then(|d| Some((d.db_spl_per_mw?, d.power_mw?, d.impedance_ohm?)))
                    {
                        Some((s, p, z)) => format!(
                            "{} dB SPL/mW ({} mW into {} Ω)",
                            units::fixed(s, 1),
                            units::fixed(p, 3),
                            units::fixed(z, 1)
                        ),
                        None => "n/a (give --impedance)".into(),
                    }
                })
                .collect(),
        );
    }
    if chs.iter().any(|c| c.placements.is_some()) {
        // a re-seat series: how many placements, and how far the figures move between them
        let each: Vec<Vec<ResponseFigures>> = chs
            .iter()
            .map(|c| {
                c.placement_responses()
                    .iter()
                    .map(|(f, g)| response_figures_in(f, g, c.figures_band()))
                    .collect()
            })
            .collect();
        // the range over the placements, or why it is not given: the first placement whose
        // figure is missing, and the points it left out when they are the cause
        let range = |c: &crate::results::ChannelAnalysis,
                     figs: &[ResponseFigures],
                     band: (f64, f64),
                     get: &dyn Fn(&ResponseFigures) -> Option<f64>| {
            if let Some(k) = figs.iter().position(|f| get(f).is_none()) {
                let responses = c.placement_responses();
                let why = responses
                    .get(k)
                    .and_then(|(f, g)| withheld_in(f, g, c, band))
                    .unwrap_or_else(|| "not measured".into());
                return format!("n/a (placement {} of {}: {why})", k + 1, figs.len());
            }
            if figs.is_empty() {
                return "n/a".into();
            }
            let v: Vec<f64> = figs.iter().filter_map(get).collect();
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{} to {} dB", units::signed(lo), units::signed(hi))
        };
        row(
            "Placements averaged",
            chs.iter()
                .map(|c| match &c.placements {
                    Some(p) => p.averaged.len().to_string(),
                    None => "1".into(),
                })
                .collect(),
        );
        for (name, band, get) in [
            (
                "Bass re mid, per placement",
                BASS_BAND_HZ,
                &(|f: &ResponseFigures| f.bass_db) as &dyn Fn(&ResponseFigures) -> Option<f64>,
            ),
            (
                "Treble re mid, per placement",
                TREBLE_BAND_HZ,
                &|f: &ResponseFigures| f.treble_db,
            ),
        ] {
            row(
                name,
                chs.iter()
                    .zip(&each)
                    .map(|(c, figs)| range(c, figs, band, get))
                    .collect(),
            );
        }
        row(
            "Placement deviation (RMS, 100 Hz–10 kHz)",
            chs.iter()
                .map(|c| {
                    let d: Vec<f64> = c
                        .placements
                        .iter()
                        .flat_map(|p| p.deviation_db.iter().flatten().copied())
                        .collect();
                    if d.is_empty() {
                        "n/a (no point that every placement measured lies in the band)".into()
                    } else {
                        let lo = d.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        format!("{}–{} dB", units::fixed(lo, 2), units::fixed(hi, 2))
                    }
                })
                .collect(),
        );
    }
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
        "Every figure is read inside the measured band: the band the capture holds (the \
         sweep's, narrowed where the capture starts late or stops early). Mid level: mean of \
         the gain (calibrated, when a calibration was removed) over 250 Hz–4 kHz, each octave \
         weighted equally. Bass and treble: the same mean over their band (the part the sweep covered) \
         minus the mid level. A mean is n/a where points left out below the noise (see the \
         notes), or the part of the sweep the capture does not hold, leave less than 90 % of \
         its band measured. −3/−6 dB points: the lowest frequency below 1 kHz and the highest \
         above 1 kHz where the 1/3-octave smoothed response is within 3/6 dB of the mid level \
         (\"band edge\": it never fell that far inside the measured band). THD counts the \
         harmonics inside the swept band (its fades left out) that stand 10 dB above the noise \
         of their window; n/a where none does. Level at 1 kHz: the sweep level plus the \
         1/3-octave smoothed gain at 1 kHz. Noise is measured on the silence before the sweep \
         (AES17 dBFS), never on digital silence; SNR is the level at 1 kHz minus it.\n\n",
    );

    let noted: Vec<&ChannelAnalysis> = chs.iter().filter(|c| !c.notes.is_empty()).collect();
    if let Some(d) = &a.distortion_vs_level {
        s.push_str(&levels_section(d, a.spl.as_ref().map(|x| x.offset_db)));
    }
    if let Some(sd) = &a.sides {
        s.push_str(&sides_section(sd));
    }
    if !noted.is_empty() {
        s.push_str("## Notes\n\n");
        for c in noted {
            for n in &c.notes {
                s.push_str(&format!("- {}: {}\n", c.tag(), units::md_escape(n)));
            }
        }
        s.push('\n');
    }
    let warned: Vec<&ChannelAnalysis> = chs.iter().filter(|c| !c.warnings.is_empty()).collect();
    if !warned.is_empty() {
        s.push_str("## Warnings\n\n");
        for c in warned {
            for w in &c.warnings {
                s.push_str(&format!("- {}: {}\n", c.tag(), units::md_escape(w)));
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
        ("decay.png", "Cumulative spectral decay"),
        ("spectrogram.png", "Spectrogram of the capture"),
    ] {
        s.push_str(&format!("- [{what}]({file})\n"));
    }
    if a.distortion_vs_level.is_some() {
        s.push_str("- [Distortion against level](distortion-vs-level.png)\n");
    }
    if a.sides.is_some() {
        s.push_str("- [Left and right](balance.png)\n");
    }
    s
}

/// "n/a (…)" when a band mean of the channel is not given because of the points its
/// response left out (`metrics::band_hole_reason`).
/// A band re mid is also withheld when the mid band (250 Hz–4 kHz) it is taken against is.
fn withheld(c: &crate::results::ChannelAnalysis, band: (f64, f64)) -> Option<String> {
    let (f, g) = c.response();
    withheld_in(f, g, c, band).map(|why| format!("n/a ({why})"))
}

/// Why a band mean of the curve `freq`/`gain_db` (channel `c`'s, or one placement's) is not
/// given, if the cause is the points it lacks: in the band itself, or in the mid band the band
/// is taken against; left out below the noise, or never captured (the capture holds less
/// than the sweep).
fn withheld_in(
    freq: &[f64],
    gain_db: &[f64],
    c: &crate::results::ChannelAnalysis,
    (lo, hi): (f64, f64),
) -> Option<String> {
    let why = |(lo, hi): (f64, f64)| -> Option<&'static str> {
        band_hole_reason(freq, gain_db, lo, hi, c.figures_band())?;
        Some(
            if band_hole_reason(freq, gain_db, lo, hi, c.measured_band()).is_some() {
                "points left out below the noise"
            } else {
                "the capture does not hold that part of the sweep"
            },
        )
    };
    if let Some(w) = why((lo, hi)) {
        Some(w.to_string())
    } else if (lo, hi) != REFERENCE_BAND_HZ {
        why(REFERENCE_BAND_HZ).map(|w| format!("{w}, in the mid band"))
    } else {
        None
    }
}

/// The left/right section of a two-sided session: balance, largest difference, crosstalk,
/// polarity, then what was not measured and why.
fn sides_section(sd: &crate::results::SidesAnalysis) -> String {
    let db = |v: Option<f64>| {
        v.map_or(units::NA.to_string(), |v| {
            format!("{} dB", units::fixed(v, 2))
        })
    };
    let mut s = String::from(
        "## Left and right

Each side was driven alone and heard in its own ear: L is the left \
         ear (input 0) while the left side played, R the right ear (input 1) while the right \
         side played.\n\n| Figure | Value |\n| --- | --- |\n",
    );
    s.push_str(&format!(
        "| Balance L − R, 250 Hz–4 kHz (each octave weighted equally) | {} |\n",
        db(sd.balance_db)
    ));
    s.push_str(&format!(
        "| Largest \\|L − R\\|, 100 Hz–10 kHz, 1/6 octave | {}{} |\n",
        db(sd.max_difference_db),
        sd.max_difference_hz
            .map_or(String::new(), |h| format!(" at {}", units::hz(h)))
    ));
    for x in &sd.crosstalk {
        s.push_str(&format!(
            "| Crosstalk {} into {}: mean 250 Hz–4 kHz / largest 100 Hz–10 kHz | {} / {}{} |\n",
            x.driven,
            x.into,
            db(x.mean_db),
            db(x.max_db),
            x.max_hz
                .map_or(String::new(), |h| format!(" at {}", units::hz(h)))
        ));
    }
    let pol = |p: &crate::results::SidePolarity| {
        format!(
            "{} {}",
            p.side,
            p.polarity.map_or(units::NA, |p| p.as_str())
        )
    };
    s.push_str(&format!(
        "| Polarity | {}{} |\n\n",
        sd.polarity.iter().map(pol).collect::<Vec<_>>().join(", "),
        match sd.polarity_matched {
            Some(true) => " (matched)",
            Some(false) => " (**opposite**)",
            None => "",
        }
    ));
    for n in &sd.notes {
        s.push_str(&format!("- {}\n", units::md_escape(n)));
    }
    for w in &sd.warnings {
        s.push_str(&format!("- **warning:** {}\n", units::md_escape(w)));
    }
    if !(sd.notes.is_empty() && sd.warnings.is_empty()) {
        s.push('\n');
    }
    s
}

/// The distortion-against-level section: per step the level at 1 kHz and THD, then where
/// THD reaches 1 % and 3 %, and why the series stopped early if it did.
fn levels_section(d: &crate::results::DistortionVsLevel, spl: Option<f64>) -> String {
    let mut s = String::from("## Distortion against level\n\n| Sweep level | Level at 1 kHz |");
    for f in &d.freq_hz {
        s.push_str(&format!(" THD at {} |", units::hz(*f)));
    }
    s.push_str("\n|---:|---:|");
    for _ in &d.freq_hz {
        s.push_str("---:|");
    }
    s.push('\n');
    let level = |v: Option<f64>| match (v, spl) {
        (Some(v), Some(o)) => format!("{} dB SPL", units::fixed(v + o, 1)),
        (Some(v), None) => format!("{} dBFS", units::fixed(v, 1)),
        _ => units::NA.to_string(),
    };
    for ch in &d.channels {
        if d.channels.len() > 1 {
            s.push_str(&format!(
                "| **ch{}** | | {}\n",
                ch.index,
                "| ".repeat(d.freq_hz.len())
            ));
        }
        for (i, l) in d.levels_dbfs.iter().enumerate() {
            s.push_str(&format!(
                "| {} dBFS | {} |",
                units::fixed(*l, 1),
                level(ch.level_1k_dbfs[i])
            ));
            for t in &ch.thd_percent {
                s.push_str(&format!(
                    " {} |",
                    t[i].map_or(units::NA.to_string(), |v| format!("{} %", units::sig2(v)))
                ));
            }
            s.push('\n');
        }
    }
    s.push('\n');
    for ch in &d.channels {
        for (fi, f) in d.freq_hz.iter().enumerate() {
            for (limit, t) in [(1, &ch.at_1_percent[fi]), (3, &ch.at_3_percent[fi])] {
                let what = match t.level_dbfs {
                    Some(l) => format!(
                        "THD reaches {limit} % at a sweep level of {} dBFS ({} at 1 kHz)",
                        units::fixed(l, 1),
                        level(t.output_1k_dbfs)
                    ),
                    None => format!("{limit} %: {}", t.note.as_deref().unwrap_or("not reached")),
                };
                s.push_str(&format!(
                    "- ch{} {}: {}\n",
                    ch.index,
                    units::hz(*f),
                    units::md_escape(&what)
                ));
            }
        }
    }
    if let Some(why) = &d.stopped {
        s.push_str(&format!(
            "- The series stopped early: {}\n",
            units::md_escape(why)
        ));
    }
    s.push('\n');
    s
}
