//! The GPU selection backend, written once over [`GpuDevice`]: L-hop balls ([`reach`]), the
//! coverage oracle ([`coverage`]), batched spectral norms ([`spectral`]) and the GO-graph
//! builder's candidate pairs ([`jaccard`]). `GpuBackend<CudaCtx>` and `GpuBackend<WgpuCtx>` are
//! the CUDA and wgpu backends; host-side tiling and packing is in [`crate::backend::gpu_plan`].

pub mod coverage;
pub mod jaccard;
pub mod reach;
pub mod spectral;

use crate::backend::device::GpuDevice;
use crate::backend::{Backend, CoverageOracle, PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::go_build::JaccardTopK;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};
use std::sync::Mutex;

/// The selection kernels on a GPU device (operator uploads of MaxSpec reused between calls).
pub struct GpuBackend<D: GpuDevice> {
    dev: D,
    spectral_cache: Mutex<Option<spectral::Uploaded<D::Buf>>>,
}

impl<D: GpuDevice> GpuBackend<D> {
    /// The backend on an open device.
    pub fn new(dev: D) -> Self {
        GpuBackend { dev, spectral_cache: Mutex::new(None) }
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.dev
    }
}

impl<D: GpuDevice> Backend for GpuBackend<D> {
    fn name(&self) -> &'static str {
        self.dev.name()
    }

    fn describe(&self) -> String {
        self.dev.describe()
    }

    fn balls(&self, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
        reach::balls(&self.dev, adj, seeds, hops, layout)
    }

    fn coverage<'a>(&'a self, balls: &'a BallSet, weights: Option<&'a [u32]>) -> Result<Box<dyn CoverageOracle + 'a>> {
        Ok(Box::new(coverage::GpuCoverage::new(&self.dev, balls, weights)?))
    }

    fn spectral_norms(&self, op: &SpectralOperator, sets: &SetList, warm: &[f64], cfg: &PowerIterConfig) -> Result<Vec<SpectralNorm>> {
        spectral::norms(&self.dev, &self.spectral_cache, op, sets, warm, cfg)
    }

    fn spectral_is_exact(&self) -> bool {
        false
    }

    fn default_batch_width(&self) -> usize {
        32
    }

    fn jaccard(&self) -> Box<dyn JaccardTopK + '_> {
        Box::new(jaccard::GpuJaccard::new(&self.dev))
    }
}
