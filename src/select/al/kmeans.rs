//! Seeded k-means: greedy k-means++ initialisation and Lloyd iterations, following
//! scikit-learn's `KMeans` (`_kmeans_plusplus`, `_kmeans_single_lloyd`) step for step:
//!
//! * k-means++: the first centre uniformly at random; then per centre `2 + floor(ln k)` candidates
//!   drawn with probability proportional to D(x)^2 (inverse-CDF on the running sum, first index
//!   whose cumulative sum reaches the draw), and the candidate that leaves the smallest total
//!   potential wins (the first on ties).
//! * Lloyd: the data are centred; each iteration assigns every point to its nearest centre (the
//!   lowest centre index on ties), recomputes the means, relocates empty clusters to the points
//!   farthest from their centres, and stops when no label changed ("strict convergence") or the
//!   summed squared centre shift is at most `tol * mean(per-feature variance)`; a final assignment
//!   follows a non-strict stop. At most `max_iter` (300) iterations.
//!
//! Randomness comes from the project's SplitMix64 only, and every value that decides something is
//! computed by the exact kernels of [`super::mat`]: the fast GEMM only pre-filters, with a
//! proven error margin, so the result is the same on every platform and thread count.

use super::mat::{gemm_margin, gemm_nt_into, sq_dist, Mat, BLOCK_ROWS};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// k-means settings. Shared by the library and the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct KMeansConfig {
    /// Lloyd iteration cap. Default 300 (scikit-learn).
    pub max_iter: usize,
    /// Relative tolerance on the summed squared centre shift. Default 1e-4 (scikit-learn).
    pub tol: f64,
    /// Candidates per k-means++ step; `None` = scikit-learn's `2 + floor(ln k)`.
    pub local_trials: Option<usize>,
    /// Seeded restarts (the lowest inertia wins). Default 1 (scikit-learn >= 1.4 for k-means++).
    pub n_init: usize,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig { max_iter: 300, tol: 1e-4, local_trials: None, n_init: 1 }
    }
}

/// Where the initial centres come from.
#[derive(Clone, Copy, Debug)]
pub enum KMeansInit<'a> {
    /// Seeded greedy k-means++.
    PlusPlus {
        /// Seed of the SplitMix64 stream.
        seed: u64,
    },
    /// Given centres (k x d), e.g. the ones a reference run passed to scikit-learn.
    Centres(&'a Mat),
}

/// A finished clustering.
#[derive(Clone, Debug)]
pub struct KMeansResult {
    /// Cluster of every point.
    pub labels: Vec<u32>,
    /// Final centres (k x d).
    pub centres: Mat,
    /// Sum of squared distances to the assigned centres.
    pub inertia: f64,
    /// Lloyd iterations run (of the kept restart).
    pub iterations: usize,
    /// True when the last iteration changed no label.
    pub strict_convergence: bool,
    /// Seconds spent in k-means++ (all restarts).
    pub init_s: f64,
    /// Seconds spent in Lloyd iterations (all restarts).
    pub lloyd_s: f64,
}

/// A source of uniform numbers for k-means++ (SplitMix64, or scripted values in tests).
pub trait UniformSource {
    /// Uniform index in `0..n`.
    fn index(&mut self, n: usize) -> usize;
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64;
}

impl UniformSource for SplitMix64 {
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        SplitMix64::unit(self)
    }
}

/// scikit-learn's number of k-means++ candidates per step: `2 + floor(ln k)`.
pub fn default_local_trials(k: usize) -> usize {
    2 + (k.max(1) as f64).ln().floor() as usize
}

