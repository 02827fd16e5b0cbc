//! The GEARS trainer's device path against the CPU reference: every device op on random inputs
//! (sizes that are not multiples of the 256-wide workgroup or the 16x16 GEMM tile), then whole
//! training steps on a toy dataset: δ, loss, every gradient, the parameters after Adam and the
//! BatchNorm running statistics. Differences come from float reassociation only (reductions and
//! GEMMs sum in another order), hence the relative tolerances.
//!
//! Runs on wgpu (lavapipe in CI; GRAPHREACH_REQUIRE_WGPU=1 makes a missing adapter a failure)
//! and on CUDA where a GPU, NVRTC and cuBLAS are present (skipped with the reason otherwise;
//! GRAPHREACH_REQUIRE_CUDA=1 makes that a failure).

use graphreach::data::Dataset;
use graphreach::gears::train::adam::Adam;
use graphreach::gears::train::config::GearsConfig;
use graphreach::gears::device::model::DeviceModel;
use graphreach::gears::device::ops::{self as dops, DMat, HostCsr};
use graphreach::backend::device::{Gemm, GpuDevice};
use graphreach::gears::net::propagation::Propagation;
use graphreach::gears::net::mat::Mat;
use graphreach::gears::net::model::GearsModel;
use graphreach::gears::net::ops;
use graphreach::gears::dataset::conditions::{coexpression_graph, condition_nodes};
use graphreach::gears::dataset::means::ConditionMeans;
use graphreach::gears::fixtures::{toy_dataset, ToySpec};
use graphreach::gears::train::fit::TrainContext;
use graphreach::rng::SplitMix64;

fn required(var: &str) -> bool {
    std::env::var(var).map(|v| v == "1").unwrap_or(false)
}

#[cfg(feature = "wgpu")]
fn with_wgpu(test: &str, f: impl FnOnce(&graphreach::backend::wgpu::WgpuCtx)) {
    match graphreach::backend::wgpu::WgpuCtx::open(true) {
        Ok(d) => {
            eprintln!("{test}: wgpu on {}", d.describe());
            f(&d)
        }
        Err(e) if required("GRAPHREACH_REQUIRE_WGPU") => panic!("GRAPHREACH_REQUIRE_WGPU=1 but wgpu is unavailable: {e}"),
        Err(e) => eprintln!("SKIPPED {test} on wgpu: {e}"),
    }
}

fn randv(n: usize, rng: &mut SplitMix64) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// max |a - b| / (max |b| + 1e-6): the error relative to the tensor's scale.
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, &v| m.max(v.abs() as f64));
    let diff = a.iter().zip(b).fold(0f64, |m, (&x, &y)| m.max((x as f64 - y as f64).abs()));
    if diff == 0.0 {
        0.0
    } else {
        diff / (scale + 1e-6)
    }
}

fn close(what: &str, a: &[f32], b: &[f32], tol: f64) {
    let e = rel_err(a, b);
    assert!(e <= tol, "{what}: relative error {e:.3e} over {tol:.0e}");
}

fn up<D: GpuDevice>(d: &D, m: &Mat<f32>) -> DMat<D::Buf> {
    DMat { buf: d.upload("test", &m.data).unwrap(), rows: m.rows, cols: m.cols }
}

fn down<D: GpuDevice>(d: &D, m: &DMat<D::Buf>) -> Vec<f32> {
    d.download("test", &m.buf, m.len()).unwrap()
}

