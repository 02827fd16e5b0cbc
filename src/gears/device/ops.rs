//! The device ops of the trainer, each the twin of a CPU op in [`crate::gears::net::ops`],
//! [`crate::gears::net::propagation`] or [`crate::gears::net::model`], over [`GpuDevice`] buffers (f32
//! values; index buffers hold u32).

use crate::backend::device::{Gemm, GpuDevice};
use crate::backend::source::{gears as k, GearsParams};
use crate::error::Result;
use crate::gears::net::ops::BN_EPS;

/// A row-major matrix on the device.
pub struct DMat<B> {
    /// The values.
    pub buf: B,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
}

impl<B> DMat<B> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A sparse matrix on the device in CSR form (rows gather from the rows of a dense input).
pub struct DCsr<D: GpuDevice> {
    /// Row offsets (`rows + 1`).
    pub indptr: D::Buf,
    /// Input row of each entry.
    pub idx: D::Buf,
    /// Weight of each entry.
    pub w: D::Buf,
    /// Output rows.
    pub rows: usize,
}

/// A host CSR (row offsets, input row per entry, weight per entry) before upload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostCsr {
    /// Row offsets.
    pub indptr: Vec<u32>,
    /// Input row per entry.
    pub idx: Vec<u32>,
    /// Weight per entry.
    pub w: Vec<f32>,
}

impl HostCsr {
    /// An empty matrix with no rows.
    pub fn new() -> Self {
        HostCsr { indptr: vec![0], idx: Vec::new(), w: Vec::new() }
    }

    /// Appends a row.
    pub fn push_row(&mut self, entries: impl IntoIterator<Item = (u32, f32)>) {
        for (i, w) in entries {
            self.idx.push(i);
            self.w.push(w);
        }
        self.indptr.push(self.idx.len() as u32);
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Uploads it.
    pub fn upload<D: GpuDevice>(&self, dev: &D, what: &str) -> Result<DCsr<D>> {
        Ok(DCsr { indptr: dev.upload(what, &self.indptr)?, idx: dev.upload(what, &self.idx)?, w: dev.upload(what, &self.w)?, rows: self.rows() })
    }
}

/// What a train-mode BatchNorm keeps on the device: normalised input and statistics
/// (mean | var | 1/std, 3c values), with the total weight.
pub struct DBnCache<B> {
    /// `(x - mean) / std`.
    pub xhat: DMat<B>,
    /// mean | biased var | 1/sqrt(var + eps).
    pub stats: B,
    /// Total row weight.
    pub n: f32,
}

/// A BatchNorm's output and cache.
pub type BnOut<B> = (DMat<B>, DBnCache<B>);

fn params(u: &[u32], f: &[f32]) -> GearsParams {
    let mut p = GearsParams::default();
    p.u[..u.len()].copy_from_slice(u);
    p.f[..f.len()].copy_from_slice(f);
    p
}

fn blocks(items: usize) -> u64 {
    items.div_ceil(256) as u64
}

/// A zeroed device matrix.
pub fn zeros<D: GpuDevice>(dev: &D, what: &str, rows: usize, cols: usize) -> Result<DMat<D::Buf>> {
    Ok(DMat { buf: dev.zeros(what, rows * cols)?, rows, cols })
}

/// `x[off..off + n] = v`.
pub fn fill<D: GpuDevice>(dev: &D, x: &D::Buf, off: usize, n: usize, v: f32) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    dev.launch(&k::FILL, &[x], &params(&[n as u32, off as u32], &[v]), blocks(n))
}

/// `z[oz + i] = a x[ox + i] + b y[oy + i] + c z[oz + i]` for `i < n` (z read only when `c != 0`).
#[allow(clippy::too_many_arguments)]
pub fn axpbyz<D: GpuDevice>(dev: &D, n: usize, a: f32, x: &D::Buf, ox: usize, b: f32, y: &D::Buf, oy: usize, c: f32, z: &D::Buf, oz: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    dev.launch(&k::AXPBYZ, &[x, y, z], &params(&[n as u32, ox as u32, oy as u32, oz as u32], &[a, b, c]), blocks(n))
}

