//! Fuzzing every input parser (issue 15): arbitrary bytes and mutated valid files (byte flips,
//! truncations, deletions, inserted BOM / CR / quotes / separators / huge numbers) must give a
//! result or an error, never a panic; and a valid file that only gained a BOM, CRLF or lone-CR line
//! ends, CSV quotes, gzip or UTF-16 must give exactly the clean file's result.
//!
//! Parsers: edge lists (TSV/CSV/whitespace, gzip), MatrixMarket, name lists, selection TSVs, node
//! weights, the GO-build inputs (gene2go, universe, gene info), split category files, the Norman
//! design tables and h5ad (byte flips and
//! truncations of the real Papalexi fixture). Case counts are kept small enough for CI.

use graphreach::files::text::TextInput;
use graphreach::graph::go_build::{read_gene2go, read_protein_coding, read_universe};
use graphreach::graph::io::{parse_edge_list, parse_graph_text, parse_matrix_market};
use graphreach::graph::names::parse_names;
use graphreach::graph::Graph;
use graphreach::select::NodeWeights;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use std::io::Write;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Mutations and valid-preserving transforms.

/// One change to a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Delete(Index),
    Insert(Index, &'static [u8]),
}

/// Byte strings a careless editor or a foreign tool leaves in a file.
const INSERTS: &[&[u8]] = &[
    b"\xef\xbb\xbf", b"\r", b"\r\n", b"\"", b"\"\"", b"\t", b",", b"\n", b"#", b"%", b" ", b"\0", b"\xff", b"\xc3",
    b"-1", b"0", b"nan", b"inf", b"1e39", b"99999999999999999999", b"%%MatrixMarket", b"gene", b"ctrl+",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1u8..).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => any::<Index>().prop_map(Mutation::Delete),
        3 => (any::<Index>(), select(INSERTS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
    ]
}

fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let n = b.len();
        match m {
            Mutation::Flip(i, x) if n > 0 => b[i.index(n)] ^= x,
            Mutation::Truncate(i) if n > 0 => b.truncate(i.index(n)),
            Mutation::Delete(i) if n > 0 => {
                b.remove(i.index(n));
            }
            Mutation::Insert(i, s) => {
                let at = i.index(n + 1);
                b.splice(at..at, s.iter().copied());
            }
            _ => {}
        }
    }
    b
}

/// A change that keeps a file's meaning.
#[derive(Clone, Copy, Debug)]
enum Keep {
    Bom,
    Crlf,
    LoneCr,
    Quote,
    Gzip,
    Utf16,
}

fn keeps() -> impl Strategy<Value = Vec<Keep>> {
    proptest::sample::subsequence(vec![Keep::Quote, Keep::Crlf, Keep::LoneCr, Keep::Bom, Keep::Utf16, Keep::Gzip], 0..=4)
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b).unwrap();
    gz.finish().unwrap()
}

/// Quotes every field of every data line (`#`/`%` comment lines are left alone), CSV style.
fn quote_fields(text: &str, sep: char) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if body.trim().is_empty() || body.starts_with(['#', '%']) {
            out.push_str(line);
            continue;
        }
        let fields: Vec<String> = if sep == ' ' {
            body.split_ascii_whitespace().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect()
        } else {
            body.split(sep).map(|f| format!("\"{}\"", f.trim().replace('"', "\"\""))).collect()
        };
        out.push_str(&fields.join(&sep.to_string()));
        out.push_str(end);
    }
    out
}

/// Applies meaning-keeping changes in a fixed order (text changes, then the encodings).
fn keep(text: &str, sep: char, ks: &[Keep], quotable: bool) -> Vec<u8> {
    let mut t = text.to_string();
    if ks.iter().any(|k| matches!(k, Keep::Quote)) && quotable {
        t = quote_fields(&t, sep);
    }
    if ks.iter().any(|k| matches!(k, Keep::Crlf)) {
        t = t.replace('\n', "\r\n");
    } else if ks.iter().any(|k| matches!(k, Keep::LoneCr)) {
        t = t.replace('\n', "\r");
    }
    let mut b: Vec<u8> = if ks.iter().any(|k| matches!(k, Keep::Utf16)) {
        [0xff, 0xfe].into_iter().chain(t.encode_utf16().flat_map(u16::to_le_bytes)).collect()
    } else if ks.iter().any(|k| matches!(k, Keep::Bom)) {
        [b"\xef\xbb\xbf".as_slice(), t.as_bytes()].concat()
    } else {
        t.into_bytes()
    };
    if ks.iter().any(|k| matches!(k, Keep::Gzip)) {
        b = gzip(&b);
    }
    b
}

