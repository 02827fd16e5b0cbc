//! Tests of the GO graph builder, including byte-identity with the shipped reference graphs.

use super::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/go").join(name)
}

fn tsv(g: &GoGraph) -> Vec<u8> {
    let mut out = Vec::new();
    g.write_tsv(&mut out).unwrap();
    out
}

fn nd() -> Vec<String> {
    vec!["ND".to_string()]
}

fn toy(genes: &[(&str, &[u32])], n_terms: usize) -> GoIndex {
    GoIndex::new(genes.iter().map(|(s, t)| (s.to_string(), t.to_vec())).collect(), n_terms)
}

#[test]
fn toy_graph_thresholds_ties_and_order() {
    // A={0,1}, B={0,1}, C={0}, D={2}: J(A,B)=1, J(A,C)=1/2, J(C,D)=0.
    let idx = toy(&[("A", &[0, 1]), ("B", &[0, 1]), ("C", &[0]), ("D", &[2])], 3);
    let cfg = GoBuildConfig { min_jaccard: 0.5, top_k: 1 };
    let g = build(&idx, &cfg, &CpuJaccard, 2).unwrap();
    let text = String::from_utf8(tsv(&g)).unwrap();
    // J = 0.5 is not > 0.5; target A keeps A and B (tie at 1, sources ascending), C only itself.
    assert_eq!(
        text,
        "source\ttarget\timportance\nA\tA\t1.000000\nB\tA\t1.000000\nA\tB\t1.000000\nB\tB\t1.000000\nC\tC\t1.000000\nD\tD\t1.000000\n"
    );
    assert_eq!(g.pairs_above, 6);
    // With top_k = 0 and a tie at J = 1, the self row of B is cut in favour of source A.
    let g0 = build(&idx, &GoBuildConfig { min_jaccard: 0.1, top_k: 0 }, &CpuJaccard, 10).unwrap();
    let b_rows: Vec<_> = g0.rows.iter().filter(|r| r.target == 1).map(|r| r.source).collect();
    assert_eq!(b_rows, vec![0]);
}

#[test]
fn jaccard_ties_compare_exactly() {
    let a = GoEdge { source: 5, target: 0, inter: 1, union: 3 };
    let b = GoEdge { source: 2, target: 0, inter: 2, union: 6 };
    let c = GoEdge { source: 1, target: 0, inter: 1, union: 4 };
    let mut rows = vec![a, c, b];
    select_top(&mut rows, 2);
    assert_eq!(rows, vec![b, a]);
}

#[test]
fn threshold_table_equals_the_division_rule() {
    let sizes: Vec<(String, Vec<u32>)> = (1..=60u32).map(|k| (format!("G{k:03}"), (0..k).collect())).collect();
    let idx = GoIndex::new(sizes, 60);
    for min in [0.0, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.9] {
        let table = ThresholdTable::new(&idx, min);
        assert_eq!(table.need.len(), 121);
        for sum in 2..=120u32 {
            for inter in 0..=sum / 2 {
                let want = inter > 0 && inter as f64 / (sum - inter) as f64 > min;
                assert_eq!(table.passes(inter, sum), want, "min {min} inter {inter} sum {sum}");
            }
        }
    }
}

#[test]
fn malformed_input_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("graphreach-go-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.tsv");
    std::fs::write(&bad, "symbol\tentrez_id\tgo_id\tontology\tevidence\nA\t1\tGO:1\tBP\tIDA\nB\t2\tGO:1\n").unwrap();
    let e = read_gene2go(&bad, &nd()).unwrap_err().to_string();
    assert!(e.contains("bad.tsv:3:"), "{e}");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n").unwrap();
    assert!(read_gene2go(&empty, &nd()).unwrap_err().to_string().contains("empty"));
    assert!(read_universe(&empty).unwrap_err().to_string().contains("empty"));
    std::fs::write(&bad, "A\tB\n").unwrap();
    assert!(read_universe(&bad).unwrap_err().to_string().contains("bad.tsv:1:"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn evidence_exclusion_and_universe_restriction() {
    let ann = read_gene2go(&data("human_gene2go_direct.tsv.gz"), &nd()).unwrap();
    let all = read_gene2go(&data("human_gene2go_direct.tsv.gz"), &[]).unwrap();
    assert_eq!(all.rows, 348_116);
    assert_eq!(all.excluded_rows, 0);
    assert!(ann.excluded_rows > 0 && ann.genes.len() < all.genes.len());
    let u: BTreeSet<String> = ["A1BG", "NOT_A_GENE"].iter().map(|s| s.to_string()).collect();
    let (idx, missing) = ann.index(Some(&u));
    assert_eq!(idx.genes, vec!["A1BG".to_string()]);
    assert_eq!(missing, vec!["NOT_A_GENE".to_string()]);
}

#[test]
fn k562_universe_graph_is_byte_identical_to_the_reference() {
    let ann = read_gene2go(&data("human_gene2go_direct.tsv.gz"), &nd()).unwrap();
    let universe = read_universe(&data("k562universe_genes.txt")).unwrap();
    let (idx, missing) = ann.index(Some(&universe));
    assert!(missing.is_empty());
    assert_eq!(idx.n_genes(), 9_792);
    let g = build(&idx, &GoBuildConfig::default(), &CpuJaccard, 1024).unwrap();
    assert_eq!(g.pairs_above, 12_376_176);
    assert_eq!(g.rows.len(), 201_767);
    let want = crate::graph::io::read_maybe_gz(&data("go_graph_k562universe_k20.tsv.gz")).unwrap();
    assert!(tsv(&g) == want, "output differs from go_graph_k562universe_k20.tsv.gz");
}

#[test]
fn protein_coding_graph_is_byte_identical_to_the_reference() {
    let ann = read_gene2go(&data("human_gene2go_direct.tsv.gz"), &nd()).unwrap();
    let pc = read_protein_coding(&data("human_gene_info.tsv.gz")).unwrap();
    assert!(!pc.contains("HBD") && pc.contains("MEMO1") && pc.contains("A1BG"));
    let (idx, _) = ann.index(Some(&pc));
    assert_eq!(idx.n_genes(), 18_777);
    let g = build(&idx, &GoBuildConfig::default(), &CpuJaccard, 4096).unwrap();
    assert_eq!(g.rows.len(), 389_305);
    let want = crate::graph::io::read_maybe_gz(&data("go_graph_k20.tsv.gz")).unwrap();
    assert!(tsv(&g) == want, "output differs from go_graph_k20.tsv.gz");
}
