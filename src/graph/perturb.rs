//! Graph noise: drop a fraction of the edges and add random ones, seeded (`graphreach graph
//! perturb`, and the study's `graph_noise` levels, which test whether a graph-based selection is
//! robust to errors in the knowledge graph).
//!
//! Rules (the same for every caller):
//! * Only edges between two different nodes count and can be dropped; self loops are kept as they
//!   are (they never change which nodes are reachable) and are not counted in `m`.
//! * `drop` removes `round(drop x m)` of the `m` edges, chosen uniformly without replacement.
//! * `add` inserts `round(add x m)` new directed edges `u -> v` (u != v), uniform over the ordered
//!   pairs that are not edges of the input graph and not added already; each gets the weight of a
//!   uniformly drawn input edge, so the weight distribution is kept.
//! * Node set and labels are unchanged. One SplitMix64 stream drives everything: the same graph,
//!   fractions and seed give the same edges on every platform.

use super::{Csr, Graph};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use serde::Serialize;
use std::collections::HashSet;

/// What a perturbation did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PerturbReport {
    /// Edges between different nodes in the input (`m`).
    pub edges_in: usize,
    /// Edges dropped.
    pub dropped: usize,
    /// Edges added.
    pub added: usize,
    /// Self loops, kept unchanged.
    pub self_loops: usize,
    /// Edges between different nodes in the output.
    pub edges_out: usize,
    /// The seed.
    pub seed: u64,
}

fn check_fraction(what: &str, f: f64) -> Result<()> {
    if !(f.is_finite() && (0.0..=1.0).contains(&f)) {
        return Err(Error::invalid(format!("--{what} {f} must be a fraction in [0, 1] of the graph's edges")));
    }
    Ok(())
}