/// Greedy k-means++ on the rows of `x`: the row indices of the `k` chosen centres, in order.
///
/// Candidate potentials are exact but pruned by the triangle inequality: a point whose nearest
/// centre p lies at distance >= 2 R_p from the candidate (R_p = the largest distance of p's
/// points to p) cannot get closer to the candidate, so only the points of nearby centres are
/// measured. Centre-candidate distances come from GEMM with an error margin (a centre is skipped
/// only when it is certainly far), so the result equals the unpruned computation.
pub fn kmeans_plus_plus(x: &Mat, k: usize, trials: usize, rng: &mut dyn UniformSource) -> Vec<usize> {
    let n = x.rows;
    assert!(k >= 1 && k <= n && trials >= 1, "k-means++ needs 1 <= k <= n and trials >= 1");
    let d = x.cols;
    let xn2 = x.row_sq_norms();
    let first = rng.index(n);
    let mut chosen = vec![first];
    let mut cen = Mat { rows: 1, cols: d, data: Vec::with_capacity(k * d) };
    cen.data.extend_from_slice(x.row(first));
    let mut dsq: Vec<f64> = (0..n).map(|i| sq_dist(x.row(i), x.row(first))).collect();
    let mut owner = vec![0u32; n];
    let mut members: Vec<Vec<u32>> = vec![(0..n as u32).collect()];
    let mut radius = vec![dsq.iter().copied().fold(0.0, f64::max).sqrt()];
    let mut cum = vec![0.0; n];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, &v) in cum.iter_mut().zip(&dsq) {
            acc += v;
            *c = acc;
        }
        let pot = acc;
        let cand: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.unit() * pot;
                cum.partition_point(|&c| c < r).min(n - 1)
            })
            .collect();
        let cmat = x.select_rows(&cand);
        let t = cand.len();
        let m = cen.rows;
        // approx[tt * m + p] = |cand_tt - centre_p|^2 through GEMM (filter only).
        let mut approx = vec![0.0; t * m];
        gemm_nt_into(&cmat.data, t, &cen, -2.0, &mut approx);
        // Centres that may hold points closer to a trial candidate (the others are provably far).
        let near: Vec<Vec<usize>> = (0..t)
            .map(|tt| {
                let c2 = xn2[cand[tt]];
                (0..m)
                    .filter(|&p| {
                        let cp2 = xn2[chosen[p]];
                        let a = approx[tt * m + p] + c2 + cp2;
                        let reach = 2.0 * radius[p] * (1.0 + 1e-9);
                        a - gemm_margin(d, c2, cp2) < reach * reach
                    })
                    .collect()
            })
            .collect();
        let scanned: usize = near.iter().map(|v| v.iter().map(|&p| members[p].len()).sum::<usize>()).sum();
        // Each trial's improved points (index order) with their new distances: by scanning the
        // near centres' points when that is little work, else by a GEMM filter over all points.
        // Both are exact and give the same list.
        let improved: Vec<Vec<(u32, f64)>> = if scanned * 2 < n * t {
            near.par_iter()
                .enumerate()
                .map(|(tt, ps)| {
                    let cv = cmat.row(tt);
                    let mut imp = Vec::new();
                    for &p in ps {
                        for &i in &members[p] {
                            let e = sq_dist(x.row(i as usize), cv);
                            if e < dsq[i as usize] {
                                imp.push((i, e));
                            }
                        }
                    }
                    imp.sort_unstable_by_key(|v| v.0);
                    imp
                })
                .collect()
        } else {
            let cn2: Vec<f64> = cand.iter().map(|&c| xn2[c]).collect();
            let blocks: Vec<Vec<Vec<(u32, f64)>>> = (0..n.div_ceil(BLOCK_ROWS))
                .into_par_iter()
                .map(|b| {
                    let r0 = b * BLOCK_ROWS;
                    let rows = BLOCK_ROWS.min(n - r0);
                    let mut g = vec![0.0; rows * t];
                    gemm_nt_into(&x.data[r0 * d..(r0 + rows) * d], rows, &cmat, -2.0, &mut g);
                    let mut out = vec![Vec::new(); t];
                    for ri in 0..rows {
                        let i = r0 + ri;
                        for tt in 0..t {
                            let approx = xn2[i] + g[ri * t + tt] + cn2[tt];
                            if approx - gemm_margin(d, xn2[i], cn2[tt]) > dsq[i] {
                                continue;
                            }
                            let e = sq_dist(x.row(i), cmat.row(tt));
                            if e < dsq[i] {
                                out[tt].push((i as u32, e));
                            }
                        }
                    }
                    out
                })
                .collect();
            (0..t).map(|tt| blocks.iter().flat_map(|bl| bl[tt].iter().copied()).collect()).collect()
        };
        let per_trial: Vec<(Vec<(u32, f64)>, f64)> = improved
            .into_iter()
            .map(|imp| {
                let gain = imp.iter().map(|&(i, e)| dsq[i as usize] - e).sum::<f64>();
                (imp, gain)
            })
            .collect();
        let mut best = 0;
        for tt in 1..t {
            if pot - per_trial[tt].1 < pot - per_trial[best].1 {
                best = tt;
            }
        }
        let q = m as u32;
        let mut affected = Vec::new();
        let mut new_members = Vec::with_capacity(per_trial[best].0.len());
        for &(i, e) in &per_trial[best].0 {
            let old = owner[i as usize];
            affected.push(old);
            owner[i as usize] = q;
            dsq[i as usize] = e;
            new_members.push(i);
        }
        affected.sort_unstable();
        affected.dedup();
        for &p in &affected {
            let p = p as usize;
            members[p].retain(|&i| owner[i as usize] as usize == p);
            radius[p] = members[p].iter().map(|&i| dsq[i as usize]).fold(0.0, f64::max).sqrt();
        }
        radius.push(new_members.iter().map(|&i| dsq[i as usize]).fold(0.0, f64::max).sqrt());
        members.push(new_members);
        cen.data.extend_from_slice(x.row(cand[best]));
        cen.rows += 1;
        chosen.push(cand[best]);
    }
    chosen
}

