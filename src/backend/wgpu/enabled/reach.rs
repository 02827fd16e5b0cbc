//! Ball construction on wgpu: `reach_expand_u32` + `reach_advance_u32` per hop over tiles of
//! seed sets, each tile's bitset rows kept under the adapter's binding limit; for sparse layouts
//! `reach_count_u32` + `reach_compact_u32` turn a tile's rows into member lists on the device, so
//! only the lists come back (see [`crate::backend::gpu_plan::compact_tile`]).

use super::ctx::Ctx;
use crate::backend::gpu_plan::{compact_launches, compact_tile, reach_tile_bytes, rows_per_tile, seed_rows, words32, BallCollector};
use crate::backend::source::{ReachParams, REACH_ADVANCE, REACH_COMPACT, REACH_COUNT, REACH_EXPAND};
use crate::error::Result;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};

/// Bytes per bitset buffer of one tile (three such buffers live at once, then the bitset and one
/// members buffer of at most this size).
const TILE_BYTES: u64 = 64 << 20;

/// The `hops`-hop balls of every seed set (see [`crate::backend::Backend::balls`]).
pub fn balls(ctx: &Ctx, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
    let n = adj.n;
    let words = words32(n);
    let mut out = BallCollector::new(n, words, layout);
    if seeds.is_empty() {
        return Ok(out.finish(0));
    }
    if hops == 0 && layout != BallLayout::Dense {
        out.push_sets(seeds);
        return Ok(out.finish(seeds.len()));
    }
    let indptr = ctx.storage("CSR row offsets", &adj.indptr)?;
    let indices = ctx.storage("CSR column indices", &adj.indices)?;
    let tile_bytes = reach_tile_bytes(TILE_BYTES.min(ctx.max_binding));
    let per_tile = rows_per_tile(words, tile_bytes);
    let mut start = 0;
    while start < seeds.len() {
        let end = (start + per_tile).min(seeds.len());
        let rows = seed_rows(seeds, start..end, words);
        if hops == 0 {
            out.push_rows(&rows);
            start = end;
            continue;
        }
        let n_rows = (end - start) as u32;
        let visited = ctx.storage("ball rows", &rows)?;
        {
            let frontier = ctx.storage("frontier rows", &rows)?;
            let next = ctx.zeros("next-frontier rows", rows.len())?;
            let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows, first_row: 0 };
            let groups = Ctx::groups_for(rows.len() as u64);
            for _ in 0..hops {
                ctx.dispatch(&REACH_EXPAND, &[&indptr, &indices, &frontier, &visited, &next], &p, groups)?;
                ctx.dispatch(&REACH_ADVANCE, &[&frontier, &visited, &next], &p, groups)?;
            }
        }
        if layout == BallLayout::Dense {
            out.push_rows(&ctx.read_u32(&visited, rows.len())?);
            start = end;
            continue;
        }
        let counts_buf = ctx.zeros("ball sizes", n_rows as usize)?;
        let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows, first_row: 0 };
        ctx.dispatch(&REACH_COUNT, &[&visited, &counts_buf], &p, n_rows as u64)?;
        let counts = ctx.read_u32(&counts_buf, n_rows as usize)?;
        let members: u64 = counts.iter().map(|&c| c as u64).sum();
        if !compact_tile(layout, members, n_rows as usize, words) {
            out.push_rows(&ctx.read_u32(&visited, rows.len())?);
            start = end;
            continue;
        }
        let launches = compact_launches(&counts, tile_bytes / 4);
        let largest = launches.iter().map(|l| *l.offsets.last().expect("offsets") as usize).max().unwrap_or(0);
        let members_buf = ctx.zeros("ball members", largest)?;
        for l in &launches {
            let total = *l.offsets.last().expect("offsets") as usize;
            if total > 0 {
                let offsets = ctx.storage("ball member offsets", &l.offsets)?;
                let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows: (l.offsets.len() - 1) as u32, first_row: l.first as u32 };
                ctx.dispatch(&REACH_COMPACT, &[&visited, &offsets, &members_buf], &p, p.n_rows as u64)?;
            }
            out.push_lists(&l.offsets, &ctx.read_u32(&members_buf, total)?);
        }
        start = end;
    }
    Ok(out.finish(seeds.len()))
}
