//! MaxSpec: greedy selection on the spectral norm of the normalised adjacency of the reachable set.
//!
//! At each step every remaining candidate c is scored by ρ(R ∪ ball(c)), the largest singular value
//! of M[R', R'] with M = D^-1/2 (A + I) D^-1/2 and D taken from the FULL graph (see
//! [`SpectralOperator`]). The candidate with the smallest score is added (`--maxspec-objective min`,
//! the default; `max` takes the largest). Scores within a relative 1e-6 of the best are ties,
//! broken towards the smallest candidate index (node id).
//!
//! Why the full-graph degree: with D from the induced subgraph the operator is similar to a
//! row-stochastic matrix and ρ is identically 1 for every non-empty set, so the criterion would
//! select by tie-breaking alone (spec §9.3).
//!
//! Exact shortcut: M[R,R] is a principal submatrix of M[R',R'] for R ⊆ R', so ρ never decreases as
//! the set grows, and a candidate whose ball lies inside R scores exactly ρ(R) without any iteration.

use crate::backend::{Backend, PowerIterConfig, SpectralOperator};
use crate::error::Result;
use crate::select::sets::{BallSet, Bitset, SetList};
use serde::Serialize;

/// Whether MaxSpec minimises or maximises ρ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MaxSpecObjective {
    /// Add the candidate that keeps ρ smallest (what the paper's text describes). Default.
    #[default]
    Min,
    /// Add the candidate that makes ρ largest (what the method's name suggests).
    Max,
}

/// Relative window within which two scores are a tie.
pub const TIE_REL: f64 = 1e-6;

/// One MaxSpec pick.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecPick {
    /// Candidate index.
    pub candidate: u32,
    /// ρ(R) after adding it.
    pub score: f64,
    /// Power iterations spent in this step (all candidates).
    pub iterations: u64,
}

/// Candidates scored per backend call (bounds host memory for the batch of node sets).
const SCORE_BATCH: usize = 256;

/// Runs MaxSpec for `budget` picks over `balls` (one per candidate).
///
/// With the `min` objective the search is lazy: ρ(R_t ∪ ball(c)) never decreases as R_t grows, so a
/// score from an earlier step is a lower bound. Each step re-scores (in batches) only the candidates
/// whose bound falls inside the tie window of the best fresh score, which gives exactly the choice
/// of [`maxspec_naive`]. The `max` objective has no such bound and scores every candidate.
pub fn maxspec(
    backend: &dyn Backend,
    op: &SpectralOperator,
    balls: &BallSet,
    budget: usize,
    objective: MaxSpecObjective,
    cfg: &PowerIterConfig,
) -> Result<Vec<SpecPick>> {
    run(backend, op, balls, budget, objective, cfg, objective == MaxSpecObjective::Min)
}

/// MaxSpec that re-scores every remaining candidate at every step (reference for tests).
pub fn maxspec_naive(
    backend: &dyn Backend,
    op: &SpectralOperator,
    balls: &BallSet,
    budget: usize,
    objective: MaxSpecObjective,
    cfg: &PowerIterConfig,
) -> Result<Vec<SpecPick>> {
    run(backend, op, balls, budget, objective, cfg, false)
}

/// Mutable state of one MaxSpec run.
struct State {
    ball_sets: SetList,
    in_r: Bitset,
    r_members: Vec<u32>,
    rho_r: f64,
    warm: Vec<f64>,
}

impl State {
    /// Fresh scores ρ(R ∪ ball(c)) of `cands` (exact ρ(R) for balls inside R).
    fn score(&self, backend: &dyn Backend, op: &SpectralOperator, cands: &[u32], cfg: &PowerIterConfig, iters: &mut u64) -> Result<Vec<f64>> {
        let mut scores = vec![f64::NAN; cands.len()];
        let mut todo: Vec<usize> = Vec::new();
        for (k, &c) in cands.iter().enumerate() {
            if !self.r_members.is_empty() && self.ball_sets.get(c as usize).iter().all(|&m| self.in_r.get(m)) {
                scores[k] = self.rho_r;
            } else {
                todo.push(k);
            }
        }
        let mut buf = Vec::new();
        for chunk in todo.chunks(SCORE_BATCH) {
            let mut sets = SetList::new();
            for &k in chunk {
                merge_sorted(&self.r_members, self.ball_sets.get(cands[k] as usize), &mut buf);
                sets.push(&buf);
            }
            let norms = backend.spectral_norms(op, &sets, &self.warm, cfg)?;
            for (&k, s) in chunk.iter().zip(norms) {
                scores[k] = s.sigma;
                *iters += s.iterations as u64;
            }
        }
        Ok(scores)
    }
}

