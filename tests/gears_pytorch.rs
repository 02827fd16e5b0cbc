//! Equivalence with PyTorch GEARS (cell-gears 0.1.2) on the fixture in `tests/fixtures/gears_tiny`,
//! produced by `scripts/make_gears_fixture.py` (run by hand; versions in its `fixture.json`).
//!
//! The fixture holds a tiny dataset (17 cells x 6 genes, 8 GO nodes, hidden size 4), the initial
//! `state_dict` of a `GEARS_Model` (float64) and, per case, what PyTorch computed from it. Here the
//! same dataset goes through our own code path: `TrainContext::batch_input` groups the batch (with
//! or without `pos_quirk`), `Propagation::from_edges` normalises the fixture's edge lists (PyG
//! `gcn_norm`), the model runs in f64, the loss cells use our DE non-zero sets. Compared:
//!
//! * the embedding tables after the max-norm renormalisation of the forward;
//! * `pred` = δ + x, every cell of the batch;
//! * the loss: ours optimises the autofocus term only and reports `DIRECTION_LAMBDA` x direction
//!   separately (spec §4.2). GEARS's `loss_fct` sums both; so our `loss` is compared with
//!   `loss_fct(direction_lambda = 0)` and `loss + direction` with `loss_fct(direction_lambda =
//!   0.1)`. The direction term has zero gradient, so the gradients are compared with PyTorch's
//!   gradients of the full GEARS loss;
//! * (train cases) the gradient of every parameter, every BatchNorm running statistic after the
//!   step, and the change of every parameter in one optimiser step as GEARS takes it
//!   (`clip_grad_value_(1.0)`, `Adam(lr 1e-3, weight_decay 5e-4)`; our `Adam` with its defaults),
//!   then the loss of a second step on the same batch and the change in that step (Adam's first
//!   step is +-lr whatever the gradient's size; the second depends on it and on the clipping).
//!
//! Criterion (f64), element-wise: `|ours - torch| <= 1e-4 * max(|ours|, |torch|, 1e-3 *
//! max|torch|, floor)`: relative 1e-4, with a floor at a thousandth of the tensor's largest entry
//! for entries near 0; for gradients also `floor` = 1e-9 x the largest PyTorch gradient entry of
//! the case, so that gradients that are zero in exact arithmetic (biases of linear layers followed
//! by BatchNorm, ~1e-16 of rounding noise on both sides) compare as equal. Observed: at most 0.13
//! of the allowed error; most of it is our f32 storage of the normalised graph weights (with
//! PyG's `gcn_norm` output rounded to f32 in the script, checked by hand, the one-cell forward
//! agrees to ~1e-15 relative and the worst case drops to 0.02).
//! Parameters PyTorch leaves without a gradient must have an all-zero gradient here and must not
//! move in the optimiser step; the only PyTorch tensors without a counterpart must be GEARS's dead
//! `pert_w` and `bn_pert_base_trans`.
//!
//! The same train cases also go through the f32 training step the trainer runs
//! (`TrainContext::step`: renormalisation, batch grouping, inputs from the dataset's control
//! pairing, loss, backward, running statistics, Adam), comparing loss, gradients, running
//! statistics and the parameters after each of the two steps with a looser f32 criterion:
//! `|ours - torch| <= 1e-3 * max(|ours|, |torch|, max|torch|, floor)` with, for gradients, `floor` = 1e-2 x the
//! case's largest gradient entry. f32 rounding in the BatchNorm backwards (B*G rows; 3 rows in
//! `cross_gene_state`) leaves errors of ~1e-4 relative in ill-conditioned entries and a few 1e-7
//! of the largest gradient elsewhere. Parameters after the step skip entries whose gradient is
//! zero in exact arithmetic (biases of linear layers followed by BatchNorm): rounding noise picks
//! the sign of Adam's first step there. The f64 comparison above is the strict one.

use graphreach::data::de::compute_de;
use graphreach::data::{CsrMatrix, Dataset};
use graphreach::gears::train::adam::{Adam, AdamConfig};
use graphreach::gears::net::propagation::Propagation;
use graphreach::gears::train::loss::{autofocus_loss, LossCell, DIRECTION_LAMBDA};
use graphreach::gears::net::mat::Mat;
use graphreach::gears::net::model::GearsModel;
use graphreach::gears::dataset::conditions::condition_nodes;
use graphreach::gears::dataset::means::ConditionMeans;
use graphreach::gears::train::fit::TrainContext;
use graphreach::gears::GearsConfig;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

