//! The numerics of preprocessing, matching scanpy: `normalize_total` + `log1p`, `seurat`-flavour
//! highly-variable genes, per-group means/variances, and the `rank_genes_groups` Welch t-test
//! against the control group with the GEARS-derived lists (spec §1.2).

use super::dataset::{ConditionDe, CsrMatrix};
use rayon::prelude::*;

/// scanpy `normalize_total(target_sum)` followed by `log1p`, in place. A cell with no counts stays 0.
pub fn normalize_log1p(x: &mut CsrMatrix, target_sum: f64) {
    let indptr = x.indptr.clone();
    let mut rows: Vec<&mut [f32]> = Vec::with_capacity(x.n_rows);
    let mut rest: &mut [f32] = &mut x.data;
    for r in 0..x.n_rows {
        let len = (indptr[r + 1] - indptr[r]) as usize;
        let (a, b) = rest.split_at_mut(len);
        rows.push(a);
        rest = b;
    }
    rows.par_iter_mut().for_each(|row| {
        let total: f64 = row.iter().map(|&v| v as f64).sum();
        let f = if total > 0.0 { target_sum / total } else { 1.0 };
        for v in row.iter_mut() {
            *v = ((*v as f64) * f).ln_1p() as f32;
        }
    });
}

/// Per-gene mean and unbiased variance (ddof = 1) of `f(x)` over all rows, in f64.
/// `f` is applied to stored values; implicit zeros contribute `f(0) = 0`.
pub fn column_mean_var(x: &CsrMatrix, f: impl Fn(f32) -> f64 + Sync) -> (Vec<f64>, Vec<f64>) {
    let g = x.n_cols;
    let (s, s2) = (0..x.n_rows)
        .into_par_iter()
        .fold(
            || (vec![0f64; g], vec![0f64; g]),
            |(mut s, mut s2), r| {
                let (c, v) = x.row(r);
                for (&j, &val) in c.iter().zip(v) {
                    let y = f(val);
                    s[j as usize] += y;
                    s2[j as usize] += y * y;
                }
                (s, s2)
            },
        )
        .reduce(
            || (vec![0f64; g], vec![0f64; g]),
            |(mut a, mut a2), (b, b2)| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a2.iter_mut().zip(&b2).for_each(|(x, y)| *x += y);
                (a, a2)
            },
        );
    let n = x.n_rows as f64;
    mean_var_from_sums(&s, &s2, n)
}

fn mean_var_from_sums(s: &[f64], s2: &[f64], n: f64) -> (Vec<f64>, Vec<f64>) {
    let mean: Vec<f64> = s.iter().map(|&v| v / n).collect();
    let var = s2
        .iter()
        .zip(&mean)
        .map(|(&q, &m)| if n > 1.0 { ((q / n - m * m) * n / (n - 1.0)).max(0.0) } else { f64::NAN })
        .collect();
    (mean, var)
}

/// scanpy `highly_variable_genes(flavor='seurat')` normalised dispersions on log1p data:
/// mean/variance of `expm1(x)`, dispersion = log(var/mean), `log1p(mean)` cut into 20 equal-width
/// bins (pandas `cut`), z-scored within each bin (a one-gene bin gets mean 0 and std = its value).
/// Genes with zero dispersion get NaN.
pub fn seurat_dispersions(x: &CsrMatrix) -> Vec<f64> {
    let (mean, var) = column_mean_var(x, |v| (v as f64).exp_m1());
    let g = mean.len();
    let mut disp = vec![f64::NAN; g];
    let mut lmean = vec![0f64; g];
    for j in 0..g {
        let m = if mean[j] == 0.0 { 1e-12 } else { mean[j] };
        let d = var[j] / m;
        disp[j] = if d == 0.0 || d.is_nan() { f64::NAN } else { d.ln() };
        lmean[j] = m.ln_1p();
    }
    let bins = cut_bins(&lmean, 20);
    let mut sum = [0f64; 20];
    let mut sum2 = [0f64; 20];
    let mut cnt = [0usize; 20];
    for j in 0..g {
        if !disp[j].is_nan() {
            sum[bins[j]] += disp[j];
            sum2[bins[j]] += disp[j] * disp[j];
            cnt[bins[j]] += 1;
        }
    }
    let mut bmean = [f64::NAN; 20];
    let mut bstd = [f64::NAN; 20];
    for b in 0..20 {
        if cnt[b] > 0 {
            let n = cnt[b] as f64;
            bmean[b] = sum[b] / n;
            if cnt[b] > 1 {
                bstd[b] = ((sum2[b] - n * bmean[b] * bmean[b]) / (n - 1.0)).max(0.0).sqrt();
            } else {
                bstd[b] = bmean[b];
                bmean[b] = 0.0;
            }
        }
    }
    (0..g).map(|j| (disp[j] - bmean[bins[j]]) / bstd[bins[j]]).collect()
}

