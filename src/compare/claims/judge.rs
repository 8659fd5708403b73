//! Verdicts: every device of kind A paired with every device of kind B (or a fixed value),
//! differences in the claim's unit against its threshold, in words with their numbers.

use super::*;
use crate::units::{prose, sig2, signed, signed_trim};

/// Where a reading sits on the comparison scale (dB, log2 Hz, %): [lo, hi].
fn interval(r: Reading, metric: &Metric, unit: Unit) -> Option<(f64, f64)> {
    let t = |v: f64| -> Option<f64> {
        let x = match (metric.is_frequency(), unit) {
            (true, _) if v > 0.0 => v.log2(),
            (true, _) => return None,
            (false, Unit::Db) if *metric == Metric::Thd1kPercent => {
                if v > 0.0 {
                    20.0 * v.log10()
                } else {
                    return None;
                }
            }
            _ => v,
        };
        x.is_finite().then_some(x)
    };
    match r {
        Reading::Missing => None,
        Reading::Exact(v) => t(v).map(|x| (x, x)),
        Reading::AtMost(v) => t(v).map(|x| (f64::NEG_INFINITY, x)),
        Reading::AtLeast(v) => t(v).map(|x| (x, f64::INFINITY)),
        Reading::Spread { lo, hi, .. } => Some((t(lo)?, t(hi)?)),
    }
}

fn reading_value(r: Reading) -> Option<f64> {
    match r {
        Reading::Missing => None,
        Reading::Exact(v) | Reading::AtMost(v) | Reading::AtLeast(v) => Some(v),
        Reading::Spread { value, .. } => Some(value),
    }
}

/// A reading in words: "−6.2 dB", "45.3 Hz", "≤ 20 Hz (sweep start)", "0.12 %".
fn show(r: Reading, metric: &Metric) -> String {
    let v = |x: f64| -> String {
        match metric {
            Metric::LowExtensionHz | Metric::HighExtensionHz => hz(x),
            Metric::Thd1kPercent => format!("{} %", sig2(x)),
            Metric::NoiseRmsDbfs => prose(x, "dBFS"),
            Metric::ReferenceDb | Metric::SnrDb | Metric::RmsDeviationDb => prose(x, "dB"),
            _ => format!("{} dB", signed(x)),
        }
    };
    match r {
        Reading::Missing => "n/a".into(),
        Reading::Exact(x) => v(x),
        Reading::AtMost(x) => format!("≤ {} (band start)", v(x)),
        Reading::AtLeast(x) => format!("≥ {} (band end)", v(x)),
        Reading::Spread {
            value,
            lo,
            hi,
            over,
        } => {
            format!("{} ({} {} to {})", v(value), over.as_str(), v(lo), v(hi))
        }
    }
}

/// A difference in the condition's unit.
fn show_diff(d: f64, unit: Unit) -> String {
    match unit {
        Unit::Db => format!("{} dB", signed(d)),
        Unit::Octave => format!("{} oct", signed_trim(d, 2)),
        Unit::Percent => format!(
            "{}{} points",
            if d > 0.0 { "+" } else { "" },
            sig2(d).replace('-', "−")
        ),
    }
}

fn show_threshold(c: &Condition) -> String {
    if c.min_difference == 0.0 {
        return match c.direction {
            Direction::AGreater => "> 0".into(),
            Direction::ALess => "< 0".into(),
        };
    }
    let d = match c.unit {
        Unit::Db => format!("{} dB", trim(c.min_difference, 2)),
        Unit::Octave => format!("{} oct", oct_fraction(c.min_difference)),
        Unit::Percent => format!("{} points", sig2(c.min_difference)),
    };
    let sign = match c.direction {
        Direction::AGreater => "≥ +",
        Direction::ALess => "≤ −",
    };
    format!("{sign}{d}")
}

/// 0.1667 → "1/6", 0.5 → "1/2", 1 → "1", 0.3 → "0.3".
fn oct_fraction(v: f64) -> String {
    for n in [1u32, 2, 3, 4, 6, 8, 12, 24] {
        if (v * n as f64 - (v * n as f64).round()).abs() < 1e-6 && (v * n as f64).round() >= 1.0 {
            let k = (v * n as f64).round() as u32;
            return if n == 1 {
                k.to_string()
            } else {
                format!("{k}/{n}")
            };
        }
    }
    trim(v, 3)
}

fn judge(diff: (f64, f64), c: &Condition) -> Verdict {
    let d = c.min_difference;
    let (lo, hi) = diff;
    let (pro, contra) = match c.direction {
        Direction::AGreater => (lo >= d && lo > 0.0, hi <= -d && hi < 0.0),
        Direction::ALess => (hi <= -d && hi < 0.0, lo >= d && lo > 0.0),
    };
    if pro {
        Verdict::Supported
    } else if contra {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    }
}

