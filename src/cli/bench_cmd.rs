//! `graphreach bench`: per backend and phase (load, balls, greedy) median wall times of GraphReach
//! on one graph and candidate pool, and the speedup over the CPU path, in one run.

use crate::backend::{select_backend, Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::files::output::print_stdout;
use crate::graph::{io::load_graph, Direction};
use crate::select::greedy::lazy_greedy;
use crate::graph::sets::{BallLayout, SetList};
use clap::Args;
use std::time::Instant;

/// Arguments of `graphreach bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Graph: a file, `builtin:NAME` or `gen:NAME`.
    #[arg(long, default_value = "builtin:go-k562")]
    pub graph: String,
    /// Candidate pool: `all` nodes, `gen:NAME` (a preset's candidates), a file or `builtin:NAME`.
    #[arg(long, default_value = "all")]
    pub candidates: String,
    /// Picks per run.
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = 100)]
    pub budget: usize,
    /// Hops L of the balls.
    #[arg(long, value_parser = super::num::unsigned::<u32>, default_value_t = 1)]
    pub hops: u32,
    /// Hop direction.
    #[arg(long, value_enum, default_value_t = Direction::In)]
    pub direction: Direction,
    /// Ball representation.
    #[arg(long, value_enum, default_value_t = BallLayout::Auto)]
    pub layout: BallLayout,
    /// Backends to time, comma separated (cpu first gives the speedup baseline). Every backend
    /// named here must be available (exit 3 otherwise); without the flag, cpu,wgpu,cuda are tried
    /// and the unavailable ones are reported and skipped.
    #[arg(long, value_delimiter = ',')]
    pub backends: Option<Vec<BackendChoice>>,
    /// Timed repetitions per phase (the median is printed).
    #[arg(long, value_parser = super::num::unsigned::<usize>, default_value_t = 3)]
    pub repeats: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times every requested backend; an unavailable backend is reported and skipped.
pub fn run(a: BenchArgs) -> Result<()> {
    if a.repeats == 0 {
        return Err(Error::invalid("--repeats must be at least 1"));
    }
    if a.budget == 0 {
        return Err(Error::invalid("--budget 0 times nothing; pass --budget N with N >= 1"));
    }
    let explicit = a.backends.is_some();
    let choices = a.backends.clone().unwrap_or_else(|| vec![BackendChoice::Cpu, BackendChoice::Wgpu, BackendChoice::Cuda]);
    if choices.is_empty() {
        return Err(Error::invalid("--backends is empty; name at least one of cpu, wgpu, cuda, auto"));
    }
    // Every backend the user named must be there: a benchmark that silently skips it measures nothing.
    let mut backends: Vec<(BackendChoice, Option<Box<dyn Backend>>)> = Vec::new();
    for &choice in &choices {
        match select_backend(choice) {
            Ok((b, _)) => backends.push((choice, Some(b))),
            Err(e) if explicit => return Err(e),
            Err(e) => {
                eprintln!("skipped {}: {e}", choice_name(choice));
                backends.push((choice, None));
            }
        }
    }
    let t = Instant::now();
    let graph = load_graph(&a.graph)?;
    let load = t.elapsed().as_secs_f64();
    let adj = graph.hop_adjacency(a.direction);
    let pool = super::select_cmd::load_pool(&graph, &a.candidates, false)?;
    let seeds = SetList::from_sets(pool.candidates.iter().map(|c| c.seeds.clone()));
    let budget = a.budget.min(seeds.len());
    eprintln!("graph {}: {} nodes, {} edges; budget {budget}, L={}, {} candidates", graph.name, graph.n_nodes(), graph.n_edges(), a.hops, seeds.len());
    print_stdout("backend\tdevice\tphase\tmedian_s\tspeedup_vs_cpu\n")?;
    let mut cpu_times: Option<(f64, f64)> = None;
    let mut reference: Option<Vec<u32>> = None;
    for (choice, backend) in backends {
        let Some(backend) = backend else {
            print_stdout(&format!("{}\t-\tskipped\tNA\tNA\n", choice_name(choice)))?;
            continue;
        };
        let (mut tb, mut tg) = (Vec::new(), Vec::new());
        let mut picks = Vec::new();
        let mut search = None;
        for _ in 0..a.repeats {
            let t = Instant::now();
            let balls = backend.balls(&adj, &seeds, a.hops, a.layout)?;
            tb.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let mut oracle = backend.coverage(&balls, None)?;
            let width = backend.default_batch_width();
            let r = lazy_greedy(oracle.as_mut(), balls.len(), budget, width)?;
            tg.push(t.elapsed().as_secs_f64());
            picks = r.picks.iter().map(|p| p.candidate).collect();
            search = Some(r.stats);
        }
        if let Some(s) = search {
            eprintln!(
                "{}: lazy greedy evaluated {} gains ({} re-evaluations) in {} oracle calls of width up to {}",
                backend.name(),
                s.evaluations,
                s.reevaluations,
                s.batches,
                backend.default_batch_width()
            );
        }
        match &reference {
            None => reference = Some(picks),
            Some(r) if *r != picks => return Err(Error::Backend { backend: backend.name(), msg: "selection differs from the first backend's".into() }),
            Some(_) => {}
        }
        let (b, g) = (median(tb), median(tg));
        if backend.name() == "cpu" && cpu_times.is_none() {
            cpu_times = Some((b, g));
        }
        let speed = |base: Option<f64>, x: f64| base.map(|c| format!("{:.2}", c / x)).unwrap_or_else(|| "NA".into());
        let name = backend.name();
        let dev = backend.describe();
        print_stdout(&format!(
            "{name}\t{dev}\tload\t{load:.4}\tNA\n{name}\t{dev}\tballs\t{b:.4}\t{}\n{name}\t{dev}\tgreedy\t{g:.4}\t{}\n{name}\t{dev}\tballs+greedy\t{:.4}\t{}\n",
            speed(cpu_times.map(|c| c.0), b),
            speed(cpu_times.map(|c| c.1), g),
            b + g,
            speed(cpu_times.map(|c| c.0 + c.1), b + g)
        ))?;
    }
    Ok(())
}

/// The command-line name of a backend choice.
fn choice_name(c: BackendChoice) -> &'static str {
    match c {
        BackendChoice::Auto => "auto",
        BackendChoice::Cpu => "cpu",
        BackendChoice::Cuda => "cuda",
        BackendChoice::Wgpu => "wgpu",
    }
}
