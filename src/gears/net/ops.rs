//! The primitive ops of the GEARS model with explicit forward and backward passes: linear,
//! BatchNorm1d (train statistics over *weighted* rows, eval with running statistics), ReLU and the
//! max-norm renormalisation of embedding tables.
//!
//! Weighted rows: a row `r` with weight `m_r` stands for `m_r` identical rows of the batch (cells
//! that share a perturbation, or genes tiled over cells). Forward statistics count it `m_r` times;
//! backward receives, per distinct row, the *sum* of the upstream gradients of its copies. With
//! all weights 1 this is ordinary BatchNorm1d.

use super::mat::{gemm_nn, gemm_tn_acc, Mat, Real};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// BatchNorm1d epsilon (PyTorch default).
pub const BN_EPS: f64 = 1e-5;
/// BatchNorm1d running-average momentum (PyTorch default).
pub const BN_MOMENTUM: f64 = 0.1;

/// Rows per rayon task in row-parallel loops.
const ROW_CHUNK: usize = 512;

/// `y = x W^T + b` with `W` stored `out x in` (PyTorch layout).
pub fn linear_fwd<T: Real>(x: &Mat<T>, w: &Mat<T>, b: &[T]) -> Mat<T> {
    assert_eq!(x.cols, w.cols, "linear: input width");
    let mut data = Vec::with_capacity(x.rows * w.rows);
    for _ in 0..x.rows {
        data.extend_from_slice(b);
    }
    let mut y = Mat::from_vec(x.rows, w.rows, data);
    gemm_nn(&x.data, x.rows, x.cols, &w.data, w.rows, true, T::one(), &mut y.data);
    y
}

/// Backward of [`linear_fwd`]: accumulates `dW += dy^T x`, `db += sum_r dy` and returns `dx = dy W`.
pub fn linear_bwd<T: Real>(x: &Mat<T>, w: &Mat<T>, dy: &Mat<T>, dw: &mut Mat<T>, db: &mut [T]) -> Mat<T> {
    let s = col_sums(dy, None);
    for (a, b) in db.iter_mut().zip(s) {
        *a += b;
    }
    linear_bwd_no_bias(x, w, dy, dw)
}

/// [`linear_bwd`] without the bias gradient (for callers that already summed `dy`'s columns).
pub fn linear_bwd_no_bias<T: Real>(x: &Mat<T>, w: &Mat<T>, dy: &Mat<T>, dw: &mut Mat<T>) -> Mat<T> {
    gemm_tn_acc(&dy.data, dy.rows, dy.cols, &x.data, x.cols, &mut dw.data);
    let mut dx = Mat::zeros(dy.rows, w.cols);
    gemm_nn(&dy.data, dy.rows, dy.cols, &w.data, w.cols, false, T::zero(), &mut dx.data);
    dx
}

/// Column sums of `x`, each row multiplied by `wts[r]` when given.
pub fn col_sums<T: Real>(x: &Mat<T>, wts: Option<&[T]>) -> Vec<T> {
    let c = x.cols;
    let add = |acc: &mut Vec<T>, lo: usize, hi: usize| {
        let acc = &mut acc[..c];
        for r in lo..hi {
            let v = &x.row(r)[..c];
            match wts {
                Some(w) => {
                    let w = w[r];
                    for j in 0..c {
                        acc[j] += w * v[j];
                    }
                }
                None => {
                    for j in 0..c {
                        acc[j] += v[j];
                    }
                }
            }
        }
    };
    reduce_rows(x.rows, c, add)
}

