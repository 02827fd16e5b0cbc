//! The study folder: `experiment plan` initialises it, every other command opens it.
//!
//! ```text
//! DIR/config.toml                     the configuration as given (written once)
//! DIR/plan.jsonl                      one line per unit (see plan.rs)
//! DIR/inputs/<dataset>/               data.h5ad, info.json, folds/fold_NN/{train,test,pool}.txt, val.tsv
//! DIR/shared/<dataset>/selections/    one-shot selection orders, computed once by the first unit that needs one
//! DIR/units/<id>/                     unit.json, selection.tsv, train/ (the GEARS run), metrics.json, done.json
//! DIR/report/                         results.tsv, summary.tsv, report.md, *.svg
//! ```
//!
//! `plan` on a folder planned with the same configuration changes nothing; with a different one
//! it refuses. A folder holding anything else is refused too: nothing a user wrote is overwritten.

use super::config::{parse_config, Study};
use super::fsio::{read_text, write_text};
use super::inputs::{ensure_dataset, read_info, DatasetInfo};
use super::plan::{plan_entries, to_jsonl, PlanEntry};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Entries a study folder may hold.
const OURS: &[&str] = &["config.toml", "plan.jsonl", "inputs", "shared", "units", "report"];

/// An opened (planned) study folder.
#[derive(Clone, Debug)]
pub struct StudyDir {
    /// Absolute path.
    pub dir: PathBuf,
    /// The checked configuration.
    pub study: Study,
    /// The units, in plan order.
    pub entries: Vec<PlanEntry>,
    /// Dataset inputs by name.
    pub infos: BTreeMap<String, DatasetInfo>,
}

/// The absolute form of `p` (the folder need not exist).
pub fn absolute(p: &Path) -> Result<PathBuf> {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map_err(|e| Error::io(".", e))?.join(p) };
    // Normalise `.` and `..` lexically (the folder may not exist yet).
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The path of the running binary, for the plan's commands.
pub fn current_exe() -> String {
    std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "graphreach".into())
}

fn check_folder(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::invalid(format!("--out {}: exists and is not a folder", dir.display())));
    }
    let foreign: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !OURS.contains(&n.as_str()))
        .collect();
    if !foreign.is_empty() {
        return Err(Error::invalid(format!(
            "--out {}: the folder holds files that are not part of a study ({}); give a new or empty folder",
            dir.display(),
            crate::error::preview_list(&foreign)
        )));
    }
    Ok(())
}

/// `experiment plan`: checks the configuration `text` (`file` names it, `base` resolves its
/// relative paths), initialises `out` (inputs, plan), and returns the opened folder.
/// With `backend`, `training.backend` is replaced by it and the folder's `config.toml` records
/// the configuration with the replacement (comments are not kept then).
pub fn plan(text: &str, file: &str, base: Option<&Path>, out: &Path, backend: Option<&str>, progress: bool) -> Result<StudyDir> {
    let mut config = parse_config(text, file)?;
    let saved_text = match backend {
        Some(b) => {
            config.training.backend = b.to_string();
            toml::to_string(&config).map_err(|e| Error::invalid(format!("cannot write the configuration: {e}")))?
        }
        None => text.strip_prefix('\u{feff}').unwrap_or(text).to_string(),
    };
    let study = config.check(file, base)?;
    let dir = absolute(out)?;
    check_folder(&dir)?;
    let saved = dir.join("config.toml");
    if saved.exists() {
        let old = parse_config(&read_text(&saved)?, &saved.display().to_string())?;
        if old != study.config {
            return Err(Error::invalid(format!(
                "--out {}: the folder was planned with a different configuration ({}); use a new --out folder, or the same configuration to continue",
                dir.display(),
                saved.display()
            )));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut infos = BTreeMap::new();
    for d in &study.datasets {
        let info = ensure_dataset(&dir, &study, d, file, progress)?;
        infos.insert(d.spec.name.clone(), info);
    }
    let entries = plan_entries(&study, &dir, &current_exe());
    let jsonl = to_jsonl(&entries);
    let plan_path = dir.join("plan.jsonl");
    if read_text(&plan_path).ok().as_deref() != Some(jsonl.as_str()) {
        write_text(&plan_path, &jsonl)?;
    }
    if !saved.exists() {
        write_text(&saved, &saved_text)?;
    }
    Ok(StudyDir { dir, study, entries, infos })
}

/// Opens a folder initialised by `plan`.
pub fn open(out: &Path) -> Result<StudyDir> {
    let dir = absolute(out)?;
    let saved = dir.join("config.toml");
    if !saved.exists() || !dir.join("plan.jsonl").exists() {
        return Err(Error::invalid(format!(
            "{} is not a planned study folder (no config.toml / plan.jsonl): run `graphreach experiment plan CONFIG --out {}` first",
            dir.display(),
            dir.display()
        )));
    }
    let name = saved.display().to_string();
    let study = parse_config(&read_text(&saved)?, &name)?.check(&name, Some(&dir))?;
    let mut infos = BTreeMap::new();
    for d in &study.datasets {
        infos.insert(d.spec.name.clone(), read_info(&dir, &d.spec.name)?);
    }
    let entries = plan_entries(&study, &dir, &current_exe());
    Ok(StudyDir { dir, study, entries, infos })
}

impl StudyDir {
    /// The plan entry of unit `id`.
    pub fn entry(&self, id: &str) -> Result<&PlanEntry> {
        self.entries.iter().find(|e| e.id == id).ok_or_else(|| {
            Error::invalid(format!("unknown unit '{id}': not in {}/plan.jsonl (see `graphreach experiment plan`)", self.dir.display()))
        })
    }

    /// Whether unit `e` is complete (its marker exists).
    pub fn is_complete(&self, e: &PlanEntry) -> bool {
        self.dir.join(&e.marker).exists()
    }

    /// The folder of unit `e`.
    pub fn unit_dir(&self, e: &PlanEntry) -> PathBuf {
        self.dir.join(&e.dir)
    }

    /// The inputs of dataset `name`.
    pub fn info(&self, name: &str) -> &DatasetInfo {
        &self.infos[name]
    }
}
