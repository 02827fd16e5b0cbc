//! `graphreach simulate --preset norman`: a SYNTHETIC Norman-2019-like CRISPRa screen of single
//! and double perturbations in K562 (SIMULATOR.md, "Double perturbations").
//!
//! Singles are built as the other presets build theirs (the signed CollecTRI network propagated
//! from the activated gene, a shared program, a response scale set so that the single reaches its
//! real DEG count), with the target activated instead of knocked down. A double `A+B` is built
//! from its two singles with Norman's genetic-interaction model:
//! `l_AB = sat(c1·l_A + c2·l_B + ε)` on the log-fold-change scale, where `c1`, `c2` are the
//! real fit of that pair (`coef_first`, `coef_second`; a seeded draw of another pair's fit for
//! the 6 doubles Norman did not fit) and `ε` is a network response to a few random regulators,
//! scaled so that the fit explains the double as well as it did in the real data:
//! `|ε| = |c1·l_A + c2·l_B|·sqrt(1/corr_fit² − 1)`.

use super::dataset::CsrMatrix;
use super::norman::{self, GiFit, NormanDesign};
use super::sim_inputs::{self, RealPerturbation};
use super::simulate::{network, propagate, response_scale, sample_cells, saturate, select_genes, Group, SimParams, SimSize, Simulated};
use crate::error::{Error, Result};
use crate::rng::{splitmix_at, SplitMix64};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Measured genes of GEARS's processed Norman dataset (5,000 highly variable genes plus the
/// perturbed genes): the preset's default `--genes`.
pub const NORMAN_MEASURED_GENES: usize = 5_045;
/// Nominal cells per condition (an assumption: the per-condition cell counts are not among the
/// real inputs; the real screen has about 100,000 cells over 287 conditions).
pub const NOMINAL_CELLS: f64 = 300.0;
/// Nominal control cells (an assumption, as [`NOMINAL_CELLS`]).
pub const NOMINAL_CONTROLS: f64 = 7_000.0;
/// Median CRISPRa activation of the target (fold over baseline; an assumption: Norman's targets
/// are often silent in K562, so only the direction and a strong size are modelled).
pub const ACTIVATION_FOLD: f64 = 8.0;
/// Regulators whose response makes up a double's residual ε.
pub const RESIDUAL_REGULATORS: usize = 3;

/// One simulated double: its genes and the interaction it was built with.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DoubleTruth {
    /// The condition `A+B`.
    pub condition: String,
    /// Weight of A's single response.
    pub c1: f64,
    /// Weight of B's single response.
    pub c2: f64,
    /// Correlation of the fit with the double that the residual was scaled to.
    pub corr_fit: f64,
    /// Whether (c1, c2, corr_fit) are the real fit of this pair (false: another pair's fit).
    pub own_fit: bool,
}

/// The conditions kept at a size: `n` of the 236, as a seeded order over the doubles, each
/// taken with its two singles while it fits, then further singles. Returns (singles, doubles)
/// as indices into the design.
fn choose(design: &NormanDesign, n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed ^ 0x6e6f_726d);
    let shuffle = |len: usize, rng: &mut SplitMix64| {
        let mut o: Vec<usize> = (0..len).collect();
        for i in 0..len {
            let j = i + rng.below((len - i) as u64) as usize;
            o.swap(i, j);
        }
        o
    };
    let (d_order, s_order) = (shuffle(design.doubles.len(), &mut rng), shuffle(design.singles.len(), &mut rng));
    let single_of: HashMap<&str, usize> = design.singles.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let (mut singles, mut doubles) = (BTreeSet::new(), BTreeSet::new());
    for &d in &d_order {
        let (a, b) = &design.doubles[d];
        let add: Vec<usize> = [a, b].iter().filter_map(|g| single_of.get(g.as_str()).copied()).filter(|s| !singles.contains(s)).collect();
        if singles.len() + doubles.len() + add.len() < n {
            singles.extend(add);
            doubles.insert(d);
        }
    }
    for &s in &s_order {
        if singles.len() + doubles.len() < n {
            singles.insert(s);
        }
    }
    (singles.into_iter().collect(), doubles.into_iter().collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    super::deg_test::quantile(&v, 0.5)
}

