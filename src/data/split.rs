//! Train/val/test splits of a dataset's perturbations (spec §6): GEARS `simulation` and `single`,
//! IterPert `active`, and the GraphReach paper's k-fold protocol. Randomness is SplitMix64 with the
//! given seed (same semantics as the numpy draws, not the same numbers). `ctrl` always belongs to
//! training and is not listed. A part lists one perturbation per line: `A` for `A+ctrl`/`ctrl+A`,
//! `A+B` for a double.

pub use super::categories::{Category, CategoryRow, CATEGORIES_FILE};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use std::collections::BTreeSet;

/// A split scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Scheme {
    /// GEARS `simulation`: 75% of genes seen in training; unseen singles and combos to test; val likewise at 0.9.
    Simulation,
    /// GEARS `single`: int(10% of singles) test genes drawn with replacement; combos with them held out; val likewise.
    Single,
    /// IterPert `active`: as `single` but no val; train is the active-learning pool.
    Active,
    /// GraphReach paper: k folds, each a disjoint ~1/k of the perturbations as test, the rest train.
    Folds,
}

/// One output part: a relative file name and its lines.
pub type Part = (String, Vec<String>);

/// What a refused `split` into a folder holding an earlier split tells the user.
pub const EXISTING_HINT: &str = "pass --force to replace that split (its split files are removed first; other files stay)";

/// Whether `rel` (relative to a split folder, `/`-separated) is a file `split` writes:
/// `train.txt`, `val.txt`, `test.txt`, `categories.tsv` or `fold_NN/train.txt`, `fold_NN/test.txt`.
pub fn is_split_file(rel: &str) -> bool {
    match rel.split_once('/') {
        None => matches!(rel, "train.txt" | "val.txt" | "test.txt" | CATEGORIES_FILE),
        Some((dir, file)) => {
            matches!(file, "train.txt" | "test.txt")
                && dir.strip_prefix("fold_").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }
    }
}

/// The perturbation's display name in split files: `A` for singles, `A+B` for doubles.
pub fn pert_label(condition: &str) -> String {
    crate::graph::names::condition_genes(condition).join("+")
}

