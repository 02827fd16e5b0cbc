//! `graphreach evaluate`: evaluate a trained GEARS model (and the baselines) on perturbations.

use crate::error::{Error, Result};
use crate::gears::eval::run::{run_evaluation, EvalRun};
use crate::gears::train::run::PertList;
use crate::gears::EvalMode;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `graphreach evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A `graphreach train` output folder (or its model.safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Training-ready dataset with the same genes as the model.
    #[arg(long)]
    pub data: PathBuf,
    /// Perturbations to evaluate (one per line or a `graphreach select` TSV).
    #[arg(long)]
    pub perts: String,
    /// What δ is added to [default: the model's training setting].
    #[arg(long, value_enum)]
    pub eval_mode: Option<EvalMode>,
    /// Write the metrics JSON here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Drop listed perturbations that the dataset does not have (with a note) instead of failing.
    #[arg(long)]
    pub skip_missing: bool,
}

/// Runs `graphreach evaluate`.
pub fn run_evaluate(a: EvaluateArgs) -> Result<()> {
    let run = EvalRun { model: a.model, data: a.data, perts: PertList::File(a.perts), eval_mode: a.eval_mode, skip_missing: a.skip_missing };
    let report = run_evaluation(&run, true)?.report;
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Json { path: "metrics".into(), source: e })?;
    eprint!("{}", report.summary_text());
    match &a.out {
        Some(p) => std::fs::write(p, json).map_err(|e| Error::io(p, e)),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}
