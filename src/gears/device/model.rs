//! [`DeviceModel`]: the GEARS network of [`crate::gears::net::model`] on a [`GpuDevice`], with the
//! same forward and backward over weighted groups, step for step (see that module for the
//! algorithm; the comments here number the same stages). Parameters, gradients, Adam moments and
//! BatchNorm running statistics live on the device; the host builds the small per-batch index
//! structures (which GO rows are needed, which groups are perturbed) and computes the loss on δ.

use super::ops::{self, AdamScalars, BnOut, DBnCache, DCsr, DMat, HostCsr};
use crate::backend::device::{Gemm, GpuDevice};
use crate::error::Result;
use crate::gears::net::mat::Mat;
use crate::gears::net::model::{EvalOutput, ForwardInput, GearsModel, POS_MIX};
use crate::gears::net::params::is_perturbation_path;
use crate::gears::net::propagation::Propagation;
use crate::gears::train::adam::{Adam, AdamConfig};
use std::collections::HashMap;

/// What an MLP forward keeps for backward.
struct MlpCache<B> {
    inputs: Vec<DMat<B>>,
    bns: Vec<DBnCache<B>>,
}

/// An MLP's output and cache.
type MlpOut<B> = (DMat<B>, MlpCache<B>);

/// The intermediate values of a device forward besides δ; `B` and `M` are what its BatchNorms
/// and MLPs keep (caches in train mode; nothing and the MLP's input in eval mode).
struct Kept<D: GpuDevice, B, M> {
    bn_emb: B,
    e1: DMat<D::Buf>,
    emb_wts: D::Buf,
    pe: Option<DMat<D::Buf>>,
    base0_wts: D::Buf,
    emb_cache: M,
    needed: Vec<u32>,
    pe_go: Option<DMat<D::Buf>>,
    perturbed: Vec<usize>,
    fuse_wts: Option<D::Buf>,
    fuse_cache: Option<M>,
    grid_wts: D::Buf,
    bn_base: B,
    rec_cache: M,
    r: DMat<D::Buf>,
    group_wts: D::Buf,
    cross_cache: M,
    c: DMat<D::Buf>,
}

/// Everything a train-mode forward keeps for backward and for the running statistics.
pub struct DeviceCache<D: GpuDevice>(Kept<D, DBnCache<D::Buf>, MlpCache<D::Buf>>);

/// What an eval-mode device forward ([`DeviceModel::forward_eval`]) returns on the host, per
/// group: δ and the two states behind it (as [`crate::gears::net::model::EvalOutput`]).
pub type DeviceEvalOutput = EvalOutput<f32>;

