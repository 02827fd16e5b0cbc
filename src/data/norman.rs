//! The real Norman 2019 inputs of `graphreach simulate --preset norman`, compiled in from
//! `data/sim/` (provenance in `data/sim/PROVENANCE.md`): the 105 single and 131 double CRISPRa
//! conditions of the Perturb-seq screen (GEARS-style names) and the authors' genetic-interaction
//! regression fits `δ_AB ≈ c1·δ_A + c2·δ_B` of 125 of the doubles.
//!
//! [`parse_design`] validates what it reads: a double naming a gene that has no single
//! condition, a pair listed twice (in either order), a fit of a pair that is not a double, a
//! fit listed twice or a non-finite coefficient is an error naming the input, its line and the fix.

use crate::error::Result;
use crate::files::text::{Sep, TextInput};
use std::collections::HashMap;

const CONDITIONS: &[u8] = include_bytes!("../../data/sim/norman2019_conditions.tsv");
const FITS: &[u8] = include_bytes!("../../data/sim/norman2019_gi_regression_fits.csv");

/// One genetic-interaction fit of Norman 2019 (`regr_fits_final.csv`), genes in the order of the
/// double's condition name (coefficients swapped where the fit named them the other way round).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GiFit {
    /// First gene of the double (as in its condition name `A+B`).
    pub first: String,
    /// Second gene.
    pub second: String,
    /// `coef_first`: weight of the first gene's single response.
    pub c1: f64,
    /// `coef_second`: weight of the second gene's single response.
    pub c2: f64,
    /// `corr_fit`: correlation of the fit `c1·δ_A + c2·δ_B` with the observed `δ_AB`.
    pub corr_fit: f64,
    /// `dcor`: distance correlation of the fit with the observed double.
    pub dcor: f64,
    /// Mean UMIs per cell of the double (`UMI_double`).
    pub umi_double: f64,
    /// Mean UMIs per cell of the first single (`UMI_first`).
    pub umi_first: f64,
    /// Mean UMIs per cell of the second single (`UMI_second`).
    pub umi_second: f64,
    /// `de_first`: log10 of the number of DE genes of the first single.
    pub de_first: f64,
    /// `de_second`: the same for the second single.
    pub de_second: f64,
    /// `de_double`: the same for the double.
    pub de_double: f64,
}

/// The Norman 2019 design: single genes, double pairs and the interaction fits.
#[derive(Clone, Debug)]
pub struct NormanDesign {
    /// Genes with a single condition `A+ctrl`, in first-listed order (105).
    pub singles: Vec<String>,
    /// Double conditions `(A, B)` as named `A+B`, in listed order (131).
    pub doubles: Vec<(String, String)>,
    /// Fits, in file order (125); `fit_of[k]` is the fit of `doubles[k]`, if any.
    pub fits: Vec<GiFit>,
    /// Per double, the index of its fit in `fits`.
    pub fit_of: Vec<Option<usize>>,
}

/// The embedded Norman 2019 design.
pub fn design() -> Result<NormanDesign> {
    parse_design(CONDITIONS, "builtin norman2019_conditions.tsv", FITS, "builtin norman2019_gi_regression_fits.csv")
}

/// Unordered key of a pair.
pub fn pair_key(a: &str, b: &str) -> (String, String) {
    if a <= b { (a.to_string(), b.to_string()) } else { (b.to_string(), a.to_string()) }
}

