//! `graphreach select` and `graphreach stability`.

use crate::files::output::{write_output, OutputTarget};
use crate::backend::{select_backend, BackendChoice, PowerIterConfig};
use crate::error::{Error, Result};
use crate::graph::{io::load_graph, Direction, Graph};
use crate::graph::names::read_names;
use crate::select::pair_pool::{is_pair_list, PairPool};
use crate::select::pool::{all_nodes, apply_exclusions, resolve_exclusions, resolve_names, Pool};
use crate::graph::sets::BallLayout;
use crate::select::al::pca::{PcaConfig, PcaMode};
use crate::select::al::problem::build_problem;
use crate::select::al::{read_embeddings, AlConfig, NamedList, Strategy};
use crate::select::{self, Budget, MaxSpecObjective, Method, NodeWeights, PoolKind, SelectConfig};
use clap::Args;
use std::collections::HashSet;
use std::path::PathBuf;

/// Arguments of `graphreach select`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Graph: a file (GEARS CSV/TSV, edge list, MatrixMarket; .gz ok), `builtin:NAME` or `gen:NAME`.
    /// Not read by typiclust and acs-fw (they work on --embeddings).
    #[arg(long, default_value = "builtin:go-k562")]
    pub graph: String,
    /// Candidate pool: a file (one gene or GEARS condition per line), `builtin:NAME`, `gen:NAME` or `all`
    /// [default: builtin:replogle-k562-essential; for typiclust and acs-fw: every embedding row
    /// not in --labelled].
    /// A file of `A+B` lines only (plus `ctrl`) is a pair pool: each pair's ball is the union of
    /// both genes' balls, and a pair listed twice (`A+B`, `B+A`) is an error.
    #[arg(long)]
    pub candidates: Option<String>,
    /// Pair pool of every unordered pair of the genes listed (one per line, `builtin:NAME` ok):
    /// 1,000 genes give 499,500 pairs. Output `gene` column: `A+B`.
    #[arg(long, conflicts_with_all = ["candidates", "embeddings", "labelled"])]
    pub pairs_of: Option<String>,
    /// typiclust, acs-fw: the embeddings TSV (`perturbation<TAB>d0<TAB>d1...`, from `graphreach embed`).
    #[arg(long)]
    pub embeddings: Option<String>,
    /// typiclust, acs-fw: perturbations already trained on (one per line); they shape the clusters
    /// (typiclust) or the posterior (acs-fw) and are never picked. A candidate listed here too is
    /// left out of the pool with a note. acs-fw needs at least one.
    #[arg(long)]
    pub labelled: Option<String>,
    /// typiclust, acs-fw: when to reduce the embeddings with PCA (auto: when the dimension, or the
    /// file's `# reference_dim=`, exceeds --pca-threshold, as IterPert).
    #[arg(long, value_enum, default_value_t = PcaMode::Auto)]
    pub pca: PcaMode,
    /// typiclust, acs-fw: dimension above which --pca auto reduces to min(points, 100) components.
    #[arg(long, default_value_t = PcaConfig::default().threshold)]
    pub pca_threshold: usize,
    /// Number of perturbations to select [default: 5% of the pool, rounded up].
    #[arg(long, value_parser = super::num::unsigned::<usize>, conflicts_with = "fraction")]
    pub budget: Option<usize>,
    /// Fraction of the pool (after exclusions) to select, rounded up.
    #[arg(long)]
    pub fraction: Option<f64>,
    /// Selection method.
    #[arg(long, value_enum, default_value_t = Method::Graphreach)]
    pub method: Method,
    /// Hops L: a ball holds the nodes within L hops of the candidate (0 = the candidate alone).
    #[arg(long, value_parser = super::num::unsigned::<u32>, default_value_t = SelectConfig::DEFAULT_HOPS)]
    pub hops: u32,
    /// Hop direction: `in` follows edges backwards (u -> v reaches u from v; GEARS gradient flow).
    #[arg(long, value_enum, default_value_t = Direction::In)]
    pub direction: Direction,
    /// Genes never offered as candidates (one per line; e.g. a split's test genes).
    #[arg(long)]
    pub exclude: Option<String>,
    /// Seed of random, typiclust (k-means++) and acs-fw (Gaussian draws).
    #[arg(long, value_parser = super::num::unsigned::<u64>, default_value_t = 0)]
    pub seed: u64,
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Output file (default or `-`: stdout). An existing file is kept unless --force; a directory,
    /// device or link is never replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tsv)]
    pub format: Format,
    /// Drop candidate genes that are not graph nodes (with a note) instead of failing.
    #[arg(long)]
    pub skip_missing: bool,
    /// Node weights for weighted coverage: `gene<TAB>weight` lines, weights finite and >= 0.
    #[arg(long)]
    pub weights: Option<String>,
    /// Weight of nodes that --weights does not list.
    #[arg(long, default_value_t = 0.0, requires = "weights")]
    pub default_weight: f64,
    /// MaxSpec: minimise (default, as the paper's text) or maximise the spectral norm.
    #[arg(long, value_enum, default_value_t = MaxSpecObjective::Min)]
    pub maxspec_objective: MaxSpecObjective,
    /// MaxSpec power iteration: relative tolerance.
    #[arg(long, default_value_t = PowerIterConfig::DEFAULT_TOL)]
    pub power_tol: f64,
    /// MaxSpec power iteration: iteration cap.
    #[arg(long, value_parser = super::num::unsigned::<u32>, default_value_t = PowerIterConfig::DEFAULT_MAX_ITER)]
    pub power_max_iter: u32,
    /// Ball representation (auto picks dense bitset rows when balls are large).
    #[arg(long, value_enum, default_value_t = BallLayout::Auto)]
    pub ball_layout: BallLayout,
    /// Candidates re-evaluated per batch in lazy greedy [default: the backend's].
    #[arg(long, value_parser = super::num::unsigned::<usize>)]
    pub batch_width: Option<usize>,
    /// Suppress notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Output format of a selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tab-separated, header `rank gene node_id gain coverage zero_gain score`.
    Tsv,
    /// JSON with a summary and the selection.
    Json,
}

