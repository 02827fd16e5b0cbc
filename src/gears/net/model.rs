//! The GEARS network (spec §3) with an explicit forward and backward over *groups*: a group is a
//! set of cells of the batch that provably get the same output δ (same perturbation, same
//! positional variant), carried once with a weight equal to its number of cells. Every
//! BatchNorm counts a group's rows with that weight, which is exactly the statistics of the
//! per-cell batch; backward receives per group the sum of its cells' gradients.
//!
//! The gene-level part (embeddings, co-expression SGConv, `emb_trans_v2`) is computed once per
//! step on G rows per positional variant instead of B*G rows (all cells are identical there).

use super::layers::{BatchNorm, Linear, Mlp, MlpCache};
use super::mat::{gemm_nn, gemm_tn_acc, Mat, Real};
use super::ops::{self, BnCache};
use super::propagation::Propagation;
use crate::rng::SplitMix64;

/// How the BatchNorms of a forward pass normalise: with the batch's statistics over weighted
/// rows, keeping what backward needs ([`TrainPass`]), or with the running statistics, keeping
/// nothing ([`EvalPass`]). The one forward body, [`GearsModel::forward_pass`], is generic over it.
trait Pass<T: Real> {
    /// What a BatchNorm keeps.
    type Bn;
    /// What an MLP keeps.
    type Mlp;
    /// BatchNorm then ReLU over the rows of `x` weighted by `wts`.
    fn bn_relu(bn: &BatchNorm<T>, x: &Mat<T>, wts: &[T]) -> (Mat<T>, Self::Bn);
    /// An MLP over the rows of `x` weighted by `wts`.
    fn mlp(mlp: &Mlp<T>, x: &Mat<T>, wts: &[T]) -> (Mat<T>, Self::Mlp);
}

/// Train mode: batch statistics, caches kept.
struct TrainPass;

impl<T: Real> Pass<T> for TrainPass {
    type Bn = BnCache<T>;
    type Mlp = MlpCache<T>;
    fn bn_relu(bn: &BatchNorm<T>, x: &Mat<T>, wts: &[T]) -> (Mat<T>, BnCache<T>) {
        ops::bn_train_fwd_act(x, wts, &bn.gamma.data, &bn.beta.data, true)
    }
    fn mlp(mlp: &Mlp<T>, x: &Mat<T>, wts: &[T]) -> (Mat<T>, MlpCache<T>) {
        mlp.forward_train(x, wts)
    }
}

/// Eval mode: running statistics, nothing kept.
struct EvalPass;

impl<T: Real> Pass<T> for EvalPass {
    type Bn = ();
    type Mlp = ();
    fn bn_relu(bn: &BatchNorm<T>, x: &Mat<T>, _wts: &[T]) -> (Mat<T>, ()) {
        let mut y = bn.forward_eval(x);
        ops::relu_inplace(&mut y);
        (y, ())
    }
    fn mlp(mlp: &Mlp<T>, x: &Mat<T>, _wts: &[T]) -> (Mat<T>, ()) {
        (mlp.forward_eval(x), ())
    }
}

/// Weight of the co-expression embedding added to the gene embedding (hard-coded in GEARS).
pub const POS_MIX: f64 = 0.2;

/// The parameters and buffers of a GEARS model (names follow the PyTorch `state_dict`).
#[derive(Clone, Debug, PartialEq)]
pub struct GearsModel<T> {
    /// Number of genes G.
    pub n_genes: usize,
    /// Number of perturbation-graph nodes P.
    pub n_perts: usize,
    /// Hidden size h.
    pub hidden: usize,
    /// `gene_emb.weight`, G x h.
    pub gene_emb: Mat<T>,
    /// `emb_pos.weight`, G x h.
    pub emb_pos: Mat<T>,
    /// `pert_emb.weight`, P x h.
    pub pert_emb: Mat<T>,
    /// `bn_emb`.
    pub bn_emb: BatchNorm<T>,
    /// `layers_emb_pos.0.lin` (SGConv on the co-expression graph).
    pub pos_lin: Linear<T>,
    /// `emb_trans_v2` = MLP([h, h, h]).
    pub emb_trans_v2: Mlp<T>,
    /// `sim_layers.0.lin` (SGConv on the GO graph).
    pub sim_lin: Linear<T>,
    /// `pert_fuse` = MLP([h, h, h]).
    pub pert_fuse: Mlp<T>,
    /// `bn_pert_base`.
    pub bn_pert_base: BatchNorm<T>,
    /// `recovery_w` = MLP([h, 2h, h]).
    pub recovery_w: Mlp<T>,
    /// `indv_w1`, G x h.
    pub indv_w1: Mat<T>,
    /// `indv_b1`, G x 1.
    pub indv_b1: Mat<T>,
    /// `cross_gene_state` = MLP([G, h, h]).
    pub cross_gene_state: Mlp<T>,
    /// `indv_w2`, G x (h+1).
    pub indv_w2: Mat<T>,
    /// `indv_b2`, 1 x G.
    pub indv_b2: Mat<T>,
}

