//! Host-side preparation shared by the GPU backends: tiling, packing CSR and set lists into the
//! flat u32 layouts the kernels read, and turning ball bitset rows back into [`BallSet`]s.
//! Nothing here touches a device, so it is tested on every machine.

use super::SpectralOperator;
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, DenseRows, SetList};

/// Largest dispatch grid dimension (WebGPU's and lavapipe's limit; CUDA's y limit too).
pub const MAX_GRID_DIM: u32 = 65535;

/// A 2D grid of `groups` workgroups, each dimension at most [`MAX_GRID_DIM`]; None if too many.
pub fn grid(groups: u64) -> Option<(u32, u32)> {
    if groups == 0 {
        return Some((1, 1));
    }
    let x = groups.min(MAX_GRID_DIM as u64);
    let y = groups.div_ceil(x);
    (y <= MAX_GRID_DIM as u64).then_some((x as u32, y as u32))
}

/// u32 words per ball bitset row: twice the u64 words of [`DenseRows`], so rows cast directly.
pub fn words32(n_nodes: usize) -> usize {
    2 * n_nodes.div_ceil(64).max(1)
}

/// Rows of `words` u32 words that fit in `max_bytes` per buffer (at least 1).
pub fn rows_per_tile(words: usize, max_bytes: u64) -> usize {
    ((max_bytes / (words as u64 * 4)) as usize).max(1)
}

/// Tuning of GPU ball construction for tests and experiments, set with [`with_reach_tuning`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReachTuning {
    /// Upper bound in bytes on each bitset buffer of a tile and on the members buffer of one
    /// compaction launch (the backend's own limit still applies when it is lower).
    pub tile_bytes: u64,
    /// For layouts other than `Dense`: `Some(true)` compacts every tile's rows into member lists on
    /// the device, `Some(false)` downloads every tile's bitset rows, `None` picks per tile whichever
    /// downloads fewer bytes (the default).
    pub compact: Option<bool>,
}

