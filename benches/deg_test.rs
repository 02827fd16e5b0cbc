//! Criterion benchmark of the Anderson-Darling DEG count at Replogle's shape per gene: 10,691
//! control cells and perturbations of ~150 cells, on SYNTHETIC negative-binomial counts normalised as
//! `prepare` does (128 genes spread from 0.1 to 50 UMIs per cell, 64 perturbations). Per-test cost
//! times 1,092 perturbations x 8,563 genes gives the full screen.

use criterion::{criterion_group, criterion_main, Criterion};
use graphreach::data::deg_test::{ad_pvalues_with, normalize_factors};
use graphreach::data::sampling::neg_binomial;
use graphreach::data::CsrMatrix;
use graphreach::rng::SplitMix64;
use std::hint::black_box;

fn matrix() -> (CsrMatrix, Vec<u32>, usize) {
    let (n_ctrl, n_pert, cells, genes) = (10_691usize, 64usize, 150usize, 128usize);
    let mean: Vec<f64> = (0..genes).map(|j| 0.1 * 500f64.powf(j as f64 / (genes - 1) as f64)).collect();
    let mut rng = SplitMix64::new(7);
    let mut x = CsrMatrix { n_cols: genes, indptr: vec![0], ..Default::default() };
    let mut group = Vec::new();
    for g in 0..=n_pert {
        let n = if g == 0 { n_ctrl } else { cells };
        for _ in 0..n {
            let lib = (0.42 * rng.normal()).exp();
            for (j, &m) in mean.iter().enumerate() {
                let fold = if g > 0 && j % 7 == g % 7 { 1.5 } else { 1.0 };
                let v = neg_binomial(&mut rng, m * lib * fold, 3.0);
                if v > 0 {
                    x.indices.push(j as u32);
                    x.data.push(v as f32);
                }
            }
            x.indptr.push(x.data.len() as u64);
            group.push(g as u32);
        }
    }
    x.n_rows = group.len();
    (x, group, n_pert + 1)
}

fn bench_ad(c: &mut Criterion) {
    let (x, group, n_groups) = matrix();
    let factor = normalize_factors(&x, 1e4);
    let mut g = c.benchmark_group("deg_test");
    g.sample_size(10);
    g.bench_function("anderson_darling_64x128_vs_10691_ctrl", |b| {
        b.iter(|| black_box(ad_pvalues_with(&x, &group, n_groups, Some(&factor), false)))
    });
    g.finish();
}

criterion_group!(benches, bench_ad);
criterion_main!(benches);
