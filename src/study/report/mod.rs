//! `experiment report DIR`: reads every unit's `metrics.json` and `selection.tsv` and writes
//! `DIR/report/`: `results.tsv` (one row per unit, plan order), `summary.tsv` (means, sd and 95%
//! t-intervals per dataset, noise, method, cycle, predictor and metric; selection stability),
//! `report.md` (the paper's tables and the noise table, with the figures) and the SVG figures.
//!
//! `results.tsv` holds only values that a rerun reproduces bit for bit, except `train_seconds`.

mod figures;
mod markdown;
pub mod stats;
pub mod summary;

use super::config::StudyMethod;
use super::folder::StudyDir;
use super::fsio::write_text;
use super::plan::noise_label;
use super::unit::{read_metrics, read_selection, UnitMetrics};
use crate::error::{preview_list, Error, Result};
use std::collections::HashSet;
use std::path::PathBuf;

/// One complete unit as the report sees it.
#[derive(Clone, Debug)]
pub struct Record {
    /// Its metrics.
    pub m: UnitMetrics,
    /// Its method.
    pub method: StudyMethod,
    /// Its training set.
    pub set: HashSet<String>,
}

/// The exact header of results.tsv.
pub const RESULTS_HEADER: &str = "dataset\tmethod\tfold\tseed\tcycle\tnoise\tn_train\tdays\tmse_de\tmse_top20_de_non_dropout\tpearson_delta\tpearson_delta_de\tno_change_mse_de\tno_change_mse_top20_de_non_dropout\tno_change_pearson_delta\tno_change_pearson_delta_de\tmean_mse_de\tmean_mse_top20_de_non_dropout\tmean_pearson_delta\tmean_pearson_delta_de\tlinear_mse_de\tlinear_mse_top20_de_non_dropout\tlinear_pearson_delta\tlinear_pearson_delta_de\ttrain_seconds";

/// What the report wrote.
#[derive(Clone, Debug)]
pub struct ReportOutcome {
    /// The report folder.
    pub dir: PathBuf,
    /// Units reported.
    pub units: usize,
    /// Units of the plan not complete (reported only with `allow_partial`).
    pub incomplete: usize,
    /// Files written (names).
    pub files: Vec<String>,
}

fn days(x: f64) -> String {
    if x.fract() == 0.0 { format!("{}", x as i64) } else { format!("{x}") }
}

/// results.tsv.
pub fn results_tsv(records: &[Record]) -> String {
    let mut s = String::from(RESULTS_HEADER);
    s.push('\n');
    for r in records {
        let m = &r.m;
        s += &format!("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", m.dataset, m.method, m.fold, m.seed, m.cycle, noise_label(m.noise), m.n_train, days(m.days));
        for p in summary::PREDICTORS {
            for k in summary::METRICS {
                s += &format!("\t{:.8}", summary::metric(summary::predictor(r, p), k));
            }
        }
        s += &format!("\t{:.2}\n", m.train_seconds);
    }
    s
}

/// Reads the complete units of `sd` in plan order; the incomplete ones are an error unless
/// `allow_partial`. Returns the records and the number of incomplete units.
pub fn gather(sd: &StudyDir, allow_partial: bool) -> Result<(Vec<Record>, usize)> {
    let incomplete: Vec<&str> = sd.entries.iter().filter(|e| !sd.is_complete(e)).map(|e| e.id.as_str()).collect();
    if !incomplete.is_empty() && !allow_partial {
        return Err(Error::invalid(format!(
            "{} of {} units are not complete ({}): run them first (`graphreach experiment run`), or pass --partial to report the complete ones",
            incomplete.len(),
            sd.entries.len(),
            preview_list(&incomplete)
        )));
    }
    let mut out = Vec::new();
    for e in sd.entries.iter().filter(|e| sd.is_complete(e)) {
        let m = read_metrics(sd, e)?;
        let set = read_selection(&sd.unit_dir(e).join("selection.tsv"))?.into_iter().map(|r| r.perturbation).collect();
        let method = StudyMethod::parse(&m.method).ok_or_else(|| Error::invalid(format!("{}: unknown method {}", e.id, m.method)))?;
        out.push(Record { m, method, set });
    }
    Ok((out, incomplete.len()))
}

/// Writes `DIR/report/`.
pub fn write_report(sd: &StudyDir, allow_partial: bool) -> Result<ReportOutcome> {
    let (records, incomplete) = gather(sd, allow_partial)?;
    if records.is_empty() {
        return Err(Error::invalid("no unit is complete yet: nothing to report"));
    }
    let dir = sd.dir.join("report");
    let agg = summary::aggregate(&records);
    let mut files = Vec::new();
    let mut put = |name: &str, text: &str| -> Result<()> {
        write_text(&dir.join(name), text)?;
        files.push(name.to_string());
        Ok(())
    };
    put("results.tsv", &results_tsv(&records))?;
    put("summary.tsv", &summary::summary_tsv(&agg))?;
    let figs = figures::draw_all(sd, &records, &agg)?;
    for (name, svg) in &figs {
        put(name, svg)?;
    }
    let names: Vec<String> = figs.iter().map(|f| f.0.clone()).collect();
    put("report.md", &markdown::report_md(sd, &records, &agg, incomplete, &names))?;
    Ok(ReportOutcome { dir, units: records.len(), incomplete, files })
}
