//! Running one unit (`experiment run-unit DIR ID`, and every unit of `experiment run`).
//!
//! In order: skip if the marker exists; refuse if a dependency is incomplete; take the unit's
//! lock (`units/<id>/.lock`; held -> [`Error::Busy`] with the unit id, exit 75); write `unit.json`; make the
//! training set (`selection.tsv`, kept once written, so a resumed unit trains on exactly the same
//! perturbations); train GEARS in `train/` (resuming from its checkpoint when one is there);
//! write `metrics.json`; then the marker `done.json`, last, by rename. A unit killed at any point
//! has no marker and is redone from its own files by the next run.
//!
//! Every unit runs on a rayon pool of `resources.threads` threads, whoever runs it (fewer only
//! when a scheduler grants fewer through `RAYON_NUM_THREADS` or `--threads`): the trainer's sums
//! depend on the thread count, and this keeps a unit's numbers the same under `experiment run
//! --jobs N` and under a workflow engine's `run-unit`. The training checkpoint is removed before
//! the marker is written, so a resumed unit leaves the same files as an uninterrupted one.

use super::active::{cycle_seed, query, strategy_of};
use super::cache::Cache;
use super::config::StudyMethod;
use super::folder::StudyDir;
use super::fsio::{read_text, write_text};
use crate::files::lock::RunLock;
use super::inputs::{fold_dir, read_list, read_val};
use super::oneshot::{noise_graph_seed, one_shot_order};
use super::plan::{PlanEntry, Unit, MARKER, UNIT_LOCK};
use crate::error::{Error, Result};
use crate::gears::eval::metrics::MetricSummary;
use crate::gears::eval::report::BaselineSummaries;
use crate::gears::train::fit::Hooks;
use crate::gears::train::run::{file_names, run_training_with, Existing, PertList, TrainRun};
use crate::graph::names::NameList;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// How a unit is run.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnitOptions<'a> {
    /// Set (Ctrl-C) to stop after the current training step; the unit stays incomplete.
    pub interrupt: Option<&'a AtomicBool>,
    /// Notes and a per-epoch line on stderr.
    pub progress: bool,
    /// Threads granted by the caller (`run-unit --threads N`); `None` reads `RAYON_NUM_THREADS`.
    /// A unit never uses more than the configuration's `resources.threads`, and fewer only when
    /// granted fewer (see [`unit_threads`]).
    pub threads: Option<usize>,
}

/// The threads a unit runs on: the configuration's `resources.threads`, or fewer when the caller
/// grants fewer (`granted`, else `RAYON_NUM_THREADS` as a workflow engine sets it). The trainer's
/// sums depend on the thread count, so results are identical between `experiment run` and a
/// workflow engine whenever the grant is not below the plan (always with `threads = 1`, as in
/// every preset).
pub fn unit_threads(planned: usize, granted: Option<usize>) -> usize {
    let env = || std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0);
    match granted.filter(|&n| n > 0).or_else(env) {
        Some(g) => g.min(planned).max(1),
        None => planned.max(1),
    }
}

/// `units/<id>/metrics.json`: what the report reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitMetrics {
    /// Unit id.
    pub id: String,
    /// Dataset.
    pub dataset: String,
    /// Method.
    pub method: String,
    /// Graph noise level.
    pub noise: f64,
    /// 1-based fold.
    pub fold: usize,
    /// Experiment seed.
    pub seed: u64,
    /// 1-based cycle.
    pub cycle: usize,
    /// Training perturbations (ctrl not counted).
    pub n_train: usize,
    /// Validation perturbations.
    pub n_val: usize,
    /// Test perturbations evaluated.
    pub n_test: usize,
    /// Wet-lab days until this model exists.
    pub days: f64,
    /// GEARS on the fold's test part.
    pub model: MetricSummary,
    /// The baselines on the same test part (mean and linear from this unit's training set).
    pub baselines: BaselineSummaries,
    /// Epoch whose weights were kept.
    pub kept_epoch: usize,
    /// Where the training steps ran.
    pub device: String,
    /// Wall seconds of training and evaluating (the attempt that finished the unit).
    pub train_seconds: f64,
    /// Wall seconds of the epochs' training steps (all attempts).
    pub epoch_seconds: f64,
    /// CPU seconds of the epochs' training steps (all attempts; all of the process's threads).
    pub train_cpu_seconds: f64,
    /// Seconds making the selection (one-shot order, or the strategy after embedding).
    pub select_seconds: f64,
    /// Seconds embedding the pool (active learning after the first cycle).
    pub embed_seconds: f64,
}