fn pair(a: &dyn Subject, b: Option<&dyn Subject>, c: &Condition) -> PairResult {
    let ra = a.reading(&c.metric);
    let rb = match (b, c.value) {
        (Some(b), _) => b.reading(&c.metric),
        (None, Some(v)) => Reading::Exact(v),
        (None, None) => Reading::Missing,
    };
    let b_name = b.map_or_else(
        || show(Reading::Exact(c.value.unwrap_or(f64::NAN)), &c.metric),
        |b| b.label().to_string(),
    );
    let mut out = PairResult {
        a: a.label().to_string(),
        b: b_name.clone(),
        a_value: reading_value(ra),
        b_value: reading_value(rb),
        difference: None,
        missing_value: false,
        verdict: Verdict::Inconclusive,
        evidence: String::new(),
    };
    let excluded: Vec<String> = [Some(a), b]
        .into_iter()
        .flatten()
        .filter_map(|d| d.excluded())
        .collect();
    if !excluded.is_empty() {
        out.missing_value = true;
        out.evidence = excluded.join("; ");
        return out;
    }
    let (Some(ia), Some(ib)) = (
        interval(ra, &c.metric, c.unit),
        interval(rb, &c.metric, c.unit),
    ) else {
        let missing: Vec<&str> = [(ra, a.label()), (rb, b_name.as_str())]
            .iter()
            .filter(|(r, _)| interval(*r, &c.metric, c.unit).is_none())
            .map(|(_, l)| *l)
            .collect();
        out.missing_value = true;
        out.evidence = format!("{} has no {} value", missing.join(" and "), c.metric.name());
        return out;
    };
    let diff = (ia.0 - ib.1, ia.1 - ib.0);
    out.verdict = judge(diff, c);
    let numbers = format!(
        "{} {} vs {} {}",
        a.label(),
        show(ra, &c.metric),
        b_name,
        if b.is_some() {
            show(rb, &c.metric)
        } else {
            String::new()
        }
    );
    let numbers = numbers.trim_end().to_string();
    if diff.0 == diff.1 {
        out.difference = Some(diff.0);
        out.evidence = format!(
            "{numbers}: A − B = {} (needs {})",
            show_diff(diff.0, c.unit),
            show_threshold(c)
        );
    } else if diff.0.is_finite() && diff.1.is_finite() {
        // the averaged responses' own difference, beside the range
        let value = |r: Reading| {
            reading_value(r).and_then(|v| interval(Reading::Exact(v), &c.metric, c.unit))
        };
        if let (Some(x), Some(y)) = (value(ra), value(rb)) {
            out.difference = Some(x.0 - y.0);
        }
        let over = |r: Reading| match r {
            Reading::Spread { over, .. } => Some(over),
            _ => None,
        };
        let what = match (over(ra), over(rb)) {
            (Some(a), Some(b)) if a != b => "placements or sides".to_string(),
            (Some(a), _) | (_, Some(a)) => a.as_str().to_string(),
            (None, None) => "placements".to_string(),
        };
        out.evidence = format!(
            "{numbers}: A − B = {} to {} over the {what} of each (needs {} over the whole range)",
            show_diff(diff.0, c.unit),
            show_diff(diff.1, c.unit),
            show_threshold(c)
        );
    } else if !diff.0.is_finite() && !diff.1.is_finite() {
        out.evidence = format!(
            "{numbers}: both lie beyond the edges of their bands, so their difference is not known (needs {})",
            show_threshold(c)
        );
    } else {
        let bound = if diff.0.is_finite() {
            format!("A − B ≥ {}", show_diff(diff.0, c.unit))
        } else {
            format!("A − B ≤ {}", show_diff(diff.1, c.unit))
        };
        out.evidence = format!(
            "{numbers}: {bound}, a bound because a band-edge extension only bounds the true one (needs {})",
            show_threshold(c)
        );
    }
    out
}

