//! Evaluating a trained model file on perturbations of a dataset, as `graphreach evaluate` does:
//! [`run_evaluation`] takes an [`EvalRun`] and returns the [`Report`] with notes.

use super::report::{build_report_with, Report};
use crate::data::categories::CategoryTable;
use crate::error::{Error, Result};
use crate::gears::dataset::conditions::{condition_nodes, resolve_conditions};
use crate::gears::dataset::means::ConditionMeans;
use crate::gears::train::checkpoint::load_model;
use crate::gears::train::fit::TrainContext;
use crate::gears::train::run::{file_names, PertList};
use crate::gears::EvalMode;
use crate::graph::names::NameList;
use std::path::PathBuf;

/// What to evaluate.
#[derive(Clone, Debug)]
pub struct EvalRun {
    /// A training output folder (its model file is used) or a model file.
    pub model: PathBuf,
    /// Training-ready dataset with the same genes as the model.
    pub data: PathBuf,
    /// The perturbations to evaluate (`ctrl` is ignored).
    pub perts: PertList,
    /// What δ is added to; the model's training setting when `None`.
    pub eval_mode: Option<EvalMode>,
    /// Drop listed perturbations that the dataset does not have (with a note) instead of failing.
    pub skip_missing: bool,
    /// GEARS categories of the test perturbations (the `categories.tsv` of the split); `None`:
    /// from the model's training and validation genes when a test perturbation is a double.
    pub categories: Option<PathBuf>,
}

/// The result of an evaluation.
#[derive(Clone, Debug)]
pub struct EvalOutcome {
    /// The model's and the baselines' metrics.
    pub report: Report,
    /// Notes for the user (skipped perturbations).
    pub notes: Vec<String>,
}

/// Evaluates the model of `run` on its perturbations, next to the baselines (the mean and linear
/// baselines use the model's training perturbations that the dataset has). With `progress`, the
/// notes also go to stderr as soon as they are known.
pub fn run_evaluation(run: &EvalRun, progress: bool) -> Result<EvalOutcome> {
    let path = if run.model.is_dir() { run.model.join(file_names::MODEL) } else { run.model.clone() };
    let mf = load_model(&path)?;
    let data = crate::data::load_dataset(&run.data)?;
    if data.gene_names != mf.meta.genes {
        return Err(Error::invalid(format!(
            "{}: the model was trained on {} genes of dataset '{}', which differ from the {} genes of {}",
            path.display(),
            mf.meta.genes.len(),
            mf.meta.dataset,
            data.gene_names.len(),
            run.data.display()
        )));
    }
    let mut notes = Vec::new();
    let test: Vec<u32> = resolve_conditions(&data, &run.perts.names()?, run.skip_missing, &mut notes)?.into_iter().filter(|&c| c != 0).collect();
    // The training perturbations feed the mean and linear baselines; those absent here are skipped.
    let train_list = NameList {
        source: format!("{} (training perturbations)", path.display()),
        names: mf.meta.train_conditions.iter().enumerate().map(|(i, n)| (i + 1, n.clone())).collect(),
    };
    let train = resolve_conditions(&data, &train_list, true, &mut notes).unwrap_or_default();
    let val_list = NameList {
        source: format!("{} (validation perturbations)", path.display()),
        names: mf.meta.val_conditions.iter().enumerate().map(|(i, n)| (i + 1, n.clone())).collect(),
    };
    let val = if val_list.names.is_empty() { Vec::new() } else { resolve_conditions(&data, &val_list, true, &mut notes).unwrap_or_default() };
    let categories = run.categories.as_deref().map(CategoryTable::read).transpose()?;
    if progress {
        notes.iter().for_each(|n| eprintln!("note: {n}"));
    }
    let all: Vec<u32> = train.iter().chain(&test).copied().collect();
    let cond_nodes = condition_nodes(&data, &all, &mf.meta.pert_names, &mf.meta.graph)?;
    let mut cfg = mf.meta.config.clone();
    if let Some(m) = run.eval_mode {
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
        val_conds: val,
    };
    let report = build_report_with(&ctx, &mf.model, &test, categories.as_ref())?;
    Ok(EvalOutcome { report, notes })
}
