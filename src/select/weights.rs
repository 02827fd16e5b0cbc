//! Optional non-negative node weights for the weighted coverage objective.
//!
//! Weights are converted to fixed point (largest weight = 2^24) so that marginal gains are exact
//! integer sums on every backend, and selections are identical across CPU, CUDA and wgpu.

use crate::error::{Error, Result};
use crate::graph::symbols::SymbolResolver;
use crate::graph::{io, Graph};

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

    /// Reads `gene<TAB>weight` lines (header optional); unlisted nodes get `default`.
    pub fn read(path: &str, graph: &Graph, default: f64) -> Result<Self> {
        let bytes = io::read_maybe_gz(std::path::Path::new(path))?;
        let text = String::from_utf8(bytes).map_err(|_| Error::parse(path, 0, "the file is not UTF-8 text"))?;
        let mut values = vec![f64::NAN; graph.n_nodes()];
        let resolver = SymbolResolver::new(graph);
        let mut seen = 0usize;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(['\t', ',']).map(str::trim).collect();
            if f.len() != 2 {
                return Err(Error::parse(path, i + 1, format!("expected 'gene<TAB>weight' but found {} column(s)", f.len())));
            }
            let w: f64 = match f[1].parse() {
                Ok(w) => w,
                Err(_) if seen == 0 => continue, // header
                Err(_) => return Err(Error::parse(path, i + 1, format!("weight '{}' is not a number", f[1]))),
            };
            seen += 1;
            if !w.is_finite() || w < 0.0 {
                return Err(Error::parse(path, i + 1, format!("weight '{}' must be a finite number >= 0", f[1])));
            }
            let node = resolver.resolve(f[0]).node().ok_or_else(|| {
                Error::parse(path, i + 1, format!("gene '{}' is not a node of {}; fix the name or remove the line", f[0], graph.name))
            })?;
            values[node as usize] = w;
        }
        if seen == 0 {
            return Err(Error::EmptyFile { path: path.into(), hint: "; expected 'gene<TAB>weight' lines".into() });
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
