//! The GO-graph builder on CUDA: `jaccard_candidates_u32` over tiles of targets (counter rows and
//! candidate slots within a quarter of the free memory, at most 1 GiB each), exact top-(k+1) on
//! the host.

use super::ctx::Ctx;
use crate::backend::jaccard_plan::{batch_of, check_targets, collect_tile, plan_tiles, JaccardInputs};
use crate::backend::source::{JaccardParams, JACCARD_CANDIDATES};
use crate::error::{Error, Result};
use crate::graph::go_build::{GoBuildConfig, GoIndex, JaccardTopK, TargetBatch};
use cudarc::driver::{CudaSlice, PushKernelArg};
use std::ops::Range;
use std::sync::Mutex;

/// Largest tile buffer (counter rows, candidate slots).
const MAX_TILE_BYTES: u64 = 1 << 30;

/// The uploaded index of one build.
struct Uploaded {
    inputs: JaccardInputs,
    genes: CudaSlice<u32>,
    terms: CudaSlice<u32>,
    need: CudaSlice<u32>,
    /// Counter rows (zero between launches: the kernel resets what it reads).
    counts: CudaSlice<u32>,
    rows: usize,
    budget: u64,
}

/// [`JaccardTopK`] on a CUDA device.
pub struct CudaJaccard<'a> {
    ctx: &'a Ctx,
    state: Mutex<Option<Uploaded>>,
}

impl<'a> CudaJaccard<'a> {
    /// A builder on `ctx` (uploads on first use).
    pub fn new(ctx: &'a Ctx) -> Self {
        CudaJaccard { ctx, state: Mutex::new(None) }
    }

    fn upload(&self, index: &GoIndex, cfg: &GoBuildConfig) -> Result<Uploaded> {
        let inputs = JaccardInputs::new(index, cfg)?;
        let budget = MAX_TILE_BYTES.min(self.ctx.free_mem() / 4).max(64 << 20);
        let n = (index.n_genes() as u64).max(1);
        let rows = (budget / (4 * n)).min(65535 * 64) as usize;
        if rows == 0 {
            return Err(Error::OutOfMemory { backend: "cuda", bytes: 4 * n, what: format!("one GO counter row (over the {budget}-byte tile budget)") });
        }
        Ok(Uploaded {
            genes: self.ctx.upload("GO gene CSR", &inputs.genes)?,
            terms: self.ctx.upload("GO term postings", &inputs.terms)?,
            need: self.ctx.upload("Jaccard threshold table", &inputs.need)?,
            counts: self.ctx.zeros("GO intersection counters", rows * n as usize)?,
            rows,
            budget,
            inputs,
        })
    }
}

impl JaccardTopK for CudaJaccard<'_> {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn top_for_targets(&self, index: &GoIndex, targets: Range<u32>, cfg: &GoBuildConfig) -> Result<TargetBatch> {
        check_targets(index, &targets)?;
        let mut guard = self.state.lock().map_err(|_| Error::Backend { backend: "cuda", msg: "jaccard state poisoned".into() })?;
        let up: &mut Uploaded = match &mut *guard {
            Some(u) if u.inputs.matches(index, cfg) => u,
            slot => {
                *slot = None; // free the previous build's buffers first
                slot.insert(self.upload(index, cfg)?)
            }
        };
        let keep = cfg.top_k.saturating_add(1);
        let f = self.ctx.func(&JACCARD_CANDIDATES)?;
        let mut parts = Vec::new();
        for tile in plan_tiles(index, targets, up.rows, up.budget / 8, "cuda")? {
            let n_t = tile.targets.len();
            let out_off = self.ctx.upload("GO candidate offsets", &tile.out_off)?;
            let mut n_out = self.ctx.zeros::<u32>("GO candidate counts", n_t)?;
            let mut out = self.ctx.zeros::<u32>("GO candidate pairs", 2 * tile.slots())?;
            let p = JaccardParams { first_target: tile.targets.start, n_targets: n_t as u32, n_genes: up.inputs.n_genes, n_terms: up.inputs.n_terms };
            let mut b = self.ctx.stream.launch_builder(&f);
            b.arg(&up.genes).arg(&up.terms).arg(&up.need).arg(&out_off).arg(&mut up.counts).arg(&mut n_out).arg(&mut out);
            b.arg(&p.first_target).arg(&p.n_targets).arg(&p.n_genes).arg(&p.n_terms);
            // SAFETY: argument types and order match the entry in kernels/jaccard.cu; every index
            // the kernel forms is bounded by the packed CSRs and the slots planned for the tile.
            self.ctx.launched(&JACCARD_CANDIDATES, unsafe { b.launch(self.ctx.cfg(&JACCARD_CANDIDATES, n_t as u64)?) })?;
            let counts = self.ctx.download("GO candidate counts", &n_out)?;
            let pairs = self.ctx.download("GO candidate pairs", &out)?;
            parts.push(collect_tile(index, &tile, &counts, &pairs, keep, "cuda")?);
        }
        Ok(batch_of(parts))
    }
}
