//! The generic loops on a synthetic objective that uses everything the seam allows: real-valued
//! gains, a tie window, and bound-only answers. Lazy must equal naive pick for pick.

use super::*;
use crate::rng::SplitMix64;

/// A real weighted coverage gain, larger is better, ties within relative `TOL`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Real(f64);

const TOL: f64 = 1e-3;

impl Gain for Real {
    fn cmp_better(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }

    fn ties(&self, other: &Self) -> bool {
        other.0 >= self.0 - TOL * self.0.abs()
    }

    fn saturated(&self) -> bool {
        self.0 == 0.0
    }
}

/// Weighted coverage of random sets with weights that make near-ties common. Lazy evaluations
/// answer some candidates with an optimistic bound first (as MaxSpec does with f32 GPU scores).
struct Synthetic {
    sets: Vec<Vec<usize>>,
    weight: Vec<f64>,
    covered: Vec<bool>,
    step: usize,
    bounded: Vec<usize>,
    rng: SplitMix64,
    log: Vec<Vec<u32>>,
}

impl Synthetic {
    fn new(n: usize, universe: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let weight: Vec<f64> = (0..universe).map(|_| 1.0 + rng.below(4) as f64 * 0.0004).collect();
        let sets = (0..n).map(|_| (0..1 + rng.below(6)).map(|_| rng.below(universe as u64) as usize).collect()).collect();
        Synthetic { sets, weight, covered: vec![false; universe], step: 0, bounded: vec![usize::MAX; n], rng, log: Vec::new() }
    }

    fn gain(&self, c: u32) -> f64 {
        let mut s: Vec<usize> = self.sets[c as usize].clone();
        s.sort_unstable();
        s.dedup();
        s.iter().filter(|&&m| !self.covered[m]).map(|&m| self.weight[m]).sum()
    }
}

impl Objective for Synthetic {
    type Gain = Real;

    fn n_candidates(&self) -> usize {
        self.sets.len()
    }

    fn first_pass_width(&self) -> usize {
        5
    }

    fn evaluate(&mut self, ids: &[u32], _best: Option<Real>, out: &mut Vec<Eval<Real>>) -> Result<()> {
        self.log.push(ids.to_vec());
        for &c in ids {
            let g = self.gain(c);
            if self.bounded[c as usize] != self.step && self.rng.below(3) == 0 {
                self.bounded[c as usize] = self.step;
                out.push(Eval::Bound(Real(g * 1.01 + 0.001)));
            } else {
                out.push(Eval::Exact(Real(g)));
            }
        }
        Ok(())
    }

    fn evaluate_all(&mut self, ids: &[u32], out: &mut Vec<Real>) -> Result<()> {
        out.extend(ids.iter().map(|&c| Real(self.gain(c))));
        Ok(())
    }

    fn commit(&mut self, id: u32, gain: Real) -> Result<()> {
        assert_eq!(gain.0, self.gain(id), "the loop commits the exact value");
        for &m in &self.sets[id as usize] {
            self.covered[m] = true;
        }
        self.step += 1;
        Ok(())
    }
}