/// Candidate pool of the graph methods when --candidates is not given.
pub const DEFAULT_CANDIDATES: &str = "builtin:replogle-k562-essential";

impl SelectArgs {
    fn budget_config(&self) -> Budget {
        match (self.budget, self.fraction) {
            (Some(b), _) => Budget::Count(b),
            (None, Some(f)) => Budget::Fraction(f),
            (None, None) => Budget::default(),
        }
    }

    /// The library configuration of an embedding-based method (typiclust, acs-fw).
    pub fn al_config(&self, strategy: Strategy) -> AlConfig {
        let mut c = AlConfig::new(strategy, self.budget_config());
        c.seed = self.seed;
        c.pca.mode = self.pca;
        c.pca.threshold = self.pca_threshold;
        c
    }

    /// The library configuration these flags describe.
    pub fn config(&self) -> SelectConfig {
        SelectConfig {
            method: self.method,
            budget: self.budget_config(),
            hops: self.hops,
            direction: self.direction,
            seed: self.seed,
            objective: self.maxspec_objective,
            power: PowerIterConfig { tol: self.power_tol, max_iter: self.power_max_iter },
            layout: self.ball_layout,
            batch_width: self.batch_width,
        }
    }
}

/// Reads the candidate pool for `spec` on `graph`.
pub fn load_pool(graph: &Graph, spec: &str, skip_missing: bool) -> Result<Pool> {
    if spec == "all" {
        return Ok(all_nodes(graph));
    }
    if let Some(name) = spec.strip_prefix("gen:") {
        return crate::select::pool::gen_pool(graph, name);
    }
    let names = read_names(spec)?;
    resolve_names(graph, &names, skip_missing)
}

/// A candidate pool as `select` reads it: generic, or pairs.
#[derive(Debug)]
pub enum LoadedPool {
    /// Genes or GEARS conditions ([`Pool`]).
    Genes(Pool),
    /// Pairs of genes ([`PairPool`]).
    Pairs(PairPool),
}

