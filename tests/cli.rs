//! End-to-end tests of the `graphreach` binary: defaults, formats, and every bad input
//! giving a clear message and exit code 2 (never a panic).

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graphreach"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit code 2, no panic, and that stderr mentions every needle.
fn fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

#[test]
fn select_with_no_flags_runs_the_default() {
    let o = run(&["select", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "rank\tgene\tnode_id\tgain\tcoverage\tzero_gain\tscore");
    assert_eq!(lines.len(), 1 + 55, "5% of 1,089 rounded up is 55");
    assert!(lines[1].starts_with("1\t"));
    // coverage column is cumulative and non-decreasing
    let cov: Vec<f64> = lines[1..].iter().map(|l| l.split('\t').nth(4).unwrap().parse().unwrap()).collect();
    assert!(cov.windows(2).all(|w| w[1] >= w[0]));
}

#[test]
fn json_summary_and_out_file_never_overwritten() {
    let d = tmpdir("json");
    let out = d.join("sel.json");
    let o = run(&["select", "--candidates", "builtin:adamson", "--budget", "5", "--format", "json", "--out", out.to_str().unwrap(), "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["budget"], 5);
    assert_eq!(v["summary"]["pool_size"], 86);
    assert_eq!(v["summary"]["method"], "graphreach");
    assert_eq!(v["summary"]["backend"], "cpu");
    assert_eq!(v["selection"].as_array().unwrap().len(), 5);
    // The lazy search's statistics: a first pass over all 86 candidates, then re-evaluations.
    let search = &v["summary"]["search"];
    assert_eq!(search["evaluations"].as_u64().unwrap(), 86 + search["reevaluations"].as_u64().unwrap());
    assert!(stderr(&o).contains("graphreach search: "), "{}", stderr(&o));
    let before = std::fs::read(&out).unwrap();
    let o = run(&["select", "--candidates", "builtin:adamson", "--budget", "6", "--out", out.to_str().unwrap()]);
    fails_with(&o, &["exists", "--force"]);
    assert_eq!(std::fs::read(&out).unwrap(), before, "file must be untouched");
    let o = run(&["select", "--candidates", "builtin:adamson", "--budget", "6", "--out", out.to_str().unwrap(), "--force", "--backend", "cpu"]);
    assert!(o.status.success());
}

#[test]
fn every_method_and_direction_runs() {
    for m in ["graphreach", "naive-greedy", "maxspec", "random"] {
        for dir in ["in", "out", "undirected"] {
            let o = run(&["select", "--candidates", "builtin:adamson", "--budget", "4", "--method", m, "--direction", dir, "--backend", "cpu"]);
            assert!(o.status.success(), "{m} {dir}: {}", stderr(&o));
            assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 5);
        }
    }
}

#[test]
fn lazy_and_naive_give_identical_tsv() {
    let a = run(&["select", "--budget", "120", "--backend", "cpu", "-q"]);
    let b = run(&["select", "--budget", "120", "--method", "naive-greedy", "--backend", "cpu", "-q"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn budget_errors() {
    fails_with(&run(&["select", "--candidates", "builtin:adamson", "--budget", "0"]), &["budget is 0"]);
    fails_with(&run(&["select", "--candidates", "builtin:adamson", "--budget", "87"]), &["larger than the candidate pool (86"]);
    fails_with(&run(&["select", "--fraction", "1.5"]), &["--fraction"]);
}

#[test]
fn file_errors_name_file_and_line() {
    let d = tmpdir("files");
    let missing = d.join("missing.tsv");
    fails_with(&run(&["select", "--graph", missing.to_str().unwrap()]), &["cannot read", "missing.tsv"]);
    let empty = d.join("empty.tsv");
    std::fs::write(&empty, "").unwrap();
    fails_with(&run(&["select", "--graph", empty.to_str().unwrap()]), &["empty.tsv", "empty"]);
    let cols = d.join("cols.tsv");
    std::fs::write(&cols, "a\tb\t1\nb\tc\n").unwrap();
    fails_with(&run(&["select", "--graph", cols.to_str().unwrap()]), &["cols.tsv:2:", "columns"]);
    let nan = d.join("nan.csv");
    std::fs::write(&nan, "source,target,importance\na,b,0.5\nb,c,NaN\n").unwrap();
    fails_with(&run(&["select", "--graph", nan.to_str().unwrap()]), &["nan.csv:3:", "NaN", "finite"]);
    let word = d.join("word.csv");
    std::fs::write(&word, "a,b,0.5\nb,c,high\n").unwrap();
    fails_with(&run(&["select", "--graph", word.to_str().unwrap()]), &["word.csv:2:", "not a number"]);
    let gz = d.join("corrupt.tsv.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    fails_with(&run(&["select", "--graph", gz.to_str().unwrap()]), &["corrupt.tsv.gz", "gzip"]);
    let emptypool = d.join("pool.txt");
    std::fs::write(&emptypool, "# nothing\n\n").unwrap();
    fails_with(&run(&["select", "--candidates", emptypool.to_str().unwrap()]), &["pool.txt", "empty"]);
}

#[test]
fn unknown_genes_are_listed_and_can_be_skipped() {
    let d = tmpdir("genes");
    let pool = d.join("pool.txt");
    let mut text = String::from("MARS\nTP53\n");
    for i in 0..12 {
        text.push_str(&format!("FAKEGENE{i}\n"));
    }
    std::fs::write(&pool, text).unwrap();
    let o = run(&["select", "--candidates", pool.to_str().unwrap(), "--budget", "1"]);
    fails_with(&o, &["12 gene(s)", "FAKEGENE0", ", ... and 2 more", "--skip-missing"]);
    let o = run(&["select", "--candidates", pool.to_str().unwrap(), "--budget", "2", "--skip-missing", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("MARS1") && out.contains("TP53"), "{out}");
}

#[test]
fn exclusions_empty_pool_and_hops_zero() {
    let d = tmpdir("excl");
    let pool = d.join("pool.txt");
    std::fs::write(&pool, "MARS1\nTP53\n").unwrap();
    let ex = d.join("test_genes.txt");
    std::fs::write(&ex, "TP53\n").unwrap();
    let o = run(&["select", "--candidates", pool.to_str().unwrap(), "--exclude", ex.to_str().unwrap(), "--budget", "1", "--backend", "cpu"]);
    assert!(o.status.success());
    assert!(!String::from_utf8(o.stdout).unwrap().contains("TP53"));
    fails_with(&run(&["select", "--candidates", pool.to_str().unwrap(), "--exclude", ex.to_str().unwrap(), "--budget", "2"]), &["larger than the candidate pool (1"]);
    std::fs::write(&ex, "TP53\nMARS1\n").unwrap();
    fails_with(&run(&["select", "--candidates", pool.to_str().unwrap(), "--exclude", ex.to_str().unwrap()]), &["pool is empty"]);
    let o = run(&["select", "--candidates", pool.to_str().unwrap(), "--hops", "0", "--budget", "2", "--backend", "cpu"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("--hops 0"));
}

#[test]
fn graph_info_and_formats() {
    let d = tmpdir("info");
    let g = d.join("g.tsv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, b"0\t1\t1\n1\t2\t0\n1\t1\t2\n0\t1\t3\n").unwrap();
    std::fs::write(&g, enc.finish().unwrap()).unwrap();
    let o = run(&["graph", "info", g.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["nodes"], 3);
    assert_eq!(v["edges"], 2);
    assert_eq!(v["self_loops"], 1);
    assert_eq!(v["load"]["dropped_nonpositive"], 1);
    assert_eq!(v["load"]["duplicates"], 1);
    let mtx = d.join("g.mtx");
    std::fs::write(&mtx, "%%MatrixMarket matrix coordinate pattern general\n3 3 2\n1 2\n2 3\n").unwrap();
    let o = run(&["select", "--graph", mtx.to_str().unwrap(), "--candidates", "all", "--budget", "1", "--direction", "out", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8(o.stdout).unwrap().contains("\n1\t0\t0\t2\t2\t"));
}

#[test]
fn stability_of_selections() {
    let d = tmpdir("stab");
    let mut files = Vec::new();
    for seed in 0..3 {
        let f = d.join(format!("r{seed}.tsv"));
        let o = run(&["select", "--method", "random", "--seed", &seed.to_string(), "--candidates", "builtin:adamson", "--budget", "20", "--out", f.to_str().unwrap(), "--backend", "cpu"]);
        assert!(o.status.success());
        files.push(f.to_str().unwrap().to_string());
    }
    let o = bin().arg("stability").args(&files).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let mean: f64 = out.lines().nth(1).unwrap().split('\t').nth(2).unwrap().parse().unwrap();
    assert!(mean > 0.0 && mean < 1.0, "{out}");
    let same = bin().arg("stability").args([&files[0], &files[0]]).output().unwrap();
    assert!(String::from_utf8(same.stdout).unwrap().contains("\t1.000000\t"));
    fails_with(&bin().arg("stability").arg(&files[0]).arg(d.join("nope.tsv")).output().unwrap(), &["nope.tsv"]);
}
