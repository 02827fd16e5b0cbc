//! GEARS (Roohani et al. 2023) written out by hand in the llm.c manner: every op has an explicit
//! forward and backward on a CPU reference path (f32 for training, f64 for gradient checks).
//!
//! * [`model`]: the network over groups of identical cells; [`layers`], [`ops`]: its pieces.
//! * [`graph_norm`]: SGConv(K=1) with PyG `gcn_norm`; [`coexpr`]: the co-expression graph.
//! * [`loss`], [`adam`]: the autofocus loss and the optimiser as GEARS trains.
//! * [`train`]: the loop and per-perturbation evaluation; [`metrics`], [`baselines`], [`report`].
//! * [`prepare`]: conditions, graphs and means from a dataset; [`checkpoint`]: safetensors files.

pub mod adam;
pub mod baselines;
pub mod checkpoint;
pub mod coexpr;
pub mod device;
pub mod config;
pub mod graph_norm;
pub mod layers;
pub mod loss;
pub mod mat;
pub mod model;
pub mod metrics;
pub mod ops;
pub mod params;
pub mod prepare;
pub mod report;
pub mod toy;
pub mod train;

#[cfg(test)]
mod model_check;
#[cfg(test)]
mod train_check;

pub use config::{CoexprCells, EvalMode, GearsConfig, ModelSelection};
