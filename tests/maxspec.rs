//! MaxSpec: power iteration against a dense eigen-decomposition, the tie rule and the objective.

mod common;

use graphreach::backend::cpu::{power_iteration, CpuBackend};
use graphreach::backend::{Backend, PowerIterConfig, SpectralOperator};
use graphreach::graph::Direction;
use graphreach::select::maxspec::{pick_best, MaxSpecObjective};
use graphreach::select::pool::all_nodes;
use graphreach::graph::sets::SetList;
use graphreach::select::{select, Budget, Method, SelectConfig};

/// Largest eigenvalue of a symmetric matrix by cyclic Jacobi rotations (f64, dense).
fn jacobi_max_eig(mut a: Vec<Vec<f64>>) -> f64 {
    let n = a.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i][j] * a[i][j]).sum();
        if off < 1e-26 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).fold(f64::NEG_INFINITY, f64::max)
}

/// Dense M[S,S] = D^-1/2 (A+I) D^-1/2 restricted to S, then sqrt(lambda_max(MᵀM)).
fn dense_sigma(op: &SpectralOperator, set: &[u32]) -> f64 {
    let k = set.len();
    let mut m = vec![vec![0.0; k]; k];
    for (i, &u) in set.iter().enumerate() {
        for (j, &v) in set.iter().enumerate() {
            let a = if u == v { 1.0 } else if op.adj.row(u as usize).contains(&v) { 1.0 } else { 0.0 };
            m[i][j] = a * op.dinv_sqrt[u as usize] * op.dinv_sqrt[v as usize];
        }
    }
    let mut mtm = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            mtm[i][j] = (0..k).map(|r| m[r][i] * m[r][j]).sum();
        }
    }
    jacobi_max_eig(mtm).max(0.0).sqrt()
}

#[test]
fn power_iteration_matches_dense_svd() {
    let cfg = PowerIterConfig { tol: 1e-13, max_iter: 20000 };
    let mut rng = graphreach::rng::SplitMix64::new(5);
    for (name, g) in common::shapes().into_iter().filter(|(_, g)| g.n_nodes() <= 200) {
        for dir in [Direction::In, Direction::Out, Direction::Undirected] {
            let op = SpectralOperator::from_hop_adjacency(&g.hop_adjacency(dir));
            for trial in 0..4 {
                let n = g.n_nodes();
                let k = (1 + rng.below(n.min(40) as u64) as usize).min(n);
                let mut set: Vec<u32> = (0..n as u32).collect();
                for i in 0..k {
                    let j = i + rng.below((n - i) as u64) as usize;
                    set.swap(i, j);
                }
                set.truncate(k);
                set.sort();
                let (pi, vec) = power_iteration(&op, &set, &[], &cfg).unwrap();
                let dense = dense_sigma(&op, &set);
                let rel = (pi.sigma - dense).abs() / dense.max(1e-300);
                assert!(rel < 1e-6, "{name} {dir:?} trial {trial}: power {} vs dense {dense} (rel {rel})", pi.sigma);
                assert!(vec.iter().enumerate().all(|(i, x)| *x == 0.0 || set.binary_search(&(i as u32)).is_ok()));
                // Warm start from the converged vector gives the same value.
                let (again, _) = power_iteration(&op, &set, &vec, &cfg).unwrap();
                assert!((again.sigma - pi.sigma).abs() <= 1e-9 * pi.sigma.max(1e-300));
            }
        }
    }
}

#[test]
fn batched_norms_equal_single_norms() {
    let g = common::random_graph(150, 900, 11);
    let op = SpectralOperator::from_hop_adjacency(&g.hop_adjacency(Direction::In));
    let cfg = PowerIterConfig::default();
    let sets = SetList::from_sets((0..20u32).map(|i| (i..i + 30).collect::<Vec<_>>()));
    let batch = CpuBackend::new().spectral_norms(&op, &sets, &[], &cfg).unwrap();
    for (i, b) in batch.iter().enumerate() {
        let (single, _) = power_iteration(&op, sets.get(i), &[], &cfg).unwrap();
        assert_eq!(b.sigma, single.sigma);
        assert!(b.converged);
    }
}

