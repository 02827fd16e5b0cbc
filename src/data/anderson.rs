//! The two-sample Anderson-Darling test exactly as `scipy.stats.anderson_ksamp` computes it
//! (SciPy 1.2 to 1.17, default midrank variant): the A²akN statistic of Scholz and Stephens
//! (1987, eq. 7), its standardisation, and the p-value SciPy reads off the critical-value table by a
//! quadratic fit of log(significance) — capped at 0.25 and floored at 0.001.
//!
//! [`anderson_ksamp`] is the plain reference (pooled sort, as SciPy does it). [`ControlColumn`] +
//! [`ControlColumn::a2akn`] is the same statistic for many small samples against one large sample
//! that is sorted once: the perturbed cells of every perturbation against the control cells of one
//! gene. Tests check the two against each other and against SciPy (`scripts/make_deg_fixture.py`).

/// Significance levels of SciPy's table (Scholz and Stephens 1987, Table 2).
const SIG: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
const B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];

/// Smallest p-value SciPy reports (a larger statistic is "floored" to it).
pub const P_FLOOR: f64 = 0.001;
/// Largest p-value SciPy reports (a smaller statistic is "capped" to it).
pub const P_CAP: f64 = 0.25;

/// Statistic and p-value of one test, as SciPy's `Anderson_ksampResult`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdResult {
    /// The standardised statistic `(A²akN − (k − 1)) / σ` (SciPy's `statistic`).
    pub statistic: f64,
    /// SciPy's p-value (`pvalue` / `significance_level`), in [0.001, 0.25].
    pub pvalue: f64,
}

/// Critical values for k = 2 samples and the coefficients of the quadratic SciPy fits through
/// (critical value, ln significance) with `numpy.polyfit(..., 2)`, highest power first.
#[derive(Clone, Copy, Debug)]
pub struct PValueTable {
    /// Critical values `b0 + b1/√m + b2/m` with m = k − 1 = 1.
    pub critical: [f64; 7],
    /// `[c2, c1, c0]` of ln p = c2·A² + c1·A + c0.
    pub poly: [f64; 3],
}

impl PValueTable {
    /// The table for two samples.
    pub fn two_sample() -> Self {
        let critical: [f64; 7] = std::array::from_fn(|i| B0[i] + B1[i] / 1f64.sqrt() + B2[i] / 1.0);
        let y: [f64; 7] = std::array::from_fn(|i| SIG[i].ln());
        PValueTable { critical, poly: quadratic_fit(&critical, &y) }
    }

    /// SciPy's p-value of a standardised statistic: 0.25 below the smallest critical value, 0.001
    /// above the largest, otherwise `exp(polyval(fit, statistic))`.
    pub fn pvalue(&self, a2: f64) -> f64 {
        let lo = self.critical.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if a2 < lo {
            P_CAP
        } else if a2 > hi {
            P_FLOOR
        } else {
            // Horner, as numpy.polyval.
            let [c2, c1, c0] = self.poly;
            ((c2 * a2 + c1) * a2 + c0).exp()
        }
    }
}

/// Least-squares quadratic through (x, y), by Householder QR of the Vandermonde matrix with its
/// columns scaled to unit norm (what `numpy.polyfit` does through `lstsq`). Highest power first.
#[allow(clippy::needless_range_loop)] // matrix indices read as the algebra
fn quadratic_fit(x: &[f64; 7], y: &[f64; 7]) -> [f64; 3] {
    let mut a = [[0f64; 3]; 7];
    for i in 0..7 {
        a[i] = [x[i] * x[i], x[i], 1.0];
    }
    let mut scale = [0f64; 3];
    for (c, s) in scale.iter_mut().enumerate() {
        *s = (0..7).map(|i| a[i][c] * a[i][c]).sum::<f64>().sqrt();
        for row in a.iter_mut() {
            row[c] /= *s;
        }
    }
    let mut b = *y;
    for k in 0..3 {
        let norm = (k..7).map(|i| a[i][k] * a[i][k]).sum::<f64>().sqrt();
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        let mut v = [0f64; 7];
        for i in k..7 {
            v[i] = a[i][k];
        }
        v[k] -= alpha;
        let vv: f64 = (k..7).map(|i| v[i] * v[i]).sum();
        if vv == 0.0 {
            continue;
        }
        for c in k..3 {
            let d: f64 = (k..7).map(|i| v[i] * a[i][c]).sum::<f64>() * 2.0 / vv;
            for i in k..7 {
                a[i][c] -= d * v[i];
            }
        }
        let d: f64 = (k..7).map(|i| v[i] * b[i]).sum::<f64>() * 2.0 / vv;
        for i in k..7 {
            b[i] -= d * v[i];
        }
    }
    let mut coef = [0f64; 3];
    for k in (0..3).rev() {
        let s: f64 = (k + 1..3).map(|c| a[k][c] * coef[c]).sum();
        coef[k] = (b[k] - s) / a[k][k];
    }
    [coef[0] / scale[0], coef[1] / scale[1], coef[2] / scale[2]]
}

