//! The coverage oracle: balls uploaded once (in tiles under [`GpuDevice::max_buffer_bytes`]), a
//! covered bitset on the device, gains by `gains_dense_u32` / `gains_sparse_u32`, commits by
//! `commit_dense_u32` / `commit_sparse_u32`.

use crate::backend::device::GpuDevice;
use crate::backend::gpu_plan::{rows_per_tile, sparse_tiles, words32};
use crate::backend::source::{GainsParams, COMMIT_DENSE, COMMIT_SPARSE, GAINS_DENSE, GAINS_SPARSE, WORKGROUP};
use crate::backend::CoverageOracle;
use crate::error::Result;
use crate::graph::sets::BallSet;

/// Balls `first..first + len` on the device.
struct Tile<B> {
    first: usize,
    len: usize,
    sets: B,
    /// Sparse tiles: local offsets (host copy for commit sizes, device copy for the kernels).
    offsets: Option<(Vec<u32>, B)>,
}

/// Coverage state on a GPU device.
pub struct GpuCoverage<'a, D: GpuDevice> {
    dev: &'a D,
    words: usize,
    weighted: bool,
    covered: D::Buf,
    weights: D::Buf,
    tiles: Vec<Tile<D::Buf>>,
}

impl<'a, D: GpuDevice> GpuCoverage<'a, D> {
    /// Uploads `balls` and an empty covered set.
    pub fn new(dev: &'a D, balls: &BallSet, weights: Option<&[u32]>) -> Result<Self> {
        let words = words32(balls.n_nodes());
        let mut tiles = Vec::new();
        match balls {
            BallSet::Dense { n_sets, rows, .. } => {
                let all: &[u32] = bytemuck::cast_slice(&rows.words);
                let per = rows_per_tile(words, dev.max_buffer_bytes());
                let mut first = 0;
                while first < *n_sets {
                    let len = per.min(n_sets - first);
                    let sets = dev.upload("dense ball rows", &all[first * words..(first + len) * words])?;
                    tiles.push(Tile { first, len, sets, offsets: None });
                    first += len;
                }
            }
            BallSet::Sparse { sets, .. } => {
                for t in sparse_tiles(sets, (dev.max_buffer_bytes() / 4) as usize) {
                    let len = t.offsets.len() - 1;
                    let members = dev.upload("sparse ball members", &t.members)?;
                    let off = dev.upload("sparse ball offsets", &t.offsets)?;
                    tiles.push(Tile { first: t.first, len, sets: members, offsets: Some((t.offsets, off)) });
                }
            }
        }
        Ok(GpuCoverage {
            dev,
            words,
            weighted: weights.is_some(),
            covered: dev.zeros("covered bitset", words)?,
            weights: dev.upload("node weights", weights.unwrap_or(&[0]))?,
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

impl<D: GpuDevice> CoverageOracle for GpuCoverage<'_, D> {
    fn gains(&mut self, ids: &[u32], out: &mut [u64]) -> Result<()> {
        let mut by_tile: Vec<Vec<(usize, u32)>> = vec![Vec::new(); self.tiles.len()];
        for (k, &id) in ids.iter().enumerate() {
            let t = self.tile_of(id as usize);
            by_tile[t].push((k, id - self.tiles[t].first as u32));
        }
        for (t, list) in by_tile.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
            let tile = &self.tiles[t];
            let local: Vec<u32> = list.iter().map(|p| p.1).collect();
            let idbuf = self.dev.upload("gain ids", &local)?;
            let outbuf = self.dev.zeros("gains", 2 * local.len())?;
            let p = self.params(local.len(), 0);
            match &tile.offsets {
                None => self.dev.launch(&GAINS_DENSE, &[&tile.sets, &self.covered, &self.weights, &idbuf, &outbuf], &p, local.len() as u64)?,
                Some((_, off)) => self.dev.launch(&GAINS_SPARSE, &[&tile.sets, off, &self.covered, &self.weights, &idbuf, &outbuf], &p, local.len() as u64)?,
            }
            let g: Vec<u32> = self.dev.download("gains", &outbuf, 2 * local.len())?;
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
        let groups = |items: u64| items.div_ceil(WORKGROUP as u64);
        match &tile.offsets {
            None => self.dev.launch(&COMMIT_DENSE, &[&tile.sets, &self.covered], &p, groups(self.words as u64))?,
            Some((host, off)) => {
                let len = (host[local as usize + 1] - host[local as usize]) as u64;
                if len > 0 {
                    self.dev.launch(&COMMIT_SPARSE, &[&tile.sets, off, &self.covered], &p, groups(len))?;
                }
            }
        }
        Ok(g[0])
    }
}