fn check_gemm<D: GpuDevice>(d: &D) {
    let mut rng = SplitMix64::new(1);
    for &(m, n, k) in &[(1, 1, 1), (31, 17, 33), (257, 5, 16), (3, 40, 257)] {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randv(m * k + 3, &mut rng);
                let b = randv(k * n + 2, &mut rng);
                let c0 = randv(m * n, &mut rng);
                let (oa, ob) = (3, 2);
                let g = Gemm { off_a: oa, off_b: ob, alpha: 0.5, ..Gemm::new(m, n, k, ta, tb, 2.0) };
                let mut want = c0.clone();
                for i in 0..m {
                    for j in 0..n {
                        let mut s = 0f64;
                        for p in 0..k {
                            let av = if ta { a[oa + p * m + i] } else { a[oa + i * k + p] };
                            let bv = if tb { b[ob + j * k + p] } else { b[ob + p * n + j] };
                            s += av as f64 * bv as f64;
                        }
                        want[i * n + j] = (0.5 * s + 2.0 * c0[i * n + j] as f64) as f32;
                    }
                }
                let (ab, bb, cb) = (d.upload("a", &a).unwrap(), d.upload("b", &b).unwrap(), d.upload("c", &c0).unwrap());
                d.gemm(&g, &ab, &bb, &cb).unwrap();
                close(&format!("gemm {m}x{n}x{k} ta={ta} tb={tb}"), &d.download("c", &cb, m * n).unwrap(), &want, 1e-5);
            }
        }
    }
}

fn check_batchnorm_linear_relu<D: GpuDevice>(d: &D) {
    let mut rng = SplitMix64::new(2);
    for &(r, c) in &[(1, 3), (31, 7), (300, 33)] {
        let x = Mat::from_vec(r, c, randv(r * c, &mut rng));
        let wts: Vec<f32> = (0..r).map(|i| 1.0 + (i % 3) as f32).collect();
        let gamma = randv(c, &mut rng);
        let beta = randv(c, &mut rng);
        let (y, cache) = ops::bn_train_fwd(&x, &wts, &gamma, &beta);
        let mut y_relu = y.clone();
        ops::relu_inplace(&mut y_relu);
        let n: f32 = wts.iter().copied().sum();
        let (xd, wd, gd, bd) = (up(d, &x), d.upload("w", &wts).unwrap(), d.upload("g", &gamma).unwrap(), d.upload("b", &beta).unwrap());
        let (yd, cd) = dops::bn_train(d, &xd, &wd, n, &gd, &bd, true).unwrap();
        close("bn forward + relu", &down(d, &yd), &y_relu.data, 1e-4);
        close("bn xhat", &down(d, &cd.xhat), &cache.xhat.data, 1e-4);
        // Backward.
        let dy = Mat::from_vec(r, c, randv(r * c, &mut rng));
        let (mut dg, mut db) = (vec![0.1f32; c], vec![0.2f32; c]);
        let dx = ops::bn_bwd(&dy, &cache, &wts, &gamma, &mut dg, &mut db);
        let (dyd, dgd, dbd) = (up(d, &dy), d.upload("dg", &vec![0.1f32; c]).unwrap(), d.upload("db", &vec![0.2f32; c]).unwrap());
        let (_, cd_plain) = dops::bn_train(d, &xd, &wd, n, &gd, &bd, false).unwrap();
        dops::bn_bwd(d, &dyd, &cd_plain, &wd, &gd, &dgd, &dbd).unwrap();
        close("bn dx", &down(d, &dyd), &dx.data, 1e-4);
        close("bn dgamma", &d.download("dg", &dgd, c).unwrap(), &dg, 1e-4);
        close("bn dbeta", &d.download("db", &dbd, c).unwrap(), &db, 1e-4);
        // Running statistics.
        let (mut rm, mut rv) = (randv(c, &mut rng), vec![1.5f32; c]);
        let (rmd, rvd) = (d.upload("rm", &rm).unwrap(), d.upload("rv", &rv).unwrap());
        ops::bn_update_running(&cache, &mut rm, &mut rv);
        dops::bn_running(d, &cd_plain, &rmd, &rvd).unwrap();
        close("running mean", &d.download("rm", &rmd, c).unwrap(), &rm, 1e-5);
        close("running var", &d.download("rv", &rvd, c).unwrap(), &rv, 1e-5);
        // ReLU backward, linear forward / backward.
        let mut dyr = dy.clone();
        ops::relu_bwd_inplace(&mut dyr, &y_relu);
        let dyrd = up(d, &dy);
        dops::relu_bwd(d, &dyrd, &yd).unwrap();
        close("relu backward", &down(d, &dyrd), &dyr.data, 0.0);
        let w = Mat::from_vec(5, c, randv(5 * c, &mut rng));
        let b = randv(5, &mut rng);
        let lin = ops::linear_fwd(&x, &w, &b);
        let (wdv, bdv) = (up(d, &w), d.upload("b", &b).unwrap());
        close("linear forward", &down(d, &dops::linear_fwd(d, &xd, &wdv, &bdv).unwrap()), &lin.data, 1e-5);
        let dl = Mat::from_vec(r, 5, randv(r * 5, &mut rng));
        let (mut dw, mut dbias) = (Mat::zeros(5, c), vec![0f32; 5]);
        let dxl = ops::linear_bwd(&x, &w, &dl, &mut dw, &mut dbias);
        let (dwd, dbd2) = (d.zeros("dw", 5 * c).unwrap(), d.zeros("db", 5).unwrap());
        let dxd = dops::linear_bwd(d, &xd, &wdv, &up(d, &dl), &dwd, &dbd2).unwrap();
        close("linear dx", &down(d, &dxd), &dxl.data, 1e-5);
        close("linear dw", &d.download("dw", &dwd, 5 * c).unwrap(), &dw.data, 1e-5);
        close("linear db", &d.download("db", &dbd2, 5).unwrap(), &dbias, 1e-5);
        // Max-norm.
        let mut e = x.clone();
        ops::renorm_rows(&mut e, 1.0);
        dops::renorm(d, &xd, 1.0).unwrap();
        close("renorm", &down(d, &xd), &e.data, 1e-5);
    }
}