/// Reads the pool of `--candidates SPEC` (a file of `A+B` lines only is a pair pool) or of
/// `--pairs-of SPEC` (`pairs_of`) on `graph`.
pub fn load_any_pool(graph: &Graph, spec: &str, pairs_of: bool, skip_missing: bool) -> Result<LoadedPool> {
    if pairs_of {
        return Ok(LoadedPool::Pairs(PairPool::all_pairs_of(graph, &read_names(spec)?, skip_missing)?));
    }
    if spec == "all" || spec.starts_with("gen:") {
        return Ok(LoadedPool::Genes(load_pool(graph, spec, skip_missing)?));
    }
    let names = read_names(spec)?;
    if is_pair_list(&names) {
        return Ok(LoadedPool::Pairs(PairPool::from_pair_list(graph, &names, skip_missing)?));
    }
    Ok(LoadedPool::Genes(resolve_names(graph, &names, skip_missing)?))
}

/// Resolves an exclusion list to node ids (unknown genes there are ignored with a note: they
/// cannot be candidates anyway).
fn excluded_nodes(graph: &Graph, spec: &str, notes: &mut Vec<String>) -> Result<HashSet<u32>> {
    let names = read_names(spec)?;
    let pool = resolve_exclusions(graph, &names)?;
    let mut out = HashSet::new();
    for c in &pool.candidates {
        out.extend(c.seeds.iter().copied());
    }
    for n in pool.notes {
        notes.push(format!("--exclude {spec}: {n}"));
    }
    Ok(out)
}

