//! Pair pools: candidates that are unordered pairs of genes (double perturbations), kept as a gene
//! list plus index pairs so that a pool of 1,000 genes (499,500 pairs) never holds 499,500 labels,
//! seed vectors or ball unions.
//!
//! The ball of pair `A+B` is the ball of both genes, R_L({A, B}) = R_L(A) ∪ R_L(B) (the
//! balls-of-both rule), exactly what a pool line `A+B` gives through [`super::pool`]. Pairs are
//! ordered as the generic pool orders its `A+B` candidates (ascending (smaller node id, larger
//! node id)), so the tie-break, and with it every pick, is the same as with the pairs written out.

use super::pool::{resolve_gene, resolve_names, Candidate, Pool};
use crate::error::{preview_list, Error, Result};
use crate::graph::names::{condition_genes, NameList};
use crate::graph::symbols::SymbolResolver;
use crate::graph::Graph;
use std::collections::{HashMap, HashSet};

/// A pool of gene pairs.
#[derive(Clone, Debug, Default)]
pub struct PairPool {
    /// The genes of the pairs as single-gene candidates, ascending node id.
    pub genes: Vec<Candidate>,
    /// Pairs as indices into `genes`, `[i, j]` with `i < j`, ascending (the tie-break order).
    pub pairs: Vec<[u32; 2]>,
    /// Notes for stderr (renames, skipped genes, duplicates collapsed in a gene list).
    pub notes: Vec<String>,
}

/// Whether a name list is a list of pairs: every line other than `ctrl` names exactly two genes
/// (`A+B`), and at least one does. A list that mixes single genes and pairs is a generic pool.
pub fn is_pair_list(list: &NameList) -> bool {
    let mut any = false;
    for (_, name) in &list.names {
        match condition_genes(name).len() {
            0 => {}
            2 => any = true,
            _ => return false,
        }
    }
    any
}

impl PairPool {
    /// Every unordered pair of the genes of `list` (`--pairs-of`). Lines name single genes (`A`,
    /// `A+ctrl`); unknown genes fail as in [`resolve_names`] unless `skip_missing`; a gene listed
    /// twice is kept once (with a note).
    pub fn all_pairs_of(graph: &Graph, list: &NameList, skip_missing: bool) -> Result<PairPool> {
        for (line, name) in &list.names {
            if condition_genes(name).len() > 1 {
                return Err(Error::parse(
                    &list.source,
                    *line,
                    format!("'{name}' names more than one gene; --pairs-of reads one gene per line and pairs them all (pass a file of A+B lines with --candidates instead)"),
                ));
            }
        }
        let pool = resolve_names(graph, list, skip_missing)?;
        let genes = pool.candidates;
        let g = genes.len() as u32;
        let mut pairs = Vec::with_capacity((g as usize * g.saturating_sub(1) as usize) / 2);
        for i in 0..g {
            for j in i + 1..g {
                pairs.push([i, j]);
            }
        }
        Ok(PairPool { genes, pairs, notes: pool.notes })
    }

