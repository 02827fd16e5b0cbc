//! The wgpu backend: WGSL kernels from `kernels/*.wgsl` on any Vulkan adapter (lavapipe in CI).

mod coverage;
pub(crate) mod ctx;
mod jaccard;
mod reach;
mod spectral;

pub use ctx::list_adapters;

use crate::backend::{Backend, CoverageOracle, PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::gobuild::JaccardTopK;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};
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

    /// Like [`WgpuBackend::open`], but with storage bindings capped at `max_binding_bytes` (at most
    /// the adapter's limit), so that tests exercise the tiled paths on small inputs.
    pub fn open_with_binding_limit(allow_software: bool, max_binding_bytes: u64) -> Result<Self> {
        let mut b = Self::open(allow_software)?;
        b.ctx.max_binding = b.ctx.max_binding.min(max_binding_bytes.max(256));
        Ok(b)
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

    fn jaccard(&self) -> Box<dyn JaccardTopK + '_> {
        Box::new(jaccard::WgpuJaccard::new(&self.ctx))
    }
}
