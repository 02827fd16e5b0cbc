//! The CUDA backend through cudarc: the driver, NVRTC and cuBLAS are loaded at run time (nothing
//! is linked), kernels from `kernels/*.cu` are compiled with NVRTC on first use and cached per
//! process.
//! `enabled/` holds it when the `cuda` feature is on; `disabled.rs` has the same functions, each
//! reporting that the feature is off.

#[cfg(feature = "cuda")]
mod enabled;
#[cfg(feature = "cuda")]
pub use enabled::*;

#[cfg(not(feature = "cuda"))]
mod disabled;
#[cfg(not(feature = "cuda"))]
pub use disabled::*;

/// The result of compiling one kernel family with NVRTC (no GPU needed).
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelCheck {
    /// Family (file stem in `kernels/`).
    pub family: &'static str,
    /// Target architecture, e.g. `compute_90`.
    pub arch: String,
    /// PTX bytes produced.
    pub ptx_bytes: usize,
}