/// Generates the Norman preset at the given size (the flags mean what they mean for the other
/// presets; `--perturbations` counts singles and doubles together).
pub fn simulate_norman(size: &SimSize, seed: u64, progress: bool) -> Result<Simulated> {
    let scale = size.scale;
    let design = norman::design()?;
    let total = design.singles.len() + design.doubles.len();
    if let Some(n) = size.perturbations.filter(|&n| n > total) {
        return Err(Error::invalid(format!("--perturbations {n}: the Norman preset has {total} perturbations ({} singles, {} doubles)", design.singles.len(), design.doubles.len())));
    }
    let n_keep = size.perturbations.unwrap_or_else(|| ((total as f64 * scale).round() as usize).clamp(3, total));
    let (keep_s, keep_d) = choose(&design, n_keep, seed);
    let p = SimParams::default();
    let lib_sigma = sim_inputs::library_sigma(p.lib_sigma)?;
    // Real per-gene readouts from the fits: UMIs per cell and DE genes of each single.
    let mut umi: HashMap<&str, f64> = HashMap::new();
    let mut de: HashMap<&str, f64> = HashMap::new();
    for f in &design.fits {
        umi.insert(&f.first, f.umi_first);
        umi.insert(&f.second, f.umi_second);
        de.insert(&f.first, f.de_first);
        de.insert(&f.second, f.de_second);
    }
    let ctrl_umi = median(umi.values().copied().collect());
    let median_de = median(de.values().copied().collect());
    let base = sim_inputs::baseline_genes()?;
    let pert_set: HashSet<&str> = design.singles.iter().map(String::as_str).collect();
    let chosen_set: HashSet<&str> = keep_s
        .iter()
        .map(|&s| design.singles[s].as_str())
        .chain(keep_d.iter().flat_map(|&d| [design.doubles[d].0.as_str(), design.doubles[d].1.as_str()]))
        .collect();
    let genes: Vec<&sim_inputs::BaselineGene> =
        select_genes(&base, &pert_set, &chosen_set, Some(NORMAN_MEASURED_GENES), size.genes, ctrl_umi, &p)?.into_iter().map(|i| &base[i]).collect();
    let gene_ids: Vec<String> = genes.iter().map(|g| g.id.clone()).collect();
    let gene_names: Vec<String> = genes.iter().map(|g| g.symbol.clone()).collect();
    let rel: Vec<f64> = genes.iter().map(|g| g.q).collect();
    let theta: Vec<f64> = genes.iter().map(|g| g.theta).collect();
    let measured_share: f64 = rel.iter().sum::<f64>().min(1.0);
    let net = network(seed)?;
    let node_of_gene: Vec<Option<usize>> = gene_names.iter().map(|g| net.index.get(g).copied()).collect();
    let program: Vec<usize> = p.program_tfs.iter().filter_map(|t| net.index.get(*t).copied()).collect();
    let regulators: Vec<usize> = (0..net.out.len()).filter(|&n| !net.out[n].is_empty()).collect();
    let gene_col: HashMap<&str, usize> = gene_names.iter().enumerate().map(|(j, g)| (g.as_str(), j)).collect();
    let on_measured = |resp: &[f64]| -> Vec<f64> { node_of_gene.iter().map(|n| n.map(|n| resp[n]).unwrap_or(0.0)).collect() };
    let cells_of = |rng: &mut SplitMix64| -> f64 { NOMINAL_CELLS * (0.3 * rng.normal()).exp() };
    let mean_cells = match size.cells_per_perturbation {
        Some(m) => m as f64,
        None => NOMINAL_CELLS * scale.sqrt(),
    };
    let n_ctrl = size.controls.unwrap_or_else(|| ((NOMINAL_CONTROLS * scale).round() as usize).max(10));
    // Every single's response (all 105, each from its own stream, so a subset does not change them):
    // log-fold changes on the measured genes, the target's activation and the real readouts.
    struct Single {
        lfc: Vec<f64>,
        target: Option<usize>,
        act: f64,
        real: RealPerturbation,
    }
    let singles: Vec<Single> = design
        .singles
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut rng = SplitMix64::new(splitmix_at(seed ^ 0x7369_6e67, i as u64));
            let act = ACTIVATION_FOLD.ln() + 0.5 * rng.normal();
            let amp: Vec<(usize, f64)> = program.iter().map(|&t| (t, p.program_sd * rng.normal())).collect();
            let mut on = on_measured(&propagate(&net, &p, net.index.get(g).copied(), act, &amp));
            let target = gene_col.get(g.as_str()).copied();
            if let Some(j) = target {
                on[j] = 0.0;
            }
            let lib = umi.get(g.as_str()).copied().unwrap_or(ctrl_umi);
            let cells = cells_of(&mut rng);
            let se: Vec<f64> = rel
                .iter()
                .zip(&theta)
                .map(|(&q, &t)| ((1.0 / (lib * q) + 1.0 / t) / cells + (1.0 / (ctrl_umi * q) + 1.0 / t) / NOMINAL_CONTROLS).sqrt())
                .collect();
            let degs = 10f64.powf(de.get(g.as_str()).copied().unwrap_or(median_de)).max(1.0);
            let alpha = response_scale(&on, &se, (degs as usize).saturating_sub(target.is_some() as usize).max(1), &p);
            let lfc = on.iter().map(|&v| saturate(alpha * v, p.max_lfc)).collect();
            Single { lfc, target, act, real: RealPerturbation { remaining: act.exp(), cells, degs, mean_umi: lib } }
        })
        .collect();
    let single_of: HashMap<&str, usize> = design.singles.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let compose = |lfc: &[f64], targets: &[(Option<usize>, f64)]| -> Vec<f64> {
        let mut q: Vec<f64> = rel.iter().zip(lfc).map(|(&r, &l)| r * l.exp()).collect();
        for &(t, act) in targets {
            if let Some(j) = t {
                q[j] *= act.exp();
            }
        }
        let total = (1.0 - measured_share) + q.iter().sum::<f64>();
        q.iter_mut().for_each(|v| *v /= total);
        q
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut real_rows = Vec::new();
    let cells = |c: f64| ((c * mean_cells / NOMINAL_CELLS).round() as usize).max(4);
    for &s in &keep_s {
        let sg = &singles[s];
        let name = format!("{}+ctrl", design.singles[s]);
        groups.push((name.clone(), compose(&sg.lfc, &[(sg.target, sg.act)]), cells(sg.real.cells), sg.real.mean_umi));
        real_rows.push((name, sg.real));
    }
    let mut truths = Vec::new();
    for &d in &keep_d {
        let (a, b) = &design.doubles[d];
        let mut rng = SplitMix64::new(splitmix_at(seed ^ 0x6475_626c, d as u64));
        let (fit, own): (&GiFit, bool) = match design.fit_of[d] {
            Some(k) => (&design.fits[k], true),
            None => (&design.fits[rng.below(design.fits.len() as u64) as usize], false),
        };
        let (sa, sb) = (&singles[single_of[a.as_str()]], &singles[single_of[b.as_str()]]);
        let f: Vec<f64> = sa.lfc.iter().zip(&sb.lfc).map(|(x, y)| fit.c1 * x + fit.c2 * y).collect();
        let amp: Vec<(usize, f64)> = (0..RESIDUAL_REGULATORS).map(|_| (regulators[rng.below(regulators.len() as u64) as usize], rng.normal())).collect();
        let mut eps = on_measured(&propagate(&net, &p, None, 0.0, &amp));
        if eps.iter().all(|&e| e == 0.0) {
            eps.iter_mut().for_each(|e| *e = rng.normal());
        }
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let r = fit.corr_fit.clamp(0.3, 0.999);
        let want = norm(&f) * (1.0 / (r * r) - 1.0).sqrt();
        let have = norm(&eps);
        let lfc: Vec<f64> = f.iter().zip(&eps).map(|(x, e)| saturate(x + e * want / have, p.max_lfc)).collect();
        let name = format!("{a}+{b}");
        let cells_d = cells_of(&mut rng);
        let real = RealPerturbation { remaining: f64::NAN, cells: cells_d, degs: 10f64.powf(fit.de_double), mean_umi: fit.umi_double };
        groups.push((name.clone(), compose(&lfc, &[(sa.target, sa.act), (sb.target, sb.act)]), cells(cells_d), fit.umi_double));
        real_rows.push((name.clone(), real));
        truths.push(DoubleTruth { condition: name, c1: fit.c1, c2: fit.c2, corr_fit: fit.corr_fit, own_fit: own });
    }
    groups.push(("ctrl".into(), rel.clone(), n_ctrl, ctrl_umi));
    let (counts, condition): (CsrMatrix, Vec<String>) = sample_cells(&groups, &theta, lib_sigma, seed, progress);
    let shares = groups.iter().map(|g| (g.0.clone(), g.1.iter().sum::<f64>())).collect();
    let description = format!(
        "preset=Norman seed={seed} scale={scale} perturbations={} (singles={} doubles={}) controls={n_ctrl} genes={}",
        keep_s.len() + keep_d.len(),
        keep_s.len(),
        keep_d.len(),
        gene_ids.len()
    );
    Ok(Simulated {
        counts,
        gene_ids,
        gene_names,
        condition,
        n_perturbations: keep_s.len() + keep_d.len(),
        n_control: n_ctrl,
        real: real_rows,
        real_control: (NOMINAL_CONTROLS, ctrl_umi),
        measured_share: shares,
        description,
        doubles: truths,
    })
}
