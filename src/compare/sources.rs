//! Compare's sources: what a path is (a session folder, an analysis folder or a published
//! curve), and each loaded as a device (a session analysed through the session layer's
//! callback into `OUT/sources/<name>/`), with its provenance and kind.

use super::*;

/// What a source path is.
enum SourceType {
    Session,
    Analysis(PathBuf),
    Curve,
}

fn classify(src: &Path) -> Result<SourceType> {
    if !src.exists() {
        return Err(Error::bad_input(
            src,
            "no such file or folder; give a session folder, an analysis folder or a curve file (AutoEq CSV, REW text)",
        ));
    }
    if src.is_dir() {
        if src.join(SESSION_JSON).is_file() {
            return Ok(SourceType::Session);
        }
        for cand in [
            src.join(ANALYSIS_JSON),
            src.join("report").join(ANALYSIS_JSON),
        ] {
            if cand.is_file() {
                return Ok(SourceType::Analysis(cand));
            }
        }
        return Err(Error::bad_input(
            src,
            "holds neither session.json nor analysis.json: give a session folder, an analysis folder or a curve file",
        ));
    }
    let is_json = src
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    Ok(if is_json {
        SourceType::Analysis(src.to_path_buf())
    } else {
        SourceType::Curve
    })
}

/// A folder or file name usable as a label and as a folder name.
fn base_name(p: &Path) -> String {
    let p = if p.file_name().is_some() {
        p.to_path_buf()
    } else {
        std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
    };
    p.file_name()
        .map_or("source".into(), |s| s.to_string_lossy().into_owned())
}

fn safe_dir_name(s: &str, used: &mut Vec<String>) -> String {
    let base: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.trim_matches('.').is_empty() {
        "source".to_string()
    } else {
        base
    };
    let mut name = base.clone();
    let mut k = 2;
    while used.contains(&name) {
        name = format!("{base}-{k}");
        k += 1;
    }
    used.push(name.clone());
    name
}

/// What the command line asks of one source: its label and kind (overriding its own) and
/// the channel compared.
pub(super) struct Wanted {
    pub label: Option<String>,
    pub kind: Option<DeviceKind>,
    pub channel: Option<ChannelChoice>,
}

