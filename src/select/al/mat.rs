//! A small row-major dense matrix and the two kinds of arithmetic the active-learning strategies
//! use:
//!
//! * **exact** kernels ([`dot`], [`sq_dist`]): a fixed summation order (eight lanes, combined in a
//!   fixed tree) and no fused multiply-add, so the value is the same on every platform and for every
//!   thread count. Every value that decides a pick (an argmin, an argmax, a sum that is compared)
//!   comes from these.
//! * **fast** GEMM ([`gemm_nt`]) through `matrixmultiply`, whose kernels are chosen at run time by
//!   CPU features (FMA or not), so the last bits can differ between machines. It is only used as a
//!   filter whose error is bounded ([`gemm_margin`]); decisions are re-checked with the exact kernels.

use rayon::prelude::*;

/// A row-major `rows x cols` matrix of f64.
#[derive(Clone, Debug, PartialEq)]
pub struct Mat {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<f64>,
}

impl Mat {
    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Mat { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// From row-major data (panics if the length is not `rows * cols`).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix data length");
        Mat { rows, cols, data }
    }

    /// From equally long rows (panics on ragged rows).
    pub fn from_rows(rows: &[Vec<f64>]) -> Self {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            assert_eq!(r.len(), cols, "ragged rows");
            data.extend_from_slice(r);
        }
        Mat { rows: rows.len(), cols, data }
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, mutable.
    #[inline]
    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Value at (`i`, `j`).
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// The rows `idx`, in that order.
    pub fn select_rows(&self, idx: &[usize]) -> Mat {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Mat { rows: idx.len(), cols: self.cols, data }
    }

    /// Column means (sequential sums in row order: exact and deterministic).
    pub fn column_means(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.cols];
        for i in 0..self.rows {
            for (a, &x) in m.iter_mut().zip(self.row(i)) {
                *a += x;
            }
        }
        let n = self.rows.max(1) as f64;
        m.iter_mut().for_each(|a| *a /= n);
        m
    }

    /// Subtracts `v` from every row.
    pub fn sub_row_vector(&mut self, v: &[f64]) {
        for row in self.data.chunks_exact_mut(self.cols.max(1)) {
            for (a, &b) in row.iter_mut().zip(v) {
                *a -= b;
            }
        }
    }

    /// Squared norm of every row (exact kernel).
    pub fn row_sq_norms(&self) -> Vec<f64> {
        (0..self.rows).map(|i| dot(self.row(i), self.row(i))).collect()
    }
}

const LANES: usize = 8;

/// Dot product with a fixed summation order: eight lane sums, combined as
/// `((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))`, then the tail in order. Same bits everywhere.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ta.iter().zip(tb) {
        s += x * y;
    }
    s
}

/// Dot product of float32 values with float64 ones, accumulated in float64 in the fixed order of
/// [`dot`] (so also the same bits everywhere).
#[inline]
pub fn dot_f32(a: &[f32], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] as f64 * y[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ta.iter().zip(tb) {
        s += *x as f64 * y;
    }
    s
}

/// Squared Euclidean distance with the same fixed order as [`dot`].
#[inline]
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ta.iter().zip(tb) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// Rows per parallel block of the GEMM helpers (fixed, so results never depend on thread count).
pub const BLOCK_ROWS: usize = 256;

/// `alpha * A B^T` (A: m x d, B: n x d) via `matrixmultiply`, in parallel over fixed blocks of
/// A's rows. Fast but CPU-dependent in the last bits: use it as a filter only (see [`gemm_margin`]).
pub fn gemm_nt(a: &Mat, b: &Mat, alpha: f64) -> Mat {
    assert_eq!(a.cols, b.cols, "gemm_nt inner dimensions");
    let (m, n, k) = (a.rows, b.rows, a.cols);
    let mut c = Mat::zeros(m, n);
    if m == 0 || n == 0 {
        return c;
    }
    c.data.par_chunks_mut(BLOCK_ROWS * n).enumerate().for_each(|(blk, out)| {
        let r0 = blk * BLOCK_ROWS;
        let rows = out.len() / n;
        gemm_nt_into(&a.data[r0 * k..(r0 + rows) * k], rows, b, alpha, out);
    });
    c
}

