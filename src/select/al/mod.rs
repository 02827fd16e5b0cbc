//! Active-learning baselines as one-shot selection methods over model embeddings: TypiClust and
//! ACS-FW as IterPert runs them (spec §8), seeded and deterministic.
//!
//! * [`embeddings`]: the embeddings TSV (`perturbation d0 d1 ...`) and its reader.
//! * [`pca`], [`kmeans`]: centred PCA and seeded k-means++ / Lloyd, written here (no ML crate).
//! * [`typiclust`], [`acsfw`]: the two strategies on plain matrices.
//! * [`problem`]: matching the labelled and candidate lists to embedding rows.
//!
//! [`select_embeddings`] runs the whole pipeline: points = labelled + candidates in byte-wise
//! order of their names (the order IterPert's `groupby` gives), PCA to at most 100 components
//! when the embedding's dimension exceeds 10,000, then the strategy. [`select_embeddings_with`]
//! takes given k-means centres / Gaussian draws instead of seeded ones (reference parity tests).

pub mod acsfw;
pub mod embeddings;
pub mod kmeans;
pub mod mat;
pub mod pca;
pub mod problem;
mod selection;
pub mod typiclust;

pub use embeddings::{read_embeddings, Embeddings};
pub use problem::{AlProblem, NamedList};
pub use selection::{AlPick, AlSelection, AlSummary, AlTimings};

use crate::error::{Error, Result};
use crate::rng::mix;
use acsfw::{AcsFwConfig, Draws};
use kmeans::{KMeansConfig, KMeansInit};
use mat::Mat;
use pca::PcaConfig;
use serde::Serialize;
use std::time::Instant;

/// An embedding-based strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// TypiClust (IterPert variant, spec §8.3).
    Typiclust,
    /// ACS-FW: acs-rf random features + Frank-Wolfe (spec §8.4).
    AcsFw,
}

impl Strategy {
    /// Name as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Typiclust => "typiclust",
            Strategy::AcsFw => "acs-fw",
        }
    }

    /// The embedding kind the strategy reads by default (`graphreach embed --kind`):
    /// TypiClust `mean-expression` (IterPert's paper scripts use `linear_fix_ctrl`, the predicted
    /// mean expression; the packaged API meant to as well, but that branch is unreachable there),
    /// ACS-FW `cross-gene` (the kernel baselines use `cross_gene_out` in both the API and the
    /// scripts). See spec §8.2 and §13 item 6.
    pub fn default_embedding_kind(self) -> &'static str {
        match self {
            Strategy::Typiclust => "mean-expression",
            Strategy::AcsFw => "cross-gene",
        }
    }
}

/// Everything that determines an embedding-based selection. Shared by the library and the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct AlConfig {
    /// Strategy.
    pub strategy: Strategy,
    /// Budget (picks from the unlabelled pool).
    pub budget: crate::select::Budget,
    /// Seed of k-means++, the Gaussian draws and the random fill-up. Default 0.
    pub seed: u64,
    /// PCA rule.
    pub pca: PcaConfig,
    /// k-means settings (TypiClust).
    pub kmeans: KMeansConfig,
    /// ACS-FW settings.
    pub acs: AcsFwConfig,
}

impl AlConfig {
    /// Defaults for `strategy`.
    pub fn new(strategy: Strategy, budget: crate::select::Budget) -> Self {
        AlConfig { strategy, budget, seed: 0, pca: PcaConfig::default(), kmeans: KMeansConfig::default(), acs: AcsFwConfig::default() }
    }
}

/// Given inputs that replace the seeded ones (for parity with a reference run).
#[derive(Clone, Copy, Debug, Default)]
pub struct Injected<'a> {
    /// Initial k-means centres (k x dim after PCA), used instead of seeded k-means++.
    pub centres: Option<&'a Mat>,
    /// Initial k-means centres given as points (indices into [`AlProblem::names`]); their
    /// working-space rows (after PCA) are the centres. Ignored when `centres` is given.
    pub centre_points: Option<&'a [usize]>,
    /// Standard normal draws (dim after PCA x F), used instead of SplitMix64 draws.
    pub draws: Option<&'a Mat>,
}

/// Independent SplitMix64 streams derived from the one seed.
pub mod streams {
    /// k-means++.
    pub const KMEANS: u64 = 0x4b4d_4541_4e53_2b2b;
    /// ACS-FW Gaussian draws.
    pub const DRAWS: u64 = 0x4143_5346_5744_5241;
    /// ACS-FW random fill-up.
    pub const FILL: u64 = 0x4649_4c4c_5550_2121;
    /// PCA subspace iteration start.
    pub const PCA: u64 = 0x5043_415f_5354_4152;
}

