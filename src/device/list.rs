//! `sweeplab devices`: every audio host, its input and output devices, their default and
//! supported configurations, as a serializable [`DeviceList`] with a readable text form.
//!
//! Enumeration never panics: a host, device or direction that cannot be queried is listed
//! with its error instead. On Linux, alsa-lib's own diagnostics (it prints e.g. "ALSA lib
//! pcm.c:…: Unknown PCM" to stderr while devices are probed) are captured while listing and
//! kept in [`DeviceList::backend_messages`] rather than sprayed over the terminal.

use std::fmt;

use cpal::traits::{DeviceTrait, HostTrait};
use serde::Serialize;

use crate::error::Result;

/// All hosts with their devices.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceList {
    /// Id of the host used when no device is named (`cpal::default_host()`), e.g. "alsa".
    pub default_host: String,
    pub hosts: Vec<HostInfo>,
    /// Diagnostics the audio backend printed while probing (ALSA), one line each.
    pub backend_messages: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostInfo {
    /// Lower-case id, the prefix of device ids ("alsa").
    pub id: String,
    /// Human-readable name ("ALSA").
    pub name: String,
    pub is_default: bool,
    /// Why the host or its device list could not be read.
    pub error: Option<String>,
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
}

/// One device in one direction (a duplex device appears in both lists).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceInfo {
    /// Name to pass to `--input-device`/`--output-device` (ids work too).
    pub name: String,
    /// Unique id, "host:pcm" (e.g. "alsa:default", "alsa:hw:CARD=0,DEV=0").
    pub id: String,
    /// The host's default device for this direction.
    pub is_default: bool,
    /// Further description lines from the backend.
    pub description: Vec<String>,
    pub default_config: Option<ConfigInfo>,
    pub supported_configs: Vec<ConfigRange>,
    /// Why the configurations could not be read (device busy, server down, …).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigInfo {
    pub channels: u16,
    pub sample_format: String,
    pub sample_rate: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigRange {
    pub channels: u16,
    pub sample_format: String,
    pub min_rate: u32,
    pub max_rate: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Input,
    Output,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// Lists every available host and its devices. Errors of single hosts/devices are recorded in
/// the list; this only fails if nothing at all can be asked (currently never).
pub fn list_devices() -> Result<DeviceList> {
    let quiet = BackendMessages::capture();
    let default_host = cpal::default_host().id();
    let mut hosts = Vec::new();
    for host_id in cpal::available_hosts() {
        let mut info = HostInfo {
            id: host_id.to_string(),
            name: host_id.name().to_string(),
            is_default: host_id == default_host,
            error: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        match cpal::host_from_id(host_id) {
            Ok(host) => match host_devices(&host) {
                Ok(devices) => {
                    for dir in [Direction::Input, Direction::Output] {
                        let list = devices
                            .iter()
                            .filter(|d| d.may_support(dir))
                            .filter_map(|d| d.info(dir))
                            .collect();
                        match dir {
                            Direction::Input => info.inputs = list,
                            Direction::Output => info.outputs = list,
                        }
                    }
                }
                Err(e) => info.error = Some(e),
            },
            Err(e) => info.error = Some(e.to_string()),
        }
        hosts.push(info);
    }
    Ok(DeviceList {
        default_host: default_host.to_string(),
        hosts,
        backend_messages: quiet.finish(),
    })
}

/// A device of a host with what is known without opening it.
pub(crate) struct Candidate {
    pub device: cpal::Device,
    pub name: String,
    pub id: String,
    pub description: Vec<String>,
    pub default_input: bool,
    pub default_output: bool,
}

impl Candidate {
    /// Whether the device may work in `dir`: the backend says so, or it is a default device
    /// (ALSA's "default" has no declared direction).
    pub(crate) fn may_support(&self, dir: Direction) -> bool {
        match dir {
            Direction::Input => self.default_input || self.device.supports_input(),
            Direction::Output => self.default_output || self.device.supports_output(),
        }
    }

    pub(crate) fn is_default(&self, dir: Direction) -> bool {
        match dir {
            Direction::Input => self.default_input,
            Direction::Output => self.default_output,
        }
    }

    /// Queries the device's configurations in `dir`; `None` when the device plainly does not
    /// work in that direction (its configurations are empty, or opening it says so).
    fn info(&self, dir: Direction) -> Option<DeviceInfo> {
        let mut info = DeviceInfo {
            name: self.name.clone(),
            id: self.id.clone(),
            is_default: self.is_default(dir),
            description: self.description.clone(),
            default_config: None,
            supported_configs: Vec::new(),
            error: None,
        };
        match supported_configs(&self.device, dir) {
            Ok(ranges) => {
                info.supported_configs = ranges
                    .iter()
                    .map(|r| ConfigRange {
                        channels: r.channels(),
                        sample_format: r.sample_format().to_string(),
                        min_rate: r.min_sample_rate(),
                        max_rate: r.max_sample_rate(),
                    })
                    .collect();
                if info.supported_configs.is_empty() {
                    return None;
                }
            }
            Err(e) if e.kind() == cpal::ErrorKind::UnsupportedOperation => return None,
            Err(e) => info.error = Some(e.to_string()),
        }
        let default = match dir {
            Direction::Input => self.device.default_input_config(),
            Direction::Output => self.device.default_output_config(),
        };
        if let Ok(c) = default {
            info.default_config = Some(ConfigInfo {
                channels: c.channels(),
                sample_format: c.sample_format().to_string(),
                sample_rate: c.sample_rate(),
            });
        }
        Some(info)
    }
}

pub(crate) fn supported_configs(
    device: &cpal::Device,
    dir: Direction,
) -> std::result::Result<Vec<cpal::SupportedStreamConfigRange>, cpal::Error> {
    Ok(match dir {
        Direction::Input => device.supported_input_configs()?.collect(),
        Direction::Output => device.supported_output_configs()?.collect(),
    })
}

/// The devices of a host, default devices first (added if enumeration does not list them).
pub(crate) fn host_devices(host: &cpal::Host) -> std::result::Result<Vec<Candidate>, String> {
    let default_in = host.default_input_device().and_then(|d| d.id().ok());
    let default_out = host.default_output_device().and_then(|d| d.id().ok());
    let mut out: Vec<Candidate> = Vec::new();
    for dev in [host.default_output_device(), host.default_input_device()]
        .into_iter()
        .flatten()
        .chain(host.devices().map_err(|e| e.to_string())?)
    {
        let Ok(id) = dev.id() else { continue };
        let id_text = id.to_string();
        if out.iter().any(|c| c.id == id_text) {
            continue;
        }
        let (name, description) = match dev.description() {
            Ok(d) => (
                d.name().to_string(),
                d.extended().map(str::to_string).collect(),
            ),
            Err(_) => (id.id().to_string(), Vec::new()),
        };
        out.push(Candidate {
            device: dev,
            name,
            id: id_text,
            description,
            default_input: default_in.as_ref() == Some(&id),
            default_output: default_out.as_ref() == Some(&id),
        });
    }
    Ok(out)
}

/// Captures what the backend prints while devices are probed: alsa-lib's diagnostics (its
/// error handler, this thread) and, on Linux, anything written straight to fd 2 meanwhile
/// (libjack's "Cannot connect to server…", when ALSA's jack plugin is probed). Nothing else
/// of sweeplab writes to stderr while devices are probed.
pub(crate) struct BackendMessages {
    #[cfg(target_os = "linux")]
    output: Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>,
    #[cfg(target_os = "linux")]
    stderr: Option<StderrCapture>,
}

impl BackendMessages {
    pub(crate) fn capture() -> Self {
        BackendMessages {
            #[cfg(target_os = "linux")]
            output: alsa::Output::local_error_handler().ok(),
            #[cfg(target_os = "linux")]
            stderr: StderrCapture::start(),
        }
    }

    /// Stops capturing (until the next `capture`) and returns the captured lines.
    pub(crate) fn finish(self) -> Vec<String> {
        #[allow(unused_mut)]
        let mut text = String::new();
        #[cfg(target_os = "linux")]
        {
            if let Some(out) = &self.output {
                text.push_str(&out.borrow().to_string());
                text.push('\n');
            }
            if let Some(c) = self.stderr {
                text.push_str(&c.finish());
            }
        }
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// fd 2 redirected to an unlinked temporary file until `finish` (or drop) restores it.
#[cfg(target_os = "linux")]
struct StderrCapture {
    saved: std::os::fd::OwnedFd,
    file: std::fs::File,
}

#[cfg(target_os = "linux")]
impl StderrCapture {
    fn start() -> Option<StderrCapture> {
        use std::io::Write;
        use std::os::fd::AsFd;
        let path = std::env::temp_dir().join(format!(
            ".sweeplab-stderr-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .ok()?;
        let _ = std::fs::remove_file(&path);
        let _ = std::io::stderr().flush();
        let saved = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
        rustix::stdio::dup2_stderr(&file).ok()?;
        Some(StderrCapture { saved, file })
    }

    fn restore(&self) {
        use std::io::Write;
        let _ = std::io::stderr().flush();
        let _ = rustix::stdio::dup2_stderr(&self.saved);
    }

    fn finish(mut self) -> String {
        use std::io::{Read, Seek};
        self.restore();
        let mut text = String::new();
        if self.file.rewind().is_ok() {
            let mut bytes = Vec::new();
            let _ = (&self.file).take(1 << 20).read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }
}

#[cfg(target_os = "linux")]
impl Drop for StderrCapture {
    fn drop(&mut self) {
        self.restore();
    }
}

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hosts.is_empty() {
            writeln!(f, "No audio host is available.")?;
        }
        for host in &self.hosts {
            let default = if host.is_default {
                " (default host)"
            } else {
                ""
            };
            writeln!(f, "Host {} [{}]{default}", host.name, host.id)?;
            if let Some(e) = &host.error {
                writeln!(f, "  error: {e}")?;
            }
            for (title, list) in [("Output", &host.outputs), ("Input", &host.inputs)] {
                writeln!(f, "  {title} devices (* = default):")?;
                // Devices that cannot be opened at all (ALSA plugins with nothing behind them)
                // go on one line; their errors are in the JSON.
                let (usable, broken): (Vec<&DeviceInfo>, Vec<&DeviceInfo>) = list
                    .iter()
                    .partition(|d| d.is_default || !d.supported_configs.is_empty());
                if usable.is_empty() {
                    writeln!(f, "    (none)")?;
                }
                for d in usable {
                    write_device(f, d)?;
                }
                if !broken.is_empty() {
                    let ids: Vec<&str> = broken.iter().map(|d| d.id.as_str()).collect();
                    writeln!(f, "    not available: {}", ids.join(", "))?;
                }
            }
        }
        if !self.backend_messages.is_empty() {
            writeln!(
                f,
                "({} backend message(s) while probing; see --json)",
                self.backend_messages.len()
            )?;
        }
        Ok(())
    }
}

fn write_device(f: &mut fmt::Formatter<'_>, d: &DeviceInfo) -> fmt::Result {
    let star = if d.is_default { "*" } else { " " };
    writeln!(f, "  {star} {}", d.name)?;
    writeln!(f, "      id:       {}", d.id)?;
    if let Some(c) = &d.default_config {
        writeln!(
            f,
            "      default:  {} ch, {}, {} Hz",
            c.channels, c.sample_format, c.sample_rate
        )?;
    }
    for line in compact_ranges(&d.supported_configs) {
        writeln!(f, "      supports: {line}")?;
    }
    if let Some(e) = &d.error {
        writeln!(f, "      error:    {e}")?;
    }
    Ok(())
}

/// Groups configurations that differ only in channel count: "f32, 1–32 ch, 1–384000 Hz".
fn compact_ranges(ranges: &[ConfigRange]) -> Vec<String> {
    let mut groups: Vec<(&str, u32, u32, Vec<u16>)> = Vec::new();
    for r in ranges {
        match groups
            .iter_mut()
            .find(|g| g.0 == r.sample_format && g.1 == r.min_rate && g.2 == r.max_rate)
        {
            Some(g) => g.3.push(r.channels),
            None => groups.push((&r.sample_format, r.min_rate, r.max_rate, vec![r.channels])),
        }
    }
    groups
        .into_iter()
        .map(|(fmt, lo, hi, mut ch)| {
            ch.sort_unstable();
            ch.dedup();
            format!("{fmt}, {} ch, {}", channel_set(&ch), rate_range(lo, hi))
        })
        .collect()
}

fn channel_set(ch: &[u16]) -> String {
    let contiguous = ch.windows(2).all(|w| w[1] == w[0] + 1);
    match ch {
        [one] => one.to_string(),
        [first, .., last] if contiguous => format!("{first}–{last}"),
        _ => ch.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
    }
}

pub(crate) fn rate_range(lo: u32, hi: u32) -> String {
    if lo == hi {
        format!("{lo} Hz")
    } else {
        format!("{lo}–{hi} Hz")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_channel_ranges() {
        let r = |channels, fmt: &str, lo, hi| ConfigRange {
            channels,
            sample_format: fmt.into(),
            min_rate: lo,
            max_rate: hi,
        };
        let lines = compact_ranges(&[
            r(1, "f32", 8000, 48000),
            r(2, "f32", 8000, 48000),
            r(3, "f32", 8000, 48000),
            r(2, "i16", 48000, 48000),
            r(6, "i16", 48000, 48000),
        ]);
        assert_eq!(
            lines,
            vec!["f32, 1–3 ch, 8000–48000 Hz", "i16, 2,6 ch, 48000 Hz"]
        );
    }

    #[test]
    fn text_form_of_an_empty_list() {
        let list = DeviceList {
            default_host: "alsa".into(),
            hosts: vec![],
            backend_messages: vec![],
        };
        assert!(list.to_string().contains("No audio host"));
        let json = serde_json::to_string(&list).unwrap();
        assert!(json.contains("\"hosts\":[]"));
    }
}
