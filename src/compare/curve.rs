//! Published curves and microphone calibration files.
//!
//! - AutoEq / squig.link CSV: a header row naming the columns (`frequency,raw[,…]`), then one
//!   row per frequency; the `raw` column is used (a two-column file may name its second
//!   column anything, e.g. a target's `frequency,target`).
//! - REW text export: `*` comment lines, then `freq dB [phase]` separated by blanks, tabs,
//!   commas or semicolons.
//! - Calibration (REW / miniDSP UMIK / Dayton): an optional `"Sens Factor =-1.23dB, SERNO: …"`
//!   line, optional comment or header lines, then `freq dB [phase]`.
//!
//! Every point must be a finite number, frequencies positive and strictly increasing; an
//! error names the file and the line.

use std::path::{Path, PathBuf};

use crate::dsp::smoothing::interp_linear;
use crate::error::{Error, Result};
use crate::results::CalibrationInfo;

/// Reads a published curve (AutoEq CSV or REW text export): (frequencies in Hz, levels in dB).
pub fn read_curve(path: &Path) -> Result<(Vec<f64>, Vec<f64>)> {
    let text = read_text(path)?;
    parse_curve(path, &text)
}

fn read_text(path: &Path) -> Result<String> {
    crate::storage::read_input(path, "a curve file", "no such file")
}

/// Whether a line carries no data: blank, or a comment (`*` REW, `#`, `;`, `//`).
fn is_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty()
        || t.starts_with('*')
        || t.starts_with('#')
        || t.starts_with(';')
        || t.starts_with("//")
}

/// Parses curve text (see the module comment). `path` is only used in errors.
pub fn parse_curve(path: &Path, text: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let first = text
        .lines()
        .enumerate()
        .find(|(_, l)| !is_comment(l))
        .map(|(i, l)| (i, l.trim()));
    match first {
        Some((i, l))
            if (l.contains(',') || l.contains(';'))
                && l.starts_with(|c: char| c.is_ascii_alphabetic() || c == '"') =>
        {
            parse_csv(path, text, i, l)
        }
        _ => parse_columns(path, text, false).map(|c| (c.freq_hz, c.db)),
    }
}

/// How a file writes its numbers: with a decimal point (fields separated by blanks, tabs,
/// commas or semicolons), or with a decimal comma (as REW and spreadsheets write in many
/// locales: `20,000;75,370` or `20,000<TAB>75,370`; fields separated by semicolons or blanks).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Decimal {
    Point,
    Comma,
}

/// Decides the decimal mark from every data line at once. A decimal comma is read where the
/// separators make it unambiguous (semicolons or blanks between fields, no decimal points);
/// a file where commas could be either (`20,000,75,370`) is refused with the line.
fn decimal_mark(path: &Path, text: &str) -> Result<Decimal> {
    let data: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| {
            !is_comment(l)
                && l.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
        })
        .collect();
    let has_point = data.iter().any(|(_, l)| l.contains('.'));
    let has_comma = data.iter().any(|(_, l)| l.contains(','));
    if !has_comma {
        return Ok(Decimal::Point);
    }
    // fields split by blanks and semicolons only
    let split = |l: &str| -> usize {
        l.split(|c: char| c.is_whitespace() || c == ';')
            .filter(|s| !s.is_empty())
            .count()
    };
    let comma_inside = data.iter().all(|(_, l)| {
        split(l) >= 2
            && !l
                .split(|c: char| c.is_whitespace() || c == ';')
                .any(|f| f.ends_with(','))
    });
    if comma_inside && !has_point {
        return Ok(Decimal::Comma);
    }
    if !has_point {
        // commas only: separators, unless a line has more fields than a curve has columns
        if let Some((n, l)) = data.iter().find(|(_, l)| l.split(',').count() > 3) {
            return Err(Error::bad_input(
                path,
                format!(
                    "line {n}: {} could be numbers with decimal commas or {} comma-separated columns; separate the columns with semicolons or tabs, or write decimal points",
                    crate::text::excerpt(l, 40),
                    l.split(',').count()
                ),
            ));
        }
    }
    if let Some((n, l)) = data
        .iter()
        .find(|(_, l)| l.contains(';') && l.contains(',') && l.contains('.'))
    {
        return Err(Error::bad_input(
            path,
            format!(
                "line {n}: {} mixes decimal points and commas inside a number (a thousands separator?); write plain numbers",
                crate::text::excerpt(l, 40)
            ),
        ));
    }
    Ok(Decimal::Point)
}

