//! One unit held against limits: a verdict per limit with its worst margin and where it
//! occurred ("response upper: FAIL by 1.8 dB at 6.3 kHz"). A figure the limit needs that was
//! not measured fails the limit and says why: a unit is never passed on a number it lacks.

use serde::{Deserialize, Serialize};

use super::build::{balance_figures, floor_in_band, mask_curve, polarity, thd_in_band};
use super::*;
use crate::results::{Analysis, ChannelAnalysis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// One limit's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitCheck {
    /// "ch0 response upper", "ch1 THD 1000–9500 Hz", "balance level", "faults"…
    pub name: String,
    pub verdict: Verdict,
    /// Distance to the limit at the worst point, in `unit`: positive inside, negative
    /// outside (by how much it failed). None when the figure was not measured.
    pub margin: Option<f64>,
    pub unit: String,
    /// Where the worst margin occurred.
    pub at_hz: Option<f64>,
    /// The figure measured (scalar limits) and the limits it was held against.
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// What the line says beyond the numbers (why a figure is missing, which fault).
    pub detail: String,
}

impl LimitCheck {
    /// The line `check` prints.
    pub fn line(&self) -> String {
        let v = match self.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        };
        let at = self
            .at_hz
            .map_or(String::new(), |f| format!(" at {}", crate::units::hz3(f)));
        let margin = match (self.margin, self.verdict) {
            (Some(m), Verdict::Fail) => format!(" by {:.2} {}{at}", -m, self.unit),
            (Some(m), Verdict::Pass) => format!(", margin {m:.2} {}{at}", self.unit),
            (None, _) => String::new(),
        };
        let detail = if self.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.detail)
        };
        format!("{}: {v}{margin}{detail}", self.name)
    }
}

/// A unit's result against the limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub verdict: Verdict,
    pub checks: Vec<LimitCheck>,
}

impl CheckReport {
    pub fn failed(&self) -> impl Iterator<Item = &LimitCheck> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Fail)
    }
}

fn verdict(ok: bool) -> Verdict {
    if ok { Verdict::Pass } else { Verdict::Fail }
}

fn missing(name: String, unit: &str, why: impl Into<String>) -> LimitCheck {
    LimitCheck {
        name,
        verdict: Verdict::Fail,
        margin: None,
        unit: unit.into(),
        at_hz: None,
        value: None,
        lower: None,
        upper: None,
        detail: format!("not measured: {}", why.into()),
    }
}

/// A limit with no figure, only a verdict (faults, polarity).
fn yes_no(name: String, ok: bool, detail: String) -> LimitCheck {
    LimitCheck {
        name,
        verdict: verdict(ok),
        margin: None,
        unit: String::new(),
        at_hz: None,
        value: None,
        lower: None,
        upper: None,
        detail,
    }
}

/// A scalar figure within [lower, upper] (either may be open).
fn window(
    name: String,
    unit: &str,
    value: f64,
    lower: Option<f64>,
    upper: Option<f64>,
) -> LimitCheck {
    let margin = match (lower, upper) {
        (Some(l), Some(u)) => (value - l).min(u - value),
        (Some(l), None) => value - l,
        (None, Some(u)) => u - value,
        (None, None) => f64::INFINITY,
    };
    LimitCheck {
        name,
        verdict: verdict(margin >= 0.0),
        margin: Some(margin),
        unit: unit.into(),
        at_hz: None,
        value: Some(value),
        lower,
        upper,
        detail: String::new(),
    }
}

/// Holds the analysed unit `a` against `limits`.
pub fn check_unit(a: &Analysis, limits: &Limits) -> CheckReport {
    let mut checks = Vec::new();
    if limits.faults_fail {
        let faults: Vec<String> = a
            .channels
            .iter()
            .flat_map(|c| {
                c.warnings
                    .iter()
                    .map(move |w| format!("ch{}: {w}", c.index))
            })
            .collect();
        checks.push(yes_no(
            "faults".into(),
            faults.is_empty(),
            faults.join("; "),
        ));
    }
    for cl in &limits.channel {
        let Some(ch) = a.channels.iter().find(|c| c.index == cl.index) else {
            checks.push(missing(
                format!("ch{} present", cl.index),
                "",
                format!("the unit has {} channel(s)", a.channels.len()),
            ));
            continue;
        };
        check_channel(ch, cl, &mut checks);
    }
    if let Some(b) = &limits.balance {
        match (a.channels.first(), a.channels.get(1)) {
            (Some(c0), Some(c1)) => match balance_figures(c0, c1, b.matching_band_hz) {
                Some(f) => {
                    checks.push(window(
                        "balance level (ch1 − ch0 at 1 kHz)".into(),
                        "dB",
                        f.level_difference_db,
                        Some(-b.max_level_difference_db),
                        Some(b.max_level_difference_db),
                    ));
                    let mut m = window(
                        "balance matching".into(),
                        "dB",
                        f.matching_db,
                        None,
                        Some(b.max_matching_db),
                    );
                    m.at_hz = Some(f.matching_at_hz);
                    checks.push(m);
                }
                None => checks.push(missing(
                    "balance".into(),
                    "dB",
                    "the level at 1 kHz or the 250 Hz–4 kHz band of channel 0 or 1",
                )),
            },
            _ => checks.push(missing("balance".into(), "dB", "the unit has one channel")),
        }
    }
    let ok = checks.iter().all(|c| c.verdict == Verdict::Pass);
    CheckReport {
        verdict: verdict(ok),
        checks,
    }
}

