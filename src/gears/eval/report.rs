//! The evaluation report written as `metrics.json`: the model's and the baselines' mean metrics
//! over the test perturbations and a per-perturbation table (also as TSV).

use super::baselines::{mean_baseline, LinearBaseline};
use super::metrics::{pert_metrics, summarise, MetricSummary, PertMetrics};
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
}

/// Evaluates `model` and the baselines on the test conditions (ctrl is skipped).
pub fn build_report(ctx: &TrainContext, model: &GearsModel<f32>, test: &[u32]) -> Report {
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
            }
        })
        .collect();
    let col = |f: fn(&PerturbationRow) -> &PertMetrics| summarise(&rows.iter().map(|r| f(r).clone()).collect::<Vec<_>>());
    Report {
        model: col(|r| &r.model),
        baselines: BaselineSummaries { no_change: col(|r| &r.no_change), mean: col(|r| &r.mean), linear: col(|r| &r.linear) },
        per_perturbation: rows,
    }
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
        if self.model.mse_de > self.baselines.mean.mse_de {
            s += "warning: GEARS has a higher mse_de than the mean-of-training-perturbations baseline\n";
        }
        s
    }
}
