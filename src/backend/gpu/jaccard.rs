//! The GO-graph builder: `jaccard_candidates_u32` over tiles of targets (counter rows and
//! candidate slots within [`GpuDevice::tile_bytes`]`(4)`: a quarter of the free memory on CUDA,
//! 64 MiB under the binding limit on wgpu), exact top-(k+1) on the host.

use crate::backend::device::GpuDevice;
use crate::backend::gpu_plan::MAX_GRID_DIM;
use crate::backend::jaccard_plan::{batch_of, check_targets, collect_tile, plan_tiles, JaccardInputs};
use crate::backend::source::{JaccardParams, JACCARD_CANDIDATES};
use crate::error::{Error, Result};
use crate::graph::go_build::{GoBuildConfig, GoIndex, JaccardTopK, TargetBatch};
use std::ops::Range;
use std::sync::Mutex;

/// The uploaded index of one build.
struct Uploaded<B> {
    inputs: JaccardInputs,
    genes: B,
    terms: B,
    need: B,
    /// Counter rows (zero between launches: the kernel resets what it reads).
    counts: B,
    rows: usize,
    budget: u64,
}

/// [`JaccardTopK`] on a GPU device.
pub struct GpuJaccard<'a, D: GpuDevice> {
    dev: &'a D,
    state: Mutex<Option<Uploaded<D::Buf>>>,
}

impl<'a, D: GpuDevice> GpuJaccard<'a, D> {
    /// A builder on `dev` (uploads on first use).
    pub fn new(dev: &'a D) -> Self {
        GpuJaccard { dev, state: Mutex::new(None) }
    }

    fn upload(&self, index: &GoIndex, cfg: &GoBuildConfig) -> Result<Uploaded<D::Buf>> {
        let inputs = JaccardInputs::new(index, cfg)?;
        let budget = self.dev.tile_bytes(4);
        let n = (index.n_genes() as u64).max(1);
        let rows = (budget / (4 * n)).min(MAX_GRID_DIM as u64 * 64) as usize;
        if rows == 0 {
            return Err(Error::OutOfMemory { backend: self.dev.name(), bytes: 4 * n, what: format!("one GO counter row (over the {budget}-byte tile budget)") });
        }
        Ok(Uploaded {
            genes: self.dev.upload("GO gene CSR", &inputs.genes)?,
            terms: self.dev.upload("GO term postings", &inputs.terms)?,
            need: self.dev.upload("Jaccard threshold table", &inputs.need)?,
            counts: self.dev.zeros("GO intersection counters", rows * n as usize)?,
            rows,
            budget,
            inputs,
        })
    }
}

impl<D: GpuDevice> JaccardTopK for GpuJaccard<'_, D> {
    fn name(&self) -> &'static str {
        self.dev.name()
    }

    fn top_for_targets(&self, index: &GoIndex, targets: Range<u32>, cfg: &GoBuildConfig) -> Result<TargetBatch> {
        check_targets(index, &targets)?;
        let mut guard = self.state.lock().map_err(|_| Error::Backend { backend: self.dev.name(), msg: "jaccard state poisoned".into() })?;
        let up: &Uploaded<D::Buf> = match &mut *guard {
            Some(u) if u.inputs.matches(index, cfg) => u,
            slot => {
                *slot = None; // free the previous build's buffers first
                slot.insert(self.upload(index, cfg)?)
            }
        };
        let keep = cfg.top_k.saturating_add(1);
        let name = self.dev.name();
        let mut parts = Vec::new();
        for tile in plan_tiles(index, targets, up.rows, up.budget / 8, name)? {
            let n_t = tile.targets.len();
            let out_off = self.dev.upload("GO candidate offsets", &tile.out_off)?;
            let n_out = self.dev.zeros("GO candidate counts", n_t)?;
            let out = self.dev.zeros("GO candidate pairs", 2 * tile.slots())?;
            let p = JaccardParams { first_target: tile.targets.start, n_targets: n_t as u32, n_genes: up.inputs.n_genes, n_terms: up.inputs.n_terms };
            self.dev.launch(&JACCARD_CANDIDATES, &[&up.genes, &up.terms, &up.need, &out_off, &up.counts, &n_out, &out], &p, n_t as u64)?;
            let mut got = self.dev.download_many::<u32>("GO candidates", &[(&n_out, n_t), (&out, 2 * tile.slots())])?;
            let pairs = got.pop().expect("pairs");
            let counts = got.pop().expect("counts");
            parts.push(collect_tile(index, &tile, &counts, &pairs, keep, name)?);
        }
        Ok(batch_of(parts))
    }
}
