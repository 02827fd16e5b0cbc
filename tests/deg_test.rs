//! The Anderson-Darling DEG count against SciPy and statsmodels on the committed fixture
//! `tests/fixtures/deg_ad` (SYNTHETIC random values with zeros and ties, written by
//! `scripts/make_deg_fixture.py`): every statistic and p-value, the per-perturbation counts for both
//! FDR families, and `graphreach dataset info --degs` on the same values.

use graphreach::data::anderson::{distinct_with_zeros, null_sigma, ControlColumn, PValueTable};
use graphreach::data::deg_test::{ad_pvalues, deg_counts, DegConfig, DegTest, FdrScope};
use graphreach::data::{ConditionDe, CsrMatrix, Dataset};
use std::path::PathBuf;

const DIR: &str = "tests/fixtures/deg_ad";

struct Fixture {
    conditions: Vec<String>,
    group: Vec<u32>,
    genes: Vec<String>,
    x: CsrMatrix,
    dense: Vec<Vec<f32>>,
}

fn rows(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(PathBuf::from(DIR).join(file)).unwrap();
    text.lines().skip(1).map(|l| l.split('\t').map(String::from).collect()).collect()
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(PathBuf::from(DIR).join("values.tsv")).unwrap();
    let header: Vec<String> = text.lines().next().unwrap().split('\t').skip(1).map(String::from).collect();
    let mut conditions = vec!["ctrl".to_string()];
    let (mut group, mut dense) = (Vec::new(), Vec::new());
    let mut x = CsrMatrix { n_cols: header.len(), indptr: vec![0], ..Default::default() };
    for r in rows("values.tsv") {
        let c = match conditions.iter().position(|c| *c == r[0]) {
            Some(c) => c,
            None => {
                conditions.push(r[0].clone());
                conditions.len() - 1
            }
        };
        group.push(c as u32);
        // Each value is the shortest text of a float32; parsing as f64 and narrowing is exact.
        let v: Vec<f32> = r[1..].iter().map(|s| s.parse::<f64>().unwrap() as f32).collect();
        for (j, &a) in v.iter().enumerate() {
            if a != 0.0 {
                x.indices.push(j as u32);
                x.data.push(a);
            }
        }
        x.indptr.push(x.data.len() as u64);
        dense.push(v);
    }
    x.n_rows = group.len();
    Fixture { conditions, group, genes: header, x, dense }
}

#[test]
fn statistics_and_pvalues_match_scipy() {
    let f = fixture();
    let table = PValueTable::two_sample();
    let col_of = |c: u32, j: usize| -> Vec<f32> { f.dense.iter().zip(&f.group).filter(|(_, &g)| g == c).map(|(r, _)| r[j]).collect() };
    let pvals = ad_pvalues(&f.x, &f.group, f.conditions.len(), false);
    let expected = rows("expected_tests.tsv");
    assert_eq!(expected.len(), (f.conditions.len() - 1) * f.genes.len());
    let (mut floored, mut capped, mut between) = (0, 0, 0);
    for e in &expected {
        let p = f.conditions.iter().position(|c| *c == e[0]).unwrap();
        let j = f.genes.iter().position(|g| *g == e[1]).unwrap();
        let (stat, pv): (f64, f64) = (e[2].parse().unwrap(), e[3].parse().unwrap());
        let ctrl = col_of(0, j);
        let pert = col_of(p as u32, j);
        let nz = |v: &[f32]| v.iter().copied().filter(|&a| a != 0.0).collect::<Vec<f32>>();
        let (mut cn, mut pn) = (nz(&ctrl), nz(&pert));
        let column = ControlColumn::new(&distinct_with_zeros(&mut cn, ctrl.len() - nz(&ctrl).len()));
        let sample = distinct_with_zeros(&mut pn, pert.len() - nz(&pert).len());
        let got = column.test(&sample, null_sigma(pert.len(), ctrl.len()), &table);
        match got {
            None => assert!(stat.is_nan() && pv == 1.0, "{e:?}: graphreach refused a test SciPy ran"),
            Some(r) => {
                assert!((r.statistic - stat).abs() <= 1e-10 * stat.abs().max(1.0), "{e:?}: statistic {}", r.statistic);
                assert!((r.pvalue - pv).abs() <= 1e-12 * pv, "{e:?}: p-value {}", r.pvalue);
            }
        }
        let dataset_p = pvals[(p - 1) * f.genes.len() + j];
        assert!((dataset_p - pv).abs() <= 1e-12 * pv, "{e:?}: dataset path p-value {dataset_p}");
        if pv == 0.001 {
            floored += 1;
        } else if pv == 0.25 {
            capped += 1;
        } else if pv < 0.25 {
            between += 1;
        }
    }
    // The fixture exercises all three branches of SciPy's p-value.
    assert!(floored > 5 && capped > 5 && between > 5, "{floored} {capped} {between}");
}

