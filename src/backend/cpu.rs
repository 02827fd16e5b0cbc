//! The CPU reference backend (rayon over candidates, bitset words, per-thread scratch).

use super::{Backend, CoverageOracle, PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::Csr;
use crate::graph::sets::{bits_to_ids, BallLayout, BallSet, Bitset, DenseRows, SetList};
use rayon::prelude::*;

/// The CPU backend. Stateless; parallel over candidates with rayon.
#[derive(Clone, Debug, Default)]
pub struct CpuBackend;

impl CpuBackend {
    /// A CPU backend using rayon's global pool.
    pub fn new() -> Self {
        CpuBackend
    }
}

/// Per-thread BFS scratch: an epoch stamp per node avoids clearing between candidates.
struct Scratch {
    stamp: Vec<u32>,
    epoch: u32,
    frontier: Vec<u32>,
    next: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch { stamp: vec![0; n], epoch: 0, frontier: Vec::new(), next: Vec::new() }
    }
}

/// Nodes within `hops` hops of `seeds` over `adj`, in discovery order (the seeds included).
fn bfs_into(adj: &Csr, seeds: &[u32], hops: u32, s: &mut Scratch, out: &mut Vec<u32>) {
    s.epoch = s.epoch.wrapping_add(1);
    if s.epoch == 0 {
        s.stamp.iter_mut().for_each(|x| *x = 0);
        s.epoch = 1;
    }
    let e = s.epoch;
    out.clear();
    s.frontier.clear();
    for &v in seeds {
        if s.stamp[v as usize] != e {
            s.stamp[v as usize] = e;
            s.frontier.push(v);
            out.push(v);
        }
    }
    for _ in 0..hops {
        if s.frontier.is_empty() {
            break;
        }
        s.next.clear();
        for &u in &s.frontier {
            for &w in adj.row(u as usize) {
                if s.stamp[w as usize] != e {
                    s.stamp[w as usize] = e;
                    s.next.push(w);
                    out.push(w);
                }
            }
        }
        std::mem::swap(&mut s.frontier, &mut s.next);
    }
}

/// Per-thread scratch of the sorted-list BFS: a visited bitset over all nodes (all zero between
/// calls) and the frontiers.
struct BitScratch {
    bits: Vec<u64>,
    frontier: Vec<u32>,
    next: Vec<u32>,
}

impl BitScratch {
    fn new(n: usize) -> Self {
        BitScratch { bits: vec![0; n.div_ceil(64).max(1)], frontier: Vec::new(), next: Vec::new() }
    }
}

/// Nodes within `hops` hops of `seeds` over `adj`, sorted (the seeds included). The BFS marks a
/// visited bitset; large balls are then read back in order by scanning its words (no sort), small
/// ones are sorted. Either way the bitset is left all zero.
fn ball_into(adj: &Csr, seeds: &[u32], hops: u32, s: &mut BitScratch, out: &mut Vec<u32>) {
    let bits = &mut s.bits;
    out.clear();
    s.frontier.clear();
    for &v in seeds {
        if test_and_set(bits, v) {
            s.frontier.push(v);
            out.push(v);
        }
    }
    for _ in 0..hops {
        if s.frontier.is_empty() {
            break;
        }
        s.next.clear();
        for &u in &s.frontier {
            for &w in adj.row(u as usize) {
                if test_and_set(bits, w) {
                    s.next.push(w);
                    out.push(w);
                }
            }
        }
        std::mem::swap(&mut s.frontier, &mut s.next);
    }
    // Sorting k ids costs about k log k; scanning the bitset about one step per word.
    if out.len() * 16 >= bits.len() {
        out.clear();
        for (wi, w) in bits.iter_mut().enumerate() {
            let mut x = *w;
            while x != 0 {
                out.push((wi as u32) * 64 + x.trailing_zeros());
                x &= x - 1;
            }
            *w = 0;
        }
    } else {
        for &m in out.iter() {
            bits[(m >> 6) as usize] = 0;
        }
        out.sort_unstable();
    }
}

/// Sets bit `i` of `row`; returns whether it was clear before.
#[inline]
fn test_and_set(row: &mut [u64], i: u32) -> bool {
    let w = &mut row[(i >> 6) as usize];
    let m = 1u64 << (i & 63);
    let new = *w & m == 0;
    *w |= m;
    new
}

