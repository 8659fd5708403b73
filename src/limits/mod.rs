//! Production limits: the limits file (TOML, `fixtures/limits/example.toml` documents every
//! field), limits built from golden units (`build`), and one unit held against them (`check`).
//! Pure: analyses in, limits and verdicts out; the files are read and written by the session
//! layer. Must not import: `session`, `cli`, `device`, `report`, `storage`, `db`.

use serde::{Deserialize, Serialize};

pub mod build;
pub mod check;

pub use build::{BuildOptions, build_limits};
pub use check::{CheckReport, LimitCheck, Verdict, check_unit};

pub const LIMITS_FORMAT: &str = "sweeplab-limits";
pub const LIMITS_VERSION: u32 = 1;

/// A limits file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub created: Option<String>,
    /// The golden units the limits were built from (as given).
    #[serde(default)]
    pub golden: Vec<String>,
    /// The margin added to the goldens' spread, dB.
    #[serde(default)]
    pub margin_db: f64,
    /// A warning in any channel (no signal, clipping, a dropout, a gain step…) fails the unit.
    #[serde(default = "yes")]
    pub faults_fail: bool,
    /// Per channel, in channel order.
    #[serde(default)]
    pub channel: Vec<ChannelLimits>,
    /// Left/right balance and matching (units with two channels or more: channels 0 and 1).
    #[serde(default)]
    pub balance: Option<BalanceLimits>,
    /// What the builder left out and why (informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The limits of one channel; each part is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelLimits {
    pub index: usize,
    #[serde(default)]
    pub response: Option<ResponseMask>,
    /// THD limits per band.
    #[serde(default)]
    pub thd: Vec<ThdLimit>,
    /// Highest noise floor (band level), dBFS.
    #[serde(default)]
    pub noise_max_dbfs: Option<f64>,
    /// Lowest SNR, dB.
    #[serde(default)]
    pub snr_min_db: Option<f64>,
    /// Sensitivity window: the level at 1 kHz (1/3-octave), dBFS at the sweep's level.
    #[serde(default)]
    pub sensitivity_dbfs: Option<[f64; 2]>,
    /// Latency window, ms.
    #[serde(default)]
    pub latency_ms: Option<[f64; 2]>,
    /// The polarity every unit must have: "positive" or "negative".
    #[serde(default)]
    pub polarity: Option<Polarity>,
}

/// Upper and lower response curves over a frequency range, on the response smoothed to
/// 1/`smoothing` octave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseMask {
    /// `relative`: the unit's response is first shifted so that its level over
    /// `normalize_band_hz` (each octave weighted equally) is 0 dB, as production limits are
    /// usually set, so that a volume difference does not fail a unit (the sensitivity
    /// window checks the level). `absolute`: dBFS/dB as measured.
    pub mode: MaskMode,
    #[serde(default = "default_band")]
    pub normalize_band_hz: [f64; 2],
    /// n of the 1/n-octave smoothing the mask applies to.
    #[serde(default = "six")]
    pub smoothing: f64,
    pub freq_hz: Vec<f64>,
    pub upper_db: Vec<f64>,
    pub lower_db: Vec<f64>,
}

fn default_band() -> [f64; 2] {
    [250.0, 4000.0]
}
fn six() -> f64 {
    6.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskMode {
    Relative,
    Absolute,
}

pub use crate::results::Polarity;

/// THD at most `max_percent` over fundamentals `band_hz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThdLimit {
    pub band_hz: [f64; 2],
    pub max_percent: f64,
}

/// Left/right (channels 0 and 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceLimits {
    /// Largest level difference at 1 kHz, dB.
    pub max_level_difference_db: f64,
    /// Largest difference of the 1/3-octave responses (each normalised over 250 Hz–4 kHz)
    /// over `matching_band_hz`, dB.
    pub max_matching_db: f64,
    #[serde(default = "matching_band")]
    pub matching_band_hz: [f64; 2],
}

fn matching_band() -> [f64; 2] {
    [100.0, 10000.0]
}

impl Limits {
    /// Parses and validates a limits file; errors say what is wrong (with the line).
    pub fn parse(text: &str) -> Result<Limits, String> {
        let l: Limits = toml::from_str(text).map_err(|e| crate::text::toml_error(text, &e))?;
        if l.format != LIMITS_FORMAT {
            return Err(format!(
                "\"format\" is {}, expected \"{LIMITS_FORMAT}\"",
                crate::text::excerpt(&l.format, 40)
            ));
        }
        if l.version != LIMITS_VERSION {
            return Err(format!(
                "version {} is not supported (expected {LIMITS_VERSION})",
                l.version
            ));
        }
        l.validate()?;
        Ok(l)
    }