/// pandas `cut(values, bins=k)`: k equal-width right-closed bins over [min, max], the first edge
/// lowered by 0.1% of the range. Returns the bin of each value.
pub fn cut_bins(values: &[f64], k: usize) -> Vec<usize> {
    let mn = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mx = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.is_empty() || mx <= mn {
        return vec![0; values.len()];
    }
    let edges: Vec<f64> = (0..=k).map(|i| mn + (mx - mn) * i as f64 / k as f64).collect();
    values
        .iter()
        .map(|&v| {
            // First edge index i (1..=k) with v <= edges[i]; bin = i - 1.
            let i = edges[1..].partition_point(|&e| e < v);
            i.min(k - 1)
        })
        .collect()
}

/// The `n_top` genes with the largest normalised dispersion (NaN last, ties by index), sorted.
pub fn top_dispersed(norm: &[f64], n_top: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..norm.len() as u32).filter(|&j| !norm[j as usize].is_nan()).collect();
    order.sort_by(|&a, &b| norm[b as usize].total_cmp(&norm[a as usize]).then(a.cmp(&b)));
    order.truncate(n_top);
    order.sort_unstable();
    order
}

/// Per-group sums: for each group, the count of cells and per-gene mean and variance (ddof 1).
pub struct GroupStats {
    /// Cells per group.
    pub n: Vec<usize>,
    /// Row-major groups x genes means.
    pub mean: Vec<f64>,
    /// Row-major groups x genes variances (ddof = 1; NaN for a one-cell group).
    pub var: Vec<f64>,
}

/// Means and variances of every gene within every group of cells (`group[c]` = group of cell c).
pub fn group_stats(x: &CsrMatrix, group: &[u32], n_groups: usize) -> GroupStats {
    let g = x.n_cols;
    let mut n = vec![0usize; n_groups];
    for &k in group {
        n[k as usize] += 1;
    }
    // Cells grouped so each group's rows are summed by one task (no shared accumulators).
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_groups];
    for (c, &k) in group.iter().enumerate() {
        members[k as usize].push(c as u32);
    }
    let per: Vec<(Vec<f64>, Vec<f64>)> = members
        .par_iter()
        .map(|cells| {
            let mut s = vec![0f64; g];
            let mut s2 = vec![0f64; g];
            for &c in cells {
                let (cols, vals) = x.row(c as usize);
                for (&j, &v) in cols.iter().zip(vals) {
                    let v = v as f64;
                    s[j as usize] += v;
                    s2[j as usize] += v * v;
                }
            }
            mean_var_from_sums(&s, &s2, cells.len() as f64)
        })
        .collect();
    let mut mean = Vec::with_capacity(n_groups * g);
    let mut var = Vec::with_capacity(n_groups * g);
    for (m, v) in per {
        mean.extend(m);
        var.extend(v);
    }
    GroupStats { n, mean, var }
}

