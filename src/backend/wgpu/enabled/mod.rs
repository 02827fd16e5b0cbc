//! The wgpu backend: WGSL kernels from `kernels/*.wgsl` on any Vulkan adapter (lavapipe in CI).

mod coverage;
mod ctx;
mod reach;
mod spectral;

pub use ctx::list_adapters;

use crate::backend::{Backend, CoverageOracle, PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::Csr;
use crate::select::sets::{BallLayout, BallSet, SetList};
use ctx::Ctx;
use std::sync::Mutex;

/// The wgpu compute backend (one device, pipelines cached per entry, operator uploads reused).
pub struct WgpuBackend {
    ctx: Ctx,
    spectral_cache: Mutex<Option<spectral::Uploaded>>,
}

/// Opens the best adapter as a backend; software adapters (lavapipe) only with `allow_software`.
pub fn probe(allow_software: bool) -> Result<Box<dyn Backend>> {
    Ok(Box::new(WgpuBackend::open(allow_software)?))
}

impl WgpuBackend {
    /// Opens the best adapter; software adapters (lavapipe) only with `allow_software`.
    pub fn open(allow_software: bool) -> Result<Self> {
        Ok(WgpuBackend { ctx: Ctx::open(allow_software)?, spectral_cache: Mutex::new(None) })
    }
}

impl Backend for WgpuBackend {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn balls(&self, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
        reach::balls(&self.ctx, adj, seeds, hops, layout)
    }

    fn coverage<'a>(&'a self, balls: &'a BallSet, weights: Option<&'a [u32]>) -> Result<Box<dyn CoverageOracle + 'a>> {
        Ok(Box::new(coverage::WgpuCoverage::new(&self.ctx, balls, weights)?))
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
}
