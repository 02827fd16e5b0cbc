//! Small seeded Perturb-seq datasets with a planted perturbation effect, for the trainer's tests and
//! benchmarks (not the `graphreach simulate` presets): control expression per gene, a common
//! response shared by every perturbation plus a response shared by perturbations of the same
//! module (a block of the gene list, e.g. GO neighbours), sparse counts with drop-outs, and the DE
//! statistics of `graphreach prepare` ([`crate::data::de::compute_de`]: Welch t ranking, non-zero
//! and non-dropout sets). Also, for the in-crate tests, the trainer problem built on one of them.

use crate::data::{CsrMatrix, Dataset};
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
    d.de = crate::data::de::compute_de(&d.x, &d.cell_condition, d.conditions.len()).0;
    d
}

#[cfg(test)]
pub(crate) use trainer_setup::{toy_context, toy_setup};

/// The problem of the in-crate trainer tests: [`toy_setup`] (12 perturbed genes in 3 GO modules, 40
/// expression genes) and [`toy_context`] (3 perturbations per module trained, the 4th held out).
#[cfg(test)]
mod trainer_setup {
    use super::{toy_dataset, ToySpec};
    use crate::data::Dataset;
    use crate::gears::dataset::conditions::{coexpression_graph, condition_nodes};
    use crate::gears::dataset::means::ConditionMeans;
    use crate::gears::net::propagation::Propagation;
    use crate::gears::train::fit::TrainContext;
    use crate::gears::GearsConfig;

    /// 12 perturbed genes in 3 GO modules (+ 4 unperturbed GO nodes), 40 expression genes.
    pub(crate) fn toy_setup(cells_per_pert: usize) -> (Dataset, Vec<String>, Propagation) {
        let names: Vec<String> = (0..16).map(|i| format!("P{i:02}")).collect();
        let pert_genes = names[..12].to_vec();
        let modules: Vec<usize> = (0..12).map(|i| i / 4).collect();
        let data = toy_dataset(&ToySpec { n_genes: 40, pert_genes, modules: modules.clone(), cells_per_pert, n_ctrl: 150, seed: 3 });
        let (mut s, mut d, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for a in 0..12u32 {
            for b in 0..12u32 {
                if modules[a as usize] == modules[b as usize] {
                    s.push(a);
                    d.push(b);
                    w.push(if a == b { 1.0 } else { 0.5 });
                }
            }
        }
        s.extend([12, 13, 14]);
        d.extend([0, 5, 15]);
        w.extend([0.2, 0.3, 0.4]);
        let go = Propagation::from_edges(16, &s, &d, &w).unwrap();
        (data, names, go)
    }

    /// The trainer context over `data`: 3 perturbations per module trained and validated on the 4th.
    pub(crate) fn toy_context<'a>(data: &'a Dataset, names: &[String], go: Propagation, cfg: GearsConfig) -> TrainContext<'a> {
        // Train on 3 perturbations per module, test on the 4th; validation = one training module member.
        let train: Vec<u32> = (1..=12).filter(|c| (c - 1) % 4 != 3).collect();
        let test: Vec<u32> = (1..=12).filter(|c| (c - 1) % 4 == 3).collect();
        let all: Vec<u32> = train.iter().chain(&test).copied().collect();
        let cond_nodes = condition_nodes(data, &all, names, "toy").unwrap();
        let coexpr = coexpression_graph(data, &train, cfg.coexpr_cells).unwrap();
        TrainContext { data, cfg, coexpr, go, cond_nodes, means: ConditionMeans::new(data).unwrap(), train_conds: train, val_conds: test.clone() }
    }
}