/// One row of `selection.tsv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SelRow {
    /// The perturbation.
    pub perturbation: String,
    /// The cycle it joined the training set.
    pub cycle: usize,
    /// How it was chosen: the method, `random-start` or `graphreach-start`.
    pub source: String,
    /// The strategy's score, if any.
    pub score: Option<f64>,
}

/// Reads a unit's `selection.tsv`.
pub fn read_selection(path: &Path) -> Result<Vec<SelRow>> {
    let text = read_text(path)?;
    let name = path.display().to_string();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(Error::parse(&name, i + 1, "expected rank, perturbation, cycle, source, score"));
        }
        out.push(SelRow {
            perturbation: f[1].to_string(),
            cycle: f[2].parse().map_err(|_| Error::parse(&name, i + 1, "the cycle is not a whole number"))?,
            source: f[3].to_string(),
            score: f[4].parse().ok(),
        });
    }
    Ok(out)
}

fn selection_tsv(rows: &[SelRow]) -> String {
    let mut s = String::from("rank\tperturbation\tcycle\tsource\tscore\n");
    for (i, r) in rows.iter().enumerate() {
        let score = r.score.map_or("NA".to_string(), |x| format!("{x}"));
        s += &format!("{}\t{}\t{}\t{}\t{score}\n", i + 1, r.perturbation, r.cycle, r.source);
    }
    s
}

/// `units/<id>/unit.json`: the unit's settings, for a reader of the folder.
#[derive(Serialize)]
struct UnitRecord<'a> {
    id: &'a str,
    dataset: &'a str,
    method: &'a str,
    noise: f64,
    fold: usize,
    seed: u64,
    cycle: usize,
    deps: &'a [String],
    graph: &'a str,
    noise_graph_seed: Option<u64>,
    batch: usize,
    val_per_cycle: usize,
    strategy_seed: Option<u64>,
    embedding: Option<&'a str>,
    training: &'a crate::gears::GearsConfig,
    backend: &'a str,
    threads: usize,
}

/// What happened to a unit.
#[derive(Clone, Debug)]
pub enum UnitStatus {
    /// It was complete already.
    Skipped,
    /// It ran now.
    Ran(Box<UnitMetrics>),
}

/// Runs unit `id` on a rayon pool of the study's `resources.threads` threads (fewer if granted
/// fewer: [`unit_threads`]).
pub fn run_unit(sd: &StudyDir, id: &str, cache: &Cache, opts: UnitOptions<'_>) -> Result<UnitStatus> {
    let threads = unit_threads(sd.study.config.resources.threads, opts.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("unit-{i}"))
        .build()
        .map_err(|e| Error::invalid(format!("cannot start {threads} threads: {e}")))?;
    pool.install(|| run_unit_here(sd, id, cache, opts))
}

/// Runs unit `id` on the current rayon pool (see [`run_unit`]).
pub fn run_unit_here(sd: &StudyDir, id: &str, cache: &Cache, opts: UnitOptions<'_>) -> Result<UnitStatus> {
    let e = sd.entry(id)?;
    if sd.is_complete(e) {
        return Ok(UnitStatus::Skipped);
    }
    let missing: Vec<&String> = e.deps.iter().filter(|d| sd.entry(d).map(|x| !sd.is_complete(x)).unwrap_or(true)).collect();
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "unit {id} depends on unit {} which is not complete: run it first (`graphreach experiment run-unit {} {}`)",
            missing[0],
            sd.dir.display(),
            missing[0]
        )));
    }
    let udir = sd.unit_dir(e);
    let _lock = RunLock::acquire_named(&udir, UNIT_LOCK, Some(id))?;
    if sd.is_complete(e) {
        return Ok(UnitStatus::Skipped); // finished by the previous holder of the lock
    }
    let metrics = execute(sd, e, &udir, cache, opts)?;
    let json = serde_json::to_string_pretty(&metrics).expect("metrics serialise") + "\n";
    write_text(&udir.join("metrics.json"), &json)?;
    write_text(&sd.dir.join(&e.marker), &format!("{{\"id\": \"{id}\", \"complete\": true, \"metrics\": \"metrics.json\"}}\n"))?;
    debug_assert!(e.marker.ends_with(MARKER));
    Ok(UnitStatus::Ran(Box::new(metrics)))
}

