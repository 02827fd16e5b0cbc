//! The wgpu coverage oracle: balls uploaded once (in tiles under the binding limit), a covered
//! bitset on the device, gains by `gains_dense_u32` / `gains_sparse_u32`, commits by
//! `commit_dense_u32` / `commit_sparse_u32`.

use super::ctx::Ctx;
use crate::backend::gpu_plan::{rows_per_tile, sparse_tiles, words32};
use crate::backend::source::{GainsParams, COMMIT_DENSE, COMMIT_SPARSE, GAINS_DENSE, GAINS_SPARSE};
use crate::backend::CoverageOracle;
use crate::error::Result;
use crate::graph::sets::BallSet;

/// Balls `first..first + len` on the device.
struct Tile {
    first: usize,
    len: usize,
    sets: ::wgpu::Buffer,
    /// Sparse tiles: local offsets (host copy for commit sizes, device copy for the kernels).
    offsets: Option<(Vec<u32>, ::wgpu::Buffer)>,
}

/// Coverage state on a wgpu device.
pub struct WgpuCoverage<'a> {
    ctx: &'a Ctx,
    words: usize,
    weighted: bool,
    covered: ::wgpu::Buffer,
    weights: ::wgpu::Buffer,
    tiles: Vec<Tile>,
}

impl<'a> WgpuCoverage<'a> {
    /// Uploads `balls` and an empty covered set.
    pub fn new(ctx: &'a Ctx, balls: &BallSet, weights: Option<&[u32]>) -> Result<Self> {
        let words = words32(balls.n_nodes());
        let mut tiles = Vec::new();
        match balls {
            BallSet::Dense { n_sets, rows, .. } => {
                let all: &[u32] = bytemuck::cast_slice(&rows.words);
                let per = rows_per_tile(words, ctx.max_binding);
                let mut first = 0;
                while first < *n_sets {
                    let len = per.min(n_sets - first);
                    let sets = ctx.storage("dense ball rows", &all[first * words..(first + len) * words])?;
                    tiles.push(Tile { first, len, sets, offsets: None });
                    first += len;
                }
            }
            BallSet::Sparse { sets, .. } => {
                for t in sparse_tiles(sets, (ctx.max_binding / 4) as usize) {
                    let len = t.offsets.len() - 1;
                    let members = ctx.storage("sparse ball members", &t.members)?;
                    let off = ctx.storage("sparse ball offsets", &t.offsets)?;
                    tiles.push(Tile { first: t.first, len, sets: members, offsets: Some((t.offsets, off)) });
                }
            }
        }
        Ok(WgpuCoverage {
            ctx,
            words,
            weighted: weights.is_some(),
            covered: ctx.zeros("covered bitset", words)?,
            weights: ctx.storage("node weights", weights.unwrap_or(&[0]))?,
            tiles,
        })
    }

    fn tile_of(&self, id: usize) -> usize {
        self.tiles.partition_point(|t| t.first + t.len <= id)
    }

    fn params(&self, n_ids: usize, commit_id: u32) -> GainsParams {
        GainsParams { words: self.words as u32, n_ids: n_ids as u32, weighted: self.weighted as u32, commit_id }
    }
}

impl CoverageOracle for WgpuCoverage<'_> {
    fn gains(&mut self, ids: &[u32], out: &mut [u64]) -> Result<()> {
        let mut by_tile: Vec<Vec<(usize, u32)>> = vec![Vec::new(); self.tiles.len()];
        for (k, &id) in ids.iter().enumerate() {
            let t = self.tile_of(id as usize);
            by_tile[t].push((k, id - self.tiles[t].first as u32));
        }
        for (t, list) in by_tile.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
            let tile = &self.tiles[t];
            let local: Vec<u32> = list.iter().map(|p| p.1).collect();
            let idbuf = self.ctx.storage("gain ids", &local)?;
            let outbuf = self.ctx.zeros("gains", 2 * local.len())?;
            let p = self.params(local.len(), 0);
            match &tile.offsets {
                None => self.ctx.dispatch(&GAINS_DENSE, &[&tile.sets, &self.covered, &self.weights, &idbuf, &outbuf], &p, local.len() as u64)?,
                Some((_, off)) => self.ctx.dispatch(&GAINS_SPARSE, &[&tile.sets, off, &self.covered, &self.weights, &idbuf, &outbuf], &p, local.len() as u64)?,
            }
            let g = self.ctx.read_u32(&outbuf, 2 * local.len())?;
            for (j, &(k, _)) in list.iter().enumerate() {
                out[k] = g[2 * j] as u64 | (g[2 * j + 1] as u64) << 32;
            }
        }
        Ok(())
    }

    fn commit(&mut self, id: u32) -> Result<u64> {
        let mut g = [0u64];
        self.gains(&[id], &mut g)?;
        let tile = &self.tiles[self.tile_of(id as usize)];
        let local = id - tile.first as u32;
        let p = self.params(0, local);
        match &tile.offsets {
            None => self.ctx.dispatch(&COMMIT_DENSE, &[&tile.sets, &self.covered], &p, Ctx::groups_for(self.words as u64))?,
            Some((host, off)) => {
                let len = (host[local as usize + 1] - host[local as usize]) as u64;
                if len > 0 {
                    self.ctx.dispatch(&COMMIT_SPARSE, &[&tile.sets, off, &self.covered], &p, Ctx::groups_for(len))?;
                }
            }
        }
        Ok(g[0])
    }
}
