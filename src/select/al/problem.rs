//! Matching the labelled set and the candidate pool to embedding rows.
//!
//! Rules:
//! * Names match by their genes ([`super::embeddings::perturbation_key`]): `A`, `A+ctrl` and
//!   `ctrl+A` are one perturbation. `ctrl` entries are skipped with a note.
//! * A labelled or candidate name without an embedding row is an error naming the genes and the
//!   file, unless `skip_missing` (then it is dropped with a note).
//! * Without a candidate list, the pool is every embedding row that is not labelled (and not `ctrl`).
//! * A candidate that is also labelled is left out of the pool with a note: it has been trained
//!   on already, and IterPert's pool is by construction the complement of the labelled set.
//! * Excluded names (e.g. a split's test genes) leave the pool; unknown ones are ignored.
//! * The points (labelled + pool) are ordered byte-wise by their embedding row names, the order
//!   IterPert's pandas `groupby` gives its `pert_list`.

use super::embeddings::{perturbation_key, Embeddings};
use super::mat::Mat;
use crate::error::{preview_list, Error, Result};
use std::collections::BTreeSet;

/// A list of names with 1-based line numbers and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct NamedList<'a> {
    /// File name (or other source) for messages.
    pub source: &'a str,
    /// (line, name).
    pub names: &'a [(usize, String)],
}

/// The points of an embedding-based selection.
#[derive(Clone, Debug)]
pub struct AlProblem {
    /// Names of the points (as written in the embeddings), in point order.
    pub names: Vec<String>,
    /// Embedding row of every point.
    pub x: Mat,
    /// Points that are labelled (ascending).
    pub labelled: Vec<usize>,
    /// Points in the unlabelled pool (ascending).
    pub pool: Vec<usize>,
    /// Dimension the PCA rule looks at ([`Embeddings::pca_rule_dim`]).
    pub rule_dim: usize,
    /// Embeddings file, for messages.
    pub embeddings_source: String,
    /// Embeddings kind (metadata), if known.
    pub kind: Option<String>,
    /// Notes for stderr.
    pub notes: Vec<String>,
}

/// Rows of `emb` named by `list`; missing names are an error unless `skip_missing`.
fn rows_of(emb: &Embeddings, list: NamedList<'_>, what: &str, skip_missing: bool, notes: &mut Vec<String>) -> Result<BTreeSet<usize>> {
    let mut rows = BTreeSet::new();
    let mut missing = Vec::new();
    let (mut ctrl, mut dups) = (0usize, 0usize);
    for (line, name) in list.names {
        if perturbation_key(name).is_empty() {
            ctrl += 1;
            continue;
        }
        match emb.index_of(name) {
            Some(r) => {
                if !rows.insert(r) {
                    dups += 1;
                }
            }
            None => missing.push(format!("{name} (line {line})")),
        }
    }
    if !missing.is_empty() {
        if !skip_missing {
            return Err(Error::invalid(format!(
                "{} {what} perturbation(s) from {} have no row in the embeddings {}: {}. Embed them (graphreach embed --perts ...), remove them from {}, or pass --skip-missing to drop them",
                missing.len(),
                list.source,
                emb.source,
                preview_list(&missing),
                list.source
            )));
        }
        notes.push(format!("{}: skipped {} {what} perturbation(s) without an embedding (--skip-missing): {}", list.source, missing.len(), preview_list(&missing)));
    }
    if ctrl > 0 {
        notes.push(format!("{}: skipped {ctrl} 'ctrl' entr(y/ies): control is not a perturbation", list.source));
    }
    if dups > 0 {
        notes.push(format!("{}: collapsed {dups} duplicate perturbation(s)", list.source));
    }
    Ok(rows)
}

