//! The aggregates behind `summary.tsv`, `report.md` and the figures: per (dataset, noise,
//! method, cycle) the mean and 95% interval of every metric over the (fold, seed) units, the
//! paired difference to Random, and the stability of the selections (mean pairwise Jaccard).

use super::stats::Estimate;
use super::Record;
use crate::gears::eval::metrics::MetricSummary;
use crate::study::config::StudyMethod;
use crate::study::plan::noise_label;
use std::collections::{BTreeMap, HashSet};

/// The four metrics of results.tsv, in column order.
pub const METRICS: [&str; 4] = ["mse_de", "mse_top20_de_non_dropout", "pearson_delta", "pearson_delta_de"];
/// The metric of the headline tables and figures (IterPert's top-20 non-dropout DE MSE; spec §13 item 4).
pub const PRIMARY: &str = "mse_top20_de_non_dropout";
/// Predictors: GEARS and the three baselines.
pub const PREDICTORS: [&str; 4] = ["gears", "no_change", "mean", "linear"];

/// A metric of a summary by name.
pub fn metric(m: &MetricSummary, name: &str) -> f64 {
    match name {
        "mse_de" => m.mse_de,
        "mse_top20_de_non_dropout" => m.mse_top20_de_non_dropout,
        "pearson_delta" => m.pearson_delta,
        "pearson_delta_de" => m.pearson_delta_de,
        _ => unreachable!("unknown metric {name}"),
    }
}

/// A predictor's metrics in a record.
pub fn predictor<'a>(r: &'a Record, p: &str) -> &'a MetricSummary {
    match p {
        "gears" => &r.m.model,
        "no_change" => &r.m.baselines.no_change,
        "mean" => &r.m.baselines.mean,
        "linear" => &r.m.baselines.linear,
        _ => unreachable!("unknown predictor {p}"),
    }
}

/// (dataset, noise label, method, cycle).
pub type GroupKey = (String, String, StudyMethod, usize);

/// One line of summary.tsv.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    /// Dataset.
    pub dataset: String,
    /// Noise label.
    pub noise: String,
    /// Method.
    pub method: StudyMethod,
    /// Cycle.
    pub cycle: usize,
    /// Days.
    pub days: f64,
    /// Mean training perturbations.
    pub n_train: f64,
    /// `gears`, a baseline, `gears_minus_random` or `selection`.
    pub predictor: String,
    /// A metric, or `jaccard_within_fold`, `jaccard_across_folds`, `jaccard_with_noise_free`.
    pub metric: String,
    /// The estimate.
    pub est: Estimate,
}

/// Everything aggregated.
#[derive(Clone, Debug, Default)]
pub struct Aggregates {
    /// summary.tsv rows in order.
    pub rows: Vec<SummaryRow>,
}

impl Aggregates {
    /// The estimate of (dataset, noise, method, cycle, predictor, metric), if computed.
    pub fn get(&self, dataset: &str, noise: &str, method: StudyMethod, cycle: usize, predictor: &str, metric: &str) -> Option<&Estimate> {
        self.rows
            .iter()
            .find(|r| r.dataset == dataset && r.noise == noise && r.method == method && r.cycle == cycle && r.predictor == predictor && r.metric == metric)
            .map(|r| &r.est)
    }
}

fn mean_pairwise(sets: &[&HashSet<String>]) -> Option<f64> {
    if sets.len() < 2 {
        return None;
    }
    let mut v = Vec::new();
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            v.push(crate::select::stability::jaccard(sets[i], sets[j]));
        }
    }
    Some(v.iter().sum::<f64>() / v.len() as f64)
}

