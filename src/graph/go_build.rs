//! GEARS-style GO similarity graph builder (`graphreach graph build`).
//!
//! `GO(g)` is the set of direct GO ids of gene `g` without the excluded evidence codes. For every
//! ordered pair `(s, t)` of the universe (self pairs included) `J = |GO(s) ∩ GO(t)| / |GO(s) ∪ GO(t)|`;
//! pairs with `J > min_jaccard` are kept, and per target the `top_k + 1` largest (ties by source
//! symbol, ascending) become rows `source, target, importance`, grouped by target in symbol order.
//!
//! The pair computation sits behind [`JaccardTopK`]: [`CpuJaccard`] counts intersections through
//! term -> gene postings ([`intersection_counts_for_target`]); a GPU backend can implement the same
//! trait on the CSR arrays of [`GoIndex`] with the integer threshold of [`ThresholdTable`], and
//! reuse [`select_top`] for the exact tie-breaking.

use crate::error::Result;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::io::Write;
use std::ops::Range;

mod input;

pub use input::{read_gene2go, read_protein_coding, read_universe, Annotations};

/// Parameters of the GO graph construction.
#[derive(Clone, Debug, PartialEq)]
pub struct GoBuildConfig {
    /// Keep pairs with Jaccard strictly above this.
    pub min_jaccard: f64,
    /// Rows kept per target: `top_k + 1` (the self row included, as GEARS's `nlargest(k + 1)`).
    pub top_k: usize,
}

impl Default for GoBuildConfig {
    fn default() -> Self {
        GoBuildConfig { min_jaccard: 0.1, top_k: 20 }
    }
}

/// Genes and their GO sets in CSR form (GPU-ready): genes sorted byte-wise, term ids dense.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GoIndex {
    /// Gene symbols, sorted byte-wise; gene `i` is `genes[i]`.
    pub genes: Vec<String>,
    /// Offsets into `gene_terms`, length `genes.len() + 1`.
    pub gene_ptr: Vec<u32>,
    /// Sorted term ids of each gene (every gene has at least one).
    pub gene_terms: Vec<u32>,
    /// Offsets into `term_genes`, length `n_terms + 1`.
    pub term_ptr: Vec<u32>,
    /// Ascending gene ids annotated with each term (the postings).
    pub term_genes: Vec<u32>,
}

impl GoIndex {
    /// Builds the index from `(symbol, sorted unique term ids)` pairs sorted by symbol, with
    /// non-empty term lists and term ids below `n_terms`.
    pub fn new(genes: Vec<(String, Vec<u32>)>, n_terms: usize) -> Self {
        let mut gene_ptr = vec![0u32];
        let mut gene_terms = Vec::new();
        let mut count = vec![0u32; n_terms + 1];
        let mut names = Vec::with_capacity(genes.len());
        for (name, terms) in genes {
            for &t in &terms {
                count[t as usize + 1] += 1;
            }
            gene_terms.extend_from_slice(&terms);
            gene_ptr.push(gene_terms.len() as u32);
            names.push(name);
        }
        for i in 0..n_terms {
            count[i + 1] += count[i];
        }
        let term_ptr = count.clone();
        let mut term_genes = vec![0u32; gene_terms.len()];
        for g in 0..names.len() {
            for &t in &gene_terms[gene_ptr[g] as usize..gene_ptr[g + 1] as usize] {
                term_genes[count[t as usize] as usize] = g as u32;
                count[t as usize] += 1;
            }
        }
        GoIndex { genes: names, gene_ptr, gene_terms, term_ptr, term_genes }
    }

    /// Number of genes.
    pub fn n_genes(&self) -> usize {
        self.genes.len()
    }

    /// The sorted term ids of gene `g`.
    pub fn terms(&self, g: u32) -> &[u32] {
        &self.gene_terms[self.gene_ptr[g as usize] as usize..self.gene_ptr[g as usize + 1] as usize]
    }

