//! The CUDA backend: [`CudaCtx`] (the [`GpuDevice`](crate::backend::device::GpuDevice) of device
//! 0, NVRTC-compiled kernels from `kernels/*.cu`, cuBLAS GEMMs) under the generic
//! [`GpuBackend`].

mod ctx;

pub use ctx::{check_kernels, Ctx as CudaCtx};

use crate::backend::gpu::GpuBackend;
use crate::backend::Backend;
use crate::error::Result;

/// The CUDA selection backend.
pub type CudaBackend = GpuBackend<CudaCtx>;

/// Opens CUDA device 0 as a backend, or says why it cannot (no driver, no NVRTC, no device).
pub fn probe() -> Result<Box<dyn Backend>> {
    Ok(Box::new(CudaBackend::open()?))
}

impl GpuBackend<CudaCtx> {
    /// Opens device 0 after probing for libcuda and libnvrtc.
    pub fn open() -> Result<Self> {
        Ok(GpuBackend::new(CudaCtx::open()?))
    }
}
