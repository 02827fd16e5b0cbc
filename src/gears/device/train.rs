//! The training step on a [`GpuDevice`], driven by the epoch loop of [`TrainContext::fit_with`]: same
//! shuffling, batching, learning-rate schedule, loss and model selection. The device model is
//! copied back into the host [`TrainState`] after every epoch, so validation, checkpoints and
//! evaluation use the host path unchanged.

use super::model::DeviceModel;
use crate::backend::device::GpuDevice;
use crate::error::{Error, Result};
use crate::gears::train::fit::{Hooks, Stepper, TrainContext, TrainState};

/// One optimisation step on the device; returns (loss, logged direction term). Same as
/// [`TrainContext::step`].
pub fn device_step<D: GpuDevice>(ctx: &TrainContext, dm: &mut DeviceModel<D>, batch: &[u32], lr: f64) -> Result<(f64, f64)> {
    dm.renorm_embeddings()?;
    let b = ctx.step_batch(batch);
    let (delta, cache) = dm.forward(&ctx.go, &b.input)?;
    let out = ctx.batch_loss(&delta, &b);
    dm.zero_grads()?;
    dm.backward(&ctx.go, &b.input, &cache, &out.d_delta)?;
    dm.update_running(&cache)?;
    drop(cache);
    dm.adam_step(lr, b.perturbed())?;
    Ok((out.loss, out.direction))
}

/// Largest relative difference (to the CPU's largest |δ|) the start-up check accepts.
pub const SELF_CHECK_TOL: f64 = 1e-3;

/// Runs one train-mode forward of `batch` on the device and on the CPU (from the same weights,
/// renormalised as a step does) and fails unless δ agrees to [`SELF_CHECK_TOL`]: a guard for
/// devices and drivers this code was not tested on. Returns the relative difference.
pub fn self_check<D: GpuDevice>(ctx: &TrainContext, dev: &D, state: &TrainState, batch: &[u32]) -> Result<f64> {
    let mut model = state.model.clone();
    model.renorm_embeddings();
    let (inp, _) = ctx.batch_input(batch);
    let (want, _) = model.forward_train(&ctx.coexpr, &ctx.go, &inp);
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

/// The device steps: [`device_step`] on a [`DeviceModel`], copied back to the host after each epoch.
struct DeviceStepper<'d, D: GpuDevice> {
    dm: DeviceModel<'d, D>,
}

impl<D: GpuDevice> Stepper for DeviceStepper<'_, D> {
    fn step(&mut self, ctx: &TrainContext, _state: &mut TrainState, batch: &[u32], lr: f64) -> Result<(f64, f64)> {
        device_step(ctx, &mut self.dm, batch, lr)
    }

    fn sync(&mut self, state: &mut TrainState) -> Result<()> {
        self.dm.download(&mut state.model, &mut state.adam)
    }
}

/// [`TrainContext::fit`] with the steps on `dev` (after [`self_check`] on the first batch).
pub fn fit_on_device<D: GpuDevice>(ctx: &TrainContext, dev: &D, state: &mut TrainState, hooks: Hooks, on_epoch: &mut dyn FnMut(&TrainState) -> Result<()>) -> Result<()> {
    let examples = ctx.checked_examples()?;
    self_check(ctx, dev, state, &examples[..ctx.cfg.batch_size])?;
    let dm = DeviceModel::upload(dev, &state.model, &state.adam, &ctx.coexpr)?;
    ctx.fit_with(state, hooks, on_epoch, &mut DeviceStepper { dm })
}
