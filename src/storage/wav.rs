//! WAV reading and writing (hound). Every error names the file and says what to do.

use std::fs::File;
use std::path::Path;

use hound::{SampleFormat, WavSpec, WavWriter};

use crate::error::{Error, Result};

/// A decoded WAV file: samples per channel as f64 in [−1, 1].
#[derive(Debug, Clone)]
pub struct WavData {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f64>>,
    /// "32-bit float", "24-bit int", …
    pub format: String,
}

impl WavData {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

const CONVERT_HINT: &str = "convert it to 16/24/32-bit PCM or 32-bit float WAV (e.g. `sox in.wav -e floating-point -b 32 out.wav`)";

/// Reads a whole WAV file. Accepts 8/16/24/32-bit integer PCM and 32-bit float (also in
/// WAVE_FORMAT_EXTENSIBLE, with any unknown or odd-sized chunks) at 8–192 kHz.
///
/// The RIFF structure is parsed here rather than by hound, whose reader does not skip the pad
/// byte after an odd-sized chunk; every length is checked against the file before use.
pub fn read_wav(path: &Path) -> Result<WavData> {
    read_wav_prefix(path, None).map(|(w, _)| w)
}

/// Like [`read_wav`], reading at most `max_frames` frames (a bounded read of a long capture);
/// also returns how many frames the file holds.
pub fn read_wav_prefix(path: &Path, max_frames: Option<usize>) -> Result<(WavData, usize)> {
    use std::io::{Read, Seek, SeekFrom};
    super::check_regular_file(path).map_err(|e| match e {
        super::TextError::Folder => {
            Error::bad_input(path, "is a folder, but a WAV file was expected")
        }
        e => Error::bad_input(path, e.to_string()),
    })?;
    let open_err = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_input(path, "no such file"),
        _ => Error::bad_input(path, format!("cannot read: {e}")),
    };
    let mut file = File::open(path).map_err(open_err)?;
    let file_len = file.metadata().map_err(open_err)?.len() as usize;
    if file_len == 0 {
        return Err(Error::bad_input(
            path,
            "the file is empty (0 bytes): not a WAV file",
        ));
    }
    // the header normally sits in the first few kB; read more only if it does not
    const HEAD: usize = 1 << 20;
    let mut head = vec![0u8; file_len.min(HEAD)];
    file.read_exact(&mut head).map_err(open_err)?;
    let parsed = match parse_header(&head) {
        Err(_) if head.len() < file_len => {
            head = std::fs::read(path).map_err(open_err)?;
            parse_header(&head)
        }
        other => other,
    };
    let bad = |m: String| Error::bad_input(path, m);
    let mut h = parsed.map_err(bad)?;
    check_channels(path, h.channels)?;
    let available = file_len - h.data_offset;
    // streaming recorders leave the data size at 0 or 0xFFFFFFFF until they finish: such a
    // last chunk holds whatever follows it
    let after = &head[h.data_offset.min(head.len())..];
    let chunk_follows = after.len() >= 8
        && after[..4]
            .iter()
            .all(|b| b.is_ascii_graphic() || *b == b' ')
        && u32_at(after, 4) as usize <= available - 8;
    if (h.data_len == u32::MAX as usize || (h.data_len == 0 && !chunk_follows)) && available > 0 {
        h.data_len = available;
    }
    if h.data_len > available {
        return Err(Error::bad_input(
            path,
            format!(
                "truncated: the data chunk claims {} bytes but only {available} follow; the recording was cut off — re-export it, or repair the header (e.g. `sox --ignore-length in.wav out.wav`)",
                h.data_len
            ),
        ));
    }
    let block = usize::from(h.block_align.max(1));
    let total_frames = h.data_len / block;
    let take = max_frames.map_or(total_frames, |m| m.min(total_frames));
    let mut bytes = vec![0u8; take * block];
    file.seek(SeekFrom::Start(h.data_offset as u64))
        .map_err(open_err)?;
    file.read_exact(&mut bytes).map_err(open_err)?;
    let h = Header {
        data_offset: 0,
        data_len: bytes.len(),
        ..h
    };
    decode(path, &h, &bytes).map(|w| (w, total_frames))
}

/// Refuses more channels than [`crate::bounds::MAX_CHANNELS`], from the header, before any
/// sample is read.
fn check_channels(path: &Path, channels: u16) -> Result<()> {
    let max = crate::bounds::MAX_CHANNELS;
    if channels > max {
        return Err(Error::bad_input(
            path,
            format!(
                "has {channels} channels; sweeplab analyses at most {max}: keep the channels you need (e.g. `sox in.wav out.wav remix 1 2`)"
            ),
        ));
    }
    Ok(())
}

/// What a WAV file's header says, read without its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: usize,
}

