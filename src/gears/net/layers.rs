//! Parameterised layers built from [`super::ops`]: `Linear` (PyTorch layout and init), `BatchNorm`
//! (affine, running statistics) and GEARS's `MLP` (Lin, BN, ReLU, ..., Lin, BN: the final ReLU is
//! dropped). Layers with BatchNorm have a train-mode forward (batch statistics over weighted rows)
//! that returns what its backward needs, and an eval-mode forward (running statistics) that
//! returns only the output.

use super::mat::{Mat, Real};
use super::ops::{self, BnCache};
use crate::rng::SplitMix64;

/// A fully connected layer `y = x W^T + b`, `W` stored `out x in`.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<T> {
    /// Weight, `out x in`.
    pub w: Mat<T>,
    /// Bias, `1 x out`.
    pub b: Mat<T>,
}

impl<T: Real> Linear<T> {
    /// PyTorch default init: weight and bias uniform in `±1/sqrt(in)`.
    pub fn init(inp: usize, out: usize, rng: &mut SplitMix64) -> Self {
        let bound = 1.0 / (inp as f64).sqrt();
        let mut u = |n: usize| (0..n).map(|_| T::from_f64((2.0 * rng.unit() - 1.0) * bound)).collect::<Vec<T>>();
        let w = Mat::from_vec(out, inp, u(out * inp));
        let b = Mat::from_vec(1, out, u(out));
        Linear { w, b }
    }

    /// Forward.
    pub fn forward(&self, x: &Mat<T>) -> Mat<T> {
        ops::linear_fwd(x, &self.w, &self.b.data)
    }

    /// Backward: accumulates the weight and bias gradients into `grad` and returns `dx`.
    pub fn backward(&self, x: &Mat<T>, dy: &Mat<T>, grad: &mut Linear<T>) -> Mat<T> {
        ops::linear_bwd(x, &self.w, dy, &mut grad.w, &mut grad.b.data)
    }
}

/// BatchNorm1d with affine parameters and running statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<T> {
    /// Scale, `1 x c`, init 1.
    pub gamma: Mat<T>,
    /// Shift, `1 x c`, init 0.
    pub beta: Mat<T>,
    /// Running mean (buffer), init 0.
    pub running_mean: Vec<T>,
    /// Running unbiased variance (buffer), init 1.
    pub running_var: Vec<T>,
}

impl<T: Real> BatchNorm<T> {
    /// PyTorch init.
    pub fn new(c: usize) -> Self {
        BatchNorm {
            gamma: Mat::filled(1, c, T::one()),
            beta: Mat::zeros(1, c),
            running_mean: vec![T::zero(); c],
            running_var: vec![T::one(); c],
        }
    }

    /// Train-mode forward with the statistics of the rows of `x` weighted by `wts`; returns the
    /// cache for [`Self::backward`] and [`Self::update_running`].
    pub fn forward_train(&self, x: &Mat<T>, wts: &[T]) -> (Mat<T>, BnCache<T>) {
        ops::bn_train_fwd(x, wts, &self.gamma.data, &self.beta.data)
    }

    /// Eval-mode forward with the running statistics.
    pub fn forward_eval(&self, x: &Mat<T>) -> Mat<T> {
        ops::bn_eval_fwd(x, &self.gamma.data, &self.beta.data, &self.running_mean, &self.running_var)
    }

    /// Backward of [`Self::forward_train`].
    pub fn backward(&self, dy: &Mat<T>, cache: &BnCache<T>, wts: &[T], grad: &mut BatchNorm<T>) -> Mat<T> {
        ops::bn_bwd(dy, cache, wts, &self.gamma.data, &mut grad.gamma.data, &mut grad.beta.data)
    }

    /// Folds a train-mode batch's statistics into the running averages.
    pub fn update_running(&mut self, cache: &BnCache<T>) {
        ops::bn_update_running(cache, &mut self.running_mean, &mut self.running_var);
    }
}

/// GEARS `MLP(sizes)`: per consecutive pair Linear then BatchNorm then ReLU, without the last ReLU.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp<T> {
    /// Linear layers.
    pub lins: Vec<Linear<T>>,
    /// BatchNorm after each linear layer.
    pub bns: Vec<BatchNorm<T>>,
}

/// What an MLP's train-mode forward keeps for backward (its input is kept by the caller).
#[derive(Clone, Debug, Default)]
pub struct MlpCache<T> {
    /// Output of each hidden layer (after its ReLU), which is the input of the next layer.
    pub hidden: Vec<Mat<T>>,
    /// BatchNorm caches, one per layer.
    pub bns: Vec<BnCache<T>>,
}

impl<T: Real> Mlp<T> {
    /// An MLP with the given layer sizes and PyTorch init.
    pub fn init(sizes: &[usize], rng: &mut SplitMix64) -> Self {
        let lins = sizes.windows(2).map(|w| Linear::init(w[0], w[1], rng)).collect();
        let bns = sizes[1..].iter().map(|&c| BatchNorm::new(c)).collect();
        Mlp { lins, bns }
    }