/// Longest run of ASCII digits. Integer node ids number the nodes, so a mutation that merges
/// digits into an 8-9 digit id asks for a graph of 10^8 nodes: legal, but too slow for CI.
fn longest_digit_run(b: &[u8]) -> usize {
    b.split(|c| !c.is_ascii_digit()).map(<[u8]>::len).max().unwrap_or(0)
}

fn same_graph(a: &Graph, b: &Graph) -> bool {
    a.labels == b.labels && a.out == b.out && a.report == b.report
}

// ---------------------------------------------------------------------------------------------
// Seeds: random valid files of each format.

/// A random valid edge list: symbol or integer labels, tab / comma / space separated, optional
/// header and weights (some <= 0, dropped), comments and blank lines.
fn edge_list() -> impl Strategy<Value = (String, char)> {
    let token = prop_oneof![ "[A-Z][A-Z0-9]{0,3}(-[A-Z0-9]{1,2})?", "[0-9]"];
    (
        select(vec!['\t', ',', ' ']),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec((token.clone(), token, -1.0f32..2.0), 1..12),
        any::<bool>(),
    )
        .prop_map(|(sep, header, weighted, edges, comment)| {
            let s = sep.to_string();
            let mut t = String::new();
            if comment {
                t.push_str("# a comment\n\n");
            }
            if header {
                t.push_str(&if weighted { ["source", "target", "importance"].join(&s) } else { ["source", "target"].join(&s) });
                t.push('\n');
            }
            for (a, b, w) in edges {
                if weighted {
                    t.push_str(&format!("{a}{s}{b}{s}{w:.3}\n"));
                } else {
                    t.push_str(&format!("{a}{s}{b}\n"));
                }
            }
            (t, sep)
        })
}

/// A random valid MatrixMarket coordinate file.
fn matrix_market() -> impl Strategy<Value = String> {
    (select(vec!["real", "integer", "pattern"]), select(vec!["general", "symmetric"]), 1usize..9)
        .prop_flat_map(|(field, sym, n)| {
            (Just(field), Just(sym), Just(n), proptest::collection::vec((1..=n, 1..=n, -2i32..5), 0..10))
        })
        .prop_map(|(field, sym, n, entries)| {
            let mut t = format!("%%MatrixMarket matrix coordinate {field} {sym}\n% a comment\n{n} {n} {}\n", entries.len());
            for (i, j, v) in entries {
                match field {
                    "pattern" => t.push_str(&format!("{i} {j}\n")),
                    "integer" => t.push_str(&format!("{i} {j} {v}\n")),
                    _ => t.push_str(&format!("{i} {j} {}\n", v as f32 / 2.0)),
                }
            }
            t
        })
}

/// A random valid name list, or a selection TSV as `select` writes it.
fn name_list() -> impl Strategy<Value = (String, char)> {
    let name = prop_oneof!["[A-Z][A-Z0-9]{0,5}", "[A-Z]{1,3}\\+ctrl", "[A-Z]{1,3}\\+[A-Z]{1,3}", Just("ctrl".to_string())];
    (any::<bool>(), proptest::collection::vec(name, 1..10)).prop_map(|(table, names)| {
        if table {
            let mut t = "rank\tgene\tnode_id\tgain\n".to_string();
            for (i, n) in names.iter().enumerate() {
                t.push_str(&format!("{}\t{n}\t{i}\t{}\n", i + 1, 10 - i));
            }
            (t, '\t')
        } else {
            (format!("# genes\n{}\n", names.join("\n")), ',')
        }
    })
}

