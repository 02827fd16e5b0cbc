//! Stand-ins used when graphreach is built without the `cuda` feature.

use super::KernelCheck;
use crate::backend::Backend;
use crate::error::{Error, Result};

fn off() -> Error {
    Error::Backend { backend: "cuda", msg: "not compiled in (rebuild with --features cuda)".into() }
}

/// Always fails: this build has no CUDA support.
pub fn probe() -> Result<Box<dyn Backend>> {
    Err(off())
}

/// Always fails: this build has no CUDA support.
pub fn check_kernels(_arch: &str) -> Result<Vec<KernelCheck>> {
    Err(off())
}
