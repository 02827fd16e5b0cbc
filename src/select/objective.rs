//! The seam between the greedy loops ([`super::greedy`]) and what they maximise: GraphReach's
//! coverage gain ([`super::greedy::Coverage`]) and MaxSpec's spectral score
//! ([`super::maxspec::SpecObjective`]).
//!
//! An objective values candidates `0..n` at the current selection in batches (what a GPU wants),
//! and adds a picked candidate to the selection. Its value type ([`Gain`]) says which of two values
//! is better and when two values tie; among tied best values the smallest candidate index wins.

use crate::error::Result;
use std::cmp::Ordering;
use std::fmt::Debug;

/// A candidate's value at the current selection (a marginal gain or a score).
pub trait Gain: Copy + Debug + PartialEq {
    /// `Greater` when `self` is better than `other` (a larger gain, or a smaller score when smaller
    /// is better). Must be a total order.
    fn cmp_better(&self, other: &Self) -> Ordering;

    /// Whether `other`, no better than the best value `self`, still ties with it. Every value that
    /// ties the best is a candidate for the pick, which goes to the smallest index. Exact equality
    /// always ties; this adds a tolerance window (MaxSpec: relative 1e-6). Default: none.
    fn ties(&self, other: &Self) -> bool {
        let _ = other;
        false
    }

    /// Whether a pick of this value adds nothing (a zero coverage gain): the first such pick is
    /// where the objective saturated. Default: never.
    fn saturated(&self) -> bool {
        false
    }
}

/// Integer coverage gains: larger is better, exact ties only, zero is saturated.
impl Gain for u64 {
    fn cmp_better(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }

    fn saturated(&self) -> bool {
        *self == 0
    }
}

/// One answer of [`Objective::evaluate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Eval<G> {
    /// The exact value at the current selection.
    Exact(G),
    /// Only an optimistic bound (at least as good as the exact value), for example an f32 GPU
    /// score widened by its error. The lazy loop asks again, within the same step, only if the
    /// bound can still matter; the second answer in a step must be [`Eval::Exact`].
    Bound(G),
}

/// What the lazy ([`super::greedy::lazy_search`]) and naive ([`super::greedy::naive_search`])
/// greedy loops need from an objective over candidates `0..n_candidates()`.
///
/// The lazy loop keeps a value from an earlier step as a bound, so it needs values that never get
/// better as the selection grows (diminishing coverage gains; MaxSpec's ρ, which never decreases,
/// with the `min` objective).
pub trait Objective {
    /// The value type.
    type Gain: Gain;

    /// Number of candidates.
    fn n_candidates(&self) -> usize;

    /// Candidates the lazy loop evaluates per call while some have never been evaluated (the
    /// first pass, in index order). Default: all at once.
    fn first_pass_width(&self) -> usize {
        self.n_candidates()
    }

    /// Lazy loop: the values of `ids` at the current selection, one answer per id pushed onto
    /// `out` (cleared by the caller), in order. `best` is the best exact value found so far in this
    /// step (`None` before the first), for objectives that decide how exactly to score by it.
    fn evaluate(&mut self, ids: &[u32], best: Option<Self::Gain>, out: &mut Vec<Eval<Self::Gain>>) -> Result<()>;

    /// Naive loop: the values of `ids` (every remaining candidate, ascending), one per id pushed onto
    /// `out` (cleared by the caller). Every value that could be picked, or could tie the pick, must
    /// be exact; the others need only rank below it.
    fn evaluate_all(&mut self, ids: &[u32], out: &mut Vec<Self::Gain>) -> Result<()>;

    /// Adds candidate `id`, picked with exact value `gain`, to the selection.
    fn commit(&mut self, id: u32, gain: Self::Gain) -> Result<()>;
}
