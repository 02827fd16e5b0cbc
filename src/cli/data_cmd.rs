//! `graphreach prepare`, `graphreach dataset info`, `graphreach split` and `graphreach simulate`.

use crate::data::deg_test::{DegConfig, DegTest, FdrScope};
use crate::data::{prepare, raw, split, store};
use crate::error::{Error, Result};
use crate::files::output::{write_output, OutputTarget};
use crate::files::run_folder::{self, Reuse};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Arguments of `prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Raw-count AnnData (.h5ad) with obs.condition (ctrl, A+ctrl, A+B) and var.gene_name.
    pub raw: PathBuf,
    /// Output dataset (a GEARS-compatible perturb_processed.h5ad; `-`: stdout).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of highly-variable genes (seurat flavour); perturbed genes are kept on top.
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = 5000)]
    pub n_hvg: usize,
    /// Seed of the control-cell pairing draw.
    #[arg(long, value_parser = super::num::unsigned::<u64>, default_value_t = 0)]
    pub seed: u64,
    /// Drop conditions whose genes are not nodes of this graph (file or builtin:NAME), as GEARS does.
    #[arg(long)]
    pub graph: Option<String>,
    /// Cell type to use when obs has no cell_type column.
    #[arg(long)]
    pub cell_type: Option<String>,
    /// Dataset name stored in the output (default: the output file stem, `dataset` for stdout).
    #[arg(long)]
    pub name: Option<String>,
    /// Compress X (shuffle + deflate): about 2.4x smaller, about 2x slower to write.
    #[arg(long)]
    pub compress: bool,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// `dataset` subcommands.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Cells, genes, perturbations, control cells and the synthetic flag of a prepared dataset; with
    /// --degs, DEGs per perturbation (Anderson-Darling by default, as the real screens count them).
    Info(DatasetInfoArgs),
}

/// Arguments of `dataset info`.
#[derive(Debug, Args)]
pub struct DatasetInfoArgs {
    /// A prepared dataset or a GEARS perturb_processed.h5ad.
    pub dataset: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::graph_cmd::InfoFormat::Text)]
    pub format: super::graph_cmd::InfoFormat,
    /// Also count DEGs per perturbation against the control cells, over all genes of the dataset
    /// (prepare with --n-hvg at least the number of genes to count over every measured gene).
    #[arg(long)]
    pub degs: bool,
    /// Test behind --degs: anderson-darling (SciPy's anderson_ksamp + Benjamini-Hochberg at 0.05, as
    /// Replogle 2022 counted DEGs) or welch (Welch t, normal approximation, Bonferroni p < 0.05).
    #[arg(long, value_enum, default_value_t = DegTest::AndersonDarling)]
    pub deg_test: DegTest,
    /// Benjamini-Hochberg family of the anderson-darling count: every (perturbation, gene) test of
    /// the dataset (screen) or each perturbation's genes (perturbation). See SIMULATOR.md.
    #[arg(long, value_enum, default_value_t = FdrScope::Screen)]
    pub deg_fdr: FdrScope,
    /// Also report the share of expression variance explained by the condition (one-way ANOVA per
    /// gene over all cells, controls included).
    #[arg(long)]
    pub variance: bool,
}

/// Arguments of `split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// A prepared dataset or a GEARS perturb_processed.h5ad.
    pub dataset: PathBuf,
    /// Split scheme.
    #[arg(long, value_enum)]
    pub scheme: split::Scheme,
    /// Number of folds for --scheme folds.
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = 10)]
    pub folds: usize,
    /// Seed of the split.
    #[arg(long, value_parser = super::num::unsigned::<u64>, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (train.txt / val.txt / test.txt, or fold_NN/{train,test}.txt); simulation
    /// also writes categories.tsv (GEARS's combo_seen0/1/2 and unseen_single of every perturbation).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an earlier split in the folder: its split files are removed first (other files stay).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Preset to generate.
    #[arg(long, value_enum)]
    pub preset: crate::data::simulate::Preset,
    /// Scale factor on the numbers of perturbations and cells (e.g. 0.05 for tests): perturbations
    /// and control cells x F, cells per perturbation x sqrt(F). Fewer cells mean fewer detectable DEGs.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Number of perturbations (a seeded subset of the preset), overriding --scale for this count.
    /// norman: singles and doubles together; doubles are taken with their two singles.
    #[arg(long)]
    pub perturbations: Option<usize>,
    /// Number of control cells, overriding --scale for this count.
    #[arg(long)]
    pub controls: Option<usize>,
    /// Mean cells per perturbation (the real per-perturbation counts rescaled to this mean),
    /// overriding --scale for this count.
    #[arg(long)]
    pub cells_per_perturbation: Option<usize>,
    /// Number of measured genes (default: 8,563 for replogle-k562-essential, as the real screen;
    /// 5,045 for norman, as GEARS's processed Norman data; the adamson rule otherwise). Fewer: the perturbed genes plus others evenly spaced over the
    /// preset's expression ranks, like a downsampled gene panel; more: the most expressed genes.
    #[arg(long)]
    pub genes: Option<usize>,
    /// Also check the calibration: print, as JSON on stdout, the real readouts of every simulated
    /// perturbation next to the simulated ones (Anderson-Darling DEGs, knockdown, cells, UMIs);
    /// norman: the genetic-interaction fits (c1, c2, corr_fit, classes) real vs refit on the cells.
    #[arg(long)]
    pub calibration: bool,
    /// Seed.
    #[arg(long, value_parser = super::num::unsigned::<u64>, default_value_t = 0)]
    pub seed: u64,
    /// Output raw-count .h5ad (synthetic, marked as such in uns and obs; `-`: stdout).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Runs `prepare`.
