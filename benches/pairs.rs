//! Criterion benchmarks of selection over pair pools on the builtin K562 GO graph (CPU backend):
//! every pair of the first 250, 500 and 1,000 genes of the Replogle K562-essential pool (31,125,
//! 124,750 and 499,500 pairs), budget 100, L = 1 and 2, end to end (per-gene balls, pair oracle,
//! lazy greedy); and, side by side at 250 genes, the generic path on the same pairs written out
//! as `A+B` candidates (one ball per pair); at 1,000 genes, the first pass alone (oracle set-up and
//! the exact gain of every pair).

use criterion::{criterion_group, criterion_main, Criterion};
use graphreach::backend::cpu::CpuBackend;
use graphreach::backend::Backend;
use graphreach::graph::sets::{BallLayout, SetList};
use graphreach::graph::Direction;
use graphreach::graph::io::load_graph;
use graphreach::graph::names::{read_names, NameList};
use graphreach::select::{select, select_pairs, Budget, PairPool, SelectConfig};
use std::hint::black_box;

fn bench_pairs(c: &mut Criterion) {
    let graph = load_graph("builtin:go-k562").unwrap();
    let all = read_names("builtin:replogle-k562-essential").unwrap();
    let cpu = CpuBackend::new();
    let mut g = c.benchmark_group("cpu/go-k562/pairs");
    g.sample_size(10);
    for genes in [250usize, 500, 1000] {
        let list = NameList { source: all.source.clone(), names: all.names[..genes].to_vec() };
        let pool = PairPool::all_pairs_of(&graph, &list, false).unwrap();
        for hops in [1u32, 2] {
            let cfg = SelectConfig { budget: Budget::Count(100), hops, ..Default::default() };
            g.bench_function(format!("select_pairs_{genes}genes_{}pairs_L{hops}_b100", pool.len()), |b| {
                b.iter(|| black_box(select_pairs(&graph, &pool, &cfg, &cpu, None).unwrap()))
            });
            if genes == 1000 {
                // The first pass alone: the exact gain of every pair with nothing covered.
                let adj = graph.hop_adjacency(Direction::In);
                let seeds = SetList::from_sets(pool.genes.iter().map(|g| g.seeds.clone()));
                let balls = cpu.balls(&adj, &seeds, hops, BallLayout::Auto).unwrap();
                let ids: Vec<u32> = (0..pool.len() as u32).collect();
                let mut out = vec![0u64; ids.len()];
                g.bench_function(format!("first_pass_gains_{genes}genes_{}pairs_L{hops}", pool.len()), |b| {
                    b.iter(|| {
                        let mut o = cpu.pair_coverage(&balls, &pool.pairs, None).unwrap();
                        o.gains(&ids, &mut out).unwrap();
                        black_box(out[0])
                    })
                });
            }
            if genes == 250 {
                let written = pool.to_pool();
                g.bench_function(format!("generic_written_out_{genes}genes_{}pairs_L{hops}_b100", pool.len()), |b| {
                    b.iter(|| black_box(select(&graph, &written, &cfg, &cpu, None).unwrap()))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench_pairs);
criterion_main!(benches);
