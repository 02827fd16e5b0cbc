//! TypiClust as IterPert implements it (`iterpert/query_strategies/typiclust.py`, spec §8.3):
//!
//! 1. k-means of all points (labelled and unlabelled) into k = |L| + n clusters.
//! 2. Clusters ordered by (labelled members ascending, size descending, cluster id ascending:
//!    pandas' stable multi-column sort).
//! 3. Round-robin over that order: in the current cluster, A = its members that are neither
//!    labelled nor already picked; if A is not empty, K = min(20, floor(|A| / 2)) and
//!    typicality(x) = 1 / (mean distance from x to its K nearest neighbours within A + 1e-5);
//!    the most typical point is picked (the first on ties). A single available point is taken as
//!    it is (the reference computes K = 0, a NaN typicality, and argmax picks it); its score is
//!    reported as missing.
//!
//! Distances are exact Euclidean ([`super::mat::sq_dist`]); the neighbour list of a point includes
//! the point itself at distance 0 and drops the first (smallest) entry, as the reference does with
//! `NearestNeighbors(n_neighbors = K + 1)` and `[:, 1:]`.

use super::kmeans::{kmeans, KMeansConfig, KMeansInit, KMeansResult};
use super::mat::{sq_dist, Mat};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::time::Instant;

/// Neighbours in the typicality (IterPert's `K_NN`).
pub const K_NN: usize = 20;

/// One TypiClust pick.
#[derive(Clone, Debug, PartialEq)]
pub struct TypiclustPick {
    /// Row of the point in the input matrix.
    pub point: usize,
    /// Its typicality when picked (`None` when it was the only available point of its cluster).
    pub typicality: Option<f64>,
    /// Its cluster.
    pub cluster: u32,
}

/// Result of [`typiclust`].
#[derive(Clone, Debug)]
pub struct TypiclustOutcome {
    /// Picks in order.
    pub picks: Vec<TypiclustPick>,
    /// The clustering.
    pub kmeans: KMeansResult,
    /// Seconds spent computing typicalities.
    pub typicality_s: f64,
}

/// Picks `n` of the `pool` rows of `x` (all rows are the points to cluster; `labelled` and `pool`
/// are disjoint row sets).
pub fn typiclust(x: &Mat, labelled: &[usize], pool: &[usize], n: usize, init: KMeansInit<'_>, cfg: &KMeansConfig) -> Result<TypiclustOutcome> {
    if n > pool.len() {
        return Err(Error::invalid(format!("TypiClust: budget {n} exceeds the {} unlabelled points", pool.len())));
    }
    let k = labelled.len() + n;
    let km = kmeans(x, k, init, cfg)?;
    let mut size = vec![0usize; k];
    let mut lab = vec![0usize; k];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &c) in km.labels.iter().enumerate() {
        size[c as usize] += 1;
        members[c as usize].push(i);
    }
    for &i in labelled {
        lab[km.labels[i] as usize] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| lab[a].cmp(&lab[b]).then(size[b].cmp(&size[a])).then(a.cmp(&b)));
    let mut available = vec![false; x.rows];
    for &i in pool {
        available[i] = true;
    }
    let t0 = Instant::now();
    let mut picks = Vec::with_capacity(n);
    let mut i = 0usize;
    while picks.len() < n {
        let c = order[i % k];
        let a: Vec<usize> = members[c].iter().copied().filter(|&p| available[p]).collect();
        if !a.is_empty() {
            let (j, typ) = most_typical(x, &a);
            available[a[j]] = false;
            picks.push(TypiclustPick { point: a[j], typicality: typ, cluster: c as u32 });
        }
        i += 1;
    }
    Ok(TypiclustOutcome { picks, kmeans: km, typicality_s: t0.elapsed().as_secs_f64() })
}

/// Index (into `a`) of the most typical point of `a` and its typicality.
pub fn most_typical(x: &Mat, a: &[usize]) -> (usize, Option<f64>) {
    let kk = K_NN.min(a.len() / 2);
    if kk == 0 {
        return (0, None);
    }
    let typ = typicalities(x, a, kk);
    let mut best = 0;
    for j in 1..typ.len() {
        if typ[j] > typ[best] {
            best = j;
        }
    }
    (best, Some(typ[best]))
}

