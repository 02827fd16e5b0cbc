//! Batched spectral norms on CUDA: one `spmv_power_f32` launch per batch of sets, with the operator
//! (A, A^T, D^-1/2) uploaded once and reused while its fingerprint matches.

use super::ctx::Ctx;
use crate::backend::gpu_plan::{dinv_f32, f32_tol, fingerprint, pack_csr, pack_csr_transpose, pack_spectral};
use crate::backend::source::{SpmvParams, SPMV_POWER};
use crate::backend::{PowerIterConfig, SpectralNorm, SpectralOperator};
use crate::error::Result;
use crate::graph::sets::SetList;
use cudarc::driver::{CudaSlice, PushKernelArg};
use std::sync::Mutex;

/// Members per launch (x, y, z of 4 bytes each per member).
const MAX_MEMBERS: u64 = 1 << 27;

/// Power iterations per launch.
const ITERS_PER_LAUNCH: u32 = 64;

/// An operator on the device.
pub struct Uploaded {
    key: u64,
    adj: CudaSlice<u32>,
    adjt: CudaSlice<u32>,
    dinv: CudaSlice<f32>,
}

/// f32 spectral norms of every set (see [`crate::backend::Backend::spectral_norms`]).
pub fn norms(ctx: &Ctx, cache: &Mutex<Option<Uploaded>>, op: &SpectralOperator, sets: &SetList, warm: &[f64], cfg: &PowerIterConfig) -> Result<Vec<SpectralNorm>> {
    if sets.is_empty() {
        return Ok(Vec::new());
    }
    let key = fingerprint(op);
    let mut guard = cache.lock().expect("spectral cache");
    if guard.as_ref().map(|u| u.key) != Some(key) {
        *guard = None;
        *guard = Some(Uploaded {
            key,
            adj: ctx.upload("operator A", &pack_csr(&op.adj))?,
            adjt: ctx.upload("operator A^T", &pack_csr_transpose(&op.adj))?,
            dinv: ctx.upload("operator D^-1/2", &dinv_f32(op))?,
        });
    }
    let up = guard.as_ref().expect("uploaded");
    let f = ctx.func(&SPMV_POWER)?;
    let mut out = Vec::with_capacity(sets.len());
    let mut start = 0;
    while start < sets.len() {
        let mut end = start + 1;
        while end < sets.len() && sets.offsets[end + 1] - sets.offsets[start] <= MAX_MEMBERS {
            end += 1;
        }
        let (packed, x) = pack_spectral(sets, start..end, warm);
        let total = x.len();
        let mut work = x;
        work.resize(3 * total, 0.0);
        let setbuf = ctx.upload("spectral sets", &packed)?;
        let mut workbuf = ctx.upload("power-iteration vectors", &work)?;
        let mut outbuf = ctx.zeros::<u32>("spectral results", 3 * (end - start))?;
        let p = SpmvParams { n_nodes: op.n() as u32, n_sets: (end - start) as u32, total: total as u32, max_iter: cfg.max_iter, tol: f32_tol(cfg.tol), iters: ITERS_PER_LAUNCH, pad: [0; 2] };
        let mut launches = 0;
        let r = loop {
            let mut b = ctx.stream.launch_builder(&f);
            b.arg(&up.adj).arg(&up.adjt).arg(&up.dinv).arg(&setbuf).arg(&mut workbuf).arg(&mut outbuf);
            b.arg(&p.n_nodes).arg(&p.n_sets).arg(&p.total).arg(&p.max_iter).arg(&p.tol).arg(&p.iters);
            // SAFETY: argument types and order match spmv_power_f32 in kernels/spmv.cu.
            ctx.launched(&SPMV_POWER, unsafe { b.launch(ctx.cfg(&SPMV_POWER, (end - start) as u64)?) })?;
            launches += 1;
            let r = ctx.download("spectral results", &outbuf)?;
            if r.chunks_exact(3).take(end - start).all(|c| c[2] != 0) || launches * ITERS_PER_LAUNCH >= cfg.max_iter.max(1) {
                break r;
            }
        };
        out.extend(r.chunks_exact(3).take(end - start).map(|c| SpectralNorm { sigma: f32::from_bits(c[0]) as f64, iterations: c[1], converged: c[2] == 1 }));
        start = end;
    }
    Ok(out)
}
