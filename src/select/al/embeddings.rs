//! The embeddings table that TypiClust and ACS-FW read (written by `graphreach embed`).
//!
//! Format (tab-separated text, `.gz` accepted, UTF-8 with or without a BOM, LF or CRLF; `<TAB>`
//! below stands for a tab character):
//!
//! ```text
//! # graphreach-embeddings
//! # kind=cross-gene
//! # reference_dim=325065
//! perturbation<TAB>d0<TAB>d1<TAB>d2
//! MARS<TAB>0.12<TAB>-1.5<TAB>3e-4
//! AARS+ctrl<TAB>...
//! ```
//!
//! * Optional `#` comment lines; before the header, `# key=value` lines are metadata:
//!   `kind` (`mean-expression`, `cross-gene`, or anything else) and `reference_dim`, the dimension
//!   of the reference code's embedding these rows stand for (the compact `cross-gene` rows have the
//!   same Gram matrix as IterPert's much wider `cross_gene_out`; the PCA rule "more than 10,000
//!   dimensions" is applied to `reference_dim`, which defaults to the number of columns).
//! * A header whose first field is `perturbation`, then one name per dimension (`d0 d1 ...`).
//! * One row per perturbation: its name (a gene, or a GEARS condition such as `A+ctrl` or `A+B`)
//!   and exactly one finite number per dimension.
//!
//! Names are matched by their genes: `A`, `A+ctrl` and `ctrl+A` are the same perturbation, as are
//! `A+B` and `B+A`; two rows for one perturbation are an error.
//!
//! The parser takes `(line number, line)` pairs ([`parse_embeddings`]) so its line source can be
//! replaced by the project's shared text reader without touching the parsing rules.

use super::mat::Mat;
use crate::error::{Error, Result};
use crate::graph::names::condition_genes;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Kinds of embeddings `graphreach embed` writes (metadata `kind=`).
pub const KINDS: [&str; 2] = ["mean-expression", "cross-gene"];

/// A parsed embeddings table.
#[derive(Clone, Debug)]
pub struct Embeddings {
    /// Where it came from (file name), for messages.
    pub source: String,
    /// Perturbation names as written, one per row.
    pub names: Vec<String>,
    /// 1-based line number of each row.
    pub lines: Vec<usize>,
    /// Column names of the header (without `perturbation`).
    pub columns: Vec<String>,
    /// The values, one row per perturbation.
    pub matrix: Mat,
    /// Metadata `kind=`, if present.
    pub kind: Option<String>,
    /// Metadata `reference_dim=`, if present.
    pub reference_dim: Option<usize>,
    index: HashMap<String, usize>,
}

impl Embeddings {
    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.matrix.cols
    }

    /// Number of perturbations.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when the table has no rows (never true for a parsed table).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The dimension the PCA rule looks at: `reference_dim` if given, else the number of columns.
    pub fn pca_rule_dim(&self) -> usize {
        self.reference_dim.unwrap_or(self.dim())
    }

    /// Row of a perturbation name (matched by [`perturbation_key`]).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(&perturbation_key(name)).copied()
    }

    /// Builds a table from names and a matrix (no file); checks the same rules as the parser.
    pub fn from_parts(source: &str, names: Vec<String>, matrix: Mat) -> Result<Self> {
        if names.len() != matrix.rows {
            return Err(Error::invalid(format!("{source}: {} names for {} rows", names.len(), matrix.rows)));
        }
        let lines: Vec<usize> = (0..names.len()).map(|i| i + 2).collect();
        let columns = (0..matrix.cols).map(|j| format!("d{j}")).collect();
        let mut e = Embeddings { source: source.into(), names, lines, columns, matrix, kind: None, reference_dim: None, index: HashMap::new() };
        for i in 0..e.len() {
            if let Some(j) = e.matrix.row(i).iter().position(|x| !x.is_finite()) {
                return Err(Error::parse(source, e.lines[i], format!("value {} of '{}' is not finite", j + 1, e.names[i])));
            }
        }
        e.build_index()?;
        Ok(e)
    }

    fn build_index(&mut self) -> Result<()> {
        self.index.clear();
        for (i, n) in self.names.iter().enumerate() {
            let key = perturbation_key(n);
            if let Some(&j) = self.index.get(&key) {
                return Err(Error::parse(
                    &self.source,
                    self.lines[i],
                    format!("perturbation '{n}' appears twice (also '{}' on line {}); keep one row per perturbation", self.names[j], self.lines[j]),
                ));
            }
            self.index.insert(key, i);
        }
        Ok(())
    }
}

