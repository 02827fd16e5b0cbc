//! One active-learning query (spec §7): embed the labelled and unlabelled perturbations with the
//! previous cycle's model (eval mode), then let TypiClust or ACS-FW pick the next batch from the
//! unlabelled pool.

use super::config::{Study, StudyMethod};
use crate::backend::BackendChoice;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::rng::mix;
use crate::select::al::problem::{build_problem, NamedList};
use crate::select::al::{select_embeddings, AlConfig, Embeddings, Strategy};
use crate::select::Budget;
use std::path::Path;
use std::time::Instant;

/// Stream tag of the per-cycle strategy seed.
const AL_TAG: u64 = 0x414c_5f43_5943_4c45;

/// What a query picked, in order, with its scores and timings.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// (perturbation, score) in pick order.
    pub picks: Vec<(String, Option<f64>)>,
    /// Seconds spent embedding.
    pub embed_seconds: f64,
    /// Seconds spent selecting.
    pub select_seconds: f64,
    /// The embedding kind used.
    pub kind: &'static str,
}

/// The strategy and embedding kind of an active-learning method after its first cycle.
pub fn strategy_of(study: &Study, method: StudyMethod) -> (Strategy, &'static str) {
    match method {
        StudyMethod::AcsFw => (Strategy::AcsFw, study.embed.acs_fw),
        _ => (Strategy::Typiclust, study.embed.typiclust),
    }
}

/// The strategy seed of cycle `cycle` for experiment seed `seed`.
pub fn cycle_seed(seed: u64, cycle: usize) -> u64 {
    mix(seed ^ AL_TAG ^ mix(cycle as u64))
}

/// Embeddings of `names` by the model at `model` (a training run's `model.safetensors`), in the
/// form the strategies read: `cross-gene` rows carry IterPert's reference dimension G (h + 1), so
/// the PCA rule (more than 10,000 dimensions) applies as it does there.
pub fn embed_points(model: &Path, data: &Dataset, names: &[String], kind: &str, backend: BackendChoice) -> Result<Embeddings> {
    use crate::gears::eval::embed::{embed, EmbedKind, EmbedOptions};
    let mf = crate::gears::train::checkpoint::load_model(model)?;
    let kind = match kind {
        "cross-gene" => EmbedKind::CrossGene,
        _ => EmbedKind::MeanExpression,
    };
    let list = crate::graph::names::NameList { source: format!("the perturbations to embed with {}", model.display()), names: names.iter().cloned().enumerate().map(|(i, n)| (i + 1, n)).collect() };
    let out = embed(&mf, data, &list, &EmbedOptions { kind, backend, skip_missing: false })?;
    let e = out.embeddings;
    let (n, dim) = (e.len(), e.dim);
    let mut t = Embeddings::from_parts(&format!("embeddings of {}", model.display()), e.names, crate::select::al::mat::Mat::from_vec(n, dim, e.values))?;
    t.kind = Some(kind.name().to_string());
    let (g, h) = (mf.model.n_genes, mf.model.hidden);
    t.reference_dim = Some(match kind {
        EmbedKind::CrossGene => g * (h + 1),
        EmbedKind::MeanExpression => g,
    });
    Ok(t)
}

/// Queries `batch` perturbations from `pool` (unlabelled) given the `labelled` ones, with the
/// model of the previous cycle.
#[allow(clippy::too_many_arguments)]
pub fn query(study: &Study, method: StudyMethod, model: &Path, data: &Dataset, labelled: &[String], pool: &[String], batch: usize, seed: u64, cycle: usize) -> Result<Query> {
    let (strategy, kind) = strategy_of(study, method);
    let t0 = Instant::now();
    let names: Vec<String> = labelled.iter().chain(pool).cloned().collect();
    let emb = embed_points(model, data, &names, kind, study.train_backend)?;
    let embed_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let lab: Vec<(usize, String)> = labelled.iter().cloned().enumerate().map(|(i, n)| (i + 1, n)).collect();
    let cand: Vec<(usize, String)> = pool.iter().cloned().enumerate().map(|(i, n)| (i + 1, n)).collect();
    let problem = build_problem(
        &emb,
        Some(NamedList { source: "the labelled perturbations", names: &lab }),
        Some(NamedList { source: "the unlabelled pool", names: &cand }),
        None,
        false,
    )?;
    let mut cfg = AlConfig::new(strategy, Budget::Count(batch));
    cfg.seed = cycle_seed(seed, cycle);
    let sel = select_embeddings(&problem, &cfg)?;
    // Map the embedding's row names back to the pool's names.
    let key = |n: &str| crate::select::al::embeddings::perturbation_key(n);
    let by_key: std::collections::HashMap<String, &String> = pool.iter().map(|p| (key(p), p)).collect();
    let picks = sel
        .selection
        .iter()
        .map(|p| by_key.get(&key(&p.gene)).map(|n| ((*n).clone(), p.score)).ok_or_else(|| Error::invalid(format!("{} picked {} outside the pool", strategy.as_str(), p.gene))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Query { picks, embed_seconds, select_seconds: t1.elapsed().as_secs_f64(), kind })
}