pub(super) fn load_source(
    src: &Path,
    wanted: Wanted,
    out: &Path,
    calibration: Option<&Calibration>,
    used_names: &mut Vec<String>,
    analyse: &mut AnalyseSession,
) -> Result<Device> {
    let Wanted {
        label,
        kind,
        channel: choice,
    } = wanted;
    let mut warnings = Vec::new();
    let (analysis, source_type, analysis_dir, fallback_label): (
        Option<Analysis>,
        &str,
        Option<PathBuf>,
        String,
    ) = match classify(src)? {
        SourceType::Session => {
            let dir = out
                .join(SOURCES_DIR)
                .join(safe_dir_name(&base_name(src), used_names));
            let a = analyse(src, &dir, label.clone(), kind)?;
            (Some(a), "session", Some(dir), base_name(src))
        }
        SourceType::Analysis(file) => {
            let a = read_analysis(&file)?;
            (Some(a), "analysis", None, base_name(src))
        }
        SourceType::Curve => (
            None,
            "curve",
            None,
            src.file_stem()
                .map_or("curve".into(), |s| s.to_string_lossy().into_owned()),
        ),
    };
    // the response compared, and what else was measured on that channel
    let mut faults = Vec::new();
    let mut sides = None;
    let (label, kind, mut freq_hz, mut gain_db, channel, already_calibrated) = match &analysis {
        Some(a) => {
            let picked = pick_channel(src, a, choice, &mut warnings)?;
            let ch = match picked {
                Picked::One(ch) => ch.clone(),
                Picked::Sides(l, r) => {
                    sides = Some((l.response(), r.response()));
                    // the right side's faults count as much as the left's
                    let right: Vec<String> = r.warnings.iter().map(|w| format!("R: {w}")).collect();
                    faults.extend(
                        r.warnings
                            .iter()
                            .zip(&right)
                            .filter(|(w, _)| crate::results::is_fault(w))
                            .map(|(_, p)| p.clone()),
                    );
                    warnings.extend(right);
                    if let Some(sd) = &a.sides {
                        warnings.extend(sd.warnings.iter().cloned());
                    }
                    l.clone()
                }
            };
            warnings.extend(ch.warnings.iter().cloned());
            faults.extend(
                ch.warnings
                    .iter()
                    .filter(|w| crate::results::is_fault(w))
                    .cloned(),
            );
            let (f, g) = match sides {
                Some(((lf, lg), (rf, rg))) => power_average(lf, lg, rf, rg),
                None => {
                    let (f, g) = ch.response();
                    (f.to_vec(), g.to_vec())
                }
            };
            (
                label.or(a.label.clone().filter(|l| !l.trim().is_empty())),
                kind.or(a.kind),
                f,
                g,
                Some(ch),
                ch_calibrated(a),
            )
        }
        None => {
            let (f, g) = read_curve(src)?;
            (label, kind, f, g, None, false)
        }
    };
    let provenance = match &analysis {
        Some(a) => a.provenance.unwrap_or(Provenance::Measured),
        None => Provenance::Published,
    };
    let sweep_level_dbfs = analysis.as_ref().map(|a| a.sweep.level_dbfs);
    let mut calibrated = already_calibrated;
    if let Some(cal) = calibration {
        if source_type == "curve" {
            // published curves are compensated by whoever published them
        } else if already_calibrated {
            warnings.push(
                "--calibration not applied: the analysis already has a calibration removed".into(),
            );
        } else if kind.is_some_and(DeviceKind::is_microphone) {
            warnings.push(
                "--calibration not applied: a microphone under test is not measured through the measurement microphone"
                    .into(),
            );
        } else {
            gain_db = cal.apply(&freq_hz, &gain_db);
            calibrated = true;
        }
    }
    if kind.is_none() {
        warnings.push("no kind given (use --kind): this device takes part in no claim".into());
    }
    // a re-seat series: each placement's response, calibrated alike
    // or the two sides, each its own curve
    let over = if sides.is_some() {
        crate::compare::claims::Over::Sides
    } else {
        crate::compare::claims::Over::Placements
    };
    let mut placements = match sides {
        Some(((lf, lg), (rf, rg))) => vec![(lf.to_vec(), lg.to_vec()), (rf.to_vec(), rg.to_vec())],
        None => channel
            .as_ref()
            .map(|ch| ch.placement_responses())
            .unwrap_or_default(),
    };
    if let (Some(cal), true) = (calibration, calibrated && !already_calibrated) {
        for (f, g) in &mut placements {
            *g = cal.apply(f, g);
        }
    }
    let within = channel.as_ref().and_then(|c| c.figures_band());
    let mut m = metrics::measure_curve_in(&freq_hz, &gain_db, within);
    if let Some(ch) = &channel {
        let from_channel = metrics::measure(ch).metrics;
        m.metrics.noise_rms_dbfs = from_channel.noise_rms_dbfs;
        m.metrics.snr_db = from_channel.snr_db;
        m.metrics.thd_1k_percent = from_channel.thd_1k_percent;
    }
    let (xs, _) = metrics::clean(&freq_hz, &gain_db);
    let band_hz = (xs.len() >= 2).then(|| [xs[0], xs[xs.len() - 1]]);
    match (band_hz, &channel) {
        (Some(_), _) => {}
        // an analysis whose channel holds no signal: compared with no figures (its warning
        // says why), left out of every claim
        (None, Some(ch)) if !ch.has_signal() => {}
        _ => {
            return Err(Error::bad_input(
                src,
                "the response holds fewer than two usable points: nothing to compare",
            ));
        }
    }
    // keep only what the metrics used
    (freq_hz, gain_db) = metrics::clean(&freq_hz, &gain_db);
    let metrics_spread = super::MetricsSpread::of(&m, &placements, over, within);
    Ok(Device {
        result: DeviceResult {
            label: label.unwrap_or(fallback_label),
            kind,
            source: src.display().to_string(),
            source_type: source_type.into(),
            provenance,
            sweep_level_dbfs,
            faults,
            metrics: m.metrics,
            low_extension_at_band_edge: m.low_at_band_edge,
            high_extension_at_band_edge: m.high_at_band_edge,
            band_hz,
            calibrated,
            analysis_dir: analysis_dir.map(|d| d.display().to_string()),
            normalization_offset_db: None,
            rms_deviation_db: None,
            rms_deviation_band_hz: None,
            metrics_spread,
            warnings,
        },
        freq_hz,
        gain_db,
        placements,
        within,
    })
}

