//! `graphreach select --method typiclust|acs-fw` end to end: output format, determinism for a
//! seed, no graph loading, and a clear message with exit code 2 for every bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphreach")).args(args).output().expect("binary runs")
}

fn fixture(f: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/al/nopca").join(f).to_str().unwrap().to_string()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-cli-al-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(d: &Path, name: &str, text: &str) -> String {
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

fn select(method: &str, extra: &[&str]) -> Output {
    let (emb, lab, cand) = (fixture("embeddings.tsv.gz"), fixture("labelled.txt"), fixture("candidates.txt"));
    let mut args = vec!["select", "--method", method, "--embeddings", &emb, "--labelled", &lab, "--candidates", &cand];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn both_methods_write_the_selection_tsv_and_are_deterministic() {
    for m in ["typiclust", "acs-fw"] {
        let a = select(m, &["--budget", "7", "--seed", "3"]);
        assert!(a.status.success(), "{m}: {}", stderr(&a));
        let out = String::from_utf8(a.stdout.clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "rank\tgene\tnode_id\tgain\tcoverage\tzero_gain\tscore");
        assert_eq!(lines.len(), 8);
        assert!(lines[1].starts_with("1\t") && lines[1].contains("+ctrl\tNA\tNA\tNA\tNA\t"), "{}", lines[1]);
        let b = select(m, &["--budget", "7", "--seed", "3"]);
        assert_eq!(a.stdout, b.stdout, "{m}: same seed, same output");
        // Picks never include a labelled gene.
        let labelled = std::fs::read_to_string(fixture("labelled.txt")).unwrap();
        for l in &lines[1..] {
            let gene = l.split('\t').nth(1).unwrap().trim_end_matches("+ctrl");
            assert!(!labelled.lines().any(|x| x == gene), "{m} picked labelled {gene}");
        }
    }
    // The seed matters for TypiClust (k-means++), not just in name.
    let outs: Vec<Vec<u8>> = (0..4).map(|s| select("typiclust", &["--budget", "7", "--seed", &s.to_string()]).stdout).collect();
    assert!(outs.iter().any(|o| o != &outs[0]), "four seeds gave identical TypiClust selections");
}

#[test]
fn no_graph_is_loaded_and_help_says_so() {
    let o = select("typiclust", &["--budget", "3", "--graph", "/nonexistent/graph.tsv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let h = run(&["select", "--help"]);
    let text = String::from_utf8(h.stdout).unwrap();
    assert!(text.contains("Not read by typiclust and acs-fw"), "{text}");
    assert!(text.contains("--embeddings") && text.contains("--labelled"));
}

#[test]
fn json_summary_reports_the_phases() {
    let o = select("acs-fw", &["--budget", "4", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["method"], "acs-fw");
    assert_eq!(v["summary"]["pool_size"], 90);
    assert_eq!(v["summary"]["labelled"], 30);
    assert_eq!(v["selection"].as_array().unwrap().len(), 4);
    assert!(v["summary"]["timings"]["frank_wolfe_s"].is_number());
}

#[test]
fn clear_errors_for_bad_inputs() {
    let d = tmpdir("errors");
    let emb = fixture("embeddings.tsv.gz");
    let lab = fixture("labelled.txt");
    // a candidate without an embedding row
    let cands = write(&d, "cands.txt", "BVXE\nNOTAGENE\n");
    let o = run(&["select", "--method", "typiclust", "--embeddings", &emb, "--labelled", &lab, "--candidates", &cands, "--budget", "1"]);
    fails_with(&o, &["NOTAGENE (line 2)", "cands.txt", "embeddings.tsv.gz", "--skip-missing"]);
    // ... which --skip-missing drops with a note
    let o = run(&["select", "--method", "typiclust", "--embeddings", &emb, "--labelled", &lab, "--candidates", &cands, "--budget", "1", "--skip-missing"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped 1 candidate"));
    // a labelled gene without an embedding row
    let badlab = write(&d, "lab.txt", "BVXE\nMISSING1\n");
    let o = run(&["select", "--method", "acs-fw", "--embeddings", &emb, "--labelled", &badlab, "--budget", "1"]);
    fails_with(&o, &["labelled", "MISSING1 (line 2)", "lab.txt"]);
    // budget larger than the unlabelled pool
    let o = select("typiclust", &["--budget", "91"]);
    fails_with(&o, &["budget (91)", "unlabelled candidate pool (90"]);
    // ragged rows, non-finite values, empty file
    let ragged = write(&d, "ragged.tsv", "perturbation\td0\td1\nA\t1\t2\nB\t1\n");
    let o = run(&["select", "--method", "typiclust", "--embeddings", &ragged, "--budget", "1"]);
    fails_with(&o, &["ragged.tsv:3", "1 values", "2 dimensions"]);
    let nan = write(&d, "nan.tsv", "perturbation\td0\nA\t1\nB\tNaN\n");
    let o = run(&["select", "--method", "typiclust", "--embeddings", &nan, "--budget", "1"]);
    fails_with(&o, &["nan.tsv:3", "finite"]);
    let empty = write(&d, "empty.tsv", "");
    let o = run(&["select", "--method", "acs-fw", "--embeddings", &empty, "--budget", "1"]);
    fails_with(&o, &["empty.tsv", "empty"]);
    let dup = write(&d, "dup.tsv", "perturbation\td0\nA\t1\nA+ctrl\t2\n");
    let o = run(&["select", "--method", "typiclust", "--embeddings", &dup, "--budget", "1"]);
    fails_with(&o, &["dup.tsv:3", "twice"]);
    // missing --embeddings; --labelled with a graph method; acs-fw without labelled genes
    fails_with(&run(&["select", "--method", "acs-fw", "--budget", "1"]), &["--embeddings"]);
    fails_with(&run(&["select", "--labelled", &lab]), &["--labelled is only read by"]);
    let o = run(&["select", "--method", "acs-fw", "--embeddings", &emb, "--budget", "1"]);
    fails_with(&o, &["at least one labelled"]);
    // the output policy holds: an existing --out is not replaced without --force
    let out = write(&d, "sel.tsv", "keep me\n");
    let o = select("typiclust", &["--budget", "2", "--out", &out]);
    fails_with(&o, &["refusing to overwrite"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me\n");
}