fn run(
    backend: &dyn Backend,
    op: &SpectralOperator,
    balls: &BallSet,
    budget: usize,
    objective: MaxSpecObjective,
    cfg: &PowerIterConfig,
    lazy: bool,
) -> Result<Vec<SpecPick>> {
    let n_cand = balls.len();
    let mut st = State { ball_sets: balls.to_sets(), in_r: Bitset::new(op.n()), r_members: Vec::new(), rho_r: 0.0, warm: Vec::new() };
    // Per candidate: last score and the step it was computed at (None = taken).
    let mut bound: Vec<Option<(f64, usize)>> = vec![Some((f64::NEG_INFINITY, usize::MAX)); n_cand];
    let mut picks = Vec::with_capacity(budget);
    for step in 0..budget.min(n_cand) {
        let mut iterations = 0u64;
        let (c, score) = if !lazy {
            let remaining: Vec<u32> = (0..n_cand as u32).filter(|&c| bound[c as usize].is_some()).collect();
            let scores = st.score(backend, op, &remaining, cfg, &mut iterations)?;
            let k = pick_best(&scores, objective);
            (remaining[k], scores[k])
        } else {
            loop {
                // Best fresh score so far and the stale candidates whose bound may still beat or tie it.
                let mut best = f64::INFINITY;
                for b in bound.iter().flatten() {
                    if b.1 == step {
                        best = best.min(b.0);
                    }
                }
                let limit = if best.is_finite() { best + TIE_REL * best.abs() } else { f64::INFINITY };
                let mut stale: Vec<u32> = (0..n_cand as u32)
                    .filter(|&c| matches!(bound[c as usize], Some((v, s)) if s != step && v <= limit))
                    .collect();
                if stale.is_empty() {
                    break;
                }
                // Score the lowest bounds first: they are the likeliest winners.
                stale.sort_by(|&a, &b| bound[a as usize].unwrap().0.total_cmp(&bound[b as usize].unwrap().0).then(a.cmp(&b)));
                stale.truncate(SCORE_BATCH);
                let scores = st.score(backend, op, &stale, cfg, &mut iterations)?;
                for (&c, s) in stale.iter().zip(scores) {
                    bound[c as usize] = Some((s, step));
                }
            }
            let fresh: Vec<(u32, f64)> = (0..n_cand as u32)
                .filter_map(|c| bound[c as usize].filter(|b| b.1 == step).map(|b| (c, b.0)))
                .collect();
            let scores: Vec<f64> = fresh.iter().map(|f| f.1).collect();
            let k = pick_best(&scores, objective);
            fresh[k]
        };
        bound[c as usize] = None;
        for &m in st.ball_sets.get(c as usize) {
            st.in_r.insert(m);
        }
        let mut merged = Vec::new();
        merge_sorted(&st.r_members, st.ball_sets.get(c as usize), &mut merged);
        st.r_members = merged;
        // Warm start for the next step: the singular vector of the new R.
        let (norm, vec) = backend.spectral_vector(op, &st.r_members, &st.warm, cfg)?;
        st.warm = vec;
        st.rho_r = norm.sigma;
        picks.push(SpecPick { candidate: c, score, iterations });
    }
    Ok(picks)
}

/// Index of the best score: the extreme value, then among all scores within [`TIE_REL`] of it the
/// first (smallest candidate index).
pub fn pick_best(scores: &[f64], objective: MaxSpecObjective) -> usize {
    let best = match objective {
        MaxSpecObjective::Min => scores.iter().copied().fold(f64::INFINITY, f64::min),
        MaxSpecObjective::Max => scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    };
    let window = TIE_REL * best.abs();
    scores
        .iter()
        .position(|&s| match objective {
            MaxSpecObjective::Min => s <= best + window,
            MaxSpecObjective::Max => s >= best - window,
        })
        .unwrap_or(0)
}

/// Union of two sorted lists into `out`.
pub fn merge_sorted(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}