/// Aggregates the records (grouped in the order they first appear, i.e. plan order).
pub fn aggregate(records: &[Record]) -> Aggregates {
    let mut groups: Vec<(GroupKey, Vec<&Record>)> = Vec::new();
    let mut at: BTreeMap<GroupKey, usize> = BTreeMap::new();
    for r in records {
        let k = (r.m.dataset.clone(), noise_label(r.m.noise), r.method, r.m.cycle);
        let i = *at.entry(k.clone()).or_insert_with(|| {
            groups.push((k, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(r);
    }
    let mut out = Aggregates::default();
    for ((dataset, noise, method, cycle), units) in &groups {
        let days = units[0].m.days;
        let n_train = units.iter().map(|r| r.m.n_train as f64).sum::<f64>() / units.len() as f64;
        let mut push = |predictor: &str, metric: &str, est: Estimate| {
            out.rows.push(SummaryRow {
                dataset: dataset.clone(),
                noise: noise.clone(),
                method: *method,
                cycle: *cycle,
                days,
                n_train,
                predictor: predictor.into(),
                metric: metric.into(),
                est,
            })
        };
        for p in PREDICTORS {
            for m in METRICS {
                let v: Vec<f64> = units.iter().map(|r| metric(predictor(r, p), m)).collect();
                push(p, m, Estimate::of(&v));
            }
        }
        // Paired difference to Random (same dataset, fold, seed, cycle; Random has noise 0 only).
        if *method != StudyMethod::Random {
            let rand: BTreeMap<(usize, u64), &Record> = records
                .iter()
                .filter(|r| r.method == StudyMethod::Random && &r.m.dataset == dataset && r.m.cycle == *cycle && r.m.noise == 0.0)
                .map(|r| ((r.m.fold, r.m.seed), r))
                .collect();
            if !rand.is_empty() {
                for m in ["mse_de", PRIMARY] {
                    let d: Vec<f64> = units
                        .iter()
                        .filter_map(|r| rand.get(&(r.m.fold, r.m.seed)).map(|q| metric(&r.m.model, m) - metric(&q.m.model, m)))
                        .collect();
                    if !d.is_empty() {
                        push("gears_minus_random", m, Estimate::of(&d));
                    }
                }
            }
        }
        // Stability of the training sets of this cycle.
        let folds: Vec<usize> = units.iter().map(|r| r.m.fold).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let seeds: Vec<u64> = units.iter().map(|r| r.m.seed).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let within: Vec<f64> =
            folds.iter().filter_map(|&f| mean_pairwise(&units.iter().filter(|r| r.m.fold == f).map(|r| &r.set).collect::<Vec<_>>())).collect();
        let across: Vec<f64> =
            seeds.iter().filter_map(|&s| mean_pairwise(&units.iter().filter(|r| r.m.seed == s).map(|r| &r.set).collect::<Vec<_>>())).collect();
        if !within.is_empty() {
            push("selection", "jaccard_within_fold", Estimate::of(&within));
        }
        if !across.is_empty() {
            push("selection", "jaccard_across_folds", Estimate::of(&across));
        }
        if noise != "0.0" {
            let base: BTreeMap<(usize, u64), &Record> = records
                .iter()
                .filter(|r| r.method == *method && &r.m.dataset == dataset && r.m.cycle == *cycle && r.m.noise == 0.0)
                .map(|r| ((r.m.fold, r.m.seed), r))
                .collect();
            let v: Vec<f64> =
                units.iter().filter_map(|r| base.get(&(r.m.fold, r.m.seed)).map(|b| crate::select::stability::jaccard(&r.set, &b.set))).collect();
            if !v.is_empty() {
                push("selection", "jaccard_with_noise_free", Estimate::of(&v));
            }
        }
    }
    out
}

fn num(x: f64) -> String {
    if x.is_nan() { "NA".into() } else { format!("{x:.8}") }
}

/// summary.tsv: one row per (dataset, noise, method, cycle, predictor, metric).
pub fn summary_tsv(a: &Aggregates) -> String {
    let mut s = String::from("dataset\tnoise\tmethod\tcycle\tdays\tn_train\tpredictor\tmetric\tn\tmean\tsd\tci95_low\tci95_high\n");
    for r in &a.rows {
        s += &format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.dataset,
            r.noise,
            r.method.as_str(),
            r.cycle,
            r.days,
            r.n_train,
            r.predictor,
            r.metric,
            r.est.n,
            num(r.est.mean),
            num(r.est.sd),
            num(r.est.lo),
            num(r.est.hi)
        );
    }
    s
}
