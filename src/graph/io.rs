//! Graph loading: GEARS-style `source,target,importance` CSV/TSV, plain two- or three-column edge
//! lists (tab, comma or whitespace separated, optionally gzip-compressed, header optional) and
//! MatrixMarket (`.mtx`, through sprs).
//!
//! Node numbering: when every node token is a non-negative integer the file is integer-labelled
//! and node `i` is the integer `i` (nodes `0..=max` exist); otherwise it is symbol-labelled and
//! nodes are numbered in byte-wise sorted symbol order (GEARS's `node_map_pert` order).

use super::{Csr, Graph, Labels, LoadReport};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Loads a graph named on the command line: `builtin:NAME`, `gen:NAME` or a file path.
pub fn load_graph(spec: &str) -> Result<Graph> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return super::builtin::graph(name);
    }
    if let Some(name) = spec.strip_prefix("gen:") {
        return gen_graph(name);
    }
    load_graph_file(Path::new(spec))
}

/// `gen:NAME`: a synthetic preset graph (see `graph gen`).
fn gen_graph(name: &str) -> Result<Graph> {
    crate::graph::gen_hook(name)
}

/// Reads a file fully, transparently decompressing gzip (detected by its magic bytes).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decompress_if_gz(raw, &path.display().to_string())
}

/// Decompresses `raw` if it starts with the gzip magic bytes; `name` labels errors.
pub fn decompress_if_gz(raw: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 5);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::parse(name, 0, format!("corrupt gzip data ({e}); re-download or decompress the file")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Loads a graph file (edge list, GEARS CSV/TSV, or MatrixMarket).
pub fn load_graph_file(path: &Path) -> Result<Graph> {
    let name = path.display().to_string();
    let bytes = read_maybe_gz(path)?;
    let is_mtx = bytes.starts_with(b"%%MatrixMarket")
        || name.ends_with(".mtx")
        || name.ends_with(".mtx.gz");
    if is_mtx {
        parse_matrix_market(&bytes, &name)
    } else {
        parse_edge_list(&bytes, &name)
    }
}

/// Column separator of an edge list.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sep {
    Tab,
    Comma,
    Space,
}

/// Splits `line` into at most four fields (the rest are only counted); returns the field count.
fn split_fields<'a>(line: &'a str, sep: Sep, fields: &mut [&'a str; 4]) -> usize {
    let mut nf = 0;
    let mut put = |f: &'a str| {
        if nf < 4 {
            fields[nf] = f;
        }
        nf += 1;
    };
    match sep {
        Sep::Tab => line.split('\t').map(str::trim).for_each(&mut put),
        Sep::Comma => line.split(',').map(str::trim).for_each(&mut put),
        Sep::Space => line.split_ascii_whitespace().for_each(&mut put),
    }
    nf
}

/// The separator the first data line uses.
fn detect_sep(line: &str) -> Sep {
    if line.contains('\t') {
        Sep::Tab
    } else if line.contains(',') {
        Sep::Comma
    } else {
        Sep::Space
    }
}

/// A node token as an integer id, if it is all ASCII digits and fits in `u32`.
#[inline]
fn int_token(t: &str) -> Option<u32> {
    if t.bytes().all(|c| c.is_ascii_digit()) {
        t.parse::<u32>().ok()
    } else {
        None
    }
}

/// A trimmed line that is exactly `digits SEP digits` (one separator byte), as two `u32`s; `None`
/// for anything else (which the field splitter then handles).
#[inline]
fn two_ints(line: &[u8], sep: Sep) -> Option<(u32, u32)> {
    let sep = match sep {
        Sep::Tab => b'\t',
        Sep::Comma => b',',
        Sep::Space => b' ',
    };
    let mut vals = [0u32; 2];
    let mut k = 0;
    let mut digits = 0;
    for &c in line {
        if c.is_ascii_digit() {
            vals[k] = vals[k].checked_mul(10)?.checked_add((c - b'0') as u32)?;
            digits += 1;
        } else if c == sep && k == 0 && digits > 0 {
            k = 1;
            digits = 0;
        } else {
            return None;
        }
    }
    (k == 1 && digits > 0).then_some((vals[0], vals[1]))
}