/// Splits a data line into fields: blanks, tabs, commas and semicolons separate; with a
/// decimal comma, commas are decimal marks and only blanks and semicolons separate.
fn fields(line: &str, decimal: Decimal) -> Vec<String> {
    match decimal {
        Decimal::Point => line
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Decimal::Comma => line
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter(|s| !s.is_empty())
            .map(|s| s.replace(',', "."))
            .collect(),
    }
}

/// A finite number, or an error naming the line and the column.
fn number(path: &Path, line_no: usize, what: &str, s: &str) -> Result<f64> {
    let v: f64 = s.trim().trim_matches('"').parse().map_err(|_| {
        Error::bad_input(
            path,
            format!(
                "line {line_no}: {what} {} is not a number",
                crate::text::excerpt(s, 40)
            ),
        )
    })?;
    if !v.is_finite() {
        return Err(Error::bad_input(
            path,
            format!("line {line_no}: {what} is {s}; every value must be a finite number"),
        ));
    }
    Ok(v)
}

/// The highest frequency and the largest |level| a curve or calibration may hold: far beyond
/// any audio measurement, and small enough that differences and interpolation stay finite.
const MAX_FREQ_HZ: f64 = 1e6;
const MAX_ABS_DB: f64 = 1000.0;

/// Accumulates (f, dB) points, checking frequencies are positive and strictly increasing.
struct Points<'a> {
    path: &'a Path,
    freq_hz: Vec<f64>,
    db: Vec<f64>,
    last_line: usize,
}

