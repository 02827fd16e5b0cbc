//! Selection methods (GraphReach lazy greedy, naive greedy, MaxSpec, Random; the embedding-based
//! active-learning baselines TypiClust and ACS-FW in [`al`]) and their output.

pub mod al;
pub mod greedy;
pub mod maxspec;
pub mod objective;
pub mod pair_pool;
mod pair_select;
pub mod pool;
pub mod random;
pub mod stability;
mod weights;

pub use maxspec::MaxSpecObjective;
pub use pair_pool::PairPool;
pub use pair_select::select_pairs;
pub use pool::{Candidate, Pool};
pub use weights::NodeWeights;

use crate::backend::{Backend, PowerIterConfig, SpectralOperator};
use crate::error::{Error, Result};
use crate::graph::sets::{self, BallLayout, SetList};
use crate::graph::{Direction, Graph};
use serde::Serialize;
use std::time::Instant;

/// Selection method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Lazy greedy (CELF) maximisation of the number of nodes within L hops. Default.
    #[default]
    Graphreach,
    /// Plain greedy on the same objective (reference for testing; same output, slower).
    NaiveGreedy,
    /// Greedy on the spectral norm of the reachable subgraph's normalised adjacency.
    Maxspec,
    /// Seeded uniform random sample.
    Random,
    /// TypiClust on model embeddings (IterPert's variant; reads --embeddings, no graph).
    Typiclust,
    /// ACS-FW (acs-rf random features + Frank-Wolfe) on model embeddings (no graph).
    AcsFw,
}

impl Method {
    /// Name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Graphreach => "graphreach",
            Method::NaiveGreedy => "naive-greedy",
            Method::Maxspec => "maxspec",
            Method::Random => "random",
            Method::Typiclust => "typiclust",
            Method::AcsFw => "acs-fw",
        }
    }

    /// The embedding-based strategy this method is, if it is one (see [`al`]).
    pub fn embedding_strategy(self) -> Option<al::Strategy> {
        match self {
            Method::Typiclust => Some(al::Strategy::Typiclust),
            Method::AcsFw => Some(al::Strategy::AcsFw),
            _ => None,
        }
    }
}

/// How many candidates to pick.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Budget {
    /// Exactly this many.
    Count(usize),
    /// This fraction of the pool (after exclusions), rounded up.
    Fraction(f64),
}

impl Budget {
    /// Default: 5% of the pool, rounded up (55 for the 1,089-gene Replogle pool).
    pub const DEFAULT_FRACTION: f64 = 0.05;

    /// Resolves against a pool size, validating the result.
    pub fn resolve(self, pool: usize) -> Result<usize> {
        let b = match self {
            Budget::Count(n) => n,
            Budget::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(Error::invalid(format!("--fraction {f} must be in (0, 1]")));
                }
                // Round up, tolerating representation error (0.05 * 1100 = 55.000000000000007).
                let x = f * pool as f64;
                let r = x.round();
                if (x - r).abs() < 1e-9 { r as usize } else { x.ceil() as usize }
            }
        };
        if pool == 0 {
            return Err(Error::invalid("the candidate pool is empty (after exclusions); check --candidates and --exclude"));
        }
        if b == 0 {
            return Err(Error::invalid("the budget is 0; pass --budget N with N >= 1"));
        }
        if b > pool {
            return Err(Error::invalid(format!(
                "the budget ({b}) is larger than the candidate pool ({pool} after exclusions); lower --budget or add candidates")));
        }
        Ok(b)
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::Fraction(Self::DEFAULT_FRACTION)
    }
}

/// Everything that determines a selection. Shared by the library and the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct SelectConfig {
    /// Method. Default [`Method::Graphreach`].
    pub method: Method,
    /// Budget. Default 5% of the pool rounded up.
    pub budget: Budget,
    /// Hops L of the balls. Default 1 (= GEARS's one GO-GNN layer).
    pub hops: u32,
    /// Hop direction. Default [`Direction::In`].
    pub direction: Direction,
    /// Seed of the Random method. Default 0.
    pub seed: u64,
    /// MaxSpec objective. Default min.
    pub objective: MaxSpecObjective,
    /// MaxSpec power iteration settings.
    pub power: PowerIterConfig,
    /// Ball representation. Default auto (by density).
    pub layout: BallLayout,
    /// Candidates re-evaluated per oracle call in lazy greedy (None = the backend's default).
    pub batch_width: Option<usize>,
}

impl SelectConfig {
    /// Default hops.
    pub const DEFAULT_HOPS: u32 = 1;
}

impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            method: Method::default(),
            budget: Budget::default(),
            hops: Self::DEFAULT_HOPS,
            direction: Direction::In,
            seed: 0,
            objective: MaxSpecObjective::default(),
            power: PowerIterConfig::default(),
            layout: BallLayout::Auto,
            batch_width: None,
        }
    }
}

