//! End-to-end training checks on a small seeded dataset with a planted effect.

use super::config::GearsConfig;
use super::graph_norm::Propagation;
use super::prepare::{coexpression_graph, condition_nodes, ConditionMeans};
use super::report::build_report;
use super::toy::{toy_dataset, ToySpec};
use super::train::{Hooks, TrainContext};
use crate::data::Dataset;

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

pub(crate) fn toy_context<'a>(data: &'a Dataset, names: &[String], go: Propagation, cfg: GearsConfig) -> TrainContext<'a> {
    // Train on 3 perturbations per module, test on the 4th; validation = one training module member.
    let train: Vec<u32> = (1..=12).filter(|c| (c - 1) % 4 != 3).collect();
    let test: Vec<u32> = (1..=12).filter(|c| (c - 1) % 4 == 3).collect();
    let all: Vec<u32> = train.iter().chain(&test).copied().collect();
    let cond_nodes = condition_nodes(data, &all, names, "toy").unwrap();
    let coexpr = coexpression_graph(data, &train, cfg.coexpr_cells).unwrap();
    TrainContext { data, cfg, coexpr, go, cond_nodes, means: ConditionMeans::new(data).unwrap(), train_conds: train, val_conds: test.clone() }
}

#[test]
fn training_beats_the_no_change_baseline_on_held_out_perturbations() {
    let (data, names, go) = toy_setup(80);
    let cfg = GearsConfig { hidden: 16, epochs: 6, ..Default::default() };
    let ctx = toy_context(&data, &names, go, cfg);
    let mut state = ctx.new_state();
    let mut epochs = 0;
    ctx.fit(&mut state, Hooks::default(), &mut |_| {
        epochs += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(epochs, 6);
    let first = state.log[0].train_loss;
    let last = state.log.last().unwrap().train_loss;
    assert!(last < first, "training loss did not decrease: {first} -> {last}");
    let test: Vec<u32> = vec![4, 8, 12];
    let (model, _) = state.selected.as_ref().unwrap();
    let r = build_report(&ctx, model, &test);
    eprintln!("{}", r.summary_text());
    assert_eq!(r.model.n_perturbations, 3);
    assert!(r.model.mse_de < r.baselines.no_change.mse_de, "GEARS {} vs no-change {}", r.model.mse_de, r.baselines.no_change.mse_de);
}
