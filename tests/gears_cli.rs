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
