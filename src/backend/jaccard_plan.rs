//! Host side of the GPU GO-graph builder, shared by the wgpu and CUDA backends: the packed inputs
//! of `kernels/jaccard.*`, per-target output slots, tiles of targets under a memory budget, and
//! the exact top-(k+1) of the (source, count) pairs the kernel returns. Nothing here touches a
//! device, so it is tested on every machine.
//!
//! Device memory for n genes, m annotations (gene -> term entries) and T terms: the two packed
//! CSRs 4(2n + 2T + 2m + 2) bytes and the threshold table (4 * (2 max|GO| + 1)), once per build;
//! per tile of R targets a counter row per target (4Rn bytes) and 8 bytes per output slot, where a
//! target's slot count is min(sum of its terms' posting lengths, n).

use crate::error::{Error, Result};
use crate::graph::go_build::{select_top, GoBuildConfig, GoEdge, GoIndex, TargetBatch, ThresholdTable};
use rayon::prelude::*;
use std::ops::Range;

/// The index and threshold table in the flat u32 layout of `kernels/jaccard.*`.
#[derive(Clone, Debug, PartialEq)]
pub struct JaccardInputs {
    /// `gene_ptr` (n_genes + 1) then `gene_terms`.
    pub genes: Vec<u32>,
    /// `term_ptr` (n_terms + 1) then `term_genes`.
    pub terms: Vec<u32>,
    /// [`ThresholdTable::need`].
    pub need: Vec<u32>,
    /// Genes of the index.
    pub n_genes: u32,
    /// Terms of the index.
    pub n_terms: u32,
    /// The threshold the table was built for (bits of the f64), to tell whether a cache is stale.
    min_bits: u64,
}

impl JaccardInputs {
    /// Packs `index` and the threshold table of `cfg`.
    pub fn new(index: &GoIndex, cfg: &GoBuildConfig) -> Result<Self> {
        let n_terms = index.term_ptr.len().saturating_sub(1);
        let words = index.gene_ptr.len() + index.gene_terms.len() + index.term_ptr.len() + index.term_genes.len();
        if words as u64 >= u32::MAX as u64 / 2 || index.gene_ptr.len() != index.n_genes() + 1 {
            return Err(Error::invalid(format!("GO index too large or inconsistent for the GPU builder ({} genes, {} annotations)", index.n_genes(), index.gene_terms.len())));
        }
        let mut genes = Vec::with_capacity(index.gene_ptr.len() + index.gene_terms.len());
        genes.extend_from_slice(&index.gene_ptr);
        genes.extend_from_slice(&index.gene_terms);
        let mut terms = Vec::with_capacity(index.term_ptr.len() + index.term_genes.len());
        terms.extend_from_slice(&index.term_ptr);
        terms.extend_from_slice(&index.term_genes);
        let need = ThresholdTable::new(index, cfg.min_jaccard).need;
        Ok(JaccardInputs { genes, terms, need, n_genes: index.n_genes() as u32, n_terms: n_terms as u32, min_bits: cfg.min_jaccard.to_bits() })
    }

    /// Whether these inputs were packed from `index` and the threshold of `cfg` (the GPU backends
    /// keep one upload per build and reuse it across calls).
    pub fn matches(&self, index: &GoIndex, cfg: &GoBuildConfig) -> bool {
        let g = index.gene_ptr.len();
        self.min_bits == cfg.min_jaccard.to_bits()
            && self.n_genes as usize == index.n_genes()
            && self.n_terms as usize + 1 == index.term_ptr.len()
            && self.genes.len() == g + index.gene_terms.len()
            && self.genes[..g] == index.gene_ptr[..]
            && self.genes[g..] == index.gene_terms[..]
    }
}

/// Output slots of target `t`: min(sum of the posting lengths of its terms, n_genes), an upper
/// bound on the distinct sources sharing a term with it (the kernel writes at most that many).
pub fn slots_of(index: &GoIndex, t: u32) -> u64 {
    let touched: u64 = index.terms(t).iter().map(|&term| index.postings(term).len() as u64).sum();
    touched.min(index.n_genes() as u64)
}

/// A tile of consecutive targets for one launch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JaccardTile {
    /// Target gene ids.
    pub targets: Range<u32>,
    /// First output slot of each target, relative to the tile, length `targets.len() + 1`.
    pub out_off: Vec<u32>,
}

impl JaccardTile {
    /// Output slots of the whole tile.
    pub fn slots(&self) -> usize {
        *self.out_off.last().unwrap_or(&0) as usize
    }
}

/// Splits `targets` into tiles of at most `max_rows` targets and `max_slots` output slots. A
/// target whose own slots exceed `max_slots` gets an [`Error::OutOfMemory`] naming the size.
pub fn plan_tiles(index: &GoIndex, targets: Range<u32>, max_rows: usize, max_slots: u64, backend: &'static str) -> Result<Vec<JaccardTile>> {
    let max_rows = max_rows.max(1);
    let mut tiles = Vec::new();
    let mut cur = JaccardTile { targets: targets.start..targets.start, out_off: vec![0] };
    for t in targets {
        let s = slots_of(index, t);
        if s > max_slots {
            return Err(Error::OutOfMemory { backend, bytes: 8 * s, what: format!("the candidate pairs of one GO target ({s} slots)") });
        }
        if cur.targets.len() == max_rows || cur.slots() as u64 + s > max_slots {
            let next = JaccardTile { targets: t..t, out_off: vec![0] };
            tiles.push(std::mem::replace(&mut cur, next));
        }
        cur.targets.end = t + 1;
        cur.out_off.push((cur.slots() as u64 + s) as u32);
    }
    if !cur.targets.is_empty() {
        tiles.push(cur);
    }
    Ok(tiles)
}

