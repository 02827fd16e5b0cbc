//! The calibration check of a simulated dataset (`graphreach simulate --calibration`): for every
//! simulated perturbation, the real Replogle readouts it was built from next to what its simulated
//! cells show — DEGs by the real statistic ([`super::deg_test`], over all measured genes, on
//! `normalize_total` + `log1p` values as `prepare` stores them), knockdown of the target gene, cells
//! and UMIs per cell — and the quartiles of each over the perturbations.

use super::deg_test::{ad_pvalues_with, bh_counts, normalize_factors, quantile, DegConfig, DegTest};
use super::simulate::Simulated;
use crate::error::{Error, Result};

/// One perturbation: real (Replogle Table S2B) and simulated.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PerturbationCheck {
    /// GEARS condition.
    pub condition: String,
    /// Real `Number of DEGs (anderson-darling)`.
    pub real_degs: f64,
    /// Simulated DEG count.
    pub sim_degs: usize,
    /// Real `fold knockdown` (remaining fraction of the target).
    pub real_knockdown: f64,
    /// Simulated remaining fraction: mean normalised target expression in the perturbation over
    /// that in the controls (NaN when the target is not measured).
    pub sim_knockdown: f64,
    /// Real `number of cells (filtered)`.
    pub real_cells: f64,
    /// Simulated cells.
    pub sim_cells: usize,
    /// Real `mean UMI count`.
    pub real_umi: f64,
    /// Simulated mean UMIs per cell over the whole transcriptome: UMIs on the measured genes
    /// divided by their expected share of the cell's UMIs.
    pub sim_umi: f64,
}

/// Quartiles (25%, median, 75%) of one quantity over the perturbations, real and simulated.
#[derive(Clone, Debug, serde::Serialize)]
pub struct QuartileRow {
    /// What is summarised.
    pub quantity: String,
    /// Real quartiles.
    pub real: [f64; 3],
    /// Simulated quartiles.
    pub simulated: [f64; 3],
}

/// The whole check.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CalibrationReport {
    /// Always true: the simulated side is synthetic.
    pub synthetic: bool,
    /// Simulation description (preset, seed, size).
    pub description: String,
    /// The DEG test and FDR family.
    pub deg_test: String,
    /// Measured genes (all tested).
    pub n_genes: usize,
    /// Real control cells / simulated control cells.
    pub control_cells: [f64; 2],
    /// Real / simulated mean UMIs per control cell (whole transcriptome, as `sim_umi`).
    pub control_umi: [f64; 2],
    /// Quartiles per quantity.
    pub summary: Vec<QuartileRow>,
    /// Every perturbation.
    pub perturbations: Vec<PerturbationCheck>,
}

fn quartiles(v: impl Iterator<Item = f64>) -> [f64; 3] {
    let mut d: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    d.sort_by(f64::total_cmp);
    [quantile(&d, 0.25), quantile(&d, 0.5), quantile(&d, 0.75)]
}