#[test]
fn lazy_equals_naive_with_tie_windows_and_bounds() {
    let mut saw_bounds = false;
    let mut saw_window_tie = false;
    for seed in 0..300u64 {
        let n = 1 + (seed as usize * 7) % 60;
        let universe = 1 + (seed as usize * 13) % 80;
        let budget = 1 + (seed as usize * 5) % (n + 3);
        let width = 1 + (seed as usize) % 9;
        let naive = naive_search(&mut Synthetic::new(n, universe, seed), budget).unwrap();
        let mut obj = Synthetic::new(n, universe, seed);
        let lazy = lazy_search(&mut obj, budget, width).unwrap();
        assert_eq!(naive.picks, lazy.picks, "seed {seed} n {n} budget {budget} width {width}");
        assert_eq!(naive.stats.saturated_at, lazy.stats.saturated_at);
        assert_eq!(lazy.picks.len(), budget.min(n));
        saw_bounds |= lazy.stats.bounds > 0;
        // The first pass goes 5 at a time in index order (its last batch may go on with bounds).
        assert!(obj.log.iter().take(n / 5).all(|b| b.len() == 5));
        let first: Vec<u32> = obj.log.iter().flatten().take(n).copied().collect();
        assert_eq!(first, (0..n as u32).collect::<Vec<_>>());
        assert!(lazy.stats.evaluations >= n as u64 && lazy.stats.evaluations == obj.log.iter().map(|b| b.len() as u64).sum::<u64>());
        // A pick that is not the strict maximum was decided by the tie window.
        let mut o = Synthetic::new(n, universe, seed);
        for p in &naive.picks {
            let ids: Vec<u32> = (0..n as u32).filter(|c| !naive.picks.iter().take_while(|q| q.candidate != p.candidate).any(|q| q.candidate == *c)).collect();
            let max = ids.iter().map(|&c| o.gain(c)).fold(f64::MIN, f64::max);
            saw_window_tie |= p.gain.0 < max;
            o.commit(p.candidate, p.gain).unwrap();
        }
    }
    assert!(saw_bounds, "the synthetic objective answered with bounds");
    assert!(saw_window_tie, "some pick was decided inside the tie window");
}

#[test]
fn picks_go_to_the_smallest_index_among_ties_and_saturation_is_reported() {
    // Four candidates covering {0}, {0}, {1}, {1}: picks 0 then 2 (gain 1 each), then zero gains.
    let balls = crate::graph::sets::BallSet::from_sets(
        2,
        crate::graph::sets::SetList::from_sets(vec![vec![0], vec![0], vec![1], vec![1]]),
        crate::graph::sets::BallLayout::Sparse,
    );
    let cpu = crate::backend::cpu::CpuBackend::new();
    use crate::backend::Backend;
    for width in [1, 2, 8] {
        let mut o = cpu.coverage(&balls, None).unwrap();
        let r = lazy_greedy(o.as_mut(), 4, 4, width).unwrap();
        let got: Vec<(u32, u64)> = r.picks.iter().map(|p| (p.candidate, p.gain)).collect();
        assert_eq!(got, vec![(0, 1), (2, 1), (1, 0), (3, 0)]);
        assert_eq!(r.stats.saturated_at, Some(3));
        assert_eq!(r.stats.bounds, 0);
        assert_eq!(r.stats.evaluations, r.stats.reevaluations + 4);
    }
    let mut o = cpu.coverage(&balls, None).unwrap();
    let r = naive_greedy(o.as_mut(), 4, 4).unwrap();
    assert_eq!(r.stats, GreedyStats { evaluations: 4 + 3 + 2 + 1, reevaluations: 3 + 2 + 1, batches: 4, bounds: 0, saturated_at: Some(3) });
}

/// An objective that breaks the contract (a bound twice in one step) gets an error, not a hang.
#[test]
fn a_second_bound_in_one_step_is_an_error() {
    struct AlwaysBound;
    impl Objective for AlwaysBound {
        type Gain = u64;
        fn n_candidates(&self) -> usize {
            3
        }
        fn evaluate(&mut self, ids: &[u32], _best: Option<u64>, out: &mut Vec<Eval<u64>>) -> Result<()> {
            out.extend(ids.iter().map(|_| Eval::Bound(5)));
            Ok(())
        }
        fn evaluate_all(&mut self, ids: &[u32], out: &mut Vec<u64>) -> Result<()> {
            out.extend(ids.iter().map(|_| 5));
            Ok(())
        }
        fn commit(&mut self, _id: u32, _gain: u64) -> Result<()> {
            Ok(())
        }
    }
    let e = lazy_search(&mut AlwaysBound, 2, 2).unwrap_err();
    assert!(e.to_string().contains("bound twice"), "{e}");
}
