//! GEARS (Roohani et al. 2023) written out by hand in the llm.c manner: every op has an explicit
//! forward and backward on a CPU reference path (f32 for training, f64 for gradient checks).
//!
//! * [`net`]: the network: ops with backward, layers, the model, SGConv propagation, the
//!   co-expression graph, dense matrices.
//! * [`train`]: the settings, the epoch loop, loss, Adam, checkpoints and [`train::run`], the
//!   whole training run (inputs to metrics files) that the CLI and the study call.
//! * [`eval`]: per-perturbation predictions and metrics, the baselines, the report.
//! * [`dataset`]: what training derives from a prepared dataset and perturbation lists
//!   (conditions, GO nodes, co-expression graph, condition means).
//! * [`device`]: the same model and training step on CUDA / wgpu.
//! * [`fixtures`]: seeded toy datasets for tests and benchmarks.

pub mod dataset;
pub mod device;
pub mod eval;
pub mod fixtures;
pub mod net;
pub mod train;

pub use train::config::{CoexprCells, EvalMode, GearsConfig, ModelSelection};
