//! MatrixMarket (`.mtx`) adjacency matrices, read line by line through the shared text reader so
//! that every problem (a short file, a 0-based or out-of-range index, a dense `array` file, ...)
//! is an error naming the line and the fix. Coordinate format, `real`, `integer` or `pattern`
//! values, `general`, `symmetric`, `skew-symmetric` or `hermitian` (real, so symmetric) storage.

use super::{Csr, Graph, Labels, LoadReport};
use crate::error::{Error, Result};
use crate::files::text::{Line, Sep, TextInput};

/// The banner every MatrixMarket file this loader reads starts with.
const BANNER: &str = "%%MatrixMarket matrix coordinate real general";

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Real,
    Integer,
    Pattern,
}

#[derive(Clone, Copy, PartialEq)]
enum Symmetry {
    General,
    Symmetric,
    Skew,
}

/// Whether `text` starts with a MatrixMarket banner (case-insensitive, as the format is).
pub fn looks_like_matrix_market(text: &str) -> bool {
    text.get(..14).is_some_and(|h| h.eq_ignore_ascii_case("%%MatrixMarket"))
}

/// Reads the banner line: the storage format, value field and symmetry.
fn banner(line: &Line) -> Result<(Field, Symmetry)> {
    let words: Vec<String> = line.text.split_ascii_whitespace().map(str::to_ascii_lowercase).collect();
    if words.first().map(String::as_str) != Some("%%matrixmarket") {
        return Err(line.err(format!("a MatrixMarket file starts with a banner such as '{BANNER}'; found '{}'", line.text)));
    }
    if words.len() != 5 {
        return Err(line.err(format!(
            "the banner has {} word(s); expected 5: %%MatrixMarket matrix coordinate <real|integer|pattern> <general|symmetric>",
            words.len())));
    }
    if words[1] != "matrix" {
        return Err(line.err(format!("object '{}' is not supported; only 'matrix' (an adjacency matrix) is", words[1])));
    }
    match words[2].as_str() {
        "coordinate" => {}
        "array" => {
            return Err(line.err(
                "dense 'array' MatrixMarket files are not supported; write the adjacency in coordinate format (e.g. scipy.io.mmwrite(path, scipy.sparse.coo_matrix(A)))",
            ))
        }
        f => return Err(line.err(format!("format '{f}' is not a MatrixMarket format; expected 'coordinate'"))),
    }
    let field = match words[3].as_str() {
        "real" | "double" => Field::Real,
        "integer" => Field::Integer,
        "pattern" => Field::Pattern,
        "complex" => return Err(line.err("complex values cannot be edge weights; write a real, integer or pattern matrix")),
        f => return Err(line.err(format!("value type '{f}' is unknown; expected real, integer or pattern"))),
    };
    let sym = match words[4].as_str() {
        "general" => Symmetry::General,
        // A real hermitian matrix is symmetric.
        "symmetric" | "hermitian" => Symmetry::Symmetric,
        "skew-symmetric" => Symmetry::Skew,
        s => return Err(line.err(format!("symmetry '{s}' is unknown; expected general or symmetric"))),
    };
    Ok((field, sym))
}

/// A whole number field of the size line or an entry.
fn whole(line: &Line, what: &str, tok: &str) -> Result<usize> {
    tok.parse::<usize>().map_err(|_| line.err(format!("{what} '{tok}' is not a whole number >= 0")))
}

