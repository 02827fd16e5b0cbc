//! A whole training run, as `graphreach train` does it and as the study does it for every
//! experiment unit: load the dataset and the GO graph, resolve the perturbation lists, build the
//! training context (co-expression graph, condition means), start fresh or resume from the
//! output folder's checkpoint, train on the chosen device (checkpointing after every epoch),
//! then evaluate the kept model on the test perturbations and write the result files.
//!
//! [`run_training`] takes a [`TrainRun`] (plain paths, lists and a [`GearsConfig`]: no command
//! line needed) and returns a [`TrainOutcome`] (metrics, files written, epochs run).

use super::checkpoint::{load_checkpoint, save_checkpoint, save_model, ModelMeta};
use super::config::{GearsConfig, ModelSelection};
use super::fit::{EpochLog, Hooks, TrainContext, TrainState};
use crate::backend::BackendChoice;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::files::output::write_file_with;
use crate::files::run_folder::{self, Reuse, RunFolder};
use crate::gears::dataset::conditions::{coexpression_graph, condition_nodes, graph_symbols, resolve_conditions};
use crate::gears::dataset::means::ConditionMeans;
use crate::gears::device::{self, Selected};
use crate::gears::eval::report::{build_report, Report};
use crate::gears::net::propagation::Propagation;
use crate::graph::Graph;
use crate::graph::names::{read_names, NameList};
use std::path::{Path, PathBuf};

/// The file names a run writes in its output folder.
pub mod file_names {
    /// The kept model (best validation or last epoch).
    pub const MODEL: &str = "model.safetensors";
    /// The training state after the last finished epoch (for resuming).
    pub const CHECKPOINT: &str = "checkpoint.safetensors";
    /// The per-epoch log (TSV).
    pub const TRAIN_LOG: &str = "train_log.tsv";
    /// The kept model's and the baselines' metrics on the test perturbations (JSON).
    pub const METRICS: &str = "metrics.json";
    /// The per-perturbation metrics (TSV).
    pub const PER_PERTURBATION: &str = "per_perturbation.tsv";
    /// The settings of the run (JSON).
    pub const CONFIG: &str = "config.json";
    /// The metrics per GEARS category of the test perturbations (TSV; written when the test set has doubles).
    pub const PER_CATEGORY: &str = "per_category.tsv";
    /// Every file a run writes.
    pub const ALL: [&str; 7] = [MODEL, CHECKPOINT, TRAIN_LOG, METRICS, PER_PERTURBATION, CONFIG, PER_CATEGORY];
}

/// Whether `rel` (relative to a run folder) is a file a training run writes (see [`file_names`]).
pub fn is_run_file(rel: &str) -> bool {
    file_names::ALL.contains(&rel)
}

/// What a refused run into a folder holding an earlier run tells the user.
const EXISTING_HINT: &str = "pass --resume to continue that run or --force to start over (its files are removed first; other files stay)";

/// A list of perturbations: genes, `A+ctrl`, `A+B`, `ctrl`, one per line, or a `graphreach select` TSV.
#[derive(Clone, Debug)]
pub enum PertList {
    /// A file (or `builtin:NAME`), read when the run needs it (after the dataset is loaded).
    File(String),
    /// Names already in memory (e.g. a selection the study just made).
    Names(NameList),
}

impl PertList {
    /// The names of the list.
    pub fn names(&self) -> Result<NameList> {
        match self {
            PertList::File(spec) => read_names(spec),
            PertList::Names(list) => Ok(list.clone()),
        }
    }
}

/// What to do when the output folder already holds a checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Existing {
    /// Refuse to start (a checkpoint there is an error that names `--resume` and `--force`).
    #[default]
    Refuse,
    /// Continue from the checkpoint, which must exist and match the data, lists and settings.
    Resume,
    /// Start over, replacing the folder's files.
    Overwrite,
}

