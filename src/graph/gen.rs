//! The deterministic "hub-SBM" synthetic gene-graph generator of `docs/hub-sbm.md`
//! (`graphreach graph gen`, `--graph gen:NAME`, `--candidates gen:NAME`).
//!
//! Only u64 wrapping arithmetic, `%` and IEEE-754 double multiplication are used, so every
//! implementation produces the identical edge set. Draws are independent (counter-based
//! SplitMix64), so they are generated in parallel and then sorted and deduplicated as packed
//! `u64` keys `(min << 32) | max`.

use super::{Csr, Graph, Labels, LoadReport};
use crate::error::{Error, Result};
use crate::rng::splitmix_at;
use rayon::prelude::*;
use std::io::Write;

/// Parameters of the hub-SBM generator (names as in `hub-sbm.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubSbm {
    /// Number of nodes `n`.
    pub nodes: u64,
    /// Number of draws `M` (each emits at most one edge).
    pub draws: u64,
    /// Number of communities `K` (community of latent index `t` is `t % K`).
    pub communities: u64,
    /// Hub probability in per-mille: a pick is a hub draw when `r % 1000 < Q`.
    pub hub_q: u64,
    /// Intra-community probability in percent: `r % 100 < P_IN`.
    pub p_in: u64,
    /// Seed of the SplitMix64 stream.
    pub seed: u64,
    /// Number of candidate nodes `CAND` (`== nodes` means all nodes).
    pub candidates: u64,
}

/// The named presets of `hub-sbm.md`: `(name, parameters, sha256 of the written edge list)`.
pub const PRESETS: &[(&str, HubSbm, &str)] = &[
    (
        "a_go_like",
        HubSbm { nodes: 9_853, draws: 215_000, communities: 50, hub_q: 300, p_in: 80, seed: 1, candidates: 1_088 },
        "905ccde31877c7e8c000dbc90df7e5c8c43676e13aa8156db8db5b4a4f9e224b",
    ),
    (
        "b_genome",
        HubSbm { nodes: 20_000, draws: 1_100_000, communities: 50, hub_q: 300, p_in: 80, seed: 2, candidates: 20_000 },
        "5c17441de2947d23fc72d1b0d99ef6672566b5ac3754f4812307c4649d821d6a",
    ),
    (
        "c_large",
        HubSbm { nodes: 200_000, draws: 5_500_000, communities: 1_000, hub_q: 300, p_in: 80, seed: 3, candidates: 200_000 },
        "6d694e65bc102bc85e396ea63d484e5617b9aafda35a804ab0dd81a6f1f9e06a",
    ),
    (
        "d_huge",
        HubSbm {
            nodes: 1_000_000,
            draws: 17_000_000,
            communities: 5_000,
            hub_q: 300,
            p_in: 80,
            seed: 4,
            candidates: 1_000_000,
        },
        "9b0e1c494831377e57c77b267cd08ff5194027501d155609689a6cc8c3b424de",
    ),
];

/// The parameters of a named preset, or an error listing the known names.
pub fn preset(name: &str) -> Result<HubSbm> {
    PRESETS.iter().find(|p| p.0 == name).map(|p| p.1).ok_or_else(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
        Error::invalid(format!("unknown synthetic graph preset 'gen:{name}'; known presets: {}", names.join(", ")))
    })
}