    /// Train-mode forward over the rows of `x` weighted by `wts`; returns the output and the cache
    /// for [`Self::backward`] (which also takes `x`). Each hidden BatchNorm and its ReLU run in one pass.
    pub fn forward_train(&self, x: &Mat<T>, wts: &[T]) -> (Mat<T>, MlpCache<T>) {
        let n = self.lins.len();
        let mut cache = MlpCache { hidden: Vec::with_capacity(n - 1), bns: Vec::with_capacity(n) };
        let layer = |i: usize, input: &Mat<T>| {
            let z = self.lins[i].forward(input);
            ops::bn_train_fwd_act(&z, wts, &self.bns[i].gamma.data, &self.bns[i].beta.data, i + 1 < n)
        };
        for i in 0..n - 1 {
            let (y, c) = layer(i, if i == 0 { x } else { &cache.hidden[i - 1] });
            cache.bns.push(c);
            cache.hidden.push(y);
        }
        let (y, c) = layer(n - 1, if n == 1 { x } else { &cache.hidden[n - 2] });
        cache.bns.push(c);
        (y, cache)
    }

    /// Eval-mode forward with the running statistics.
    pub fn forward_eval(&self, x: &Mat<T>) -> Mat<T> {
        let n = self.lins.len();
        let layer = |i: usize, input: &Mat<T>| {
            let mut y = self.bns[i].forward_eval(&self.lins[i].forward(input));
            if i + 1 < n {
                ops::relu_inplace(&mut y);
            }
            y
        };
        let mut cur = layer(0, x);
        for i in 1..n {
            cur = layer(i, &cur);
        }
        cur
    }

    /// Backward of [`Self::forward_train`] on input `x` with row weights `wts`, taking ownership of
    /// the upstream gradient `dy`: accumulates into `grad` and returns `dx`. Each ReLU backward runs
    /// inside the following BatchNorm backward, which also sums the linear layer's bias gradient.
    pub fn backward(&self, x: &Mat<T>, dy: Mat<T>, cache: &MlpCache<T>, wts: &[T], grad: &mut Mlp<T>) -> Mat<T> {
        let mut d = dy;
        let n = self.lins.len();
        for i in (0..n).rev() {
            let relu_out = (i + 1 < n).then(|| &cache.hidden[i]);
            let input = if i == 0 { x } else { &cache.hidden[i - 1] };
            let (gl, gb) = (&mut grad.lins[i], &mut grad.bns[i]);
            let dz = ops::bn_bwd_act(&d, relu_out, &cache.bns[i], wts, &self.bns[i].gamma.data, &mut gb.gamma.data, &mut gb.beta.data, Some(&mut gl.b.data));
            d = ops::linear_bwd_no_bias(input, &self.lins[i].w, &dz, &mut gl.w);
        }
        d
    }

    /// Folds the batch statistics of a train-mode forward into the running averages.
    pub fn update_running(&mut self, cache: &MlpCache<T>) {
        for (bn, c) in self.bns.iter_mut().zip(&cache.bns) {
            bn.update_running(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gears::net::ops::tests::{check_grad, randm};

    fn loss(m: &Mlp<f64>, x: &Mat<f64>, w: &[f64], up: &Mat<f64>) -> f64 {
        let (y, _) = m.forward_train(x, w);
        y.data.iter().zip(&up.data).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn mlp_backward_matches_finite_differences() {
        let mut rng = SplitMix64::new(3);
        let m = Mlp::<f64>::init(&[3, 5, 2], &mut rng);
        let x = randm(6, 3, &mut rng);
        let w = vec![1.0, 2.0, 1.0, 1.0, 3.0, 1.0];
        let up = randm(6, 2, &mut rng);
        let (_, cache) = m.forward_train(&x, &w);
        let mut g = m.clone();
        for l in &mut g.lins {
            l.w.fill_zero();
            l.b.fill_zero();
        }
        for b in &mut g.bns {
            b.gamma.fill_zero();
            b.beta.fill_zero();
        }
        let dx = m.backward(&x, up.clone(), &cache, &w, &mut g);
        check_grad("x", &x.data, &dx.data, &mut |v| loss(&m, &Mat::from_vec(6, 3, v.to_vec()), &w, &up));
        for li in 0..2 {
            let mut mm = m.clone();
            check_grad("w", &m.lins[li].w.data, &g.lins[li].w.data, &mut |v| {
                mm.lins[li].w.data.copy_from_slice(v);
                loss(&mm, &x, &w, &up)
            });
            let mut mm = m.clone();
            check_grad("gamma", &m.bns[li].gamma.data, &g.bns[li].gamma.data, &mut |v| {
                mm.bns[li].gamma.data.copy_from_slice(v);
                loss(&mm, &x, &w, &up)
            });
        }
        // The final layer is BatchNorm without ReLU: outputs can be negative.
        let (y, _) = m.forward_train(&x, &w);
        assert!(y.data.iter().any(|&v| v < 0.0));
    }
}
