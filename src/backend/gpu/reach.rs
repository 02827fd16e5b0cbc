//! Ball construction: `reach_expand_u32` + `reach_advance_u32` per hop over tiles of seed sets
//! (three bitset buffers per tile, each at most [`GpuDevice::tile_bytes`]`(5)`: a fifth of the
//! free memory on CUDA, 64 MiB under the binding limit on wgpu); for sparse layouts
//! `reach_count_u32` + `reach_compact_u32` turn a tile's rows into member lists on the device, so
//! only the lists come back (see [`crate::backend::gpu_plan::compact_tile`]).

use crate::backend::device::GpuDevice;
use crate::backend::gpu_plan::{compact_launches, compact_tile, reach_tile_bytes, rows_per_tile, seed_rows, words32, BallCollector};
use crate::backend::source::{ReachParams, REACH_ADVANCE, REACH_COMPACT, REACH_COUNT, REACH_EXPAND, WORKGROUP};
use crate::error::Result;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};

/// The `hops`-hop balls of every seed set (see [`crate::backend::Backend::balls`]).
pub fn balls<D: GpuDevice>(dev: &D, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
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
    let indptr = dev.upload("CSR row offsets", &adj.indptr)?;
    let indices = dev.upload("CSR column indices", &adj.indices)?;
    let tile_bytes = reach_tile_bytes(dev.tile_bytes(5));
    let per_tile = rows_per_tile(words, tile_bytes);
    let params = |n_rows: usize, first_row: usize| ReachParams { n_nodes: n as u32, words: words as u32, n_rows: n_rows as u32, first_row: first_row as u32 };
    let mut start = 0;
    while start < seeds.len() {
        let end = (start + per_tile).min(seeds.len());
        let rows = seed_rows(seeds, start..end, words);
        start = end;
        if hops == 0 {
            out.push_rows(&rows);
            continue;
        }
        let n_rows = rows.len() / words;
        let visited = dev.upload("ball rows", &rows)?;
        {
            let frontier = dev.upload("frontier rows", &rows)?;
            let next = dev.zeros("next-frontier rows", rows.len())?;
            let p = params(n_rows, 0);
            let groups = (rows.len() as u64).div_ceil(WORKGROUP as u64);
            for _ in 0..hops {
                dev.launch(&REACH_EXPAND, &[&indptr, &indices, &frontier, &visited, &next], &p, groups)?;
                dev.launch(&REACH_ADVANCE, &[&frontier, &visited, &next], &p, groups)?;
            }
        }
        if layout == BallLayout::Dense {
            out.push_rows(&dev.download::<u32>("ball rows", &visited, rows.len())?);
            continue;
        }
        let counts_buf = dev.zeros("ball sizes", n_rows)?;
        dev.launch(&REACH_COUNT, &[&visited, &counts_buf], &params(n_rows, 0), n_rows as u64)?;
        let counts: Vec<u32> = dev.download("ball sizes", &counts_buf, n_rows)?;
        let members: u64 = counts.iter().map(|&c| c as u64).sum();
        if !compact_tile(layout, members, n_rows, words) {
            out.push_rows(&dev.download::<u32>("ball rows", &visited, rows.len())?);
            continue;
        }
        let launches = compact_launches(&counts, tile_bytes / 4);
        let largest = launches.iter().map(|l| *l.offsets.last().expect("offsets") as usize).max().unwrap_or(0);
        let members_buf = dev.zeros("ball members", largest)?;
        for l in &launches {
            let total = *l.offsets.last().expect("offsets") as usize;
            if total == 0 {
                out.push_lists(&l.offsets, &[]);
                continue;
            }
            let offsets = dev.upload("ball member offsets", &l.offsets)?;
            let p = params(l.offsets.len() - 1, l.first);
            dev.launch(&REACH_COMPACT, &[&visited, &offsets, &members_buf], &p, p.n_rows as u64)?;
            out.push_lists(&l.offsets, &dev.download::<u32>("ball members", &members_buf, total)?);
        }
    }
    Ok(out.finish(seeds.len()))
}
