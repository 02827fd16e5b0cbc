//! The CUDA coverage oracle: balls uploaded once (in tiles), a covered bitset on the device, gains
//! by `gains_dense_u32` / `gains_sparse_u32`, commits by `commit_dense_u32` / `commit_sparse_u32`.

use super::ctx::Ctx;
use crate::backend::gpu_plan::{rows_per_tile, sparse_tiles, words32};
use crate::backend::source::{GainsParams, WORKGROUP, COMMIT_DENSE, COMMIT_SPARSE, GAINS_DENSE, GAINS_SPARSE};
use crate::backend::CoverageOracle;
use crate::error::Result;
use crate::graph::sets::BallSet;
use cudarc::driver::{CudaSlice, PushKernelArg};

/// Largest single ball buffer (keeps u32 offsets and word indices valid).
const MAX_TILE_BYTES: u64 = 1 << 31;

/// Balls `first..first + len` on the device.
struct Tile {
    first: usize,
    len: usize,
    sets: CudaSlice<u32>,
    offsets: Option<(Vec<u32>, CudaSlice<u32>)>,
}

/// Coverage state on a CUDA device.
pub struct CudaCoverage<'a> {
    ctx: &'a Ctx,
    words: usize,
    weighted: bool,
    covered: CudaSlice<u32>,
    weights: CudaSlice<u32>,
    tiles: Vec<Tile>,
}

impl<'a> CudaCoverage<'a> {
    /// Uploads `balls` and an empty covered set.
    pub fn new(ctx: &'a Ctx, balls: &BallSet, weights: Option<&[u32]>) -> Result<Self> {
        let words = words32(balls.n_nodes());
        let mut tiles = Vec::new();
        match balls {
            BallSet::Dense { n_sets, rows, .. } => {
                let all: &[u32] = bytemuck::cast_slice(&rows.words);
                let per = rows_per_tile(words, MAX_TILE_BYTES);
                let mut first = 0;
                while first < *n_sets {
                    let len = per.min(n_sets - first);
                    let sets = ctx.upload("dense ball rows", &all[first * words..(first + len) * words])?;
                    tiles.push(Tile { first, len, sets, offsets: None });
                    first += len;
                }
            }
            BallSet::Sparse { sets, .. } => {
                for t in sparse_tiles(sets, (MAX_TILE_BYTES / 4) as usize) {
                    let len = t.offsets.len() - 1;
                    let members = ctx.upload("sparse ball members", &t.members)?;
                    let off = ctx.upload("sparse ball offsets", &t.offsets)?;
                    tiles.push(Tile { first: t.first, len, sets: members, offsets: Some((t.offsets, off)) });
                }
            }
        }
        Ok(CudaCoverage {
            ctx,
            words,
            weighted: weights.is_some(),
            covered: ctx.zeros("covered bitset", words)?,
            weights: ctx.upload("node weights", weights.unwrap_or(&[0]))?,
            tiles,
        })
    }

    fn tile_of(&self, id: usize) -> usize {
        self.tiles.partition_point(|t| t.first + t.len <= id)
    }
}

impl CoverageOracle for CudaCoverage<'_> {
    fn gains(&mut self, ids: &[u32], out: &mut [u64]) -> Result<()> {
        let mut by_tile: Vec<Vec<(usize, u32)>> = vec![Vec::new(); self.tiles.len()];
        for (k, &id) in ids.iter().enumerate() {
            let t = self.tile_of(id as usize);
            by_tile[t].push((k, id - self.tiles[t].first as u32));
        }
        for (t, list) in by_tile.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
            let tile = &self.tiles[t];
            let local: Vec<u32> = list.iter().map(|p| p.1).collect();
            let idbuf = self.ctx.upload("gain ids", &local)?;
            let mut outbuf = self.ctx.zeros::<u32>("gains", 2 * local.len())?;
            let p = GainsParams { words: self.words as u32, n_ids: local.len() as u32, weighted: self.weighted as u32, commit_id: 0 };
            let entry = if tile.offsets.is_some() { &GAINS_SPARSE } else { &GAINS_DENSE };
            let f = self.ctx.func(entry)?;
            let mut b = self.ctx.stream.launch_builder(&f);
            b.arg(&tile.sets);
            if let Some((_, off)) = &tile.offsets {
                b.arg(off);
            }
            b.arg(&self.covered).arg(&self.weights).arg(&idbuf).arg(&mut outbuf);
            b.arg(&p.words).arg(&p.n_ids).arg(&p.weighted).arg(&p.commit_id);
            // SAFETY: argument types and order match the entry in kernels/gains.cu.
            self.ctx.launched(entry, unsafe { b.launch(self.ctx.cfg(entry, local.len() as u64)?) })?;
            let g = self.ctx.download("gains", &outbuf)?;
            for (j, &(k, _)) in list.iter().enumerate() {
                out[k] = g[2 * j] as u64 | (g[2 * j + 1] as u64) << 32;
            }
        }
        Ok(())
    }

    fn commit(&mut self, id: u32) -> Result<u64> {
        let mut g = [0u64];
        self.gains(&[id], &mut g)?;
        let t = self.tile_of(id as usize);
        let tile = &self.tiles[t];
        let local = id - tile.first as u32;
        let p = GainsParams { words: self.words as u32, n_ids: 0, weighted: self.weighted as u32, commit_id: local };
        let (entry, items) = match &tile.offsets {
            None => (&COMMIT_DENSE, self.words as u64),
            Some((host, _)) => (&COMMIT_SPARSE, (host[local as usize + 1] - host[local as usize]) as u64),
        };
        if items == 0 {
            return Ok(g[0]);
        }
        let f = self.ctx.func(entry)?;
        let mut b = self.ctx.stream.launch_builder(&f);
        b.arg(&tile.sets);
        if let Some((_, off)) = &tile.offsets {
            b.arg(off);
        }
        b.arg(&mut self.covered);
        b.arg(&p.words).arg(&p.n_ids).arg(&p.weighted).arg(&p.commit_id);
        // SAFETY: argument types and order match the entry in kernels/gains.cu.
        self.ctx.launched(entry, unsafe { b.launch(self.ctx.cfg(entry, items.div_ceil(WORKGROUP as u64))?) })?;
        Ok(g[0])
    }
}