/// k-means of the rows of `x` into `k` clusters.
pub fn kmeans(x: &Mat, k: usize, init: KMeansInit<'_>, cfg: &KMeansConfig) -> Result<KMeansResult> {
    let (n, d) = (x.rows, x.cols);
    if k == 0 || k > n {
        return Err(Error::invalid(format!("k-means: {k} clusters requested for {n} points (need 1..={n})")));
    }
    let mean = x.column_means();
    let mut xc = x.clone();
    xc.sub_row_vector(&mean);
    let tol_abs = cfg.tol * feature_variance_mean(&xc);
    let xn2 = xc.row_sq_norms();
    let (mut init_s, mut lloyd_s) = (0.0, 0.0);
    let mut best: Option<KMeansResult> = None;
    let runs = match init {
        KMeansInit::Centres(_) => 1,
        KMeansInit::PlusPlus { .. } => cfg.n_init.max(1),
    };
    let mut rng = match init {
        KMeansInit::PlusPlus { seed } => Some(SplitMix64::new(seed)),
        KMeansInit::Centres(_) => None,
    };
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut centres = match init {
            KMeansInit::Centres(c) => {
                if c.rows != k || c.cols != d {
                    return Err(Error::invalid(format!("k-means: given centres are {} x {}, expected {k} x {d}", c.rows, c.cols)));
                }
                let mut c = c.clone();
                c.sub_row_vector(&mean);
                c
            }
            KMeansInit::PlusPlus { .. } => {
                let trials = cfg.local_trials.unwrap_or_else(|| default_local_trials(k)).max(1);
                let idx = kmeans_plus_plus(&xc, k, trials, rng.as_mut().expect("seeded"));
                xc.select_rows(&idx)
            }
        };
        init_s += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut labels_old = vec![u32::MAX; n];
        let mut strict = false;
        let mut iterations = 0;
        // Hamerly bounds: u[i] >= distance to the own centre, l[i] <= distance to any other.
        let (mut labels, mut u, mut l) = assign_with_bounds(&xc, &xn2, &centres);
        for it in 0..cfg.max_iter.max(1) {
            iterations = it + 1;
            if it > 0 {
                reassign_bounded(&xc, &xn2, &centres, &mut labels, &mut u, &mut l);
            }
            let new = update_centres(&xc, &labels, &centres);
            let moved: Vec<f64> = (0..k).map(|j| sq_dist(new.row(j), centres.row(j))).collect();
            let shift: f64 = moved.iter().sum();
            centres = new;
            let dmax = moved.iter().copied().fold(0.0, f64::max).sqrt() * (1.0 + SLACK);
            for i in 0..n {
                u[i] = (u[i] + moved[labels[i] as usize].sqrt() * (1.0 + SLACK)) * (1.0 + SLACK);
                l[i] = ((l[i] - dmax) * (1.0 - SLACK)).max(0.0);
            }
            if labels == labels_old {
                strict = true;
                break;
            }
            if shift <= tol_abs {
                break;
            }
            labels_old.clone_from(&labels);
        }
        if !strict {
            reassign_bounded(&xc, &xn2, &centres, &mut labels, &mut u, &mut l);
        }
        let inertia: f64 = (0..n).map(|i| sq_dist(xc.row(i), centres.row(labels[i] as usize))).sum();
        lloyd_s += t1.elapsed().as_secs_f64();
        let better = best.as_ref().is_none_or(|b| inertia < b.inertia);
        if better {
            let mut c = centres;
            for j in 0..k {
                for (a, m) in c.row_mut(j).iter_mut().zip(&mean) {
                    *a += m;
                }
            }
            best = Some(KMeansResult { labels, centres: c, inertia, iterations, strict_convergence: strict, init_s: 0.0, lloyd_s: 0.0 });
        }
    }
    let mut r = best.expect("at least one run");
    r.init_s = init_s;
    r.lloyd_s = lloyd_s;
    Ok(r)
}

