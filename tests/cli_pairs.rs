//! `graphreach select` on pair pools: `--pairs-of` equals the same pairs written out as `A+B`
//! lines, the JSON summary says the pool is pairs, duplicates and self pairs are errors naming
//! the lines, `--exclude` drops pairs, and methods without pair pools say so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GENES: [&str; 7] = ["SRSF1", "PSMD7", "ANAPC2", "INTS4", "OGT", "NIP7", "TBP"];

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphreach")).args(args).output().expect("binary runs")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-cli-pairs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_string_lossy().into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails_with(o: &Output, needles: &[&str]) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

fn genes() -> Vec<String> {
    GENES.iter().map(|s| s.to_string()).collect()
}

/// Every pair of GENES, written B+A for every other one.
fn pair_lines() -> Vec<String> {
    let mut v = Vec::new();
    for (i, a) in GENES.iter().enumerate() {
        for (j, b) in GENES.iter().enumerate().skip(i + 1) {
            v.push(if (i + j) % 2 == 0 { format!("{a}+{b}") } else { format!("{b}+{a}") });
        }
    }
    v
}

#[test]
fn pairs_of_equals_the_written_out_pairs_and_says_pairs_in_json() {
    let d = tmpdir("eq");
    let g = write(&d, "genes.txt", &genes());
    let p = write(&d, "pairs.txt", &pair_lines());
    for method in ["graphreach", "naive-greedy", "random", "maxspec"] {
        for hops in ["1", "2"] {
            let base = ["select", "--backend", "cpu", "--budget", "5", "--hops", hops, "--method", method];
            let a = ok(&run(&[&base[..], &["--pairs-of", &g]].concat()));
            let b = ok(&run(&[&base[..], &["--candidates", &p]].concat()));
            assert_eq!(a, b, "{method} L={hops}");
            let rows: Vec<&str> = a.lines().skip(1).collect();
            assert_eq!(rows.len(), 5);
            assert!(rows.iter().all(|r| r.split('\t').nth(1).unwrap().contains('+')), "{a}");
        }
    }
    let j = ok(&run(&["select", "--backend", "cpu", "--budget", "3", "--pairs-of", &g, "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["summary"]["pool_kind"], "pairs");
    assert_eq!(v["summary"]["pool_size"], 21);
    assert_eq!(v["summary"]["pool_genes"], 7);
    let j = ok(&run(&["select", "--backend", "cpu", "--budget", "3", "--candidates", &g, "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["summary"]["pool_kind"], "genes");
}

#[test]
fn duplicate_pairs_self_pairs_and_unknown_genes_are_clear_errors() {
    let d = tmpdir("err");
    let mut lines = pair_lines();
    lines.push("PSMD7+SRSF1".into());
    let p = write(&d, "dups.txt", &lines);
    fails_with(&run(&["select", "--backend", "cpu", "--candidates", &p]), &["dups.txt", "line 22 'PSMD7+SRSF1' repeats line 1", "A+B and B+A"]);
    let p = write(&d, "self.txt", &["SRSF1+PSMD7".into(), "OGT+OGT".into()]);
    fails_with(&run(&["select", "--backend", "cpu", "--candidates", &p]), &["self.txt:2", "names one gene twice"]);
    let g = write(&d, "g.txt", &["SRSF1".into(), "NOT_A_GENE_X".into(), "OGT".into(), "TBP".into()]);
    fails_with(&run(&["select", "--backend", "cpu", "--pairs-of", &g]), &["NOT_A_GENE_X", "--skip-missing"]);
    let o = run(&["select", "--backend", "cpu", "--pairs-of", &g, "--skip-missing", "--budget", "3"]);
    assert_eq!(ok(&o).lines().count(), 4, "3 known genes give 3 pairs");
    let g2 = write(&d, "g2.txt", &["SRSF1".into(), "OGT+TBP".into()]);
    fails_with(&run(&["select", "--backend", "cpu", "--pairs-of", &g2]), &["g2.txt:2", "--pairs-of reads one gene per line"]);
    fails_with(&run(&["select", "--backend", "cpu", "--pairs-of", &g2, "--candidates", &g]), &["--candidates"]);
}

#[test]
fn exclude_drops_every_pair_holding_an_excluded_gene() {
    let d = tmpdir("ex");
    let g = write(&d, "genes.txt", &genes());
    let ex = write(&d, "ex.txt", &["OGT".into(), "TBP".into()]);
    let out = ok(&run(&["select", "--backend", "cpu", "--pairs-of", &g, "--exclude", &ex, "--budget", "10", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["pool_size"], 10, "5 genes left give 10 pairs");
    for p in v["selection"].as_array().unwrap() {
        let gene = p["gene"].as_str().unwrap();
        assert!(!gene.split('+').any(|x| x == "OGT" || x == "TBP"), "{gene}");
    }
}
