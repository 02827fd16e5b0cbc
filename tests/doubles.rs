//! Double perturbations end to end on a small SYNTHETIC Norman-like set: `simulate --preset norman`
//! (doubles built from their singles with the real interaction fits, checked by refitting them on
//! the simulated cells), then `prepare`, `split --scheme simulation` with GEARS's categories,
//! `train` for a few epochs and `evaluate` with metrics per category; and the errors of a bad
//! category file.

use graphreach::data::categories::{Category, CategoryTable};
use graphreach::data::gi_fit::{interaction_report, GiClass};
use graphreach::data::norman;
use graphreach::data::simulate::{simulate_sized, Preset, SimSize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-doubles-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphreach")).args(args).output().expect("binary runs")
}

fn ok(o: &Output) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "stderr: {e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The doubles carry the real fits of their pairs, and a refit on enough simulated cells gets
/// them back: weights of the right size that track the drawn ones, a fit that explains the double.
#[test]
fn simulated_doubles_carry_the_real_interactions() {
    let design = norman::design().unwrap();
    let size = SimSize { scale: 1.0, perturbations: Some(36), controls: Some(1500), cells_per_perturbation: Some(600), genes: Some(400) };
    let sim = simulate_sized(Preset::Norman, &size, 7, false).unwrap();
    assert_eq!(sim.n_perturbations, 36);
    assert!(sim.description.contains("preset=Norman"));
    let conds: BTreeSet<&str> = sim.condition.iter().map(String::as_str).collect();
    // Every double comes with both of its singles.
    assert!(sim.doubles.len() >= 8, "{} doubles", sim.doubles.len());
    for d in &sim.doubles {
        let (a, b) = d.condition.split_once('+').unwrap();
        assert!(conds.contains(format!("{a}+ctrl").as_str()) && conds.contains(format!("{b}+ctrl").as_str()), "{}", d.condition);
        if d.own_fit {
            let f = design.fits.iter().find(|f| f.first == a && f.second == b).unwrap();
            assert_eq!((d.c1, d.c2, d.corr_fit), (f.c1, f.c2, f.corr_fit));
        }
    }
    let r = interaction_report(&sim, &design.fits).unwrap();
    assert!(r.synthetic && r.n_doubles == sim.doubles.len());
    let drawn: Vec<f64> = r.doubles.iter().map(|d| d.c1[0] + d.c2[0]).collect();
    let refit: Vec<f64> = r.doubles.iter().map(|d| d.c1[1] + d.c2[1]).collect();
    let (md, mr) = (median(drawn.clone()), median(refit.clone()));
    assert!(mr > 0.4 * md && mr < 1.5 * md, "median c1+c2: drawn {md}, refit {mr}");
    // The refit tracks the drawn weights pair by pair (rank correlation).
    let rank = |v: &[f64]| {
        let mut o: Vec<usize> = (0..v.len()).collect();
        o.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        o.iter().enumerate().for_each(|(k, &i)| r[i] = k as f64);
        r
    };
    let (ra, rb) = (rank(&drawn), rank(&refit));
    let n = ra.len() as f64;
    let m = (n - 1.0) / 2.0;
    let cov: f64 = ra.iter().zip(&rb).map(|(a, b)| (a - m) * (b - m)).sum();
    let var: f64 = ra.iter().map(|a| (a - m) * (a - m)).sum();
    assert!(cov / var > 0.3, "rank correlation of drawn and refit c1+c2: {}", cov / var);
    let corr = median(r.doubles.iter().map(|d| d.corr_fit[1]).collect());
    assert!(corr > 0.5, "median refit corr_fit {corr}");
    // The real side of the report is Norman's 125 fits; every class is represented there.
    let real: HashMap<&str, f64> = r.classes.iter().map(|c| (c.class.name(), c.real)).collect();
    assert!(GiClass::ALL.iter().all(|c| real[c.name()] > 0.0), "{real:?}");
    assert!((real.values().sum::<f64>() - 1.0).abs() < 1e-9);
}

/// JSON values equal up to 1e-9 (relative) in every number.
fn close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()))
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close(p, q)),
        (Object(x), Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w))),
        _ => a == b,
    }
}

