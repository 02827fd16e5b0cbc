//! The one output policy of every command that writes a file.
//!
//! * `-` means standard output (and so does no `--out` where a command defaults to stdout).
//! * The destination is checked before the work starts ([`OutputTarget::check`]) and again just
//!   before the result is put in place: an existing file needs `--force`; a directory, a device,
//!   a named pipe, a socket or a symbolic link is never replaced or written through, even with
//!   `--force` (write to stdout with `--out -` and redirect it to reach a device or a pipe; pass a
//!   link's target path to write where it points); the folder must be writable.
//! * A file is written to a hidden temporary file in the same folder (`.NAME.tmp-graphreach-PID`),
//!   flushed to disk and renamed into place, so a failed or interrupted write leaves the old file
//!   (or nothing) behind, never half a file. Without `--force` the rename cannot replace a file
//!   that appeared meanwhile. Missing parent folders are created.
//! * Every message names the user's path with the verb "cannot write", never the temporary name.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The path that means standard output.
pub const STDOUT: &str = "-";

/// The marker in the names of temporary files (`.NAME.tmp-graphreach-PID`); a file whose name holds
/// it is a leftover of an interrupted write.
pub const TEMP_MARK: &str = ".tmp-graphreach-";

/// Where a command writes its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    /// Standard output.
    Stdout,
    /// A file; `force` allows replacing an existing regular file (never anything else).
    File {
        /// The path.
        path: PathBuf,
        /// Replace an existing regular file.
        force: bool,
    },
}

impl OutputTarget {
    /// From `--out` / `--force`: no path or `-` is stdout.
    pub fn new(out: Option<&Path>, force: bool) -> Self {
        match out {
            Some(p) if p != Path::new(STDOUT) => OutputTarget::File { path: p.to_path_buf(), force },
            _ => OutputTarget::Stdout,
        }
    }

    /// A required `--out PATH` (`-` is stdout).
    pub fn file(path: &Path, force: bool) -> Self {
        Self::new(Some(path), force)
    }

    /// Whether this is standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self, OutputTarget::Stdout)
    }

    /// The destination as messages name it (`stdout` or the path).
    pub fn describe(&self) -> String {
        match self {
            OutputTarget::Stdout => "stdout".into(),
            OutputTarget::File { path, .. } => path.display().to_string(),
        }
    }

    /// Checks the destination before any work: see the module documentation for the rules.
    pub fn check(&self) -> Result<()> {
        match self {
            OutputTarget::Stdout => Ok(()),
            OutputTarget::File { path, force } => check_file(path, *force),
        }
    }

    /// Writes `text` to the target.
    pub fn write_str(&self, text: &str) -> Result<()> {
        self.write_with(|w| w.write_all(text.as_bytes()))
    }

    /// Streams the result into the target: `fill` writes it (buffered); for a file, into a
    /// temporary file that is renamed into place only when `fill` succeeded.
    pub fn write_with(&self, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        match self {
            OutputTarget::Stdout => {
                let stdout = std::io::stdout();
                let mut w = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
                match fill(&mut w).and_then(|_| w.flush()) {
                    Ok(()) => Ok(()),
                    // `graphreach ... | head` closing the pipe early is not an error.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    Err(e) => Err(Error::write("stdout", e)),
                }
            }
            OutputTarget::File { path, force } => write_file(path, *force, fill),
        }
    }
}

/// Writes `text` to the target (see [`OutputTarget::write_str`]).
pub fn write_output(target: &OutputTarget, text: &str) -> Result<()> {
    target.write_str(text)
}

/// Streams into `path` (`-` = stdout) under the policy; `force` allows replacing a regular file.
pub fn write_file_with(path: &Path, force: bool, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    OutputTarget::file(path, force).write_with(fill)
}

/// Removes the temporary files that killed writers of `path` left next to it
/// (`.NAME.tmp-graphreach-PID` whose process no longer runs on this machine), so that a resumed run
/// leaves the same files as an uninterrupted one. Only where `/proc` tells which processes run
/// (Linux); elsewhere nothing is removed. A live writer's temporary file is never touched.
pub fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{}{TEMP_MARK}", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(prefix.as_str())).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Prints `text` on standard output at once (tables printed row by row); a closed pipe is not an
/// error.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::write("stdout", e)),
    }
}

