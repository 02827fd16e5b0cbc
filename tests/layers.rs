//! The crate's import layers: every `crate::X` (and `super::` that
//! climbs to the crate root) in src/ may only point down, never up or sideways.
//!
//! | level | top-level modules |
//! |---|---|
//! | 0 | error, rng, files (files may use error) |
//! | 1 | graph (with the ball sets, graph/sets.rs), sets |
//! | 2 | data |
//! | 3 | backend |
//! | 4 | select, gears (never each other) |
//! | 5 | study |
//! | 6 | cli, main.rs, lib.rs (anything) |
//!
//! References are found by a small tokenizer (comments, strings and char literals skipped; `use`
//! groups `crate::{a::B, c::{D, E}}` expanded; inline `mod x { .. }` blocks tracked so that
//! `super::` resolves). A new top-level module must be given a level here or the test fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Exceptions to the layers (file relative to src/, full path after `crate::`). None are left: the
/// list stays so that a future exception is written down here, in the open, and removed again.
const TEMPORARY_ALLOWED: &[(&str, &str)] = &[];

/// Level of a top-level module (`main` and `lib` are the crate roots' files).
fn level(module: &str) -> Option<u8> {
    Some(match module {
        "error" | "rng" | "files" => 0,
        "graph" | "sets" => 1,
        "data" => 2,
        "backend" => 3,
        "select" | "gears" => 4,
        "study" => 5,
        "cli" | "main" | "lib" => 6,
        _ => return None,
    })
}

/// The module a root-level name belongs to: a module itself, or an item lib.rs re-exports.
fn root_module(name: &str) -> &str {
    match name {
        "Error" | "Result" => "error",
        m => m,
    }
}

/// Whether top-level module `from` may refer to top-level module `to`.
fn allowed(from: &str, to: &str) -> Result<bool, String> {
    let lf = level(from).ok_or_else(|| format!("module '{from}' has no level in tests/layers.rs"))?;
    let lt = level(to).ok_or_else(|| format!("'{to}' is not a known top-level module (give it a level in tests/layers.rs)"))?;
    Ok(from == to || lt < lf || lf == 6 || (from, to) == ("files", "error"))
}

/// One `crate::` reference: 1-based line, the top-level module it starts in and the full path.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ref {
    line: usize,
    path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Punct(char),
    /// `::`
    Path,
}

