//! Evaluation metrics (spec §5), computed per perturbation on mean expression vectors and averaged
//! unweighted over perturbations: GEARS `mse_de` (top 20 of the full DE ranking) and IterPert
//! `mse_top20_de_non_dropout`, Pearson of the change from control (all genes, top-20 DE) and the
//! fraction of top-20 non-dropout DE genes predicted in the opposite direction, and GEARS's
//! `pearson` / `pearson_de` of the expression itself.

use crate::data::ConditionDe;
use serde::{Deserialize, Serialize};

/// Metrics of one perturbation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PertMetrics {
    /// MSE over all genes.
    pub mse: f64,
    /// MSE over the top 20 of the full DE ranking (GEARS `mse_de`).
    pub mse_de: f64,
    /// MSE over the top 20 non-dropout DE genes (IterPert).
    pub mse_top20_de_non_dropout: f64,
    /// Pearson(pred - ctrl, true - ctrl) over all genes (NaN -> 0).
    pub pearson_delta: f64,
    /// The same over the top 20 DE genes.
    pub pearson_delta_de: f64,
    /// Fraction of the top-20 non-dropout DE genes whose predicted change has the opposite sign.
    pub frac_opposite_direction_top20_non_dropout: f64,
    /// Pearson(pred, true) of the mean expression over all genes (GEARS `pearson`; NaN -> 0).
    #[serde(default)]
    pub pearson: f64,
    /// The same over the top 20 DE genes (GEARS `pearson_de`).
    #[serde(default)]
    pub pearson_de: f64,
}

/// Means over perturbations (the shape of each entry of `metrics.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Number of perturbations averaged.
    pub n_perturbations: usize,
    /// Mean `mse`.
    pub mse: f64,
    /// Mean `mse_de`.
    pub mse_de: f64,
    /// Mean `mse_top20_de_non_dropout`.
    pub mse_top20_de_non_dropout: f64,
    /// Mean `pearson_delta`.
    pub pearson_delta: f64,
    /// Mean `pearson_delta_de`.
    pub pearson_delta_de: f64,
    /// Mean `frac_opposite_direction_top20_non_dropout`.
    pub frac_opposite_direction_top20_non_dropout: f64,
    /// Mean `pearson` (GEARS).
    #[serde(default)]
    pub pearson: f64,
    /// Mean `pearson_de` (GEARS).
    #[serde(default)]
    pub pearson_de: f64,
}

/// Metrics of one perturbation from its predicted and true mean expression and the control mean.
pub fn pert_metrics(pred: &[f64], truth: &[f64], ctrl: &[f64], de: &ConditionDe) -> PertMetrics {
    let all: Vec<u32> = (0..pred.len() as u32).collect();
    let mse = |genes: &[u32]| {
        if genes.is_empty() {
            return 0.0;
        }
        genes.iter().map(|&j| (pred[j as usize] - truth[j as usize]).powi(2)).sum::<f64>() / genes.len() as f64
    };
    let pdelta = |genes: &[u32]| {
        let a: Vec<f64> = genes.iter().map(|&j| pred[j as usize] - ctrl[j as usize]).collect();
        let b: Vec<f64> = genes.iter().map(|&j| truth[j as usize] - ctrl[j as usize]).collect();
        pearson(&a, &b)
    };
    let nd = &de.top20_non_dropout;
    let opposite = nd
        .iter()
        .filter(|&&j| {
            let (p, t) = (pred[j as usize] - ctrl[j as usize], truth[j as usize] - ctrl[j as usize]);
            (p.signum() - t.signum()).abs() == 2.0 && p != 0.0 && t != 0.0
        })
        .count();
    PertMetrics {
        mse: mse(&all),
        mse_de: mse(&de.top20_de),
        mse_top20_de_non_dropout: mse(nd),
        pearson_delta: pdelta(&all),
        pearson_delta_de: pdelta(&de.top20_de),
        frac_opposite_direction_top20_non_dropout: if nd.is_empty() { 0.0 } else { opposite as f64 / nd.len() as f64 },
        pearson: pearson(pred, truth),
        pearson_de: {
            let pick = |v: &[f64]| de.top20_de.iter().map(|&j| v[j as usize]).collect::<Vec<f64>>();
            pearson(&pick(pred), &pick(truth))
        },
    }
}

/// Pearson correlation; 0 when either side has zero variance (scipy's NaN mapped to 0 as GEARS does).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if a.len() < 2 {
        return 0.0;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    let den = (saa * sbb).sqrt();
    if den > 0.0 && den.is_finite() { sab / den } else { 0.0 }
}

/// Unweighted means over perturbations.
pub fn summarise(per: &[PertMetrics]) -> MetricSummary {
    let n = per.len().max(1) as f64;
    let m = |f: &dyn Fn(&PertMetrics) -> f64| per.iter().map(f).sum::<f64>() / n;
    MetricSummary {
        n_perturbations: per.len(),
        mse: m(&|p| p.mse),
        mse_de: m(&|p| p.mse_de),
        mse_top20_de_non_dropout: m(&|p| p.mse_top20_de_non_dropout),
        pearson_delta: m(&|p| p.pearson_delta),
        pearson_delta_de: m(&|p| p.pearson_delta_de),
        frac_opposite_direction_top20_non_dropout: m(&|p| p.frac_opposite_direction_top20_non_dropout),
        pearson: m(&|p| p.pearson),
        pearson_de: m(&|p| p.pearson_de),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        let ctrl = vec![1.0, 1.0, 1.0, 1.0];
        let truth = vec![2.0, 0.0, 1.0, 3.0];
        let pred = vec![1.5, 1.5, 1.0, 2.0];
        let de = ConditionDe { top20_de: vec![0, 1], top20_non_dropout: vec![0, 1, 3], ..Default::default() };
        let m = pert_metrics(&pred, &truth, &ctrl, &de);
        assert!((m.mse - (0.25 + 2.25 + 0.0 + 1.0) / 4.0).abs() < 1e-12);
        assert!((m.mse_de - (0.25 + 2.25) / 2.0).abs() < 1e-12);
        assert!((m.mse_top20_de_non_dropout - (0.25 + 2.25 + 1.0) / 3.0).abs() < 1e-12);
        assert!((m.frac_opposite_direction_top20_non_dropout - 1.0 / 3.0).abs() < 1e-12);
        // Predicted change (0.5, 0.5) on the DE genes has no variance: NaN -> 0.
        assert_eq!(m.pearson_delta_de, 0.0);
        let all = pearson(&[0.5, 0.5, 0.0, 1.0], &[1.0, -1.0, 0.0, 2.0]);
        assert!((m.pearson_delta - all).abs() < 1e-12 && all > 0.0);
        assert!((pearson(&[0.5, 0.5], &[1.0, -1.0])).abs() < 1e-12);
        assert!((m.pearson - pearson(&pred, &truth)).abs() < 1e-12);
        assert!((m.pearson_de - pearson(&[1.5, 1.5], &[2.0, 0.0])).abs() < 1e-12);
        let s = summarise(&[m.clone(), PertMetrics::default()]);
        assert!((s.mse_de - m.mse_de / 2.0).abs() < 1e-12 && s.n_perturbations == 2);
    }
}
