//! A private `XDG_RUNTIME_DIR` for the process when the environment has none.
//!
//! Probing the wgpu backend loads the Vulkan loader and its window-system layers; on a machine
//! without `XDG_RUNTIME_DIR` (a batch node, a container, `ssh` without a login session) libwayland
//! prints `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` while being probed,
//! which reads as a failure in a run that worked. `main` calls [`ensure_runtime_dir`] before
//! anything else (while the process has one thread, so changing the environment is sound).

use std::path::{Path, PathBuf};

/// The variable.
const VAR: &str = "XDG_RUNTIME_DIR";

/// Sets `XDG_RUNTIME_DIR` to a private folder (`$TMPDIR/graphreach-runtime-UID`, mode 0700, owned
/// by this user) when it is unset or not an absolute path, as libwayland requires. Returns the
/// folder set, or `None` when the variable was fine or no safe folder could be made (then nothing
/// changes). Call it only while the process has a single thread.
pub fn ensure_runtime_dir() -> Option<PathBuf> {
    let current = std::env::var_os(VAR);
    if current.as_ref().is_some_and(|v| Path::new(v).is_absolute()) {
        return None;
    }
    let dir = private_dir()?;
    // SAFETY of the call: main runs this before any other thread exists (edition 2021: a safe fn).
    std::env::set_var(VAR, &dir);
    Some(dir)
}

#[cfg(unix)]
fn private_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // The process's user id: the owner of /proc/self (Linux); elsewhere, give up quietly.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("graphreach-runtime-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    // Trust it only if it is a real folder of ours that nobody else can enter.
    let m = std::fs::symlink_metadata(&dir).ok()?;
    (m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0).then_some(dir)
}

#[cfg(not(unix))]
fn private_dir() -> Option<PathBuf> {
    None
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_private_folder_is_ours_and_closed_to_others() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = super::private_dir().expect("a private runtime folder");
        let m = std::fs::symlink_metadata(&d).unwrap();
        assert!(m.is_dir() && m.permissions().mode() & 0o077 == 0);
        assert_eq!(m.uid(), std::fs::metadata("/proc/self").unwrap().uid());
        assert_eq!(super::private_dir(), Some(d), "the same folder on every call");
    }
}
