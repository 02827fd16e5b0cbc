//! Writing results: stdout or a file that is never overwritten without `--force`.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a command writes its result.
#[derive(Clone, Debug)]
pub enum OutputTarget {
    /// Standard output.
    Stdout,
    /// A file; `force` allows replacing an existing one.
    File {
        /// The path.
        path: PathBuf,
        /// Overwrite if it exists.
        force: bool,
    },
}

impl OutputTarget {
    /// From `--out` / `--force`.
    pub fn new(out: Option<&Path>, force: bool) -> Self {
        match out {
            Some(p) if p != Path::new("-") => OutputTarget::File { path: p.to_path_buf(), force },
            _ => OutputTarget::Stdout,
        }
    }

    /// Fails early if the target exists and may not be overwritten.
    pub fn check(&self) -> Result<()> {
        if let OutputTarget::File { path, force: false } = self {
            if path.exists() {
                return Err(Error::WouldOverwrite(path.clone()));
            }
        }
        Ok(())
    }
}

/// Writes `text` to the target (atomically for files: a temporary file is renamed into place).
pub fn write_output(target: &OutputTarget, text: &str) -> Result<()> {
    match target {
        OutputTarget::Stdout => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::io("<stdout>", e)),
            }
        }
        OutputTarget::File { path, .. } => {
            target.check()?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            let tmp = path.with_extension("tmp-graphreach");
            std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
        }
    }
}

/// Streams into `path` atomically: `fill` writes a temporary file next to it, which is renamed
/// into place only on success. Refuses to replace an existing file unless `force`.
pub fn write_file_with(
    path: &Path,
    force: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    if !force && path.exists() {
        return Err(Error::WouldOverwrite(path.to_path_buf()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp-graphreach");
    let tmp = path.with_file_name(name);
    let result = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
