//! Centred PCA as scikit-learn computes it for IterPert (`PCA(n_components=min(n, 100))`):
//! components from the eigen-decomposition of the d x d covariance, or of the n x n Gram matrix
//! of the centred rows when n < d; scores = centred data times components; each component's sign
//! is chosen like scikit-learn >= 1.5 (`svd_flip(u_based_decision=False)`): the entry of largest
//! absolute value (the first on ties) is positive.
//!
//! For matrices too large for a dense eigen-solver (the smaller side above
//! [`PcaConfig::exact_max`]) the top components come from seeded randomized subspace iteration on
//! the same covariance / Gram matrix, with scikit-learn's `randomized_svd` settings (the solver its
//! PCA picks itself at those sizes): approximate, like the reference, and deterministic for a seed.

use super::mat::{gemm_nt, Mat};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use nalgebra::{DMatrix, SymmetricEigen};
use serde::Serialize;

/// When and how to reduce embeddings with PCA. Shared by the library and the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct PcaConfig {
    /// When PCA runs. Default [`PcaMode::Auto`].
    pub mode: PcaMode,
    /// Auto mode reduces when the embedding's (reference) dimension exceeds this. Default 10,000
    /// (IterPert `typiclust.py` / `kernel_based_active_learning.py`).
    pub threshold: usize,
    /// Components kept: `min(n_points, dim, max_components)`. Default 100.
    pub max_components: usize,
    /// Largest min(n, d) solved by a dense eigen-decomposition; above it, randomized subspace
    /// iteration.
    /// Default 600.
    pub exact_max: usize,
}

impl Default for PcaConfig {
    fn default() -> Self {
        PcaConfig { mode: PcaMode::Auto, threshold: 10_000, max_components: 100, exact_max: 600 }
    }
}

/// When PCA runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum PcaMode {
    /// When the embedding's reference dimension exceeds the threshold (as IterPert).
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl PcaConfig {
    /// Whether PCA runs for an embedding whose PCA-rule dimension is `dim`.
    pub fn applies(&self, dim: usize) -> bool {
        match self.mode {
            PcaMode::Auto => dim > self.threshold,
            PcaMode::Always => true,
            PcaMode::Never => false,
        }
    }
}

/// A fitted PCA.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Scores (n x m): the centred rows projected on the components.
    pub scores: Mat,
    /// Components (m x d), unit rows, sign as scikit-learn.
    pub components: Mat,
    /// Variance along each component (eigenvalue / (n - 1)).
    pub explained_variance: Vec<f64>,
    /// Fraction of the total variance the kept components explain.
    pub explained_ratio: f64,
    /// `exact-eigen` or `randomized`.
    pub solver: &'static str,
}

/// Fits a PCA with `m` components to the rows of `x` (needs `1 <= m <= min(n, d)`).
/// `seed` only matters for the randomized solver.
pub fn pca(x: &Mat, m: usize, exact_max: usize, seed: u64) -> Result<Pca> {
    let (n, d) = (x.rows, x.cols);
    if m == 0 || m > n.min(d) {
        return Err(Error::invalid(format!("PCA: {m} components requested from {n} points in {d} dimensions (need 1..={})", n.min(d))));
    }
    let mean = x.column_means();
    let mut xc = x.clone();
    xc.sub_row_vector(&mean);
    let gram_side = n < d;
    // M: the d x d scatter matrix Xc^T Xc, or the n x n Gram matrix Xc Xc^T.
    let m_mat = if gram_side { gemm_nt(&xc, &xc, 1.0) } else { let t = transpose(&xc); gemm_nt(&t, &t, 1.0) };
    let s = m_mat.rows;
    let total: f64 = (0..s).map(|i| m_mat.at(i, i)).sum();
    let (vals, vecs, solver) = if s <= exact_max { exact_top(&m_mat, m) } else { subspace_top(&m_mat, m, seed) };
    let denom = (n.max(2) - 1) as f64;
    let mut components = Mat::zeros(m, d);
    let mut scores = Mat::zeros(n, m);
    if gram_side {
        // u_j (n) -> scores = u_j s_j, v_j = Xc^T u_j / s_j.
        let smax = vals.first().copied().unwrap_or(0.0).max(0.0).sqrt();
        for (j, &val) in vals.iter().enumerate().take(m) {
            let sj = val.max(0.0).sqrt();
            let u: Vec<f64> = (0..n).map(|i| vecs.at(i, j)).collect();
            if sj > 1e-12 * smax && sj > 0.0 {
                let v = components.row_mut(j);
                for (i, &ui) in u.iter().enumerate() {
                    for (vk, &xk) in v.iter_mut().zip(xc.row(i)) {
                        *vk += ui * xk;
                    }
                }
                v.iter_mut().for_each(|a| *a /= sj);
                for (i, &ui) in u.iter().enumerate() {
                    scores.data[i * m + j] = ui * sj;
                }
            }
        }
    } else {
        for j in 0..m {
            for k in 0..d {
                components.data[j * d + k] = vecs.at(k, j);
            }
        }
        scores = gemm_nt(&xc, &components, 1.0);
    }
    // scikit-learn's sign rule: the largest |entry| of each component is positive.
    for j in 0..m {
        let row = components.row(j);
        let mut best = 0;
        for k in 1..d {
            if row[k].abs() > row[best].abs() {
                best = k;
            }
        }
        if row[best] < 0.0 {
            components.row_mut(j).iter_mut().for_each(|a| *a = -*a);
            for i in 0..n {
                scores.data[i * m + j] = -scores.data[i * m + j];
            }
        }
    }
    let explained_variance: Vec<f64> = vals.iter().map(|v| v.max(0.0) / denom).collect();
    let kept: f64 = vals.iter().map(|v| v.max(0.0)).sum();
    let explained_ratio = if total > 0.0 { kept / total } else { 0.0 };
    Ok(Pca { scores, components, explained_variance, explained_ratio, solver })
}