/// The standard deviation σ of A²akN under the null for two samples of sizes `n1`, `n2`
/// (Scholz and Stephens eq. 4, in SciPy's order of operations). Needs n1 + n2 ≥ 4.
pub fn null_sigma(n1: usize, n2: usize) -> f64 {
    let n = (n1 + n2) as f64;
    let nn = n1 + n2;
    let k = 2.0f64;
    let hh = 1.0 / n1 as f64 + 1.0 / n2 as f64;
    // hs_cs = cumsum(1 / arange(N-1, 1, -1)); h = hs_cs[-1] + 1; g = sum(hs_cs / arange(2, N)).
    let mut cs = 0.0;
    let mut g = 0.0;
    for (t, i) in (2..nn).rev().enumerate() {
        cs += 1.0 / i as f64;
        g += cs / (t + 2) as f64;
    }
    let h = cs + 1.0;
    let a = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * hh;
    let b = (2.0 * g - 4.0) * k * k + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * hh - 8.0 * h + 4.0 * g - 6.0;
    let c = (6.0 * h + 2.0 * g - 2.0) * k * k + (4.0 * h - 4.0 * g + 6.0) * k + (2.0 * h - 6.0) * hh + 4.0 * h;
    let d = (2.0 * h + 6.0) * k * k - 4.0 * h * k;
    let sigmasq = (a * n * n * n + b * n * n + c * n + d) / ((n - 1.0) * (n - 2.0) * (n - 3.0));
    sigmasq.sqrt()
}

/// Standardised statistic and SciPy p-value from A²akN and σ = [`null_sigma`]`(n1, n2)`.
pub fn finish(a2akn: f64, sigma: f64, table: &PValueTable) -> AdResult {
    let statistic = (a2akn - 1.0) / sigma;
    AdResult { statistic, pvalue: table.pvalue(statistic) }
}

/// `scipy.stats.anderson_ksamp([x, y])` (midrank). `None` where SciPy raises: an empty sample,
/// fewer than two distinct values over both samples, or fewer than 4 observations in all.
pub fn anderson_ksamp(x: &[f64], y: &[f64]) -> Option<AdResult> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 || n1 + n2 < 4 {
        return None;
    }
    let mut z: Vec<f64> = x.iter().chain(y).copied().collect();
    z.sort_by(f64::total_cmp);
    let mut xs = x.to_vec();
    xs.sort_by(f64::total_cmp);
    let n = z.len() as f64;
    let mut s = 0.0;
    let mut distinct = 0;
    let (mut i, mut ix) = (0usize, 0usize);
    while i < z.len() {
        let v = z[i];
        let l = z[i..].iter().take_while(|&&w| w == v).count();
        let below_x = ix + xs[ix..].iter().take_while(|&&w| w < v).count();
        let f = xs[below_x..].iter().take_while(|&&w| w == v).count();
        ix = below_x + f;
        let (l, bj) = (l as f64, i as f64 + l as f64 / 2.0);
        let m1 = below_x as f64 + f as f64 / 2.0;
        let t = n * m1 - bj * n1 as f64;
        s += l / n * t * t / (bj * (n - bj) - n * l / 4.0);
        distinct += 1;
        i += l as usize;
    }
    if distinct < 2 {
        return None;
    }
    let a2akn = (n - 1.0) / n * (1.0 / n1 as f64 + 1.0 / n2 as f64) * s;
    Some(finish(a2akn, null_sigma(n1, n2), &PValueTable::two_sample()))
}

/// One gene's values in the reference (control) sample, sorted once: distinct values, their
/// multiplicities, and how many reference values lie below each.
#[derive(Clone, Debug, Default)]
pub struct ControlColumn {
    values: Vec<f32>,
    count: Vec<f64>,
    /// below[j] = number of values < values[j]; below[D] = n.
    below: Vec<f64>,
    /// below[j] + count[j] / 2.
    mid: Vec<f64>,
    n: usize,
}

