//! The training loop (spec §4): one example per cell of the training conditions (control cells
//! too when `ctrl` is a training condition), its seeded control pairing as input, shuffled per
//! epoch with the seed, incomplete last batch dropped; Adam with a learning rate halved every
//! epoch; validation after every epoch ([`crate::gears::eval::predict`]) and model selection.
//! The batches are built in [`super::batch`].

use super::adam::{Adam, AdamConfig};
use super::config::{GearsConfig, ModelSelection};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gears::dataset::means::ConditionMeans;
use crate::gears::eval::metrics::summarise;
use crate::gears::net::model::GearsModel;
use crate::gears::net::propagation::Propagation;
use crate::rng::{mix, SplitMix64};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Makes glibc keep freed memory instead of returning it to the kernel after every step (the
/// trainer allocates the same few-MB activations each step; without this, page clearing costs
/// about a tenth of the step time). A no-op on other platforms.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes allocator tuning parameters; both values are valid.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 256 << 20);
            mallopt(M_TRIM_THRESHOLD, 512 << 20);
        }
    }
}

/// Everything fixed during a training run.
#[derive(Clone, Debug)]
pub struct TrainContext<'a> {
    /// The data.
    pub data: &'a Dataset,
    /// Settings.
    pub cfg: GearsConfig,
    /// Co-expression SGConv operator over the G genes.
    pub coexpr: Propagation,
    /// GO SGConv operator over the P perturbation nodes.
    pub go: Propagation,
    /// GO nodes of every condition used (train, val, test).
    pub cond_nodes: HashMap<u32, Vec<u32>>,
    /// Per-condition means.
    pub means: ConditionMeans,
    /// Training conditions (may include 0 = ctrl).
    pub train_conds: Vec<u32>,
    /// Validation conditions (no ctrl).
    pub val_conds: Vec<u32>,
}

