//! The simple baselines shown next to GEARS, each predicting a perturbation's mean expression:
//! no change (control mean), the mean of the training perturbations, and a linear model (kernel
//! ridge on GO-graph neighbourhood features of the perturbed genes).

use crate::gears::net::propagation::Propagation;
use std::collections::HashMap;

/// Ridge strength of the linear baseline, relative to the mean diagonal of the feature Gram matrix.
pub const RIDGE_REL_LAMBDA: f64 = 0.1;

/// Mean over training perturbations of their mean expression (unweighted); `ctrl` if none.
pub fn mean_baseline(train_means: &[&[f64]], ctrl: &[f64]) -> Vec<f64> {
    if train_means.is_empty() {
        return ctrl.to_vec();
    }
    let mut out = vec![0.0; ctrl.len()];
    for m in train_means {
        out.iter_mut().zip(m.iter()).for_each(|(a, b)| *a += b);
    }
    out.iter_mut().for_each(|v| *v /= train_means.len() as f64);
    out
}

/// GO neighbourhood feature of a perturbation: the sum over its genes of their rows of the
/// normalised GO operator (the nodes their SGConv reads, with the GEARS weights), sparse.
fn features(go: &Propagation, nodes: &[u32]) -> HashMap<u32, f64> {
    let mut f = HashMap::new();
    for &v in nodes {
        for k in go.indptr[v as usize] as usize..go.indptr[v as usize + 1] as usize {
            *f.entry(go.src[k]).or_insert(0.0) += go.w[k] as f64;
        }
    }
    f
}

fn dot(a: &HashMap<u32, f64>, b: &HashMap<u32, f64>) -> f64 {
    let (s, l) = if a.len() < b.len() { (a, b) } else { (b, a) };
    s.iter().map(|(k, v)| v * l.get(k).copied().unwrap_or(0.0)).sum()
}

/// The linear baseline: centred kernel ridge regression of the change from control on GO
/// neighbourhood features. A test perturbation sharing no GO neighbour with any training
/// perturbation gets the mean training change (the mean baseline).
pub struct LinearBaseline {
    feats: Vec<HashMap<u32, f64>>,
    alpha: Vec<Vec<f64>>,
    mean_delta: Vec<f64>,
    ctrl: Vec<f64>,
}

impl LinearBaseline {
    /// Fits on training perturbations given as (GO nodes, mean expression).
    pub fn fit(go: &Propagation, train: &[(&[u32], &[f64])], ctrl: &[f64]) -> Self {
        let g = ctrl.len();
        let n = train.len();
        let feats: Vec<HashMap<u32, f64>> = train.iter().map(|(nodes, _)| features(go, nodes)).collect();
        let deltas: Vec<Vec<f64>> = train.iter().map(|(_, m)| m.iter().zip(ctrl).map(|(a, b)| a - b).collect()).collect();
        let mut mean_delta = vec![0.0; g];
        for d in &deltas {
            mean_delta.iter_mut().zip(d).for_each(|(a, b)| *a += b / n.max(1) as f64);
        }
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = dot(&feats[i], &feats[j]);
                k[i * n + j] = v;
                k[j * n + i] = v;
            }
        }
        let lambda = RIDGE_REL_LAMBDA * (0..n).map(|i| k[i * n + i]).sum::<f64>() / n.max(1) as f64 + 1e-12;
        (0..n).for_each(|i| k[i * n + i] += lambda);
        let l = cholesky(&k, n);
        let alpha: Vec<Vec<f64>> = if n == 0 {
            Vec::new()
        } else {
            // Solve column by column for the centred targets: alpha = K^-1 (D - mean).
            let mut alpha = vec![vec![0.0; g]; n];
            for j in 0..g {
                let rhs: Vec<f64> = (0..n).map(|i| deltas[i][j] - mean_delta[j]).collect();
                let x = chol_solve(&l, n, &rhs);
                for i in 0..n {
                    alpha[i][j] = x[i];
                }
            }
            alpha
        };
        LinearBaseline { feats, alpha, mean_delta, ctrl: ctrl.to_vec() }
    }

    /// Predicted mean expression of a perturbation of the given GO nodes.
    pub fn predict(&self, go: &Propagation, nodes: &[u32]) -> Vec<f64> {
        let f = features(go, nodes);
        let mut out: Vec<f64> = self.ctrl.iter().zip(&self.mean_delta).map(|(c, d)| c + d).collect();
        for (i, fi) in self.feats.iter().enumerate() {
            let kv = dot(&f, fi);
            if kv != 0.0 {
                out.iter_mut().zip(&self.alpha[i]).for_each(|(o, a)| *o += kv * a);
            }
        }
        out
    }
}

/// Cholesky factor (lower, row-major) of a symmetric positive definite matrix.
fn cholesky(a: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            l[i * n + j] = if i == j { s.max(1e-300).sqrt() } else { s / l[j * n + j] };
        }
    }
    l
}

fn chol_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_behave() {
        let ctrl = vec![1.0, 2.0];
        let a = vec![2.0, 2.0];
        let b = vec![1.0, 4.0];
        assert_eq!(mean_baseline(&[&a, &b], &ctrl), vec![1.5, 3.0]);
        assert_eq!(mean_baseline(&[], &ctrl), ctrl);
        // Nodes 0,1 are GO neighbours; node 3 is isolated.
        let go = Propagation::from_edges(4, &[0, 1], &[1, 0], &[1.0, 1.0]).unwrap();
        let lin = LinearBaseline::fit(&go, &[(&[0], &a), (&[2], &b)], &ctrl);
        let p1 = lin.predict(&go, &[1]);
        let p3 = lin.predict(&go, &[3]);
        assert_eq!(p3, vec![1.5, 3.0], "no shared neighbour -> the mean change");
        assert!(p1[0] > 1.5 && p1[1] < 3.0, "neighbour of the first training gene leans towards it: {p1:?}");
        let l = cholesky(&[4.0, 2.0, 2.0, 3.0], 2);
        let x = chol_solve(&l, 2, &[2.0, 1.0]);
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12 && (2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
    }
}