/// Tokens with their lines; comments, string/char literals and lifetimes are dropped.
fn tokenize(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += (c[i] == '\n') as usize;
                    i += 1;
                }
            }
        } else if ch == '"' || ((ch == 'b' || ch == 'c') && at(i + 1) == '"') {
            i += if ch == '"' { 1 } else { 2 };
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                line += (at(i) == '\n') as usize;
                i += 1;
            }
            i += 1;
        } else if (ch == 'r' || ((ch == 'b' || ch == 'c') && at(i + 1) == 'r')) && {
            let s = if ch == 'r' { i + 1 } else { i + 2 };
            let mut k = s;
            while at(k) == '#' {
                k += 1;
            }
            at(k) == '"' && (k > s || at(s) == '"')
        } {
            // raw string r#"..."#
            let mut k = if ch == 'r' { i + 1 } else { i + 2 };
            let mut hashes = 0;
            while at(k) == '#' {
                hashes += 1;
                k += 1;
            }
            k += 1;
            loop {
                if k >= c.len() {
                    break;
                }
                if c[k] == '"' && (0..hashes).all(|h| at(k + 1 + h) == '#') {
                    k += 1 + hashes;
                    break;
                }
                line += (c[k] == '\n') as usize;
                k += 1;
            }
            i = k;
        } else if ch == '\'' {
            // char literal ('x', '\n', '\u{..}') or a lifetime / label ('a)
            if at(i + 1) == '\\' {
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[s..i].iter().collect()), line));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || (c[i] == '.' && at(i + 1).is_ascii_digit())) {
                i += 1;
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// Parses a use tree / path starting at `t[*k]` (just after a `::`), appending every full path
/// (prefix + segments) to `out`. `{a, b::{c}}` groups expand; `self` in a group names the prefix.
fn parse_tree(t: &[(Tok, usize)], k: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut segs = prefix.to_vec();
    loop {
        match t.get(*k).map(|x| &x.0) {
            Some(Tok::Ident(s)) => {
                if s != "self" || segs.is_empty() {
                    segs.push(s.clone());
                }
                *k += 1;
                if t.get(*k).map(|x| &x.0) == Some(&Tok::Path) {
                    *k += 1;
                    continue;
                }
                out.push(segs);
                return;
            }
            Some(Tok::Punct('{')) => {
                *k += 1;
                loop {
                    match t.get(*k).map(|x| &x.0) {
                        None => return,
                        Some(Tok::Punct('}')) => {
                            *k += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *k += 1,
                        Some(Tok::Ident(s)) if s == "as" => *k += 2,
                        _ => {
                            let before = *k;
                            parse_tree(t, k, &segs, out);
                            if *k == before {
                                *k += 1;
                            }
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                *k += 1;
                segs.push("*".into());
                out.push(segs);
                return;
            }
            _ => {
                if !segs.is_empty() {
                    out.push(segs);
                }
                return;
            }
        }
    }
}

/// The module path of a file relative to src/ (`backend/cuda/mod.rs` -> [backend, cuda]; lib.rs,
/// main.rs -> [] with the file's own name as the top-level module for the level check).
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel.trim_end_matches(".rs").split('/').map(String::from).collect();
    if parts.last().map(String::as_str) == Some("mod") || (parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main")) {
        parts.pop();
    }
    parts
}

/// Every reference of `src` (file `rel`) that leaves the file's top-level module: `crate::X...`,
/// `$crate::X...`, and `super::` chains that climb to the crate root. Paths are `X::...` strings.
fn crate_refs(rel: &str, src: &str) -> Vec<Ref> {
    let t = tokenize(src);
    let file_mod = module_path(rel);
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0i32;
    let mut out = Vec::new();
    let mut k = 0;
    while k < t.len() {
        let prev_is_path = k > 0 && t[k - 1].0 == Tok::Path;
        match &t[k].0 {
            Tok::Punct('{') => {
                depth += 1;
                k += 1;
            }
            Tok::Punct('}') => {
                depth -= 1;
                while inline.last().is_some_and(|m| m.1 > depth) {
                    inline.pop();
                }
                k += 1;
            }
            Tok::Ident(m) if m == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) = (t.get(k + 1), t.get(k + 2)) {
                    inline.push((name.clone(), depth + 1));
                }
                k += 1;
            }
            Tok::Ident(c) if c == "crate" && !prev_is_path && t.get(k + 1).map(|x| &x.0) == Some(&Tok::Path) => {
                let line = t[k].1;
                k += 2;
                let mut paths = Vec::new();
                parse_tree(&t, &mut k, &[], &mut paths);
                out.extend(paths.into_iter().map(|p| Ref { line, path: p.join("::") }));
            }
            Tok::Ident(s) if s == "super" && !prev_is_path => {
                let line = t[k].1;
                let mut ups = 0;
                while matches!(t.get(k), Some((Tok::Ident(s), _)) if s == "super") && t.get(k + 1).map(|x| &x.0) == Some(&Tok::Path) {
                    ups += 1;
                    k += 2;
                }
                let here = file_mod.len() + inline.len();
                if ups >= here && ups > 0 {
                    let mut paths = Vec::new();
                    parse_tree(&t, &mut k, &[], &mut paths);
                    out.extend(paths.into_iter().map(|p| Ref { line, path: p.join("::") }));
                } else if ups == 0 {
                    k += 1;
                }
            }
            _ => k += 1,
        }
    }
    out
}

/// The top-level module of a file relative to src/ (`main.rs` -> main).
fn file_module(rel: &str) -> String {
    rel.split('/').next().unwrap_or("").trim_end_matches(".rs").to_string()
}

/// One reference against the layers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Violation {
    /// File relative to src/.
    rel: String,
    line: usize,
    /// Full path after `crate::`.
    path: String,
    why: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "src/{}:{}: crate::{} ({})", self.rel, self.line, self.path, self.why)
    }
}

/// The references of one file that point up or sideways (or to a module without a level).
fn check_file(rel: &str, src: &str) -> Vec<Violation> {
    let from = file_module(rel);
    let mut bad = Vec::new();
    for r in crate_refs(rel, src) {
        let to = root_module(r.path.split("::").next().unwrap_or(""));
        let why = match allowed(&from, to) {
            Ok(true) => continue,
            Ok(false) => format!("{from} is level {}; it may not use {to}, level {}", level(&from).unwrap(), level(to).unwrap()),
            Err(e) => e,
        };
        bad.push(Violation { rel: rel.to_string(), line: r.line, path: r.path, why });
    }
    bad
}

