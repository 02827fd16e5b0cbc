//! Differentially expressed genes per perturbation, counted the way the real Replogle 2022 statistic
//! was counted (`Number of DEGs (anderson-darling)` of their Table S2): for every perturbation and
//! every measured gene, `scipy.stats.anderson_ksamp([perturbed cells, control cells])` (midrank,
//! SciPy's capped p-value, [`super::anderson`]), then Benjamini-Hochberg at 0.05 as statsmodels'
//! `multipletests(method='fdr_bh')` does it. The family is every (perturbation, gene) test of the
//! screen by default ([`FdrScope::Screen`]); SIMULATOR.md explains why the real table implies it.
//! The older count (Welch t, normal approximation, Bonferroni) stays available as [`DegTest::Welch`].
//!
//! The AD test is rank based, so it gives the same answer on raw-normalised or log-normalised
//! values. Control values of a gene are sorted once and every perturbation is merged against them;
//! zeros are one tied value; genes are processed in column blocks, in parallel.

use super::anderson::{distinct_with_zeros, null_sigma, ControlColumn, PValueTable};
use super::dataset::CsrMatrix;
use rayon::prelude::*;

/// Which test counts DEGs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DegTest {
    /// Two-sample Anderson-Darling per gene vs control (SciPy), Benjamini-Hochberg (Replogle 2022).
    AndersonDarling,
    /// Welch t per gene vs control, two-sided normal-approximation p < alpha / genes (Bonferroni).
    Welch,
}

/// The family over which Benjamini-Hochberg controls the false discovery rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum FdrScope {
    /// All (perturbation, gene) tests of the dataset at once (default).
    Screen,
    /// Each perturbation's genes separately.
    Perturbation,
}

/// How DEGs are counted.
#[derive(Clone, Copy, Debug)]
pub struct DegConfig {
    /// The test (default Anderson-Darling).
    pub test: DegTest,
    /// FDR family of the Anderson-Darling count (default screen); Welch always uses Bonferroni per perturbation.
    pub fdr: FdrScope,
    /// Significance level (default 0.05).
    pub alpha: f64,
}

impl Default for DegConfig {
    fn default() -> Self {
        DegConfig { test: DegTest::AndersonDarling, fdr: FdrScope::Screen, alpha: 0.05 }
    }
}

/// Genes per column block: bounds the memory of the transposed block.
const BLOCK: usize = 256;

/// Anderson-Darling p-values of every group `1..n_groups` against group 0 (the controls), for every
/// gene: row-major `(n_groups − 1) × genes`. A test SciPy would refuse (a single distinct value in
/// both groups together, or fewer than 4 cells) gets p = 1.
pub fn ad_pvalues(x: &CsrMatrix, group: &[u32], n_groups: usize, progress: bool) -> Vec<f64> {
    ad_pvalues_with(x, group, n_groups, None, progress)
}

/// Per-cell factors of scanpy's `normalize_total(target_sum)` on raw counts (as
/// [`super::de::normalize_log1p`] computes them).
pub fn normalize_factors(counts: &CsrMatrix, target_sum: f64) -> Vec<f64> {
    (0..counts.n_rows)
        .map(|r| {
            let total: f64 = counts.row(r).1.iter().map(|&v| v as f64).sum();
            if total > 0.0 {
                target_sum / total
            } else {
                1.0
            }
        })
        .collect()
}

