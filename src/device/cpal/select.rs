//! Choosing the devices and their stream configurations: finding a device by name or id
//! over all hosts, the supported ranges at the sample rate, the best sample format and
//! channel count, the callback period, and the errors that list what there is instead.

use cpal::SampleFormat;
use cpal::traits::{DeviceTrait, HostTrait};

use super::*;

pub(super) struct Endpoint {
    pub(super) dir: Direction,
    pub(super) device: cpal::Device,
    pub(super) name: String,
    pub(super) id: String,
    /// Supported ranges that contain the sample rate and have a usable format.
    pub(super) ranges: Vec<cpal::SupportedStreamConfigRange>,
    pub(super) default_channels: Option<u16>,
}

impl Endpoint {
    pub(super) fn label(&self) -> String {
        format!(
            "{} device \"{}\" ({})",
            self.dir.as_str(),
            self.name,
            self.id
        )
    }
}

/// A stream configuration picked from the supported ranges.
#[derive(Debug, Clone, Copy)]
pub(super) struct Choice {
    pub(super) channels: u16,
    pub(super) format: SampleFormat,
    pub(super) buffer: cpal::BufferSize,
}

/// Preference of sample formats: float first, then integers by width. DSD is never usable.
pub(super) fn format_rank(f: SampleFormat) -> Option<u8> {
    Some(match f {
        SampleFormat::F32 => 0,
        SampleFormat::F64 => 1,
        SampleFormat::I32 => 2,
        SampleFormat::I24 => 3,
        SampleFormat::I16 => 4,
        SampleFormat::U32 => 5,
        SampleFormat::U24 => 6,
        SampleFormat::U16 => 7,
        SampleFormat::I64 => 8,
        SampleFormat::U64 => 9,
        SampleFormat::I8 => 10,
        SampleFormat::U8 => 11,
        _ => return None,
    })
}

/// The best format; within it the first preferred channel count that is supported and at
/// least `needed`, else the smallest count that is.
pub(super) fn choose(
    ep: &Endpoint,
    needed: u16,
    prefer: &[Option<u16>],
    fs: u32,
) -> Option<Choice> {
    let mut formats: Vec<SampleFormat> = ep.ranges.iter().map(|r| r.sample_format()).collect();
    formats.sort_by_key(|&f| format_rank(f));
    formats.dedup();
    formats.into_iter().find_map(|format| {
        let mut counts: Vec<u16> = ep
            .ranges
            .iter()
            .filter(|r| r.sample_format() == format && r.channels() >= needed)
            .map(|r| r.channels())
            .collect();
        counts.sort_unstable();
        let channels = prefer
            .iter()
            .flatten()
            .find(|p| counts.contains(p))
            .copied()
            .or_else(|| counts.first().copied())?;
        let range = ep
            .ranges
            .iter()
            .find(|r| r.sample_format() == format && r.channels() == channels)?;
        Some(Choice {
            channels,
            format,
            buffer: buffer_size(range.buffer_size(), fs),
        })
    })
}

/// Frames per callback: the power of two nearest [`TARGET_PERIOD_S`] (2048 at 48 kHz), within
/// what the device supports; the backend's default when it does not say.
///
/// cpal's ALSA host double-buffers (buffer = 2 periods), so a callback may be late by about
/// one period before the output underruns or the input overruns. Its default period on
/// PulseAudio (512 frames, 10.7 ms) underran now and then on a loaded 2-core machine; latency
/// does not matter to a measurement, glitches do.
pub(super) fn buffer_size(supported: &cpal::SupportedBufferSize, fs: u32) -> cpal::BufferSize {
    let target = fs as f64 * TARGET_PERIOD_S;
    let pow2 = 2f64.powf(target.log2().round()).max(64.0) as u32;
    match *supported {
        cpal::SupportedBufferSize::Range { min, max } if min <= max => {
            cpal::BufferSize::Fixed(pow2.clamp(min, max))
        }
        _ => cpal::BufferSize::Default,
    }
}

/// The channels a device really has, when it converts channel counts in software (ALSA's
/// `default`, `pulse` and `plug` PCMs accept any count from 1 to 32 and up- or down-mix):
/// its default count. `None` for a device whose supported counts are its own (hardware).
pub(super) fn own_channels(ep: &Endpoint) -> Option<u16> {
    let counts: std::collections::BTreeSet<u16> = ep.ranges.iter().map(|r| r.channels()).collect();
    let converts = (1..=8).all(|c| counts.contains(&c));
    if converts { ep.default_channels } else { None }
}

pub(super) fn max_channels(ep: &Endpoint) -> u16 {
    ep.ranges.iter().map(|r| r.channels()).max().unwrap_or(0)
}

pub(super) fn flag_of(dir: Direction) -> &'static str {
    match dir {
        Direction::Input => "--input-device",
        Direction::Output => "--output-device",
    }
}

/// Finds a device by id (full "alsa:default" or bare "default"), then by exact name, then by
/// name ignoring case, over all hosts; `None` gives the default host's default device.
pub(super) fn find_device(dir: Direction, query: Option<&str>) -> Result<Candidate> {
    let quiet = list::BackendMessages::capture();
    let found = find_device_inner(dir, query);
    drop(quiet.finish());
    found
}

