//! Gene-symbol resolution: maps the symbols a dataset uses (e.g. Adamson's `MARS`, Papalexi's
//! `MARCH8`) to the NCBI-2022 symbols that name graph nodes (`MARS1`, `MARCHF8`), through the
//! curated resolution table of the real screens and then the NCBI alias / previous-symbol table.

use super::{builtin, Graph};
use crate::files::text::{Sep, TextInput};
use std::borrow::Cow;
use std::collections::HashMap;

/// How a name was matched to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The name is a node as written.
    Exact(u32),
    /// The name was renamed to a node (`via` says which table).
    Renamed {
        /// The node.
        node: u32,
        /// The node's symbol.
        symbol: String,
        /// `resolution-table`, `alias-table`, `ensembl-table` or `upper-case`.
        via: &'static str,
    },
    /// The alias maps to several nodes; the user must choose.
    Ambiguous(Vec<String>),
    /// Not a node under any known name.
    Unknown,
}

impl Resolution {
    /// The node, if the name resolved to exactly one.
    pub fn node(&self) -> Option<u32> {
        match self {
            Resolution::Exact(n) | Resolution::Renamed { node: n, .. } => Some(*n),
            _ => None,
        }
    }
}

/// Resolves gene names against one graph. The embedded alias tables are parsed once per process,
/// on the first name that is not a node as written, and shared by every resolver.
pub struct SymbolResolver<'g> {
    graph: &'g Graph,
}

/// The parsed tables, shared process-wide (they come from constants compiled into the binary).
fn tables() -> &'static Tables {
    static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    TABLES.get_or_init(load_tables)
}

struct Tables {
    resolution: HashMap<String, String>,
    alias: HashMap<String, Vec<String>>,
    ensembl: HashMap<String, Vec<String>>,
}

/// Ensembl gene id -> NCBI symbol(s) (`ensembl_gene_id, entrez_id, symbol`; org.Hs.eg.db 3.16).
const ENSEMBL_TABLE: &[u8] = include_bytes!("../../data/sim/human_gene_ensembl.tsv.gz");

/// The rows after the header of an embedded tab-separated table, as fields, through the shared
/// reader. The tables are compiled in and known-good: a decoding failure is a build defect.
fn embedded_rows(bytes: &[u8], name: &str, mut row: impl FnMut(&[Cow<str>])) {
    let input = TextInput::from_bytes(bytes.to_vec(), name).expect("embedded table");
    let mut f = Vec::new();
    for line in input.lines().skip(1) {
        if line.raw_fields(Sep::Tab, &mut f).is_ok() {
            row(&f);
        }
    }
}

fn load_tables() -> Tables {
    let mut resolution = HashMap::new();
    embedded_rows(builtin::SYMBOL_RESOLUTION, "builtin:resolution", |f| {
        if let [a, b, ..] = f {
            if !b.is_empty() && a != b {
                resolution.insert(a.to_string(), b.to_string());
            }
        }
    });
    let mut alias: HashMap<String, Vec<String>> = HashMap::new();
    embedded_rows(builtin::GENE_ALIAS, "builtin:alias", |f| {
        if f.len() >= 3 && f[0] != f[2] {
            let v = alias.entry(f[0].to_string()).or_default();
            if !v.iter().any(|s| *s == f[2]) {
                v.push(f[2].to_string());
            }
        }
    });
    let mut ensembl: HashMap<String, Vec<String>> = HashMap::new();
    embedded_rows(ENSEMBL_TABLE, "builtin:ensembl", |f| {
        if f.len() >= 3 && !f[2].is_empty() {
            let v = ensembl.entry(f[0].to_string()).or_default();
            if !v.iter().any(|s| *s == f[2]) {
                v.push(f[2].to_string());
            }
        }
    });
    Tables { resolution, alias, ensembl }
}

impl<'g> SymbolResolver<'g> {
    /// A resolver for `graph`.
    pub fn new(graph: &'g Graph) -> Self {
        SymbolResolver { graph }
    }

    /// Resolves one name: exact node, then an Ensembl gene id (`ENSG...`, version suffix ignored),
    /// then the curated resolution table, then NCBI aliases (unique match among graph nodes only),
    /// then the same steps on the upper-cased name.
    pub fn resolve(&self, name: &str) -> Resolution {
        let r = self.resolve_once(name);
        if r == Resolution::Unknown && name.bytes().any(|b| b.is_ascii_lowercase()) {
            let up = name.to_ascii_uppercase();
            return match self.resolve_once(&up) {
                Resolution::Exact(n) => Resolution::Renamed { node: n, symbol: up, via: "upper-case" },
                other => other,
            };
        }
        r
    }

    fn resolve_once(&self, name: &str) -> Resolution {
        if let Some(n) = self.graph.node(name) {
            return Resolution::Exact(n);
        }
        if matches!(self.graph.labels, super::Labels::Integers) {
            return Resolution::Unknown;
        }
        let t = tables();
        if name.starts_with("ENSG") {
            let id = name.split('.').next().unwrap_or(name);
            if let Some(syms) = t.ensembl.get(id) {
                let hits: Vec<&String> = syms.iter().filter(|s| self.graph.node(s).is_some()).collect();
                match hits.len() {
                    0 => {}
                    1 => {
                        let n = self.graph.node(hits[0]).unwrap();
                        return Resolution::Renamed { node: n, symbol: hits[0].clone(), via: "ensembl-table" };
                    }
                    _ => return Resolution::Ambiguous(hits.into_iter().cloned().collect()),
                }
            }
        }
        if let Some(s) = t.resolution.get(name) {
            if let Some(n) = self.graph.node(s) {
                return Resolution::Renamed { node: n, symbol: s.clone(), via: "resolution-table" };
            }
        }
        if let Some(cands) = t.alias.get(name) {
            let hits: Vec<&String> = cands.iter().filter(|s| self.graph.node(s).is_some()).collect();
            match hits.len() {
                0 => {}
                1 => {
                    let n = self.graph.node(hits[0]).unwrap();
                    return Resolution::Renamed { node: n, symbol: hits[0].clone(), via: "alias-table" };
                }
                _ => return Resolution::Ambiguous(hits.into_iter().cloned().collect()),
            }
        }
        Resolution::Unknown
    }
}
