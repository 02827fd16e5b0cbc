//! The GO graph builder on every available GPU backend against the CPU reference: identical
//! graphs on seeded random gene -> GO instances (sizes 1, 31, 1280, 1537, not multiples of the
//! workgroup size; genes with no terms; identical GO sets that tie; a hub term with postings longer
//! than a workgroup), on forced small tiles, and byte for byte on the real K562 graph.

mod gpu_common;

use gpu_common::for_each_gpu;
use graphreach::graph::go_build::{build, read_gene2go, read_universe, CpuJaccard, GoBuildConfig, GoGraph, GoIndex, JaccardTopK};
use graphreach::rng::SplitMix64;
use std::path::PathBuf;
use std::time::Instant;

/// A seeded instance on `n` genes and 80 terms: every 9th gene has no term, every 6th copies the
/// GO set of an earlier gene (exact ties), term 0 annotates about half of the genes (long
/// postings), the rest draw 1 to 12 terms with a bias towards low ids (many overlaps).
fn random_index(n: usize, seed: u64) -> GoIndex {
    let n_terms = 80u64;
    let mut rng = SplitMix64::new(seed);
    let mut sets: Vec<Vec<u32>> = Vec::with_capacity(n);
    for i in 0..n {
        let set = if i % 9 == 4 {
            Vec::new()
        } else if i % 6 == 5 {
            sets[rng.below(i as u64) as usize].clone()
        } else {
            let mut s: Vec<u32> = (0..1 + rng.below(12)).map(|_| (rng.below(n_terms) * rng.below(n_terms) / n_terms) as u32 + 1).collect();
            if rng.below(2) == 0 {
                s.push(0);
            }
            s.sort_unstable();
            s.dedup();
            s
        };
        sets.push(set);
    }
    GoIndex::new(sets.into_iter().enumerate().map(|(i, s)| (format!("G{i:05}"), s)).collect(), n_terms as usize + 1)
}

const CONFIGS: [(f64, usize); 4] = [(0.1, 20), (0.0, 3), (0.5, 0), (0.25, 2000)];

fn tsv(g: &GoGraph) -> Vec<u8> {
    let mut out = Vec::new();
    g.write_tsv(&mut out).unwrap();
    out
}

fn check_random_instances(name: &str, jac: &dyn JaccardTopK) {
    for (n, seed) in [(1usize, 1u64), (31, 2), (1280, 3), (1537, 4)] {
        let idx = random_index(n, seed);
        for (min_jaccard, top_k) in CONFIGS {
            let cfg = GoBuildConfig { min_jaccard, top_k };
            let want = build(&idx, &cfg, &CpuJaccard, n).unwrap();
            if n >= 31 {
                // Not vacuous: non-self rows and tied importances exist in the reference.
                assert!(want.rows.iter().any(|r| r.source != r.target), "n={n} {cfg:?}");
                assert!(top_k == 0 || want.rows.windows(2).any(|w| w[0].target == w[1].target && w[0].source != w[1].source && w[0].importance() == w[1].importance()));
            }
            for batch in [n, 700] {
                let got = build(&idx, &cfg, jac, batch).unwrap();
                assert_eq!(got.pairs_above, want.pairs_above, "{name} n={n} {cfg:?} batch {batch}");
                assert!(got == want && tsv(&got) == tsv(&want), "{name} n={n} {cfg:?} batch {batch}: graphs differ");
            }
        }
    }
}

#[test]
fn random_instances_match_cpu_on_every_gpu_backend() {
    for_each_gpu("jaccard random instances", |gpu| {
        let jac = gpu.jaccard();
        assert_eq!(jac.name(), gpu.name());
        check_random_instances(gpu.name(), jac.as_ref());
        // Out-of-range targets are an error, not a crash.
        assert!(jac.top_for_targets(&random_index(31, 2), 20..40, &GoBuildConfig::default()).is_err());
    });
}

#[cfg(feature = "wgpu")]
#[test]
fn small_wgpu_tiles_match_cpu() {
    use graphreach::backend::wgpu::WgpuBackend;
    use graphreach::backend::Backend;
    // 128 KiB per buffer: about 20 counter rows and 16K pair slots per launch at 1537 genes.
    match WgpuBackend::open_with_binding_limit(true, 128 << 10) {
        Ok(b) => check_random_instances("wgpu (128 KiB tiles)", b.jaccard().as_ref()),
        Err(e) if std::env::var("GRAPHREACH_REQUIRE_WGPU").as_deref() == Ok("1") => panic!("GRAPHREACH_REQUIRE_WGPU=1 but: {e}"),
        Err(e) => eprintln!("SKIPPED small wgpu tiles: {e}"),
    }
}

fn data(name: &str) -> PathBuf {
    gpu_common::project_dir().join("data/go").join(name)
}

#[test]
fn k562_graph_is_byte_identical_on_every_gpu_backend() {
    let ann = read_gene2go(&data("human_gene2go_direct.tsv.gz"), &["ND".to_string()]).unwrap();
    let universe = read_universe(&data("k562universe_genes.txt")).unwrap();
    let (idx, _) = ann.index(Some(&universe));
    let want = graphreach::graph::io::read_maybe_gz(&data("go_graph_k562universe_k20.tsv.gz")).unwrap();
    let cfg = GoBuildConfig::default();
    for_each_gpu("jaccard k562", |gpu| {
        let t = Instant::now();
        let g = build(&idx, &cfg, gpu.jaccard().as_ref(), 4096).unwrap();
        eprintln!("k562 GO graph on {}: {:.2} s ({} genes)", gpu.describe(), t.elapsed().as_secs_f64(), idx.n_genes());
        assert_eq!(g.pairs_above, 12_376_176);
        assert!(tsv(&g) == want, "{}: output differs from go_graph_k562universe_k20.tsv.gz", gpu.name());
    });
}
