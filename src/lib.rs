//! graphreach: one-shot, deterministic selection of gene perturbations from a gene knowledge graph.
//!
//! * [`graph`]: loading edge lists / GEARS GO graphs / MatrixMarket, the embedded builtin data.
//! * [`select`]: GraphReach (lazy greedy coverage of L-hop balls), MaxSpec, Random, stability.
//! * [`backend`]: the kernel seam with the CPU reference twin and the GPU backends.
//!
//! ```no_run
//! use graphreach::{backend::cpu::CpuBackend, graph, select};
//! let g = graph::io::load_graph("builtin:go-k562")?;
//! let names = graph::names::read_names("builtin:replogle-k562-essential")?;
//! let pool = select::pool::resolve_names(&g, &names, false)?;
//! let sel = select::select(&g, &pool, &select::SelectConfig::default(), &CpuBackend::new(), None)?;
//! print!("{}", sel.to_tsv());
//! # Ok::<(), graphreach::error::Error>(())
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod data;
pub mod gears;
#[cfg(feature = "cli")]
pub mod cli;
pub mod error;
pub mod files;
pub mod graph;
pub mod rng;
pub mod select;
pub mod study;

pub use error::{Error, Result};