/// The inputs and settings of one training run; `graphreach train` maps its flags onto this.
#[derive(Clone, Debug)]
pub struct TrainRun {
    /// Training-ready dataset (written by `graphreach prepare`, or a GEARS `perturb_processed.h5ad`).
    pub data: PathBuf,
    /// GO perturbation graph: a file or `builtin:NAME`; every perturbed gene must be a node.
    pub graph: String,
    /// Training perturbations.
    pub train: PertList,
    /// Validation perturbations (for [`ModelSelection::BestVal`]); none when `None`.
    pub val: Option<PertList>,
    /// Held-out test perturbations.
    pub test: PertList,
    /// Model and training settings.
    pub config: GearsConfig,
    /// Where the training steps run (validation and evaluation always run on the CPU).
    pub backend: BackendChoice,
    /// Output folder (created if missing): see [`file_names`].
    pub out: PathBuf,
    /// What to do with an earlier run's files in `out` (see [`crate::files::run_folder`]).
    pub existing: Existing,
    /// Train on the control cells too (GEARS appends `ctrl` to the training set), whether or not
    /// the training list names `ctrl`; when false, only the listed perturbations (never `ctrl`).
    pub train_ctrl: bool,
    /// Drop listed perturbations that the dataset does not have (with a note) instead of failing.
    pub skip_missing: bool,
}

impl TrainRun {
    /// A run with GEARS's settings, the CPU or a GPU chosen automatically, control cells trained
    /// on, a fresh output folder required, and missing perturbations an error.
    pub fn new(data: PathBuf, graph: String, train: PertList, test: PertList, out: PathBuf) -> Self {
        TrainRun {
            data,
            graph,
            train,
            val: None,
            test,
            config: GearsConfig::default(),
            backend: BackendChoice::Auto,
            out,
            existing: Existing::Refuse,
            train_ctrl: true,
            skip_missing: false,
        }
    }

    /// The path of one of the run's files (see [`file_names`]).
    pub fn file(&self, name: &str) -> PathBuf {
        self.out.join(name)
    }
}

/// The paths a run wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFiles {
    /// The kept model.
    pub model: PathBuf,
    /// The checkpoint after the last epoch.
    pub checkpoint: PathBuf,
    /// The per-epoch log.
    pub train_log: PathBuf,
    /// The metrics JSON.
    pub metrics: PathBuf,
    /// The per-perturbation TSV.
    pub per_perturbation: PathBuf,
    /// The settings JSON.
    pub config: PathBuf,
}

/// What a finished run produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The kept model's and the baselines' metrics on the test perturbations.
    pub report: Report,
    /// The 1-based epoch whose weights were kept.
    pub kept_epoch: usize,
    /// Epochs trained by this call (fewer than the configured epochs after a resume).
    pub epochs_run: usize,
    /// Epochs finished in all, including those before a resume.
    pub epochs_done: usize,
    /// The per-epoch log of the whole run.
    pub log: Vec<EpochLog>,
    /// Where the training steps ran (`cpu (N threads)`, `cuda (...)`, `wgpu (...)`).
    pub device: String,
    /// Notes for the user (skipped devices, skipped perturbations, overlaps, resume point).
    pub notes: Vec<String>,
    /// The files written.
    pub files: RunFiles,
}

/// Runs `run` from its files: loads the dataset and the graph, then [`run_training_with`].
/// With `hooks.progress`, notes, a progress bar and one line per epoch go to stderr;
/// `hooks.interrupt` stops after the current step (the last finished epoch's checkpoint is kept).
pub fn run_training(run: &TrainRun, hooks: Hooks) -> Result<TrainOutcome> {
    let mut notes = Vec::new();
    let (device, folder) = start(run, &mut notes, hooks.progress)?;
    let data = crate::data::load_dataset(&run.data)?;
    let graph = crate::graph::io::load_graph(&run.graph)?;
    train_and_evaluate(run, &data, &graph, device, folder, notes, hooks)
}

/// [`run_training`] on a dataset and a graph already loaded (`run.data` is not read; `run.graph`
/// is recorded in the model files as the graph's name).
pub fn run_training_with(run: &TrainRun, data: &Dataset, graph: &Graph, hooks: Hooks) -> Result<TrainOutcome> {
    let mut notes = Vec::new();
    let (device, folder) = start(run, &mut notes, hooks.progress)?;
    train_and_evaluate(run, data, graph, device, folder, notes, hooks)
}

