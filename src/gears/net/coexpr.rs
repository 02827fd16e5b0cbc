//! The gene co-expression graph of GEARS (spec §2.2): Pearson correlation between genes over a set
//! of cells, absolute value, for every target gene the 21 largest |r| (self included, ties broken
//! like a stable ascending sort's tail) kept when |r| > 0.4; edge source = neighbour, target = gene.

use super::mat::gemm_tn_acc;
use crate::data::Dataset;

/// Neighbours considered per gene (20 plus itself).
pub const COEXPR_K: usize = 21;
/// Threshold on |r| (strict).
pub const COEXPR_THRESHOLD: f64 = 0.4;

/// Edges `(src, dst, |r|)` of the co-expression graph over the given cells.
pub fn coexpression_edges(data: &Dataset, cells: &[u32]) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let g = data.n_genes();
    let corr = abs_pearson(data, cells);
    let (mut s, mut d, mut w) = (Vec::new(), Vec::new(), Vec::new());
    let mut idx: Vec<usize> = (0..g).collect();
    for i in 0..g {
        let row = &corr[i * g..(i + 1) * g];
        idx.iter_mut().enumerate().for_each(|(k, v)| *v = k);
        idx.sort_by(|&a, &b| row[a].total_cmp(&row[b]));
        for &j in idx.iter().rev().take(COEXPR_K) {
            if row[j] > COEXPR_THRESHOLD {
                s.push(j as u32);
                d.push(i as u32);
                w.push(row[j] as f32);
            }
        }
    }
    (s, d, w)
}

/// |Pearson correlation| gene x gene (row-major, G x G), clipped to [0, 1]; genes with zero
/// variance get 0 (numpy's NaN -> 0).
pub fn abs_pearson(data: &Dataset, cells: &[u32]) -> Vec<f64> {
    let g = data.n_genes();
    let n = cells.len();
    let mut sums = vec![0f64; g];
    let mut gram = vec![0f64; g * g];
    let chunk = 512;
    let mut buf = vec![0f64; chunk * g];
    let mut row = vec![0f32; g];
    for part in cells.chunks(chunk) {
        buf[..part.len() * g].iter_mut().for_each(|v| *v = 0.0);
        for (k, &c) in part.iter().enumerate() {
            data.x.row_dense_into(c as usize, &mut row);
            for (j, &v) in row.iter().enumerate() {
                buf[k * g + j] = v as f64;
                sums[j] += v as f64;
            }
        }
        gemm_tn_acc(&buf[..part.len() * g], part.len(), g, &buf[..part.len() * g], g, &mut gram);
    }
    let nf = n.max(1) as f64;
    let mean: Vec<f64> = sums.iter().map(|s| s / nf).collect();
    let ss: Vec<f64> = (0..g).map(|j| (gram[j * g + j] - nf * mean[j] * mean[j]).max(0.0)).collect();
    let mut out = vec![0f64; g * g];
    for i in 0..g {
        for j in 0..g {
            let den = (ss[i] * ss[j]).sqrt();
            let cov = gram[i * g + j] - nf * mean[i] * mean[j];
            let r = if den > 1e-12 * nf { cov / den } else { 0.0 };
            out[i * g + j] = r.clamp(-1.0, 1.0).abs();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::CsrMatrix;

    fn dense_dataset(x: &[Vec<f32>]) -> Dataset {
        let (n, g) = (x.len(), x[0].len());
        let mut m = CsrMatrix { n_rows: n, n_cols: g, indptr: vec![0], ..Default::default() };
        for r in x {
            for (j, &v) in r.iter().enumerate() {
                if v != 0.0 {
                    m.indices.push(j as u32);
                    m.data.push(v);
                }
            }
            m.indptr.push(m.indices.len() as u64);
        }
        Dataset { x: m, ..Default::default() }
    }

    #[test]
    fn coexpression_keeps_strong_absolute_correlations_only() {
        // gene 1 = 2 * gene 0, gene 2 = -gene 0 (|r| = 1), gene 3 uncorrelated-ish, gene 4 constant.
        let base = [1.0f32, 2.0, 0.0, 3.0, 5.0, 1.0];
        let noise = [1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0];
        let x: Vec<Vec<f32>> = (0..6).map(|c| vec![base[c], 2.0 * base[c], 6.0 - base[c], noise[c], 1.0]).collect();
        let d = dense_dataset(&x);
        let cells: Vec<u32> = (0..6).collect();
        let c = abs_pearson(&d, &cells);
        assert!((c[1] - 1.0).abs() < 1e-9 && (c[2] - 1.0).abs() < 1e-9 && c[4] == 0.0 && c[4 * 5 + 4] == 0.0);
        let (s, t, _) = coexpression_edges(&d, &cells);
        let mut e: Vec<(u32, u32)> = s.into_iter().zip(t).collect();
        e.sort();
        // Genes 0..2 form a clique with self loops; gene 3 keeps only itself; gene 4 has nothing.
        let mut want: Vec<(u32, u32)> = (0..3).flat_map(|a| (0..3).map(move |b| (a, b))).collect();
        want.push((3, 3));
        let r03 = c[3];
        if r03 > COEXPR_THRESHOLD {
            want.extend([(3, 0), (0, 3), (3, 1), (1, 3), (3, 2), (2, 3)]);
        }
        want.sort();
        assert_eq!(e, want);
    }
}
