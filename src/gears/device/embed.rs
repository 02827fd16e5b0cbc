//! Embeddings of perturbations on a [`GpuDevice`]: the eval-mode device forward
//! ([`DeviceModel::forward_eval`]) in chunks of perturbations, turned into rows as on the CPU
//! ([`crate::gears::eval::embed::embed_on_cpu`]).

use super::model::DeviceModel;
use crate::backend::device::GpuDevice;
use crate::error::Result;
use crate::gears::eval::embed::{embed_input, finish, push_rows, EmbedKind, EmbedPert, Embeddings};
use crate::gears::train::adam::{Adam, AdamConfig};
use crate::gears::train::checkpoint::ModelFile;

/// Most perturbations per device forward.
const MAX_CHUNK: usize = 64;

/// Perturbations per forward on `dev`: at most [`MAX_CHUNK`], and few enough that the largest
/// activation (`recovery_w`'s hidden layer, G x 2h values per perturbation) fits in half of the
/// largest buffer the device takes.
pub fn chunk_size<D: GpuDevice>(dev: &D, n_genes: usize, hidden: usize) -> usize {
    let per_pert = (n_genes * 2 * hidden * 4).max(1) as u64;
    ((dev.max_buffer_bytes() / 2 / per_pert) as usize).clamp(1, MAX_CHUNK)
}

/// Embeds `perts` with the model of `mf` on `dev` (one eval-mode forward per chunk; the model
/// is uploaded once).
pub fn embed_on_device<D: GpuDevice>(dev: &D, mf: &ModelFile, perts: &[EmbedPert], kind: EmbedKind, ctrl_mean: &[f64]) -> Result<Embeddings> {
    let m = &mf.model;
    // The device model carries optimiser state; a fresh one (never used here) costs a few copies
    // of the weights.
    let adam = Adam::new(m, AdamConfig::default());
    let dm = DeviceModel::upload(dev, m, &adam, &mf.coexpr)?;
    let dim = kind.dim(m.n_genes, m.hidden);
    let mut values = Vec::with_capacity(perts.len() * dim);
    for chunk in perts.chunks(chunk_size(dev, m.n_genes, m.hidden)) {
        let parts = dm.forward_eval(&mf.go, &embed_input(chunk, mf.meta.config.pos_quirk))?;
        push_rows(&mut values, &parts, kind, ctrl_mean);
    }
    finish(perts, kind, dim, values)
}
