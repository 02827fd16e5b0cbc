//! Compressed sparse row adjacency with `u32` offsets and indices, ready to upload to a GPU as is.

/// A square sparse matrix in CSR form: row `r` holds the columns `indices[indptr[r]..indptr[r+1]]`
/// (sorted ascending, no duplicates) with matching `weights`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    /// Number of rows (= columns).
    pub n: usize,
    /// Row offsets, length `n + 1`.
    pub indptr: Vec<u32>,
    /// Column indices, length `nnz`.
    pub indices: Vec<u32>,
    /// Edge weights, length `nnz`.
    pub weights: Vec<f32>,
}

impl Csr {
    /// An `n`-node matrix with no entries.
    pub fn empty(n: usize) -> Self {
        Csr { n, indptr: vec![0; n + 1], indices: Vec::new(), weights: Vec::new() }
    }

    /// Builds a CSR from `(row, col, weight)` triplets that are already unique.
    ///
    /// # Panics
    /// If an index is `>= n`, lengths differ, or there are more than `u32::MAX` entries.
    pub fn from_unique_triplets(n: usize, rows: &[u32], cols: &[u32], weights: &[f32]) -> Self {
        let (csr, dup) = Csr::from_triplets(n, rows, cols, weights);
        debug_assert_eq!(dup, 0, "duplicate triplets passed to from_unique_triplets");
        csr
    }

    /// Builds a CSR from `(row, col, weight)` triplets, collapsing duplicate `(row, col)` pairs into
    /// one entry that keeps the largest weight. Returns the matrix and the number of duplicates removed.
    ///
    /// A parallel two-pass radix sort by row: unless the rows already ascend, the triplets are split
    /// into one chunk per thread and scattered (chunks in parallel, each into its own slots) into
    /// buckets of 2^s consecutive rows (at most about 2048 buckets, so the scatter streams stay
    /// cache friendly); then each bucket, in
    /// parallel, is sorted by row, and each of its rows by column (largest weight first) and
    /// deduplicated; the buckets' kept entries are copied out in parallel.
    ///
    /// # Panics
    /// If a row index is `>= n`, lengths differ, or there are more than `u32::MAX` entries
    /// (loaders validate indices and sizes before calling).
    pub fn from_triplets(n: usize, rows: &[u32], cols: &[u32], weights: &[f32]) -> (Self, usize) {
        // Chunks of at least 64 Ki triplets, at most one per thread.
        Csr::from_triplets_chunked(n, rows, cols, weights, 1 << 16, rayon::current_num_threads())
    }

