//! Per-condition mean expression (truth, paired controls, the control mean) and the dataset
//! consistency check the trainer relies on.

use crate::data::Dataset;
use crate::error::{Error, Result};

/// Per-condition cell lists and mean vectors.
#[derive(Clone, Debug)]
pub struct ConditionMeans {
    /// Cells of each condition.
    pub cells: Vec<Vec<u32>>,
    /// Mean expression of each condition's cells.
    pub truth: Vec<Vec<f64>>,
    /// Mean expression of the control cells paired with each condition's cells.
    pub paired_ctrl: Vec<Vec<f64>>,
    /// Mean of all control cells (μ).
    pub ctrl: Vec<f64>,
}

impl ConditionMeans {
    /// Computes the means in one pass over the cells.
    pub fn new(data: &Dataset) -> Result<Self> {
        let (g, nc) = (data.n_genes(), data.conditions.len());
        check_consistent(data)?;
        let mut cells = vec![Vec::new(); nc];
        for (i, &c) in data.cell_condition.iter().enumerate() {
            cells[c as usize].push(i as u32);
        }
        if cells.first().is_none_or(|c| c.is_empty()) {
            return Err(Error::invalid(format!("dataset '{}' has no control cells (condition 'ctrl')", data.name)));
        }
        let mean_of = |rows: &mut dyn Iterator<Item = usize>| {
            let mut m = vec![0f64; g];
            let mut n = 0usize;
            for r in rows {
                let (idx, val) = data.x.row(r);
                for (&j, &v) in idx.iter().zip(val) {
                    m[j as usize] += v as f64;
                }
                n += 1;
            }
            m.iter_mut().for_each(|v| *v /= n.max(1) as f64);
            m
        };
        let truth: Vec<Vec<f64>> = cells.iter().map(|cs| mean_of(&mut cs.iter().map(|&c| c as usize))).collect();
        let paired_ctrl = cells.iter().map(|cs| mean_of(&mut cs.iter().map(|&c| data.ctrl_pairing[c as usize] as usize))).collect();
        let ctrl = truth[0].clone();
        Ok(ConditionMeans { cells, truth, paired_ctrl, ctrl })
    }
}

/// Checks the cross-references of a dataset the trainer indexes with, so bad input is an error
/// and never a panic.
pub fn check_consistent(data: &Dataset) -> Result<()> {
    let (n, g, nc) = (data.n_cells(), data.n_genes(), data.conditions.len());
    let bad = |what: String| Err(Error::invalid(format!("dataset '{}' is inconsistent: {what}", data.name)));
    if data.cell_condition.len() != n || data.ctrl_pairing.len() != n || data.x.indptr.len() != n + 1 {
        return bad(format!("{n} cells but {} condition labels, {} pairings", data.cell_condition.len(), data.ctrl_pairing.len()));
    }
    if data.de.len() != nc || data.conditions.first().map(String::as_str) != Some("ctrl") {
        return bad(format!("{nc} conditions (the first must be 'ctrl') but {} DE entries", data.de.len()));
    }
    if data.x.indices.iter().any(|&j| j as usize >= g) || data.x.indices.len() != data.x.data.len() {
        return bad("expression matrix column index out of range".into());
    }
    if let Some(c) = data.cell_condition.iter().find(|&&c| c as usize >= nc) {
        return bad(format!("condition index {c} out of range"));
    }
    if data.ctrl_pairing.iter().any(|&p| p as usize >= n || data.cell_condition[p as usize] != 0) {
        return bad("a cell is paired with something other than a control cell".into());
    }
    for (c, de) in data.de.iter().enumerate() {
        let lists = [&de.ranked, &de.top20_de, &de.top20_non_dropout, &de.top20_non_zero, &de.non_zeros, &de.non_dropout];
        if lists.iter().any(|l| l.iter().any(|&j| j as usize >= g)) {
            return bad(format!("DE gene index out of range for condition '{}'", data.conditions[c]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_datasets_are_errors_not_panics() {
        let spec = crate::gears::fixtures::ToySpec { n_genes: 5, pert_genes: vec!["A".into()], modules: vec![0], cells_per_pert: 3, n_ctrl: 4, seed: 1 };
        let good = crate::gears::fixtures::toy_dataset(&spec);
        assert!(ConditionMeans::new(&good).is_ok());
        let mut d = good.clone();
        d.de.pop();
        assert!(ConditionMeans::new(&d).unwrap_err().to_string().contains("DE entries"));
        let mut d = good.clone();
        d.de[1].non_zeros.push(99);
        assert!(ConditionMeans::new(&d).is_err());
        let mut d = good.clone();
        d.ctrl_pairing[5] = 6;
        assert!(ConditionMeans::new(&d).unwrap_err().to_string().contains("paired"));
    }
}
