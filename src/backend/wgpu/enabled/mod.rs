//! The wgpu backend: [`WgpuCtx`] (the [`GpuDevice`](crate::backend::device::GpuDevice) of the
//! best adapter, WGSL kernels from `kernels/*.wgsl`; lavapipe in CI) under the generic
//! [`GpuBackend`].

mod ctx;

pub use ctx::{list_adapters, Ctx as WgpuCtx};

use crate::backend::gpu::GpuBackend;
use crate::backend::Backend;
use crate::error::Result;

/// The wgpu selection backend.
pub type WgpuBackend = GpuBackend<WgpuCtx>;

/// Opens the best adapter as a backend; software adapters (lavapipe) only with `allow_software`.
pub fn probe(allow_software: bool) -> Result<Box<dyn Backend>> {
    Ok(Box::new(WgpuBackend::open(allow_software)?))
}

impl GpuBackend<WgpuCtx> {
    /// Opens the best adapter; software adapters (lavapipe) only with `allow_software`.
    pub fn open(allow_software: bool) -> Result<Self> {
        Ok(GpuBackend::new(WgpuCtx::open(allow_software)?))
    }

    /// Like [`GpuBackend::open`], but with storage bindings capped at `max_binding_bytes` (at
    /// most the adapter's limit), so that tests exercise the tiled paths on small inputs.
    pub fn open_with_binding_limit(allow_software: bool, max_binding_bytes: u64) -> Result<Self> {
        Ok(GpuBackend::new(WgpuCtx::open_with_binding_limit(allow_software, max_binding_bytes)?))
    }
}
