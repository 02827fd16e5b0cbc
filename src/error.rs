//! Library error type. Every variant carries enough context (file, line, field)
//! for `main` to print a message a user can act on; `main` maps them to exit codes.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in graphreach.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file exists but holds no usable data.
    #[error("{path}: the file is empty{hint}")]
    EmptyFile {
        /// The file.
        path: String,
        /// Extra advice, starting with "; " when present.
        hint: String,
    },
    /// A line of a text input could not be parsed (`path:line: msg`; `path: msg` when the
    /// problem is the input as a whole, line 0).
    #[error("{path}{}: {msg}", line_suffix(*.line))]
    Parse {
        /// The file (or `builtin:NAME`).
        path: String,
        /// 1-based line number; 0 when no single line is at fault (e.g. corrupt gzip data).
        line: usize,
        /// What was wrong and how to fix it.
        msg: String,
    },
    /// Genes that are not nodes of the graph and could not be resolved.
    #[error("{count} gene(s) from {path} are not nodes of graph {graph}: {shown}. Fix the names, use a graph that contains them (e.g. --graph builtin:go-human), or pass --skip-missing to drop them")]
    UnknownGenes {
        /// The list the genes came from.
        path: String,
        /// The graph.
        graph: String,
        /// How many genes are unknown.
        count: usize,
        /// Them, as [`preview_list`] shows them.
        shown: String,
    },
    /// A user-supplied value is invalid (budget, hops, fraction, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// An output file exists and `--force` was not given.
    #[error("{0} exists; refusing to overwrite it (pass --force to replace it)")]
    WouldOverwrite(PathBuf),
    /// An HDF5 / AnnData file is malformed or lacks a field.
    #[error("{path}: {msg}")]
    H5ad {
        /// The file.
        path: String,
        /// What is wrong, naming the field.
        msg: String,
    },
    /// A compute backend failed or is unavailable.
    #[error("{backend} backend: {msg}")]
    Backend {
        /// Backend name (cpu, cuda, wgpu).
        backend: &'static str,
        /// What happened.
        msg: String,
    },
    /// A GPU allocation did not fit.
    #[error("{backend} backend: out of device memory allocating {bytes} bytes for {what}; use a smaller --batch-width or --backend cpu")]
    OutOfMemory {
        /// Backend name.
        backend: &'static str,
        /// Bytes asked for.
        bytes: u64,
        /// What the buffer was for.
        what: String,
    },
    /// A JSON (de)serialisation failure.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The run was interrupted by the user (Ctrl-C); state was saved where possible.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

/// `:LINE` for a line number, nothing for 0 (the input as a whole).
fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// Items a [`preview_list`] shows before counting the rest.
pub const PREVIEW_ITEMS: usize = 10;

/// The one wording of every "these names are wrong" list in messages: the first
/// [`PREVIEW_ITEMS`] items comma separated, then ", ... and N more" when there are more.
pub fn preview_list<T: std::fmt::Display>(items: &[T]) -> String {
    let mut s = items.iter().take(PREVIEW_ITEMS).map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
    if items.len() > PREVIEW_ITEMS {
        s.push_str(&format!(", ... and {} more", items.len() - PREVIEW_ITEMS));
    }
    s
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }

    /// Shorthand for [`Error::Parse`].
    pub fn parse(path: impl Into<String>, line: usize, msg: impl Into<String>) -> Self {
        Error::Parse { path: path.into(), line, msg: msg.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// The process exit code for this error: 2 for bad input, 3 for backend failures, 130 for interrupts.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Backend { .. } | Error::OutOfMemory { .. } => 3,
            Error::Interrupted(_) => 130,
            _ => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_list_shows_ten_then_counts_the_rest() {
        assert_eq!(preview_list::<&str>(&[]), "");
        assert_eq!(preview_list(&["A", "B"]), "A, B");
        let ten: Vec<String> = (0..10).map(|i| format!("G{i}")).collect();
        assert_eq!(preview_list(&ten), "G0, G1, G2, G3, G4, G5, G6, G7, G8, G9");
        let twelve: Vec<u32> = (0..12).collect();
        assert_eq!(preview_list(&twelve), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... and 2 more");
    }
}
