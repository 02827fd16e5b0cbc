//! Inputs of the GO graph builder: the gene -> GO table, a universe list, NCBI gene types.

use super::GoIndex;
use crate::error::{Error, Result};
use crate::files::text::{Sep, TextInput};
use std::borrow::Cow;
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

/// The text of an input file (gzip ok) through the shared reader; a file with no text is empty.
fn text_of(path: &Path) -> Result<TextInput> {
    let input = TextInput::read(path)?;
    if input.text().trim().is_empty() {
        return Err(Error::EmptyFile { path: input.name().to_string(), hint: String::new() });
    }
    Ok(input)
}

/// Reads `symbol, entrez_id, go_id, ontology, evidence` rows (tab separated, gzip ok, header
/// optional). Rows whose evidence is in `exclude` are dropped.
pub fn read_gene2go(path: &Path, exclude: &[String]) -> Result<Annotations> {
    let input = text_of(path)?;
    let mut term_ids: HashMap<Cow<str>, u32> = HashMap::new();
    let mut sets: HashMap<Cow<str>, Vec<u32>> = HashMap::new();
    let (mut rows, mut excluded_rows) = (0usize, 0usize);
    let mut f = Vec::new();
    for line in input.data_lines("#") {
        line.raw_fields(Sep::Tab, &mut f)?;
        if line.no == 1 && f[0] == "symbol" && f.len() > 1 {
            continue;
        }
        if f.len() != 5 {
            return Err(line.err(format!(
                "expected 5 tab-separated fields (symbol, entrez_id, go_id, ontology, evidence), found {}", f.len())));
        }
        if f[0].is_empty() || f[2].is_empty() {
            return Err(line.err("empty symbol or GO id"));
        }
        rows += 1;
        if exclude.iter().any(|e| *e == f[4]) {
            excluded_rows += 1;
            continue;
        }
        let mut f = f.drain(..3);
        let (symbol, go) = (f.next().unwrap_or_default(), f.nth(1).unwrap_or_default());
        let next = term_ids.len() as u32;
        let id = *term_ids.entry(go).or_insert(next);
        sets.entry(symbol).or_default().push(id);
    }
    if rows == 0 {
        return Err(input.empty("gene2go rows"));
    }
    let genes = sets
        .into_iter()
        .map(|(s, mut t)| {
            t.sort_unstable();
            t.dedup();
            (s.into_owned(), t)
        })
        .collect();
    Ok(Annotations { genes, n_terms: term_ids.len(), rows, excluded_rows })
}

/// Reads a universe: one symbol per line (blank lines and `#` comments skipped, gzip ok, quotes
/// undone).
pub fn read_universe(path: &Path) -> Result<BTreeSet<String>> {
    let input = text_of(path)?;
    let mut out = BTreeSet::new();
    let mut f = Vec::new();
    for line in input.data_lines("#") {
        line.fields(Sep::Whitespace, &mut f)?;
        if f.len() != 1 || line.text.contains(['\t', ',']) {
            return Err(line.err(format!("expected one gene symbol per line, found '{}'", line.text)));
        }
        out.insert(f[0].to_string());
    }
    if out.is_empty() {
        return Err(input.empty("one gene symbol per line"));
    }
    Ok(out)
}

/// Reads NCBI gene info (`entrez_id, symbol, gene_type, ...`, header optional) and returns the
/// symbols whose type is `protein-coding`. A symbol listed several times takes the type of its
/// last row (so `HBD`, whose later row is a disease locus of type `unknown`, is left out), which
/// is the rule that reproduces the 18,777-gene `go_graph_k20.tsv.gz`.
pub fn read_protein_coding(path: &Path) -> Result<BTreeSet<String>> {
    let input = text_of(path)?;
    let mut types: HashMap<String, bool> = HashMap::new();
    let mut f = Vec::new();
    for line in input.data_lines("#") {
        line.raw_fields(Sep::Tab, &mut f)?;
        if line.no == 1 && f[0] == "entrez_id" && f.len() > 1 {
            continue;
        }
        if f.len() < 3 || f[1].is_empty() {
            return Err(line.err("expected tab-separated entrez_id, symbol, gene_type[, name]"));
        }
        types.insert(f[1].to_string(), f[2] == "protein-coding");
    }
    if types.is_empty() {
        return Err(input.empty("NCBI gene info rows"));
    }
    Ok(types.into_iter().filter(|(_, pc)| *pc).map(|(s, _)| s).collect())
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