/// Welch t score as scanpy computes it; NaN (both variances zero) becomes 0.
pub fn welch_t(m1: f64, v1: f64, n1: usize, m2: f64, v2: f64, n2: usize) -> f64 {
    let denom = (v1 / n1 as f64 + v2 / n2 as f64).sqrt();
    let t = (m1 - m2) / denom;
    if t.is_nan() {
        0.0
    } else {
        t
    }
}

/// Gene indices ranked by |score| descending, ties by gene index.
pub fn rank_by_abs(scores: &[f64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.sort_by(|&a, &b| scores[b as usize].abs().total_cmp(&scores[a as usize].abs()).then(a.cmp(&b)));
    order
}

/// The GEARS DE entries of one condition from its ranked genes and the condition and control means.
pub fn condition_de(ranked: Vec<u32>, mean_p: &[f64], mean_ctrl: &[f64]) -> ConditionDe {
    let non_zeros: Vec<u32> = (0..mean_p.len() as u32).filter(|&j| mean_p[j as usize] != 0.0).collect();
    let non_dropout: Vec<u32> = (0..mean_p.len() as u32)
        .filter(|&j| mean_p[j as usize] != 0.0 || mean_ctrl[j as usize] == 0.0)
        .collect();
    let nz = |j: u32| mean_p[j as usize] != 0.0;
    let nd = |j: u32| nz(j) || mean_ctrl[j as usize] == 0.0;
    let top20_de = ranked.iter().copied().take(20).collect();
    let top20_non_dropout = ranked.iter().copied().filter(|&j| nd(j)).take(20).collect();
    let top20_non_zero = ranked.iter().copied().filter(|&j| nz(j)).take(20).collect();
    ConditionDe { ranked, top20_de, top20_non_dropout, top20_non_zero, non_zeros, non_dropout }
}

/// Welch t scores of group `p` against group `r` for every gene.
pub fn scores_against(st: &GroupStats, p: usize, r: usize, n_genes: usize) -> Vec<f64> {
    let (mp, vp) = (&st.mean[p * n_genes..(p + 1) * n_genes], &st.var[p * n_genes..(p + 1) * n_genes]);
    let (mr, vr) = (&st.mean[r * n_genes..(r + 1) * n_genes], &st.var[r * n_genes..(r + 1) * n_genes]);
    (0..n_genes).map(|j| welch_t(mp[j], vp[j], st.n[p], mr[j], vr[j], st.n[r])).collect()
}

/// DE of every condition against `ctrl` (index 0) on log-normalised `x`; also the group means.
pub fn compute_de(x: &CsrMatrix, cell_condition: &[u32], n_cond: usize) -> (Vec<ConditionDe>, GroupStats) {
    let st = group_stats(x, cell_condition, n_cond);
    let g = x.n_cols;
    let out: Vec<ConditionDe> = (0..n_cond)
        .into_par_iter()
        .map(|p| {
            if p == 0 {
                return ConditionDe::default();
            }
            let scores = scores_against(&st, p, 0, g);
            condition_de(rank_by_abs(&scores), &st.mean[p * g..(p + 1) * g], &st.mean[..g])
        })
        .collect();
    (out, st)
}

/// Complementary error function (Numerical Recipes `erfcc`, relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * (-z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
        .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Number of DEGs of every condition against `ctrl`: genes whose two-sided Welch p-value (normal
/// approximation of t) is below `alpha / n_genes` (Bonferroni). Index 0 (`ctrl`) is 0.
pub fn deg_counts(st: &GroupStats, n_genes: usize, alpha: f64) -> Vec<usize> {
    let cut = alpha / n_genes as f64;
    (0..st.n.len())
        .map(|p| {
            if p == 0 {
                return 0;
            }
            scores_against(st, p, 0, n_genes).iter().filter(|t| erfc(t.abs() / std::f64::consts::SQRT_2) < cut).count()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(rows: &[&[f32]]) -> CsrMatrix {
        let mut m = CsrMatrix { n_rows: rows.len(), n_cols: rows[0].len(), indptr: vec![0], ..Default::default() };
        for r in rows {
            for (j, &v) in r.iter().enumerate() {
                if v != 0.0 {
                    m.indices.push(j as u32);
                    m.data.push(v);
                }
            }
            m.indptr.push(m.data.len() as u64);
        }
        m
    }

    #[test]
    fn normalize_matches_hand_values() {
        let mut m = csr(&[&[1.0, 3.0], &[0.0, 0.0], &[5.0, 0.0]]);
        normalize_log1p(&mut m, 1e4);
        assert!((m.data[0] as f64 - 2501f64.ln()).abs() < 1e-4);
        assert!((m.data[1] as f64 - 7501f64.ln()).abs() < 1e-4);
        assert!((m.data[2] as f64 - 10001f64.ln()).abs() < 1e-4);
    }

    #[test]
    fn welch_t_matches_hand_computation() {
        // Group A = [1, 2, 3, 4] (mean 2.5, var 5/3), ctrl = [0, 0, 1] (mean 1/3, var 1/3).
        let m = csr(&[&[1.0], &[2.0], &[3.0], &[4.0], &[0.0], &[0.0], &[1.0]]);
        let st = group_stats(&m, &[1, 1, 1, 1, 0, 0, 0], 2);
        assert!((st.mean[1] - 2.5).abs() < 1e-12 && (st.var[1] - 5.0 / 3.0).abs() < 1e-12);
        assert!((st.mean[0] - 1.0 / 3.0).abs() < 1e-12 && (st.var[0] - 1.0 / 3.0).abs() < 1e-12);
        let t = scores_against(&st, 1, 0, 1)[0];
        let hand = (2.5 - 1.0 / 3.0) / ((5.0 / 3.0) / 4.0 + (1.0 / 3.0) / 3.0f64).sqrt();
        assert!((t - hand).abs() < 1e-12, "{t} vs {hand}");
        // Same value from an independent Python computation (statistics with ddof=1).
        assert!((t - 2.9824045403173027).abs() < 1e-9);
        // Zero variance on both sides gives NaN in scipy; scanpy turns it into 0.
        assert_eq!(welch_t(1.0, 0.0, 3, 1.0, 0.0, 3), 0.0);
    }

    #[test]
    fn ranking_and_lists_follow_gears() {
        let ranked = rank_by_abs(&[0.5, -3.0, 2.0, 0.0]);
        assert_eq!(ranked, vec![1, 2, 0, 3]);
        // gene 1: zero under p, non-zero in ctrl -> dropout; gene 3 zero in both -> true zero.
        let de = condition_de(ranked, &[1.0, 0.0, 2.0, 0.0], &[1.0, 0.5, 1.0, 0.0]);
        assert_eq!(de.non_zeros, vec![0, 2]);
        assert_eq!(de.non_dropout, vec![0, 2, 3]);
        assert_eq!(de.top20_non_dropout, vec![2, 0, 3]);
        assert_eq!(de.top20_non_zero, vec![2, 0]);
        assert_eq!(de.top20_de, vec![1, 2, 0, 3]);
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        assert!((erfc(3.0) / 2.209_049_7e-5 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn cut_bins_are_right_closed_equal_width() {
        let b = cut_bins(&[0.0, 1.0, 2.0, 10.0, 5.0, 5.5], 10);
        assert_eq!(b, vec![0, 0, 1, 9, 4, 5]);
    }

    #[test]
    fn seurat_dispersion_one_gene_bin_and_selection() {
        // Three genes; the constant gene has zero variance -> NaN and is never selected.
        let m = csr(&[&[1.0, 2.0, 1.0], &[0.0, 0.1, 1.0], &[3.0, 2.5, 1.0], &[0.0, 0.0, 1.0]]);
        let d = seurat_dispersions(&m);
        assert!(d[2].is_nan());
        let top = top_dispersed(&d, 5);
        assert_eq!(top, vec![0, 1]);
    }
}
