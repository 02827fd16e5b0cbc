//! The real inputs of `graphreach simulate`, compiled in from `data/sim/` (provenance in
//! `data/sim/PROVENANCE.md`): K562 baseline expression and NB sizes, Ensembl -> symbol, the
//! Replogle 2022 K562-essential summary statistics (Table S2B), the preset perturbation lists and
//! the library-size variation.

use crate::error::{Error, Result};
use crate::files::text::{Sep, TextInput};
use std::collections::HashMap;

const BASELINE: &[u8] = include_bytes!("../../data/sim/K562_10x_baseline_expression_stats.tsv.gz");
const ENSEMBL: &[u8] = include_bytes!("../../data/sim/human_gene_ensembl.tsv.gz");
const REPLOGLE: &[u8] = include_bytes!("../../data/sim/k562_essential_day6_summary_stats.tsv.gz");
const STRONG: &str = include_str!("../../data/sim/k562_essential_gears_strong_perturbations.tsv");
const ADAMSON: &str = include_str!("../../data/sim/gears_adamson_perturbations.tsv");
const LIBRARY: &str = include_str!("../../data/sim/library_parameters.tsv");

/// Genes in Replogle 2022's K562-essential expression matrix (the published single-cell and
/// pseudobulk `.h5ad` files): the genes its `Number of DEGs (anderson-darling)` was counted over.
pub const REPLOGLE_MEASURED_GENES: usize = 8_563;

/// Rows of an embedded TSV (header skipped), split on tabs.
pub fn tsv(bytes: &[u8], name: &str) -> Result<Vec<Vec<String>>> {
    let input = TextInput::from_bytes(bytes.to_vec(), name)?;
    let mut f = Vec::new();
    let mut rows = Vec::new();
    for line in input.lines().skip(1) {
        line.raw_fields(Sep::Tab, &mut f)?;
        rows.push(f.iter().map(|x| x.to_string()).collect());
    }
    Ok(rows)
}

/// One perturbation's real readouts (Replogle Table S2B).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RealPerturbation {
    /// `fold knockdown`: remaining fraction of the target's expression.
    pub remaining: f64,
    /// `number of cells (filtered)`.
    pub cells: f64,
    /// `Number of DEGs (anderson-darling)`.
    pub degs: f64,
    /// `mean UMI count` per cell.
    pub mean_umi: f64,
}

impl RealPerturbation {
    /// The GEARS "strong perturbation" filter (yhr91/GEARS_misc): more than 50 AD DEGs, at least
    /// 30% knockdown, more than 25 cells.
    pub fn is_strong(&self) -> bool {
        self.degs > 50.0 && self.remaining <= 0.7 && self.cells > 25.0
    }
}

/// The Replogle K562-essential table: one row per gene, and the non-targeting controls.
#[derive(Clone, Debug)]
pub struct ReplogleTable {
    /// Per target gene (dataset symbol): its strong row when it has one (a gene can have several
    /// guide rows; the GEARS filter picked the strong one), otherwise its first row.
    pub by_gene: HashMap<String, RealPerturbation>,
    /// Mean UMI count of the non-targeting rows (13,859).
    pub ctrl_umi: f64,
    /// Cells of the non-targeting rows (10,691).
    pub ctrl_cells: f64,
}

