//! [`GearsConfig`]: the trainer's settings with GEARS's defaults, shared by the library and the
//! `graphreach train` command line.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which epoch's weights are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ModelSelection {
    /// The epoch with the lowest validation `mse_de` (GEARS); the last epoch when there is no validation set.
    BestVal,
    /// The final epoch (IterPert).
    LastEpoch,
}

/// What the predicted change δ(p) is added to when evaluating a perturbation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EvalMode {
    /// The mean of the control cells paired with the perturbation's cells (GEARS `evaluate`).
    PairedCtrl,
    /// The mean of all control cells (IterPert `fix_evaluation`).
    CtrlMean,
}

/// Which cells the co-expression graph is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum CoexprCells {
    /// Cells of the training conditions that are control or single perturbations (GEARS).
    Train,
    /// Control cells only (IterPert).
    Ctrl,
}

/// Trainer settings. `Default` gives GEARS's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GearsConfig {
    /// Hidden size h (64).
    pub hidden: usize,
    /// Training epochs (20).
    pub epochs: usize,
    /// Cells per training step (32); incomplete last batches are dropped.
    pub batch_size: usize,
    /// Initial learning rate (1e-3).
    pub lr: f64,
    /// Learning-rate factor applied after every epoch (0.5).
    pub lr_decay: f64,
    /// L2 weight decay added to the gradient (5e-4).
    pub weight_decay: f64,
    /// Gradient value clip (1.0).
    pub clip: f64,
    /// Reproduce GEARS's co-expression propagation reaching only the first cell of a batch (off).
    pub pos_quirk: bool,
    /// Model selection (best-val).
    pub model_selection: ModelSelection,
    /// Evaluation baseline for δ (paired-ctrl).
    pub eval_mode: EvalMode,
    /// Cells of the co-expression graph (train).
    pub coexpr_cells: CoexprCells,
    /// Seed of initialisation and shuffling (0).
    pub seed: u64,
}

impl Default for GearsConfig {
    fn default() -> Self {
        GearsConfig {
            hidden: 64,
            epochs: 20,
            batch_size: 32,
            lr: 1e-3,
            lr_decay: 0.5,
            weight_decay: 5e-4,
            clip: 1.0,
            pos_quirk: false,
            model_selection: ModelSelection::BestVal,
            eval_mode: EvalMode::PairedCtrl,
            coexpr_cells: CoexprCells::Train,
            seed: 0,
        }
    }
}

impl GearsConfig {
    /// Checks the values, explaining what is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.hidden == 0 {
            return Err(Error::invalid("--hidden must be at least 1"));
        }
        if self.epochs == 0 {
            return Err(Error::invalid("--epochs 0 trains nothing, so there would be no model to keep; pass --epochs N with N >= 1"));
        }
        if self.batch_size < 2 {
            return Err(Error::invalid("--batch-size must be at least 2 (BatchNorm needs two cells per step)"));
        }
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if !positive(self.lr) || !positive(self.lr_decay) {
            return Err(Error::invalid("--lr and the learning-rate decay must be positive and finite"));
        }
        if !(self.weight_decay >= 0.0 && self.clip > 0.0) {
            return Err(Error::invalid("weight decay must be >= 0 and the gradient clip > 0"));
        }
        Ok(())
    }

    /// Learning rate of 0-based epoch `e`.
    pub fn lr_at(&self, e: usize) -> f64 {
        self.lr * self.lr_decay.powi(e as i32)
    }
}
