//! Embeddings of perturbations by a trained model, for the active-learning baselines (spec §8.2):
//! what `graphreach embed` writes and what the study computes in-process every cycle.
//!
//! * [`EmbedKind::MeanExpression`]: IterPert's `linear_fix_ctrl`, the predicted mean expression
//!   δ(p) + μ (μ = mean of all control cells; G values), exactly what evaluation predicts with
//!   `--eval-mode ctrl-mean`.
//! * [`EmbedKind::CrossGene`]: the compact equivalent of IterPert's `cross_gene_out`. That tensor
//!   is `[u_g, c]` for every gene g (G (h+1) values, c repeated G times); `[u, sqrt(G) c]` (G + h
//!   values) has the same inner products and distances, hence the same PCA, k-means and
//!   Frank-Wolfe results.
//!
//! Both come from the model in eval mode (BatchNorm running statistics). There δ depends only on
//! the perturbation set, so each perturbation takes one forward as a group of its own (IterPert
//! takes the first cell of each perturbation; the cell changes nothing): a perturbation needs no
//! cells in the dataset, only its genes in the model's GO graph. A model trained with the
//! positional quirk (`--pos-quirk`) is embedded with the unpropagated co-expression variant, what
//! all but the first cell of a GEARS batch see (as evaluation does). No max-norm renormalisation
//! of the embedding tables is applied before the forward (as evaluation).
//!
//! [`embed`] is the library call ([`ModelFile`], [`Dataset`], names in memory); [`run_embedding`]
//! reads them from files, as the command does. [`Embeddings::write_tsv`] writes the table with
//! every value in its shortest round-trip form, so a file read back gives the same numbers as
//! the in-memory result.

use crate::backend::BackendChoice;
use crate::data::Dataset;
use crate::error::{preview_list, Error, Result};
use crate::gears::dataset::means::ConditionMeans;
use crate::gears::device;
use crate::gears::net::model::{EvalOutput, ForwardInput, Group, Variant};
use crate::gears::train::checkpoint::{load_model, ModelFile};
use crate::gears::train::run::{file_names, PertList};
use crate::graph::symbols::{Resolution, SymbolResolver};
use crate::graph::{Graph, Labels};
use crate::graph::names::{condition_genes, NameList};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

/// Which embedding of a perturbation (spec §8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EmbedKind {
    /// Predicted mean expression δ(p) + control mean (IterPert `linear_fix_ctrl`; G values).
    /// The paper scripts' TypiClust embedding.
    MeanExpression,
    /// `[u, sqrt(G) c]`: IterPert's `cross_gene_out` in compact form (G + h values, same Gram
    /// matrix). The embedding of ACS-FW and of every strategy in the packaged IterPert API.
    CrossGene,
}

impl EmbedKind {
    /// The command-line name (`mean-expression`, `cross-gene`).
    pub fn name(self) -> &'static str {
        match self {
            EmbedKind::MeanExpression => "mean-expression",
            EmbedKind::CrossGene => "cross-gene",
        }
    }

    /// Values per perturbation for a model of `n_genes` genes and hidden size `hidden`.
    pub fn dim(self, n_genes: usize, hidden: usize) -> usize {
        match self {
            EmbedKind::MeanExpression => n_genes,
            EmbedKind::CrossGene => n_genes + hidden,
        }
    }
}

/// One perturbation to embed: its name and its genes' nodes in the model's GO graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedPert {
    /// The name written in the table: the list's genes joined with `+`, without `ctrl`
    /// (`A` for `A+ctrl`, `A+B` for a double).
    pub name: String,
    /// GO-graph nodes (indices into the model's `pert_names`).
    pub nodes: Vec<u32>,
}

/// Embeddings: one row of `dim` values per perturbation.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    /// The kind of every row.
    pub kind: EmbedKind,
    /// Row names (perturbations, in list order).
    pub names: Vec<String>,
    /// Values per row.
    pub dim: usize,
    /// Row-major values, `names.len() x dim`.
    pub values: Vec<f64>,
}

