//! The one reader for every text list and table graphreach reads (edge lists, GEARS CSV/TSV,
//! MatrixMarket, gene and condition lists, selection TSVs, node weights, GO-build inputs and the
//! embedded tables).
//!
//! What every parser gets from it, so that no parser has to remember:
//! * gzip is decompressed transparently (detected by its magic bytes, not the file name);
//! * a UTF-8 byte-order mark is stripped (at the start of the file and at the start of a line, as
//!   left by `cat`-ing BOM files together); UTF-16 text with a byte-order mark is transcoded;
//! * line ends may be `\n`, `\r\n` or a lone `\r` (old Mac), and line numbers count them all alike;
//! * text that is not UTF-8, or holds a NUL byte (a binary file), is refused naming the line;
//! * fields are split on a tab, a comma or runs of whitespace ([`Sep`]) and CSV quoting is undone
//!   (`"a,b"` is one field `a,b`; `""` inside quotes is one `"`); the separator is detected outside
//!   quotes;
//! * every rejection is an [`Error::Parse`] naming the file and the 1-based line ([`Line::err`]).

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// The UTF-8 byte-order mark.
const BOM: &str = "\u{feff}";

/// Reads a file fully, transparently decompressing gzip (detected by its magic bytes). The bytes
/// are not otherwise interpreted; text inputs use [`TextInput::read`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    gunzip_if_gz(raw, &path.display().to_string())
}

/// Decompresses `raw` if it starts with the gzip magic bytes (all members of a multi-member
/// file); returns it unchanged otherwise. `name` labels errors.
pub fn gunzip_if_gz(raw: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len().saturating_mul(5));
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::parse(name, 0, format!("corrupt gzip data ({e}); re-download the file or decompress it with gunzip to see where it breaks")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// A text input held in memory: decompressed, transcoded to UTF-8, BOM stripped, lone `\r` line
/// ends turned into `\n`. Lines are read with [`TextInput::lines`] or [`TextInput::data_lines`].
#[derive(Clone, Debug)]
pub struct TextInput {
    name: String,
    text: String,
}

impl TextInput {
    /// Reads `path` (gzip ok). A missing or unreadable file is [`Error::Io`]; text that cannot be
    /// decoded is [`Error::Parse`] naming the line.
    pub fn read(path: &Path) -> Result<Self> {
        let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(raw, path.display().to_string())
    }

    /// The text of `bytes` (gzip ok), labelled `name` in errors (a path or `builtin:NAME`).
    pub fn from_bytes(bytes: Vec<u8>, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let bytes = gunzip_if_gz(bytes, &name)?;
        let text = decode(bytes, &name)?;
        Ok(TextInput { name, text })
    }

    /// The name errors use (the path as given, or `builtin:NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole decoded text: no BOM at its start, lines end in `\n` or `\r\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every line, numbered from 1, without its line end.
    pub fn lines(&self) -> Lines<'_> {
        Lines { file: &self.name, rest: &self.text, no: 0 }
    }

    /// The lines that hold data: not blank, and not starting with one of `comments` (e.g. `"#"`,
    /// `"#%"`, or `""` where a format has no comments) once trimmed.
    pub fn data_lines<'a>(&'a self, comments: &'static str) -> impl Iterator<Item = Line<'a>> + 'a {
        self.lines().data(comments)
    }

    /// The lines cut into at most `parts` runs of whole lines of at least `min_bytes` each (the
    /// last may be shorter), numbered as [`TextInput::lines`] numbers them, so that a parser can
    /// read the runs in parallel and still name the right line in every error.
    pub fn line_chunks(&self, parts: usize, min_bytes: usize) -> Vec<Lines<'_>> {
        use rayon::prelude::*;
        let b = self.text.as_bytes();
        let size = (b.len() / parts.max(1)).max(min_bytes).max(1);
        let mut cuts = vec![0usize];
        let mut start = 0;
        while start < b.len() {
            let end = (start + size).min(b.len());
            let end = if end == b.len() || b[end - 1] == b'\n' {
                end
            } else {
                b[end..].iter().position(|&c| c == b'\n').map_or(b.len(), |i| end + i + 1)
            };
            cuts.push(end);
            start = end;
        }
        let spans: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        let newlines: Vec<usize> = spans.par_iter().map(|&(a, z)| b[a..z].iter().filter(|&&c| c == b'\n').count()).collect();
        let mut before = 0;
        spans
            .iter()
            .zip(newlines)
            .map(|(&(a, z), nl)| {
                let l = Lines { file: &self.name, rest: &self.text[a..z], no: before };
                before += nl;
                l
            })
            .collect()
    }

    /// An [`Error::Parse`] at `line` of this input (0: the input as a whole).
    pub fn err(&self, line: usize, msg: impl Into<String>) -> Error {
        Error::parse(&self.name, line, msg)
    }

    /// An [`Error::EmptyFile`] for this input; `hint` says what was expected (e.g. "one gene
    /// symbol per line").
    pub fn empty(&self, hint: &str) -> Error {
        Error::EmptyFile { path: self.name.clone(), hint: format!("; expected {hint}") }
    }
}

