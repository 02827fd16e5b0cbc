//! GEARS (Roohani et al. 2023) written out by hand in the llm.c manner: every op has an explicit
//! forward and backward on a CPU reference path (f32 for training, f64 for gradient checks).
//!
//! * [`model`]: the network over groups of identical cells; [`layers`], [`ops`]: its pieces.
//! * [`graph_norm`]: SGConv(K=1) with PyG `gcn_norm`; [`coexpr`]: the co-expression graph.
//! * [`loss`], [`adam`]: the autofocus loss and the optimiser as GEARS trains.

pub mod adam;
pub mod coexpr;
pub mod graph_norm;
pub mod layers;
pub mod loss;
pub mod mat;
pub mod model;
pub mod ops;
pub mod params;

#[cfg(test)]
mod model_check;
