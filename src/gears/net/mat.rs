//! Dense row-major matrices generic over the float type ([`Real`]: f32 for training, f64 for
//! gradient checks) and the GEMM helpers every op uses (matrixmultiply kernels, split over rows
//! or over the reduction dimension with rayon when the work is large enough).

use rayon::prelude::*;
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// The float types the trainer computes in.
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + Debug
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + std::iter::Sum
{
    /// Conversion from f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// Conversion to f64.
    fn to_f64(self) -> f64;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `C = alpha * A B + beta * C` with arbitrary strides (row stride, column stride).
    ///
    /// # Safety
    /// The pointers and strides must describe valid, non-aliasing (for C) m x k, k x n, m x n views.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: Self,
        a: *const Self, rsa: isize, csa: isize,
        b: *const Self, rsb: isize, csb: isize,
        beta: Self, c: *mut Self, rsc: isize, csc: isize,
    );
    /// Zero.
    fn zero() -> Self {
        Self::default()
    }
    /// One.
    fn one() -> Self {
        Self::from_f64(1.0)
    }
}

impl Real for f32 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: f32, a: *const f32, rsa: isize, csa: isize,
        b: *const f32, rsb: isize, csb: isize, beta: f32, c: *mut f32, rsc: isize, csc: isize,
    ) {
        matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

impl Real for f64 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: f64, a: *const f64, rsa: isize, csa: isize,
        b: *const f64, rsb: isize, csb: isize, beta: f64, c: *mut f64, rsc: isize, csc: isize,
    ) {
        matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

/// A dense row-major matrix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mat<T> {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<T>,
}

impl<T: Real> Mat<T> {
    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Mat { rows, cols, data: vec![T::zero(); rows * cols] }
    }

    /// A matrix filled with `v`.
    pub fn filled(rows: usize, cols: usize, v: T) -> Self {
        Mat { rows, cols, data: vec![v; rows * cols] }
    }

    /// Wraps `data` (length must be `rows * cols`).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        Mat { rows, cols, data }
    }

    /// Row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> &[T] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Row `r`, mutable.
    #[inline]
    pub fn row_mut(&mut self, r: usize) -> &mut [T] {
        let c = self.cols;
        &mut self.data[r * c..(r + 1) * c]
    }

    /// Sets every value to zero.
    pub fn fill_zero(&mut self) {
        self.data.iter_mut().for_each(|v| *v = T::zero());
    }

    /// Converts to another float type.
    pub fn cast<U: Real>(&self) -> Mat<U> {
        Mat { rows: self.rows, cols: self.cols, data: self.data.iter().map(|v| U::from_f64(v.to_f64())).collect() }
    }
}

/// Work (m*k*n multiply-adds) below which a GEMM runs on one thread.
const PAR_WORK: usize = 1 << 18;

/// `C (m x n) = A (m x k) * op(B) + beta * C` where `B` is `k x n` row-major, or, if `b_trans`,
/// B is stored `n x k` row-major and used transposed. Parallel over blocks of rows of C.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nn<T: Real>(a: &[T], m: usize, k: usize, b: &[T], n: usize, b_trans: bool, beta: T, c: &mut [T]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let (rsb, csb) = if b_trans { (1isize, k as isize) } else { (n as isize, 1isize) };
    let run = |a: &[T], c: &mut [T], rows: usize| unsafe {
        T::gemm_raw(rows, k, n, T::one(), a.as_ptr(), k as isize, 1, b.as_ptr(), rsb, csb, beta, c.as_mut_ptr(), n as isize, 1);
    };
    if m == 0 || n == 0 {
        return;
    }
    let work = m * k * n;
    let threads = rayon::current_num_threads();
    if work < PAR_WORK || threads == 1 || m < 16 {
        run(&a[..m * k], &mut c[..m * n], m);
        return;
    }
    let chunk = m.div_ceil(threads * 2).max(8);
    c[..m * n].par_chunks_mut(chunk * n).zip(a[..m * k].par_chunks(chunk * k)).for_each(|(cc, aa)| {
        run(aa, cc, cc.len() / n);
    });
}

/// `C (m x n) += A^T B` where `A` is `r x m` and `B` is `r x n` (both row-major): the weight
/// gradient of a linear layer, a reduction over the `r` rows, split over rayon workers.
pub fn gemm_tn_acc<T: Real>(a: &[T], r: usize, m: usize, b: &[T], n: usize, c: &mut [T]) {
    assert!(a.len() >= r * m && b.len() >= r * n && c.len() >= m * n);
    if r == 0 || m == 0 || n == 0 {
        return;
    }
    let part = |a: &[T], b: &[T], rows: usize, c: &mut [T], beta: T| unsafe {
        T::gemm_raw(m, rows, n, T::one(), a.as_ptr(), 1, m as isize, b.as_ptr(), n as isize, 1, beta, c.as_mut_ptr(), n as isize, 1);
    };
    let threads = rayon::current_num_threads();
    if r * m * n < PAR_WORK || threads == 1 || r < 64 {
        part(a, b, r, &mut c[..m * n], T::one());
        return;
    }
    let chunk = r.div_ceil(threads);
    let partials: Vec<Vec<T>> = (0..r.div_ceil(chunk))
        .into_par_iter()
        .map(|i| {
            let lo = i * chunk;
            let hi = (lo + chunk).min(r);
            let mut p = vec![T::zero(); m * n];
            part(&a[lo * m..hi * m], &b[lo * n..hi * n], hi - lo, &mut p, T::zero());
            p
        })
        .collect();
    for p in partials {
        for (x, y) in c.iter_mut().zip(p) {
            *x += y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn rand(n: usize, rng: &mut SplitMix64) -> Vec<f64> {
        (0..n).map(|_| rng.normal()).collect()
    }

    #[test]
    fn gemm_helpers_match_naive_products() {
        let mut rng = SplitMix64::new(1);
        for &(m, k, n) in &[(3, 4, 5), (300, 70, 33), (1, 1, 1)] {
            let a = rand(m * k, &mut rng);
            let b = rand(k * n, &mut rng);
            let bt: Vec<f64> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let mut want = vec![0.0; m * n];
            for i in 0..m {
                for j in 0..n {
                    want[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
                }
            }
            let mut c = vec![0.0; m * n];
            gemm_nn(&a, m, k, &b, n, false, 0.0, &mut c);
            let mut c2 = vec![0.0; m * n];
            gemm_nn(&a, m, k, &bt, n, true, 0.0, &mut c2);
            // A^T: treat a as (m rows of k) => (A^T)(k x m) * ... use a as r x m with r = m? test tn separately
            for i in 0..m * n {
                assert!((c[i] - want[i]).abs() < 1e-9 && (c2[i] - want[i]).abs() < 1e-9);
            }
            // tn: (a viewed as m x k)^T (k x m) times c-shaped (m x n) => k x n
            let mut d = vec![0.0; k * n];
            gemm_tn_acc(&a, m, k, &want, n, &mut d);
            for p in 0..k {
                for j in 0..n {
                    let s: f64 = (0..m).map(|i| a[i * k + p] * want[i * n + j]).sum();
                    assert!((d[p * n + j] - s).abs() < 1e-8 * (1.0 + s.abs()));
                }
            }
        }
    }
}
