//! Every GPU kernel against the CPU twin: balls and gains exactly, spectral norms within f32
//! tolerance, and whole selections (TSV) identical for every method and direction.

mod gpu_common;

use gpu_common::{for_each_gpu, random_csr, SIZES};
use graphreach::backend::cpu::CpuBackend;
use graphreach::backend::{Backend, PowerIterConfig, SpectralOperator};
use graphreach::graph::{Direction, Graph, Labels, LoadReport};
use graphreach::rng::SplitMix64;
use graphreach::select::maxspec::REVERIFY_REL;
use graphreach::graph::sets::{BallLayout, SetList};
use graphreach::select::{self, Budget, MaxSpecObjective, Method, SelectConfig};

/// Singleton seeds for every node plus a few multi-node and one empty seed set.
fn seeds(n: usize, seed: u64) -> SetList {
    let mut s: Vec<Vec<u32>> = (0..n as u32).map(|v| vec![v]).collect();
    let mut rng = SplitMix64::new(seed);
    if n > 0 {
        for _ in 0..5 {
            s.push((0..3).map(|_| rng.below(n as u64) as u32).collect());
        }
    }
    s.push(Vec::new());
    SetList::from_sets(s)
}

#[test]
fn balls_match_cpu_for_every_size_hop_count_and_layout() {
    let cpu = CpuBackend::new();
    for_each_gpu("balls", |gpu| {
        for &n in &SIZES {
            let adj = random_csr(n, 3, n as u64 + 1);
            let s = seeds(n, 7);
            for hops in 0..=3 {
                for layout in [BallLayout::Auto, BallLayout::Sparse, BallLayout::Dense] {
                    let want = cpu.balls(&adj, &s, hops, layout).unwrap();
                    let got = gpu.balls(&adj, &s, hops, layout).unwrap();
                    assert_eq!(got, want, "{} n={n} hops={hops} {layout:?}", gpu.name());
                }
            }
        }
    });
}

/// Balls built with small forced tiles (about 37 rows each, so members buffers hold about 37 rows'
/// worth of words) on the hop adjacency of every direction: the multi-tile, device-compaction
/// (several launches per tile, rows larger than a launch alone) and bitset-download paths all give
/// the CPU twin's BallSet exactly.
#[test]
fn balls_match_cpu_with_small_tiles_for_every_direction_and_compaction_mode() {
    use graphreach::backend::gpu_plan::{with_reach_tuning, words32, ReachTuning};
    let cpu = CpuBackend::new();
    for_each_gpu("small-tile balls", |gpu| {
        let mut cases: Vec<(String, graphreach::graph::Csr)> = SIZES.iter().map(|&n| (format!("random n={n}"), random_csr(n, 3, 5 * n as u64 + 2))).collect();
        cases.push(("no edges n=50".into(), graphreach::graph::Csr::empty(50)));
        for (name, out) in cases {
            let n = out.n;
            let g = Graph::new(name.clone(), Labels::Integers, out, LoadReport::default());
            let s = seeds(n, 13);
            let tile_bytes = words32(n) as u64 * 4 * 37;
            for direction in [Direction::In, Direction::Out, Direction::Undirected] {
                let adj = g.hop_adjacency(direction);
                for hops in 0..=3 {
                    for (layout, compact) in [
                        (BallLayout::Sparse, Some(true)),
                        (BallLayout::Sparse, None),
                        (BallLayout::Auto, Some(true)),
                        (BallLayout::Auto, Some(false)),
                        (BallLayout::Dense, None),
                    ] {
                        let want = cpu.balls(&adj, &s, hops, layout).unwrap();
                        let got = with_reach_tuning(ReachTuning { tile_bytes, compact }, || gpu.balls(&adj, &s, hops, layout)).unwrap();
                        assert_eq!(got, want, "{} {name} {direction:?} hops={hops} {layout:?} compact={compact:?}", gpu.name());
                    }
                }
            }
        }
    });
}

/// Rows longer than 256 words (n > 8192), so each compaction invocation owns several words, and a
/// launch limit smaller than some balls.
#[test]
fn compacted_balls_match_cpu_on_rows_longer_than_a_workgroup() {
    use graphreach::backend::gpu_plan::{with_reach_tuning, words32, ReachTuning};
    let cpu = CpuBackend::new();
    for_each_gpu("long-row balls", |gpu| {
        let n = 20_011;
        let adj = random_csr(n, 6, 4242);
        let mut rng = SplitMix64::new(8);
        let s = SetList::from_sets((0..300).map(|k| (0..1 + k % 4).map(|_| rng.below(n as u64) as u32).collect()).chain([Vec::new(), (0..n as u32).step_by(3).collect()]));
        for hops in 1..=3 {
            for tile_bytes in [words32(n) as u64 * 4 * 29, 1 << 26] {
                let want = cpu.balls(&adj, &s, hops, BallLayout::Sparse).unwrap();
                let got = with_reach_tuning(ReachTuning { tile_bytes, compact: Some(true) }, || gpu.balls(&adj, &s, hops, BallLayout::Sparse)).unwrap();
                assert_eq!(got, want, "{} hops={hops} tile_bytes={tile_bytes}", gpu.name());
            }
        }
    });
}

