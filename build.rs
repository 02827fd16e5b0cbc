//! Packs the builtin GO graphs (`data/go/*.tsv.gz`, the committed source of truth) into the compact
//! binary CSR of `src/graph/packed.rs`, so the binary loads them without decompressing or parsing
//! text. Runs only when a TSV or this script changes; needs only flate2.
//!
//! The TSVs are plain GEARS files (`source<TAB>target<TAB>importance` with a header, symbol
//! labels, no duplicate or non-positive edges); the script stops the build on a line that is not,
//! and `tests/builtin.rs` checks every packed graph against the TSV parsed by the library's loader
//! (so anything else this simple parser would read differently fails the tests).

#[path = "src/graph/packed.rs"]
#[allow(dead_code)]
mod packed;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

/// (committed TSV, packed output name).
const GRAPHS: &[(&str, &str)] = &[
    ("data/go/go_graph_k562universe_k20.tsv.gz", "go_k562.csr"),
    ("data/go/go_graph_k20.tsv.gz", "go_human.csr"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/graph/packed.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (src, dst) in GRAPHS {
        println!("cargo:rerun-if-changed={src}");
        let gz = std::fs::read(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap_or_else(|e| panic!("{src}: {e}"));
        let p = pack(&text, src);
        std::fs::write(out.join(dst), packed::encode(&p)).unwrap_or_else(|e| panic!("{dst}: {e}"));
    }
}

/// The GEARS TSV as a packed graph: symbols byte-wise sorted, rows and columns ascending. (Kept
/// to a few linear passes: build scripts run unoptimised.)
fn pack(text: &str, src: &str) -> packed::Packed {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.split('\t').nth(2).is_some_and(|w| w.parse::<f64>().is_err()), "{src}: expected a header line");
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut edges: Vec<(u32, u32, f32)> = Vec::new();
    for (i, l) in lines.enumerate() {
        let mut f = l.split('\t');
        let (Some(a), Some(b), Some(w), None) = (f.next(), f.next(), f.next(), f.next()) else {
            panic!("{src}:{}: not a `source<TAB>target<TAB>weight` line", i + 2);
        };
        let w: f32 = w.parse().unwrap_or_else(|_| panic!("{src}:{}: bad weight", i + 2));
        assert!(w.is_finite() && w > 0.0, "{src}:{}: weight must be finite and > 0", i + 2);
        let next = ids.len() as u32;
        let a = *ids.entry(a).or_insert(next);
        let next = ids.len() as u32;
        let b = *ids.entry(b).or_insert(next);
        edges.push((a, b, w));
    }
    // Provisional ids -> ranks in byte-wise symbol order.
    let mut syms: Vec<(&str, u32)> = ids.into_iter().collect();
    syms.sort_unstable();
    let n = syms.len();
    let mut rank = vec![0u32; n];
    for (r, s) in syms.iter().enumerate() {
        rank[s.1 as usize] = r as u32;
    }
    // Counting sort by row, then each (short) row by column.
    let mut indptr = vec![0u32; n + 1];
    for e in &edges {
        indptr[rank[e.0 as usize] as usize + 1] += 1;
    }
    for r in 0..n {
        indptr[r + 1] += indptr[r];
    }
    let mut next: Vec<u32> = indptr[..n].to_vec();
    let mut cols = vec![(0u32, 0f32); edges.len()];
    for e in &edges {
        let r = rank[e.0 as usize] as usize;
        cols[next[r] as usize] = (rank[e.1 as usize], e.2);
        next[r] += 1;
    }
    for r in 0..n {
        let row = &mut cols[indptr[r] as usize..indptr[r + 1] as usize];
        row.sort_unstable_by_key(|c| c.0);
        assert!(row.windows(2).all(|w| w[0].0 != w[1].0), "{src}: duplicate edges are not expected");
    }
    packed::Packed {
        symbols: syms.iter().map(|s| s.0.to_string()).collect(),
        indptr,
        indices: cols.iter().map(|c| c.0).collect(),
        weights: cols.iter().map(|c| c.1).collect(),
        lines: edges.len() as u32,
        dropped: 0,
        duplicates: 0,
        header: true,
    }
}
