//! Evaluating a trained model.
//!
//! * [`predict`]: δ and mean expression per perturbation, and its metrics ([`crate::gears::train::fit::TrainContext::evaluate`]).
//! * [`metrics`]: per-perturbation metrics and their means; [`baselines`]: no change, training
//!   mean and the linear model; [`report`]: `metrics.json` and the per-perturbation table.
//! * [`embed`]: perturbation embeddings for the active-learning baselines (mean expression,
//!   compact `cross_gene_out`), as `graphreach embed` writes them.
//! * [`run`]: evaluating a model file on a dataset ([`run::run_evaluation`]), as `graphreach evaluate` does.

pub mod baselines;
pub mod embed;
pub mod metrics;
pub mod predict;
pub mod report;
pub mod run;