/// Parsed integer edges of one chunk of lines.
#[derive(Default)]
struct IntChunk {
    rows: Vec<u32>,
    cols: Vec<u32>,
    w: Vec<f32>,
    lines: usize,
    dropped: usize,
    /// Largest endpoint of any data line, dropped edges included (+1; 0 when none).
    max_plus_one: usize,
}

/// Parses the data lines of `text` (after the first data line) when every line is a plain
/// `int SEP int [SEP weight]` line with `ncol` columns; `None` on anything else (symbol tokens,
/// bad weights, wrong column counts, ...), so that the general parser reports it exactly.
fn parse_int_chunk(text: &str, sep: Sep, ncol: usize) -> Option<IntChunk> {
    let mut c = IntChunk::default();
    let mut fields = [""; 4];
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        if ncol == 2 {
            if let Some((a, b)) = two_ints(line.as_bytes(), sep) {
                c.lines += 1;
                c.max_plus_one = c.max_plus_one.max(a as usize + 1).max(b as usize + 1);
                c.rows.push(a);
                c.cols.push(b);
                c.w.push(1.0);
                continue;
            }
        }
        if split_fields(line, sep, &mut fields) != ncol {
            return None;
        }
        let a = int_token(fields[0])?;
        let b = int_token(fields[1])?;
        let weight = if ncol == 3 {
            match fields[2].parse::<f32>() {
                Ok(w) if w.is_finite() => w,
                _ => return None,
            }
        } else {
            1.0
        };
        c.lines += 1;
        c.max_plus_one = c.max_plus_one.max(a as usize + 1).max(b as usize + 1);
        if weight <= 0.0 {
            c.dropped += 1;
            continue;
        }
        c.rows.push(a);
        c.cols.push(b);
        c.w.push(weight);
    }
    Some(c)
}

/// Bytes per chunk of the parallel integer parser.
const PARSE_CHUNK: usize = 4 << 20;

/// The fast path of [`parse_edge_list`] for integer-labelled files: the lines after the first
/// data line are parsed in parallel chunks straight into integers, without holding tokens.
/// Returns `None` when the file needs the general parser (which then also reports any error).
fn parse_int_edge_list(text: &str, name: &str) -> Option<Graph> {
    // The first data line fixes the separator, the column count and whether it is a header.
    let mut rest = text;
    let mut report = LoadReport::default();
    let (sep, ncol, first) = loop {
        let (line, tail) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if line.is_empty() && tail.is_empty() && rest.is_empty() {
            return None;
        }
        rest = tail;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        let sep = detect_sep(line);
        let mut fields = [""; 4];
        let nf = split_fields(line, sep, &mut fields);
        if !(nf == 2 || nf == 3) {
            return None;
        }
        if is_header(&fields[..nf]) {
            report.header = true;
            break (sep, nf, None);
        }
        break (sep, nf, Some(line));
    };
    // Chunk boundaries just after a newline.
    let bytes = rest.as_bytes();
    let mut cuts = vec![0usize];
    while *cuts.last().unwrap() < bytes.len() {
        let start = *cuts.last().unwrap();
        let mut end = (start + PARSE_CHUNK).min(bytes.len());
        while end < bytes.len() && bytes[end - 1] != b'\n' {
            end += 1;
        }
        cuts.push(end);
    }
    let mut pieces: Vec<&str> = first.into_iter().collect();
    pieces.extend(cuts.windows(2).map(|w| &rest[w[0]..w[1]]));
    let chunks: Vec<IntChunk> = pieces.par_iter().map(|p| parse_int_chunk(p, sep, ncol)).collect::<Option<Vec<_>>>()?;
    report.lines = chunks.iter().map(|c| c.lines).sum();
    report.dropped_nonpositive = chunks.iter().map(|c| c.dropped).sum();
    let n = chunks.iter().map(|c| c.max_plus_one).max().unwrap_or(0);
    let total: usize = chunks.iter().map(|c| c.rows.len()).sum();
    if report.lines == 0 || total > u32::MAX as usize || n >= u32::MAX as usize {
        return None;
    }
    let (mut rows, mut cols, mut w) = (Vec::with_capacity(total), Vec::with_capacity(total), Vec::with_capacity(total));
    for c in chunks {
        rows.extend_from_slice(&c.rows);
        cols.extend_from_slice(&c.cols);
        w.extend_from_slice(&c.w);
    }
    let (out, dup) = Csr::from_triplets(n, &rows, &cols, &w);
    report.duplicates = dup;
    Some(Graph::new(name, Labels::Integers, out, report))
}

