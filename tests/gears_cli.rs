//! `graphreach train` / `evaluate` command-line checks that need no dataset: bad settings and
//! missing inputs give clear messages and the documented exit codes, never a panic.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphreach")).args(args).output().expect("binary runs")
}

fn check(o: &Output, code: i32, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

fn out_dir(name: &str) -> String {
    std::env::temp_dir().join(format!("graphreach-gears-cli-{}-{name}", std::process::id())).display().to_string()
}

#[test]
fn train_names_an_unavailable_backend_and_rejects_bad_settings() {
    let out = out_dir("a");
    let base = ["train", "--data", "nope.h5ad", "--train", "t.txt", "--test", "s.txt", "--out", &out];
    let mut a = base.to_vec();
    a.extend(["--backend", "cuda"]);
    let o = run(&a);
    if o.status.code() == Some(3) {
        // No usable GPU here: the reason is named.
        check(&o, 3, &["cuda"]);
    } else {
        check(&o, 2, &["nope.h5ad"]);
    }
    let mut a = base.to_vec();
    a.extend(["--batch-size", "1"]);
    check(&run(&a), 2, &["--batch-size"]);
    let mut a = base.to_vec();
    a.push("--resume");
    check(&run(&a), 2, &["--resume", "checkpoint.safetensors"]);
    check(&run(&base), 2, &["nope.h5ad"]);
}

#[test]
fn evaluate_names_a_missing_model() {
    check(&run(&["evaluate", "--model", "no-such-dir", "--data", "d", "--perts", "p"]), 2, &["no-such-dir"]);
}

#[test]
fn train_names_perturbed_genes_missing_from_the_go_graph() {
    use graphreach::gears::fixtures::{toy_dataset, ToySpec};
    let dir = std::path::PathBuf::from(out_dir("missing-go"));
    std::fs::create_dir_all(&dir).unwrap();
    let pert_genes: Vec<String> = (0..6).map(|i| format!("P{i:02}")).collect();
    let data = toy_dataset(&ToySpec { n_genes: 12, pert_genes, modules: vec![0; 6], cells_per_pert: 4, n_ctrl: 20, seed: 1 });
    let d = dir.join("toy.h5ad");
    graphreach::data::store::write_dataset(data, None, &d, false).unwrap();
    // A GO graph over P00..P03 only: P04 and P05 are perturbed but not nodes.
    let g = dir.join("go.csv");
    std::fs::write(&g, "source,target,importance\nP00,P01,0.5\nP01,P00,0.5\nP02,P03,0.25\nP03,P02,0.25\n").unwrap();
    let (tr, te) = (dir.join("train.txt"), dir.join("test.txt"));
    std::fs::write(&tr, "ctrl\nP00+ctrl\nP04+ctrl\nP01+ctrl\n").unwrap();
    std::fs::write(&te, "P05+ctrl\nP02+ctrl\n").unwrap();
    let s = |p: &std::path::PathBuf| p.display().to_string();
    let out = s(&dir.join("run"));
    let o = run(&["train", "--data", &s(&d), "--graph", &s(&g), "--train", &s(&tr), "--test", &s(&te), "--out", &out, "--epochs", "1", "--quiet"]);
    check(&o, 2, &["2 perturbed gene(s)", "P04", "P05", "--graph builtin:go-human"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("P00") && !e.contains("P01,"), "only the missing genes are named: {e}");
    // With every perturbed gene in the graph the same run gets past this check and trains.
    std::fs::write(&g, "source,target,importance\nP00,P01,0.5\nP01,P00,0.5\nP02,P03,0.25\nP04,P05,0.5\nP05,P04,0.5\n").unwrap();
    let o = run(&["train", "--data", &s(&d), "--graph", &s(&g), "--train", &s(&tr), "--test", &s(&te), "--out", &out, "--epochs", "1", "--hidden", "4", "--batch-size", "4", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

/// GEARS trains on the control cells too: `train` adds `ctrl` to a list that lacks it (a split part
/// or a selection TSV never lists it) unless `--no-train-ctrl` is given.
#[test]
fn train_adds_control_cells_unless_told_not_to() {
    use graphreach::gears::fixtures::{toy_dataset, ToySpec};
    let dir = std::path::PathBuf::from(out_dir("train-ctrl"));
    std::fs::create_dir_all(&dir).unwrap();
    let pert_genes: Vec<String> = (0..4).map(|i| format!("P{i:02}")).collect();
    let data = toy_dataset(&ToySpec { n_genes: 10, pert_genes, modules: vec![0; 4], cells_per_pert: 6, n_ctrl: 20, seed: 2 });
    let d = dir.join("toy.h5ad");
    graphreach::data::store::write_dataset(data, None, &d, false).unwrap();
    let g = dir.join("go.csv");
    std::fs::write(&g, "source,target,importance\nP00,P01,0.5\nP01,P00,0.5\nP02,P03,0.25\nP03,P02,0.25\n").unwrap();
    let (tr, te) = (dir.join("train.txt"), dir.join("test.txt"));
    std::fs::write(&tr, "P00\nP01+ctrl\nP02\n").unwrap();
    std::fs::write(&te, "P03\n").unwrap();
    let s = |p: &std::path::PathBuf| p.display().to_string();
    let conds = |name: &str, extra: &[&str]| {
        let (out, ds, gs, trs, tes) = (s(&dir.join(name)), s(&d), s(&g), s(&tr), s(&te));
        let mut args = vec!["train", "--data", &ds, "--graph", &gs, "--train", &trs, "--test", &tes, "--out", &out];
        args.extend_from_slice(&["--epochs", "1", "--hidden", "4", "--batch-size", "4", "--quiet", "--backend", "cpu"]);
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
        graphreach::gears::train::checkpoint::load_model(&dir.join(name).join("model.safetensors")).unwrap().meta.train_conditions
    };
    let with = conds("with", &[]);
    assert!(with.iter().any(|c| c == "ctrl"), "ctrl added: {with:?}");
    assert_eq!(with.len(), 4, "{with:?}");
    let without = conds("without", &["--no-train-ctrl"]);
    assert!(!without.iter().any(|c| c == "ctrl"), "ctrl left out: {without:?}");
    assert_eq!(without.len(), 3, "{without:?}");
    std::fs::remove_dir_all(&dir).ok();
}
