//! The direct CPU ball builder (dense rows written bit by bit, layout chosen from a sampled size
//! estimate) against the reference path (sorted BFS member lists, then `BallSet::from_sets`).

use graphreach::backend::cpu::{ball_sets, build_balls, CpuBackend, LAYOUT_SAMPLE};
use graphreach::backend::Backend;
use graphreach::graph::{Csr, Direction, Graph, Labels, LoadReport};
use graphreach::rng::SplitMix64;
use graphreach::graph::sets::{BallLayout, BallSet, SetList};

/// Graph sizes: a single node, under one word, and word-boundary cases.
const SIZES: [usize; 4] = [1, 31, 1280, 1537];

/// A seeded random directed graph with `deg` out-edges per node on average, a few self loops and
/// about a tenth of the nodes isolated.
fn random_graph(n: usize, deg: u64, seed: u64) -> Graph {
    let mut rng = SplitMix64::new(seed);
    let active = (n * 9).div_ceil(10).max(1);
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..active {
        for _ in 0..rng.below(2 * deg + 1) {
            rows.push(u as u32);
            cols.push(rng.below(active as u64) as u32);
        }
        if u % 5 == 0 {
            rows.push(u as u32);
            cols.push(u as u32);
        }
    }
    let w = vec![1.0f32; rows.len()];
    let csr = Csr::from_triplets(n, &rows, &cols, &w).0;
    Graph::new("random", Labels::Integers, csr, LoadReport::default())
}

/// Singleton seeds for every node, a few multi-node seed sets and one empty set.
fn seeds(n: usize, seed: u64) -> SetList {
    let mut s: Vec<Vec<u32>> = (0..n as u32).map(|v| vec![v]).collect();
    let mut rng = SplitMix64::new(seed);
    for _ in 0..5 {
        s.push((0..3).map(|_| rng.below(n as u64) as u32).collect());
    }
    s.push(Vec::new());
    SetList::from_sets(s)
}

fn reference(adj: &Csr, s: &SetList, hops: u32, layout: BallLayout) -> BallSet {
    BallSet::from_sets(adj.n, ball_sets(adj, s, hops), layout)
}

#[test]
fn direct_builder_equals_sorted_bfs_for_every_size_hop_direction_and_layout() {
    let cpu = CpuBackend::new();
    let mut dense_auto = 0;
    for &n in &SIZES {
        // Sparse-ish (mean degree 2) and dense-ish (mean degree 12) graphs, so `Auto` takes both ways.
        for deg in [2, 12] {
            let g = random_graph(n, deg, n as u64 * 31 + deg);
            let s = seeds(n, n as u64 + 7);
            for dir in [Direction::In, Direction::Out, Direction::Undirected] {
                let adj = g.hop_adjacency(dir);
                for hops in 0..=3 {
                    for layout in [BallLayout::Auto, BallLayout::Sparse, BallLayout::Dense] {
                        let want = reference(&adj, &s, hops, layout);
                        let got = build_balls(&adj, &s, hops, layout);
                        assert_eq!(got, want, "n={n} deg={deg} {dir:?} hops={hops} {layout:?}");
                        assert_eq!(cpu.balls(&adj, &s, hops, layout).unwrap(), want);
                        if layout == BallLayout::Auto && matches!(got, BallSet::Dense { .. }) {
                            dense_auto += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(dense_auto > 0, "no case exercised the dense Auto path");
}

/// Seed sets where the sampled positions hold `sampled` and every other position holds `rest`.
fn skewed_seeds(c: usize, sampled: &[u32], rest: &[u32]) -> SetList {
    let k = c.min(LAYOUT_SAMPLE);
    let picked: std::collections::HashSet<usize> = (0..k).map(|j| j * c / k).collect();
    SetList::from_sets((0..c).map(|i| if picked.contains(&i) { sampled.to_vec() } else { rest.to_vec() }))
}

#[test]
fn auto_layout_follows_the_exact_rule_when_the_sample_misleads() {
    let n = 200;
    let adj = random_graph(n, 3, 99).hop_adjacency(Direction::Undirected);
    let all: Vec<u32> = (0..n as u32).collect();
    // 1 in 64 seed sets is sampled, so full sampled balls alone stay under the n / 32 mean.
    let c = 64 * LAYOUT_SAMPLE;
    // Sample sees full balls, the rest are empty: the estimate says dense, the exact rule sparse.
    let s = skewed_seeds(c, &all, &[]);
    let got = build_balls(&adj, &s, 1, BallLayout::Auto);
    assert!(matches!(got, BallSet::Sparse { .. }));
    assert_eq!(got, reference(&adj, &s, 1, BallLayout::Auto));
    // Sample sees empty balls, the rest are full: the estimate says sparse, the exact rule dense.
    let s = skewed_seeds(c, &[], &all);
    let got = build_balls(&adj, &s, 1, BallLayout::Auto);
    assert!(matches!(got, BallSet::Dense { .. }));
    assert_eq!(got, reference(&adj, &s, 1, BallLayout::Auto));
}

#[test]
fn no_seed_sets_give_no_balls() {
    let adj = random_graph(31, 2, 1).hop_adjacency(Direction::In);
    for layout in [BallLayout::Auto, BallLayout::Sparse, BallLayout::Dense] {
        let got = build_balls(&adj, &SetList::new(), 2, layout);
        assert_eq!(got, reference(&adj, &SetList::new(), 2, layout));
        assert!(got.is_empty());
    }
}
