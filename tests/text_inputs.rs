//! Issue 15, the text-input cases, each at library level and as the issue reproduced it with the
//! binary: (1) a UTF-8 BOM broke matching, (9) a 20-digit integer id silently made a symbol graph,
//! (10) an out-of-range MatrixMarket index panicked, (11) short / 0-based / `array` MatrixMarket
//! files gave no detail, (12) quoted CSV kept the quotes in gene names.

use graphreach::files::text::TextInput;
use graphreach::graph::io::{load_graph, parse_edge_list, parse_matrix_market};
use graphreach::graph::names::{parse_names, read_names};
use graphreach::graph::Labels;
use graphreach::select::pool::{apply_exclusions, resolve_exclusions, resolve_names};
use graphreach::select::stability::jaccard;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graphreach")).args(args).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-text-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

/// Exit code 2, no panic, and every needle in stderr.
fn fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

const BOM_LIST: &[u8] = b"\xef\xbb\xbfGUCD1\nAAMP\nATF2\n";
const C5: &[u8] = b"GUCD1\nAAMP\nATF2\nPCNA\nMTBP\n";

#[test]
fn case_1_bom_list_excludes_and_matches_like_the_plain_list() {
    let g = load_graph("builtin:go-k562").unwrap();
    let names = |b: &[u8]| parse_names(&TextInput::from_bytes(b.to_vec(), "bom.txt").unwrap()).unwrap();
    let excluded = resolve_exclusions(&g, &names(BOM_LIST)).unwrap();
    assert_eq!(excluded.candidates.len(), 3, "{:?}", excluded.notes);
    assert!(excluded.notes.is_empty(), "no gene is unknown: {:?}", excluded.notes);
    let mut pool = resolve_names(&g, &names(C5), false).unwrap();
    let ex: HashSet<u32> = excluded.candidates.iter().flat_map(|c| c.seeds.clone()).collect();
    assert_eq!(apply_exclusions(&mut pool, &ex), 3);
    assert!(pool.candidates.iter().all(|c| !["GUCD1", "AAMP", "ATF2"].contains(&c.label.as_str())));
    let set = |b: &[u8]| names(b).names.into_iter().map(|(_, n)| n).collect::<HashSet<_>>();
    assert_eq!(jaccard(&set(b"GUCD1\nAAMP\nATF2\n"), &set(BOM_LIST)), 1.0);
    assert_eq!(jaccard(&set(b"GUCD1\nAAMP\nATF2\n"), &set(b"\"GUCD1\"\r\n\"AAMP\"\r\nATF2")), 1.0);
}

