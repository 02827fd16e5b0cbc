//! The study's file writes and locks, in one small module so that they can move onto the
//! project's shared output policy and run-folder locks (`files::output`, `files::lock`) in a few
//! lines once those exist.
//!
//! * [`write_atomic`]: a hidden temporary file in the same folder, flushed to disk, renamed into
//!   place; a crash leaves the old file or nothing, never half a file. A symbolic link, a
//!   directory or a device at the destination is never replaced.
//! * [`Lock`]: an OS file lock (`File::try_lock` / `File::lock`), released when the process ends
//!   however it ends; the holder's pid and host are written into the file for messages. The lock
//!   guards against double runs on one machine; on NFS such locks are unreliable, and a workflow
//!   engine's scheduling is what keeps units apart there.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

/// Refuses destinations that must never be replaced: links, directories, devices, pipes.
fn check_destination(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(Error::invalid(format!(
            "cannot write {}: it exists and is not a regular file (a link, folder or device is never replaced)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename (creating parent folders).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    check_destination(path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp-graphreach-{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], ""));
    let tmp = dir.join(name);
    let res = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// [`write_atomic`] of text.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, text.as_bytes())
}

/// Reads a text file, stripping a UTF-8 byte-order mark.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::parse(path.display().to_string(), 0, format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// An exclusive lock on a lock file, released on drop (the file itself is left in place: removing
/// it would let a process that opened the old file and one that creates a new file both "hold" it).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(|e| Error::io(path, e))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

impl Lock {
    /// Takes the lock on `path` or fails at once with [`Error::Locked`] naming `what` and the holder.
    pub fn try_acquire(path: &Path, what: &str) -> Result<Lock> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                return Err(Error::Locked {
                    what: what.to_string(),
                    lock: path.to_path_buf(),
                    holder: holder.unwrap_or_else(|| "an unknown process".into()),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::invalid(format!("cannot lock {} (does this file system support locks?): {e}", path.display())));
            }
        }
        Ok(Lock::record(file))
    }

    /// Waits until the lock on `path` is free, then takes it.
    pub fn acquire_blocking(path: &Path) -> Result<Lock> {
        let file = open_lock_file(path)?;
        file.lock().map_err(|e| Error::invalid(format!("cannot lock {} (does this file system support locks?): {e}", path.display())))?;
        Ok(Lock::record(file))
    }

    fn record(mut file: File) -> Lock {
        let _ = file.set_len(0).and_then(|_| file.write_all(format!("pid {} host {}\n", std::process::id(), host()).as_bytes()));
        Lock { _file: file }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("graphreach-study-fsio-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn atomic_write_replaces_files_but_never_links() {
        let d = tmp("write");
        let p = d.join("a.txt");
        write_text(&p, "one").unwrap();
        write_text(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "no temporary file left");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&p, d.join("link")).unwrap();
            assert!(write_text(&d.join("link"), "x").unwrap_err().to_string().contains("not a regular file"));
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        }
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_held_lock_is_refused_with_its_holder_and_freed_on_drop() {
        let d = tmp("lock");
        let p = d.join(".lock");
        let first = Lock::try_acquire(&p, "unit X").unwrap();
        let e = Lock::try_acquire(&p, "unit X").unwrap_err();
        assert_eq!(e.exit_code(), 75);
        let msg = e.to_string();
        assert!(msg.contains("unit X") && msg.contains(&format!("pid {}", std::process::id())), "{msg}");
        drop(first);
        let _again = Lock::try_acquire(&p, "unit X").unwrap();
        std::fs::remove_dir_all(&d).ok();
    }
}