const RTOL: f64 = 1e-4;
/// Tolerance of the f32 training-step comparison (see the module docs).
const RTOL_F32: f64 = 1e-3;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gears_tiny")
}

/// All float64 tensors of a fixture file: name -> (shape, values).
fn load(name: &str) -> HashMap<String, (Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(n, t)| {
            assert_eq!(t.dtype(), Dtype::F64, "{name}: {n} is not float64");
            let v = t.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect();
            (n, (t.shape().to_vec(), v))
        })
        .collect()
}

/// Asserts the criterion of the module docs; returns the worst `|a-b| / allowed` ratio.
fn assert_close(what: &str, ours: &[f64], torch: &[f64]) -> f64 {
    assert_close_floor(what, ours, torch, 0.0)
}

fn assert_close_floor(what: &str, ours: &[f64], torch: &[f64], floor: f64) -> f64 {
    close(what, ours, torch, RTOL, 1e-3, floor).unwrap_or_else(|e| panic!("{e}"))
}

/// The f32 criterion of the module docs.
fn assert_close_f32(what: &str, ours: &[f64], torch: &[f64], floor: f64) -> f64 {
    close(what, ours, torch, RTOL_F32, 1.0, floor).unwrap_or_else(|e| panic!("{e}"))
}

/// `|ours - torch| <= rtol * max(|ours|, |torch|, tensor_floor * max|torch|, floor)` element-wise;
/// `Err` names the first entry that violates it, `Ok` gives the worst `|ours - torch| / allowed`.
fn close(what: &str, ours: &[f64], torch: &[f64], rtol: f64, tensor_floor: f64, floor: f64) -> Result<f64, String> {
    assert_eq!(ours.len(), torch.len(), "{what}: length");
    let scale = torch.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut worst = 0.0f64;
    for (i, (&a, &b)) in ours.iter().zip(torch).enumerate() {
        let allowed = rtol * a.abs().max(b.abs()).max(tensor_floor * scale).max(floor).max(1e-300);
        let r = (a - b).abs() / allowed;
        if !(r <= 1.0) {
            return Err(format!("{what}[{i}]: ours {a:.12e} vs PyTorch {b:.12e} (max |PyTorch| {scale:.3e})"));
        }
        worst = worst.max(r);
    }
    Ok(worst)
}

struct Fixture {
    meta: Value,
    data: Dataset,
    pert_names: Vec<String>,
    coexpr: Propagation,
    go: Propagation,
    init: HashMap<String, (Vec<usize>, Vec<f64>)>,
}

