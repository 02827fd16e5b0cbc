//! Ball construction on wgpu: `reach_expand_u32` + `reach_advance_u32` per hop over tiles of
//! seed sets, each tile's bitset rows kept under the adapter's binding limit.

use super::ctx::Ctx;
use crate::backend::gpu_plan::{reach_on_cpu, rows_per_tile, seed_rows, words32, BallCollector};
use crate::backend::source::{ReachParams, REACH_ADVANCE, REACH_EXPAND};
use crate::error::Result;
use crate::graph::Csr;
use crate::select::sets::{BallLayout, BallSet, SetList};

/// Bytes per bitset buffer of one tile (three such buffers live at once).
const TILE_BYTES: u64 = 64 << 20;

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
    let indptr = ctx.storage("CSR row offsets", &adj.indptr)?;
    let indices = ctx.storage("CSR column indices", &adj.indices)?;
    let per_tile = rows_per_tile(words, TILE_BYTES.min(ctx.max_binding));
    let mut start = 0;
    while start < seeds.len() {
        let end = (start + per_tile).min(seeds.len());
        let rows = seed_rows(seeds, start..end, words);
        if hops > 0 {
            let visited = ctx.storage("ball rows", &rows)?;
            let frontier = ctx.storage("frontier rows", &rows)?;
            let next = ctx.zeros("next-frontier rows", rows.len())?;
            let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows: (end - start) as u32, pad: 0 };
            let groups = Ctx::groups_for(rows.len() as u64);
            for _ in 0..hops {
                ctx.dispatch(&REACH_EXPAND, &[&indptr, &indices, &frontier, &visited, &next], &p, groups)?;
                ctx.dispatch(&REACH_ADVANCE, &[&frontier, &visited, &next], &p, groups)?;
            }
            out.push_rows(&ctx.read_u32(&visited, rows.len())?);
        } else {
            out.push_rows(&rows);
        }
        start = end;
    }
    Ok(out.finish(seeds.len()))
}
