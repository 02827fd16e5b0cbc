//! ACS-FW as IterPert runs it through bmdal (spec §8.4): `selection_method='fw'`,
//! `kernel_transforms=[('acs-rf', [512, 0.1, None])]`, P-mode, linear base kernel.
//!
//! 1. Scale: s = 1 / sqrt(mean_i |x_i|^2) over the labelled rows; every row is multiplied by s.
//! 2. Posterior: L = Cholesky(X_L^T X_L + sigma^2 I), retried with a jitter that starts at
//!    1e-5 trace / d (+1e-30), is added to the matrix and doubles, at most 15 times;
//!    Sigma = L^-T L^-1 and Theta = L^-T E with E (d x F) standard normal draws.
//! 3. Random features of every pool row x: k = x^T Sigma x,
//!    phi_j = d^-1/2 (1/2 ln(1 + k / sigma^2) - (z_j^2 + k) / (2 sigma^2)), z = x^T Theta
//!    (d is the input dimension, as in bmdal).
//! 4. Frank-Wolfe over the pool: a_i = |phi_i|, r = sum a_i, u_i = phi_i / (a_i + 1e-30),
//!    T = sum phi_i, c = 0; each step scores u_i . (T - c) with picked points at -inf, takes the
//!    argmax (the first maximum; NaN counts as largest, as torch.argmax), and moves
//!    c <- (1 - g) c + g r u_j with g = <r u_j - c, T - c> / |r u_j - c|^2. If the argmax is an
//!    already picked point the rest is filled uniformly at random from the unpicked ones.
//!
//! Differences from the reference: everything is float64 (bmdal keeps float32 when the features
//! are float32, i.e. without PCA); E comes from the seeded SplitMix64 (or is given), the random
//! fill from a seeded shuffle instead of torch's global generator; Theta and k use triangular
//! solves instead of an explicit inverse (the same values up to rounding).

use super::mat::{argmax_first, dot, dot_f32, Mat, BLOCK_ROWS};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use nalgebra::{Cholesky, DMatrix};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// ACS-FW settings. Shared by the library and the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct AcsFwConfig {
    /// Random features F. Default 512 (IterPert).
    pub n_features: usize,
    /// GP noise standard deviation sigma. Default 0.1 (IterPert).
    pub sigma: f64,
}

impl Default for AcsFwConfig {
    fn default() -> Self {
        AcsFwConfig { n_features: 512, sigma: 0.1 }
    }
}

/// The standard normal draws E (d x F).
#[derive(Clone, Copy, Debug)]
pub enum Draws<'a> {
    /// Drawn from SplitMix64 with this seed, row-major (E[0,0], E[0,1], ...).
    Seeded(u64),
    /// Given (e.g. the draws a reference run used).
    Given(&'a Mat),
}

/// Result of [`acs_fw`].
#[derive(Clone, Debug)]
pub struct AcsFwOutcome {
    /// Picked pool rows in order, with the Frank-Wolfe score (None for random fill-ups).
    pub picks: Vec<(usize, Option<f64>)>,
    /// How many picks were filled at random after Frank-Wolfe stopped.
    pub filled_at_random: usize,
    /// Cholesky retries with jitter.
    pub jitter_retries: usize,
    /// The scale s.
    pub scale: f64,
    /// Seconds for scaling, Cholesky and the random features.
    pub features_s: f64,
    /// Seconds for the Frank-Wolfe loop.
    pub frank_wolfe_s: f64,
}

