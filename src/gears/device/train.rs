//! The epoch loop of [`crate::gears::train`] with the training step on a [`TrainDevice`]: same
//! shuffling, batching, learning-rate schedule, loss and model selection. The device model is
//! copied back into the host [`TrainState`] after every epoch, so validation, checkpoints and
//! evaluation use the host path unchanged.

use super::model::DeviceModel;
use super::TrainDevice;
use crate::error::{Error, Result};
use crate::gears::config::ModelSelection;
use crate::gears::loss::{autofocus_loss, LossCell};
use crate::gears::mat::Mat;
use crate::gears::metrics::summarise;
use crate::gears::train::{keep_freed_memory, EpochLog, Hooks, TrainContext, TrainState};
use crate::rng::{mix, SplitMix64};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// One optimisation step on the device; returns (loss, logged direction term). Same as
/// [`TrainContext::step`].
pub fn device_step<D: TrainDevice>(ctx: &TrainContext, dm: &mut DeviceModel<D>, batch: &[u32], lr: f64) -> Result<(f64, f64)> {
    dm.renorm_embeddings()?;
    let (inp, cell_group) = ctx.batch_input(batch);
    let g = ctx.data.n_genes();
    let mut x = Mat::<f32>::zeros(batch.len(), g);
    let mut y = Mat::<f32>::zeros(batch.len(), g);
    for (i, &c) in batch.iter().enumerate() {
        ctx.data.x.row_dense_into(ctx.data.ctrl_pairing[c as usize] as usize, x.row_mut(i));
        ctx.data.x.row_dense_into(c as usize, y.row_mut(i));
    }
    let cells: Vec<LossCell> = batch
        .iter()
        .zip(&cell_group)
        .map(|(&c, &gr)| {
            let cond = ctx.data.cell_condition[c as usize];
            let genes = (cond != 0).then(|| ctx.data.de[cond as usize].non_zeros.as_slice());
            LossCell { group: gr, condition: cond, genes }
        })
        .collect();
    let (delta, cache) = dm.forward(&ctx.go, &inp)?;
    let mu: Vec<f32> = ctx.means.ctrl.iter().map(|&v| v as f32).collect();
    let out = autofocus_loss(&delta, &cells, &x, &y, &mu);
    dm.zero_grads()?;
    dm.backward(&ctx.go, &inp, &cache, &out.d_delta)?;
    dm.update_running(&cache)?;
    drop(cache);
    let perturbed = inp.groups.iter().any(|gr| !gr.perts.is_empty());
    dm.adam_step(lr, perturbed)?;
    Ok((out.loss, out.direction))
}

/// Largest relative difference (to the CPU's largest |δ|) the start-up check accepts.
pub const SELF_CHECK_TOL: f64 = 1e-3;

/// Runs one train-mode forward of `batch` on the device and on the CPU (from the same weights,
/// renormalised as a step does) and fails unless δ agrees to [`SELF_CHECK_TOL`]: a guard for
/// devices and drivers this code was not tested on. Returns the relative difference.
pub fn self_check<D: TrainDevice>(ctx: &TrainContext, dev: &D, state: &TrainState, batch: &[u32]) -> Result<f64> {
    let mut model = state.model.clone();
    model.renorm_embeddings();
    let (inp, _) = ctx.batch_input(batch);
    let (want, _) = model.forward(&ctx.coexpr, &ctx.go, &inp, true);
    let dm = DeviceModel::upload(dev, &model, &state.adam, &ctx.coexpr)?;
    let (got, _) = dm.forward(&ctx.go, &inp)?;
    let scale = want.data.iter().fold(0f64, |m, &v| m.max(v.abs() as f64));
    let diff = got.data.iter().zip(&want.data).fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    let rel = diff / scale.max(1e-12);
    if rel.is_nan() || rel > SELF_CHECK_TOL {
        return Err(Error::Backend {
            backend: dev.name(),
            msg: format!("start-up check failed: the device forward differs from the CPU reference by {rel:.2e} (relative, limit {SELF_CHECK_TOL:.0e}) on {}; train with --backend cpu", dev.describe()),
        });
    }
    Ok(rel)
}

