//! `graphreach embed`: embeddings of perturbations by a trained GEARS model, for the
//! active-learning baselines (`select --method typiclust|acs-fw --embeddings`).

use super::output::write_file_with;
use crate::backend::BackendChoice;
use crate::error::{Error, Result};
use crate::gears::eval::embed::{run_embedding, EmbedKind, EmbedOptions, EmbedRun};
use crate::gears::train::run::PertList;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `graphreach embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A `graphreach train` output folder (or its model.safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Training-ready dataset with the same genes as the model (its control mean is added for
    /// mean-expression).
    #[arg(long)]
    pub data: PathBuf,
    /// Perturbations to embed: one per line (gene, `A+ctrl`, `A+B`; `ctrl` is skipped) or a
    /// `graphreach select` TSV. They need no cells in the dataset, only genes in the model's GO graph.
    #[arg(long)]
    pub perts: String,
    /// mean-expression: predicted mean expression δ + control mean (G values, IterPert
    /// `linear_fix_ctrl`); cross-gene: [u, sqrt(G) c] (G + h values), the compact form of
    /// IterPert's `cross_gene_out` with the same Gram matrix.
    #[arg(long, value_enum)]
    pub kind: EmbedKind,
    /// Output TSV: header `perturbation<TAB>d0<TAB>d1...`, one row per perturbation.
    #[arg(long)]
    pub out: PathBuf,
    /// Where the eval-mode forwards run: auto = CUDA, else a hardware wgpu adapter, else the CPU.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Drop listed perturbations whose genes are not in the model's GO graph (with a note)
    /// instead of failing.
    #[arg(long)]
    pub skip_missing: bool,
    /// No notes on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `graphreach embed`.
pub fn run_embed(a: EmbedArgs) -> Result<()> {
    // Refuse before any work when the output exists.
    if !a.force && a.out.exists() {
        return Err(Error::WouldOverwrite(a.out));
    }
    let options = EmbedOptions { kind: a.kind, backend: a.backend, skip_missing: a.skip_missing };
    let run = EmbedRun { model: a.model, data: a.data, perts: PertList::File(a.perts), options };
    let out = run_embedding(&run, !a.quiet)?;
    write_file_with(&a.out, a.force, |w| out.embeddings.write_tsv(w))?;
    if !a.quiet {
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}