/// Picks `n` rows of `x_pool` given the labelled rows `x_train`. `fill_seed` seeds the random
/// fill-up that only happens when Frank-Wolfe breaks down.
pub fn acs_fw(x_train: &Mat, x_pool: &Mat, n: usize, draws: Draws<'_>, cfg: &AcsFwConfig, fill_seed: u64) -> Result<AcsFwOutcome> {
    let t0 = Instant::now();
    let d = x_pool.cols;
    let f = cfg.n_features;
    if x_train.rows == 0 {
        return Err(Error::invalid(
            "ACS-FW needs at least one labelled perturbation (its posterior and scale come from them); pass --labelled",
        ));
    }
    if n > x_pool.rows {
        return Err(Error::invalid(format!("ACS-FW: budget {n} exceeds the {} unlabelled points", x_pool.rows)));
    }
    if !(cfg.sigma > 0.0 && cfg.sigma.is_finite()) || f == 0 {
        return Err(Error::invalid("ACS-FW: sigma must be > 0 and the number of random features >= 1"));
    }
    // 1. scale from the labelled set
    let msq = (0..x_train.rows).map(|i| dot(x_train.row(i), x_train.row(i))).sum::<f64>() / x_train.rows as f64;
    if !(msq > 0.0 && msq.is_finite()) {
        return Err(Error::invalid("ACS-FW: every labelled embedding is the zero vector, so the kernel scale is undefined"));
    }
    let s = 1.0 / msq.sqrt();
    let scale = |m: &Mat| Mat { rows: m.rows, cols: m.cols, data: m.data.iter().map(|v| v * s).collect() };
    let (xt, xp) = (scale(x_train), scale(x_pool));
    // 2. posterior: L L^T = X^T X + sigma^2 I (with jitter retries)
    let sig2 = cfg.sigma * cfg.sigma;
    let xtt = transpose(&xt);
    let mut m = DMatrix::<f64>::zeros(d, d);
    for a in 0..d {
        for b in 0..=a {
            let v = dot(xtt.row(a), xtt.row(b));
            m[(a, b)] = v;
            m[(b, a)] = v;
        }
        m[(a, a)] += sig2;
    }
    let (l, jitter_retries) = robust_cholesky(m)?;
    let e = match draws {
        Draws::Given(e) => {
            if e.rows != d || e.cols != f {
                return Err(Error::invalid(format!("ACS-FW: given draws are {} x {}, expected {d} x {f}", e.rows, e.cols)));
            }
            DMatrix::from_row_slice(d, f, &e.data)
        }
        Draws::Seeded(seed) => {
            let mut rng = SplitMix64::new(seed);
            let v: Vec<f64> = (0..d * f).map(|_| rng.normal()).collect();
            DMatrix::from_row_slice(d, f, &v)
        }
    };
    let theta = l.tr_solve_lower_triangular(&e).ok_or_else(|| Error::invalid("ACS-FW: singular Cholesky factor"))?; // d x F
    let theta_t = columns_as_rows(&theta); // F x d
    // k_i = |L^-1 x_i|^2
    let w = l
        .solve_lower_triangular(&DMatrix::from_row_slice(d, xp.rows, &transpose(&xp).data))
        .ok_or_else(|| Error::invalid("ACS-FW: singular Cholesky factor"))?; // d x n
    let kvec: Vec<f64> = (0..xp.rows).map(|i| { let c = w.column(i); dot(c.as_slice(), c.as_slice()) }).collect();
    // 3. random features (n x F)
    let inv_sqrt_d = (1.0 / d as f64).sqrt();
    let half_over_sig2 = 0.5 / sig2;
    let mut phi = Mat::zeros(xp.rows, f);
    phi.data.par_chunks_mut(f).enumerate().for_each(|(i, row)| {
        let k = kvec[i];
        let c = 0.5 * (1.0 + k / sig2).ln();
        let x = xp.row(i);
        for (j, v) in row.iter_mut().enumerate() {
            let z = dot(x, theta_t.row(j));
            *v = inv_sqrt_d * (c - half_over_sig2 * (z * z + k));
        }
    });
    let features_s = t0.elapsed().as_secs_f64();
    // 4. Frank-Wolfe
    let t1 = Instant::now();
    let (picks, filled) = frank_wolfe(&phi, n, fill_seed);
    Ok(AcsFwOutcome { picks, filled_at_random: filled, jitter_retries, scale: s, features_s, frank_wolfe_s: t1.elapsed().as_secs_f64() })
}