/// 1-based line number of byte offset `off` in `bytes` (a lone `\r` already counts as `\n`).
fn line_at(bytes: &[u8], off: usize) -> usize {
    bytes[..off.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Turns file bytes into the text every parser reads (see the module docs).
fn decode(mut bytes: Vec<u8>, name: &str) -> Result<String> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        bytes = from_utf16(&bytes, name)?.into_bytes();
    }
    if bytes.starts_with(BOM.as_bytes()) {
        bytes.drain(..BOM.len());
    }
    // A lone CR (not followed by LF) ends a line. CR and LF never occur inside a multi-byte UTF-8
    // sequence, so this is safe before the UTF-8 check and keeps every offset.
    // (`contains` on bytes is a fast memchr scan; most files have no CR and no NUL.)
    if bytes.contains(&b'\r') {
        for i in 0..bytes.len() {
            if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
                bytes[i] = b'\n';
            }
        }
    }
    if let Some(at) = bytes.contains(&0).then(|| bytes.iter().position(|&b| b == 0)).flatten() {
        return Err(Error::parse(name, line_at(&bytes, at), "a NUL byte: this is a binary file, not text (an .h5ad, an archive, a spreadsheet?); export it as tab- or comma-separated text"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        Error::parse(name, line_at(bytes, off), format!(
            "byte 0x{:02X} is not UTF-8 text; save the file as UTF-8 (it may be Latin-1/Windows-1252 text or a binary file)",
            bytes[off]))
    })
}

/// UTF-16 text with a byte-order mark (as some spreadsheet exports write it) as UTF-8.
fn from_utf16(bytes: &[u8], name: &str) -> Result<String> {
    let le = bytes[0] == 0xff;
    let units = bytes[2..].chunks(2).map(|c| match (c, le) {
        ([a, b], true) => u16::from_le_bytes([*a, *b]),
        ([a, b], false) => u16::from_be_bytes([*a, *b]),
        _ => 0xDC00, // an odd trailing byte decodes as an unpaired surrogate, reported below
    });
    let mut out = String::with_capacity(bytes.len());
    let mut line = 1;
    for ch in char::decode_utf16(units) {
        match ch {
            Ok(c) => {
                line += (c == '\n') as usize;
                out.push(c);
            }
            Err(_) => {
                return Err(Error::parse(name, line, "invalid UTF-16 text (unpaired surrogate or odd byte count); save the file as UTF-8"));
            }
        }
    }
    Ok(out)
}

/// `s.trim()`, without the Unicode scan when both ends are plainly not blank (the common case).
#[inline]
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        (None, _) | (_, None) => s,
        _ => s.trim(),
    }
}

/// Iterator over the numbered lines of a [`TextInput`].
#[derive(Clone, Debug)]
pub struct Lines<'a> {
    file: &'a str,
    rest: &'a str,
    no: usize,
}

impl<'a> Lines<'a> {
    /// The lines that hold data (see [`TextInput::data_lines`]).
    pub fn data(self, comments: &'static str) -> impl Iterator<Item = Line<'a>> {
        self.filter(move |l| match l.text.as_bytes().first() {
            None => false,
            Some(&b) if b.is_ascii() => !comments.bytes().any(|c| c == b),
            Some(_) => !comments.contains(l.text.chars().next().unwrap_or(' ')),
        })
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, tail) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = tail;
        self.no += 1;
        let raw = line.strip_suffix('\r').unwrap_or(line);
        let t = trim(raw);
        let text = t.strip_prefix(BOM).map_or(t, str::trim);
        Some(Line { file: self.file, no: self.no, raw, text })
    }
}

