//! Gene graphs: loading (edge lists, GEARS CSV/TSV, MatrixMarket), the embedded builtin data,
//! node labels and symbol resolution, and the oriented adjacency used for reachability.

mod csr;
pub mod builtin;
pub mod gen;
pub mod go_build;
pub mod io;
mod intern;
mod mtx;
pub mod names;
pub mod packed;
pub mod perturb;
pub mod sets;
pub mod symbols;

pub use csr::Csr;

use serde::Serialize;

/// The most nodes a loaded graph may have (2^28). An integer-labelled file has `max id + 1` nodes,
/// so this bounds the ids too and keeps a typo such as `4000000000` from allocating gigabytes.
pub const MAX_NODES: usize = 1 << 28;

/// Which edges a hop follows when computing reachability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From `v` to the sources `u` of edges `u -> v`: the nodes whose GO-GNN embeddings receive
    /// gradient when `v` is trained on (GEARS messages flow source -> target). The default.
    In,
    /// From `u` to the targets `v` of edges `u -> v`: the nodes whose embeddings read `u`.
    Out,
    /// Both ways (the symmetrised graph).
    Undirected,
}

impl Direction {
    /// Lower-case name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Undirected => "undirected",
        }
    }
}

/// How nodes are named.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// Symbol-labelled file: node `i` is `symbols[i]`, symbols sorted byte-wise (GEARS order).
    Symbols(Vec<String>),
    /// Integer-labelled file (or MatrixMarket): node `i` is named `i`.
    Integers,
}

/// What happened while loading a graph (reported by `graph info` and on stderr).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoadReport {
    /// Data lines read (header and comments excluded).
    pub lines: usize,
    /// Edges with weight <= 0 that were dropped.
    pub dropped_nonpositive: usize,
    /// Duplicate `(source, target)` rows collapsed into one edge (the largest weight is kept).
    pub duplicates: usize,
    /// Whether a header line was detected and skipped.
    pub header: bool,
}

/// A directed, weighted gene graph. Row = source, column = target (`source -> target`), as written.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Where the graph came from (`builtin:go-k562`, a path, `gen:b_genome`).
    pub name: String,
    /// Node names.
    pub labels: Labels,
    /// Out-adjacency: row `u` lists the targets of `u`'s edges.
    pub out: Csr,
    /// Loading statistics.
    pub report: LoadReport,
}

impl Graph {
    /// Builds a graph from an adjacency matrix (row = source).
    pub fn new(name: impl Into<String>, labels: Labels, out: Csr, report: LoadReport) -> Self {
        Graph { name: name.into(), labels, out, report }
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.out.n
    }

    /// Number of edges as stored (self loops included).
    pub fn n_edges(&self) -> usize {
        self.out.nnz()
    }

    /// The name of node `i`.
    pub fn label(&self, i: u32) -> String {
        match &self.labels {
            Labels::Symbols(s) => s[i as usize].clone(),
            Labels::Integers => i.to_string(),
        }
    }

    /// The node called `name`, if any (exact match).
    pub fn node(&self, name: &str) -> Option<u32> {
        match &self.labels {
            Labels::Symbols(s) => s.binary_search_by(|x| x.as_bytes().cmp(name.as_bytes())).ok().map(|i| i as u32),
            Labels::Integers => name.parse::<u32>().ok().filter(|&i| (i as usize) < self.n_nodes()),
        }
    }

    /// The adjacency a hop follows in `dir`: row `v` lists the nodes one hop from `v`.
    /// `In` is the transpose of the stored graph, `Out` the stored graph, `Undirected` their union.
    pub fn hop_adjacency(&self, dir: Direction) -> Csr {
        match dir {
            Direction::Out => self.out.clone(),
            Direction::In => self.out.transpose(),
            Direction::Undirected => self.out.symmetrize(),
        }
    }

    /// Summary statistics for `graph info`.
    pub fn info(&self) -> GraphInfo {
        let out_deg = self.out.degrees_without_self();
        // In-degree = column counts off the diagonal; no transpose needed.
        let mut in_deg = vec![0u32; self.n_nodes()];
        for r in 0..self.n_nodes() {
            for &c in self.out.row(r) {
                if c as usize != r {
                    in_deg[c as usize] += 1;
                }
            }
        }
        let stats = |d: &[u32]| DegreeStats::of(d);
        GraphInfo {
            graph: self.name.clone(),
            nodes: self.n_nodes(),
            edges: self.n_edges(),
            self_loops: self.out.self_loops(),
            labelled_by: match self.labels {
                Labels::Symbols(_) => "symbol",
                Labels::Integers => "integer",
            },
            out_degree: stats(&out_deg),
            in_degree: stats(&in_deg),
            isolated_nodes: out_deg.iter().zip(&in_deg).filter(|(a, b)| **a == 0 && **b == 0).count(),
            load: self.report.clone(),
        }
    }
}

/// Degree distribution summary (self loops excluded).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DegreeStats {
    /// Smallest degree.
    pub min: u32,
    /// Median degree.
    pub median: f64,
    /// Mean degree.
    pub mean: f64,
    /// Largest degree.
    pub max: u32,
}

impl DegreeStats {
    /// Summarises a degree vector (all zeros when empty).
    pub fn of(d: &[u32]) -> Self {
        if d.is_empty() {
            return DegreeStats { min: 0, median: 0.0, mean: 0.0, max: 0 };
        }
        let mut s = d.to_vec();
        s.sort_unstable();
        let n = s.len();
        let median = if n % 2 == 1 { s[n / 2] as f64 } else { (s[n / 2 - 1] as f64 + s[n / 2] as f64) / 2.0 };
        DegreeStats { min: s[0], median, mean: s.iter().map(|&x| x as f64).sum::<f64>() / n as f64, max: s[n - 1] }
    }
}

/// Output of `graphreach graph info`.
#[derive(Clone, Debug, Serialize)]
pub struct GraphInfo {
    /// Graph name.
    pub graph: String,
    /// Node count.
    pub nodes: usize,
    /// Edge count (after dropping and collapsing, self loops included).
    pub edges: usize,
    /// Self-loop count.
    pub self_loops: usize,
    /// `symbol` or `integer`.
    pub labelled_by: &'static str,
    /// Out-degree statistics.
    pub out_degree: DegreeStats,
    /// In-degree statistics.
    pub in_degree: DegreeStats,
    /// Nodes with no edge other than a self loop.
    pub isolated_nodes: usize,
    /// Load report (dropped / duplicate edges).
    pub load: LoadReport,
}

/// Resolves `gen:NAME` graph specs (synthetic hub-SBM presets, see [`gen`]).
pub fn gen_hook(name: &str) -> crate::error::Result<Graph> {
    gen::preset_graph(name)
}