/// The columns of a (column-major) nalgebra matrix as the rows of a [`Mat`].
fn columns_as_rows(theta: &DMatrix<f64>) -> Mat {
    let (d, f) = (theta.nrows(), theta.ncols());
    let mut out = Mat::zeros(f, d);
    for j in 0..f {
        out.row_mut(j).copy_from_slice(theta.column(j).as_slice());
    }
    out
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

/// bmdal's `robust_cholesky`: the lower factor and how many jitter retries it took.
pub fn robust_cholesky(mut m: DMatrix<f64>) -> Result<(DMatrix<f64>, usize)> {
    let d = m.nrows();
    let mut eps = 1e-5 * m.trace() / d.max(1) as f64 + 1e-30;
    for retry in 0..15 {
        if let Some(c) = Cholesky::new(m.clone()) {
            let l = c.l();
            if !l.iter().any(|v| v.is_nan()) {
                return Ok((l, retry));
            }
        }
        for i in 0..d {
            m[(i, i)] += eps;
        }
        eps *= 2.0;
    }
    Err(Error::invalid(
        "ACS-FW: the labelled Gram matrix X^T X + sigma^2 I could not be Cholesky-decomposed even with 15 jitter retries; check the embeddings for huge or degenerate values",
    ))
}

/// Frank-Wolfe in feature space over the rows of `phi`: picked rows with their scores, and how
/// many were filled at random.
pub fn frank_wolfe(phi: &Mat, n: usize, fill_seed: u64) -> (Vec<(usize, Option<f64>)>, usize) {
    let (np, f) = (phi.rows, phi.cols);
    let a: Vec<f64> = (0..np).map(|i| dot(phi.row(i), phi.row(i)).sqrt()).collect();
    let r: f64 = a.iter().sum();
    let mut u = phi.clone();
    for (i, &ai) in a.iter().enumerate() {
        let den = ai + 1e-30;
        u.row_mut(i).iter_mut().for_each(|v| *v /= den);
    }
    let mut t = vec![0.0; f];
    for i in 0..np {
        for (tj, &v) in t.iter_mut().zip(phi.row(i)) {
            *tj += v;
        }
    }
    // A float32 copy of u streams at half the memory traffic; it only pre-filters the argmax
    // (|score32 - score| <= 2^-24 |u_i| |res| with |u_i| <= 1), and the candidates within twice
    // that margin of the best are re-scored exactly, so picks and scores equal the f64 path.
    let u32: Vec<f32> = u.data.iter().map(|&v| v as f32).collect();
    let mut c = vec![0.0; f];
    let mut selected = vec![false; np];
    let mut picks: Vec<(usize, Option<f64>)> = Vec::with_capacity(n);
    let mut approx = vec![0.0; np];
    while picks.len() < n {
        let res: Vec<f64> = t.iter().zip(&c).map(|(a, b)| a - b).collect();
        approx.par_chunks_mut(BLOCK_ROWS).enumerate().for_each(|(b, out)| {
            for (k, s) in out.iter_mut().enumerate() {
                let i = b * BLOCK_ROWS + k;
                *s = if selected[i] { f64::NEG_INFINITY } else { dot_f32(&u32[i * f..(i + 1) * f], &res) };
            }
        });
        let margin = 2.0 * (1.2e-7 * dot(&res, &res).sqrt()) + f64::MIN_POSITIVE;
        let amax = approx.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exact_score = |i: usize| if selected[i] { f64::NEG_INFINITY } else { dot(u.row(i), &res) };
        let j = if approx.iter().any(|v| v.is_nan()) || !amax.is_finite() {
            // Degenerate scores: the exact argmax over everything (torch semantics).
            let all: Vec<f64> = (0..np).map(exact_score).collect();
            argmax_first(&all)
        } else {
            let mut best: Option<(usize, f64)> = None;
            for (i, &ai) in approx.iter().enumerate() {
                if ai >= amax - margin {
                    let e = exact_score(i);
                    if best.is_none_or(|(_, b)| e > b || (e.is_nan() && !b.is_nan())) {
                        best = Some((i, e));
                    }
                }
            }
            best.map(|b| b.0)
        };
        let j = match j {
            Some(j) if !selected[j] => j,
            _ => break,
        };
        let score = dot(u.row(j), &res);
        let uj = u.row(j);
        let diff: Vec<f64> = uj.iter().zip(&c).map(|(x, ci)| r * x - ci).collect();
        let gamma = dot(&diff, &res) / dot(&diff, &diff);
        let gr = gamma * r;
        for (ci, &x) in c.iter_mut().zip(uj) {
            *ci = (1.0 - gamma) * *ci + gr * x;
        }
        selected[j] = true;
        picks.push((j, Some(score)));
    }
    let missing = n - picks.len();
    if missing > 0 {
        let remaining: Vec<usize> = (0..np).filter(|&i| !selected[i]).collect();
        for p in crate::select::random::sample_without_replacement(remaining.len(), missing, fill_seed) {
            picks.push((remaining[p as usize], None));
        }
    }
    (picks, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frank_wolfe_hand_computed() {
        // phi rows: (1,0), (0,1), (1,1). a = 1, 1, sqrt2; r = 2 + sqrt2; T = (2, 2).
        // Step 1: scores u.T: 2, 2, 4/sqrt2 = 2.83 -> row 2. c = g r u_2 with
        // g = <r u, T>/<r u, r u> = (r*2.83)/(r^2) -> c = (T.u) u = (2.83) * (1,1)/sqrt2 = (2, 2) = T.
        // Step 2: residual 0 -> all scores 0 for rows 0, 1 -> the first, row 0 (score 0).
        let phi = Mat::from_rows(&[vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]]);
        let (p, filled) = frank_wolfe(&phi, 2, 0);
        assert_eq!(filled, 0);
        assert_eq!(p[0].0, 2);
        assert!((p[0].1.unwrap() - 2.0 * 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(p[1].0, 0);
        assert!(p[1].1.unwrap().abs() < 1e-12);
    }

    /// Frank-Wolfe with every score computed exactly (no float32 filter).
    fn naive_frank_wolfe(phi: &Mat, n: usize) -> Vec<(usize, Option<f64>)> {
        let (np, f) = (phi.rows, phi.cols);
        let a: Vec<f64> = (0..np).map(|i| dot(phi.row(i), phi.row(i)).sqrt()).collect();
        let r: f64 = a.iter().sum();
        let mut u = phi.clone();
        for (i, &ai) in a.iter().enumerate() {
            let den = ai + 1e-30;
            u.row_mut(i).iter_mut().for_each(|v| *v /= den);
        }
        let mut t = vec![0.0; f];
        for i in 0..np {
            for (tj, &v) in t.iter_mut().zip(phi.row(i)) {
                *tj += v;
            }
        }
        let mut c = vec![0.0; f];
        let mut picks: Vec<(usize, Option<f64>)> = Vec::new();
        for _ in 0..n {
            let res: Vec<f64> = t.iter().zip(&c).map(|(a, b)| a - b).collect();
            let scores: Vec<f64> = (0..np).map(|i| if picks.iter().any(|p| p.0 == i) { f64::NEG_INFINITY } else { dot(u.row(i), &res) }).collect();
            let j = argmax_first(&scores).unwrap();
            let diff: Vec<f64> = u.row(j).iter().zip(&c).map(|(x, ci)| r * x - ci).collect();
            let gamma = dot(&diff, &res) / dot(&diff, &diff);
            let gr = gamma * r;
            for (ci, &x) in c.iter_mut().zip(u.row(j)) {
                *ci = (1.0 - gamma) * *ci + gr * x;
            }
            picks.push((j, Some(scores[j])));
        }
        picks
    }

    #[test]
    fn float32_filter_gives_the_exact_picks_and_scores() {
        let mut rng = SplitMix64::new(8);
        let mut phi = Mat::from_vec(400, 40, (0..400 * 40).map(|_| rng.normal() - 0.5).collect());
        // exact duplicates: ties must go to the first index, as torch.argmax does
        for i in (0..400).step_by(7) {
            let src = phi.row(i / 2).to_vec();
            phi.row_mut(i).copy_from_slice(&src);
        }
        let (fast, filled) = frank_wolfe(&phi, 120, 0);
        assert_eq!(filled, 0);
        let slow = naive_frank_wolfe(&phi, 120);
        let bits = |v: &[(usize, Option<f64>)]| v.iter().map(|(i, s)| (*i, s.map(f64::to_bits))).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&slow));
    }

    #[test]
    fn cholesky_jitter_retries_on_a_singular_matrix() {
        let ok = DMatrix::from_row_slice(2, 2, &[4.0, 2.0, 2.0, 3.0]);
        let (l, r) = robust_cholesky(ok).unwrap();
        assert_eq!(r, 0);
        assert!((l[(0, 0)] - 2.0).abs() < 1e-15 && (l[(1, 0)] - 1.0).abs() < 1e-15 && (l[(1, 1)] - 2f64.sqrt()).abs() < 1e-15);
        // Rank one, negative-definite by rounding: needs jitter 1e-5 * trace / d.
        let sing = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0 - 1e-12]);
        let (_, r) = robust_cholesky(sing).unwrap();
        assert!(r >= 1);
        assert!(robust_cholesky(DMatrix::from_row_slice(1, 1, &[-1e10])).is_err());
    }

    #[test]
    fn random_features_follow_the_formula() {
        // d = 1, one labelled row (1), one pool row (2), sigma = 1, F = 1, E = [[3]].
        // s = 1; M = 1 + 1 = 2, L = sqrt2, Theta = 3/sqrt2, Sigma = 1/2.
        // x = 2: k = 4 * 1/2 = 2, z = 2 * 3/sqrt2 = 3 sqrt2, phi = 0.5 ln 3 - (18 + 2)/2 = 0.5 ln3 - 10.
        let xt = Mat::from_rows(&[vec![1.0]]);
        let xp = Mat::from_rows(&[vec![2.0], vec![0.5]]);
        let e = Mat::from_rows(&[vec![3.0]]);
        let cfg = AcsFwConfig { n_features: 1, sigma: 1.0 };
        let out = acs_fw(&xt, &xp, 1, Draws::Given(&e), &cfg, 0).unwrap();
        // phi(2) = 0.5 ln 3 - 10 = -9.45; phi(0.5): k = 0.125, z = 0.75 sqrt2 -> z^2 = 1.125,
        // phi = 0.5 ln 1.125 - 0.625 = -0.566. T = -10.02; scores = sign(phi) * T > 0 for both:
        // u = -1 for both -> scores equal (10.02) -> the first, row 0.
        assert_eq!(out.picks[0].0, 0);
        let t = (0.5 * 3f64.ln() - 10.0) + (0.5 * 1.125f64.ln() - 0.625);
        assert!((out.picks[0].1.unwrap() + t).abs() < 1e-12);
        assert_eq!(out.scale, 1.0);
    }

    #[test]
    fn no_labelled_rows_is_a_clear_error() {
        let e = acs_fw(&Mat::zeros(0, 2), &Mat::zeros(3, 2), 1, Draws::Seeded(0), &AcsFwConfig::default(), 0).unwrap_err();
        assert!(e.to_string().contains("at least one labelled"));
    }
}
