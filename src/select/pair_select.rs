//! Selection over a pair pool ([`PairPool`]): the balls are built once per gene and the pair gains
//! come from the backend's pair oracle ([`crate::backend::Backend::pair_coverage`]), so a pool of
//! 1,000 genes costs 1,000 balls, not 499,500 ball unions. The picks equal those of [`select`]
//! on the same pairs written out as `A+B` candidates ([`PairPool::to_pool`]).

use super::objective::{Eval, Objective};
use super::{greedy, random, select, Method, NodeWeights, Order, PairPool, PoolKind, Run, SelectConfig, Selection};
use crate::backend::{Backend, PairCoverageOracle};
use crate::error::{Error, Result};
use crate::graph::sets::{BallSet, SetList};
use crate::graph::Graph;
use std::time::Instant;

/// Runs a selection of the pairs of `pool` on `graph` with `backend`. GraphReach, naive greedy and
/// Random use the per-gene balls; MaxSpec scores every pair's reachable set by its spectral norm
/// and so selects from the pairs written out (each pair's ball materialised).
pub fn select_pairs(graph: &Graph, pool: &PairPool, cfg: &SelectConfig, backend: &dyn Backend, weights: Option<&NodeWeights>) -> Result<Selection> {
    if let Some(s) = cfg.method.embedding_strategy() {
        return Err(Error::invalid(format!(
            "{} selects from model embeddings, not from a graph, and has no pair pools: pass --candidates with the conditions of the embeddings file",
            s.as_str()
        )));
    }
    if cfg.method == Method::Maxspec {
        let mut sel = select(graph, &pool.to_pool(), cfg, backend, weights)?;
        sel.summary.pool_kind = PoolKind::Pairs;
        sel.summary.pool_genes = Some(pool.genes.len());
        return Ok(sel);
    }
    let budget = cfg.budget.resolve(pool.len())?;
    let t0 = Instant::now();
    let adj = graph.hop_adjacency(cfg.direction);
    let seeds = SetList::from_sets(pool.genes.iter().map(|g| g.seeds.clone()));
    let balls = backend.balls(&adj, &seeds, cfg.hops, cfg.layout)?;
    let balls_time = t0.elapsed().as_secs_f64();
    let wfix = weights.map(|w| w.fixed.as_slice());
    let unit = weights.map(|w| w.unit).unwrap_or(1.0);
    let mut oracle = backend.pair_coverage(&balls, &pool.pairs, wfix)?;
    let n = pool.len();
    let (order, search): (Order, Option<greedy::GreedyStats>) = match cfg.method {
        Method::Graphreach => {
            let width = cfg.batch_width.unwrap_or_else(|| backend.default_batch_width());
            let r = greedy::lazy_search(&mut PairCoverage::new(oracle.as_mut(), n), budget, width)?;
            (r.picks.iter().map(|p| (p.candidate, p.gain, None)).collect(), Some(r.stats))
        }
        Method::NaiveGreedy => {
            let r = greedy::naive_greedy(oracle.as_mut(), n, budget)?;
            (r.picks.iter().map(|p| (p.candidate, p.gain, None)).collect(), Some(r.stats))
        }
        Method::Random => {
            let idx = random::sample_without_replacement(n, budget, cfg.seed);
            let mut v = Vec::with_capacity(idx.len());
            for c in idx {
                v.push((c, oracle.commit(c)?, None));
            }
            (v, None)
        }
        Method::Maxspec | Method::Typiclust | Method::AcsFw => unreachable!("handled above"),
    };
    drop(oracle);
    let layout = match balls {
        BallSet::Sparse { .. } => "sparse",
        BallSet::Dense { .. } => "dense",
    };
    let run = Run { graph, cfg, pool_size: n, pool_kind: PoolKind::Pairs, pool_genes: Some(pool.genes.len()), budget, backend, t0, balls_time, layout, unit };
    Ok(run.finish(order, search, |c, covered| {
        let [i, j] = pool.pairs[c as usize];
        for g in [i, j] {
            for m in balls.members(g as usize) {
                covered.insert(m);
            }
        }
        (pool.label(c as usize), pool.nodes(c as usize)[0])
    }))
}

/// GraphReach's objective on a pair pool for the lazy loop: exact pair gains, except that a pair
/// whose bound u(a) + u(b) (or its last answer, if smaller) is already below the step's best exact
/// gain is answered with that bound, without the intersection term. The bound is at least the
/// gain now and at every later step (coverage gains only shrink), so the loop stays exact: it asks
/// again only when the bound can matter.
struct PairCoverage<'a, 'b> {
    oracle: &'a mut (dyn PairCoverageOracle + 'b),
    /// Last answer per pair (u64::MAX before the first).
    last: Vec<u64>,
    bounds: Vec<u64>,
    exact_ids: Vec<u32>,
    gains: Vec<u64>,
}

impl<'a, 'b> PairCoverage<'a, 'b> {
    fn new(oracle: &'a mut (dyn PairCoverageOracle + 'b), n: usize) -> Self {
        PairCoverage { oracle, last: vec![u64::MAX; n], bounds: Vec::new(), exact_ids: Vec::new(), gains: Vec::new() }
    }
}

impl Objective for PairCoverage<'_, '_> {
    type Gain = u64;

    fn n_candidates(&self) -> usize {
        self.last.len()
    }

    fn evaluate(&mut self, ids: &[u32], best: Option<u64>, out: &mut Vec<Eval<u64>>) -> Result<()> {
        self.bounds.clear();
        self.bounds.resize(ids.len(), 0);
        self.oracle.gain_bounds(ids, &mut self.bounds);
        self.exact_ids.clear();
        for (b, &id) in self.bounds.iter_mut().zip(ids) {
            *b = (*b).min(self.last[id as usize]);
            if best.is_none_or(|best| *b >= best) {
                self.exact_ids.push(id);
            }
        }
        self.gains.clear();
        self.gains.resize(self.exact_ids.len(), 0);
        self.oracle.gains(&self.exact_ids, &mut self.gains)?;
        let mut exact = self.gains.iter();
        for (&b, &id) in self.bounds.iter().zip(ids) {
            let a = if best.is_none_or(|best| b >= best) { Eval::Exact(*exact.next().expect("one gain per exact id")) } else { Eval::Bound(b) };
            self.last[id as usize] = match a {
                Eval::Exact(v) | Eval::Bound(v) => v,
            };
            out.push(a);
        }
        Ok(())
    }

    fn evaluate_all(&mut self, ids: &[u32], out: &mut Vec<u64>) -> Result<()> {
        let start = out.len();
        out.resize(start + ids.len(), 0);
        self.oracle.gains(ids, &mut out[start..])
    }

    fn commit(&mut self, id: u32, gain: u64) -> Result<()> {
        let g = self.oracle.commit(id)?;
        debug_assert_eq!(g, gain);
        Ok(())
    }
}
