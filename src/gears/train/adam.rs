//! Adam as GEARS trains it: gradient values clipped to [-clip, clip] first, then L2 weight decay
//! added to the gradient (PyTorch `Adam(weight_decay=...)`, not AdamW), betas (0.9, 0.999),
//! eps 1e-8, bias-corrected.

use crate::gears::net::mat::Real;
use crate::gears::net::model::GearsModel;
use crate::gears::net::params::is_perturbation_path;
use rayon::prelude::*;

/// One chunk of (parameter, gradient, first moment, second moment).
type Slices<'a, T> = (((&'a mut [T], &'a mut [T]), &'a mut [T]), &'a mut [T]);

/// The per-tensor constants of one Adam update, in the parameter's precision.
#[derive(Clone, Copy)]
struct AdamConsts<T> {
    b1: T,
    b2: T,
    clip: T,
    wd: T,
    eps: T,
    one_b1: T,
    one_b2: T,
    ss: T,
    inv_bc2: T,
}

/// Updates one chunk of a tensor and clears its gradient; with AVX when the CPU has it (wider
/// vectors for the square roots and divisions; the same IEEE operations in the same order).
fn update_chunk<T: Real>(pc: &mut [T], gc: &mut [T], mc: &mut [T], vc: &mut [T], k: &AdamConsts<T>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above).
            unsafe { update_chunk_avx(pc, gc, mc, vc, k) };
            return;
        }
    }
    update_chunk_body(pc, gc, mc, vc, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn update_chunk_avx<T: Real>(pc: &mut [T], gc: &mut [T], mc: &mut [T], vc: &mut [T], k: &AdamConsts<T>) {
    update_chunk_body(pc, gc, mc, vc, k);
}

#[inline(always)]
fn update_chunk_body<T: Real>(pc: &mut [T], gc: &mut [T], mc: &mut [T], vc: &mut [T], k: &AdamConsts<T>) {
    let n = pc.len();
    let (gc, mc, vc) = (&mut gc[..n], &mut mc[..n], &mut vc[..n]);
    let AdamConsts { b1, b2, clip, wd, eps, one_b1, one_b2, ss, inv_bc2 } = *k;
    for i in 0..n {
        let w = pc[i];
        let mut gr = gc[i];
        gc[i] = T::zero();
        if gr > clip {
            gr = clip;
        }
        if gr < -clip {
            gr = -clip;
        }
        gr += wd * w;
        let mi = b1 * mc[i] + one_b1 * gr;
        let vi = b2 * vc[i] + one_b2 * gr * gr;
        mc[i] = mi;
        vc[i] = vi;
        pc[i] = w - ss * mi / (vi.sqrt() * inv_bc2 + eps);
    }
}

/// Adam hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
    /// Gradient value clip (applied before weight decay).
    pub clip: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { weight_decay: 5e-4, clip: 1.0, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Optimiser state: first and second moments (same shapes as the model) and per-tensor step counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<T> {
    /// First moments.
    pub m: GearsModel<T>,
    /// Second moments.
    pub v: GearsModel<T>,
    /// Steps taken per tensor (tensors skipped in a step do not advance, as in PyTorch).
    pub steps: Vec<u64>,
    /// Hyper-parameters.
    pub cfg: AdamConfig,
}

impl<T: Real> Adam<T> {
    /// Fresh state for `model`.
    pub fn new(model: &GearsModel<T>, cfg: AdamConfig) -> Self {
        let mut m = model.zeros_like();
        let n = m.params_mut().len();
        Adam { m, v: model.zeros_like(), steps: vec![0; n], cfg }
    }

    /// One update with learning rate `lr`. When `perturbed` is false the batch had no perturbed
    /// cell and the perturbation-path tensors (which then have no gradient) are left untouched.
    /// Every gradient value is reset to zero in the same pass, so `grad` is ready for the next
    /// step's backward without a separate clearing pass.
    pub fn step(&mut self, model: &mut GearsModel<T>, grad: &mut GearsModel<T>, lr: f64, perturbed: bool) {
        let c = self.cfg;
        let params = model.params_mut();
        let grads = grad.params_mut();
        let ms = self.m.params_mut();
        let vs = self.v.params_mut();
        for ((((name, p), (_, g)), (_, m)), ((_, v), step)) in params.into_iter().zip(grads).zip(ms).zip(vs.into_iter().zip(self.steps.iter_mut())) {
            if !perturbed && is_perturbation_path(&name) {
                g.fill_zero();
                continue;
            }
            *step += 1;
            let t = *step as i32;
            let bc1 = 1.0 - c.beta1.powi(t);
            let bc2 = (1.0 - c.beta2.powi(t)).sqrt();
            let step_size = lr / bc1;
            // Element-wise in the parameter's own precision, as PyTorch does.
            let t = T::from_f64;
            let (b1, b2, clip, wd, eps) = (t(c.beta1), t(c.beta2), t(c.clip), t(c.weight_decay), t(c.eps));
            let (one_b1, one_b2, ss, inv_bc2) = (t(1.0 - c.beta1), t(1.0 - c.beta2), t(step_size), t(1.0 / bc2));
            let k = AdamConsts { b1, b2, clip, wd, eps, one_b1, one_b2, ss, inv_bc2 };
            let update = |(((pc, gc), mc), vc): Slices<T>| update_chunk(pc, gc, mc, vc, &k);
            const CHUNK: usize = 1 << 14;
            if p.data.len() > CHUNK {
                p.data
                    .par_chunks_mut(CHUNK)
                    .zip(g.data.par_chunks_mut(CHUNK))
                    .zip(m.data.par_chunks_mut(CHUNK))
                    .zip(v.data.par_chunks_mut(CHUNK))
                    .for_each(update);
            } else {
                update((((&mut p.data[..], &mut g.data[..]), &mut m.data[..]), &mut v.data[..]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_by_lr_against_the_clipped_gradient() {
        let mut model = GearsModel::<f64>::init(3, 4, 2, 1);
        let before = model.clone();
        let mut grad = model.zeros_like();
        grad.indv_b2.data[0] = 5.0; // clipped to 1
        grad.pert_emb.data[0] = 1.0;
        let mut adam = Adam::new(&model, AdamConfig { weight_decay: 0.0, ..Default::default() });
        adam.step(&mut model, &mut grad, 1e-3, false);
        assert!((before.indv_b2.data[0] - model.indv_b2.data[0] - 1e-3).abs() < 1e-9);
        assert_eq!(model.indv_b2.data[1], before.indv_b2.data[1]);
        // Perturbation path skipped when the batch had no perturbed cell.
        assert_eq!(model.pert_emb, before.pert_emb);
        // With weight decay, a zero gradient still moves a weight towards 0.
        let mut adam = Adam::new(&model, AdamConfig::default());
        let w = model.indv_b1.data[0];
        let mut zero = model.zeros_like();
        adam.step(&mut model, &mut zero, 1e-3, true);
        assert!(model.indv_b1.data[0].abs() < w.abs());
    }
}