/// Runs `graphreach select`.
pub fn run_select(a: SelectArgs) -> Result<()> {
    if let Some(strategy) = a.method.embedding_strategy() {
        if a.pairs_of.is_some() {
            return Err(Error::invalid(format!(
                "--pairs-of builds a pair pool on the graph; {} selects from model embeddings, one row per condition (pass --candidates with the A+B conditions of the embeddings file)",
                strategy.as_str()
            )));
        }
        return run_select_embeddings(&a, strategy);
    }
    for (flag, given) in [("--embeddings", a.embeddings.is_some()), ("--labelled", a.labelled.is_some())] {
        if given {
            return Err(Error::invalid(format!(
                "{flag} is only read by --method typiclust and --method acs-fw; {} selects from the graph",
                a.method.as_str()
            )));
        }
    }
    let target = OutputTarget::new(a.out.as_deref(), a.force);
    target.check()?;
    if a.method == Method::Maxspec {
        a.config().power.validate()?;
    }
    if !(a.default_weight.is_finite() && a.default_weight >= 0.0) {
        return Err(Error::invalid(format!("--default-weight {} must be a finite number >= 0", a.default_weight)));
    }
    let mut notes = Vec::new();
    let graph = load_graph(&a.graph)?;
    let r = &graph.report;
    if r.dropped_nonpositive > 0 {
        notes.push(format!("{}: dropped {} edge(s) with weight <= 0", graph.name, r.dropped_nonpositive));
    }
    if r.duplicates > 0 {
        notes.push(format!("{}: collapsed {} duplicate edge(s) (largest weight kept)", graph.name, r.duplicates));
    }
    let mut pool = match &a.pairs_of {
        Some(spec) => load_any_pool(&graph, spec, true, a.skip_missing)?,
        None => load_any_pool(&graph, a.candidates.as_deref().unwrap_or(DEFAULT_CANDIDATES), false, a.skip_missing)?,
    };
    match &mut pool {
        LoadedPool::Genes(p) => notes.append(&mut p.notes),
        LoadedPool::Pairs(p) => {
            notes.append(&mut p.notes);
            notes.push(format!("pair pool: {} pair(s) of {} gene(s); each pair's ball is the union of both genes' balls", p.len(), p.genes.len()));
        }
    }
    if let Some(ex) = &a.exclude {
        let set = excluded_nodes(&graph, ex, &mut notes)?;
        let removed = match &mut pool {
            LoadedPool::Genes(p) => apply_exclusions(p, &set),
            LoadedPool::Pairs(p) => p.apply_exclusions(&set),
        };
        let what = if matches!(pool, LoadedPool::Pairs(_)) { "pair(s) holding a gene" } else { "candidate(s)" };
        notes.push(format!("excluded {removed} {what} listed in {ex}"));
    }
    if a.hops == 0 {
        notes.push("--hops 0: every ball is the candidate itself, so coverage counts the selected genes".into());
    }
    let weights = match &a.weights {
        Some(w) => {
            let nw = NodeWeights::read(w, &graph, a.default_weight)?;
            if nw.unlisted > 0 {
                notes.push(format!("{w}: {} node(s) not listed get weight {}", nw.unlisted, a.default_weight));
            }
            Some(nw)
        }
        None => None,
    };
    let cfg = a.config();
    let (backend, bnotes) = select_backend(a.backend)?;
    notes.extend(bnotes);
    notes.push(format!("backend: {} ({})", backend.name(), backend.describe()));
    let sel = match &pool {
        LoadedPool::Genes(p) => select::select(&graph, p, &cfg, backend.as_ref(), weights.as_ref())?,
        LoadedPool::Pairs(p) => select::select_pairs(&graph, p, &cfg, backend.as_ref(), weights.as_ref())?,
    };
    if let Some(note) = zero_gain_note(&sel.summary, a.method) {
        notes.push(note);
    }
    if let Some(s) = &sel.summary.search {
        let bounds = match (s.bounds, sel.summary.pool_kind) {
            (0, _) => String::new(),
            (b, PoolKind::Pairs) => format!("; {b} answered by the bound u(a)+u(b) alone"),
            (b, PoolKind::Genes) => format!("; {b} GPU score(s) kept as bounds"),
        };
        notes.push(format!(
            "{} search: {} evaluation(s), {} of them re-evaluations, in {} batch(es){bounds}",
            sel.summary.method, s.evaluations, s.reevaluations, s.batches
        ));
    }
    if !a.quiet {
        for n in &notes {
            eprintln!("note: {n}");
        }
        eprintln!(
            "selected {} of {} candidates with {} on {} (L={}, {}): coverage {} nodes ({:.1}% of {}) in {:.3} s",
            sel.summary.budget,
            sel.summary.pool_size,
            sel.summary.method,
            sel.summary.graph,
            sel.summary.hops,
            sel.summary.direction,
            sel.selection.last().map(|p| p.coverage).unwrap_or(0.0),
            100.0 * sel.summary.coverage_fraction,
            sel.summary.graph_nodes,
            sel.summary.wall_time_s
        );
    }
    let text = match a.format {
        Format::Tsv => sel.to_tsv(),
        Format::Json => sel.to_json(),
    };
    write_output(&target, &text)
}

fn named(l: &crate::graph::names::NameList) -> NamedList<'_> {
    NamedList { source: l.source.as_str(), names: l.names.as_slice() }
}