fn choose_without(rng: &mut SplitMix64, items: &[String], k: usize) -> Vec<String> {
    let mut v = items.to_vec();
    let k = k.min(v.len());
    for i in 0..k {
        let j = i + rng.below((v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
    v.truncate(k);
    v
}

fn genes_of(perts: &[String]) -> Vec<String> {
    let s: BTreeSet<String> = perts.iter().flat_map(|p| crate::graph::names::condition_genes(p).into_iter().map(String::from)).collect();
    s.into_iter().collect()
}

/// GEARS `get_simulation_split` on perturbations `perts` (conditions, no `ctrl`): (train, test).
pub fn simulation_split(perts: &[String], train_gene_frac: f64, seen2_train_frac: f64, rng: &mut SplitMix64) -> (Vec<String>, Vec<String>) {
    let (train, test, _) = simulation_split_groups(perts, train_gene_frac, seen2_train_frac, rng);
    (train, test)
}

/// A held-out perturbation and its GEARS category.
pub type Grouped = (String, Option<Category>);

/// [`simulation_split`] with GEARS's subgroups: (train, test, the category of every test
/// perturbation relative to the genes drawn for training, as GEARS's `test_subgroup`).
pub fn simulation_split_groups(
    perts: &[String],
    train_gene_frac: f64,
    seen2_train_frac: f64,
    rng: &mut SplitMix64,
) -> (Vec<String>, Vec<String>, Vec<Grouped>) {
    let genes = genes_of(perts);
    let train_genes: BTreeSet<String> = choose_without(rng, &genes, (genes.len() as f64 * train_gene_frac) as usize).into_iter().collect();
    let (mut train, mut test, mut seen2) = (Vec::new(), Vec::new(), Vec::new());
    for p in perts {
        let g = crate::graph::names::condition_genes(p);
        let seen = g.iter().filter(|x| train_genes.contains(**x)).count();
        match (g.len(), seen) {
            (1, 1) => train.push(p.clone()),
            (2, 2) => seen2.push(p.clone()),
            _ => test.push(p.clone()),
        }
    }
    let picked: BTreeSet<String> = choose_without(rng, &seen2, (seen2.len() as f64 * seen2_train_frac) as usize).into_iter().collect();
    for p in seen2 {
        if picked.contains(&p) {
            train.push(p);
        } else {
            test.push(p);
        }
    }
    let groups = test.iter().map(|p| (p.clone(), Category::of(p, &|g| train_genes.contains(g)))).collect();
    (train, test, groups)
}

/// GEARS `get_split_list` with hold-outs: test genes drawn with replacement (int(frac x #singles)
/// draws), their singles to test, combos containing them dropped. Returns (rest, test).
pub fn single_split(perts: &[String], frac: f64, rng: &mut SplitMix64) -> (Vec<String>, Vec<String>) {
    let singles: Vec<String> = perts.iter().filter(|p| crate::graph::names::condition_genes(p).len() == 1).cloned().collect();
    let single_genes = genes_of(&singles);
    let n = (singles.len() as f64 * frac) as usize;
    let test_genes: BTreeSet<&str> =
        (0..n).filter(|_| !single_genes.is_empty()).map(|_| single_genes[rng.below(single_genes.len() as u64) as usize].as_str()).collect();
    let (mut rest, mut test) = (Vec::new(), Vec::new());
    for p in perts {
        let g = crate::graph::names::condition_genes(p);
        if g.len() == 1 && test_genes.contains(g[0]) {
            test.push(p.clone());
        } else if !g.iter().any(|x| test_genes.contains(x)) {
            rest.push(p.clone());
        }
    }
    (rest, test)
}

/// Computes the parts of `scheme` for the perturbation conditions `perts` (`ctrl` excluded).
pub fn split(perts: &[String], scheme: Scheme, folds: usize, seed: u64) -> Result<Vec<Part>> {
    Ok(split_with_categories(perts, scheme, folds, seed)?.0)
}

/// [`split`], and for `simulation` the GEARS category of every perturbation (see
/// [`CategoryRow`]; `None` for the other schemes).
pub fn split_with_categories(perts: &[String], scheme: Scheme, folds: usize, seed: u64) -> Result<(Vec<Part>, Option<Vec<CategoryRow>>)> {
    let mut categories = None;
    let perts: Vec<String> = {
        let mut v: Vec<String> = perts.iter().filter(|p| *p != "ctrl").cloned().collect();
        v.sort();
        v
    };
    if perts.is_empty() {
        return Err(Error::invalid("the dataset has no perturbations to split"));
    }
    let mut rng = SplitMix64::new(seed);
    let label = |v: &[String]| -> Vec<String> { v.iter().map(|p| pert_label(p)).collect() };
    let parts = match scheme {
        Scheme::Simulation => {
            let (train, test, test_groups) = simulation_split_groups(&perts, 0.75, 0.75, &mut rng);
            let (train, val, val_groups) = simulation_split_groups(&train, 0.9, 0.9, &mut rng);
            let train_genes: BTreeSet<String> = genes_of(&train).into_iter().collect();
            let mut rows: Vec<CategoryRow> =
                train.iter().map(|p| CategoryRow { perturbation: pert_label(p), part: "train".into(), category: Category::of(p, &|g| train_genes.contains(g)) }).collect();
            for (part, groups) in [("val", &val_groups), ("test", &test_groups)] {
                rows.extend(groups.iter().map(|(p, c)| CategoryRow { perturbation: pert_label(p), part: part.into(), category: *c }));
            }
            categories = Some(rows);
            vec![("train.txt".into(), label(&train)), ("val.txt".into(), label(&val)), ("test.txt".into(), label(&test))]
        }
        Scheme::Single => {
            let (rest, test) = single_split(&perts, 0.1, &mut rng);
            let (train, val) = single_split(&rest, 0.1, &mut rng);
            vec![("train.txt".into(), label(&train)), ("val.txt".into(), label(&val)), ("test.txt".into(), label(&test))]
        }
        Scheme::Active => {
            let (pool, test) = single_split(&perts, 0.1, &mut rng);
            vec![("train.txt".into(), label(&pool)), ("test.txt".into(), label(&test))]
        }
        Scheme::Folds => {
            if folds < 2 || folds > perts.len() {
                return Err(Error::invalid(format!("--folds must be between 2 and the number of perturbations ({}), got {folds}", perts.len())));
            }
            let order = choose_without(&mut rng, &perts, perts.len());
            let width = folds.to_string().len().max(2);
            let mut parts = Vec::new();
            for k in 0..folds {
                let (mut train, mut test) = (Vec::new(), Vec::new());
                for (i, p) in order.iter().enumerate() {
                    if i % folds == k { test.push(p.clone()) } else { train.push(p.clone()) }
                }
                train.sort();
                test.sort();
                parts.push((format!("fold_{k:0width$}/train.txt"), label(&train)));
                parts.push((format!("fold_{k:0width$}/test.txt"), label(&test)));
            }
            parts
        }
    };
    if let Some((name, _)) = parts.iter().find(|(_, lines)| lines.is_empty()) {
        let scheme_name = format!("{scheme:?}").to_lowercase();
        return Err(Error::invalid(format!(
            "--scheme {scheme_name} on {} perturbation(s) leaves {name} empty: too few perturbations for this scheme; use --scheme folds --folds K (2 <= K <= {}) or a dataset with more perturbations",
            perts.len(),
            perts.len()
        )));
    }
    Ok((parts, categories))
}

/// Writes the parts into the run folder `dir` (see [`crate::files::run_folder`]): a folder holding an
/// earlier split is refused unless `force`, which removes that split's files first, so the folder
/// ends with exactly this split's files (files `split` does not write are left alone).
pub fn write_parts(dir: &std::path::Path, parts: &[Part], force: bool) -> Result<()> {
    write_split(dir, parts, None, force)
}

/// [`write_parts`], plus the category file [`CATEGORIES_FILE`] when `categories` is given.
pub fn write_split(dir: &std::path::Path, parts: &[Part], categories: Option<&[CategoryRow]>, force: bool) -> Result<()> {
    use crate::files::run_folder::{Reuse, RunFolder};
    let reuse = if force { Reuse::Replace } else { Reuse::Fresh };
    let folder = RunFolder::open(dir, reuse, &is_split_file, EXISTING_HINT)?;
    for (name, lines) in parts {
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        crate::files::output::write_file_with(&folder.file(name), true, |w| w.write_all(text.as_bytes()))?;
    }
    if let Some(rows) = categories {
        let text = super::categories::to_tsv(rows);
        crate::files::output::write_file_with(&folder.file(CATEGORIES_FILE), true, |w| w.write_all(text.as_bytes()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn singles(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("G{i:03}+ctrl")).collect()
    }

    #[test]
    fn folds_partition_the_perturbations() {
        let perts = singles(95);
        let parts = split(&perts, Scheme::Folds, 10, 7).unwrap();
        assert_eq!(parts.len(), 20);
        let mut all_test: Vec<String> = Vec::new();
        for k in 0..10 {
            let (train, test) = (&parts[2 * k].1, &parts[2 * k + 1].1);
            assert!(test.len() == 9 || test.len() == 10);
            assert_eq!(train.len() + test.len(), 95);
            assert!(test.iter().all(|t| !train.contains(t)));
            all_test.extend(test.iter().cloned());
        }
        all_test.sort();
        all_test.dedup();
        assert_eq!(all_test.len(), 95);
        assert_eq!(parts, split(&perts, Scheme::Folds, 10, 7).unwrap());
        assert_ne!(parts, split(&perts, Scheme::Folds, 10, 8).unwrap());
    }

    #[test]
    fn active_split_draws_with_replacement_and_keeps_no_val() {
        let mut perts = singles(200);
        perts.push("G000+G001".into());
        let parts = split(&perts, Scheme::Active, 10, 1).unwrap();
        assert_eq!(parts.len(), 2);
        let (pool, test) = (&parts[0].1, &parts[1].1);
        assert!(test.len() <= 20 && test.len() >= 15, "{}", test.len());
        assert!(test.iter().all(|t| !pool.contains(t)));
        // A combo containing a test gene is held out of both.
        let in_test = test.iter().any(|t| t == "G000" || t == "G001");
        assert_eq!(pool.iter().any(|p| p == "G000+G001"), !in_test);
        assert_eq!(pool.len() + test.len() + usize::from(in_test), 201);
    }

    #[test]
    fn simulation_split_sends_unseen_genes_to_test() {
        let mut perts = singles(40);
        perts.push("G000+G001".into());
        perts.push("G002+G003".into());
        let parts = split(&perts, Scheme::Simulation, 10, 3).unwrap();
        let (train, val, test) = (&parts[0].1, &parts[1].1, &parts[2].1);
        assert_eq!(train.len() + val.len() + test.len(), 42);
        assert_eq!(test.iter().filter(|t| !t.contains('+')).count(), 10);
        let train_genes: BTreeSet<&str> = train.iter().filter(|t| !t.contains('+')).map(String::as_str).collect();
        for t in test.iter().filter(|t| !t.contains('+')) {
            assert!(!train_genes.contains(t.as_str()));
        }
    }

    #[test]
    fn simulation_categories_follow_the_gears_rules() {
        let mut perts = singles(40);
        for i in 0..20 {
            perts.push(format!("G{:03}+G{:03}", 2 * i, 2 * i + 1));
        }
        let (parts, cats) = split_with_categories(&perts, Scheme::Simulation, 10, 4).unwrap();
        let cats = cats.unwrap();
        assert_eq!(parts, split(&perts, Scheme::Simulation, 10, 4).unwrap());
        assert_eq!(cats.len(), 60);
        let (train, val) = (&parts[0].1, &parts[1].1);
        let inner: BTreeSet<&str> = train.iter().flat_map(|p| p.split('+')).collect();
        let outer: BTreeSet<&str> = train.iter().chain(val).flat_map(|p| p.split('+')).collect();
        for r in &cats {
            let seen = if r.part == "test" { &outer } else { &inner };
            assert_eq!(r.category, Category::of(&r.perturbation, &|g| seen.contains(g)), "{r:?}");
            if r.part != "train" {
                assert_ne!(r.category, Some(Category::SeenSingle), "{r:?}");
            }
        }
        // Every held-out double category occurs with 20 doubles over 40 genes.
        for c in [Category::ComboSeen1, Category::ComboSeen2, Category::UnseenSingle] {
            assert!(cats.iter().any(|r| r.part == "test" && r.category == Some(c)), "{c:?}");
        }
        assert!(is_split_file(CATEGORIES_FILE));
        assert!(split_with_categories(&perts, Scheme::Folds, 3, 4).unwrap().1.is_none());
    }

    #[test]
    fn split_file_names_are_recognised() {
        for ok in ["train.txt", "val.txt", "test.txt", "fold_00/train.txt", "fold_123/test.txt"] {
            assert!(is_split_file(ok), "{ok}");
        }
        for no in ["notes.txt", "fold_/train.txt", "fold_0a/test.txt", "fold_01/val.txt", "x/train.txt", "fold_01/sub/test.txt"] {
            assert!(!is_split_file(no), "{no}");
        }
    }

    #[test]
    fn a_scheme_that_leaves_a_part_empty_is_refused() {
        let e = split(&singles(2), Scheme::Simulation, 10, 1).unwrap_err().to_string();
        assert!(e.contains("--scheme simulation on 2 perturbation(s) leaves") && e.contains("empty"), "{e}");
        assert!(split(&singles(2), Scheme::Folds, 2, 1).is_ok());
    }

    #[test]
    fn single_split_has_val_and_test() {
        let parts = split(&singles(100), Scheme::Single, 10, 5).unwrap();
        let (train, val, test) = (&parts[0].1, &parts[1].1, &parts[2].1);
        assert!(!val.is_empty() && !test.is_empty());
        assert_eq!(train.len() + val.len() + test.len(), 100);
    }
}