    /// The genes annotated with term `t`.
    pub fn postings(&self, t: u32) -> &[u32] {
        &self.term_genes[self.term_ptr[t as usize] as usize..self.term_ptr[t as usize + 1] as usize]
    }
}

/// One kept row: `source -> target` with Jaccard `inter / union`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoEdge {
    /// Source gene id (the neighbour).
    pub source: u32,
    /// Target gene id.
    pub target: u32,
    /// `|GO(s) ∩ GO(t)|`.
    pub inter: u32,
    /// `|GO(s) ∪ GO(t)|`.
    pub union: u32,
}

impl GoEdge {
    /// The Jaccard similarity in single precision (correctly rounded quotient), the value the
    /// reference graphs were written from: `23/59` prints as `0.389830`, not `0.389831`.
    pub fn importance(&self) -> f32 {
        self.inter as f32 / self.union as f32
    }
}

/// Orders rows of one target: larger Jaccard first (compared exactly as fractions), then smaller
/// source id (= source symbol ascending, since ids follow symbol order).
pub fn row_order(a: &GoEdge, b: &GoEdge) -> Ordering {
    let lhs = b.inter as u64 * a.union as u64;
    let rhs = a.inter as u64 * b.union as u64;
    lhs.cmp(&rhs).then(a.source.cmp(&b.source))
}

/// Keeps the `keep` best rows of one target in [`row_order`], sorted.
pub fn select_top(rows: &mut Vec<GoEdge>, keep: usize) {
    if rows.len() > keep {
        if keep == 0 {
            rows.clear();
            return;
        }
        rows.select_nth_unstable_by(keep - 1, row_order);
        rows.truncate(keep);
    }
    rows.sort_unstable_by(row_order);
}

/// The kept rows of a batch of targets, and how many pairs passed the threshold before top-k.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetBatch {
    /// Rows of each target of the batch, in target order, each sorted by [`row_order`].
    pub rows: Vec<Vec<GoEdge>>,
    /// Ordered pairs `(s, t)` of the batch with Jaccard above the threshold (self pairs included).
    pub pairs_above: u64,
}

/// The compute seam of the builder: Jaccard, threshold and per-target top-(k+1) for a range of
/// targets. Implementations must give exactly the rows of [`CpuJaccard`].
pub trait JaccardTopK: Sync {
    /// Short name for reports (`cpu`, `cuda`, ...).
    fn name(&self) -> &'static str;
    /// Computes the kept rows of the targets `targets` (gene ids of `index`).
    fn top_for_targets(&self, index: &GoIndex, targets: Range<u32>, cfg: &GoBuildConfig) -> Result<TargetBatch>;
}

/// For target `t`, adds `|GO(s) ∩ GO(t)|` into `counts[s]` for every gene `s` sharing a term with
/// `t` (counts must be zero on entry; the caller resets them).
pub fn intersection_counts_for_target(index: &GoIndex, t: u32, counts: &mut [u32]) {
    for &term in index.terms(t) {
        for &s in index.postings(term) {
            counts[s as usize] += 1;
        }
    }
}

/// The threshold rule `inter / union > min` (double-precision quotient, as in the reference
/// files) as integer lookups: for `sum = |GO(s)| + |GO(t)|`, `need[sum]` is the smallest
/// intersection that passes. Exact, because the quotient `i / (sum - i)` grows with `i` and
/// correctly rounded division is monotone. GPU backends can upload the table as is.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdTable {
    /// `need[sum]`, for `sum` up to twice the largest GO set; `u32::MAX` where nothing passes.
    pub need: Vec<u32>,
}

impl ThresholdTable {
    /// The table for `index` and threshold `min`.
    pub fn new(index: &GoIndex, min: f64) -> Self {
        let max_size = (0..index.n_genes() as u32).map(|g| index.terms(g).len()).max().unwrap_or(0);
        let need = (0..=2 * max_size as u32)
            .map(|sum| (1..sum).find(|&i| i as f64 / (sum - i) as f64 > min).unwrap_or(u32::MAX))
            .collect();
        ThresholdTable { need }
    }

