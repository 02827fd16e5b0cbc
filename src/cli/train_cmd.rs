//! `graphreach train`: train GEARS on the perturbations of a selection and evaluate held-out ones.

use crate::backend::BackendChoice;
use crate::error::Result;
use crate::gears::train::fit::Hooks;
use crate::gears::train::run::{run_training, Existing, PertList, TrainRun};
use crate::gears::{CoexprCells, EvalMode, GearsConfig, ModelSelection};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Arguments of `graphreach train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training-ready dataset (written by `graphreach prepare`).
    #[arg(long)]
    pub data: PathBuf,
    /// GO perturbation graph: a file or `builtin:NAME`; every perturbed gene must be a node.
    #[arg(long, default_value = "builtin:go-k562")]
    pub graph: String,
    /// Training perturbations: one per line (gene, `A+ctrl`, `A+B`, `ctrl`) or a `graphreach select` TSV.
    #[arg(long)]
    pub train: String,
    /// Validation perturbations (used for --model-selection best-val).
    #[arg(long)]
    pub val: Option<String>,
    /// Held-out test perturbations.
    #[arg(long)]
    pub test: String,
    /// Training epochs.
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = GearsConfig::default().epochs)]
    pub epochs: usize,
    /// Cells per step (incomplete last batch dropped).
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = GearsConfig::default().batch_size)]
    pub batch_size: usize,
    /// Hidden size.
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = GearsConfig::default().hidden)]
    pub hidden: usize,
    /// Initial learning rate (halved after every epoch).
    #[arg(long, default_value_t = GearsConfig::default().lr)]
    pub lr: f64,
    /// Seed of initialisation and shuffling.
    #[arg(long, value_parser = super::num::unsigned::<u64>, default_value_t = 0)]
    pub seed: u64,
    /// Where training steps run: auto = CUDA, else a hardware wgpu adapter, else the CPU
    /// (validation and evaluation always run on the CPU).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Reproduce GEARS's co-expression propagation reaching only the first cell of each batch.
    #[arg(long)]
    pub pos_quirk: bool,
    /// Which epoch's weights are kept.
    #[arg(long, value_enum, default_value_t = ModelSelection::BestVal)]
    pub model_selection: ModelSelection,
    /// What δ is added to at evaluation.
    #[arg(long, value_enum, default_value_t = EvalMode::PairedCtrl)]
    pub eval_mode: EvalMode,
    /// Cells of the co-expression graph.
    #[arg(long, value_enum, default_value_t = CoexprCells::Train)]
    pub coexpr_cells: CoexprCells,
    /// Output folder: model.safetensors, checkpoint.safetensors, train_log.tsv, metrics.json,
    /// per_perturbation.tsv, per_category.tsv (test sets with doubles), config.json (locked while the run writes).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from DIR/checkpoint.safetensors.
    #[arg(long)]
    pub resume: bool,
    /// Start over even if DIR already holds a run: its run files are removed first (other files stay).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Train on the listed perturbations only. By default the control cells are trained on too
    /// (as GEARS does: its splits append `ctrl` to the training set), whether or not `--train`
    /// lists `ctrl`; a `graphreach split` part or a `select` TSV never lists it.
    #[arg(long)]
    pub no_train_ctrl: bool,
    /// Drop listed perturbations that the dataset does not have (with a note) instead of failing.
    #[arg(long)]
    pub skip_missing: bool,
    /// No progress bar or notes.
    #[arg(long)]
    pub quiet: bool,
}

/// The library run `graphreach train` asks for.
fn train_run(a: TrainArgs) -> TrainRun {
    let config = GearsConfig {
        hidden: a.hidden,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        pos_quirk: a.pos_quirk,
        model_selection: a.model_selection,
        eval_mode: a.eval_mode,
        coexpr_cells: a.coexpr_cells,
        seed: a.seed,
        ..Default::default()
    };
    let existing = if a.resume {
        Existing::Resume
    } else if a.force {
        Existing::Overwrite
    } else {
        Existing::Refuse
    };
    TrainRun {
        data: a.data,
        graph: a.graph,
        train: PertList::File(a.train),
        val: a.val.map(PertList::File),
        test: PertList::File(a.test),
        config,
        backend: a.backend,
        out: a.out,
        existing,
        train_ctrl: !a.no_train_ctrl,
        skip_missing: a.skip_missing,
    }
}

/// Runs `graphreach train`.
pub fn run_train(a: TrainArgs) -> Result<()> {
    let quiet = a.quiet;
    let run = train_run(a);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed in one process; training then simply runs to the end.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let outcome = run_training(&run, Hooks { interrupt: Some(&stop), progress: !quiet })?;
    if !quiet {
        eprintln!("kept the model of epoch {}; wrote {}", outcome.kept_epoch, run.out.display());
    }
    crate::files::output::print_stdout(&outcome.report.summary_text())
}