/// The graph node weights are read against: nodes G0..G9.
fn weights_graph() -> Graph {
    let edges: String = (0..10).map(|i| format!("G{i}\tG{}\n", (i + 1) % 10)).collect();
    parse_edge_list(edges.as_bytes(), "w.graph").unwrap()
}

/// A random valid weights file for [`weights_graph`].
fn weights_file() -> impl Strategy<Value = (String, char)> {
    (select(vec!['\t', ',']), any::<bool>(), proptest::collection::btree_map(0u32..10, 0.0f64..5.0, 1..10)).prop_map(|(sep, header, w)| {
        let mut t = if header { format!("gene{sep}weight\n") } else { String::new() };
        for (g, v) in w {
            t.push_str(&format!("G{g}{sep}{v:.4}\n"));
        }
        (t, sep)
    })
}

const GENE2GO: &str = "symbol\tentrez_id\tgo_id\tontology\tevidence\nA1BG\t1\tGO:0005576\tCC\tHDA\nA1BG\t1\tGO:0002576\tBP\tTAS\nAAMP\t14\tGO:0005576\tCC\tND\nZZZ3\t26009\tGO:0005634\tCC\tIDA\n";
const UNIVERSE: &str = "# universe\nA1BG\nAAMP\n\nZZZ3\n";
const GENE_INFO: &str = "entrez_id\tsymbol\tgene_type\tname\n1\tA1BG\tprotein-coding\talpha-1-B glycoprotein\n3\tHBD\tprotein-coding\themoglobin\n3\tHBD\tunknown\tlocus\n";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

