//! Run folders: the output folder of a command that writes several files (`split`, `train`, the
//! study's experiment units). The rule:
//!
//! * `--out DIR` names a folder: missing ones are created; a file, a device or a link to anything
//!   but a folder there is refused.
//! * While a command writes into the folder it holds its [`RunLock`]; a second writer is refused.
//! * The command's own files are recognised by name (each command passes its rule, e.g. `split`:
//!   `train.txt`, `val.txt`, `test.txt`, `fold_NN/{train,test}.txt`), plus leftovers of
//!   interrupted writes. [`Reuse::Fresh`] refuses a folder that already holds own files;
//!   [`Reuse::Replace`] (`--force`) removes them before the new run writes, so the folder ends
//!   with exactly the new run's files (and sub-folders left empty by that are removed);
//!   [`Reuse::Continue`] (`--resume`) keeps them.
//! * Files graphreach does not recognise are never removed or changed.
//!
//! Each file inside is written with the [output policy](super::output).

use super::lock::RunLock;
use super::output::{check_folder_writable, TEMP_MARK};
use crate::error::{preview_list, Error, Result};
use std::path::{Path, PathBuf};

/// What to do with the files an earlier run of the same command left in the folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Refuse if the folder holds any of them.
    Fresh,
    /// Remove them before writing (`--force`).
    Replace,
    /// Keep them (`--resume`).
    Continue,
}

/// Recognises a command's own files by their path relative to the run folder (`/`-separated).
pub type Owns<'a> = &'a dyn Fn(&str) -> bool;

/// A locked run folder; the lock is released when this is dropped.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    _lock: RunLock,
}

/// Checks `dir` as a run folder without changing anything (run this before the work starts).
/// `hint` tells the user how to replace or continue an earlier run (e.g. "pass --force to replace them").
pub fn check(dir: &Path, reuse: Reuse, owns: Owns, hint: &str) -> Result<()> {
    if dir.as_os_str().is_empty() {
        return Err(Error::invalid("--out is empty; give a folder"));
    }
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.file_type().is_symlink() => {
            // Writing into a linked folder does not replace the link; anything else behind it does.
            if !std::fs::metadata(dir).map(|t| t.is_dir()).unwrap_or(false) {
                return Err(Error::write(dir, "it is a symbolic link that does not point to a folder; a run folder is expected"));
            }
        }
        Ok(m) => {
            let what = if m.is_file() { "a file" } else { "a device, pipe or socket" };
            return Err(Error::write(dir, format!("it is {what}, not a folder; this command writes several files into the folder --out names")));
        }
        Err(e) if super::output::is_missing(&e) => return check_folder_writable(dir, dir),
        Err(e) => return Err(Error::write(dir, e)),
    }
    check_folder_writable(dir, dir)?;
    if reuse == Reuse::Fresh {
        let found: Vec<String> = own_files(dir, owns)?.into_iter().filter(|f| !f.contains(TEMP_MARK)).collect();
        if !found.is_empty() {
            return Err(Error::RunExists { dir: dir.to_path_buf(), files: preview_list(&found), hint: hint.to_string() });
        }
    }
    Ok(())
}