/// Writes the ball of `seeds` as bits into `row` (all zero on entry): a BFS that uses the row
/// itself as the visited set and, on the last hop, only sets bits. `frontier` and `next` are
/// per-thread scratch.
fn ball_row_into(adj: &Csr, seeds: &[u32], hops: u32, frontier: &mut Vec<u32>, next: &mut Vec<u32>, row: &mut [u64]) {
    frontier.clear();
    for &v in seeds {
        if test_and_set(row, v) {
            frontier.push(v);
        }
    }
    for h in 0..hops {
        if frontier.is_empty() {
            break;
        }
        if h + 1 == hops {
            for &u in frontier.iter() {
                for &w in adj.row(u as usize) {
                    row[(w >> 6) as usize] |= 1u64 << (w & 63);
                }
            }
            break;
        }
        next.clear();
        for &u in frontier.iter() {
            for &w in adj.row(u as usize) {
                if test_and_set(row, w) {
                    next.push(w);
                }
            }
        }
        std::mem::swap(frontier, next);
    }
}

/// Balls of all seed sets written straight into dense bitset rows (parallel over seed sets, no
/// member lists, no sorting, no per-candidate allocation). Returns the rows and the total number
/// of members (set bits).
pub fn ball_rows(adj: &Csr, seeds: &SetList, hops: u32) -> (DenseRows, u64) {
    let wpr = adj.n.div_ceil(64).max(1);
    let mut words = vec![0u64; wpr * seeds.len()];
    let members: u64 = words
        .par_chunks_mut(wpr)
        .enumerate()
        .with_min_len(64)
        .map_init(
            || (Vec::new(), Vec::new()),
            |(frontier, next), (i, row)| {
                ball_row_into(adj, seeds.get(i), hops, frontier, next, row);
                row.iter().map(|w| w.count_ones() as u64).sum::<u64>()
            },
        )
        .sum();
    (DenseRows { words_per_row: wpr, words }, members)
}

/// Dense rows back to sorted member lists (parallel over rows).
fn rows_to_sets(rows: &DenseRows, n_sets: usize) -> SetList {
    let parts: Vec<Vec<u32>> = (0..n_sets).into_par_iter().with_min_len(64).map(|i| bits_to_ids(rows.row(i))).collect();
    let mut out = SetList { offsets: Vec::with_capacity(n_sets + 1), members: Vec::with_capacity(parts.iter().map(Vec::len).sum()) };
    out.offsets.push(0);
    for p in parts {
        out.push(&p);
    }
    out
}

/// Seed sets sampled to estimate the mean ball size before choosing a layout.
pub const LAYOUT_SAMPLE: usize = 256;

/// Mean ball size over up to [`LAYOUT_SAMPLE`] evenly spaced seed sets (BFS counts only).
fn estimate_mean_ball(adj: &Csr, seeds: &SetList, hops: u32) -> f64 {
    let c = seeds.len();
    let k = c.min(LAYOUT_SAMPLE);
    if k == 0 {
        return 0.0;
    }
    let total: usize = (0..k)
        .into_par_iter()
        .map_init(
            || (Scratch::new(adj.n), Vec::new()),
            |(s, buf), j| {
                bfs_into(adj, seeds.get(j * c / k), hops, s, buf);
                buf.len()
            },
        )
        .sum();
    total as f64 / k as f64
}

/// The balls of all seed sets in the layout `layout` picks, with the same result as
/// `BallSet::from_sets(adj.n, ball_sets(..), layout)` but built directly: for `Auto`, a sampled
/// size estimate picks which representation to build first (dense rows are written bit by bit
/// without member lists), then the exact rule of [`BallSet::from_sets`] is checked on the built
/// balls and the representation converted in the rare case the estimate was wrong.
pub fn build_balls(adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> BallSet {
    let n = adj.n;
    let c = seeds.len();
    // The exact `Auto` rule: dense when the mean ball size exceeds n / 32.
    let dense_rule = |members: u64| c > 0 && members as u128 * 32 > c as u128 * n as u128;
    let build_dense = match layout {
        BallLayout::Sparse => false,
        BallLayout::Dense => true,
        BallLayout::Auto => c > 0 && estimate_mean_ball(adj, seeds, hops) * 32.0 > n as f64,
    };
    if build_dense {
        let (rows, members) = ball_rows(adj, seeds, hops);
        if layout == BallLayout::Auto && !dense_rule(members) {
            return BallSet::Sparse { n_nodes: n, sets: rows_to_sets(&rows, c) };
        }
        BallSet::Dense { n_nodes: n, n_sets: c, rows }
    } else {
        BallSet::from_sets(n, ball_sets(adj, seeds, hops), layout)
    }
}

/// Balls of all seed sets as sorted member lists (parallel over seed sets).
pub fn ball_sets(adj: &Csr, seeds: &SetList, hops: u32) -> SetList {
    let n = adj.n;
    let chunk = 256usize;
    let parts: Vec<(Vec<u64>, Vec<u32>)> = (0..seeds.len().div_ceil(chunk))
        .into_par_iter()
        .map_init(
            || (BitScratch::new(n), Vec::new()),
            |(s, buf), c| {
                let mut lens = Vec::new();
                let mut members = Vec::new();
                for i in c * chunk..((c + 1) * chunk).min(seeds.len()) {
                    ball_into(adj, seeds.get(i), hops, s, buf);
                    lens.push(buf.len() as u64);
                    members.extend_from_slice(buf);
                }
                (lens, members)
            },
        )
        .collect();
    let total: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut out = SetList { offsets: Vec::with_capacity(seeds.len() + 1), members: Vec::with_capacity(total) };
    out.offsets.push(0);
    for (lens, members) in parts {
        let mut off = out.members.len() as u64;
        for l in lens {
            off += l;
            out.offsets.push(off);
        }
        out.members.extend_from_slice(&members);
    }
    out
}

/// CPU coverage oracle: a covered bitset, gains by gather (sparse) or popcount (dense).
pub struct CpuCoverage<'a> {
    balls: &'a BallSet,
    weights: Option<&'a [u32]>,
    covered: Bitset,
}