impl Points<'_> {
    fn push(&mut self, line_no: usize, f: f64, db: f64) -> Result<()> {
        if f <= 0.0 || f > MAX_FREQ_HZ {
            return Err(Error::bad_input(
                self.path,
                format!("line {line_no}: frequency {f} Hz must be positive and at most 1 MHz"),
            ));
        }
        if db.abs() > MAX_ABS_DB {
            return Err(Error::bad_input(
                self.path,
                format!(
                    "line {line_no}: {db} dB is not a plausible level (|dB| ≤ {MAX_ABS_DB}); is a column of another quantity being read as dB?"
                ),
            ));
        }
        if let Some(&prev) = self.freq_hz.last() {
            if f == prev {
                return Err(Error::bad_input(
                    self.path,
                    format!(
                        "line {line_no}: frequency {f} Hz repeats line {}; frequencies must be strictly increasing",
                        self.last_line
                    ),
                ));
            }
            if f < prev {
                return Err(Error::bad_input(
                    self.path,
                    format!(
                        "line {line_no}: frequency {f} Hz is below the {prev} Hz of line {}; frequencies must be strictly increasing",
                        self.last_line
                    ),
                ));
            }
        }
        self.freq_hz.push(f);
        self.db.push(db);
        self.last_line = line_no;
        Ok(())
    }

    fn finish(self, what: &str) -> Result<(Vec<f64>, Vec<f64>)> {
        if self.freq_hz.len() < 2 {
            return Err(Error::bad_input(
                self.path,
                format!(
                    "holds {} data point{}; a {what} needs at least two \"frequency dB\" rows",
                    self.freq_hz.len(),
                    if self.freq_hz.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        Ok((self.freq_hz, self.db))
    }
}

/// AutoEq / squig.link CSV with a header row at (0-based) line `header_idx`.
fn parse_csv(
    path: &Path,
    text: &str,
    header_idx: usize,
    header: &str,
) -> Result<(Vec<f64>, Vec<f64>)> {
    // a semicolon-separated CSV (spreadsheets in decimal-comma locales) may write decimal
    // commas; a comma-separated one cannot
    let sep = if header.contains(';') { ';' } else { ',' };
    let names: Vec<String> = header
        .split(sep)
        .map(|s| s.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let hl = header_idx + 1;
    let fcol = names
        .iter()
        .position(|n| n.starts_with("freq") || n == "hz" || n == "f (hz)")
        .ok_or_else(|| {
            Error::bad_input(
                path,
                format!(
                    "line {hl}: the header \"{header}\" has no \"frequency\" column (expected an AutoEq CSV: frequency,raw)"
                ),
            )
        })?;
    let vcol = match names.iter().position(|n| n == "raw") {
        Some(c) => c,
        // "frequency,target"; REW's "Freq(Hz), SPL(dB), Phase(degrees)"
        None if names.len() == 2 => 1 - fcol,
        None if names.len() == 3 && fcol == 0 && names[2].starts_with("phase") => 1,
        None => {
            return Err(Error::bad_input(
                path,
                format!(
                    "line {hl}: the header \"{header}\" has no \"raw\" column (expected an AutoEq CSV: frequency,raw)"
                ),
            ));
        }
    };
    let mut pts = Points {
        path,
        freq_hz: Vec::new(),
        db: Vec::new(),
        last_line: 0,
    };
    for (i, line) in text.lines().enumerate().skip(header_idx + 1) {
        if is_comment(line) {
            continue;
        }
        let n = i + 1;
        let cells: Vec<String> = line
            .split(sep)
            .map(|c| {
                let c = c.trim();
                if sep == ';' && !c.contains('.') {
                    c.replace(',', ".")
                } else {
                    c.to_string()
                }
            })
            .collect();
        let cell = |c: usize, what: &str| -> Result<f64> {
            let s = cells.get(c).map(|s| s.trim()).unwrap_or("");
            if s.is_empty() {
                return Err(Error::bad_input(
                    path,
                    format!(
                        "line {n}: the \"{}\" column is empty",
                        names.get(c).map_or(what, |s| s.as_str())
                    ),
                ));
            }
            number(path, n, what, s)
        };
        let f = cell(fcol, "frequency")?;
        let v = cell(vcol, "level")?;
        pts.push(n, f, v)?;
    }
    pts.finish("curve")
}

/// `freq dB [phase]` rows with a parsed "Sens Factor" line.
#[derive(Debug)]
struct Columns {
    freq_hz: Vec<f64>,
    db: Vec<f64>,
    sens_factor_db: Option<f64>,
}

/// REW-style columns. Lines before the first data row that begin with a letter or a quote
/// are headers (`Freq(Hz) SPL(dB)`, `"Sens Factor =…"`); after that every non-comment line
/// must be data. With `calibration`, a "Sens Factor" header is parsed.
fn parse_columns(path: &Path, text: &str, calibration: bool) -> Result<Columns> {
    let mut pts = Points {
        path,
        freq_hz: Vec::new(),
        db: Vec::new(),
        last_line: 0,
    };
    let mut sens = None;
    let decimal = decimal_mark(path, text)?;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if is_comment(line) {
            continue;
        }
        let t = line.trim();
        if pts.freq_hz.is_empty() && t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '"') {
            if calibration && t.to_ascii_lowercase().contains("sens factor") {
                let t = if decimal == Decimal::Comma {
                    t.replace(',', ".")
                } else {
                    t.to_string()
                };
                sens = Some(sens_factor(path, n, &t)?);
            }
            continue;
        }
        let f = fields(t, decimal);
        if f.len() < 2 {
            return Err(Error::bad_input(
                path,
                format!(
                    "line {n}: {} has no level column; expected \"frequency dB [phase]\"",
                    crate::text::excerpt(t, 40)
                ),
            ));
        }
        let freq = number(path, n, "frequency", &f[0])?;
        let db = number(path, n, "level", &f[1])?;
        if let Some(p) = f.get(2) {
            number(path, n, "phase", p)?;
        }
        pts.push(n, freq, db)?;
    }
    let what = if calibration {
        "calibration file"
    } else {
        "curve"
    };
    let (freq_hz, db) = pts.finish(what)?;
    Ok(Columns {
        freq_hz,
        db,
        sens_factor_db: sens,
    })
}

/// `"Sens Factor =-1.378dB, SERNO: 7023270"` → -1.378.
fn sens_factor(path: &Path, n: usize, line: &str) -> Result<f64> {
    let lower = line.to_ascii_lowercase();
    let bad = || {
        Error::bad_input(
            path,
            format!(
                "line {n}: cannot read the sensitivity factor in \"{line}\" (expected \"Sens Factor =-1.23dB\")"
            ),
        )
    };
    let start = lower.find("sens factor").ok_or_else(bad)?;
    let rest = &lower[start + "sens factor".len()..];
    let rest = rest.trim_start().strip_prefix('=').ok_or_else(bad)?;
    let end = rest.find("db").ok_or_else(bad)?;
    number(path, n, "sensitivity factor", rest[..end].trim())
}

/// A measurement microphone's calibration: its response, to be removed from measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub file: PathBuf,
    /// The "Sens Factor" (dB) of miniDSP/UMIK files: an absolute-level (SPL) offset. Recorded,
    /// not applied: compare works with relative levels.
    pub sens_factor_db: Option<f64>,
    pub freq_hz: Vec<f64>,
    pub db: Vec<f64>,
}

/// Reads a microphone calibration file (REW / miniDSP UMIK format).
pub fn read_calibration(path: &Path) -> Result<Calibration> {
    let text = read_text(path)?;
    let c = parse_columns(path, &text, true)?;
    Ok(Calibration {
        file: path.to_path_buf(),
        sens_factor_db: c.sens_factor_db,
        freq_hz: c.freq_hz,
        db: c.db,
    })
}

impl Calibration {
    /// The microphone's response at `f`: interpolated linearly over log f, held constant
    /// beyond the file's first and last points.
    pub fn at(&self, f: f64) -> f64 {
        let lx: Vec<f64> = self.freq_hz.iter().map(|v| v.log2()).collect();
        interp_linear(&lx, &self.db, f.max(1e-9).log2())
    }

    /// `gain_db` with the microphone's response subtracted.
    pub fn apply(&self, freq_hz: &[f64], gain_db: &[f64]) -> Vec<f64> {
        let lx: Vec<f64> = self.freq_hz.iter().map(|v| v.log2()).collect();
        freq_hz
            .iter()
            .zip(gain_db)
            .map(|(&f, &g)| g - interp_linear(&lx, &self.db, f.max(1e-9).log2()))
            .collect()
    }

    /// `apply` over the points of `freq_hz` that lie inside the calibration's own range
    /// (beyond it the microphone's response is not known): those points and their gains.
    pub fn apply_within(&self, freq_hz: &[f64], gain_db: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (lo, hi) = (self.freq_hz[0], self.freq_hz[self.freq_hz.len() - 1]);
        let (f, g): (Vec<f64>, Vec<f64>) = freq_hz
            .iter()
            .zip(gain_db)
            .filter(|(f, _)| (lo..=hi).contains(*f))
            .map(|(&f, &g)| (f, g))
            .unzip();
        let g = self.apply(&f, &g);
        (f, g)
    }

    /// What `analysis.json`/`compare.json` record about it.
    pub fn info(&self) -> CalibrationInfo {
        CalibrationInfo {
            file: self.file.display().to_string(),
            sens_factor_db: self.sens_factor_db,
            points: self.freq_hz.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x.txt")
    }

    fn err(text: &str) -> String {
        match parse_curve(p(), text) {
            Err(Error::BadInput { msg, .. }) => msg,
            other => panic!("expected BadInput, got {other:?}"),
        }
    }

    #[test]
    fn autoeq_csv_uses_raw_column() {
        let (f, v) = parse_curve(
            p(),
            "frequency,raw,error,smoothed\n20,1.5,,2\n30.5,-2.25,0.1,3\n",
        )
        .unwrap();
        assert_eq!(f, vec![20.0, 30.5]);
        assert_eq!(v, vec![1.5, -2.25]);
        let (f, v) = parse_curve(p(), "frequency,target\n20,1\n40,2\n").unwrap();
        assert_eq!((f, v), (vec![20.0, 40.0], vec![1.0, 2.0]));
        let t = "Freq(Hz), SPL(dB), Phase(degrees)\n20, 70, 5\n40, 71, 4\n";
        assert_eq!(parse_curve(p(), t).unwrap().1, vec![70.0, 71.0]);
        let t = "error,frequency,raw\n0,20,0\n-1,1000,3\n";
        assert_eq!(
            parse_curve(p(), t).unwrap(),
            (vec![20.0, 1000.0], vec![0.0, 3.0])
        );
        let t = "Frequency\tdB\tUnweighted\n20\t1\t0\n40\t2\t0\n";
        assert_eq!(parse_curve(p(), t).unwrap().1, vec![1.0, 2.0]);
    }

    #[test]
    fn rew_export_with_comments_and_phase() {
        let t = "* Measurement data measured by REW V5.20\n* Source: x\n* Format: 1/48 Octave\n\
                 * Freq(Hz) SPL(dB) Phase(degrees)\n20.000 70.5 -12.0\n21.0\t71.0\t-11\n22,72.5\n";
        let (f, v) = parse_curve(p(), t).unwrap();
        assert_eq!(f, vec![20.0, 21.0, 22.0]);
        assert_eq!(v, vec![70.5, 71.0, 72.5]);
    }

    #[test]
    fn bad_curves_name_the_line() {
        assert!(err("frequency,raw\n20,1\n30,NaN\n").starts_with("line 3:"));
        assert!(err("frequency,raw\n20,1\n20,2\n").contains("line 3: frequency 20 Hz repeats"));
        assert!(err("20 1\n10 2\n").starts_with("line 2:"));
        assert!(err("20 1\n30 x1\n").contains("line 2: level \"x1\" is not a number"));
        assert!(err("frequency,raw\n").contains("at least two"));
        assert!(err("").contains("at least two"));
        assert!(err("frequency,raw\n20,1\n30,\n").contains("line 3: the \"raw\" column is empty"));
        assert!(err("frequency,a,b\n20,1,2\n").contains("no \"raw\" column"));
        assert!(err("20 1\n30 inf\n").starts_with("line 2:"));
        assert!(err("0 1\n30 1\n").contains("must be positive"));
        assert!(err("20 1\n30\n").contains("line 2:"));
    }

    #[test]
    fn umik_calibration() {
        let t = "\"Sens Factor =-1.378dB, SERNO: 7023270\"\n10.054\t-0.4786\n100\t0\n1000 0.5\n";
        let c = parse_columns(p(), t, true).unwrap();
        assert_eq!(c.sens_factor_db, Some(-1.378));
        let cal = Calibration {
            file: "c.txt".into(),
            sens_factor_db: c.sens_factor_db,
            freq_hz: c.freq_hz,
            db: c.db,
        };
        // held constant outside, linear in log f inside
        assert_eq!(cal.at(5.0), -0.4786);
        assert_eq!(cal.at(5000.0), 0.5);
        assert!((cal.at(316.227766) - 0.25).abs() < 1e-9);
        assert_eq!(cal.apply(&[1000.0, 20000.0], &[1.0, 2.0]), vec![0.5, 1.5]);
        // variants seen in the wild: AGain in the header, a second quoted line, CRLF, a
        // bare leading dot; Dayton's "*1000Hz" star header; a tab-separated header row
        let t = "\"Sens Factor =-.5844dB, AGain =18dB, SERNO: 8105623\"\r\n\"Auto-generated 90-degree calibration file\"\r\n10.054\t-4.1\r\n1000.0\t0.5\r\n";
        let c = parse_columns(p(), t, true).unwrap();
        assert_eq!(
            (c.sens_factor_db, c.freq_hz, c.db),
            (Some(-0.5844), vec![10.054, 1000.0], vec![-4.1, 0.5])
        );
        let c = parse_columns(p(), "*1000Hz\t-36.0\nFreq(Hz)\tdB\n20 1\n40 2\n", true).unwrap();
        assert_eq!((c.sens_factor_db, c.db), (None, vec![1.0, 2.0]));
        match parse_columns(p(), "\"Sens Factor =abcdB\"\n10 1\n20 1\n", true) {
            Err(Error::BadInput { msg, .. }) => assert!(msg.starts_with("line 1:"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}
