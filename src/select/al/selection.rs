//! The output of an embedding-based selection: the same TSV columns as the graph methods
//! (`rank gene node_id gain coverage zero_gain score`, with `NA` where a column has no meaning
//! without a graph; `score` = typicality or Frank-Wolfe score) and a JSON summary.

use super::problem::AlProblem;
use super::AlConfig;
use serde::Serialize;

/// Seconds per phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AlTimings {
    /// PCA (0 when it did not run).
    pub pca_s: f64,
    /// k-means++ initialisation (TypiClust).
    pub kmeans_init_s: f64,
    /// Lloyd iterations (TypiClust).
    pub kmeans_lloyd_s: f64,
    /// Typicality round-robin (TypiClust).
    pub typicality_s: f64,
    /// Scale, Cholesky and random features (ACS-FW).
    pub features_s: f64,
    /// Frank-Wolfe loop (ACS-FW).
    pub frank_wolfe_s: f64,
    /// Everything after the embeddings were read and matched.
    pub total_s: f64,
}

/// Strategy-specific facts for the summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StrategyInfo {
    /// k-means clusters (TypiClust: |L| + budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusters: Option<usize>,
    /// Lloyd iterations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kmeans_iterations: Option<usize>,
    /// Whether Lloyd stopped because no label changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kmeans_strict_convergence: Option<bool>,
    /// k-means inertia.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kmeans_inertia: Option<f64>,
    /// ACS-FW scale s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// ACS-FW Cholesky jitter retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cholesky_jitter_retries: Option<usize>,
    /// ACS-FW picks filled at random after Frank-Wolfe broke down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filled_at_random: Option<usize>,
}

/// Summary of an embedding-based selection (the JSON output's `summary`).
#[derive(Clone, Debug, Serialize)]
pub struct AlSummary {
    /// `typiclust` or `acs-fw`.
    pub method: &'static str,
    /// Embeddings file.
    pub embeddings: String,
    /// Embeddings kind (metadata), if known.
    pub embedding_kind: Option<String>,
    /// Labelled points.
    pub labelled: usize,
    /// Unlabelled candidate pool size.
    pub pool_size: usize,
    /// Budget.
    pub budget: usize,
    /// Seed.
    pub seed: u64,
    /// Embedding dimension as read.
    pub input_dim: usize,
    /// Dimension the strategy worked in (after PCA).
    pub working_dim: usize,
    /// PCA components (None when PCA did not run).
    pub pca_components: Option<usize>,
    /// Fraction of the variance the PCA components explain.
    pub pca_explained_ratio: Option<f64>,
    /// PCA solver used.
    pub pca_solver: Option<&'static str>,
    /// Strategy-specific facts.
    #[serde(flatten)]
    pub info: StrategyInfo,
    /// Seconds per phase.
    pub timings: AlTimings,
}

/// One pick.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlPick {
    /// 1-based rank (selection order).
    pub rank: usize,
    /// Perturbation (as written in the embeddings).
    pub gene: String,
    /// Typicality (TypiClust) or Frank-Wolfe score (ACS-FW); None when the pick had no score
    /// (a cluster's only available point; a random fill-up).
    pub score: Option<f64>,
    /// TypiClust: the pick's cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u32>,
}

/// A finished embedding-based selection.
#[derive(Clone, Debug, Serialize)]
pub struct AlSelection {
    /// Summary.
    pub summary: AlSummary,
    /// Picks in order.
    pub selection: Vec<AlPick>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    problem: &AlProblem,
    cfg: &AlConfig,
    budget: usize,
    working_dim: usize,
    pca: Option<(usize, f64, &'static str)>,
    info: StrategyInfo,
    timings: AlTimings,
    picks: Vec<(usize, Option<f64>, Option<u32>)>,
) -> AlSelection {
    let selection = picks
        .into_iter()
        .enumerate()
        .map(|(r, (p, score, cluster))| AlPick { rank: r + 1, gene: problem.names[p].clone(), score, cluster })
        .collect();
    AlSelection {
        summary: AlSummary {
            method: cfg.strategy.as_str(),
            embeddings: problem.embeddings_source.clone(),
            embedding_kind: problem.kind.clone(),
            labelled: problem.labelled.len(),
            pool_size: problem.pool.len(),
            budget,
            seed: cfg.seed,
            input_dim: problem.x.cols,
            working_dim,
            pca_components: pca.map(|p| p.0),
            pca_explained_ratio: pca.map(|p| p.1),
            pca_solver: pca.map(|p| p.2),
            info,
            timings,
        },
        selection,
    }
}

impl AlSelection {
    /// The selection as TSV with the graph methods' header
    /// `rank gene node_id gain coverage zero_gain score`; the graph columns are `NA`.
    pub fn to_tsv(&self) -> String {
        let mut s = String::from("rank\tgene\tnode_id\tgain\tcoverage\tzero_gain\tscore\n");
        for p in &self.selection {
            let score = p.score.filter(|x| x.is_finite()).map(|x| format!("{x}")).unwrap_or_else(|| "NA".into());
            s.push_str(&format!("{}\t{}\tNA\tNA\tNA\tNA\t{}\n", p.rank, p.gene, score));
        }
        s
    }

    /// The selection as pretty JSON with the summary.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("selection serialises") + "\n"
    }

    /// The picked names in order.
    pub fn genes(&self) -> Vec<&str> {
        self.selection.iter().map(|p| p.gene.as_str()).collect()
    }
}