    /// Whether an intersection of `inter` terms between sets of sizes summing to `sum` passes.
    #[inline]
    pub fn passes(&self, inter: u32, sum: u32) -> bool {
        inter >= self.need[sum as usize]
    }
}

/// The CPU implementation: sparse postings, rayon over targets, one dense counter row per thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuJaccard;

impl JaccardTopK for CpuJaccard {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn top_for_targets(&self, index: &GoIndex, targets: Range<u32>, cfg: &GoBuildConfig) -> Result<TargetBatch> {
        let n = index.n_genes();
        let keep = cfg.top_k.saturating_add(1);
        let table = ThresholdTable::new(index, cfg.min_jaccard);
        let sizes: Vec<u32> = (0..n as u32).map(|g| index.terms(g).len() as u32).collect();
        let per_target: Vec<(Vec<GoEdge>, u64)> = targets
            .into_par_iter()
            .map_init(
                // Per-thread scratch: the counter row and the passing rows (reused, no allocation
                // per target beyond the kept rows).
                || (vec![0u32; n], Vec::new()),
                |(counts, passing), t| {
                    intersection_counts_for_target(index, t, counts);
                    let size_t = sizes[t as usize];
                    passing.clear();
                    // need >= 1, so genes sharing no term (count 0) never pass.
                    for (s, (&inter, &size_s)) in counts.iter().zip(&sizes).enumerate() {
                        if table.passes(inter, size_s + size_t) {
                            passing.push(GoEdge { source: s as u32, target: t, inter, union: size_s + size_t - inter });
                        }
                    }
                    counts.fill(0);
                    let passed = passing.len() as u64;
                    select_top(passing, keep);
                    (passing.clone(), passed)
                },
            )
            .collect();
        let pairs_above = per_target.iter().map(|p| p.1).sum();
        Ok(TargetBatch { rows: per_target.into_iter().map(|p| p.0).collect(), pairs_above })
    }
}

/// The built graph: rows grouped by target (symbol order), each group in [`row_order`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GoGraph {
    /// Node symbols (sorted), indexed by the ids in `rows`.
    pub genes: Vec<String>,
    /// Kept rows.
    pub rows: Vec<GoEdge>,
    /// Ordered pairs above the threshold before the top-k cut.
    pub pairs_above: u64,
}

/// Builds the graph over all genes of `index`, `batch` targets per call of the backend.
pub fn build(index: &GoIndex, cfg: &GoBuildConfig, backend: &dyn JaccardTopK, batch: usize) -> Result<GoGraph> {
    let n = index.n_genes() as u32;
    let batch = batch.max(1) as u32;
    let mut out = GoGraph { genes: index.genes.clone(), rows: Vec::new(), pairs_above: 0 };
    let mut start = 0u32;
    while start < n {
        let end = start.saturating_add(batch).min(n);
        let b = backend.top_for_targets(index, start..end, cfg)?;
        out.pairs_above += b.pairs_above;
        for r in b.rows {
            out.rows.extend(r);
        }
        start = end;
    }
    Ok(out)
}

impl GoGraph {
    /// Writes `source\ttarget\timportance` with a header, the f32 importance with 6 decimals.
    pub fn write_tsv(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(b"source\ttarget\timportance\n");
        for r in &self.rows {
            buf.extend_from_slice(self.genes[r.source as usize].as_bytes());
            buf.push(b'\t');
            buf.extend_from_slice(self.genes[r.target as usize].as_bytes());
            writeln!(buf, "\t{:.6}", r.importance())?;
            if buf.len() >= (1 << 16) - 256 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)
    }
}

#[cfg(test)]
#[path = "go_build_tests.rs"]
mod tests;