/// A group of identical cells in a forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Perturbed nodes (indices into the perturbation graph); empty for control.
    pub perts: Vec<u32>,
    /// Number of cells it stands for (train mode statistics).
    pub weight: f64,
    /// Index into [`ForwardInput::variants`].
    pub variant: usize,
}

/// Positional-embedding variant: with co-expression propagation or without (GEARS quirk: cells
/// after the first of a batch get no propagation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Variant {
    /// Whether the co-expression SGConv propagates for these cells.
    pub propagate: bool,
    /// Number of cells of the batch with this variant.
    pub weight: f64,
}

/// What a forward pass runs on.
#[derive(Clone, Debug, PartialEq)]
pub struct ForwardInput {
    /// Positional variants (1 or 2).
    pub variants: Vec<Variant>,
    /// The groups; output row `i` of δ belongs to group `i`.
    pub groups: Vec<Group>,
    /// Number of cells in the batch (B).
    pub n_cells: usize,
}

/// What an eval-mode forward ([`GearsModel::forward_eval_parts`]) gives per group: δ and the two
/// states it is made of, `δ[g] = w2[g, 0] u[g] + <w2[g, 1..], c> + b2[g]` (spec §3.3 steps 6-8).
/// IterPert's `cross_gene_out` of a group is `[u[g], c]` for every gene g.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalOutput<T> {
    /// δ, groups x G.
    pub delta: Mat<T>,
    /// The gene-specific layer 1 output u, groups x G.
    pub u: Mat<T>,
    /// The cross-gene state c, groups x h.
    pub c: Mat<T>,
}

/// The intermediate values of a forward pass besides δ; `B` and `M` are what its BatchNorms and
/// MLPs keep (caches in train mode, nothing in eval mode).
#[derive(Clone, Debug)]
struct Intermediates<T, B, M> {
    bn_emb: B,
    e1: Mat<T>,
    pe: Option<Mat<T>>,
    base0: Mat<T>,
    base0_wts: Vec<T>,
    emb_cache: M,
    needed: Vec<u32>,
    pe_go: Mat<T>,
    perturbed: Vec<usize>,
    fuse_wts: Vec<T>,
    /// The fusion MLP's input and cache, when some group is perturbed.
    fuse: Option<(Mat<T>, M)>,
    grid_wts: Vec<T>,
    bn_base: B,
    y1r: Mat<T>,
    rec_cache: M,
    r: Mat<T>,
    group_wts: Vec<T>,
    u: Mat<T>,
    cross_cache: M,
    c: Mat<T>,
    w2_tail: Mat<T>,
}

/// Everything a train-mode forward ([`GearsModel::forward_train`]) keeps for backward and for the
/// running statistics.
#[derive(Clone, Debug)]
pub struct ForwardCache<T>(Intermediates<T, BnCache<T>, MlpCache<T>>);