/// Eval-mode BatchNorm (running statistics, with and without ReLU) against the CPU op, on row
/// counts 1, 31 and 257 (not multiples of the 256-wide workgroup) and odd column counts.
fn check_bn_eval<D: GpuDevice>(d: &D) {
    let mut rng = SplitMix64::new(5);
    for &r in &[1usize, 31, 257] {
        for &c in &[1usize, 7, 33] {
            let x = Mat::from_vec(r, c, randv(r * c, &mut rng));
            let gamma = randv(c, &mut rng);
            let beta = randv(c, &mut rng);
            let rm = randv(c, &mut rng);
            let rv: Vec<f32> = (0..c).map(|_| 0.05 + rng.unit() as f32 * 3.0).collect();
            let y = ops::bn_eval_fwd(&x, &gamma, &beta, &rm, &rv);
            let (xd, gd, bd, rmd, rvd) = (up(d, &x), d.upload("g", &gamma).unwrap(), d.upload("b", &beta).unwrap(), d.upload("rm", &rm).unwrap(), d.upload("rv", &rv).unwrap());
            close(&format!("bn eval {r}x{c}"), &down(d, &dops::bn_eval(d, &xd, &gd, &bd, &rmd, &rvd, false).unwrap()), &y.data, 1e-5);
            let mut yr = y.clone();
            ops::relu_inplace(&mut yr);
            let got = down(d, &dops::bn_eval(d, &xd, &gd, &bd, &rmd, &rvd, true).unwrap());
            close(&format!("bn eval + relu {r}x{c}"), &got, &yr.data, 1e-5);
            assert!(got.iter().zip(&yr.data).all(|(a, b)| (*a == 0.0) == (*b == 0.0) || a.abs().max(b.abs()) < 1e-5), "bn eval + relu {r}x{c}: zeros differ");
        }
    }
}

