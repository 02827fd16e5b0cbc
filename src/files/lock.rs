//! Run-folder locks: a process writing into a run folder holds an exclusive lock on
//! `FOLDER/.graphreach.lock` (an OS file lock, so it is released when the process ends, however it
//! ends); a second writer gets [`Error::Busy`] naming the folder and the holder's pid. The lock file
//! is removed when the lock is released, so a finished run leaves only its own files.
//!
//! [`RunLock::acquire_named`] and [`RunLock::wait_named`] lock another file name in a folder (a
//! study unit's `.lock`, a shared cache's lock) the same way, recording `pid N host H`.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside a run folder.
pub const LOCK_NAME: &str = ".graphreach.lock";

/// An exclusive lock on a run folder, released (and its file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    file: Option<File>,
    path: PathBuf,
    dir: PathBuf,
}

/// Whether the open file is still the one at `path` (the previous holder may have removed it
/// between our open and our lock).
fn still_linked(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// This machine's host name (for lock messages), or `unknown`.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The holder as a lock file records it: a bare pid (run folders) or `pid N host H`.
fn holder_of(text: &str) -> String {
    let t = text.trim();
    if let Ok(p) = t.parse::<u32>() {
        format!("pid {p}")
    } else if t.starts_with("pid ") && t.len() < 300 {
        t.to_string()
    } else {
        "pid unknown".to_string()
    }
}

impl RunLock {
    /// Locks the existing folder `dir`, or fails at once with [`Error::Busy`] if another process
    /// (or another run in this one) holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        Self::lock_file(dir, LOCK_NAME, None, false, false)
    }

    /// Locks `dir/name` (creating `dir`), or fails at once with [`Error::Busy`] whose `unit` is
    /// `unit` (a study unit's id: exit code 75). The file records `pid N host H`.
    pub fn acquire_named(dir: &Path, name: &str, unit: Option<&str>) -> Result<RunLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        Self::lock_file(dir, name, unit, false, true)
    }

    /// Waits until `dir/name` can be locked (creating `dir`), then locks it (a lock held for a
    /// short write, such as a cache shared by concurrent units).
    pub fn wait_named(dir: &Path, name: &str) -> Result<RunLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        Self::lock_file(dir, name, None, true, true)
    }

    fn lock_file(dir: &Path, name: &str, unit: Option<&str>, wait: bool, with_host: bool) -> Result<RunLock> {
        let path = dir.join(name);
        for _ in 0..16 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::write(dir, format!("cannot create its lock file {name}: {e}")))?;
            let locked = if wait { file.lock().map_err(TryLockError::Error) } else { file.try_lock() };
            match locked {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let holder = holder_of(&std::fs::read_to_string(&path).unwrap_or_default());
                    return Err(Error::Busy { dir: dir.to_path_buf(), holder, unit: unit.map(str::to_string) });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::write(dir, format!("cannot lock {name} (does this file system support locks?): {e}")));
                }
            }
            if !still_linked(&file, &path) {
                continue;
            }
            let mut lock = RunLock { file: Some(file), path, dir: dir.to_path_buf() };
            lock.record_pid(with_host);
            return Ok(lock);
        }
        Err(Error::Busy { dir: dir.to_path_buf(), holder: "the lock file keeps changing".into(), unit: unit.map(str::to_string) })
    }

    /// Writes this process's id (and host) into the lock file (best effort: the lock itself is
    /// what counts).
    fn record_pid(&mut self, with_host: bool) {
        let text = if with_host { format!("pid {} host {}\n", std::process::id(), host()) } else { format!("{}\n", std::process::id()) };
        if let Some(f) = self.file.as_mut() {
            let _ = f.set_len(0).and_then(|_| f.write_all(text.as_bytes())).and_then(|_| f.flush());
        }
    }

    /// The locked folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, then close (which unlocks): a process that
        // opened the old file meanwhile sees it unlinked and retries on a fresh one.
        let _ = std::fs::remove_file(&self.path);
        self.file.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("graphreach-lock-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder_pid_and_released_on_drop() {
        let d = dir("twice");
        let first = RunLock::acquire(&d).unwrap();
        assert_eq!(first.dir(), d.as_path());
        let e = RunLock::acquire(&d).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Busy { .. }), "{msg}");
        assert!(msg.contains(&d.display().to_string()) && msg.contains(&format!("pid {}", std::process::id())), "{msg}");
        drop(first);
        assert!(!d.join(LOCK_NAME).exists(), "the lock file is removed on release");
        let again = RunLock::acquire(&d).unwrap();
        drop(again);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_named_unit_lock_is_refused_with_exit_75_and_pid_and_host() {
        let d = dir("named").join("units").join("u1");
        let first = RunLock::acquire_named(&d, ".lock", Some("u1")).unwrap();
        let text = std::fs::read_to_string(d.join(".lock")).unwrap();
        assert!(text.starts_with(&format!("pid {} host ", std::process::id())), "{text}");
        let e = RunLock::acquire_named(&d, ".lock", Some("u1")).unwrap_err();
        assert_eq!(e.exit_code(), 75);
        let msg = e.to_string();
        assert!(msg.contains("unit u1") && msg.contains(&format!("pid {} host", std::process::id())), "{msg}");
        let plain = RunLock::acquire_named(&d, ".lock", None).unwrap_err();
        assert_eq!(plain.exit_code(), 2, "only a unit lock exits 75");
        drop(first);
        assert!(!d.join(".lock").exists());
        drop(RunLock::wait_named(&d, ".lock").unwrap());
        std::fs::remove_dir_all(d.parent().unwrap().parent().unwrap()).ok();
    }

    #[test]
    fn a_stale_lock_file_of_a_dead_process_does_not_block() {
        let d = dir("stale");
        std::fs::write(d.join(LOCK_NAME), "999999\n").unwrap();
        let l = RunLock::acquire(&d).unwrap();
        assert_eq!(std::fs::read_to_string(d.join(LOCK_NAME)).unwrap().trim(), std::process::id().to_string());
        drop(l);
        std::fs::remove_dir_all(&d).ok();
    }
}