/// [`ad_pvalues`] of raw counts normalised on the fly: cell r's value v is tested as
/// `ln(1 + v·factor[r])` in f32, exactly what `prepare` stores, without a normalised copy.
pub fn ad_pvalues_with(x: &CsrMatrix, group: &[u32], n_groups: usize, factor: Option<&[f64]>, progress: bool) -> Vec<f64> {
    let g_total = x.n_cols;
    let mut size = vec![0usize; n_groups];
    for &k in group {
        size[k as usize] += 1;
    }
    let table = PValueTable::two_sample();
    let sigma: Vec<f64> = (0..n_groups).map(|p| if p > 0 && size[p] + size[0] >= 4 { null_sigma(size[p], size[0]) } else { f64::NAN }).collect();
    let mut out = vec![1.0f64; n_groups.saturating_sub(1) * g_total];
    let mut cursor: Vec<usize> = (0..x.n_rows).map(|r| x.indptr[r] as usize).collect();
    let bar = if progress { indicatif::ProgressBar::new(g_total as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_message("Anderson-Darling tests");
    for c0 in (0..g_total).step_by(BLOCK) {
        let c1 = (c0 + BLOCK).min(g_total);
        // Transpose the block: per gene, (group, value) of its stored entries.
        let mut cols: Vec<Vec<(u32, f32)>> = vec![Vec::new(); c1 - c0];
        for r in 0..x.n_rows {
            let end = x.indptr[r + 1] as usize;
            let mut k = cursor[r];
            while k < end && (x.indices[k] as usize) < c1 {
                let v = match factor {
                    Some(f) => ((x.data[k] as f64) * f[r]).ln_1p() as f32,
                    None => x.data[k],
                };
                cols[x.indices[k] as usize - c0].push((group[r], v));
                k += 1;
            }
            cursor[r] = k;
        }
        let block: Vec<Vec<f64>> = cols.par_iter().map(|entries| gene_pvalues(entries, &size, &sigma, &table)).collect();
        for (j, ps) in block.into_iter().enumerate() {
            for (p, v) in ps.into_iter().enumerate() {
                out[p * g_total + c0 + j] = v;
            }
        }
        bar.inc((c1 - c0) as u64);
    }
    bar.finish_and_clear();
    out
}

/// p-values of one gene for groups 1.. from its stored (group, value) entries.
fn gene_pvalues(entries: &[(u32, f32)], size: &[usize], sigma: &[f64], table: &PValueTable) -> Vec<f64> {
    let n_groups = size.len();
    let mut start = vec![0usize; n_groups + 1];
    for &(k, _) in entries {
        start[k as usize + 1] += 1;
    }
    for k in 0..n_groups {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut vals = vec![0f32; entries.len()];
    for &(k, v) in entries {
        vals[fill[k as usize]] = v;
        fill[k as usize] += 1;
    }
    let mut ctrl = vals[start[0]..start[1]].to_vec();
    let ctrl_zero = size[0] - ctrl.len();
    let col = ControlColumn::new(&distinct_with_zeros(&mut ctrl, ctrl_zero));
    let mut buf = Vec::new();
    (1..n_groups)
        .map(|p| {
            buf.clear();
            buf.extend_from_slice(&vals[start[p]..start[p + 1]]);
            let zeros = size[p] - buf.len();
            let sample = distinct_with_zeros(&mut buf, zeros);
            if sigma[p].is_nan() {
                return 1.0;
            }
            col.test(&sample, sigma[p], table).map_or(1.0, |r| r.pvalue)
        })
        .collect()
}

/// The Benjamini-Hochberg rejection threshold of `pvalues` at level `alpha` as statsmodels'
/// `fdr_bh` finds it: the largest sorted p(k) with p(k) ≤ (k / m)·alpha. Every p ≤ the threshold
/// is rejected; `None` when nothing is.
pub fn bh_threshold(pvalues: &[f64], alpha: f64) -> Option<f64> {
    let mut s: Vec<f64> = pvalues.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let m = s.len() as f64;
    (0..s.len()).rev().find(|&i| s[i] <= ((i + 1) as f64 / m) * alpha).map(|i| s[i])
}

/// DEG count of every perturbation group from a row-major `(groups − 1) × genes` p-value matrix.
pub fn bh_counts(pvalues: &[f64], n_genes: usize, alpha: f64, scope: FdrScope) -> Vec<usize> {
    if n_genes == 0 {
        return Vec::new();
    }
    let count = |row: &[f64], t: Option<f64>| t.map_or(0, |t| row.iter().filter(|&&p| p <= t).count());
    match scope {
        FdrScope::Screen => {
            let t = bh_threshold(pvalues, alpha);
            pvalues.chunks(n_genes).map(|row| count(row, t)).collect()
        }
        FdrScope::Perturbation => pvalues.chunks(n_genes).map(|row| count(row, bh_threshold(row, alpha))).collect(),
    }
}

/// DEG counts of every group against group 0 (index 0, the controls, gets 0).
pub fn deg_counts(x: &CsrMatrix, group: &[u32], n_groups: usize, cfg: &DegConfig, progress: bool) -> Vec<usize> {
    match cfg.test {
        DegTest::Welch => {
            let st = super::de::group_stats(x, group, n_groups);
            super::de::deg_counts(&st, x.n_cols, cfg.alpha)
        }
        DegTest::AndersonDarling => {
            let p = ad_pvalues(x, group, n_groups, progress);
            let mut out = vec![0];
            out.extend(bh_counts(&p, x.n_cols, cfg.alpha, cfg.fdr));
            out
        }
    }
}

/// Linear-interpolation quantile (numpy's default) of ascending `sorted`; NaN when empty.
pub fn quantile(sorted: &[f64], f: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * f;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo as f64)
}

/// min, 25%, median, 75%, max and mean of `values` (quantiles as [`quantile`]).
pub fn summary(values: &[f64]) -> [f64; 6] {
    let mut d = values.to_vec();
    d.sort_by(f64::total_cmp);
    if d.is_empty() {
        return [f64::NAN; 6];
    }
    [d[0], quantile(&d, 0.25), quantile(&d, 0.5), quantile(&d, 0.75), d[d.len() - 1], d.iter().sum::<f64>() / d.len() as f64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_matches_statsmodels_rule() {
        // p sorted: 0.001 0.008 0.039 0.041 0.042 0.06 0.074 0.205; m = 8, alpha 0.05:
        // k/m*alpha = .00625 .0125 .01875 .025 .03125 .0375 .04375 .05 -> largest k with p <= is 2.
        let p = [0.042, 0.001, 0.06, 0.008, 0.205, 0.039, 0.041, 0.074];
        assert_eq!(bh_threshold(&p, 0.05), Some(0.008));
        assert_eq!(bh_counts(&p, 4, 0.05, FdrScope::Screen), vec![2, 0]);
        // Per row: [0.042 0.001 0.06 0.008] -> thresholds .0125 .025 .0375 .05: k = 2 (0.008 <= .025).
        // [0.205 0.039 0.041 0.074] -> nothing. (Screen-wide, 0.001 and 0.008 are both in row 0.)
        assert_eq!(bh_counts(&p, 4, 0.05, FdrScope::Perturbation), vec![2, 0]);
        assert_eq!(bh_threshold(&[0.5, 0.9], 0.05), None);
        // Ties at the threshold are all rejected.
        assert_eq!(bh_counts(&[0.001; 10], 10, 0.05, FdrScope::Screen), vec![10]);
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert_eq!(summary(&[4.0, 1.0, 3.0, 2.0])[2], 2.5);
    }

    #[test]
    fn dataset_path_matches_the_reference_test() {
        // 3 groups, 5 genes, control = group 0; values with zeros and ties.
        let rows: Vec<(u32, [f32; 5])> = (0..60)
            .map(|i| {
                let g = if i < 36 { 0 } else if i < 50 { 1 } else { 2 };
                let v = |k: u32| if (i * 7 + k * 3).is_multiple_of(4) { 0.0 } else { ((i * (k + 1) + g * k) % 5) as f32 * 0.5 };
                (g, [v(0), v(1), v(2), 0.0, if g == 2 { 3.0 } else { v(4) }])
            })
            .collect();
        let mut x = CsrMatrix { n_rows: rows.len(), n_cols: 5, indptr: vec![0], ..Default::default() };
        for (_, r) in &rows {
            for (j, &v) in r.iter().enumerate() {
                if v != 0.0 {
                    x.indices.push(j as u32);
                    x.data.push(v);
                }
            }
            x.indptr.push(x.data.len() as u64);
        }
        let group: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let p = ad_pvalues(&x, &group, 3, false);
        for pg in 1..3u32 {
            for j in 0..5 {
                let a: Vec<f64> = rows.iter().filter(|r| r.0 == pg).map(|r| r.1[j] as f64).collect();
                let b: Vec<f64> = rows.iter().filter(|r| r.0 == 0).map(|r| r.1[j] as f64).collect();
                let want = super::super::anderson::anderson_ksamp(&a, &b).map_or(1.0, |r| r.pvalue);
                assert!((p[(pg as usize - 1) * 5 + j] - want).abs() < 1e-12, "group {pg} gene {j}");
            }
        }
        // Gene 3 is all zero: p = 1.
        assert_eq!(p[3], 1.0);
    }
}