/// `out = f0 * colsum(x) + f1 * out` (`out` has `x.cols` values).
pub fn colsum<D: GpuDevice>(dev: &D, x: &DMat<D::Buf>, out: &D::Buf, f0: f32, f1: f32) -> Result<()> {
    if x.cols == 0 {
        return Ok(());
    }
    dev.launch(&k::COLSUM, &[&x.buf, out], &params(&[x.rows as u32, x.cols as u32], &[f0, f1]), x.cols as u64)
}

/// `y = x W^T + b` (W `out x in`), as [`crate::gears::net::ops::linear_fwd`].
pub fn linear_fwd<D: GpuDevice>(dev: &D, x: &DMat<D::Buf>, w: &DMat<D::Buf>, b: &D::Buf) -> Result<DMat<D::Buf>> {
    let y = zeros(dev, "linear output", x.rows, w.rows)?;
    if y.is_empty() {
        return Ok(y);
    }
    dev.launch(&k::ROWS_BCAST, &[b, &y.buf], &params(&[y.rows as u32, y.cols as u32], &[]), blocks(y.len()))?;
    dev.gemm(&Gemm::new(x.rows, w.rows, x.cols, false, true, 1.0), &x.buf, &w.buf, &y.buf)?;
    Ok(y)
}

/// Backward of [`linear_fwd`]: `dW += dy^T x`, `db += colsum(dy)`; returns `dx = dy W`.
pub fn linear_bwd<D: GpuDevice>(dev: &D, x: &DMat<D::Buf>, w: &DMat<D::Buf>, dy: &DMat<D::Buf>, dw: &D::Buf, db: &D::Buf) -> Result<DMat<D::Buf>> {
    if dy.rows > 0 {
        dev.gemm(&Gemm::new(dy.cols, x.cols, dy.rows, true, false, 1.0), &dy.buf, &x.buf, dw)?;
        colsum(dev, dy, db, 1.0, 1.0)?;
    }
    let dx = zeros(dev, "linear input gradient", dy.rows, w.cols)?;
    if !dx.is_empty() {
        dev.gemm(&Gemm::new(dy.rows, w.cols, dy.cols, false, false, 0.0), &dy.buf, &w.buf, &dx.buf)?;
    }
    Ok(dx)
}

/// Train-mode BatchNorm over weighted rows (total weight `n`), optionally followed by ReLU.
pub fn bn_train<D: GpuDevice>(dev: &D, x: &DMat<D::Buf>, wts: &D::Buf, n: f32, gamma: &D::Buf, beta: &D::Buf, relu: bool) -> Result<BnOut<D::Buf>> {
    let (r, c) = (x.rows, x.cols);
    let stats = dev.zeros("batchnorm statistics", 3 * c)?;
    let xhat = zeros(dev, "batchnorm normalised input", r, c)?;
    let y = zeros(dev, "batchnorm output", r, c)?;
    if c > 0 {
        dev.launch(&k::BN_STATS, &[&x.buf, wts, &stats], &params(&[r as u32, c as u32], &[n, BN_EPS as f32]), c as u64)?;
    }
    if r * c > 0 {
        dev.launch(&k::BN_APPLY, &[&x.buf, &stats, gamma, beta, &xhat.buf, &y.buf], &params(&[r as u32, c as u32, u32::from(relu)], &[]), blocks(r * c))?;
    }
    Ok((y, DBnCache { xhat, stats, n }))
}

/// Eval-mode BatchNorm with the running statistics, optionally followed by ReLU (as
/// [`crate::gears::net::ops::bn_eval_fwd`], then [`crate::gears::net::ops::relu_inplace`]).
#[allow(clippy::too_many_arguments)]
pub fn bn_eval<D: GpuDevice>(dev: &D, x: &DMat<D::Buf>, gamma: &D::Buf, beta: &D::Buf, rmean: &D::Buf, rvar: &D::Buf, relu: bool) -> Result<DMat<D::Buf>> {
    let (r, c) = (x.rows, x.cols);
    let y = zeros(dev, "batchnorm output", r, c)?;
    if r * c > 0 {
        dev.launch(&k::BN_EVAL, &[&x.buf, rmean, rvar, gamma, beta, &y.buf], &params(&[r as u32, c as u32, u32::from(relu)], &[BN_EPS as f32]), blocks(r * c))?;
    }
    Ok(y)
}