fn names(source: &str, v: &[String]) -> NameList {
    NameList { source: source.to_string(), names: v.iter().cloned().enumerate().map(|(i, n)| (i + 1, n)).collect() }
}

/// The training set of unit `u`: (rows, select seconds, embed seconds).
fn training_set(sd: &StudyDir, e: &PlanEntry, u: &Unit, cache: &Cache, data: &crate::data::Dataset) -> Result<(Vec<SelRow>, f64, f64)> {
    let batch = sd.info(&u.dataset).batch;
    let t0 = Instant::now();
    let order = |m: StudyMethod| one_shot_order(sd, cache, &u.dataset, m, u.noise, u.fold, u.seed);
    if u.method.one_shot() {
        let o = order(u.method)?;
        let rows = o[..u.cycle * batch]
            .iter()
            .enumerate()
            .map(|(i, p)| SelRow { perturbation: p.clone(), cycle: i / batch + 1, source: u.method.as_str().into(), score: None })
            .collect();
        return Ok((rows, t0.elapsed().as_secs_f64(), 0.0));
    }
    if u.cycle == 1 {
        let (m, source) = if u.method == StudyMethod::Hybrid { (StudyMethod::Graphreach, "graphreach-start") } else { (StudyMethod::Random, "random-start") };
        let o = order(m)?;
        let rows = o[..batch].iter().map(|p| SelRow { perturbation: p.clone(), cycle: 1, source: source.into(), score: None }).collect();
        return Ok((rows, t0.elapsed().as_secs_f64(), 0.0));
    }
    let dep = sd.entry(&e.deps[0])?;
    let ddir = sd.unit_dir(dep);
    let mut rows = read_selection(&ddir.join("selection.tsv"))?;
    let labelled: Vec<String> = rows.iter().map(|r| r.perturbation.clone()).collect();
    let taken: std::collections::HashSet<&String> = labelled.iter().collect();
    let pool: Vec<String> = read_list(&fold_dir(&sd.dir, &u.dataset, u.fold).join("pool.txt"))?.into_iter().filter(|p| !taken.contains(p)).collect();
    let model = ddir.join("train").join(file_names::MODEL);
    let q = query(&sd.study, u.method, &model, data, &labelled, &pool, batch, u.seed, u.cycle)?;
    rows.extend(q.picks.into_iter().map(|(p, s)| SelRow { perturbation: p, cycle: u.cycle, source: u.method.as_str().into(), score: s }));
    Ok((rows, q.select_seconds, q.embed_seconds))
}