fn transpose(a: &Mat) -> Mat {
    let mut t = Mat::zeros(a.cols, a.rows);
    for i in 0..a.rows {
        for j in 0..a.cols {
            t.data[j * a.rows + i] = a.data[i * a.cols + j];
        }
    }
    t
}

fn to_dmatrix(a: &Mat) -> DMatrix<f64> {
    DMatrix::from_row_slice(a.rows, a.cols, &a.data)
}

/// Top-`m` eigenpairs of a symmetric matrix, eigenvalues descending (ties by index); the
/// eigenvectors as the columns of an s x m matrix.
fn exact_top(a: &Mat, m: usize) -> (Vec<f64>, Mat, &'static str) {
    let eig = SymmetricEigen::new(symmetrise(to_dmatrix(a)));
    let (vals, vecs) = sorted_top(eig.eigenvalues.as_slice(), &eig.eigenvectors, m);
    (vals, vecs, "exact-eigen")
}

fn symmetrise(mut a: DMatrix<f64>) -> DMatrix<f64> {
    let s = a.nrows();
    for i in 0..s {
        for j in 0..i {
            let v = 0.5 * (a[(i, j)] + a[(j, i)]);
            a[(i, j)] = v;
            a[(j, i)] = v;
        }
    }
    a
}

fn sorted_top(vals: &[f64], vecs: &DMatrix<f64>, m: usize) -> (Vec<f64>, Mat) {
    let mut order: Vec<usize> = (0..vals.len()).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]).then(a.cmp(&b)));
    let s = vecs.nrows();
    let mut out = Mat::zeros(s, m);
    for (j, &o) in order.iter().take(m).enumerate() {
        for i in 0..s {
            out.data[i * m + j] = vecs[(i, o)];
        }
    }
    (order.iter().take(m).map(|&o| vals[o]).collect(), out)
}

