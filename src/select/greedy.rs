//! The greedy loops, generic over an [`Objective`]: [`naive_search`] evaluates every remaining
//! candidate at every step and is the reference; [`lazy_search`] (CELF) keeps the values of earlier
//! steps as bounds in a heap and re-evaluates, a batch at a time, only the candidates whose bound
//! can still beat or tie the best exact value of the step. Both pick the best value and, among
//! values that tie it, the smallest candidate index (candidates are ordered by node id), so they
//! return the same picks with the same values.
//!
//! GraphReach maximises the coverage f(S) = |∪ ball(v)| (or its node-weighted form) through
//! [`Coverage`]; [`lazy_greedy`] and [`naive_greedy`] run it over a backend's oracle. MaxSpec runs
//! the same loops over [`crate::select::maxspec::SpecObjective`].

use super::objective::{Eval, Gain, Objective};
use crate::backend::CoverageOracle;
use crate::error::{Error, Result};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One greedy pick: candidate index and its value when picked (a coverage gain in oracle units by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreedyPick<G = u64> {
    /// Index into the candidate list.
    pub candidate: u32,
    /// Marginal gain (or score) when picked.
    pub gain: G,
}

/// What a greedy loop did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GreedyStats {
    /// Candidate evaluations in all (the first pass included).
    pub evaluations: u64,
    /// Evaluations of candidates evaluated before (the lazy loop's re-evaluated bounds; every
    /// evaluation after the first step in the naive loop).
    pub reevaluations: u64,
    /// Calls of the objective's evaluation (batches), the first pass included.
    pub batches: u64,
    /// Answers that were only bounds (inexact GPU scores kept as bounds by MaxSpec; pair bounds
    /// u(a) + u(b) below the step's best on a pair pool).
    pub bounds: u64,
    /// 1-based rank of the first pick that added nothing (coverage saturated there), if any.
    pub saturated_at: Option<usize>,
}

/// The result of a greedy loop: the picks in order and what it took.
#[derive(Clone, Debug, PartialEq)]
pub struct GreedyReport<P = GreedyPick> {
    /// Picks in selection order.
    pub picks: Vec<P>,
    /// Evaluation counts and the saturation pick.
    pub stats: GreedyStats,
}

/// Plain greedy: `budget` steps (at most one per candidate), each evaluating every remaining
/// candidate in one call. The reference the lazy loop is tested against.
pub fn naive_search<O: Objective + ?Sized>(obj: &mut O, budget: usize) -> Result<GreedyReport<GreedyPick<O::Gain>>> {
    let n = obj.n_candidates();
    let mut remaining: Vec<u32> = (0..n as u32).collect();
    let mut values = Vec::with_capacity(n);
    let mut picks = Vec::with_capacity(budget.min(n));
    let mut stats = GreedyStats::default();
    for step in 0..budget.min(n) {
        values.clear();
        obj.evaluate_all(&remaining, &mut values)?;
        if values.len() != remaining.len() {
            return Err(Error::computation(format!("internal: the objective answered {} of {} candidates", values.len(), remaining.len())));
        }
        stats.evaluations += values.len() as u64;
        stats.batches += 1;
        if step > 0 {
            stats.reevaluations += values.len() as u64;
        }
        let best = values.iter().copied().reduce(|a, b| if b.cmp_better(&a) == Ordering::Greater { b } else { a }).expect("a candidate remains");
        // `remaining` is ascending: the first value that ties the best has the smallest index.
        let k = values.iter().position(|v| *v == best || best.ties(v)).expect("the best ties itself");
        let cand = remaining.remove(k);
        obj.commit(cand, values[k])?;
        record(&mut picks, &mut stats, cand, values[k]);
    }
    Ok(GreedyReport { picks, stats })
}

fn record<G: Gain>(picks: &mut Vec<GreedyPick<G>>, stats: &mut GreedyStats, candidate: u32, gain: G) {
    picks.push(GreedyPick { candidate, gain });
    if stats.saturated_at.is_none() && gain.saturated() {
        stats.saturated_at = Some(picks.len());
    }
}