/// Reads only a WAV file's header (the same checks as [`read_wav`] except the samples'), so
/// that limits can be checked before the samples are read.
pub fn probe_wav(path: &Path) -> Result<WavInfo> {
    let (w, frames) = read_wav_prefix(path, Some(0))?;
    Ok(WavInfo {
        sample_rate: w.sample_rate,
        channels: w.channels.len() as u16,
        frames,
    })
}

/// Decodes the data chunk `bytes[h.data_offset..][..h.data_len]` described by `h`.
fn decode(path: &Path, h: &Header, bytes: &[u8]) -> Result<WavData> {
    let (spec_fmt, width, nch) = (
        h.format,
        usize::from(h.block_align / h.channels),
        usize::from(h.channels),
    );
    let format = match (spec_fmt, h.bits) {
        (SampleFormat::Float, 32) if width == 4 => "32-bit float".to_string(),
        (SampleFormat::Float, bits) => {
            return Err(Error::bad_input(
                path,
                format!("{bits}-bit float samples are not supported; {CONVERT_HINT}"),
            ));
        }
        (SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) if width == usize::from(bits / 8) => {
            format!("{bits}-bit int")
        }
        (SampleFormat::Int, bits) => {
            return Err(Error::bad_input(
                path,
                format!(
                    "{bits}-bit integer samples in {width}-byte containers are not supported; {CONVERT_HINT}"
                ),
            ));
        }
    };
    crate::bounds::check_rate(h.sample_rate)
        .map_err(|m| Error::bad_input(path, format!("sample rate {m}")))?;
    let data = &bytes[h.data_offset..h.data_offset + h.data_len];
    let frames = data.len() / width / nch;
    let bytes = &data[..frames * nch * width];
    // decode all samples in one tight, format-specialised pass, straight into each channel's
    // buffer (no interleaved copy)
    let channels: Vec<Vec<f64>> = match (spec_fmt == SampleFormat::Float, width) {
        (true, _) => split(bytes, nch, 4, |b| {
            f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }),
        (false, 1) => split(bytes, nch, 1, |b| (f64::from(b[0]) - 128.0) / 128.0),
        (false, 2) => split(bytes, nch, 2, |b| {
            f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0
        }),
        (false, 3) => split(bytes, nch, 3, |b| {
            f64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) / 8_388_608.0
        }),
        (false, _) => split(bytes, nch, 4, |b| {
            f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0
        }),
    };
    // the first non-finite sample in the file's order (frame, then channel)
    let bad = channels
        .iter()
        .enumerate()
        .filter_map(|(c, ch)| ch.iter().position(|v| !v.is_finite()).map(|i| (i, c)))
        .min();
    if let Some((i, c)) = bad {
        return Err(Error::bad_input(
            path,
            format!(
                "sample {i} of channel {c} is {}: the file holds non-finite values",
                channels[c][i]
            ),
        ));
    }
    Ok(WavData {
        sample_rate: h.sample_rate,
        channels,
        format,
    })
}

/// The samples of `bytes` (`nch` interleaved channels of `width`-byte samples, whole frames)
/// decoded by `sample`, one buffer per channel.
fn split(bytes: &[u8], nch: usize, width: usize, sample: impl Fn(&[u8]) -> f64) -> Vec<Vec<f64>> {
    if nch == 1 {
        return vec![bytes.chunks_exact(width).map(sample).collect()];
    }
    let frames = bytes.len() / (width * nch);
    let mut channels: Vec<Vec<f64>> = (0..nch).map(|_| Vec::with_capacity(frames)).collect();
    for frame in bytes.chunks_exact(width * nch) {
        for (ch, b) in channels.iter_mut().zip(frame.chunks_exact(width)) {
            ch.push(sample(b));
        }
    }
    channels
}

