//! One-shot selection orders (graphreach, maxspec, random) of the whole budget, computed once per
//! (dataset, method, noise, fold[, seed]) and shared by every unit that needs one.
//!
//! GraphReach and MaxSpec are deterministic: on the graph as it is their order does not depend on
//! the experiment seed, so all seeds share one file; under graph noise the perturbed graph is
//! drawn per seed, and so is the order. Random depends on the seed. The order is written to
//! `DIR/shared/<dataset>/selections/<key>.tsv` (the `graphreach select` TSV) by the first unit that
//! needs it, under a lock next to it, atomically; later units read it.

use super::cache::Cache;
use super::config::StudyMethod;
use super::folder::StudyDir;
use super::fsio::{read_text, write_text};
use crate::files::lock::RunLock;
use super::inputs::{fold_dir, read_list};
use super::plan::noise_label;
use crate::error::{Error, Result};
use crate::rng::mix;
use crate::graph::names::NameList;
use crate::select::pool::resolve_names;
use crate::select::{Budget, Method, SelectConfig};
use std::collections::HashMap;
use std::path::PathBuf;

/// Stream tag of the graph noise.
const NOISE_TAG: u64 = 0x4e4f_4953_455f_4752;

/// The seed of the perturbed graph of experiment seed `seed` at noise level `noise`.
pub fn noise_graph_seed(noise_seed: u64, seed: u64, noise: f64) -> u64 {
    mix(noise_seed ^ NOISE_TAG ^ mix(seed ^ mix(noise.to_bits())))
}

/// The cache file of an order.
pub fn order_path(sd: &StudyDir, dataset: &str, method: StudyMethod, noise: f64, fold: usize, seed: u64) -> PathBuf {
    let seeded = method == StudyMethod::Random || noise > 0.0;
    let mut key = format!("{}__n{}__f{fold:02}", method.as_str(), noise_label(noise));
    if seeded {
        key += &format!("__s{seed}");
    }
    sd.dir.join("shared").join(dataset).join("selections").join(key + ".tsv")
}

fn read_order(path: &std::path::Path) -> Result<Vec<String>> {
    let text = read_text(path)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header.split('\t').position(|h| h == "gene").ok_or_else(|| Error::parse(path.display().to_string(), 1, "no 'gene' column"))?;
    lines
        .enumerate()
        .map(|(i, l)| l.split('\t').nth(col).map(String::from).ok_or_else(|| Error::parse(path.display().to_string(), i + 2, "missing the gene column")))
        .collect()
}

/// The full one-shot order (the whole budget, `cycles x batch` perturbations, as pool names) of
/// `method` for (dataset, noise, fold, seed), computed and written on first use.
pub fn one_shot_order(sd: &StudyDir, cache: &Cache, dataset: &str, method: StudyMethod, noise: f64, fold: usize, seed: u64) -> Result<Vec<String>> {
    assert!(method.one_shot(), "one-shot methods only");
    let path = order_path(sd, dataset, method, noise, fold, seed);
    let lock_name = format!("{}.lock", path.file_stem().unwrap_or_default().to_string_lossy());
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    if path.exists() {
        // A process killed while holding the lock leaves its file: take the lock once, which
        // removes it, so a resumed study holds the same files as an uninterrupted one.
        if folder.join(&lock_name).exists() {
            drop(RunLock::wait_named(folder, &lock_name)?);
        }
        return read_order(&path);
    }
    let _lock = RunLock::wait_named(folder, &lock_name)?;
    if path.exists() {
        return read_order(&path);
    }
    let info = sd.info(dataset);
    let study = &sd.study;
    let p = &study.config.protocol;
    let graph = cache.noisy_graph(&info.graph, noise, noise_graph_seed(p.noise_seed, seed, noise))?;
    let pool_names = read_list(&fold_dir(&sd.dir, dataset, fold).join("pool.txt"))?;
    let list = NameList { source: format!("fold {fold} pool of {dataset}"), names: pool_names.iter().cloned().enumerate().map(|(i, n)| (i + 1, n)).collect() };
    let pool = resolve_names(&graph, &list, false)?;
    // Map graph labels back to the pool's own names (they are equal after `prepare --graph`).
    let mut back: HashMap<String, String> = HashMap::new();
    for n in &pool_names {
        let one = NameList { source: String::new(), names: vec![(1, n.clone())] };
        if let Some(c) = resolve_names(&graph, &one, false)?.candidates.first() {
            back.insert(c.label.clone(), n.clone());
        }
    }
    let cfg = SelectConfig {
        method: match method {
            StudyMethod::Graphreach => Method::Graphreach,
            StudyMethod::Maxspec => Method::Maxspec,
            _ => Method::Random,
        },
        budget: Budget::Count(p.cycles * info.batch),
        hops: study.config.selection.hops,
        direction: study.direction,
        seed,
        objective: study.objective,
        ..SelectConfig::default()
    };
    let (backend, _) = crate::backend::select_backend(study.select_backend)?;
    let mut sel = crate::select::select(&graph, &pool, &cfg, backend.as_ref(), None)?;
    for pick in &mut sel.selection {
        if let Some(n) = back.get(&pick.gene) {
            pick.gene = n.clone();
        }
    }
    let mut summary = sel.summary.clone();
    summary.wall_time_s = 0.0; // keep the shared files reproducible
    summary.balls_time_s = 0.0;
    // The summary first, the order last: the order's presence means both are complete.
    write_text(&path.with_extension("json"), &(serde_json::to_string_pretty(&summary).expect("summary serialises") + "\n"))?;
    write_text(&path, &sel.to_tsv())?;
    Ok(sel.selection.into_iter().map(|p| p.gene).collect())
}
