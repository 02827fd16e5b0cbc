//! A raw-count AnnData as `prepare` needs it: integer counts, gene ids and symbols, one GEARS
//! condition and cell type per cell. Cells whose condition is `unassigned` (or empty) are dropped
//! and counted; anything else that is not a GEARS condition string is an error.

use super::dataset::CsrMatrix;
use super::h5ad::{Column, Frame, H5ad};
use crate::error::{preview_list, Result};
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
            format!("{} value(s) are not GEARS conditions (ctrl, A+ctrl, A+B): {}", bad.len(), preview_list(&bad)),
        ));
    }
    let synthetic = f.has_dataset("uns/synthetic") || obs.columns.contains_key("synthetic");
    let counts = if keep.len() == x.n_rows { x } else { select_rows(&x, &keep) };
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

/// Keeps the columns `keep` (sorted ascending) of `x` in place, renumbered 0..keep.len().
pub fn select_cols(x: &mut CsrMatrix, keep: &[u32]) {
    let mut map = vec![u32::MAX; x.n_cols];
    for (k, &j) in keep.iter().enumerate() {
        map[j as usize] = k as u32;
    }
    // Compaction: the write position never passes the read position.
    let mut w = 0usize;
    let mut start = 0usize;
    for r in 0..x.n_rows {
        let end = x.indptr[r + 1] as usize;
        for k in start..end {
            let m = map[x.indices[k] as usize];
            if m != u32::MAX {
                x.indices[w] = m;
                x.data[w] = x.data[k];
                w += 1;
            }
        }
        start = end;
        x.indptr[r + 1] = w as u64;
    }
    x.indices.truncate(w);
    x.indices.shrink_to_fit();
    x.data.truncate(w);
    x.data.shrink_to_fit();
    x.n_cols = keep.len();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_column_selection() {
        for ok in ["ctrl", "A+ctrl", "ctrl+A", "A+B"] {
            assert!(is_gears_condition(ok), "{ok}");
        }
        for bad in ["A", "A+", "+A", "A+B+C", "ctrl+ctrl", "A +B"] {
            assert!(!is_gears_condition(bad), "{bad}");
        }
        let mut m = CsrMatrix { n_rows: 2, n_cols: 4, indptr: vec![0, 3, 5], indices: vec![0, 1, 3, 2, 3], data: vec![1.0, 2.0, 3.0, 4.0, 5.0] };
        let rows = select_rows(&m, &[1]);
        assert_eq!((rows.indptr.clone(), rows.indices.clone(), rows.data.clone()), (vec![0, 2], vec![2, 3], vec![4.0, 5.0]));
        select_cols(&mut m, &[1, 3]);
        assert_eq!(m.n_cols, 2);
        assert_eq!(m.indptr, vec![0, 2, 3]);
        assert_eq!(m.indices, vec![0, 1, 1]);
        assert_eq!(m.data, vec![2.0, 3.0, 5.0]);
    }
}