impl<T: Real> GearsModel<T> {
    /// A freshly initialised model (spec §3.2): embeddings N(0,1), PyTorch Linear init, BatchNorm
    /// (1, 0), gene-specific tensors Xavier-normal.
    pub fn init(n_genes: usize, n_perts: usize, hidden: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let (g, p, h) = (n_genes, n_perts, hidden);
        let mut normal = |n: usize, std: f64| (0..n).map(|_| T::from_f64(rng.normal() * std)).collect::<Vec<T>>();
        let gene_emb = Mat::from_vec(g, h, normal(g * h, 1.0));
        let emb_pos = Mat::from_vec(g, h, normal(g * h, 1.0));
        let pert_emb = Mat::from_vec(p, h, normal(p * h, 1.0));
        let indv_w1 = Mat::from_vec(g, h, normal(g * h, (2.0 / (h + g) as f64).sqrt()));
        let indv_b1 = Mat::from_vec(g, 1, normal(g, (2.0 / (1 + g) as f64).sqrt()));
        let indv_w2 = Mat::from_vec(g, h + 1, normal(g * (h + 1), (2.0 / ((g + 1) * (h + 1)) as f64).sqrt()));
        let indv_b2 = Mat::from_vec(1, g, normal(g, (2.0 / (g + 1) as f64).sqrt()));
        let mut rng = SplitMix64::new(seed ^ 0x5EED_0F11_AEA2);
        GearsModel {
            n_genes: g,
            n_perts: p,
            hidden: h,
            gene_emb,
            emb_pos,
            pert_emb,
            bn_emb: BatchNorm::new(h),
            pos_lin: Linear::init(h, h, &mut rng),
            emb_trans_v2: Mlp::init(&[h, h, h], &mut rng),
            sim_lin: Linear::init(h, h, &mut rng),
            pert_fuse: Mlp::init(&[h, h, h], &mut rng),
            bn_pert_base: BatchNorm::new(h),
            recovery_w: Mlp::init(&[h, 2 * h, h], &mut rng),
            indv_w1,
            indv_b1,
            cross_gene_state: Mlp::init(&[g, h, h], &mut rng),
            indv_w2,
            indv_b2,
        }
    }

    /// Applies the embedding max-norm (1.0) to the three embedding tables, as every GEARS forward does.
    pub fn renorm_embeddings(&mut self) {
        ops::renorm_rows(&mut self.gene_emb, 1.0);
        ops::renorm_rows(&mut self.emb_pos, 1.0);
        ops::renorm_rows(&mut self.pert_emb, 1.0);
    }

    /// Train-mode forward: δ (groups x G) with every BatchNorm on the batch's statistics, and the
    /// cache for [`Self::backward`] and [`Self::update_running`].
    pub fn forward_train(&self, coexpr: &Propagation, go: &Propagation, inp: &ForwardInput) -> (Mat<T>, ForwardCache<T>) {
        let (delta, kept) = self.forward_pass::<TrainPass>(coexpr, go, inp);
        (delta, ForwardCache(kept))
    }

    /// Eval-mode forward: δ (groups x G) with every BatchNorm on its running statistics.
    pub fn forward_eval(&self, coexpr: &Propagation, go: &Propagation, inp: &ForwardInput) -> Mat<T> {
        self.forward_pass::<EvalPass>(coexpr, go, inp).0
    }

    /// [`Self::forward_eval`] with the states behind δ: u and the cross-gene state c.
    pub fn forward_eval_parts(&self, coexpr: &Propagation, go: &Propagation, inp: &ForwardInput) -> EvalOutput<T> {
        let (delta, kept) = self.forward_pass::<EvalPass>(coexpr, go, inp);
        EvalOutput { delta, u: kept.u, c: kept.c }
    }