/// The matching key of a perturbation name: its genes (without `ctrl`), sorted, joined by `+`.
/// `ctrl` alone gives the empty key.
pub fn perturbation_key(name: &str) -> String {
    let mut g = condition_genes(name.trim());
    g.sort_unstable();
    g.dedup();
    g.join("+")
}

/// Reads an embeddings file (see the module docs for the format).
pub fn read_embeddings(path: &str) -> Result<Embeddings> {
    let bytes = crate::graph::io::read_maybe_gz(std::path::Path::new(path))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::parse(path, 0, format!("the file is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    parse_embeddings(path, text.lines().enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l))))
}

/// Parses an embeddings table from `(1-based line number, line without its end)` pairs.
pub fn parse_embeddings<'a, I>(source: &str, lines: I) -> Result<Embeddings>
where
    I: IntoIterator<Item = (usize, &'a str)>,
{
    let mut kind = None;
    let mut reference_dim = None;
    let mut columns: Option<Vec<String>> = None;
    let mut names = Vec::new();
    let mut rows_at = Vec::new();
    let mut data: Vec<f64> = Vec::new();
    for (ln, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            if columns.is_none() {
                if let Some((k, v)) = c.trim().split_once('=') {
                    match k.trim() {
                        "kind" => kind = Some(v.trim().to_string()),
                        "reference_dim" => {
                            let d: usize = v.trim().parse().map_err(|_| {
                                Error::parse(source, ln, format!("reference_dim '{}' is not a whole number", v.trim()))
                            })?;
                            reference_dim = Some(d);
                        }
                        _ => {}
                    }
                }
            }
            continue;
        }
        let mut fields = line.split('\t');
        let first = fields.next().unwrap_or("").trim();
        let Some(cols) = &columns else {
            if first != "perturbation" {
                return Err(Error::parse(
                    source,
                    ln,
                    format!("expected the header 'perturbation<TAB>d0<TAB>d1...' but found '{}'", preview(line)),
                ));
            }
            let cols: Vec<String> = fields.map(|f| f.trim().to_string()).collect();
            if cols.is_empty() || cols.iter().all(|c| c.is_empty()) {
                return Err(Error::parse(source, ln, "the header names no dimensions; expected 'perturbation<TAB>d0<TAB>d1...'"));
            }
            columns = Some(cols);
            continue;
        };
        if first.is_empty() {
            return Err(Error::parse(source, ln, "the perturbation name (first field) is empty"));
        }
        let before = data.len();
        for (j, f) in fields.enumerate() {
            let f = f.trim();
            if j >= cols.len() {
                let n = line.split('\t').count() - 1;
                return Err(Error::parse(
                    source,
                    ln,
                    format!("'{first}' has {n} values but the header has {} dimensions; every row needs one value per dimension", cols.len()),
                ));
            }
            let v: f64 = f.parse().map_err(|_| {
                Error::parse(source, ln, format!("value {} ('{}', column {}) of '{first}' is not a number", j + 1, preview(f), cols[j]))
            })?;
            if !v.is_finite() {
                return Err(Error::parse(
                    source,
                    ln,
                    format!("value {} (column {}) of '{first}' is {f}; embeddings must be finite (re-run `graphreach embed` or fix the row)", j + 1, cols[j]),
                ));
            }
            data.push(v);
        }
        let got = data.len() - before;
        if got != cols.len() {
            return Err(Error::parse(
                source,
                ln,
                format!("'{first}' has {got} values but the header has {} dimensions; every row needs one value per dimension", cols.len()),
            ));
        }
        names.push(first.to_string());
        rows_at.push(ln);
    }
    let Some(columns) = columns else {
        return Err(Error::EmptyFile { path: source.into(), hint: "; expected a header 'perturbation<TAB>d0<TAB>d1...' and one row per perturbation".into() });
    };
    if names.is_empty() {
        return Err(Error::EmptyFile { path: source.into(), hint: "; the header is there but no perturbation rows follow".into() });
    }
    let matrix = Mat::from_vec(names.len(), columns.len(), data);
    let mut e = Embeddings { source: source.into(), names, lines: rows_at, columns, matrix, kind, reference_dim, index: HashMap::new() };
    e.build_index()?;
    Ok(e)
}

fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        p.push_str("...");
    }
    p
}

