//! The shared inputs `experiment plan` writes once per dataset, before any unit runs:
//! `DIR/inputs/<dataset>/data.h5ad` (the prepared dataset), `folds/fold_NN/{train,test,pool}.txt`
//! and `val.tsv`, and `info.json` last (present == the dataset's inputs are complete).
//!
//! * Preparation is `graphreach prepare` in-process: the embedded Papalexi raw counts, a
//!   simulation (SYNTHETIC, named so), or a raw file; optionally a seeded subsample of cells first.
//!   A `prepared:` dataset is used where it is (its absolute path goes into `info.json`).
//! * Perturbations whose genes are not nodes of the dataset's graph stop the plan with an error
//!   naming `datasets[i].graph` and the genes, unless `skip_missing` drops them (listed).
//! * Folds are `graphreach split --scheme folds --folds k --seed split_seed`: fold f (1-based) is
//!   that command's `fold_{f-1}`.
//! * Validation is drawn per fold, once, before any selection: `cycles` batches of `val`
//!   perturbations, a seeded shuffle of the fold's training part (seed from `split_seed` and the
//!   fold). Cycle c validates on batches 1..=c. The same validation for every method and seed, and
//!   never a training or test perturbation: `pool.txt` (the selection pool of every method) is the
//!   fold's training part minus all validation batches.

use super::config::{DataSource, DatasetPlan, Study};
use super::fsio::{read_text, write_bytes, write_text};
use crate::data::{prepare, raw, split, store, Dataset};
use crate::error::{preview_list, Error, Result};
use crate::graph::symbols::{Resolution, SymbolResolver};
use crate::graph::Graph;
use crate::rng::{mix, SplitMix64};
use crate::graph::names::condition_genes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The real Papalexi 2021 THP-1 CRISPR screen raw counts (sceptredata, MIT; see DATA.md),
/// embedded so that the `papalexi` preset runs from any folder (`source = "builtin:papalexi"`).
pub const PAPALEXI_RAW: &[u8] = include_bytes!("../../tests/fixtures/papalexi2021_lowmoi_counts.h5ad");

/// Stream tag of the validation draw.
const VAL_TAG: u64 = 0x5641_4c5f_4452_4157;
/// Stream tag of the cell subsample.
const SUB_TAG: u64 = 0x5355_4253_414d_504c;

/// One fold's sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldInfo {
    /// 1-based fold.
    pub fold: usize,
    /// Test perturbations.
    pub n_test: usize,
    /// Validation perturbations over all cycles.
    pub n_val: usize,
    /// The selection pool (training part minus validation).
    pub n_pool: usize,
}

/// `inputs/<dataset>/info.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Study dataset name.
    pub name: String,
    /// The config's `source`.
    pub source: String,
    /// Whether the data are synthetic (simulated).
    pub synthetic: bool,
    /// The prepared dataset: relative to the study folder, or absolute for `prepared:` sources.
    pub data: String,
    /// The GO graph.
    pub graph: String,
    /// Cells, genes, perturbations (after any dropped ones).
    pub n_cells: usize,
    /// Genes.
    pub n_genes: usize,
    /// Perturbations (conditions other than ctrl).
    pub n_perturbations: usize,
    /// Perturbations added to training per cycle.
    pub batch: usize,
    /// Perturbations added to validation per cycle.
    pub val: usize,
    /// Perturbations dropped because a gene is not a graph node (`skip_missing`).
    pub dropped: Vec<String>,
    /// Folds.
    pub folds: Vec<FoldInfo>,
    /// Notes (subsampling, renamed genes).
    pub notes: Vec<String>,
}

impl DatasetInfo {
    /// The prepared dataset's path for the study folder `dir`.
    pub fn data_path(&self, dir: &Path) -> PathBuf {
        let p = Path::new(&self.data);
        if p.is_absolute() { p.to_path_buf() } else { dir.join(p) }
    }
}

/// The inputs folder of dataset `name`.
pub fn dataset_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("inputs").join(name)
}

/// The folder of fold `fold` (1-based).
pub fn fold_dir(dir: &Path, name: &str, fold: usize) -> PathBuf {
    dataset_dir(dir, name).join("folds").join(format!("fold_{fold:02}"))
}

