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
    /// An output cannot be written: its destination is unusable (a directory, a device, a link,
    /// a read-only folder) or writing failed. Names the user's path, never a temporary file.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The user's path (file or folder).
        path: PathBuf,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A run folder already holds the files of an earlier run.
    #[error("{dir} already holds the files of an earlier run ({files}); {hint}")]
    RunExists {
        /// The folder.
        dir: PathBuf,
        /// Some of those files, as [`preview_list`] shows them.
        files: String,
        /// What to pass to replace or continue them.
        hint: String,
    },
    /// A run folder (or one unit of a study, `unit` = its id) is locked by another process
    /// writing into it. Exit code 2, or 75 (EX_TEMPFAIL: try again later) for a study unit, the
    /// code a workflow engine reads as "busy, not failed".
    #[error("{}", busy_message(.dir, .holder, .unit.as_deref()))]
    Busy {
        /// The folder.
        dir: PathBuf,
        /// Who holds it (`pid N`, `pid N host H`, or `pid unknown`).
        holder: String,
        /// The study unit whose folder this is, if it is one.
        unit: Option<String>,
    },
    /// The input was valid but the computation cannot give a trustworthy result (an iteration
    /// that did not converge, non-finite model outputs, a diverged training run).
    #[error("{0}")]
    Computation(String),
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
    /// A call into a GPU API (CUDA driver, NVRTC, cuBLAS, wgpu) failed; the API's error is the source.
    #[error("{backend} backend: {what}: {source}")]
    Device {
        /// Backend name (cuda, wgpu).
        backend: &'static str,
        /// What graphreach was doing (which buffer, kernel or file).
        what: String,
        /// The API's error.
        #[source]
        source: DeviceError,
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

/// The message of [`Error::Busy`].
fn busy_message(dir: &std::path::Path, holder: &str, unit: Option<&str>) -> String {
    match unit {
        Some(id) => format!("unit {id} is being run by another process ({holder} holds the lock in {}); wait for it to finish, then run again", dir.display()),
        None => format!("{} is in use by another graphreach run ({holder}); wait for it to finish or choose another output folder", dir.display()),
    }
}

/// The error of the GPU API behind an [`Error::Device`] (only the compiled-in APIs have variants).
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A CUDA driver call failed.
    #[cfg(feature = "cuda")]
    #[error("{0}")]
    CudaDriver(#[from] cudarc::driver::DriverError),
    /// NVRTC could not compile a kernel (the compile log is in the message of the [`Error::Device`]).
    #[cfg(feature = "cuda")]
    #[error("{}", nvrtc_summary(.0))]
    Nvrtc(#[from] cudarc::nvrtc::CompileError),
    /// A cuBLAS call failed.
    #[cfg(feature = "cuda")]
    #[error("{0}")]
    Cublas(#[from] cudarc::cublas::result::CublasError),
    /// wgpu reported a validation, out-of-memory or internal error.
    #[cfg(feature = "wgpu")]
    #[error("{0}")]
    Wgpu(#[from] wgpu::Error),
    /// wgpu could not open the adapter's device.
    #[cfg(feature = "wgpu")]
    #[error("{0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),
    /// Waiting for the wgpu device failed.
    #[cfg(feature = "wgpu")]
    #[error("{0}")]
    Poll(#[from] wgpu::PollError),
    /// Mapping a wgpu buffer for reading failed.
    #[cfg(feature = "wgpu")]
    #[error("{0}")]
    Map(#[from] wgpu::BufferAsyncError),
    /// Reading a mapped wgpu buffer failed.
    #[cfg(feature = "wgpu")]
    #[error("{0}")]
    MapRange(#[from] wgpu::MapRangeError),
}

/// The NVRTC status of a compile error, without its log (the log goes into the message).
#[cfg(feature = "cuda")]
fn nvrtc_summary(e: &cudarc::nvrtc::CompileError) -> String {
    use cudarc::nvrtc::CompileError as C;
    match e {
        C::CompileError { nvrtc, .. } => format!("{nvrtc:?}"),
        other => format!("{other:?}"),
    }
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

    /// Shorthand for [`Error::Write`].
    pub fn write(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Write { path: path.into(), reason: reason.to_string() }
    }

    /// Shorthand for [`Error::Computation`].
    pub fn computation(msg: impl Into<String>) -> Self {
        Error::Computation(msg.into())
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// The process exit code for this error (README "Exit codes and errors"): 2 for bad input
    /// (files, values, an existing output), 3 for backend failures, 4 for a computation that failed
    /// on valid input, 75 for a study unit that another process is running, 130 for interrupts.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Io { .. }
            | Error::EmptyFile { .. }
            | Error::Parse { .. }
            | Error::UnknownGenes { .. }
            | Error::InvalidInput(_)
            | Error::WouldOverwrite(_)
            | Error::H5ad { .. }
            | Error::Json { .. }
            | Error::Write { .. }
            | Error::RunExists { .. }
            | Error::Busy { unit: None, .. } => 2,
            Error::Busy { unit: Some(_), .. } => 75,
            Error::Backend { .. } | Error::Device { .. } | Error::OutOfMemory { .. } => 3,
            Error::Computation(_) => 4,
            Error::Interrupted(_) => 130,
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

    #[test]
    fn each_kind_of_failure_has_its_exit_code() {
        assert_eq!(Error::invalid("bad budget").exit_code(), 2);
        assert_eq!(Error::parse("f.txt", 3, "not a number").exit_code(), 2);
        assert_eq!(Error::WouldOverwrite("out.tsv".into()).exit_code(), 2);
        assert_eq!(Error::Backend { backend: "cuda", msg: "no device".into() }.exit_code(), 3);
        assert_eq!(Error::OutOfMemory { backend: "wgpu", bytes: 1, what: "balls".into() }.exit_code(), 3);
        assert_eq!(Error::computation("training diverged").exit_code(), 4);
        assert_eq!(Error::Interrupted("stopped".into()).exit_code(), 130);
    }
}