#[test]
fn deg_counts_match_statsmodels_for_both_fdr_families() {
    let f = fixture();
    let expected = rows("expected_counts.tsv");
    for (scope, col) in [(FdrScope::Screen, 1), (FdrScope::Perturbation, 2)] {
        let cfg = DegConfig { test: DegTest::AndersonDarling, fdr: scope, alpha: 0.05 };
        let counts = deg_counts(&f.x, &f.group, f.conditions.len(), &cfg, false);
        assert_eq!(counts[0], 0);
        for e in &expected {
            let p = f.conditions.iter().position(|c| *c == e[0]).unwrap();
            assert_eq!(counts[p], e[col].parse::<usize>().unwrap(), "{scope:?} {}", e[0]);
        }
    }
    // The fixture separates the two families.
    assert!(expected.iter().any(|e| e[1] != e[2]));
}

#[test]
fn dataset_info_reports_ad_counts_and_quartiles() {
    let f = fixture();
    let n = f.x.n_rows;
    let ds = Dataset {
        name: "deg-fixture".into(),
        synthetic: true,
        cell_type: "none".into(),
        gene_ids: f.genes.clone(),
        gene_names: f.genes.clone(),
        x: f.x.clone(),
        conditions: f.conditions.clone(),
        cell_condition: f.group.clone(),
        de: vec![ConditionDe::default(); f.conditions.len()],
        ctrl_pairing: vec![0; n],
        pairing_seed: 0,
    };
    let dir = std::env::temp_dir().join(format!("graphreach-degtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fixture.h5ad");
    graphreach::data::store::write_dataset(ds, None, &path, false).unwrap();
    let bin = env!("CARGO_BIN_EXE_graphreach");
    let run = |extra: &[&str]| {
        let mut args = vec!["dataset", "info", path.to_str().unwrap(), "--degs", "--format", "json"];
        args.extend_from_slice(extra);
        let o = std::process::Command::new(bin).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let expected = rows("expected_counts.tsv");
    let v = run(&["--deg-test", "anderson-darling"]);
    assert_eq!(v["deg_test"], "anderson-darling");
    assert_eq!(v["deg_fdr"], "screen");
    let mut want: Vec<f64> = Vec::new();
    for e in &expected {
        assert_eq!(v["degs"][&e[0]].as_u64().unwrap(), e[1].parse::<u64>().unwrap(), "{}", e[0]);
        want.push(e[1].parse().unwrap());
    }
    // numpy.percentile(..., [25, 50, 75]) of the expected counts (linear interpolation).
    want.sort_by(f64::total_cmp);
    let q = |f: f64| {
        let h = (want.len() - 1) as f64 * f;
        want[h.floor() as usize] + (want[h.ceil() as usize] - want[h.floor() as usize]) * (h - h.floor())
    };
    assert_eq!(v["degs_q25"].as_f64().unwrap(), q(0.25));
    assert_eq!(v["degs_median"].as_f64().unwrap(), q(0.5));
    assert_eq!(v["degs_q75"].as_f64().unwrap(), q(0.75));
    // Default test is Anderson-Darling; the per-perturbation family is selectable.
    assert_eq!(run(&[])["degs"], v["degs"]);
    let per = run(&["--deg-fdr", "perturbation"]);
    for e in &expected {
        assert_eq!(per["degs"][&e[0]].as_u64().unwrap(), e[2].parse::<u64>().unwrap(), "{}", e[0]);
    }
    let w = run(&["--deg-test", "welch"]);
    assert_eq!(w["deg_test"], "welch");
    assert!(w["degs"].as_object().unwrap().len() == expected.len());
    std::fs::remove_dir_all(&dir).ok();
}