/// Parallel reduction over row chunks of a `rows`-long range into a `width`-long accumulator.
fn reduce_rows<T: Real>(rows: usize, width: usize, f: impl Fn(&mut Vec<T>, usize, usize) + Sync) -> Vec<T> {
    let chunks = rows.div_ceil(ROW_CHUNK * 4).max(1);
    if chunks == 1 {
        let mut acc = vec![T::zero(); width];
        f(&mut acc, 0, rows);
        return acc;
    }
    let step = rows.div_ceil(chunks);
    (0..chunks)
        .into_par_iter()
        .map(|i| {
            let mut acc = vec![T::zero(); width];
            f(&mut acc, i * step, ((i + 1) * step).min(rows));
            acc
        })
        .reduce(
            || vec![T::zero(); width],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}

/// What BatchNorm's train-mode forward keeps for backward and for the running averages.
#[derive(Clone, Debug)]
pub struct BnCache<T> {
    /// Normalised input `(x - mean) / sqrt(var + eps)`.
    pub xhat: Mat<T>,
    /// `1 / sqrt(var + eps)` per column.
    pub inv_std: Vec<T>,
    /// Batch mean per column.
    pub mean: Vec<T>,
    /// Biased batch variance per column.
    pub var: Vec<T>,
    /// Total weight (number of rows counted with multiplicity).
    pub n: T,
}

/// Train-mode BatchNorm1d over weighted rows: `y = gamma * xhat + beta`.
pub fn bn_train_fwd<T: Real>(x: &Mat<T>, wts: &[T], gamma: &[T], beta: &[T]) -> (Mat<T>, BnCache<T>) {
    bn_train_fwd_act(x, wts, gamma, beta, false)
}

/// [`bn_train_fwd`] followed, when `relu`, by a ReLU in the same pass (same values as
/// [`relu_inplace`] on the output).
pub fn bn_train_fwd_act<T: Real>(x: &Mat<T>, wts: &[T], gamma: &[T], beta: &[T], relu: bool) -> (Mat<T>, BnCache<T>) {
    assert_eq!(wts.len(), x.rows);
    let n: T = wts.iter().copied().sum();
    let c = x.cols;
    let mean: Vec<T> = col_sums(x, Some(wts)).into_iter().map(|s| s / n).collect();
    let var: Vec<T> = reduce_rows(x.rows, c, |acc: &mut Vec<T>, lo, hi| {
        let (acc, mean) = (&mut acc[..c], &mean[..c]);
        for (r, &w) in wts.iter().enumerate().take(hi).skip(lo) {
            let v = &x.row(r)[..c];
            for j in 0..c {
                let d = v[j] - mean[j];
                acc[j] += w * d * d;
            }
        }
    })
    .into_iter()
    .map(|s| s / n)
    .collect();
    let eps = T::from_f64(BN_EPS);
    let inv_std: Vec<T> = var.iter().map(|&v| T::one() / (v + eps).sqrt()).collect();
    let len = x.rows * c;
    let mut xhat: Vec<T> = Vec::with_capacity(len);
    let mut y: Vec<T> = Vec::with_capacity(len);
    let scale: Vec<T> = gamma.iter().zip(&inv_std).map(|(&g, &s)| g * s).collect();
    xhat.spare_capacity_mut()[..len]
        .par_chunks_mut(c * ROW_CHUNK)
        .zip(y.spare_capacity_mut()[..len].par_chunks_mut(c * ROW_CHUNK))
        .zip(x.data.par_chunks(c * ROW_CHUNK))
        .for_each(|((xh, yy), xx)| {
            for ((hr, yr), xr) in xh.chunks_exact_mut(c).zip(yy.chunks_exact_mut(c)).zip(xx.chunks_exact(c)) {
                if relu {
                    bn_apply_row::<T, true>(xr, hr, yr, &mean, &inv_std, &scale, beta);
                } else {
                    bn_apply_row::<T, false>(xr, hr, yr, &mean, &inv_std, &scale, beta);
                }
            }
        });
    // SAFETY: the loop above wrote all `len` values of both buffers (the chunks cover 0..len).
    unsafe {
        xhat.set_len(len);
        y.set_len(len);
    }
    (Mat::from_vec(x.rows, c, y), BnCache { xhat: Mat::from_vec(x.rows, c, xhat), inv_std, mean, var, n })
}

/// One row of the BatchNorm forward: `xhat = (x - mean) * inv_std`, `y = (x - mean) * scale + beta`,
/// ReLU'd when `RELU` (indexed loops over equal-length slices so that they vectorise).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bn_apply_row<T: Real, const RELU: bool>(
    x: &[T], xhat: &mut [MaybeUninit<T>], y: &mut [MaybeUninit<T>], mean: &[T], inv_std: &[T], scale: &[T], beta: &[T],
) {
    let c = x.len();
    let (xhat, y, mean, inv_std, scale, beta) = (&mut xhat[..c], &mut y[..c], &mean[..c], &inv_std[..c], &scale[..c], &beta[..c]);
    let zero = T::zero();
    for j in 0..c {
        let d = x[j] - mean[j];
        xhat[j] = MaybeUninit::new(d * inv_std[j]);
        let o = d * scale[j] + beta[j];
        y[j] = MaybeUninit::new(if RELU && o < zero { zero } else { o });
    }
}

