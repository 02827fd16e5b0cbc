//! Perturb-seq data: the training-ready [`Dataset`] and (to come) h5ad reading, preprocessing,
//! splits and the synthetic K562 simulator.

pub mod dataset;

pub use dataset::{ConditionDe, CsrMatrix, Dataset};
