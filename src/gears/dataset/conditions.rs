//! Which dataset conditions a perturbation list names, the GO perturbation graph's symbols and
//! the perturbed genes' nodes in it, and the co-expression graph over the chosen cells.

use crate::data::Dataset;
use crate::error::{preview_list, Error, Result};
use crate::gears::net::coexpr::coexpression_edges;
use crate::gears::net::propagation::Propagation;
use crate::gears::train::config::CoexprCells;
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