/// How the BatchNorms of a device forward normalise (as the CPU model's passes): with the
/// batch's statistics, keeping what backward needs ([`TrainPass`]), or with the running
/// statistics ([`EvalPass`]). The one forward body, [`DeviceModel::forward_pass`], is generic over it.
trait DevicePass<D: GpuDevice> {
    /// What a BatchNorm keeps.
    type Bn;
    /// What an MLP keeps (its input among it).
    type Mlp;
    /// BatchNorm `prefix` (then ReLU when `relu`) over the rows of `x` weighted by `wts` (total `n`).
    fn bn(m: &DeviceModel<'_, D>, prefix: &str, x: &DMat<D::Buf>, wts: &D::Buf, n: f32, relu: bool) -> Result<(DMat<D::Buf>, Self::Bn)>;
    /// MLP `prefix` over the rows of `x` weighted by `wts` (total `n`).
    fn mlp(m: &DeviceModel<'_, D>, prefix: &str, x: DMat<D::Buf>, wts: &D::Buf, n: f32) -> Result<(DMat<D::Buf>, Self::Mlp)>;
    /// The input of the MLP that `kept` belongs to.
    fn mlp_input(kept: &Self::Mlp) -> &DMat<D::Buf>;
}

/// δ on the device and what a pass of mode `P` keeps.
type PassOut<D, P> = (DMat<<D as GpuDevice>::Buf>, Kept<D, <P as DevicePass<D>>::Bn, <P as DevicePass<D>>::Mlp>);

/// Train mode: batch statistics, caches kept.
struct TrainPass;

impl<D: GpuDevice> DevicePass<D> for TrainPass {
    type Bn = DBnCache<D::Buf>;
    type Mlp = MlpCache<D::Buf>;
    fn bn(m: &DeviceModel<'_, D>, prefix: &str, x: &DMat<D::Buf>, wts: &D::Buf, n: f32, relu: bool) -> Result<BnOut<D::Buf>> {
        ops::bn_train(m.dev, x, wts, n, &m.p(&format!("{prefix}.weight")).buf, &m.p(&format!("{prefix}.bias")).buf, relu)
    }
    fn mlp(m: &DeviceModel<'_, D>, prefix: &str, x: DMat<D::Buf>, wts: &D::Buf, n: f32) -> Result<MlpOut<D::Buf>> {
        m.mlp_fwd(prefix, x, wts, n)
    }
    fn mlp_input(kept: &MlpCache<D::Buf>) -> &DMat<D::Buf> {
        &kept.inputs[0]
    }
}

/// Eval mode: running statistics; an MLP keeps only its input.
struct EvalPass;

impl<D: GpuDevice> DevicePass<D> for EvalPass {
    type Bn = ();
    type Mlp = DMat<D::Buf>;
    fn bn(m: &DeviceModel<'_, D>, prefix: &str, x: &DMat<D::Buf>, _wts: &D::Buf, _n: f32, relu: bool) -> Result<(DMat<D::Buf>, ())> {
        Ok((m.bn_eval(prefix, x, relu)?, ()))
    }
    fn mlp(m: &DeviceModel<'_, D>, prefix: &str, x: DMat<D::Buf>, _wts: &D::Buf, _n: f32) -> Result<(DMat<D::Buf>, DMat<D::Buf>)> {
        let y = m.mlp_eval(prefix, &x)?;
        Ok((y, x))
    }
    fn mlp_input(kept: &DMat<D::Buf>) -> &DMat<D::Buf> {
        kept
    }
}

/// A GEARS model, its gradients and its Adam state on a device.
pub struct DeviceModel<'d, D: GpuDevice> {
    dev: &'d D,
    n_genes: usize,
    hidden: usize,
    names: Vec<String>,
    params: Vec<DMat<D::Buf>>,
    grads: Vec<DMat<D::Buf>>,
    m: Vec<D::Buf>,
    v: Vec<D::Buf>,
    steps: Vec<u64>,
    cfg: AdamConfig,
    buffers: Vec<D::Buf>,
    index: HashMap<String, usize>,
    buffer_index: HashMap<String, usize>,
    coexpr: DCsr<D>,
    coexpr_t: DCsr<D>,
    /// A one-value buffer passed where an entry needs an argument it does not read.
    dummy: D::Buf,
}

/// The CSR of a propagation operator (rows = targets) and of its transpose.
fn prop_csrs(p: &Propagation) -> (HostCsr, HostCsr) {
    let mut fwd = HostCsr::new();
    for i in 0..p.n {
        let r = p.indptr[i] as usize..p.indptr[i + 1] as usize;
        fwd.push_row(r.map(|k| (p.src[k], p.w[k])));
    }
    let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); p.n];
    for d in 0..p.n {
        for k in p.indptr[d] as usize..p.indptr[d + 1] as usize {
            lists[p.src[k] as usize].push((d as u32, p.w[k]));
        }
    }
    let mut t = HostCsr::new();
    for l in lists {
        t.push_row(l);
    }
    (fwd, t)
}

fn sum32(w: &[f32]) -> f32 {
    w.iter().copied().sum()
}

