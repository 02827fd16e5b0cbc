//! Pair pools: the pair path (per-gene balls, pair oracle) gives the picks of the generic path on
//! the same pairs written out as `A+B` candidates, for every graph method, on random graphs and
//! gene lists; lazy equals naive greedy on pairs; the GPU backends equal the CPU; and pair lists
//! are read as documented (duplicates are errors naming the lines, exclusions drop pairs).

mod common;
mod gpu_common;

use graphreach::backend::cpu::CpuBackend;
use graphreach::backend::Backend;
use graphreach::error::Error;
use graphreach::graph::names::NameList;
use graphreach::graph::{Direction, Graph};
use graphreach::rng::SplitMix64;
use graphreach::select::pair_pool::is_pair_list;
use graphreach::select::pool::resolve_names;
use graphreach::select::{select, select_pairs, Budget, Method, NodeWeights, PairPool, PoolKind, SelectConfig, Selection};
use std::collections::HashSet;

fn list(names: &[String]) -> NameList {
    NameList { source: "pairs.txt".into(), names: names.iter().enumerate().map(|(i, n)| (i + 1, n.clone())).collect() }
}

/// `k` distinct random nodes of `g`, as labels, in random order.
fn random_genes(g: &Graph, k: usize, rng: &mut SplitMix64) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < k.min(g.n_nodes()) {
        let v = rng.below(g.n_nodes() as u64) as u32;
        if seen.insert(v) {
            out.push(g.label(v));
        }
    }
    out
}

/// Every pair of `genes` written out as `A+B` lines, each in a random orientation.
fn written_out(genes: &[String], rng: &mut SplitMix64) -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..genes.len() {
        for j in i + 1..genes.len() {
            v.push(if rng.below(2) == 0 { format!("{}+{}", genes[i], genes[j]) } else { format!("{}+{}", genes[j], genes[i]) });
        }
    }
    v
}

fn cfg(method: Method, budget: usize, hops: u32, direction: Direction) -> SelectConfig {
    SelectConfig { method, budget: Budget::Count(budget), hops, direction, seed: 3, ..Default::default() }
}

/// The picks of two selections and the summary facts that must agree.
fn assert_same(a: &Selection, b: &Selection, what: &str) {
    assert_eq!(a.selection, b.selection, "{what}");
    assert_eq!(a.summary.coverage, b.summary.coverage, "{what}");
    assert_eq!(a.summary.coverage_fraction, b.summary.coverage_fraction, "{what}");
    assert_eq!(a.summary.pool_size, b.summary.pool_size, "{what}");
}

#[test]
fn pair_path_equals_the_written_out_generic_path_on_random_graphs() {
    let cpu = CpuBackend::new();
    let mut rng = SplitMix64::new(11);
    for case in 0..24u64 {
        let n = [2usize, 9, 40, 130, 301][case as usize % 5];
        let g = common::random_graph(n, n * (1 + case as usize % 3), 100 + case);
        let genes = random_genes(&g, 2 + rng.below(12) as usize, &mut rng);
        let pairs = PairPool::all_pairs_of(&g, &list(&genes), false).unwrap();
        let lines = written_out(&genes, &mut rng);
        assert!(is_pair_list(&list(&lines)));
        // The same pool read from a file of A+B lines, and the generic pool of those lines.
        let from_lines = PairPool::from_pair_list(&g, &list(&lines), false).unwrap();
        let generic = resolve_names(&g, &list(&lines), false).unwrap();
        assert_eq!(from_lines.to_pool().candidates, generic.candidates, "case {case}");
        assert_eq!(pairs.to_pool().candidates, generic.candidates, "case {case}");
        let hops = case as u32 % 4;
        let dir = [Direction::In, Direction::Out, Direction::Undirected][case as usize % 3];
        let weights = (case % 2 == 1).then(|| NodeWeights::from_values(&(0..n).map(|_| rng.below(50) as f64 / 7.0).collect::<Vec<_>>()).unwrap());
        let p = pairs.len();
        for budget in [1, p / 2 + 1, p] {
            for method in [Method::Graphreach, Method::NaiveGreedy, Method::Random] {
                let c = cfg(method, budget, hops, dir);
                let a = select_pairs(&g, &pairs, &c, &cpu, weights.as_ref()).unwrap();
                let b = select(&g, &generic, &c, &cpu, weights.as_ref()).unwrap();
                assert_same(&a, &b, &format!("case {case} {method:?} budget {budget}"));
                assert_eq!(a.summary.pool_kind, PoolKind::Pairs);
                assert_eq!(a.summary.pool_genes, Some(pairs.genes.len()));
            }
            for width in [1, 5, 64] {
                let mut c = cfg(Method::Graphreach, budget, hops, dir);
                c.batch_width = Some(width);
                let lazy = select_pairs(&g, &pairs, &c, &cpu, weights.as_ref()).unwrap();
                c.method = Method::NaiveGreedy;
                let naive = select_pairs(&g, &pairs, &c, &cpu, weights.as_ref()).unwrap();
                assert_eq!(lazy.selection, naive.selection, "case {case}: lazy (width {width}) vs naive greedy on pairs");
            }
        }
        if p <= 45 {
            let c = cfg(Method::Maxspec, p.min(4), hops, dir);
            let a = select_pairs(&g, &pairs, &c, &cpu, None).unwrap();
            let b = select(&g, &generic, &c, &cpu, None).unwrap();
            assert_same(&a, &b, &format!("case {case} maxspec"));
        }
    }
}