/// Distinct values of `nonzero` (any order; zeros in it are counted as zeros) together with
/// `n_zero` implicit zeros, ascending, with multiplicities. Sorts `nonzero` in place.
pub fn distinct_with_zeros(nonzero: &mut Vec<f32>, n_zero: usize) -> Vec<(f32, u32)> {
    let before = nonzero.len();
    nonzero.retain(|&v| v != 0.0);
    let zeros = n_zero + (before - nonzero.len());
    nonzero.sort_unstable_by(f32::total_cmp);
    let mut out: Vec<(f32, u32)> = Vec::with_capacity(nonzero.len() + 1);
    let split = nonzero.partition_point(|&v| v < 0.0);
    let push = |v: f32, c: u32, out: &mut Vec<(f32, u32)>| match out.last_mut() {
        Some(last) if last.0 == v => last.1 += c,
        _ => out.push((v, c)),
    };
    for &v in &nonzero[..split] {
        push(v, 1, &mut out);
    }
    if zeros > 0 {
        push(0.0, zeros as u32, &mut out);
    }
    for &v in &nonzero[split..] {
        push(v, 1, &mut out);
    }
    out
}

impl ControlColumn {
    /// The reference sample from its distinct ascending values with multiplicities.
    pub fn new(distinct: &[(f32, u32)]) -> Self {
        let mut c = ControlColumn { n: 0, ..Default::default() };
        let mut below = 0f64;
        for &(v, k) in distinct {
            c.values.push(v);
            c.count.push(k as f64);
            c.below.push(below);
            c.mid.push(below + k as f64 / 2.0);
            below += k as f64;
        }
        c.below.push(below);
        c.n = below as usize;
        c
    }

    /// Number of reference values.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the reference sample is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of distinct reference values.
    pub fn n_distinct(&self) -> usize {
        self.values.len()
    }