fn check_channel(ch: &ChannelAnalysis, cl: &ChannelLimits, checks: &mut Vec<LimitCheck>) {
    let c = ch.index;
    let no_signal = !ch.has_signal();
    let why = |what: &str| {
        if no_signal {
            "the channel holds no signal".to_string()
        } else {
            format!("no {what} in this capture")
        }
    };
    if let Some(m) = &cl.response {
        let curve = mask_curve(ch, m.mode, m.normalize_band_hz, m.smoothing, &m.freq_hz);
        let gaps: Vec<f64> = m
            .freq_hz
            .iter()
            .zip(&curve)
            .filter(|(_, v)| v.is_none())
            .map(|(&f, _)| f)
            .collect();
        for (side, upper) in [("upper", true), ("lower", false)] {
            let name = format!("ch{c} response {side}");
            if !gaps.is_empty() {
                let what = if no_signal {
                    "the channel holds no signal".to_string()
                } else {
                    format!(
                        "{} of {} mask points, {}–{}",
                        gaps.len(),
                        m.freq_hz.len(),
                        crate::units::hz3(gaps[0]),
                        crate::units::hz3(*gaps.last().unwrap())
                    )
                };
                checks.push(missing(name, "dB", what));
                continue;
            }
            let (margin, at) = m
                .freq_hz
                .iter()
                .zip(&curve)
                .enumerate()
                .map(|(k, (&f, v))| {
                    let v = v.unwrap_or(f64::NAN);
                    let d = if upper {
                        m.upper_db[k] - v
                    } else {
                        v - m.lower_db[k]
                    };
                    (d, f)
                })
                .fold((f64::INFINITY, 0.0), |a, b| if b.0 < a.0 { b } else { a });
            checks.push(LimitCheck {
                name,
                verdict: verdict(margin >= 0.0),
                margin: Some(margin),
                unit: "dB".into(),
                at_hz: Some(at),
                value: None,
                lower: None,
                upper: None,
                detail: String::new(),
            });
        }
    }
    for t in &cl.thd {
        let name = format!(
            "ch{c} THD {}–{}",
            crate::units::hz3(t.band_hz[0]),
            crate::units::hz3(t.band_hz[1])
        );
        if no_signal {
            checks.push(missing(name, "dB", why("THD")));
            continue;
        }
        // THD margins in dB: 20·log10(limit / measured)
        match thd_in_band(ch, t.band_hz) {
            Some((p, f)) => {
                let margin = 20.0 * (t.max_percent / p).log10();
                checks.push(LimitCheck {
                    name,
                    verdict: verdict(margin >= 0.0),
                    margin: Some(margin),
                    unit: "dB".into(),
                    at_hz: Some(f),
                    // THD is judged in dB of margin (its spread is logarithmic): no value
                    value: None,
                    lower: None,
                    upper: None,
                    detail: format!("{p:.3} % against {:.3} %", t.max_percent),
                });
            }
            None => match floor_in_band(ch, t.band_hz) {
                // no harmonic showed above the noise: THD is below the floor
                Some(floor) if floor <= t.max_percent => checks.push(LimitCheck {
                    name,
                    verdict: Verdict::Pass,
                    // a floor of 0 (a digital path: no noise at all) gives no finite margin
                    margin: (floor > 0.0).then(|| 20.0 * (t.max_percent / floor).log10()),
                    unit: "dB".into(),
                    at_hz: None,
                    value: None,
                    lower: None,
                    upper: None,
                    detail: format!(
                        "no harmonic above the noise: THD below {floor:.3} %, limit {:.3} %",
                        t.max_percent
                    ),
                }),
                Some(floor) => checks.push(missing(
                    name,
                    "dB",
                    format!(
                        "the noise floor {floor:.3} % is above the limit {:.3} %: THD cannot be shown to be within it",
                        t.max_percent
                    ),
                )),
                None => checks.push(missing(name, "dB", "the band holds no THD measurement")),
            },
        }
    }
    if let Some(max) = cl.noise_max_dbfs {
        let name = format!("ch{c} noise");
        match ch.noise.as_ref() {
            Some(n) => checks.push(window(name, "dB", n.rms_dbfs, None, Some(max))),
            None => checks.push(missing(
                name,
                "dB",
                if no_signal {
                    why("noise")
                } else {
                    "no noise floor (too little pre-roll, or digital silence before the sweep)"
                        .into()
                },
            )),
        }
    }
    if let Some(min) = cl.snr_min_db {
        let name = format!("ch{c} SNR");
        match ch.snr_db {
            Some(v) => checks.push(window(name, "dB", v, Some(min), None)),
            None => checks.push(missing(name, "dB", why("SNR"))),
        }
    }
    if let Some([lo, hi]) = cl.sensitivity_dbfs {
        let name = format!("ch{c} sensitivity (level at 1 kHz)");
        match ch.level_1k_dbfs {
            Some(v) => checks.push(window(name, "dB", v, Some(lo), Some(hi))),
            None => checks.push(missing(name, "dB", why("level at 1 kHz"))),
        }
    }
    if let Some([lo, hi]) = cl.latency_ms {
        let name = format!("ch{c} latency");
        match ch.latency_s {
            Some(s) => checks.push(window(name, "ms", s * 1e3, Some(lo), Some(hi))),
            None => checks.push(missing(name, "ms", why("latency"))),
        }
    }
    if let Some(want) = cl.polarity {
        let name = format!("ch{c} polarity");
        match polarity(ch) {
            Some(p) => checks.push(yes_no(
                name,
                p == want,
                format!("{}, expected {}", p.as_str(), want.as_str()),
            )),
            None => checks.push(missing(name, "", why("impulse response"))),
        }
    }
}