/// The seed of stream `tag` for the user's `seed`.
pub fn stream_seed(seed: u64, tag: u64) -> u64 {
    mix(seed ^ tag)
}

/// Runs the selection with seeded randomness.
pub fn select_embeddings(problem: &AlProblem, cfg: &AlConfig) -> Result<AlSelection> {
    select_embeddings_with(problem, cfg, Injected::default())
}

/// Runs the selection; `inj` replaces the seeded k-means++ centres and/or Gaussian draws.
pub fn select_embeddings_with(problem: &AlProblem, cfg: &AlConfig, inj: Injected<'_>) -> Result<AlSelection> {
    let t0 = Instant::now();
    let pool = problem.pool.len();
    let budget = resolve_budget(cfg.budget, pool, problem)?;
    let mut timings = AlTimings::default();
    let mut x = problem.x.clone();
    let mut pca_info = None;
    if cfg.pca.applies(problem.rule_dim) {
        let m = x.rows.min(x.cols).min(cfg.pca.max_components);
        let t = Instant::now();
        let p = pca::pca(&x, m, cfg.pca.exact_max, stream_seed(cfg.seed, streams::PCA))?;
        timings.pca_s = t.elapsed().as_secs_f64();
        pca_info = Some((m, p.explained_ratio, p.solver));
        x = p.scores;
    }
    let mut picks: Vec<(usize, Option<f64>, Option<u32>)> = Vec::with_capacity(budget);
    let mut summary_extra = selection::StrategyInfo::default();
    match cfg.strategy {
        Strategy::Typiclust => {
            let from_points = match (inj.centres, inj.centre_points) {
                (None, Some(p)) => {
                    if let Some(&bad) = p.iter().find(|&&i| i >= x.rows) {
                        return Err(Error::invalid(format!("initial centre point {bad} is not one of the {} points", x.rows)));
                    }
                    Some(x.select_rows(p))
                }
                _ => None,
            };
            let init = match (inj.centres, &from_points) {
                (Some(c), _) => KMeansInit::Centres(c),
                (None, Some(c)) => KMeansInit::Centres(c),
                (None, None) => KMeansInit::PlusPlus { seed: stream_seed(cfg.seed, streams::KMEANS) },
            };
            let out = typiclust::typiclust(&x, &problem.labelled, &problem.pool, budget, init, &cfg.kmeans)?;
            timings.kmeans_init_s = out.kmeans.init_s;
            timings.kmeans_lloyd_s = out.kmeans.lloyd_s;
            timings.typicality_s = out.typicality_s;
            summary_extra.clusters = Some(problem.labelled.len() + budget);
            summary_extra.kmeans_iterations = Some(out.kmeans.iterations);
            summary_extra.kmeans_strict_convergence = Some(out.kmeans.strict_convergence);
            summary_extra.kmeans_inertia = Some(out.kmeans.inertia);
            picks.extend(out.picks.iter().map(|p| (p.point, p.typicality, Some(p.cluster))));
        }
        Strategy::AcsFw => {
            let xt = x.select_rows(&problem.labelled);
            let xp = x.select_rows(&problem.pool);
            let draws = match inj.draws {
                Some(e) => Draws::Given(e),
                None => Draws::Seeded(stream_seed(cfg.seed, streams::DRAWS)),
            };
            let out = acsfw::acs_fw(&xt, &xp, budget, draws, &cfg.acs, stream_seed(cfg.seed, streams::FILL))?;
            timings.features_s = out.features_s;
            timings.frank_wolfe_s = out.frank_wolfe_s;
            summary_extra.scale = Some(out.scale);
            summary_extra.cholesky_jitter_retries = Some(out.jitter_retries);
            summary_extra.filled_at_random = Some(out.filled_at_random);
            picks.extend(out.picks.iter().map(|&(i, s)| (problem.pool[i], s, None)));
        }
    }
    timings.total_s = t0.elapsed().as_secs_f64();
    Ok(selection::build(problem, cfg, budget, x.cols, pca_info, summary_extra, timings, picks))
}

fn resolve_budget(b: crate::select::Budget, pool: usize, problem: &AlProblem) -> Result<usize> {
    if pool == 0 {
        return Err(Error::invalid(format!(
            "the unlabelled candidate pool is empty: every candidate is labelled, excluded or missing from {}; add candidates",
            problem.embeddings_source
        )));
    }
    let n = match b {
        crate::select::Budget::Count(n) => n,
        other => other.resolve(pool)?,
    };
    if n == 0 {
        return Err(Error::invalid("the budget is 0; pass --budget N with N >= 1"));
    }
    if n > pool {
        return Err(Error::invalid(format!(
            "the budget ({n}) is larger than the unlabelled candidate pool ({pool} candidates not in the labelled set); lower --budget or add candidates"
        )));
    }
    Ok(n)
}
