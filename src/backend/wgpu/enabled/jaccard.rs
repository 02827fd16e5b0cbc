//! The GO-graph builder on wgpu: `jaccard_candidates_u32` over tiles of targets (counter rows and
//! candidate slots kept under the binding limit), exact top-(k+1) on the host.

use super::ctx::Ctx;
use crate::backend::jaccard_plan::{batch_of, check_targets, collect_tile, plan_tiles, JaccardInputs};
use crate::backend::source::{JaccardParams, JACCARD_CANDIDATES};
use crate::error::{Error, Result};
use crate::graph::go_build::{GoBuildConfig, GoIndex, JaccardTopK, TargetBatch};
use std::ops::Range;
use std::sync::Mutex;

/// Bytes per tile buffer (counter rows, candidate slots), at most the binding limit.
const TILE_BYTES: u64 = 64 << 20;

/// The uploaded index of one build.
struct Uploaded {
    inputs: JaccardInputs,
    genes: ::wgpu::Buffer,
    terms: ::wgpu::Buffer,
    need: ::wgpu::Buffer,
    /// Counter rows (zero between launches: the kernel resets what it reads).
    counts: ::wgpu::Buffer,
    rows: usize,
}

/// [`JaccardTopK`] on a wgpu device.
pub struct WgpuJaccard<'a> {
    ctx: &'a Ctx,
    state: Mutex<Option<Uploaded>>,
}

impl<'a> WgpuJaccard<'a> {
    /// A builder on `ctx` (uploads on first use).
    pub fn new(ctx: &'a Ctx) -> Self {
        WgpuJaccard { ctx, state: Mutex::new(None) }
    }

    fn budget(&self) -> u64 {
        TILE_BYTES.min(self.ctx.max_binding)
    }

    fn upload(&self, index: &GoIndex, cfg: &GoBuildConfig) -> Result<Uploaded> {
        let inputs = JaccardInputs::new(index, cfg)?;
        let n = (index.n_genes() as u64).max(1);
        let rows = (self.budget() / (4 * n)).min(65535) as usize;
        if rows == 0 {
            return Err(Error::OutOfMemory { backend: "wgpu", bytes: 4 * n, what: format!("one GO counter row (over the {}-byte tile budget)", self.budget()) });
        }
        Ok(Uploaded {
            genes: self.ctx.storage("GO gene CSR", &inputs.genes)?,
            terms: self.ctx.storage("GO term postings", &inputs.terms)?,
            need: self.ctx.storage("Jaccard threshold table", &inputs.need)?,
            counts: self.ctx.zeros("GO intersection counters", rows * n as usize)?,
            rows,
            inputs,
        })
    }
}

impl JaccardTopK for WgpuJaccard<'_> {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn top_for_targets(&self, index: &GoIndex, targets: Range<u32>, cfg: &GoBuildConfig) -> Result<TargetBatch> {
        check_targets(index, &targets)?;
        let mut guard = self.state.lock().map_err(|_| Error::Backend { backend: "wgpu", msg: "jaccard state poisoned".into() })?;
        let up: &Uploaded = match &mut *guard {
            Some(u) if u.inputs.matches(index, cfg) => u,
            slot => {
                *slot = None; // free the previous build's buffers first
                slot.insert(self.upload(index, cfg)?)
            }
        };
        let keep = cfg.top_k.saturating_add(1);
        let mut parts = Vec::new();
        for tile in plan_tiles(index, targets, up.rows, self.budget() / 8, "wgpu")? {
            let n_t = tile.targets.len();
            let out_off = self.ctx.storage("GO candidate offsets", &tile.out_off)?;
            let n_out = self.ctx.zeros("GO candidate counts", n_t)?;
            let out = self.ctx.zeros("GO candidate pairs", 2 * tile.slots())?;
            let p = JaccardParams { first_target: tile.targets.start, n_targets: n_t as u32, n_genes: up.inputs.n_genes, n_terms: up.inputs.n_terms };
            self.ctx.dispatch(&JACCARD_CANDIDATES, &[&up.genes, &up.terms, &up.need, &out_off, &up.counts, &n_out, &out], &p, n_t as u64)?;
            let counts = self.ctx.read_u32(&n_out, n_t)?;
            let pairs = self.ctx.read_u32(&out, 2 * tile.slots())?;
            parts.push(collect_tile(index, &tile, &counts, &pairs, keep, "wgpu")?);
        }
        Ok(batch_of(parts))
    }
}
