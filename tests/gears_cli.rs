//! `graphreach train` / `evaluate` / `embed` command-line checks: bad settings and missing inputs
//! give clear messages and the documented exit codes, never a panic; small runs on toy datasets and
//! an `embed` run end to end on a tiny model trained on the real Papalexi 2021 fixture.

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

/// The embeddings file of `graphreach embed`: (names, rows).
fn read_embeddings(path: &std::path::Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(header[0], "perturbation");
    assert!(header[1..].iter().enumerate().all(|(j, h)| *h == format!("d{j}")), "header {header:?}");
    let (mut names, mut rows) = (Vec::new(), Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), header.len(), "ragged row: {line}");
        names.push(f[0].to_string());
        rows.push(f[1..].iter().map(|v| v.parse::<f64>().unwrap()).collect());
    }
    (names, rows)
}

/// `graphreach embed` on a tiny model trained on the real Papalexi 2021 data: both kinds, names as
/// in the lists, the values of the library call read back exactly, the device path where wgpu is
/// available, and the errors (genes outside the GO graph, another dataset's genes, an existing output).
#[test]
fn embed_writes_both_kinds_from_a_model_trained_on_papalexi() {
    use graphreach::data::{prepare, raw, store};
    use graphreach::gears::eval::embed::{embed, EmbedKind, EmbedOptions};
    use graphreach::gears::train::checkpoint::load_model;
    use graphreach::graph::names::read_names;
    let dir = std::path::PathBuf::from(out_dir("embed"));
    std::fs::create_dir_all(&dir).unwrap();
    let s = |p: &std::path::PathBuf| p.display().to_string();
    let fixture = "tests/fixtures/papalexi2021_lowmoi_counts.h5ad";
    let raw = raw::read_raw(std::path::Path::new(fixture), Some("THP-1")).unwrap();
    let (data, _) = prepare::prepare(raw, &prepare::PrepareConfig { n_hvg: 60, seed: 0, name: "papalexi".into() }, false).unwrap();
    let targets: Vec<String> = data.conditions[1..].iter().map(|c| c.trim_end_matches("+ctrl").to_string()).collect();
    assert!(targets.len() >= 20, "{targets:?}");
    let d = dir.join("papalexi.h5ad");
    store::write_dataset(data.clone(), None, &d, false).unwrap();
    let (tr, te) = (dir.join("train.txt"), dir.join("test.txt"));
    std::fs::write(&tr, targets[..10].join("\n")).unwrap();
    std::fs::write(&te, targets[10..14].join("\n")).unwrap();
    let run_dir = dir.join("run");
    let o = run(&["train", "--data", &s(&d), "--graph", "builtin:go-human", "--train", &s(&tr), "--test", &s(&te), "--out", &s(&run_dir),
        "--epochs", "1", "--hidden", "8", "--batch-size", "64", "--backend", "cpu", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "train: {}", String::from_utf8_lossy(&o.stderr));
    // Trained and untrained targets, A+ctrl and bare names, a double, ctrl (skipped).
    let perts = dir.join("perts.txt");
    let mut lines: Vec<String> = targets.iter().enumerate().map(|(i, t)| if i % 2 == 0 { format!("{t}+ctrl") } else { t.clone() }).collect();
    lines.push(format!("{}+{}", targets[0], targets[12]));
    lines.push("ctrl".into());
    std::fs::write(&perts, lines.join("\n")).unwrap();
    let mut want_names = targets.clone();
    want_names.push(format!("{}+{}", targets[0], targets[12]));
    let model = load_model(&run_dir.join("model.safetensors")).unwrap();
    let (g, h) = (model.meta.genes.len(), model.meta.config.hidden);
    let list = read_names(&s(&perts)).unwrap();
    let loaded = graphreach::data::load_dataset(&d).unwrap();
    for (kind, name, dim) in [(EmbedKind::MeanExpression, "mean-expression", g), (EmbedKind::CrossGene, "cross-gene", g + h)] {
        let out = dir.join(format!("{name}.tsv"));
        let o = run(&["embed", "--model", &s(&run_dir), "--data", &s(&d), "--perts", &s(&perts), "--kind", name, "--out", &s(&out), "--backend", "cpu"]);
        check(&o, 0, &["'ctrl'", "on cpu"]);
        let (names, rows) = read_embeddings(&out);
        assert_eq!(names, want_names, "{name}");
        assert!(rows.iter().all(|r| r.len() == dim && r.iter().all(|v| v.is_finite())), "{name}: {dim} finite values per row");
        // Exactly the library's values.
        let lib = embed(&model, &loaded, &list, &EmbedOptions::new(kind)).unwrap().embeddings;
        assert!(rows.iter().flatten().zip(&lib.values).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}: the file holds the library's values");
        if kind == EmbedKind::MeanExpression {
            // Predicted expression: near the control mean, not δ alone.
            let mean: f64 = rows[0].iter().sum::<f64>() / g as f64;
            assert!(mean > 0.05, "mean predicted expression {mean}");
        }
        // The eval-mode device forward (wgpu on lavapipe here) against the CPU.
        let gpu_out = dir.join(format!("{name}-wgpu.tsv"));
        let o = run(&["embed", "--model", &s(&run_dir), "--data", &s(&d), "--perts", &s(&perts), "--kind", name, "--out", &s(&gpu_out), "--backend", "wgpu"]);
        if o.status.code() == Some(3) && std::env::var("GRAPHREACH_REQUIRE_WGPU").as_deref() != Ok("1") {
            eprintln!("SKIPPED embed --backend wgpu: {}", String::from_utf8_lossy(&o.stderr));
        } else {
            check(&o, 0, &["on wgpu"]);
            let (gnames, grows) = read_embeddings(&gpu_out);
            assert_eq!(gnames, want_names);
            for (a, b) in grows.iter().zip(&rows) {
                let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
                let diff = a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
                assert!(diff <= 1e-5 * scale, "{name}: wgpu vs cpu relative difference {:.2e}", diff / scale);
            }
        }
    }
    // Errors: an existing output, genes outside the GO graph, a dataset with other genes.
    let out = s(&dir.join("mean-expression.tsv"));
    let base = ["embed", "--model", &s(&run_dir), "--data", &s(&d), "--kind", "cross-gene", "--backend", "cpu"];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run(&a)
    };
    check(&with(&["--perts", &s(&perts), "--out", &out]), 2, &["exists", "--force"]);
    check(&with(&["--perts", &s(&perts), "--out", &out, "--force"]), 0, &[]);
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, format!("{}\nNOTAGENE1+ctrl\n{}+NOTAGENE2\n", targets[0], targets[1])).unwrap();
    let bad_out = s(&dir.join("bad.tsv"));
    check(&with(&["--perts", &s(&bad), "--out", &bad_out]), 2, &["bad.txt", "2 perturbation(s)", "NOTAGENE1+ctrl (line 2", "NOTAGENE2", "--skip-missing"]);
    assert!(!dir.join("bad.tsv").exists(), "nothing written on error");
    check(&with(&["--perts", &s(&bad), "--out", &bad_out, "--skip-missing"]), 0, &["skipped 2"]);
    assert_eq!(read_embeddings(&dir.join("bad.tsv")).0, [targets[0].clone()]);
    let toy = graphreach::gears::fixtures::toy_dataset(&graphreach::gears::fixtures::ToySpec {
        n_genes: 12, pert_genes: vec![targets[0].clone()], modules: vec![0], cells_per_pert: 4, n_ctrl: 10, seed: 1,
    });
    let toy_path = dir.join("toy.h5ad");
    store::write_dataset(toy, None, &toy_path, false).unwrap();
    let o = run(&["embed", "--model", &s(&run_dir), "--data", &s(&toy_path), "--perts", &s(&perts), "--kind", "cross-gene", "--out", &s(&dir.join("toy.tsv"))]);
    check(&o, 2, &["differ", "toy.h5ad", "'papalexi'"]);
    std::fs::remove_dir_all(&dir).ok();
}