impl<'d, D: GpuDevice> DeviceModel<'d, D> {
    /// Uploads `model` and `adam` (the co-expression operator once, for every step).
    pub fn upload(dev: &'d D, model: &GearsModel<f32>, adam: &Adam<f32>, coexpr: &Propagation) -> Result<Self> {
        let mut host = model.clone();
        let mut am = adam.m.clone();
        let mut av = adam.v.clone();
        let mut names = Vec::new();
        let (mut params, mut grads, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (((name, p), (_, pm)), (_, pv)) in host.params_mut().into_iter().zip(am.params_mut()).zip(av.params_mut()) {
            params.push(DMat { buf: dev.upload(&name, &p.data)?, rows: p.rows, cols: p.cols });
            grads.push(ops::zeros(dev, &format!("gradient of {name}"), p.rows, p.cols)?);
            m.push(dev.upload(&format!("Adam first moment of {name}"), &pm.data)?);
            v.push(dev.upload(&format!("Adam second moment of {name}"), &pv.data)?);
            names.push(name);
        }
        let mut buffers = Vec::new();
        let mut buffer_index = HashMap::new();
        for (name, b) in host.buffers_mut() {
            buffers.push(dev.upload(&name, b)?);
            buffer_index.insert(name, buffers.len() - 1);
        }
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let (fwd, t) = prop_csrs(coexpr);
        Ok(DeviceModel {
            dev,
            n_genes: model.n_genes,
            hidden: model.hidden,
            names,
            params,
            grads,
            m,
            v,
            steps: adam.steps.clone(),
            cfg: adam.cfg,
            buffers,
            index,
            buffer_index,
            coexpr: fwd.upload(dev, "co-expression operator")?,
            coexpr_t: t.upload(dev, "co-expression operator transpose")?,
            dummy: dev.zeros("dummy", 1)?,
        })
    }

    /// Copies the weights, running statistics and Adam state back into host structures of the
    /// same shape (one wait for all of them).
    pub fn download(&self, model: &mut GearsModel<f32>, adam: &mut Adam<f32>) -> Result<()> {
        let host_buffers: Vec<(String, usize)> = model.buffers_mut().into_iter().map(|(n, b)| (n, b.len())).collect();
        let mut bufs: Vec<(&D::Buf, usize)> = self.params.iter().map(|p| (&p.buf, p.len())).collect();
        bufs.extend(host_buffers.iter().map(|(n, len)| (&self.buffers[self.buffer_index[n]], *len)));
        bufs.extend(self.params.iter().zip(&self.m).map(|(p, m)| (m, p.len())));
        bufs.extend(self.params.iter().zip(&self.v).map(|(p, v)| (v, p.len())));
        let mut got = self.dev.download_many::<f32>("model and Adam state", &bufs)?.into_iter();
        for (_, p) in model.params_mut() {
            p.data = got.next().expect("parameter");
        }
        for (_, b) in model.buffers_mut() {
            *b = got.next().expect("running statistic");
        }
        for (_, pm) in adam.m.params_mut() {
            pm.data = got.next().expect("first moment");
        }
        for (_, pv) in adam.v.params_mut() {
            pv.data = got.next().expect("second moment");
        }
        adam.steps.clone_from(&self.steps);
        Ok(())
    }

    /// The gradients of the last backward, as a host model (for tests).
    pub fn download_grads(&self, like: &GearsModel<f32>) -> Result<GearsModel<f32>> {
        let mut g = like.clone();
        for ((name, p), dg) in g.params_mut().into_iter().zip(&self.grads) {
            p.data = self.dev.download(&name, &dg.buf, dg.len())?;
        }
        Ok(g)
    }

    fn p(&self, name: &str) -> &DMat<D::Buf> {
        &self.params[self.index[name]]
    }

    fn g(&self, name: &str) -> &DMat<D::Buf> {
        &self.grads[self.index[name]]
    }

    fn layers(&self, prefix: &str) -> usize {
        (0..).take_while(|i| self.index.contains_key(&format!("{prefix}.network.{}.weight", 3 * i))).count()
    }

    fn mlp_fwd(&self, prefix: &str, x: DMat<D::Buf>, wts: &D::Buf, n: f32) -> Result<MlpOut<D::Buf>> {
        let layers = self.layers(prefix);
        let mut cache = MlpCache { inputs: Vec::new(), bns: Vec::new() };
        let mut cur = x;
        for i in 0..layers {
            let (l, b) = (format!("{prefix}.network.{}", 3 * i), format!("{prefix}.network.{}", 3 * i + 1));
            let z = ops::linear_fwd(self.dev, &cur, self.p(&format!("{l}.weight")), &self.p(&format!("{l}.bias")).buf)?;
            let (y, c) = ops::bn_train(self.dev, &z, wts, n, &self.p(&format!("{b}.weight")).buf, &self.p(&format!("{b}.bias")).buf, i + 1 < layers)?;
            cache.bns.push(c);
            cache.inputs.push(std::mem::replace(&mut cur, y));
        }
        Ok((cur, cache))
    }

    fn mlp_bwd(&self, prefix: &str, dy: DMat<D::Buf>, cache: &MlpCache<D::Buf>, wts: &D::Buf) -> Result<DMat<D::Buf>> {
        let layers = cache.inputs.len();
        let mut d = dy;
        for i in (0..layers).rev() {
            if i + 1 < layers {
                ops::relu_bwd(self.dev, &d, &cache.inputs[i + 1])?;
            }
            let (l, b) = (format!("{prefix}.network.{}", 3 * i), format!("{prefix}.network.{}", 3 * i + 1));
            ops::bn_bwd(self.dev, &d, &cache.bns[i], wts, &self.p(&format!("{b}.weight")).buf, &self.g(&format!("{b}.weight")).buf, &self.g(&format!("{b}.bias")).buf)?;
            let lw = format!("{l}.weight");
            d = ops::linear_bwd(self.dev, &cache.inputs[i], self.p(&lw), &d, &self.g(&lw).buf, &self.g(&format!("{l}.bias")).buf)?;
        }
        Ok(d)
    }

    fn mlp_running(&self, prefix: &str, cache: &MlpCache<D::Buf>) -> Result<()> {
        for (i, c) in cache.bns.iter().enumerate() {
            let b = format!("{prefix}.network.{}", 3 * i + 1);
            self.bn_running(&b, c)?;
        }
        Ok(())
    }

    fn bn_running(&self, b: &str, c: &DBnCache<D::Buf>) -> Result<()> {
        let rm = &self.buffers[self.buffer_index[&format!("{b}.running_mean")]];
        let rv = &self.buffers[self.buffer_index[&format!("{b}.running_var")]];
        ops::bn_running(self.dev, c, rm, rv)
    }

    /// Eval-mode BatchNorm `prefix` with its running statistics, then ReLU when `relu`.
    fn bn_eval(&self, prefix: &str, x: &DMat<D::Buf>, relu: bool) -> Result<DMat<D::Buf>> {
        let rm = &self.buffers[self.buffer_index[&format!("{prefix}.running_mean")]];
        let rv = &self.buffers[self.buffer_index[&format!("{prefix}.running_var")]];
        ops::bn_eval(self.dev, x, &self.p(&format!("{prefix}.weight")).buf, &self.p(&format!("{prefix}.bias")).buf, rm, rv, relu)
    }

    /// Eval-mode MLP `prefix` (as [`crate::gears::net::layers::Mlp::forward_eval`]).
    fn mlp_eval(&self, prefix: &str, x: &DMat<D::Buf>) -> Result<DMat<D::Buf>> {
        let layers = self.layers(prefix);
        let mut cur: Option<DMat<D::Buf>> = None;
        for i in 0..layers {
            let (l, b) = (format!("{prefix}.network.{}", 3 * i), format!("{prefix}.network.{}", 3 * i + 1));
            let z = ops::linear_fwd(self.dev, cur.as_ref().unwrap_or(x), self.p(&format!("{l}.weight")), &self.p(&format!("{l}.bias")).buf)?;
            cur = Some(self.bn_eval(&b, &z, i + 1 < layers)?);
        }
        Ok(cur.expect("a GEARS MLP has at least one layer"))
    }

    /// Applies the embedding max-norm (1.0) to the three embedding tables.
    pub fn renorm_embeddings(&self) -> Result<()> {
        for n in ["gene_emb.weight", "emb_pos.weight", "pert_emb.weight"] {
            ops::renorm(self.dev, self.p(n), 1.0)?;
        }
        Ok(())
    }

    /// Train-mode forward: δ (groups x G) on the host and the cache for [`Self::backward`].
    pub fn forward(&self, go: &Propagation, inp: &ForwardInput) -> Result<(Mat<f32>, DeviceCache<D>)> {
        let (delta, kept) = self.forward_pass::<TrainPass>(go, inp)?;
        let host = Mat::from_vec(delta.rows, delta.cols, self.dev.download("delta", &delta.buf, delta.len())?);
        Ok((host, DeviceCache(kept)))
    }

    /// Eval-mode forward (every BatchNorm on its running statistics, as
    /// [`GearsModel::forward_eval_parts`]): δ, u and c per group on the host, after one wait.
    pub fn forward_eval(&self, go: &Propagation, inp: &ForwardInput) -> Result<DeviceEvalOutput> {
        let (delta, kept) = self.forward_pass::<EvalPass>(go, inp)?;
        let u = &kept.cross_cache;
        let bufs = [(&delta.buf, delta.len()), (&u.buf, u.len()), (&kept.c.buf, kept.c.len())];
        let mut got = self.dev.download_many::<f32>("eval-mode outputs", &bufs)?.into_iter();
        let mut next = |rows: usize, cols: usize| Mat::from_vec(rows, cols, got.next().expect("three downloads"));
        Ok(EvalOutput { delta: next(delta.rows, delta.cols), u: next(u.rows, u.cols), c: next(kept.c.rows, kept.c.cols) })
    }

    /// The forward body shared by both modes: δ on the device and the intermediate values.
    fn forward_pass<P: DevicePass<D>>(&self, go: &Propagation, inp: &ForwardInput) -> Result<PassOut<D, P>> {
        let dev = self.dev;
        let (g, h) = (self.n_genes, self.hidden);
        let ng = inp.groups.len();
        let t = |x: f64| x as f32;
        // 1. Base gene embedding.
        let emb_w = vec![t(inp.n_cells as f64); g];
        let emb_wts = dev.upload("gene weights", &emb_w)?;
        let (e1, bn_emb) = P::bn(self, "bn_emb", self.p("gene_emb.weight"), &emb_wts, sum32(&emb_w), true)?;
        // 2. Positional embedding per variant.
        let (lw, lb) = (self.p("layers_emb_pos.0.lin.weight"), &self.p("layers_emb_pos.0.lin.bias").buf);
        let pe = if inp.variants.iter().any(|v| v.propagate) {
            let pe = ops::zeros(dev, "co-expression propagation", g, h)?;
            ops::spmm(dev, &self.coexpr, self.p("emb_pos.weight"), &pe, 1.0, 0.0)?;
            Some(pe)
        } else {
            None
        };
        let pos_prop = pe.as_ref().map(|pe| ops::linear_fwd(dev, pe, lw, lb)).transpose()?;
        let pos_raw = inp.variants.iter().any(|v| !v.propagate).then(|| ops::linear_fwd(dev, self.p("emb_pos.weight"), lw, lb)).transpose()?;
        let nv = inp.variants.len();
        let base0 = ops::zeros(dev, "base embedding", nv * g, h)?;
        let mut base0_w = Vec::with_capacity(nv * g);
        for (k, v) in inp.variants.iter().enumerate() {
            let pos = if v.propagate { pos_prop.as_ref() } else { pos_raw.as_ref() }.expect("variant position computed");
            ops::axpbyz(dev, g * h, 1.0, &e1.buf, 0, t(POS_MIX), &pos.buf, 0, 0.0, &base0.buf, k * g * h)?;
            base0_w.extend(std::iter::repeat_n(t(v.weight), g));
        }
        let base0_wts = dev.upload("base weights", &base0_w)?;
        let (a, emb_cache) = P::mlp(self, "emb_trans_v2", base0, &base0_wts, sum32(&base0_w))?;
        // 3. GO-graph perturbation embeddings for the needed nodes; 4. fusion.
        let mut needed: Vec<u32> = inp.groups.iter().flat_map(|gr| gr.perts.iter().copied()).collect();
        needed.sort_unstable();
        needed.dedup();
        let perturbed: Vec<usize> = (0..ng).filter(|&i| !inp.groups[i].perts.is_empty()).collect();
        let (mut pe_go, mut q, mut fuse_wts, mut fuse_cache) = (None, None, None, None);
        if !perturbed.is_empty() {
            let mut sub = HostCsr::new();
            for &i in &needed {
                let r = go.indptr[i as usize] as usize..go.indptr[i as usize + 1] as usize;
                sub.push_row(r.map(|k| (go.src[k], go.w[k])));
            }
            let sub = sub.upload(dev, "GO operator rows")?;
            let pg = ops::zeros(dev, "GO propagation", needed.len(), h)?;
            ops::spmm(dev, &sub, self.p("pert_emb.weight"), &pg, 1.0, 0.0)?;
            let z = ops::linear_fwd(dev, &pg, self.p("sim_layers.0.lin.weight"), &self.p("sim_layers.0.lin.bias").buf)?;
            let mut sel = HostCsr::new();
            for &gi in &perturbed {
                sel.push_row(inp.groups[gi].perts.iter().map(|v| (needed.binary_search(v).expect("needed node") as u32, 1.0)));
            }
            let sel = sel.upload(dev, "perturbation sums")?;
            let s = ops::zeros(dev, "perturbation sums", perturbed.len(), h)?;
            ops::spmm(dev, &sel, &z, &s, 1.0, 0.0)?;
            let total: f64 = perturbed.iter().map(|&gi| inp.groups[gi].weight).sum();
            let fw: Vec<f32> = perturbed.iter().map(|&gi| t(if total == 1.0 { 2.0 } else { inp.groups[gi].weight })).collect();
            let fwb = dev.upload("fusion weights", &fw)?;
            let (qq, fc) = P::mlp(self, "pert_fuse", s, &fwb, sum32(&fw))?;
            pe_go = Some(pg);
            q = Some(qq);
            fuse_wts = Some(fwb);
            fuse_cache = Some(fc);
        }
        // 5. The (group, gene) grid, bn_pert_base, ReLU, recovery_w.
        let mut qrow = vec![u32::MAX; ng];
        for (o, &gi) in perturbed.iter().enumerate() {
            qrow[gi] = o as u32;
        }
        let info: Vec<u32> = inp.groups.iter().enumerate().flat_map(|(gi, gr)| [gr.variant as u32, qrow[gi]]).collect();
        let info = dev.upload("group layout", &info)?;
        let grid = ops::grid(dev, &a, q.as_ref().map_or(&self.dummy, |q| &q.buf), &info, ng, g, h)?;
        drop(a);
        let grid_w: Vec<f32> = inp.groups.iter().flat_map(|gr| std::iter::repeat_n(t(gr.weight), g)).collect();
        let grid_wts = dev.upload("grid weights", &grid_w)?;
        let grid_n = sum32(&grid_w);
        let (y1r, bn_base) = P::bn(self, "bn_pert_base", &grid, &grid_wts, grid_n, true)?;
        drop(grid);
        let (r, rec_cache) = P::mlp(self, "recovery_w", y1r, &grid_wts, grid_n)?;
        // 6. Gene-specific layer 1.
        let u = ops::indv1_fwd(dev, &r, &self.p("indv_w1").buf, &self.p("indv_b1").buf, ng, g)?;
        // 7. Cross-gene state; 8. gene-specific layer 2.
        let group_w: Vec<f32> = inp.groups.iter().map(|gr| t(gr.weight)).collect();
        let group_wts = dev.upload("group weights", &group_w)?;
        let (c, cross_cache) = P::mlp(self, "cross_gene_state", u, &group_wts, sum32(&group_w))?;
        let delta = ops::zeros(dev, "delta", ng, g)?;
        let w2 = self.p("indv_w2");
        if ng > 0 {
            let gm = Gemm { off_b: 1, ldb: h + 1, ..Gemm::new(ng, g, h, false, true, 0.0) };
            dev.gemm(&gm, &c.buf, &w2.buf, &delta.buf)?;
        }
        ops::indv2_fwd(dev, P::mlp_input(&cross_cache), &w2.buf, &self.p("indv_b2").buf, &delta, h)?;
        Ok((
            delta,
            Kept {
                bn_emb,
                e1,
                emb_wts,
                pe,
                base0_wts,
                emb_cache,
                needed,
                pe_go,
                perturbed,
                fuse_wts,
                fuse_cache,
                grid_wts,
                bn_base,
                rec_cache,
                r,
                group_wts,
                cross_cache,
                c,
            },
        ))
    }

    /// Sets every gradient to zero.
    pub fn zero_grads(&self) -> Result<()> {
        for g in &self.grads {
            ops::fill(self.dev, &g.buf, 0, g.len(), 0.0)?;
        }
        Ok(())
    }

    /// Backward of [`Self::forward`] given `d_delta` (groups x G, summed over each group's
    /// cells): accumulates into the gradients.
    pub fn backward(&self, go: &Propagation, inp: &ForwardInput, cache: &DeviceCache<D>, d_delta: &Mat<f32>) -> Result<()> {
        let cache = &cache.0;
        let dev = self.dev;
        let (g, h) = (self.n_genes, self.hidden);
        let ng = inp.groups.len();
        let dd = DMat { buf: dev.upload("delta gradient", &d_delta.data)?, rows: ng, cols: g };
        // 8. Gene-specific layer 2.
        let w2 = self.p("indv_w2");
        let dw2 = &self.g("indv_w2").buf;
        let u = &cache.cross_cache.inputs[0];
        let du = ops::indv2_bwd(dev, &dd, u, &w2.buf, dw2, &self.g("indv_b2").buf, h)?;
        let dc = ops::zeros(dev, "cross-gene gradient", ng, h)?;
        if ng > 0 {
            dev.gemm(&Gemm { off_b: 1, ldb: h + 1, ..Gemm::new(ng, h, g, false, false, 0.0) }, &dd.buf, &w2.buf, &dc.buf)?;
            dev.gemm(&Gemm { off_c: 1, ldc: h + 1, ..Gemm::new(g, h, ng, true, false, 1.0) }, &dd.buf, &cache.c.buf, dw2)?;
        }
        // 7. Cross-gene MLP.
        let du2 = self.mlp_bwd("cross_gene_state", dc, &cache.cross_cache, &cache.group_wts)?;
        ops::axpbyz(dev, ng * g, 1.0, &du2.buf, 0, 0.0, &self.dummy, 0, 1.0, &du.buf, 0)?;
        // 6. Gene-specific layer 1.
        let dr = ops::indv1_bwd(dev, &du, &cache.r, &self.p("indv_w1").buf, &self.g("indv_w1").buf, &self.g("indv_b1").buf)?;
        // 5. recovery_w, ReLU, bn_pert_base.
        let dy1 = self.mlp_bwd("recovery_w", dr, &cache.rec_cache, &cache.grid_wts)?;
        ops::relu_bwd(dev, &dy1, &cache.rec_cache.inputs[0])?;
        ops::bn_bwd(dev, &dy1, &cache.bn_base, &cache.grid_wts, &self.p("bn_pert_base.weight").buf, &self.g("bn_pert_base.weight").buf, &self.g("bn_pert_base.bias").buf)?;
        let dgrid = dy1;
        let nv = inp.variants.len();
        let mut sum_a = HostCsr::new();
        for v in 0..nv {
            for j in 0..g {
                sum_a.push_row(inp.groups.iter().enumerate().filter(|(_, gr)| gr.variant == v).map(|(gi, _)| ((gi * g + j) as u32, 1.0)));
            }
        }
        let sum_a = sum_a.upload(dev, "grid gradient sums")?;
        let da = ops::zeros(dev, "base gradient", nv * g, h)?;
        ops::spmm(dev, &sum_a, &dgrid, &da, 1.0, 0.0)?;
        // 4. Fusion, 3. GO SGConv.
        if let (Some(fc), Some(fw), Some(pe_go)) = (&cache.fuse_cache, &cache.fuse_wts, &cache.pe_go) {
            let mut sum_q = HostCsr::new();
            for &gi in &cache.perturbed {
                sum_q.push_row((0..g).map(|j| ((gi * g + j) as u32, 1.0)));
            }
            let sum_q = sum_q.upload(dev, "perturbation gradient sums")?;
            let dq = ops::zeros(dev, "perturbation gradient", cache.perturbed.len(), h)?;
            ops::spmm(dev, &sum_q, &dgrid, &dq, 1.0, 0.0)?;
            let ds = self.mlp_bwd("pert_fuse", dq, fc, fw)?;
            let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); cache.needed.len()];
            for (o, &gi) in cache.perturbed.iter().enumerate() {
                for v in &inp.groups[gi].perts {
                    lists[cache.needed.binary_search(v).expect("needed node")].push((o as u32, 1.0));
                }
            }
            let mut sel_t = HostCsr::new();
            for l in lists {
                sel_t.push_row(l);
            }
            let sel_t = sel_t.upload(dev, "perturbation sums transpose")?;
            let dz = ops::zeros(dev, "GO embedding gradient", cache.needed.len(), h)?;
            ops::spmm(dev, &sel_t, &ds, &dz, 1.0, 0.0)?;
            let dpe = ops::linear_bwd(dev, pe_go, self.p("sim_layers.0.lin.weight"), &dz, &self.g("sim_layers.0.lin.weight").buf, &self.g("sim_layers.0.lin.bias").buf)?;
            let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); go.n];
            for (o, &i) in cache.needed.iter().enumerate() {
                for k in go.indptr[i as usize] as usize..go.indptr[i as usize + 1] as usize {
                    lists[go.src[k] as usize].push((o as u32, go.w[k]));
                }
            }
            let mut go_t = HostCsr::new();
            for l in lists {
                go_t.push_row(l);
            }
            let go_t = go_t.upload(dev, "GO operator transpose rows")?;
            ops::spmm(dev, &go_t, &dpe, self.g("pert_emb.weight"), 1.0, 1.0)?;
        }
        drop(dgrid);
        // 2. emb_trans_v2 and the positional SGConv.
        let dbase0 = self.mlp_bwd("emb_trans_v2", da, &cache.emb_cache, &cache.base0_wts)?;
        let de1 = ops::zeros(dev, "gene embedding gradient", g, h)?;
        let mut dpos_prop: Option<DMat<D::Buf>> = None;
        let mut dpos_raw: Option<DMat<D::Buf>> = None;
        for (k, v) in inp.variants.iter().enumerate() {
            ops::axpbyz(dev, g * h, 1.0, &dbase0.buf, k * g * h, 0.0, &self.dummy, 0, 1.0, &de1.buf, 0)?;
            let slot = if v.propagate { &mut dpos_prop } else { &mut dpos_raw };
            if slot.is_none() {
                *slot = Some(ops::zeros(dev, "positional gradient", g, h)?);
            }
            let m = slot.as_ref().expect("just set");
            ops::axpbyz(dev, g * h, POS_MIX as f32, &dbase0.buf, k * g * h, 0.0, &self.dummy, 0, 1.0, &m.buf, 0)?;
        }
        let (lw, dlw, dlb) = (self.p("layers_emb_pos.0.lin.weight"), &self.g("layers_emb_pos.0.lin.weight").buf, &self.g("layers_emb_pos.0.lin.bias").buf);
        if let Some(dp) = dpos_prop {
            let pe = cache.pe.as_ref().expect("propagated input");
            let dpe = ops::linear_bwd(dev, pe, lw, &dp, dlw, dlb)?;
            ops::spmm(dev, &self.coexpr_t, &dpe, self.g("emb_pos.weight"), 1.0, 1.0)?;
        }
        if let Some(dp) = dpos_raw {
            let dx = ops::linear_bwd(dev, self.p("emb_pos.weight"), lw, &dp, dlw, dlb)?;
            ops::axpbyz(dev, g * h, 1.0, &dx.buf, 0, 0.0, &self.dummy, 0, 1.0, &self.g("emb_pos.weight").buf, 0)?;
        }
        // 1. ReLU and bn_emb.
        ops::relu_bwd(dev, &de1, &cache.e1)?;
        ops::bn_bwd(dev, &de1, &cache.bn_emb, &cache.emb_wts, &self.p("bn_emb.weight").buf, &self.g("bn_emb.weight").buf, &self.g("bn_emb.bias").buf)?;
        ops::axpbyz(dev, g * h, 1.0, &de1.buf, 0, 0.0, &self.dummy, 0, 1.0, &self.g("gene_emb.weight").buf, 0)
    }

    /// Folds the batch statistics of a forward into every BatchNorm's running averages.
    pub fn update_running(&self, cache: &DeviceCache<D>) -> Result<()> {
        let cache = &cache.0;
        self.bn_running("bn_emb", &cache.bn_emb)?;
        self.mlp_running("emb_trans_v2", &cache.emb_cache)?;
        if let Some(fc) = &cache.fuse_cache {
            self.mlp_running("pert_fuse", fc)?;
        }
        self.bn_running("bn_pert_base", &cache.bn_base)?;
        self.mlp_running("recovery_w", &cache.rec_cache)?;
        self.mlp_running("cross_gene_state", &cache.cross_cache)
    }

    /// One Adam update with learning rate `lr` (perturbation-path tensors skipped when the batch
    /// had no perturbed cell, as [`Adam::step`]).
    pub fn adam_step(&mut self, lr: f64, perturbed: bool) -> Result<()> {
        for i in 0..self.params.len() {
            if !perturbed && is_perturbation_path(&self.names[i]) {
                continue;
            }
            self.steps[i] += 1;
            let s = AdamScalars::new(&self.cfg, self.steps[i], lr);
            ops::adam(self.dev, self.params[i].len(), &self.params[i].buf, &self.grads[i].buf, &self.m[i], &self.v[i], &s)?;
        }
        Ok(())
    }
}
