//! Exit codes name the kind of failure: a training run that diverges on valid input is a failed
//! computation (4), not bad input (2).

use graphreach::gears::fixtures::{toy_dataset, ToySpec};
use std::process::Command;

#[test]
fn diverging_training_exits_4_and_says_so() {
    let dir = std::env::temp_dir().join(format!("graphreach-exit-codes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pert_genes: Vec<String> = (0..4).map(|i| format!("P{i:02}")).collect();
    let data = toy_dataset(&ToySpec { n_genes: 10, pert_genes, modules: vec![0; 4], cells_per_pert: 6, n_ctrl: 20, seed: 3 });
    let d = dir.join("toy.h5ad");
    graphreach::data::store::write_dataset(data, None, &d, false).unwrap();
    let g = dir.join("go.csv");
    std::fs::write(&g, "source,target,importance\nP00,P01,0.5\nP01,P00,0.5\nP02,P03,0.25\nP03,P02,0.25\n").unwrap();
    let (tr, te) = (dir.join("train.txt"), dir.join("test.txt"));
    std::fs::write(&tr, "P00\nP01+ctrl\nP02\n").unwrap();
    std::fs::write(&te, "P03\n").unwrap();
    let s = |p: &std::path::Path| p.display().to_string();
    let (ds, gs, trs, tes, out) = (s(&d), s(&g), s(&tr), s(&te), s(&dir.join("run")));
    // A valid but absurd learning rate: the weights overflow and the loss stops being finite.
    let args = [
        "train", "--data", &ds, "--graph", &gs, "--train", &trs, "--test", &tes, "--out", &out, "--epochs", "20", "--hidden", "4",
        "--batch-size", "4", "--lr", "1e30", "--quiet", "--backend", "cpu",
    ];
    let o = Command::new(env!("CARGO_BIN_EXE_graphreach")).args(args).output().expect("binary runs");
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "stderr: {e}");
    assert!(e.contains("training diverged") && e.contains("--lr"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
