//! What `sweeplab results` reports from the stored results: yield per station and per day,
//! the limits that fail most often, and a limit's distribution with its process capability
//! (Cpk) against its limits. Pure arithmetic over the records.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ResultRecord;
use crate::limits::Verdict;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Yield {
    pub key: String,
    pub units: usize,
    pub passed: usize,
    pub yield_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failing {
    pub limit: String,
    pub failures: usize,
    /// Share of all units, %.
    pub percent: f64,
}

/// A limit's figures over the units, and how capable the process is against the limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capability {
    pub limit: String,
    pub unit: String,
    /// Units that had the figure.
    pub n: usize,
    pub mean: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// min(USL − μ, μ − LSL) / 3σ over the figure, or over the margin to the nearest limit
    /// for masks (a one-sided capability); None with fewer than two units or no spread.
    pub cpk: Option<f64>,
    /// What the figures are: "value" (the measured figure) or "margin" (distance to the mask).
    pub of: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub units: usize,
    pub passed: usize,
    pub yield_percent: f64,
    pub per_station: Vec<Yield>,
    pub per_day: Vec<Yield>,
    pub failing: Vec<Failing>,
    pub capability: Vec<Capability>,
}

fn yield_of(key: String, rs: &[&ResultRecord]) -> Yield {
    let passed = rs.iter().filter(|r| r.verdict == Verdict::Pass).count();
    Yield {
        key,
        units: rs.len(),
        passed,
        yield_percent: 100.0 * passed as f64 / rs.len().max(1) as f64,
    }
}

fn group<'a>(rs: &'a [ResultRecord], key: impl Fn(&ResultRecord) -> String) -> Vec<Yield> {
    let mut m: BTreeMap<String, Vec<&'a ResultRecord>> = BTreeMap::new();
    for r in rs {
        m.entry(key(r)).or_default().push(r);
    }
    m.into_iter().map(|(k, v)| yield_of(k, &v)).collect()
}

/// Mean and (sample) standard deviation.
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// The capability of one limit over the records.
pub fn capability(rs: &[ResultRecord], limit: &str) -> Option<Capability> {
    let checks: Vec<_> = rs
        .iter()
        .filter_map(|r| r.checks.iter().find(|c| c.name == limit))
        .collect();
    let first = *checks
        .iter()
        .find(|c| c.value.is_some())
        .or(checks.first())?;
    let scalar = first.value.is_some() && (first.lower.is_some() || first.upper.is_some());
    let (of, values): (&'static str, Vec<f64>) = if scalar {
        ("value", checks.iter().filter_map(|c| c.value).collect())
    } else {
        ("margin", checks.iter().filter_map(|c| c.margin).collect())
    };
    if values.is_empty() {
        return None;
    }
    let (mean, sd) = mean_sd(&values);
    let (lower, upper) = if scalar {
        (first.lower, first.upper)
    } else {
        (Some(0.0), None)
    };
    // no spread at all (identical units, a simulation): no capability figure, not infinity
    let spread = sd > 1e-9 * (1.0 + mean.abs());
    let cpk = (values.len() >= 2 && spread)
        .then(|| {
            let u = upper.map(|u| (u - mean) / (3.0 * sd));
            let l = lower.map(|l| (mean - l) / (3.0 * sd));
            match (l, u) {
                (Some(l), Some(u)) => Some(l.min(u)),
                (l, u) => l.or(u),
            }
        })
        .flatten();
    Some(Capability {
        limit: limit.to_string(),
        unit: first.unit.clone(),
        n: values.len(),
        mean,
        std_dev: sd,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        lower,
        upper,
        cpk,
        of,
    })
}

/// Everything `results` prints. `limits`: the limits to give capabilities for (all by default).
pub fn summarize(rs: &[ResultRecord], limits: Option<&[String]>) -> Summary {
    let all: Vec<&ResultRecord> = rs.iter().collect();
    let total = yield_of(String::new(), &all);
    let mut fails: BTreeMap<&str, usize> = BTreeMap::new();
    let mut names: Vec<&str> = Vec::new();
    for r in rs {
        for c in &r.checks {
            if !names.contains(&c.name.as_str()) {
                names.push(&c.name);
            }
            if c.verdict == Verdict::Fail {
                *fails.entry(&c.name).or_default() += 1;
            }
        }
    }
    let mut failing: Vec<Failing> = fails
        .into_iter()
        .map(|(k, n)| Failing {
            limit: k.to_string(),
            failures: n,
            percent: 100.0 * n as f64 / rs.len().max(1) as f64,
        })
        .collect();
    failing.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.limit.cmp(&b.limit)));
    let wanted: Vec<String> = match limits {
        Some(l) => l.to_vec(),
        None => names.iter().map(|s| s.to_string()).collect(),
    };
    Summary {
        units: total.units,
        passed: total.passed,
        yield_percent: total.yield_percent,
        per_station: group(rs, |r| r.station.clone().unwrap_or_else(|| "(none)".into())),
        per_day: group(rs, |r| r.time.get(..10).unwrap_or(&r.time).to_string()),
        failing,
        capability: wanted.iter().filter_map(|l| capability(rs, l)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LimitCheck;

    fn rec(station: &str, day: &str, value: f64, pass: bool) -> ResultRecord {
        ResultRecord {
            uid: format!("{station}{day}{value}"),
            time: format!("{day}T10:00:00Z"),
            serial: None,
            station: Some(station.into()),
            operator: None,
            limits_file: "l.toml".into(),
            limits_sha256: "x".into(),
            verdict: if pass { Verdict::Pass } else { Verdict::Fail },
            session: None,
            metrics: serde_json::Value::Null,
            checks: vec![LimitCheck {
                name: "ch0 noise".into(),
                verdict: if pass { Verdict::Pass } else { Verdict::Fail },
                margin: Some(-60.0 - value),
                unit: "dB".into(),
                at_hz: None,
                value: Some(value),
                lower: None,
                upper: Some(-60.0),
                detail: String::new(),
            }],
        }
    }

    /// Yield and Cpk against values worked out by hand.
    #[test]
    fn yield_failing_limits_and_cpk() {
        let rs = vec![
            rec("A", "2026-11-01", -70.0, true),
            rec("A", "2026-11-01", -66.0, true),
            rec("B", "2026-11-02", -58.0, false),
            rec("B", "2026-11-02", -74.0, true),
        ];
        let s = summarize(&rs, None);
        assert_eq!((s.units, s.passed), (4, 3));
        assert_eq!(s.yield_percent, 75.0);
        assert_eq!(s.per_station[0].yield_percent, 100.0);
        assert_eq!(s.per_station[1].yield_percent, 50.0);
        assert_eq!(s.per_day[1].key, "2026-11-02");
        assert_eq!(s.failing[0].failures, 1);
        let c = &s.capability[0];
        // values −70, −66, −58, −74: mean −67; deviations −3, 1, 9, −7, squares 9 + 1 + 81 + 49
        // = 140: sample sd √(140/3) = 6.8313
        assert!((c.mean + 67.0).abs() < 1e-12);
        assert!((c.std_dev - (140.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // one-sided upper: (−60 − (−67)) / (3 · 6.8313) = 0.34157
        assert!((c.cpk.unwrap() - 7.0 / (3.0 * (140.0f64 / 3.0).sqrt())).abs() < 1e-12);
        assert!((c.cpk.unwrap() - 0.34157).abs() < 1e-5);
    }
}
