//! Coverage gains over a pool of gene pairs without materialising the pair balls.
//!
//! With per-gene balls B(g) and covered set C, the marginal gain of pair (a, b) is
//! |B(a) \ C| + |B(b) \ C| − |B(a) ∩ B(b) \ C| (node-weighted the same way). The per-gene terms
//! u(g) = |B(g) \ C| are kept up to date incrementally: a commit walks the newly covered nodes and
//! lowers u(g) of the genes whose balls hold them (an inverted index node -> genes), so over a whole
//! selection that costs one pass over the balls. A pair's gain then needs only the intersection
//! term: the members of the smaller ball tested against the other ball's bitset, or, for large
//! balls, a word-wise AND over the words where both bitsets have members. Integer arithmetic
//! throughout, so every backend's selection is the same.

use super::{CoverageOracle, PairCoverageOracle};
use crate::error::Result;
use crate::graph::sets::{BallSet, Bitset, DenseRows, SetList};
use rayon::prelude::*;
use std::borrow::Cow;

/// The CPU pair-coverage oracle (the reference twin; the GPU backends use it over the per-gene
/// balls they build). Candidate `k` is the pair `pairs[k]` of gene-ball indices.
pub struct CpuPairCoverage<'a> {
    pairs: &'a [[u32; 2]],
    weights: Option<&'a [u32]>,
    /// Per-gene sorted members.
    lists: Cow<'a, SetList>,
    /// Per-gene bitset rows.
    rows: Cow<'a, DenseRows>,
    /// Per gene: the first and one past the last word of its row that hold members.
    span: Vec<(u32, u32)>,
    /// Node -> genes whose ball holds it.
    holders: SetList,
    /// Per gene: the weight of its ball's uncovered members.
    uncovered: Vec<u64>,
    covered: Bitset,
}

impl<'a> CpuPairCoverage<'a> {
    /// Oracle with nothing covered over the per-gene balls `genes` and the pairs `pairs` (indices
    /// into `genes`); `weights` are per-node fixed-point weights (None = 1 each).
    pub fn new(genes: &'a BallSet, pairs: &'a [[u32; 2]], weights: Option<&'a [u32]>) -> Self {
        let n = genes.n_nodes();
        let (lists, rows): (Cow<'a, SetList>, Cow<'a, DenseRows>) = match genes {
            BallSet::Sparse { sets, .. } => {
                let dense = BallSet::from_sets(n, sets.clone(), crate::graph::sets::BallLayout::Dense);
                let BallSet::Dense { rows, .. } = dense else { unreachable!("dense layout asked for") };
                (Cow::Borrowed(sets), Cow::Owned(rows))
            }
            BallSet::Dense { rows, .. } => (Cow::Owned(genes.to_sets()), Cow::Borrowed(rows)),
        };
        let span = (0..lists.len())
            .map(|g| match (lists.get(g).first(), lists.get(g).last()) {
                (Some(&f), Some(&l)) => (f >> 6, (l >> 6) + 1),
                _ => (0, 0),
            })
            .collect();
        // Inverted index by counting.
        let mut counts = vec![0u64; n + 1];
        for &m in &lists.members {
            counts[m as usize + 1] += 1;
        }
        for v in 0..n {
            counts[v + 1] += counts[v];
        }
        let mut fill = counts.clone();
        let mut members = vec![0u32; lists.members.len()];
        for g in 0..lists.len() {
            for &m in lists.get(g) {
                members[fill[m as usize] as usize] = g as u32;
                fill[m as usize] += 1;
            }
        }
        let holders = SetList { offsets: counts, members };
        let uncovered = (0..lists.len()).map(|g| weigh(weights, lists.get(g))).collect();
        CpuPairCoverage { pairs, weights, lists, rows, span, holders, uncovered, covered: Bitset::new(n) }
    }

    /// The weight of the uncovered members of both balls of a pair (the intersection term).
    fn shared_uncovered(&self, a: usize, b: usize) -> u64 {
        let (la, lb) = (self.lists.get(a), self.lists.get(b));
        let (sa, sb) = (self.span[a], self.span[b]);
        let (lo, hi) = (sa.0.max(sb.0) as usize, sa.1.min(sb.1) as usize);
        if lo >= hi {
            return 0;
        }
        let cov = &self.covered.words;
        let small = la.len().min(lb.len());
        if small <= hi - lo {
            let (list, other) = if la.len() <= lb.len() { (la, self.rows.row(b)) } else { (lb, self.rows.row(a)) };
            let mut g = 0u64;
            for &m in list {
                let (w, bit) = ((m >> 6) as usize, 1u64 << (m & 63));
                if other[w] & bit != 0 && cov[w] & bit == 0 {
                    g += self.weights.map_or(1, |x| x[m as usize] as u64);
                }
            }
            return g;
        }
        let (ra, rb) = (&self.rows.row(a)[lo..hi], &self.rows.row(b)[lo..hi]);
        match self.weights {
            None => ra.iter().zip(rb).zip(&cov[lo..hi]).map(|((x, y), c)| (x & y & !c).count_ones() as u64).sum(),
            Some(w) => {
                let mut g = 0u64;
                for (k, ((x, y), c)) in ra.iter().zip(rb).zip(&cov[lo..hi]).enumerate() {
                    let mut z = x & y & !c;
                    while z != 0 {
                        g += w[(lo + k) * 64 + z.trailing_zeros() as usize] as u64;
                        z &= z - 1;
                    }
                }
                g
            }
        }
    }