    /// The forward body shared by both modes: δ and the intermediate values.
    fn forward_pass<P: Pass<T>>(&self, coexpr: &Propagation, go: &Propagation, inp: &ForwardInput) -> (Mat<T>, Intermediates<T, P::Bn, P::Mlp>) {
        let (g, h) = (self.n_genes, self.hidden);
        let ng = inp.groups.len();
        let t = T::from_f64;
        // 1. Base gene embedding over B*G identical rows.
        let emb_wts = vec![t(inp.n_cells as f64); g];
        let (e1, bn_emb) = P::bn_relu(&self.bn_emb, &self.gene_emb, &emb_wts);
        // 2. Positional embedding per variant, added with weight 0.2.
        let pe = inp.variants.iter().any(|v| v.propagate).then(|| coexpr.apply(&self.emb_pos, None));
        let pos_prop = pe.as_ref().map(|pe| self.pos_lin.forward(pe));
        let pos_raw = inp.variants.iter().any(|v| !v.propagate).then(|| self.pos_lin.forward(&self.emb_pos));
        let nv = inp.variants.len();
        let mut base0 = Mat::zeros(nv * g, h);
        let mut base0_wts = Vec::with_capacity(nv * g);
        for (k, v) in inp.variants.iter().enumerate() {
            let pos = if v.propagate { pos_prop.as_ref() } else { pos_raw.as_ref() }.expect("variant position computed");
            for i in 0..g * h {
                base0.data[k * g * h + i] = e1.data[i] + t(POS_MIX) * pos.data[i];
            }
            base0_wts.extend(std::iter::repeat_n(t(v.weight), g));
        }
        let (a, emb_cache) = P::mlp(&self.emb_trans_v2, &base0, &base0_wts);
        // 3. GO-graph perturbation embeddings, only for the nodes the batch needs.
        let mut needed: Vec<u32> = inp.groups.iter().flat_map(|gr| gr.perts.iter().copied()).collect();
        needed.sort_unstable();
        needed.dedup();
        let pe_go = go.apply(&self.pert_emb, Some(&needed));
        let z = self.sim_lin.forward(&pe_go);
        // 4. Fusion over the perturbed groups.
        let perturbed: Vec<usize> = (0..ng).filter(|&i| !inp.groups[i].perts.is_empty()).collect();
        let mut s = Mat::zeros(perturbed.len(), h);
        for (o, &gi) in perturbed.iter().enumerate() {
            for v in &inp.groups[gi].perts {
                let zr = z.row(needed.binary_search(v).expect("needed node"));
                s.row_mut(o).iter_mut().zip(zr).for_each(|(a, &b)| *a += b);
            }
        }
        let total: f64 = perturbed.iter().map(|&gi| inp.groups[gi].weight).sum();
        // A single perturbed cell is duplicated for BatchNorm, as GEARS does.
        let fuse_wts: Vec<T> = perturbed.iter().map(|&gi| t(if total == 1.0 { 2.0 } else { inp.groups[gi].weight })).collect();
        let (q, fuse) = if perturbed.is_empty() {
            (Mat::zeros(0, h), None)
        } else {
            let (q, c) = P::mlp(&self.pert_fuse, &s, &fuse_wts);
            (q, Some((s, c)))
        };
        // 5. The (group, gene) grid: base + q, bn_pert_base, ReLU, recovery_w.
        let mut qrow: Vec<Option<usize>> = vec![None; ng];
        for (o, &gi) in perturbed.iter().enumerate() {
            qrow[gi] = Some(o);
        }
        let mut grid_data = Vec::with_capacity(ng * g * h);
        let mut grid_wts = Vec::with_capacity(ng * g);
        for (gi, gr) in inp.groups.iter().enumerate() {
            let ab = &a.data[gr.variant * g * h..(gr.variant + 1) * g * h];
            match qrow[gi] {
                Some(o) => {
                    let qr = q.row(o);
                    for row in ab.chunks_exact(h) {
                        grid_data.extend(row.iter().zip(qr).map(|(&x, &y)| x + y));
                    }
                }
                None => grid_data.extend_from_slice(ab),
            }
            grid_wts.extend(std::iter::repeat_n(t(gr.weight), g));
        }
        let grid = Mat::from_vec(ng * g, h, grid_data);
        let (y1r, bn_base) = P::bn_relu(&self.bn_pert_base, &grid, &grid_wts);
        drop(grid);
        let (r, rec_cache) = P::mlp(&self.recovery_w, &y1r, &grid_wts);
        // 6. Gene-specific layer 1.
        let mut u = Mat::zeros(ng, g);
        for gi in 0..ng {
            for j in 0..g {
                let rr = &r.data[(gi * g + j) * h..(gi * g + j + 1) * h];
                let s: T = rr.iter().zip(self.indv_w1.row(j)).map(|(&x, &w)| x * w).sum();
                u.data[gi * g + j] = s + self.indv_b1.data[j];
            }
        }
        // 7. Cross-gene state; 8. gene-specific layer 2.
        let group_wts: Vec<T> = inp.groups.iter().map(|gr| t(gr.weight)).collect();
        let (c, cross_cache) = P::mlp(&self.cross_gene_state, &u, &group_wts);
        let w2_tail = Mat::from_vec(g, h, (0..g).flat_map(|j| self.indv_w2.row(j)[1..].to_vec()).collect());
        let mut delta = Mat::zeros(ng, g);
        gemm_nn(&c.data, ng, h, &w2_tail.data, g, true, T::zero(), &mut delta.data);
        for gi in 0..ng {
            for j in 0..g {
                delta.data[gi * g + j] += self.indv_w2.data[j * (h + 1)] * u.data[gi * g + j] + self.indv_b2.data[j];
            }
        }
        let kept = Intermediates {
            bn_emb,
            e1,
            pe,
            base0,
            base0_wts,
            emb_cache,
            needed,
            pe_go,
            perturbed,
            fuse_wts,
            fuse,
            grid_wts,
            bn_base,
            y1r,
            rec_cache,
            r,
            group_wts,
            u,
            cross_cache,
            c,
            w2_tail,
        };
        (delta, kept)
    }