/// Checks the settings and the output folder, opens the device, then creates and locks the folder
/// (removing an earlier run's files when overwriting).
fn start(run: &TrainRun, notes: &mut Vec<String>, progress: bool) -> Result<(Selected, RunFolder)> {
    run.config.validate()?;
    let reuse = match run.existing {
        Existing::Refuse => Reuse::Fresh,
        Existing::Resume => Reuse::Continue,
        Existing::Overwrite => Reuse::Replace,
    };
    run_folder::check(&run.out, reuse, &is_run_file, EXISTING_HINT)?;
    let ckpt = run.file(file_names::CHECKPOINT);
    if run.existing == Existing::Resume && !ckpt.exists() {
        return Err(Error::invalid(format!("--resume: {} does not exist", ckpt.display())));
    }
    let (device, skipped) = device::select(run.backend)?;
    let mut device_notes = skipped;
    device_notes.push(format!("training steps on {}", device.describe()));
    if progress {
        device_notes.iter().for_each(|n| eprintln!("note: {n}"));
    }
    notes.extend(device_notes);
    let folder = RunFolder::open(&run.out, reuse, &is_run_file, EXISTING_HINT)?;
    Ok((device, folder))
}

/// The training, validation and test conditions of a run, with notes on what was skipped.
fn resolve_lists(run: &TrainRun, data: &Dataset, notes: &mut Vec<String>) -> Result<(Vec<u32>, Vec<u32>, Vec<u32>)> {
    let mut train = resolve_conditions(data, &run.train.names()?, run.skip_missing, notes)?;
    if !run.train_ctrl {
        train.retain(|&c| c != 0);
    } else if !train.contains(&0) {
        train.insert(0, 0);
    }
    let val = match &run.val {
        Some(v) => resolve_conditions(data, &v.names()?, run.skip_missing, notes)?.into_iter().filter(|&c| c != 0).collect(),
        None => Vec::new(),
    };
    let test: Vec<u32> = resolve_conditions(data, &run.test.names()?, run.skip_missing, notes)?.into_iter().filter(|&c| c != 0).collect();
    let overlap: Vec<&str> = test.iter().filter(|c| train.contains(c)).map(|&c| data.conditions[c as usize].as_str()).collect();
    if !overlap.is_empty() {
        notes.push(format!("{} test perturbation(s) are also training perturbations: {}", overlap.len(), overlap.join(", ")));
    }
    if run.config.model_selection == ModelSelection::BestVal && val.is_empty() {
        notes.push("no --val set: the last epoch's model is kept".into());
    }
    Ok((train, val, test))
}

/// The fresh training state, or the checkpoint's when resuming (which must match `meta`).
fn initial_state(run: &TrainRun, ctx: &TrainContext, meta: &ModelMeta, notes: &mut Vec<String>) -> Result<TrainState> {
    if run.existing != Existing::Resume {
        return Ok(ctx.new_state());
    }
    let ckpt = run.file(file_names::CHECKPOINT);
    let cfg = &run.config;
    let (s, old) = load_checkpoint(&ckpt)?;
    let same = old.genes == meta.genes
        && old.pert_names == meta.pert_names
        && old.train_conditions == meta.train_conditions
        && old.config.hidden == cfg.hidden
        && old.config.seed == cfg.seed
        && old.config.batch_size == cfg.batch_size;
    if !same {
        return Err(Error::invalid(format!(
            "--resume: {} was written for different data, perturbations or settings (genes, graph, --train, --hidden, --seed, --batch-size must match)",
            ckpt.display()
        )));
    }
    if s.epochs_done >= cfg.epochs {
        return Err(Error::invalid(format!(
            "--resume: {} has finished {} epoch(s) already, so --epochs {} leaves nothing to train; pass --epochs N with N > {} to train further, or --force to start over",
            ckpt.display(),
            s.epochs_done,
            cfg.epochs,
            s.epochs_done
        )));
    }
    notes.push(format!("resuming after epoch {} of {}", s.epochs_done, cfg.epochs));
    Ok(s)
}

