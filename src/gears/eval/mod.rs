//! Evaluating a trained model.
//!
//! * [`predict`]: δ and mean expression per perturbation, and its metrics ([`crate::gears::train::fit::TrainContext::evaluate`]).
//! * [`metrics`]: per-perturbation metrics and their means; [`baselines`]: no change, training
//!   mean and the linear model; [`report`]: `metrics.json` and the per-perturbation table.

pub mod baselines;
pub mod metrics;
pub mod predict;
pub mod report;