/// Writes a table in the format above: metadata lines (`kind`, `reference_dim` when given), the
/// header `perturbation d0 d1 ...` and one row per name. Values use Rust's shortest round-trip
/// notation, so reading the text back gives the same f64 values.
pub fn format_embeddings(names: &[String], m: &Mat, kind: Option<&str>, reference_dim: Option<usize>) -> String {
    let mut s = String::from("# graphreach-embeddings\n");
    if let Some(k) = kind {
        let _ = writeln!(s, "# kind={k}");
    }
    if let Some(d) = reference_dim {
        let _ = writeln!(s, "# reference_dim={d}");
    }
    s.push_str("perturbation");
    for j in 0..m.cols {
        let _ = write!(s, "\td{j}");
    }
    s.push('\n');
    for (i, n) in names.iter().enumerate() {
        s.push_str(n);
        for &v in m.row(i) {
            let _ = write!(s, "\t{v:?}");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Embeddings> {
        parse_embeddings("emb.tsv", text.lines().enumerate().map(|(i, l)| (i + 1, l)))
    }

    #[test]
    fn parses_metadata_header_and_rows() {
        let e = parse("# graphreach-embeddings\n# kind=cross-gene\n# reference_dim=20000\nperturbation\td0\td1\nB+ctrl\t1\t2\n\nA\t-0.5\t1e-3\n").unwrap();
        assert_eq!(e.names, vec!["B+ctrl", "A"]);
        assert_eq!(e.lines, vec![5, 7]);
        assert_eq!(e.dim(), 2);
        assert_eq!(e.kind.as_deref(), Some("cross-gene"));
        assert_eq!(e.pca_rule_dim(), 20000);
        assert_eq!(e.matrix.row(1), &[-0.5, 1e-3]);
        assert_eq!(e.index_of("B"), Some(0));
        assert_eq!(e.index_of("ctrl+B"), Some(0));
        assert_eq!(e.index_of("C"), None);
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        let e = err("perturbation\td0\td1\nA\t1\n");
        assert!(e.contains("emb.tsv:2") && e.contains("1 values") && e.contains("2 dimensions"), "{e}");
        let e = err("perturbation\td0\nA\t1\t2\n");
        assert!(e.contains("emb.tsv:2") && e.contains("2 values"), "{e}");
        let e = err("perturbation\td0\td1\nA\t1\tnan\n");
        assert!(e.contains("emb.tsv:2") && e.contains("finite"), "{e}");
        let e = err("perturbation\td0\nA\tinf\n");
        assert!(e.contains("finite"), "{e}");
        let e = err("perturbation\td0\nA\tx1\n");
        assert!(e.contains("not a number"), "{e}");
        let e = err("perturbation\td0\nA+ctrl\t1\nB\t2\nA\t3\n");
        assert!(e.contains("emb.tsv:4") && e.contains("twice") && e.contains("line 2"), "{e}");
        let e = err("# only comments\n");
        assert!(e.contains("empty"), "{e}");
        let e = err("perturbation\td0\n");
        assert!(e.contains("empty") && e.contains("no perturbation rows"), "{e}");
        let e = err("gene\td0\nA\t1\n");
        assert!(e.contains("emb.tsv:1") && e.contains("header"), "{e}");
        let e = err("perturbation\nA\n");
        assert!(e.contains("no dimensions"), "{e}");
    }

    #[test]
    fn format_round_trips_exactly() {
        let m = Mat::from_rows(&[vec![0.1, -1.0 / 3.0], vec![1e-300, 12345.678]]);
        let names = vec!["A".to_string(), "B+C".to_string()];
        let text = format_embeddings(&names, &m, Some("mean-expression"), None);
        let e = parse(&text).unwrap();
        assert_eq!(e.matrix, m);
        assert_eq!(e.names, names);
        assert_eq!(e.kind.as_deref(), Some("mean-expression"));
    }
}