/// Marks a step number as unset.
const NEVER: u32 = u32::MAX;

/// Heap entry: a candidate's last value, exact at step `exact_at` (else a bound). Candidates never
/// evaluated wait outside the heap: they would all be on top, in index order.
#[derive(Clone, Copy, Debug)]
struct Entry<G> {
    value: G,
    idx: u32,
    exact_at: u32,
}

impl<G: Gain> Ord for Entry<G> {
    /// Greater = nearer the top: the better value, then the smaller index.
    fn cmp(&self, o: &Self) -> Ordering {
        self.value.cmp_better(&o.value).then(o.idx.cmp(&self.idx))
    }
}

impl<G: Gain> PartialOrd for Entry<G> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl<G: Gain> PartialEq for Entry<G> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl<G: Gain> Eq for Entry<G> {}

/// Whether entry `e` can still be the pick, or tie it, given the step's best exact value so far
/// (value and index). Monotone in heap order, so the first entry that cannot ends a scan.
fn may_matter<G: Gain>(e: &Entry<G>, best: Option<(G, u32)>) -> bool {
    match best {
        None => true,
        Some((b, bi)) => match e.value.cmp_better(&b) {
            Ordering::Greater => true,
            Ordering::Equal => e.idx <= bi || b.ties(&e.value),
            Ordering::Less => b.ties(&e.value),
        },
    }
}

/// CELF lazy greedy: values from earlier steps are bounds (values never improve as the selection
/// grows). Each step scans the heap from the top while entries may still matter: stale ones are
/// re-evaluated `width` at a time (`first_pass_width` while some were never evaluated; those come
/// first, in index order) and pushed back, until a scan finds only exact entries. Those are the
/// best exact value and the values that tie it; the smallest index among them is the pick, as in
/// [`naive_search`], for any width.
pub fn lazy_search<O: Objective + ?Sized>(obj: &mut O, budget: usize, width: usize) -> Result<GreedyReport<GreedyPick<O::Gain>>> {
    let n = obj.n_candidates();
    let target = budget.min(n);
    let mut picks = Vec::with_capacity(target);
    let mut stats = GreedyStats::default();
    if target == 0 {
        return Ok(GreedyReport { picks, stats });
    }
    let width = width.max(1);
    let first_width = obj.first_pass_width().max(1);
    // Candidates `next_new..n` were never evaluated.
    let mut next_new = 0usize;
    let mut heap: BinaryHeap<Entry<O::Gain>> = BinaryHeap::with_capacity(n);
    // Step at which a candidate was answered with a bound (allocated at the first bound).
    let mut bound_at: Vec<u32> = Vec::new();
    let mut stale: Vec<Entry<O::Gain>> = Vec::new();
    let mut exact: Vec<Entry<O::Gain>> = Vec::new();
    let mut done: Vec<Entry<O::Gain>> = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    let mut answers = Vec::new();
    for step in 0..target as u32 {
        // The best exact value of this step and its index.
        let mut best: Option<(O::Gain, u32)> = None;
        loop {
            let cap = if next_new < n { first_width } else { width };
            let fresh = cap.min(n - next_new);
            ids.clear();
            ids.extend(next_new as u32..(next_new + fresh) as u32);
            next_new += fresh;
            stale.clear();
            exact.clear();
            while ids.len() < cap {
                match heap.peek() {
                    Some(e) if may_matter(e, best) => {
                        let e = heap.pop().expect("peeked");
                        if e.exact_at == step {
                            exact.push(e);
                        } else {
                            ids.push(e.idx);
                            stale.push(e);
                        }
                    }
                    _ => break,
                }
            }
            if ids.is_empty() {
                break;
            }
            heap.extend(exact.drain(..));
            answers.clear();
            obj.evaluate(&ids, best.map(|b| b.0), &mut answers)?;
            if answers.len() != ids.len() {
                return Err(Error::computation(format!("internal: the objective answered {} of {} candidates", answers.len(), ids.len())));
            }
            stats.evaluations += ids.len() as u64;
            stats.reevaluations += stale.len() as u64;
            stats.batches += 1;
            for (&idx, a) in ids.iter().zip(&answers) {
                let e = match *a {
                    Eval::Exact(v) => {
                        if best.is_none_or(|(b, bi)| v.cmp_better(&b).then(bi.cmp(&idx)) == Ordering::Greater) {
                            best = Some((v, idx));
                        }
                        Entry { value: v, idx, exact_at: step }
                    }
                    Eval::Bound(v) => {
                        if bound_at.is_empty() {
                            bound_at = vec![NEVER; n];
                        }
                        if bound_at[idx as usize] == step {
                            return Err(Error::computation(format!(
                                "internal: candidate {idx} was answered with a bound twice in one greedy step"
                            )));
                        }
                        bound_at[idx as usize] = step;
                        stats.bounds += 1;
                        Entry { value: v, idx, exact_at: NEVER }
                    }
                };
                done.push(e);
            }
            heap.extend(done.drain(..));
        }
        // The scan found only exact entries: the best value and those that tie it. Pick the
        // smallest index and put the others back.
        let k = (0..exact.len()).min_by_key(|&k| exact[k].idx).ok_or_else(|| Error::computation("internal: a greedy step ended without an exact value"))?;
        let p = exact.swap_remove(k);
        heap.extend(exact.drain(..));
        debug_assert!(best.is_some_and(|(b, _)| p.value == b || b.ties(&p.value)));
        obj.commit(p.idx, p.value)?;
        record(&mut picks, &mut stats, p.idx, p.value);
    }
    Ok(GreedyReport { picks, stats })
}