/// Typicality of every point of `a` with `kk` neighbours within `a`.
pub fn typicalities(x: &Mat, a: &[usize], kk: usize) -> Vec<f64> {
    let one = |&p: &usize| -> f64 {
        let mut d: Vec<f64> = a.iter().map(|&q| sq_dist(x.row(p), x.row(q)).sqrt()).collect();
        d.select_nth_unstable_by(kk, f64::total_cmp);
        let head = &mut d[..=kk];
        head.sort_by(f64::total_cmp);
        let mean = head[1..].iter().sum::<f64>() / kk as f64;
        1.0 / (mean + 1e-5)
    };
    if a.len() >= 64 {
        a.par_iter().map(one).collect()
    } else {
        a.iter().map(one).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(v: &[f64]) -> Mat {
        Mat::from_rows(&v.iter().map(|&x| vec![x]).collect::<Vec<_>>())
    }

    #[test]
    fn typicality_hand_computed() {
        // Points 0, 1, 3 (K = 1): nearest other distances 1, 1, 2 -> typicality 1/(1+1e-5) for the
        // first two; the first wins the tie.
        let x = line(&[0.0, 1.0, 3.0]);
        let t = typicalities(&x, &[0, 1, 2], 1);
        assert!((t[0] - 1.0 / (1.0 + 1e-5)).abs() < 1e-15);
        assert!((t[2] - 1.0 / (2.0 + 1e-5)).abs() < 1e-15);
        assert_eq!(most_typical(&x, &[0, 1, 2]), (0, Some(t[0])));
        // Points 0, 2, 3, 4 (K = 2): mean of the two nearest others: 0 -> (2+3)/2, 2 -> (1+2)/2,
        // 3 -> (1+1)/2, 4 -> (1+2)/2 -> point 3 is the most typical.
        let x = line(&[0.0, 2.0, 3.0, 4.0]);
        let (j, t) = most_typical(&x, &[0, 1, 2, 3]);
        assert_eq!(j, 2);
        assert!((t.unwrap() - 1.0 / (1.0 + 1e-5)).abs() < 1e-15);
        // A duplicate point counts at distance 0 (only one zero, the point itself, is dropped).
        let x = line(&[0.0, 0.0, 5.0]);
        let t = typicalities(&x, &[0, 1, 2], 1);
        assert!((t[0] - 1e5).abs() < 1e-6);
        // A single available point is taken without a score.
        assert_eq!(most_typical(&x, &[2]), (0, None));
    }

    #[test]
    fn round_robin_order_and_labelled_clusters_last() {
        // Three well separated groups; the labelled point sits in group A. With k = |L| + n = 3
        // clusters the unlabelled groups come first, larger first: B (4 points) then C (3 points);
        // A (with the labelled point) would come last.
        let x = line(&[0.0, 1.0, 2.0, 100.0, 101.0, 102.0, 104.0, 200.0, 201.0, 203.0]);
        let labelled = [0];
        let pool: Vec<usize> = (1..10).collect();
        let centres = line(&[0.0, 100.0, 200.0]);
        let out = typiclust(&x, &labelled, &pool, 2, KMeansInit::Centres(&centres), &KMeansConfig::default()).unwrap();
        // B with K = 2: mean distances 100 -> 1.5, 101 -> 1, 102 -> 1.5, 104 -> 2.5 -> row 4.
        // C with K = 1: 200 -> 1, 201 -> 1, 203 -> 2 -> the first of the tie, row 7.
        let pts: Vec<usize> = out.picks.iter().map(|p| p.point).collect();
        assert_eq!(pts, vec![4, 7]);
        assert_eq!(out.picks[0].cluster, 1);
        assert_eq!(out.picks[1].cluster, 2);
        assert_eq!(out.kmeans.labels, vec![0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
        // Budget 3 -> k = 4: C splits into {200, 201} and {203}; order B, C1, C2, A; the lone 203
        // is taken without a typicality.
        let out = typiclust(&x, &labelled, &pool, 3, KMeansInit::Centres(&line(&[0.0, 100.0, 200.0, 203.0])), &KMeansConfig::default()).unwrap();
        let pts: Vec<usize> = out.picks.iter().map(|p| p.point).collect();
        assert_eq!(pts, vec![4, 7, 9]);
        assert_eq!(out.picks[2].typicality, None);
    }
}
