//! What the trainer derives from a prepared dataset (`graphreach prepare` output) and perturbation
//! lists before training.
//!
//! * [`conditions`]: the dataset conditions a list names, the perturbed genes' GO-graph nodes and
//!   the co-expression graph.
//! * [`means`]: per-condition mean expression (truth, paired controls) and the consistency check.

pub mod conditions;
pub mod means;