/// Folds a train-mode batch's statistics into running averages (as [`crate::gears::net::ops::bn_update_running`]).
pub fn bn_running<D: GpuDevice>(dev: &D, cache: &DBnCache<D::Buf>, rmean: &D::Buf, rvar: &D::Buf) -> Result<()> {
    let c = cache.xhat.cols;
    let m = crate::gears::net::ops::BN_MOMENTUM as f32;
    let corr = if cache.n > 1.0 { cache.n / (cache.n - 1.0) } else { 1.0 };
    if c == 0 {
        return Ok(());
    }
    dev.launch(&k::BN_RUNNING, &[&cache.stats, rmean, rvar], &params(&[0, c as u32], &[m, corr]), blocks(c))
}

/// Backward of [`bn_train`] (without the ReLU): `d` holds dy on entry and dx on return;
/// accumulates `dgamma`, `dbeta`.
pub fn bn_bwd<D: GpuDevice>(dev: &D, d: &DMat<D::Buf>, cache: &DBnCache<D::Buf>, wts: &D::Buf, gamma: &D::Buf, dgamma: &D::Buf, dbeta: &D::Buf) -> Result<()> {
    let (r, c) = (d.rows, d.cols);
    if c == 0 {
        return Ok(());
    }
    let sums = dev.zeros("batchnorm backward sums", 2 * c)?;
    let p = params(&[r as u32, c as u32], &[cache.n]);
    dev.launch(&k::BN_BWD_REDUCE, &[&d.buf, &cache.xhat.buf, dgamma, dbeta, &sums], &p, c as u64)?;
    if r > 0 {
        dev.launch(&k::BN_BWD_DX, &[&d.buf, &cache.xhat.buf, wts, &cache.stats, gamma, &sums], &p, blocks(r * c))?;
    }
    Ok(())
}

/// Zeroes `d` where the ReLU output `y` is not positive.
pub fn relu_bwd<D: GpuDevice>(dev: &D, d: &DMat<D::Buf>, y: &DMat<D::Buf>) -> Result<()> {
    let n = d.len();
    if n == 0 {
        return Ok(());
    }
    dev.launch(&k::RELU_BWD, &[&d.buf, &y.buf], &params(&[n as u32], &[]), blocks(n))
}

/// `out = alpha * S h + beta * out` for a device CSR `S` (`out` is `S.rows x h.cols`).
pub fn spmm<D: GpuDevice>(dev: &D, s: &DCsr<D>, h: &DMat<D::Buf>, out: &DMat<D::Buf>, alpha: f32, beta: f32) -> Result<()> {
    assert_eq!(out.rows, s.rows, "spmm output rows");
    let n = s.rows * h.cols;
    if n == 0 {
        return Ok(());
    }
    dev.launch(&k::SPMM, &[&h.buf, &s.w, &out.buf, &s.indptr, &s.idx], &params(&[s.rows as u32, h.cols as u32], &[alpha, beta]), blocks(n))
}

/// Scales rows of `e` with L2 norm above `max_norm` down to it (as [`crate::gears::net::ops::renorm_rows`]).
pub fn renorm<D: GpuDevice>(dev: &D, e: &DMat<D::Buf>, max_norm: f32) -> Result<()> {
    if e.rows == 0 {
        return Ok(());
    }
    dev.launch(&k::RENORM, &[&e.buf], &params(&[e.rows as u32, e.cols as u32], &[max_norm]), blocks(e.rows))
}

/// The (group, gene) grid `a[variant] + q[perturbed row]` (`info`: variant, q row or `u32::MAX` per group).
pub fn grid<D: GpuDevice>(dev: &D, a: &DMat<D::Buf>, q: &D::Buf, info: &D::Buf, groups: usize, g: usize, h: usize) -> Result<DMat<D::Buf>> {
    let out = zeros(dev, "perturbation grid", groups * g, h)?;
    if !out.is_empty() {
        dev.launch(&k::GRID, &[&a.buf, q, &out.buf, info], &params(&[groups as u32, g as u32, h as u32], &[]), blocks(out.len()))?;
    }
    Ok(out)
}

