//! Stand-ins used when graphreach is built without the `cuda` feature.

use super::KernelCheck;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// The error every stand-in returns: this build has no CUDA support.
pub fn not_compiled() -> Error {
    Error::Backend { backend: "cuda", msg: "not compiled in (rebuild with --features cuda)".into() }
}

/// Always fails: this build has no CUDA support.
pub fn probe() -> Result<Box<dyn Backend>> {
    Err(not_compiled())
}

/// Always fails: this build has no CUDA support.
pub fn check_kernels(_arch: &str) -> Result<Vec<KernelCheck>> {
    Err(not_compiled())
}