#[test]
fn gains_and_commits_match_cpu_weighted_and_unweighted() {
    let cpu = CpuBackend::new();
    for_each_gpu("gains", |gpu| {
        for &n in &SIZES {
            let adj = random_csr(n, 4, 3 * n as u64 + 5);
            let mut rng = SplitMix64::new(n as u64);
            let w: Vec<u32> = (0..n).map(|_| rng.below(1 << 24) as u32 + 1).collect();
            for hops in [1, 2] {
                for layout in [BallLayout::Sparse, BallLayout::Dense] {
                    let balls = cpu.balls(&adj, &seeds(n, 11), hops, layout).unwrap();
                    for weights in [None, Some(w.as_slice())] {
                        let mut want = cpu.coverage(&balls, weights).unwrap();
                        let mut got = gpu.coverage(&balls, weights).unwrap();
                        let all: Vec<u32> = (0..balls.len() as u32).collect();
                        let ctx = format!("{} n={n} hops={hops} {layout:?} weighted={}", gpu.name(), weights.is_some());
                        for round in 0..4 {
                            let (mut a, mut b) = (vec![0; all.len()], vec![0; all.len()]);
                            want.gains(&all, &mut a).unwrap();
                            got.gains(&all, &mut b).unwrap();
                            assert_eq!(b, a, "{ctx} round {round}");
                            let pick = rng.below(all.len() as u64) as u32;
                            assert_eq!(got.commit(pick).unwrap(), want.commit(pick).unwrap(), "{ctx} commit {pick}");
                        }
                        // A batch with repeats, in arbitrary order.
                        let ids: Vec<u32> = (0..40).map(|_| rng.below(all.len() as u64) as u32).collect();
                        let (mut a, mut b) = (vec![0; ids.len()], vec![0; ids.len()]);
                        want.gains(&ids, &mut a).unwrap();
                        got.gains(&ids, &mut b).unwrap();
                        assert_eq!(b, a, "{ctx} repeated ids");
                    }
                }
            }
        }
    });
}

#[test]
fn spectral_norms_match_cpu_within_f32_tolerance() {
    let cpu = CpuBackend::new();
    let cfg = PowerIterConfig::default();
    for_each_gpu("spectral norms", |gpu| {
        for &n in &SIZES {
            let adj = random_csr(n, 3, 17 * n as u64 + 1);
            let op = SpectralOperator::from_hop_adjacency(&adj);
            let balls = cpu.balls(&adj, &seeds(n, 5), 2, BallLayout::Sparse).unwrap().to_sets();
            let sets = SetList::from_sets(balls.iter().step_by(7).map(|s| s.to_vec()).chain([Vec::new(), (0..n as u32).collect()]));
            let warm = if n > 0 { graphreach::backend::cpu::power_iteration(&op, balls.get(0), &[], &cfg).unwrap().1 } else { Vec::new() };
            for w in [&[][..], &warm[..]] {
                let want = cpu.spectral_norms(&op, &sets, w, &cfg).unwrap();
                let got = gpu.spectral_norms(&op, &sets, w, &cfg).unwrap();
                assert_eq!(got.len(), want.len());
                let mut worst = 0.0f64;
                for (k, (g, c)) in got.iter().zip(&want).enumerate() {
                    let rel = (g.sigma - c.sigma).abs() / c.sigma.max(1e-3);
                    worst = worst.max(rel);
                    // MaxSpec re-scores on the CPU everything within REVERIFY_REL of the best, so
                    // f32 scores must stay well inside that window.
                    assert!(rel <= REVERIFY_REL / 4.0, "{} n={n} set {k}: gpu {:?} cpu {:?}", gpu.name(), g, c);
                }
                eprintln!("{} n={n}: worst relative spectral-norm error {worst:.2e} over {} sets", gpu.name(), got.len());
            }
        }
    });
}

fn graph(n: usize, seed: u64) -> Graph {
    Graph::new(format!("random{n}"), Labels::Integers, random_csr(n, 3, seed), LoadReport::default())
}

#[test]
fn selections_are_identical_on_cpu_and_gpu_for_every_method_and_direction() {
    let cpu = CpuBackend::new();
    let g = graph(300, 42);
    let pool = select::pool::all_nodes(&g);
    for_each_gpu("select", |gpu| {
        for method in [Method::Graphreach, Method::NaiveGreedy, Method::Maxspec, Method::Random] {
            for direction in [Direction::In, Direction::Out, Direction::Undirected] {
                for layout in [BallLayout::Sparse, BallLayout::Dense] {
                    let budget = if method == Method::Maxspec { 6 } else { 25 };
                    let cfg = SelectConfig { method, direction, layout, budget: Budget::Count(budget), hops: 2, ..Default::default() };
                    let want = select::select(&g, &pool, &cfg, &cpu, None).unwrap().to_tsv();
                    let got = select::select(&g, &pool, &cfg, gpu, None).unwrap().to_tsv();
                    assert_eq!(got, want, "{} {method:?} {direction:?} {layout:?}", gpu.name());
                }
            }
        }
    });
}

