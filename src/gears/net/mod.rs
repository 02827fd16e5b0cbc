//! The GEARS network with an explicit forward and backward for every piece.
//!
//! * [`model`]: the network over groups of identical cells; [`layers`], [`ops`]: its pieces.
//! * [`propagation`]: SGConv(K=1) with PyG `gcn_norm`; [`coexpr`]: the co-expression graph's edges.
//! * [`params`]: named parameters (PyTorch `state_dict` names); [`mat`]: dense matrices and GEMM.

pub mod coexpr;
pub mod layers;
pub mod mat;
pub mod model;
pub mod ops;
pub mod params;
pub mod propagation;