pub(super) fn find_device_inner(dir: Direction, query: Option<&str>) -> Result<Candidate> {
    let Some(query) = query else {
        let host = cpal::default_host();
        let device = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        let device = device.ok_or_else(|| {
            Error::Device(format!(
                "the {} host has no default {} device; name one with {} (see `sweeplab devices`)",
                host.id().name(),
                dir.as_str(),
                flag_of(dir)
            ))
        })?;
        let id = device
            .id()
            .map_err(|e| Error::Device(format!("default {} device: {e}", dir.as_str())))?;
        let name = device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_else(|_| id.id().to_string());
        return Ok(Candidate {
            device,
            name,
            id: id.to_string(),
            description: Vec::new(),
            default_input: dir == Direction::Input,
            default_output: dir == Direction::Output,
        });
    };
    let mut all: Vec<Candidate> = Vec::new();
    let mut host_errors = Vec::new();
    for host_id in cpal::available_hosts() {
        match cpal::host_from_id(host_id).map_err(|e| e.to_string()) {
            Ok(host) => match list::host_devices(&host) {
                Ok(devs) => all.extend(devs.into_iter().filter(|d| d.may_support(dir))),
                Err(e) => host_errors.push(format!("{}: {e}", host_id.name())),
            },
            Err(e) => host_errors.push(format!("{}: {e}", host_id.name())),
        }
    }
    let bare_id = |c: &Candidate| {
        c.id.split_once(':')
            .map(|(_, b)| b == query)
            .unwrap_or(false)
    };
    let rules: [&dyn Fn(&Candidate) -> bool; 3] = [
        &|c| c.id == query || bare_id(c),
        &|c| c.name == query,
        &|c| c.name.eq_ignore_ascii_case(query),
    ];
    for rule in rules {
        let mut hits: Vec<usize> = (0..all.len()).filter(|&i| rule(&all[i])).collect();
        match hits.len() {
            0 => continue,
            1 => return Ok(all.swap_remove(hits.remove(0))),
            _ => {
                let ids: Vec<String> = hits
                    .iter()
                    .map(|&i| format!("{} ({})", all[i].name, all[i].id))
                    .collect();
                return Err(Error::bad_usage(
                    flag_of(dir),
                    format!(
                        "\"{query}\" matches several {} devices: {}; give the id instead",
                        dir.as_str(),
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
    let available = if all.is_empty() {
        "none".to_string()
    } else {
        all.iter()
            .map(|c| format!("\"{}\" ({})", c.name, c.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let errors = if host_errors.is_empty() {
        String::new()
    } else {
        format!(" (host errors: {})", host_errors.join("; "))
    };
    Err(Error::bad_usage(
        flag_of(dir),
        format!(
            "no {} device named \"{query}\"; available {} devices: {available}{errors}",
            dir.as_str(),
            dir.as_str()
        ),
    ))
}

/// Queries a device's configurations; returns all usable ranges and the endpoint restricted to
/// those containing `rate`.
pub(super) fn endpoint(
    dir: Direction,
    c: Candidate,
    rate: u32,
) -> Result<(Vec<cpal::SupportedStreamConfigRange>, Endpoint)> {
    let quiet = list::BackendMessages::capture();
    let ranges = list::supported_configs(&c.device, dir);
    let default = match dir {
        Direction::Input => c.device.default_input_config(),
        Direction::Output => c.device.default_output_config(),
    };
    let messages = quiet.finish();
    let all: Vec<_> = ranges
        .map_err(|e| {
            let extra = if messages.is_empty() {
                String::new()
            } else {
                format!(" [{}]", messages.join(" | "))
            };
            Error::Device(format!(
                "cannot open the {} device \"{}\" ({}): {e}{extra}",
                dir.as_str(),
                c.name,
                c.id
            ))
        })?
        .into_iter()
        .filter(|r| format_rank(r.sample_format()).is_some())
        .collect();
    let at_rate = all
        .iter()
        .filter(|r| r.contains_rate(rate))
        .copied()
        .collect();
    let ep = Endpoint {
        dir,
        device: c.device,
        name: c.name,
        id: c.id,
        ranges: at_rate,
        default_channels: default.ok().map(|d| d.channels()),
    };
    Ok((all, ep))
}

/// Distinct rate ranges, sorted.
pub(super) fn rate_ranges(ranges: &[cpal::SupportedStreamConfigRange]) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = ranges
        .iter()
        .map(|r| (r.min_sample_rate(), r.max_sample_rate()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

pub(super) fn describe_rates(v: &[(u32, u32)]) -> String {
    if v.is_empty() {
        return "nothing usable".into();
    }
    v.iter()
        .map(|&(lo, hi)| list::rate_range(lo, hi))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn rate_error(
    rate: u32,
    output: &Endpoint,
    out_all: &[cpal::SupportedStreamConfigRange],
    input: &Endpoint,
    in_all: &[cpal::SupportedStreamConfigRange],
) -> Error {
    let o = rate_ranges(out_all);
    let i = rate_ranges(in_all);
    let mut common: Vec<(u32, u32)> = o
        .iter()
        .flat_map(|a| i.iter().map(move |b| (a.0.max(b.0), a.1.min(b.1))))
        .filter(|(lo, hi)| lo <= hi)
        .collect();
    common.sort_unstable();
    common.dedup();
    let which = match (output.ranges.is_empty(), input.ranges.is_empty()) {
        (true, true) => format!("{} nor by the {}", output.label(), input.label()),
        (true, false) => output.label(),
        _ => input.label(),
    };
    Error::bad_usage(
        "--rate",
        format!(
            "{rate} Hz is not supported by the {which}. Output supports {}; input supports {}; \
             both support {}. sweeplab never resamples: choose one of those rates with --rate, \
             or other devices",
            describe_rates(&o),
            describe_rates(&i),
            if common.is_empty() {
                "no common rate".to_string()
            } else {
                describe_rates(&common)
            }
        ),
    )
}
