//! The prepared dataset on disk: a GEARS-compatible `perturb_processed.h5ad` (log-normalised CSR
//! `X`; `obs` condition / cell_type / dose_val / control / condition_name; `var.gene_name`; the
//! GEARS `uns` DE entries keyed by condition_name) plus `uns/graphreach` (format tag, name,
//! synthetic flag, pairing seed and the control pairing). [`load_dataset`] reads these files and
//! real GEARS files, computing whatever DE entries a file lacks.

use super::dataset::{ConditionDe, Dataset};
use super::h5ad::{Column, H5ad};
use super::de::compute_de;
use super::prepare::{draw_pairing, index_conditions};
use super::write::{write_anndata, AnnDataOut, OutCol, UnsVal};
use crate::error::Result;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Format tag written to `uns/graphreach/format`.
pub const FORMAT: &str = "graphreach-prepared-1";

/// Seed of the control pairing drawn for a GEARS file that carries none.
pub const DEFAULT_PAIRING_SEED: u64 = 0;

/// GEARS `dose_val` of a condition: `1+1` for two-part names, `1` for `ctrl`.
pub fn dose_val(condition: &str) -> &'static str {
    if condition.split('+').count() == 2 {
        "1+1"
    } else {
        "1"
    }
}

/// GEARS `condition_name`: `<cell_type>_<condition>_<dose_val>`.
pub fn condition_name(cell_type: &str, condition: &str) -> String {
    format!("{cell_type}_{condition}_{}", dose_val(condition))
}

/// Writes `ds` as a GEARS-compatible `.h5ad`. `cell_names` defaults to `cell0..`; `compress`
/// deflates `X` (about 2.4x smaller, about 2x slower to write).
pub fn write_dataset(ds: Dataset, cell_names: Option<&[String]>, path: &Path, compress: bool) -> Result<()> {
    let generated: Vec<String>;
    let names = match cell_names {
        Some(n) => n,
        None => {
            generated = (0..ds.n_cells()).map(|i| format!("cell{i}")).collect();
            &generated
        }
    };
    let cond: Vec<String> = ds.cell_condition.iter().map(|&c| ds.conditions[c as usize].clone()).collect();
    let ct = vec![ds.cell_type.clone(); ds.n_cells()];
    let dose: Vec<String> = cond.iter().map(|c| dose_val(c).to_string()).collect();
    let control: Vec<i64> = ds.cell_condition.iter().map(|&c| (c == 0) as i64).collect();
    let cname: Vec<String> = cond.iter().map(|c| condition_name(&ds.cell_type, c)).collect();
    let synth = vec!["true".to_string(); ds.n_cells()];
    let mut obs = vec![
        ("condition", OutCol::Cat(&cond)),
        ("cell_type", OutCol::Cat(&ct)),
        ("dose_val", OutCol::Cat(&dose)),
        ("control", OutCol::Int(control)),
        ("condition_name", OutCol::Cat(&cname)),
    ];
    if ds.synthetic {
        obs.push(("synthetic", OutCol::Cat(&synth)));
    }
    let ids = |v: &[u32]| UnsVal::Strs(v.iter().map(|&j| ds.gene_ids[j as usize].clone()).collect());
    let nums = |v: &[u32]| UnsVal::Ints(v.iter().map(|&j| j as i64).collect());
    let per = |f: &dyn Fn(&ConditionDe) -> UnsVal| -> UnsVal {
        UnsVal::Dict(
            (1..ds.conditions.len()).map(|c| (condition_name(&ds.cell_type, &ds.conditions[c]), f(&ds.de[c]))).collect(),
        )
    };
    let mut uns = vec![
        ("rank_genes_groups_cov_all".to_string(), per(&|d| ids(&d.ranked))),
        ("top_non_dropout_de_20".to_string(), per(&|d| ids(&d.top20_non_dropout))),
        ("top_non_zero_de_20".to_string(), per(&|d| ids(&d.top20_non_zero))),
        ("non_zeros_gene_idx".to_string(), per(&|d| nums(&d.non_zeros))),
        ("non_dropout_gene_idx".to_string(), per(&|d| nums(&d.non_dropout))),
        (
            "graphreach".to_string(),
            UnsVal::Dict(vec![
                ("format".into(), UnsVal::Strs(vec![FORMAT.into()])),
                ("name".into(), UnsVal::Strs(vec![ds.name.clone()])),
                ("synthetic".into(), UnsVal::Ints(vec![ds.synthetic as i64])),
                ("pairing_seed".into(), UnsVal::Strs(vec![ds.pairing_seed.to_string()])),
                ("ctrl_pairing".into(), UnsVal::Ints(ds.ctrl_pairing.iter().map(|&v| v as i64).collect())),
            ]),
        ),
    ];
    if ds.synthetic {
        uns.push(("synthetic".into(), UnsVal::Strs(vec![super::simulate::SYNTHETIC_NOTE.into()])));
    }
    let Dataset { x, gene_ids, gene_names, .. } = ds;
    let out = AnnDataOut {
        x,
        obs_index: names,
        obs,
        var_index: &gene_ids,
        var: vec![("gene_name", OutCol::Str(&gene_names))],
        uns,
    };
    write_anndata(out, path, compress)
}