impl RunFolder {
    /// Checks `dir` (see [`check`]), creates it, takes its lock and applies `reuse` to the files
    /// `owns` recognises.
    pub fn open(dir: &Path, reuse: Reuse, owns: Owns, hint: &str) -> Result<RunFolder> {
        check(dir, reuse, owns, hint)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        let lock = RunLock::acquire(dir)?;
        // Checked again under the lock: another run may have finished in between.
        check(dir, reuse, owns, hint)?;
        if reuse == Reuse::Replace {
            let mut emptied: Vec<PathBuf> = Vec::new();
            for rel in own_files(dir, owns)? {
                let p = dir.join(&rel);
                std::fs::remove_file(&p).map_err(|e| Error::write(dir, format!("cannot remove {} of the earlier run: {e}", p.display())))?;
                if let Some((sub, _)) = rel.rsplit_once('/') {
                    emptied.push(dir.join(sub));
                }
            }
            emptied.sort();
            emptied.dedup();
            for d in emptied {
                // Only folders the removal left empty go (remove_dir fails on any other).
                let _ = std::fs::remove_dir(d);
            }
        }
        Ok(RunFolder { dir: dir.to_path_buf(), _lock: lock })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a file inside the folder.
    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

/// The regular files in `dir` and its direct sub-folders that are the command's own (by `owns`)
/// or leftovers of interrupted writes, as sorted `/`-separated relative paths.
fn own_files(dir: &Path, owns: Owns) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let list = |d: &Path| -> Result<Vec<(String, std::fs::FileType)>> {
        let rd = match std::fs::read_dir(d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(d, e)),
        };
        let mut v = Vec::new();
        for e in rd {
            let e = e.map_err(|err| Error::io(d, err))?;
            let ft = e.file_type().map_err(|err| Error::io(e.path(), err))?;
            v.push((e.file_name().to_string_lossy().into_owned(), ft));
        }
        Ok(v)
    };
    for (name, ft) in list(dir)? {
        if ft.is_file() && (owns(&name) || name.contains(TEMP_MARK)) {
            out.push(name);
        } else if ft.is_dir() {
            for (sub, sft) in list(&dir.join(&name))? {
                let rel = format!("{name}/{sub}");
                if sft.is_file() && (owns(&rel) || sub.contains(TEMP_MARK)) {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("graphreach-runfolder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn owns(rel: &str) -> bool {
        rel == "a.txt" || (rel.starts_with("part_") && rel.ends_with("/b.txt"))
    }

    #[test]
    fn fresh_refuses_own_files_replace_removes_only_them() {
        let d = dir("reuse");
        let f = RunFolder::open(&d, Reuse::Fresh, &owns, "pass --force").unwrap();
        std::fs::write(f.file("a.txt"), "1").unwrap();
        std::fs::create_dir_all(f.file("part_1")).unwrap();
        std::fs::create_dir_all(f.file("part_2")).unwrap();
        std::fs::write(f.file("part_1/b.txt"), "1").unwrap();
        std::fs::write(f.file("part_2/b.txt"), "1").unwrap();
        std::fs::write(f.file("part_2/notes.md"), "mine").unwrap();
        std::fs::write(f.file("notes.md"), "mine").unwrap();
        std::fs::write(f.file(".a.txt.tmp-graphreach-1"), "partial").unwrap();
        drop(f);
        let e = RunFolder::open(&d, Reuse::Fresh, &owns, "pass --force to replace them").unwrap_err().to_string();
        assert!(e.contains("a.txt, part_1/b.txt, part_2/b.txt") && e.contains("pass --force") && !e.contains("tmp-graphreach"), "{e}");
        let kept = RunFolder::open(&d, Reuse::Continue, &owns, "").unwrap();
        assert!(kept.file("a.txt").exists());
        drop(kept);
        let f = RunFolder::open(&d, Reuse::Replace, &owns, "").unwrap();
        assert!(!f.file("a.txt").exists() && !f.file(".a.txt.tmp-graphreach-1").exists());
        assert!(!f.file("part_1").exists(), "a sub-folder emptied by the removal goes");
        assert!(f.file("part_2/notes.md").exists() && f.file("notes.md").exists(), "foreign files stay");
        drop(f);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_file_is_not_a_run_folder_and_a_locked_folder_is_busy() {
        let d = dir("kinds");
        std::fs::create_dir_all(&d).unwrap();
        let file = d.join("plain");
        std::fs::write(&file, "x").unwrap();
        let e = RunFolder::open(&file, Reuse::Fresh, &owns, "").unwrap_err().to_string();
        assert!(e.starts_with(&format!("cannot write {}: it is a file, not a folder", file.display())), "{e}");
        let run = d.join("run");
        let held = RunFolder::open(&run, Reuse::Fresh, &owns, "").unwrap();
        let e = RunFolder::open(&run, Reuse::Replace, &owns, "").unwrap_err();
        assert!(matches!(e, Error::Busy { .. }), "{e}");
        drop(held);
        std::fs::remove_dir_all(&d).ok();
    }
}
