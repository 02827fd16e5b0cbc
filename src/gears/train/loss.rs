//! GEARS training loss (spec §4.2): autofocus `(ŷ - y)^4` per condition on its non-zero genes
//! (control: all genes), averaged over the condition's cells and genes, then over the distinct
//! conditions of the batch. The direction term has zero gradient and is only reported.

use crate::gears::net::mat::{Mat, Real};

/// Default weight of the (logged) direction term (`direction_lambda` in GEARS `model_initialize`).
pub const DIRECTION_LAMBDA: f64 = 0.1;

/// One cell of a training batch as the loss sees it.
#[derive(Clone, Debug)]
pub struct LossCell<'a> {
    /// Row of δ (its group).
    pub group: usize,
    /// Condition index (cells are grouped by condition for the averaging).
    pub condition: u32,
    /// Genes the loss covers for this cell's condition; `None` = all genes (control).
    pub genes: Option<&'a [u32]>,
}

/// Loss value, logged direction term and gradient with respect to δ (summed per group).
#[derive(Clone, Debug)]
pub struct LossOut<T> {
    /// Autofocus loss (what is optimised).
    pub loss: f64,
    /// `DIRECTION_LAMBDA` times the direction term (reported only).
    pub direction: f64,
    /// d loss / d δ, groups x G.
    pub d_delta: Mat<T>,
}

/// Computes the loss of predictions `ŷ_b = δ[group(b)] + x_b` against `y_b`.
/// `x`, `y` are cells x G; `ctrl_mean` is the mean of all control cells (direction term).
pub fn autofocus_loss<T: Real>(delta: &Mat<T>, cells: &[LossCell], x: &Mat<T>, y: &Mat<T>, ctrl_mean: &[T]) -> LossOut<T> {
    let g = delta.cols;
    let mut conds: Vec<u32> = cells.iter().map(|c| c.condition).collect();
    conds.sort_unstable();
    conds.dedup();
    let n_cond = conds.len() as f64;
    let count = |p: u32| cells.iter().filter(|c| c.condition == p).count() as f64;
    let counts: Vec<f64> = conds.iter().map(|&p| count(p)).collect();
    let mut d_delta = Mat::zeros(delta.rows, g);
    let (mut loss, mut dir) = (0.0f64, 0.0f64);
    let all: Vec<u32> = (0..g as u32).collect();
    for (b, cell) in cells.iter().enumerate() {
        let genes = cell.genes.unwrap_or(&all);
        if genes.is_empty() {
            continue;
        }
        let n_p = counts[conds.binary_search(&cell.condition).expect("condition")];
        let scale = 1.0 / (n_cond * n_p * genes.len() as f64);
        let (xr, yr, dr) = (x.row(b), y.row(b), delta.row(cell.group));
        let (mut l, mut dsum) = (0.0f64, 0.0f64);
        let drow = d_delta.row_mut(cell.group);
        for &j in genes {
            let j = j as usize;
            let pred = dr[j] + xr[j];
            let e = (pred - yr[j]).to_f64();
            l += e * e * e * e;
            drow[j] += T::from_f64(4.0 * e * e * e * scale);
            let sy = sign((yr[j] - ctrl_mean[j]).to_f64());
            let sp = sign((pred - ctrl_mean[j]).to_f64());
            dsum += (sy - sp) * (sy - sp);
        }
        loss += l * scale;
        dir += DIRECTION_LAMBDA * dsum * scale;
    }
    LossOut { loss, direction: dir, d_delta }
}

/// `torch.sign`: -1, 0 or 1.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gears::net::ops::tests::{check_grad, randm};
    use crate::rng::SplitMix64;

    #[test]
    fn autofocus_loss_value_and_gradient() {
        let mut rng = SplitMix64::new(11);
        let delta = randm(2, 4, &mut rng);
        let x = randm(3, 4, &mut rng);
        let y = randm(3, 4, &mut rng);
        let genes_a = [0u32, 2];
        let cells = vec![
            LossCell { group: 0, condition: 5, genes: Some(&genes_a) },
            LossCell { group: 0, condition: 5, genes: Some(&genes_a) },
            LossCell { group: 1, condition: 0, genes: None },
        ];
        let mu = vec![0.0; 4];
        let out = autofocus_loss(&delta, &cells, &x, &y, &mu);
        // By hand: mean over 2 conditions of (mean over cells and genes of e^4).
        let e = |b: usize, gr: usize, j: usize| delta.row(gr)[j] + x.row(b)[j] - y.row(b)[j];
        let la: f64 = [0usize, 1].iter().flat_map(|&b| genes_a.iter().map(move |&j| (b, j as usize))).map(|(b, j)| e(b, 0, j).powi(4)).sum::<f64>() / 4.0;
        let lc: f64 = (0..4).map(|j| e(2, 1, j).powi(4)).sum::<f64>() / 4.0;
        assert!((out.loss - (la + lc) / 2.0).abs() < 1e-12);
        assert!(out.direction >= 0.0);
        check_grad("delta", &delta.data, &out.d_delta.data, &mut |v| {
            autofocus_loss(&Mat::from_vec(2, 4, v.to_vec()), &cells, &x, &y, &mu).loss
        });
    }
}