/// The allowance entry that covers `v`: the same file and exactly the same full path.
fn allowance<'a>(list: &'a [(&'a str, &'a str)], v: &Violation) -> Option<&'a (&'a str, &'a str)> {
    list.iter().find(|a| a.0 == v.rel && a.1 == v.path)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files under {}", files.len(), src.display());
    let mut bad = Vec::new();
    let mut used_allowance = BTreeSet::new();
    let mut refs = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(f).unwrap();
        refs += crate_refs(&rel, &text).len();
        if level(&file_module(&rel)).is_none() {
            bad.push(format!("src/{rel}: top-level module '{}' has no level in tests/layers.rs", file_module(&rel)));
        }
        for v in check_file(&rel, &text) {
            match allowance(TEMPORARY_ALLOWED, &v) {
                Some(a) => {
                    used_allowance.insert(*a);
                }
                None => bad.push(v.to_string()),
            }
        }
    }
    assert!(refs > 100, "found only {refs} crate:: references; the scanner is broken");
    assert!(bad.is_empty(), "{} import(s) against the layers:\n{}", bad.len(), bad.join("\n"));
    // A stale allowance hides nothing but must go: the lead removes the list after the move.
    let stale: Vec<_> = TEMPORARY_ALLOWED.iter().filter(|a| !used_allowance.contains(*a)).collect();
    assert!(stale.is_empty(), "TEMPORARY_ALLOWED entries no longer needed (delete them): {stale:?}");
}

#[test]
fn the_checker_finds_what_points_up_or_sideways() {
    let src = r##"//! crate::cli in a doc comment is ignored
use crate::graph::sets::{BallSet, SetList};
use crate::select::Pool; // points up: backend -> select
/* crate::gears in a /* nested */ block comment */
fn f<'a>(x: &'a str) -> crate::Result<()> {
    let _s = "crate::cli in a string \" still";
    let _c = ['"', '\'', '\u{2028}'];
    let _r = r#"crate::cli"#;
    crate::select::pool::condition_genes("A+B");
    Ok(())
}
use crate::{error::Error, gears::{self, net::Model as M}};
mod tests {
    use super::*;
    use super::super::super::cli::Cli;
}
"##;
    let bad: Vec<String> = check_file("backend/x.rs", src).iter().map(|v| v.to_string()).collect();
    let up = |line: usize, path: &str, to: &str, lt: u8| format!("src/backend/x.rs:{line}: crate::{path} (backend is level 3; it may not use {to}, level {lt})");
    assert_eq!(
        bad,
        vec![
            up(3, "select::Pool", "select", 4),
            up(9, "select::pool::condition_genes", "select", 4),
            up(12, "gears", "gears", 4),
            up(12, "gears::net::Model", "gears", 4),
            up(15, "cli::Cli", "cli", 6),
        ]
    );
    // The allowance names a file and one full path, nothing broader.
    let list = [("backend/x.rs", "select::Pool"), ("backend/y.rs", "gears")];
    let kept: Vec<_> = check_file("backend/x.rs", src).into_iter().filter(|v| allowance(&list, v).is_none()).collect();
    assert_eq!(kept.len(), 4);
    assert_eq!(kept[0].path, "select::pool::condition_genes");
    // select and gears never import each other; a lower level is fine; the top level uses anything.
    assert_eq!(check_file("select/a.rs", "use crate::gears::Model;").len(), 1);
    assert_eq!(check_file("gears/a.rs", "fn g() { crate::select::select(); }").len(), 1);
    assert!(check_file("select/a.rs", "use crate::backend::Backend;\nuse crate::graph::Csr;").is_empty());
    assert!(check_file("cli/a.rs", "use crate::{select, gears, study::Run};").is_empty());
    assert!(check_file("files/a.rs", "use crate::error::Error;").is_empty());
    assert_eq!(check_file("error.rs", "use crate::files::text;").len(), 1);
    assert_eq!(check_file("data/a.rs", "use crate::{graph::Csr, backend::cpu};").len(), 1);
    // An inline test module's `super` is the file's module; a deep file's `super::super` stays inside.
    assert!(check_file("error.rs", "mod tests { use super::*; }").is_empty());
    assert!(check_file("backend/cuda/enabled/mod.rs", "use super::super::Backend;").is_empty());
    // An unknown top-level target is reported, not skipped.
    assert_eq!(check_file("graph/a.rs", "use crate::newmod::X;").len(), 1);
}