/// Updates running statistics like PyTorch: `rm = (1-m) rm + m mean`, `rv = (1-m) rv + m var n/(n-1)`.
pub fn bn_update_running<T: Real>(cache: &BnCache<T>, running_mean: &mut [T], running_var: &mut [T]) {
    let m = T::from_f64(BN_MOMENTUM);
    let one = T::one();
    let corr = if cache.n > one { cache.n / (cache.n - one) } else { one };
    for j in 0..running_mean.len() {
        running_mean[j] = (one - m) * running_mean[j] + m * cache.mean[j];
        running_var[j] = (one - m) * running_var[j] + m * cache.var[j] * corr;
    }
}

/// Eval-mode BatchNorm1d with running statistics.
pub fn bn_eval_fwd<T: Real>(x: &Mat<T>, gamma: &[T], beta: &[T], running_mean: &[T], running_var: &[T]) -> Mat<T> {
    let eps = T::from_f64(BN_EPS);
    let scale: Vec<T> = (0..x.cols).map(|j| gamma[j] / (running_var[j] + eps).sqrt()).collect();
    let shift: Vec<T> = (0..x.cols).map(|j| beta[j] - running_mean[j] * scale[j]).collect();
    let mut y = x.clone();
    let c = x.cols;
    y.data.par_chunks_mut(c * ROW_CHUNK).for_each(|rows| {
        for row in rows.chunks_mut(c) {
            for j in 0..c {
                row[j] = row[j] * scale[j] + shift[j];
            }
        }
    });
    y
}

/// Backward of [`bn_train_fwd`]. `dy` holds, per distinct row, the summed gradient of its copies.
/// Accumulates `dgamma`, `dbeta` and returns the summed gradient per distinct input row.
pub fn bn_bwd<T: Real>(dy: &Mat<T>, cache: &BnCache<T>, wts: &[T], gamma: &[T], dgamma: &mut [T], dbeta: &mut [T]) -> Mat<T> {
    bn_bwd_act(dy, None, cache, wts, gamma, dgamma, dbeta, None)
}

