//! Perturb-seq data: the training-ready [`Dataset`] and (to come) h5ad reading, preprocessing,
//! splits and the synthetic K562 simulator.

pub mod dataset;

pub use dataset::{ConditionDe, CsrMatrix, Dataset};

/// Loads a training-ready dataset written by `graphreach prepare` (or a GEARS `perturb_processed.h5ad`).
pub fn load_dataset(path: &std::path::Path) -> crate::error::Result<Dataset> {
    Err(crate::error::Error::invalid(format!("{}: dataset loading is not implemented in this build yet", path.display())))
}