/// Top-`m` eigenpairs by randomized subspace iteration, as scikit-learn's `randomized_svd`
/// (which its PCA uses at these sizes): a seeded Gaussian start of m + 10 columns, 7 power
/// iterations (4 when m >= 10% of the side), each re-orthonormalised (QR), then Rayleigh-Ritz.
fn subspace_top(a: &Mat, m: usize, seed: u64) -> (Vec<f64>, Mat, &'static str) {
    let s = a.rows;
    let p = (m + 10).min(s);
    let iters = if (m as f64) < 0.1 * s as f64 { 7 } else { 4 };
    let mut rng = SplitMix64::new(seed);
    let a_d = to_dmatrix(a);
    let mut q = DMatrix::from_fn(s, p, |_, _| rng.normal()).qr().q();
    for _ in 0..iters {
        q = (&a_d * &q).qr().q();
    }
    let h = symmetrise(q.transpose() * (&a_d * &q));
    let eig = SymmetricEigen::new(h);
    let (vals, w) = sorted_top(eig.eigenvalues.as_slice(), &eig.eigenvectors, m);
    let wd = DMatrix::from_row_slice(p, m, &w.data);
    let y = &q * &wd;
    let mut out = Mat::zeros(s, m);
    for i in 0..s {
        for j in 0..m {
            out.data[i * m + j] = y[(i, j)];
        }
    }
    (vals, out, "randomized")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_two_d_case() {
        // Points on the line y = x (plus a small orthogonal wiggle): first component (1,1)/sqrt2.
        let x = Mat::from_rows(&[vec![-2.0, -2.0], vec![-1.0, -1.0], vec![1.0, 1.0], vec![2.0, 2.0], vec![0.5, -0.5], vec![-0.5, 0.5]]);
        let p = pca(&x, 2, 600, 0).unwrap();
        let r = std::f64::consts::FRAC_1_SQRT_2;
        // covariance eigenvalues: along (1,1): sum of (2x)^2/2 = (8+2+2+8)/... compute by hand:
        // projections on (1,1)/sqrt2: -2.828, -1.414, 1.414, 2.828, 0, 0 -> sum sq = 20 -> var 20/5 = 4
        // on (1,-1)/sqrt2: 0,0,0,0, 0.707, -0.707 -> sum sq = 1 -> var 0.2
        assert!((p.explained_variance[0] - 4.0).abs() < 1e-12);
        assert!((p.explained_variance[1] - 0.2).abs() < 1e-12);
        assert!((p.components.at(0, 0) - r).abs() < 1e-12 && (p.components.at(0, 1) - r).abs() < 1e-12);
        // second component: +-(r, -r); which of the two equal |entries| is "largest" is decided
        // by rounding (as in scikit-learn), and that one is made positive.
        let (a, b) = (p.components.at(1, 0), p.components.at(1, 1));
        assert!((a.abs() - r).abs() < 1e-12 && (a + b).abs() < 1e-12);
        assert!(if a.abs() >= b.abs() { a > 0.0 } else { b > 0.0 });
        assert!((p.scores.at(0, 0) + 2.0 * 2f64.sqrt()).abs() < 1e-12);
        // (0.5, -0.5) on (a, b): 0.5 a - 0.5 b = a (since b = -a), i.e. +-r.
        assert!((p.scores.at(4, 1) - a).abs() < 1e-12);
        assert!((p.explained_ratio - 1.0).abs() < 1e-12);
    }

    #[test]
    fn gram_side_equals_covariance_side() {
        // n = 5 < d = 8 uses the Gram matrix; the transpose-free covariance route must agree.
        let mut rng = SplitMix64::new(3);
        let x = Mat::from_vec(5, 8, (0..40).map(|_| rng.normal()).collect());
        let g = pca(&x, 3, 600, 0).unwrap();
        // Covariance route on the same data: duplicate rows make n >= d without changing the
        // covariance directions (variance scales by (2n-1)/(n-1)... so compare directions only).
        let mut rows: Vec<Vec<f64>> = (0..5).map(|i| x.row(i).to_vec()).collect();
        rows.extend((0..5).map(|i| x.row(i).to_vec()));
        let c = pca(&Mat::from_rows(&rows), 3, 600, 0).unwrap();
        for j in 0..3 {
            for k in 0..8 {
                assert!((g.components.at(j, k) - c.components.at(j, k)).abs() < 1e-9, "component {j}");
            }
        }
        // Scores are the centred data projected on the components.
        let mean = x.column_means();
        for i in 0..5 {
            for j in 0..3 {
                let proj: f64 = (0..8).map(|k| (x.at(i, k) - mean[k]) * g.components.at(j, k)).sum();
                assert!((proj - g.scores.at(i, j)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn subspace_iteration_matches_exact() {
        let mut rng = SplitMix64::new(11);
        // A fast-decaying spectrum: the randomized solver (like scikit-learn's) is then accurate.
        let (n, d) = (60, 40);
        let x = Mat::from_vec(n, d, (0..n * d).map(|i| rng.normal() * 0.5f64.powi((i % d) as i32) * 3.0).collect());
        let e = pca(&x, 5, 600, 0).unwrap();
        let s = pca(&x, 5, 10, 7).unwrap();
        assert_eq!(s.solver, "randomized");
        for j in 0..5 {
            let rel = (e.explained_variance[j] - s.explained_variance[j]).abs() / e.explained_variance[j];
            assert!(rel < 1e-9, "variance {j}: {rel}");
            for k in 0..d {
                assert!((e.components.at(j, k) - s.components.at(j, k)).abs() < 1e-6, "component {j}");
            }
        }
        assert_eq!(s.scores, pca(&x, 5, 10, 7).unwrap().scores, "deterministic for a seed");
    }

    #[test]
    fn rejects_impossible_component_counts() {
        let x = Mat::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert!(pca(&x, 3, 600, 0).is_err());
        assert!(pca(&x, 0, 600, 0).is_err());
    }
}