/// Trains and evaluates; `folder` (the locked output folder) is held until the last file is written.
fn train_and_evaluate(
    run: &TrainRun,
    data: &Dataset,
    graph: &Graph,
    device: Selected,
    folder: RunFolder,
    mut notes: Vec<String>,
    hooks: Hooks,
) -> Result<TrainOutcome> {
    let progress = hooks.progress;
    let print_from = |notes: &[String], from: usize| {
        if progress {
            notes[from..].iter().for_each(|n| eprintln!("note: {n}"));
        }
    };
    let cfg = run.config.clone();
    let pert_names = graph_symbols(graph)?;
    let first = notes.len();
    let (train, val, test) = resolve_lists(run, data, &mut notes)?;
    print_from(&notes, first);
    let all: Vec<u32> = train.iter().chain(&val).chain(&test).copied().collect();
    let cond_nodes = condition_nodes(data, &all, &pert_names, &graph.name)?;
    let go = Propagation::from_graph(graph)?;
    let coexpr = coexpression_graph(data, &train, cfg.coexpr_cells)?;
    let means = ConditionMeans::new(data)?;
    let names = |cs: &[u32]| cs.iter().map(|&c| data.conditions[c as usize].clone()).collect::<Vec<_>>();
    let mut meta = ModelMeta {
        config: cfg.clone(),
        dataset: data.name.clone(),
        genes: data.gene_names.clone(),
        pert_names,
        graph: run.graph.clone(),
        train_conditions: names(&train),
        val_conditions: names(&val),
        epoch: 0,
    };
    let ctx = TrainContext { data, cfg: cfg.clone(), coexpr, go, cond_nodes, means, train_conds: train, val_conds: val };
    let first = notes.len();
    let mut state = initial_state(run, &ctx, &meta, &mut notes)?;
    print_from(&notes, first);
    let epochs_before = state.epochs_done;
    let files = RunFiles {
        model: folder.file(file_names::MODEL),
        checkpoint: folder.file(file_names::CHECKPOINT),
        train_log: folder.file(file_names::TRAIN_LOG),
        metrics: folder.file(file_names::METRICS),
        per_perturbation: folder.file(file_names::PER_PERTURBATION),
        config: folder.file(file_names::CONFIG),
    };
    let mut on_epoch = |s: &TrainState| -> Result<()> {
        meta.epoch = s.selected.as_ref().map_or(0, |x| x.1);
        save_checkpoint(&files.checkpoint, s, &ctx.coexpr, &ctx.go, &meta)?;
        if let Some((m, _)) = &s.selected {
            save_model(&files.model, m, &ctx.coexpr, &ctx.go, &meta)?;
        }
        write_file(&files.train_log, &log_tsv(&s.log))?;
        if progress {
            if let Some(l) = s.log.last() {
                let val = l.val_mse_de.map_or(String::new(), |v| format!(", val mse_de {v:.5}"));
                eprintln!("epoch {}/{}: loss {:.5}{val}, {:.1} s ({:.1} s CPU)", l.epoch, ctx.cfg.epochs, l.train_loss, l.seconds, l.cpu_seconds);
            }
        }
        Ok(())
    };
    let device_name = device.describe();
    let res = device.fit(&ctx, &mut state, hooks, &mut on_epoch);
    if let Err(Error::Interrupted(msg)) = res {
        return Err(Error::Interrupted(format!("{msg}: {}", files.checkpoint.display())));
    }
    res?;
    let (model, kept_epoch) = state.selected.clone().unwrap_or((state.model.clone(), state.epochs_done));
    let report = build_report(&ctx, &model, &test)?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Json { path: file_names::METRICS.into(), source: e })?;
    write_file(&files.metrics, &json)?;
    write_file(&files.per_perturbation, &report.to_tsv())?;
    if !report.per_category.is_empty() {
        write_file(&folder.file(file_names::PER_CATEGORY), &report.categories_tsv())?;
    }
    let cfg_json = serde_json::to_string_pretty(&cfg).map_err(|e| Error::Json { path: file_names::CONFIG.into(), source: e })?;
    write_file(&files.config, &cfg_json)?;
    drop(folder);
    Ok(TrainOutcome {
        report,
        kept_epoch,
        epochs_run: state.epochs_done - epochs_before,
        epochs_done: state.epochs_done,
        log: state.log,
        device: device_name,
        notes,
        files,
    })
}

/// The per-epoch log as TSV (`NA` where there is no validation set).
pub fn log_tsv(log: &[EpochLog]) -> String {
    let mut s = String::from("epoch\tlr\ttrain_loss\ttrain_direction\tsteps\tseconds\tval_mse_de\tval_pearson_delta\tcpu_seconds\n");
    let opt = |v: Option<f64>| v.map_or("NA".to_string(), |x| format!("{x:.6}"));
    for l in log {
        s += &format!(
            "{}\t{:.3e}\t{:.6}\t{:.6}\t{}\t{:.2}\t{}\t{}\t{:.2}\n",
            l.epoch, l.lr, l.train_loss, l.train_direction, l.steps, l.seconds, opt(l.val_mse_de), opt(l.val_pearson_delta), l.cpu_seconds
        );
    }
    s
}

/// Writes one of the run's files (the run folder is locked and owned: replacing is allowed).
fn write_file(path: &Path, text: &str) -> Result<()> {
    write_file_with(path, true, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