/// Gene-specific layer 1: `u[gr, j] = r[gr G + j] . w1[j] + b1[j]`.
pub fn indv1_fwd<D: GpuDevice>(dev: &D, r: &DMat<D::Buf>, w1: &D::Buf, b1: &D::Buf, groups: usize, g: usize) -> Result<DMat<D::Buf>> {
    let u = zeros(dev, "gene-specific layer 1 output", groups, g)?;
    if !u.is_empty() {
        dev.launch(&k::INDV1_FWD, &[&r.buf, w1, b1, &u.buf], &params(&[groups as u32, g as u32, r.cols as u32], &[]), blocks(u.len()))?;
    }
    Ok(u)
}

/// Backward of [`indv1_fwd`]: accumulates `dw1`, `db1`, returns `dr`.
pub fn indv1_bwd<D: GpuDevice>(dev: &D, du: &DMat<D::Buf>, r: &DMat<D::Buf>, w1: &D::Buf, dw1: &D::Buf, db1: &D::Buf) -> Result<DMat<D::Buf>> {
    let (groups, g, h) = (du.rows, du.cols, r.cols);
    let p = params(&[groups as u32, g as u32, h as u32], &[]);
    if g * h > 0 {
        dev.launch(&k::INDV1_BWD_W, &[&du.buf, &r.buf, dw1, db1], &p, blocks(g * h))?;
    }
    let dr = zeros(dev, "gene-specific layer 1 input gradient", groups * g, h)?;
    if !dr.is_empty() {
        dev.launch(&k::INDV1_BWD_X, &[&du.buf, w1, &dr.buf], &p, blocks(dr.len()))?;
    }
    Ok(dr)
}

/// Gene-specific layer 2 on top of `delta = c w2_tail^T`: `delta += w2[j, 0] u + b2`.
pub fn indv2_fwd<D: GpuDevice>(dev: &D, u: &DMat<D::Buf>, w2: &D::Buf, b2: &D::Buf, delta: &DMat<D::Buf>, h: usize) -> Result<()> {
    if u.is_empty() {
        return Ok(());
    }
    dev.launch(&k::INDV2_FWD, &[&u.buf, w2, b2, &delta.buf], &params(&[u.rows as u32, u.cols as u32, h as u32], &[]), blocks(u.len()))
}

/// Backward of [`indv2_fwd`]: accumulates `dw2[:, 0]`, `db2`, returns `du = dd w2[:, 0]`.
pub fn indv2_bwd<D: GpuDevice>(dev: &D, dd: &DMat<D::Buf>, u: &DMat<D::Buf>, w2: &D::Buf, dw2: &D::Buf, db2: &D::Buf, h: usize) -> Result<DMat<D::Buf>> {
    let du = zeros(dev, "gene-specific layer 2 input gradient", dd.rows, dd.cols)?;
    if dd.cols > 0 {
        dev.launch(&k::INDV2_BWD, &[&dd.buf, &u.buf, w2, dw2, db2, &du.buf], &params(&[dd.rows as u32, dd.cols as u32, h as u32], &[]), blocks(dd.cols))?;
    }
    Ok(du)
}

/// Adam scalars of one tensor's step, computed as [`crate::gears::train::adam::Adam::step`] does.
#[derive(Clone, Copy, Debug)]
pub struct AdamScalars {
    /// beta1, beta2, 1 - beta1, 1 - beta2, clip, weight decay, eps, step size, 1 / sqrt(bias correction 2).
    pub f: [f32; 9],
}

impl AdamScalars {
    /// The scalars of step `t` (1-based) with learning rate `lr`.
    pub fn new(c: &crate::gears::train::adam::AdamConfig, t: u64, lr: f64) -> Self {
        let t32 = t as i32;
        let bc1 = 1.0 - c.beta1.powi(t32);
        let bc2 = (1.0 - c.beta2.powi(t32)).sqrt();
        let f = |x: f64| x as f32;
        AdamScalars { f: [f(c.beta1), f(c.beta2), f(1.0 - c.beta1), f(1.0 - c.beta2), f(c.clip), f(c.weight_decay), f(c.eps), f(lr / bc1), f(1.0 / bc2)] }
    }
}

/// One Adam update of `n` values.
pub fn adam<D: GpuDevice>(dev: &D, n: usize, p: &D::Buf, g: &D::Buf, m: &D::Buf, v: &D::Buf, s: &AdamScalars) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    dev.launch(&k::ADAM, &[p, g, m, v], &params(&[n as u32], &s.f), blocks(n))
}
