//! Numbers and units in words: every figure sweeplab prints, writes into Markdown or puts on a
//! plot is formatted here, and so are dates and Markdown escaping. Pure functions of their
//! arguments; imports nothing of sweeplab.
//!
//! Minus signs: plain-text outputs (summary tables) keep ASCII `-` where a reader may copy
//! the number; prose and plot labels use the typographic minus `−` (U+2212).

use std::time::{SystemTime, UNIX_EPOCH};

/// What a figure that was not measured reads as.
pub const NA: &str = "n/a";

/// `v` with exactly `decimals` decimals, never "-0.0".
pub fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// [`fixed`] with a typographic minus; "n/a" for a non-finite value (plot labels).
pub fn fixed_minus(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return NA.into();
    }
    fixed(v, decimals).replacen('-', "\u{2212}", 1)
}

/// At most `decimals` decimals, trailing zeros removed, never "-0" ("2.5", "3", "0.12").
pub fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// The shortest plain decimal of a small round number, to 6 decimals ("0.001", "2.5").
pub fn short(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// At least two significant digits, at most 6 decimals ("0.012", "1.2", "12").
pub fn sig2(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return trim(v, 1);
    }
    let d = (1 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    trim(v, d)
}

/// One decimal with an explicit sign and a typographic minus: "+1.2", "−0.4", "0".
pub fn signed(v: f64) -> String {
    signed_trim(v, 1)
}

/// [`signed`] with up to `decimals` decimals.
pub fn signed_trim(v: f64, decimals: usize) -> String {
    let s = trim(v, decimals);
    if v > 0.0 && s != "0" {
        format!("+{s}")
    } else {
        s.replace('-', "−")
    }
}

/// One decimal at most, a typographic minus and a unit, for prose ("−71.9 dBFS", "3 dB").
pub fn prose(v: f64, unit: &str) -> String {
    format!("{} {unit}", trim(v, 1).replace('-', "−"))
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

/// One decimal and a unit ("-71.9 dBFS"), or n/a.
pub fn db(v: Option<f64>, unit: &str) -> String {
    finite(v).map_or(NA.into(), |v| format!("{} {unit}", fixed(v, 1)))
}

/// A relative level with an explicit sign ("+1.8 dB", "-2.5 dB", "0.0 dB"), or n/a.
pub fn db_signed(v: Option<f64>) -> String {
    finite(v).map_or(NA.into(), |v| {
        let s = fixed(v, 1);
        if v > 0.0 && s != "0.0" {
            format!("+{s} dB")
        } else {
            format!("{s} dB")
        }
    })
}

/// A percentage with two significant digits ("0.012 %", "1.2 %", "12 %"), or n/a.
pub fn percent(v: Option<f64>) -> String {
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
        format!("{} %", fixed((v / p).round() * p, 0))
    } else {
        format!("{} %", fixed(v, decimals))
    }
}

/// A frequency with three significant digits ("45.3 Hz", "1.23 kHz", "15.2 kHz").
pub fn hz3(f: f64) -> String {
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
    format!("{} {unit}", fixed(v, decimals))
}

/// A frequency as people write it, trailing zeros dropped ("45.3 Hz", "1.2 kHz", "8 kHz").
pub fn hz(f: f64) -> String {
    if f >= 1000.0 {
        format!("{} kHz", trim(f / 1000.0, 2))
    } else {
        format!("{} Hz", trim(f, 1))
    }
}

/// A frequency axis tick: "20", "100", "1k", "2.5k", "20k".
pub fn hz_tick(f: f64) -> String {
    if f >= 1000.0 {
        let k = f / 1000.0;
        if (k - k.round()).abs() < 1e-9 {
            format!("{}k", k.round() as i64)
        } else {
            format!("{}k", short(k))
        }
    } else if (f - f.round()).abs() < 1e-9 {
        format!("{}", f.round() as i64)
    } else {
        short(f)
    }
}

/// A sample rate: "48 kHz", "44.1 kHz"; "unknown rate" for 0.
pub fn rate(sample_rate: u32) -> String {
    if sample_rate == 0 {
        return "unknown rate".into();
    }
    let k = f64::from(sample_rate) / 1000.0;
    format!("{} kHz", short((k * 100.0).round() / 100.0))
}

/// A fractional-octave smoothing: "1/6 oct", "1/1.5 oct".
pub fn smoothing(n: f64) -> String {
    format!("1/{} oct", short((n * 100.0).round() / 100.0))
}

/// Markdown table-cell text: backslash, pipe and `<` escaped, control characters as spaces.
pub fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The current time as RFC 3339 UTC (`2026-11-23T21:07:46Z`).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339_from_unix(secs)
}

/// Formats Unix seconds as RFC 3339 UTC (proleptic Gregorian, Howard Hinnant's algorithm).
pub fn rfc3339_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// An RFC 3339 time for people: "2024-05-01T12:34:56Z" → "2024-05-01 12:34 UTC" (another
/// offset is kept: "… 12:34 +02:00"); anything else as given.
pub fn created(s: &str) -> String {
    let b = s.as_bytes();
    if s.len() >= 16 && s.is_ascii() && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' {
        let tz = if s.ends_with('Z') || s.ends_with("+00:00") {
            " UTC".to_string()
        } else if s.len() > 19 {
            let t = &s[19..];
            let t = t.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
            if t.is_empty() {
                String::new()
            } else {
                format!(" {t}")
            }
        } else {
            String::new()
        };
        return format!("{} {}{}", &s[..10], &s[11..16], tz);
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC = 951827696
        assert_eq!(rfc3339_from_unix(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(created("2000-02-29T12:34:56Z"), "2000-02-29 12:34 UTC");
        assert_eq!(
            created("2000-02-29T12:34:56.5+02:00"),
            "2000-02-29 12:34 +02:00"
        );
        assert_eq!(created("yesterday"), "yesterday");
    }

    #[test]
    fn numbers() {
        assert_eq!(percent(Some(0.01234)), "0.012 %");
        assert_eq!(percent(Some(0.1)), "0.10 %");
        assert_eq!(percent(Some(1.234)), "1.2 %");
        assert_eq!(percent(Some(12.34)), "12 %");
        assert_eq!(percent(Some(123.4)), "120 %");
        assert_eq!(percent(Some(f64::NAN)), "n/a");
        assert_eq!(percent(None), "n/a");
        assert_eq!(hz3(45.32), "45.3 Hz");
        assert_eq!(hz3(150.0), "150 Hz");
        assert_eq!(hz3(1234.0), "1.23 kHz");
        assert_eq!(hz3(15200.0), "15.2 kHz");
        assert_eq!(hz(1200.0), "1.2 kHz");
        assert_eq!(hz(8000.0), "8 kHz");
        assert_eq!(hz_tick(2500.0), "2.5k");
        assert_eq!(hz_tick(20.0), "20");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed_minus(-1.25, 1), "\u{2212}1.2");
        assert_eq!(trim(-0.001, 1), "0");
        assert_eq!(signed(1.24), "+1.2");
        assert_eq!(signed(-0.44), "−0.4");
        assert_eq!(db_signed(Some(1.8)), "+1.8 dB");
        assert_eq!(db(None, "dB"), "n/a");
        assert_eq!(rate(44100), "44.1 kHz");
        assert_eq!(smoothing(6.0), "1/6 oct");
        assert_eq!(md_escape("a|b<c\n"), "a\\|b&lt;c ");
    }
}