struct Header {
    format: SampleFormat,
    channels: u16,
    sample_rate: u32,
    bits: u16,
    block_align: u16,
    data_offset: usize,
    data_len: usize,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Walks the RIFF chunks to the fmt and data chunks; errors are sentences for the user.
fn parse_header(b: &[u8]) -> std::result::Result<Header, String> {
    if b.len() < 12 {
        return Err("truncated: the file ends inside its RIFF header".into());
    }
    if &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        let what = if &b[0..4] == b"RF64" {
            " (RF64 is not supported)"
        } else {
            ""
        };
        return Err(format!(
            "not a valid WAV file: no RIFF/WAVE header{what}; {CONVERT_HINT}"
        ));
    }
    let mut i = 12usize;
    let mut fmt: Option<(SampleFormat, u16, u32, u16, u16)> = None;
    loop {
        if i + 8 > b.len() {
            return Err(if fmt.is_none() {
                "truncated: the file ends before its fmt chunk".into()
            } else {
                "truncated: the file ends before its data chunk".into()
            });
        }
        let id = &b[i..i + 4];
        let size = u32_at(b, i + 4) as usize;
        let body = i + 8;
        match id {
            b"fmt " => {
                if size < 16 || body + 16 > b.len() {
                    return Err("truncated: the fmt chunk is cut short".into());
                }
                let tag = u16_at(b, body);
                let channels = u16_at(b, body + 2);
                let rate = u32_at(b, body + 4);
                let block_align = u16_at(b, body + 12);
                let bits = u16_at(b, body + 14);
                let tag = if tag == 0xFFFE {
                    if size < 40 || body + 26 > b.len() {
                        return Err(
                            "truncated: the WAVE_FORMAT_EXTENSIBLE fmt chunk is cut short".into(),
                        );
                    }
                    u16_at(b, body + 24)
                } else {
                    tag
                };
                let format = match tag {
                    1 => SampleFormat::Int,
                    3 => SampleFormat::Float,
                    6 => return Err(format!("unsupported encoding A-law; {CONVERT_HINT}")),
                    7 => return Err(format!("unsupported encoding μ-law; {CONVERT_HINT}")),
                    2 | 0x11 => return Err(format!("unsupported encoding ADPCM; {CONVERT_HINT}")),
                    other => {
                        return Err(format!(
                            "unsupported encoding (format tag {other:#06x}); {CONVERT_HINT}"
                        ));
                    }
                };
                if channels == 0 {
                    return Err("the WAV header declares 0 channels".into());
                }
                if block_align == 0
                    || !block_align.is_multiple_of(channels)
                    || u32::from(block_align / channels) * 8 < u32::from(bits)
                {
                    return Err(format!(
                        "inconsistent fmt chunk: block align {block_align} for {channels} channels of {bits} bits"
                    ));
                }
                fmt = Some((format, channels, rate, bits, block_align));
            }
            b"data" => {
                let (format, channels, sample_rate, bits, block_align) =
                    fmt.ok_or("the data chunk comes before the fmt chunk")?;
                return Ok(Header {
                    format,
                    channels,
                    sample_rate,
                    bits,
                    block_align,
                    data_offset: body,
                    data_len: size,
                });
            }
            _ => {}
        }
        // chunks are word-aligned: an odd-sized chunk is followed by a pad byte
        i = body
            .checked_add(size)
            .and_then(|v| v.checked_add(size & 1))
            .ok_or("corrupt chunk size")?;
    }
}

/// Writes interleaved f32 samples as a 32-bit float WAV, atomically (temporary file, then
/// rename), so that a failure never leaves a half-written `path`.
pub fn write_wav_f32(
    path: &Path,
    sample_rate: u32,
    channels: u16,
    interleaved: &[f32],
) -> Result<()> {
    let mut tmp = super::output::temp_file_for(path)?;
    (|| -> std::result::Result<(), hound::Error> {
        let file = std::io::BufWriter::new(tmp.as_file_mut());
        let mut w = WavWriter::new(file, float_spec(sample_rate, channels))?;
        for &s in interleaved {
            w.write_sample(s)?;
        }
        w.finalize()
    })()
    .map_err(|e| hound_io(path, e))?;
    super::output::persist(tmp, path)
}

fn float_spec(sample_rate: u32, channels: u16) -> WavSpec {
    WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    }
}

fn hound_io(path: &Path, e: hound::Error) -> Error {
    match e {
        hound::Error::IoError(io) => Error::io(path, io),
        other => Error::io(path, std::io::Error::other(other.to_string())),
    }
}

/// Makes a capture's header agree with what is on disk, after a capture that stopped on a
/// write failure (a full disk) or a crash: the data chunk is set to the whole frames the file
/// holds, a torn last frame is cut off. Returns that frame count, the one to report. Only
/// overwrites bytes already on disk, so it works on a full disk.
pub fn repair_capture(path: &Path) -> Result<u64> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = vec![0u8; len.min(4096) as usize];
    f.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    let h = parse_header(&head).map_err(|m| Error::bad_input(path, m))?;
    let block = u64::from(h.block_align.max(1));
    let on_disk = len.saturating_sub(h.data_offset as u64);
    // a RIFF chunk size is 32 bits: a capture of more than 4 GiB keeps what the header can say
    let max_data = u64::from(u32::MAX) - h.data_offset as u64;
    let frames = on_disk.min(max_data) / block;
    let data_len = frames * block;
    let riff_len = h.data_offset as u64 - 8 + data_len;
    let patch = |f: &mut std::fs::File, at: u64, v: u64| -> std::io::Result<()> {
        f.seek(SeekFrom::Start(at))?;
        f.write_all(&(v as u32).to_le_bytes())
    };
    patch(&mut f, 4, riff_len)
        .and_then(|()| patch(&mut f, h.data_offset as u64 - 4, data_len))
        .and_then(|()| f.set_len(h.data_offset as u64 + data_len))
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, e))?;
    Ok(frames)
}

