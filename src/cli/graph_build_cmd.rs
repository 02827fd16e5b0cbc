//! `graphreach graph build`: the GEARS-style GO similarity graph from gene -> GO annotations.

use super::output::write_file_with;
use crate::backend::{select_backend, BackendChoice};
use crate::error::{Error, Result};
use crate::graph::go_build::{build, read_gene2go, read_protein_coding, read_universe, GoBuildConfig};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `graph build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Direct annotations: `symbol, entrez_id, go_id, ontology, evidence` TSV (gzip ok).
    #[arg(long)]
    pub gene2go: PathBuf,
    /// Restrict the nodes to these symbols (one per line) [default: every annotated gene].
    #[arg(long)]
    pub universe: Option<PathBuf>,
    /// Restrict the nodes to protein-coding genes of this NCBI gene-info TSV
    /// (`entrez_id, symbol, gene_type, name`; the last row of a symbol decides its type).
    #[arg(long, value_name = "GENE_INFO")]
    pub protein_coding: Option<PathBuf>,
    /// Keep pairs with Jaccard strictly above this.
    #[arg(long, default_value_t = 0.1)]
    pub min_jaccard: f64,
    /// Keep the top_k + 1 most similar sources per target (self included).
    #[arg(long, default_value_t = 20)]
    pub top_k: usize,
    /// Evidence codes to leave out, comma separated (`none` keeps every annotation).
    #[arg(long, value_delimiter = ',', default_value = "ND")]
    pub exclude_evidence: Vec<String>,
    /// Output TSV `source, target, importance` (6 decimals, header).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Compute backend for the Jaccard / top-k step (identical output on every backend).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
}

/// Runs `graph build`.
pub fn run_build(a: BuildArgs) -> Result<()> {
    if !(a.min_jaccard.is_finite() && (0.0..1.0).contains(&a.min_jaccard)) {
        return Err(Error::invalid(format!("--min-jaccard must be in [0, 1) (got {})", a.min_jaccard)));
    }
    if !a.force && a.out.exists() {
        return Err(Error::WouldOverwrite(a.out.clone()));
    }
    let t0 = Instant::now();
    let exclude: Vec<String> =
        a.exclude_evidence.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s != "none").collect();
    let ann = read_gene2go(&a.gene2go, &exclude)?;
    let mut universe = match &a.universe {
        Some(p) => Some(read_universe(p)?),
        None => None,
    };
    if let Some(p) = &a.protein_coding {
        let pc = read_protein_coding(p)?;
        universe = Some(match universe {
            Some(u) => u.intersection(&pc).cloned().collect(),
            None => pc.into_iter().filter(|s| ann.genes.contains_key(s)).collect(),
        });
    }
    let (index, missing) = ann.index(universe.as_ref());
    if !missing.is_empty() {
        eprintln!(
            "note: {} universe gene(s) have no annotation left after excluding {:?} and are not nodes: {}",
            missing.len(),
            exclude,
            crate::error::preview_list(&missing)
        );
    }
    if index.n_genes() == 0 {
        return Err(Error::invalid("no gene is both annotated and in the universe; nothing to build"));
    }
    let t_read = t0.elapsed();
    let (backend, notes) = select_backend(a.backend)?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    eprintln!("note: backend: {} ({})", backend.name(), backend.describe());
    let cfg = GoBuildConfig { min_jaccard: a.min_jaccard, top_k: a.top_k };
    let t1 = std::time::Instant::now();
    let jaccard = backend.jaccard();
    let g = build(&index, &cfg, jaccard.as_ref(), 4096)?;
    let t_build = t1.elapsed();
    write_file_with(&a.out, a.force, |w| g.write_tsv(w))?;
    eprintln!(
        "graph build: {} genes, {} pairs with Jaccard > {}, {} rows written to {}; read {:.2} s, jaccard+top-k {:.2} s ({})",
        index.n_genes(),
        g.pairs_above,
        a.min_jaccard,
        g.rows.len(),
        a.out.display(),
        t_read.as_secs_f64(),
        t_build.as_secs_f64(),
        jaccard.name()
    );
    Ok(())
}
