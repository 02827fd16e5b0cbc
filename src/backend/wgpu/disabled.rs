//! Stand-ins used when graphreach is built without the `wgpu` feature.

use crate::backend::Backend;
use crate::error::{Error, Result};

/// The error every stand-in returns: this build has no wgpu support.
pub fn not_compiled() -> Error {
    Error::Backend { backend: "wgpu", msg: "not compiled in (rebuild with --features wgpu)".into() }
}

/// Always fails: this build has no wgpu support.
pub fn probe(_allow_software: bool) -> Result<Box<dyn Backend>> {
    Err(not_compiled())
}

/// Adapters wgpu would see: none in this build.
pub fn list_adapters() -> Vec<String> {
    Vec::new()
}
