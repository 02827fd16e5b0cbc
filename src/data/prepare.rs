//! `graphreach prepare`: raw counts -> training-ready [`Dataset`], the way GEARS users run scanpy
//! (normalize_total 1e4, log1p, seurat HVGs keeping the perturbed genes, Welch t-test DE of every
//! condition against `ctrl`, the GEARS top-20 / non-zero / non-dropout lists, and the control
//! pairing drawn once with an explicit seed).

use super::dataset::Dataset;
use super::de;
use super::raw::{select_cols, select_rows, RawData};
use crate::error::{preview_list, Error, Result};
use crate::graph::symbols::SymbolResolver;
use crate::files::text::{Sep, TextInput};
use crate::graph::Graph;
use crate::rng::SplitMix64;
use std::collections::{BTreeMap, HashSet};

/// Settings of `prepare`.
#[derive(Clone, Debug)]
pub struct PrepareConfig {
    /// Number of highly-variable genes (perturbed genes present in the data are added on top).
    pub n_hvg: usize,
    /// Seed of the control-cell pairing draw.
    pub seed: u64,
    /// Dataset name written into the output.
    pub name: String,
}

impl Default for PrepareConfig {
    fn default() -> Self {
        PrepareConfig { n_hvg: 5000, seed: 0, name: "dataset".into() }
    }
}

impl PrepareConfig {
    /// Checks the settings before any work.
    pub fn validate(&self) -> Result<()> {
        if self.n_hvg == 0 {
            return Err(Error::invalid(
                "--n-hvg 0 selects no highly-variable gene, which would leave only the perturbed genes; pass --n-hvg N with N >= 1 (GEARS uses 5000)",
            ));
        }
        Ok(())
    }
}

/// What `prepare` did, for the user.
#[derive(Clone, Debug, Default)]
pub struct PrepareReport {
    /// Cells dropped as `unassigned` while reading.
    pub dropped_unassigned: usize,
    /// Conditions dropped because a gene is not a graph node, with their cell counts.
    pub dropped_not_in_graph: Vec<(String, usize)>,
    /// Conditions whose genes were renamed to reach a graph node (condition, gene -> node symbol).
    pub renamed: Vec<(String, String)>,
    /// Genes kept by the HVG selection alone.
    pub n_hvg: usize,
    /// Perturbed genes added to the HVGs.
    pub n_perturbed_added: usize,
    /// Seconds spent in normalize+log1p, HVG selection, DE, pairing.
    pub seconds: [f64; 4],
}

/// A gene renamed to reach a graph node: (dataset symbol, graph symbol).
pub type Rename = (String, String);

/// Drops the conditions whose genes are not nodes of `graph` after symbol/alias resolution
/// (GEARS drops conditions outside its perturbation graph) and renames the genes of the kept
/// conditions to the graph's symbols (`MARCH8+ctrl` -> `MARCHF8+ctrl`), so splits and the trainer
/// match graph nodes exactly. Returns the dropped conditions with their cell counts and the renames.
pub fn filter_by_graph(raw: &mut RawData, graph: &Graph) -> (Vec<(String, usize)>, Vec<Rename>) {
    let resolver = SymbolResolver::new(graph);
    let mut verdict: BTreeMap<String, bool> = BTreeMap::new();
    let mut renamed = Vec::new();
    for c in &raw.condition {
        if verdict.contains_key(c) {
            continue;
        }
        let mut ok = true;
        for g in crate::graph::names::condition_genes(c) {
            match resolver.resolve(g) {
                crate::graph::symbols::Resolution::Exact(_) => {}
                crate::graph::symbols::Resolution::Renamed { symbol, .. } => renamed.push((g.to_string(), symbol)),
                _ => ok = false,
            }
        }
        verdict.insert(c.clone(), ok);
    }
    renamed.sort();
    renamed.dedup();
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let keep: Vec<usize> = (0..raw.condition.len())
        .filter(|&i| {
            let ok = verdict[&raw.condition[i]];
            if !ok {
                *dropped.entry(raw.condition[i].clone()).or_default() += 1;
            }
            ok
        })
        .collect();
    let rename: std::collections::HashMap<&str, &str> = renamed.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    if !rename.is_empty() {
        for c in raw.condition.iter_mut() {
            if c != "ctrl" {
                let parts: Vec<String> = c.split('+').map(|g| rename.get(g).map(|s| s.to_string()).unwrap_or_else(|| g.to_string())).collect();
                *c = parts.join("+");
            }
        }
    }
    if !dropped.is_empty() {
        raw.counts = select_rows(&raw.counts, &keep);
        raw.condition = keep.iter().map(|&i| raw.condition[i].clone()).collect();
        raw.cell_type = keep.iter().map(|&i| raw.cell_type[i].clone()).collect();
        raw.cell_names = keep.iter().map(|&i| raw.cell_names[i].clone()).collect();
    }
    raw.renamed.extend(renamed.iter().cloned());
    (dropped.into_iter().collect(), renamed)
}