/// What a non-regular file is, for messages.
fn kind_of(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_fifo() {
            return "a named pipe";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_symlink() {
        return "a symbolic link";
    }
    if ft.is_dir() {
        return "a directory";
    }
    "not a regular file"
}

/// Refuses anything at `path` that is not a regular file (directory, device, pipe, socket, link).
fn refuse_special(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    if ft.is_symlink() {
        let to = std::fs::read_link(path).map(|t| format!(" to {}", t.display())).unwrap_or_default();
        return Err(Error::write(
            path,
            format!("it is a symbolic link{to}; graphreach never replaces or writes through a link (pass the path it points to, or remove the link)"),
        ));
    }
    if ft.is_dir() {
        return Err(Error::write(path, "it is a directory; give a file name (for example DIR/NAME)"));
    }
    Err(Error::write(
        path,
        format!(
            "it is {}, not a regular file; graphreach never replaces one, even with --force (to write into it, use `--out -` and redirect stdout)",
            kind_of(&ft)
        ),
    ))
}

/// The folder a file at `path` lives in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks that the nearest existing ancestor of `dir` is a directory that can be written to
/// (`dir` itself when it exists), naming `user_path` in errors.
pub fn check_folder_writable(dir: &Path, user_path: &Path) -> Result<()> {
    let mut d = dir.to_path_buf();
    loop {
        match std::fs::metadata(&d) {
            Ok(m) if m.is_dir() => return probe_writable(&d, user_path),
            Ok(_) => return Err(Error::write(user_path, format!("{} is not a directory", d.display()))),
            Err(e) if is_missing(&e) => match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => d = p.to_path_buf(),
                _ => return Ok(()),
            },
            Err(e) => return Err(Error::write(user_path, format!("{}: {e}", d.display()))),
        }
    }
}

/// Creates and removes a probe file in `dir` (the only reliable test of writability: permissions,
/// ACLs, read-only mounts).
fn probe_writable(dir: &Path, user_path: &Path) -> Result<()> {
    let probe = dir.join(format!(".graphreach-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            let folder = if dir == Path::new(".") { "the current folder".to_string() } else { dir.display().to_string() };
            Err(Error::write(user_path, format!("{folder} is not writable ({e})")))
        }
    }
}

/// The destination check of a file output: see the module documentation.
pub fn check_file(path: &Path, force: bool) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid("--out is empty; give a file name or `-` for stdout"));
    }
    let s = path.as_os_str().to_string_lossy();
    if s.ends_with('/') || path.file_name().is_none() {
        return Err(Error::write(path, "it names a folder; give a file name (for example DIR/NAME)"));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            refuse_special(path, &m)?;
            if !force {
                return Err(Error::WouldOverwrite(path.to_path_buf()));
            }
            check_folder_writable(&parent_of(path), path)
        }
        Err(e) if is_missing(&e) => check_folder_writable(&parent_of(path), path),
        Err(e) => Err(Error::write(path, e)),
    }
}

/// Whether a lookup failed because the path does not exist (also when a file stands where one of
/// its folders should be: the folder check then names it).
pub(crate) fn is_missing(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

/// The temporary file next to `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent_of(path).join(format!(".{name}{TEMP_MARK}{}", std::process::id()))
}

fn write_file(path: &Path, force: bool, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    check_file(path, force)?;
    let dir = parent_of(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(path, format!("cannot create its folder {}: {e}", dir.display())))?;
    let tmp = temp_path(path);
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::write(path, e));
    }
    let placed = place(&tmp, path, force);
    if placed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    placed
}

/// Moves the finished temporary file to `path`, re-checking the destination first.
fn place(tmp: &Path, path: &Path, force: bool) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            refuse_special(path, &m)?;
            if !force {
                return Err(Error::WouldOverwrite(path.to_path_buf()));
            }
            std::fs::rename(tmp, path).map_err(|e| Error::write(path, e))
        }
        Err(e) if is_missing(&e) => {
            if force {
                return std::fs::rename(tmp, path).map_err(|e| Error::write(path, e));
            }
            // A hard link never replaces what may have appeared at `path` meanwhile.
            match std::fs::hard_link(tmp, path) {
                Ok(()) => {
                    let _ = std::fs::remove_file(tmp);
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::WouldOverwrite(path.to_path_buf())),
                // A file system without hard links: the check above has to do.
                Err(_) => std::fs::rename(tmp, path).map_err(|e| Error::write(path, e)),
            }
        }
        Err(e) => Err(Error::write(path, e)),
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