/// One row of the per-epoch log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean autofocus loss over the epoch's steps.
    pub train_loss: f64,
    /// Mean (logged only) direction term.
    pub train_direction: f64,
    /// Steps taken.
    pub steps: usize,
    /// Wall-clock seconds of the training steps.
    pub seconds: f64,
    /// Validation mean `mse_de` (when there is a validation set).
    pub val_mse_de: Option<f64>,
    /// Validation mean `pearson_delta`.
    pub val_pearson_delta: Option<f64>,
    /// CPU seconds (user + system, all threads) of this process during the training steps, from
    /// `/proc/self/stat` (0 where that is not available). Steadier than `seconds` on a shared machine.
    #[serde(default)]
    pub cpu_seconds: f64,
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`; 0 elsewhere).
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Mutable training state (what a checkpoint holds).
#[derive(Clone, Debug)]
pub struct TrainState {
    /// Current weights.
    pub model: GearsModel<f32>,
    /// Optimiser state.
    pub adam: Adam<f32>,
    /// Finished epochs.
    pub epochs_done: usize,
    /// The kept model (best validation or last epoch) and its 1-based epoch.
    pub selected: Option<(GearsModel<f32>, usize)>,
    /// Best validation `mse_de` so far.
    pub best_val: Option<f64>,
    /// Per-epoch log.
    pub log: Vec<EpochLog>,
}

/// Options of a run that are not part of the model configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hooks<'a> {
    /// Set (e.g. by Ctrl-C) to stop after the current step.
    pub interrupt: Option<&'a AtomicBool>,
    /// Show a progress bar per epoch on stderr.
    pub progress: bool,
}

/// Where the steps of an epoch run: the CPU reference ([`TrainContext::fit`]) or a device trainer
/// (`gears::device::train`), driven by the one epoch loop of [`TrainContext::fit_with`].
pub trait Stepper {
    /// One optimisation step on the cells `batch` at learning rate `lr`; returns (loss, logged
    /// direction term).
    fn step(&mut self, ctx: &TrainContext, state: &mut TrainState, batch: &[u32], lr: f64) -> Result<(f64, f64)>;
    /// Brings the trained weights into `state` at the end of an epoch (nothing to do on the CPU).
    fn sync(&mut self, _state: &mut TrainState) -> Result<()> {
        Ok(())
    }
}

/// The CPU steps: [`TrainContext::step`] on the host model with one reused gradient buffer.
struct CpuStepper {
    grad: GearsModel<f32>,
}

impl Stepper for CpuStepper {
    fn step(&mut self, ctx: &TrainContext, state: &mut TrainState, batch: &[u32], lr: f64) -> Result<(f64, f64)> {
        Ok(ctx.step(&mut state.model, &mut state.adam, &mut self.grad, batch, lr))
    }
}

impl<'a> TrainContext<'a> {
    /// A fresh model and optimiser.
    pub fn new_state(&self) -> TrainState {
        let model = GearsModel::<f32>::init(self.data.n_genes(), self.go.n, self.cfg.hidden, self.cfg.seed);
        let adam = Adam::new(&model, AdamConfig { weight_decay: self.cfg.weight_decay, clip: self.cfg.clip, ..Default::default() });
        TrainState { model, adam, epochs_done: 0, selected: None, best_val: None, log: Vec::new() }
    }

    /// The training examples: every cell of a training condition.
    pub fn examples(&self) -> Vec<u32> {
        let mut is_train = vec![false; self.data.conditions.len()];
        for &c in &self.train_conds {
            is_train[c as usize] = true;
        }
        (0..self.data.n_cells() as u32).filter(|&c| is_train[self.data.cell_condition[c as usize] as usize]).collect()
    }

    /// Runs the remaining epochs on the CPU, calling `on_epoch` after each (checkpointing).
    pub fn fit(&self, state: &mut TrainState, hooks: Hooks, on_epoch: &mut dyn FnMut(&TrainState) -> Result<()>) -> Result<()> {
        let mut cpu = CpuStepper { grad: state.model.zeros_like() };
        self.fit_with(state, hooks, on_epoch, &mut cpu)
    }

    /// The training examples, after checking the settings and that at least one batch fits.
    pub fn checked_examples(&self) -> Result<Vec<u32>> {
        self.cfg.validate()?;
        let examples = self.examples();
        if examples.len() < self.cfg.batch_size {
            return Err(Error::invalid(format!(
                "only {} training cells for a batch size of {}; lower --batch-size or train on more perturbations",
                examples.len(),
                self.cfg.batch_size
            )));
        }
        Ok(examples)
    }

    /// [`Self::fit`] with the steps taken by `stepper` (the CPU, or a device trainer): the same
    /// shuffling, batching, learning-rate schedule, validation and model selection.
    pub fn fit_with(&self, state: &mut TrainState, hooks: Hooks, on_epoch: &mut dyn FnMut(&TrainState) -> Result<()>, stepper: &mut dyn Stepper) -> Result<()> {
        keep_freed_memory();
        let examples = self.checked_examples()?;
        while state.epochs_done < self.cfg.epochs {
            let e = state.epochs_done;
            let log = self.run_epoch(state, &examples, stepper, e, hooks)?;
            state.log.push(log);
            state.epochs_done += 1;
            let keep = match (self.cfg.model_selection, state.log.last().and_then(|l| l.val_mse_de)) {
                (ModelSelection::BestVal, Some(v)) if !self.val_conds.is_empty() => {
                    let better = state.best_val.is_none_or(|b| v < b);
                    if better {
                        state.best_val = Some(v);
                    }
                    better
                }
                _ => true,
            };
            if keep {
                state.selected = Some((state.model.clone(), e + 1));
            }
            on_epoch(state)?;
        }
        Ok(())
    }

    fn run_epoch(&self, state: &mut TrainState, examples: &[u32], stepper: &mut dyn Stepper, e: usize, hooks: Hooks) -> Result<EpochLog> {
        let lr = self.cfg.lr_at(e);
        let mut order = examples.to_vec();
        let mut rng = SplitMix64::new(mix(self.cfg.seed ^ mix(e as u64 + 1)));
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let steps = order.len() / self.cfg.batch_size;
        let bar = if hooks.progress { indicatif::ProgressBar::new(steps as u64) } else { indicatif::ProgressBar::hidden() };
        bar.set_style(
            indicatif::ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} steps {elapsed}<{eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{}/{}", e + 1, self.cfg.epochs));
        let t0 = Instant::now();
        let cpu0 = process_cpu_seconds();
        let (mut sum_l, mut sum_d) = (0.0, 0.0);
        for (s, batch) in order.chunks_exact(self.cfg.batch_size).enumerate() {
            if hooks.interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
                bar.abandon();
                return Err(Error::Interrupted(format!(
                    "stopped during epoch {} after {} finished epoch(s); the last finished epoch's checkpoint is kept (continue with --resume)",
                    e + 1,
                    state.epochs_done
                )));
            }
            let (l, d) = stepper.step(self, state, batch, lr)?;
            if !l.is_finite() {
                bar.abandon();
                return Err(Error::computation(format!("training diverged: loss {l} at epoch {} step {}; try a smaller --lr", e + 1, s + 1)));
            }
            sum_l += l;
            sum_d += d;
            bar.inc(1);
            if s % 20 == 0 {
                bar.set_message(format!("loss {:.4}", sum_l / (s + 1) as f64));
            }
        }
        bar.finish_and_clear();
        stepper.sync(state)?;
        let seconds = t0.elapsed().as_secs_f64();
        let cpu_seconds = process_cpu_seconds() - cpu0;
        let (val_mse_de, val_pearson_delta) = if self.val_conds.is_empty() {
            (None, None)
        } else {
            let s = summarise(&self.evaluate(&state.model, &self.val_conds));
            (Some(s.mse_de), Some(s.pearson_delta))
        };
        let n = steps.max(1) as f64;
        Ok(EpochLog { epoch: e + 1, lr, train_loss: sum_l / n, train_direction: sum_d / n, steps, seconds, val_mse_de, val_pearson_delta, cpu_seconds })
    }

    /// One optimisation step on the given cells; returns (loss, logged direction term). `grad`
    /// must be all zero on entry and is all zero again on return (Adam clears it as it reads it).
    pub fn step(&self, model: &mut GearsModel<f32>, adam: &mut Adam<f32>, grad: &mut GearsModel<f32>, batch: &[u32], lr: f64) -> (f64, f64) {
        let (loss, direction, perturbed) = self.gradients(model, grad, batch);
        adam.step(model, grad, lr, perturbed);
        (loss, direction)
    }

    /// The first half of [`Self::step`]: max-norm, train-mode forward, loss and backward into
    /// `grad` (accumulated; zero it first), with the BatchNorm running statistics updated.
    /// Returns (loss, logged direction term, whether any cell of the batch is perturbed).
    pub fn gradients(&self, model: &mut GearsModel<f32>, grad: &mut GearsModel<f32>, batch: &[u32]) -> (f64, f64, bool) {
        model.renorm_embeddings();
        let b = self.step_batch(batch);
        let (delta, cache) = model.forward_train(&self.coexpr, &self.go, &b.input);
        let out = self.batch_loss(&delta, &b);
        model.backward(&self.coexpr, &self.go, &b.input, &cache, &out.d_delta, grad);
        model.update_running(&cache);
        (out.loss, out.direction, b.perturbed())
    }
}

#[cfg(test)]
#[path = "fit_tests.rs"]
mod tests;