fn execute(sd: &StudyDir, e: &PlanEntry, udir: &Path, cache: &Cache, opts: UnitOptions<'_>) -> Result<UnitMetrics> {
    let u = e.unit();
    let study = &sd.study;
    let info = sd.info(&u.dataset);
    let p = &study.config.protocol;
    let mut gears = study.gears.clone();
    gears.seed = u.seed;
    let al = !u.method.one_shot() && u.cycle > 1;
    let record = UnitRecord {
        id: &e.id,
        dataset: &u.dataset,
        method: u.method.as_str(),
        noise: u.noise,
        fold: u.fold,
        seed: u.seed,
        cycle: u.cycle,
        deps: &e.deps,
        graph: &info.graph,
        noise_graph_seed: (u.noise > 0.0).then(|| noise_graph_seed(p.noise_seed, u.seed, u.noise)),
        batch: info.batch,
        val_per_cycle: info.val,
        strategy_seed: al.then(|| cycle_seed(u.seed, u.cycle)),
        embedding: al.then(|| strategy_of(study, u.method).1),
        training: &gears,
        backend: &study.config.training.backend,
        threads: study.config.resources.threads,
    };
    write_text(&udir.join("unit.json"), &(serde_json::to_string_pretty(&record).expect("record serialises") + "\n"))?;
    let data = cache.dataset(&info.data_path(&sd.dir))?;
    let sel_path = udir.join("selection.tsv");
    let (rows, select_seconds, embed_seconds) = if sel_path.exists() {
        (read_selection(&sel_path)?, 0.0, 0.0)
    } else {
        let (rows, s, em) = training_set(sd, e, &u, cache, &data)?;
        write_text(&sel_path, &selection_tsv(&rows))?;
        (rows, s, em)
    };
    let train: Vec<String> = rows.iter().map(|r| r.perturbation.clone()).collect();
    let val = read_val(&sd.dir, &u.dataset, u.fold, u.cycle)?;
    let test = read_list(&fold_dir(&sd.dir, &u.dataset, u.fold).join("test.txt"))?;
    let graph = cache.graph(&info.graph)?;
    let out: PathBuf = udir.join("train");
    let run = TrainRun {
        data: info.data_path(&sd.dir),
        graph: info.graph.clone(),
        train: PertList::Names(names("the unit's selection", &train)),
        val: (!val.is_empty()).then(|| PertList::Names(names("the fold's validation batches", &val))),
        test: PertList::Names(names("the fold's test part", &test)),
        config: gears.clone(),
        backend: study.train_backend,
        existing: existing_run(&out.join(file_names::CHECKPOINT), gears.epochs),
        out,
        train_ctrl: true,
        skip_missing: false,
    };
    let t0 = Instant::now();
    let outcome = run_training_with(&run, &data, &graph, Hooks { interrupt: opts.interrupt, progress: opts.progress })?;
    let train_seconds = t0.elapsed().as_secs_f64();
    // The checkpoint exists only to resume; the kept model (model.safetensors) stays for the next
    // active-learning cycle's embeddings.
    let ckpt = udir.join("train").join(file_names::CHECKPOINT);
    match std::fs::remove_file(&ckpt) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&ckpt, e)),
    }
    Ok(UnitMetrics {
        id: e.id.clone(),
        dataset: u.dataset.clone(),
        method: u.method.as_str().into(),
        noise: u.noise,
        fold: u.fold,
        seed: u.seed,
        cycle: u.cycle,
        n_train: train.len(),
        n_val: val.len(),
        n_test: outcome.report.model.n_perturbations,
        days: u.days(p.days_per_cycle),
        model: outcome.report.model.clone(),
        baselines: outcome.report.baselines.clone(),
        kept_epoch: outcome.kept_epoch,
        device: outcome.device.clone(),
        train_seconds,
        epoch_seconds: outcome.log.iter().map(|l| l.seconds).sum(),
        train_cpu_seconds: outcome.log.iter().map(|l| l.cpu_seconds).sum(),
        select_seconds,
        embed_seconds,
    })
}

/// Resume from a checkpoint left by a killed attempt, unless there is none, it is unreadable (a
/// kill while it was written is impossible: it is renamed into place, but a foreign file is not),
/// or it finished every epoch (killed after the last epoch, before the marker): then the training
/// starts over, which gives the same model (trainings are deterministic).
fn existing_run(ckpt: &Path, epochs: usize) -> Existing {
    if !ckpt.exists() {
        return Existing::Overwrite;
    }
    match crate::gears::train::checkpoint::load_checkpoint(ckpt) {
        Ok((state, _)) if state.epochs_done < epochs => Existing::Resume,
        _ => Existing::Overwrite,
    }
}

/// Reads a complete unit's metrics.
pub fn read_metrics(sd: &StudyDir, e: &PlanEntry) -> Result<UnitMetrics> {
    let p = sd.unit_dir(e).join("metrics.json");
    let text = read_text(&p)?;
    serde_json::from_str(&text).map_err(|err| Error::Json { path: p.display().to_string(), source: err })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_grant_lowers_but_never_raises_the_planned_threads() {
        assert_eq!(unit_threads(1, Some(4)), 1);
        assert_eq!(unit_threads(4, Some(2)), 2);
        assert_eq!(unit_threads(4, Some(4)), 4);
    }

    #[test]
    fn selection_tsv_reads_back() {
        let rows = vec![
            SelRow { perturbation: "A".into(), cycle: 1, source: "random-start".into(), score: None },
            SelRow { perturbation: "B+C".into(), cycle: 2, source: "typiclust".into(), score: Some(0.25) },
        ];
        let d = std::env::temp_dir().join(format!("graphreach-unit-sel-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("selection.tsv");
        std::fs::write(&p, selection_tsv(&rows)).unwrap();
        assert_eq!(read_selection(&p).unwrap(), rows);
        std::fs::remove_dir_all(&d).ok();
    }
}
