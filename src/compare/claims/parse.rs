//! Claims files (TOML): reading and validating them, with errors that name the file, the line
//! and the claim.

use std::path::Path;

use serde::Deserialize;

use super::*;
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    claim: Vec<ClaimToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimToml {
    id: toml::Spanned<String>,
    statement: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    decidable: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    a_kind: Option<String>,
    #[serde(default)]
    b_kind: Option<String>,
    // a single condition may be given at the claim's top level: `CondToml`'s fields again,
    // because serde's `flatten` cannot be combined with `deny_unknown_fields` (a misspelt
    // field must stay an error naming it)
    #[serde(default)]
    what: Option<String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    band_db: Option<Vec<f64>>,
    #[serde(default)]
    relative_to: Option<Vec<f64>>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    min_difference: Option<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    condition: Vec<CondToml>,
}

impl ClaimToml {
    fn single(&self) -> CondToml {
        CondToml {
            what: self.what.clone(),
            metric: self.metric.clone(),
            band_db: self.band_db.clone(),
            relative_to: self.relative_to.clone(),
            direction: self.direction.clone(),
            min_difference: self.min_difference,
            unit: self.unit.clone(),
            value: self.value,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CondToml {
    #[serde(default)]
    what: Option<String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    band_db: Option<Vec<f64>>,
    #[serde(default)]
    relative_to: Option<Vec<f64>>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    min_difference: Option<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    value: Option<f64>,
}

impl CondToml {
    fn is_empty(&self) -> bool {
        self.what.is_none()
            && self.metric.is_none()
            && self.band_db.is_none()
            && self.relative_to.is_none()
            && self.direction.is_none()
            && self.min_difference.is_none()
            && self.unit.is_none()
            && self.value.is_none()
    }
}

/// The most claims one file may hold, and the longest id and texts: far beyond any real
/// claims file, and small enough that claims.md and compare.json stay readable.
pub const MAX_CLAIMS: usize = 1000;
const MAX_ID_CHARS: usize = 100;
const MAX_TEXT_CHARS: usize = 2000;

/// Reads a claims file.
pub fn read_claims(path: &Path) -> Result<Vec<Claim>> {
    let text = crate::storage::read_input(path, "a claims file (TOML)", "no such claims file")?;
    parse_claims(path, &text)
}

/// Parses claims TOML; `path` names the file in errors.
pub fn parse_claims(path: &Path, text: &str) -> Result<Vec<Claim>> {
    let file: FileToml = toml::from_str(text)
        .map_err(|e| Error::bad_input(path, crate::text::toml_error(text, &e)))?;
    if let Some(f) = &file.format
        && f != CLAIMS_FORMAT
    {
        return Err(Error::bad_input(
            path,
            format!("\"format\" is \"{f}\", expected \"{CLAIMS_FORMAT}\""),
        ));
    }
    if let Some(v) = file.version
        && v != 1
    {
        return Err(Error::bad_input(
            path,
            format!("version {v} is not supported (expected 1)"),
        ));
    }
    if file.claim.is_empty() {
        return Err(Error::bad_input(
            path,
            "holds no [[claim]] tables; see fixtures/claims/default.toml for the format",
        ));
    }
    if file.claim.len() > MAX_CLAIMS {
        return Err(Error::bad_input(
            path,
            format!(
                "holds {} claims; at most {MAX_CLAIMS} are judged in one run: split the file",
                file.claim.len()
            ),
        ));
    }
    let lines = crate::text::Lines::new(text);
    let mut ids = std::collections::HashSet::new();
    let mut out: Vec<Claim> = Vec::new();
    for c in file.claim {
        let line = lines.line_of(c.id.span().start);
        let id = c.id.get_ref().clone();
        let bad = |m: String| Error::bad_input(path, format!("line {line}: claim \"{id}\": {m}"));
        if id.trim().is_empty() {
            return Err(bad("the id is empty".into()));
        }
        if id.chars().count() > MAX_ID_CHARS {
            return Err(bad(format!(
                "the id is longer than {MAX_ID_CHARS} characters"
            )));
        }
        if !ids.insert(id.clone()) {
            return Err(bad("this id is used twice".into()));
        }
        if c.statement.trim().is_empty() {
            return Err(bad("the statement is empty".into()));
        }
        for (what, t) in [
            ("statement", Some(&c.statement)),
            ("note", c.note.as_ref()),
            ("reason", c.reason.as_ref()),
        ] {
            if let Some(t) = t
                && t.chars().count() > MAX_TEXT_CHARS
            {
                return Err(bad(format!(
                    "the {what} is longer than {MAX_TEXT_CHARS} characters"
                )));
            }
        }
        let decidable = c.decidable.unwrap_or(true);
        let single = c.single();
        let test = if !decidable {
            if c.a_kind.is_some() || !single.is_empty() || !c.condition.is_empty() {
                return Err(bad(
                    "decidable = false claims take no kinds, metrics or conditions (only a reason)"
                        .into(),
                ));
            }
            ClaimTest::NotMeasurable {
                reason: c
                    .reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or_else(|| "no measurement of this tool can decide it".into()),
            }
        } else {
            let a_kind: DeviceKind = c
                .a_kind
                .as_deref()
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| bad("needs a_kind (the kind of device the claim is about)".into()))?
                .parse()
                .map_err(|e| bad(format!("a_kind: {e}")))?;
            let b_kind: Option<DeviceKind> = c
                .b_kind
                .as_deref()
                .map(|k| k.parse().map_err(|e| bad(format!("b_kind: {e}"))))
                .transpose()?;
            if b_kind == Some(a_kind) {
                return Err(bad(format!(
                    "a_kind and b_kind are both \"{a_kind}\"; a claim compares two kinds"
                )));
            }
            let raw: Vec<&CondToml> = match (single.is_empty(), c.condition.is_empty()) {
                (false, true) => vec![&single],
                (true, false) => c.condition.iter().collect(),
                (false, false) => {
                    return Err(bad(
                        "give the metric either at the claim's top level or in [[claim.condition]] tables, not both"
                            .into(),
                    ));
                }
                (true, true) => {
                    return Err(bad(
                        "needs a metric (metric = \"bass_db\" or band_db = [lo, hi]) and a direction"
                            .into(),
                    ));
                }
            };
            let conditions = raw
                .into_iter()
                .enumerate()
                .map(|(k, t)| {
                    condition(t, b_kind.is_some()).map_err(|m| {
                        if c.condition.is_empty() {
                            bad(m)
                        } else {
                            bad(format!("condition {}: {m}", k + 1))
                        }
                    })
                })
                .collect::<std::result::Result<Vec<_>, Error>>()?;
            ClaimTest::Measurable {
                a_kind,
                b_kind,
                conditions,
            }
        };
        if decidable && c.reason.is_some() {
            return Err(bad(
                "\"reason\" is for decidable = false claims; use \"note\" to explain a measurable one"
                    .into(),
            ));
        }
        out.push(Claim {
            id,
            statement: c.statement,
            note: c.note,
            test,
        });
    }
    Ok(out)
}

fn band(v: &[f64], key: &str) -> std::result::Result<(f64, f64), String> {
    match v {
        [lo, hi] if lo.is_finite() && hi.is_finite() && *lo > 0.0 && hi > lo => Ok((*lo, *hi)),
        _ => Err(format!(
            "{key} must be [low_hz, high_hz] with 0 < low < high, got {v:?}"
        )),
    }
}

fn condition(t: &CondToml, has_b: bool) -> std::result::Result<Condition, String> {
    let metric = match (&t.metric, &t.band_db) {
        (Some(m), None) => {
            if t.relative_to.is_some() {
                return Err("relative_to only goes with band_db".into());
            }
            Metric::from_name(m).ok_or_else(|| {
                format!(
                    "unknown metric \"{m}\"; use one of {} or band_db = [lo, hi]",
                    METRIC_NAMES.join(", ")
                )
            })?
        }
        (None, Some(b)) => {
            let (lo, hi) = band(b, "band_db")?;
            let relative_to = t
                .relative_to
                .as_deref()
                .map(|r| band(r, "relative_to"))
                .transpose()?;
            Metric::Band {
                lo,
                hi,
                relative_to,
            }
        }
        (Some(_), Some(_)) => return Err("give either metric or band_db, not both".into()),
        (None, None) => return Err("needs metric = \"…\" or band_db = [lo, hi]".into()),
    };
    let direction = match t.direction.as_deref() {
        Some("a_greater") => Direction::AGreater,
        Some("a_less") => Direction::ALess,
        Some(d) => {
            return Err(format!(
                "direction \"{d}\" is not \"a_greater\" or \"a_less\""
            ));
        }
        None => {
            return Err(
                "needs direction = \"a_greater\" or \"a_less\" (A's value above or below B's)"
                    .into(),
            );
        }
    };
    let unit = match t.unit.as_deref() {
        None => metric.default_unit(),
        Some(u) => match u.to_ascii_lowercase().as_str() {
            "db" => Unit::Db,
            "octave" | "octaves" | "oct" => Unit::Octave,
            "percent" | "%" => Unit::Percent,
            _ => return Err(format!("unit \"{u}\" is not dB, octave or percent")),
        },
    };
    if !metric.allowed_units().contains(&unit) {
        let ok: Vec<&str> = metric.allowed_units().iter().map(|u| u.as_str()).collect();
        return Err(format!(
            "{} is compared in {}, not {}",
            metric.name(),
            ok.join(" or "),
            unit.as_str()
        ));
    }
    let min_difference = match t.min_difference {
        Some(d) if d.is_finite() && d >= 0.0 => d,
        Some(d) => return Err(format!("min_difference {d} must be zero or positive")),
        None => match unit {
            Unit::Octave => 1.0 / 6.0,
            Unit::Db => 1.0,
            Unit::Percent => {
                return Err("min_difference (percentage points) must be given".into());
            }
        },
    };
    match (t.value, has_b) {
        (Some(_), true) => {
            return Err("has both b_kind and value; compare with one or the other".into());
        }
        (None, false) => {
            return Err("needs b_kind (devices to compare with) or value (a fixed level)".into());
        }
        (Some(v), false) if !v.is_finite() || (metric.is_frequency() && v <= 0.0) => {
            return Err(format!("value {v} is not usable for {}", metric.name()));
        }
        (Some(v), false) if metric == Metric::Thd1kPercent && unit == Unit::Db && v <= 0.0 => {
            return Err(format!(
                "value {v} % cannot be compared as a ratio in dB; use unit = \"percent\""
            ));
        }
        _ => {}
    }
    Ok(Condition {
        what: t.what.clone(),
        metric,
        direction,
        min_difference,
        unit,
        value: t.value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_claims_parse() {
        let claims = parse_claims(Path::new("default.toml"), DEFAULT_CLAIMS).unwrap();
        assert!(claims.len() >= 8);
        assert!(
            claims
                .iter()
                .any(|c| matches!(c.test, ClaimTest::NotMeasurable { .. }))
        );
    }

    fn err(text: &str) -> String {
        match parse_claims(Path::new("c.toml"), text) {
            Err(Error::BadInput { msg, .. }) => msg,
            other => panic!("expected BadInput, got {other:?}"),
        }
    }

    #[test]
    fn bad_claims_name_the_line() {
        let head = "[[claim]]\nid = \"x\"\nstatement = \"s\"\na_kind = \"headset\"\nb_kind = \"headphones\"\n";
        let m = err(&format!(
            "{head}metric = \"loudness\"\ndirection = \"a_less\"\n"
        ));
        assert!(
            m.starts_with("line 2: claim \"x\": unknown metric \"loudness\""),
            "{m}"
        );
        let m = err(&format!(
            "{head}metric = \"bass_db\"\ndirection = \"down\"\n"
        ));
        assert!(m.contains("direction \"down\""), "{m}");
        let m = err(&format!(
            "{head}metric = \"low_extension_hz\"\ndirection = \"a_less\"\nunit = \"dB\"\n"
        ));
        assert!(m.contains("compared in octave"), "{m}");
        let m = err(&format!(
            "{head}metric = \"bass_db\"\ndirection = \"a_less\"\nmin_difference = -1\n"
        ));
        assert!(m.contains("min_difference"), "{m}");
        let m = err("[[claim]]\nid = \"x\"\nstatement = \"s\"\nbogus = 1\n");
        assert!(m.starts_with("line "), "{m}");
        let m = err("[[claim]\n");
        assert!(m.starts_with("line 1:"), "{m}");
        let m = err("format = \"sweeplab-claims\"\n");
        assert!(m.contains("no [[claim]]"), "{m}");
        let m = err(&format!(
            "{head}band_db = [400, 100]\ndirection = \"a_less\"\n"
        ));
        assert!(m.contains("band_db"), "{m}");
        let m = err(&format!(
            "{head}metric = \"bass_db\"\ndirection = \"a_less\"\nvalue = 3\n"
        ));
        assert!(m.contains("both b_kind and value"), "{m}");
    }
}
