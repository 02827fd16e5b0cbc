//! `experiment run`: every unit of a planned folder, `jobs` at a time in dependency order, with a
//! progress bar over units (ETA), then the report.
//!
//! Each running unit gets its own rayon pool of `resources.threads` threads (see [`super::unit`]),
//! so `jobs x threads` CPU threads are busy; the default `jobs` divides the machine's CPUs by
//! `threads`. Units training on a GPU share it: each opens its own device context. A failed unit
//! does not stop the others (units that depend on it are not started); the run then ends with an
//! error listing the failures. Ctrl-C stops starting units and interrupts the running ones after
//! their current training step; their checkpoints are kept and a rerun resumes them.

use super::cache::Cache;
use super::folder::StudyDir;
use super::unit::{run_unit, UnitOptions, UnitStatus};
use crate::error::{preview_list, Error, Result};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Settings of a run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions<'a> {
    /// Units at once (None: CPUs / threads per unit).
    pub jobs: Option<usize>,
    /// Ctrl-C flag.
    pub interrupt: Option<&'a AtomicBool>,
    /// Progress bar and one line per finished unit on stderr.
    pub progress: bool,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Units run now.
    pub ran: usize,
    /// Units complete before.
    pub skipped: usize,
    /// Units that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// Units not started because a dependency failed or the run was interrupted.
    pub not_started: usize,
    /// Units at once.
    pub jobs: usize,
    /// Wall seconds.
    pub seconds: f64,
}

/// The default number of concurrent units: the machine's CPUs divided by the threads per unit.
pub fn default_jobs(threads: usize) -> usize {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cpus / threads.max(1)).max(1)
}

struct Sched {
    pending: Vec<usize>,
    running: usize,
    done: HashSet<String>,
    failed: HashSet<String>,
}

/// Runs every incomplete unit of `sd`.
pub fn run_units(sd: &StudyDir, opts: RunOptions<'_>) -> Result<RunSummary> {
    let t0 = Instant::now();
    let threads = sd.study.config.resources.threads;
    let jobs = opts.jobs.unwrap_or_else(|| default_jobs(threads)).max(1);
    let mut summary = RunSummary { jobs, ..Default::default() };
    let mut done = HashSet::new();
    let mut pending = Vec::new();
    for (i, e) in sd.entries.iter().enumerate() {
        if sd.is_complete(e) {
            done.insert(e.id.clone());
            summary.skipped += 1;
        } else {
            pending.push(i);
        }
    }
    let bar = indicatif::ProgressBar::new(pending.len() as u64);
    if opts.progress {
        bar.set_style(
            indicatif::ProgressStyle::with_template("units [{bar:30}] {pos}/{len} {elapsed_precise} ETA {eta_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    // indicatif drops println on a hidden bar (stderr not a terminal, e.g. a log file): print there directly.
    let say = |msg: String| {
        if !opts.progress {
        } else if bar.is_hidden() {
            eprintln!("{msg}");
        } else {
            bar.println(msg);
        }
    };
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    say(format!(
        "{} units: {} complete, {} to run, {jobs} at a time x {threads} thread(s){}",
        sd.entries.len(),
        summary.skipped,
        pending.len(),
        if jobs * threads > cpus { format!(" (more than the {cpus} CPUs here)") } else { String::new() }
    ));
    let state = Mutex::new(Sched { pending, running: 0, done, failed: HashSet::new() });
    let wake = Condvar::new();
    let results: Mutex<Vec<(String, std::result::Result<bool, String>)>> = Mutex::new(Vec::new());
    let cache = Cache::default();
    let stop = || opts.interrupt.is_some_and(|f| f.load(Ordering::SeqCst));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let next = {
                    let mut st = state.lock().expect("scheduler lock");
                    loop {
                        if stop() {
                            break None;
                        }
                        let ready = st.pending.iter().position(|&i| sd.entries[i].deps.iter().all(|d| st.done.contains(d)));
                        if let Some(k) = ready {
                            let i = st.pending.remove(k);
                            st.running += 1;
                            break Some(i);
                        }
                        // Nothing left, or nothing running that could unblock what is left (a
                        // dependency failed): this worker is done.
                        if st.pending.is_empty() || st.running == 0 {
                            break None;
                        }
                        st = wake.wait(st).expect("scheduler wait");
                    }
                };
                let Some(i) = next else {
                    wake.notify_all();
                    return;
                };
                let e = &sd.entries[i];
                bar.set_message(e.id.clone());
                let res = run_unit(sd, &e.id, &cache, UnitOptions { interrupt: opts.interrupt, progress: false, threads: None });
                let mut st = state.lock().expect("scheduler lock");
                st.running -= 1;
                let outcome = match res {
                    Ok(UnitStatus::Ran(m)) => {
                        st.done.insert(e.id.clone());
                        say(format!(
                            "done {}: mse_top20_de_non_dropout {:.5} (mean baseline {:.5}), {} training perturbations, {:.1} s",
                            e.id, m.model.mse_top20_de_non_dropout, m.baselines.mean.mse_top20_de_non_dropout, m.n_train, m.train_seconds
                        ));
                        Ok(true)
                    }
                    Ok(UnitStatus::Skipped) => {
                        st.done.insert(e.id.clone());
                        Ok(false)
                    }
                    Err(err) => {
                        st.failed.insert(e.id.clone());
                        if !matches!(err, Error::Interrupted(_)) {
                            say(format!("FAILED {}: {err}", e.id));
                        }
                        Err(err.to_string())
                    }
                };
                bar.inc(1);
                results.lock().expect("results lock").push((e.id.clone(), outcome));
                drop(st);
                wake.notify_all();
            });
        }
    });
    bar.finish_and_clear();
    for (id, r) in results.into_inner().expect("results") {
        match r {
            Ok(true) => summary.ran += 1,
            Ok(false) => summary.skipped += 1,
            Err(msg) => summary.failed.push((id, msg)),
        }
    }
    summary.not_started = state.into_inner().expect("scheduler").pending.len();
    summary.seconds = t0.elapsed().as_secs_f64();
    if stop() {
        return Err(Error::Interrupted(format!(
            "{} unit(s) finished, {} interrupted or not started; run the same command again to resume",
            summary.ran,
            summary.failed.len() + summary.not_started
        )));
    }
    if !summary.failed.is_empty() {
        let shown: Vec<String> = summary.failed.iter().map(|(id, m)| format!("{id}: {m}")).collect();
        return Err(Error::invalid(format!(
            "{} unit(s) failed ({} not started because of them; {} ran): {}",
            summary.failed.len(),
            summary.not_started,
            summary.ran,
            preview_list(&shown)
        )));
    }
    Ok(summary)
}
