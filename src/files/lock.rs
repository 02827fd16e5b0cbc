//! Run-folder locks: a process writing into a run folder holds an exclusive lock on
//! `FOLDER/.graphreach.lock` (an OS file lock, so it is released when the process ends, however it
//! ends); a second writer gets [`Error::Busy`] naming the folder and the holder's pid. The lock file
//! is removed when the lock is released, so a finished run leaves only its own files.

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

impl RunLock {
    /// Locks the existing folder `dir`, or fails at once with [`Error::Busy`] if another process
    /// (or another run in this one) holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let path = dir.join(LOCK_NAME);
        for _ in 0..16 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::write(dir, format!("cannot create its lock file {LOCK_NAME}: {e}")))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let pid = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                    let holder = pid.map_or("pid unknown".to_string(), |p| format!("pid {p}"));
                    return Err(Error::Busy { dir: dir.to_path_buf(), holder });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::write(dir, format!("cannot lock {LOCK_NAME} (does this file system support locks?): {e}")));
                }
            }
            if !still_linked(&file, &path) {
                continue;
            }
            let mut lock = RunLock { file: Some(file), path, dir: dir.to_path_buf() };
            lock.record_pid();
            return Ok(lock);
        }
        Err(Error::Busy { dir: dir.to_path_buf(), holder: "the lock file keeps changing".into() })
    }

    /// Writes this process's id into the lock file (best effort: the lock itself is what counts).
    fn record_pid(&mut self) {
        if let Some(f) = self.file.as_mut() {
            let _ = f.set_len(0).and_then(|_| f.write_all(format!("{}\n", std::process::id()).as_bytes())).and_then(|_| f.flush());
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
    fn a_stale_lock_file_of_a_dead_process_does_not_block() {
        let d = dir("stale");
        std::fs::write(d.join(LOCK_NAME), "999999\n").unwrap();
        let l = RunLock::acquire(&d).unwrap();
        assert_eq!(std::fs::read_to_string(d.join(LOCK_NAME)).unwrap().trim(), std::process::id().to_string());
        drop(l);
        std::fs::remove_dir_all(&d).ok();
    }
}
