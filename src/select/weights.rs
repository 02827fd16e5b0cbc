//! Optional non-negative node weights for the weighted coverage objective.
//!
//! Weights are converted to fixed point (largest weight = 2^24) so that marginal gains are exact
//! integer sums on every backend, and selections are identical across CPU, CUDA and wgpu.

use crate::error::{Error, Result};
use crate::graph::symbols::SymbolResolver;
use crate::files::text::{Sep, TextInput};
use crate::graph::Graph;

/// Fixed-point scale: the largest weight maps to this many units.
pub const FIXED_MAX: f64 = (1u32 << 24) as f64;

/// Node weights in fixed point.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeWeights {
    /// Per-node fixed-point weight.
    pub fixed: Vec<u32>,
    /// Real value of one unit.
    pub unit: f64,
    /// Nodes the file did not list (they get `default`).
    pub unlisted: usize,
}

impl NodeWeights {
    /// From real per-node weights (all finite and >= 0).
    pub fn from_values(values: &[f64]) -> Result<Self> {
        if let Some(i) = values.iter().position(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::invalid(format!("node weight {} of node {i} must be finite and >= 0", values[i])));
        }
        let max = values.iter().copied().fold(0.0, f64::max);
        let unit = if max > 0.0 { max / FIXED_MAX } else { 1.0 };
        let fixed = values.iter().map(|w| (w / unit).round() as u32).collect();
        Ok(NodeWeights { fixed, unit, unlisted: 0 })
    }

    /// Reads `gene<TAB>weight` lines (or `gene,weight`; header optional, gzip ok, read by the
    /// shared text reader); unlisted nodes get `default`.
    pub fn read(path: &str, graph: &Graph, default: f64) -> Result<Self> {
        Self::parse(&TextInput::read(std::path::Path::new(path))?, graph, default)
    }

    /// [`NodeWeights::read`] on text already read.
    pub fn parse(input: &TextInput, graph: &Graph, default: f64) -> Result<Self> {
        let mut values = vec![f64::NAN; graph.n_nodes()];
        let resolver = SymbolResolver::new(graph);
        let mut seen = 0usize;
        let mut f = Vec::new();
        for line in input.data_lines("#") {
            let sep = if Sep::detect(line.text) == Sep::Tab { Sep::Tab } else { Sep::Comma };
            line.fields(sep, &mut f)?;
            if f.len() != 2 {
                return Err(line.err(format!("expected 'gene<TAB>weight' but found {} column(s)", f.len())));
            }
            let w: f64 = match f[1].parse() {
                Ok(w) => w,
                Err(_) if seen == 0 => continue, // header
                Err(_) => return Err(line.err(format!("weight '{}' is not a number", f[1]))),
            };
            seen += 1;
            if !w.is_finite() || w < 0.0 {
                return Err(line.err(format!("weight '{}' must be a finite number >= 0", f[1])));
            }
            let node = resolver.resolve(&f[0]).node().ok_or_else(|| {
                line.err(format!("gene '{}' is not a node of {}; fix the name or remove the line", f[0], graph.name))
            })?;
            values[node as usize] = w;
        }
        if seen == 0 {
            return Err(input.empty("'gene<TAB>weight' lines"));
        }
        let unlisted = values.iter().filter(|v| v.is_nan()).count();
        for v in values.iter_mut().filter(|v| v.is_nan()) {
            *v = default;
        }
        let mut w = NodeWeights::from_values(&values)?;
        w.unlisted = unlisted;
        Ok(w)
    }
}