/// `graphreach select --method typiclust|acs-fw`: reads embeddings and gene lists, never a graph.
fn run_select_embeddings(a: &SelectArgs, strategy: Strategy) -> Result<()> {
    let target = OutputTarget::new(a.out.as_deref(), a.force);
    target.check()?;
    let path = a.embeddings.as_deref().ok_or_else(|| {
        Error::invalid(format!(
            "--method {} selects from model embeddings: pass --embeddings EMB.tsv (written by `graphreach embed`)",
            strategy.as_str()
        ))
    })?;
    let emb = read_embeddings(path)?;
    let lab = a.labelled.as_deref().map(read_names).transpose()?;
    let cand = a.candidates.as_deref().map(read_names).transpose()?;
    let excl = a.exclude.as_deref().map(read_names).transpose()?;
    let problem = build_problem(&emb, lab.as_ref().map(named), cand.as_ref().map(named), excl.as_ref().map(named), a.skip_missing)?;
    let cfg = a.al_config(strategy);
    let sel = select::al::select_embeddings(&problem, &cfg)?;
    if !a.quiet {
        for n in &problem.notes {
            eprintln!("note: {n}");
        }
        if a.weights.is_some() {
            eprintln!("note: --weights is not used by {}", strategy.as_str());
        }
        match emb.kind.as_deref() {
            Some(k) if k != strategy.default_embedding_kind() => eprintln!(
                "note: {path} holds {k} embeddings; {}'s default is {} (see README, Methods)",
                strategy.as_str(),
                strategy.default_embedding_kind()
            ),
            _ => {}
        }
        let s = &sel.summary;
        if let Some(m) = s.pca_components {
            eprintln!(
                "note: PCA {} -> {m} components ({:.1}% of the variance, {})",
                s.input_dim,
                100.0 * s.pca_explained_ratio.unwrap_or(0.0),
                s.pca_solver.unwrap_or("")
            );
        }
        if let Some(f) = s.info.filled_at_random.filter(|&f| f > 0) {
            eprintln!("note: Frank-Wolfe broke down; the last {f} pick(s) were drawn at random (seeded)");
        }
        eprintln!(
            "selected {} of {} unlabelled candidates ({} labelled) with {} on {} ({} dims) in {:.3} s",
            s.budget, s.pool_size, s.labelled, s.method, s.embeddings, s.working_dim, s.timings.total_s
        );
    }
    let text = match a.format {
        Format::Tsv => sel.to_tsv(),
        Format::Json => sel.to_json(),
    };
    write_output(&target, &text)
}

/// The note on picks that added no coverage. Only the greedy methods choose such picks by the
/// tie-break rule; Random draws them and MaxSpec ranks them by the spectral norm.
fn zero_gain_note(s: &select::Summary, method: Method) -> Option<String> {
    let k = s.saturated_at?;
    Some(match method {
        Method::Graphreach | Method::NaiveGreedy => format!(
            "coverage saturated at pick {k}: {} pick(s) with zero gain were chosen by the tie-break rule (smallest node id)",
            s.zero_gain_picks
        ),
        Method::Random => format!("{} random pick(s) covered no new node (the first at pick {k})", s.zero_gain_picks),
        Method::Maxspec => format!("{} MaxSpec pick(s) covered no new node (the first at pick {k})", s.zero_gain_picks),
        // These select from embeddings and never reach the graph summary.
        Method::Typiclust | Method::AcsFw => return None,
    })
}

/// Arguments of `graphreach stability`.
#[derive(Debug, Args)]
pub struct StabilityArgs {
    /// Selection files (TSV from `select`, or one gene per line); at least two.
    #[arg(required = true, num_args = 2..)]
    pub selections: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StabilityFormat::Tsv)]
    pub format: StabilityFormat,
}

/// Output format of `graphreach stability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StabilityFormat {
    /// Tab-separated, header `selections pairs mean_jaccard sd_jaccard`, one row.
    Tsv,
    /// JSON with the files, the mean and standard deviation, and every pair's Jaccard.
    Json,
}

/// Runs `graphreach stability`.
pub fn run_stability(a: StabilityArgs) -> Result<()> {
    let mut sets = Vec::new();
    for f in &a.selections {
        let names = read_names(f)?;
        sets.push(names.names.into_iter().map(|(_, n)| n).collect::<HashSet<String>>());
    }
    let (mean, sd, pairs) = select::stability::mean_pairwise_jaccard(&sets)
        .ok_or_else(|| Error::invalid("stability needs at least two selection files"))?;
    let text = match a.format {
        StabilityFormat::Tsv => format!("selections\tpairs\tmean_jaccard\tsd_jaccard\n{}\t{}\t{:.6}\t{:.6}\n", sets.len(), pairs.len(), mean, sd),
        StabilityFormat::Json => {
            let v = serde_json::json!({"selections": a.selections, "pairs": pairs.len(), "mean_jaccard": mean, "sd_jaccard": sd, "pairwise": pairs});
            serde_json::to_string_pretty(&v).expect("serialisable") + "\n"
        }
    };
    write_output(&OutputTarget::Stdout, &text)
}