/// [`TrainContext::fit`] with the steps on `dev` (after [`self_check`] on the first batch).
pub fn fit_on_device<D: TrainDevice>(ctx: &TrainContext, dev: &D, state: &mut TrainState, hooks: Hooks, on_epoch: &mut dyn FnMut(&TrainState) -> Result<()>) -> Result<()> {
    ctx.cfg.validate()?;
    keep_freed_memory();
    let examples = ctx.examples();
    if examples.len() < ctx.cfg.batch_size {
        return Err(Error::invalid(format!(
            "only {} training cells for a batch size of {}; lower --batch-size or train on more perturbations",
            examples.len(),
            ctx.cfg.batch_size
        )));
    }
    self_check(ctx, dev, state, &examples[..ctx.cfg.batch_size])?;
    let mut dm = DeviceModel::upload(dev, &state.model, &state.adam, &ctx.coexpr)?;
    while state.epochs_done < ctx.cfg.epochs {
        let e = state.epochs_done;
        let log = run_epoch(ctx, &mut dm, state, &examples, e, hooks)?;
        state.log.push(log);
        state.epochs_done += 1;
        let keep = match (ctx.cfg.model_selection, state.log.last().and_then(|l| l.val_mse_de)) {
            (ModelSelection::BestVal, Some(v)) if !ctx.val_conds.is_empty() => {
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

fn run_epoch<D: TrainDevice>(ctx: &TrainContext, dm: &mut DeviceModel<D>, state: &mut TrainState, examples: &[u32], e: usize, hooks: Hooks) -> Result<EpochLog> {
    let lr = ctx.cfg.lr_at(e);
    let mut order = examples.to_vec();
    let mut rng = SplitMix64::new(mix(ctx.cfg.seed ^ mix(e as u64 + 1)));
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let steps = order.len() / ctx.cfg.batch_size;
    let bar = if hooks.progress { indicatif::ProgressBar::new(steps as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} steps {elapsed}<{eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("{}/{}", e + 1, ctx.cfg.epochs));
    let t0 = Instant::now();
    let cpu0 = crate::gears::train::process_cpu_seconds();
    let (mut sum_l, mut sum_d) = (0.0, 0.0);
    for (s, batch) in order.chunks_exact(ctx.cfg.batch_size).enumerate() {
        if hooks.interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
            bar.abandon();
            return Err(Error::Interrupted(format!(
                "stopped during epoch {} after {} finished epoch(s); the last finished epoch's checkpoint is kept (continue with --resume)",
                e + 1,
                state.epochs_done
            )));
        }
        let (l, d) = device_step(ctx, dm, batch, lr)?;
        if !l.is_finite() {
            bar.abandon();
            return Err(Error::invalid(format!("training diverged: loss {l} at epoch {} step {}", e + 1, s + 1)));
        }
        sum_l += l;
        sum_d += d;
        bar.inc(1);
        if s % 20 == 0 {
            bar.set_message(format!("loss {:.4}", sum_l / (s + 1) as f64));
        }
    }
    bar.finish_and_clear();
    dm.download(&mut state.model, &mut state.adam)?;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu_seconds = crate::gears::train::process_cpu_seconds() - cpu0;
    let (val_mse_de, val_pearson_delta) = if ctx.val_conds.is_empty() {
        (None, None)
    } else {
        let s = summarise(&ctx.evaluate(&state.model, &ctx.val_conds));
        (Some(s.mse_de), Some(s.pearson_delta))
    };
    let n = steps.max(1) as f64;
    Ok(EpochLog { epoch: e + 1, lr, train_loss: sum_l / n, train_direction: sum_d / n, steps, seconds, val_mse_de, val_pearson_delta, cpu_seconds })
}