fn check_propagation<D: GpuDevice>(d: &D) {
    let mut rng = SplitMix64::new(3);
    for &n in &[1usize, 31, 257] {
        let (mut s, mut t, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * n {
            let (a, b) = (rng.below(n as u64) as u32, rng.below(n as u64) as u32);
            if seen.insert((a, b)) {
                s.push(a);
                t.push(b);
                w.push(rng.unit() as f32 + 0.1);
            }
        }
        let p = Propagation::from_edges(n, &s, &t, &w).unwrap();
        let c = 19;
        let h = Mat::from_vec(n, c, randv(n * c, &mut rng));
        let rows: Vec<u32> = (0..n as u32).filter(|i| i % 3 != 1).collect();
        let want = p.apply(&h, Some(&rows));
        let mut sub = HostCsr::new();
        for &i in &rows {
            let r = p.indptr[i as usize] as usize..p.indptr[i as usize + 1] as usize;
            sub.push_row(r.map(|k| (p.src[k], p.w[k])));
        }
        let subd = sub.upload(d, "sub").unwrap();
        let out = dops::zeros(d, "out", rows.len(), c).unwrap();
        dops::spmm(d, &subd, &up(d, &h), &out, 1.0, 0.0).unwrap();
        close(&format!("propagation rows n={n}"), &down(d, &out), &want.data, 1e-5);
    }
}

/// 12 perturbed genes in 3 GO modules (+ 4 unperturbed GO nodes), 40 expression genes (as the
/// crate's own training checks).
fn toy_setup() -> (Dataset, Vec<String>, Propagation) {
    let names: Vec<String> = (0..16).map(|i| format!("P{i:02}")).collect();
    let modules: Vec<usize> = (0..12).map(|i| i / 4).collect();
    let data = toy_dataset(&ToySpec { n_genes: 40, pert_genes: names[..12].to_vec(), modules: modules.clone(), cells_per_pert: 20, n_ctrl: 60, seed: 3 });
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
    (data, names, Propagation::from_edges(16, &s, &d, &w).unwrap())
}

fn toy_context<'a>(data: &'a Dataset, names: &[String], go: Propagation, cfg: GearsConfig) -> TrainContext<'a> {
    let mut train: Vec<u32> = (1..=12).filter(|c| (c - 1) % 4 != 3).collect();
    train.push(0);
    let test: Vec<u32> = (1..=12).filter(|c| (c - 1) % 4 == 3).collect();
    let all: Vec<u32> = train.iter().chain(&test).copied().collect();
    let cond_nodes = condition_nodes(data, &all, names, "toy").unwrap();
    let coexpr = coexpression_graph(data, &train, cfg.coexpr_cells).unwrap();
    TrainContext { data, cfg, coexpr, go, cond_nodes, means: ConditionMeans::new(data).unwrap(), train_conds: train, val_conds: test }
}

/// The CPU step of `TrainContext::step`, split so that δ, loss and gradients can be compared.
fn cpu_step(ctx: &TrainContext, model: &mut GearsModel<f32>, adam: &mut Adam<f32>, batch: &[u32], lr: f64) -> (Mat<f32>, f64, GearsModel<f32>) {
    model.renorm_embeddings();
    let b = ctx.step_batch(batch);
    let (delta, cache) = model.forward_train(&ctx.coexpr, &ctx.go, &b.input);
    let out = ctx.batch_loss(&delta, &b);
    let mut grad = model.zeros_like();
    model.backward(&ctx.coexpr, &ctx.go, &b.input, &cache, &out.d_delta, &mut grad);
    model.update_running(&cache);
    let perturbed = b.perturbed();
    let g2 = grad.clone();
    adam.step(model, &mut grad, lr, perturbed);
    (delta, out.loss, g2)
}

