//! Predictions of a trained model: δ(p) with one eval-mode forward per distinct perturbation, the
//! predicted mean expression under the configured evaluation mode, and per-perturbation metrics.

use super::metrics::{pert_metrics, PertMetrics};
use crate::gears::net::model::{ForwardInput, GearsModel, Group, Variant};
use crate::gears::train::fit::TrainContext;
use crate::gears::EvalMode;

/// Conditions predicted per eval-mode forward.
const EVAL_CHUNK: usize = 16;

impl TrainContext<'_> {
    /// Eval-mode δ(p) for each condition: one forward per distinct perturbation. With the
    /// positional quirk, the unpropagated variant is used (what all but the first cell of every
    /// GEARS batch see).
    pub fn predict_deltas(&self, model: &GearsModel<f32>, conds: &[u32]) -> Vec<Vec<f64>> {
        let variant = Variant { propagate: !self.cfg.pos_quirk, weight: 1.0 };
        let mut out = Vec::with_capacity(conds.len());
        for chunk in conds.chunks(EVAL_CHUNK) {
            let groups = chunk
                .iter()
                .map(|c| Group { perts: self.cond_nodes.get(c).cloned().unwrap_or_default(), weight: 1.0, variant: 0 })
                .collect();
            let inp = ForwardInput { variants: vec![variant], groups, n_cells: chunk.len() };
            let delta = model.forward_eval(&self.coexpr, &self.go, &inp);
            for r in 0..chunk.len() {
                out.push(delta.row(r).iter().map(|&v| v as f64).collect());
            }
        }
        out
    }

    /// Predicted mean expression of each condition under the configured evaluation mode.
    pub fn predict_means(&self, model: &GearsModel<f32>, conds: &[u32]) -> Vec<Vec<f64>> {
        let deltas = self.predict_deltas(model, conds);
        conds
            .iter()
            .zip(deltas)
            .map(|(&c, d)| {
                let base = match self.cfg.eval_mode {
                    EvalMode::PairedCtrl => &self.means.paired_ctrl[c as usize],
                    EvalMode::CtrlMean => &self.means.ctrl,
                };
                d.iter().zip(base).map(|(a, b)| a + b).collect()
            })
            .collect()
    }

    /// Per-perturbation metrics of the model on the given conditions.
    pub fn evaluate(&self, model: &GearsModel<f32>, conds: &[u32]) -> Vec<PertMetrics> {
        let preds = self.predict_means(model, conds);
        conds
            .iter()
            .zip(&preds)
            .map(|(&c, p)| pert_metrics(p, &self.means.truth[c as usize], &self.means.ctrl, &self.data.de[c as usize]))
            .collect()
    }
}