/// Mean over features of the population variance (scikit-learn's `_tolerance` scale).
fn feature_variance_mean(xc: &Mat) -> f64 {
    if xc.rows == 0 || xc.cols == 0 {
        return 0.0;
    }
    let means = xc.column_means();
    let mut var = vec![0.0; xc.cols];
    for i in 0..xc.rows {
        for ((v, &x), &m) in var.iter_mut().zip(xc.row(i)).zip(&means) {
            *v += (x - m) * (x - m);
        }
    }
    var.iter().map(|v| v / xc.rows as f64).sum::<f64>() / xc.cols as f64
}

/// Relative slack that keeps the Hamerly bounds valid under rounding (far above the ~1e-15
/// relative error of the exact kernels).
const SLACK: f64 = 1e-9;

/// Nearest centre of every row (exact distances, lowest index on ties), via a GEMM pre-filter.
pub fn assign(x: &Mat, xn2: &[f64], centres: &Mat) -> Vec<u32> {
    assign_with_bounds(x, xn2, centres).0
}

/// [`assign`] plus, per row, an upper bound on the distance to its centre and a lower bound on
/// the distance to every other centre.
fn assign_with_bounds(x: &Mat, xn2: &[f64], centres: &Mat) -> (Vec<u32>, Vec<f64>, Vec<f64>) {
    let (n, d, k) = (x.rows, x.cols, centres.rows);
    let cn2 = centres.row_sq_norms();
    let cmax = cn2.iter().copied().fold(0.0, f64::max);
    let mut out = vec![(0u32, 0.0f64, 0.0f64); n];
    out.par_chunks_mut(BLOCK_ROWS).enumerate().for_each(|(b, out)| {
        let r0 = b * BLOCK_ROWS;
        let rows = out.len();
        let mut g = vec![0.0; rows * k];
        gemm_nt_into(&x.data[r0 * d..(r0 + rows) * d], rows, centres, -2.0, &mut g);
        let mut exact: Vec<(usize, f64)> = Vec::new();
        for (ri, o) in out.iter_mut().enumerate() {
            let i = r0 + ri;
            let row = &mut g[ri * k..(ri + 1) * k];
            let mut m = f64::INFINITY;
            for (v, c) in row.iter_mut().zip(&cn2) {
                *v += c;
                m = m.min(*v);
            }
            let margin = gemm_margin(d, xn2[i], cmax);
            let cut = m + margin;
            exact.clear();
            let mut best = (f64::INFINITY, usize::MAX);
            for (j, &v) in row.iter().enumerate() {
                if v <= cut {
                    let e = sq_dist(x.row(i), centres.row(j));
                    exact.push((j, e));
                    if e < best.0 || best.1 == usize::MAX {
                        best = (e, j);
                    }
                }
            }
            // Lower bound on the squared distance to every other centre.
            let mut lo = f64::INFINITY;
            for (j, &v) in row.iter().enumerate() {
                if j != best.1 && v > cut {
                    lo = lo.min(v + xn2[i] - margin);
                }
            }
            for &(j, e) in &exact {
                if j != best.1 {
                    lo = lo.min(e);
                }
            }
            *o = (best.1 as u32, best.0.sqrt() * (1.0 + SLACK), lo.max(0.0).sqrt() * (1.0 - SLACK));
        }
    });
    let labels = out.iter().map(|o| o.0).collect();
    let u = out.iter().map(|o| o.1).collect();
    let l = out.iter().map(|o| o.2).collect();
    (labels, u, l)
}