// ---------------------------------------------------------------------------------------------
// Text parsers.

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn edge_lists_survive_mutations((text, _) in edge_list(), ms in proptest::collection::vec(mutation(), 1..4), gz in any::<bool>()) {
        let b = mutate(text.into_bytes(), &ms);
        prop_assume!(!(8..10).contains(&longest_digit_run(&b)));
        let b = if gz { gzip(&b) } else { b };
        let _ = parse_edge_list(&b, "fuzz.tsv");
    }

    #[test]
    fn gzip_streams_survive_mutations((text, _) in edge_list(), ms in proptest::collection::vec(mutation(), 1..3)) {
        let b = mutate(gzip(text.as_bytes()), &ms);
        let _ = parse_edge_list(&b, "fuzz.tsv.gz");
    }

    #[test]
    fn edge_lists_keep_their_meaning((text, sep) in edge_list(), ks in keeps()) {
        let clean = parse_edge_list(text.as_bytes(), "clean.tsv");
        let kept = parse_edge_list(&keep(&text, sep, &ks, true), "clean.tsv");
        match (clean, kept) {
            (Ok(a), Ok(b)) => prop_assert!(same_graph(&a, &b), "{ks:?}\n{text}"),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "{ks:?}: clean {:?} vs kept {:?}\n{text}", a.map(|g| g.n_nodes()), b.map(|g| g.n_nodes())),
        }
    }

    #[test]
    fn matrix_market_survives_mutations(text in matrix_market(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let b = mutate(text.into_bytes(), &ms);
        let _ = parse_matrix_market(&b, "fuzz.mtx");
        if let Ok(t) = TextInput::from_bytes(b, "fuzz.mtx") {
            let _ = parse_graph_text(&t);
        }
    }

    #[test]
    fn matrix_market_keeps_its_meaning(text in matrix_market(), ks in keeps()) {
        let a = parse_matrix_market(text.as_bytes(), "m.mtx").unwrap();
        let b = parse_matrix_market(&keep(&text, ' ', &ks, false), "m.mtx").unwrap();
        prop_assert!(same_graph(&a, &b), "{ks:?}\n{text}");
    }

    #[test]
    fn name_lists_survive_mutations((text, _) in name_list(), ms in proptest::collection::vec(mutation(), 1..4)) {
        if let Ok(t) = TextInput::from_bytes(mutate(text.into_bytes(), &ms), "fuzz.txt") {
            let _ = parse_names(&t);
        }
    }

    #[test]
    fn name_lists_keep_their_meaning((text, sep) in name_list(), ks in keeps()) {
        let names = |b: Vec<u8>| parse_names(&TextInput::from_bytes(b, "n.txt").unwrap()).unwrap().names.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        prop_assert_eq!(names(text.clone().into_bytes()), names(keep(&text, sep, &ks, true)), "{:?}", ks);
    }

    #[test]
    fn weights_survive_mutations((text, _) in weights_file(), ms in proptest::collection::vec(mutation(), 1..4)) {
        let g = weights_graph();
        if let Ok(t) = TextInput::from_bytes(mutate(text.into_bytes(), &ms), "fuzz.w") {
            let _ = NodeWeights::parse(&t, &g, 0.5);
        }
    }

    #[test]
    fn weights_keep_their_meaning((text, sep) in weights_file(), ks in keeps()) {
        let g = weights_graph();
        let w = |b: Vec<u8>| NodeWeights::parse(&TextInput::from_bytes(b, "w.tsv").unwrap(), &g, 0.5).unwrap();
        prop_assert_eq!(w(text.clone().into_bytes()), w(keep(&text, sep, &ks, true)), "{:?}", ks);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let g = weights_graph();
        let _ = parse_edge_list(&b, "any.tsv");
        let _ = parse_matrix_market(&b, "any.mtx");
        let mm = [b"%%MatrixMarket matrix coordinate real general\n".as_slice(), &b].concat();
        let _ = parse_matrix_market(&mm, "any.mtx");
        if let Ok(t) = TextInput::from_bytes(b, "any.txt") {
            let _ = parse_graph_text(&t);
            let _ = parse_names(&t);
            let _ = NodeWeights::parse(&t, &g, 0.0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The GO-build inputs are read from files, so these cases write a temporary file each.
    #[test]
    fn go_build_inputs_survive_mutations(which in 0usize..3, ms in proptest::collection::vec(mutation(), 1..4), gz in any::<bool>()) {
        let seed = [GENE2GO, UNIVERSE, GENE_INFO][which];
        let b = mutate(seed.as_bytes().to_vec(), &ms);
        let p = tmp(&format!("go-input-{which}"));
        std::fs::write(&p, if gz { gzip(&b) } else { b }).unwrap();
        match which {
            0 => drop(read_gene2go(&p, &["ND".to_string()])),
            1 => drop(read_universe(&p)),
            _ => drop(read_protein_coding(&p)),
        }
    }

    #[test]
    fn go_build_inputs_keep_their_meaning(ks in keeps()) {
        let write = |name: &str, text: &str| {
            let p = tmp(name);
            std::fs::write(&p, keep(text, '\t', &ks, true)).unwrap();
            p
        };
        let clean = |name: &str, text: &str| {
            let p = tmp(&format!("clean-{name}"));
            std::fs::write(&p, text).unwrap();
            p
        };
        let nd = ["ND".to_string()];
        prop_assert_eq!(read_gene2go(&clean("g2g", GENE2GO), &nd).unwrap(), read_gene2go(&write("g2g", GENE2GO), &nd).unwrap());
        prop_assert_eq!(read_universe(&clean("u", UNIVERSE)).unwrap(), read_universe(&write("u", UNIVERSE)).unwrap());
        prop_assert_eq!(read_protein_coding(&clean("gi", GENE_INFO)).unwrap(), read_protein_coding(&write("gi", GENE_INFO)).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// h5ad: byte flips and truncations of the real fixture.

const PAPALEXI: &str = "tests/fixtures/papalexi2021_lowmoi_counts.h5ad";

fn fixture() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| std::fs::read(PAPALEXI).unwrap())
}

/// Reads a (damaged) raw-count file the way `prepare` does; any outcome but a panic is fine, and
/// an error must name the file.
fn read_damaged(bytes: &[u8], case: &str) {
    let p = tmp(&format!("damaged-{case}.h5ad"));
    std::fs::write(&p, bytes).unwrap();
    let r = std::panic::catch_unwind(|| graphreach::data::raw::read_raw(&p, Some("THP-1")));
    match r {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => assert!(e.to_string().contains(&*p.to_string_lossy()), "error does not name the file: {e}"),
        Err(_) => panic!("read_raw panicked on {case}"),
    }
    let _ = std::fs::remove_file(&p);
}

/// Offsets of the HDF5 metadata structures in the fixture (B-tree nodes, local and global heaps,
/// symbol-table nodes: found by their signatures), where a flip breaks the most interesting code.
fn metadata_offsets() -> &'static [usize] {
    static AT: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    AT.get_or_init(|| {
        let b = fixture();
        (0..b.len().saturating_sub(4)).filter(|&i| matches!(&b[i..i + 4], b"TREE" | b"HEAP" | b"GCOL" | b"SNOD")).collect()
    })
}

/// Where a flip lands: anywhere (mostly compressed count chunks), in the superblock and root
/// group, or within 1 KiB after a metadata structure.
fn position() -> impl Strategy<Value = usize> {
    let len = fixture().len();
    let meta = metadata_offsets();
    prop_oneof![
        1 => 0..len,
        1 => 0..len.min(8192),
        3 => (select(meta.to_vec()), 0usize..1024).prop_map(move |(at, d)| (at + d).min(len - 1)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn h5ad_survives_byte_flips(flips in proptest::collection::vec((position(), 1u8..), 1..8)) {
        let mut b = fixture().to_vec();
        for (at, x) in &flips {
            b[*at] ^= x;
        }
        read_damaged(&b, "flips");
    }

    #[test]
    fn h5ad_survives_truncation(keep_frac in 0.0f64..1.0) {
        let b = fixture();
        read_damaged(&b[..(b.len() as f64 * keep_frac) as usize], "truncated");
    }
}

#[test]
fn h5ad_survives_zeroed_metadata() {
    // Deterministic sweep: zero the 64 bytes at each metadata structure, one file each.
    let b = fixture();
    let meta = metadata_offsets();
    assert!(meta.len() > 50, "signatures not found: {}", meta.len());
    for (k, &at) in meta.iter().enumerate() {
        let mut d = b.to_vec();
        let end = (at + 64).min(d.len());
        d[at..end].fill(0);
        read_damaged(&d, &format!("zeros-{k}"));
    }
    assert!(Path::new(PAPALEXI).exists());
}

// ---------------------------------------------------------------------------------------------
// The double-perturbation inputs: split category files and the Norman design tables.

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn category_files_survive_mutations(ms in proptest::collection::vec(mutation(), 1..4)) {
        let text = "perturbation\tpart\tcategory\nA\ttrain\tseen_single\nA+B\ttest\tcombo_seen1\nC\ttest\tunseen_single\nC+D\ttest\tcombo_seen0\n";
        if let Ok(t) = TextInput::from_bytes(mutate(text.as_bytes().to_vec(), &ms), "fuzz-categories.tsv") {
            let _ = graphreach::data::categories::CategoryTable::parse(t);
        }
    }

    #[test]
    fn norman_designs_survive_mutations(ms in proptest::collection::vec(mutation(), 1..4), which in 0usize..2) {
        let conds = "norman_condition\tgears_style_condition\tkind\nx\tctrl\tcontrol\nx\tA+ctrl\tsingle\nx\tB+ctrl\tsingle\nx\tA+B\tdouble\n";
        let fits = "name,coef_first,coef_second,corr_fit,dcor,UMI_double,UMI_first,UMI_second,de_first,de_second,de_double\nA_B,0.5,1.5,0.9,0.8,1,2,3,2.0,2.5,3.0\n";
        let (c, f) = if which == 0 { (mutate(conds.as_bytes().to_vec(), &ms), fits.as_bytes().to_vec()) } else { (conds.as_bytes().to_vec(), mutate(fits.as_bytes().to_vec(), &ms)) };
        let _ = graphreach::data::norman::parse_design(&c, "fuzz-conditions.tsv", &f, "fuzz-fits.csv");
    }
}
