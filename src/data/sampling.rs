//! Seeded samplers on SplitMix64 for the simulator: gamma (Marsaglia-Tsang), Poisson (inversion /
//! Hörmann PTRS) and negative binomial (inversion for small means, gamma-Poisson otherwise).

use crate::rng::SplitMix64;

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; |error| < 1e-13 over the range used here).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Gamma(shape, scale = 1).
pub fn gamma(rng: &mut SplitMix64, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.unit();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal();
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - rng.unit();
        if u < 1.0 - 0.0331 * x * x * x * x || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// Poisson(lambda).
pub fn poisson(rng: &mut SplitMix64, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let u = rng.unit();
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let mut k = 0u64;
        while u >= cdf && k < 10_000 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        return k;
    }
    // Hörmann (1993) transformed rejection with squeeze (PTRS).
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let invalpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.unit() - 0.5;
        let v = rng.unit();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + invalpha.ln() - (a / (us * us) + b).ln() <= -lambda + k * loglam - ln_gamma(k + 1.0) {
            return k as u64;
        }
    }
}

/// Negative binomial with mean `mu` and size `theta` (variance mu + mu²/theta).
pub fn neg_binomial(rng: &mut SplitMix64, mu: f64, theta: f64) -> u64 {
    if mu <= 0.0 {
        return 0;
    }
    if mu <= 20.0 {
        let q = mu / (theta + mu);
        let mut p = (-theta * (mu / theta).ln_1p()).exp();
        let u = rng.unit();
        let mut cdf = p;
        let mut k = 0u64;
        while u >= cdf {
            p *= (k as f64 + theta) / (k as f64 + 1.0) * q;
            k += 1;
            cdf += p;
            if k > 100_000 || p == 0.0 {
                break;
            }
        }
        return k;
    }
    let lambda = gamma(rng, theta) * mu / theta;
    poisson(rng, lambda)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(f: impl Fn(&mut SplitMix64) -> f64, n: usize) -> (f64, f64) {
        let mut rng = SplitMix64::new(42);
        let xs: Vec<f64> = (0..n).map(|_| f(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        (m, v)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!((ln_gamma(1.0)).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn samplers_have_the_right_moments() {
        let (m, v) = moments(|r| gamma(r, 0.4), 200_000);
        assert!((m - 0.4).abs() < 0.01 && (v - 0.4).abs() < 0.02, "gamma {m} {v}");
        let (m, v) = moments(|r| poisson(r, 55.0) as f64, 200_000);
        assert!((m - 55.0).abs() < 0.1 && (v - 55.0).abs() < 1.0, "poisson {m} {v}");
        for (mu, th) in [(0.3, 0.7), (5.0, 2.0), (80.0, 10.0)] {
            let (m, v) = moments(|r| neg_binomial(r, mu, th) as f64, 200_000);
            let want_v = mu + mu * mu / th;
            assert!((m - mu).abs() < 0.02 * mu.max(1.0), "nb mean {m} vs {mu}");
            assert!((v - want_v).abs() < 0.05 * want_v, "nb var {v} vs {want_v}");
        }
    }
}
