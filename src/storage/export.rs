//! Exports of an analysis in the formats other tools read, one set per channel (`chN` in the
//! names; `L` and `R` in a two-sided session), each written atomically beside analysis.json:
//!
//! - `impulse-chN.wav`: the linear impulse response as analysed (32-bit float, the analysis's
//!   rate, gain preserved: a sample is the response's own value, not normalised), as REW and
//!   convolution tools read it. Its first sample is at `impulse.start_s` after the stimulus
//!   started (in the `*.txt` header of the REW export and in analysis.json).
//! - `response-chN-rew.txt`: REW's text export layout ("* " comment lines, then
//!   `Freq(Hz) SPL(dB) Phase(degrees)` rows), which REW's "Import frequency response" reads.
//! - `response-chN.frd`: FRD (frequency, dB, degrees; `*` comments only at the top), as
//!   crossover and speaker design tools read it.
//! - `thd-chN.csv`: THD and each harmonic (dB relative to the fundamental) per fundamental.
//! - `noise-chN.csv`: the noise spectrum (AES17 dBFS per Hz).
//! - `placements-chN.csv` (a re-seat series): per frequency the average, the spread and each
//!   placement's own response.
//!
//! - `balance.csv` (a two-sided session): per frequency where both sides measured, each
//!   side's 1/6-octave response, L − R, and the crosstalk into each undriven ear (raw, an
//!   empty cell where that ear did not hear the sweep above its noise).
//!
//! Only measured points are written: the response over the measured band, THD and harmonics
//! where they rose above the noise (a harmonic not seen is an empty CSV cell, never a number).
//! Phase is the analysis's: the latency (the impulse peak) removed, wrapped to ±180°.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::results::{Analysis, ChannelAnalysis};

/// Writes every export of `a` into `dir`; returns the files written.
pub fn write_exports(dir: &Path, a: &Analysis) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for ch in &a.channels {
        if !ch.has_signal() {
            continue; // nothing was measured: no file that would look like a measurement
        }
        // files are named by the channel: chN, or its side (L, R) in a two-sided session
        let c = ch
            .side
            .map_or_else(|| format!("ch{}", ch.index), |s| s.as_str().to_string());
        let imp = &ch.impulse;
        if imp.sample_rate > 0 && !imp.samples.is_empty() {
            let p = dir.join(format!("impulse-{c}.wav"));
            super::wav::write_wav_f32(&p, imp.sample_rate, 1, &imp.samples)?;
            written.push(p);
        }
        let p = dir.join(format!("response-{c}-rew.txt"));
        super::write_atomic(&p, rew_text(a, ch).as_bytes())?;
        written.push(p);
        let p = dir.join(format!("response-{c}.frd"));
        super::write_atomic(&p, frd(a, ch).as_bytes())?;
        written.push(p);
        if !ch.thd.freq_hz.is_empty() {
            let p = dir.join(format!("thd-{c}.csv"));
            super::write_atomic(&p, thd_csv(ch).as_bytes())?;
            written.push(p);
        }
        if let Some(sp) = &ch.placements {
            let p = dir.join(format!("placements-{c}.csv"));
            super::write_atomic(&p, placements_csv(ch, sp).as_bytes())?;
            written.push(p);
        }
        if let Some(n) = &ch.noise {
            let p = dir.join(format!("noise-{c}.csv"));
            let mut s = String::from("frequency_hz,dbfs_per_hz\n");
            for (f, v) in n.spectrum.freq_hz.iter().zip(&n.spectrum.dbfs_per_hz) {
                let _ = writeln!(s, "{f:.6},{v:.6}");
            }
            super::write_atomic(&p, s.as_bytes())?;
            written.push(p);
        }
    }
    if let Some(sd) = &a.sides {
        let p = dir.join("balance.csv");
        super::write_atomic(&p, balance_csv(a, sd).as_bytes())?;
        written.push(p);
    }
    Ok(written)
}

/// `balance.csv`: see the module documentation.
fn balance_csv(a: &Analysis, sd: &crate::results::SidesAnalysis) -> String {
    use crate::kind::Side;
    let six = crate::metrics::sides::DIFFERENCE_SMOOTHING;
    // a curve's value at exactly `f` (the curves share one analysis grid)
    let at = |fs: &[f64], vs: &[f64], f: f64| -> Option<f64> {
        let i = fs.partition_point(|x| *x < f * (1.0 - 1e-9));
        fs.get(i)
            .filter(|x| (*x - f).abs() <= 1e-9 * f)
            .and_then(|_| vs.get(i).copied())
    };
    let side_curve = |s: Side| {
        a.channels.iter().find(|c| c.side == Some(s)).and_then(|c| {
            c.smoothed.iter().find(|sm| sm.fraction == six).map(|sm| {
                (
                    c.frequency_response.freq_hz.as_slice(),
                    sm.gain_db.as_slice(),
                )
            })
        })
    };
    let xt = |s: Side| sd.crosstalk.iter().find(|x| x.driven == s);
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    let mut out = String::from(
        "frequency_hz,l_db_1_6_oct,r_db_1_6_oct,l_minus_r_db,crosstalk_l_into_r_db,crosstalk_r_into_l_db\n",
    );
    for (&f, &d) in sd.difference.freq_hz.iter().zip(&sd.difference.db) {
        let side = |s: Side| side_curve(s).and_then(|(fs, vs)| at(fs, vs, f));
        let x = |s: Side| xt(s).and_then(|x| at(&x.freq_hz, &x.db, f));
        let _ = writeln!(
            out,
            "{f:.6},{},{},{d:.6},{},{}",
            cell(side(Side::Left)),
            cell(side(Side::Right)),
            cell(x(Side::Left)),
            cell(x(Side::Right))
        );
    }
    out
}

