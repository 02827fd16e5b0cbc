//! The SGConv(K=1) propagation operator with PyG `gcn_norm` semantics: self loops added only
//! where missing (an existing self loop keeps its weight), weighted **in**-degree
//! `d_i = sum_{j->i} w_ji` over all nodes, normalised weight `w_ji / sqrt(d_j d_i)`.
//! Messages flow source -> target: `(P H)[i] = sum_{j->i} w^_ji H[j]`.

use super::mat::{Mat, Real};
use crate::error::{Error, Result};
use crate::graph::Graph;

/// A normalised propagation operator stored by target row, with its transpose for backward.
#[derive(Clone, Debug, PartialEq)]
pub struct Propagation {
    /// Number of nodes.
    pub n: usize,
    /// Row offsets by target, length `n + 1`.
    pub indptr: Vec<u32>,
    /// Source of each entry.
    pub src: Vec<u32>,
    /// Normalised weight of each entry.
    pub w: Vec<f32>,
    t_indptr: Vec<u32>,
    t_dst: Vec<u32>,
    t_w: Vec<f32>,
}

impl Propagation {
    /// Builds the operator from directed weighted edges `src -> dst` over `n` nodes.
    /// Duplicate `(src, dst)` pairs are an error (the graph builders never produce them).
    pub fn from_edges(n: usize, src: &[u32], dst: &[u32], w: &[f32]) -> Result<Self> {
        if src.len() != dst.len() || src.len() != w.len() {
            return Err(Error::invalid("propagation: edge arrays of different lengths"));
        }
        let mut self_w: Vec<Option<f32>> = vec![None; n];
        let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(src.len() + n);
        for k in 0..src.len() {
            let (s, d) = (src[k], dst[k]);
            if s as usize >= n || d as usize >= n {
                return Err(Error::invalid(format!("propagation: edge {s}->{d} outside 0..{n}")));
            }
            if s == d {
                self_w[s as usize] = Some(w[k]);
            } else {
                edges.push((d, s, w[k]));
            }
        }
        edges.extend(self_w.iter().enumerate().map(|(i, sw)| (i as u32, i as u32, sw.unwrap_or(1.0))));
        edges.sort_by_key(|e| (e.0, e.1));
        if edges.windows(2).any(|p| p[0].0 == p[1].0 && p[0].1 == p[1].1) {
            return Err(Error::invalid("propagation: duplicate edges"));
        }
        let mut deg = vec![0f64; n];
        for &(d, _, w) in &edges {
            deg[d as usize] += w as f64;
        }
        let inv: Vec<f64> = deg.iter().map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 }).collect();
        let mut indptr = vec![0u32; n + 1];
        for &(d, _, _) in &edges {
            indptr[d as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let srcs: Vec<u32> = edges.iter().map(|e| e.1).collect();
        let ws: Vec<f32> = edges.iter().map(|&(d, s, w)| (w as f64 * inv[d as usize] * inv[s as usize]) as f32).collect();
        // Transpose (by source).
        let mut t_indptr = vec![0u32; n + 1];
        for &s in &srcs {
            t_indptr[s as usize + 1] += 1;
        }
        for i in 0..n {
            t_indptr[i + 1] += t_indptr[i];
        }
        let mut next = t_indptr.clone();
        let mut t_dst = vec![0u32; srcs.len()];
        let mut t_w = vec![0f32; srcs.len()];
        for d in 0..n {
            for k in indptr[d] as usize..indptr[d + 1] as usize {
                let s = srcs[k] as usize;
                let p = next[s] as usize;
                t_dst[p] = d as u32;
                t_w[p] = ws[k];
                next[s] += 1;
            }
        }
        Ok(Propagation { n, indptr, src: srcs, w: ws, t_indptr, t_dst, t_w })
    }

    /// The operator of a loaded graph (row = source in `graph.out`).
    pub fn from_graph(graph: &Graph) -> Result<Self> {
        let (mut s, mut d, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for u in 0..graph.out.n {
            for k in graph.out.indptr[u] as usize..graph.out.indptr[u + 1] as usize {
                s.push(u as u32);
                d.push(graph.out.indices[k]);
                w.push(graph.out.weights[k]);
            }
        }
        Propagation::from_edges(graph.n_nodes(), &s, &d, &w)
    }

    /// The raw edges back (`src`, `dst`, normalised weight), for checkpoints.
    pub fn entries(&self) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let mut dst = Vec::with_capacity(self.src.len());
        for i in 0..self.n {
            dst.extend(std::iter::repeat_n(i as u32, (self.indptr[i + 1] - self.indptr[i]) as usize));
        }
        (self.src.clone(), dst, self.w.clone())
    }

    /// Rebuilds an operator from already normalised entries (as returned by [`Self::entries`]).
    pub fn from_normalised(n: usize, src: &[u32], dst: &[u32], w: &[f32]) -> Result<Self> {
        // Reuse the builder with self loops forced present, then overwrite the weights.
        let mut p = Propagation::from_edges(n, src, dst, w)?;
        let mut lookup = std::collections::HashMap::with_capacity(src.len());
        for k in 0..src.len() {
            lookup.insert((dst[k], src[k]), w[k]);
        }
        for d in 0..n {
            for k in p.indptr[d] as usize..p.indptr[d + 1] as usize {
                p.w[k] = *lookup.get(&(d as u32, p.src[k])).ok_or_else(|| Error::invalid("propagation: missing self loop in stored operator"))?;
            }
        }
        for s in 0..n {
            for k in p.t_indptr[s] as usize..p.t_indptr[s + 1] as usize {
                p.t_w[k] = lookup[&(p.t_dst[k], s as u32)];
            }
        }
        Ok(p)
    }

    /// `(P H)[i]` for the target rows `rows` (all rows when `None`).
    pub fn apply<T: Real>(&self, h: &Mat<T>, rows: Option<&[u32]>) -> Mat<T> {
        let all: Vec<u32>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..self.n as u32).collect();
                &all
            }
        };
        let c = h.cols;
        let mut out = Mat::zeros(rows.len(), c);
        for (o, &i) in rows.iter().enumerate() {
            let dst = out.row_mut(o);
            for k in self.indptr[i as usize] as usize..self.indptr[i as usize + 1] as usize {
                let w = T::from_f64(self.w[k] as f64);
                for (a, &b) in dst.iter_mut().zip(h.row(self.src[k] as usize)) {
                    *a += w * b;
                }
            }
        }
        out
    }

    /// Backward of [`Self::apply`]: `dh[j] += sum_i w^_ji dy[i]` over the given target rows.
    pub fn apply_transpose_acc<T: Real>(&self, dy: &Mat<T>, rows: Option<&[u32]>, dh: &mut Mat<T>) {
        match rows {
            None => {
                for j in 0..self.n {
                    let acc = dh.row_mut(j);
                    for k in self.t_indptr[j] as usize..self.t_indptr[j + 1] as usize {
                        let w = T::from_f64(self.t_w[k] as f64);
                        for (a, &b) in acc.iter_mut().zip(dy.row(self.t_dst[k] as usize)) {
                            *a += w * b;
                        }
                    }
                }
            }
            Some(rows) => {
                for (o, &i) in rows.iter().enumerate() {
                    for k in self.indptr[i as usize] as usize..self.indptr[i as usize + 1] as usize {
                        let w = T::from_f64(self.w[k] as f64);
                        let j = self.src[k] as usize;
                        let row = dy.row(o).to_vec();
                        for (a, b) in dh.row_mut(j).iter_mut().zip(row) {
                            *a += w * b;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gears::net::ops::tests::{check_grad, randm};
    use crate::rng::SplitMix64;

    #[test]
    fn gcn_norm_uses_in_degree_and_keeps_existing_self_loops() {
        // 0 -> 1 (w 2), 2 -> 1 (w 1), self loop on 1 with weight 0.5; nodes 0 and 2 get loops of 1.
        let p = Propagation::from_edges(3, &[0, 2, 1], &[1, 1, 1], &[2.0, 1.0, 0.5]).unwrap();
        let d = [1.0f64, 3.5, 1.0];
        let h = Mat::from_vec(3, 1, vec![1.0f64, 10.0, 100.0]);
        let y = p.apply(&h, None);
        let want1 = 2.0 / (d[0] * d[1]).sqrt() * 1.0 + 0.5 / d[1] * 10.0 + 1.0 / (d[2] * d[1]).sqrt() * 100.0;
        assert!((y.data[1] - want1).abs() < 1e-5, "{} vs {want1}", y.data[1]);
        assert!((y.data[0] - 1.0).abs() < 1e-6 && (y.data[2] - 100.0).abs() < 1e-6);
    }

    #[test]
    fn propagation_backward_matches_finite_differences() {
        let mut rng = SplitMix64::new(5);
        let p = Propagation::from_edges(4, &[0, 1, 2, 3, 3], &[1, 2, 0, 0, 3], &[0.5, 0.7, 0.2, 0.9, 1.0]).unwrap();
        let h = randm(4, 3, &mut rng);
        for rows in [None, Some(vec![2u32, 0])] {
            let nr = rows.as_ref().map_or(4, |r| r.len());
            let up = randm(nr, 3, &mut rng);
            let mut dh = Mat::zeros(4, 3);
            p.apply_transpose_acc(&up, rows.as_deref(), &mut dh);
            check_grad("h", &h.data, &dh.data, &mut |v| {
                let y = p.apply(&Mat::from_vec(4, 3, v.to_vec()), rows.as_deref());
                y.data.iter().zip(&up.data).map(|(a, b)| a * b).sum()
            });
        }
        let (s, d, w) = p.entries();
        assert_eq!(Propagation::from_normalised(4, &s, &d, &w).unwrap(), p);
    }
}