/// Known human gene symbols and aliases (NCBI 2022), for the unknown-gene check.
fn known_symbols() -> Result<HashSet<String>> {
    let input = TextInput::from_bytes(crate::graph::builtin::GENE_ALIAS.to_vec(), "builtin alias table")?;
    let mut set = HashSet::new();
    let mut f = Vec::new();
    for line in input.lines().skip(1) {
        line.raw_fields(Sep::Tab, &mut f)?;
        if f.len() >= 3 {
            set.insert(f[0].to_string());
            set.insert(f[2].to_string());
        }
    }
    Ok(set)
}

/// Checks the conditions: a control group exists, every condition has at least 2 cells, and every
/// perturbed gene is a measured gene or a known human gene symbol/alias.
pub fn validate_conditions(raw: &RawData, file: &str) -> Result<BTreeMap<String, usize>> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in &raw.condition {
        *counts.entry(c.clone()).or_default() += 1;
    }
    let err = |msg: String| Error::H5ad { path: file.to_string(), msg: format!("field 'obs/condition': {msg}") };
    if !counts.contains_key("ctrl") {
        return Err(err("no control cells (condition 'ctrl'); DE and the model input need them".into()));
    }
    if counts.len() == 1 {
        return Err(err(format!(
            "every cell is a control cell ({} cells of condition 'ctrl'): there is no perturbation to learn or evaluate",
            counts["ctrl"]
        )));
    }
    let small: Vec<String> = counts.iter().filter(|(_, &n)| n < 2).map(|(c, n)| format!("{c} ({n})")).collect();
    if !small.is_empty() {
        return Err(err(format!(
            "{} condition(s) have fewer than 2 cells, too few for the t-test: {}; remove those cells first",
            small.len(),
            preview_list(&small)
        )));
    }
    let mut types: Vec<&String> = raw.cell_type.iter().collect();
    types.sort();
    types.dedup();
    if types.len() > 1 {
        return Err(Error::H5ad {
            path: file.to_string(),
            msg: format!("field 'obs/cell_type': holds {} cell types; GEARS models one, split the file by cell type first", types.len()),
        });
    }
    let mut measured: HashSet<&str> = raw.gene_names.iter().map(String::as_str).collect();
    measured.extend(raw.renamed.iter().map(|r| r.1.as_str()));
    let mut missing: Vec<&str> = counts
        .keys()
        .flat_map(|c| crate::graph::names::condition_genes(c))
        .filter(|g| !measured.contains(g))
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        let known = known_symbols()?;
        let unknown: Vec<&str> = missing.into_iter().filter(|g| !known.contains(*g)).collect();
        if !unknown.is_empty() {
            return Err(err(format!(
                "{} condition gene(s) are neither measured genes (var.gene_name) nor known human gene symbols: {}",
                unknown.len(),
                preview_list(&unknown)
            )));
        }
    }
    Ok(counts)
}

/// Condition list with `ctrl` first and the rest sorted, and each cell's condition index.
pub fn index_conditions(cond: &[String]) -> (Vec<String>, Vec<u32>) {
    let mut names: Vec<String> = cond.iter().filter(|c| *c != "ctrl").cloned().collect();
    names.sort();
    names.dedup();
    names.insert(0, "ctrl".into());
    let idx: std::collections::HashMap<&str, u32> = names.iter().enumerate().map(|(i, c)| (c.as_str(), i as u32)).collect();
    let cc = cond.iter().map(|c| idx[c.as_str()]).collect();
    (names, cc)
}

