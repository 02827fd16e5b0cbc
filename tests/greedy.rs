//! Lazy greedy (CELF) against naive greedy, and the submodularity facts both rely on.

mod common;

use graphreach::backend::cpu::CpuBackend;
use graphreach::backend::Backend;
use graphreach::graph::Direction;
use graphreach::select::greedy::{lazy_greedy, naive_greedy};
use graphreach::graph::sets::{BallLayout, BallSet, SetList};
use proptest::prelude::*;

fn balls(g: &graphreach::graph::Graph, dir: Direction, hops: u32, layout: BallLayout) -> BallSet {
    let seeds = SetList::from_sets((0..g.n_nodes() as u32).map(|v| vec![v]));
    CpuBackend::new().balls(&g.hop_adjacency(dir), &seeds, hops, layout).unwrap()
}

fn weights(n: usize, seed: u64) -> Vec<u32> {
    let mut r = graphreach::rng::SplitMix64::new(seed);
    (0..n).map(|_| r.below(1000) as u32).collect()
}

fn check_equal(b: &BallSet, w: Option<&[u32]>, budget: usize, width: usize) {
    let cpu = CpuBackend::new();
    let mut o1 = cpu.coverage(b, w).unwrap();
    let naive = naive_greedy(o1.as_mut(), b.len(), budget).unwrap().picks;
    let mut o2 = cpu.coverage(b, w).unwrap();
    let lazy = lazy_greedy(o2.as_mut(), b.len(), budget, width).unwrap().picks;
    assert_eq!(naive, lazy, "lazy and naive greedy differ (width {width})");
    assert_eq!(naive.len(), budget.min(b.len()));
}

#[test]
fn lazy_equals_naive_on_all_shapes_directions_hops_and_widths() {
    for (name, g) in common::shapes() {
        for dir in [Direction::In, Direction::Out, Direction::Undirected] {
            for hops in [0, 1, 2, 3] {
                for layout in [BallLayout::Sparse, BallLayout::Dense] {
                    let b = balls(&g, dir, hops, layout);
                    let n = g.n_nodes();
                    for budget in [1, n / 3 + 1, n.min(120)] {
                        for width in [1, 3, 64] {
                            check_equal(&b, None, budget, width);
                        }
                        let w = weights(n, 9);
                        check_equal(&b, Some(&w), budget, 4);
                    }
                    let _ = name;
                }
            }
        }
    }
}

#[test]
fn sparse_and_dense_layouts_give_identical_balls_and_gains() {
    for (_, g) in common::shapes() {
        let s = balls(&g, Direction::In, 2, BallLayout::Sparse);
        let d = balls(&g, Direction::In, 2, BallLayout::Dense);
        assert_eq!(s.to_sets(), d.to_sets());
        let cpu = CpuBackend::new();
        let ids: Vec<u32> = (0..s.len() as u32).collect();
        let (mut gs, mut gd) = (vec![0; ids.len()], vec![0; ids.len()]);
        let (mut os, mut od) = (cpu.coverage(&s, None).unwrap(), cpu.coverage(&d, None).unwrap());
        if !ids.is_empty() {
            os.commit(0).unwrap();
            od.commit(0).unwrap();
        }
        os.gains(&ids, &mut gs).unwrap();
        od.gains(&ids, &mut gd).unwrap();
        assert_eq!(gs, gd);
    }
}

#[test]
fn coverage_is_monotone_and_gains_never_increase() {
    for (_, g) in common::shapes() {
        let b = balls(&g, Direction::Undirected, 1, BallLayout::Auto);
        let cpu = CpuBackend::new();
        let mut o = cpu.coverage(&b, None).unwrap();
        let ids: Vec<u32> = (0..b.len() as u32).collect();
        let mut prev = vec![0u64; ids.len()];
        o.gains(&ids, &mut prev).unwrap();
        let mut covered = 0u64;
        // Commit in a scrambled order: submodularity holds for any sequence.
        for k in 0..ids.len() {
            let c = ((k * 7919) % ids.len()) as u32;
            let gain = o.commit(c).unwrap();
            covered += gain;
            let mut now = vec![0u64; ids.len()];
            o.gains(&ids, &mut now).unwrap();
            for i in 0..ids.len() {
                assert!(now[i] <= prev[i], "gain of {i} increased from {} to {}", prev[i], now[i]);
            }
            assert!(covered <= g.n_nodes() as u64);
            prev = now;
        }
    }
}

#[test]
fn ball_contains_seed_and_respects_hops() {
    // path 0 -> 1 -> 2 -> 3
    let g = common::graph_from_edges(4, &[(0, 1), (1, 2), (2, 3)]);
    let b = balls(&g, Direction::Out, 2, BallLayout::Sparse);
    assert_eq!(b.members(0), vec![0, 1, 2]);
    assert_eq!(b.members(3), vec![3]);
    let b = balls(&g, Direction::In, 2, BallLayout::Sparse);
    assert_eq!(b.members(3), vec![1, 2, 3]);
    assert_eq!(b.members(0), vec![0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn prop_lazy_equals_naive(n in 1usize..60, m in 0usize..200, seed in any::<u64>(), hops in 0u32..3, budget_frac in 0.0f64..1.0, width in 1usize..9, weighted in any::<bool>()) {
        let g = common::random_graph(n, m, seed);
        let b = balls(&g, Direction::In, hops, BallLayout::Auto);
        let budget = ((n as f64 * budget_frac) as usize).max(1);
        let w = weights(n, seed ^ 1);
        check_equal(&b, if weighted { Some(&w) } else { None }, budget, width);
    }
}