fn str_col<'a>(f: &H5ad, cols: &'a BTreeMap<String, Column>, name: &str, frame: &str) -> Result<Option<&'a Vec<String>>> {
    match cols.get(name) {
        None => Ok(None),
        Some(Column::Str(v)) => Ok(Some(v)),
        Some(Column::Num(_)) => Err(f.err(&format!("{frame}/{name}"), "expected strings, found numbers")),
    }
}

/// The distinct conditions of a dataset (`ctrl` first, then sorted), read from `obs/condition` only.
pub fn load_conditions(path: &Path) -> Result<Vec<String>> {
    let f = H5ad::open(path)?;
    let obs = f.read_frame("obs")?;
    let cond = str_col(&f, &obs.columns, "condition", "obs")?.ok_or_else(|| f.err("obs/condition", "missing"))?;
    if !cond.iter().any(|c| c == "ctrl") {
        return Err(f.err("obs/condition", "no control cells (condition 'ctrl')"));
    }
    Ok(index_conditions(cond).0)
}

/// Loads a training-ready dataset: a `graphreach prepare` output or a GEARS `perturb_processed.h5ad`
/// (log-normalised `X`, `obs.condition`, the `uns` DE entries; missing DE entries are computed
/// with the same Welch t-test as `prepare`, a missing pairing is drawn with [`DEFAULT_PAIRING_SEED`]).
pub fn load_dataset(path: &Path) -> Result<Dataset> {
    let f = H5ad::open(path)?;
    let obs = f.read_frame("obs")?;
    let var = f.read_frame("var")?;
    let x = f.read_matrix("X")?;
    if x.n_rows != obs.index.len() || x.n_cols != var.index.len() {
        return Err(f.err("X", format!("is {} x {} but obs has {} and var {} rows", x.n_rows, x.n_cols, obs.index.len(), var.index.len())));
    }
    if !x.data.is_empty() && x.data.iter().all(|v| v.fract() == 0.0) && x.data.iter().any(|&v| v > 20.0) {
        return Err(f.err("X", "holds raw integer counts; run `graphreach prepare` on this file first"));
    }
    let cond = str_col(&f, &obs.columns, "condition", "obs")?
        .ok_or_else(|| f.err("obs/condition", "missing; a prepared dataset needs a GEARS condition per cell"))?;
    let ct_col = str_col(&f, &obs.columns, "cell_type", "obs")?;
    let mut cell_types: Vec<&String> = ct_col.map(|v| v.iter().collect()).unwrap_or_default();
    cell_types.sort();
    cell_types.dedup();
    if cell_types.len() > 1 {
        return Err(f.err("obs/cell_type", format!("holds {} cell types; GEARS datasets have one", cell_types.len())));
    }
    let cell_type = cell_types.first().map(|s| s.to_string()).unwrap_or_else(|| "unknown".into());
    let gene_names = str_col(&f, &var.columns, "gene_name", "var")?.cloned().unwrap_or_else(|| var.index.clone());
    let (conditions, cell_condition) = if cond.iter().any(|c| c == "ctrl") {
        index_conditions(cond)
    } else {
        return Err(f.err("obs/condition", "no control cells (condition 'ctrl')"));
    };
    let cname_col = str_col(&f, &obs.columns, "condition_name", "obs")?;
    let mut cname_of: Vec<String> = conditions.iter().map(|c| condition_name(&cell_type, c)).collect();
    if let Some(cn) = cname_col {
        for (i, &c) in cell_condition.iter().enumerate() {
            cname_of[c as usize] = cn[i].clone();
        }
    }
    let n_cond = conditions.len();
    let gene_pos: HashMap<&str, u32> = var.index.iter().enumerate().map(|(j, g)| (g.as_str(), j as u32)).collect();
    let to_idx = |field: &str, ids: &[String]| -> Result<Vec<u32>> {
        ids.iter()
            .map(|g| gene_pos.get(g.as_str()).copied().ok_or_else(|| f.err(field, format!("gene id '{g}' is not in var.index"))))
            .collect()
    };
    let uns_str = |name: &str| -> Result<Option<BTreeMap<String, Vec<String>>>> {
        let p = format!("uns/{name}");
        if f.has_group(&p) { f.read_string_dict(&p).map(Some) } else { Ok(None) }
    };
    let uns_int = |name: &str| -> Result<Option<BTreeMap<String, Vec<i64>>>> {
        let p = format!("uns/{name}");
        if f.has_group(&p) { f.read_int_dict(&p).map(Some) } else { Ok(None) }
    };
    let ranked = uns_str("rank_genes_groups_cov_all")?;
    let nd20 = uns_str("top_non_dropout_de_20")?;
    let nz20 = uns_str("top_non_zero_de_20")?;
    let nz = uns_int("non_zeros_gene_idx")?;
    let ndo = uns_int("non_dropout_gene_idx")?;
    let n_genes = x.n_cols as i64;
    // DE is recomputed (same Welch t-test as prepare) only when a condition lacks an entry.
    let complete = |m: &Option<BTreeMap<String, Vec<String>>>| m.as_ref().is_some_and(|m| cname_of[1..].iter().all(|k| m.contains_key(k)));
    let complete_i = |m: &Option<BTreeMap<String, Vec<i64>>>| m.as_ref().is_some_and(|m| cname_of[1..].iter().all(|k| m.contains_key(k)));
    let mut de = if complete(&ranked) && complete(&nd20) && complete(&nz20) && complete_i(&nz) && complete_i(&ndo) {
        vec![ConditionDe::default(); n_cond]
    } else {
        compute_de(&x, &cell_condition, n_cond).0
    };
    for c in 1..n_cond {
        let key = &cname_of[c];
        let d = &mut de[c];
        if let Some(r) = ranked.as_ref().and_then(|m| m.get(key)) {
            d.ranked = to_idx(&format!("uns/rank_genes_groups_cov_all/{key}"), r)?;
            d.top20_de = d.ranked.iter().copied().take(20).collect();
        }
        if let Some(r) = nd20.as_ref().and_then(|m| m.get(key)) {
            d.top20_non_dropout = to_idx(&format!("uns/top_non_dropout_de_20/{key}"), r)?;
        }
        if let Some(r) = nz20.as_ref().and_then(|m| m.get(key)) {
            d.top20_non_zero = to_idx(&format!("uns/top_non_zero_de_20/{key}"), r)?;
        }
        for (m, target, name) in [(&nz, &mut d.non_zeros, "non_zeros_gene_idx"), (&ndo, &mut d.non_dropout, "non_dropout_gene_idx")] {
            if let Some(v) = m.as_ref().and_then(|m| m.get(key)) {
                if let Some(bad) = v.iter().find(|&&j| j < 0 || j >= n_genes) {
                    return Err(f.err(&format!("uns/{name}/{key}"), format!("gene index {bad} out of range 0..{n_genes}")));
                }
                *target = v.iter().map(|&j| j as u32).collect();
            }
        }
    }
    let has = |p: &str| f.has_dataset(p);
    let synthetic = has("uns/synthetic")
        || obs.columns.contains_key("synthetic")
        || (has("uns/graphreach/synthetic") && f.read_i64("uns/graphreach/synthetic")?.first() == Some(&1));
    let name = if has("uns/graphreach/name") {
        f.read_strings("uns/graphreach/name")?.into_iter().next().unwrap_or_default()
    } else {
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    };
    let (ctrl_pairing, pairing_seed) = if has("uns/graphreach/ctrl_pairing") {
        let seed_s = f.read_strings("uns/graphreach/pairing_seed")?.into_iter().next().unwrap_or_default();
        let seed = seed_s.parse::<u64>().map_err(|_| f.err("uns/graphreach/pairing_seed", format!("'{seed_s}' is not a seed")))?;
        let p = f.read_i64("uns/graphreach/ctrl_pairing")?;
        if p.len() != x.n_rows || p.iter().any(|&c| c < 0 || c as usize >= x.n_rows || cell_condition[c as usize] != 0) {
            return Err(f.err("uns/graphreach/ctrl_pairing", "is not one control-cell index per cell"));
        }
        // Cells are re-indexed only by condition order, never reordered, so the pairing stays valid.
        (p.into_iter().map(|c| c as u32).collect(), seed)
    } else {
        (draw_pairing(&cell_condition, DEFAULT_PAIRING_SEED), DEFAULT_PAIRING_SEED)
    };
    Ok(Dataset {
        name,
        synthetic,
        cell_type,
        gene_ids: var.index,
        gene_names,
        x,
        conditions,
        cell_condition,
        de,
        ctrl_pairing,
        pairing_seed,
    })
}