/// Each cell's paired control cell: a uniform draw from the control cells (spec §4.1), control
/// cells pair with themselves. Deterministic in `seed`.
pub fn draw_pairing(cell_condition: &[u32], seed: u64) -> Vec<u32> {
    let ctrl: Vec<u32> = (0..cell_condition.len() as u32).filter(|&c| cell_condition[c as usize] == 0).collect();
    let mut rng = SplitMix64::new(seed);
    (0..cell_condition.len() as u32)
        .map(|c| if cell_condition[c as usize] == 0 || ctrl.is_empty() { c } else { ctrl[rng.below(ctrl.len() as u64) as usize] })
        .collect()
}

/// Runs the preprocessing on validated raw data.
pub fn prepare(mut raw: RawData, cfg: &PrepareConfig, progress: bool) -> Result<(Dataset, PrepareReport)> {
    cfg.validate()?;
    if raw.condition.iter().all(|c| c == "ctrl") {
        return Err(Error::invalid("prepare: the data holds no perturbed cells (only condition 'ctrl')"));
    }
    let mut report = PrepareReport { dropped_unassigned: raw.dropped_unassigned, ..Default::default() };
    let steps = indicatif::ProgressBar::new(4);
    if progress {
        steps.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .map_err(|e| Error::invalid(e.to_string()))?,
        );
        steps.set_prefix("prepare");
    } else {
        steps.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    steps.set_message("normalize_total + log1p");
    let mut t = std::time::Instant::now();
    let mut lap = |k: usize, report: &mut PrepareReport| {
        report.seconds[k] = t.elapsed().as_secs_f64();
        t = std::time::Instant::now();
    };
    de::normalize_log1p(&mut raw.counts, 1e4);
    lap(0, &mut report);
    steps.inc(1);
    steps.set_message("highly-variable genes");
    let mut keep = if cfg.n_hvg >= raw.counts.n_cols {
        (0..raw.counts.n_cols as u32).collect()
    } else {
        de::top_dispersed(&de::seurat_dispersions(&raw.counts), cfg.n_hvg)
    };
    report.n_hvg = keep.len();
    let mut perturbed: HashSet<&str> = raw.condition.iter().flat_map(|c| crate::graph::names::condition_genes(c)).collect();
    for (from, to) in &raw.renamed {
        if perturbed.contains(to.as_str()) {
            perturbed.insert(from.as_str());
        }
    }
    let chosen: HashSet<u32> = keep.iter().copied().collect();
    for (j, name) in raw.gene_names.iter().enumerate() {
        if perturbed.contains(name.as_str()) && !chosen.contains(&(j as u32)) {
            keep.push(j as u32);
            report.n_perturbed_added += 1;
        }
    }
    keep.sort_unstable();
    let mut x = std::mem::take(&mut raw.counts);
    select_cols(&mut x, &keep);
    lap(1, &mut report);
    steps.inc(1);
    steps.set_message("Welch t-test DE vs ctrl");
    let (conditions, cell_condition) = index_conditions(&raw.condition);
    let (de, _) = de::compute_de(&x, &cell_condition, conditions.len());
    lap(2, &mut report);
    steps.inc(1);
    steps.set_message("control pairing");
    let ctrl_pairing = draw_pairing(&cell_condition, cfg.seed);
    lap(3, &mut report);
    steps.inc(1);
    steps.finish_and_clear();
    let cell_type = raw.cell_type.first().cloned().unwrap_or_default();
    let ds = Dataset {
        name: cfg.name.clone(),
        synthetic: raw.synthetic,
        cell_type,
        gene_ids: keep.iter().map(|&j| raw.gene_ids[j as usize].clone()).collect(),
        gene_names: keep.iter().map(|&j| raw.gene_names[j as usize].clone()).collect(),
        x,
        conditions,
        cell_condition,
        de,
        ctrl_pairing,
        pairing_seed: cfg.seed,
    };
    Ok((ds, report))
}
