//! The CUDA backend: NVRTC-compiled kernels from `kernels/*.cu` on device 0.

mod coverage;
pub(crate) mod ctx;
mod jaccard;
mod reach;
mod spectral;

pub use ctx::check_kernels;

use crate::backend::{Backend, CoverageOracle, PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::gobuild::JaccardTopK;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};
use ctx::Ctx;
use std::sync::Mutex;

/// The CUDA backend (device 0, modules compiled once per process, operator uploads reused).
pub struct CudaBackend {
    ctx: Ctx,
    spectral_cache: Mutex<Option<spectral::Uploaded>>,
}

/// Opens CUDA device 0 as a backend, or says why it cannot (no driver, no NVRTC, no device).
pub fn probe() -> Result<Box<dyn Backend>> {
    Ok(Box::new(CudaBackend::open()?))
}

impl CudaBackend {
    /// Opens device 0 after probing for libcuda and libnvrtc.
    pub fn open() -> Result<Self> {
        Ok(CudaBackend { ctx: Ctx::open()?, spectral_cache: Mutex::new(None) })
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn balls(&self, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
        reach::balls(&self.ctx, adj, seeds, hops, layout)
    }

    fn coverage<'a>(&'a self, balls: &'a BallSet, weights: Option<&'a [u32]>) -> Result<Box<dyn CoverageOracle + 'a>> {
        Ok(Box::new(coverage::CudaCoverage::new(&self.ctx, balls, weights)?))
    }

    fn spectral_norms(&self, op: &SpectralOperator, sets: &SetList, warm: &[f64], cfg: &PowerIterConfig) -> Result<Vec<SpectralNorm>> {
        spectral::norms(&self.ctx, &self.spectral_cache, op, sets, warm, cfg)
    }

    fn spectral_is_exact(&self) -> bool {
        false
    }

    fn default_batch_width(&self) -> usize {
        32
    }

    fn jaccard(&self) -> Box<dyn JaccardTopK + '_> {
        Box::new(jaccard::CudaJaccard::new(&self.ctx))
    }
}
