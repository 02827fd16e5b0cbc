//! `graphreach evaluate`: evaluate a trained GEARS model (and the baselines) on perturbations.

use crate::error::{Error, Result};
use crate::files::output::{write_output, OutputTarget};
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
    /// Write the metrics JSON here instead of stdout (`-`: stdout). An existing file is kept unless --force.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Drop listed perturbations that the dataset does not have (with a note) instead of failing.
    #[arg(long)]
    pub skip_missing: bool,
    /// GEARS categories of the perturbations (the categories.tsv that `split --scheme simulation`
    /// writes) for the per-category metrics [default: from the model's training genes when a
    /// perturbation is a double].
    #[arg(long)]
    pub categories: Option<PathBuf>,
    /// Also write the per-category metrics as TSV here (`-`: stdout). An existing file is kept unless --force.
    #[arg(long)]
    pub categories_tsv: Option<PathBuf>,
}

/// Runs `graphreach evaluate`.
pub fn run_evaluate(a: EvaluateArgs) -> Result<()> {
    let target = OutputTarget::new(a.out.as_deref(), a.force);
    target.check()?;
    let tsv_target = a.categories_tsv.as_deref().map(|p| OutputTarget::file(p, a.force));
    if let Some(t) = &tsv_target {
        t.check()?;
    }
    let run = EvalRun {
        model: a.model,
        data: a.data,
        perts: PertList::File(a.perts),
        eval_mode: a.eval_mode,
        skip_missing: a.skip_missing,
        categories: a.categories,
    };
    let report = run_evaluation(&run, true)?.report;
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Json { path: "metrics".into(), source: e })?;
    eprint!("{}", report.summary_text());
    if let Some(t) = &tsv_target {
        write_output(t, &report.categories_tsv())?;
    }
    write_output(&target, &(json + "\n"))
}