#[test]
fn full_graph_degree_makes_the_score_informative() {
    // With D from the full graph, sigma < 1 for a proper subset and differs between sets.
    let g = common::random_graph(100, 600, 3);
    let op = SpectralOperator::from_hop_adjacency(&g.hop_adjacency(Direction::Undirected));
    let cfg = PowerIterConfig::default();
    let a = power_iteration(&op, &[0, 1, 2, 3], &[], &cfg).unwrap().0.sigma;
    let b = power_iteration(&op, &(0..60).collect::<Vec<_>>(), &[], &cfg).unwrap().0.sigma;
    assert!(a < b && b < 1.0, "{a} {b}");
}

#[test]
fn tie_window_prefers_smallest_index() {
    assert_eq!(pick_best(&[0.5, 0.4000001, 0.4, 0.6], MaxSpecObjective::Min), 1);
    assert_eq!(pick_best(&[0.5, 0.41, 0.4, 0.6], MaxSpecObjective::Min), 2);
    assert_eq!(pick_best(&[0.6, 0.5, 0.6000000001], MaxSpecObjective::Max), 0);
}

#[test]
fn maxspec_scores_are_nondecreasing_and_objective_matters() {
    let g = common::random_graph(300, 900, 21);
    let pool = all_nodes(&g);
    let run = |objective| {
        let cfg = SelectConfig { method: Method::Maxspec, objective, budget: Budget::Count(12), ..Default::default() };
        select(&g, &pool, &cfg, &CpuBackend::new(), None).unwrap()
    };
    let min = run(MaxSpecObjective::Min);
    let max = run(MaxSpecObjective::Max);
    let scores: Vec<f64> = min.selection.iter().map(|p| p.score.unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[1] >= w[0] * (1.0 - 1e-9)), "{scores:?}");
    assert_ne!(
        min.selection.iter().map(|p| &p.gene).collect::<Vec<_>>(),
        max.selection.iter().map(|p| &p.gene).collect::<Vec<_>>()
    );
    assert!(max.selection[0].score.unwrap() > min.selection[0].score.unwrap());
}

#[test]
fn maxspec_first_pick_is_the_global_minimum() {
    let g = common::random_graph(120, 500, 8);
    let cfg = SelectConfig { method: Method::Maxspec, budget: Budget::Count(1), ..Default::default() };
    let s = select(&g, &all_nodes(&g), &cfg, &CpuBackend::new(), None).unwrap();
    let op = SpectralOperator::from_hop_adjacency(&g.hop_adjacency(Direction::In));
    let adj = g.hop_adjacency(Direction::In);
    let mut best = (f64::INFINITY, 0u32);
    for v in 0..120u32 {
        let mut ball: Vec<u32> = adj.row(v as usize).to_vec();
        ball.push(v);
        ball.sort();
        ball.dedup();
        let sigma = dense_sigma(&op, &ball);
        if sigma < best.0 * (1.0 - 1e-6) {
            best = (sigma, v);
        }
    }
    assert_eq!(s.selection[0].node_id, best.1);
}

#[test]
fn lazy_maxspec_equals_naive_maxspec() {
    use graphreach::select::maxspec::{maxspec, maxspec_naive};
    use graphreach::graph::sets::BallLayout;
    let cpu = CpuBackend::new();
    let cfg = PowerIterConfig::default();
    for (name, g) in common::shapes().into_iter().filter(|(_, g)| g.n_nodes() <= 200) {
        for dir in [Direction::In, Direction::Undirected] {
            let adj = g.hop_adjacency(dir);
            let op = SpectralOperator::from_hop_adjacency(&adj);
            let seeds = SetList::from_sets((0..g.n_nodes() as u32).map(|v| vec![v]));
            let balls = cpu.balls(&adj, &seeds, 1, BallLayout::Auto).unwrap();
            let budget = g.n_nodes().min(25);
            let a = maxspec(&cpu, &op, &balls, budget, MaxSpecObjective::Min, &cfg).unwrap().picks;
            let b = maxspec_naive(&cpu, &op, &balls, budget, MaxSpecObjective::Min, &cfg).unwrap().picks;
            let ca: Vec<u32> = a.iter().map(|p| p.candidate).collect();
            let cb: Vec<u32> = b.iter().map(|p| p.candidate).collect();
            assert_eq!(ca, cb, "{name} {dir:?}");
            for (x, y) in a.iter().zip(&b) {
                assert!((x.score - y.score).abs() <= 1e-9 * y.score.abs().max(1e-12), "{name}: {} vs {}", x.score, y.score);
            }
        }
    }
}