impl Embeddings {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// Writes the table: header `perturbation<TAB>d0<TAB>d1...`, then one row per perturbation,
    /// each value in Rust's shortest representation that parses back to the same f64.
    pub fn write_tsv(&self, w: &mut dyn Write) -> std::io::Result<()> {
        w.write_all(b"perturbation")?;
        for j in 0..self.dim {
            write!(w, "\td{j}")?;
        }
        w.write_all(b"\n")?;
        for (i, name) in self.names.iter().enumerate() {
            w.write_all(name.as_bytes())?;
            for v in self.row(i) {
                write!(w, "\t{v}")?;
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    /// [`Self::write_tsv`] into a string.
    pub fn to_tsv(&self) -> String {
        let mut out = Vec::new();
        self.write_tsv(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("names and numbers are UTF-8")
    }
}

/// How to embed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbedOptions {
    /// Which embedding.
    pub kind: EmbedKind,
    /// Where the forwards run (the `--backend` rule of training: `auto` = CUDA, else a hardware
    /// wgpu adapter, else the CPU).
    pub backend: BackendChoice,
    /// Drop listed perturbations the model cannot embed (a gene not in its GO graph), with a
    /// note, instead of failing.
    pub skip_missing: bool,
}

impl EmbedOptions {
    /// `kind` on the CPU, missing perturbations an error.
    pub fn new(kind: EmbedKind) -> Self {
        EmbedOptions { kind, backend: BackendChoice::Cpu, skip_missing: false }
    }
}

/// The result of [`embed`].
#[derive(Clone, Debug)]
pub struct EmbedOutcome {
    /// The embeddings, in list order.
    pub embeddings: Embeddings,
    /// Where the forwards ran (`cpu (N threads)`, `cuda (...)`, `wgpu (...)`).
    pub device: String,
    /// Notes for the user (skipped devices and perturbations, renamed genes, `ctrl` lines).
    pub notes: Vec<String>,
}

/// Embeds the perturbations of `perts` with the model `mf` (trained on `data`'s genes): resolves
/// the names ([`resolve_perts`]), checks the genes, opens the device of `opts.backend` and runs
/// one eval-mode forward per perturbation there.
pub fn embed(mf: &ModelFile, data: &Dataset, perts: &NameList, opts: &EmbedOptions) -> Result<EmbedOutcome> {
    check_genes(mf, data, "the model", &format!("dataset '{}'", data.name))?;
    let mut notes = Vec::new();
    let list = resolve_perts(mf, perts, opts.skip_missing, &mut notes)?;
    let ctrl = ConditionMeans::new(data)?.ctrl;
    let (dev, skipped) = device::select(opts.backend)?;
    notes.extend(skipped);
    let device = dev.describe();
    let embeddings = dev.embed(mf, &list, opts.kind, &ctrl)?;
    Ok(EmbedOutcome { embeddings, device, notes })
}

/// An embedding from files, as `graphreach embed` runs it.
#[derive(Clone, Debug)]
pub struct EmbedRun {
    /// A training output folder (its model file is used) or a model file.
    pub model: PathBuf,
    /// The training-ready dataset with the model's genes (its control mean, and the gene check).
    pub data: PathBuf,
    /// The perturbations to embed (`ctrl` is skipped).
    pub perts: PertList,
    /// Kind, device, missing perturbations.
    pub options: EmbedOptions,
}

/// Runs `run`: loads the model and the dataset, then [`embed`]. With `progress`, the notes go to
/// stderr as soon as they are known.
pub fn run_embedding(run: &EmbedRun, progress: bool) -> Result<EmbedOutcome> {
    let path = if run.model.is_dir() { run.model.join(file_names::MODEL) } else { run.model.clone() };
    let mf = load_model(&path)?;
    let data = crate::data::load_dataset(&run.data)?;
    check_genes(&mf, &data, &path.display().to_string(), &run.data.display().to_string())?;
    let out = embed(&mf, &data, &run.perts.names()?, &run.options)?;
    if progress {
        out.notes.iter().for_each(|n| eprintln!("note: {n}"));
        eprintln!("note: {} {} embedding(s) of {} values on {}", out.embeddings.len(), run.options.kind.name(), out.embeddings.dim, out.device);
    }
    Ok(out)
}

/// The model's genes must be the dataset's, in the same order (`model_name`, `data_name` name
/// them in the error).
fn check_genes(mf: &ModelFile, data: &Dataset, model_name: &str, data_name: &str) -> Result<()> {
    if data.gene_names == mf.meta.genes {
        return Ok(());
    }
    let first = mf.meta.genes.iter().zip(&data.gene_names).position(|(a, b)| a != b);
    let detail = match first {
        Some(i) => format!("gene {} is {} in the model but {} in the dataset", i + 1, mf.meta.genes[i], data.gene_names[i]),
        None => "one gene list extends the other".into(),
    };
    Err(Error::invalid(format!(
        "{model_name}: the model was trained on {} genes of dataset '{}', which differ from the {} genes of {data_name} ({detail}); embed with the dataset the model was trained on",
        mf.meta.genes.len(),
        mf.meta.dataset,
        data.gene_names.len()
    )))
}

/// The perturbations of a list that the model can embed, in list order: `ctrl` lines are
/// skipped, `A+ctrl` is `A`, `B+A` after `A+B` is a duplicate (noted). A gene that is not a
/// node of the model's GO graph (after the symbol tables, as in training) is an error naming the
/// perturbations and their lines, or with `skip_missing` a note.
pub fn resolve_perts(mf: &ModelFile, list: &NameList, skip_missing: bool, notes: &mut Vec<String>) -> Result<Vec<EmbedPert>> {
    let pert_names = &mf.meta.pert_names;
    let vocab = Graph::new(&mf.meta.graph, Labels::Symbols(pert_names.clone()), crate::graph::Csr::empty(pert_names.len()), Default::default());
    let resolver = SymbolResolver::new(&vocab);
    let mut out = Vec::new();
    let mut seen: HashSet<Vec<u32>> = HashSet::new();
    let (mut missing, mut renamed, mut dups, mut ctrl) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
    for (line, name) in &list.names {
        let genes = condition_genes(name);
        if genes.is_empty() {
            ctrl += 1;
            continue;
        }
        let mut nodes = Vec::with_capacity(genes.len());
        let mut unknown = Vec::new();
        for g in &genes {
            match resolver.resolve(g) {
                Resolution::Exact(n) => nodes.push(n),
                Resolution::Renamed { node, symbol, via } => {
                    renamed.push(format!("{g}->{symbol} ({via})"));
                    nodes.push(node);
                }
                Resolution::Ambiguous(options) => unknown.push(format!("{g} (ambiguous alias of {})", options.join("/"))),
                Resolution::Unknown => unknown.push(g.to_string()),
            }
        }
        if !unknown.is_empty() {
            missing.push(format!("{name} (line {line}: {})", unknown.join(", ")));
            continue;
        }
        let mut key = nodes.clone();
        key.sort_unstable();
        if !seen.insert(key) {
            dups.push(name.clone());
            continue;
        }
        out.push(EmbedPert { name: genes.join("+"), nodes });
    }
    if !missing.is_empty() {
        let shown = preview_list(&missing);
        if !skip_missing {
            return Err(Error::invalid(format!(
                "{}: the model cannot embed {} perturbation(s): their genes are not nodes of its GO graph {}: {shown}. A model embeds only perturbations of its graph's genes: remove them or pass --skip-missing",
                list.source,
                missing.len(),
                mf.meta.graph
            )));
        }
        notes.push(format!("{}: skipped {} perturbation(s) whose genes are not nodes of the model's GO graph {}: {shown}", list.source, missing.len(), mf.meta.graph));
    }
    if !renamed.is_empty() {
        notes.push(format!("{}: {} gene(s) matched under another symbol: {}", list.source, renamed.len(), preview_list(&renamed)));
    }
    if !dups.is_empty() {
        notes.push(format!("{}: skipped {} repeated perturbation(s): {}", list.source, dups.len(), preview_list(&dups)));
    }
    if ctrl > 0 {
        notes.push(format!("{}: skipped {ctrl} 'ctrl' line(s) (control is not embedded)", list.source));
    }
    if out.is_empty() {
        return Err(Error::invalid(format!("{}: no perturbation to embed", list.source)));
    }
    Ok(out)
}

/// The eval-mode forward input of `perts`: one group of weight 1 per perturbation, with the
/// propagated co-expression variant, or the unpropagated one for a positional-quirk model.
pub fn embed_input(perts: &[EmbedPert], pos_quirk: bool) -> ForwardInput {
    let groups = perts.iter().map(|p| Group { perts: p.nodes.clone(), weight: 1.0, variant: 0 }).collect();
    ForwardInput { variants: vec![Variant { propagate: !pos_quirk, weight: 1.0 }], groups, n_cells: perts.len() }
}

/// Appends the rows of one forward's output (`parts`, one group per perturbation) to `out`.
pub fn push_rows(out: &mut Vec<f64>, parts: &EvalOutput<f32>, kind: EmbedKind, ctrl_mean: &[f64]) {
    let g = parts.u.cols;
    let scale = (g as f64).sqrt();
    for r in 0..parts.delta.rows {
        match kind {
            EmbedKind::MeanExpression => out.extend(parts.delta.row(r).iter().zip(ctrl_mean).map(|(&d, &m)| d as f64 + m)),
            EmbedKind::CrossGene => {
                out.extend(parts.u.row(r).iter().map(|&v| v as f64));
                out.extend(parts.c.row(r).iter().map(|&v| scale * v as f64));
            }
        }
    }
}

/// The table from the rows of every chunk; non-finite values (a diverged model) are an error
/// naming the perturbation.
pub fn finish(perts: &[EmbedPert], kind: EmbedKind, dim: usize, values: Vec<f64>) -> Result<Embeddings> {
    assert_eq!(values.len(), perts.len() * dim, "one row per perturbation");
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::computation(format!(
            "the model's {} embedding of {} has a non-finite value (column d{}): the model's weights are not usable (did training diverge?)",
            kind.name(),
            perts[i / dim.max(1)].name,
            i % dim.max(1)
        )));
    }
    Ok(Embeddings { kind, names: perts.iter().map(|p| p.name.clone()).collect(), dim, values })
}

/// Perturbations per eval-mode forward on the CPU.
const CPU_CHUNK: usize = 16;

/// Embeds `perts` with the CPU reference forward ([`crate::gears::net::model::GearsModel::forward_eval_parts`]).
pub fn embed_on_cpu(mf: &ModelFile, perts: &[EmbedPert], kind: EmbedKind, ctrl_mean: &[f64]) -> Result<Embeddings> {
    let m = &mf.model;
    let dim = kind.dim(m.n_genes, m.hidden);
    let mut values = Vec::with_capacity(perts.len() * dim);
    for chunk in perts.chunks(CPU_CHUNK) {
        let parts = m.forward_eval_parts(&mf.coexpr, &mf.go, &embed_input(chunk, mf.meta.config.pos_quirk));
        push_rows(&mut values, &parts, kind, ctrl_mean);
    }
    finish(perts, kind, dim, values)
}

#[cfg(test)]
#[path = "embed_tests.rs"]
mod tests;