/// Parses a conditions table (`norman_condition, gears_style_condition, kind` with kind
/// `single`, `double` or `control`, tab-separated) and a fits table (comma-separated, Norman's
/// `regr_fits_final.csv` columns; `name` is `A_B`). See the module docs for what is refused.
pub fn parse_design(conditions: &[u8], cond_name: &str, fits: &[u8], fits_name: &str) -> Result<NormanDesign> {
    let input = TextInput::from_bytes(conditions.to_vec(), cond_name)?;
    let mut lines = input.lines().data("#");
    let header = lines.next().ok_or_else(|| input.empty("a header `norman_condition, gears_style_condition, kind`"))?;
    let mut f = Vec::new();
    header.fields(Sep::Tab, &mut f)?;
    let col = |name: &str, f: &[std::borrow::Cow<str>]| {
        f.iter().position(|h| h == name).ok_or_else(|| header.err(format!("no column '{name}'; the header must name gears_style_condition and kind")))
    };
    let (ci, ki) = (col("gears_style_condition", &f)?, col("kind", &f)?);
    let mut singles: Vec<String> = Vec::new();
    let mut raw_doubles: Vec<(String, String, usize)> = Vec::new();
    for l in lines {
        l.fields(Sep::Tab, &mut f)?;
        let (Some(c), Some(k)) = (f.get(ci), f.get(ki)) else {
            return Err(l.err(format!("{} field(s), the header has {}; every row needs a condition and a kind", f.len(), ci.max(ki) + 1)));
        };
        let genes = crate::graph::names::condition_genes(c);
        match (k.as_ref(), genes.len()) {
            ("control", 0) => {}
            ("single", 1) => {
                if !singles.iter().any(|s| s == genes[0]) {
                    singles.push(genes[0].to_string());
                }
            }
            ("double", 2) if genes[0] != genes[1] => raw_doubles.push((genes[0].to_string(), genes[1].to_string(), l.no)),
            _ => {
                return Err(l.err(format!(
                    "condition '{c}' of kind '{k}': a control is `ctrl`, a single `A+ctrl`, a double `A+B` with two different genes; fix the row"
                )))
            }
        }
    }
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut doubles = Vec::new();
    for (a, b, no) in raw_doubles {
        for g in [&a, &b] {
            if !singles.contains(g) {
                return Err(input.err(no, format!("double {a}+{b} names gene '{g}', which has no single condition `{g}+ctrl`; add its single row or remove the double")));
            }
        }
        if let Some(first) = seen.insert(pair_key(&a, &b), no) {
            return Err(input.err(no, format!("the pair {a}+{b} is listed twice (first at line {first}, in either gene order); remove one row")));
        }
        doubles.push((a, b));
    }
    if doubles.is_empty() {
        return Err(input.err(0, "no double conditions; the Norman design needs rows of kind `double`"));
    }
    let (fits, fit_of) = parse_fits(fits, fits_name, &doubles)?;
    Ok(NormanDesign { singles, doubles, fits, fit_of })
}

