//! Batched spectral norms: one `spmv_power_f32` launch per batch of sets (relaunched until every
//! set has stopped), with the operator (A, A^T, D^-1/2) uploaded once and reused while its
//! fingerprint matches.

use crate::backend::device::GpuDevice;
use crate::backend::gpu_plan::{dinv_f32, f32_tol, fingerprint, pack_csr, pack_csr_transpose, pack_spectral};
use crate::backend::source::{SpmvParams, SPMV_POWER};
use crate::backend::{PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::sets::SetList;
use std::sync::Mutex;

/// Power iterations per launch.
const ITERS_PER_LAUNCH: u32 = 64;

/// An operator on the device.
pub struct Uploaded<B> {
    key: u64,
    adj: B,
    adjt: B,
    dinv: B,
}

/// f32 spectral norms of every set (see [`crate::backend::Backend::spectral_norms`]).
pub fn norms<D: GpuDevice>(dev: &D, cache: &Mutex<Option<Uploaded<D::Buf>>>, op: &SpectralOperator, sets: &SetList, warm: &[f64], cfg: &PowerIterConfig) -> Result<Vec<SpectralNorm>> {
    if sets.is_empty() {
        return Ok(Vec::new());
    }
    let key = fingerprint(op);
    let mut guard = cache.lock().expect("spectral cache");
    if guard.as_ref().map(|u| u.key) != Some(key) {
        *guard = None;
        *guard = Some(Uploaded {
            key,
            adj: dev.upload("operator A", &pack_csr(&op.adj))?,
            adjt: dev.upload("operator A^T", &pack_csr_transpose(&op.adj))?,
            dinv: dev.upload("operator D^-1/2", &dinv_f32(op))?,
        });
    }
    let up = guard.as_ref().expect("uploaded");
    // Sets per launch: x | y | z (3 floats per member) must fit one buffer.
    let max_members = dev.max_buffer_bytes() / 12;
    let mut out = Vec::with_capacity(sets.len());
    let mut start = 0;
    while start < sets.len() {
        let mut end = start + 1;
        while end < sets.len() && sets.offsets[end + 1] - sets.offsets[start] <= max_members {
            end += 1;
        }
        let (packed, x) = pack_spectral(sets, start..end, warm);
        let total = x.len();
        let mut work = x;
        work.resize(3 * total, 0.0);
        let setbuf = dev.upload("spectral sets", &packed)?;
        let workbuf = dev.upload("power-iteration vectors", &work)?;
        let outbuf = dev.zeros("spectral results", 3 * (end - start))?;
        let p = SpmvParams { n_nodes: op.n() as u32, n_sets: (end - start) as u32, total: total as u32, max_iter: cfg.max_iter, tol: f32_tol(cfg.tol), iters: ITERS_PER_LAUNCH, pad: [0; 2] };
        let mut launches = 0;
        let r: Vec<u32> = loop {
            dev.launch(&SPMV_POWER, &[&up.adj, &up.adjt, &up.dinv, &setbuf, &workbuf, &outbuf], &p, (end - start) as u64)?;
            launches += 1;
            let r: Vec<u32> = dev.download("spectral results", &outbuf, 3 * (end - start))?;
            if r.chunks_exact(3).all(|c| c[2] != 0) || launches * ITERS_PER_LAUNCH >= cfg.max_iter.max(1) {
                break r;
            }
        };
        out.extend(r.chunks_exact(3).map(|c| SpectralNorm { sigma: f32::from_bits(c[0]) as f64, iterations: c[1], converged: c[2] == 1 }));
        start = end;
    }
    Ok(out)
}
