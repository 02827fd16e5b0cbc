//! The simulator's calibration against the real Replogle 2022 K562-essential table (SIMULATOR.md):
//! DEGs per perturbation counted by the real statistic (Anderson-Darling + Benjamini-Hochberg over
//! all 8,563 measured genes) within 2x of the real quartiles, and knockdown, cells per perturbation
//! and UMI depth following the real table.
//!
//! Size: a seeded subset of `PERTURBATIONS` perturbations with their real cell counts, all 10,691
//! control cells and all 8,563 genes (`graphreach simulate --perturbations N`). `--scale` is not
//! used here because it also shrinks the cells per perturbation (x √F) and the controls (x F), and
//! DEG counts fall with them, as they would in a smaller real screen. The number of perturbations
//! only enters through the screen-wide FDR family, whose threshold depends on the share of tests
//! that are DEGs, not on how many tests there are.

use graphreach::data::deg_test::DegConfig;
use graphreach::data::sim_inputs::{replogle_table, strong_perturbations, REPLOGLE_MEASURED_GENES};
use graphreach::data::sim_report::calibration_report;
use graphreach::data::simulate::{simulate_sized, Preset, SimSize};

const PERTURBATIONS: usize = 40;
const SEED: u64 = 3;

fn quartiles(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    let q = |f: f64| {
        let h = (v.len() - 1) as f64 * f;
        v[h.floor() as usize] + (v[h.ceil() as usize] - v[h.floor() as usize]) * (h - h.floor())
    };
    [q(0.25), q(0.5), q(0.75)]
}

#[test]
fn replogle_preset_is_calibrated_on_the_real_statistic() {
    let size = SimSize { scale: 1.0, perturbations: Some(PERTURBATIONS), controls: None, cells_per_perturbation: None, genes: None };
    let sim = simulate_sized(Preset::ReplogleK562Essential, &size, SEED, false).unwrap();
    assert_eq!(sim.counts.n_cols, REPLOGLE_MEASURED_GENES);
    assert_eq!(sim.n_control, 10_691);
    let report = calibration_report(&sim, &DegConfig::default(), false).unwrap();
    assert!(report.synthetic);
    // The real quartiles of the whole preset (1,092 GEARS "strong" perturbations), from the table.
    let table = replogle_table().unwrap();
    let real_all: Vec<f64> = strong_perturbations().iter().map(|(d, _)| table.by_gene[d].degs).collect();
    let real = quartiles(real_all);
    assert_eq!(real, [198.75, 542.5, 1868.0]);
    let degs = &report.summary[0];
    for row in &report.summary {
        eprintln!("{:<45} real {:?} simulated {:?}", row.quantity, row.real, row.simulated);
    }
    eprintln!("whole-table real DEG quartiles {real:?}");
    for (k, &whole) in real.iter().enumerate() {
        // Against the whole real table, and against the real rows of the simulated perturbations.
        for reference in [whole, degs.real[k]] {
            let ratio = degs.simulated[k] / reference;
            assert!((0.5..=2.0).contains(&ratio), "DEG quartile {k}: simulated {} vs real {reference} ({degs:?})", degs.simulated[k]);
        }
    }
    // Knockdown, cells and UMI depth of the same perturbations follow their real rows.
    let [_, kd, cells, umi] = [&report.summary[0], &report.summary[1], &report.summary[2], &report.summary[3]];
    for k in 0..3 {
        assert!((kd.simulated[k] / kd.real[k] - 1.0).abs() < 0.25, "knockdown {kd:?}");
        assert!((cells.simulated[k] - cells.real[k]).abs() <= 0.5, "cells {cells:?}");
        assert!((umi.simulated[k] / umi.real[k] - 1.0).abs() < 0.05, "UMI {umi:?}");
    }
    assert!((report.control_umi[1] / report.control_umi[0] - 1.0).abs() < 0.02, "{:?}", report.control_umi);
    // The strongest real perturbations are the strongest simulated ones (rank correlation > 0.5).
    let rank = |v: Vec<f64>| -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        for (k, &i) in idx.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let a = rank(report.perturbations.iter().map(|p| p.real_degs).collect());
    let b = rank(report.perturbations.iter().map(|p| p.sim_degs as f64).collect());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let rho = cov / (a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() * b.iter().map(|y| (y - mb).powi(2)).sum::<f64>()).sqrt();
    assert!(rho > 0.5, "Spearman {rho}");
}

#[test]
fn size_overrides_give_the_requested_shape() {
    // A Papalexi-sized request in miniature: 3 perturbations, 12 controls, ~6 cells each, 40 genes.
    let size = SimSize { scale: 1.0, perturbations: Some(3), controls: Some(12), cells_per_perturbation: Some(6), genes: Some(40) };
    let sim = simulate_sized(Preset::ReplogleK562Essential, &size, 5, false).unwrap();
    assert_eq!((sim.n_perturbations, sim.n_control, sim.counts.n_cols), (3, 12, 40));
    let perturbed = sim.counts.n_rows - 12;
    assert!((15..=21).contains(&perturbed), "{perturbed} perturbed cells for a mean of 6");
    // The panel keeps the perturbed genes and spans the expression range of the 8,563 genes.
    for (c, _) in &sim.real {
        let gene = c.trim_end_matches("+ctrl");
        assert!(sim.gene_names.iter().any(|g| g == gene), "{gene} not measured");
    }
    let means: Vec<f64> = (0..40)
        .map(|j| (0..sim.counts.n_rows).map(|r| { let (c, v) = sim.counts.row(r); c.binary_search(&(j as u32)).map_or(0.0, |k| v[k] as f64) }).sum::<f64>())
        .collect();
    let (lo, hi) = (means.iter().copied().fold(f64::INFINITY, f64::min), means.iter().copied().fold(0.0, f64::max));
    assert!(hi / lo.max(1.0) > 100.0, "a downsampled panel spans the expression range: UMI sums {lo} .. {hi}");
    // Bad sizes are refused with the flag's name.
    let bad = SimSize { perturbations: Some(5000), ..size.clone() };
    let e = simulate_sized(Preset::ReplogleK562Essential, &bad, 5, false).err().unwrap().to_string();
    assert!(e.contains("--perturbations"), "{e}");
    let zero = SimSize { genes: Some(0), ..size };
    assert!(simulate_sized(Preset::ReplogleK562Essential, &zero, 5, false).err().unwrap().to_string().contains("--genes"));
}

#[test]
fn simulate_calibration_prints_real_next_to_simulated() {
    let dir = std::env::temp_dir().join(format!("graphreach-simcal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tiny.h5ad");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_graphreach"))
        .args(["simulate", "--preset", "replogle-k562-essential", "--perturbations", "3", "--controls", "60", "--genes", "200"])
        .args(["--cells-per-perturbation", "30", "--seed", "1", "--calibration", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["synthetic"], true);
    assert_eq!(v["n_genes"], 200);
    assert_eq!(v["control_cells"][1], 60.0);
    let p = v["perturbations"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    for row in p {
        for key in ["real_degs", "sim_degs", "real_knockdown", "sim_knockdown", "real_cells", "sim_cells", "real_umi", "sim_umi"] {
            assert!(row[key].is_number(), "{key} missing in {row}");
        }
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("[SYNTHETIC]") && err.contains("DEGs per perturbation"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