fn condition_result(
    c: &Condition,
    a_devs: &[&dyn Subject],
    b_devs: &[&dyn Subject],
    fixed: bool,
) -> ConditionResult {
    let mut pairs = Vec::new();
    for a in a_devs {
        if fixed {
            pairs.push(pair(*a, None, c));
        } else {
            for b in b_devs {
                pairs.push(pair(*a, Some(*b), c));
            }
        }
    }
    let complete: Vec<&PairResult> = pairs.iter().filter(|p| !p.missing_value).collect();
    let skipped = pairs.len() - complete.len();
    let name = c.what.clone().unwrap_or_else(|| c.metric.name());
    let (verdict, why) = if complete.is_empty() {
        (
            Verdict::Inconclusive,
            format!("{name}: no pair of devices has this metric"),
        )
    } else {
        let n = complete.len();
        let count = |v: Verdict| complete.iter().filter(|p| p.verdict == v).count();
        let (s, k) = (count(Verdict::Supported), count(Verdict::Contradicted));
        let every = match (n, fixed) {
            (1, _) => String::new(),
            (2, true) => " for both devices".into(),
            (2, false) => " for both pairs".into(),
            (_, true) => format!(" for all {n} devices"),
            (_, false) => format!(" for all {n} pairs"),
        };
        if s == n {
            (Verdict::Supported, format!("{name}: holds{every}"))
        } else if k == n {
            (
                Verdict::Contradicted,
                format!("{name}: the opposite holds{every}"),
            )
        } else if s == 0 && k == 0 {
            (
                Verdict::Inconclusive,
                format!(
                    "{name}: the difference is smaller than the {} threshold{}",
                    show_threshold(c).trim_start_matches(['≥', '≤', ' ', '+', '−']),
                    every
                ),
            )
        } else {
            (
                Verdict::Inconclusive,
                format!("{name}: pairs disagree ({s} of {n} support it, {k} contradict it)"),
            )
        }
    };
    let mut evidence = format!(
        "{why} [{}]",
        complete
            .iter()
            .map(|p| p.evidence.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut left_out = Vec::new();
    if skipped > 0 {
        let missing: Vec<&str> = pairs
            .iter()
            .filter(|p| p.missing_value)
            .map(|p| p.evidence.as_str())
            .collect();
        left_out = dedup(missing).into_iter().map(String::from).collect();
        evidence.push_str(&format!("; left out: {}", left_out.join("; ")));
    }
    ConditionResult {
        what: c.what.clone(),
        metric: c.metric.name(),
        direction: match c.direction {
            Direction::AGreater => "a_greater".into(),
            Direction::ALess => "a_less".into(),
        },
        min_difference: c.min_difference,
        unit: c.unit.as_str().into(),
        value: c.value,
        pairs,
        verdict,
        summary: why,
        left_out,
        evidence,
    }
}

fn dedup(v: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn kinds_present(devs: &[&dyn Subject]) -> String {
    let mut kinds: Vec<String> = devs
        .iter()
        .map(|d| d.kind().map_or("no kind".into(), |k| k.to_string()))
        .collect();
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join(", ")
    }
}

/// Judges one claim against the devices.
pub fn evaluate(claim: &Claim, devices: &[&dyn Subject]) -> ClaimResult {
    let mut r = ClaimResult {
        id: claim.id.clone(),
        statement: claim.statement.clone(),
        verdict: Verdict::Inconclusive,
        evidence: String::new(),
        decidable: true,
        note: claim.note.clone(),
        a_kind: None,
        b_kind: None,
        a_devices: Vec::new(),
        b_devices: Vec::new(),
        conditions: Vec::new(),
        provenance: Vec::new(),
        caveats: Vec::new(),
    };
    let (a_kind, b_kind, conditions) = match &claim.test {
        ClaimTest::NotMeasurable { reason } => {
            r.decidable = false;
            r.evidence = format!("not measurable: {reason}");
            return r;
        }
        ClaimTest::Measurable {
            a_kind,
            b_kind,
            conditions,
        } => (a_kind, b_kind, conditions),
    };
    r.a_kind = Some(*a_kind);
    r.b_kind = *b_kind;
    let of_kind = |k: DeviceKind| -> Vec<&dyn Subject> {
        devices
            .iter()
            .copied()
            .filter(|d| d.kind() == Some(k))
            .collect()
    };
    let a_devs = of_kind(*a_kind);
    let b_devs = b_kind.map(of_kind).unwrap_or_default();
    r.a_devices = a_devs.iter().map(|d| d.label().to_string()).collect();
    r.b_devices = b_devs.iter().map(|d| d.label().to_string()).collect();
    let mut missing = Vec::new();
    if a_devs.is_empty() {
        missing.push(a_kind.as_str());
    }
    if let Some(b) = b_kind
        && b_devs.is_empty()
    {
        missing.push(b.as_str());
    }
    if !missing.is_empty() {
        r.evidence = format!(
            "no device of kind {} among the sources (kinds present: {}); give a source's kind with --kind",
            missing
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(" or "),
            kinds_present(devices)
        );
        return r;
    }
    r.conditions = conditions
        .iter()
        .map(|c| condition_result(c, &a_devs, &b_devs, b_kind.is_none()))
        .collect();
    // what the verdict rests on: the devices of the pairs that were judged
    let used: Vec<&dyn Subject> = a_devs
        .iter()
        .chain(b_devs.iter())
        .copied()
        .filter(|d| d.excluded().is_none())
        .collect();
    let mut provenance: Vec<Provenance> = used.iter().map(|d| d.provenance()).collect();
    provenance.sort_by_key(|p| p.as_str());
    provenance.dedup();
    if provenance.contains(&Provenance::Simulated) {
        r.caveats.push(SIMULATED_CAVEAT.into());
    }
    if provenance.contains(&Provenance::Published)
        && provenance.iter().any(|p| *p != Provenance::Published)
    {
        r.caveats.push(
            "own measurements and published curves are compared: they come from different rigs (couplers, microphones, compensation), so their levels and shapes differ for reasons other than the devices".into(),
        );
    }
    let count = |k: DeviceKind| used.iter().filter(|d| d.kind() == Some(k)).count();
    let one_each = count(*a_kind) == 1 && b_kind.is_none_or(|b| count(b) == 1);
    if one_each && !used.is_empty() {
        r.caveats.push(
            "one device of each kind: the verdict describes these devices, not the kinds".into(),
        );
    }
    r.provenance = provenance;
    let verdicts: Vec<Verdict> = r.conditions.iter().map(|c| c.verdict).collect();
    r.verdict = if verdicts.iter().all(|v| *v == Verdict::Supported) {
        Verdict::Supported
    } else if verdicts.contains(&Verdict::Contradicted) {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    };
    r.evidence = r
        .conditions
        .iter()
        .map(|c| c.evidence.clone())
        .collect::<Vec<_>>()
        .join(" | ");
    if r.conditions.len() > 1 {
        let rule = match r.verdict {
            Verdict::Supported => "all conditions hold",
            Verdict::Contradicted => "a condition is contradicted",
            Verdict::Inconclusive => "not every condition is decided",
        };
        r.evidence = format!("{rule}: {}", r.evidence);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    struct D(&'static str, &'static str, Reading);
    impl Subject for D {
        fn label(&self) -> &str {
            self.0
        }
        fn kind(&self) -> Option<DeviceKind> {
            self.1.parse().ok()
        }
        fn reading(&self, _: &Metric) -> Reading {
            self.2
        }
    }

    fn cond(metric: Metric, direction: Direction, d: f64) -> Claim {
        Claim {
            id: "c".into(),
            statement: "s".into(),
            note: None,
            test: ClaimTest::Measurable {
                a_kind: DeviceKind::Headset,
                b_kind: Some(DeviceKind::Headphones),
                conditions: vec![Condition {
                    what: None,
                    metric,
                    direction,
                    min_difference: d,
                    unit: metric.default_unit(),
                    value: None,
                }],
            },
        }
    }

    #[test]
    fn verdicts_and_bounds() {
        let hs = D("HS", "headset", Reading::Exact(-6.0));
        let hp = D("HP", "headphones", Reading::Exact(-1.0));
        let v = |c: &Claim, a: &D, b: &D| evaluate(c, &[a as &dyn Subject, b]).verdict;
        assert_eq!(
            v(&cond(Metric::BassDb, Direction::ALess, 3.0), &hs, &hp),
            Verdict::Supported
        );
        assert_eq!(
            v(&cond(Metric::BassDb, Direction::AGreater, 3.0), &hs, &hp),
            Verdict::Contradicted
        );
        assert_eq!(
            v(&cond(Metric::BassDb, Direction::ALess, 6.0), &hs, &hp),
            Verdict::Inconclusive
        );
        // extension bounds: HS at ≥ 20 kHz (band end) vs HP 10 kHz: A − B ≥ 1 octave
        let m = Metric::HighExtensionHz;
        let hs = D("HS", "headset", Reading::AtLeast(20000.0));
        let hp = D("HP", "headphones", Reading::Exact(10000.0));
        assert_eq!(
            v(&cond(m, Direction::AGreater, 0.5), &hs, &hp),
            Verdict::Supported
        );
        assert_eq!(
            v(&cond(m, Direction::AGreater, 1.5), &hs, &hp),
            Verdict::Inconclusive
        );
        assert_eq!(
            v(&cond(m, Direction::ALess, 0.1), &hs, &hp),
            Verdict::Contradicted
        );
        let hp2 = D("HP2", "headphones", Reading::AtLeast(20000.0));
        assert_eq!(
            v(&cond(m, Direction::AGreater, 0.1), &hs, &hp2),
            Verdict::Inconclusive
        );
        let none = D("HP", "headphones", Reading::Missing);
        let r = evaluate(&cond(m, Direction::AGreater, 0.1), &[&hs, &none]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(
            r.evidence.contains("HP has no high_extension_hz"),
            "{}",
            r.evidence
        );
    }
}