/// GraphReach's objective: the marginal coverage gains of a backend's oracle (exact integers,
/// larger is better, exact ties).
pub struct Coverage<'a> {
    oracle: &'a mut dyn CoverageOracle,
    n: usize,
    buf: Vec<u64>,
}

impl<'a> Coverage<'a> {
    /// The coverage objective over `n_candidates` balls of `oracle`.
    pub fn new(oracle: &'a mut dyn CoverageOracle, n_candidates: usize) -> Self {
        Coverage { oracle, n: n_candidates, buf: Vec::new() }
    }

    fn gains(&mut self, ids: &[u32]) -> Result<&[u64]> {
        self.buf.clear();
        self.buf.resize(ids.len(), 0);
        self.oracle.gains(ids, &mut self.buf)?;
        Ok(&self.buf)
    }
}

impl Objective for Coverage<'_> {
    type Gain = u64;

    fn n_candidates(&self) -> usize {
        self.n
    }

    fn evaluate(&mut self, ids: &[u32], _best: Option<u64>, out: &mut Vec<Eval<u64>>) -> Result<()> {
        let g = self.gains(ids)?;
        out.extend(g.iter().map(|&g| Eval::Exact(g)));
        Ok(())
    }

    fn evaluate_all(&mut self, ids: &[u32], out: &mut Vec<u64>) -> Result<()> {
        let g = self.gains(ids)?;
        out.extend_from_slice(g);
        Ok(())
    }

    fn commit(&mut self, id: u32, gain: u64) -> Result<()> {
        let g = self.oracle.commit(id)?;
        debug_assert_eq!(g, gain);
        Ok(())
    }
}

/// Plain greedy coverage over `oracle`: `budget` steps, each evaluating every remaining candidate in one batch.
pub fn naive_greedy(oracle: &mut dyn CoverageOracle, n_candidates: usize, budget: usize) -> Result<GreedyReport> {
    naive_search(&mut Coverage::new(oracle, n_candidates), budget)
}

/// CELF lazy greedy coverage over `oracle`. Stale heap tops are re-evaluated `batch_width` at a time
/// (one oracle call per batch, which is what a GPU wants; the first pass is one call for all
/// candidates); the selection is identical to [`naive_greedy`] for any width.
pub fn lazy_greedy(oracle: &mut dyn CoverageOracle, n_candidates: usize, budget: usize, batch_width: usize) -> Result<GreedyReport> {
    lazy_search(&mut Coverage::new(oracle, n_candidates), budget, batch_width)
}

#[cfg(test)]
#[path = "greedy_tests.rs"]
mod tests;