fn categories_of(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("perturbation\tpart\tcategory"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn doubles_go_from_simulate_to_per_category_metrics() {
    let s = |p: &PathBuf| p.display().to_string();
    let (raw, prep, split, model) = (tmp("norman.h5ad"), tmp("norman-prep.h5ad"), tmp("split"), tmp("run"));
    for p in [&split, &model] {
        let _ = std::fs::remove_dir_all(p);
    }
    let o = run(&[
        "simulate", "--preset", "norman", "--perturbations", "60", "--controls", "300", "--cells-per-perturbation", "40", "--genes", "300", "--seed", "3",
        "--out", &s(&raw), "--force", "--calibration",
    ]);
    let err = ok(&o);
    assert!(err.contains("SYNTHETIC") && err.contains("corr_fit"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["synthetic"], true);
    assert_eq!(v["summary"].as_array().unwrap().len(), 4);
    assert!(v["n_doubles"].as_u64().unwrap() >= 10, "{}", v["n_doubles"]);

    ok(&run(&["prepare", &s(&raw), "--out", &s(&prep), "--n-hvg", "300", "--graph", "builtin:go-k562", "--force"]));
    let info = run(&["dataset", "info", &s(&prep), "--format", "json"]);
    let iv: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(iv["synthetic"], true);

    let err = ok(&run(&["split", &s(&prep), "--scheme", "simulation", "--seed", "1", "--out", &s(&split)]));
    assert!(err.contains("combo_seen1") && err.contains("unseen_single"), "{err}");
    let rows = categories_of(&split.join("categories.tsv"));
    let part = |name: &str| -> Vec<String> { std::fs::read_to_string(split.join(name)).unwrap().lines().map(String::from).collect() };
    let (train, val, test) = (part("train.txt"), part("val.txt"), part("test.txt"));
    assert_eq!(rows.len(), train.len() + val.len() + test.len());
    for (list, name) in [(&train, "train"), (&val, "val"), (&test, "test")] {
        let mine: Vec<&String> = rows.iter().filter(|r| r.1 == name).map(|r| &r.0).collect();
        assert_eq!(mine.len(), list.len(), "{name}");
        assert!(list.iter().all(|p| mine.contains(&p)), "{name}");
    }
    // Test categories follow GEARS's rule: genes seen = the genes of train + val (every gene of a
    // double has its single here, so this is the set drawn for training).
    let seen: BTreeSet<&str> = train.iter().chain(&val).flat_map(|p| p.split('+')).collect();
    let mut test_cats = BTreeSet::new();
    for (p, _, c) in rows.iter().filter(|r| r.1 == "test") {
        let want = Category::of(p, &|g| seen.contains(g)).unwrap();
        assert_eq!(c, want.name(), "{p}");
        assert_ne!(want, Category::SeenSingle, "a seen single is never held out: {p}");
        test_cats.insert(c.clone());
    }
    assert!(test_cats.contains("unseen_single") && test_cats.iter().any(|c| c.starts_with("combo_seen")), "{test_cats:?}");
    // A double whose pair is trained on is never also in test.
    assert!(test.iter().all(|t| !train.contains(t)));

    ok(&run(&[
        "train", "--data", &s(&prep), "--train", &s(&split.join("train.txt")), "--val", &s(&split.join("val.txt")), "--test",
        &s(&split.join("test.txt")), "--epochs", "2", "--hidden", "8", "--batch-size", "32", "--backend", "cpu", "--quiet", "--out", &s(&model),
    ]));
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(model.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["category_source"], "training genes");
    let per_cat = metrics["per_category"].as_array().unwrap();
    let names: BTreeSet<String> = per_cat.iter().map(|c| c["category"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, test_cats, "per-category section covers the test categories");
    let total: u64 = per_cat.iter().map(|c| c["model"]["n_perturbations"].as_u64().unwrap()).sum();
    assert_eq!(total, metrics["model"]["n_perturbations"].as_u64().unwrap());
    for c in per_cat {
        for m in ["mse", "pearson", "mse_de", "pearson_de"] {
            assert!(c["model"][m].as_f64().unwrap().is_finite() && c["baselines"]["mean"][m].as_f64().unwrap().is_finite(), "{m}");
        }
    }
    let tsv = std::fs::read_to_string(model.join("per_category.tsv")).unwrap();
    assert!(tsv.starts_with("category\tn_perturbations\tpredictor\tmse\tpearson\tmse_de\tpearson_de"));
    assert_eq!(tsv.lines().count(), 1 + 4 * per_cat.len());

    // evaluate with the split's category file gives the same per-category metrics.
    let cat_tsv = tmp("eval-categories.tsv");
    let o = run(&[
        "evaluate", "--model", &s(&model), "--data", &s(&prep), "--perts", &s(&split.join("test.txt")), "--categories",
        &s(&split.join("categories.tsv")), "--categories-tsv", &s(&cat_tsv), "--force",
    ]);
    let err = ok(&o);
    assert!(err.contains("combo_seen"), "{err}");
    let ev: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The same numbers (the linear baseline sums its training set in another order: 1e-9).
    assert!(close(&ev["per_category"], &metrics["per_category"]), "{} vs {}", ev["per_category"], metrics["per_category"]);
    assert!(ev["category_source"].as_str().unwrap().ends_with("categories.tsv"));
    let first_cols = |t: &str| t.lines().map(|l| l.split('\t').take(3).collect::<Vec<_>>().join("\t")).collect::<Vec<_>>();
    assert_eq!(first_cols(&std::fs::read_to_string(&cat_tsv).unwrap()), first_cols(&tsv));
    let table = CategoryTable::read(&split.join("categories.tsv")).unwrap();
    assert_eq!(table.len(), rows.len());

    // A category file that misses a test perturbation or is malformed is a clear error.
    let bad = tmp("bad-categories.tsv");
    std::fs::write(&bad, "perturbation\tpart\tcategory\nA+B\ttest\tcombo_seen1\nB+A\ttest\tcombo_seen2\n").unwrap();
    let o = run(&["evaluate", "--model", &s(&model), "--data", &s(&prep), "--perts", &s(&split.join("test.txt")), "--categories", &s(&bad)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains(&format!("{}:3:", s(&bad))) && e.contains("listed twice"), "{e}");
    let partial = tmp("partial-categories.tsv");
    let first = &rows.iter().find(|r| r.1 == "test").unwrap().0;
    std::fs::write(&partial, format!("perturbation\tpart\tcategory\n{first}\ttest\t{}\n", rows.iter().find(|r| &r.0 == first).unwrap().2)).unwrap();
    let o = run(&["evaluate", "--model", &s(&model), "--data", &s(&prep), "--perts", &s(&split.join("test.txt")), "--categories", &s(&partial)]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("no category for") && e.contains("categories.tsv of the split"), "{e}");
    let _ = std::fs::remove_dir_all(raw.parent().unwrap());
}