    /// Folds the batch statistics of a train-mode forward into every BatchNorm's running averages.
    pub fn update_running(&mut self, cache: &ForwardCache<T>) {
        let cache = &cache.0;
        self.bn_emb.update_running(&cache.bn_emb);
        self.emb_trans_v2.update_running(&cache.emb_cache);
        if let Some((_, fc)) = &cache.fuse {
            self.pert_fuse.update_running(fc);
        }
        self.bn_pert_base.update_running(&cache.bn_base);
        self.recovery_w.update_running(&cache.rec_cache);
        self.cross_gene_state.update_running(&cache.cross_cache);
    }

    /// Backward of [`Self::forward_train`] given `d_delta` (groups x G, summed over each group's
    /// cells). Accumulates into `grad` (a model of the same shape used as gradient storage).
    pub fn backward(&self, coexpr: &Propagation, go: &Propagation, inp: &ForwardInput, cache: &ForwardCache<T>, d_delta: &Mat<T>, grad: &mut GearsModel<T>) {
        let cache = &cache.0;
        let (g, h) = (self.n_genes, self.hidden);
        let ng = inp.groups.len();
        let t = T::from_f64;
        // 8. Gene-specific layer 2.
        let mut du = Mat::zeros(ng, g);
        for gi in 0..ng {
            for j in 0..g {
                let d = d_delta.data[gi * g + j];
                grad.indv_b2.data[j] += d;
                grad.indv_w2.data[j * (h + 1)] += d * cache.u.data[gi * g + j];
                du.data[gi * g + j] = d * self.indv_w2.data[j * (h + 1)];
            }
        }
        let mut dc = Mat::zeros(ng, h);
        gemm_nn(&d_delta.data, ng, g, &cache.w2_tail.data, h, false, T::zero(), &mut dc.data);
        let mut dtail = vec![T::zero(); g * h];
        gemm_tn_acc(&d_delta.data, ng, g, &cache.c.data, h, &mut dtail);
        for j in 0..g {
            for k in 0..h {
                grad.indv_w2.data[j * (h + 1) + 1 + k] += dtail[j * h + k];
            }
        }
        // 7. Cross-gene MLP.
        let du2 = self.cross_gene_state.backward(&cache.u, dc, &cache.cross_cache, &cache.group_wts, &mut grad.cross_gene_state);
        du.data.iter_mut().zip(&du2.data).for_each(|(a, &b)| *a += b);
        // 6. Gene-specific layer 1.
        let mut dr_data = Vec::with_capacity(ng * g * h);
        for gi in 0..ng {
            for j in 0..g {
                let d = du.data[gi * g + j];
                grad.indv_b1.data[j] += d;
                let row = gi * g + j;
                let rr = &cache.r.data[row * h..(row + 1) * h];
                let gw = grad.indv_w1.row_mut(j);
                for k in 0..h {
                    gw[k] += d * rr[k];
                }
                dr_data.extend(self.indv_w1.row(j).iter().map(|&b| d * b));
            }
        }
        let dr = Mat::from_vec(ng * g, h, dr_data);
        // 5. recovery_w, then ReLU and bn_pert_base in one pass.
        let dy1 = self.recovery_w.backward(&cache.y1r, dr, &cache.rec_cache, &cache.grid_wts, &mut grad.recovery_w);
        let bnp = &mut grad.bn_pert_base;
        let dgrid = ops::bn_bwd_act(&dy1, Some(&cache.y1r), &cache.bn_base, &cache.grid_wts, &self.bn_pert_base.gamma.data, &mut bnp.gamma.data, &mut bnp.beta.data, None);
        drop(dy1);
        let nv = inp.variants.len();
        let mut da = Mat::zeros(nv * g, h);
        let mut dq = Mat::zeros(cache.perturbed.len(), h);
        let mut qrow: Vec<Option<usize>> = vec![None; ng];
        for (o, &gi) in cache.perturbed.iter().enumerate() {
            qrow[gi] = Some(o);
        }
        for (gi, gr) in inp.groups.iter().enumerate() {
            let src = &dgrid.data[gi * g * h..(gi + 1) * g * h];
            let dst = &mut da.data[gr.variant * g * h..(gr.variant + 1) * g * h];
            dst.iter_mut().zip(src).for_each(|(a, &b)| *a += b);
            if let Some(o) = qrow[gi] {
                let dqr = dq.row_mut(o);
                src.chunks(h).for_each(|row| dqr.iter_mut().zip(row).for_each(|(a, &b)| *a += b));
            }
        }
        // 4. Fusion, 3. GO SGConv.
        if let Some((s, fc)) = &cache.fuse {
            let ds = self.pert_fuse.backward(s, dq, fc, &cache.fuse_wts, &mut grad.pert_fuse);
            let mut dz = Mat::zeros(cache.needed.len(), h);
            for (o, &gi) in cache.perturbed.iter().enumerate() {
                for v in &inp.groups[gi].perts {
                    let k = cache.needed.binary_search(v).expect("needed node");
                    dz.row_mut(k).iter_mut().zip(ds.row(o)).for_each(|(a, &b)| *a += b);
                }
            }
            let dpe = self.sim_lin.backward(&cache.pe_go, &dz, &mut grad.sim_lin);
            go.apply_transpose_acc(&dpe, Some(&cache.needed), &mut grad.pert_emb);
        }
        // 2. emb_trans_v2 and the positional SGConv.
        let dbase0 = self.emb_trans_v2.backward(&cache.base0, da, &cache.emb_cache, &cache.base0_wts, &mut grad.emb_trans_v2);
        let mut de1 = Mat::zeros(g, h);
        let mut dpos_prop: Option<Mat<T>> = None;
        let mut dpos_raw: Option<Mat<T>> = None;
        for (k, v) in inp.variants.iter().enumerate() {
            let blk = &dbase0.data[k * g * h..(k + 1) * g * h];
            de1.data.iter_mut().zip(blk).for_each(|(a, &b)| *a += b);
            let slot = if v.propagate { &mut dpos_prop } else { &mut dpos_raw };
            let m = slot.get_or_insert_with(|| Mat::zeros(g, h));
            m.data.iter_mut().zip(blk).for_each(|(a, &b)| *a += t(POS_MIX) * b);
        }
        if let Some(dp) = dpos_prop {
            let pe = cache.pe.as_ref().expect("propagated input");
            let dpe = self.pos_lin.backward(pe, &dp, &mut grad.pos_lin);
            coexpr.apply_transpose_acc(&dpe, None, &mut grad.emb_pos);
        }
        if let Some(dp) = dpos_raw {
            let dx = self.pos_lin.backward(&self.emb_pos, &dp, &mut grad.pos_lin);
            grad.emb_pos.data.iter_mut().zip(&dx.data).for_each(|(a, &b)| *a += b);
        }
        // 1. ReLU and bn_emb.
        let emb_wts = vec![t(inp.n_cells as f64); g];
        let gb = &mut grad.bn_emb;
        let de0 = ops::bn_bwd_act(&de1, Some(&cache.e1), &cache.bn_emb, &emb_wts, &self.bn_emb.gamma.data, &mut gb.gamma.data, &mut gb.beta.data, None);
        grad.gene_emb.data.iter_mut().zip(&de0.data).for_each(|(a, &b)| *a += b);
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
