//! Named access to a [`GearsModel`]'s parameters and buffers, in PyTorch `state_dict` naming and
//! shapes: what the optimiser iterates over and what checkpoints store.

use super::layers::{BatchNorm, Linear, Mlp};
use super::mat::{Mat, Real};
use super::model::GearsModel;

/// Which parameter groups are used only when a batch holds a perturbed cell (PyTorch leaves
/// their gradients unset otherwise, so Adam skips them).
pub fn is_perturbation_path(name: &str) -> bool {
    name.starts_with("pert_emb.") || name.starts_with("sim_layers.") || name.starts_with("pert_fuse.")
}

fn lin<'a, T>(out: &mut Vec<(String, &'a mut Mat<T>)>, p: &str, l: &'a mut Linear<T>) {
    out.push((format!("{p}.weight"), &mut l.w));
    out.push((format!("{p}.bias"), &mut l.b));
}

fn bn<'a, T>(out: &mut Vec<(String, &'a mut Mat<T>)>, p: &str, b: &'a mut BatchNorm<T>) {
    out.push((format!("{p}.weight"), &mut b.gamma));
    out.push((format!("{p}.bias"), &mut b.beta));
}

fn bn_buffers<'a, T>(out: &mut Vec<(String, &'a mut Vec<T>)>, p: String, b: &'a mut BatchNorm<T>) {
    let BatchNorm { running_mean, running_var, .. } = b;
    out.push((format!("{p}.running_mean"), running_mean));
    out.push((format!("{p}.running_var"), running_var));
}

fn mlp<'a, T>(out: &mut Vec<(String, &'a mut Mat<T>)>, p: &str, m: &'a mut Mlp<T>) {
    for (i, (l, b)) in m.lins.iter_mut().zip(m.bns.iter_mut()).enumerate() {
        lin(out, &format!("{p}.network.{}", 3 * i), l);
        bn(out, &format!("{p}.network.{}", 3 * i + 1), b);
    }
}

impl<T: Real> GearsModel<T> {
    /// Every trainable tensor with its `state_dict` name, in a fixed order.
    pub fn params_mut(&mut self) -> Vec<(String, &mut Mat<T>)> {
        let mut v = Vec::new();
        v.push(("gene_emb.weight".to_string(), &mut self.gene_emb));
        v.push(("emb_pos.weight".to_string(), &mut self.emb_pos));
        v.push(("pert_emb.weight".to_string(), &mut self.pert_emb));
        bn(&mut v, "bn_emb", &mut self.bn_emb);
        lin(&mut v, "layers_emb_pos.0.lin", &mut self.pos_lin);
        mlp(&mut v, "emb_trans_v2", &mut self.emb_trans_v2);
        lin(&mut v, "sim_layers.0.lin", &mut self.sim_lin);
        mlp(&mut v, "pert_fuse", &mut self.pert_fuse);
        bn(&mut v, "bn_pert_base", &mut self.bn_pert_base);
        mlp(&mut v, "recovery_w", &mut self.recovery_w);
        v.push(("indv_w1".to_string(), &mut self.indv_w1));
        v.push(("indv_b1".to_string(), &mut self.indv_b1));
        mlp(&mut v, "cross_gene_state", &mut self.cross_gene_state);
        v.push(("indv_w2".to_string(), &mut self.indv_w2));
        v.push(("indv_b2".to_string(), &mut self.indv_b2));
        v
    }

    /// The BatchNorm running statistics (`<bn>.running_mean` / `.running_var`).
    pub fn buffers_mut(&mut self) -> Vec<(String, &mut Vec<T>)> {
        let mut v = Vec::new();
        bn_buffers(&mut v, "bn_emb".into(), &mut self.bn_emb);
        for (name, m) in [
            ("emb_trans_v2", &mut self.emb_trans_v2),
            ("pert_fuse", &mut self.pert_fuse),
            ("recovery_w", &mut self.recovery_w),
            ("cross_gene_state", &mut self.cross_gene_state),
        ] {
            for (i, b) in m.bns.iter_mut().enumerate() {
                bn_buffers(&mut v, format!("{name}.network.{}", 3 * i + 1), b);
            }
        }
        bn_buffers(&mut v, "bn_pert_base".into(), &mut self.bn_pert_base);
        v
    }

    /// The PyTorch shape of a named parameter of this model (for checkpoints and fixtures).
    pub fn torch_shape(&self, name: &str, m: &Mat<T>) -> Vec<usize> {
        match name {
            "indv_w1" => vec![self.n_genes, self.hidden, 1],
            "indv_w2" => vec![1, self.n_genes, self.hidden + 1],
            "indv_b1" => vec![self.n_genes, 1],
            "indv_b2" => vec![1, self.n_genes],
            _ if m.rows == 1 => vec![m.cols],
            _ => vec![m.rows, m.cols],
        }
    }

    /// A model of the same shape with every parameter zero (gradient or optimiser-moment storage).
    pub fn zeros_like(&self) -> Self {
        let mut z = self.clone();
        for (_, m) in z.params_mut() {
            m.fill_zero();
        }
        z
    }

    /// Converts to another float type.
    pub fn cast<U: Real>(&self) -> GearsModel<U> {
        let mut out = GearsModel::<U>::init(self.n_genes, self.n_perts, self.hidden, 0);
        let mut src = self.clone();
        let src_p = src.params_mut();
        for ((_, d), (_, s)) in out.params_mut().into_iter().zip(src_p) {
            *d = s.cast();
        }
        let mut src = self.clone();
        let src_b = src.buffers_mut();
        for ((_, d), (_, s)) in out.buffers_mut().into_iter().zip(src_b) {
            *d = s.iter().map(|v| U::from_f64(v.to_f64())).collect();
        }
        out
    }
}
