//! What kind of device was measured, and where a measurement came from: the one definition
//! the command line, session and analysis files, device models, `compare` and claims share.
//! Imports nothing of sweeplab.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of device under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum DeviceKind {
    /// A headset's playback side (its drivers).
    Headset,
    /// A headset's own microphone (boom or in-line mic).
    #[value(name = "headset-mic")]
    HeadsetMic,
    Headphones,
    /// A standalone microphone under test.
    Microphone,
    /// An electrical loopback (the measurement chain itself).
    Loopback,
    Other,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 6] = [
        DeviceKind::Headset,
        DeviceKind::HeadsetMic,
        DeviceKind::Headphones,
        DeviceKind::Microphone,
        DeviceKind::Loopback,
        DeviceKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Headset => "headset",
            DeviceKind::HeadsetMic => "headset-mic",
            DeviceKind::Headphones => "headphones",
            DeviceKind::Microphone => "microphone",
            DeviceKind::Loopback => "loopback",
            DeviceKind::Other => "other",
        }
    }

    /// A microphone under test (its own response is measured, not a playback device's
    /// through a measurement microphone).
    pub fn is_microphone(self) -> bool {
        matches!(self, DeviceKind::Microphone | DeviceKind::HeadsetMic)
    }

    /// "headset, headset-mic, headphones, microphone, loopback, other".
    pub fn names() -> String {
        DeviceKind::ALL.map(DeviceKind::as_str).join(", ")
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeviceKind {
    type Err = String;
    /// Case-insensitive; `headset_mic` is taken for `headset-mic`.
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| {
                format!(
                    "\"{}\" is not a device kind (one of {})",
                    s.escape_debug(),
                    DeviceKind::names()
                )
            })
    }
}

impl Serialize for DeviceKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DeviceKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a device's numbers come from: a real capture, the simulated rig, or a curve
/// somebody published. Verdicts say which they rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    Measured,
    Simulated,
    Published,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Measured => "measured",
            Provenance::Simulated => "simulated",
            Provenance::Published => "published",
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_refuse_strangers() {
        for k in DeviceKind::ALL {
            assert_eq!(k.as_str().parse::<DeviceKind>(), Ok(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<DeviceKind>(&json).unwrap(), k);
        }
        assert_eq!("Headset_Mic".parse(), Ok(DeviceKind::HeadsetMic));
        let e = "earbuds".parse::<DeviceKind>().unwrap_err();
        assert!(e.contains("earbuds") && e.contains("headphones"), "{e}");
        assert!(serde_json::from_str::<DeviceKind>("\"head set\"").is_err());
    }
}

/// One side of a two-sided device (headphones, a headset's drivers): the output channel a
/// `--sides` run drives, and the capture channel its ear's microphone is on (left: output 0 and
/// input 0, right: output 1 and input 1, as a stereo coupler or binaural rig is wired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    #[serde(rename = "L")]
    Left,
    #[serde(rename = "R")]
    Right,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Left, Side::Right];

    /// "L" or "R": the channel's name in analysis.json, on plots and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "L",
            Side::Right => "R",
        }
    }

    /// "left" or "right", for sentences.
    pub fn word(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    /// The capture channel (and output channel) of this side.
    pub fn channel(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
