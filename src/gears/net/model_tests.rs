//! Whole-model gradient checks: every parameter of a tiny GEARS model against central finite
//! differences in f64, for the intended semantics, the GEARS positional quirk and the
//! single-perturbed-cell duplication.

use super::{ForwardInput, GearsModel, Group, Variant};
use crate::gears::net::mat::Mat;
use crate::gears::net::ops::tests::{check_grad, randm};
use crate::gears::net::propagation::Propagation;
use crate::gears::train::loss::{autofocus_loss, LossCell};
use crate::rng::SplitMix64;

fn graphs() -> (Propagation, Propagation) {
    let co = Propagation::from_edges(5, &[0, 1, 2, 4, 3], &[1, 0, 3, 2, 3], &[0.8, 0.8, 0.5, 0.6, 1.0]).unwrap();
    let go = Propagation::from_edges(6, &[0, 2, 3, 5, 1, 4], &[1, 1, 2, 2, 4, 1], &[0.3, 0.5, 0.9, 0.2, 0.4, 0.7]).unwrap();
    (co, go)
}

fn tiny_model() -> GearsModel<f64> {
    let mut m = GearsModel::<f64>::init(5, 6, 3, 42);
    for e in [&mut m.gene_emb, &mut m.emb_pos, &mut m.pert_emb] {
        e.data.iter_mut().for_each(|v| *v *= 0.3);
    }
    // Non-trivial BatchNorm affine parameters.
    let mut rng = SplitMix64::new(9);
    for (name, p) in m.params_mut() {
        if name.contains("network.1") || name.contains("network.4") || name.starts_with("bn_") {
            p.data.iter_mut().for_each(|v| *v += 0.2 * rng.normal());
        }
    }
    m
}

/// Cells: (group, condition, genes subset or all).
fn run_check(inp: &ForwardInput, cells: &[(usize, u32, Option<Vec<u32>>)]) {
    let (co, go) = graphs();
    let model = tiny_model();
    let mut rng = SplitMix64::new(4);
    let x = randm(cells.len(), 5, &mut rng);
    let y = randm(cells.len(), 5, &mut rng);
    let mu = vec![0.1; 5];
    let lc: Vec<LossCell> = cells.iter().map(|(g, c, genes)| LossCell { group: *g, condition: *c, genes: genes.as_deref() }).collect();
    let loss_of = |m: &GearsModel<f64>| {
        let (d, _) = m.forward_train(&co, &go, inp);
        autofocus_loss(&d, &lc, &x, &y, &mu).loss
    };
    let (delta, cache) = model.forward_train(&co, &go, inp);
    let out = autofocus_loss(&delta, &lc, &x, &y, &mu);
    let mut grad = model.zeros_like();
    model.backward(&co, &go, inp, &cache, &out.d_delta, &mut grad);
    let names: Vec<String> = model.clone().params_mut().into_iter().map(|(n, _)| n).collect();
    let grads: Vec<Vec<f64>> = grad.params_mut().into_iter().map(|(_, g)| g.data.clone()).collect();
    let mut nonzero = 0;
    for (k, name) in names.iter().enumerate() {
        let mut probe = model.clone();
        let base: Vec<f64> = probe.params_mut()[k].1.data.clone();
        nonzero += grads[k].iter().filter(|v| v.abs() > 1e-9).count();
        check_grad(name, &base, &grads[k], &mut |v| {
            probe.params_mut()[k].1.data.copy_from_slice(v);
            loss_of(&probe)
        });
    }
    assert!(nonzero > 50, "gradients are suspiciously sparse ({nonzero} non-zero)");
}

fn cells_standard() -> Vec<(usize, u32, Option<Vec<u32>>)> {
    vec![(0, 1, Some(vec![0, 1, 3])), (0, 1, Some(vec![0, 1, 3])), (1, 2, Some(vec![1, 2, 3, 4])), (2, 0, None)]
}

#[test]
fn whole_model_gradient_intended_semantics() {
    let inp = ForwardInput {
        variants: vec![Variant { propagate: true, weight: 4.0 }],
        groups: vec![
            Group { perts: vec![1], weight: 2.0, variant: 0 },
            Group { perts: vec![2, 4], weight: 1.0, variant: 0 },
            Group { perts: vec![], weight: 1.0, variant: 0 },
        ],
        n_cells: 4,
    };
    run_check(&inp, &cells_standard());
}

#[test]
fn whole_model_gradient_with_gears_positional_quirk() {
    // Cell 0 (condition 1) is its own group with the propagated variant; the rest are not propagated.
    let inp = ForwardInput {
        variants: vec![Variant { propagate: true, weight: 1.0 }, Variant { propagate: false, weight: 3.0 }],
        groups: vec![
            Group { perts: vec![1], weight: 1.0, variant: 0 },
            Group { perts: vec![1], weight: 1.0, variant: 1 },
            Group { perts: vec![2, 4], weight: 1.0, variant: 1 },
            Group { perts: vec![], weight: 1.0, variant: 1 },
        ],
        n_cells: 4,
    };
    let cells = vec![(0, 1, Some(vec![0, 1, 3])), (1, 1, Some(vec![0, 1, 3])), (2, 2, Some(vec![1, 2, 3, 4])), (3, 0, None)];
    run_check(&inp, &cells);
}

#[test]
fn whole_model_gradient_single_perturbed_cell_is_duplicated() {
    let inp = ForwardInput {
        variants: vec![Variant { propagate: true, weight: 3.0 }],
        groups: vec![Group { perts: vec![3], weight: 1.0, variant: 0 }, Group { perts: vec![], weight: 2.0, variant: 0 }],
        n_cells: 3,
    };
    run_check(&inp, &[(0, 4, Some(vec![0, 2])), (1, 0, None), (1, 0, None)]);
}

#[test]
fn grouped_forward_equals_per_cell_forward() {
    // Two cells sharing a perturbation as one weighted group == the same cells as separate groups.
    let (co, go) = graphs();
    let m = tiny_model();
    let v = vec![Variant { propagate: true, weight: 3.0 }];
    let grouped = ForwardInput {
        variants: v.clone(),
        groups: vec![Group { perts: vec![1], weight: 2.0, variant: 0 }, Group { perts: vec![], weight: 1.0, variant: 0 }],
        n_cells: 3,
    };
    let split = ForwardInput {
        variants: v,
        groups: vec![
            Group { perts: vec![1], weight: 1.0, variant: 0 },
            Group { perts: vec![1], weight: 1.0, variant: 0 },
            Group { perts: vec![], weight: 1.0, variant: 0 },
        ],
        n_cells: 3,
    };
    let (a, _) = m.forward_train(&co, &go, &grouped);
    let (b, _) = m.forward_train(&co, &go, &split);
    for j in 0..5 {
        assert!((a.row(0)[j] - b.row(0)[j]).abs() < 1e-12 && (a.row(0)[j] - b.row(1)[j]).abs() < 1e-12);
        assert!((a.row(1)[j] - b.row(2)[j]).abs() < 1e-12);
    }
    let _ = Mat::<f64>::zeros(0, 0);
}
