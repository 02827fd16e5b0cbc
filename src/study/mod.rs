//! The study (issue 11): "if we pick the whole batch at once with GraphReach, how does the model
//! compare with five rounds of active learning, and how stable are the picks?" as a resumable
//! experiment over folds x seeds x cycles (spec §6.3, §7, §8, §9.4).
//!
//! * [`config`]: the TOML configuration and the embedded presets.
//! * [`folder`], [`inputs`], [`plan`]: `experiment plan` (prepared data, folds, validation
//!   batches, the unit list with dependencies and commands).
//! * [`unit`], [`oneshot`], [`active`]: one unit (selection, GEARS training, metrics, marker).
//! * [`run`]: `experiment run` (units in dependency order, `jobs` at a time, progress bar).
//! * [`report`]: `experiment report` (results.tsv, summary.tsv, report.md, SVG figures).
//!
//! Level 5 of the layers: it uses select, gears, data, graph and backend; nothing below uses it.

pub mod active;
pub mod cache;
pub mod config;
pub mod folder;
mod fsio;
pub mod inputs;
pub mod oneshot;
pub mod plan;
pub mod report;
pub mod run;
pub mod unit;

pub use config::{preset, Study, StudyConfig, StudyMethod, PRESETS};
pub use folder::{open, plan, StudyDir};
pub use report::write_report;
pub use run::{run_units, RunOptions, RunSummary};
pub use unit::{run_unit, UnitOptions, UnitStatus};
