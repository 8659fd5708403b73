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
        return Err(Error::bad_input(path, "is a directory, but a WAV file was expected"));
    }
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_input(path, "no such file"),
        _ => Error::bad_input(path, format!("cannot open: {e}")),
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(Error::bad_input(path, "the file is empty (0 bytes): not a WAV file"));
    }
    let mut reader = WavReader::new(BufReader::new(file)).map_err(|e| wav_error(path, e))?;
    let spec = reader.spec();
    if spec.channels == 0 {
        return Err(Error::bad_input(path, "the WAV header declares 0 channels"));
    }
    if !(8000..=192_000).contains(&spec.sample_rate) {
        return Err(Error::bad_input(
            path,
            format!("sample rate {} Hz is outside the supported 8000–192000 Hz", spec.sample_rate),
        ));
    }
    let nch = spec.channels as usize;
    let declared = reader.len() as u64; // samples, all channels
    let bytes_per_sample = u64::from(spec.bits_per_sample).div_ceil(8);
    if declared * bytes_per_sample > len {
        return Err(Error::bad_input(
            path,
            format!(
                "truncated: the data chunk claims {} bytes but the whole file is {len} bytes; the recording was cut off — re-export it, or repair the header (e.g. `sox --ignore-length in.wav out.wav`)",
                declared * bytes_per_sample
            ),
        ));
    }
    let mut channels: Vec<Vec<f64>> = vec![Vec::with_capacity(declared as usize / nch); nch];
    let format;
    match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => {
            format = "32-bit float".to_string();
            for (i, s) in reader.samples::<f32>().enumerate() {
                let v = s.map_err(|e| wav_error(path, e))?;
                if !v.is_finite() {
                    return Err(Error::bad_input(
                        path,
                        format!("sample {} of channel {} is {v}: the file holds non-finite values", i / nch, i % nch),
                    ));
                }
                channels[i % nch].push(f64::from(v));
            }
        }
        (SampleFormat::Float, bits) => {
            return Err(Error::bad_input(path, format!("{bits}-bit float samples are not supported; {CONVERT_HINT}")));
        }
        (SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            format = format!("{bits}-bit int");
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            for (i, s) in reader.samples::<i32>().enumerate() {
                let v = s.map_err(|e| wav_error(path, e))?;
                channels[i % nch].push(f64::from(v) * scale);
            }
        }
        (SampleFormat::Int, bits) => {
            return Err(Error::bad_input(path, format!("{bits}-bit integer samples are not supported; {CONVERT_HINT}")));
        }
    }
    // a partial last frame (odd data size) is dropped so that all channels have equal length
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    channels.iter_mut().for_each(|c| c.truncate(frames));
    Ok(WavData { sample_rate: spec.sample_rate, channels, format })
}

fn wav_error(path: &Path, e: hound::Error) -> Error {
    let msg = match e {
        hound::Error::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated: the file ends inside its header or data; re-export or re-record it".to_string()
        }
        hound::Error::IoError(io) => format!("cannot read: {io}"),
        hound::Error::FormatError(m) => format!("not a valid WAV file ({m}); {CONVERT_HINT}"),
        hound::Error::Unsupported => format!("unsupported WAV encoding (e.g. μ-law, A-law, ADPCM or 64-bit float); {CONVERT_HINT}"),
        hound::Error::TooWide => format!("samples wider than 32 bits are not supported; {CONVERT_HINT}"),
        other => format!("cannot read as WAV: {other}"),
    };
    Error::bad_input(path, msg)
}

/// Writes interleaved f32 samples as a 32-bit float WAV, atomically (temporary file, then
/// rename), so that a failure never leaves a half-written `path`.
pub fn write_wav_f32(path: &Path, sample_rate: u32, channels: u16, interleaved: &[f32]) -> Result<()> {
    let tmp = super::temp_path_for(path);
    let result = (|| -> std::result::Result<(), hound::Error> {
        let mut w = WavWriter::create(&tmp, float_spec(sample_rate, channels))?;
        for &s in interleaved {
            w.write_sample(s)?;
        }
        w.finalize()
    })();
    let result = result.map_err(|e| hound_io(path, e)).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn float_spec(sample_rate: u32, channels: u16) -> WavSpec {
    WavSpec { channels, sample_rate, bits_per_sample: 32, sample_format: SampleFormat::Float }
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
        let writer = WavWriter::create(path, float_spec(sample_rate, channels)).map_err(|e| hound_io(path, e))?;
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
        let w = self.writer.as_mut().ok_or_else(|| Error::io(&self.path, std::io::Error::other("capture already finalized")))?;
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
