//! Candidate pools: resolving name lists (read by [`crate::graph::names`]) to graph nodes, exclusions.
//!
//! A pool line is one gene (`MARS`), a GEARS condition (`A+ctrl`, `ctrl+A`, `A+B`) or `ctrl`.
//! A double perturbation `A+B` is one candidate whose seed set is both genes. `ctrl` is skipped.
//! Candidates are kept in ascending order of their seed node ids, which is the tie-break order.

use crate::error::{preview_list, Error, Result};
use crate::graph::names::{condition_genes, NameList};
use crate::graph::symbols::{Resolution, SymbolResolver};
use crate::graph::Graph;
use std::collections::{BTreeMap, HashSet};

/// One candidate perturbation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Name as written in the output (graph symbols joined with `+`).
    pub label: String,
    /// Seed nodes, sorted.
    pub seeds: Vec<u32>,
}

/// A resolved candidate pool and what happened while building it.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    /// Candidates in tie-break order (ascending seed ids).
    pub candidates: Vec<Candidate>,
    /// Notes for stderr (renames, skipped lines, duplicates).
    pub notes: Vec<String>,
}

/// Resolves names to seed sets. Unknown genes are an error listing up to ten of them, unless
/// `skip_missing`, in which case they are dropped with a note.
pub fn resolve_names(graph: &Graph, list: &NameList, skip_missing: bool) -> Result<Pool> {
    resolve(graph, list, skip_missing, "--skip-missing")
}

/// Resolves an exclusion list (`--exclude`): genes that are not graph nodes are dropped with a
/// note saying why that is harmless (they cannot be candidates either).
pub fn resolve_exclusions(graph: &Graph, list: &NameList) -> Result<Pool> {
    resolve(graph, list, true, "they cannot be candidates either")
}

/// [`resolve_names`], with `why_skipped` saying in the note why unknown genes could be dropped.
/// One gene of a pool line: its node and label, a rename noted in `renamed` (`A->B (via)`), or
/// `None` with the reason in `unknown` (unknown, or an ambiguous alias).
pub(crate) fn resolve_gene(resolver: &SymbolResolver, graph: &Graph, g: &str, renamed: &mut Vec<String>, unknown: &mut Vec<String>) -> Option<(u32, String)> {
    match resolver.resolve(g) {
        Resolution::Exact(n) => Some((n, graph.label(n))),
        Resolution::Renamed { node, symbol, via } => {
            renamed.push(format!("{g}->{symbol} ({via})"));
            Some((node, symbol))
        }
        Resolution::Ambiguous(options) => {
            unknown.push(format!("{g} (ambiguous alias of {})", options.join("/")));
            None
        }
        Resolution::Unknown => {
            unknown.push(g.to_string());
            None
        }
    }
}

fn resolve(graph: &Graph, list: &NameList, skip_missing: bool, why_skipped: &str) -> Result<Pool> {
    let resolver = SymbolResolver::new(graph);
    let mut pool = Pool::default();
    let mut unknown: Vec<String> = Vec::new();
    let mut by_seeds: BTreeMap<Vec<u32>, String> = BTreeMap::new();
    let mut renamed = Vec::new();
    let mut ctrl = 0usize;
    let mut dups = 0usize;
    for (_line, name) in &list.names {
        let genes = condition_genes(name);
        if genes.is_empty() {
            ctrl += 1;
            continue;
        }
        let mut seeds = Vec::new();
        let mut labels = Vec::new();
        let mut ok = true;
        for g in genes {
            match resolve_gene(&resolver, graph, g, &mut renamed, &mut unknown) {
                Some((node, label)) => {
                    seeds.push(node);
                    labels.push(label);
                }
                None => ok = false,
            }
        }
        if !ok {
            continue;
        }
        let mut pairs: Vec<(u32, String)> = seeds.into_iter().zip(labels).collect();
        pairs.sort();
        pairs.dedup();
        let seeds: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        let label = pairs.iter().map(|p| p.1.as_str()).collect::<Vec<_>>().join("+");
        if by_seeds.insert(seeds, label).is_some() {
            dups += 1;
        }
    }
    if !unknown.is_empty() {
        if !skip_missing {
            return Err(Error::UnknownGenes { path: list.source.clone(), graph: graph.name.clone(), count: unknown.len(), shown: preview_list(&unknown) });
        }
        pool.notes.push(format!("skipped {} gene(s) not in the graph ({why_skipped}): {}", unknown.len(), preview_list(&unknown)));
    }
    if !renamed.is_empty() {
        pool.notes.push(format!("resolved {} renamed symbol(s): {}", renamed.len(), preview_list(&renamed)));
    }
    if ctrl > 0 {
        pool.notes.push(format!("skipped {ctrl} 'ctrl' entr(y/ies): control is not a perturbation"));
    }
    if dups > 0 {
        pool.notes.push(format!("collapsed {dups} duplicate candidate(s)"));
    }
    pool.candidates = by_seeds.into_iter().map(|(seeds, label)| Candidate { label, seeds }).collect();
    Ok(pool)
}

/// Every node of the graph as a single-gene candidate (`--candidates all`).
pub fn all_nodes(graph: &Graph) -> Pool {
    Pool {
        candidates: (0..graph.n_nodes() as u32).map(|v| Candidate { label: graph.label(v), seeds: vec![v] }).collect(),
        notes: Vec::new(),
    }
}

/// The candidate list of a synthetic hub-SBM preset (`--candidates gen:NAME`) on that preset's
/// graph, as single-gene candidates (see [`crate::graph::gen::preset_candidates`]).
pub fn gen_pool(graph: &Graph, name: &str) -> Result<Pool> {
    let nodes = crate::graph::gen::preset_candidates(graph, name)?;
    Ok(Pool { candidates: nodes.into_iter().map(|v| Candidate { label: graph.label(v), seeds: vec![v] }).collect(), notes: Vec::new() })
}

/// Removes candidates that contain an excluded gene (a double with one test gene goes too, as in
/// GEARS's and IterPert's splits). Returns how many were removed.
pub fn apply_exclusions(pool: &mut Pool, excluded_nodes: &HashSet<u32>) -> usize {
    let before = pool.candidates.len();
    pool.candidates.retain(|c| !c.seeds.iter().any(|s| excluded_nodes.contains(s)));
    before - pool.candidates.len()
}