/// Four steps (the last on control cells only). With `resync` the device model is re-uploaded
/// from the CPU state before every step, so each step is compared from identical weights at
/// tight tolerances. Without, the device state (weights, moments, running statistics) carries
/// over: Adam's near-sign first updates then amplify rounding differences of near-zero gradients,
/// so later steps are only compared at 500 times the tolerances (a check that state carries over).
fn check_training_steps<D: GpuDevice>(d: &D, pos_quirk: bool, resync: bool) {
    let (data, names, go) = toy_setup();
    let cfg = GearsConfig { hidden: 24, batch_size: 37, pos_quirk, ..Default::default() };
    let ctx = toy_context(&data, &names, go, cfg);
    let state = ctx.new_state();
    let (mut model, mut adam) = (state.model.clone(), state.adam.clone());
    let mut dm = DeviceModel::upload(d, &model, &adam, &ctx.coexpr).unwrap();
    let examples = ctx.examples();
    let mut rng = SplitMix64::new(11);
    let mut null = std::collections::HashSet::new();
    let mut lr_sum = 0.0;
    for step in 0..4 {
        // A random batch; the last step is all control cells (no perturbed group: Adam skips the perturbation path).
        let batch: Vec<u32> = if step == 3 {
            (0..37).map(|i| i as u32).collect()
        } else {
            (0..37).map(|_| examples[rng.below(examples.len() as u64) as usize]).collect()
        };
        let lr = 1e-3 * (step + 1) as f64;
        let f = if resync || step == 0 { 1.0 } else { 500.0 };
        // With the positional quirk the control-only batch has two groups (weights 1 and 36):
        // BatchNorm over two distinct rows (cross_gene_state) is badly conditioned in backward
        // (its dx cancels to a few bits), so gradients get 20 times the tolerance there.
        let few = if ctx.batch_input(&batch).0.groups.len() <= 2 { 20.0 } else { 1.0 };
        if resync {
            dm = DeviceModel::upload(d, &model, &adam, &ctx.coexpr).unwrap();
        }
        let (delta, loss, grad) = cpu_step(&ctx, &mut model, &mut adam, &batch, lr);
        // Device: the same step, split the same way.
        dm.renorm_embeddings().unwrap();
        let (inp, _) = ctx.batch_input(&batch);
        let (ddelta, cache) = dm.forward(&ctx.go, &inp).unwrap();
        close(&format!("step {step}: delta"), &ddelta.data, &delta.data, 1e-4 * f);
        // The loss (host) of the device δ.
        dm.zero_grads().unwrap();
        let d_delta = {
            let b = ctx.step_batch(&batch);
            assert_eq!(b.input, inp);
            let out = ctx.batch_loss(&ddelta, &b);
            assert!((out.loss - loss).abs() <= 1e-4 * f * loss.abs().max(1e-3), "step {step}: loss {} vs {loss}", out.loss);
            out.d_delta
        };
        dm.backward(&ctx.go, &inp, &cache, &d_delta).unwrap();
        let mut dgrad = dm.download_grads(&model).unwrap();
        let mut cgrad = grad.clone();
        let global = cgrad.params_mut().iter().flat_map(|(_, m)| m.data.iter()).fold(0f32, |m, &v| m.max(v.abs())) as f64;
        for ((name, a), (_, b)) in dgrad.params_mut().into_iter().zip(cgrad.params_mut()) {
            let scale = b.data.iter().fold(0f32, |m, &v| m.max(v.abs())) as f64;
            if scale < 1e-4 * global {
                // A bias whose effect the next BatchNorm removes: zero gradient up to rounding on both sides.
                null.insert(name.clone());
                let diff = a.data.iter().zip(&b.data).fold(0f64, |m, (&x, &y)| m.max((x - y).abs() as f64));
                assert!(diff <= 1e-5 * f * global, "step {step}: gradient of {name} (zero up to rounding): {diff:.2e}");
            } else {
                close(&format!("step {step}: gradient of {name}"), &a.data, &b.data, 1e-4 * f * few);
            }
        }
        lr_sum += lr;
        dm.update_running(&cache).unwrap();
        let perturbed = inp.groups.iter().any(|gr| !gr.perts.is_empty());
        assert_eq!(perturbed, step != 3);
        dm.adam_step(lr, perturbed).unwrap();
        let (mut hm, mut ha) = (model.clone(), adam.clone());
        dm.download(&mut hm, &mut ha).unwrap();
        assert_eq!(ha.steps, adam.steps, "step {step}: Adam step counts");
        let mut cm = model.clone();
        // Adam moves a parameter by up to about 3 lr per step whatever its gradient's size, so
        // the zero-gradient biases (rounding noise on both sides) may differ by that much; they
        // do not change the output, but the running means behind them follow them.
        let slack = 4.0 * lr_sum;
        let mut total_off = 0;
        for ((name, a), (_, b)) in hm.params_mut().into_iter().zip(cm.params_mut()) {
            if null.contains(&name) {
                let diff = a.data.iter().zip(&b.data).fold(0f64, |m, (&x, &y)| m.max((x - y).abs() as f64));
                assert!(diff <= slack, "step {step}: {name} after Adam differs by {diff:.2e} (zero-gradient bias, at most {slack:.1e})");
            } else {
                // Adam's first steps move by about lr sign(g): elements whose gradient is at the
                // rounding level of the tensor may go either way. Few may, and by at most the slack.
                let scale = b.data.iter().fold(0f32, |m, &v| m.max(v.abs())) as f64;
                let diffs: Vec<f64> = a.data.iter().zip(&b.data).map(|(&x, &y)| (x - y).abs() as f64).collect();
                let off = diffs.iter().filter(|&&d| d > 1e-4 * f * scale).count();
                let max = diffs.iter().fold(0f64, |m, &d| m.max(d));
                total_off += off;
                assert!(off * 50 <= a.data.len().max(50) && max <= slack, "step {step}: {name} after Adam: {off} of {} values off by up to {max:.2e}", a.data.len());
            }
        }
        for ((name, a), (_, b)) in hm.buffers_mut().into_iter().zip(cm.buffers_mut()) {
            let scale = b.iter().fold(0f32, |m, &v| m.max(v.abs())) as f64;
            let diff = a.iter().zip(b.iter()).fold(0f64, |m, (&x, &y)| m.max((x - y).abs() as f64));
            assert!(diff <= 1e-4 * f * scale + slack, "step {step}: {name} differs by {diff:.2e}");
        }
        eprintln!("step {step} (pos_quirk {pos_quirk}, resync {resync}): {total_off} parameter values moved differently by Adam (near-zero gradients)");
    }
}