/// `out = alpha * A B^T` for `rows` rows of A given as a row-major slice (single-threaded).
pub fn gemm_nt_into(a_rows: &[f64], rows: usize, b: &Mat, alpha: f64, out: &mut [f64]) {
    let (n, k) = (b.rows, b.cols);
    debug_assert_eq!(a_rows.len(), rows * k);
    debug_assert_eq!(out.len(), rows * n);
    if rows == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.iter_mut().for_each(|x| *x = 0.0);
        return;
    }
    // SAFETY: the pointers and strides describe exactly the slices above: A is rows x k
    // row-major (rsa = k, csa = 1), B^T is k x n read from B's n x k rows (rsb = 1, csb = k),
    // C is rows x n row-major; beta = 0 so C's old contents are ignored.
    unsafe {
        matrixmultiply::dgemm(
            rows,
            k,
            n,
            alpha,
            a_rows.as_ptr(),
            k as isize,
            1,
            b.data.as_ptr(),
            1,
            k as isize,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// A bound on the difference between a squared distance computed through GEMM
/// (`|x|^2 - 2 x.c + |c|^2`, any summation order, with or without FMA) and the exact kernel
/// [`sq_dist`], for vectors of dimension `d` with squared norms `xn2` and `cn2`. Generous by a
/// factor of about four over the textbook bound `2 gamma_(d+2) (|x|^2 + |c|^2)`.
#[inline]
pub fn gemm_margin(d: usize, xn2: f64, cn2: f64) -> f64 {
    16.0 * (d as f64 + 4.0) * f64::EPSILON * (xn2 + cn2) + f64::MIN_POSITIVE
}

/// Index of the largest value, the first one on ties; NaN counts as larger than everything
/// (torch.argmax semantics). `None` for an empty slice.
pub fn argmax_first(v: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &x) in v.iter().enumerate() {
        match best {
            None => best = Some(i),
            Some(b) => {
                let y = v[b];
                if y.is_nan() {
                    continue;
                }
                if x.is_nan() || x > y {
                    best = Some(i);
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_dist_match_naive_sums() {
        let a: Vec<f64> = (0..19).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..19).map(|i| (i * i) as f64 * 0.25).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-9);
        let nd: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
        assert!((sq_dist(&a, &b) - nd).abs() < 1e-9);
        assert_eq!(sq_dist(&a, &a), 0.0);
    }

    #[test]
    fn gemm_matches_exact_dots_within_margin() {
        let mut rng = crate::rng::SplitMix64::new(5);
        let a = Mat::from_vec(300, 13, (0..300 * 13).map(|_| rng.normal()).collect());
        let b = Mat::from_vec(7, 13, (0..7 * 13).map(|_| rng.normal()).collect());
        let c = gemm_nt(&a, &b, -2.0);
        for i in 0..300 {
            for j in 0..7 {
                let e = -2.0 * dot(a.row(i), b.row(j));
                assert!((c.at(i, j) - e).abs() <= gemm_margin(13, dot(a.row(i), a.row(i)), dot(b.row(j), b.row(j))));
            }
        }
    }

    #[test]
    fn argmax_first_follows_torch() {
        assert_eq!(argmax_first(&[]), None);
        assert_eq!(argmax_first(&[1.0, 3.0, 3.0]), Some(1));
        assert_eq!(argmax_first(&[f64::NEG_INFINITY, f64::NEG_INFINITY]), Some(0));
        assert_eq!(argmax_first(&[1.0, f64::NAN, 5.0, f64::NAN]), Some(1));
    }
}
