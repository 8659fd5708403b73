//! Where outputs go, and how they get there: output folders locked against a second sweeplab
//! writing into them at the same time, temporary files with unpredictable names created
//! exclusively beside their destination (never through a planted symbolic link), and the
//! refusal to write through a link where an output goes.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file an output folder holds while sweeplab writes into it, with the process id
/// of the run holding it. It is removed when the run ends.
pub const LOCK_FILE: &str = ".sweeplab.lock";

/// An output folder locked for this run: no other sweeplab writes into it until this is
/// dropped. Created by [`lock_dir`]. Dropping it removes the lock file, and the folder too
/// when this run created it and left nothing in it (a run that failed on its inputs).
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    lock: Option<File>,
    created: bool,
}

impl OutputDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // unlinked while still locked: a run that opened the old file finds it gone and
        // retries on a new one (see `lock_dir`)
        let Some(lock) = self.lock.take() else {
            return; // not ours: another run holds it
        };
        let _ = std::fs::remove_file(self.path.join(LOCK_FILE));
        drop(lock);
        if self.created {
            // only succeeds on an empty folder
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}
/// Refuses a symbolic link where an output is about to be written: sweeplab writes only
/// plain files inside its output folder, never where a link points.
pub fn refuse_link(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::bad_input(
            path,
            "is a symbolic link where sweeplab writes an output; it does not write through links: remove the link or choose another --out",
        )),
        _ => Ok(()),
    }
}

/// Creates `dir` if needed and locks it for this run. A folder another sweeplab is writing
/// into right now is refused (exit 1) with that run's process id; nothing is touched.
pub fn lock_dir(dir: &Path) -> Result<OutputDir> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::bad_input(
            dir,
            "exists and is not a folder; choose another --out",
        ));
    }
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let mut out = OutputDir {
        path: dir.to_path_buf(),
        lock: None,
        created,
    };
    // a holder removes the file before it unlocks: whoever locks a file that is no longer
    // the one at `path` lost that race and tries again
    for _ in 0..100 {
        refuse_link(&path)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(dir, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let who = match pid.trim().parse::<u32>() {
                    Ok(p) => format!("another sweeplab (process {p})"),
                    Err(_) => "another sweeplab".to_string(),
                };
                return Err(Error::Busy {
                    path: dir.to_path_buf(),
                    msg: format!(
                        "{who} is writing into this folder right now; wait for it to finish or choose another --out"
                    ),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        if !same_file(&file, &path) {
            continue;
        }
        // the pid is only for the message above: a failure to write it changes nothing
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()));
        out.lock = Some(file);
        return Ok(out);
    }
    Err(Error::Busy {
        path: dir.to_path_buf(),
        msg: "other sweeplab runs keep taking this folder; choose another --out".into(),
    })
}

/// Whether the open `file` is still the file at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// A temporary file beside `path` with an unpredictable name (`.NAME.XXXXXX.partial`),
/// created exclusively: it can be neither guessed nor planted in advance as a link. It is
/// removed if dropped before [`persist`].
pub fn temp_file_for(path: &Path) -> Result<tempfile::NamedTempFile> {
    refuse_link(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".partial");
    // the finished file gets the permissions any new file gets (0666 less the umask), not
    // the temporary file's private 0600
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir).map_err(|e| Error::io(path, e))
}

/// Renames a finished temporary file over `path` (a rename replaces a link; it never writes
/// through one). On failure the temporary file is removed.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    refuse_link(path)?;
    tmp.persist(path)
        .map(|_| ())
        .map_err(|e| Error::io(path, e.error))
}

/// Creates a new file at `path` for streaming (a capture), exclusively: an existing regular
/// file there is removed first (the caller has checked it may be), a link is refused.
pub fn create_new(path: &Path) -> Result<File> {
    refuse_link(path)?;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Rewrites `path` in place, when there is no room for a temporary copy (a full disk): the
/// file keeps its blocks. Never through a link.
pub fn rewrite_in_place(path: &Path, bytes: &[u8]) -> Result<()> {
    refuse_link(path)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.set_len(bytes.len() as u64))
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused_until_the_first_is_dropped() {
        let t = tempfile::tempdir().unwrap();
        let first = lock_dir(t.path()).unwrap();
        let e = lock_dir(t.path()).unwrap_err();
        assert!(matches!(e, Error::Busy { .. }), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        assert_eq!(e.exit_code(), 1);
        // the refused run leaves the holder's lock alone
        assert!(t.path().join(LOCK_FILE).exists());
        assert!(matches!(lock_dir(t.path()), Err(Error::Busy { .. })));
        drop(first);
        let again = lock_dir(t.path()).unwrap();
        assert!(t.path().join(LOCK_FILE).exists());
        drop(again);
        // nothing is left behind: no lock file, and a folder the run created and left empty
        // is removed
        assert!(!t.path().join(LOCK_FILE).exists());
        let fresh = t.path().join("new");
        drop(lock_dir(&fresh).unwrap());
        assert!(!fresh.exists());
        let kept = t.path().join("kept");
        let d = lock_dir(&kept).unwrap();
        std::fs::write(d.join("analysis.json"), "{}").unwrap();
        drop(d);
        assert!(kept.join("analysis.json").exists());
        assert!(!kept.join(LOCK_FILE).exists());
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_never_written_through_links() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        let out = t.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let link = out.join("analysis.json");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let e = super::super::write_atomic(&link, b"new").unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let e = create_new(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // a dangling link too
        let dangling = out.join("capture.wav");
        std::os::unix::fs::symlink(t.path().join("nowhere.wav"), &dangling).unwrap();
        assert!(create_new(&dangling).is_err());
        assert!(!t.path().join("nowhere.wav").exists());
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        // temporary names are not predictable: two differ, and neither is the old fixed name
        let a = temp_file_for(&out.join("x.json")).unwrap();
        let b = temp_file_for(&out.join("x.json")).unwrap();
        assert_ne!(a.path(), b.path());
        assert_ne!(a.path(), out.join(".x.json.partial"));
    }
}