fn parse_fits(bytes: &[u8], name: &str, doubles: &[(String, String)]) -> Result<(Vec<GiFit>, Vec<Option<usize>>)> {
    let input = TextInput::from_bytes(bytes.to_vec(), name)?;
    let mut lines = input.lines().data("#");
    let header = lines.next().ok_or_else(|| input.empty("Norman's regr_fits_final.csv columns"))?;
    let mut f = Vec::new();
    header.fields(Sep::Comma, &mut f)?;
    let names: Vec<String> = f.iter().map(|s| s.to_string()).collect();
    let col = |c: &str| names.iter().position(|h| h == c).ok_or_else(|| header.err(format!("no column '{c}' (Norman's regr_fits_final.csv has it)")));
    let name_col = if names.first().is_some_and(|h| h.is_empty()) { 0 } else { col("name")? };
    let cols: Vec<usize> = ["coef_first", "coef_second", "corr_fit", "dcor", "UMI_double", "UMI_first", "UMI_second", "de_first", "de_second", "de_double"]
        .iter()
        .map(|c| col(c))
        .collect::<Result<_>>()?;
    let index: HashMap<(String, String), usize> = doubles.iter().enumerate().map(|(k, (a, b))| (pair_key(a, b), k)).collect();
    let mut fit_of: Vec<Option<usize>> = vec![None; doubles.len()];
    let mut fit_line: HashMap<usize, usize> = HashMap::new();
    let mut fits = Vec::new();
    for l in lines {
        l.fields(Sep::Comma, &mut f)?;
        let get = |i: usize| f.get(i).map(|s| s.as_ref()).unwrap_or("");
        let pair = get(name_col);
        let Some((a, b)) = pair.split_once('_') else {
            return Err(l.err(format!("fit name '{pair}' is not `A_B`; name the two genes of the double joined by `_`")));
        };
        let Some(&k) = index.get(&pair_key(a, b)) else {
            return Err(l.err(format!("fit {pair}: {a}+{b} is not one of the double conditions; remove the row or add the double")));
        };
        if let Some(first) = fit_line.insert(k, l.no) {
            return Err(l.err(format!("the pair {a}+{b} has a second fit (first at line {first}); keep one row per pair")));
        }
        let mut v = [0f64; 10];
        for (x, &c) in v.iter_mut().zip(&cols) {
            *x = get(c).parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
                l.err(format!("fit {pair}: column '{}' is '{}', not a finite number; fix the value", names[c], get(c)))
            })?;
        }
        let (da, db) = &doubles[k];
        let swap = da.as_str() != a;
        let (c1, c2, u1, u2, d1, d2) = if swap { (v[1], v[0], v[6], v[5], v[8], v[7]) } else { (v[0], v[1], v[5], v[6], v[7], v[8]) };
        fit_of[k] = Some(fits.len());
        fits.push(GiFit {
            first: da.clone(),
            second: db.clone(),
            c1,
            c2,
            corr_fit: v[2],
            dcor: v[3],
            umi_double: v[4],
            umi_first: u1,
            umi_second: u2,
            de_first: d1,
            de_second: d2,
            de_double: v[9],
        });
    }
    if fits.is_empty() {
        return Err(input.err(0, "no fits; the Norman preset draws its interaction coefficients from them"));
    }
    Ok((fits, fit_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_design_has_norman_sizes() {
        let d = design().unwrap();
        assert_eq!(d.singles.len(), 105);
        assert_eq!(d.doubles.len(), 131);
        assert_eq!(d.fits.len(), 125);
        assert_eq!(d.fit_of.iter().filter(|f| f.is_some()).count(), 125);
        let f = &d.fits[d.fit_of[0].unwrap()];
        assert_eq!((f.first.as_str(), f.second.as_str()), ("AHR", "FEV"));
        assert!((f.c1 - 0.2721199162410912).abs() < 1e-12 && (f.c2 - 3.9819579018868714).abs() < 1e-12);
    }

    const FITS_OK: &str = "name,coef_first,coef_second,corr_fit,dcor,UMI_double,UMI_first,UMI_second,de_first,de_second,de_double\nB_A,0.5,1.5,0.9,0.8,1,2,3,2.0,2.5,3.0\n";

    fn conds(rows: &str) -> Vec<u8> {
        format!("norman_condition\tgears_style_condition\tkind\nx\tctrl\tcontrol\nx\tA+ctrl\tsingle\nx\tB+ctrl\tsingle\nx\tctrl+A\tsingle\n{rows}").into_bytes()
    }

    #[test]
    fn a_fit_named_the_other_way_round_is_swapped() {
        let d = parse_design(&conds("x\tA+B\tdouble\n"), "c", FITS_OK.as_bytes(), "f").unwrap();
        assert_eq!(d.singles, ["A", "B"]);
        let f = &d.fits[0];
        assert_eq!((f.c1, f.c2, f.umi_first, f.umi_second, f.de_first, f.de_second), (1.5, 0.5, 3.0, 2.0, 2.5, 2.0));
    }

    #[test]
    fn bad_designs_name_the_line_and_the_fix() {
        let e = parse_design(&conds("x\tA+C\tdouble\n"), "c.tsv", FITS_OK.as_bytes(), "f").unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:6:") && e.contains("'C'") && e.contains("C+ctrl"), "{e}");
        let e = parse_design(&conds("x\tA+B\tdouble\nx\tB+A\tdouble\n"), "c.tsv", FITS_OK.as_bytes(), "f").unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:7:") && e.contains("listed twice") && e.contains("line 6"), "{e}");
        let e = parse_design(&conds("x\tA+A\tdouble\n"), "c.tsv", FITS_OK.as_bytes(), "f").unwrap_err().to_string();
        assert!(e.starts_with("c.tsv:6:") && e.contains("two different genes"), "{e}");
        let twice = format!("{FITS_OK}A_B,1,1,0.9,0.8,1,2,3,2,2,3\n");
        let e = parse_design(&conds("x\tA+B\tdouble\n"), "c", twice.as_bytes(), "f.csv").unwrap_err().to_string();
        assert!(e.starts_with("f.csv:3:") && e.contains("second fit"), "{e}");
        let unknown = FITS_OK.replace("B_A", "A_Z");
        let e = parse_design(&conds("x\tA+B\tdouble\n"), "c", unknown.as_bytes(), "f.csv").unwrap_err().to_string();
        assert!(e.starts_with("f.csv:2:") && e.contains("not one of the double"), "{e}");
        let nan = FITS_OK.replace("0.5,1.5", "nan,1.5");
        let e = parse_design(&conds("x\tA+B\tdouble\n"), "c", nan.as_bytes(), "f.csv").unwrap_err().to_string();
        assert!(e.starts_with("f.csv:2:") && e.contains("coef_first"), "{e}");
    }
}