fn edges(v: &Value, n: usize) -> Propagation {
    let (mut s, mut d, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for e in v.as_array().unwrap() {
        s.push(e[0].as_u64().unwrap() as u32);
        d.push(e[1].as_u64().unwrap() as u32);
        w.push(e[2].as_f64().unwrap() as f32);
    }
    Propagation::from_edges(n, &s, &d, &w).unwrap()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn fixture() -> Fixture {
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("fixture.json")).unwrap()).unwrap();
    assert_eq!(meta["dtype"], "float64");
    let g = meta["genes"].as_u64().unwrap() as usize;
    let p = meta["perts"].as_u64().unwrap() as usize;
    let cells = &load("data.safetensors")["x_cells"];
    let n = cells.0[0];
    let mut x = CsrMatrix { n_rows: n, n_cols: g, indptr: vec![0], ..Default::default() };
    for r in 0..n {
        for j in 0..g {
            let v = cells.1[r * g + j];
            assert_eq!(v as f32 as f64, v, "fixture expression must be exact in f32");
            if v != 0.0 {
                x.indices.push(j as u32);
                x.data.push(v as f32);
            }
        }
        x.indptr.push(x.indices.len() as u64);
    }
    let conditions: Vec<String> = meta["conditions"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    let mut data = Dataset {
        name: "gears_tiny".into(),
        cell_type: "K562".into(),
        gene_ids: (0..g).map(|j| format!("G{j}")).collect(),
        gene_names: (0..g).map(|j| format!("G{j}")).collect(),
        x,
        conditions,
        cell_condition: u32s(&meta["cell_condition"]),
        ctrl_pairing: u32s(&meta["ctrl_pairing"]),
        ..Default::default()
    };
    data.de = compute_de(&data.x, &data.cell_condition, data.conditions.len()).0;
    // GEARS's dict_filter (non_zeros_gene_idx) is what our DE computes as non_zeros.
    for (c, name) in data.conditions.iter().enumerate().skip(1) {
        assert_eq!(data.de[c].non_zeros, u32s(&meta["dict_filter"][name]), "non-zero genes of {name}");
    }
    let pert_names = meta["pert_names"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    let coexpr = edges(&meta["coexpr_edges"], g);
    let go = edges(&meta["go_edges"], p);
    Fixture { meta, data, pert_names, coexpr, go, init: load("weights.safetensors") }
}

/// The model with the fixture's initial weights (PyTorch names and shapes, checked).
fn model_from(f: &Fixture) -> GearsModel<f64> {
    let m = &f.meta;
    let (g, p, h) = (m["genes"].as_u64().unwrap() as usize, m["perts"].as_u64().unwrap() as usize, m["hidden"].as_u64().unwrap() as usize);
    let mut model = GearsModel::<f64>::init(g, p, h, 0);
    let shapes: HashMap<String, Vec<usize>> = {
        let mut probe = model.clone();
        let names: Vec<(String, Mat<f64>)> = probe.params_mut().into_iter().map(|(n, m)| (n, m.clone())).collect();
        names.iter().map(|(n, mm)| (n.clone(), model.torch_shape(n, mm))).collect()
    };
    let mut used = Vec::new();
    for (name, t) in model.params_mut() {
        let (shape, v) = f.init.get(&name).unwrap_or_else(|| panic!("fixture lacks parameter {name}"));
        assert_eq!(shape, &shapes[&name], "shape of {name}");
        t.data.copy_from_slice(v);
        used.push(name);
    }
    for (name, b) in model.buffers_mut() {
        let (_, v) = f.init.get(&name).unwrap_or_else(|| panic!("fixture lacks buffer {name}"));
        b.copy_from_slice(v);
        used.push(name);
    }
    for name in f.init.keys() {
        assert!(used.contains(name) || name.starts_with("pert_w.") || name.starts_with("bn_pert_base_trans."), "PyTorch tensor {name} has no counterpart");
    }
    model
}

fn context<'a>(f: &'a Fixture, pos_quirk: bool) -> TrainContext<'a> {
    let all: Vec<u32> = (0..f.data.conditions.len() as u32).collect();
    let cond_nodes = condition_nodes(&f.data, &all[1..], &f.pert_names, "fixture").unwrap();
    let cfg = GearsConfig { hidden: f.meta["hidden"].as_u64().unwrap() as usize, pos_quirk, ..Default::default() };
    TrainContext {
        data: &f.data,
        cfg,
        coexpr: f.coexpr.clone(),
        go: f.go.clone(),
        cond_nodes,
        means: ConditionMeans::new(&f.data).unwrap(),
        train_conds: all,
        val_conds: vec![],
    }
}

/// What one case computes on our side.
struct Ours {
    model: GearsModel<f64>,
    pred: Vec<f64>,
    loss: f64,
    direction: f64,
    grad: Option<GearsModel<f64>>,
}

fn run_case(f: &Fixture, case: &str, pos_quirk: bool) -> Ours {
    let spec = &f.meta["cases"][case];
    let ctx = context(f, pos_quirk);
    let mut model = model_from(f);
    let (pred, loss, direction, grad) = one_pass(f, &ctx, &mut model, &u32s(&spec["cells"]), spec["train"].as_bool().unwrap());
    Ours { model, pred, loss, direction, grad }
}