    /// [`Csr::from_triplets`] with chunks of at least `min_chunk` triplets, at most `max_chunks` of them.
    fn from_triplets_chunked(n: usize, rows: &[u32], cols: &[u32], weights: &[f32], min_chunk: usize, max_chunks: usize) -> (Self, usize) {
        use rayon::prelude::*;
        assert!(rows.len() == cols.len() && rows.len() == weights.len());
        assert!(rows.len() <= u32::MAX as usize, "more than u32::MAX edges");
        let m = rows.len();
        if m == 0 {
            return (Csr::empty(n), 0);
        }
        let n_chunks = max_chunks.min(m.div_ceil(min_chunk.max(1))).max(1);
        let chunk = m.div_ceil(n_chunks);
        let shift = (usize::BITS - n.leading_zeros()).saturating_sub(11);
        let nb = (n >> shift) + 1;
        // Pass 1 (skipped when the rows already ascend, as in most edge-list files): per-chunk
        // bucket histograms, each chunk's first slot in each bucket (chunk order within a bucket,
        // so the input order is kept), then the scatter.
        let sorted = rows.par_windows(2).all(|p| p[0] <= p[1]);
        let mut bstart = vec![0usize; nb + 1];
        let mut tmp: Vec<(u32, u32, f32)> = Vec::new();
        if sorted {
            assert!((rows[m - 1] as usize) < n, "row index {} out of range for {n} nodes", rows[m - 1]);
            for (b, s) in bstart.iter_mut().enumerate().skip(1) {
                *s = rows.partition_point(|&r| (r as usize) < (b << shift));
            }
        } else {
            let mut cursors: Vec<Vec<u32>> = rows
                .par_chunks(chunk)
                .map(|rs| {
                    let mut h = vec![0u32; nb];
                    for &r in rs {
                        assert!((r as usize) < n, "row index {r} out of range for {n} nodes");
                        h[r as usize >> shift] += 1;
                    }
                    h
                })
                .collect();
            for b in 0..nb {
                let mut next = bstart[b];
                for h in cursors.iter_mut() {
                    let c = h[b];
                    h[b] = next as u32;
                    next += c as usize;
                }
                bstart[b + 1] = next;
            }
            tmp = Vec::with_capacity(m);
            struct Slots(*mut (u32, u32, f32));
            // SAFETY: shared only to write disjoint slots (see below).
            unsafe impl Sync for Slots {}
            let slots = Slots(tmp.as_mut_ptr());
            let slots = &slots;
            cursors.par_iter_mut().enumerate().for_each(|(c, next)| {
                for k in c * chunk..((c + 1) * chunk).min(m) {
                    let b = rows[k] as usize >> shift;
                    let p = next[b] as usize;
                    next[b] += 1;
                    assert!(p < m);
                    // SAFETY: chunk c owns slots [start_c(b), start_c(b) + count_c(b)) of each
                    // bucket b, disjoint from every other chunk's, all inside the capacity m.
                    unsafe { slots.0.add(p).write((rows[k], cols[k], weights[k])) };
                }
            });
            // SAFETY: the chunks' slots partition 0..m, so every element was written above.
            unsafe { tmp.set_len(m) };
        }
        // Triplet k of bucket order: the scattered copy, or the input itself when it was sorted.
        let tmp = &tmp;
        let at = |k: usize| if sorted { (rows[k], cols[k], weights[k]) } else { tmp[k] };
        // Pass 2, per bucket: rows in order, each row sorted and deduplicated; the kept entries are
        // moved to the front of the bucket's range. Returns the kept length of each of its rows.
        let mut pairs = vec![(0u32, 0f32); m];
        let mut jobs = Vec::with_capacity(nb);
        {
            let mut rest: &mut [(u32, f32)] = &mut pairs;
            for b in 0..nb {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(bstart[b + 1] - bstart[b]);
                jobs.push((b, bstart[b]..bstart[b + 1], head));
                rest = tail;
            }
        }
        let kept: Vec<Vec<u32>> = jobs
            .into_par_iter()
            .map(|(b, src, dst)| {
                let lo = (b << shift).min(n);
                let hi = ((b + 1) << shift).min(n);
                let mut start = vec![0u32; hi - lo + 1];
                for k in src.clone() {
                    start[at(k).0 as usize - lo + 1] += 1;
                }
                for i in 0..hi - lo {
                    start[i + 1] += start[i];
                }
                let mut next = start.clone();
                for k in src {
                    let (r, c, w) = at(k);
                    let i = r as usize - lo;
                    dst[next[i] as usize] = (c, w);
                    next[i] += 1;
                }
                let mut out = 0usize;
                let mut lens = Vec::with_capacity(hi - lo);
                for i in 0..hi - lo {
                    let row = &mut dst[start[i] as usize..start[i + 1] as usize];
                    if !row.windows(2).all(|w| w[0].0 < w[1].0) {
                        row.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                    }
                    let from = start[i] as usize;
                    let before = out;
                    for k in from..start[i + 1] as usize {
                        if out > before && dst[out - 1].0 == dst[k].0 {
                            continue; // duplicate: the first (largest weight) was kept
                        }
                        dst[out] = dst[k];
                        out += 1;
                    }
                    lens.push((out - before) as u32);
                }
                lens
            })
            .collect();
        let mut indptr = Vec::with_capacity(n + 1);
        indptr.push(0u32);
        let mut total = 0u32;
        for lens in &kept {
            for &l in lens {
                total += l;
                indptr.push(total);
            }
        }
        let total = total as usize;
        let mut indices = vec![0u32; total];
        let mut w = vec![0f32; total];
        let mut jobs = Vec::with_capacity(nb);
        {
            let (mut ri, mut rw): (&mut [u32], &mut [f32]) = (&mut indices, &mut w);
            for (b, lens) in kept.iter().enumerate() {
                let len = lens.iter().map(|&l| l as usize).sum::<usize>();
                let (oi, rest_i) = std::mem::take(&mut ri).split_at_mut(len);
                let (ow, rest_w) = std::mem::take(&mut rw).split_at_mut(len);
                jobs.push((&pairs[bstart[b]..bstart[b] + len], oi, ow));
                ri = rest_i;
                rw = rest_w;
            }
        }
        jobs.into_par_iter().for_each(|(src, oi, ow)| {
            for (k, &(c, wt)) in src.iter().enumerate() {
                oi[k] = c;
                ow[k] = wt;
            }
        });
        (Csr { n, indptr, indices, weights: w }, m - total)
    }