/// Parses the embedded Replogle table.
pub fn replogle_table() -> Result<ReplogleTable> {
    let input = TextInput::from_bytes(REPLOGLE.to_vec(), "builtin replogle summary")?;
    let mut lines = input.text().lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| Error::invalid(format!("builtin replogle summary: no column '{name}'")))
    };
    let (gene, umi, cells, fold, pct, degs) = (
        col("gene")?,
        col("mean UMI count")?,
        col("number of cells (filtered)")?,
        col("fold knockdown")?,
        col("percent knockdown")?,
        col("Number of DEGs (anderson-darling)")?,
    );
    let mut by_gene: HashMap<String, RealPerturbation> = HashMap::new();
    let (mut ctrl_umi, mut ctrl_cells, mut n_ctrl) = (0.0f64, 0.0f64, 0.0f64);
    for l in lines {
        let r: Vec<&str> = l.split('\t').collect();
        if r.len() < header.len() {
            continue;
        }
        let num = |i: usize| r[i].parse::<f64>().unwrap_or(f64::NAN);
        if r[gene] == "non-targeting" {
            // A few non-targeting rows have empty fields; they are skipped.
            if num(umi).is_finite() && num(cells).is_finite() {
                ctrl_umi += num(umi);
                ctrl_cells += num(cells);
                n_ctrl += 1.0;
            }
            continue;
        }
        let s = RealPerturbation { remaining: num(fold), cells: num(cells), degs: num(degs), mean_umi: num(umi) };
        // `percent knockdown` decides the GEARS filter; `fold knockdown` = 1 + percent knockdown.
        let strong = num(degs) > 50.0 && num(pct) <= -0.3 && num(cells) > 25.0;
        match by_gene.get(r[gene]) {
            None => {
                by_gene.insert(r[gene].to_string(), s);
            }
            Some(old) if strong && !old.is_strong() => {
                by_gene.insert(r[gene].to_string(), s);
            }
            _ => {}
        }
    }
    Ok(ReplogleTable { by_gene, ctrl_umi: ctrl_umi / n_ctrl.max(1.0), ctrl_cells })
}

/// A gene of the K562 baseline table with its symbol.
#[derive(Clone, Debug)]
pub struct BaselineGene {
    /// Ensembl id.
    pub id: String,
    /// NCBI-2022 symbol.
    pub symbol: String,
    /// Relative expression (fraction of a cell's UMIs).
    pub q: f64,
    /// NB size.
    pub theta: f64,
}

/// The K562 10x baseline genes with a symbol and q > 0, in table order, first row per symbol.
pub fn baseline_genes() -> Result<Vec<BaselineGene>> {
    let mut ens: HashMap<String, String> = HashMap::new();
    for r in tsv(ENSEMBL, "builtin Ensembl table")? {
        if r.len() >= 3 {
            ens.entry(r[0].clone()).or_insert_with(|| r[2].clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in tsv(BASELINE, "builtin K562 baseline")? {
        if r.len() < 3 {
            continue;
        }
        let (Some(sym), Ok(q), Ok(t)) = (ens.get(&r[0]), r[1].parse::<f64>(), r[2].parse::<f64>()) else { continue };
        if q > 0.0 && seen.insert(sym.clone()) {
            out.push(BaselineGene { id: r[0].clone(), symbol: sym.clone(), q, theta: t.max(1e-3) });
        }
    }
    Ok(out)
}

/// (dataset symbol as in the Replogle table, NCBI-2022 symbol as in the graph and gene tables).
fn pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 2).then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

/// The 1,092 GEARS "strong" Replogle K562-essential perturbations.
pub fn strong_perturbations() -> Vec<(String, String)> {
    pairs(STRONG)
}

/// The 86 Adamson 2016 perturbations of GEARS's processed dataset.
pub fn adamson_perturbations() -> Vec<(String, String)> {
    pairs(ADAMSON)
}

/// Log-normal sd of K562 10x library sizes (perturbplan `variation`), or `fallback`.
pub fn library_sigma(fallback: f64) -> Result<f64> {
    let lib = tsv(LIBRARY.as_bytes(), "builtin library parameters")?;
    Ok(lib.iter().find(|r| r[0] == "K562_10x").and_then(|r| r.get(2)?.parse::<f64>().ok()).unwrap_or(fallback))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_rows_reproduce_the_gears_filter() {
        let t = replogle_table().unwrap();
        let strong = strong_perturbations();
        assert_eq!(strong.len(), 1092);
        // Every listed gene's chosen row passes the filter it was listed by.
        for (d, _) in &strong {
            let r = t.by_gene.get(d).unwrap_or_else(|| panic!("{d} not in table"));
            assert!(r.degs > 50.0 && r.cells > 25.0, "{d}: {r:?}");
        }
        assert_eq!(t.ctrl_cells, 10_691.0);
        // Mean over the 97 non-targeting rows that have both a UMI count and a cell count.
        assert!((t.ctrl_umi - 13_845.02).abs() < 0.01, "{}", t.ctrl_umi);
    }
}
