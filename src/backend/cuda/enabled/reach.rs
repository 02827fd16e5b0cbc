//! Ball construction on CUDA: `reach_expand_u32` + `reach_advance_u32` per hop over tiles of seed
//! sets sized to a fifth of the free device memory (three bitset buffers per tile, then the bitset
//! and one members buffer); for sparse layouts `reach_count_u32` + `reach_compact_u32` turn a
//! tile's rows into member lists on the device, so only the lists come back (see
//! [`crate::backend::gpu_plan::compact_tile`]).

use super::ctx::Ctx;
use crate::backend::gpu_plan::{compact_launches, compact_tile, reach_tile_bytes, rows_per_tile, seed_rows, words32, BallCollector};
use crate::backend::source::{ReachParams, WORKGROUP, REACH_ADVANCE, REACH_COMPACT, REACH_COUNT, REACH_EXPAND};
use crate::error::Result;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};
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
    if hops == 0 && layout != BallLayout::Dense {
        out.push_sets(seeds);
        return Ok(out.finish(seeds.len()));
    }
    let indptr = ctx.upload("CSR row offsets", &adj.indptr)?;
    let indices = ctx.upload("CSR column indices", &adj.indices)?;
    let tile_bytes = reach_tile_bytes((ctx.free_mem() / 5).clamp(64 << 20, MAX_TILE_BYTES));
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
        let mut visited = ctx.upload("ball rows", &rows)?;
        {
            let mut frontier = ctx.upload("frontier rows", &rows)?;
            let mut next = ctx.zeros::<u32>("next-frontier rows", rows.len())?;
            let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows, first_row: 0 };
            let groups = (rows.len() as u64).div_ceil(WORKGROUP as u64);
            let expand = ctx.func(&REACH_EXPAND)?;
            let advance = ctx.func(&REACH_ADVANCE)?;
            for _ in 0..hops {
                let mut b = ctx.stream.launch_builder(&expand);
                b.arg(&indptr).arg(&indices).arg(&frontier).arg(&visited).arg(&mut next);
                b.arg(&p.n_nodes).arg(&p.words).arg(&p.n_rows).arg(&p.first_row);
                // SAFETY: argument types and order match reach_expand_u32 in kernels/reach.cu.
                ctx.launched(&REACH_EXPAND, unsafe { b.launch(ctx.cfg(&REACH_EXPAND, groups)?) })?;
                let mut b = ctx.stream.launch_builder(&advance);
                b.arg(&mut frontier).arg(&mut visited).arg(&mut next);
                b.arg(&p.n_nodes).arg(&p.words).arg(&p.n_rows).arg(&p.first_row);
                // SAFETY: argument types and order match reach_advance_u32 in kernels/reach.cu.
                ctx.launched(&REACH_ADVANCE, unsafe { b.launch(ctx.cfg(&REACH_ADVANCE, groups)?) })?;
            }
        }
        if layout == BallLayout::Dense {
            let v = ctx.download("ball rows", &visited)?;
            out.push_rows(&v[..rows.len()]);
            start = end;
            continue;
        }
        let mut counts_buf = ctx.zeros::<u32>("ball sizes", n_rows as usize)?;
        let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows, first_row: 0 };
        let count = ctx.func(&REACH_COUNT)?;
        let mut b = ctx.stream.launch_builder(&count);
        b.arg(&visited).arg(&mut counts_buf);
        b.arg(&p.n_nodes).arg(&p.words).arg(&p.n_rows).arg(&p.first_row);
        // SAFETY: argument types and order match reach_count_u32 in kernels/reach.cu.
        ctx.launched(&REACH_COUNT, unsafe { b.launch(ctx.cfg(&REACH_COUNT, n_rows as u64)?) })?;
        let counts = ctx.download("ball sizes", &counts_buf)?;
        let counts = &counts[..n_rows as usize];
        let members: u64 = counts.iter().map(|&c| c as u64).sum();
        if !compact_tile(layout, members, n_rows as usize, words) {
            let v = ctx.download("ball rows", &visited)?;
            out.push_rows(&v[..rows.len()]);
            start = end;
            continue;
        }
        let launches = compact_launches(counts, tile_bytes / 4);
        let largest = launches.iter().map(|l| *l.offsets.last().expect("offsets") as usize).max().unwrap_or(0);
        let mut members_buf = ctx.zeros::<u32>("ball members", largest)?;
        let compact = ctx.func(&REACH_COMPACT)?;
        for l in &launches {
            let total = *l.offsets.last().expect("offsets") as usize;
            if total == 0 {
                out.push_lists(&l.offsets, &[]);
                continue;
            }
            let offsets = ctx.upload("ball member offsets", &l.offsets)?;
            let p = ReachParams { n_nodes: n as u32, words: words as u32, n_rows: (l.offsets.len() - 1) as u32, first_row: l.first as u32 };
            let mut b = ctx.stream.launch_builder(&compact);
            b.arg(&visited).arg(&offsets).arg(&mut members_buf);
            b.arg(&p.n_nodes).arg(&p.words).arg(&p.n_rows).arg(&p.first_row);
            // SAFETY: argument types and order match reach_compact_u32 in kernels/reach.cu.
            ctx.launched(&REACH_COMPACT, unsafe { b.launch(ctx.cfg(&REACH_COMPACT, p.n_rows as u64)?) })?;
            let view = members_buf.slice(..total);
            let got = ctx.stream.clone_dtoh(&view).map_err(|e| super::ctx::backend_err(format!("ball members: {e:?}")))?;
            out.push_lists(&l.offsets, &got);
        }
        start = end;
    }
    Ok(out.finish(seeds.len()))
}
