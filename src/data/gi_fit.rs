//! Norman 2019's genetic-interaction model refitted on a dataset, and the check of the Norman
//! preset (`graphreach simulate --preset norman --calibration`): for every double `A+B` with both
//! singles, the least-squares fit (no intercept) `δ_AB ≈ c1·δ_A + c2·δ_B` of the pseudo-bulk
//! changes from control (mean `ln(1 + 10⁴·count/total)` per gene, over the genes with at least
//! [`MIN_FIT_MEAN_UMI`] UMIs per control cell that are among the [`FIT_TOP_GENES`] most changed
//! genes of either single), the correlation of the fit with `δ_AB`
//! (`corr_fit`), and the interaction class of (c1, c2) ([`GiClass`]). The report puts the real
//! fits, the coefficients the simulator drew and the refit on the simulated cells side by side.

use super::dataset::CsrMatrix;
use super::deg_test::quantile;
use super::norman::GiFit;
use super::simulate::Simulated;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Per double, the fit uses the union of each single's this many most changed genes.
pub const FIT_TOP_GENES: usize = 200;

/// Genes enter the fit when their mean count per control cell is at least this.
pub const MIN_FIT_MEAN_UMI: f64 = 0.5;

/// How a double combines its singles, from the fitted weights (thresholds in SIMULATOR.md):
/// magnitude `m = sqrt(c1² + c2²)` against the additive `√2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GiClass {
    /// One single's effect is (nearly) gone in the double: `min(c1, c2) < 0.25`.
    Suppressive,
    /// Stronger than the sum: `m > 1.2·√2`.
    Synergistic,
    /// Weaker than the sum: `m < 0.8·√2`.
    Buffering,
    /// Otherwise.
    Additive,
}

impl GiClass {
    /// Every class, in report order.
    pub const ALL: [GiClass; 4] = [GiClass::Additive, GiClass::Synergistic, GiClass::Buffering, GiClass::Suppressive];

    /// The class of weights (c1, c2).
    pub fn of(c1: f64, c2: f64) -> GiClass {
        let m = (c1 * c1 + c2 * c2).sqrt();
        if c1.min(c2) < 0.25 {
            GiClass::Suppressive
        } else if m > 1.2 * std::f64::consts::SQRT_2 {
            GiClass::Synergistic
        } else if m < 0.8 * std::f64::consts::SQRT_2 {
            GiClass::Buffering
        } else {
            GiClass::Additive
        }
    }

    /// Its name as in the report.
    pub fn name(self) -> &'static str {
        match self {
            GiClass::Suppressive => "suppressive",
            GiClass::Synergistic => "synergistic",
            GiClass::Buffering => "buffering",
            GiClass::Additive => "additive",
        }
    }
}

/// Least squares without intercept of `dab` on (`da`, `db`): (c1, c2, corr_fit), or `None` when
/// the two singles are collinear or empty.
pub fn fit_pair(da: &[f64], db: &[f64], dab: &[f64]) -> Option<(f64, f64, f64)> {
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    let (aa, bb, ab) = (dot(da, da), dot(db, db), dot(da, db));
    let (ay, by) = (dot(da, dab), dot(db, dab));
    let det = aa * bb - ab * ab;
    if det.is_nan() || det.abs() <= 1e-12 * (aa * bb).max(1e-300) {
        return None;
    }
    let c1 = (ay * bb - by * ab) / det;
    let c2 = (by * aa - ay * ab) / det;
    let fit: Vec<f64> = da.iter().zip(db).map(|(a, b)| c1 * a + c2 * b).collect();
    Some((c1, c2, pearson(&fit, dab)))
}

