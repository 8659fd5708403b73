//! Typed library errors. Each names the file or flag at fault and says what to do; the
//! binary maps them to exit codes (2: bad usage or bad input, 1: anything else).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is unreadable, malformed or inconsistent. Exit 2.
    #[error("{}: {msg}", path.display())]
    BadInput { path: PathBuf, msg: String },
    /// A flag has a bad value or flags contradict each other. Exit 2.
    #[error("{flag}: {msg}")]
    BadUsage { flag: String, msg: String },
    /// The output exists and would be overwritten. Exit 2.
    #[error("{}: {msg}", path.display())]
    WouldOverwrite { path: PathBuf, msg: String },
    /// Another sweeplab is writing into the same output folder right now. Exit 1.
    #[error("{}: {msg}", path.display())]
    Busy { path: PathBuf, msg: String },
    /// An I/O failure while writing or reading (disk full, permission). Exit 1.
    #[error("{}: {err}", path.display())]
    Io {
        path: PathBuf,
        // not a `source`: the message already says it, and `{:#}` would say it twice
        err: std::io::Error,
    },
    /// The results database failed (unreachable, locked, written by a newer sweeplab). Exit 1.
    #[error("results database: {0}")]
    Database(String),
    /// An audio device failed. Exit 1.
    #[error("audio device: {0}")]
    Device(String),
    /// The level check before a live sweep failed (clipping, no signal). Exit 1.
    #[error("level check: {0}")]
    LevelCheck(String),
    /// Nothing was measured: no channel holds the sweep (a muted or unplugged input). Exit 1.
    #[error("no signal: {0}")]
    NoSignal(String),
    /// The measurement was interrupted (Ctrl-C). Exit 1 (130 by convention is reserved to the
    /// shell; we use 1 as the contract says).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn bad_input(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::BadInput {
            path: path.as_ref().to_path_buf(),
            msg: msg.into(),
        }
    }
    pub fn bad_usage(flag: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::BadUsage {
            flag: flag.into(),
            msg: msg.into(),
        }
    }
    pub fn io(path: impl AsRef<Path>, err: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            err,
        }
    }
    /// The process exit status this error maps to (CONTRACT.md: 2 bad usage/input, 1 other).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::BadInput { .. } | Error::BadUsage { .. } | Error::WouldOverwrite { .. } => 2,
            Error::Io { err, .. } if err.kind() == std::io::ErrorKind::NotFound => 2,
            _ => 1,
        }
    }
}