/// Drops `round(drop x m)` edges and adds `round(add x m)` random new ones (see the module rules).
pub fn perturb(graph: &Graph, drop: f64, add: f64, seed: u64) -> Result<(Graph, PerturbReport)> {
    check_fraction("drop", drop)?;
    check_fraction("add", add)?;
    let n = graph.n_nodes();
    let csr = &graph.out;
    // Edges (u, v, w) in CSR order, self loops apart.
    let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(csr.nnz());
    let mut loops: Vec<(u32, u32, f32)> = Vec::new();
    for u in 0..n {
        for (&v, &w) in csr.row(u).iter().zip(csr.row_weights(u)) {
            if v as usize == u { loops.push((u as u32, v, w)) } else { edges.push((u as u32, v, w)) }
        }
    }
    let m = edges.len();
    let n_drop = (drop * m as f64).round() as usize;
    let n_add = (add * m as f64).round() as usize;
    let free = (n as u128) * (n.saturating_sub(1) as u128) - m as u128;
    if n_add as u128 > free {
        return Err(Error::invalid(format!(
            "--add {add}: {n_add} new edges asked for, but graph {} has only {free} node pairs without an edge",
            graph.name
        )));
    }
    let mut rng = SplitMix64::new(seed);
    // Partial Fisher-Yates: the first n_drop positions are the dropped edges.
    let mut order: Vec<u32> = (0..m as u32).collect();
    for i in 0..n_drop {
        let j = i + rng.below((m - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut dropped = vec![false; m];
    for &i in &order[..n_drop] {
        dropped[i as usize] = true;
    }
    let key = |u: u32, v: u32| (u as u64) << 32 | v as u64;
    let mut present: HashSet<u64> = edges.iter().map(|e| key(e.0, e.1)).collect();
    let mut out: Vec<(u32, u32, f32)> = edges.iter().zip(&dropped).filter(|(_, d)| !**d).map(|(e, _)| *e).collect();
    let mut added = 0usize;
    while added < n_add {
        let u = rng.below(n as u64) as u32;
        let v = rng.below(n as u64) as u32;
        if u == v || !present.insert(key(u, v)) {
            continue;
        }
        let w = if m == 0 { 1.0 } else { edges[rng.below(m as u64) as usize].2 };
        out.push((u, v, w));
        added += 1;
    }
    let edges_out = out.len();
    out.extend(loops.iter().copied());
    let rows: Vec<u32> = out.iter().map(|e| e.0).collect();
    let cols: Vec<u32> = out.iter().map(|e| e.1).collect();
    let ws: Vec<f32> = out.iter().map(|e| e.2).collect();
    let csr = Csr::from_unique_triplets(n, &rows, &cols, &ws);
    let name = format!("{} (perturbed: drop {drop}, add {add}, seed {seed})", graph.name);
    let report = PerturbReport { edges_in: m, dropped: n_drop, added, self_loops: loops.len(), edges_out, seed };
    Ok((Graph::new(name, graph.labels.clone(), csr, graph.report.clone()), report))
}

/// The graph as `source<TAB>target<TAB>weight` lines in CSR order (labels for symbol graphs, ids
/// otherwise), with a header: a file every graph loader reads back to the same graph.
pub fn to_tsv(graph: &Graph) -> String {
    let mut s = String::from("source\ttarget\timportance\n");
    for u in 0..graph.n_nodes() {
        let lu = graph.label(u as u32);
        for (&v, &w) in graph.out.row(u).iter().zip(graph.out.row_weights(u)) {
            s.push_str(&lu);
            s.push('\t');
            s.push_str(&graph.label(v));
            s.push('\t');
            s.push_str(&format!("{w}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Labels, LoadReport};

    fn ring(n: usize) -> Graph {
        let mut rows = Vec::new();
        let mut cols = Vec::new();
        for u in 0..n as u32 {
            rows.push(u);
            cols.push((u + 1) % n as u32);
            rows.push(u);
            cols.push(u); // self loop
        }
        let w: Vec<f32> = (0..rows.len()).map(|i| 0.5 + i as f32 / 100.0).collect();
        let labels: Vec<String> = (0..n).map(|i| format!("G{i:03}")).collect();
        Graph::new("ring", Labels::Symbols(labels), Csr::from_unique_triplets(n, &rows, &cols, &w), LoadReport::default())
    }

    fn edge_set(g: &Graph) -> HashSet<(u32, u32)> {
        (0..g.n_nodes()).flat_map(|u| g.out.row(u).iter().map(move |&v| (u as u32, v))).collect()
    }

    #[test]
    fn drops_and_adds_the_asked_numbers_keeping_self_loops() {
        let g = ring(50);
        let (p, r) = perturb(&g, 0.3, 0.3, 7).unwrap();
        assert_eq!((r.edges_in, r.dropped, r.added, r.self_loops), (50, 15, 15, 50));
        assert_eq!(r.edges_out, 50);
        let (before, after) = (edge_set(&g), edge_set(&p));
        assert!((0..50u32).all(|u| after.contains(&(u, u))), "self loops kept");
        let kept = before.iter().filter(|e| e.0 != e.1 && after.contains(e)).count();
        assert_eq!(kept, 35);
        let new: Vec<_> = after.iter().filter(|e| e.0 != e.1 && !before.contains(e)).collect();
        assert_eq!(new.len(), 15);
        assert_eq!(p.n_nodes(), 50);
        assert_eq!(p.labels, g.labels);
    }

    #[test]
    fn is_deterministic_per_seed_and_identity_at_zero() {
        let g = ring(40);
        let a = perturb(&g, 0.1, 0.1, 3).unwrap().0;
        let b = perturb(&g, 0.1, 0.1, 3).unwrap().0;
        let c = perturb(&g, 0.1, 0.1, 4).unwrap().0;
        assert_eq!(a.out, b.out);
        assert_ne!(a.out, c.out);
        let z = perturb(&g, 0.0, 0.0, 9).unwrap().0;
        assert_eq!(z.out, g.out);
    }

    #[test]
    fn rejects_bad_fractions_and_impossible_additions() {
        let g = ring(3);
        assert!(perturb(&g, -0.1, 0.0, 0).unwrap_err().to_string().contains("--drop"));
        assert!(perturb(&g, 0.0, f64::NAN, 0).unwrap_err().to_string().contains("--add"));
        // 3 nodes: 6 ordered pairs, 3 edges, so at most 3 can be added.
        assert!(perturb(&g, 0.0, 1.0, 0).is_ok());
        let g2 = ring(2); // 2 nodes: 2 ordered pairs, both edges (0->1, 1->0)
        assert!(perturb(&g2, 0.0, 1.0, 0).unwrap_err().to_string().contains("node pairs"));
    }

    #[test]
    fn tsv_reads_back_to_the_same_graph() {
        let g = ring(12);
        let (p, _) = perturb(&g, 0.25, 0.5, 1).unwrap();
        let back = crate::graph::io::parse_edge_list(to_tsv(&p).as_bytes(), "p.tsv").unwrap();
        assert_eq!(back.out.indptr, p.out.indptr);
        assert_eq!(back.out.indices, p.out.indices);
        assert_eq!(back.out.weights, p.out.weights);
    }
}