pub fn run_prepare(a: PrepareArgs) -> Result<()> {
    let out = OutputTarget::file(&a.out, a.force);
    out.check()?;
    let stem = if out.is_stdout() { None } else { a.out.file_stem().map(|s| s.to_string_lossy().into_owned()) };
    let name = a.name.clone().or(stem).unwrap_or_else(|| "dataset".into());
    let cfg = prepare::PrepareConfig { n_hvg: a.n_hvg, seed: a.seed, name };
    cfg.validate()?;
    let t0 = std::time::Instant::now();
    let mut data = raw::read_raw(&a.raw, a.cell_type.as_deref())?;
    eprintln!(
        "read {}: {} cells x {} genes ({} unassigned cells dropped) in {:.1}s",
        a.raw.display(),
        data.counts.n_rows,
        data.counts.n_cols,
        data.dropped_unassigned,
        t0.elapsed().as_secs_f64()
    );
    if let Some(g) = &a.graph {
        let graph = crate::graph::io::load_graph(g)?;
        let (dropped, renamed) = prepare::filter_by_graph(&mut data, &graph);
        for (from, to) in &renamed {
            eprintln!("resolved {from} -> {to} in {g}");
        }
        if !dropped.is_empty() {
            eprintln!("dropped {} condition(s) whose genes are not nodes of {g}:", dropped.len());
            for (c, n) in &dropped {
                eprintln!("  {c} ({n} cells)");
            }
            if data.condition.iter().all(|c| c == "ctrl") {
                return Err(Error::invalid(format!(
                    "none of the {} perturbation condition(s) of {} has all its genes in graph {g}, so no perturbation is left; pass a graph that holds the targets (for example --graph builtin:go-human) or leave --graph out",
                    dropped.len(),
                    a.raw.display()
                )));
            }
        }
    }
    prepare::validate_conditions(&data, &a.raw.display().to_string())?;
    let cell_names = std::mem::take(&mut data.cell_names);
    let (ds, rep) = prepare::prepare(data, &cfg, true)?;
    let summary = format!(
        "{} cells, {} genes ({} HVG + {} perturbed genes), {} perturbations{}",
        ds.n_cells(),
        ds.n_genes(),
        rep.n_hvg,
        rep.n_perturbed_added,
        ds.conditions.len() - 1,
        if ds.synthetic { " [SYNTHETIC]" } else { "" }
    );
    eprintln!(
        "normalize+log1p {:.1}s, HVG {:.1}s, DE {:.1}s, pairing {:.1}s",
        rep.seconds[0], rep.seconds[1], rep.seconds[2], rep.seconds[3]
    );
    let t1 = std::time::Instant::now();
    store::write_dataset(ds, Some(&cell_names), &a.out, a.compress)?;
    eprintln!(
        "wrote {}: {summary}; total {:.1}s (writing {:.1}s)",
        out.describe(),
        t0.elapsed().as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Summary printed by `dataset info`.
#[derive(Debug, serde::Serialize)]
pub struct DatasetInfo {
    /// Dataset name.
    pub name: String,
    /// Cells.
    pub n_cells: usize,
    /// Genes.
    pub n_genes: usize,
    /// Perturbation conditions (excluding ctrl).
    pub n_perturbations: usize,
    /// Control cells.
    pub n_control_cells: usize,
    /// Synthetic data flag.
    pub synthetic: bool,
    /// Cell type.
    pub cell_type: String,
    /// Seed of the control pairing.
    pub pairing_seed: u64,
    /// With `--degs`: the test that counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deg_test: Option<DegTest>,
    /// With `--degs`: the multiple-testing correction (`screen` / `perturbation` Benjamini-Hochberg
    /// family for anderson-darling, `bonferroni` for welch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deg_fdr: Option<String>,
    /// With `--degs`: genes tested per perturbation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deg_genes: Option<usize>,
    /// With `--degs`: 25% quantile of the DEG count per perturbation (linear interpolation, as numpy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degs_q25: Option<f64>,
    /// With `--degs`: median DEG count per perturbation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degs_median: Option<f64>,
    /// With `--degs`: 75% quantile of the DEG count per perturbation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degs_q75: Option<f64>,
    /// With `--degs`: min, 25%, median, 75%, max and mean of the DEG count per perturbation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degs_per_perturbation: Option<[f64; 6]>,
    /// With `--degs`: the DEG count of every perturbation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degs: Option<std::collections::BTreeMap<String, usize>>,
    /// With `--variance`: share of variance explained by the condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance_explained: Option<crate::data::variance::VarianceExplained>,
}

/// DEG counts of every perturbation of `ds` (condition, count), `ctrl` excluded.
fn deg_counts(ds: &crate::data::Dataset, cfg: &DegConfig) -> Vec<(String, usize)> {
    let counts = crate::data::deg_test::deg_counts(&ds.x, &ds.cell_condition, ds.conditions.len(), cfg, true);
    ds.conditions.iter().cloned().zip(counts).skip(1).collect()
}

/// Runs a `dataset` subcommand.
pub fn run_dataset(c: DatasetCommand) -> Result<()> {
    match c {
        DatasetCommand::Info(a) => {
            let ds = crate::data::load_dataset(&a.dataset)?;
            let cfg = DegConfig { test: a.deg_test, fdr: a.deg_fdr, ..Default::default() };
            let counts = if a.degs { Some(deg_counts(&ds, &cfg)) } else { None };
            let summary = counts.as_ref().map(|c| crate::data::deg_test::summary(&c.iter().map(|v| v.1 as f64).collect::<Vec<_>>()));
            let fdr = match (a.deg_test, a.deg_fdr) {
                (DegTest::Welch, _) => "bonferroni",
                (DegTest::AndersonDarling, FdrScope::Screen) => "screen",
                (DegTest::AndersonDarling, FdrScope::Perturbation) => "perturbation",
            };
            let info = DatasetInfo {
                name: ds.name.clone(),
                n_cells: ds.n_cells(),
                n_genes: ds.n_genes(),
                n_perturbations: ds.conditions.len() - 1,
                n_control_cells: ds.control_cells().len(),
                synthetic: ds.synthetic,
                cell_type: ds.cell_type.clone(),
                pairing_seed: ds.pairing_seed,
                deg_test: a.degs.then_some(a.deg_test),
                deg_fdr: a.degs.then(|| fdr.to_string()),
                deg_genes: a.degs.then(|| ds.n_genes()),
                degs_q25: summary.map(|s| s[1]),
                degs_median: summary.map(|s| s[2]),
                degs_q75: summary.map(|s| s[3]),
                degs_per_perturbation: summary,
                degs: counts.map(|c| c.into_iter().collect()),
                variance_explained: a
                    .variance
                    .then(|| crate::data::variance::variance_explained(&ds.x, &ds.cell_condition, ds.conditions.len()).1),
            };
            let text = match a.format {
                super::graph_cmd::InfoFormat::Json => serde_json::to_string_pretty(&info).map_err(|e| Error::invalid(e.to_string()))? + "\n",
                super::graph_cmd::InfoFormat::Text => {
                    let mut t = format!(
                        "dataset:          {}\ncells:            {}\ngenes:            {}\nperturbations:    {}\ncontrol cells:    {}\ncell type:        {}\npairing seed:     {}\nsynthetic:        {}\n",
                        info.name, info.n_cells, info.n_genes, info.n_perturbations, info.n_control_cells, info.cell_type, info.pairing_seed, info.synthetic
                    );
                    if let Some(d) = info.degs_per_perturbation {
                        let test = match a.deg_test {
                            DegTest::AndersonDarling => "Anderson-Darling, Benjamini-Hochberg 0.05",
                            DegTest::Welch => "Welch t, Bonferroni 0.05",
                        };
                        t += &format!("DEG test:         {test} ({fdr}), over {} genes\n", ds.n_genes());
                        t += &format!(
                            "DEGs/perturbation: min {} / q25 {} / median {} / q75 {} / max {} / mean {:.1}\n",
                            d[0], d[1], d[2], d[3], d[4], d[5]
                        );
                    }
                    if let Some(v) = info.variance_explained {
                        t += &format!(
                            "variance explained by the condition: {:.4} pooled over genes, {:.4} median gene (chance {:.4})\n",
                            v.pooled, v.median_gene, v.chance
                        );
                    }
                    t
                }
            };
            write_output(&OutputTarget::Stdout, &text)
        }
    }
}

/// Runs `split`.
pub fn run_split(a: SplitArgs) -> Result<()> {
    let reuse = if a.force { Reuse::Replace } else { Reuse::Fresh };
    run_folder::check(&a.out, reuse, &split::is_split_file, split::EXISTING_HINT)?;
    let conditions = store::load_conditions(&a.dataset)?;
    let (parts, categories) = split::split_with_categories(&conditions, a.scheme, a.folds, a.seed)?;
    split::write_split(&a.out, &parts, categories.as_deref(), a.force)?;
    for (name, lines) in &parts {
        eprintln!("{}: {} perturbations", a.out.join(name).display(), lines.len());
    }
    if let Some(rows) = &categories {
        let count = |part: &str, c: split::Category| rows.iter().filter(|r| r.part == part && r.category == Some(c)).count();
        for part in ["val", "test"] {
            let shown: Vec<String> = split::Category::ALL[..4].iter().map(|&c| format!("{} {}", c.name(), count(part, c))).collect();
            eprintln!("{}: {part}: {}", a.out.join(split::CATEGORIES_FILE).display(), shown.join(", "));
        }
    }
    Ok(())
}

/// Runs `simulate`.
pub fn run_simulate(a: SimulateArgs) -> Result<()> {
    let out = OutputTarget::file(&a.out, a.force);
    out.check()?;
    let t0 = std::time::Instant::now();
    let size = crate::data::simulate::SimSize {
        scale: a.scale,
        perturbations: a.perturbations,
        controls: a.controls,
        cells_per_perturbation: a.cells_per_perturbation,
        genes: a.genes,
    };
    let sim = crate::data::simulate::simulate_sized(a.preset, &size, a.seed, true)?;
    let summary = format!(
        "{} cells x {} genes, {} perturbations, {} control cells",
        sim.counts.n_rows, sim.counts.n_cols, sim.n_perturbations, sim.n_control
    );
    if a.calibration && a.preset == crate::data::simulate::Preset::Norman {
        let design = crate::data::norman::design()?;
        let r = crate::data::gi_fit::interaction_report(&sim, &design.fits)?;
        crate::data::simulate::write_raw(sim, &a.out)?;
        eprintln!("wrote {} [SYNTHETIC]: {summary}, in {:.1}s", out.describe(), t0.elapsed().as_secs_f64());
        eprintln!(
            "genetic interactions (real Norman 2019 fits | drawn for the SYNTHETIC doubles | refit on the SYNTHETIC cells), q25 / median / q75, {} doubles over {} genes:",
            r.n_doubles, r.n_fit_genes
        );
        for row in &r.summary {
            eprintln!(
                "  {:<27} real {:>6.3} {:>6.3} {:>6.3} | drawn {:>6.3} {:>6.3} {:>6.3} | simulated {:>6.3} {:>6.3} {:>6.3}",
                row.quantity, row.real[0], row.real[1], row.real[2], row.drawn[0], row.drawn[1], row.drawn[2], row.simulated[0], row.simulated[1], row.simulated[2]
            );
        }
        for c in &r.classes {
            eprintln!("  {:<27} real {:>6.3} | drawn {:>6.3} | simulated {:>6.3}", c.class.name(), c.real, c.drawn, c.simulated);
        }
        let json = serde_json::to_string_pretty(&r).map_err(|e| Error::invalid(e.to_string()))?;
        return write_output(&OutputTarget::Stdout, &(json + "\n"));
    }
    let report = if a.calibration {
        let t1 = std::time::Instant::now();
        let r = crate::data::sim_report::calibration_report(&sim, &DegConfig::default(), true)?;
        eprintln!("calibration check in {:.1}s", t1.elapsed().as_secs_f64());
        Some(r)
    } else {
        None
    };
    crate::data::simulate::write_raw(sim, &a.out)?;
    eprintln!("wrote {} [SYNTHETIC]: {summary}, in {:.1}s", out.describe(), t0.elapsed().as_secs_f64());
    if let Some(r) = report {
        eprintln!("calibration (SYNTHETIC vs real Replogle 2022 readouts of the same perturbations), q25 / median / q75:");
        for row in &r.summary {
            eprintln!(
                "  {:<45} real {:>9.3} {:>9.3} {:>9.3} | simulated {:>9.3} {:>9.3} {:>9.3}",
                row.quantity, row.real[0], row.real[1], row.real[2], row.simulated[0], row.simulated[1], row.simulated[2]
            );
        }
        let json = serde_json::to_string_pretty(&r).map_err(|e| Error::invalid(e.to_string()))?;
        write_output(&OutputTarget::Stdout, &(json + "\n"))?;
    }
    Ok(())
}
