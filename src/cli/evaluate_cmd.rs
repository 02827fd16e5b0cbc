//! `graphreach evaluate`: evaluate a trained GEARS model (and the baselines) on perturbations.

use crate::error::{Error, Result};
use crate::gears::checkpoint::load_model;
use crate::gears::prepare::{condition_nodes, resolve_conditions, ConditionMeans};
use crate::gears::report::build_report;
use crate::gears::train::TrainContext;
use crate::gears::EvalMode;
use crate::graph::names::{read_names, NameList};
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
    let path = if a.model.is_dir() { a.model.join("model.safetensors") } else { a.model.clone() };
    let mf = load_model(&path)?;
    let data = crate::data::load_dataset(&a.data)?;
    if data.gene_names != mf.meta.genes {
        return Err(Error::invalid(format!(
            "{}: the model was trained on {} genes of dataset '{}', which differ from the {} genes of {}",
            path.display(),
            mf.meta.genes.len(),
            mf.meta.dataset,
            data.gene_names.len(),
            a.data.display()
        )));
    }
    let mut notes = Vec::new();
    let test: Vec<u32> = resolve_conditions(&data, &read_names(&a.perts)?, a.skip_missing, &mut notes)?.into_iter().filter(|&c| c != 0).collect();
    // The training perturbations feed the mean and linear baselines; those absent here are skipped.
    let train_list = NameList {
        source: format!("{} (training perturbations)", path.display()),
        names: mf.meta.train_conditions.iter().enumerate().map(|(i, n)| (i + 1, n.clone())).collect(),
    };
    let train = resolve_conditions(&data, &train_list, true, &mut notes).unwrap_or_default();
    for n in &notes {
        eprintln!("note: {n}");
    }
    let all: Vec<u32> = train.iter().chain(&test).copied().collect();
    let cond_nodes = condition_nodes(&data, &all, &mf.meta.pert_names, &mf.meta.graph)?;
    let mut cfg = mf.meta.config.clone();
    if let Some(m) = a.eval_mode {
        cfg.eval_mode = m;
    }
    let ctx = TrainContext {
        data: &data,
        cfg,
        coexpr: mf.coexpr,
        go: mf.go,
        cond_nodes,
        means: ConditionMeans::new(&data)?,
        train_conds: train,
        val_conds: Vec::new(),
    };
    let report = build_report(&ctx, &mf.model, &test);
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