/// One E-step with the bounds: a row keeps its centre when its (tightened) upper bound is below
/// its lower bound; the others are assigned afresh. Same labels as [`assign`].
fn reassign_bounded(x: &Mat, xn2: &[f64], centres: &Mat, labels: &mut [u32], u: &mut [f64], l: &mut [f64]) {
    let n = x.rows;
    let tight: Vec<Option<f64>> = (0..n)
        .into_par_iter()
        .map(|i| if u[i] < l[i] { None } else { Some(sq_dist(x.row(i), centres.row(labels[i] as usize)).sqrt() * (1.0 + SLACK)) })
        .collect();
    let mut redo = Vec::new();
    for (i, t) in tight.into_iter().enumerate() {
        if let Some(t) = t {
            u[i] = t;
            if u[i] >= l[i] {
                redo.push(i);
            }
        }
    }
    if redo.is_empty() {
        return;
    }
    let sub = x.select_rows(&redo);
    let sub_n2: Vec<f64> = redo.iter().map(|&i| xn2[i]).collect();
    let (lab, uu, ll) = assign_with_bounds(&sub, &sub_n2, centres);
    for (p, &i) in redo.iter().enumerate() {
        labels[i] = lab[p];
        u[i] = uu[p];
        l[i] = ll[p];
    }
}