/// One line of a text input.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// The input's name (for errors).
    pub file: &'a str,
    /// 1-based line number.
    pub no: usize,
    /// The line without its line end.
    pub raw: &'a str,
    /// The line trimmed of surrounding whitespace (and of a BOM at its start).
    pub text: &'a str,
}

impl<'a> Line<'a> {
    /// An [`Error::Parse`] naming this line.
    pub fn err(&self, msg: impl Into<String>) -> Error {
        Error::parse(self.file, self.no, msg)
    }

    /// The fields of the trimmed line, unquoted, into `out` (cleared first).
    pub fn fields(&self, sep: Sep, out: &mut Vec<Cow<'a, str>>) -> Result<()> {
        split_fields(self.text, sep, out).map_err(|m| self.err(m))
    }

    /// The fields of the untrimmed line (so that an empty first field of a tab-separated table
    /// keeps its column), unquoted, into `out`.
    pub fn raw_fields(&self, sep: Sep, out: &mut Vec<Cow<'a, str>>) -> Result<()> {
        let raw = self.raw.strip_prefix(BOM).unwrap_or(self.raw);
        split_fields(raw, sep, out).map_err(|m| self.err(m))
    }
}

/// A column separator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sep {
    /// A tab.
    Tab,
    /// A comma.
    Comma,
    /// One or more spaces or tabs.
    Whitespace,
}

impl Sep {
    /// The separator a line uses: a tab if it has one (outside quotes), else a comma, else
    /// whitespace.
    pub fn detect(line: &str) -> Sep {
        let mut quoted = false;
        let mut comma = false;
        for b in line.bytes() {
            match b {
                b'"' => quoted = !quoted,
                b'\t' if !quoted => return Sep::Tab,
                b',' if !quoted => comma = true,
                _ => {}
            }
        }
        if comma {
            Sep::Comma
        } else {
            Sep::Whitespace
        }
    }

    fn is_sep(self, b: u8) -> bool {
        match self {
            Sep::Tab => b == b'\t',
            Sep::Comma => b == b',',
            Sep::Whitespace => b.is_ascii_whitespace(),
        }
    }
}

/// Whitespace that may pad a field: spaces, and tabs unless tab is the separator.
fn is_pad(sep: Sep, b: u8) -> bool {
    b == b' ' || (b == b'\t' && sep != Sep::Tab)
}

/// Splits `line` into fields (cleared into `out`). Unquoted fields are trimmed; a field whose
/// first non-blank character is `"` runs to the closing quote, may hold separators, and writes a
/// quote as `""`. A `"` inside an unquoted field is kept as written. With [`Sep::Whitespace`]
/// runs of blanks separate and there are no empty fields. The error is a message without the
/// position (callers add file and line).
pub fn split_fields<'a>(line: &'a str, sep: Sep, out: &mut Vec<Cow<'a, str>>) -> std::result::Result<(), String> {
    out.clear();
    match sep {
        Sep::Tab | Sep::Comma => {
            // One pass: split at each separator byte, bail out to the quoted path at a quote.
            let sb = if sep == Sep::Tab { b'\t' } else { b',' };
            let mut start = 0;
            for (i, &c) in line.as_bytes().iter().enumerate() {
                if c == sb {
                    out.push(Cow::Borrowed(trim(&line[start..i])));
                    start = i + 1;
                } else if c == b'"' {
                    return split_quoted(line, sep, out);
                }
            }
            out.push(Cow::Borrowed(trim(&line[start..])));
            Ok(())
        }
        Sep::Whitespace if !line.as_bytes().contains(&b'"') => {
            out.extend(line.split_ascii_whitespace().map(Cow::Borrowed));
            Ok(())
        }
        Sep::Whitespace => split_quoted(line, sep, out),
    }
}

