//! The evaluation report written as `metrics.json`: the model's and the baselines' mean metrics
//! over the test perturbations, a per-perturbation table (also as TSV) and, for doubles, the
//! means per GEARS category (combo_seen0/1/2, unseen_single; also as TSV).

use super::baselines::{mean_baseline, LinearBaseline};
use super::metrics::{pert_metrics, summarise, MetricSummary, PertMetrics};
use crate::data::categories::{Category, CategoryTable};
use crate::error::{preview_list, Error, Result};
use crate::gears::net::model::GearsModel;
use crate::gears::train::fit::TrainContext;
use serde::{Deserialize, Serialize};

/// Mean metrics of the three baselines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineSummaries {
    /// Control mean as the prediction.
    pub no_change: MetricSummary,
    /// Mean of the training perturbations.
    pub mean: MetricSummary,
    /// Kernel ridge on GO neighbourhood features.
    pub linear: MetricSummary,
}

/// One test perturbation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerturbationRow {
    /// Condition name.
    pub perturbation: String,
    /// Its number of cells.
    pub n_cells: usize,
    /// GEARS.
    pub model: PertMetrics,
    /// No-change baseline.
    pub no_change: PertMetrics,
    /// Mean baseline.
    pub mean: PertMetrics,
    /// Linear baseline.
    pub linear: PertMetrics,
    /// Its GEARS category (combo_seen0/1/2, unseen_single, seen_single), when the report has categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
}

/// The model's and the baselines' means over the test perturbations of one category, as GEARS
/// reports its `test_{category}_{metric}` values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategorySummary {
    /// The category.
    pub category: Category,
    /// GEARS.
    pub model: MetricSummary,
    /// The baselines.
    pub baselines: BaselineSummaries,
}

/// `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// GEARS means over test perturbations.
    pub model: MetricSummary,
    /// Baseline means.
    pub baselines: BaselineSummaries,
    /// Per test perturbation.
    pub per_perturbation: Vec<PerturbationRow>,
    /// Where the categories came from: a category file, or `training genes` (a perturbation's
    /// genes counted as seen when a training or validation perturbation has them). Absent when
    /// the report has no categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_source: Option<String>,
    /// Per category (in [`Category::ALL`] order, those with test perturbations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_category: Vec<CategorySummary>,
}

/// Evaluates `model` and the baselines on the test conditions (ctrl is skipped). A model whose
/// predictions are not finite (NaN or infinite weights, a diverged run) is an
/// [`Error::Computation`]: its metrics would be meaningless. When a test perturbation is a double,
/// the report has per-category metrics with categories from the training genes (see
/// [`build_report_with`]).
pub fn build_report(ctx: &TrainContext, model: &GearsModel<f32>, test: &[u32]) -> Result<Report> {
    build_report_with(ctx, model, test, None)
}

/// The categories of the test conditions from the training and validation conditions' genes
/// (GEARS's rule: a gene is seen when it was drawn for training).
pub fn categories_from_training(ctx: &TrainContext, test: &[u32]) -> CategoryTable {
    let seen: std::collections::HashSet<&str> =
        ctx.train_conds.iter().chain(&ctx.val_conds).flat_map(|&c| ctx.data.condition_genes(c as usize)).collect();
    let pairs = test.iter().filter_map(|&c| {
        let name = &ctx.data.conditions[c as usize];
        Category::of(name, &|g| seen.contains(g)).map(|k| (name.clone(), k))
    });
    CategoryTable::from_pairs("training genes", pairs)
}

/// [`build_report`] with per-category metrics from `categories` (every test perturbation must
/// have one: a missing one is an error naming them). Without a table, categories come from
/// [`categories_from_training`] when a test perturbation is a double, and are left out otherwise.
pub fn build_report_with(ctx: &TrainContext, model: &GearsModel<f32>, test: &[u32], categories: Option<&CategoryTable>) -> Result<Report> {
    let test: Vec<u32> = test.iter().copied().filter(|&c| c != 0).collect();
    let m = &ctx.means;
    let train_perts: Vec<u32> = ctx.train_conds.iter().copied().filter(|&c| c != 0).collect();
    let train_means: Vec<&[f64]> = train_perts.iter().map(|&c| m.truth[c as usize].as_slice()).collect();
    let mean_pred = mean_baseline(&train_means, &m.ctrl);
    let empty = Vec::new();
    let lin_train: Vec<(&[u32], &[f64])> =
        train_perts.iter().map(|&c| (ctx.cond_nodes.get(&c).unwrap_or(&empty).as_slice(), m.truth[c as usize].as_slice())).collect();
    let linear = LinearBaseline::fit(&ctx.go, &lin_train, &m.ctrl);
    let preds = ctx.predict_means(model, &test);
    let bad: Vec<&str> =
        test.iter().zip(&preds).filter(|(_, p)| p.iter().any(|v| !v.is_finite())).map(|(&c, _)| ctx.data.conditions[c as usize].as_str()).collect();
    if !bad.is_empty() {
        return Err(Error::computation(format!(
            "the model predicts non-finite values (NaN or infinity) for {} of {} perturbation(s) ({}), so it cannot be evaluated: its weights are not finite (a diverged or corrupted model); train it again, for example with a lower --lr",
            bad.len(),
            test.len(),
            preview_list(&bad)
        )));
    }
    let rows: Vec<PerturbationRow> = test
        .iter()
        .zip(&preds)
        .map(|(&c, p)| {
            let (truth, de) = (&m.truth[c as usize], &ctx.data.de[c as usize]);
            let lin = linear.predict(&ctx.go, ctx.cond_nodes.get(&c).unwrap_or(&empty));
            PerturbationRow {
                perturbation: ctx.data.conditions[c as usize].clone(),
                n_cells: m.cells[c as usize].len(),
                model: pert_metrics(p, truth, &m.ctrl, de),
                no_change: pert_metrics(&m.ctrl, truth, &m.ctrl, de),
                mean: pert_metrics(&mean_pred, truth, &m.ctrl, de),
                linear: pert_metrics(&lin, truth, &m.ctrl, de),
                category: None,
            }
        })
        .collect();
    let derived;
    let table = match categories {
        Some(t) => Some(t),
        None if test.iter().any(|&c| ctx.data.condition_genes(c as usize).len() == 2) => {
            derived = categories_from_training(ctx, &test);
            Some(&derived)
        }
        None => None,
    };
    let mut rows = rows;
    if let Some(t) = table {
        let missing: Vec<&str> = rows.iter().filter(|r| t.get(&r.perturbation).is_none()).map(|r| r.perturbation.as_str()).collect();
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no category for {} test perturbation(s) ({}); pass the categories.tsv of the split the test list came from",
                t.source,
                missing.len(),
                preview_list(&missing)
            )));
        }
        for r in rows.iter_mut() {
            r.category = t.get(&r.perturbation);
        }
    }
    let summaries = |rows: &[&PerturbationRow]| -> (MetricSummary, BaselineSummaries) {
        let col = |f: fn(&PerturbationRow) -> &PertMetrics| summarise(&rows.iter().map(|r| f(r).clone()).collect::<Vec<_>>());
        (col(|r| &r.model), BaselineSummaries { no_change: col(|r| &r.no_change), mean: col(|r| &r.mean), linear: col(|r| &r.linear) })
    };
    let per_category = match table {
        None => Vec::new(),
        Some(_) => Category::ALL
            .iter()
            .filter_map(|&c| {
                let mine: Vec<&PerturbationRow> = rows.iter().filter(|r| r.category == Some(c)).collect();
                (!mine.is_empty()).then(|| {
                    let (model, baselines) = summaries(&mine);
                    CategorySummary { category: c, model, baselines }
                })
            })
            .collect(),
    };
    let (model, baselines) = summaries(&rows.iter().collect::<Vec<_>>());
    Ok(Report { model, baselines, per_perturbation: rows, category_source: table.map(|t| t.source.clone()), per_category })
}

