//! Ball construction on CUDA: `reach_expand_u32` + `reach_advance_u32` per hop over tiles of seed
//! sets sized to a quarter of the free device memory (three bitset buffers per tile).

use super::ctx::Ctx;
use crate::backend::gpu_plan::{reach_on_cpu, rows_per_tile, seed_rows, words32, BallCollector};
use crate::backend::source::{ReachParams, WORKGROUP, REACH_ADVANCE, REACH_EXPAND};
use crate::error::Result;
use crate::graph::Csr;
use crate::select::sets::{BallLayout, BallSet, SetList};
use cudarc::driver::PushKernelArg;

/// Upper bound on one bitset buffer (keeps word indices within u32 and host copies modest).
const MAX_TILE_BYTES: u64 = 1 << 30;

/// The `hops`-hop balls of every seed set (see [`crate::backend::Backend::balls`]).
pub fn balls(ctx: &Ctx, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
    let n = adj.n;
    let words = words32(n);
    let mut out = BallCollector::new(n, words, layout);
    if seeds.is_empty() {
        return Ok(out.finish(0));
    }
    if reach_on_cpu(n, seeds.len(), layout) {
        return Ok(crate::backend::cpu::build_balls(adj, seeds, hops, layout));
    }
    let indptr = ctx.upload("CSR row offsets", &adj.indptr)?;
    let indices = ctx.upload("CSR column indices", &adj.indices)?;
    let budget = (ctx.free_mem() / 4).clamp(64 << 20, MAX_TILE_BYTES);
    let per_tile = rows_per_tile(words, budget);
    let mut start = 0;
    while start < seeds.len() {
        let end = (start + per_tile).min(seeds.len());
        let rows = seed_rows(seeds, start..end, words);
        if hops > 0 {
            let mut visited = ctx.upload("ball rows", &rows)?;
            let mut frontier = ctx.upload("frontier rows", &rows)?;
            let mut next = ctx.zeros::<u32>("next-frontier rows", rows.len())?;
            let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows: (end - start) as u32, pad: 0 };
            let groups = (rows.len() as u64).div_ceil(WORKGROUP as u64);
            let expand = ctx.func(&REACH_EXPAND)?;
            let advance = ctx.func(&REACH_ADVANCE)?;
            for _ in 0..hops {
                let mut b = ctx.stream.launch_builder(&expand);
                b.arg(&indptr).arg(&indices).arg(&frontier).arg(&visited).arg(&mut next);
                b.arg(&p.n_nodes).arg(&p.words).arg(&p.n_rows).arg(&p.pad);
                // SAFETY: argument types and order match reach_expand_u32 in kernels/reach.cu.
                ctx.launched(&REACH_EXPAND, unsafe { b.launch(ctx.cfg(&REACH_EXPAND, groups)?) })?;
                let mut b = ctx.stream.launch_builder(&advance);
                b.arg(&mut frontier).arg(&mut visited).arg(&mut next);
                b.arg(&p.n_nodes).arg(&p.words).arg(&p.n_rows).arg(&p.pad);
                // SAFETY: argument types and order match reach_advance_u32 in kernels/reach.cu.
                ctx.launched(&REACH_ADVANCE, unsafe { b.launch(ctx.cfg(&REACH_ADVANCE, groups)?) })?;
            }
            let v = ctx.download("ball rows", &visited)?;
            out.push_rows(&v[..rows.len()]);
        } else {
            out.push_rows(&rows);
        }
        start = end;
    }
    Ok(out.finish(seeds.len()))
}
