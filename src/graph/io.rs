//! Graph loading: GEARS-style `source,target,importance` CSV/TSV, plain two- or three-column edge
//! lists (tab, comma or whitespace separated, optionally gzip-compressed, header optional, CSV
//! quoting undone) and MatrixMarket (`.mtx`, see [`super::mtx`]). Every file goes through the
//! shared text reader ([`crate::files::text`]): BOM, CRLF and quotes never change a result.
//!
//! Node numbering: when every node token is a non-negative integer the file is integer-labelled
//! and node `i` is the integer `i` (nodes `0..=max` exist); otherwise it is symbol-labelled and
//! nodes are numbered in byte-wise sorted symbol order (GEARS's `node_map_pert` order). An
//! all-integer file with an id too large for a node number is an error, not a symbol file.

use super::intern::Interner;
use super::mtx::{looks_like_matrix_market, parse_matrix_market_text};
use super::{Csr, Graph, Labels, LoadReport};
use crate::error::{Error, Result};
use crate::files::text::{self, split_fields, Line, Sep, TextInput};
use rayon::prelude::*;
use std::borrow::Cow;
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

/// Reads a file fully, transparently decompressing gzip (detected by its magic bytes); the same
/// as [`text::read_bytes`].
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    text::read_bytes(path)
}

/// Decompresses `raw` if it starts with the gzip magic bytes; the same as [`text::gunzip_if_gz`].
pub fn decompress_if_gz(raw: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    text::gunzip_if_gz(raw, name)
}

/// Loads a graph file (edge list, GEARS CSV/TSV, or MatrixMarket).
pub fn load_graph_file(path: &Path) -> Result<Graph> {
    parse_graph_text(&TextInput::read(path)?)
}