/// The general path of [`split_fields`] (any line; used when the line holds a quote).
fn split_quoted<'a>(line: &'a str, sep: Sep, out: &mut Vec<Cow<'a, str>>) -> std::result::Result<(), String> {
    out.clear();
    let b = line.as_bytes();
    let n = b.len();
    let mut i = 0;
    loop {
        if sep == Sep::Whitespace {
            while i < n && sep.is_sep(b[i]) {
                i += 1;
            }
            if i == n {
                return Ok(());
            }
        }
        let start = i;
        while i < n && is_pad(sep, b[i]) {
            i += 1;
        }
        if i < n && b[i] == b'"' {
            let field = out.len() + 1;
            let mut owned: Option<String> = None;
            let mut from = i + 1;
            let end;
            loop {
                let Some(q) = line[from..].find('"').map(|k| from + k) else {
                    return Err(format!("field {field} opens a quote that is never closed; close it (a quote inside a quoted field is written \"\")"));
                };
                if b.get(q + 1) == Some(&b'"') {
                    owned.get_or_insert_with(String::new).push_str(&line[from..=q]);
                    from = q + 2;
                } else {
                    end = q;
                    break;
                }
            }
            out.push(match owned {
                Some(mut s) => {
                    s.push_str(&line[from..end]);
                    Cow::Owned(s)
                }
                None => Cow::Borrowed(&line[from..end]),
            });
            i = end + 1;
            while i < n && sep != Sep::Whitespace && is_pad(sep, b[i]) {
                i += 1;
            }
            if i == n {
                return Ok(());
            }
            if !sep.is_sep(b[i]) {
                return Err(format!(
                    "field {field}: text after its closing quote; quote the whole field (a quote inside a quoted field is written \"\")"));
            }
        } else {
            while i < n && !sep.is_sep(b[i]) {
                i += 1;
            }
            let f = &line[start..i];
            out.push(Cow::Borrowed(if sep == Sep::Whitespace { f } else { f.trim() }));
            if i == n {
                return Ok(());
            }
        }
        i += 1; // the separator
        if i == n && sep != Sep::Whitespace {
            out.push(Cow::Borrowed(""));
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(b: &[u8]) -> TextInput {
        TextInput::from_bytes(b.to_vec(), "t.txt").unwrap()
    }

    fn split(line: &str, sep: Sep) -> std::result::Result<Vec<String>, String> {
        let mut out = Vec::new();
        split_fields(line, sep, &mut out).map(|_| out.into_iter().map(|c| c.into_owned()).collect())
    }

    #[test]
    fn bom_crlf_and_lone_cr_read_like_plain_text() {
        let plain = input(b"a\nb\n\nc");
        for variant in [&b"\xef\xbb\xbfa\r\nb\r\n\r\nc"[..], b"a\rb\r\rc\r", b"\xef\xbb\xbfa\nb\n\n\xef\xbb\xbfc\n"] {
            let t = input(variant);
            let got: Vec<(usize, &str)> = t.lines().map(|l| (l.no, l.text)).collect();
            let want: Vec<(usize, &str)> = plain.lines().map(|l| (l.no, l.text)).collect();
            assert_eq!(got, want, "{variant:?}");
        }
        assert_eq!(input(b"\xef\xbb\xbfx").text(), "x");
    }

    #[test]
    fn utf16_with_bom_is_transcoded() {
        let le: Vec<u8> = [0xff, 0xfe].into_iter().chain("A\tB\r\nC\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = [0xfe, 0xff].into_iter().chain("A\tB\r\nC\n".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        for b in [le, be] {
            let t = input(&b);
            assert_eq!(t.lines().map(|l| l.text).collect::<Vec<_>>(), vec!["A\tB", "C"]);
        }
        let e = TextInput::from_bytes(vec![0xff, 0xfe, b'A', 0, b'\n', 0, 0x00, 0xdc], "u.txt").unwrap_err().to_string();
        assert!(e.starts_with("u.txt:2:") && e.contains("UTF-16"), "{e}");
    }

    #[test]
    fn rejections_name_file_and_line() {
        let e = TextInput::from_bytes(b"a\nb\xff\n".to_vec(), "x.tsv").unwrap_err().to_string();
        assert!(e.starts_with("x.tsv:2:") && e.contains("UTF-8") && e.contains("0xFF"), "{e}");
        let e = TextInput::from_bytes(b"a\n\nb\0c".to_vec(), "x.tsv").unwrap_err().to_string();
        assert!(e.starts_with("x.tsv:3:") && e.contains("binary"), "{e}");
        let e = TextInput::from_bytes(vec![0x1f, 0x8b, 1, 2, 3], "x.gz").unwrap_err().to_string();
        assert!(e.starts_with("x.gz: corrupt gzip"), "{e}");
        let t = input(b"a\n\"b\n");
        let l = t.lines().nth(1).unwrap();
        let mut out = Vec::new();
        let e = l.fields(Sep::Comma, &mut out).unwrap_err().to_string();
        assert!(e.starts_with("t.txt:2:") && e.contains("never closed"), "{e}");
    }

    #[test]
    fn gzip_is_transparent() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"\xef\xbb\xbfa\r\nb\r\n").unwrap();
        let t = input(&gz.finish().unwrap());
        assert_eq!(t.lines().map(|l| l.text).collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn line_chunks_number_lines_like_lines() {
        let text: String = (0..500).map(|i| if i % 7 == 0 { "\n".to_string() } else { format!("line {i}\r\n") }).collect();
        let t = input(text.as_bytes());
        let all: Vec<(usize, &str)> = t.lines().map(|l| (l.no, l.raw)).collect();
        for (parts, min) in [(1, 1), (2, 1), (3, 10), (7, 1), (64, 1), (4, 1 << 20)] {
            let chunks = t.line_chunks(parts, min);
            assert!(chunks.len() <= parts.max(1) + 1, "{parts} parts gave {}", chunks.len());
            let got: Vec<(usize, &str)> = chunks.into_iter().flatten().map(|l| (l.no, l.raw)).collect();
            assert_eq!(got, all, "parts {parts}, min {min}");
        }
        assert!(input(b"").line_chunks(4, 1).into_iter().flatten().next().is_none());
    }

    #[test]
    fn data_lines_skip_blanks_and_comments() {
        let t = input(b"# c\n\n  x  \n%y\nz\n");
        assert_eq!(t.data_lines("#").map(|l| (l.no, l.text)).collect::<Vec<_>>(), vec![(3, "x"), (4, "%y"), (5, "z")]);
        assert_eq!(t.data_lines("#%").map(|l| l.no).collect::<Vec<_>>(), vec![3, 5]);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(split(r#""source","target","importance""#, Sep::Comma).unwrap(), ["source", "target", "importance"]);
        assert_eq!(split(r#" "a,b" , c ,"""q""" "#, Sep::Comma).unwrap(), ["a,b", "c", "\"q\""]);
        assert_eq!(split(r#"a,"",b,"#, Sep::Comma).unwrap(), ["a", "", "b", ""]);
        assert_eq!(split("\"A\"\t\"B C\"\t1", Sep::Tab).unwrap(), ["A", "B C", "1"]);
        assert_eq!(split("\" A\"\t\tx", Sep::Tab).unwrap(), [" A", "", "x"]);
        assert_eq!(split(r#"  "a b"   c  "d""#, Sep::Whitespace).unwrap(), ["a b", "c", "d"]);
        assert_eq!(split(r#"5'"x,y"#, Sep::Comma).unwrap(), ["5'\"x", "y"], "a quote inside an unquoted field is kept");
        assert!(split(r#""a"b,c"#, Sep::Comma).unwrap_err().contains("after its closing quote"));
        assert!(split(r#"a,"b"#, Sep::Comma).unwrap_err().contains("field 2"));
    }

    proptest::proptest! {
        /// On lines without quotes the quoted path splits exactly like the fast path.
        #[test]
        fn quoted_path_agrees_on_plain_lines(line in "[ a-c,\t\u{a0}\u{b}]{0,12}") {
            for sep in [Sep::Tab, Sep::Comma, Sep::Whitespace] {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                split_fields(&line, sep, &mut fast).unwrap();
                split_quoted(&line, sep, &mut slow).unwrap();
                proptest::prop_assert_eq!(&fast, &slow, "{:?} {:?}", line, sep);
            }
        }
    }

    #[test]
    fn separator_is_detected_outside_quotes() {
        assert_eq!(Sep::detect("a\tb,c"), Sep::Tab);
        assert_eq!(Sep::detect("\"a\tb\",c"), Sep::Comma);
        assert_eq!(Sep::detect("\"a,b\" c"), Sep::Whitespace);
        assert_eq!(Sep::detect("a b"), Sep::Whitespace);
    }
}
