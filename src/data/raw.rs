//! A raw-count AnnData as `prepare` needs it: integer counts, gene ids and symbols, one GEARS
//! condition and cell type per cell. Cells whose condition is `unassigned` (or empty) are dropped
//! and counted; anything else that is not a GEARS condition string is an error.

use super::dataset::CsrMatrix;
use super::h5ad::{Column, Frame, H5ad};
use crate::error::Result;
use std::path::Path;

/// Raw counts with the per-cell and per-gene annotations.
#[derive(Clone, Debug, Default)]
pub struct RawData {
    /// Cells x genes raw counts (integers stored as f32).
    pub counts: CsrMatrix,
    /// `var.index`.
    pub gene_ids: Vec<String>,
    /// `var.gene_name`.
    pub gene_names: Vec<String>,
    /// GEARS condition of every kept cell.
    pub condition: Vec<String>,
    /// Cell type of every kept cell.
    pub cell_type: Vec<String>,
    /// Whether the file is marked synthetic (`uns/synthetic` or `obs/synthetic`).
    pub synthetic: bool,
    /// Cells dropped because their condition was `unassigned` / empty.
    pub dropped_unassigned: usize,
    /// `obs.index` of every kept cell.
    pub cell_names: Vec<String>,
    /// Condition genes renamed to graph symbols by `--graph` (dataset symbol, graph symbol).
    pub renamed: Vec<(String, String)>,
}

fn str_column<'a>(f: &H5ad, frame: &'a Frame, name: &str, field: &str) -> Result<Option<&'a Vec<String>>> {
    match frame.columns.get(name) {
        None => Ok(None),
        Some(Column::Str(v)) => Ok(Some(v)),
        Some(Column::Num(_)) => Err(f.err(field, "expected a string or categorical column, found numbers")),
    }
}

/// True when `c` is a GEARS condition string: `ctrl`, `A+ctrl`, `ctrl+A` or `A+B`.
pub fn is_gears_condition(c: &str) -> bool {
    if c == "ctrl" {
        return true;
    }
    let parts: Vec<&str> = c.split('+').collect();
    parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.trim() == *p) && !(parts[0] == "ctrl" && parts[1] == "ctrl")
}

/// Reads a raw-count AnnData. `cell_type` is used when `obs` has no `cell_type` column.
pub fn read_raw(path: &Path, cell_type: Option<&str>) -> Result<RawData> {
    let f = H5ad::open(path)?;
    let obs = f.read_frame("obs")?;
    let var = f.read_frame("var")?;
    let cond = str_column(&f, &obs, "condition", "obs/condition")?
        .ok_or_else(|| f.err("obs/condition", "missing; raw data needs a GEARS condition per cell (ctrl, A+ctrl, A+B)"))?;
    let ct_col = str_column(&f, &obs, "cell_type", "obs/cell_type")?;
    if ct_col.is_none() && cell_type.is_none() {
        return Err(f.err("obs/cell_type", "missing; add the column or pass --cell-type NAME"));
    }
    let gene_names = match str_column(&f, &var, "gene_name", "var/gene_name")? {
        Some(v) => v.clone(),
        None => return Err(f.err("var/gene_name", "missing; GEARS needs gene symbols in var.gene_name")),
    };
    let x = f.read_matrix("X")?;
    if x.n_rows != obs.index.len() || x.n_cols != var.index.len() {
        return Err(f.err(
            "X",
            format!("is {} x {} but obs has {} rows and var {} rows", x.n_rows, x.n_cols, obs.index.len(), var.index.len()),
        ));
    }
    if let Some((k, v)) = x.data.iter().enumerate().find(|(_, v)| !(v.fract() == 0.0 && **v >= 0.0)) {
        let row = x.indptr.partition_point(|&p| p as usize <= k) - 1;
        return Err(f.err(
            "X",
            format!(
                "holds {v} in cell '{}'; raw non-negative integer counts are expected (is this already log-normalised? then load it directly instead of running prepare)",
                obs.index[row]
            ),
        ));
    }
    let mut bad: Vec<String> = Vec::new();
    let mut keep: Vec<usize> = Vec::new();
    let mut dropped = 0;
    for (i, c) in cond.iter().enumerate() {
        if c.is_empty() || c == "unassigned" {
            dropped += 1;
        } else if is_gears_condition(c) {
            keep.push(i);
        } else if !bad.contains(c) {
            bad.push(c.clone());
        }
    }
    if !bad.is_empty() {
        bad.sort();
        return Err(f.err(
            "obs/condition",
            format!("{} value(s) are not GEARS conditions (ctrl, A+ctrl, A+B): {}", bad.len(), bad.iter().take(10).cloned().collect::<Vec<_>>().join(", ")),
        ));
    }
    let synthetic = f.has_dataset("uns/synthetic") || obs.columns.contains_key("synthetic");
    let counts = select_rows(&x, &keep);
    Ok(RawData {
        counts,
        gene_ids: var.index,
        gene_names,
        condition: keep.iter().map(|&i| cond[i].clone()).collect(),
        cell_type: keep.iter().map(|&i| ct_col.map(|v| v[i].clone()).unwrap_or_else(|| cell_type.unwrap_or_default().to_string())).collect(),
        synthetic,
        dropped_unassigned: dropped,
        cell_names: keep.iter().map(|&i| obs.index[i].clone()).collect(),
        renamed: Vec::new(),
    })
}

/// The rows `keep` (in that order) of `x`.
pub fn select_rows(x: &CsrMatrix, keep: &[usize]) -> CsrMatrix {
    let mut m = CsrMatrix { n_rows: keep.len(), n_cols: x.n_cols, indptr: Vec::with_capacity(keep.len() + 1), ..Default::default() };
    m.indptr.push(0);
    let nnz: usize = keep.iter().map(|&r| (x.indptr[r + 1] - x.indptr[r]) as usize).sum();
    m.indices.reserve(nnz);
    m.data.reserve(nnz);
    for &r in keep {
        let (c, v) = x.row(r);
        m.indices.extend_from_slice(c);
        m.data.extend_from_slice(v);
        m.indptr.push(m.data.len() as u64);
    }
    m
}

/// The columns `keep` (sorted ascending) of `x`, renumbered 0..keep.len().
pub fn select_cols(x: &CsrMatrix, keep: &[u32]) -> CsrMatrix {
    let mut map = vec![u32::MAX; x.n_cols];
    for (k, &j) in keep.iter().enumerate() {
        map[j as usize] = k as u32;
    }
    let mut m = CsrMatrix { n_rows: x.n_rows, n_cols: keep.len(), indptr: Vec::with_capacity(x.n_rows + 1), ..Default::default() };
    m.indptr.push(0);
    for r in 0..x.n_rows {
        let (c, v) = x.row(r);
        for (&j, &val) in c.iter().zip(v) {
            let k = map[j as usize];
            if k != u32::MAX {
                m.indices.push(k);
                m.data.push(val);
            }
        }
        m.indptr.push(m.data.len() as u64);
    }
    m
}
