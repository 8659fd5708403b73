//! WAV reading and writing (hound). Every error names the file and says what to do.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};

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
/// WAVE_FORMAT_EXTENSIBLE) at 8–192 kHz.
pub fn read_wav(path: &Path) -> Result<WavData> {
    if path.is_dir() {
        return Err(Error::bad_input(
            path,
            "is a directory, but a WAV file was expected",
        ));
    }
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_input(path, "no such file"),
        _ => Error::bad_input(path, format!("cannot open: {e}")),
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(Error::bad_input(
            path,
            "the file is empty (0 bytes): not a WAV file",
        ));
    }
    let reader = WavReader::new(BufReader::new(file)).map_err(|e| wav_error(path, e))?;
    let spec = reader.spec();
    // hound validated the header; the container width and the data size it does not expose
    let (block_align, data_len) = riff_layout(path)?;
    let width = usize::from(block_align) / usize::from(spec.channels.max(1));
    if spec.channels == 0 {
        return Err(Error::bad_input(path, "the WAV header declares 0 channels"));
    }
    if !(8000..=192_000).contains(&spec.sample_rate) {
        return Err(Error::bad_input(
            path,
            format!(
                "sample rate {} Hz is outside the supported 8000–192000 Hz",
                spec.sample_rate
            ),
        ));
    }
    if u64::from(data_len) > len {
        return Err(Error::bad_input(
            path,
            format!(
                "truncated: the data chunk claims {data_len} bytes but the whole file is {len} bytes; the recording was cut off — re-export it, or repair the header (e.g. `sox --ignore-length in.wav out.wav`)"
            ),
        ));
    }
    let nch = spec.channels as usize;
    let format = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => "32-bit float".to_string(),
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
    // hound has parsed the header (incl. WAVE_FORMAT_EXTENSIBLE) and stands at the data;
    // decode the bytes in bulk, which is an order of magnitude faster than per sample
    let mut input = reader.into_inner();
    let mut data = vec![0u8; data_len as usize / width.max(1) * width];
    let got = read_full(&mut input, &mut data)
        .map_err(|e| Error::bad_input(path, format!("cannot read: {e}")))?;
    if got < data.len() {
        return Err(Error::bad_input(
            path,
            format!(
                "truncated: the data chunk claims {} bytes but only {got} follow; the recording was cut off — re-export it, or repair the header (e.g. `sox --ignore-length in.wav out.wav`)",
                data.len()
            ),
        ));
    }
    let frames = data.len() / width / nch;
    let bytes = &data[..frames * nch * width];
    // decode all samples in one tight, format-specialised pass
    let interleaved: Vec<f64> = match (spec.sample_format == SampleFormat::Float, width) {
        (true, _) => bytes
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        (false, 1) => bytes
            .iter()
            .map(|&b| (f64::from(b) - 128.0) / 128.0)
            .collect(),
        (false, 2) => bytes
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect(),
        (false, 3) => bytes
            .chunks_exact(3)
            .map(|b| f64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) / 8_388_608.0)
            .collect(),
        (false, _) => bytes
            .chunks_exact(4)
            .map(|b| f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0)
            .collect(),
    };
    if let Some(i) = interleaved.iter().position(|v| !v.is_finite()) {
        return Err(Error::bad_input(
            path,
            format!(
                "sample {} of channel {} is {}: the file holds non-finite values",
                i / nch,
                i % nch,
                interleaved[i]
            ),
        ));
    }
    let channels: Vec<Vec<f64>> = if nch == 1 {
        vec![interleaved]
    } else {
        (0..nch)
            .map(|c| interleaved.iter().skip(c).step_by(nch).copied().collect())
            .collect()
    };
    Ok(WavData {
        sample_rate: spec.sample_rate,
        channels,
        format,
    })
}

/// The fmt chunk's block align and the data chunk's declared size, from the RIFF chunk list.
fn riff_layout(path: &Path) -> Result<(u16, u32)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f =
        File::open(path).map_err(|e| Error::bad_input(path, format!("cannot open: {e}")))?;
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| Error::bad_input(path, "truncated: the file ends inside its RIFF header"))?;
    let mut block_align = None;
    loop {
        let mut ch = [0u8; 8];
        if f.read_exact(&mut ch).is_err() {
            return Err(Error::bad_input(
                path,
                "no data chunk: the file ends before its audio data",
            ));
        }
        let size = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        match &ch[..4] {
            b"fmt " => {
                let mut fmt = [0u8; 14];
                f.read_exact(&mut fmt).map_err(|_| {
                    Error::bad_input(path, "truncated: the file ends inside its fmt chunk")
                })?;
                block_align = Some(u16::from_le_bytes([fmt[12], fmt[13]]));
                f.seek(SeekFrom::Current(
                    i64::from(size) - 14 + i64::from(size & 1),
                ))
                .map_err(|e| Error::bad_input(path, format!("cannot read: {e}")))?;
            }
            b"data" => {
                let ba = block_align.ok_or_else(|| {
                    Error::bad_input(path, "the data chunk comes before the fmt chunk")
                })?;
                return Ok((ba, size));
            }
            _ => {
                f.seek(SeekFrom::Current(i64::from(size) + i64::from(size & 1)))
                    .map_err(|e| Error::bad_input(path, format!("cannot read: {e}")))?;
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn wav_error(path: &Path, e: hound::Error) -> Error {
    let msg = match e {
        hound::Error::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated: the file ends inside its header or data; re-export or re-record it"
                .to_string()
        }
        hound::Error::IoError(io) => format!("cannot read: {io}"),
        hound::Error::FormatError(m) => format!("not a valid WAV file ({m}); {CONVERT_HINT}"),
        hound::Error::Unsupported => format!(
            "unsupported WAV encoding (e.g. μ-law, A-law, ADPCM or 64-bit float); {CONVERT_HINT}"
        ),
        hound::Error::TooWide => {
            format!("samples wider than 32 bits are not supported; {CONVERT_HINT}")
        }
        other => format!("cannot read as WAV: {other}"),
    };
    Error::bad_input(path, msg)
}

/// Writes interleaved f32 samples as a 32-bit float WAV, atomically (temporary file, then
/// rename), so that a failure never leaves a half-written `path`.
pub fn write_wav_f32(
    path: &Path,
    sample_rate: u32,
    channels: u16,
    interleaved: &[f32],
) -> Result<()> {
    let tmp = super::temp_path_for(path);
    let result = (|| -> std::result::Result<(), hound::Error> {
        let mut w = WavWriter::create(&tmp, float_spec(sample_rate, channels))?;
        for &s in interleaved {
            w.write_sample(s)?;
        }
        w.finalize()
    })();
    let result = result
        .map_err(|e| hound_io(path, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
        let writer = WavWriter::create(path, float_spec(sample_rate, channels))
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
