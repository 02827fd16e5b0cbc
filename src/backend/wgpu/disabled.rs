//! Stand-ins used when graphreach is built without the `wgpu` feature.

use crate::backend::Backend;
use crate::error::{Error, Result};

/// Always fails: this build has no wgpu support.
pub fn probe(_allow_software: bool) -> Result<Box<dyn Backend>> {
    Err(Error::Backend { backend: "wgpu", msg: "not compiled in (rebuild with --features wgpu)".into() })
}

/// Adapters wgpu would see: none in this build.
pub fn list_adapters() -> Vec<String> {
    Vec::new()
}