/// What a training step does before the optimiser, in f64: renormalise the embeddings, group the
/// batch, forward, loss, and in train mode backward and the running statistics. Returns (pred,
/// loss, direction, gradient).
fn one_pass(f: &Fixture, ctx: &TrainContext, model: &mut GearsModel<f64>, cells: &[u32], train: bool) -> (Vec<f64>, f64, f64, Option<GearsModel<f64>>) {
    model.renorm_embeddings();
    let (inp, cell_group) = ctx.batch_input(cells);
    let g = f.data.n_genes();
    let mut x = Mat::<f64>::zeros(cells.len(), g);
    let mut y = Mat::<f64>::zeros(cells.len(), g);
    let mut row = vec![0f32; g];
    for (i, &c) in cells.iter().enumerate() {
        f.data.x.row_dense_into(f.data.ctrl_pairing[c as usize] as usize, &mut row);
        x.row_mut(i).iter_mut().zip(&row).for_each(|(a, &b)| *a = b as f64);
        f.data.x.row_dense_into(c as usize, &mut row);
        y.row_mut(i).iter_mut().zip(&row).for_each(|(a, &b)| *a = b as f64);
    }
    let lc: Vec<LossCell> = cells
        .iter()
        .zip(&cell_group)
        .map(|(&c, &gr)| {
            let cond = f.data.cell_condition[c as usize];
            LossCell { group: gr, condition: cond, genes: (cond != 0).then(|| f.data.de[cond as usize].non_zeros.as_slice()) }
        })
        .collect();
    let (delta, cache) = if train {
        let (delta, cache) = model.forward_train(&ctx.coexpr, &ctx.go, &inp);
        (delta, Some(cache))
    } else {
        (model.forward_eval(&ctx.coexpr, &ctx.go, &inp), None)
    };
    let mut pred = Vec::new();
    for (i, &gr) in cell_group.iter().enumerate() {
        pred.extend((0..g).map(|j| delta.row(gr)[j] + x.row(i)[j]));
    }
    let out = autofocus_loss(&delta, &lc, &x, &y, &ctx.means.ctrl);
    let grad = cache.map(|cache| {
        let mut grad = model.zeros_like();
        model.backward(&ctx.coexpr, &ctx.go, &inp, &cache, &out.d_delta, &mut grad);
        model.update_running(&cache);
        grad
    });
    (pred, out.loss, out.direction, grad)
}

/// Asserts that each parameter changed from `before` to `after` as PyTorch's did from
/// `t[torch_before.<name>]` (or the fallback) to `t[torch_after.<name>]`.
fn compare_changes(what: &str, before: &mut GearsModel<f64>, after: &mut GearsModel<f64>, t: &HashMap<String, (Vec<usize>, Vec<f64>)>, torch_before: &dyn Fn(&str) -> Vec<f64>, torch_after: &str) -> f64 {
    let mut worst = 0.0f64;
    for ((name, b), (_, a)) in before.params_mut().into_iter().zip(after.params_mut()) {
        let Some((_, ta)) = t.get(&format!("{torch_after}.{name}")) else {
            // No gradient in PyTorch: the optimiser leaves the tensor alone.
            assert!(a.data == b.data, "{what}: PyTorch left {name} unchanged, ours changed it");
            continue;
        };
        let tb = torch_before(&name);
        let d_ours: Vec<f64> = a.data.iter().zip(&b.data).map(|(x, y)| x - y).collect();
        let d_torch: Vec<f64> = ta.iter().zip(&tb).map(|(x, y)| x - y).collect();
        worst = worst.max(assert_close(&format!("{what} of {name}"), &d_ours, &d_torch));
    }
    worst
}