#[test]
fn maxspec_max_objective_is_identical_on_cpu_and_gpu() {
    let cpu = CpuBackend::new();
    let g = graph(400, 77);
    let pool = select::pool::all_nodes(&g);
    for_each_gpu("maxspec max", |gpu| {
        for direction in [Direction::In, Direction::Undirected] {
            let cfg = SelectConfig { method: Method::Maxspec, objective: MaxSpecObjective::Max, direction, budget: Budget::Count(5), hops: 1, ..Default::default() };
            let want = select::select(&g, &pool, &cfg, &cpu, None).unwrap().to_tsv();
            let got = select::select(&g, &pool, &cfg, gpu, None).unwrap().to_tsv();
            assert_eq!(got, want, "{} {direction:?}", gpu.name());
        }
    });
}

#[test]
fn weighted_selections_are_identical_on_cpu_and_gpu() {
    let cpu = CpuBackend::new();
    let g = graph(500, 9);
    let pool = select::pool::all_nodes(&g);
    let mut rng = SplitMix64::new(3);
    let w = select::NodeWeights::from_values(&(0..500).map(|_| rng.unit()).collect::<Vec<_>>()).unwrap();
    for_each_gpu("weighted select", |gpu| {
        for batch_width in [1, 7, 64] {
            let cfg = SelectConfig { budget: Budget::Count(40), hops: 1, batch_width: Some(batch_width), ..Default::default() };
            let want = select::select(&g, &pool, &cfg, &cpu, Some(&w)).unwrap().to_tsv();
            let got = select::select(&g, &pool, &cfg, gpu, Some(&w)).unwrap().to_tsv();
            assert_eq!(got, want, "{} batch width {batch_width}", gpu.name());
        }
    });
}

/// With bindings capped at 64 KiB, balls, coverage and spectral norms run in many tiles and still
/// match the CPU; a set too large for one binding is an out-of-memory error naming its size.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_tiled_paths_match_cpu_and_report_oversized_bindings() {
    use graphreach::backend::wgpu::WgpuBackend;
    let gpu = match WgpuBackend::open_with_binding_limit(true, 64 << 10) {
        Ok(b) => b,
        Err(e) if std::env::var("GRAPHREACH_REQUIRE_WGPU").as_deref() == Ok("1") => panic!("{e}"),
        Err(e) => return eprintln!("SKIPPED tiled wgpu test: {e}"),
    };
    eprintln!("tiled wgpu test on {}", gpu.describe());
    let cpu = CpuBackend::new();
    let n = 1537;
    let adj = random_csr(n, 4, 99);
    let s = seeds(n, 3);
    for layout in [BallLayout::Sparse, BallLayout::Dense] {
        let balls = cpu.balls(&adj, &s, 2, layout).unwrap();
        assert_eq!(gpu.balls(&adj, &s, 2, layout).unwrap(), balls, "{layout:?}");
        let mut want = cpu.coverage(&balls, None).unwrap();
        let mut got = gpu.coverage(&balls, None).unwrap();
        let all: Vec<u32> = (0..balls.len() as u32).collect();
        for pick in [5u32, 700, 1536, 1540] {
            let (mut a, mut b) = (vec![0; all.len()], vec![0; all.len()]);
            want.gains(&all, &mut a).unwrap();
            got.gains(&all, &mut b).unwrap();
            assert_eq!(b, a, "{layout:?} before commit {pick}");
            assert_eq!(got.commit(pick).unwrap(), want.commit(pick).unwrap());
        }
    }
    let op = SpectralOperator::from_hop_adjacency(&adj);
    let sets = cpu.balls(&adj, &s, 2, BallLayout::Sparse).unwrap().to_sets();
    let cfg = PowerIterConfig::default();
    let want = cpu.spectral_norms(&op, &sets, &[], &cfg).unwrap();
    let got = gpu.spectral_norms(&op, &sets, &[], &cfg).unwrap();
    for (g, c) in got.iter().zip(&want) {
        assert!((g.sigma - c.sigma).abs() <= REVERIFY_REL / 4.0 * c.sigma.max(1e-3), "gpu {g:?} cpu {c:?}");
    }
    let big = SetList::from_sets([(0..6000u32).collect::<Vec<_>>()]);
    let op = SpectralOperator::from_hop_adjacency(&graphreach::graph::Csr::empty(6000));
    let err = gpu.spectral_norms(&op, &big, &[], &cfg).unwrap_err();
    assert!(matches!(err, graphreach::Error::OutOfMemory { bytes: 72000, .. }), "{err}");
}
