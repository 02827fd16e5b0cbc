//! The GEARS trainer on a GPU, in the llm.c manner: the same fixed architecture and the same
//! algorithm as [`super::net::model`] (forward and backward over weighted groups of identical cells),
//! written out over a small set of device ops ([`ops`]) whose kernels are `kernels/gears.{cu,wgsl}`.
//!
//! * The device is the backend layer's [`GpuDevice`] (f32 / u32 buffers, downloads, kernel
//!   launches, a GEMM: the WGSL tiled `gears_gemm` on wgpu, cuBLAS on CUDA); this module knows no
//!   GPU API.
//! * [`model::DeviceModel`]: parameters, gradients, Adam moments and BatchNorm running statistics
//!   on the device; one training step = renorm, forward, loss (on the host: δ is groups x G),
//!   backward, running statistics, Adam. On wgpu the launches of a step are recorded into one
//!   command encoder and submitted when δ is read back (see [`train::device_step`]).
//! * [`train::fit_on_device`]: the epoch loop of [`super::train::fit`] with the step on the device;
//!   the host model and optimiser are synchronised after every epoch (checkpoints, validation
//!   and evaluation run on the host CPU path).
//! * [`embed::embed_on_device`]: perturbation embeddings from the eval-mode device forward
//!   ([`model::DeviceModel::forward_eval`], BatchNorm on the running statistics).
//! * [`select`]: the device a `graphreach train` or `embed` run takes, by the one `--backend` rule of
//!   [`crate::backend::choice`].

pub mod embed;
pub mod model;
pub mod ops;
pub mod train;

use crate::backend::choice::{open_device, DeviceTask, Needs, OpenedDevice};
use crate::backend::device::GpuDevice;
use crate::backend::BackendChoice;
use crate::error::Result;
use crate::gears::eval::embed::{embed_on_cpu, EmbedKind, EmbedPert, Embeddings};
use crate::gears::train::checkpoint::ModelFile;
use crate::gears::train::fit::{Hooks, TrainContext, TrainState};

/// The device a `graphreach train` or `graphreach embed` run takes.
pub struct Selected(OpenedDevice);

impl Selected {
    /// "cpu", "cuda" or "wgpu" with the device description.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.0.name(), self.0.describe())
    }

    /// Trains `state` with [`TrainContext::fit`] on the CPU or [`train::fit_on_device`] on a GPU.
    pub fn fit(self, ctx: &TrainContext, state: &mut TrainState, hooks: Hooks, on_epoch: &mut dyn FnMut(&TrainState) -> Result<()>) -> Result<()> {
        struct Fit<'a, 'b, 'c> {
            ctx: &'a TrainContext<'b>,
            state: &'a mut TrainState,
            hooks: Hooks<'c>,
            on_epoch: &'a mut dyn FnMut(&TrainState) -> Result<()>,
        }
        impl DeviceTask for Fit<'_, '_, '_> {
            type Output = Result<()>;
            fn on_cpu(self) -> Result<()> {
                self.ctx.fit(self.state, self.hooks, self.on_epoch)
            }
            fn on_gpu<D: GpuDevice + 'static>(self, dev: D) -> Result<()> {
                train::fit_on_device(self.ctx, &dev, self.state, self.hooks, self.on_epoch)
            }
        }
        self.0.run(Fit { ctx, state, hooks, on_epoch })
    }
}

impl Selected {
    /// Embeds `perts` with [`embed_on_cpu`] on the CPU or [`embed::embed_on_device`] on a GPU.
    pub fn embed(self, mf: &ModelFile, perts: &[EmbedPert], kind: EmbedKind, ctrl_mean: &[f64]) -> Result<Embeddings> {
        struct Embed<'a> {
            mf: &'a ModelFile,
            perts: &'a [EmbedPert],
            kind: EmbedKind,
            ctrl_mean: &'a [f64],
        }
        impl DeviceTask for Embed<'_> {
            type Output = Result<Embeddings>;
            fn on_cpu(self) -> Result<Embeddings> {
                embed_on_cpu(self.mf, self.perts, self.kind, self.ctrl_mean)
            }
            fn on_gpu<D: GpuDevice + 'static>(self, dev: D) -> Result<Embeddings> {
                embed::embed_on_device(&dev, self.mf, self.perts, self.kind, self.ctrl_mean)
            }
        }
        self.0.run(Embed { mf, perts, kind, ctrl_mean })
    }
}

/// The trainer's device for `choice`, with notes on why others were skipped: `auto` takes CUDA
/// (with cuBLAS), then a hardware wgpu adapter (never lavapipe), else the CPU; an explicit GPU
/// choice fails with the reason when that device cannot be opened.
pub fn select(choice: BackendChoice) -> Result<(Selected, Vec<String>)> {
    open_device(choice, Needs { gemm: true }).map(|(d, notes)| (Selected(d), notes))
}