/// Turns one tile's kernel output (`n_out[i]` pairs of target `i` from slot `out_off[i]`, as
/// `(source, count)` word pairs in `out`) into sorted top-`keep` rows per target, like
/// [`crate::graph::go_build::CpuJaccard`]. Returns the rows and the number of pairs written.
pub fn collect_tile(index: &GoIndex, tile: &JaccardTile, n_out: &[u32], out: &[u32], keep: usize, backend: &'static str) -> Result<(Vec<Vec<GoEdge>>, u64)> {
    let n = tile.targets.len();
    if n_out.len() < n || out.len() < 2 * tile.slots() {
        return Err(Error::Backend { backend, msg: format!("jaccard: short readback ({} counts, {} words)", n_out.len(), out.len()) });
    }
    let rows: Vec<Vec<GoEdge>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let t = tile.targets.start + i as u32;
            let (a, cap) = (tile.out_off[i] as usize, (tile.out_off[i + 1] - tile.out_off[i]) as usize);
            if n_out[i] as usize > cap {
                return Err(Error::Backend { backend, msg: format!("jaccard: target {t} wrote {} pairs into {cap} slots", n_out[i]) });
            }
            let size_t = index.terms(t).len() as u32;
            let mut rows = Vec::with_capacity(n_out[i] as usize);
            for p in a..a + n_out[i] as usize {
                let (s, inter) = (out[2 * p], out[2 * p + 1]);
                if s as usize >= index.n_genes() {
                    return Err(Error::Backend { backend, msg: format!("jaccard: target {t} got source id {s} out of range") });
                }
                rows.push(GoEdge { source: s, target: t, inter, union: index.terms(s).len() as u32 + size_t - inter });
            }
            select_top(&mut rows, keep);
            Ok(rows)
        })
        .collect::<Result<_>>()?;
    Ok((rows, n_out[..n].iter().map(|&c| c as u64).sum()))
}

/// Checks that `targets` lies within the genes of `index`.
pub fn check_targets(index: &GoIndex, targets: &Range<u32>) -> Result<()> {
    if targets.start > targets.end || targets.end as usize > index.n_genes() {
        return Err(Error::invalid(format!("targets {targets:?} out of range for {} genes", index.n_genes())));
    }
    Ok(())
}

/// Assembles per-tile results into a [`TargetBatch`].
pub fn batch_of(parts: Vec<(Vec<Vec<GoEdge>>, u64)>) -> TargetBatch {
    let mut b = TargetBatch::default();
    for (rows, above) in parts {
        b.rows.extend(rows);
        b.pairs_above += above;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> GoIndex {
        // A={0,1}, B={0,1}, C={0}, D={2}, E={} (no terms).
        let g = |s: &str, t: &[u32]| (s.to_string(), t.to_vec());
        GoIndex::new(vec![g("A", &[0, 1]), g("B", &[0, 1]), g("C", &[0]), g("D", &[2]), g("E", &[])], 3)
    }

    #[test]
    fn slots_bound_the_sources_and_tiles_respect_both_budgets() {
        let idx = toy();
        // A: postings of 0 (A,B,C) + of 1 (A,B) = 5 -> capped at 5 genes; D: 1; E: 0.
        assert_eq!((0..5).map(|t| slots_of(&idx, t)).collect::<Vec<_>>(), vec![5, 5, 3, 1, 0]);
        let tiles = plan_tiles(&idx, 0..5, 2, 8, "wgpu").unwrap();
        let ranges: Vec<_> = tiles.iter().map(|t| t.targets.clone()).collect();
        assert_eq!(ranges, vec![0..1, 1..3, 3..5]);
        assert_eq!(tiles[1].out_off, vec![0, 5, 8]);
        assert_eq!(plan_tiles(&idx, 2..2, 2, 8, "wgpu").unwrap(), Vec::new());
        let e = plan_tiles(&idx, 0..5, 2, 4, "wgpu").unwrap_err().to_string();
        assert!(e.contains("40 bytes"), "{e}");
    }

    #[test]
    fn collect_sorts_cuts_and_rejects_bad_output() {
        let idx = toy();
        let tile = JaccardTile { targets: 0..2, out_off: vec![0, 5, 10] };
        // Target A got (C,1), (B,2), (A,2) in device order; target B nothing.
        let mut out = vec![0u32; 20];
        out[..6].copy_from_slice(&[2, 1, 1, 2, 0, 2]);
        let (rows, above) = collect_tile(&idx, &tile, &[3, 0], &out, 2, "wgpu").unwrap();
        assert_eq!(above, 3);
        assert_eq!(rows[0].iter().map(|r| r.source).collect::<Vec<_>>(), vec![0, 1]);
        assert!(rows[1].is_empty());
        assert!(collect_tile(&idx, &tile, &[6, 0], &out, 2, "wgpu").is_err());
        out[0] = 99;
        assert!(collect_tile(&idx, &tile, &[3, 0], &out, 2, "wgpu").is_err());
        assert!(check_targets(&idx, &(3..6)).is_err() && check_targets(&idx, &(0..5)).is_ok());
    }

    #[test]
    fn inputs_pack_both_csrs_and_detect_a_different_index() {
        let idx = toy();
        let cfg = GoBuildConfig::default();
        let p = JaccardInputs::new(&idx, &cfg).unwrap();
        assert_eq!(p.genes[..6], idx.gene_ptr[..]);
        assert_eq!(p.terms.len(), 4 + idx.term_genes.len());
        assert!(p.matches(&idx, &cfg));
        assert!(!p.matches(&idx, &GoBuildConfig { min_jaccard: 0.5, top_k: 20 }));
        let other = GoIndex::new(vec![("A".to_string(), vec![0])], 3);
        assert!(!p.matches(&other, &cfg));
    }
}