/// The channel (or the two sides) of an analysis that `compare` compares.
enum Picked<'a> {
    One(&'a crate::results::ChannelAnalysis),
    Sides(
        &'a crate::results::ChannelAnalysis,
        &'a crate::results::ChannelAnalysis,
    ),
}

/// Applies `--channel` to one analysed source: a side or both sides of a two-sided session
/// (default: both), channel N of any source, or channel 0 of a source with one side only.
fn pick_channel<'a>(
    src: &Path,
    a: &'a Analysis,
    choice: Option<ChannelChoice>,
    warnings: &mut Vec<String>,
) -> Result<Picked<'a>> {
    use crate::kind::Side;
    let by_side = |s: Side| a.channels.iter().find(|c| c.side == Some(s));
    let two_sided = a.sides.is_some();
    let n = a.channels.len();
    let first = || {
        a.channels.first().ok_or_else(|| {
            Error::bad_input(src, "the analysis holds no channels: nothing to compare")
        })
    };
    match choice {
        Some(ChannelChoice::Index(i)) => {
            let ch = a.channels.iter().find(|c| c.index == i).ok_or_else(|| {
                Error::bad_usage(
                    "--channel",
                    format!(
                        "{} has no channel {i} (its channels: {})",
                        src.display(),
                        a.channels
                            .iter()
                            .map(|c| c.index.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            if n > 1 {
                warnings.push(format!("channel {} ({}) of {n} compared", i, ch.tag()));
            }
            Ok(Picked::One(ch))
        }
        Some(ChannelChoice::Side(s)) if two_sided => {
            let ch = by_side(s).ok_or_else(|| {
                Error::bad_input(
                    src,
                    format!(
                        "the {} side was not measured (--channel {s}); see its analysis's warnings",
                        s.word()
                    ),
                )
            })?;
            warnings.push(format!("the {} side compared", s.word()));
            Ok(Picked::One(ch))
        }
        None | Some(ChannelChoice::Both) if two_sided => {
            match (
                by_side(Side::Left).filter(|c| c.has_signal()),
                by_side(Side::Right).filter(|c| c.has_signal()),
            ) {
                (Some(l), Some(r)) => {
                    warnings.push(
                        "both sides compared: their power average, each claim judged over both sides; noise, SNR and THD from the left side"
                            .into(),
                    );
                    Ok(Picked::Sides(l, r))
                }
                (l, r) => {
                    // the side that was measured, if either was
                    let ch = match l.or(r) {
                        Some(c) => c,
                        None => first()?,
                    };
                    warnings.push(format!(
                        "one side measured: the {} side compared alone",
                        ch.side.map_or("first", |s| s.word())
                    ));
                    Ok(Picked::One(ch))
                }
            }
        }
        other => {
            let ch = first()?;
            if other.is_some() {
                warnings.push(format!(
                    "not a two-sided session: --channel applies to two-sided sources; channel 0 of {n} compared"
                ));
            } else if n > 1 {
                warnings.push(format!("channel 0 of {n} compared"));
            }
            Ok(Picked::One(ch))
        }
    }
}

/// The power average of two curves on one analysis grid, where both hold a point.
fn power_average(lf: &[f64], lg: &[f64], rf: &[f64], rg: &[f64]) -> (Vec<f64>, Vec<f64>) {
    crate::metrics::sides::common(lf, lg, rf, rg)
        .into_iter()
        .map(|(f, l, r)| {
            (
                f,
                10.0 * (0.5 * (10f64.powf(l / 10.0) + 10f64.powf(r / 10.0))).log10(),
            )
        })
        .unzip()
}