#[test]
fn case_1_cli_select_exclude_and_stability() {
    let d = tmpdir("case1");
    let bom = write(&d, "bom.txt", BOM_LIST);
    let c5 = write(&d, "c5.txt", C5);
    let o = run(&["select", "--candidates", &c5, "--exclude", &bom, "--budget", "2", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let picked: Vec<String> = stdout(&o).lines().skip(1).map(|l| l.split('\t').nth(1).unwrap().to_string()).collect();
    assert_eq!(picked.len(), 2);
    assert!(picked.iter().all(|g| g == "PCNA" || g == "MTBP"), "an excluded gene was picked: {picked:?}");
    assert!(!stderr(&o).contains("--skip-missing"), "false --skip-missing note: {}", stderr(&o));
    assert!(stderr(&o).contains("excluded 3 candidate(s)"), "{}", stderr(&o));
    let plain = write(&d, "plain.txt", b"GUCD1\nAAMP\nATF2\n");
    let crlf_quoted = write(&d, "crlf.txt", b"\"GUCD1\"\r\n\"AAMP\"\r\nATF2\r\n");
    for other in [&bom, &crlf_quoted] {
        let o = run(&["stability", &plain, other]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("\t1.000000\t"), "identical lists: {}", stdout(&o));
    }
}

#[test]
fn case_9_twenty_digit_id_is_an_error_not_a_symbol_graph() {
    let e = parse_edge_list(b"0\t1\n12345678901234567890\t2\n", "big.tsv").unwrap_err().to_string();
    assert!(e.starts_with("big.tsv:2: node id 12345678901234567890 is too large"), "{e}");
    let d = tmpdir("case9");
    let f = write(&d, "big.tsv", b"0\t1\n1\t2\n12345678901234567890\t2\n");
    fails_with(&run(&["graph", "info", &f]), &["big.tsv:3:", "too large", "prefix"]);
    // Small integer ids keep their numbering.
    let g = parse_edge_list(b"5\t1\n", "ok.tsv").unwrap();
    assert_eq!((&g.labels, g.n_nodes()), (&Labels::Integers, 6));
}

const BAD_MTX: &[u8] = b"%%MatrixMarket matrix coordinate real general\n3 3 2\n1 2 1.0\n5 1 1.0\n";

#[test]
fn case_10_out_of_range_matrix_market_index_is_an_error() {
    let e = parse_matrix_market(BAD_MTX, "bad.mtx").unwrap_err().to_string();
    assert!(e.starts_with("bad.mtx:4: row index 5 is out of range"), "{e}");
    let d = tmpdir("case10");
    let f = write(&d, "bad.mtx", BAD_MTX);
    let needles = ["bad.mtx:4:", "row index 5 is out of range", "declares 3 rows"];
    fails_with(&run(&["graph", "info", &f]), &needles);
    fails_with(&run(&["select", "--graph", &f, "--candidates", "all", "--backend", "cpu"]), &needles);
    fails_with(&run(&["bench", "--graph", &f, "--backends", "cpu", "--budget", "1"]), &needles);
}

#[test]
fn case_11_short_zero_based_and_array_matrix_market_files_say_where_and_how_to_fix() {
    let cases: [(&str, &[u8], &[&str]); 4] = [
        ("short.mtx", b"%%MatrixMarket matrix coordinate real general\n3 3 3\n1 2 1.0\n", &["short.mtx:2:", "declares 3 entries but the file has 1"]),
        ("zero.mtx", b"%%MatrixMarket matrix coordinate pattern general\n3 3 2\n0 1\n1 2\n", &["zero.mtx:3:", "row index 0", "add 1 to every index"]),
        ("array.mtx", b"%%MatrixMarket matrix array real general\n2 2\n1\n0\n0\n1\n", &["array.mtx:1:", "coordinate format"]),
        ("banner.mtx", b"%%MatrixMarket matrix coordinate real general\n", &["banner.mtx:1:", "size line"]),
    ];
    let d = tmpdir("case11");
    for (name, bytes, needles) in cases {
        let e = parse_matrix_market(bytes, name).unwrap_err().to_string();
        assert!(needles.iter().all(|n| e.contains(n)), "{e}");
        assert!(!e.contains("Bad matrix market file"), "{e}");
        fails_with(&run(&["graph", "info", &write(&d, name, bytes)]), needles);
    }
}

#[test]
fn case_12_quoted_csv_gives_plain_gene_names() {
    let quoted = b"\"source\",\"target\",\"importance\"\n\"TP53\",\"MDM2\",\"0.5\"\n\"MDM2\",\"TP53\",1\n";
    let g = parse_edge_list(quoted, "q.csv").unwrap();
    assert_eq!(g.labels, Labels::Symbols(vec!["MDM2".into(), "TP53".into()]));
    assert!(g.report.header);
    let clean = parse_edge_list(b"source,target,importance\nTP53,MDM2,0.5\nMDM2,TP53,1\n", "q.csv").unwrap();
    assert_eq!((g.out, g.report), (clean.out, clean.report));
    let d = tmpdir("case12");
    let f = write(&d, "q.csv", quoted);
    let o = run(&["select", "--graph", &f, "--candidates", "all", "--budget", "2", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains('"') && out.contains("\tTP53\t") && out.contains("\tMDM2\t"), "{out}");
    // A quoted candidate list names the same genes.
    let pool = write(&d, "pool.txt", b"\"TP53\"\r\n");
    let o = run(&["select", "--graph", &f, "--candidates", &pool, "--budget", "1", "--backend", "cpu"]);
    assert!(o.status.success() && stdout(&o).contains("\tTP53\t"), "{}", stderr(&o));
    assert_eq!(read_names(&pool).unwrap().names, vec![(1, "TP53".to_string())]);
}