    /// Sum over reference-only distinct values j0..j1 (no sample value equal to them), with
    /// `m` sample values below, of l·(N·m − B·n1)² / (B(N − B) − N·l/4) (the 1/N factor is applied
    /// by the caller).
    #[inline]
    fn segment(&self, j0: usize, j1: usize, m: f64, n: f64, n1: f64) -> f64 {
        let (mid, cnt) = (&self.mid[j0..j1], &self.count[j0..j1]);
        let nm = n * m;
        let q = n * 0.25;
        let term = |b: f64, l: f64| {
            let t = nm - b * n1;
            l * t * t / (b * (n - b) - q * l)
        };
        let mut acc = [0f64; 4];
        let chunks = mid.len() / 4;
        for c in 0..chunks {
            for (lane, a) in acc.iter_mut().enumerate() {
                let k = c * 4 + lane;
                *a += term(m + mid[k], cnt[k]);
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for k in chunks * 4..mid.len() {
            s += term(m + mid[k], cnt[k]);
        }
        s
    }

    /// A²akN (SciPy midrank, k = 2) of a sample given as distinct ascending values with
    /// multiplicities against this reference. `None` when either sample is empty or both together
    /// hold fewer than two distinct values.
    pub fn a2akn(&self, sample: &[(f32, u32)]) -> Option<f64> {
        let n1u: usize = sample.iter().map(|s| s.1 as usize).sum();
        if n1u == 0 || self.n == 0 {
            return None;
        }
        let (n1, n) = (n1u as f64, (n1u + self.n) as f64);
        let d = self.values.len();
        let (mut s, mut j, mut m) = (0.0, 0usize, 0.0);
        let mut distinct = 0usize;
        for &(w, f) in sample {
            let f = f as f64;
            let jw = j + self.values[j..].partition_point(|&v| v < w);
            s += self.segment(j, jw, m, n, n1);
            distinct += jw - j;
            let tie = jw < d && self.values[jw] == w;
            let l = f + if tie { self.count[jw] } else { 0.0 };
            let b = m + self.below[jw] + l / 2.0;
            let t = n * (m + f / 2.0) - b * n1;
            s += l * t * t / (b * (n - b) - n * l / 4.0);
            distinct += 1;
            j = if tie { jw + 1 } else { jw };
            m += f;
        }
        s += self.segment(j, d, m, n, n1);
        distinct += d - j;
        if distinct < 2 {
            return None;
        }
        Some((n - 1.0) / n * (1.0 / n1 + 1.0 / self.n as f64) * s / n)
    }

    /// The full test of `sample` against this reference (see [`anderson_ksamp`]); `sigma` is
    /// [`null_sigma`]`(sample size, self.len())`, computed once per sample size by the caller.
    pub fn test(&self, sample: &[(f32, u32)], sigma: f64, table: &PValueTable) -> Option<AdResult> {
        let n1: usize = sample.iter().map(|s| s.1 as usize).sum();
        if n1 + self.n < 4 {
            return None;
        }
        self.a2akn(sample).map(|a| finish(a, sigma, table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyfit_matches_numpy() {
        // numpy 2.x: np.polyfit(critical, np.log(sig), 2) for k = 2 (printed with repr).
        let t = PValueTable::two_sample();
        let numpy = [0.018_198_094_574_111_47, -1.008_226_564_465_251_5, -1.077_770_279_820_484];
        for (a, b) in t.poly.iter().zip(numpy) {
            assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{:?} vs {numpy:?}", t.poly);
        }
        assert_eq!(t.pvalue(0.0), P_CAP);
        assert_eq!(t.pvalue(100.0), P_FLOOR);
    }

    #[test]
    fn matches_scipy_on_hand_examples() {
        // scipy 1.17.1 anderson_ksamp(..., variant='midrank'), statistic and pvalue printed with repr.
        let f = |v: &[i32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        let cases: [(Vec<f64>, Vec<f64>, f64, f64); 3] = [
            (f(&[1, 2, 2, 3, 5]), f(&[0, 0, 2, 4, 4, 6, 7]), -0.377_769_621_164_090_1, 0.25),
            ((0..30).map(|i| i as f64 + 12.0).collect(), (0..40).map(|i| i as f64).collect(), 3.644_152_408_091_008_6, 0.010_995_890_849_553_122),
            (f(&[0, 0, 1, 1, 2, 2, 3, 5, 5, 5]), f(&[0, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 1]), 6.668_596_209_912_921, 0.001),
        ];
        for (x, y, stat, p) in cases {
            let r = anderson_ksamp(&x, &y).unwrap();
            assert!((r.statistic - stat).abs() < 1e-12 * stat.abs().max(1.0), "{r:?} vs {stat}");
            assert!((r.pvalue - p).abs() < 1e-14, "{r:?} vs {p}");
        }
        assert!(anderson_ksamp(&[1.0, 1.0], &[1.0, 1.0, 1.0]).is_none());
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn fast_column_matches_the_reference_with_ties_and_zeros() {
        let mut seed = 7u64;
        for case in 0..300 {
            let n1 = 1 + (lcg(&mut seed) % 40) as usize;
            let n2 = 1 + (lcg(&mut seed) % 300) as usize;
            let levels = 1 + lcg(&mut seed) % 12;
            let shift = (case % 3) as u64;
            let mut draw = |extra: u64| -> f32 {
                let r = lcg(&mut seed);
                if r.is_multiple_of(3) {
                    0.0
                } else {
                    (((r >> 2) % levels + extra) as f32 * 0.37) - if case % 5 == 0 { 1.0 } else { 0.0 }
                }
            };
            let x: Vec<f32> = (0..n1).map(|_| draw(shift)).collect();
            let y: Vec<f32> = (0..n2).map(|_| draw(0)).collect();
            let reference = anderson_ksamp(&x.iter().map(|&v| v as f64).collect::<Vec<_>>(), &y.iter().map(|&v| v as f64).collect::<Vec<_>>());
            let nz = |v: &[f32]| v.iter().copied().filter(|&a| a != 0.0).collect::<Vec<f32>>();
            let (mut xn, mut yn) = (nz(&x), nz(&y));
            let xz = n1 - xn.len();
            let yz = n2 - yn.len();
            let col = ControlColumn::new(&distinct_with_zeros(&mut yn, yz));
            let fast = if n1 + n2 < 4 { None } else { col.test(&distinct_with_zeros(&mut xn, xz), null_sigma(n1, n2), &PValueTable::two_sample()) };
            match (reference, fast) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    assert!((a.statistic - b.statistic).abs() < 1e-9 * a.statistic.abs().max(1.0), "case {case}: {a:?} {b:?}");
                    assert!((a.pvalue - b.pvalue).abs() < 1e-12, "case {case}: {a:?} {b:?}");
                }
                (a, b) => panic!("case {case}: {a:?} vs {b:?}"),
            }
        }
    }
}