fn check_adam<D: GpuDevice>(d: &D) {
    use graphreach::gears::train::adam::AdamConfig;
    use graphreach::gears::device::ops::AdamScalars;
    let mut model = GearsModel::<f32>::init(7, 5, 3, 1);
    let mut adam = Adam::new(&model, AdamConfig::default());
    let mut rng = SplitMix64::new(4);
    let mut dev: Vec<_> = model.clone().params_mut().into_iter().map(|(_, p)| {
        [d.upload("p", &p.data).unwrap(), d.zeros("g", p.data.len()).unwrap(), d.zeros("m", p.data.len()).unwrap(), d.zeros("v", p.data.len()).unwrap()]
    }).collect();
    for t in 1..=3u64 {
        let mut grad = model.zeros_like();
        for ((_, g), bufs) in grad.params_mut().into_iter().zip(&mut dev) {
            g.data = (0..g.data.len()).map(|_| 1.5 * rng.normal() as f32).collect();
            bufs[1] = d.upload("g", &g.data).unwrap();
        }
        let lr = 1e-2 * t as f64;
        for ((_, p), bufs) in model.clone().params_mut().into_iter().zip(&dev) {
            dops::adam(d, p.data.len(), &bufs[0], &bufs[1], &bufs[2], &bufs[3], &AdamScalars::new(&adam.cfg, t, lr)).unwrap();
        }
        adam.step(&mut model, &mut grad, lr, true);
    }
    for ((name, p), bufs) in model.params_mut().into_iter().zip(&dev) {
        close(&format!("adam {name}"), &d.download("p", &bufs[0], p.data.len()).unwrap(), &p.data, 1e-6);
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_adam_matches_cpu() {
    with_wgpu("adam", check_adam);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_gemm_matches_reference_for_every_transpose_and_odd_sizes() {
    with_wgpu("gemm", check_gemm);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_batchnorm_linear_relu_renorm_match_cpu_ops() {
    with_wgpu("batchnorm", check_batchnorm_linear_relu);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_propagation_matches_cpu() {
    with_wgpu("propagation", check_propagation);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_training_steps_match_the_cpu_trainer() {
    with_wgpu("training steps", |d| {
        for resync in [true, false] {
            check_training_steps(d, false, resync);
            check_training_steps(d, true, resync);
        }
    });
}

#[cfg(feature = "cuda")]
fn with_cuda(test: &str, f: impl FnOnce(&graphreach::backend::cuda::CudaCtx)) {
    match graphreach::backend::cuda::CudaCtx::open().and_then(|d| d.prepare_gemm().map(|()| d)) {
        Ok(d) => {
            eprintln!("{test}: cuda on {}", d.describe());
            f(&d)
        }
        Err(e) if required("GRAPHREACH_REQUIRE_CUDA") => panic!("GRAPHREACH_REQUIRE_CUDA=1 but CUDA is unavailable: {e}"),
        Err(e) => eprintln!("SKIPPED {test} on cuda: {e}"),
    }
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_ops_match_cpu() {
    with_cuda("ops", |d| {
        check_gemm(d);
        check_batchnorm_linear_relu(d);
        check_bn_eval(d);
        check_propagation(d);
        check_adam(d);
    });
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_training_steps_match_the_cpu_trainer() {
    with_cuda("training steps", |d| {
        for resync in [true, false] {
            check_training_steps(d, false, resync);
            check_training_steps(d, true, resync);
        }
    });
}

/// Embeddings from the eval-mode device forward ([`DeviceModel::forward_eval`]) against the CPU
/// reference, for both kinds, a model trained for one epoch (running statistics in use), with and
/// without the positional quirk, on more perturbations than one device chunk when the device's
/// chunk is small: every value within 1e-5 of its row's largest value (f32 reassociation only).
fn check_embed<D: GpuDevice>(d: &D) {
    use graphreach::gears::eval::embed::{embed_on_cpu, EmbedKind, EmbedPert};
    use graphreach::gears::device::embed::{chunk_size, embed_on_device};
    use graphreach::gears::train::checkpoint::{ModelFile, ModelMeta};
    use graphreach::gears::train::fit::Hooks;
    for pos_quirk in [false, true] {
        let (data, names, go) = toy_setup();
        let cfg = GearsConfig { hidden: 16, batch_size: 32, epochs: 1, pos_quirk, ..Default::default() };
        let ctx = toy_context(&data, &names, go, cfg.clone());
        let mut state = ctx.new_state();
        ctx.fit(&mut state, Hooks::default(), &mut |_| Ok(())).unwrap();
        let meta = ModelMeta { config: cfg, dataset: data.name.clone(), genes: data.gene_names.clone(), pert_names: names.clone(), graph: "toy".into(), train_conditions: vec![], val_conditions: vec![], epoch: 1 };
        let mf = ModelFile { model: state.model.clone(), coexpr: ctx.coexpr.clone(), go: ctx.go.clone(), meta };
        // Every GO node alone (4 of them without cells), and doubles.
        let mut perts: Vec<EmbedPert> = (0..16u32).map(|i| EmbedPert { name: names[i as usize].clone(), nodes: vec![i] }).collect();
        perts.extend((0..70u32).map(|i| EmbedPert { name: format!("double{i}"), nodes: vec![i % 16, (i * 7 + 3) % 16] }));
        assert!(perts.len() > chunk_size(d, data.n_genes(), 16), "more perturbations than one device chunk");
        for kind in [EmbedKind::MeanExpression, EmbedKind::CrossGene] {
            let cpu = embed_on_cpu(&mf, &perts, kind, &ctx.means.ctrl).unwrap();
            let dev = embed_on_device(d, &mf, &perts, kind, &ctx.means.ctrl).unwrap();
            assert_eq!((dev.names.clone(), dev.dim), (cpu.names.clone(), cpu.dim));
            let mut worst = 0f64;
            for i in 0..cpu.len() {
                let scale = cpu.row(i).iter().fold(0f64, |m, v| m.max(v.abs()));
                let diff = dev.row(i).iter().zip(cpu.row(i)).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
                worst = worst.max(diff / scale);
            }
            eprintln!("embed {kind:?} pos_quirk {pos_quirk}: largest relative difference {worst:.2e}");
            assert!(worst <= 1e-5, "embed {kind:?} pos_quirk {pos_quirk}: device vs cpu {worst:.2e}");
        }
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_bn_eval_matches_cpu() {
    with_wgpu("bn eval", check_bn_eval);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_embeddings_match_the_cpu() {
    with_wgpu("embeddings", check_embed);
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_embeddings_match_the_cpu() {
    with_cuda("embeddings", check_embed);
}

/// Two epochs of the real loop on the device next to the CPU loop: the start-up check passes,
/// the per-epoch losses agree (up to the divergence of near-zero-gradient parameters, see
/// `check_training_steps`), the host state is synchronised every epoch (validation metrics,
/// Adam step counts) and the loss decreases.
fn check_fit<D: GpuDevice>(d: &D) {
    use graphreach::gears::device::train::{fit_on_device, self_check};
    use graphreach::gears::train::fit::Hooks;
    let (data, names, go) = toy_setup();
    let cfg = GearsConfig { hidden: 16, batch_size: 32, epochs: 2, lr: 3e-3, ..Default::default() };
    let ctx = toy_context(&data, &names, go, cfg);
    let mut cpu = ctx.new_state();
    let mut dev = ctx.new_state();
    let rel = self_check(&ctx, d, &dev, &ctx.examples()[..32]).unwrap();
    assert!(rel < 1e-4, "start-up check {rel:.2e}");
    ctx.fit(&mut cpu, Hooks::default(), &mut |_| Ok(())).unwrap();
    let mut epochs = 0;
    fit_on_device(&ctx, d, &mut dev, Hooks::default(), &mut |s| {
        epochs += 1;
        assert_eq!(s.epochs_done, epochs);
        Ok(())
    })
    .unwrap();
    assert_eq!(epochs, 2);
    assert_eq!(dev.adam.steps, cpu.adam.steps);
    for (a, b) in dev.log.iter().zip(&cpu.log) {
        assert_eq!(a.steps, b.steps);
        assert!((a.train_loss - b.train_loss).abs() <= 1e-3 * b.train_loss, "epoch {}: loss {} vs {}", a.epoch, a.train_loss, b.train_loss);
        let (va, vb) = (a.val_mse_de.unwrap(), b.val_mse_de.unwrap());
        assert!((va - vb).abs() <= 1e-3 * vb, "epoch {}: val mse_de {va} vs {vb}", a.epoch);
        eprintln!("epoch {}: loss device {:.6} cpu {:.6}; val mse_de device {va:.6} cpu {vb:.6}", a.epoch, a.train_loss, b.train_loss);
    }
    assert!(dev.log[1].train_loss < dev.log[0].train_loss);
    assert!(dev.selected.is_some());
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_fit_matches_the_cpu_loop() {
    with_wgpu("fit", check_fit);
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_fit_matches_the_cpu_loop() {
    with_cuda("fit", check_fit);
}

/// A training step on wgpu is one submission and one wait: the launches of step k's backward,
/// running statistics and Adam update are recorded into the command encoder that step k + 1's
/// forward adds to, and that encoder is submitted when δ is read back for the host-side loss. The
/// epoch's synchronisation (weights, statistics and Adam moments) is one more submission and wait.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_training_step_is_one_submission() {
    use graphreach::gears::device::train::device_step;
    with_wgpu("submissions per step", |d| {
        let (data, names, go) = toy_setup();
        let cfg = GearsConfig { hidden: 16, batch_size: 32, ..Default::default() };
        let ctx = toy_context(&data, &names, go, cfg);
        let mut state = ctx.new_state();
        let mut dm = DeviceModel::upload(d, &state.model, &state.adam, &ctx.coexpr).unwrap();
        let examples = ctx.examples();
        d.flush().unwrap();
        for (k, batch) in examples.chunks_exact(32).take(4).enumerate() {
            let before = d.stats();
            device_step(&ctx, &mut dm, batch, 1e-3).unwrap();
            let s = d.stats() - before;
            eprintln!("step {k}: {} launches, {} submission(s), {} wait(s); {} launches left recorded", s.launches, s.submits, s.waits, d.pending_launches());
            assert!(s.launches > 50, "step {k}: only {} launches", s.launches);
            assert_eq!((s.submits, s.waits), (1, 1), "step {k}");
            assert!(d.pending_launches() > 0, "the backward and Adam launches wait for the next submission");
        }
        let before = d.stats();
        dm.download(&mut state.model, &mut state.adam).unwrap();
        let s = d.stats() - before;
        assert_eq!((s.submits, s.waits, d.pending_launches()), (1, 1, 0), "epoch synchronisation");
    });
}