    /// The limits as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("limits serialize")
    }

    fn validate(&self) -> Result<(), String> {
        if self.channel.is_empty() {
            return Err("holds no [[channel]] limits".into());
        }
        if self.channel.len() > usize::from(crate::bounds::MAX_CHANNELS) {
            return Err(format!(
                "{} channels; at most {} are supported",
                self.channel.len(),
                crate::bounds::MAX_CHANNELS
            ));
        }
        if !(self.margin_db.is_finite() && (0.0..=60.0).contains(&self.margin_db)) {
            return Err(format!("margin_db {} is outside 0–60 dB", self.margin_db));
        }
        for (i, c) in self.channel.iter().enumerate() {
            let w = format!("[[channel]] #{} (index {})", i + 1, c.index);
            if self.channel[..i].iter().any(|o| o.index == c.index) {
                return Err(format!("{w}: channel {} has limits twice", c.index));
            }
            if let Some(m) = &c.response {
                let n = m.freq_hz.len();
                if n < 2 || m.upper_db.len() != n || m.lower_db.len() != n {
                    return Err(format!(
                        "{w}: response: freq_hz, upper_db and lower_db need the same length, at least 2 ({n}, {}, {})",
                        m.upper_db.len(),
                        m.lower_db.len()
                    ));
                }
                if n > 10_000 {
                    return Err(format!("{w}: response: {n} points; at most 10000"));
                }
                if !m.freq_hz.windows(2).all(|p| p[0] < p[1]) || m.freq_hz[0] <= 0.0 {
                    return Err(format!(
                        "{w}: response: freq_hz must be positive and strictly rising"
                    ));
                }
                for (k, (u, l)) in m.upper_db.iter().zip(&m.lower_db).enumerate() {
                    if !(u.is_finite() && l.is_finite() && l <= u) {
                        return Err(format!(
                            "{w}: response at {} Hz: lower {l} dB must be finite and not above upper {u} dB",
                            m.freq_hz[k]
                        ));
                    }
                }
                check_band(&w, "response normalize_band_hz", m.normalize_band_hz)?;
                if !(m.smoothing.is_finite() && (1.0..=48.0).contains(&m.smoothing)) {
                    return Err(format!("{w}: response smoothing must be 1–48 (1/n octave)"));
                }
            }
            for t in &c.thd {
                check_band(&w, "thd band_hz", t.band_hz)?;
                if !(t.max_percent.is_finite() && t.max_percent > 0.0) {
                    return Err(format!("{w}: thd max_percent must be positive"));
                }
            }
            for (name, v) in [
                ("noise_max_dbfs", c.noise_max_dbfs),
                ("snr_min_db", c.snr_min_db),
            ] {
                if v.is_some_and(|v| !v.is_finite()) {
                    return Err(format!("{w}: {name} must be a finite number"));
                }
            }
            for (name, v) in [
                ("sensitivity_dbfs", c.sensitivity_dbfs),
                ("latency_ms", c.latency_ms),
            ] {
                if let Some([a, b]) = v
                    && !(a.is_finite() && b.is_finite() && a <= b)
                {
                    return Err(format!("{w}: {name} must be [low, high], low ≤ high"));
                }
            }
        }
        if let Some(b) = &self.balance {
            check_band("[balance]", "matching_band_hz", b.matching_band_hz)?;
            if !(b.max_level_difference_db.is_finite()
                && b.max_level_difference_db >= 0.0
                && b.max_matching_db.is_finite()
                && b.max_matching_db >= 0.0)
            {
                return Err("[balance]: limits must be finite and not negative".into());
            }
        }
        Ok(())
    }
}

fn check_band(w: &str, name: &str, [lo, hi]: [f64; 2]) -> Result<(), String> {
    if lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo {
        Ok(())
    } else {
        Err(format!(
            "{w}: {name} must be [low, high] in Hz, 0 < low < high"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ThdFloor;
    use crate::testkit::example;

    /// A unit built into limits from itself passes them; THD limits are twice (6 dB above)
    /// its worst THD times the margin; a digital path with neither harmonics nor noise gets a
    /// THD limit of 0.001 % (not 0, which the parser refuses) and passes it.
    #[test]
    fn a_golden_passes_its_own_limits_and_a_digital_path_gets_a_usable_thd_limit() {
        let a = example::analysis(2);
        let o = BuildOptions::default();
        let l = build_limits(&[("g".into(), &a)], &o).unwrap();
        let l = Limits::parse(&l.to_toml()).expect("the built limits read back");
        let r = check_unit(&a, &l);
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{:#?}",
            r.failed().collect::<Vec<_>>()
        );
        // THD: worst in the band × 10^((6 + 1.5)/20), rounded up to 1e-4 %
        let ch = &a.channels[0];
        let t = &l.channel[0].thd[0];
        let (worst, _) = build::thd_in_band(ch, t.band_hz).unwrap();
        let want = worst * 10f64.powf(7.5 / 20.0);
        assert!(
            t.max_percent >= want && t.max_percent - want < 1e-4,
            "{} vs {want}",
            t.max_percent
        );

        let mut digital = a.clone();
        for c in &mut digital.channels {
            c.thd.freq_hz.clear();
            c.thd.percent.clear();
            let f: Vec<f64> = (0..100).map(|i| 30.0 * 1.06f64.powi(i)).collect();
            c.thd.noise_floor = Some(ThdFloor {
                percent: vec![0.0; f.len()],
                freq_hz: f,
            });
        }
        let l = build_limits(&[("g".into(), &digital)], &o).unwrap();
        let l = Limits::parse(&l.to_toml()).expect("parses: no THD limit of 0");
        assert!(l.channel[0].thd.iter().all(|t| t.max_percent == 0.001));
        let r = check_unit(&digital, &l);
        let thd: Vec<_> = r.checks.iter().filter(|c| c.name.contains("THD")).collect();
        assert!(!thd.is_empty());
        assert!(
            thd.iter()
                .all(|c| c.verdict == Verdict::Pass && c.margin.is_none())
        );
    }

    /// A golden whose response has no points over a quarter of the normalising band
    /// (500 Hz–1 kHz of 250 Hz–4 kHz) gets no relative mask, and the error names it and why;
    /// the same golden whole builds one.
    #[test]
    fn a_relative_mask_says_which_golden_has_holes() {
        let o = BuildOptions::default();
        let whole = example::analysis(1);
        assert!(build_limits(&[("g".into(), &whole)], &o).is_ok());
        let mut holed = example::analysis(1);
        assert!(
            example::cut_response(&mut holed.channels[0].frequency_response, 500.0, 1000.0) > 0
        );
        let e = build_limits(&[("holed".into(), &holed)], &o).unwrap_err();
        assert!(
            e.contains("share no band") && e.contains("golden holed: the curve has no points at"),
            "{e}"
        );
    }
}