/// Pearson correlation (NaN when either side is constant).
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Mean `ln(1 + 10⁴·v/total)` per gene of every condition, and the mean raw count per control cell.
pub fn condition_means(counts: &CsrMatrix, condition: &[String]) -> (HashMap<String, Vec<f64>>, Vec<f64>) {
    let factor = super::deg_test::normalize_factors(counts, 1e4);
    let mut sums: HashMap<String, (Vec<f64>, usize)> = HashMap::new();
    let mut ctrl_raw = vec![0f64; counts.n_cols];
    for (r, c) in condition.iter().enumerate() {
        let e = sums.entry(c.clone()).or_insert_with(|| (vec![0f64; counts.n_cols], 0));
        e.1 += 1;
        let (idx, val) = counts.row(r);
        for (&j, &v) in idx.iter().zip(val) {
            e.0[j as usize] += (1.0 + v as f64 * factor[r]).ln();
            if c == "ctrl" {
                ctrl_raw[j as usize] += v as f64;
            }
        }
    }
    let n_ctrl = sums.get("ctrl").map_or(0, |s| s.1).max(1) as f64;
    ctrl_raw.iter_mut().for_each(|v| *v /= n_ctrl);
    let means = sums.into_iter().map(|(k, (s, n))| (k, s.into_iter().map(|v| v / n as f64).collect())).collect();
    (means, ctrl_raw)
}

/// One simulated double: the interaction it was built with and the refit on its cells.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DoubleCheck {
    /// `A+B`.
    pub condition: String,
    /// Drawn c1 / refit c1.
    pub c1: [f64; 2],
    /// Drawn c2 / refit c2.
    pub c2: [f64; 2],
    /// Drawn corr_fit / refit corr_fit.
    pub corr_fit: [f64; 2],
    /// Class of the drawn / refit weights.
    pub class: [GiClass; 2],
}

/// Quartiles (25%, median, 75%) of one quantity: real fits, drawn by the simulator, refit on the
/// simulated cells.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GiQuartiles {
    /// `c1`, `c2`, `magnitude` or `corr_fit`.
    pub quantity: String,
    /// Norman's fits (all 125).
    pub real: [f64; 3],
    /// What the simulated doubles were built with.
    pub drawn: [f64; 3],
    /// Refit on the simulated cells.
    pub simulated: [f64; 3],
}

/// Share of doubles per interaction class.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClassShare {
    /// Class name.
    pub class: GiClass,
    /// Share among the real fits.
    pub real: f64,
    /// Among the drawn weights.
    pub drawn: f64,
    /// Among the refits.
    pub simulated: f64,
}

/// The check of a simulated Norman dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GiReport {
    /// Always true: the simulated side is synthetic.
    pub synthetic: bool,
    /// Simulation description.
    pub description: String,
    /// Genes the fits use.
    pub n_fit_genes: usize,
    /// Doubles refitted.
    pub n_doubles: usize,
    /// Quartiles per quantity.
    pub summary: Vec<GiQuartiles>,
    /// Class shares.
    pub classes: Vec<ClassShare>,
    /// Every double.
    pub doubles: Vec<DoubleCheck>,
}

/// Positions of the genes that change most in either single: the union of each single's
/// [`FIT_TOP_GENES`] largest |δ| (chosen on the singles only, never on the double).
pub fn top_genes(da: &[f64], db: &[f64]) -> Vec<usize> {
    let mut keep = std::collections::BTreeSet::new();
    for d in [da, db] {
        let mut o: Vec<usize> = (0..d.len()).collect();
        o.sort_by(|&a, &b| d[b].abs().total_cmp(&d[a].abs()).then(a.cmp(&b)));
        keep.extend(o.into_iter().take(FIT_TOP_GENES));
    }
    keep.into_iter().collect()
}

fn quartiles(v: impl Iterator<Item = f64>) -> [f64; 3] {
    let mut d: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    d.sort_by(f64::total_cmp);
    [quantile(&d, 0.25), quantile(&d, 0.5), quantile(&d, 0.75)]
}

