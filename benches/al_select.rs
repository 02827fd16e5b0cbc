//! Scale benchmark of the embedding-based baselines (TypiClust, ACS-FW) on SYNTHETIC embeddings:
//! a genome-scale pool (default 5,000 / 10,000 / 20,000 candidates, 1,000 labelled, budget 1,000,
//! 100 dimensions, so TypiClust clusters 21,000 points into 2,000 clusters), one timed run per
//! size and strategy, split by phase (PCA, k-means++ init, Lloyd, typicality, random features,
//! Frank-Wolfe). A PCA row times the reduction of a wide embedding (`--pca-points`, 12,000 dims).
//!
//! `cargo bench --bench al_select` (add `-- --pools 20000` for one size). Under `cargo test`
//! (no `--bench` argument) it runs a tiny smoke size only.

use graphreach::rng::SplitMix64;
use graphreach::select::al::embeddings::Embeddings;
use graphreach::select::al::mat::Mat;
use graphreach::select::al::pca::pca;
use graphreach::select::al::problem::build_problem;
use graphreach::select::al::{select_embeddings, AlConfig, NamedList, Strategy};
use graphreach::select::Budget;
use std::time::Instant;

/// Synthetic embeddings: `n` points in `d` dims from `blobs` Gaussian blobs of random size and
/// spread around N(0, 3^2) centres.
fn synthetic(n: usize, d: usize, blobs: usize, seed: u64) -> Mat {
    let mut rng = SplitMix64::new(seed);
    let centres: Vec<f64> = (0..blobs * d).map(|_| 3.0 * rng.normal()).collect();
    let spread: Vec<f64> = (0..blobs).map(|_| 0.3 + rng.unit()).collect();
    let mut data = Vec::with_capacity(n * d);
    for _ in 0..n {
        let b = rng.below(blobs as u64) as usize;
        for j in 0..d {
            data.push(centres[b * d + j] + spread[b] * rng.normal());
        }
    }
    Mat::from_vec(n, d, data)
}

/// CPU seconds (user + system, all threads) this process has used so far (Linux; 0 elsewhere).
/// On a shared machine wall times stretch with the load; CPU time much less so.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    let after = stat.rsplit_once(')').map_or("", |p| p.1);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // fields 14 and 15 of stat (utime, stime) are 12 and 13 after the ")"; clock ticks of 1/100 s
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let pools: Vec<usize> = match arg(&args, "--pools") {
        Some(s) => s.split(',').map(|v| v.parse().expect("--pools N,N")).collect(),
        None if bench => vec![5_000, 10_000, 20_000],
        None => vec![300],
    };
    let (labelled, budget, dim) = if bench { (1_000, 1_000, 100) } else { (50, 20, 10) };
    let pca_points: usize = arg(&args, "--pca-points").map(|v| v.parse().unwrap()).unwrap_or(if bench { 2_000 } else { 60 });
    let pca_dim = if bench { 12_000 } else { 150 };
    println!("# SYNTHETIC embeddings (Gaussian blobs); {} threads; load average {}", rayon::current_num_threads(), load_average());
    println!("strategy\tpool\tlabelled\tbudget\tdim\tclusters\tkmeans_iters\tpca_s\tkmeans_init_s\tlloyd_s\ttypicality_s\tfeatures_s\tfrank_wolfe_s\ttotal_s\tcpu_s");
    for &pool in &pools {
        let n = pool + labelled;
        let x = synthetic(n, dim, (n / 70).max(3), 42);
        let names: Vec<String> = (0..n).map(|i| format!("G{i:06}")).collect();
        let emb = Embeddings::from_parts("synthetic", names.clone(), x).unwrap();
        let lab: Vec<(usize, String)> = names.iter().take(labelled).cloned().enumerate().collect();
        let problem = build_problem(&emb, Some(NamedList { source: "labelled", names: &lab }), None, None, false).unwrap();
        for strategy in [Strategy::Typiclust, Strategy::AcsFw] {
            let mut cfg = AlConfig::new(strategy, Budget::Count(budget));
            cfg.seed = 7;
            let c0 = cpu_seconds();
            let sel = select_embeddings(&problem, &cfg).unwrap();
            let cpu = cpu_seconds() - c0;
            let s = &sel.summary;
            let t = &s.timings;
            println!(
                "{}\t{pool}\t{labelled}\t{budget}\t{dim}\t{}\t{}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{cpu:.2}",
                strategy.as_str(),
                s.info.clusters.map_or("NA".into(), |c| c.to_string()),
                s.info.kmeans_iterations.map_or("NA".into(), |c| c.to_string()),
                t.pca_s,
                t.kmeans_init_s,
                t.kmeans_lloyd_s,
                t.typicality_s,
                t.features_s,
                t.frank_wolfe_s,
                t.total_s
            );
        }
    }
    let x = synthetic(pca_points, pca_dim, 20, 9);
    let (t, c0) = (Instant::now(), cpu_seconds());
    let p = pca(&x, pca_points.min(100), 600, 1).unwrap();
    println!(
        "# PCA of {pca_points} points x {pca_dim} dims to {} components ({}): {:.3} s wall, {:.2} s CPU; load average {}",
        p.scores.cols,
        p.solver,
        t.elapsed().as_secs_f64(),
        cpu_seconds() - c0,
        load_average()
    );
}
