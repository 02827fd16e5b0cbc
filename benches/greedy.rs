//! Criterion benchmarks of the selection stages on the builtin GO graph (CPU backend):
//! graph loading, ball construction, lazy vs naive greedy, and MaxSpec; and the loader of user
//! graph files on the GEARS GO graph as TSV and CSV text.

use criterion::{criterion_group, criterion_main, Criterion};
use graphreach::backend::cpu::CpuBackend;
use graphreach::backend::Backend;
use graphreach::files::text::TextInput;
use graphreach::graph::names::read_names;
use graphreach::graph::{io::load_graph, io::parse_edge_list_text, io::read_maybe_gz, Direction};
use graphreach::select::greedy::{lazy_greedy, naive_greedy};
use graphreach::select::pool::resolve_names;
use graphreach::graph::sets::{BallLayout, SetList};
use graphreach::select::{select, Budget, Method, SelectConfig};
use std::hint::black_box;

fn bench_go_k562(c: &mut Criterion) {
    let mut g = c.benchmark_group("cpu/go-k562");
    g.sample_size(20);
    g.bench_function("load_graph", |b| b.iter(|| black_box(load_graph("builtin:go-k562").unwrap())));
    let graph = load_graph("builtin:go-k562").unwrap();
    let pool = resolve_names(&graph, &read_names("builtin:replogle-k562-essential").unwrap(), false).unwrap();
    let seeds = SetList::from_sets(pool.candidates.iter().map(|c| c.seeds.clone()));
    let cpu = CpuBackend::new();
    for hops in [1u32, 2] {
        let adj = graph.hop_adjacency(Direction::In);
        g.bench_function(format!("balls_L{hops}"), |b| {
            b.iter(|| black_box(cpu.balls(&adj, &seeds, hops, BallLayout::Auto).unwrap()))
        });
        let balls = cpu.balls(&adj, &seeds, hops, BallLayout::Auto).unwrap();
        g.bench_function(format!("lazy_greedy_L{hops}_b273"), |b| {
            b.iter(|| {
                let mut o = cpu.coverage(&balls, None).unwrap();
                black_box(lazy_greedy(o.as_mut(), balls.len(), 273, 1).unwrap())
            })
        });
        g.bench_function(format!("naive_greedy_L{hops}_b273"), |b| {
            b.iter(|| {
                let mut o = cpu.coverage(&balls, None).unwrap();
                black_box(naive_greedy(o.as_mut(), balls.len(), 273).unwrap())
            })
        });
    }
    g.bench_function("select_graphreach_end_to_end_b273", |b| {
        b.iter(|| {
            let graph = load_graph("builtin:go-k562").unwrap();
            let cfg = SelectConfig { budget: Budget::Count(273), ..Default::default() };
            black_box(select(&graph, &pool, &cfg, &cpu, None).unwrap())
        })
    });
    g.sample_size(10);
    g.bench_function("select_maxspec_b10", |b| {
        let cfg = SelectConfig { method: Method::Maxspec, budget: Budget::Count(10), ..Default::default() };
        b.iter(|| black_box(select(&graph, &pool, &cfg, &cpu, None).unwrap()))
    });
    g.finish();
}

/// The user-file loader on the 389,305-line GEARS GO graph (`go_graph_k20`), decompressed: as TSV
/// and as CSV text, from bytes in memory (what `--graph FILE` does after reading the file).
fn bench_gears_text(c: &mut Criterion) {
    let tsv = read_maybe_gz(std::path::Path::new("data/go/go_graph_k20.tsv.gz")).unwrap();
    let csv: Vec<u8> = tsv.iter().map(|&b| if b == b'\t' { b',' } else { b }).collect();
    let mut g = c.benchmark_group("load/go-human-text");
    g.sample_size(10);
    for (name, bytes) in [("tsv", &tsv), ("csv", &csv)] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(parse_edge_list_text(&TextInput::from_bytes(bytes.clone(), name).unwrap()).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_go_k562, bench_gears_text);
criterion_main!(benches);