    /// The pairs of a list of `A+B` lines (`--candidates FILE` where [`is_pair_list`]). Unknown
    /// genes fail as in [`resolve_names`] unless `skip_missing` (then the pairs holding them are
    /// dropped); a pair naming one gene twice, and a pair listed twice (`A+B` and `B+A`), are
    /// errors naming the lines.
    pub fn from_pair_list(graph: &Graph, list: &NameList, skip_missing: bool) -> Result<PairPool> {
        let resolver = SymbolResolver::new(graph);
        let mut notes = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut renamed: Vec<String> = Vec::new();
        let mut labels: HashMap<u32, String> = HashMap::new();
        // (node a, node b) with a < b -> (line, name) of its first line.
        let mut seen: HashMap<(u32, u32), (usize, &str)> = HashMap::new();
        let mut dups: Vec<String> = Vec::new();
        let mut ctrl = 0usize;
        for (line, name) in &list.names {
            let genes = condition_genes(name);
            if genes.is_empty() {
                ctrl += 1;
                continue;
            }
            if genes.len() != 2 {
                return Err(Error::parse(&list.source, *line, format!("'{name}' is not a pair of genes; a pair pool holds A+B lines only")));
            }
            let mut nodes = [0u32; 2];
            let mut ok = true;
            for (k, g) in genes.iter().enumerate() {
                match resolve_gene(&resolver, graph, g, &mut renamed, &mut unknown) {
                    Some((node, label)) => {
                        nodes[k] = node;
                        labels.entry(node).or_insert(label);
                    }
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            if nodes[0] == nodes[1] {
                return Err(Error::parse(&list.source, *line, format!("'{name}' names one gene twice; a pair needs two different genes")));
            }
            let key = (nodes[0].min(nodes[1]), nodes[0].max(nodes[1]));
            if let Some(&(first, first_name)) = seen.get(&key) {
                dups.push(format!("line {line} '{name}' repeats line {first} '{first_name}'"));
            } else {
                seen.insert(key, (*line, name.as_str()));
            }
        }
        if !dups.is_empty() {
            return Err(Error::parse(
                &list.source,
                0,
                format!("{} duplicate pair(s) (a pair is unordered: A+B and B+A are the same): {}; remove the repeats", dups.len(), preview_list(&dups)),
            ));
        }
        if !unknown.is_empty() {
            if !skip_missing {
                return Err(Error::UnknownGenes { path: list.source.clone(), graph: graph.name.clone(), count: unknown.len(), shown: preview_list(&unknown) });
            }
            notes.push(format!("skipped the pairs of {} gene(s) not in the graph (--skip-missing): {}", unknown.len(), preview_list(&unknown)));
        }
        if !renamed.is_empty() {
            notes.push(format!("resolved {} renamed symbol(s): {}", renamed.len(), preview_list(&renamed)));
        }
        if ctrl > 0 {
            notes.push(format!("skipped {ctrl} 'ctrl' entr(y/ies): control is not a perturbation"));
        }
        let keys: Vec<(u32, u32)> = seen.into_keys().collect();
        Ok(Self::from_node_pairs(keys, &labels, notes))
    }

    /// Builds the pool from node pairs `(a, b)` with `a < b` (any order, no repeats).
    fn from_node_pairs(mut keys: Vec<(u32, u32)>, labels: &HashMap<u32, String>, notes: Vec<String>) -> PairPool {
        keys.sort_unstable();
        let mut nodes: Vec<u32> = keys.iter().flat_map(|&(a, b)| [a, b]).collect();
        nodes.sort_unstable();
        nodes.dedup();
        let index: HashMap<u32, u32> = nodes.iter().enumerate().map(|(i, &n)| (n, i as u32)).collect();
        let genes = nodes.iter().map(|&n| Candidate { label: labels[&n].clone(), seeds: vec![n] }).collect();
        let pairs = keys.iter().map(|(a, b)| [index[a], index[b]]).collect();
        PairPool { genes, pairs, notes }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The node ids of pair `k`, smaller first.
    pub fn nodes(&self, k: usize) -> [u32; 2] {
        let [i, j] = self.pairs[k];
        [self.genes[i as usize].seeds[0], self.genes[j as usize].seeds[0]]
    }

    /// The label of pair `k` (`A+B`, the gene with the smaller node id first, as the generic pool writes it).
    pub fn label(&self, k: usize) -> String {
        let [i, j] = self.pairs[k];
        format!("{}+{}", self.genes[i as usize].label, self.genes[j as usize].label)
    }

    /// Removes pairs holding an excluded gene (`--exclude`) and the genes left in no pair.
    /// Returns how many pairs were removed.
    pub fn apply_exclusions(&mut self, excluded_nodes: &HashSet<u32>) -> usize {
        let before = self.pairs.len();
        let gone: Vec<bool> = self.genes.iter().map(|g| excluded_nodes.contains(&g.seeds[0])).collect();
        self.pairs.retain(|&[i, j]| !gone[i as usize] && !gone[j as usize]);
        let removed = before - self.pairs.len();
        let mut used = vec![false; self.genes.len()];
        for &[i, j] in &self.pairs {
            used[i as usize] = true;
            used[j as usize] = true;
        }
        let mut remap = vec![u32::MAX; self.genes.len()];
        let mut kept = Vec::new();
        for (k, g) in std::mem::take(&mut self.genes).into_iter().enumerate() {
            if used[k] {
                remap[k] = kept.len() as u32;
                kept.push(g);
            }
        }
        self.genes = kept;
        for p in &mut self.pairs {
            *p = [remap[p[0] as usize], remap[p[1] as usize]];
        }
        removed
    }

    /// The same pool written out as generic `A+B` candidates (one seed set of two genes each),
    /// which is what MaxSpec selects from, and the reference the pair path is tested against.
    pub fn to_pool(&self) -> Pool {
        let candidates = (0..self.len()).map(|k| Candidate { label: self.label(k), seeds: self.nodes(k).to_vec() }).collect();
        Pool { candidates, notes: Vec::new() }
    }
}
