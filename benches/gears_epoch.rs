//! Wall-clock of GEARS training epochs on the CPU path: a seeded toy dataset of 16,000 cells x
//! 299 genes whose perturbed genes are nodes of builtin:go-k562 (9,792 nodes), batch 32, hidden 64.
//!
//! `cargo bench --no-default-features --bench gears_epoch`; environment: GEARS_BENCH_PERTS
//! (perturbations, default 100), GEARS_BENCH_EPOCHS (default 1), GEARS_BENCH_QUIRK=1.

use graphreach::gears::net::propagation::Propagation;
use graphreach::gears::dataset::conditions::{coexpression_graph, condition_nodes, graph_symbols};
use graphreach::gears::dataset::means::ConditionMeans;
use graphreach::gears::fixtures::{toy_dataset, ToySpec};
use graphreach::gears::train::fit::{Hooks, TrainContext};
use graphreach::gears::GearsConfig;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// User + system CPU seconds of this process (Linux /proc; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Times the parts of 100 training steps.
fn split_timing(ctx: &TrainContext, state: &mut graphreach::gears::train::fit::TrainState) {
    graphreach::gears::train::fit::keep_freed_memory();
    let mut ex = ctx.examples();
    let mut rng = graphreach::rng::SplitMix64::new(5);
    for i in (1..ex.len()).rev() {
        ex.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut grad = state.model.zeros_like();
    let (mut tf, mut tb, mut ta, mut tl) = (0.0, 0.0, 0.0, 0.0);
    let mut groups = 0;
    for batch in ex.chunks_exact(32).take(100) {
        let b = ctx.step_batch(batch);
        let inp = &b.input;
        groups += inp.groups.len();
        let t = Instant::now();
        let (delta, cache) = state.model.forward_train(&ctx.coexpr, &ctx.go, inp);
        tf += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = ctx.batch_loss(&delta, &b);
        tl += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for (_, p) in grad.params_mut() {
            p.fill_zero();
        }
        state.model.backward(&ctx.coexpr, &ctx.go, inp, &cache, &out.d_delta, &mut grad);
        tb += t.elapsed().as_secs_f64();
        let t = Instant::now();
        state.adam.step(&mut state.model, &mut grad, 1e-3, true);
        ta += t.elapsed().as_secs_f64();
    }
    println!(
        "per step (ms): forward {:.1}, loss {:.1}, zero+backward {:.1}, adam {:.1}; {:.1} groups per batch",
        tf * 10.0, tl * 10.0, tb * 10.0, ta * 10.0, groups as f64 / 100.0
    );
}

fn gemm_probe() {
    use graphreach::gears::net::mat::{gemm_nn, gemm_tn_acc};
    let (r, i, o) = (8400usize, 64usize, 128usize);
    let x = vec![0.5f32; r * i];
    let w = vec![0.25f32; o * i];
    let mut y = vec![0f32; r * o];
    let t = Instant::now();
    for _ in 0..20 {
        gemm_nn(&x, r, i, &w, o, true, 0.0, &mut y);
    }
    let f = 20.0 * 2.0 * (r * i * o) as f64 / t.elapsed().as_secs_f64() / 1e9;
    let mut dw = vec![0f32; o * i];
    let t = Instant::now();
    for _ in 0..20 {
        gemm_tn_acc(&y, r, o, &x, i, &mut dw);
    }
    let f2 = 20.0 * 2.0 * (r * i * o) as f64 / t.elapsed().as_secs_f64() / 1e9;
    let mut dx = vec![0f32; r * i];
    let t = Instant::now();
    for _ in 0..20 {
        gemm_nn(&y, r, o, &w, i, false, 0.0, &mut dx);
    }
    let f3 = 20.0 * 2.0 * (r * i * o) as f64 / t.elapsed().as_secs_f64() / 1e9;
    println!("GFLOPS: forward {f:.1}, weight grad {f2:.1}, input grad {f3:.1}");
}

fn main() {
    if env("GEARS_BENCH_GEMM", 0) == 1 {
        return gemm_probe();
    }
    let n_perts = env("GEARS_BENCH_PERTS", 100);
    let epochs = env("GEARS_BENCH_EPOCHS", 1);
    let quirk = env("GEARS_BENCH_QUIRK", 0) == 1;
    let graph = graphreach::graph::io::load_graph("builtin:go-k562").expect("builtin graph");
    let names = graph_symbols(&graph).expect("symbols");
    let step = names.len() / n_perts;
    let pert_genes: Vec<String> = (0..n_perts).map(|i| names[i * step].clone()).collect();
    let n_ctrl = 1000;
    let cells_per_pert = (16_000 - n_ctrl) / n_perts;
    let modules = (0..n_perts).map(|i| i % 5).collect();
    let data = toy_dataset(&ToySpec { n_genes: 299, pert_genes, modules, cells_per_pert, n_ctrl, seed: 1 });
    let train: Vec<u32> = (1..=n_perts as u32).collect();
    let cfg = GearsConfig { epochs, pos_quirk: quirk, ..Default::default() };
    let t = Instant::now();
    let ctx = TrainContext {
        data: &data,
        cfg: cfg.clone(),
        coexpr: coexpression_graph(&data, &train, cfg.coexpr_cells).unwrap(),
        go: Propagation::from_graph(&graph).unwrap(),
        cond_nodes: condition_nodes(&data, &train, &names, &graph.name).unwrap(),
        means: ConditionMeans::new(&data).unwrap(),
        train_conds: train.clone(),
        val_conds: Vec::new(),
    };
    let setup = t.elapsed().as_secs_f64();
    let mut state = ctx.new_state();
    if env("GEARS_BENCH_SPLIT", 0) == 1 {
        return split_timing(&ctx, &mut state);
    }
    let cpu0 = cpu_seconds();
    ctx.fit(&mut state, Hooks::default(), &mut |_| Ok(())).unwrap();
    for l in &state.log {
        println!(
            "epoch {}: {:.2} s, {} steps ({:.1} ms/step), loss {:.4} | cells {} genes {} perts {} GO nodes {} threads {} quirk {quirk}",
            l.epoch, l.seconds, l.steps, 1e3 * l.seconds / l.steps as f64, l.train_loss, data.n_cells(), data.n_genes(), n_perts, ctx.go.n,
            rayon::current_num_threads()
        );
    }
    println!("process CPU time of training: {:.2} s", cpu_seconds() - cpu0);
    let t = Instant::now();
    let m = ctx.evaluate(&state.model, &train);
    println!("setup {setup:.2} s; evaluation of {} perturbations (one forward each): {:.3} s", m.len(), t.elapsed().as_secs_f64());
}
