//! Everything the trainer derives from a dataset before training: which dataset conditions a
//! perturbation list names, the GO perturbation graph and the perturbed genes' nodes in it, the
//! co-expression graph, and per-condition mean expression (truth, paired controls).

use super::coexpr::coexpression_edges;
use super::config::CoexprCells;
use super::graph_norm::Propagation;
use crate::data::Dataset;
use crate::error::{preview_list, Error, Result};
use crate::graph::{Graph, Labels};
use crate::graph::names::{condition_genes, NameList};
use std::collections::HashMap;

/// Maps the names of a perturbation list (genes, `A+ctrl`, `A+B`, `ctrl`, or a `graphreach
/// select` TSV) to dataset condition indices, in list order without duplicates. Names the
/// dataset does not have are an error listing them, or, with `skip_missing`, a note.
pub fn resolve_conditions(data: &Dataset, list: &NameList, skip_missing: bool, notes: &mut Vec<String>) -> Result<Vec<u32>> {
    let key = |name: &str| {
        let mut g: Vec<String> = condition_genes(name).into_iter().map(str::to_string).collect();
        g.sort();
        g.join("+")
    };
    let mut by_key: HashMap<String, u32> = HashMap::new();
    for (i, c) in data.conditions.iter().enumerate() {
        by_key.entry(key(c)).or_insert(i as u32);
    }
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (_, name) in &list.names {
        match by_key.get(&key(name)) {
            Some(&c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        let shown = preview_list(&missing);
        if !skip_missing {
            return Err(Error::invalid(format!(
                "{}: {} perturbation(s) are not conditions of dataset '{}': {shown}; measure them first, remove them, or pass --skip-missing",
                list.source,
                missing.len(),
                data.name
            )));
        }
        notes.push(format!("{}: skipped {} perturbation(s) absent from the dataset: {shown}", list.source, missing.len()));
    }
    if out.is_empty() {
        return Err(Error::invalid(format!("{}: none of its perturbations are conditions of dataset '{}'", list.source, data.name)));
    }
    Ok(out)
}

/// The GO graph's node names (symbols, sorted: GEARS's `pert_names` order).
pub fn graph_symbols(graph: &Graph) -> Result<Vec<String>> {
    match &graph.labels {
        Labels::Symbols(s) => Ok(s.clone()),
        Labels::Integers => Err(Error::invalid(format!(
            "graph {} is integer-labelled; the GEARS trainer needs a gene-symbol graph such as builtin:go-k562 or builtin:go-human",
            graph.name
        ))),
    }
}

/// Nodes of every listed condition's genes in the perturbation graph (`pert_names` sorted).
/// Genes that are not nodes are an error naming them.
pub fn condition_nodes(data: &Dataset, conds: &[u32], pert_names: &[String], graph_name: &str) -> Result<HashMap<u32, Vec<u32>>> {
    let mut out = HashMap::new();
    let mut missing: Vec<String> = Vec::new();
    // Dataset symbols that differ from the graph's (MARCH8 vs MARCHF8) resolve through the
    // curated resolution table and the NCBI aliases, as in `select`.
    let vocab = Graph::new(graph_name, Labels::Symbols(pert_names.to_vec()), crate::graph::Csr::empty(pert_names.len()), Default::default());
    let resolver = crate::graph::symbols::SymbolResolver::new(&vocab);
    for &c in conds {
        let mut nodes = Vec::new();
        for gname in data.condition_genes(c as usize) {
            match resolver.resolve(gname).node() {
                Some(i) => nodes.push(i),
                None => {
                    if !missing.iter().any(|m| m == gname) {
                        missing.push(gname.to_string());
                    }
                }
            }
        }
        out.insert(c, nodes);
    }
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "{} perturbed gene(s) are not nodes of the GO graph {graph_name}: {}. GEARS needs every perturbed gene in the GO graph: use --graph builtin:go-human (all annotated human genes) or a graph file that contains them, or drop these perturbations",
            missing.len(),
            preview_list(&missing)
        )));
    }
    Ok(out)
}

/// The co-expression graph operator for the chosen cells.
pub fn coexpression_graph(data: &Dataset, train_conds: &[u32], which: CoexprCells) -> Result<Propagation> {
    let keep: Vec<bool> = (0..data.conditions.len())
        .map(|c| match which {
            CoexprCells::Ctrl => c == 0,
            CoexprCells::Train => train_conds.contains(&(c as u32)) && data.condition_genes(c).len() <= 1,
        })
        .collect();
    let cells: Vec<u32> = (0..data.n_cells() as u32).filter(|&c| keep[data.cell_condition[c as usize] as usize]).collect();
    if cells.len() < 2 {
        return Err(Error::invalid(format!(
            "the co-expression graph needs at least two cells ({} selected by --coexpr-cells); use --coexpr-cells ctrl or include single perturbations in --train",
            cells.len()
        )));
    }
    let (s, d, w) = coexpression_edges(data, &cells);
    Propagation::from_edges(data.n_genes(), &s, &d, &w)
}

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
        let spec = crate::gears::toy::ToySpec { n_genes: 5, pert_genes: vec!["A".into()], modules: vec![0], cells_per_pert: 3, n_ctrl: 4, seed: 1 };
        let good = crate::gears::toy::toy_dataset(&spec);
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
