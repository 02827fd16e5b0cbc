//! Means, standard deviations and 95% confidence intervals (Student t) for the report.

use crate::data::sampling::ln_gamma;

/// Mean, sample sd and the 95% t-interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Sample size.
    pub n: usize,
    /// Mean (NaN when n = 0).
    pub mean: f64,
    /// Sample standard deviation (NaN when n < 2).
    pub sd: f64,
    /// Lower end of the 95% interval (NaN when n < 2).
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Estimate {
    /// The estimate of `v`.
    pub fn of(v: &[f64]) -> Estimate {
        let n = v.len();
        if n == 0 {
            return Estimate { n, mean: f64::NAN, sd: f64::NAN, lo: f64::NAN, hi: f64::NAN };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate { n, mean, sd: f64::NAN, lo: f64::NAN, hi: f64::NAN };
        }
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let half = t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt();
        Estimate { n, mean, sd, lo: mean - half, hi: mean + half }
    }

    /// Every value multiplied by `k` (e.g. 1000 for "x 10^3").
    pub fn scaled(self, k: f64) -> Estimate {
        Estimate { n: self.n, mean: self.mean * k, sd: self.sd * k, lo: self.lo * k, hi: self.hi * k }
    }
}

/// Regularised incomplete beta I_x(a, b) (continued fraction, Numerical Recipes' `betacf`).
fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    let cf = |x: f64, a: f64, b: f64| {
        let tiny = 1e-300;
        let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
        let mut c = 1.0;
        let mut d = 1.0 - qab * x / qap;
        if d.abs() < tiny {
            d = tiny;
        }
        d = 1.0 / d;
        let mut h = d;
        for m in 1..300 {
            let m = m as f64;
            let m2 = 2.0 * m;
            let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1.0 + aa * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + aa / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            h *= d * c;
            let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1.0 + aa * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + aa / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        h
    };
    if x < (a + 1.0) / (a + b + 2.0) {
        front * cf(x, a, b) / a
    } else {
        1.0 - front * cf(1.0 - x, b, a) / b
    }
}

/// P(T <= t) for Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(x, df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (bisection on [`t_cdf`]).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (-1e3, 1e3);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        for (df, want) in [(1.0, 12.7062), (2.0, 4.3027), (4.0, 2.7764), (9.0, 2.2622), (29.0, 2.0452), (1e6, 1.9600)] {
            let q = t_quantile(0.975, df);
            assert!((q - want).abs() < 1e-3, "df {df}: {q} vs {want}");
        }
    }

    #[test]
    fn estimates() {
        let e = Estimate::of(&[1.0, 2.0, 3.0]);
        assert_eq!((e.n, e.mean, e.sd), (3, 2.0, 1.0));
        let half = 4.302652729749464 / 3f64.sqrt();
        assert!((e.hi - (2.0 + half)).abs() < 1e-6 && (e.lo - (2.0 - half)).abs() < 1e-6);
        let one = Estimate::of(&[5.0]);
        assert!(one.mean == 5.0 && one.sd.is_nan() && one.lo.is_nan());
        assert!(Estimate::of(&[]).mean.is_nan());
        assert_eq!(Estimate::of(&[0.001, 0.003]).scaled(1000.0).mean, 2.0);
    }
}