/// One selected candidate.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Pick {
    /// 1-based rank (selection order).
    pub rank: usize,
    /// Gene (or `A+B`).
    pub gene: String,
    /// Node id (the smallest seed id for a multi-gene candidate).
    pub node_id: u32,
    /// Marginal coverage gain (nodes, or weight with node weights).
    pub gain: f64,
    /// Cumulative coverage after this pick.
    pub coverage: f64,
    /// Whether the gain was zero (the pick was decided by the tie-break rule alone).
    pub zero_gain: bool,
    /// MaxSpec: ρ of the reachable set after this pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// What a selection's candidates are (the JSON summary's `pool_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// A generic pool ([`Pool`]): genes, or GEARS conditions whose seed set is their genes.
    #[default]
    Genes,
    /// A pair pool ([`PairPool`]).
    Pairs,
}

/// Summary of a selection run (the JSON output's `summary`).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Method.
    pub method: &'static str,
    /// Graph name.
    pub graph: String,
    /// Graph nodes.
    pub graph_nodes: usize,
    /// Candidate pool size after exclusions (pairs, for a pair pool).
    pub pool_size: usize,
    /// What the candidates are: `genes` (one gene or one GEARS condition each) or `pairs` (a
    /// pair pool, [`PairPool`]: each candidate is two genes and its ball the union of both balls).
    pub pool_kind: PoolKind,
    /// Pair pools: the number of distinct genes the pairs are made of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_genes: Option<usize>,
    /// Budget.
    pub budget: usize,
    /// Hops.
    pub hops: u32,
    /// Direction.
    pub direction: &'static str,
    /// Final coverage (nodes or weight).
    pub coverage: f64,
    /// Final covered nodes / graph nodes (unweighted).
    pub coverage_fraction: f64,
    /// Picks with zero marginal gain.
    pub zero_gain_picks: usize,
    /// Rank of the first zero-gain pick, if any (coverage saturated there).
    pub saturated_at: Option<usize>,
    /// Backend name.
    pub backend: String,
    /// Seconds spent in ball construction and selection (graph loading excluded).
    pub wall_time_s: f64,
    /// Seconds spent building balls.
    pub balls_time_s: f64,
    /// Ball representation used.
    pub ball_layout: &'static str,
    /// Seed (Random).
    pub seed: u64,
    /// What the greedy search took (evaluations, batches; none for Random). For MaxSpec the
    /// evaluations are candidate scorings and saturation is never reported here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<greedy::GreedyStats>,
}

/// A finished selection.
#[derive(Clone, Debug, Serialize)]
pub struct Selection {
    /// Summary.
    pub summary: Summary,
    /// Picks in selection order.
    pub selection: Vec<Pick>,
}

/// Runs a selection of `pool` on `graph` with `backend`.
pub fn select(graph: &Graph, pool: &Pool, cfg: &SelectConfig, backend: &dyn Backend, weights: Option<&NodeWeights>) -> Result<Selection> {
    if let Some(s) = cfg.method.embedding_strategy() {
        return Err(Error::invalid(format!(
            "{} selects from model embeddings, not from a graph: use select::al::select_embeddings (CLI: --embeddings FILE)",
            s.as_str()
        )));
    }
    let budget = cfg.budget.resolve(pool.candidates.len())?;
    if cfg.method == Method::Maxspec {
        cfg.power.validate()?;
    }
    let t0 = Instant::now();
    let adj = graph.hop_adjacency(cfg.direction);
    let seeds = SetList::from_sets(pool.candidates.iter().map(|c| c.seeds.clone()));
    let balls = backend.balls(&adj, &seeds, cfg.hops, cfg.layout)?;
    let balls_time = t0.elapsed().as_secs_f64();
    let wfix = weights.map(|w| w.fixed.as_slice());
    let unit = weights.map(|w| w.unit).unwrap_or(1.0);

    // The picks and what the greedy search took.
    let (order, search): (Order, Option<greedy::GreedyStats>) = match cfg.method {
        Method::Graphreach => {
            let mut oracle = backend.coverage(&balls, wfix)?;
            let width = cfg.batch_width.unwrap_or_else(|| backend.default_batch_width());
            let r = greedy::lazy_greedy(oracle.as_mut(), balls.len(), budget, width)?;
            (r.picks.iter().map(|p| (p.candidate, p.gain, None)).collect(), Some(r.stats))
        }
        Method::NaiveGreedy => {
            let mut oracle = backend.coverage(&balls, wfix)?;
            let r = greedy::naive_greedy(oracle.as_mut(), balls.len(), budget)?;
            (r.picks.iter().map(|p| (p.candidate, p.gain, None)).collect(), Some(r.stats))
        }
        Method::Random => {
            let mut oracle = backend.coverage(&balls, wfix)?;
            let idx = random::sample_without_replacement(balls.len(), budget, cfg.seed);
            let mut v = Vec::with_capacity(idx.len());
            for c in idx {
                v.push((c, oracle.commit(c)?, None));
            }
            (v, None)
        }
        Method::Typiclust | Method::AcsFw => unreachable!("embedding methods return above"),
        Method::Maxspec => {
            let op = SpectralOperator::from_hop_adjacency(&adj);
            let r = maxspec::maxspec(backend, &op, &balls, budget, cfg.objective, &cfg.power)?;
            let mut oracle = backend.coverage(&balls, wfix)?;
            let mut v = Vec::with_capacity(r.picks.len());
            for p in &r.picks {
                v.push((p.candidate, oracle.commit(p.candidate)?, Some(p.score)));
            }
            (v, Some(r.stats))
        }
    };
    let layout = match balls {
        sets::BallSet::Sparse { .. } => "sparse",
        sets::BallSet::Dense { .. } => "dense",
    };
    let run = Run { graph, cfg, pool_size: pool.candidates.len(), pool_kind: PoolKind::Genes, pool_genes: None, budget, backend, t0, balls_time, layout, unit };
    Ok(run.finish(order, search, |c, covered| {
        for m in balls.members(c as usize) {
            covered.insert(m);
        }
        let cand = &pool.candidates[c as usize];
        (cand.label.clone(), cand.seeds[0])
    }))
}