/// Backward of [`bn_train_fwd_act`]: with `relu_out` (the ReLU's output), `dy` is first masked
/// where that output is `<= 0` (as [`relu_bwd_inplace`]), in the same passes. When `col_sums_out`
/// is given, the column sums of the returned gradient are added to it (the bias gradient of a
/// preceding linear layer), computed in the pass that writes the gradient.
#[allow(clippy::too_many_arguments)]
pub fn bn_bwd_act<T: Real>(
    dy: &Mat<T>, relu_out: Option<&Mat<T>>, cache: &BnCache<T>, wts: &[T], gamma: &[T], dgamma: &mut [T], dbeta: &mut [T],
    col_sums_out: Option<&mut [T]>,
) -> Mat<T> {
    let c = dy.cols;
    let xhat = &cache.xhat;
    let zero = T::zero();
    let sums = reduce_rows(dy.rows, 2 * c, |acc: &mut Vec<T>, lo, hi| {
        let (a1, a2) = acc.split_at_mut(c);
        let (a1, a2) = (&mut a1[..c], &mut a2[..c]);
        for r in lo..hi {
            let (d, h) = (&dy.row(r)[..c], &xhat.row(r)[..c]);
            match relu_out {
                None => {
                    for j in 0..c {
                        a1[j] += d[j];
                        a2[j] += d[j] * h[j];
                    }
                }
                Some(y) => {
                    let y = &y.row(r)[..c];
                    for j in 0..c {
                        let dj = d[j];
                        let dj = if y[j] <= zero { zero } else { dj };
                        a1[j] += dj;
                        a2[j] += dj * h[j];
                    }
                }
            }
        }
    });
    let (s1, s2) = sums.split_at(c);
    for j in 0..c {
        dbeta[j] += s1[j];
        dgamma[j] += s2[j];
    }
    let n = cache.n;
    let a: Vec<T> = (0..c).map(|j| gamma[j] * cache.inv_std[j]).collect();
    let m1: Vec<T> = s1.iter().map(|&s| s / n).collect();
    let m2: Vec<T> = s2.iter().map(|&s| s / n).collect();
    let len = dy.rows * c;
    let mut dx: Vec<T> = Vec::with_capacity(len);
    let want_sums = col_sums_out.is_some();
    let part_sums: Vec<Vec<T>> = dx.spare_capacity_mut()[..len]
        .par_chunks_mut(c * ROW_CHUNK)
        .enumerate()
        .map(|(i, out)| {
            let r0 = i * ROW_CHUNK;
            let mut acc = if want_sums { vec![zero; c] } else { Vec::new() };
            for (k, orow) in out.chunks_exact_mut(c).enumerate() {
                let r = r0 + k;
                let (w, d, h) = (wts[r], dy.row(r), xhat.row(r));
                match (relu_out, want_sums) {
                    (Some(y), true) => bn_bwd_row::<T, true, true>(orow, d, h, y.row(r), w, &a, &m1, &m2, &mut acc),
                    (Some(y), false) => bn_bwd_row::<T, true, false>(orow, d, h, y.row(r), w, &a, &m1, &m2, &mut acc),
                    (None, true) => bn_bwd_row::<T, false, true>(orow, d, h, d, w, &a, &m1, &m2, &mut acc),
                    (None, false) => bn_bwd_row::<T, false, false>(orow, d, h, d, w, &a, &m1, &m2, &mut acc),
                }
            }
            acc
        })
        .collect();
    // SAFETY: every chunk above wrote all of its values and the chunks cover 0..len.
    unsafe {
        dx.set_len(len);
    }
    if let Some(out) = col_sums_out {
        for p in part_sums {
            for (o, v) in out.iter_mut().zip(p) {
                *o += v;
            }
        }
    }
    Mat::from_vec(dy.rows, c, dx)
}

/// One row of the BatchNorm input gradient `a (d - w m1 - w xhat m2)`, with `d` masked where the
/// following ReLU's output `y <= 0` when `RELU`, and added to `acc` when `SUMS`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bn_bwd_row<T: Real, const RELU: bool, const SUMS: bool>(
    out: &mut [MaybeUninit<T>], d: &[T], xhat: &[T], y: &[T], w: T, a: &[T], m1: &[T], m2: &[T], acc: &mut [T],
) {
    let c = out.len();
    let (d, xhat, y, a, m1, m2) = (&d[..c], &xhat[..c], &y[..c], &a[..c], &m1[..c], &m2[..c]);
    let zero = T::zero();
    let acc = if SUMS { &mut acc[..c] } else { acc };
    for j in 0..c {
        // Unconditional load, then a select: keeps the loop vectorisable.
        let dj = d[j];
        let dj = if RELU && y[j] <= zero { zero } else { dj };
        let v = a[j] * (dj - w * m1[j] - w * xhat[j] * m2[j]);
        out[j] = MaybeUninit::new(v);
        if SUMS {
            acc[j] += v;
        }
    }
}

/// Elements per rayon task in element-wise loops (large enough to amortise scheduling).
const ELEM_CHUNK: usize = 1 << 15;

