//! Evaluating a trained model.
//!
//! * [`metrics`]: per-perturbation metrics and their means; [`baselines`]: no change, training
//!   mean and the linear model; [`report`]: `metrics.json` and the per-perturbation table.

pub mod baselines;
pub mod metrics;
pub mod report;