/// Computes the check of `sim` (DEGs counted with `cfg`, which must be the Anderson-Darling test).
pub fn calibration_report(sim: &Simulated, cfg: &DegConfig, progress: bool) -> Result<CalibrationReport> {
    if cfg.test != DegTest::AndersonDarling {
        return Err(Error::invalid("the calibration check counts DEGs with the Anderson-Darling test, as the real table does"));
    }
    let x = &sim.counts;
    let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    index.insert("ctrl", 0);
    for (k, (c, _)) in sim.real.iter().enumerate() {
        index.insert(c.as_str(), k as u32 + 1);
    }
    let n_groups = sim.real.len() + 1;
    let group: Vec<u32> = sim
        .condition
        .iter()
        .map(|c| index.get(c.as_str()).copied().ok_or_else(|| Error::invalid(format!("simulated condition '{c}' has no real row"))))
        .collect::<Result<_>>()?;
    let factor = normalize_factors(x, 1e4);
    let share: std::collections::HashMap<&str, f64> = sim.measured_share.iter().map(|(c, v)| (c.as_str(), *v)).collect();
    let share_of = |c: &str| share.get(c).copied().filter(|v| *v > 0.0).unwrap_or(1.0);
    let mut cells = vec![0usize; n_groups];
    let mut umi = vec![0f64; n_groups];
    for (r, &g) in group.iter().enumerate() {
        cells[g as usize] += 1;
        umi[g as usize] += x.row(r).1.iter().map(|&v| v as f64).sum::<f64>();
    }
    // Mean normalised expression of each perturbation's target, in its own cells and in the controls.
    let target: Vec<Option<u32>> = std::iter::once(None)
        .chain(sim.real.iter().map(|(c, _)| {
            let gene = c.trim_end_matches("+ctrl");
            sim.gene_names.iter().position(|g| g == gene).map(|j| j as u32)
        }))
        .collect();
    let (mut own, mut ctrl_of) = (vec![0f64; n_groups], vec![0f64; n_groups]);
    let ctrl_sum: std::collections::HashMap<u32, f64> = {
        let wanted: std::collections::HashSet<u32> = target.iter().flatten().copied().collect();
        let mut m = std::collections::HashMap::new();
        for (r, &g) in group.iter().enumerate() {
            if g == 0 {
                let (cols, vals) = x.row(r);
                for (&j, &v) in cols.iter().zip(vals) {
                    if wanted.contains(&j) {
                        *m.entry(j).or_insert(0.0) += v as f64 * factor[r];
                    }
                }
            }
        }
        m
    };
    for (r, &g) in group.iter().enumerate() {
        if let Some(j) = target[g as usize] {
            let (cols, vals) = x.row(r);
            if let Ok(k) = cols.binary_search(&j) {
                own[g as usize] += vals[k] as f64 * factor[r];
            }
        }
    }
    for g in 1..n_groups {
        if let Some(j) = target[g] {
            ctrl_of[g] = ctrl_sum.get(&j).copied().unwrap_or(0.0) / cells[0].max(1) as f64;
        }
    }
    let p = ad_pvalues_with(x, &group, n_groups, Some(&factor), progress);
    let degs = bh_counts(&p, x.n_cols, cfg.alpha, cfg.fdr);
    let perturbations: Vec<PerturbationCheck> = sim
        .real
        .iter()
        .enumerate()
        .map(|(k, (c, r))| {
            let g = k + 1;
            let kd = if target[g].is_some() && ctrl_of[g] > 0.0 { own[g] / cells[g] as f64 / ctrl_of[g] } else { f64::NAN };
            PerturbationCheck {
                condition: c.clone(),
                real_degs: r.degs,
                sim_degs: degs[k],
                real_knockdown: r.remaining,
                sim_knockdown: kd,
                real_cells: r.cells,
                sim_cells: cells[g],
                real_umi: r.mean_umi,
                sim_umi: umi[g] / cells[g].max(1) as f64 / share_of(c),
            }
        })
        .collect();
    let row = |name: &str, real: &dyn Fn(&PerturbationCheck) -> f64, simv: &dyn Fn(&PerturbationCheck) -> f64| QuartileRow {
        quantity: name.into(),
        real: quartiles(perturbations.iter().map(real)),
        simulated: quartiles(perturbations.iter().map(simv)),
    };
    let summary = vec![
        row("DEGs per perturbation", &|p| p.real_degs, &|p| p.sim_degs as f64),
        row("knockdown (remaining fraction of the target)", &|p| p.real_knockdown, &|p| p.sim_knockdown),
        row("cells per perturbation", &|p| p.real_cells, &|p| p.sim_cells as f64),
        row("UMIs per cell", &|p| p.real_umi, &|p| p.sim_umi),
    ];
    Ok(CalibrationReport {
        synthetic: true,
        description: sim.description.clone(),
        deg_test: format!("anderson-darling, Benjamini-Hochberg {} ({:?} family)", cfg.alpha, cfg.fdr),
        n_genes: x.n_cols,
        control_cells: [sim.real_control.0, cells[0] as f64],
        control_umi: [sim.real_control.1, umi[0] / cells[0].max(1) as f64 / share_of("ctrl")],
        summary,
        perturbations,
    })
}