/// Parses a MatrixMarket coordinate matrix as an integer-labelled graph: entry `(i, j)` (1-based
/// in the file) is the edge `i-1 -> j-1` with its value as weight (1 for `pattern`); symmetric
/// files also give `j-1 -> i-1`. Entries <= 0 are dropped and counted, as in edge lists.
pub fn parse_matrix_market_text(input: &TextInput) -> Result<Graph> {
    let name = input.name();
    let mut lines = input.lines();
    let Some(first) = lines.next() else {
        return Err(input.empty(&format!("a MatrixMarket banner ('{BANNER}'), a size line and entries")));
    };
    let (field, sym) = banner(&first)?;
    let mut data = lines.filter(|l| !l.text.is_empty() && !l.text.starts_with('%'));
    let mut f = Vec::new();
    let Some(size) = data.next() else {
        return Err(input.err(first.no, "the banner is not followed by a size line 'rows cols entries'; the file is truncated"));
    };
    size.fields(Sep::Whitespace, &mut f)?;
    if f.len() != 3 {
        return Err(size.err(format!("expected the size line 'rows cols entries' (three whole numbers) but found '{}'", size.text)));
    }
    let (nr, nc, entries) = (whole(&size, "row count", &f[0])?, whole(&size, "column count", &f[1])?, whole(&size, "entry count", &f[2])?);
    if nr != nc {
        return Err(size.err(format!("the matrix is {nr} x {nc}; an adjacency matrix must be square")));
    }
    if nr > super::MAX_NODES {
        return Err(size.err(format!("{nr} nodes are more than supported ({})", super::MAX_NODES)));
    }
    let per_line = if field == Field::Pattern { 2 } else { 3 };
    let mut report = LoadReport::default();
    // Capacity from what the text can hold, not from the (untrusted) declared count.
    let cap = entries.min(input.text().len() / 4 + 1) * if sym == Symmetry::General { 1 } else { 2 };
    let (mut rows, mut cols, mut w) = (Vec::with_capacity(cap), Vec::with_capacity(cap), Vec::with_capacity(cap));
    for line in data {
        if report.lines == entries {
            return Err(line.err(format!(
                "more entries than the {entries} declared on line {}; fix the entry count there or remove the extra lines", size.no)));
        }
        line.fields(Sep::Whitespace, &mut f)?;
        if f.len() != per_line {
            let want = if per_line == 2 { "'row col' (a pattern matrix has no values)" } else { "'row col value'" };
            return Err(line.err(format!("expected {want} but found {} field(s)", f.len())));
        }
        let index = |k: usize, what: &str| -> Result<u32> {
            let i = whole(&line, what, &f[k])?;
            if i == 0 {
                return Err(line.err(format!(
                    "{what} 0: MatrixMarket indices count from 1 (1..={nr}); if the file counts from 0, add 1 to every index")));
            }
            if i > nr {
                return Err(line.err(format!(
                    "{what} {i} is out of range: line {} declares {nr} rows and columns; fix the index or the size line", size.no)));
            }
            Ok((i - 1) as u32)
        };
        let (r, c) = (index(0, "row index")?, index(1, "column index")?);
        let v = if per_line == 2 {
            1.0
        } else {
            match f[2].parse::<f64>() {
                Ok(v) if v.is_finite() && (field == Field::Real || v.fract() == 0.0) => v,
                Ok(v) if v.is_finite() => return Err(line.err(format!("value '{}' is not an integer, as the banner declares; declare 'real' instead", f[2]))),
                Ok(_) => return Err(line.err(format!("value '{}' is not a finite number; fix or remove the entry", f[2]))),
                Err(_) => return Err(line.err(format!("value '{}' is not a number", f[2]))),
            }
        };
        if sym == Symmetry::Skew && r == c {
            return Err(line.err("a skew-symmetric matrix has no diagonal entries; declare it 'general'"));
        }
        report.lines += 1;
        let mirror = (sym != Symmetry::General && r != c).then_some(if sym == Symmetry::Skew { -v } else { v });
        for (a, b, x) in std::iter::once((r, c, v)).chain(mirror.map(|m| (c, r, m))) {
            if x <= 0.0 {
                report.dropped_nonpositive += 1;
            } else {
                rows.push(a);
                cols.push(b);
                w.push(x as f32);
            }
        }
    }
    if report.lines < entries {
        return Err(size.err(format!(
            "declares {entries} entries but the file has {}; the file is truncated or the entry count is wrong", report.lines)));
    }
    if nr == 0 {
        return Err(Error::EmptyFile { path: name.into(), hint: "; the MatrixMarket matrix has no rows".into() });
    }
    let (out, dup) = Csr::from_triplets(nr, &rows, &cols, &w);
    report.duplicates = dup;
    Ok(Graph::new(name, Labels::Integers, out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mm(text: &str) -> Result<Graph> {
        parse_matrix_market_text(&TextInput::from_bytes(text.as_bytes().to_vec(), "m.mtx")?)
    }

    fn err(text: &str) -> String {
        mm(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_real_integer_pattern_general_and_symmetric() {
        let g = mm("%%MatrixMarket matrix coordinate real general\n% c\n3 3 3\n1 2 1.0\n2 3 0.5\n3 3 2\n").unwrap();
        assert_eq!(g.n_nodes(), 3);
        assert_eq!(g.out.row(0), &[1]);
        assert_eq!(g.out.row_weights(1), &[0.5]);
        assert_eq!(g.out.self_loops(), 1);
        let p = mm("%%MatrixMarket matrix coordinate pattern symmetric\n3 3 1\n2 1\n").unwrap();
        assert_eq!(p.n_edges(), 2);
        let i = mm("%%matrixmarket MATRIX Coordinate integer general\n2 2 2\n1 2 3\n2 1 -1\n").unwrap();
        assert_eq!((i.n_edges(), i.report.dropped_nonpositive, i.report.lines), (1, 1, 2));
        assert_eq!(i.out.row_weights(0), &[3.0]);
        let s = mm("%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n2 1 1.5\n").unwrap();
        assert_eq!((s.n_edges(), s.report.dropped_nonpositive), (1, 1));
        // BOM and CRLF from the shared reader.
        let b = mm("\u{feff}%%MatrixMarket matrix coordinate pattern general\r\n2 2 1\r\n1 2\r\n").unwrap();
        assert_eq!(b.out.row(0), &[1]);
    }

    #[test]
    fn out_of_range_zero_based_short_and_array_files_name_line_and_fix() {
        let e = err("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 2 1.0\n5 1 1.0\n");
        assert!(e.starts_with("m.mtx:4: row index 5 is out of range") && e.contains("line 2 declares 3"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate real general\n3 3 1\n0 2 1.0\n");
        assert!(e.starts_with("m.mtx:3: row index 0") && e.contains("add 1 to every index"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate real general\n3 3 3\n1 2 1.0\n");
        assert!(e.starts_with("m.mtx:2: declares 3 entries but the file has 1"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate real general\n");
        assert!(e.starts_with("m.mtx:1:") && e.contains("size line"), "{e}");
        let e = err("%%MatrixMarket matrix array real general\n3 3\n1\n");
        assert!(e.starts_with("m.mtx:1:") && e.contains("coordinate format"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 2 1\n2 2 1\n");
        assert!(e.starts_with("m.mtx:4: more entries than the 1 declared on line 2"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate real general\n2 3 0\n");
        assert!(e.starts_with("m.mtx:2:") && e.contains("square"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 2 inf\n");
        assert!(e.starts_with("m.mtx:3:") && e.contains("finite"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 2 1 0\n");
        assert!(e.starts_with("m.mtx:1:") && e.contains("complex"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 2 1\n");
        assert!(e.starts_with("m.mtx:3:") && e.contains("pattern"), "{e}");
        let e = err("%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 2 1.5\n");
        assert!(e.starts_with("m.mtx:3:") && e.contains("'real'"), "{e}");
        let e = err("");
        assert!(e.contains("empty"), "{e}");
        // A huge declared count is not allocated up front.
        let e = err("%%MatrixMarket matrix coordinate pattern general\n2 2 99999999999999\n1 2\n");
        assert!(e.contains("declares 99999999999999 entries"), "{e}");
    }
}