/// Reads `info.json` of a dataset.
pub fn read_info(dir: &Path, name: &str) -> Result<DatasetInfo> {
    let p = dataset_dir(dir, name).join("info.json");
    let text = read_text(&p).map_err(|_| {
        Error::invalid(format!("{} is missing: the study folder was not planned completely; run `graphreach experiment plan` on it", p.display()))
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Json { path: p.display().to_string(), source: e })
}

/// Reads a list file (one perturbation per line).
pub fn read_list(path: &Path) -> Result<Vec<String>> {
    Ok(read_text(path)?.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

/// Reads `val.tsv` of a fold: the validation perturbations of cycles 1..=cycle.
pub fn read_val(dir: &Path, name: &str, fold: usize, cycle: usize) -> Result<Vec<String>> {
    let p = fold_dir(dir, name, fold).join("val.tsv");
    let mut out = Vec::new();
    for (i, line) in read_text(&p)?.lines().enumerate().skip(1) {
        let (pert, c) = line.split_once('\t').ok_or_else(|| Error::parse(p.display().to_string(), i + 1, "expected perturbation<TAB>cycle"))?;
        let c: usize = c.trim().parse().map_err(|_| Error::parse(p.display().to_string(), i + 1, "the cycle is not a whole number"))?;
        if c <= cycle {
            out.push(pert.to_string());
        }
    }
    Ok(out)
}

fn subsample(raw: &mut raw::RawData, spec: &super::config::DatasetSpec, notes: &mut Vec<String>) {
    if spec.max_cells_per_perturbation.is_none() && spec.max_control_cells.is_none() {
        return;
    }
    let mut by_cond: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, c) in raw.condition.iter().enumerate() {
        by_cond.entry(c.as_str()).or_default().push(i);
    }
    let mut keep = Vec::new();
    for (k, (cond, cells)) in by_cond.iter().enumerate() {
        let cap = if *cond == "ctrl" { spec.max_control_cells } else { spec.max_cells_per_perturbation };
        let mut v = cells.clone();
        if let Some(cap) = cap.filter(|&c| c < v.len()) {
            let mut rng = SplitMix64::new(mix(spec.prepare_seed ^ SUB_TAG ^ mix(k as u64)));
            for i in 0..cap {
                let j = i + rng.below((v.len() - i) as u64) as usize;
                v.swap(i, j);
            }
            v.truncate(cap);
        }
        keep.extend(v);
    }
    keep.sort_unstable();
    let before = raw.condition.len();
    raw.counts = raw::select_rows(&raw.counts, &keep);
    raw.condition = keep.iter().map(|&i| raw.condition[i].clone()).collect();
    raw.cell_type = keep.iter().map(|&i| raw.cell_type[i].clone()).collect();
    if raw.cell_names.len() == before {
        raw.cell_names = keep.iter().map(|&i| raw.cell_names[i].clone()).collect();
    }
    notes.push(format!(
        "subsampled {} of {before} cells (at most {} per perturbation, {} control cells; seeded)",
        keep.len(),
        spec.max_cells_per_perturbation.map_or("all".into(), |n| n.to_string()),
        spec.max_control_cells.map_or("all".into(), |n| n.to_string())
    ));
}

fn missing_error(file: &str, plan: &DatasetPlan, graph: &Graph, missing: &[String]) -> Error {
    Error::invalid(format!(
        "{file}: {}.graph = \"{}\": dataset '{}' has {} perturbation(s) whose genes are not nodes of the graph: {}. Use a graph that contains them (builtin:go-human covers all annotated human genes) or set {}.skip_missing = true to drop them",
        plan.key,
        graph.name,
        plan.spec.name,
        missing.len(),
        preview_list(missing),
        plan.key
    ))
}

/// Perturbation conditions of a prepared dataset whose genes are not all nodes of `graph`.
pub fn conditions_not_in_graph(conditions: &[String], graph: &Graph) -> Vec<String> {
    let resolver = SymbolResolver::new(graph);
    conditions
        .iter()
        .filter(|c| c.as_str() != "ctrl")
        .filter(|c| condition_genes(c).iter().any(|g| matches!(resolver.resolve(g), Resolution::Unknown | Resolution::Ambiguous(_))))
        .cloned()
        .collect()
}

/// Prepares (or locates) the dataset of `plan`; returns the loaded dataset, the `info.data`
/// path, perturbations dropped and notes.
fn materialise(file: &str, dir: &Path, plan: &DatasetPlan, graph: &Graph, progress: bool) -> Result<(Dataset, String, Vec<String>, Vec<String>)> {
    let spec = &plan.spec;
    let ddir = dataset_dir(dir, &spec.name);
    std::fs::create_dir_all(&ddir).map_err(|e| Error::io(&ddir, e))?;
    let mut notes = Vec::new();
    let mut raw = match &plan.source {
        DataSource::Prepared(p) => {
            let data = crate::data::load_dataset(p)?;
            let missing = conditions_not_in_graph(&data.conditions, graph);
            if !missing.is_empty() && !spec.skip_missing {
                return Err(missing_error(file, plan, graph, &missing));
            }
            return Ok((data, p.display().to_string(), missing, notes));
        }
        DataSource::BuiltinPapalexi => {
            let tmp = ddir.join(".papalexi_raw.h5ad");
            write_bytes(&tmp, PAPALEXI_RAW)?;
            let r = raw::read_raw(&tmp, Some(spec.cell_type.as_deref().unwrap_or("THP-1")));
            let _ = std::fs::remove_file(&tmp);
            r?
        }
        DataSource::Raw(p) => raw::read_raw(p, spec.cell_type.as_deref())?,
        DataSource::Simulate(preset) => {
            if progress {
                eprintln!("simulating {} (SYNTHETIC data, scale {}, seed {})", spec.name, spec.scale, spec.sim_seed);
            }
            let size = crate::data::simulate::SimSize {
                scale: spec.scale,
                perturbations: spec.sim_perturbations,
                controls: spec.sim_controls,
                cells_per_perturbation: spec.sim_cells_per_perturbation,
                genes: spec.sim_genes,
            };
            let sim = crate::data::simulate::simulate_sized(*preset, &size, spec.sim_seed, false)?;
            let n = sim.counts.n_rows;
            raw::RawData {
                counts: sim.counts,
                gene_ids: sim.gene_ids,
                gene_names: sim.gene_names,
                condition: sim.condition,
                cell_type: vec!["K562".into(); n],
                synthetic: true,
                dropped_unassigned: 0,
                cell_names: (0..n).map(|i| format!("sim{i}")).collect(),
                renamed: Vec::new(),
            }
        }
    };
    subsample(&mut raw, spec, &mut notes);
    let (dropped, renamed) = prepare::filter_by_graph(&mut raw, graph);
    let dropped: Vec<String> = dropped.into_iter().map(|d| d.0).collect();
    if !dropped.is_empty() && !spec.skip_missing {
        return Err(missing_error(file, plan, graph, &dropped));
    }
    if !renamed.is_empty() {
        notes.push(format!("renamed to graph symbols: {}", renamed.iter().map(|r| format!("{} -> {}", r.0, r.1)).collect::<Vec<_>>().join(", ")));
    }
    prepare::validate_conditions(&raw, &spec.source)?;
    let cfg = prepare::PrepareConfig { n_hvg: spec.n_hvg, seed: spec.prepare_seed, name: spec.name.clone() };
    let cells = std::mem::take(&mut raw.cell_names);
    let (ds, _) = prepare::prepare(raw, &cfg, false)?;
    let path = ddir.join("data.h5ad");
    store::write_dataset(ds, Some(&cells), &path, false)?;
    // Read back what units will read (the same code path, the same numbers).
    let ds = crate::data::load_dataset(&path)?;
    Ok((ds, "inputs/".to_string() + &spec.name + "/data.h5ad", dropped, notes))
}

/// Writes every input of dataset `plan` (unless `info.json` exists already) and returns its info.
/// Checks that the protocol fits every fold's pool before anything is trained.
pub fn ensure_dataset(dir: &Path, study: &Study, plan: &DatasetPlan, file: &str, progress: bool) -> Result<DatasetInfo> {
    let name = &plan.spec.name;
    if dataset_dir(dir, name).join("info.json").exists() {
        return read_info(dir, name);
    }
    let graph = crate::graph::io::load_graph(&plan.spec.graph)
        .map_err(|e| Error::invalid(format!("{file}: {}.graph = \"{}\": {e}", plan.key, plan.spec.graph)))?;
    let (data, data_rel, dropped, notes) = materialise(file, dir, plan, &graph, progress)?;
    let drop_set: BTreeSet<&str> = dropped.iter().map(String::as_str).collect();
    let perts: Vec<String> = data.conditions.iter().filter(|c| c.as_str() != "ctrl" && !drop_set.contains(c.as_str())).cloned().collect();
    let p = &study.config.protocol;
    let total = perts.len();
    let batch = p.batch.resolve(total);
    let val = p.val.resolve(total);
    if batch == 0 {
        return Err(Error::invalid(format!("{file}: protocol.batch: {:?} of dataset '{name}''s {total} perturbations rounds to 0; use a larger fraction or a count", p.batch)));
    }
    if p.folds > total {
        return Err(Error::invalid(format!("{file}: protocol.folds: {} folds but dataset '{name}' has only {total} perturbations", p.folds)));
    }
    let parts = split::split(&perts, split::Scheme::Folds, p.folds, p.split_seed)?;
    let mut folds = Vec::new();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for &f in &study.folds {
        let train = &parts[2 * (f - 1)].1;
        let test = &parts[2 * (f - 1) + 1].1;
        let need = p.cycles * (batch + val);
        if need > train.len() {
            return Err(Error::invalid(format!(
                "{file}: protocol.batch / protocol.val / protocol.cycles do not fit the pool: {} cycles x ({batch} training + {val} validation) = {need} perturbations, but fold {f} of dataset '{name}' has only {} outside its test part ({total} perturbations, {} folds). Lower protocol.batch, protocol.val or protocol.cycles",
                p.cycles,
                train.len(),
                p.folds
            )));
        }
        let mut rng = SplitMix64::new(mix(p.split_seed ^ VAL_TAG ^ mix(f as u64)));
        let mut order = train.clone();
        let n_val = p.cycles * val;
        for i in 0..n_val {
            let j = i + rng.below((order.len() - i) as u64) as usize;
            order.swap(i, j);
        }
        let val_set: BTreeSet<&String> = order[..n_val].iter().collect();
        let pool: Vec<String> = train.iter().filter(|t| !val_set.contains(t)).cloned().collect();
        let mut val_tsv = String::from("perturbation\tcycle\n");
        for (i, v) in order[..n_val].iter().enumerate() {
            val_tsv += &format!("{v}\t{}\n", i / val.max(1) + 1);
        }
        let fdir = fold_dir(dir, name, f);
        let lines = |v: &[String]| v.iter().map(|s| s.clone() + "\n").collect::<String>();
        files.push((fdir.join("train.txt"), lines(train)));
        files.push((fdir.join("test.txt"), lines(test)));
        files.push((fdir.join("pool.txt"), lines(&pool)));
        files.push((fdir.join("val.tsv"), val_tsv));
        folds.push(FoldInfo { fold: f, n_test: test.len(), n_val, n_pool: pool.len() });
    }
    for (path, text) in &files {
        write_text(path, text)?;
    }
    let info = DatasetInfo {
        name: name.clone(),
        source: plan.spec.source.clone(),
        synthetic: data.synthetic,
        data: data_rel,
        graph: plan.spec.graph.clone(),
        n_cells: data.n_cells(),
        n_genes: data.n_genes(),
        n_perturbations: total,
        batch,
        val,
        dropped,
        folds,
        notes,
    };
    if info.synthetic && !name.to_ascii_lowercase().contains("synthetic") {
        // A raw or prepared file marked synthetic: the name must say so as well.
        return Err(Error::invalid(format!("{file}: {}.name: \"{name}\" is synthetic data (marked so in the file); its name must contain \"synthetic\"", plan.key)));
    }
    let json = serde_json::to_string_pretty(&info).expect("info serialises") + "\n";
    write_text(&dataset_dir(dir, name).join("info.json"), &json)?;
    Ok(info)
}