thread_local! {
    static TUNING: std::cell::Cell<Option<ReachTuning>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with GPU ball construction on this thread tuned by `t` (small tiles make tests cover
/// the multi-tile and multi-launch paths on small graphs); the previous tuning is restored after.
pub fn with_reach_tuning<T>(t: ReachTuning, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<ReachTuning>);
    impl Drop for Restore {
        fn drop(&mut self) {
            TUNING.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(TUNING.with(|c| c.replace(Some(t))));
    f()
}

/// Bytes per tile buffer: the backend's `limit`, lowered by a [`with_reach_tuning`] override.
pub fn reach_tile_bytes(limit: u64) -> u64 {
    match TUNING.with(|c| c.get()) {
        Some(t) => t.tile_bytes.min(limit).max(4),
        None => limit,
    }
}

/// Whether a tile of `rows` bitset rows of `words` u32 words holding `members` set bits in all is
/// compacted into member lists on the device (4 bytes per member) rather than downloaded as
/// bitsets (4 bytes per word). Dense layouts always take the bitsets.
pub fn compact_tile(layout: BallLayout, members: u64, rows: usize, words: usize) -> bool {
    if layout == BallLayout::Dense {
        return false;
    }
    match TUNING.with(|c| c.get()).and_then(|t| t.compact) {
        Some(c) => c,
        None => members < rows as u64 * words as u64,
    }
}

/// One `reach_compact_u32` launch: tile rows `first..first + offsets.len() - 1`, with exclusive
/// offsets local to the launch (starting at 0; the last is the launch's member count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactLaunch {
    /// First tile row of the launch.
    pub first: usize,
    /// Local offsets, rows + 1.
    pub offsets: Vec<u32>,
}

/// Splits a tile's per-row member `counts` into launches of at most `max_members` members each (a
/// row with more gets a launch of its own), covering every row once, in order.
pub fn compact_launches(counts: &[u32], max_members: u64) -> Vec<CompactLaunch> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < counts.len() {
        let mut offsets = vec![0u32];
        let mut total = 0u64;
        let mut j = i;
        while j < counts.len() && (j == i || total + counts[j] as u64 <= max_members) {
            total += counts[j] as u64;
            offsets.push(total as u32);
            j += 1;
        }
        out.push(CompactLaunch { first: i, offsets });
        i = j;
    }
    out
}

/// CSR as one u32 buffer: row offsets (n + 1) then column indices.
pub fn pack_csr(adj: &Csr) -> Vec<u32> {
    let mut v = Vec::with_capacity(adj.indptr.len() + adj.indices.len());
    v.extend_from_slice(&adj.indptr);
    v.extend_from_slice(&adj.indices);
    v
}

/// The transpose pattern of `adj` (weights dropped), packed like [`pack_csr`].
pub fn pack_csr_transpose(adj: &Csr) -> Vec<u32> {
    let n = adj.n;
    let mut counts = vec![0u32; n + 1];
    for &c in &adj.indices {
        counts[c as usize + 1] += 1;
    }
    for i in 0..n {
        counts[i + 1] += counts[i];
    }
    let mut out = Vec::with_capacity(n + 1 + adj.indices.len());
    out.extend_from_slice(&counts);
    out.resize(n + 1 + adj.indices.len(), 0);
    let mut next = counts;
    for r in 0..n {
        for &c in adj.row(r) {
            let p = next[c as usize] as usize;
            out[n + 1 + p] = r as u32; // rows ascend, so each transposed row is sorted
            next[c as usize] += 1;
        }
    }
    out
}

/// Bitset rows (u32 words) of seed sets `range`, for seeding both `visited` and `frontier`.
pub fn seed_rows(seeds: &SetList, range: std::ops::Range<usize>, words: usize) -> Vec<u32> {
    let mut rows = vec![0u32; range.len() * words];
    for (k, i) in range.enumerate() {
        for &v in seeds.get(i) {
            rows[k * words + (v >> 5) as usize] |= 1 << (v & 31);
        }
    }
    rows
}

/// Accumulates ball rows tile by tile into the layout the CPU backend would choose.
pub struct BallCollector {
    n_nodes: usize,
    words: usize,
    layout: BallLayout,
    sets: SetList,
    dense: Vec<u64>,
}

impl BallCollector {
    /// An empty collector for `n_nodes`-node balls of `words` u32 words per row.
    pub fn new(n_nodes: usize, words: usize, layout: BallLayout) -> Self {
        BallCollector { n_nodes, words, layout, sets: SetList::new(), dense: Vec::new() }
    }

    /// Appends the rows of one tile (u32 words, `words` per row).
    pub fn push_rows(&mut self, rows: &[u32]) {
        if self.layout == BallLayout::Dense {
            self.dense.extend(rows.chunks_exact(2).map(|p| p[0] as u64 | (p[1] as u64) << 32));
            return;
        }
        let mut buf = Vec::new();
        for row in rows.chunks_exact(self.words) {
            buf.clear();
            for (wi, &w) in row.iter().enumerate() {
                let mut w = w;
                while w != 0 {
                    buf.push(wi as u32 * 32 + w.trailing_zeros());
                    w &= w - 1;
                }
            }
            self.sets.push(&buf);
        }
    }

    /// Appends member lists (ascending ids) given by local exclusive `offsets` (one more than the
    /// lists) into `members`; only for layouts other than `Dense`.
    pub fn push_lists(&mut self, offsets: &[u32], members: &[u32]) {
        assert_ne!(self.layout, BallLayout::Dense, "member lists pushed into a dense collector");
        for k in 0..offsets.len().saturating_sub(1) {
            self.sets.push(&members[offsets[k] as usize..offsets[k + 1] as usize]);
        }
    }

    /// Appends sets as they are (the balls of 0 hops are their seed sets); only for layouts other than `Dense`.
    pub fn push_sets(&mut self, sets: &SetList) {
        assert_ne!(self.layout, BallLayout::Dense, "member lists pushed into a dense collector");
        for s in sets.iter() {
            self.sets.push(s);
        }
    }

    /// The balls, laid out exactly as [`BallSet::from_sets`] lays out the CPU's.
    pub fn finish(self, n_sets: usize) -> BallSet {
        if self.layout == BallLayout::Dense {
            let wpr = self.words / 2;
            return BallSet::Dense { n_nodes: self.n_nodes, n_sets, rows: DenseRows { words_per_row: wpr, words: self.dense } };
        }
        BallSet::from_sets(self.n_nodes, self.sets, self.layout)
    }
}

/// A tile of sparse ball lists: balls `first..first + n` with u32 offsets local to the tile.
pub struct SparseTile {
    /// First ball of the tile.
    pub first: usize,
    /// Local offsets (n + 1).
    pub offsets: Vec<u32>,
    /// Members.
    pub members: Vec<u32>,
}

/// Splits sparse lists into tiles of at most `max_members` members (a single larger ball gets its own tile).
pub fn sparse_tiles(sets: &SetList, max_members: usize) -> Vec<SparseTile> {
    let mut tiles = Vec::new();
    let mut i = 0;
    while i < sets.len() {
        let start = sets.offsets[i];
        let mut j = i + 1;
        while j < sets.len() && (sets.offsets[j + 1] - start) as usize <= max_members {
            j += 1;
        }
        let offsets = sets.offsets[i..=j].iter().map(|&o| (o - start) as u32).collect();
        let members = sets.members[start as usize..sets.offsets[j] as usize].to_vec();
        tiles.push(SparseTile { first: i, offsets, members });
        i = j;
    }
    tiles
}

/// Sets `range` of `sets` packed for `spmv_power_f32` (offsets then members) with the f32
/// start vectors, following the CPU's warm-start rule exactly (see `cpu::power_iteration`).
pub fn pack_spectral(sets: &SetList, range: std::ops::Range<usize>, warm: &[f64]) -> (Vec<u32>, Vec<f32>) {
    let base = sets.offsets[range.start];
    let total = (sets.offsets[range.end] - base) as usize;
    let mut packed = Vec::with_capacity(range.len() + 1 + total);
    for i in range.start..=range.end {
        packed.push((sets.offsets[i] - base) as u32);
    }
    packed.extend_from_slice(&sets.members[base as usize..sets.offsets[range.end] as usize]);
    let mut x = Vec::with_capacity(total);
    for i in range {
        let s = sets.get(i);
        let (mut sum, mut c) = (0.0f64, 0usize);
        for &v in s {
            let w = warm.get(v as usize).copied().unwrap_or(0.0).abs();
            if w > 0.0 {
                sum += w;
                c += 1;
            }
        }
        let fill = if c > 0 { sum / c as f64 } else { 1.0 };
        let start: Vec<f64> = s.iter().map(|&v| warm.get(v as usize).copied().unwrap_or(0.0).abs()).map(|w| if w > 0.0 { w } else { fill }).collect();
        let norm = start.iter().map(|v| v * v).sum::<f64>().sqrt();
        x.extend(start.iter().map(|v| if norm > 0.0 { (v / norm) as f32 } else { *v as f32 }));
    }
    (packed, x)
}

/// `dinv_sqrt` in f32.
pub fn dinv_f32(op: &SpectralOperator) -> Vec<f32> {
    op.dinv_sqrt.iter().map(|&d| d as f32).collect()
}

/// The f32 relative tolerance used on the GPU for a requested f64 tolerance.
pub fn f32_tol(tol: f64) -> f32 {
    tol.max(1e-6) as f32
}

/// A content fingerprint of a spectral operator (FNV-1a over its arrays), used to reuse uploads.
pub fn fingerprint(op: &SpectralOperator) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |x: u64| {
        h ^= x;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(op.adj.n as u64);
    op.adj.indptr.iter().for_each(|&v| eat(v as u64));
    op.adj.indices.iter().for_each(|&v| eat(v as u64));
    op.dinv_sqrt.iter().for_each(|&v| eat(v.to_bits()));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_splits_large_counts_and_rejects_huge_ones() {
        assert_eq!(grid(0), Some((1, 1)));
        assert_eq!(grid(70_000), Some((65_535, 2)));
        assert_eq!(grid(65_535u64 * 65_535 + 1), None);
    }

    #[test]
    fn transpose_matches_definition() {
        let adj = Csr::from_unique_triplets(4, &[0, 0, 2, 3], &[1, 3, 1, 0], &[1.0; 4]);
        let t = pack_csr_transpose(&adj);
        assert_eq!(&t[..5], &[0, 1, 3, 3, 4]);
        assert_eq!(&t[5..], &[3, 0, 2, 0]);
    }

    #[test]
    fn sparse_tiles_cover_every_ball_once() {
        let sets = SetList::from_sets(vec![vec![0, 1, 2], vec![3], vec![4, 5, 6, 7, 8], vec![], vec![1, 2]]);
        let tiles = sparse_tiles(&sets, 4);
        let mut seen = Vec::new();
        for t in &tiles {
            for k in 0..t.offsets.len() - 1 {
                seen.push(t.members[t.offsets[k] as usize..t.offsets[k + 1] as usize].to_vec());
            }
        }
        assert_eq!(seen, sets.iter().map(|s| s.to_vec()).collect::<Vec<_>>());
        assert!(tiles.len() >= 3);
    }

    #[test]
    fn compact_launches_cover_rows_in_order_within_the_limit() {
        let counts = [3u32, 0, 5, 9, 1, 1, 0];
        let l = compact_launches(&counts, 6);
        let mut rows = Vec::new();
        for x in &l {
            assert_eq!(x.offsets[0], 0);
            assert!(*x.offsets.last().unwrap() <= 6 || x.offsets.len() == 2, "{x:?}");
            for k in 0..x.offsets.len() - 1 {
                rows.push(x.offsets[k + 1] - x.offsets[k]);
            }
        }
        assert_eq!(rows, counts);
        assert_eq!(l.iter().map(|x| x.first).collect::<Vec<_>>(), vec![0, 2, 3, 4]);
        assert!(compact_launches(&[], 6).is_empty());
        assert_eq!(compact_launches(&[0, 0], 0).len(), 1);
        assert_eq!(compact_launches(&[2, 2], 1).len(), 2);
    }

    #[test]
    fn tuning_is_scoped_to_the_closure() {
        let t = ReachTuning { tile_bytes: 100, compact: Some(false) };
        assert_eq!(with_reach_tuning(t, || (reach_tile_bytes(1 << 20), compact_tile(BallLayout::Sparse, 0, 1, 1))), (100, false));
        assert_eq!(reach_tile_bytes(1 << 20), 1 << 20);
        assert!(compact_tile(BallLayout::Sparse, 0, 1, 1));
        assert!(!compact_tile(BallLayout::Dense, 0, 1, 1));
    }

    #[test]
    fn collector_matches_cpu_layouts() {
        let sets = SetList::from_sets(vec![vec![0, 65, 99], vec![], vec![3, 4]]);
        let words = words32(100);
        for layout in [BallLayout::Auto, BallLayout::Sparse, BallLayout::Dense] {
            let rows = seed_rows(&sets, 0..3, words);
            let mut c = BallCollector::new(100, words, layout);
            c.push_rows(&rows[..words]);
            c.push_rows(&rows[words..]);
            assert_eq!(c.finish(3), BallSet::from_sets(100, sets.clone(), layout));
        }
    }
}
