//! The embedded data loads with the documented counts, and dataset symbols resolve.

use graphreach::graph::{builtin, io::load_graph, symbols::SymbolResolver};

#[test]
fn go_k562_counts() {
    let g = load_graph("builtin:go-k562").unwrap();
    assert_eq!(g.n_nodes(), 9_792);
    assert_eq!(g.n_edges(), 201_767);
    assert_eq!(g.report.duplicates, 0);
    assert_eq!(g.report.dropped_nonpositive, 0);
    // 185 targets lost their self row to ties (PROVENANCE.md): 9,792 - 185 self loops.
    assert_eq!(g.out.self_loops(), 9_792 - 185);
    // byte-wise sorted symbols (GEARS node order)
    if let graphreach::graph::Labels::Symbols(s) = &g.labels {
        assert!(s.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
    } else {
        panic!("GO graph must be symbol-labelled");
    }
}

#[test]
fn go_human_counts() {
    let g = load_graph("builtin:go-human").unwrap();
    assert_eq!(g.n_nodes(), 18_777);
    assert_eq!(g.n_edges(), 389_305);
}

#[test]
fn pools_have_documented_sizes_and_are_graph_nodes() {
    let g = load_graph("builtin:go-k562").unwrap();
    for (name, n) in [("adamson", 86), ("replogle-k562-essential", 1_089), ("norman", 103)] {
        let genes = builtin::pool(name).unwrap();
        assert_eq!(genes.len(), n, "{name}");
        for s in &genes {
            assert!(g.node(s).is_some(), "{name}: {s} is not a node");
        }
    }
    assert!(builtin::pool("nope").unwrap_err().to_string().contains("available"));
    assert!(load_graph("builtin:nope").unwrap_err().to_string().contains("builtin:go-k562"));
}

#[test]
fn dataset_symbols_resolve_to_ncbi_2022() {
    let g = load_graph("builtin:go-k562").unwrap();
    let r = SymbolResolver::new(&g);
    for (old, new) in [("MARS", "MARS1"), ("SRPR", "SRPRA"), ("ATP5B", "ATP5F1B"), ("SLMO2", "PRELID3B"), ("AARS", "AARS1")] {
        let node = r.resolve(old).node().unwrap_or_else(|| panic!("{old} did not resolve"));
        assert_eq!(g.label(node), new);
    }
    // Ensembl gene ids (as in GEARS var.index), with or without a version suffix.
    for id in ["ENSG00000141510", "ENSG00000141510.18"] {
        assert_eq!(g.label(r.resolve(id).node().unwrap()), "TP53");
    }
    assert!(r.resolve("ENSG99999999999").node().is_none());
    assert!(r.resolve("KIAA1804").node().is_none());
    assert!(r.resolve("NOT_A_GENE_XYZ").node().is_none());
}

/// Each builtin graph is packed by build.rs from its committed TSV; the packed graph must be
/// exactly what the ordinary loader reads from that TSV (labels, edges, weights, load report).
#[test]
fn packed_builtin_graphs_equal_their_committed_tsv() {
    for (name, tsv) in builtin::GRAPH_SOURCES {
        let packed = load_graph(&format!("builtin:{name}")).unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(tsv);
        let parsed = graphreach::graph::io::load_graph_file(&path).unwrap();
        assert_eq!(packed.labels, parsed.labels, "{name}: labels");
        assert_eq!(packed.out, parsed.out, "{name}: adjacency and weights");
        assert_eq!(packed.report, parsed.report, "{name}: load report");
        assert_eq!(packed.name, format!("builtin:{name}"));
    }
    assert_eq!(builtin::GRAPH_SOURCES.len(), builtin::GRAPHS.len());
}