fn compare(case: &str) {
    let f = fixture();
    assert_eq!(f.meta["direction_lambda"].as_f64(), Some(DIRECTION_LAMBDA));
    let ctrl: Vec<f64> = f.meta["ctrl_mean"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_close("ctrl mean", &ConditionMeans::new(&f.data).unwrap().ctrl, &ctrl);
    let spec = &f.meta["cases"][case];
    let pos_quirk = spec["pos_quirk"].as_bool().unwrap();
    let t = load(&format!("{case}.safetensors"));
    let mut ours = run_case(&f, case, pos_quirk);
    let mut worst = assert_close(&format!("{case}: pred"), &ours.pred, &t["pred"].1);
    worst = worst.max(assert_close(&format!("{case}: autofocus loss"), &[ours.loss], &t["loss_autofocus"].1));
    worst = worst.max(assert_close(&format!("{case}: GEARS loss (autofocus + direction)"), &[ours.loss + ours.direction], &t["loss"].1));
    let mut n_grads = 0;
    let grad_scale = t.iter().filter(|(k, _)| k.starts_with("grad.")).flat_map(|(_, (_, v))| v).fold(0.0f64, |m, v| m.max(v.abs()));
    if let Some(grad) = ours.grad.as_mut() {
        for (name, g) in grad.params_mut() {
            match t.get(&format!("grad.{name}")) {
                Some((_, v)) => {
                    worst = worst.max(assert_close_floor(&format!("{case}: grad {name}"), &g.data, v, 1e-9 * grad_scale));
                    n_grads += 1;
                }
                None => assert!(g.data.iter().all(|&v| v == 0.0), "{case}: PyTorch has no gradient for {name}, ours is non-zero"),
            }
        }
        for (name, b) in ours.model.buffers_mut() {
            worst = worst.max(assert_close(&format!("{case}: {name} after the step"), b, &t[&format!("after.{name}")].1));
        }
        for (name, e) in ours.model.params_mut().into_iter().filter(|(n, _)| ["gene_emb.weight", "emb_pos.weight", "pert_emb.weight"].contains(&n.as_str())) {
            worst = worst.max(assert_close(&format!("{case}: renormalised {name}"), &e.data, &t[&format!("after.{name}")].1));
        }
        assert!(n_grads >= 30, "{case}: only {n_grads} gradients compared");
        // One optimiser step: compare each parameter's change.
        let cfg = AdamConfig::default();
        assert_eq!((Some(cfg.weight_decay), Some(cfg.clip)), (f.meta["weight_decay"].as_f64(), f.meta["clip_value"].as_f64()));
        let lr = f.meta["lr"].as_f64().unwrap();
        let mut before = ours.model.clone();
        let mut adam = Adam::new(&ours.model, cfg);
        let cells = u32s(&spec["cells"]);
        let perturbed = cells.iter().any(|&c| f.data.cell_condition[c as usize] != 0);
        adam.step(&mut ours.model, grad, lr, perturbed);
        let torch_before = |name: &str| t.get(&format!("after.{name}")).unwrap_or_else(|| &f.init[name]).1.clone();
        worst = worst.max(compare_changes(&format!("{case}: Adam step 1"), &mut before, &mut ours.model, &t, &torch_before, "step"));
        // A second step on the same batch (its size now matters to Adam, and the clipping).
        let mut before = ours.model.clone();
        let ctx = context(&f, pos_quirk);
        let (_, loss2, dir2, grad2) = one_pass(&f, &ctx, &mut ours.model, &cells, true);
        worst = worst.max(assert_close(&format!("{case}: GEARS loss of step 2"), &[loss2 + dir2], &t["loss2"].1));
        adam.step(&mut ours.model, &mut grad2.unwrap(), lr, perturbed);
        let torch_step1 = |name: &str| t[&format!("step.{name}")].1.clone();
        worst = worst.max(compare_changes(&format!("{case}: Adam step 2"), &mut before, &mut ours.model, &t, &torch_step1, "step2"));
    }
    eprintln!("{case}: pos_quirk {pos_quirk}, {n_grads} gradients, worst error / allowed = {worst:.3e}");
}

/// The f32 training step (`TrainContext::step`) on a train case.
fn compare_f32_step(case: &str) {
    let f = fixture();
    let spec = &f.meta["cases"][case];
    let pos_quirk = spec["pos_quirk"].as_bool().unwrap();
    let t = load(&format!("{case}.safetensors"));
    let ctx = context(&f, pos_quirk);
    let mut model: GearsModel<f32> = model_from(&f).cast();
    let mut adam = Adam::new(&model, AdamConfig::default());
    let mut grad = model.zeros_like();
    let cells = u32s(&spec["cells"]);
    let lr = f.meta["lr"].as_f64().unwrap();
    // The gradients of the step (the step itself hands `grad` back cleared), then the step.
    let mut grad_model = model.clone();
    let (loss, direction, _) = ctx.gradients(&mut grad_model, &mut grad, &cells);
    let mut step_grad = model.zeros_like();
    let (step_loss, _) = ctx.step(&mut model, &mut adam, &mut step_grad, &cells, lr);
    assert_eq!(step_loss, loss, "{case}: step and gradients see the same loss");
    assert!(step_grad.params_mut().into_iter().all(|(_, g)| g.data.iter().all(|&v| v == 0.0)), "{case}: the step clears its gradient");
    let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let mut worst = assert_close_f32(&format!("{case} f32: autofocus loss"), &[loss], &t["loss_autofocus"].1, 0.0);
    worst = worst.max(assert_close_f32(&format!("{case} f32: GEARS loss"), &[loss + direction], &t["loss"].1, 0.0));
    let grad_scale = t.iter().filter(|(k, _)| k.starts_with("grad.")).flat_map(|(_, (_, v))| v).fold(0.0f64, |m, v| m.max(v.abs()));
    for (name, g) in grad.params_mut() {
        match t.get(&format!("grad.{name}")) {
            Some((_, v)) => worst = worst.max(assert_close_f32(&format!("{case} f32: grad {name}"), &f64s(&g.data), v, 1e-2 * grad_scale)),
            None => assert!(g.data.iter().all(|&v| v == 0.0), "{case} f32: PyTorch has no gradient for {name}, ours is non-zero"),
        }
    }
    // PyTorch's value of a parameter after a step; tensors without a gradient keep their value
    // (the embedding tables as renormalised by the forward).
    let torch_param = |step: &str, name: &str| -> Vec<f64> {
        t.get(&format!("{step}.{name}")).or_else(|| t.get(&format!("after.{name}"))).unwrap_or_else(|| &f.init[name]).1.clone()
    };
    for (name, b) in model.buffers_mut() {
        worst = worst.max(assert_close_f32(&format!("{case} f32: {name} after the step"), &f64s(b), &t[&format!("after.{name}")].1, 0.0));
    }
    let (mut skipped, mut total) = (0, 0);
    for (name, p) in model.params_mut() {
        // Entries whose gradient is zero in exact arithmetic: rounding noise picks the sign of
        // Adam's first step (+-lr) there, in PyTorch f32 as here.
        let g = t.get(&format!("grad.{name}")).map_or(vec![1.0; p.data.len()], |v| v.1.clone());
        let keep: Vec<usize> = (0..g.len()).filter(|&i| g[i].abs() > 1e-9 * grad_scale).collect();
        skipped += g.len() - keep.len();
        total += g.len();
        let tp = torch_param("step", &name);
        let ours: Vec<f64> = keep.iter().map(|&i| p.data[i] as f64).collect();
        let torch: Vec<f64> = keep.iter().map(|&i| tp[i]).collect();
        worst = worst.max(assert_close_f32(&format!("{case} f32: {name} after the step"), &ours, &torch, 0.0));
    }
    assert!(2 * skipped < total, "{case}: {skipped} of {total} entries with a zero gradient");
    // The second step.
    let (loss2, direction2) = ctx.step(&mut model, &mut adam, &mut step_grad, &cells, lr);
    worst = worst.max(assert_close_f32(&format!("{case} f32: GEARS loss of step 2"), &[loss2 + direction2], &t["loss2"].1, 0.0));
    for (name, p) in model.params_mut() {
        let g = t.get(&format!("grad.{name}")).map_or(vec![1.0; p.data.len()], |v| v.1.clone());
        let keep: Vec<usize> = (0..g.len()).filter(|&i| g[i].abs() > 1e-9 * grad_scale).collect();
        let tp = torch_param("step2", &name);
        let ours: Vec<f64> = keep.iter().map(|&i| p.data[i] as f64).collect();
        let torch: Vec<f64> = keep.iter().map(|&i| tp[i]).collect();
        worst = worst.max(assert_close_f32(&format!("{case} f32: {name} after step 2"), &ours, &torch, 0.0));
    }
    eprintln!("{case} f32 step: worst error / allowed = {worst:.3e}");
}

#[test]
fn quirk_batch_matches_pytorch_gears_with_pos_quirk() {
    compare("quirk_batch");
    compare_f32_step("quirk_batch");
}

#[test]
fn single_perturbed_cell_batch_matches_pytorch_gears_with_pos_quirk() {
    compare("single_pert");
    compare_f32_step("single_pert");
}

#[test]
fn per_cell_coexpression_batch_matches_pytorch_gears_without_pos_quirk() {
    compare("tiled_batch");
    compare_f32_step("tiled_batch");
}

#[test]
fn one_cell_eval_forward_matches_pytorch_gears_without_pos_quirk() {
    compare("one_cell");
}

#[test]
fn control_only_batch_matches_pytorch_gears_and_leaves_the_perturbation_path_alone() {
    compare("ctrl_only");
    compare_f32_step("ctrl_only");
}

#[test]
fn the_fixture_tells_the_positional_quirk_apart() {
    // The quirk batch run with the intended semantics must NOT match GEARS: the fixture is
    // sensitive to the co-expression propagation of cells after the first.
    let f = fixture();
    let t = load("quirk_batch.safetensors");
    let ours = run_case(&f, "quirk_batch", false);
    assert!(close("pred", &ours.pred, &t["pred"].1, RTOL, 1e-3, 0.0).is_err(), "quirk_batch predictions agree with PyTorch even without --pos-quirk");
}