/// `unit(r)` of the spec: the top 53 bits as a double in `[0, 1)`.
#[inline]
fn unit(r: u64) -> f64 {
    (r >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl HubSbm {
    /// Checks the parameters: `1 <= K <= n < 2^32`, `Q <= 1000`, `P_IN <= 100`, `CAND <= n`.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        if self.nodes == 0 || self.nodes > u32::MAX as u64 {
            return bad(format!("--nodes must be in 1..={} (got {})", u32::MAX, self.nodes));
        }
        if self.communities == 0 || self.communities > self.nodes {
            return bad(format!("--communities must be in 1..=nodes ({}) (got {})", self.nodes, self.communities));
        }
        if self.hub_q > 1000 {
            return bad(format!("--hub-q is per-mille and must be <= 1000 (got {})", self.hub_q));
        }
        if self.p_in > 100 {
            return bad(format!("--p-in is a percentage and must be <= 100 (got {})", self.p_in));
        }
        if self.candidates > self.nodes {
            return bad(format!("--candidates ({}) must not exceed --nodes ({})", self.candidates, self.nodes));
        }
        Ok(())
    }

    /// `pick(ra, rb)`: a latent node index in `[0, n)`; hub draws favour small indices.
    #[inline]
    fn pick(&self, ra: u64, rb: u64) -> u64 {
        let n = self.nodes;
        if ra % 1000 < self.hub_q {
            let x = unit(rb);
            // x < 1 so the product is < n; `min` only guards against impossible rounding.
            (((x * x) * (n as f64)).floor() as u64).min(n - 1)
        } else {
            rb % n
        }
    }

    /// `lab(t)`: the bijection that hides the hub order.
    #[inline]
    fn lab(&self, t: u64) -> u64 {
        t.wrapping_mul(1_000_003).wrapping_add(12_345) % self.nodes
    }

    /// The edge emitted by draw `e` as `(min << 32) | max`, or `None` for a self loop.
    #[inline]
    pub fn draw(&self, e: u64) -> Option<u64> {
        let base = e.wrapping_mul(5);
        let r = |i: u64| splitmix_at(self.seed, base.wrapping_add(i));
        let k = self.communities;
        let u = self.pick(r(0), r(1));
        let v2 = self.pick(r(2), r(3));
        let v = if r(4) % 100 < self.p_in {
            let v = (v2 / k).wrapping_mul(k).wrapping_add(u % k);
            if v >= self.nodes {
                v.wrapping_sub(k)
            } else {
                v
            }
        } else {
            v2
        };
        if u == v {
            return None;
        }
        let (a, b) = (self.lab(u), self.lab(v));
        Some((a.min(b) << 32) | a.max(b))
    }

    /// The edge set: unique undirected pairs `(u, v)` with `u < v`, packed as `(u << 32) | v`,
    /// sorted ascending (which is the lexicographic order of the pairs).
    pub fn edges(&self) -> Result<Vec<u64>> {
        self.validate()?;
        let mut keys: Vec<u64> = (0..self.draws).into_par_iter().filter_map(|e| self.draw(e)).collect();
        keys.par_sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// The candidate nodes: all nodes when `CAND == n`, else the `CAND` nodes with the smallest
    /// `R(seed ^ 0xC0FFEE, v)` (ties by `v`), in ascending node order.
    pub fn candidates(&self) -> Result<Vec<u32>> {
        self.validate()?;
        let n = self.nodes;
        if self.candidates == n {
            return Ok((0..n as u32).collect());
        }
        let s = self.seed ^ 0xC0FFEE;
        let mut keyed: Vec<(u64, u32)> = (0..n).into_par_iter().map(|v| (splitmix_at(s, v), v as u32)).collect();
        let c = self.candidates as usize;
        if c > 0 {
            keyed.select_nth_unstable(c - 1);
        }
        let mut out: Vec<u32> = keyed[..c].iter().map(|p| p.1).collect();
        out.sort_unstable();
        Ok(out)
    }
}

/// Unpacks an edge key into `(u, v)`.
#[inline]
pub fn unpack(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, key as u32)
}

/// Writes the edge list as `u<TAB>v<LF>` lines in the given (sorted) order.
pub fn write_edges(keys: &[u64], w: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut a = itoa::Buffer::new();
    let mut b = itoa::Buffer::new();
    for &k in keys {
        let (u, v) = unpack(k);
        buf.extend_from_slice(a.format(u).as_bytes());
        buf.push(b'\t');
        buf.extend_from_slice(b.format(v).as_bytes());
        buf.push(b'\n');
        if buf.len() >= (1 << 16) - 32 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

/// Writes node ids one per line (with a final newline).
pub fn write_nodes(nodes: &[u32], w: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(nodes.len() * 8);
    let mut a = itoa::Buffer::new();
    for &v in nodes {
        buf.extend_from_slice(a.format(v).as_bytes());
        buf.push(b'\n');
    }
    w.write_all(&buf)
}

/// The undirected graph of sorted unique `u < v` edge keys as a [`Graph`] whose stored adjacency
/// holds both directions with weight 1 (so `in`, `out` and `undirected` hops agree).
pub fn to_graph(name: &str, n: usize, keys: &[u64]) -> Graph {
    let mut deg = vec![0u32; n + 1];
    for &k in keys {
        let (u, v) = unpack(k);
        deg[u as usize + 1] += 1;
        deg[v as usize + 1] += 1;
    }
    for i in 0..n {
        deg[i + 1] += deg[i];
    }
    let indptr = deg;
    let mut next = indptr.clone();
    let mut indices = vec![0u32; keys.len() * 2];
    // Row r holds the smaller neighbours (from edges (x, r), x ascending in key order) followed by
    // the larger ones (from edges (r, y), y ascending), so each row comes out sorted.
    for &k in keys {
        let (u, v) = unpack(k);
        indices[next[v as usize] as usize] = u;
        next[v as usize] += 1;
    }
    for &k in keys {
        let (u, v) = unpack(k);
        indices[next[u as usize] as usize] = v;
        next[u as usize] += 1;
    }
    let weights = vec![1.0f32; indices.len()];
    let report = LoadReport { lines: keys.len(), ..LoadReport::default() };
    Graph::new(format!("gen:{name}"), Labels::Integers, Csr { n, indptr, indices, weights }, report)
}

/// `--graph gen:NAME`: generates a preset graph in memory.
pub fn preset_graph(name: &str) -> Result<Graph> {
    let p = preset(name)?;
    let keys = p.edges()?;
    Ok(to_graph(name, p.nodes as usize, &keys))
}

/// `--candidates gen:NAME`: the preset's candidate nodes (ascending node ids) of `graph`, which
/// must be the preset's own integer-labelled graph. `select::pool` turns them into a pool.
pub fn preset_candidates(graph: &Graph, name: &str) -> Result<Vec<u32>> {
    let p = preset(name)?;
    if graph.n_nodes() as u64 != p.nodes || graph.labels != Labels::Integers {
        return Err(Error::invalid(format!(
            "--candidates gen:{name} needs the integer-labelled {}-node graph gen:{name}, but graph {} has {} nodes",
            p.nodes,
            graph.name,
            graph.n_nodes()
        )));
    }
    p.candidates()
}

#[cfg(test)]
#[path = "gen_tests.rs"]
mod tests;