impl<'a> CpuCoverage<'a> {
    /// Oracle with nothing covered.
    pub fn new(balls: &'a BallSet, weights: Option<&'a [u32]>) -> Self {
        CpuCoverage { balls, weights, covered: Bitset::new(balls.n_nodes()) }
    }

    fn gain(&self, id: usize) -> u64 {
        let cov = &self.covered;
        match (self.balls, self.weights) {
            (BallSet::Sparse { sets, .. }, None) => sets.get(id).iter().filter(|&&m| !cov.get(m)).count() as u64,
            (BallSet::Sparse { sets, .. }, Some(w)) => {
                sets.get(id).iter().filter(|&&m| !cov.get(m)).map(|&m| w[m as usize] as u64).sum()
            }
            (BallSet::Dense { rows, .. }, None) => {
                rows.row(id).iter().zip(&cov.words).map(|(r, c)| (r & !c).count_ones() as u64).sum()
            }
            (BallSet::Dense { rows, .. }, Some(w)) => {
                let mut g = 0u64;
                for (wi, (r, c)) in rows.row(id).iter().zip(&cov.words).enumerate() {
                    let mut x = r & !c;
                    while x != 0 {
                        g += w[wi * 64 + x.trailing_zeros() as usize] as u64;
                        x &= x - 1;
                    }
                }
                g
            }
        }
    }
}

impl CoverageOracle for CpuCoverage<'_> {
    fn gains(&mut self, ids: &[u32], out: &mut [u64]) -> Result<()> {
        if ids.len() >= 64 {
            let this = &*self;
            out.par_iter_mut().zip(ids.par_iter()).with_min_len(16).for_each(|(o, &i)| *o = this.gain(i as usize));
        } else {
            for (o, &i) in out.iter_mut().zip(ids) {
                *o = self.gain(i as usize);
            }
        }
        Ok(())
    }

    fn commit(&mut self, id: u32) -> Result<u64> {
        let g = self.gain(id as usize);
        match self.balls {
            BallSet::Sparse { sets, .. } => {
                for &m in sets.get(id as usize) {
                    self.covered.insert(m);
                }
            }
            BallSet::Dense { rows, .. } => {
                for (c, r) in self.covered.words.iter_mut().zip(rows.row(id as usize)) {
                    *c |= r;
                }
            }
        }
        Ok(g)
    }
}

/// Largest singular value of M[S, S] by power iteration on M[S,S]ᵀ M[S,S] in f64, with the
/// singular vector over all nodes. `warm` (length n or empty) seeds the start vector.
pub fn power_iteration(op: &SpectralOperator, set: &[u32], warm: &[f64], cfg: &PowerIterConfig) -> Result<(SpectralNorm, Vec<f64>)> {
    let mut local = LocalOperator::default();
    let (norm, x) = local.run(op, set, warm, cfg);
    let mut full = vec![0.0; op.n()];
    for (k, &v) in set.iter().enumerate() {
        full[v as usize] = x[k];
    }
    Ok((norm, full))
}

/// M[S, S] extracted into local indices, reused across sets to avoid allocation.
#[derive(Default)]
struct LocalOperator {
    map: Vec<u32>,
    indptr: Vec<u32>,
    cols: Vec<u32>,
    vals: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
}