/// Builds the problem: the labelled rows, the pool (candidates minus labelled minus excluded).
pub fn build_problem(
    emb: &Embeddings,
    labelled: Option<NamedList<'_>>,
    candidates: Option<NamedList<'_>>,
    exclude: Option<NamedList<'_>>,
    skip_missing: bool,
) -> Result<AlProblem> {
    let mut notes = Vec::new();
    let lab = match labelled {
        Some(l) => rows_of(emb, l, "labelled", skip_missing, &mut notes)?,
        None => BTreeSet::new(),
    };
    let mut pool: BTreeSet<usize> = match candidates {
        Some(c) => rows_of(emb, c, "candidate", skip_missing, &mut notes)?,
        None => (0..emb.len()).filter(|&r| !perturbation_key(&emb.names[r]).is_empty() && !lab.contains(&r)).collect(),
    };
    let both: Vec<String> = pool.intersection(&lab).map(|&r| emb.names[r].clone()).collect();
    if !both.is_empty() {
        notes.push(format!(
            "left {} candidate(s) out of the pool because they are labelled already ({}): {}",
            both.len(),
            labelled.map_or("--labelled", |l| l.source),
            preview_list(&both)
        ));
        pool.retain(|r| !lab.contains(r));
    }
    if let Some(ex) = exclude {
        let mut unknown = 0usize;
        let mut removed = 0usize;
        for (_, name) in ex.names {
            match emb.index_of(name) {
                Some(r) => removed += usize::from(pool.remove(&r)),
                None => unknown += 1,
            }
        }
        notes.push(format!("excluded {removed} candidate(s) listed in {}", ex.source));
        if unknown > 0 {
            notes.push(format!("{}: {unknown} name(s) have no embedding row and were ignored", ex.source));
        }
    }
    let mut points: Vec<usize> = lab.iter().chain(pool.iter()).copied().collect();
    points.sort_by(|&a, &b| emb.names[a].as_bytes().cmp(emb.names[b].as_bytes()).then(a.cmp(&b)));
    let mut labelled_pts = Vec::new();
    let mut pool_pts = Vec::new();
    for (p, r) in points.iter().enumerate() {
        if lab.contains(r) {
            labelled_pts.push(p);
        } else {
            pool_pts.push(p);
        }
    }
    Ok(AlProblem {
        names: points.iter().map(|&r| emb.names[r].clone()).collect(),
        x: emb.matrix.select_rows(&points),
        labelled: labelled_pts,
        pool: pool_pts,
        rule_dim: emb.pca_rule_dim(),
        embeddings_source: emb.source.clone(),
        kind: emb.kind.clone(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb() -> Embeddings {
        let names: Vec<String> = ["C", "A+ctrl", "B", "ctrl", "D"].iter().map(|s| s.to_string()).collect();
        let m = Mat::from_rows(&[vec![3.0], vec![1.0], vec![2.0], vec![0.0], vec![4.0]]);
        Embeddings::from_parts("emb.tsv", names, m).unwrap()
    }

    fn list(v: &[&str]) -> Vec<(usize, String)> {
        v.iter().enumerate().map(|(i, s)| (i + 1, s.to_string())).collect()
    }

    #[test]
    fn default_pool_is_every_unlabelled_row_in_name_order() {
        let e = emb();
        let l = list(&["B"]);
        let p = build_problem(&e, Some(NamedList { source: "lab.txt", names: &l }), None, None, false).unwrap();
        assert_eq!(p.names, vec!["A+ctrl", "B", "C", "D"]);
        assert_eq!(p.labelled, vec![1]);
        assert_eq!(p.pool, vec![0, 2, 3]);
        assert_eq!(p.x.data, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn missing_names_are_errors_or_notes() {
        let e = emb();
        let l = list(&["A", "ZZZ"]);
        let err = build_problem(&e, Some(NamedList { source: "lab.txt", names: &l }), None, None, false).unwrap_err().to_string();
        assert!(err.contains("lab.txt") && err.contains("ZZZ (line 2)") && err.contains("emb.tsv") && err.contains("labelled"), "{err}");
        let c = list(&["B", "Q1", "Q2"]);
        let err = build_problem(&e, None, Some(NamedList { source: "cands.txt", names: &c }), None, false).unwrap_err().to_string();
        assert!(err.contains("2 candidate perturbation(s) from cands.txt") && err.contains("Q1 (line 2), Q2 (line 3)"), "{err}");
        let p = build_problem(&e, None, Some(NamedList { source: "cands.txt", names: &c }), None, true).unwrap();
        assert_eq!(p.names, vec!["B"]);
        assert!(p.notes.iter().any(|n| n.contains("--skip-missing")));
    }

    #[test]
    fn labelled_candidates_leave_the_pool_and_exclusions_apply() {
        let e = emb();
        let l = list(&["ctrl+A"]);
        let c = list(&["A", "B", "C", "D", "ctrl"]);
        let x = list(&["D", "nope"]);
        let p = build_problem(
            &e,
            Some(NamedList { source: "lab.txt", names: &l }),
            Some(NamedList { source: "cands.txt", names: &c }),
            Some(NamedList { source: "test.txt", names: &x }),
            false,
        )
        .unwrap();
        assert_eq!(p.names, vec!["A+ctrl", "B", "C"]);
        assert_eq!(p.labelled, vec![0]);
        assert_eq!(p.pool, vec![1, 2]);
        assert!(p.notes.iter().any(|n| n.contains("labelled already") && n.contains("A+ctrl")));
        assert!(p.notes.iter().any(|n| n.contains("'ctrl'")));
        assert!(p.notes.iter().any(|n| n.contains("excluded 1")));
    }
}