/// Column names that mark the first line of a two-column file as a header.
const HEADER_WORDS: &[&str] =
    &["source", "target", "src", "dst", "from", "to", "u", "v", "node1", "node2", "gene1", "gene2", "head", "tail"];

/// A three-column first line is a header when its weight column is not a number; a two-column
/// first line when both fields are common column names (`source target`, `u v`, ...).
fn is_header(fields: &[&str]) -> bool {
    if fields.len() == 3 {
        return fields[2].parse::<f64>().is_err();
    }
    fields.len() == 2
        && HEADER_WORDS.contains(&fields[0].to_ascii_lowercase().as_str())
        && HEADER_WORDS.contains(&fields[1].to_ascii_lowercase().as_str())
}

fn parse_weight(tok: &str, name: &str, line: usize) -> Result<f32> {
    match tok.parse::<f32>() {
        Ok(w) if w.is_finite() => Ok(w),
        Ok(_) => Err(Error::parse(name, line, format!("weight '{tok}' is not a finite number; fix or remove the line"))),
        Err(_) => Err(Error::parse(name, line, format!("weight '{tok}' is not a number; the third column must be a numeric edge weight"))),
    }
}

/// Parses a delimited edge list held in memory. `name` labels errors and the graph.
pub fn parse_edge_list(bytes: &[u8], name: &str) -> Result<Graph> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::parse(name, line_of_offset(bytes, e.valid_up_to()), "the file is not UTF-8 text; is it a binary file?"))?;
    if let Some(g) = parse_int_edge_list(text, name) {
        return Ok(g);
    }
    parse_edge_list_general(text, name)
}

/// The general edge-list parser (symbol or integer labels, every error reported with its line).
fn parse_edge_list_general(text: &str, name: &str) -> Result<Graph> {
    let mut report = LoadReport::default();
    let mut sep = None;
    let mut ncol = 0usize;
    // Data lines as (line number, source, target, weight).
    let mut src: Vec<&str> = Vec::new();
    let mut dst: Vec<&str> = Vec::new();
    let mut w: Vec<f32> = Vec::new();
    // Endpoints of dropped edges are still nodes of the file.
    let mut dropped_nodes: Vec<&str> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        let s = *sep.get_or_insert_with(|| detect_sep(line));
        let mut fields = [""; 4];
        let nf = split_fields(line, s, &mut fields);
        if ncol == 0 {
            if !(nf == 2 || nf == 3) {
                return Err(Error::parse(name, lineno, format!(
                    "expected 2 or 3 columns (source, target[, weight]) but found {nf}; separate columns with tabs or commas")));
            }
            ncol = nf;
            if is_header(&fields[..nf]) {
                report.header = true;
                continue;
            }
        } else if nf != ncol {
            return Err(Error::parse(name, lineno, format!(
                "expected {ncol} columns like the first line but found {nf}; every line must have the same columns")));
        }
        let (a, b) = (fields[0], fields[1]);
        if a.is_empty() || b.is_empty() {
            return Err(Error::parse(name, lineno, "empty node name; every line needs a source and a target"));
        }
        let weight = if nf == 3 { parse_weight(fields[2], name, lineno)? } else { 1.0 };
        report.lines += 1;
        if weight <= 0.0 {
            report.dropped_nonpositive += 1;
            dropped_nodes.push(a);
            dropped_nodes.push(b);
            continue;
        }
        src.push(a);
        dst.push(b);
        w.push(weight);
    }
    if report.lines == 0 {
        return Err(Error::EmptyFile {
            path: name.to_string(),
            hint: "; expected lines of `source<TAB>target[<TAB>weight]`".into(),
        });
    }
    if src.len() > u32::MAX as usize {
        return Err(Error::invalid(format!("{name}: more than {} edges are not supported", u32::MAX)));
    }
    // Integer labels if every token is an integer.
    let all_int = src.iter().chain(dst.iter()).chain(dropped_nodes.iter()).all(|t| t.bytes().all(|c| c.is_ascii_digit()) && t.parse::<u32>().is_ok());
    let (labels, n, rows, cols) = if all_int {
        let rows: Vec<u32> = src.iter().map(|t| t.parse().unwrap()).collect();
        let cols: Vec<u32> = dst.iter().map(|t| t.parse().unwrap()).collect();
        let extra = dropped_nodes.iter().map(|t| t.parse::<u32>().unwrap());
        let max = rows.iter().chain(cols.iter()).copied().chain(extra).max().map(|m| m as usize + 1).unwrap_or(0);
        if max >= u32::MAX as usize {
            return Err(Error::invalid(format!("{name}: node id {} is too large (limit {})", max - 1, u32::MAX - 1)));
        }
        (Labels::Integers, max, rows, cols)
    } else {
        let mut syms: Vec<&str> = src.iter().chain(dst.iter()).chain(dropped_nodes.iter()).copied().collect();
        syms.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        syms.dedup();
        let index: HashMap<&str, u32> = syms.iter().enumerate().map(|(i, s)| (*s, i as u32)).collect();
        let rows = src.iter().map(|t| index[t]).collect();
        let cols = dst.iter().map(|t| index[t]).collect();
        (Labels::Symbols(syms.iter().map(|s| s.to_string()).collect()), syms.len(), rows, cols)
    };
    let (out, dup) = Csr::from_triplets(n, &rows, &cols, &w);
    report.duplicates = dup;
    Ok(Graph::new(name, labels, out, report))
}