/// Means of the clusters, with scikit-learn's empty-cluster handling: each empty cluster takes
/// the point farthest from its (old) centre (largest distance first, lowest index on ties), which
/// leaves its cluster; a cluster still empty then sits at the largest cluster's centre.
fn update_centres(x: &Mat, labels: &[u32], old: &Mat) -> Mat {
    let (n, k) = (x.rows, old.rows);
    let mut sums = Mat::zeros(k, x.cols);
    let mut w = vec![0.0f64; k];
    for (i, &lab) in labels.iter().enumerate().take(n) {
        let c = lab as usize;
        w[c] += 1.0;
        for (s, &v) in sums.row_mut(c).iter_mut().zip(x.row(i)) {
            *s += v;
        }
    }
    let empty: Vec<usize> = (0..k).filter(|&j| w[j] == 0.0).collect();
    if !empty.is_empty() {
        let dist: Vec<f64> = (0..n).map(|i| sq_dist(x.row(i), old.row(labels[i] as usize))).collect();
        if dist.iter().copied().fold(0.0, f64::max) > 0.0 {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
            for (e, &far) in empty.iter().zip(&order) {
                let from = labels[far] as usize;
                for (s, &v) in sums.row_mut(from).iter_mut().zip(x.row(far)) {
                    *s -= v;
                }
                sums.row_mut(*e).copy_from_slice(x.row(far));
                w[*e] = 1.0;
                w[from] -= 1.0;
            }
        }
    }
    let mut argmax = 0;
    for j in 1..k {
        if w[j] > w[argmax] {
            argmax = j;
        }
    }
    for (j, &wj) in w.iter().enumerate() {
        if wj > 0.0 {
            let a = 1.0 / wj;
            sums.row_mut(j).iter_mut().for_each(|s| *s *= a);
        } else {
            let src = sums.row(argmax).to_vec();
            sums.row_mut(j).copy_from_slice(&src);
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniforms from a script: `index` returns the scripted index, `unit` the scripted values.
    struct Script {
        first: usize,
        units: Vec<f64>,
    }

    impl UniformSource for Script {
        fn index(&mut self, _n: usize) -> usize {
            self.first
        }
        fn unit(&mut self) -> f64 {
            self.units.remove(0)
        }
    }

    fn line(v: &[f64]) -> Mat {
        Mat::from_rows(&v.iter().map(|&x| vec![x]).collect::<Vec<_>>())
    }

    #[test]
    fn kmeanspp_hand_computed_d2_sampling() {
        // Points 0, 1, 10, 11 on a line; first centre = point 0.
        // D^2 = [0, 1, 100, 121], cumulative [0, 1, 101, 222], potential 222.
        // Draws u = 0.004 -> r = 0.888 -> first index with cum >= 0.888 is 1 (point 1);
        //       u = 0.5   -> r = 111   -> index 3 (point 11).
        // Potentials: with point 1: [0,0,81,100] = 181; with point 11: [0,1,1,0] = 2 -> point 11.
        let x = line(&[0.0, 1.0, 10.0, 11.0]);
        let mut s = Script { first: 0, units: vec![0.004, 0.5] };
        assert_eq!(kmeans_plus_plus(&x, 2, 2, &mut s), vec![0, 3]);
        // One trial and a draw that lands exactly on a cumulative boundary: r = 1.0 -> index 1.
        let mut s = Script { first: 0, units: vec![1.0 / 222.0] };
        assert_eq!(kmeans_plus_plus(&x, 2, 1, &mut s), vec![0, 1]);
        // A zero draw takes index 0 (numpy's searchsorted, side='left': first cumulative >= 0).
        let mut s = Script { first: 3, units: vec![0.0] };
        assert_eq!(kmeans_plus_plus(&x, 2, 1, &mut s), vec![3, 0]);
    }

    /// Unpruned greedy k-means++ (every candidate measured against every point).
    fn naive_kmeans_plus_plus(x: &Mat, k: usize, trials: usize, rng: &mut dyn UniformSource) -> Vec<usize> {
        let n = x.rows;
        let first = rng.index(n);
        let mut chosen = vec![first];
        let mut dsq: Vec<f64> = (0..n).map(|i| sq_dist(x.row(i), x.row(first))).collect();
        for _ in 1..k {
            let mut cum = Vec::with_capacity(n);
            let mut acc = 0.0;
            for &v in &dsq {
                acc += v;
                cum.push(acc);
            }
            let cand: Vec<usize> = (0..trials).map(|_| {
                let r = rng.unit() * acc;
                cum.partition_point(|&c| c < r).min(n - 1)
            }).collect();
            let mut best: Option<(f64, usize, Vec<f64>)> = None;
            for &c in &cand {
                let new: Vec<f64> = (0..n).map(|i| dsq[i].min(sq_dist(x.row(i), x.row(c)))).collect();
                let pot: f64 = new.iter().sum();
                if best.as_ref().is_none_or(|b| pot < b.0) {
                    best = Some((pot, c, new));
                }
            }
            let (_, c, new) = best.unwrap();
            dsq = new;
            chosen.push(c);
        }
        chosen
    }

    #[test]
    fn pruned_kmeanspp_equals_the_unpruned_one() {
        let mut rng = SplitMix64::new(21);
        let mut rows = Vec::new();
        for _ in 0..600 {
            let b = rng.below(12) as f64;
            rows.push((0..5).map(|j| b * (j as f64 + 1.0) + 0.4 * rng.normal()).collect::<Vec<_>>());
        }
        let x = Mat::from_rows(&rows);
        for (k, seed) in [(80, 1u64), (200, 2), (30, 3)] {
            let t = default_local_trials(k);
            let a = kmeans_plus_plus(&x, k, t, &mut SplitMix64::new(seed));
            let b = naive_kmeans_plus_plus(&x, k, t, &mut SplitMix64::new(seed));
            assert_eq!(a, b, "k = {k}");
        }
    }

    #[test]
    fn kmeanspp_seeded_is_deterministic_and_spreads() {
        let mut rows = Vec::new();
        for c in 0..5 {
            for j in 0..20 {
                rows.push(vec![c as f64 * 100.0 + (j as f64) * 0.01, (j % 3) as f64 * 0.01]);
            }
        }
        let x = Mat::from_rows(&rows);
        let a = kmeans_plus_plus(&x, 5, default_local_trials(5), &mut SplitMix64::new(9));
        let b = kmeans_plus_plus(&x, 5, default_local_trials(5), &mut SplitMix64::new(9));
        assert_eq!(a, b);
        let mut blobs: Vec<usize> = a.iter().map(|&i| i / 20).collect();
        blobs.sort();
        assert_eq!(blobs, vec![0, 1, 2, 3, 4], "one centre per well-separated blob");
    }

    #[test]
    fn lloyd_hand_computed_case() {
        // 1-D: 0, 1, 2, 10, 11; start centres 0 and 1.
        // it1: labels [0,1,1,1,1] -> centres 0, 6 (shift 25).
        // it2: labels [0,0,0,1,1] -> centres 1, 10.5.  it3: same labels -> strict convergence.
        let x = line(&[0.0, 1.0, 2.0, 10.0, 11.0]);
        let c = line(&[0.0, 1.0]);
        let r = kmeans(&x, 2, KMeansInit::Centres(&c), &KMeansConfig::default()).unwrap();
        assert_eq!(r.labels, vec![0, 0, 0, 1, 1]);
        assert!((r.centres.at(0, 0) - 1.0).abs() < 1e-12 && (r.centres.at(1, 0) - 10.5).abs() < 1e-12);
        assert_eq!(r.iterations, 3);
        assert!(r.strict_convergence);
        assert!((r.inertia - 2.5).abs() < 1e-12);
    }

    #[test]
    fn empty_cluster_takes_the_farthest_point() {
        // Centres 0, 100, 1000: nobody is nearest to 1000 -> it takes the point farthest from its
        // centre. Points 0, 1, 2, 90 (centre 0 gets 0,1,2; centre 100 gets 90 -> dist 100 for 90;
        // 2 is at distance 4 from 0) -> point 90 (distance^2 100) moves to the empty cluster.
        let x = line(&[0.0, 1.0, 2.0, 90.0]);
        let c = line(&[0.0, 100.0, 1000.0]);
        let cfg = KMeansConfig { max_iter: 1, ..Default::default() };
        let r = kmeans(&x, 3, KMeansInit::Centres(&c), &cfg).unwrap();
        // After the M-step: cluster 0 mean 1, cluster 1 lost its only point -> empty -> placed at
        // the biggest cluster's centre (1); cluster 2 = 90. Final E-step: ties 1 vs 1 -> lower index.
        assert!((r.centres.at(0, 0) - 1.0).abs() < 1e-12);
        assert!((r.centres.at(1, 0) - 1.0).abs() < 1e-12);
        assert!((r.centres.at(2, 0) - 90.0).abs() < 1e-12);
        assert_eq!(r.labels, vec![0, 0, 0, 2]);
    }

    #[test]
    fn assign_ties_go_to_the_lowest_centre() {
        let x = line(&[5.0]);
        let c = line(&[4.0, 6.0, 5.0, 5.0]);
        assert_eq!(assign(&x, &x.row_sq_norms(), &c), vec![2]);
        let c = line(&[4.0, 6.0]);
        assert_eq!(assign(&x, &x.row_sq_norms(), &c), vec![0]);
    }

    #[test]
    fn bounded_lloyd_equals_plain_lloyd() {
        // Plain Lloyd: a full exact assignment every iteration, same update and stopping rules.
        let mut rng = SplitMix64::new(4);
        let x = Mat::from_vec(900, 7, (0..900 * 7).map(|i| rng.normal() + ((i / 7) % 9) as f64 * 1.5).collect());
        let k = 60;
        let idx = kmeans_plus_plus(&x, k, default_local_trials(k), &mut SplitMix64::new(2));
        let init = x.select_rows(&idx);
        let got = kmeans(&x, k, KMeansInit::Centres(&init), &KMeansConfig::default()).unwrap();
        let mean = x.column_means();
        let mut xc = x.clone();
        xc.sub_row_vector(&mean);
        let xn2 = xc.row_sq_norms();
        let mut c = init.clone();
        c.sub_row_vector(&mean);
        let tol = 1e-4 * feature_variance_mean(&xc);
        let mut old = vec![u32::MAX; 900];
        let mut strict = false;
        let mut it = 0;
        let mut labels = Vec::new();
        for i in 0..300 {
            it = i + 1;
            labels = assign(&xc, &xn2, &c);
            let new = update_centres(&xc, &labels, &c);
            let shift: f64 = (0..k).map(|j| sq_dist(new.row(j), c.row(j))).sum();
            c = new;
            if labels == old {
                strict = true;
                break;
            }
            if shift <= tol {
                break;
            }
            old.clone_from(&labels);
        }
        if !strict {
            labels = assign(&xc, &xn2, &c);
        }
        assert_eq!(got.labels, labels);
        assert_eq!(got.iterations, it);
        assert!(it > 3, "a run long enough for the bounds to matter ({it} iterations)");
    }

    #[test]
    fn seeded_kmeans_is_deterministic_across_thread_counts() {
        let mut rng = SplitMix64::new(1);
        let x = Mat::from_vec(700, 6, (0..4200).map(|_| rng.normal()).collect());
        let run = || kmeans(&x, 40, KMeansInit::PlusPlus { seed: 3 }, &KMeansConfig::default()).unwrap();
        let a = run();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(run);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centres, b.centres);
        assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
    }
}