    /// The plain serial construction [`Csr::from_triplets`] must agree with.
    #[cfg(test)]
    fn from_triplets_reference(n: usize, rows: &[u32], cols: &[u32], weights: &[f32]) -> (Self, usize) {
        let mut per_row: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
        for k in 0..rows.len() {
            per_row[rows[k] as usize].push((cols[k], weights[k]));
        }
        let mut csr = Csr::empty(n);
        for (r, row) in per_row.iter_mut().enumerate() {
            row.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            row.dedup_by_key(|e| e.0);
            csr.indices.extend(row.iter().map(|e| e.0));
            csr.weights.extend(row.iter().map(|e| e.1));
            csr.indptr[r + 1] = csr.indices.len() as u32;
        }
        let dup = rows.len() - csr.indices.len();
        (csr, dup)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The columns of row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> &[u32] {
        &self.indices[self.indptr[r] as usize..self.indptr[r + 1] as usize]
    }

    /// The weights of row `r`.
    #[inline]
    pub fn row_weights(&self, r: usize) -> &[f32] {
        &self.weights[self.indptr[r] as usize..self.indptr[r + 1] as usize]
    }

    /// The transpose (row = column of `self`).
    pub fn transpose(&self) -> Csr {
        let mut rows = Vec::with_capacity(self.nnz());
        let mut cols = Vec::with_capacity(self.nnz());
        for r in 0..self.n {
            for &c in self.row(r) {
                rows.push(c);
                cols.push(r as u32);
            }
        }
        Csr::from_unique_triplets(self.n, &rows, &cols, &self.weights)
    }

    /// The symmetrised pattern `A ∨ Aᵀ` (weight = max of the two directions).
    pub fn symmetrize(&self) -> Csr {
        let t = self.transpose();
        let mut indptr = Vec::with_capacity(self.n + 1);
        indptr.push(0u32);
        let mut indices = Vec::with_capacity(self.nnz() * 2);
        let mut weights = Vec::with_capacity(self.nnz() * 2);
        for r in 0..self.n {
            let (a, aw, b, bw) = (self.row(r), self.row_weights(r), t.row(r), t.row_weights(r));
            let (mut i, mut j) = (0, 0);
            while i < a.len() || j < b.len() {
                if j >= b.len() || (i < a.len() && a[i] < b[j]) {
                    indices.push(a[i]);
                    weights.push(aw[i]);
                    i += 1;
                } else if i >= a.len() || b[j] < a[i] {
                    indices.push(b[j]);
                    weights.push(bw[j]);
                    j += 1;
                } else {
                    indices.push(a[i]);
                    weights.push(aw[i].max(bw[j]));
                    i += 1;
                    j += 1;
                }
            }
            indptr.push(indices.len() as u32);
        }
        Csr { n: self.n, indptr, indices, weights }
    }

    /// Number of entries per row, not counting the diagonal.
    pub fn degrees_without_self(&self) -> Vec<u32> {
        (0..self.n).map(|r| self.row(r).iter().filter(|&&c| c as usize != r).count() as u32).collect()
    }

    /// Number of diagonal entries.
    pub fn self_loops(&self) -> usize {
        (0..self.n).filter(|&r| self.row(r).binary_search(&(r as u32)).is_ok()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_and_symmetrize() {
        // 0->1 (w2), 1->2 (w3), 2->1 (w5)
        let c = Csr::from_unique_triplets(3, &[0, 1, 2], &[1, 2, 1], &[2.0, 3.0, 5.0]);
        let t = c.transpose();
        assert_eq!(t.row(1), &[0, 2]);
        assert_eq!(t.row_weights(1), &[2.0, 5.0]);
        let s = c.symmetrize();
        assert_eq!(s.row(1), &[0, 2]);
        assert_eq!(s.row_weights(1), &[2.0, 5.0]);
        assert_eq!(s.row(2), &[1]);
        assert_eq!(s.nnz(), 4);
    }

    /// Random triplets with many duplicates (several weights per pair) on `n` nodes.
    fn random_triplets(n: usize, m: usize, seed: u64) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let (mut r, mut c, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..m {
            r.push(rng.below(n as u64) as u32);
            c.push(rng.below(n.min(1 + n / 4 + m / n.max(1)) as u64) as u32);
            w.push(rng.below(5) as f32 - 1.0);
        }
        (r, c, w)
    }

    #[test]
    fn parallel_build_matches_the_serial_reference() {
        for (n, m, sort) in [(1, 0, false), (1, 5, false), (7, 0, false), (31, 100, false), (31, 100, true), (1280, 9000, false), (1537, 40_000, false), (1537, 40_000, true), (200_000, 300_000, false), (200_000, 300_000, true)] {
            let (mut r, mut c, mut w) = random_triplets(n, m, n as u64 * 31 + m as u64);
            if sort {
                // Rows ascending (the fast path), columns and weights in arbitrary order within a row.
                let mut t: Vec<_> = (0..m).map(|k| (r[k], c[k], w[k])).collect();
                t.sort_by_key(|x| x.0);
                (r, c, w) = (t.iter().map(|x| x.0).collect(), t.iter().map(|x| x.1).collect(), t.iter().map(|x| x.2).collect());
                assert!(r.windows(2).all(|p| p[0] <= p[1]));
            }
            let want = Csr::from_triplets_reference(n, &r, &c, &w);
            assert_eq!(Csr::from_triplets(n, &r, &c, &w), want, "n={n} m={m}");
            for (min_chunk, max_chunks) in [(1, 1), (1, 3), (7, 64), (1000, 5)] {
                assert_eq!(Csr::from_triplets_chunked(n, &r, &c, &w, min_chunk, max_chunks), want, "n={n} m={m} chunks {min_chunk}/{max_chunks}");
            }
        }
        assert_eq!(Csr::from_triplets(0, &[], &[], &[]), (Csr::empty(0), 0));
    }

    proptest::proptest! {
        #[test]
        fn parallel_build_matches_reference_on_arbitrary_triplets(
            n in 1usize..40,
            t in proptest::collection::vec((0u32..1000, 0u32..1000, -3i8..4), 0..300),
            min_chunk in 1usize..50,
            max_chunks in 1usize..9,
            sort in proptest::bool::ANY,
        ) {
            let mut t = t;
            if sort {
                t.sort_by_key(|x| x.0 % n as u32);
            }
            let r: Vec<u32> = t.iter().map(|x| x.0 % n as u32).collect();
            let c: Vec<u32> = t.iter().map(|x| x.1 % n as u32).collect();
            let w: Vec<f32> = t.iter().map(|x| x.2 as f32 * 0.5).collect();
            let want = Csr::from_triplets_reference(n, &r, &c, &w);
            proptest::prop_assert_eq!(Csr::from_triplets_chunked(n, &r, &c, &w, min_chunk, max_chunks), want);
        }
    }

    #[test]
    #[should_panic]
    fn out_of_range_rows_panic() {
        Csr::from_triplets(3, &[0, 3], &[1, 1], &[1.0, 1.0]);
    }

    #[test]
    #[should_panic]
    fn out_of_range_rows_panic_when_unsorted() {
        Csr::from_triplets(3, &[3, 0], &[1, 1], &[1.0, 1.0]);
    }

    #[test]
    fn duplicates_collapse_to_max_weight() {
        let (c, dup) = Csr::from_triplets(2, &[0, 0, 0, 1], &[1, 1, 0, 0], &[1.0, 3.0, 2.0, 1.0]);
        assert_eq!(dup, 1);
        assert_eq!(c.row(0), &[0, 1]);
        assert_eq!(c.row_weights(0), &[2.0, 3.0]);
    }
}
