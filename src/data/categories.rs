//! GEARS's perturbation categories of the `simulation` split (its `test_subgroup` /
//! `val_subgroup`): how many of a perturbation's genes were seen in training. `graphreach split
//! --scheme simulation` writes them next to the split as [`CATEGORIES_FILE`]; `evaluate` reports
//! its metrics per category.
//!
//! The file is a TSV with a header `perturbation, part, category`: one row per perturbation of
//! the split, named as in the split files (`A` or `A+B`). Test rows are categorised against the
//! genes drawn for training at the first level of the split, validation rows against those of the
//! second level (as GEARS does), training rows against the training perturbations' genes.

use crate::error::Result;
use crate::files::text::{Sep, TextInput};
use std::collections::HashMap;

/// The category file's name inside a split folder.
pub const CATEGORIES_FILE: &str = "categories.tsv";

/// A perturbation's category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A double neither of whose genes was seen in training (GEARS `combo_seen0`).
    ComboSeen0,
    /// A double with one seen gene (`combo_seen1`).
    ComboSeen1,
    /// A double with both genes seen (`combo_seen2`; the pair itself was not trained on when it is held out).
    ComboSeen2,
    /// A single whose gene was not seen (`unseen_single`).
    UnseenSingle,
    /// A single whose gene was seen (a training single; GEARS has no held-out category for it).
    SeenSingle,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 5] = [Category::ComboSeen0, Category::ComboSeen1, Category::ComboSeen2, Category::UnseenSingle, Category::SeenSingle];

    /// GEARS's name (`combo_seen0`, ..., `unseen_single`; `seen_single`).
    pub fn name(self) -> &'static str {
        match self {
            Category::ComboSeen0 => "combo_seen0",
            Category::ComboSeen1 => "combo_seen1",
            Category::ComboSeen2 => "combo_seen2",
            Category::UnseenSingle => "unseen_single",
            Category::SeenSingle => "seen_single",
        }
    }

    /// The category named `s`.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The category of `condition` (`A`, `A+ctrl`, `A+B`) given which genes were seen in training;
    /// `None` for `ctrl` or a name with more than two genes.
    pub fn of(condition: &str, seen: &dyn Fn(&str) -> bool) -> Option<Category> {
        let g = crate::graph::names::condition_genes(condition);
        let n = g.iter().filter(|x| seen(x)).count();
        match (g.len(), n) {
            (1, 0) => Some(Category::UnseenSingle),
            (1, _) => Some(Category::SeenSingle),
            (2, 0) => Some(Category::ComboSeen0),
            (2, 1) => Some(Category::ComboSeen1),
            (2, _) => Some(Category::ComboSeen2),
            _ => None,
        }
    }

    /// Whether a perturbation with `n_genes` genes can have this category.
    pub fn fits_genes(self, n_genes: usize) -> bool {
        match self {
            Category::UnseenSingle | Category::SeenSingle => n_genes == 1,
            _ => n_genes == 2,
        }
    }
}

/// One row of the category file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRow {
    /// `A` or `A+B`, as in the split files.
    pub perturbation: String,
    /// `train`, `val` or `test`.
    pub part: String,
    /// Its category (`None` only for names that are neither a single nor a double).
    pub category: Option<Category>,
}

/// The category file's text.
pub fn to_tsv(rows: &[CategoryRow]) -> String {
    let mut s = String::from("perturbation\tpart\tcategory\n");
    for r in rows.iter().filter(|r| r.category.is_some()) {
        s += &format!("{}\t{}\t{}\n", r.perturbation, r.part, r.category.map_or("", |c| c.name()));
    }
    s
}

/// The order-free key of a perturbation name: its genes sorted, joined by `+`.
pub fn pert_key(name: &str) -> String {
    let mut g = crate::graph::names::condition_genes(name);
    g.sort_unstable();
    g.join("+")
}

/// Categories by perturbation, read from a category file.
#[derive(Clone, Debug, Default)]
pub struct CategoryTable {
    /// Where it was read from.
    pub source: String,
    by_key: HashMap<String, Category>,
}

impl CategoryTable {
    /// A table from (perturbation, category) pairs (later pairs win).
    pub fn from_pairs(source: &str, pairs: impl IntoIterator<Item = (String, Category)>) -> Self {
        CategoryTable { source: source.into(), by_key: pairs.into_iter().map(|(p, c)| (pert_key(&p), c)).collect() }
    }

