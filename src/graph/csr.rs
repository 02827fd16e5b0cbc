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
    /// Rows are bucketed with a counting sort, then each row is sorted (in parallel).
    ///
    /// # Panics
    /// If an index is `>= n`, lengths differ, or there are more than `u32::MAX` entries
    /// (loaders validate indices and sizes before calling).
    pub fn from_triplets(n: usize, rows: &[u32], cols: &[u32], weights: &[f32]) -> (Self, usize) {
        use rayon::prelude::*;
        assert!(rows.len() == cols.len() && rows.len() == weights.len());
        assert!(rows.len() <= u32::MAX as usize, "more than u32::MAX edges");
        let mut counts = vec![0u32; n + 1];
        for &r in rows {
            counts[r as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut pairs = vec![(0u32, 0f32); rows.len()];
        for k in 0..rows.len() {
            let r = rows[k] as usize;
            let p = next[r] as usize;
            pairs[p] = (cols[k], weights[k]);
            next[r] += 1;
        }
        // Sort and deduplicate each row in place; record each row's new length.
        let mut slices: Vec<&mut [(u32, f32)]> = Vec::with_capacity(n);
        let mut rest: &mut [(u32, f32)] = &mut pairs;
        for r in 0..n {
            let len = (counts[r + 1] - counts[r]) as usize;
            let (head, tail) = rest.split_at_mut(len);
            slices.push(head);
            rest = tail;
        }
        let new_len: Vec<usize> = slices
            .into_par_iter()
            .map(|row| {
                if !row.windows(2).all(|w| w[0].0 < w[1].0) {
                    row.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                }
                let mut w = 0usize;
                for i in 0..row.len() {
                    if w > 0 && row[w - 1].0 == row[i].0 {
                        continue; // duplicate: the first (largest weight) was kept
                    }
                    row[w] = row[i];
                    w += 1;
                }
                w
            })
            .collect();
        let mut indptr = Vec::with_capacity(n + 1);
        indptr.push(0u32);
        let total: usize = new_len.iter().sum();
        let mut indices = Vec::with_capacity(total);
        let mut w = Vec::with_capacity(total);
        for r in 0..n {
            let start = counts[r] as usize;
            for &(c, wt) in &pairs[start..start + new_len[r]] {
                indices.push(c);
                w.push(wt);
            }
            indptr.push(indices.len() as u32);
        }
        (Csr { n, indptr, indices, weights: w }, rows.len() - total)
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

    #[test]
    fn duplicates_collapse_to_max_weight() {
        let (c, dup) = Csr::from_triplets(2, &[0, 0, 0, 1], &[1, 1, 0, 0], &[1.0, 3.0, 2.0, 1.0]);
        assert_eq!(dup, 1);
        assert_eq!(c.row(0), &[0, 1]);
        assert_eq!(c.row_weights(0), &[2.0, 3.0]);
    }
}
