//! `graphreach train`: train GEARS on the perturbations of a selection and evaluate held-out ones.

use crate::backend::BackendChoice;
use crate::error::{Error, Result};
use crate::gears::checkpoint::{load_checkpoint, save_checkpoint, save_model, ModelMeta};
use crate::gears::graph_norm::Propagation;
use crate::gears::prepare::{coexpression_graph, condition_nodes, graph_symbols, resolve_conditions, ConditionMeans};
use crate::gears::report::build_report;
use crate::gears::train::{Hooks, TrainContext, TrainState};
use crate::gears::{CoexprCells, EvalMode, GearsConfig, ModelSelection};
use crate::graph::names::read_names;
use clap::Args;
use std::path::{Path, PathBuf};
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
    #[arg(long, default_value_t = GearsConfig::default().epochs)]
    pub epochs: usize,
    /// Cells per step (incomplete last batch dropped).
    #[arg(long, default_value_t = GearsConfig::default().batch_size)]
    pub batch_size: usize,
    /// Hidden size.
    #[arg(long, default_value_t = GearsConfig::default().hidden)]
    pub hidden: usize,
    /// Initial learning rate (halved after every epoch).
    #[arg(long, default_value_t = GearsConfig::default().lr)]
    pub lr: f64,
    /// Seed of initialisation and shuffling.
    #[arg(long, default_value_t = 0)]
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
    /// Output folder: model.safetensors, checkpoint.safetensors, train_log.tsv, metrics.json, per_perturbation.tsv.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from DIR/checkpoint.safetensors.
    #[arg(long)]
    pub resume: bool,
    /// Start over even if DIR already holds a checkpoint.
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

