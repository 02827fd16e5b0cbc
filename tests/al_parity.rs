//! Parity of TypiClust and ACS-FW with the reference code (IterPert + scikit-learn + bmdal), on the
//! synthetic fixture that `scripts/make_al_fixture.py` wrote into tests/fixtures/al/: the same
//! initial k-means centres and the same Gaussian draws go in, the same picks in the same order
//! must come out (plus the same k-means clustering and the same scores up to rounding).

use graphreach::select::al::kmeans::{kmeans, KMeansConfig, KMeansInit};
use graphreach::select::al::mat::Mat;
use graphreach::select::al::problem::build_problem;
use graphreach::select::al::{pca, read_embeddings, select_embeddings_with, AlConfig, AlProblem, Injected, NamedList, Strategy};
use graphreach::select::Budget;
use serde_json::Value;
use std::path::PathBuf;

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/al").join(case)
}

fn names(path: &PathBuf) -> Vec<(usize, String)> {
    std::fs::read_to_string(path).unwrap().lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l.trim().to_string())).collect()
}

struct Case {
    problem: AlProblem,
    expected: Value,
    draws: Mat,
    cfg: AlConfig,
}

fn load(case: &str) -> Case {
    let d = dir(case);
    let emb = read_embeddings(d.join("embeddings.tsv.gz").to_str().unwrap()).unwrap();
    let lab = names(&d.join("labelled.txt"));
    let cand = names(&d.join("candidates.txt"));
    let problem = build_problem(
        &emb,
        Some(NamedList { source: "labelled.txt", names: &lab }),
        Some(NamedList { source: "candidates.txt", names: &cand }),
        None,
        false,
    )
    .unwrap();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(d.join("expected.json")).unwrap()).unwrap();
    let raw = graphreach::graph::io::read_maybe_gz(&d.join("draws.tsv.gz")).unwrap();
    let rows: Vec<Vec<f64>> = String::from_utf8(raw).unwrap().lines().map(|l| l.split('\t').map(|v| v.parse().unwrap()).collect()).collect();
    let draws = Mat::from_rows(&rows);
    let mut cfg = AlConfig::new(Strategy::Typiclust, Budget::Count(expected["budget"].as_u64().unwrap() as usize));
    cfg.pca.threshold = expected["pca_threshold"].as_u64().unwrap() as usize;
    cfg.acs.n_features = expected["n_features"].as_u64().unwrap() as usize;
    cfg.acs.sigma = expected["sigma"].as_f64().unwrap();
    Case { problem, expected, draws, cfg }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn point(p: &AlProblem, name: &str) -> usize {
    p.names.iter().position(|n| n == name).unwrap_or_else(|| panic!("{name} is not a point"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

fn check_typiclust(case: &str) {
    let c = load(case);
    let centres: Vec<usize> = strings(&c.expected["kmeans_initial_centres"]).iter().map(|n| point(&c.problem, n)).collect();
    let inj = Injected { centre_points: Some(&centres), ..Default::default() };
    let sel = select_embeddings_with(&c.problem, &c.cfg, inj).unwrap();
    assert_eq!(sel.summary.pca_components, c.expected["pca_components"].as_u64().map(|v| v as usize), "{case}: PCA components");
    let want = strings(&c.expected["typiclust_picks"]);
    assert_eq!(sel.genes(), want, "{case}: TypiClust picks differ from the reference");
    for (p, w) in sel.selection.iter().zip(c.expected["typiclust_typicality"].as_array().unwrap()) {
        match (p.score, w.as_f64()) {
            (Some(a), Some(b)) => assert!(close(a, b), "{case}: typicality of {} {a} vs reference {b}", p.gene),
            (None, None) => {}
            (a, b) => panic!("{case}: typicality of {}: {a:?} vs reference {b:?}", p.gene),
        }
    }
}

fn check_kmeans_labels(case: &str) {
    let c = load(case);
    let mut x = c.problem.x.clone();
    if c.cfg.pca.applies(c.problem.rule_dim) {
        let m = x.rows.min(x.cols).min(100);
        x = pca::pca(&x, m, c.cfg.pca.exact_max, 0).unwrap().scores;
    }
    let centres: Vec<usize> = strings(&c.expected["kmeans_initial_centres"]).iter().map(|n| point(&c.problem, n)).collect();
    let init = x.select_rows(&centres);
    let km = kmeans(&x, centres.len(), KMeansInit::Centres(&init), &KMeansConfig::default()).unwrap();
    let want = c.expected["kmeans_labels"].as_object().unwrap();
    for (i, n) in c.problem.names.iter().enumerate() {
        assert_eq!(km.labels[i] as u64, want[n].as_u64().unwrap(), "{case}: cluster of {n}");
    }
    assert_eq!(km.iterations as u64, c.expected["kmeans_iterations"].as_u64().unwrap(), "{case}: Lloyd iterations");
}

fn check_acs_fw(case: &str) {
    let mut c = load(case);
    c.cfg.strategy = Strategy::AcsFw;
    let inj = Injected { draws: Some(&c.draws), ..Default::default() };
    let sel = select_embeddings_with(&c.problem, &c.cfg, inj).unwrap();
    let want = strings(&c.expected["acs_fw_picks"]);
    assert_eq!(sel.genes(), want, "{case}: ACS-FW picks differ from the reference");
    for (p, w) in sel.selection.iter().zip(c.expected["acs_fw_scores"].as_array().unwrap()) {
        let (a, b) = (p.score.unwrap(), w.as_f64().unwrap());
        assert!((a - b).abs() <= 1e-7 * b.abs().max(1.0), "{case}: Frank-Wolfe score of {} {a} vs reference {b}", p.gene);
    }
    assert_eq!(sel.summary.info.filled_at_random, Some(0));
}

#[test]
fn typiclust_matches_reference_with_pca() {
    check_typiclust("pca");
}

#[test]
fn typiclust_matches_reference_without_pca() {
    check_typiclust("nopca");
}

#[test]
fn kmeans_matches_sklearn_lloyd() {
    check_kmeans_labels("pca");
    check_kmeans_labels("nopca");
}

#[test]
fn acs_fw_matches_reference_with_pca() {
    check_acs_fw("pca");
}

#[test]
fn acs_fw_matches_reference_without_pca() {
    check_acs_fw("nopca");
}
