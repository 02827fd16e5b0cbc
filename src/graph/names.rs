//! Lists of gene and condition names as users write them: candidate pools, exclusion lists,
//! GEARS condition lists, and the selection TSVs that `select` writes (read back by `stability`,
//! `train` and `evaluate`), plus the genes of a GEARS condition name.

use super::builtin;
use crate::error::Result;
use crate::files::text::{Sep, TextInput};
use std::path::Path;

/// A list of names read from a file or a builtin, with 1-based line numbers.
#[derive(Clone, Debug)]
pub struct NameList {
    /// Where the names came from.
    pub source: String,
    /// (line, name).
    pub names: Vec<(usize, String)>,
}

/// Reads a gene list: `builtin:NAME`, or a file (gzip ok) with one name per line. Blank lines and
/// `#` comments are skipped; a BOM, CRLF line ends and CSV quotes are undone by the shared reader.
/// A selection table written by `graphreach select` (header `rank<TAB>gene...`, or the same
/// comma-separated) is accepted too: its `gene` column is used.
pub fn read_names(spec: &str) -> Result<NameList> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return parse_names(&builtin::pool_text(name)?);
    }
    parse_names(&TextInput::read(Path::new(spec))?)
}

/// Parses a name list (see [`read_names`]); the list's source is the input's name.
pub fn parse_names(input: &TextInput) -> Result<NameList> {
    let mut names = Vec::new();
    let mut gene_col: Option<usize> = None;
    let mut f = Vec::new();
    for line in input.data_lines("#") {
        let sep = if Sep::detect(line.text) == Sep::Tab { Sep::Tab } else { Sep::Comma };
        line.fields(sep, &mut f)?;
        if names.is_empty() && gene_col.is_none() && f.len() > 1 {
            if let Some(c) = f.iter().position(|x| x == "gene") {
                gene_col = Some(c);
                continue;
            }
        }
        let name = match gene_col {
            Some(c) => f.get(c).ok_or_else(|| line.err(format!("missing column {} ('gene') of the selection table", c + 1)))?,
            None => {
                if f.len() > 1 {
                    return Err(line.err(format!(
                        "expected one gene per line but found {} columns ('{}'); write one name per line", f.len(), line.text)));
                }
                &f[0]
            }
        };
        if name.is_empty() {
            return Err(line.err("empty gene name; write a gene symbol or remove the line"));
        }
        names.push((line.no, name.to_string()));
    }
    if names.is_empty() {
        return Err(input.empty("one gene symbol per line"));
    }
    Ok(NameList { source: input.name().to_string(), names })
}

/// The genes of a name: `A` -> [A]; `A+ctrl`, `ctrl+A` -> [A]; `A+B` -> [A, B]; `ctrl` -> [].
pub fn condition_genes(name: &str) -> Vec<&str> {
    name.split('+').map(str::trim).filter(|g| !g.is_empty() && *g != "ctrl").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(bytes: &[u8]) -> Result<Vec<String>> {
        let t = TextInput::from_bytes(bytes.to_vec(), "n.txt")?;
        Ok(parse_names(&t)?.names.into_iter().map(|(_, n)| n).collect())
    }

    #[test]
    fn bom_crlf_and_quotes_give_the_plain_names() {
        let plain = names(b"GUCD1\nAAMP\nATF2\n").unwrap();
        for v in [&b"\xef\xbb\xbfGUCD1\nAAMP\nATF2\n"[..], b"GUCD1\r\nAAMP\r\nATF2\r\n", b"\"GUCD1\"\n\"AAMP\"\nATF2"] {
            assert_eq!(names(v).unwrap(), plain, "{v:?}");
        }
    }

    #[test]
    fn selection_tables_give_their_gene_column() {
        let tsv = b"rank\tgene\tnode_id\n1\tA\t3\n2\tB+C\t4\n";
        assert_eq!(names(tsv).unwrap(), ["A", "B+C"]);
        let csv = b"\xef\xbb\xbf\"rank\",\"gene\",\"node_id\"\r\n1,A,3\r\n2,\"B+C\",4\r\n";
        assert_eq!(names(csv).unwrap(), ["A", "B+C"]);
        let e = names(b"rank\tgene\n1\n").unwrap_err().to_string();
        assert!(e.starts_with("n.txt:2:") && e.contains("'gene'"), "{e}");
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = names(b"A\nB,C\n").unwrap_err().to_string();
        assert!(e.starts_with("n.txt:2:") && e.contains("one gene per line"), "{e}");
        let e = names(b"A\n\"\"\n").unwrap_err().to_string();
        assert!(e.starts_with("n.txt:2:") && e.contains("empty gene name"), "{e}");
        assert!(names(b"# only\n\n").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn condition_genes_of_gears_names() {
        assert_eq!(condition_genes("A+ctrl"), ["A"]);
        assert_eq!(condition_genes("ctrl+A"), ["A"]);
        assert_eq!(condition_genes("A+B"), ["A", "B"]);
        assert!(condition_genes("ctrl").is_empty());
    }
}