/// sprs reads only valued matrices: a `pattern` file is rewritten as `real` with weight 1.
fn pattern_as_real(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    let header = lines.next()?;
    if !header.to_ascii_lowercase().contains(" pattern") {
        return None;
    }
    let mut out = header.replacen("pattern", "real", 1).replacen("PATTERN", "real", 1);
    out.push('\n');
    let mut size_seen = false;
    for l in lines {
        let t = l.trim();
        if t.is_empty() || t.starts_with('%') {
            out.push_str(l);
        } else if !size_seen {
            size_seen = true;
            out.push_str(t);
        } else {
            out.push_str(t);
            out.push_str(" 1");
        }
        out.push('\n');
    }
    Some(out.into_bytes())
}

fn line_of_offset(bytes: &[u8], off: usize) -> usize {
    bytes[..off.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses a MatrixMarket coordinate matrix (real, integer or pattern; general or symmetric)
/// as an integer-labelled graph: entry `(i, j)` (1-based in the file) is the edge `i-1 -> j-1`.
pub fn parse_matrix_market(bytes: &[u8], name: &str) -> Result<Graph> {
    let patched;
    let bytes = match pattern_as_real(bytes) {
        Some(p) => {
            patched = p;
            &patched[..]
        }
        None => bytes,
    };
    let tri = sprs::io::read_matrix_market_from_bufread::<f64, usize, _>(&mut std::io::BufReader::new(bytes))
        .map_err(|e| Error::parse(name, 0, format!("invalid MatrixMarket file: {e}")))?;
    let (nr, nc) = tri.shape();
    if nr != nc {
        return Err(Error::parse(name, 0, format!("MatrixMarket matrix is {nr} x {nc}; an adjacency matrix must be square")));
    }
    if nr >= u32::MAX as usize {
        return Err(Error::invalid(format!("{name}: {nr} nodes are more than supported")));
    }
    let mut report = LoadReport::default();
    let (mut rows, mut cols, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for (v, (r, c)) in tri.triplet_iter() {
        report.lines += 1;
        if !v.is_finite() {
            return Err(Error::parse(name, 0, format!("entry ({}, {}) has non-finite value {v}", r + 1, c + 1)));
        }
        if *v <= 0.0 {
            report.dropped_nonpositive += 1;
            continue;
        }
        rows.push(r as u32);
        cols.push(c as u32);
        w.push(*v as f32);
    }
    if report.lines == 0 && nr == 0 {
        return Err(Error::EmptyFile { path: name.into(), hint: "; the MatrixMarket matrix has no rows".into() });
    }
    let (out, dup) = Csr::from_triplets(nr, &rows, &cols, &w);
    report.duplicates = dup;
    Ok(Graph::new(name, Labels::Integers, out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gears_csv_with_header_sorted_symbols() {
        let g = parse_edge_list(b"source,target,importance\nB,A,0.5\nA,A,1\nC,A,0.2\n", "t").unwrap();
        assert!(g.report.header);
        assert_eq!(g.labels, Labels::Symbols(vec!["A".into(), "B".into(), "C".into()]));
        assert_eq!(g.out.row(1), &[0]); // B -> A
        assert_eq!(g.node("C"), Some(2));
    }

    #[test]
    fn integer_fast_path_equals_general_parser() {
        let files: [&str; 8] = [
            "0\t3\n3\t1\n1\t1\n",
            "# c\n\n0 3\r\n 3   1 \n%x\n7 2\n",
            "source,target\n0,2\n2,0\n0,2\n",
            "u\tv\tw\n0\t1\t0.5\n1\t2\t-1\n1\t0\t2\n0\t1\t3\n9\t8\t0\n",
            "0\t1\n2\tx\n",
            "0\t1\n4294967296\t2\n",
            "00\t007\n0010\t1\n",
            "0\t1\n1\t2\t3\n",
        ];
        for (i, f) in files.iter().enumerate() {
            let general = parse_edge_list_general(f, "t");
            match parse_int_edge_list(f, "t") {
                Some(fast) => {
                    let g = general.unwrap();
                    assert_eq!(fast.out, g.out, "file {i}");
                    assert_eq!(fast.labels, g.labels, "file {i}");
                    assert_eq!(format!("{:?}", fast.report), format!("{:?}", g.report), "file {i}");
                }
                // Declined files must be ones the general parser treats differently.
                None => assert!(i >= 4, "file {i} should take the fast path"),
            }
        }
        // Symbol tokens and a wrong column count are left to the general parser.
        assert!(parse_int_edge_list(files[4], "t").is_none());
        assert!(parse_int_edge_list(files[7], "t").is_none());
        assert!(parse_edge_list(files[7].as_bytes(), "t").is_err());
    }

    #[test]
    fn integer_two_column_whitespace() {
        let g = parse_edge_list(b"0 3\n3 1\n", "t").unwrap();
        assert_eq!(g.labels, Labels::Integers);
        assert_eq!(g.n_nodes(), 4);
        assert_eq!(g.out.row(3), &[1]);
    }

    #[test]
    fn drops_nonpositive_and_collapses_duplicates() {
        let g = parse_edge_list(b"a\tb\t1\na\tb\t2\nb\ta\t0\nb\tc\t-1\n", "t").unwrap();
        assert_eq!(g.report.dropped_nonpositive, 2);
        assert_eq!(g.report.duplicates, 1);
        assert_eq!(g.n_edges(), 1);
        assert_eq!(g.n_nodes(), 3, "c only has a dropped edge but is still a node");
        assert_eq!(g.out.row_weights(0), &[2.0]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_edge_list(b"a\tb\t1\na\tb\tNaN\n", "f.tsv").unwrap_err().to_string();
        assert!(e.starts_with("f.tsv:2:"), "{e}");
        let e = parse_edge_list(b"a\tb\t1\na\tb\n", "f.tsv").unwrap_err().to_string();
        assert!(e.contains("f.tsv:2:") && e.contains("columns"), "{e}");
        let e = parse_edge_list(b"a\n", "f.tsv").unwrap_err().to_string();
        assert!(e.contains("f.tsv:1:"), "{e}");
        let e = parse_edge_list(b"# only a comment\n", "f.tsv").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn matrix_market() {
        let mm = b"%%MatrixMarket matrix coordinate real general\n3 3 3\n1 2 1.0\n2 3 0.5\n3 3 2\n";
        let g = parse_matrix_market(mm, "m.mtx").unwrap();
        assert_eq!(g.n_nodes(), 3);
        assert_eq!(g.out.row(0), &[1]);
        assert_eq!(g.out.self_loops(), 1);
        let p = parse_matrix_market(b"%%MatrixMarket matrix coordinate pattern symmetric\n3 3 1\n2 1\n", "p.mtx").unwrap();
        assert_eq!(p.n_edges(), 2);
    }
}