/// ReLU in place.
pub fn relu_inplace<T: Real>(x: &mut Mat<T>) {
    x.data.par_chunks_mut(ELEM_CHUNK).for_each(|c| {
        for v in c {
            if *v < T::zero() {
                *v = T::zero();
            }
        }
    });
}

/// Backward of ReLU given its output `y`: zeroes `dy` where `y <= 0`.
pub fn relu_bwd_inplace<T: Real>(dy: &mut Mat<T>, y: &Mat<T>) {
    dy.data.par_chunks_mut(ELEM_CHUNK).zip(y.data.par_chunks(ELEM_CHUNK)).for_each(|(dc, yc)| {
        for (d, &v) in dc.iter_mut().zip(yc) {
            if v <= T::zero() {
                *d = T::zero();
            }
        }
    });
}

/// PyTorch `Embedding(max_norm=1)` lookup side effect: rows with L2 norm above `max_norm` are
/// rescaled in place by `max_norm / (norm + 1e-7)`. Not differentiated (a projection of the weights).
pub fn renorm_rows<T: Real>(e: &mut Mat<T>, max_norm: f64) {
    let c = e.cols;
    e.data.par_chunks_mut(c * ROW_CHUNK).flat_map_iter(|rows| rows.chunks_mut(c)).for_each(|row| {
        let norm = sum_squares_f64(row).sqrt();
        if norm > max_norm {
            let s = T::from_f64(max_norm / (norm + 1e-7));
            row.iter_mut().for_each(|v| *v *= s);
        }
    });
}

