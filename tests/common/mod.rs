//! Shared test fixtures: seeded random graphs of several shapes and small helpers.
#![allow(dead_code)]

use graphreach::graph::{Csr, Graph, Labels, LoadReport};
use graphreach::rng::SplitMix64;

/// A graph from integer edges (duplicates collapse, as the loader does).
pub fn graph_from_edges(n: usize, edges: &[(u32, u32)]) -> Graph {
    let rows: Vec<u32> = edges.iter().map(|e| e.0).collect();
    let cols: Vec<u32> = edges.iter().map(|e| e.1).collect();
    let w = vec![1f32; edges.len()];
    let (csr, dup) = Csr::from_triplets(n, &rows, &cols, &w);
    Graph::new("test", Labels::Integers, csr, LoadReport { duplicates: dup, lines: edges.len(), ..Default::default() })
}

/// Erdős–Rényi-like directed graph with about `m` edges (self loops and duplicates possible).
pub fn random_graph(n: usize, m: usize, seed: u64) -> Graph {
    let mut rng = SplitMix64::new(seed);
    let edges: Vec<(u32, u32)> = if n == 0 {
        vec![]
    } else {
        (0..m).map(|_| (rng.below(n as u64) as u32, rng.below(n as u64) as u32)).collect()
    };
    graph_from_edges(n, &edges)
}

/// A star: node 0 points to every other node.
pub fn star(n: usize) -> Graph {
    let edges: Vec<(u32, u32)> = (1..n as u32).map(|v| (0, v)).collect();
    graph_from_edges(n, &edges)
}

/// `k` disjoint directed cycles of length `len`.
pub fn disjoint_cycles(k: usize, len: usize) -> Graph {
    let mut edges = Vec::new();
    for c in 0..k {
        for i in 0..len {
            let base = (c * len) as u32;
            edges.push((base + i as u32, base + ((i + 1) % len) as u32));
        }
    }
    graph_from_edges(k * len, &edges)
}

/// The named graph shapes used across tests.
pub fn shapes() -> Vec<(&'static str, Graph)> {
    vec![
        ("empty-5", graph_from_edges(5, &[])),
        ("one-node", graph_from_edges(1, &[])),
        ("one-node-self-loop", graph_from_edges(1, &[(0, 0)])),
        ("star-40", star(40)),
        ("disconnected-cycles", disjoint_cycles(7, 5)),
        ("duplicate-edges", graph_from_edges(6, &[(0, 1), (0, 1), (1, 2), (1, 2), (2, 0), (3, 4), (3, 4), (5, 5)])),
        ("random-31", random_graph(31, 60, 1)),
        ("random-200-sparse", random_graph(200, 300, 2)),
        ("random-200-dense", random_graph(200, 4000, 3)),
        ("random-1537", random_graph(1537, 6000, 4)),
    ]
}