    fn gain(&self, k: usize) -> u64 {
        let [a, b] = self.pairs[k];
        let (a, b) = (a as usize, b as usize);
        self.uncovered[a] + self.uncovered[b] - self.shared_uncovered(a, b)
    }

    /// Covers the members of gene `g`'s ball, lowering the uncovered weight of every gene holding
    /// a newly covered node.
    fn cover(&mut self, g: usize) {
        for &m in self.lists.get(g) {
            if self.covered.insert(m) {
                let w = self.weights.map_or(1, |x| x[m as usize] as u64);
                for &h in self.holders.get(m as usize) {
                    self.uncovered[h as usize] -= w;
                }
            }
        }
    }
}

/// The weight of a member list (its length without weights).
fn weigh(weights: Option<&[u32]>, members: &[u32]) -> u64 {
    match weights {
        None => members.len() as u64,
        Some(w) => members.iter().map(|&m| w[m as usize] as u64).sum(),
    }
}

impl CoverageOracle for CpuPairCoverage<'_> {
    fn gains(&mut self, ids: &[u32], out: &mut [u64]) -> Result<()> {
        if ids.len() >= 64 {
            let this = &*self;
            out.par_iter_mut().zip(ids.par_iter()).with_min_len(256).for_each(|(o, &i)| *o = this.gain(i as usize));
        } else {
            for (o, &i) in out.iter_mut().zip(ids) {
                *o = self.gain(i as usize);
            }
        }
        Ok(())
    }

    fn commit(&mut self, id: u32) -> Result<u64> {
        let g = self.gain(id as usize);
        let [a, b] = self.pairs[id as usize];
        self.cover(a as usize);
        self.cover(b as usize);
        Ok(g)
    }
}

impl PairCoverageOracle for CpuPairCoverage<'_> {
    fn gain_bounds(&self, ids: &[u32], out: &mut [u64]) {
        for (o, &i) in out.iter_mut().zip(ids) {
            let [a, b] = self.pairs[i as usize];
            *o = self.uncovered[a as usize] + self.uncovered[b as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuCoverage;
    use crate::graph::sets::BallLayout;
    use crate::rng::SplitMix64;

    /// Random per-gene balls on `n` nodes, some empty, some large.
    fn random_balls(n: usize, genes: usize, rng: &mut SplitMix64) -> SetList {
        let mut s = SetList::new();
        for g in 0..genes {
            let size = match g % 4 {
                0 => 0,
                1 => rng.below(4) as usize,
                2 => rng.below(n as u64 / 3 + 1) as usize,
                _ => rng.below(n as u64 + 1) as usize,
            };
            let mut m: Vec<u32> = (0..size).map(|_| rng.below(n.max(1) as u64) as u32).collect();
            m.sort_unstable();
            m.dedup();
            s.push(&m);
        }
        s
    }

    fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
        let mut u: Vec<u32> = a.iter().chain(b).copied().collect();
        u.sort_unstable();
        u.dedup();
        u
    }

    /// Every gain and commit equals the generic oracle over the materialised pair balls, for both
    /// gene-ball layouts, with and without weights, along a random commit sequence.
    #[test]
    fn pair_gains_equal_the_generic_oracle_over_materialised_unions() {
        let mut rng = SplitMix64::new(7);
        for &(n, genes) in &[(1usize, 2usize), (63, 5), (130, 9), (700, 14)] {
            let sets = random_balls(n, genes, &mut rng);
            let mut pairs = Vec::new();
            let mut unions = SetList::new();
            for i in 0..genes as u32 {
                for j in i + 1..genes as u32 {
                    pairs.push([i, j]);
                    unions.push(&union(sets.get(i as usize), sets.get(j as usize)));
                }
            }
            let w: Vec<u32> = (0..n).map(|_| rng.below(1000) as u32).collect();
            for layout in [BallLayout::Sparse, BallLayout::Dense] {
                let gb = BallSet::from_sets(n, sets.clone(), layout);
                let ub = BallSet::from_sets(n, unions.clone(), BallLayout::Sparse);
                for weights in [None, Some(w.as_slice())] {
                    let mut p = CpuPairCoverage::new(&gb, &pairs, weights);
                    let mut r = CpuCoverage::new(&ub, weights);
                    let ids: Vec<u32> = (0..pairs.len() as u32).collect();
                    let mut prev = vec![u64::MAX; ids.len()];
                    for _ in 0..4.min(pairs.len()) {
                        let (mut x, mut y) = (vec![0; ids.len()], vec![0; ids.len()]);
                        p.gains(&ids, &mut x).unwrap();
                        r.gains(&ids, &mut y).unwrap();
                        assert_eq!(x, y, "n={n} genes={genes} {layout:?} weighted={}", weights.is_some());
                        let mut ub = vec![0; ids.len()];
                        p.gain_bounds(&ids, &mut ub);
                        assert!(ub.iter().zip(&x).all(|(u, g)| u >= g), "a bound below its gain");
                        assert!(ub.iter().zip(&prev).all(|(u, p)| u <= p), "a bound grew");
                        prev = ub;
                        let c = rng.below(pairs.len() as u64) as u32;
                        assert_eq!(p.commit(c).unwrap(), r.commit(c).unwrap());
                    }
                }
            }
        }
    }
}