/// Parses a graph held in a text input: MatrixMarket when it starts with the MatrixMarket banner
/// or is named `*.mtx[.gz]`, an edge list otherwise.
pub fn parse_graph_text(input: &TextInput) -> Result<Graph> {
    let name = input.name();
    if looks_like_matrix_market(input.text()) || name.ends_with(".mtx") || name.ends_with(".mtx.gz") {
        parse_matrix_market_text(input)
    } else {
        parse_edge_list_text(input)
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
        Sep::Whitespace => b' ',
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

/// Whether a trimmed line holds no data (blank, or a `#` / `%` comment).
#[inline]
fn is_skipped(line: &str) -> bool {
    line.is_empty() || line.starts_with('#') || line.starts_with('%')
}

/// Parses the data lines of `text` (after the first data line) when every line is a plain
/// `int SEP int [SEP weight]` line with `ncol` columns; `None` on anything else (symbol tokens,
/// bad weights, wrong column counts, ...), so that the general parser reports it exactly.
fn parse_int_chunk(text: &str, sep: Sep, ncol: usize) -> Option<IntChunk> {
    let mut c = IntChunk::default();
    let mut fields = Vec::with_capacity(4);
    for raw in text.split('\n') {
        let line = raw.trim();
        if is_skipped(line) {
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
        split_fields(line, sep, &mut fields).ok()?;
        if fields.len() != ncol {
            return None;
        }
        let a = int_token(&fields[0])?;
        let b = int_token(&fields[1])?;
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

/// The fast path of [`parse_edge_list_text`] for integer-labelled files: the lines after the
/// first data line are parsed in parallel chunks straight into integers, without holding tokens.
/// `text` is the reader's text (BOM stripped, lone CRs turned into LFs). Returns `None` when the
/// file needs the general parser (which then also reports any error).
fn parse_int_edge_list(text: &str, name: &str) -> Option<Graph> {
    // The first data line fixes the separator, the column count and whether it is a header.
    let mut rest = text;
    let mut report = LoadReport::default();
    let mut fields = Vec::with_capacity(4);
    let (sep, ncol, first) = loop {
        if rest.is_empty() {
            return None;
        }
        let (line, tail) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = tail;
        let line = line.trim();
        if is_skipped(line) {
            continue;
        }
        let sep = Sep::detect(line);
        split_fields(line, sep, &mut fields).ok()?;
        let nf = fields.len();
        if !(nf == 2 || nf == 3) {
            return None;
        }
        if is_header(&fields) {
            report.header = true;
            break (sep, nf, None);
        }
        break (sep, nf, Some(line));
    };
    // Chunk boundaries just after a newline.
    let bytes = rest.as_bytes();
    let mut cuts = vec![0usize];
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + PARSE_CHUNK).min(bytes.len());
        while end < bytes.len() && bytes[end - 1] != b'\n' {
            end += 1;
        }
        cuts.push(end);
        start = end;
    }
    let mut pieces: Vec<&str> = first.into_iter().collect();
    pieces.extend(cuts.windows(2).map(|w| &rest[w[0]..w[1]]));
    let chunks: Vec<IntChunk> = pieces.par_iter().map(|p| parse_int_chunk(p, sep, ncol)).collect::<Option<Vec<_>>>()?;
    report.lines = chunks.iter().map(|c| c.lines).sum();
    report.dropped_nonpositive = chunks.iter().map(|c| c.dropped).sum();
    let n = chunks.iter().map(|c| c.max_plus_one).max().unwrap_or(0);
    let total: usize = chunks.iter().map(|c| c.rows.len()).sum();
    if report.lines == 0 || total > u32::MAX as usize || n > super::MAX_NODES {
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
fn is_header(fields: &[Cow<str>]) -> bool {
    if fields.len() == 3 {
        return fields[2].parse::<f64>().is_err();
    }
    fields.len() == 2
        && HEADER_WORDS.contains(&fields[0].to_ascii_lowercase().as_str())
        && HEADER_WORDS.contains(&fields[1].to_ascii_lowercase().as_str())
}

fn parse_weight(tok: &str, line: &Line) -> Result<f32> {
    match tok.parse::<f32>() {
        Ok(w) if w.is_finite() => Ok(w),
        Ok(_) => Err(line.err(format!("weight '{tok}' is not a finite number; fix or remove the line"))),
        Err(_) => Err(line.err(format!("weight '{tok}' is not a number; the third column must be a numeric edge weight"))),
    }
}

/// Parses a delimited edge list held in memory (gzip ok). `name` labels errors and the graph.
pub fn parse_edge_list(bytes: &[u8], name: &str) -> Result<Graph> {
    parse_edge_list_text(&TextInput::from_bytes(bytes.to_vec(), name)?)
}

/// Parses a delimited edge list read by the shared text reader.
pub fn parse_edge_list_text(input: &TextInput) -> Result<Graph> {
    if let Some(g) = parse_int_edge_list(input.text(), input.name()) {
        return Ok(g);
    }
    parse_edge_list_general(input)
}

/// The largest integer node id: node ids number the nodes, so this bounds the graph's size.
const MAX_INT_ID: u64 = super::MAX_NODES as u64 - 1;

/// What the first data line fixes for the whole file.
#[derive(Clone, Copy)]
struct Layout {
    sep: Sep,
    ncol: usize,
    /// Line number of the first data line, and whether it is a header (skipped).
    first: usize,
    header: bool,
}

/// The edges of one run of lines, with token ids local to the run.
#[derive(Default)]
struct TokenChunk {
    nodes: Interner,
    rows: Vec<u32>,
    cols: Vec<u32>,
    w: Vec<f32>,
    lines: usize,
    dropped: usize,
}

/// Parses one run of lines of an edge list laid out as `layout` says.
fn parse_token_chunk<'a>(lines: impl Iterator<Item = Line<'a>>, layout: Layout) -> Result<TokenChunk> {
    let mut c = TokenChunk::default();
    let mut fields: Vec<Cow<str>> = Vec::with_capacity(4);
    let mut last = (u32::MAX, u32::MAX);
    for line in lines {
        if line.no == layout.first && layout.header {
            continue;
        }
        line.fields(layout.sep, &mut fields)?;
        let nf = fields.len();
        if nf != layout.ncol {
            return Err(line.err(format!(
                "expected {} columns like the first line but found {nf}; every line must have the same columns", layout.ncol)));
        }
        if fields[0].is_empty() || fields[1].is_empty() {
            return Err(line.err("empty node name; every line needs a source and a target"));
        }
        let weight = if nf == 3 { parse_weight(&fields[2], &line)? } else { 1.0 };
        c.lines += 1;
        // Files are often grouped by one column (GEARS's by target): try the last line's ids first.
        let nodes = &mut c.nodes;
        let mut id = |tok: &str, last: &mut u32| {
            if *last == u32::MAX || nodes.token(*last) != tok {
                *last = nodes.id(tok, line.no);
            }
            *last
        };
        let (a, b) = (id(&fields[0], &mut last.0), id(&fields[1], &mut last.1));
        if weight <= 0.0 {
            c.dropped += 1;
            continue;
        }
        c.rows.push(a);
        c.cols.push(b);
        c.w.push(weight);
    }
    Ok(c)
}

/// Bytes below which the general parser reads a file in one piece.
const GENERAL_CHUNK: usize = 1 << 20;

/// The general edge-list parser (symbol or integer labels, every error reported with its line).
/// The first data line fixes the separator, the column count and whether it is a header; the
/// lines are then read in parallel runs, each interning its tokens; the runs' tokens are merged in
/// file order (so ids, first lines and the first error are those of a sequential read), and only
/// the distinct tokens are sorted.
fn parse_edge_list_general(input: &TextInput) -> Result<Graph> {
    parse_edge_list_runs(input, rayon::current_num_threads(), GENERAL_CHUNK)
}

/// [`parse_edge_list_general`] in at most `parts` runs of at least `min_bytes`.
fn parse_edge_list_runs(input: &TextInput, parts: usize, min_bytes: usize) -> Result<Graph> {
    let name = input.name();
    let Some(first) = input.data_lines("#%").next() else {
        return Err(input.empty("lines of `source<TAB>target[<TAB>weight]`"));
    };
    let sep = Sep::detect(first.text);
    let mut fields: Vec<Cow<str>> = Vec::with_capacity(4);
    first.fields(sep, &mut fields)?;
    let ncol = fields.len();
    if !(ncol == 2 || ncol == 3) {
        return Err(first.err(format!(
            "expected 2 or 3 columns (source, target[, weight]) but found {ncol}; separate columns with tabs or commas")));
    }
    let layout = Layout { sep, ncol, first: first.no, header: is_header(&fields) };
    let runs = input.line_chunks(parts, min_bytes);
    // Every run is read; the first error in file order is the one a sequential read would report.
    let results: Vec<Result<TokenChunk>> = runs.into_par_iter().map(|l| parse_token_chunk(l.data("#%"), layout)).collect();
    let chunks: Vec<TokenChunk> = results.into_iter().collect::<Result<_>>()?;
    let mut report = LoadReport { header: layout.header, ..Default::default() };
    report.lines = chunks.iter().map(|c| c.lines).sum();
    report.dropped_nonpositive = chunks.iter().map(|c| c.dropped).sum();
    if report.lines == 0 {
        return Err(input.empty("lines of `source<TAB>target[<TAB>weight]`"));
    }
    let total: usize = chunks.iter().map(|c| c.rows.len()).sum();
    if total > u32::MAX as usize {
        return Err(Error::invalid(format!("{name}: more than {} edges are not supported", u32::MAX)));
    }
    // Merge the runs' tokens in file order: local id -> file-wide id.
    let mut nodes = Interner::default();
    let local: Vec<Vec<u32>> =
        chunks.iter().map(|c| c.nodes.tokens().zip(&c.nodes.first_line).map(|(t, &l)| nodes.id(t, l)).collect()).collect();
    // Integer labels if every token is an integer; then every one must fit a node number.
    let all_int = nodes.tokens().all(|t| t.bytes().all(|c| c.is_ascii_digit()));
    let (labels, n, map) = if all_int {
        let mut map = Vec::with_capacity(nodes.len());
        for (t, &line) in nodes.tokens().zip(&nodes.first_line) {
            match t.parse::<u64>() {
                Ok(v) if v <= MAX_INT_ID => map.push(v as u32),
                _ => {
                    return Err(Error::parse(name, line, format!(
                        "node id {t} is too large: in a file of integer ids node i is the integer i, and ids go up to {MAX_INT_ID}; \
                         if the ids are names (e.g. Entrez or Ensembl numbers), give them a prefix such as 'id{t}' so the file is read as symbol-labelled")));
                }
            }
        }
        let n = map.iter().max().map_or(0, |&m| m as usize + 1);
        (Labels::Integers, n, map)
    } else {
        let mut order: Vec<u32> = (0..nodes.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| nodes.token(a).as_bytes().cmp(nodes.token(b).as_bytes()));
        let mut map = vec![0u32; nodes.len()];
        for (rank, &p) in order.iter().enumerate() {
            map[p as usize] = rank as u32;
        }
        let symbols: Vec<String> = order.iter().map(|&p| nodes.token(p).to_string()).collect();
        (Labels::Symbols(symbols), order.len(), map)
    };
    // Local ids -> node numbers, run by run in parallel, then concatenated in file order.
    let parts: Vec<(Vec<u32>, Vec<u32>)> = chunks
        .par_iter()
        .zip(&local)
        .map(|(c, to_file)| {
            let node = |r: &u32| map[to_file[*r as usize] as usize];
            (c.rows.iter().map(node).collect(), c.cols.iter().map(node).collect())
        })
        .collect();
    let (mut rows, mut cols, mut w) = (Vec::with_capacity(total), Vec::with_capacity(total), Vec::with_capacity(total));
    for ((r, c), ch) in parts.iter().zip(&chunks) {
        rows.extend_from_slice(r);
        cols.extend_from_slice(c);
        w.extend_from_slice(&ch.w);
    }
    let (out, dup) = Csr::from_triplets(n, &rows, &cols, &w);
    report.duplicates = dup;
    Ok(Graph::new(name, labels, out, report))
}

/// Parses a MatrixMarket coordinate matrix held in memory (gzip ok); see [`super::mtx`].
pub fn parse_matrix_market(bytes: &[u8], name: &str) -> Result<Graph> {
    parse_matrix_market_text(&TextInput::from_bytes(bytes.to_vec(), name)?)
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
            let input = TextInput::from_bytes(f.as_bytes().to_vec(), "t").unwrap();
            let general = parse_edge_list_general(&input);
            match parse_int_edge_list(input.text(), "t") {
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
    fn parallel_runs_read_like_one_run() {
        let mut text = String::from("# GEARS\nsource,target,importance\n");
        for i in 0..300 {
            text.push_str(&format!("G{},G{},{}\n", (i * 7) % 53, i % 41, (i % 5) as f32 - 1.0));
            if i % 50 == 0 {
                text.push_str("\n# a comment\n");
            }
        }
        let input = TextInput::from_bytes(text.clone().into_bytes(), "p.csv").unwrap();
        let one = parse_edge_list_runs(&input, 1, usize::MAX).unwrap();
        for parts in [2, 3, 8, 64] {
            let g = parse_edge_list_runs(&input, parts, 1).unwrap();
            assert!(same(&g, &one), "{parts} runs");
        }
        // Integer labels, and the earliest error wins whichever run finishes first.
        let ints: String = (0..200).map(|i| format!("{}\t{}\tx{i}\n", i % 13, i % 7)).collect();
        let mut bad = ints.replace("x", "").replace("\t0\n", "\t1\n");
        bad.push_str("1\t2\n");
        let bad = bad.replacen("5\t5\t", "5\t5\tNaN", 1);
        let input = TextInput::from_bytes(bad.into_bytes(), "b.tsv").unwrap();
        let want = parse_edge_list_runs(&input, 1, usize::MAX).unwrap_err().to_string();
        assert!(want.starts_with("b.tsv:"), "{want}");
        for parts in [2, 5, 64] {
            assert_eq!(parse_edge_list_runs(&input, parts, 1).unwrap_err().to_string(), want);
        }
    }

    fn same(a: &Graph, b: &Graph) -> bool {
        a.labels == b.labels && a.out == b.out && a.report == b.report
    }

    #[test]
    fn bom_crlf_and_quotes_load_like_the_clean_file() {
        let clean = parse_edge_list(b"source,target,importance\nB,A,0.5\nA,C,1\n", "t").unwrap();
        for v in [
            &b"\xef\xbb\xbfsource,target,importance\r\nB,A,0.5\r\nA,C,1\r\n"[..],
            b"\"source\",\"target\",\"importance\"\n\"B\",\"A\",\"0.5\"\n\"A\",\"C\",1\n",
            b"source\ttarget\timportance\rB\tA\t0.5\rA\tC\t1",
        ] {
            let g = parse_edge_list(v, "t").unwrap();
            assert_eq!((&g.labels, &g.out, &g.report), (&clean.labels, &clean.out, &clean.report), "{v:?}");
        }
        // The same for the integer fast path.
        let clean = parse_edge_list(b"0\t3\n3\t1\n", "t").unwrap();
        let g = parse_edge_list(b"\xef\xbb\xbf0\t3\r\n\"3\"\t\"1\"\r\n", "t").unwrap();
        assert_eq!((&g.labels, &g.out, &g.report), (&clean.labels, &clean.out, &clean.report));
    }

    #[test]
    fn quoted_names_may_hold_the_separator() {
        let g = parse_edge_list(b"\"A,1\",B\n", "t").unwrap();
        assert_eq!(g.labels, Labels::Symbols(vec!["A,1".into(), "B".into()]));
        let e = parse_edge_list(b"A,B\n\"A,B\n", "q.csv").unwrap_err().to_string();
        assert!(e.starts_with("q.csv:2:") && e.contains("quote"), "{e}");
    }

    #[test]
    fn an_integer_id_too_large_for_a_node_number_is_an_error() {
        // Issue 15 case 9: it used to turn the whole file into a symbol-labelled graph.
        for f in ["0\t1\n12345678901234567890\t2\n", "0\t1\n4294967295\t2\n", "0\t1\n268435456\t2\n", "0,1,1\n2,99999999999,1\n"] {
            let e = parse_edge_list(f.as_bytes(), "big.tsv").unwrap_err().to_string();
            assert!(e.starts_with("big.tsv:2: node id") && e.contains("too large") && e.contains("prefix"), "{e}");
        }
        // A digit token among symbols keeps the file symbol-labelled, as before.
        let g = parse_edge_list(b"A\t12345678901234567890\n", "t").unwrap();
        assert!(matches!(g.labels, Labels::Symbols(_)));
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
