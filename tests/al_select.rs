//! Library-level checks of the embedding-based selection: determinism for a seed (also across
//! thread counts), seeds that matter, and the budget rule.

use graphreach::rng::SplitMix64;
use graphreach::select::al::embeddings::Embeddings;
use graphreach::select::al::mat::Mat;
use graphreach::select::al::problem::build_problem;
use graphreach::select::al::{select_embeddings, AlConfig, AlProblem, NamedList, Strategy};
use graphreach::select::Budget;

/// SYNTHETIC: 400 points in 12 dims from 15 Gaussian blobs; the first 40 are labelled.
fn problem(dim: usize, reference_dim: Option<usize>) -> AlProblem {
    let mut rng = SplitMix64::new(77);
    let centres: Vec<f64> = (0..15 * dim).map(|_| 4.0 * rng.normal()).collect();
    let mut data = Vec::new();
    for _ in 0..400 {
        let b = rng.below(15) as usize;
        data.extend((0..dim).map(|j| centres[b * dim + j] + rng.normal()));
    }
    let names: Vec<String> = (0..400).map(|i| format!("G{:03}", (i * 37) % 400)).collect();
    let mut emb = Embeddings::from_parts("synthetic", names.clone(), Mat::from_vec(400, dim, data)).unwrap();
    emb.reference_dim = reference_dim;
    let lab: Vec<(usize, String)> = names.iter().take(40).cloned().enumerate().collect();
    build_problem(&emb, Some(NamedList { source: "labelled", names: &lab }), None, None, false).unwrap()
}

fn picks(p: &AlProblem, s: Strategy, seed: u64, budget: usize) -> Vec<(String, Option<u64>)> {
    let mut cfg = AlConfig::new(s, Budget::Count(budget));
    cfg.seed = seed;
    let sel = select_embeddings(p, &cfg).unwrap();
    sel.selection.iter().map(|x| (x.gene.clone(), x.score.map(f64::to_bits))).collect()
}

#[test]
fn deterministic_for_a_seed_on_any_thread_count() {
    let p = problem(12, None);
    for s in [Strategy::Typiclust, Strategy::AcsFw] {
        let a = picks(&p, s, 5, 60);
        assert_eq!(a.len(), 60);
        assert_eq!(a, picks(&p, s, 5, 60), "{s:?}: same seed");
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(a, one.install(|| picks(&p, s, 5, 60)), "{s:?}: one thread, same bits");
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        assert_eq!(a, three.install(|| picks(&p, s, 5, 60)), "{s:?}: three threads, same bits");
        let other = picks(&p, s, 6, 60);
        assert_ne!(a, other, "{s:?}: another seed changes the k-means++ start / the draws");
    }
}

#[test]
fn pca_path_is_deterministic_too() {
    // reference_dim above the threshold switches PCA on (12 -> min(400, 12, 100) = 12 components:
    // a rotation, so TypiClust's picks equal those without PCA up to rounding at ties).
    let p = problem(12, Some(20_000));
    let a = picks(&p, Strategy::AcsFw, 1, 30);
    assert_eq!(a, picks(&p, Strategy::AcsFw, 1, 30));
    let mut cfg = AlConfig::new(Strategy::Typiclust, Budget::Count(30));
    cfg.seed = 1;
    let sel = select_embeddings(&p, &cfg).unwrap();
    assert_eq!(sel.summary.pca_components, Some(12));
    assert!((sel.summary.pca_explained_ratio.unwrap() - 1.0).abs() < 1e-9);
}

#[test]
fn budget_rules() {
    let p = problem(4, None);
    let cfg = AlConfig::new(Strategy::Typiclust, Budget::Count(361));
    let e = select_embeddings(&p, &cfg).unwrap_err().to_string();
    assert!(e.contains("budget (361)") && e.contains("unlabelled candidate pool (360"), "{e}");
    let cfg = AlConfig::new(Strategy::AcsFw, Budget::Count(0));
    assert!(select_embeddings(&p, &cfg).unwrap_err().to_string().contains("budget is 0"));
    // a fraction of the unlabelled pool, rounded up: 5% of 360 = 18
    let cfg = AlConfig::new(Strategy::AcsFw, Budget::default());
    assert_eq!(select_embeddings(&p, &cfg).unwrap().selection.len(), 18);
    // the whole pool is allowed
    let cfg = AlConfig::new(Strategy::Typiclust, Budget::Count(360));
    let sel = select_embeddings(&p, &cfg).unwrap();
    let mut g = sel.genes();
    g.sort();
    g.dedup();
    assert_eq!(g.len(), 360);
}