impl LocalOperator {
    fn run(&mut self, op: &SpectralOperator, set: &[u32], warm: &[f64], cfg: &PowerIterConfig) -> (SpectralNorm, Vec<f64>) {
        let k = set.len();
        if k == 0 {
            return (SpectralNorm { sigma: 0.0, iterations: 0, converged: true }, Vec::new());
        }
        if self.map.len() != op.n() {
            self.map = vec![u32::MAX; op.n()];
        }
        for (i, &v) in set.iter().enumerate() {
            self.map[v as usize] = i as u32;
        }
        // Local CSR of M[S,S] including the identity term.
        self.indptr.clear();
        self.cols.clear();
        self.vals.clear();
        self.indptr.push(0);
        for &v in set {
            let dv = op.dinv_sqrt[v as usize];
            let mut diag_done = false;
            for &c in op.adj.row(v as usize) {
                if !diag_done && c > v {
                    self.cols.push(self.map[v as usize]);
                    self.vals.push(dv * dv);
                    diag_done = true;
                }
                let lc = self.map[c as usize];
                if lc != u32::MAX {
                    self.cols.push(lc);
                    self.vals.push(dv * op.dinv_sqrt[c as usize]);
                }
            }
            if !diag_done {
                self.cols.push(self.map[v as usize]);
                self.vals.push(dv * dv);
            }
            self.indptr.push(self.cols.len() as u32);
        }
        for &v in set {
            self.map[v as usize] = u32::MAX;
        }
        // Start vector: warm values where positive, else the mean of those (or 1).
        self.x.clear();
        let (mut s, mut c) = (0.0, 0usize);
        for &v in set {
            let w = warm.get(v as usize).copied().unwrap_or(0.0).abs();
            if w > 0.0 {
                s += w;
                c += 1;
            }
        }
        let fill = if c > 0 { s / c as f64 } else { 1.0 };
        for &v in set {
            let w = warm.get(v as usize).copied().unwrap_or(0.0).abs();
            self.x.push(if w > 0.0 { w } else { fill });
        }
        normalize(&mut self.x);
        self.y.resize(k, 0.0);
        self.z.resize(k, 0.0);
        let mut sigma = 0.0f64;
        let mut it = 0u32;
        let mut converged = false;
        while it < cfg.max_iter {
            it += 1;
            // y = M x ; z = Mᵀ y ; sigma² = xᵀ z (x normalised)
            for r in 0..k {
                let mut acc = 0.0;
                for p in self.indptr[r] as usize..self.indptr[r + 1] as usize {
                    acc += self.vals[p] * self.x[self.cols[p] as usize];
                }
                self.y[r] = acc;
            }
            self.z.iter_mut().for_each(|v| *v = 0.0);
            for r in 0..k {
                let yr = self.y[r];
                for p in self.indptr[r] as usize..self.indptr[r + 1] as usize {
                    self.z[self.cols[p] as usize] += self.vals[p] * yr;
                }
            }
            let s2: f64 = self.x.iter().zip(&self.z).map(|(a, b)| a * b).sum();
            let new_sigma = s2.max(0.0).sqrt();
            let zn = self.z.iter().map(|v| v * v).sum::<f64>().sqrt();
            if zn == 0.0 {
                sigma = 0.0;
                converged = true;
                break;
            }
            for (xv, zv) in self.x.iter_mut().zip(&self.z) {
                *xv = zv / zn;
            }
            let done = (new_sigma - sigma).abs() <= cfg.tol * new_sigma;
            sigma = new_sigma;
            if done && it > 1 {
                converged = true;
                break;
            }
        }
        (SpectralNorm { sigma, iterations: it, converged }, self.x.clone())
    }
}

fn normalize(x: &mut [f64]) {
    let n = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if n > 0.0 {
        x.iter_mut().for_each(|v| *v /= n);
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn describe(&self) -> String {
        format!("CPU, {} rayon threads", rayon::current_num_threads())
    }

    fn balls(&self, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet> {
        Ok(build_balls(adj, seeds, hops, layout))
    }

    fn coverage<'a>(&'a self, balls: &'a BallSet, weights: Option<&'a [u32]>) -> Result<Box<dyn CoverageOracle + 'a>> {
        Ok(Box::new(CpuCoverage::new(balls, weights)))
    }

    fn spectral_norms(&self, op: &SpectralOperator, sets: &SetList, warm: &[f64], cfg: &PowerIterConfig) -> Result<Vec<SpectralNorm>> {
        Ok((0..sets.len())
            .into_par_iter()
            .map_init(LocalOperator::default, |lo, i| lo.run(op, sets.get(i), warm, cfg).0)
            .collect())
    }

    fn default_batch_width(&self) -> usize {
        1
    }
}
