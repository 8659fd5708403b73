//! Small helpers with no better home.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// Parses a smoothing fraction: "1/6" → Some(6.0), "none" → None.
pub fn parse_smoothing(s: &str) -> Option<Option<f64>> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") || s == "0" {
        return Some(None);
    }
    let n: f64 = s.strip_prefix("1/").unwrap_or(s).parse().ok()?;
    (n >= 1.0 && n <= 48.0).then_some(Some(n))
}

/// Parses "1600x1000".
pub fn parse_size(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once(['x', 'X'])?;
    let (w, h): (u32, u32) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w >= 200 && h >= 150 && w <= 8000 && h <= 8000).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 12:34:56 UTC = 951827696
        assert_eq!(rfc3339_from_unix(951_827_696), "2000-02-29T12:34:56Z");
    }

    #[test]
    fn smoothing_and_size_parse() {
        assert_eq!(parse_smoothing("1/6"), Some(Some(6.0)));
        assert_eq!(parse_smoothing("none"), Some(None));
        assert_eq!(parse_smoothing("1/96"), None);
        assert_eq!(parse_size("1600x1000"), Some((1600, 1000)));
        assert_eq!(parse_size("10x10"), None);
    }
}
