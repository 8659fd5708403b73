//! Files: the only code that imports hound. Reads and writes session folders, WAVs and the
//! JSON/CSV outputs, always atomically, and reads every text input through one bounded
//! reader. Must not import: `dsp`, `device`, `sim`, `report`, `compare`, `session`, `cli`.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then renamed
/// over `path`. A failure leaves no partial `path` behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_inner(path, bytes, false)
}

/// Like [`write_atomic`], and synced to disk before the rename: for files that describe
/// recordings (session.json), which must survive a power cut.
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_inner(path, bytes, true)
}

fn write_atomic_inner(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let mut tmp = output::temp_file_for(path)?;
    let result = (|| {
        tmp.write_all(bytes)?;
        if sync {
            tmp.as_file().sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| Error::io(path, e))?;
    output::persist(tmp, path)
}

/// The largest text input read (session.json, analysis.json, curves, calibrations, claims,
/// models, FIR coefficient lists): far above any real one.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Why a text input could not be read; callers turn it into [`Error::BadInput`] with their own
/// wording for a missing file.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("no such file")]
    NotFound,
    #[error("is a folder, not a file")]
    Folder,
    #[error("is not a regular file (a device, FIFO or socket cannot be read as input)")]
    NotRegular,
    #[error("is {0} bytes; inputs of this kind are at most {MAX_TEXT_BYTES} bytes")]
    TooLarge(u64),
    #[error("line {0}: not UTF-8 text")]
    NotUtf8(usize),
    #[error("cannot read: {0}")]
    Io(std::io::Error),
}

/// Reads a text input whole: only a regular file of at most [`MAX_TEXT_BYTES`], UTF-8 (a
/// leading byte-order mark removed). Never blocks on a FIFO nor reads an endless device.
pub fn read_text(path: &Path) -> std::result::Result<String, TextError> {
    use std::io::Read;
    let len = check_regular_file(path)?.len();
    if len > MAX_TEXT_BYTES {
        return Err(TextError::TooLarge(len));
    }
    let f = std::fs::File::open(path).map_err(TextError::Io)?;
    let mut bytes = Vec::new();
    f.take(MAX_TEXT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(TextError::Io)?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(TextError::TooLarge(bytes.len() as u64));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        TextError::NotUtf8(1 + valid.iter().filter(|&&b| b == b'\n').count())
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Reads a text input whole ([`read_text`]) and says what is wrong in the one wording every
/// input shares: `what` names the kind of file expected ("a claims file"), `if_missing` is
/// what to say when there is no file at all (with what to do). Errors are `BadInput` (exit 2).
pub fn read_input(path: &Path, what: &str, if_missing: &str) -> Result<String> {
    read_text(path).map_err(|e| {
        let msg = match e {
            TextError::NotFound => if_missing.to_string(),
            TextError::Folder => format!("is a folder, but {what} was expected"),
            TextError::NotUtf8(line) => {
                format!("line {line}: not UTF-8 text ({what} was expected)")
            }
            e => e.to_string(),
        };
        Error::bad_input(path, msg)
    })
}

/// `path`'s metadata when it is a regular file (symbolic links followed).
pub fn check_regular_file(path: &Path) -> std::result::Result<std::fs::Metadata, TextError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TextError::NotFound,
        _ => TextError::Io(e),
    })?;
    if meta.is_dir() {
        return Err(TextError::Folder);
    }
    if !meta.is_file() {
        return Err(TextError::NotRegular);
    }
    Ok(meta)
}

pub mod export;
pub mod output;
pub mod session_file;
pub mod wav;