impl Report {
    /// The per-perturbation table as TSV (one row per perturbation and predictor).
    pub fn to_tsv(&self) -> String {
        let mut s = String::from(
            "perturbation\tn_cells\tpredictor\tmse_de\tmse_top20_de_non_dropout\tpearson_delta\tpearson_delta_de\tfrac_opposite_direction_top20_non_dropout\tmse\n",
        );
        for r in &self.per_perturbation {
            for (name, m) in [("gears", &r.model), ("no_change", &r.no_change), ("mean", &r.mean), ("linear", &r.linear)] {
                s.push_str(&format!(
                    "{}\t{}\t{name}\t{:.6}\t{:.6}\t{:.6}\t{:.6}\t{:.4}\t{:.6}\n",
                    r.perturbation,
                    r.n_cells,
                    m.mse_de,
                    m.mse_top20_de_non_dropout,
                    m.pearson_delta,
                    m.pearson_delta_de,
                    m.frac_opposite_direction_top20_non_dropout,
                    m.mse
                ));
            }
        }
        s
    }

    /// The per-category section as TSV (one row per category and predictor; GEARS's metrics
    /// `mse`, `pearson`, `mse_de`, `pearson_de` first). Only the header when there are no categories.
    pub fn categories_tsv(&self) -> String {
        let mut s = String::from("category\tn_perturbations\tpredictor\tmse\tpearson\tmse_de\tpearson_de\tpearson_delta\tpearson_delta_de\tmse_top20_de_non_dropout\n");
        for c in &self.per_category {
            let b = &c.baselines;
            for (name, m) in [("gears", &c.model), ("no_change", &b.no_change), ("mean", &b.mean), ("linear", &b.linear)] {
                s.push_str(&format!(
                    "{}\t{}\t{name}\t{:.6}\t{:.6}\t{:.6}\t{:.6}\t{:.6}\t{:.6}\t{:.6}\n",
                    c.category.name(),
                    m.n_perturbations,
                    m.mse,
                    m.pearson,
                    m.mse_de,
                    m.pearson_de,
                    m.pearson_delta,
                    m.pearson_delta_de,
                    m.mse_top20_de_non_dropout
                ));
            }
        }
        s
    }

    /// A short human summary: GEARS next to the baselines, flagging a model that loses to the mean baseline.
    pub fn summary_text(&self) -> String {
        let line = |n: &str, m: &MetricSummary| {
            format!("{n:<10} mse_de {:.5}  mse_top20_de_non_dropout {:.5}  pearson_delta {:.4}  pearson_delta_de {:.4}\n", m.mse_de, m.mse_top20_de_non_dropout, m.pearson_delta, m.pearson_delta_de)
        };
        let mut s = format!("test perturbations: {}\n", self.model.n_perturbations);
        s += &line("gears", &self.model);
        s += &line("no_change", &self.baselines.no_change);
        s += &line("mean", &self.baselines.mean);
        s += &line("linear", &self.baselines.linear);
        for c in &self.per_category {
            s += &format!(
                "{:<14} n {:>3}  gears mse_de {:.5} pearson_delta {:.4} | mean mse_de {:.5} | no_change mse_de {:.5}\n",
                c.category.name(),
                c.model.n_perturbations,
                c.model.mse_de,
                c.model.pearson_delta,
                c.baselines.mean.mse_de,
                c.baselines.no_change.mse_de
            );
        }
        if self.model.mse_de > self.baselines.mean.mse_de {
            s += "warning: GEARS has a higher mse_de than the mean-of-training-perturbations baseline\n";
        }
        s
    }
}
