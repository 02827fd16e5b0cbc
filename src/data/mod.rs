//! Perturb-seq data: the training-ready [`Dataset`], AnnData `.h5ad` reading ([`h5ad`]) and
//! writing ([`write`]), raw-count input ([`raw`]), GEARS-equivalent preprocessing ([`prepare`],
//! [`de`]), DEG counts as the real screens count them ([`deg_test`], [`anderson`]), the share of variance explained by the perturbation ([`variance`]), the on-disk
//! prepared dataset ([`store`]), splits ([`split`]) with GEARS's double categories ([`categories`]) and the synthetic K562
//! simulator ([`simulate`], [`sim_inputs`], [`sim_report`], [`sampling`]) with its Norman 2019
//! doubles preset ([`norman`], [`sim_norman`]) and the genetic-interaction refit ([`gi_fit`]).

pub mod anderson;
pub mod categories;
pub mod dataset;
pub mod de;
pub mod deg_test;
pub mod gi_fit;
pub mod h5ad;
pub mod norman;
pub mod prepare;
pub mod raw;
pub mod sampling;
pub mod sim_inputs;
pub mod sim_norman;
pub mod sim_report;
pub mod simulate;
pub mod split;
pub mod variance;
pub mod store;
pub mod write;

pub use dataset::{ConditionDe, CsrMatrix, Dataset};

/// Loads a training-ready dataset written by `graphreach prepare` (or a GEARS `perturb_processed.h5ad`).
pub fn load_dataset(path: &std::path::Path) -> crate::error::Result<Dataset> {
    store::load_dataset(path)
}
