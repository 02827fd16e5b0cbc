//! Share of expression variance explained by the perturbation: a one-way ANOVA per gene with the
//! conditions (controls included) as groups, on the dataset's (log-normalised) values.

use super::dataset::CsrMatrix;
use super::de::group_stats;

/// Variance explained by the condition of each cell.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct VarianceExplained {
    /// Σ_genes between-condition sum of squares / Σ_genes total sum of squares.
    pub pooled: f64,
    /// Median over genes (with non-zero variance) of the per-gene share η².
    pub median_gene: f64,
    /// Expected η² of a gene with no condition effect: (conditions − 1) / (cells − 1).
    pub chance: f64,
}

/// η² of every gene (NaN for a gene with zero total variance) and the summary.
pub fn variance_explained(x: &CsrMatrix, group: &[u32], n_groups: usize) -> (Vec<f64>, VarianceExplained) {
    let g = x.n_cols;
    let st = group_stats(x, group, n_groups);
    let n_total: usize = st.n.iter().sum();
    let mut eta = vec![f64::NAN; g];
    let (mut between_sum, mut total_sum) = (0.0, 0.0);
    for (j, e) in eta.iter_mut().enumerate() {
        let mean = (0..n_groups).map(|k| st.n[k] as f64 * st.mean[k * g + j]).sum::<f64>() / n_total as f64;
        let mut between = 0.0;
        let mut within = 0.0;
        for k in 0..n_groups {
            let (n, m, v) = (st.n[k] as f64, st.mean[k * g + j], st.var[k * g + j]);
            between += n * (m - mean) * (m - mean);
            if st.n[k] > 1 {
                within += (n - 1.0) * v;
            }
        }
        let total = between + within;
        if total > 0.0 {
            *e = between / total;
        }
        between_sum += between;
        total_sum += total;
    }
    let mut finite: Vec<f64> = eta.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let median_gene = super::deg_test::quantile(&finite, 0.5);
    let chance = (n_groups as f64 - 1.0) / (n_total as f64 - 1.0);
    (eta, VarianceExplained { pooled: between_sum / total_sum, median_gene, chance })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anova_share_matches_hand_computation() {
        // Gene 0: groups [1, 3] and [5, 7]: grand mean 4, between = 2*(2-4)^2 + 2*(6-4)^2 = 16,
        // within = 2 + 2 = 4, eta = 0.8. Gene 1 constant -> NaN, excluded from the median.
        let mut x = CsrMatrix { n_rows: 4, n_cols: 2, indptr: vec![0], ..Default::default() };
        for (v, c) in [(1.0, 2.0), (3.0, 2.0), (5.0, 2.0), (7.0, 2.0)] {
            x.indices.extend([0, 1]);
            x.data.extend([v, c]);
            x.indptr.push(x.data.len() as u64);
        }
        let (eta, s) = variance_explained(&x, &[0, 0, 1, 1], 2);
        assert!((eta[0] - 0.8).abs() < 1e-12 && eta[1].is_nan());
        assert!((s.pooled - 0.8).abs() < 1e-12 && (s.median_gene - 0.8).abs() < 1e-12);
        assert!((s.chance - 1.0 / 3.0).abs() < 1e-12);
    }
}
