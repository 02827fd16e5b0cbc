//! Criterion benchmarks of the synthetic hub-SBM generator and of the GO graph builder's
//! Jaccard + top-k stage (CPU), on the shipped annotation files.

use criterion::{criterion_group, criterion_main, Criterion};
use graphreach::graph::gen::preset;
use graphreach::graph::go_build::{build, read_gene2go, read_protein_coding, read_universe, CpuJaccard, GoBuildConfig};
use std::hint::black_box;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/go").join(name)
}

fn bench_gen(c: &mut Criterion) {
    let mut g = c.benchmark_group("hub-sbm");
    g.sample_size(10);
    for name in ["a_go_like", "b_genome", "c_large"] {
        let p = preset(name).unwrap();
        g.bench_function(format!("edges_{name}"), |b| b.iter(|| black_box(p.edges().unwrap())));
    }
    g.finish();
}

fn bench_go_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("go_build/cpu");
    g.sample_size(10);
    let ann = read_gene2go(&data("human_gene2go_direct.tsv.gz"), &["ND".to_string()]).unwrap();
    g.bench_function("read_gene2go", |b| {
        b.iter(|| black_box(read_gene2go(&data("human_gene2go_direct.tsv.gz"), &["ND".to_string()]).unwrap()))
    });
    let k562 = read_universe(&data("k562universe_genes.txt")).unwrap();
    let pc = read_protein_coding(&data("human_gene_info.tsv.gz")).unwrap();
    for (name, universe) in [("k562_9792", k562), ("protein_coding_18777", pc)] {
        let (index, _) = ann.index(Some(&universe));
        let cfg = GoBuildConfig::default();
        g.bench_function(format!("jaccard_topk_{name}"), |b| {
            b.iter(|| black_box(build(&index, &cfg, &CpuJaccard, 4096).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_gen, bench_go_build);
criterion_main!(benches);
