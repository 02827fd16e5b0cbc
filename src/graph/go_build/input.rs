//! Inputs of the GO graph builder: the gene -> GO table, a universe list, NCBI gene types.

use super::GoIndex;
use crate::error::{Error, Result};
use crate::graph::io::read_maybe_gz;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Direct GO annotations per gene symbol, after dropping excluded evidence codes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Annotations {
    /// Symbol -> sorted unique term ids (only genes with at least one kept annotation).
    pub genes: BTreeMap<String, Vec<u32>>,
    /// Number of distinct GO ids seen in kept rows.
    pub n_terms: usize,
    /// Data rows read.
    pub rows: usize,
    /// Rows dropped for an excluded evidence code.
    pub excluded_rows: usize,
}

fn text_of(path: &Path) -> Result<String> {
    let bytes = read_maybe_gz(path)?;
    let name = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| Error::parse(&name, 0, "the file is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(Error::EmptyFile { path: name, hint: String::new() });
    }
    Ok(text)
}

/// Reads `symbol, entrez_id, go_id, ontology, evidence` rows (tab separated, gzip ok, header
/// optional). Rows whose evidence is in `exclude` are dropped.
pub fn read_gene2go(path: &Path, exclude: &[String]) -> Result<Annotations> {
    let name = path.display().to_string();
    let text = text_of(path)?;
    let mut term_ids: HashMap<&str, u32> = HashMap::new();
    let mut sets: HashMap<&str, Vec<u32>> = HashMap::new();
    let (mut rows, mut excluded_rows) = (0usize, 0usize);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("symbol\t")) {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(Error::parse(&name, i + 1, format!(
                "expected 5 tab-separated fields (symbol, entrez_id, go_id, ontology, evidence), found {}", f.len())));
        }
        let (symbol, go, evidence) = (f[0].trim(), f[2].trim(), f[4].trim());
        if symbol.is_empty() || go.is_empty() {
            return Err(Error::parse(&name, i + 1, "empty symbol or GO id"));
        }
        rows += 1;
        if exclude.iter().any(|e| e == evidence) {
            excluded_rows += 1;
            continue;
        }
        let next = term_ids.len() as u32;
        let id = *term_ids.entry(go).or_insert(next);
        sets.entry(symbol).or_default().push(id);
    }
    if rows == 0 {
        return Err(Error::EmptyFile { path: name, hint: "; expected gene2go rows".into() });
    }
    let genes = sets
        .into_iter()
        .map(|(s, mut t)| {
            t.sort_unstable();
            t.dedup();
            (s.to_string(), t)
        })
        .collect();
    Ok(Annotations { genes, n_terms: term_ids.len(), rows, excluded_rows })
}

/// Reads a universe: one symbol per line (blank lines and `#` comments skipped, gzip ok).
pub fn read_universe(path: &Path) -> Result<BTreeSet<String>> {
    let name = path.display().to_string();
    let text = text_of(path)?;
    let mut out = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains(['\t', ',', ' ']) {
            return Err(Error::parse(&name, i + 1, format!("expected one gene symbol per line, found '{line}'")));
        }
        out.insert(line.to_string());
    }
    if out.is_empty() {
        return Err(Error::EmptyFile { path: name, hint: "; expected one gene symbol per line".into() });
    }
    Ok(out)
}

/// Reads NCBI gene info (`entrez_id, symbol, gene_type, ...`, header optional) and returns the
/// symbols whose type is `protein-coding`. A symbol listed several times takes the type of its
/// last row (so `HBD`, whose later row is a disease locus of type `unknown`, is left out), which
/// is the rule that reproduces the 18,777-gene `go_graph_k20.tsv.gz`.
pub fn read_protein_coding(path: &Path) -> Result<BTreeSet<String>> {
    let name = path.display().to_string();
    let text = text_of(path)?;
    let mut types: HashMap<&str, &str> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("entrez_id\t")) {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f[1].trim().is_empty() {
            return Err(Error::parse(&name, i + 1, "expected tab-separated entrez_id, symbol, gene_type[, name]"));
        }
        types.insert(f[1].trim(), f[2].trim());
    }
    if types.is_empty() {
        return Err(Error::EmptyFile { path: name, hint: "; expected NCBI gene info rows".into() });
    }
    Ok(types.into_iter().filter(|(_, t)| *t == "protein-coding").map(|(s, _)| s.to_string()).collect())
}

impl Annotations {
    /// The index over the annotated genes that are in `universe` (all annotated genes when `None`).
    /// Also returns the universe genes that have no kept annotation (left out of the graph).
    pub fn index(&self, universe: Option<&BTreeSet<String>>) -> (GoIndex, Vec<String>) {
        let (genes, missing): (Vec<(String, Vec<u32>)>, Vec<String>) = match universe {
            None => (self.genes.iter().map(|(s, t)| (s.clone(), t.clone())).collect(), Vec::new()),
            Some(u) => (
                self.genes.iter().filter(|(s, _)| u.contains(*s)).map(|(s, t)| (s.clone(), t.clone())).collect(),
                u.iter().filter(|s| !self.genes.contains_key(*s)).cloned().collect(),
            ),
        };
        (GoIndex::new(genes, self.n_terms), missing)
    }
}
