//! Greedy maximisation of the coverage f(S) = |∪ ball(v)| (or its node-weighted form).
//!
//! [`naive_greedy`] evaluates every remaining candidate at every step; it is the reference.
//! [`lazy_greedy`] (CELF) keeps a max-heap of upper bounds: the gain of a candidate can only
//! shrink as S grows (submodularity), so a stale bound that is still on top after re-evaluation
//! is the true maximum. Both break ties towards the smallest candidate index (candidates are
//! ordered by node id), so they return the same order and the same gains.

use crate::backend::CoverageOracle;
use crate::error::Result;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// One greedy pick: candidate index and its marginal gain (in oracle units).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreedyPick {
    /// Index into the candidate list.
    pub candidate: u32,
    /// Marginal gain when picked.
    pub gain: u64,
}

/// Plain greedy: `budget` steps, each evaluating every remaining candidate in one batch.
pub fn naive_greedy(oracle: &mut dyn CoverageOracle, n_candidates: usize, budget: usize) -> Result<Vec<GreedyPick>> {
    let mut remaining: Vec<u32> = (0..n_candidates as u32).collect();
    let mut gains = vec![0u64; n_candidates];
    let mut picks = Vec::with_capacity(budget);
    for _ in 0..budget.min(n_candidates) {
        oracle.gains(&remaining, &mut gains[..remaining.len()])?;
        let mut best = 0usize;
        for k in 1..remaining.len() {
            // strictly greater wins; equal gains keep the earlier (smaller) index
            if gains[k] > gains[best] {
                best = k;
            }
        }
        let cand = remaining.remove(best);
        let g = oracle.commit(cand)?;
        debug_assert_eq!(g, gains[best]);
        picks.push(GreedyPick { candidate: cand, gain: g });
    }
    Ok(picks)
}

/// Heap entry ordered by (bound desc, index asc).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    bound: u64,
    idx: Reverse<u32>,
    stamp: u32,
}

impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        self.bound.cmp(&o.bound).then(self.idx.cmp(&o.idx))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Statistics of a lazy greedy run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LazyStats {
    /// Marginal gains evaluated after the initial pass.
    pub reevaluations: u64,
    /// Oracle calls (batches) after the initial pass.
    pub batches: u64,
}

/// CELF lazy greedy. Stale heap tops are re-evaluated `batch_width` at a time (one oracle call per
/// batch, which is what a GPU wants); the selection is identical to [`naive_greedy`] for any width.
pub fn lazy_greedy(
    oracle: &mut dyn CoverageOracle,
    n_candidates: usize,
    budget: usize,
    batch_width: usize,
) -> Result<(Vec<GreedyPick>, LazyStats)> {
    let width = batch_width.max(1);
    let all: Vec<u32> = (0..n_candidates as u32).collect();
    let mut gains = vec![0u64; n_candidates];
    oracle.gains(&all, &mut gains)?;
    let mut heap: BinaryHeap<Entry> =
        all.iter().map(|&i| Entry { bound: gains[i as usize], idx: Reverse(i), stamp: 0 }).collect();
    let mut picks = Vec::with_capacity(budget);
    let mut stats = LazyStats::default();
    let mut step = 0u32; // bounds with stamp == step are exact for the current covered set
    let mut batch: Vec<u32> = Vec::with_capacity(width);
    let mut out = vec![0u64; width];
    while picks.len() < budget.min(n_candidates) {
        let top = *heap.peek().expect("heap holds the remaining candidates");
        if top.stamp == step {
            heap.pop();
            let g = oracle.commit(top.idx.0)?;
            debug_assert_eq!(g, top.bound);
            picks.push(GreedyPick { candidate: top.idx.0, gain: g });
            step += 1;
            continue;
        }
        // Re-evaluate up to `width` stale entries from the top. Fresh entries popped on the way are kept aside.
        batch.clear();
        let mut fresh = Vec::new();
        while batch.len() < width {
            match heap.peek() {
                Some(e) if e.stamp != step => {
                    batch.push(heap.pop().unwrap().idx.0);
                }
                Some(_) if batch.is_empty() => unreachable!(),
                Some(_) => {
                    // A fresh entry: everything below it is bounded by it; stop collecting.
                    fresh.push(heap.pop().unwrap());
                    break;
                }
                None => break,
            }
        }
        oracle.gains(&batch, &mut out[..batch.len()])?;
        stats.batches += 1;
        stats.reevaluations += batch.len() as u64;
        for (k, &i) in batch.iter().enumerate() {
            heap.push(Entry { bound: out[k], idx: Reverse(i), stamp: step });
        }
        for e in fresh {
            heap.push(e);
        }
    }
    Ok((picks, stats))
}
