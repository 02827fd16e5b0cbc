//! Data compiled into the binary (see DATA.md for provenance): the GEARS-style GO graphs,
//! the candidate pools of the real screens, and the gene-symbol resolution tables.

use super::{packed, Csr, Graph, Labels, LoadReport};
use crate::error::{Error, Result};
use crate::files::text::TextInput;

/// GO graph over the 9,792-gene K562 universe (GEARS construction, k = 20): `builtin:go-k562`,
/// packed by `build.rs` from `data/go/go_graph_k562universe_k20.tsv.gz` (see [`super::packed`]).
pub const GO_K562: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/go_k562.csr"));
/// GO graph over all 18,777 annotated protein-coding genes: `builtin:go-human`, packed by
/// `build.rs` from `data/go/go_graph_k20.tsv.gz`.
pub const GO_HUMAN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/go_human.csr"));
/// The committed TSV (relative to the repository root) each builtin graph is packed from.
pub const GRAPH_SOURCES: &[(&str, &str)] =
    &[("go-k562", "data/go/go_graph_k562universe_k20.tsv.gz"), ("go-human", "data/go/go_graph_k20.tsv.gz")];
/// NCBI alias / previous-symbol table (`alias_or_symbol, entrez_id, current_symbol`).
pub const GENE_ALIAS: &[u8] = include_bytes!("../../data/go/human_gene_alias.tsv.gz");
/// Dataset symbol -> NCBI-2022 symbol table for every gene of the real screens.
pub const SYMBOL_RESOLUTION: &[u8] = include_bytes!("../../data/gene_symbol_resolution.tsv.gz");

/// Names accepted by `--graph builtin:NAME`.
pub const GRAPHS: &[(&str, &str)] = &[
    ("go-k562", "GO graph, K562 universe: 9,792 genes, 201,767 edges (the GEARS graph equivalent)"),
    ("go-human", "GO graph, all annotated protein-coding genes: 18,777 genes, 389,305 edges"),
];

/// Names accepted by `--candidates builtin:NAME`.
pub const POOLS: &[(&str, &str, &str)] = &[
    ("adamson", include_str!("../../data/pools/adamson.txt"), "Adamson 2016 (GEARS), 86 genes"),
    (
        "replogle-k562-essential",
        include_str!("../../data/pools/replogle-k562-essential.txt"),
        "Replogle 2022 K562 essential strong perturbations in go-k562, 1,089 genes",
    ),
    ("norman", include_str!("../../data/pools/norman.txt"), "Norman 2019 singles in go-k562, 103 genes"),
];

/// Loads a builtin graph by name (a millisecond: the packed CSR is decoded, no text is parsed).
pub fn graph(name: &str) -> Result<Graph> {
    let bytes = match name {
        "go-k562" => GO_K562,
        "go-human" => GO_HUMAN,
        _ => {
            let known: Vec<_> = GRAPHS.iter().map(|g| format!("builtin:{}", g.0)).collect();
            return Err(Error::invalid(format!("unknown builtin graph '{name}'; available: {}", known.join(", "))));
        }
    };
    let label = format!("builtin:{name}");
    let p = packed::decode(bytes).map_err(|e| Error::invalid(format!("{label}: the embedded graph is corrupt ({e}); rebuild graphreach")))?;
    let report = LoadReport { lines: p.lines as usize, dropped_nonpositive: p.dropped as usize, duplicates: p.duplicates as usize, header: p.header };
    let n = p.n();
    let labels = if p.symbols.is_empty() { Labels::Integers } else { Labels::Symbols(p.symbols) };
    let out = Csr { n, indptr: p.indptr, indices: p.indices, weights: p.weights };
    Ok(Graph::new(label, labels, out, report))
}

/// The text of a builtin candidate pool, read like a user's list (named `builtin:NAME`).
pub fn pool_text(name: &str) -> Result<TextInput> {
    match POOLS.iter().find(|p| p.0 == name) {
        Some(p) => TextInput::from_bytes(p.1.as_bytes().to_vec(), format!("builtin:{name}")),
        None => {
            let known: Vec<_> = POOLS.iter().map(|p| format!("builtin:{}", p.0)).collect();
            Err(Error::invalid(format!("unknown builtin candidate pool '{name}'; available: {}", known.join(", "))))
        }
    }
}

/// The genes of a builtin candidate pool (NCBI-2022 symbols, dataset order).
pub fn pool(name: &str) -> Result<Vec<String>> {
    Ok(super::names::parse_names(&pool_text(name)?)?.names.into_iter().map(|(_, n)| n).collect())
}