#[test]
fn pair_selection_is_identical_on_every_gpu_backend() {
    let cpu = CpuBackend::new();
    let mut rng = SplitMix64::new(5);
    gpu_common::for_each_gpu("pair_selection_is_identical_on_every_gpu_backend", |gpu: &dyn Backend| {
        for (case, &n) in [2usize, 31, 300, 1537].iter().enumerate() {
            let g = common::random_graph(n, 3 * n, 40 + case as u64);
            let genes = random_genes(&g, 2 + rng.below(30) as usize, &mut rng);
            let pairs = PairPool::all_pairs_of(&g, &list(&genes), false).unwrap();
            for hops in [0, 1, 2] {
                for method in [Method::Graphreach, Method::NaiveGreedy, Method::Random] {
                    let c = cfg(method, pairs.len().min(25), hops, Direction::In);
                    let a = select_pairs(&g, &pairs, &c, &cpu, None).unwrap();
                    let b = select_pairs(&g, &pairs, &c, gpu, None).unwrap();
                    assert_same(&a, &b, &format!("{} n={n} L={hops} {method:?}", gpu.name()));
                }
            }
        }
    });
}

#[test]
fn pair_lists_name_their_duplicate_lines_and_self_pairs() {
    let g = common::random_graph(20, 40, 1);
    let lines: Vec<String> = ["1+2", "3+4", "ctrl", "2+1", "5+6", "4+3"].iter().map(|s| s.to_string()).collect();
    let e = PairPool::from_pair_list(&g, &list(&lines), false).unwrap_err().to_string();
    assert!(e.contains("line 4 '2+1' repeats line 1 '1+2'") && e.contains("line 6 '4+3' repeats line 2 '3+4'"), "{e}");
    assert!(e.starts_with("pairs.txt"), "{e}");
    let e = PairPool::from_pair_list(&g, &list(&["1+2".into(), "7+7".into()]), false).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    let e = PairPool::all_pairs_of(&g, &list(&["1".into(), "2+3".into()]), false).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    // A list mixing single genes and pairs is a generic pool, as before.
    assert!(!is_pair_list(&list(&["1".into(), "2+3".into()])));
    assert!(!is_pair_list(&list(&["ctrl".into()])));
}

#[test]
fn unknown_genes_fail_or_drop_their_pairs_and_exclusions_drop_pairs() {
    let g = common::random_graph(20, 40, 2);
    let lines: Vec<String> = ["1+2", "1+NOPE", "3+4"].iter().map(|s| s.to_string()).collect();
    assert!(matches!(PairPool::from_pair_list(&g, &list(&lines), false), Err(Error::UnknownGenes { count: 1, .. })));
    let p = PairPool::from_pair_list(&g, &list(&lines), true).unwrap();
    assert_eq!((0..p.len()).map(|k| p.label(k)).collect::<Vec<_>>(), ["1+2", "3+4"]);
    let genes: Vec<String> = ["5", "1", "9", "NOPE", "3", "5"].iter().map(|s| s.to_string()).collect();
    assert!(PairPool::all_pairs_of(&g, &list(&genes), false).is_err());
    let mut p = PairPool::all_pairs_of(&g, &list(&genes), true).unwrap();
    assert_eq!(p.len(), 6, "4 distinct known genes give 6 pairs");
    assert_eq!(p.label(0), "1+3");
    let removed = p.apply_exclusions(&HashSet::from([3u32]));
    assert_eq!(removed, 3);
    assert_eq!((0..p.len()).map(|k| p.label(k)).collect::<Vec<_>>(), ["1+5", "1+9", "5+9"]);
    assert_eq!(p.genes.len(), 3);
    // The generic path with the same exclusion picks the same pairs.
    let cpu = CpuBackend::new();
    let c = cfg(Method::Graphreach, 2, 1, Direction::In);
    assert_eq!(select_pairs(&g, &p, &c, &cpu, None).unwrap().selection, select(&g, &p.to_pool(), &c, &cpu, None).unwrap().selection);
}
