//! Small seeded Perturb-seq datasets with a planted perturbation effect, for the trainer's tests and
//! benchmarks (not the `graphreach simulate` presets): control expression per gene, a common
//! response shared by every perturbation plus a response shared by perturbations of the same
//! module (a block of the gene list, e.g. GO neighbours), sparse counts with drop-outs, DE
//! statistics computed as GEARS preprocessing does (Welch t ranking, non-zero / non-dropout sets).

use crate::data::{ConditionDe, CsrMatrix, Dataset};
use crate::rng::SplitMix64;

/// Shape of a toy dataset.
#[derive(Clone, Debug)]
pub struct ToySpec {
    /// Expression genes G.
    pub n_genes: usize,
    /// Perturbed genes (one single-gene condition `A+ctrl` each).
    pub pert_genes: Vec<String>,
    /// Module of each perturbed gene (perturbations of one module share part of their response).
    pub modules: Vec<usize>,
    /// Cells per perturbation.
    pub cells_per_pert: usize,
    /// Control cells.
    pub n_ctrl: usize,
    /// Seed.
    pub seed: u64,
}

/// Generates the dataset.
pub fn toy_dataset(spec: &ToySpec) -> Dataset {
    let g = spec.n_genes;
    let mut rng = SplitMix64::new(spec.seed);
    let base: Vec<f64> = (0..g).map(|_| 0.5 + 1.5 * rng.unit()).collect();
    let n_mod = spec.modules.iter().copied().max().map_or(0, |m| m + 1);
    let sparse_effect = |rng: &mut SplitMix64, k: usize, scale: f64| {
        let mut e = vec![0f64; g];
        for _ in 0..k {
            let j = rng.below(g as u64) as usize;
            e[j] += scale * if rng.unit() < 0.5 { -1.0 } else { 1.0 } * (0.5 + rng.unit());
        }
        e
    };
    let common = sparse_effect(&mut rng, g / 10 + 1, 1.0);
    let module_eff: Vec<Vec<f64>> = (0..n_mod).map(|_| sparse_effect(&mut rng, g / 10 + 1, 0.8)).collect();
    let mut conditions = vec!["ctrl".to_string()];
    conditions.extend(spec.pert_genes.iter().map(|p| format!("{p}+ctrl")));
    let mut cell_condition = vec![0u32; spec.n_ctrl];
    for p in 0..spec.pert_genes.len() {
        cell_condition.extend(std::iter::repeat_n(p as u32 + 1, spec.cells_per_pert));
    }
    let mut x = CsrMatrix { n_rows: cell_condition.len(), n_cols: g, indptr: vec![0], ..Default::default() };
    for &c in &cell_condition {
        for j in 0..g {
            let mut mu = base[j];
            if c > 0 {
                let p = c as usize - 1;
                let own = ((p * 7919 + j * 104729) % 97) as f64 / 97.0 - 0.5; // small perturbation-specific part
                mu += common[j] + module_eff[spec.modules[p]][j] + 0.3 * own;
            }
            let v = mu + 0.3 * rng.normal();
            if v > 0.05 && rng.unit() > 0.1 {
                x.indices.push(j as u32);
                x.data.push(v as f32);
            }
        }
        x.indptr.push(x.indices.len() as u64);
    }
    let ctrl: Vec<u32> = (0..spec.n_ctrl as u32).collect();
    let ctrl_pairing = cell_condition
        .iter()
        .enumerate()
        .map(|(i, &c)| if c == 0 { i as u32 } else { ctrl[rng.below(ctrl.len() as u64) as usize] })
        .collect();
    let names: Vec<String> = (0..g).map(|j| format!("gene{j}")).collect();
    let mut d = Dataset {
        name: format!("toy-{}", spec.seed),
        synthetic: true,
        cell_type: "toy".into(),
        gene_ids: names.clone(),
        gene_names: names,
        x,
        conditions,
        cell_condition,
        de: Vec::new(),
        ctrl_pairing,
        pairing_seed: spec.seed,
    };
    d.de = compute_de(&d);
    d
}

/// GEARS-style DE statistics of every condition against control: genes ranked by |Welch t|,
/// top-20, non-zero and non-dropout sets (spec §1.2). The `ctrl` entry is empty.
pub fn compute_de(d: &Dataset) -> Vec<ConditionDe> {
    let (g, nc) = (d.n_genes(), d.conditions.len());
    let mut sum = vec![vec![0f64; g]; nc];
    let mut sq = vec![vec![0f64; g]; nc];
    let mut n = vec![0f64; nc];
    for c in 0..d.n_cells() {
        let k = d.cell_condition[c] as usize;
        n[k] += 1.0;
        let (idx, val) = d.x.row(c);
        for (&j, &v) in idx.iter().zip(val) {
            sum[k][j as usize] += v as f64;
            sq[k][j as usize] += (v as f64) * (v as f64);
        }
    }
    let stats = |k: usize, j: usize| {
        let m = sum[k][j] / n[k].max(1.0);
        let var = if n[k] > 1.0 { (sq[k][j] - n[k] * m * m).max(0.0) / (n[k] - 1.0) } else { 0.0 };
        (m, var)
    };
    let mut out = vec![ConditionDe::default()];
    for k in 1..nc {
        let score: Vec<f64> = (0..g)
            .map(|j| {
                let ((m1, v1), (m0, v0)) = (stats(k, j), stats(0, j));
                let se = (v1 / n[k].max(1.0) + v0 / n[0].max(1.0)).sqrt();
                if se > 0.0 { ((m1 - m0) / se).abs() } else { 0.0 }
            })
            .collect();
        let mut ranked: Vec<u32> = (0..g as u32).collect();
        ranked.sort_by(|&a, &b| score[b as usize].total_cmp(&score[a as usize]).then(a.cmp(&b)));
        let nz = |j: usize| stats(k, j).0 != 0.0;
        let non_zeros: Vec<u32> = (0..g as u32).filter(|&j| nz(j as usize)).collect();
        let non_dropout: Vec<u32> = (0..g as u32).filter(|&j| nz(j as usize) || stats(0, j as usize).0 == 0.0).collect();
        let top = |keep: &dyn Fn(u32) -> bool| ranked.iter().copied().filter(|&j| keep(j)).take(20).collect::<Vec<u32>>();
        out.push(ConditionDe {
            top20_de: ranked.iter().copied().take(20).collect(),
            top20_non_dropout: top(&|j| non_dropout.binary_search(&j).is_ok()),
            top20_non_zero: top(&|j| nz(j as usize)),
            ranked,
            non_zeros,
            non_dropout,
        });
    }
    out
}