/// Streams a capture to disk as it arrives. The header is brought up to date every
/// `flush_every_frames`, so a crash or a killed process leaves a valid WAV of everything
/// written up to the last flush (and `finalize` makes it exact).
pub struct CaptureWriter {
    writer: Option<WavWriter<std::io::BufWriter<File>>>,
    path: std::path::PathBuf,
    channels: u16,
    frames: u64,
    since_flush: u64,
    flush_every_frames: u64,
}

impl CaptureWriter {
    pub fn create(path: &Path, sample_rate: u32, channels: u16) -> Result<Self> {
        let file = std::io::BufWriter::new(super::output::create_new(path)?);
        let writer = WavWriter::new(file, float_spec(sample_rate, channels))
            .map_err(|e| hound_io(path, e))?;
        Ok(CaptureWriter {
            writer: Some(writer),
            path: path.to_path_buf(),
            channels,
            frames: 0,
            since_flush: 0,
            flush_every_frames: u64::from(sample_rate) / 4,
        })
    }

    /// Appends interleaved samples (a whole number of frames).
    pub fn write(&mut self, interleaved: &[f32]) -> Result<()> {
        let w = self.writer.as_mut().ok_or_else(|| {
            Error::io(
                &self.path,
                std::io::Error::other("capture already finalized"),
            )
        })?;
        for &s in interleaved {
            w.write_sample(s).map_err(|e| hound_io(&self.path, e))?;
        }
        let frames = (interleaved.len() / self.channels.max(1) as usize) as u64;
        self.frames += frames;
        self.since_flush += frames;
        if self.since_flush >= self.flush_every_frames {
            w.flush().map_err(|e| hound_io(&self.path, e))?;
            self.since_flush = 0;
        }
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes the final header. Fallible, like hound's own `finalize`.
    pub fn finalize(mut self) -> Result<u64> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| hound_io(&self.path, e))?;
        }
        Ok(self.frames)
    }
}

impl Drop for CaptureWriter {
    fn drop(&mut self) {
        // best effort on an error path: keep what was captured readable
        if let Some(w) = self.writer.take() {
            let _ = w.finalize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(format: SampleFormat, bits: u16, channels: u16, len: usize) -> Header {
        Header {
            format,
            channels,
            sample_rate: 48000,
            bits,
            block_align: bits / 8 * channels,
            data_offset: 0,
            data_len: len,
        }
    }

    /// Interleaved frames decode into each channel's buffer, in every integer width and in
    /// float: the values are exact (sample = code / full scale), checked channel by channel.
    #[test]
    fn channels_are_split_exactly() {
        let p = Path::new("x.wav");
        // three channels, four frames: channel c of frame f holds code (f·3 + c + 1)·1000
        let code = |f: usize, c: usize| ((f * 3 + c + 1) * 1000) as i32;
        let mut b16 = Vec::new();
        let mut b24 = Vec::new();
        let mut bf = Vec::new();
        for f in 0..4 {
            for c in 0..3 {
                b16.extend((code(f, c) as i16).to_le_bytes());
                b24.extend(&(code(f, c) * 100).to_le_bytes()[..3]);
                bf.extend((code(f, c) as f32 / 32768.0).to_le_bytes());
            }
        }
        for (bytes, fmt, bits, scale) in [
            (&b16, SampleFormat::Int, 16, 32768.0),
            (&b24, SampleFormat::Int, 24, 8_388_608.0 / 100.0),
            (&bf, SampleFormat::Float, 32, 32768.0),
        ] {
            let w = decode(p, &header(fmt, bits, 3, bytes.len()), bytes).unwrap();
            assert_eq!(w.channels.len(), 3);
            for (c, ch) in w.channels.iter().enumerate() {
                let want: Vec<f64> = (0..4).map(|f| f64::from(code(f, c)) / scale).collect();
                assert_eq!(ch, &want, "{bits}-bit channel {c}");
            }
        }
    }

    /// The first non-finite sample in the file's order is the one named: frame 1 of channel 2
    /// comes before frame 2 of channel 0.
    #[test]
    fn the_first_non_finite_sample_is_named() {
        let mut bf = Vec::new();
        for f in 0..4 {
            for c in 0..3 {
                let v = match (f, c) {
                    (1, 2) => f32::INFINITY,
                    (2, 0) => f32::NAN,
                    _ => 0.25,
                };
                bf.extend(v.to_le_bytes());
            }
        }
        let e = decode(
            Path::new("x.wav"),
            &header(SampleFormat::Float, 32, 3, bf.len()),
            &bf,
        )
        .map(|_| ())
        .expect_err("refused")
        .to_string();
        assert!(e.contains("sample 1 of channel 2 is inf"), "{e}");
    }
}