/// (candidate, gain in oracle units, score) per pick, in selection order.
type Order = Vec<(u32, u64, Option<f64>)>;

/// What a selection run knows besides its picks, to write its [`Selection`].
struct Run<'a> {
    graph: &'a Graph,
    cfg: &'a SelectConfig,
    pool_size: usize,
    pool_kind: PoolKind,
    pool_genes: Option<usize>,
    budget: usize,
    backend: &'a dyn Backend,
    t0: Instant,
    balls_time: f64,
    layout: &'static str,
    unit: f64,
}

impl Run<'_> {
    /// The selection of `order`: `describe(c, covered)` adds candidate `c`'s ball to `covered`
    /// and returns its label and node id.
    fn finish(self, order: Order, search: Option<greedy::GreedyStats>, mut describe: impl FnMut(u32, &mut sets::Bitset) -> (String, u32)) -> Selection {
        let (graph, unit) = (self.graph, self.unit);
        // Unweighted coverage for the summary fraction.
        let mut covered = sets::Bitset::new(graph.n_nodes());
        let mut cum = 0u64;
        let mut picks = Vec::with_capacity(order.len());
        for (rank, (c, g, score)) in order.into_iter().enumerate() {
            let (gene, node_id) = describe(c, &mut covered);
            cum += g;
            picks.push(Pick {
                rank: rank + 1,
                gene,
                node_id,
                gain: g as f64 * unit,
                coverage: cum as f64 * unit,
                zero_gain: g == 0,
                score,
            });
        }
        let wall = self.t0.elapsed().as_secs_f64();
        let zero = picks.iter().filter(|p| p.zero_gain).count();
        Selection {
            summary: Summary {
                method: self.cfg.method.as_str(),
                graph: graph.name.clone(),
                graph_nodes: graph.n_nodes(),
                pool_size: self.pool_size,
                pool_kind: self.pool_kind,
                pool_genes: self.pool_genes,
                budget: self.budget,
                hops: self.cfg.hops,
                direction: self.cfg.direction.as_str(),
                coverage: cum as f64 * unit,
                coverage_fraction: if graph.n_nodes() == 0 { 0.0 } else { covered.count() as f64 / graph.n_nodes() as f64 },
                zero_gain_picks: zero,
                saturated_at: picks.iter().find(|p| p.zero_gain).map(|p| p.rank),
                backend: self.backend.name().to_string(),
                wall_time_s: wall,
                balls_time_s: self.balls_time,
                ball_layout: self.layout,
                seed: self.cfg.seed,
                search,
            },
            selection: picks,
        }
    }
}

impl Selection {
    /// The selection as TSV: header `rank gene node_id gain coverage zero_gain score`.
    /// `score` is ρ for MaxSpec and `NA` otherwise.
    pub fn to_tsv(&self) -> String {
        let mut s = String::from("rank\tgene\tnode_id\tgain\tcoverage\tzero_gain\tscore\n");
        for p in &self.selection {
            let score = p.score.map(|x| format!("{x:.9}")).unwrap_or_else(|| "NA".into());
            s.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                p.rank,
                p.gene,
                p.node_id,
                fmt_num(p.gain),
                fmt_num(p.coverage),
                p.zero_gain,
                score
            ));
        }
        s
    }

    /// The selection as pretty JSON with the summary.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("selection serialises") + "\n"
    }
}

/// Integers without a decimal point, other values with up to 6 decimals.
fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.6}")
    }
}