/// The name a header gives the measurement.
fn name(a: &Analysis, ch: &ChannelAnalysis) -> String {
    let label = a
        .label
        .clone()
        .unwrap_or_else(|| "sweeplab measurement".into());
    // one line: a label holds no line break that could end the comment
    format!("{} {}", label.replace(['\r', '\n'], " "), ch.tag())
}

/// Response rows: frequency, dB, and degrees where the analysis has phase.
fn rows(ch: &ChannelAnalysis, out: &mut String) {
    let fr = &ch.frequency_response;
    let phase = fr.phase_deg.len() == fr.freq_hz.len();
    for (i, (f, g)) in fr.freq_hz.iter().zip(&fr.gain_db).enumerate() {
        if phase {
            let _ = writeln!(out, "{f:.6} {g:.4} {:.4}", fr.phase_deg[i]);
        } else {
            let _ = writeln!(out, "{f:.6} {g:.4}");
        }
    }
}

/// REW's text export layout.
fn rew_text(a: &Analysis, ch: &ChannelAnalysis) -> String {
    let fr = &ch.frequency_response;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "* Measurement data measured by sweeplab {}",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "* Source: exponential sine sweep, {} Hz", a.sample_rate);
    let _ = writeln!(s, "* Format: logarithmic frequency points");
    let _ = writeln!(s, "* Dated: {}", a.created.as_deref().unwrap_or("unknown"));
    let _ = writeln!(s, "* Measurement: {}", name(a, ch));
    let _ = writeln!(s, "* Smoothing: None");
    if let Some(sp) = &ch.placements {
        let _ = writeln!(
            s,
            "* Placements: magnitude the power average of {} placements, phase placement {}'s",
            sp.averaged.len(),
            sp.averaged[0]
        );
    }
    let _ = writeln!(
        s,
        "* Units: dB re full scale (dBFS at the sweep's level), phase with the latency ({}) removed",
        ch.latency_s
            .map_or("not measured".into(), |l| format!("{:.4} ms", l * 1e3))
    );
    let _ = writeln!(
        s,
        "* Start Frequency: {:.3} Hz",
        fr.freq_hz.first().copied().unwrap_or(0.0)
    );
    let _ = writeln!(s, "*");
    if fr.phase_deg.len() == fr.freq_hz.len() {
        let _ = writeln!(s, "* Freq(Hz) SPL(dB) Phase(degrees)");
    } else {
        let _ = writeln!(s, "* Freq(Hz) SPL(dB)");
    }
    rows(ch, &mut s);
    s
}

/// FRD: comments at the top, then frequency, dB, degrees.
fn frd(a: &Analysis, ch: &ChannelAnalysis) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "* {}", name(a, ch));
    let _ = writeln!(
        s,
        "* sweeplab {}: frequency (Hz), magnitude (dBFS at the sweep's level), phase (degrees, latency removed)",
        env!("CARGO_PKG_VERSION")
    );
    rows(ch, &mut s);
    s
}

/// A re-seat series per frequency: the average, min, max, standard deviation and each
/// placement (dB, raw as `frequency_response`).
fn placements_csv(ch: &ChannelAnalysis, sp: &crate::results::PlacementSpread) -> String {
    let mut s = String::from("frequency_hz,average_db,min_db,max_db,std_db");
    for n in &sp.averaged {
        let _ = write!(s, ",placement{n}_db");
    }
    s.push('\n');
    let fr = &ch.frequency_response;
    for (i, f) in sp.freq_hz.iter().enumerate() {
        let avg = fr
            .freq_hz
            .binary_search_by(|g| g.total_cmp(f))
            .ok()
            .map_or(String::new(), |j| format!("{:.4}", fr.gain_db[j]));
        let _ = write!(
            s,
            "{f:.6},{avg},{:.4},{:.4},{:.4}",
            sp.min_db[i], sp.max_db[i], sp.std_db[i]
        );
        for g in &sp.gain_db {
            let _ = write!(s, ",{:.4}", g[i]);
        }
        s.push('\n');
    }
    s
}

/// THD and each harmonic per fundamental.
fn thd_csv(ch: &ChannelAnalysis) -> String {
    let t = &ch.thd;
    let mut s = String::from("frequency_hz,thd_percent");
    for h in &t.harmonics {
        let _ = write!(s, ",h{}_db", h.order);
    }
    s.push('\n');
    for (i, (f, p)) in t.freq_hz.iter().zip(&t.percent).enumerate() {
        let _ = write!(s, "{f:.6},{p:.6}");
        for h in &t.harmonics {
            s.push(',');
            if let Some(Some(v)) = h.relative_db.get(i) {
                let _ = write!(s, "{v:.4}");
            }
        }
        s.push('\n');
    }
    s
}