fn log_tsv(state: &TrainState) -> String {
    let mut s = String::from("epoch\tlr\ttrain_loss\ttrain_direction\tsteps\tseconds\tval_mse_de\tval_pearson_delta\tcpu_seconds\n");
    let opt = |v: Option<f64>| v.map_or("NA".to_string(), |x| format!("{x:.6}"));
    for l in &state.log {
        s += &format!(
            "{}\t{:.3e}\t{:.6}\t{:.6}\t{}\t{:.2}\t{}\t{}\t{:.2}\n",
            l.epoch, l.lr, l.train_loss, l.train_direction, l.steps, l.seconds, opt(l.val_mse_de), opt(l.val_pearson_delta), l.cpu_seconds
        );
    }
    s
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Runs `graphreach train`.
pub fn run_train(a: TrainArgs) -> Result<()> {
    let cfg = GearsConfig {
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
    cfg.validate()?;
    let ckpt = a.out.join("checkpoint.safetensors");
    if ckpt.exists() && !a.resume && !a.force {
        return Err(Error::invalid(format!("{} exists: pass --resume to continue that run or --force to start over", ckpt.display())));
    }
    if a.resume && !ckpt.exists() {
        return Err(Error::invalid(format!("--resume: {} does not exist", ckpt.display())));
    }
    let (device, skipped) = crate::gears::device::select(a.backend)?;
    if !a.quiet {
        skipped.iter().for_each(|n| eprintln!("note: {n}"));
        eprintln!("note: training steps on {}", device.describe());
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(&a.out, e))?;
    let note = |s: &str| {
        if !a.quiet {
            eprintln!("note: {s}");
        }
    };
    let data = crate::data::load_dataset(&a.data)?;
    let graph = crate::graph::io::load_graph(&a.graph)?;
    let pert_names = graph_symbols(&graph)?;
    let mut notes = Vec::new();
    let mut train = resolve_conditions(&data, &read_names(&a.train)?, a.skip_missing, &mut notes)?;
    if a.no_train_ctrl {
        train.retain(|&c| c != 0);
    } else if !train.contains(&0) {
        train.insert(0, 0);
    }
    let val = match &a.val {
        Some(v) => resolve_conditions(&data, &read_names(v)?, a.skip_missing, &mut notes)?.into_iter().filter(|&c| c != 0).collect(),
        None => Vec::new(),
    };
    let test: Vec<u32> = resolve_conditions(&data, &read_names(&a.test)?, a.skip_missing, &mut notes)?.into_iter().filter(|&c| c != 0).collect();
    let overlap: Vec<&str> = test.iter().filter(|c| train.contains(c)).map(|&c| data.conditions[c as usize].as_str()).collect();
    if !overlap.is_empty() {
        notes.push(format!("{} test perturbation(s) are also training perturbations: {}", overlap.len(), overlap.join(", ")));
    }
    if a.model_selection == ModelSelection::BestVal && val.is_empty() {
        notes.push("no --val set: the last epoch's model is kept".into());
    }
    notes.iter().for_each(|n| note(n));
    let all: Vec<u32> = train.iter().chain(&val).chain(&test).copied().collect();
    let cond_nodes = condition_nodes(&data, &all, &pert_names, &graph.name)?;
    let go = Propagation::from_graph(&graph)?;
    let coexpr = coexpression_graph(&data, &train, cfg.coexpr_cells)?;
    let means = ConditionMeans::new(&data)?;
    let names = |cs: &[u32]| cs.iter().map(|&c| data.conditions[c as usize].clone()).collect::<Vec<_>>();
    let mut meta = ModelMeta {
        config: cfg.clone(),
        dataset: data.name.clone(),
        genes: data.gene_names.clone(),
        pert_names,
        graph: a.graph.clone(),
        train_conditions: names(&train),
        val_conditions: names(&val),
        epoch: 0,
    };
    let ctx = TrainContext { data: &data, cfg: cfg.clone(), coexpr, go, cond_nodes, means, train_conds: train, val_conds: val };
    let mut state = if a.resume {
        let (s, old) = load_checkpoint(&ckpt)?;
        let same = old.genes == meta.genes && old.pert_names == meta.pert_names && old.train_conditions == meta.train_conditions
            && old.config.hidden == cfg.hidden && old.config.seed == cfg.seed && old.config.batch_size == cfg.batch_size;
        if !same {
            return Err(Error::invalid(format!(
                "--resume: {} was written for different data, perturbations or settings (genes, graph, --train, --hidden, --seed, --batch-size must match)",
                ckpt.display()
            )));
        }
        note(&format!("resuming after epoch {} of {}", s.epochs_done, cfg.epochs));
        s
    } else {
        ctx.new_state()
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed in one process; training then simply runs to the end.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let hooks = Hooks { interrupt: Some(&stop), progress: !a.quiet };
    let out = a.out.clone();
    let quiet = a.quiet;
    let mut on_epoch = |s: &TrainState| -> Result<()> {
        meta.epoch = s.selected.as_ref().map_or(0, |x| x.1);
        save_checkpoint(&out.join("checkpoint.safetensors"), s, &ctx.coexpr, &ctx.go, &meta)?;
        if let Some((m, _)) = &s.selected {
            save_model(&out.join("model.safetensors"), m, &ctx.coexpr, &ctx.go, &meta)?;
        }
        write_file(&out.join("train_log.tsv"), &log_tsv(s))?;
        if !quiet {
            if let Some(l) = s.log.last() {
                let val = l.val_mse_de.map_or(String::new(), |v| format!(", val mse_de {v:.5}"));
                eprintln!("epoch {}/{}: loss {:.5}{val}, {:.1} s ({:.1} s CPU)", l.epoch, ctx.cfg.epochs, l.train_loss, l.seconds, l.cpu_seconds);
            }
        }
        Ok(())
    };
    let res = match &device {
        crate::gears::device::Selected::Cpu => ctx.fit(&mut state, hooks, &mut on_epoch),
        #[cfg(feature = "cuda")]
        crate::gears::device::Selected::Cuda(d) => crate::gears::device::train::fit_on_device(&ctx, &**d, &mut state, hooks, &mut on_epoch),
        #[cfg(feature = "wgpu")]
        crate::gears::device::Selected::Wgpu(d) => crate::gears::device::train::fit_on_device(&ctx, &**d, &mut state, hooks, &mut on_epoch),
    };
    if let Err(Error::Interrupted(msg)) = res {
        return Err(Error::Interrupted(format!("{msg}: {}", out.join("checkpoint.safetensors").display())));
    }
    res?;
    let (model, epoch) = state.selected.clone().unwrap_or((state.model.clone(), state.epochs_done));
    let report = build_report(&ctx, &model, &test);
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Json { path: "metrics.json".into(), source: e })?;
    write_file(&out.join("metrics.json"), &json)?;
    write_file(&out.join("per_perturbation.tsv"), &report.to_tsv())?;
    let cfg_json = serde_json::to_string_pretty(&cfg).map_err(|e| Error::Json { path: "config.json".into(), source: e })?;
    write_file(&out.join("config.json"), &cfg_json)?;
    if !quiet {
        eprintln!("kept the model of epoch {epoch}; wrote {}", out.display());
    }
    print!("{}", report.summary_text());
    Ok(())
}