    /// The category of a perturbation (`A`, `A+ctrl`, `A+B` or `B+A`).
    pub fn get(&self, name: &str) -> Option<Category> {
        self.by_key.get(&pert_key(name)).copied()
    }

    /// Number of perturbations.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Reads a category file (a `categories.tsv` written by `split`, or `builtin:`-free path).
    pub fn read(path: &std::path::Path) -> Result<Self> {
        Self::parse(TextInput::read(path)?)
    }

    /// Parses a category file. A missing column, an unknown category, a category that does not
    /// fit the perturbation's number of genes, or a perturbation listed twice (in either gene
    /// order) is an error naming the file, the line and the fix.
    pub fn parse(input: TextInput) -> Result<Self> {
        let mut lines = input.lines().data("#");
        let header = lines.next().ok_or_else(|| input.empty("a header `perturbation, part, category` (the categories.tsv of `graphreach split --scheme simulation`)"))?;
        let mut f = Vec::new();
        header.fields(Sep::Tab, &mut f)?;
        let col = |name: &str, f: &[std::borrow::Cow<str>]| {
            f.iter().position(|h| h == name).ok_or_else(|| header.err(format!("no column '{name}'; expected the header `perturbation, part, category` that `graphreach split --scheme simulation` writes")))
        };
        let (pi, ci) = (col("perturbation", &f)?, col("category", &f)?);
        let mut by_key: HashMap<String, Category> = HashMap::new();
        let mut line_of: HashMap<String, usize> = HashMap::new();
        for l in lines {
            l.fields(Sep::Tab, &mut f)?;
            let (Some(p), Some(c)) = (f.get(pi), f.get(ci)) else {
                return Err(l.err(format!("{} field(s); every row needs a perturbation and a category", f.len())));
            };
            let names: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
            let cat = Category::parse(c).ok_or_else(|| l.err(format!("unknown category '{c}'; use one of {}", names.join(", "))))?;
            let n = crate::graph::names::condition_genes(p).len();
            if !cat.fits_genes(n) {
                return Err(l.err(format!("'{p}' has {n} gene(s) but category {c}; singles are unseen_single/seen_single, doubles combo_seen0/1/2")));
            }
            let key = pert_key(p);
            if let Some(first) = line_of.insert(key.clone(), l.no) {
                return Err(l.err(format!("perturbation '{p}' is listed twice (first at line {first}, in either gene order); keep one row")));
            }
            by_key.insert(key, cat);
        }
        if by_key.is_empty() {
            return Err(input.empty("one row per perturbation after the header"));
        }
        Ok(CategoryTable { source: input.name().to_string(), by_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CategoryTable> {
        CategoryTable::parse(TextInput::from_bytes(text.as_bytes().to_vec(), "c.tsv").unwrap())
    }

    #[test]
    fn categories_round_trip_and_ignore_gene_order() {
        let rows = vec![
            CategoryRow { perturbation: "A".into(), part: "train".into(), category: Some(Category::SeenSingle) },
            CategoryRow { perturbation: "B+C".into(), part: "test".into(), category: Some(Category::ComboSeen1) },
        ];
        let t = parse(&to_tsv(&rows)).unwrap();
        assert_eq!(t.get("A+ctrl"), Some(Category::SeenSingle));
        assert_eq!(t.get("C+B"), Some(Category::ComboSeen1));
        assert_eq!(t.get("D"), None);
        assert_eq!(Category::of("A+B", &|g| g == "A"), Some(Category::ComboSeen1));
        assert_eq!(Category::of("ctrl", &|_| true), None);
    }

    #[test]
    fn bad_category_files_name_the_line_and_the_fix() {
        let h = "perturbation\tpart\tcategory\n";
        let e = parse(&format!("{h}A\ttest\tcombo_seen9\n")).unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:2:") && e.contains("combo_seen0"), "{e}");
        let e = parse(&format!("{h}A+B\ttest\tcombo_seen1\nB+A\ttest\tcombo_seen1\n")).unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:3:") && e.contains("listed twice") && e.contains("line 2"), "{e}");
        let e = parse(&format!("{h}A\ttest\tcombo_seen1\n")).unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:2:") && e.contains("1 gene(s)"), "{e}");
        let e = parse("pert\tcategory\nA\tseen_single\n").unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:1:") && e.contains("'perturbation'"), "{e}");
        assert!(parse(h).is_err());
    }
}