/// Refits every simulated double of `sim` and compares with the real fits `real`.
pub fn interaction_report(sim: &Simulated, real: &[GiFit]) -> Result<GiReport> {
    if sim.doubles.is_empty() {
        return Err(Error::invalid("the dataset has no simulated doubles to check; the interaction check is for --preset norman"));
    }
    let (means, ctrl_raw) = condition_means(&sim.counts, &sim.condition);
    let ctrl = means.get("ctrl").ok_or_else(|| Error::invalid("the simulated dataset has no control cells"))?;
    let genes: Vec<usize> = (0..ctrl.len()).filter(|&j| ctrl_raw[j] >= MIN_FIT_MEAN_UMI).collect();
    let delta = |c: &str| -> Option<Vec<f64>> { means.get(c).map(|m| genes.iter().map(|&j| m[j] - ctrl[j]).collect()) };
    let mut doubles = Vec::new();
    for t in &sim.doubles {
        let g = crate::graph::names::condition_genes(&t.condition);
        let (Some(da), Some(db), Some(dab)) = (delta(&format!("{}+ctrl", g[0])), delta(&format!("{}+ctrl", g[1])), delta(&t.condition)) else { continue };
        let keep = top_genes(&da, &db);
        let pick = |v: &[f64]| -> Vec<f64> { keep.iter().map(|&j| v[j]).collect() };
        let (c1, c2, r) = fit_pair(&pick(&da), &pick(&db), &pick(&dab)).unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        doubles.push(DoubleCheck {
            condition: t.condition.clone(),
            c1: [t.c1, c1],
            c2: [t.c2, c2],
            corr_fit: [t.corr_fit, r],
            class: [GiClass::of(t.c1, t.c2), GiClass::of(c1, c2)],
        });
    }
    let mag = |a: f64, b: f64| (a * a + b * b).sqrt();
    let row = |q: &str, r: &dyn Fn(&GiFit) -> f64, s: &dyn Fn(&DoubleCheck, usize) -> f64| GiQuartiles {
        quantity: q.into(),
        real: quartiles(real.iter().map(r)),
        drawn: quartiles(doubles.iter().map(|d| s(d, 0))),
        simulated: quartiles(doubles.iter().map(|d| s(d, 1))),
    };
    let summary = vec![
        row("c1", &|f| f.c1, &|d, i| d.c1[i]),
        row("c2", &|f| f.c2, &|d, i| d.c2[i]),
        row("magnitude sqrt(c1^2+c2^2)", &|f| mag(f.c1, f.c2), &|d, i| mag(d.c1[i], d.c2[i])),
        row("corr_fit", &|f| f.corr_fit, &|d, i| d.corr_fit[i]),
    ];
    let share = |n: usize, d: usize| if d == 0 { f64::NAN } else { n as f64 / d as f64 };
    let classes = GiClass::ALL
        .iter()
        .map(|&c| ClassShare {
            class: c,
            real: share(real.iter().filter(|f| GiClass::of(f.c1, f.c2) == c).count(), real.len()),
            drawn: share(doubles.iter().filter(|d| d.class[0] == c).count(), doubles.len()),
            simulated: share(doubles.iter().filter(|d| d.class[1] == c).count(), doubles.len()),
        })
        .collect();
    Ok(GiReport { synthetic: true, description: sim.description.clone(), n_fit_genes: genes.len(), n_doubles: doubles.len(), summary, classes, doubles })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_known_weights() {
        let da = [1.0, 0.0, 2.0, -1.0, 0.5];
        let db = [0.0, 1.0, 1.0, 1.0, -0.5];
        let dab: Vec<f64> = da.iter().zip(&db).map(|(a, b)| 0.7 * a + 1.6 * b).collect();
        let (c1, c2, r) = fit_pair(&da, &db, &dab).unwrap();
        assert!((c1 - 0.7).abs() < 1e-12 && (c2 - 1.6).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
        assert!(fit_pair(&da, &da, &dab).is_none());
    }

    #[test]
    fn classes_follow_the_thresholds() {
        assert_eq!(GiClass::of(1.0, 1.0), GiClass::Additive);
        assert_eq!(GiClass::of(1.5, 1.5), GiClass::Synergistic);
        assert_eq!(GiClass::of(0.5, 0.6), GiClass::Buffering);
        assert_eq!(GiClass::of(0.1, 3.0), GiClass::Suppressive);
    }
}