/// Sum of squares in f64 with eight independent partial sums (a reassociated sum that
/// vectorises; the serial sum is a latency-bound chain, and this runs on every embedding row
/// at every step).
fn sum_squares_f64<T: Real>(row: &[T]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for ch in chunks {
        for k in 0..8 {
            let v = ch[k].to_f64();
            acc[k] += v * v;
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for v in rest {
        s += v.to_f64() * v.to_f64();
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// A random matrix with N(0, 1) entries.
    pub(crate) fn randm(rows: usize, cols: usize, rng: &mut SplitMix64) -> Mat<f64> {
        Mat::from_vec(rows, cols, (0..rows * cols).map(|_| rng.normal()).collect())
    }

    /// Central-difference check of `grad` (analytic d loss / d x) for a scalar `loss(x)`.
    pub(crate) fn check_grad(name: &str, x: &[f64], grad: &[f64], loss: &mut dyn FnMut(&[f64]) -> f64) {
        let h = 1e-5;
        let mut xp = x.to_vec();
        for i in 0..x.len() {
            let keep = xp[i];
            xp[i] = keep + h;
            let lp = loss(&xp);
            xp[i] = keep - h;
            let lm = loss(&xp);
            xp[i] = keep;
            let num = (lp - lm) / (2.0 * h);
            let tol = 1e-5 * (1.0 + num.abs().max(grad[i].abs()));
            assert!((num - grad[i]).abs() < tol, "{name}[{i}]: analytic {} vs numeric {num}", grad[i]);
        }
    }

    fn dot(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
        a.data.iter().zip(&b.data).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn linear_backward_matches_finite_differences() {
        let mut rng = SplitMix64::new(7);
        let (r, i, o) = (5, 4, 3);
        let x = randm(r, i, &mut rng);
        let w = randm(o, i, &mut rng);
        let b: Vec<f64> = (0..o).map(|_| rng.normal()).collect();
        let up = randm(r, o, &mut rng);
        let mut dw = Mat::zeros(o, i);
        let mut db = vec![0.0; o];
        let dx = linear_bwd(&x, &w, &up, &mut dw, &mut db);
        check_grad("x", &x.data, &dx.data, &mut |v| dot(&linear_fwd(&Mat::from_vec(r, i, v.to_vec()), &w, &b), &up));
        check_grad("w", &w.data, &dw.data, &mut |v| dot(&linear_fwd(&x, &Mat::from_vec(o, i, v.to_vec()), &b), &up));
        check_grad("b", &b, &db, &mut |v| dot(&linear_fwd(&x, &w, v), &up));
    }

    #[test]
    fn weighted_batchnorm_backward_matches_finite_differences_and_expanded_rows() {
        let mut rng = SplitMix64::new(8);
        let (r, c) = (4, 3);
        let x = randm(r, c, &mut rng);
        let wts = vec![1.0, 3.0, 2.0, 1.0];
        let gamma: Vec<f64> = (0..c).map(|_| 1.0 + 0.3 * rng.normal()).collect();
        let beta: Vec<f64> = (0..c).map(|_| rng.normal()).collect();
        let up = randm(r, c, &mut rng);
        // Loss counts each distinct row with its multiplicity, so the summed upstream grad is w * up.
        let up_sum = Mat::from_vec(r, c, (0..r * c).map(|k| up.data[k] * wts[k / c]).collect());
        let loss = |x: &Mat<f64>, g: &[f64], b: &[f64]| {
            let (y, _) = bn_train_fwd(x, &wts, g, b);
            (0..r * c).map(|k| y.data[k] * up_sum.data[k]).sum::<f64>()
        };
        let (_, cache) = bn_train_fwd(&x, &wts, &gamma, &beta);
        let (mut dg, mut dbt) = (vec![0.0; c], vec![0.0; c]);
        let dx = bn_bwd(&up_sum, &cache, &wts, &gamma, &mut dg, &mut dbt);
        check_grad("x", &x.data, &dx.data, &mut |v| loss(&Mat::from_vec(r, c, v.to_vec()), &gamma, &beta));
        check_grad("gamma", &gamma, &dg, &mut |v| loss(&x, v, &beta));
        check_grad("beta", &beta, &dbt, &mut |v| loss(&x, &gamma, v));
        // Same statistics as literally repeating the rows.
        let mut rep = Vec::new();
        for (k, &w) in wts.iter().enumerate() {
            for _ in 0..w as usize {
                rep.extend_from_slice(x.row(k));
            }
        }
        let xr = Mat::from_vec(rep.len() / c, c, rep);
        let (_, cr) = bn_train_fwd(&xr, &vec![1.0; xr.rows], &gamma, &beta);
        for j in 0..c {
            assert!((cr.mean[j] - cache.mean[j]).abs() < 1e-12 && (cr.var[j] - cache.var[j]).abs() < 1e-12);
        }
        let (mut rm, mut rv) = (vec![0.0; c], vec![1.0; c]);
        bn_update_running(&cache, &mut rm, &mut rv);
        let unbiased = cache.var[0] * 7.0 / 6.0;
        assert!((rv[0] - (0.9 + 0.1 * unbiased)).abs() < 1e-12 && (rm[0] - 0.1 * cache.mean[0]).abs() < 1e-12);
    }

    #[test]
    fn relu_backward_matches_finite_differences() {
        let mut rng = SplitMix64::new(9);
        let x = randm(3, 4, &mut rng);
        let up = randm(3, 4, &mut rng);
        let mut y = x.clone();
        relu_inplace(&mut y);
        let mut d = up.clone();
        relu_bwd_inplace(&mut d, &y);
        check_grad("x", &x.data, &d.data, &mut |v| {
            let mut m = Mat::from_vec(3, 4, v.to_vec());
            relu_inplace(&mut m);
            dot(&m, &up)
        });
    }

    #[test]
    fn renorm_caps_rows_at_max_norm() {
        let mut e = Mat::from_vec(2, 2, vec![3.0f64, 4.0, 0.3, 0.4]);
        renorm_rows(&mut e, 1.0);
        assert!((e.data[0] - 3.0 / (5.0 + 1e-7)).abs() < 1e-12);
        assert_eq!(&e.data[2..], &[0.3, 0.4]);
        let y = bn_eval_fwd(&Mat::from_vec(1, 1, vec![2.0f64]), &[2.0], &[1.0], &[1.0], &[4.0]);
        assert!((y.data[0] - (2.0 * 1.0 / (4.0 + BN_EPS).sqrt() + 1.0)).abs() < 1e-12);
    }
}
