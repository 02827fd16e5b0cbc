//! `report.md`: the protocol, the paper's two tables (selection stability; test error x 10^3 with
//! 95% intervals next to the baselines), the error by cycle, the graph-noise table, the figures
//! with captions, plain statements of what the numbers show, and the run time.

use super::figures::display_name;
use super::stats::Estimate;
use super::summary::{Aggregates, PRIMARY};
use super::Record;
use crate::study::config::StudyMethod;
use crate::study::folder::StudyDir;
use crate::study::plan::noise_label;
use std::fmt::Write as _;

fn est(e: Option<&Estimate>, k: f64, digits: usize) -> String {
    match e {
        None => "—".into(),
        Some(e) => {
            let e = e.scaled(k);
            if e.lo.is_finite() {
                format!("{:.d$} [{:.d$}, {:.d$}]", e.mean, e.lo, e.hi, d = digits)
            } else {
                format!("{:.d$} (n = {})", e.mean, e.n, d = digits)
            }
        }
    }
}

fn mean_sd(e: Option<&Estimate>) -> String {
    match e {
        None => "—".into(),
        Some(e) if e.sd.is_finite() => format!("{:.3} ± {:.3} (n = {})", e.mean, e.sd, e.n),
        Some(e) => format!("{:.3} (n = {})", e.mean, e.n),
    }
}

/// A plain-language verdict on a paired difference (method − random; lower error is better).
fn verdict(e: &Estimate) -> &'static str {
    if !e.lo.is_finite() {
        "too few paired units to tell"
    } else if e.hi < 0.0 {
        "lower error than Random (95% interval of the paired difference below 0)"
    } else if e.lo > 0.0 {
        "HIGHER error than Random (95% interval of the paired difference above 0)"
    } else {
        "no clear difference from Random (95% interval of the paired difference includes 0)"
    }
}

/// The report text.
pub fn report_md(sd: &StudyDir, records: &[Record], agg: &Aggregates, incomplete: usize, figures: &[String]) -> String {
    let cfg = &sd.study.config;
    let p = &cfg.protocol;
    let t = &cfg.training;
    let c = p.cycles;
    let k = 1000.0;
    let mut s = String::new();
    let _ = writeln!(s, "# Study `{}`\n", cfg.name);
    if !cfg.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", cfg.description.trim());
    }
    let synthetic: Vec<&str> = sd.infos.values().filter(|i| i.synthetic).map(|i| i.name.as_str()).collect();
    if !synthetic.is_empty() {
        let _ = writeln!(s, "> **SYNTHETIC DATA:** {} {} simulated by `graphreach simulate` (SIMULATOR.md), not measured. Results on {} say how the methods behave on the simulator's biology, not on real cells.\n", synthetic.join(", "), if synthetic.len() == 1 { "is" } else { "are" }, if synthetic.len() == 1 { "it" } else { "them" });
    }
    let _ = writeln!(
        s,
        "Written by `graphreach experiment report` from {} complete unit(s){}. Every unit is one GEARS training on one selection, evaluated on its fold's held-out test perturbations together with three baselines.\n",
        records.len(),
        if incomplete > 0 { format!("; **{incomplete} unit(s) of the plan are not complete yet, so this report is partial**") } else { String::new() }
    );
    let _ = writeln!(s, "## Protocol\n");
    let _ = writeln!(s, "| dataset | source | cells | genes | perturbations | training batch / cycle | validation / cycle | GO graph |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for d in &sd.study.datasets {
        let i = sd.info(&d.spec.name);
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {} | `{}` |",
            display_name(sd, &i.name),
            i.source,
            i.n_cells,
            i.n_genes,
            i.n_perturbations,
            i.batch,
            i.val,
            i.graph
        );
        for n in &i.notes {
            let _ = writeln!(s, "\n{}: {n}.", i.name);
        }
        if !i.dropped.is_empty() {
            let _ = writeln!(s, "\n{}: {} perturbation(s) dropped (genes not in the graph): {}.", i.name, i.dropped.len(), i.dropped.join(", "));
        }
    }
    let folds = sd.study.folds.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        s,
        "\n- {} folds (split seed {}; folds run: {folds}): each fold holds out ~1/{} of the perturbations as its fixed test part.",
        p.folds, p.split_seed, p.folds
    );
    let _ = writeln!(s, "- Seeds: {:?}. Cycles: {c}, {} wet-lab days each.", p.seeds, p.days_per_cycle);
    let _ = writeln!(s, "- Methods: {}.", sd.study.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "));
    let _ = writeln!(
        s,
        "- One-shot methods (graphreach, maxspec, random) select the whole budget ({c} batches) at once; cycle c trains on the first c batches. Active learning (typiclust, acs-fw) starts from a seeded random first batch (the first batch of Random for the same seed), then each cycle embeds the pool with the previous cycle's model and queries the next batch; hybrid starts from GraphReach's first batch, then runs TypiClust. Every cycle trains a fresh model on all batches so far."
    );
    let _ = writeln!(s, "- Graph noise levels: {} (the selection graph only; GEARS always trains on the graph as it is).", p.graph_noise.iter().map(|n| noise_label(*n)).collect::<Vec<_>>().join(", "));
    let _ = writeln!(
        s,
        "- GEARS: {} epochs, hidden {}, batch {}, lr {} (x{} per epoch), model selection `{}`, evaluation `{}`, co-expression from `{}` cells, backend `{}`, {} thread(s) per unit.",
        t.epochs,
        t.hidden,
        t.batch_size,
        t.lr,
        t.lr_decay,
        serde_json::to_value(t.model_selection).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        serde_json::to_value(t.eval_mode).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        serde_json::to_value(t.coexpr_cells).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        t.backend,
        cfg.resources.threads
    );
    let _ = writeln!(
        s,
        "- Error: `{PRIMARY}` = MSE over each test perturbation's top-20 non-dropout DE genes (IterPert's metric), averaged over the fold's test perturbations; `mse_de` = the same over GEARS's top-20 DE genes. Tables show x 10^3, mean [95% t-interval] over the (fold, seed) units."
    );

    let methods = &sd.study.methods;
    let datasets: Vec<&str> = sd.study.datasets.iter().map(|d| d.spec.name.as_str()).collect();
    let _ = writeln!(s, "\n## Table 1: selection stability (final cycle {c}, graph as it is)\n");
    let _ = writeln!(s, "Mean pairwise Jaccard similarity of the final training sets: across seeds within a fold (mean ± sd over folds), and across folds for one seed (mean ± sd over seeds). 1 means every run picked the same perturbations. Pools differ between folds, so the across-folds value is bounded below 1 even for a deterministic method.\n");
    let _ = writeln!(s, "| dataset | method | across seeds, within a fold | across folds, same seed |");
    let _ = writeln!(s, "|---|---|---|---|");
    for ds in &datasets {
        for &m in methods {
            let g = |metric: &str| agg.get(ds, "0.0", m, c, "selection", metric);
            let _ = writeln!(s, "| {} | {} | {} | {} |", display_name(sd, ds), m.as_str(), mean_sd(g("jaccard_within_fold")), mean_sd(g("jaccard_across_folds")));
        }
    }

    let _ = writeln!(s, "\n## Table 2: test error x 10^3 (final cycle {c}, graph as it is)\n");
    let _ = writeln!(s, "GEARS next to the three baselines evaluated on the same test perturbations: *mean* predicts the mean of the unit's training perturbations, *linear* is a kernel ridge on GO-neighbourhood features of the perturbed genes trained on them, *no change* predicts the control mean. The last column is GEARS's error minus Random's on the same (fold, seed), with its 95% interval. Lower is better.\n");
    let _ = writeln!(s, "| dataset | method | days | training perts | GEARS `{PRIMARY}` | GEARS `mse_de` | mean baseline | linear baseline | no change | GEARS − Random |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for ds in &datasets {
        for &m in methods {
            let g = |pred: &str, metric: &str| agg.get(ds, "0.0", m, c, pred, metric);
            let row = agg.rows.iter().find(|r| r.dataset == *ds && r.noise == "0.0" && r.method == m && r.cycle == c);
            let (days, ntr) = row.map_or(("—".to_string(), "—".to_string()), |r| (format!("{}", r.days), format!("{:.0}", r.n_train)));
            let _ = writeln!(
                s,
                "| {} | {} | {days} | {ntr} | {} | {} | {} | {} | {} | {} |",
                display_name(sd, ds),
                m.as_str(),
                est(g("gears", PRIMARY), k, 2),
                est(g("gears", "mse_de"), k, 2),
                est(g("mean", PRIMARY), k, 2),
                est(g("linear", PRIMARY), k, 2),
                est(g("no_change", PRIMARY), k, 2),
                if m == StudyMethod::Random { "0".into() } else { est(g("gears_minus_random", PRIMARY), k, 2) }
            );
        }
    }

    let _ = writeln!(s, "\n## Test error x 10^3 by cycle (GEARS, `{PRIMARY}`, graph as it is)\n");
    let _ = write!(s, "| dataset | method |");
    for cy in 1..=c {
        let _ = write!(s, " cycle {cy} |");
    }
    let _ = writeln!(s, "\n|---|---|{}", "---|".repeat(c));
    for ds in &datasets {
        for &m in methods {
            let _ = write!(s, "| {} | {} |", display_name(sd, ds), m.as_str());
            for cy in 1..=c {
                let _ = write!(s, " {} |", est(agg.get(ds, "0.0", m, cy, "gears", PRIMARY), k, 2));
            }
            let _ = writeln!(s);
        }
    }

    if p.graph_noise.len() > 1 {
        let _ = writeln!(s, "\n## Table 3: graph noise (final cycle {c})\n");
        let _ = writeln!(s, "Each level drops that fraction of the GO graph's edges and adds as many random ones (seeded per experiment seed) before selecting; GEARS trains on the graph as it is. Only the methods that read the graph are rerun; Random, TypiClust and ACS-FW do not depend on its edges. *Overlap* is the Jaccard similarity between the selection on the noisy graph and on the graph as it is (same fold and seed).\n");
        let _ = writeln!(s, "| dataset | method | noise | GEARS `{PRIMARY}` x 10^3 | GEARS − Random | overlap with noise-free selection | stability across seeds |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        for ds in &datasets {
            for &m in methods.iter().filter(|m| m.reads_graph()) {
                for &n in &p.graph_noise {
                    let nl = noise_label(n);
                    let g = |pred: &str, metric: &str| agg.get(ds, &nl, m, c, pred, metric);
                    let _ = writeln!(
                        s,
                        "| {} | {} | {nl} | {} | {} | {} | {} |",
                        display_name(sd, ds),
                        m.as_str(),
                        est(g("gears", PRIMARY), k, 2),
                        est(g("gears_minus_random", PRIMARY), k, 2),
                        if n == 0.0 { "1 (reference)".into() } else { mean_sd(g("selection", "jaccard_with_noise_free")) },
                        mean_sd(g("selection", "jaccard_within_fold"))
                    );
                }
            }
        }
    }

    let _ = writeln!(s, "\n## What the numbers show\n");
    let _ = writeln!(s, "Statements generated from the tables above by fixed rules (paired 95% intervals; the final cycle; the graph as it is).\n");
    for ds in &datasets {
        let name = display_name(sd, ds);
        for &m in methods.iter().filter(|&&m| m != StudyMethod::Random) {
            if let Some(e) = agg.get(ds, "0.0", m, c, "gears_minus_random", PRIMARY) {
                let _ = writeln!(s, "- {name}, {}: {} ({}).", m.as_str(), verdict(e), est(Some(e), k, 2));
            }
        }
        for &m in methods {
            let (Some(gm), Some(mean), Some(lin)) = (
                agg.get(ds, "0.0", m, c, "gears", PRIMARY),
                agg.get(ds, "0.0", m, c, "mean", PRIMARY),
                agg.get(ds, "0.0", m, c, "linear", PRIMARY),
            ) else {
                continue;
            };
            let best = if mean.mean <= lin.mean { ("mean", mean) } else { ("linear", lin) };
            if gm.mean > best.1.mean {
                let _ = writeln!(
                    s,
                    "- {name}, {}: GEARS ({:.2}) does **not** beat the {} baseline ({:.2}) on average.",
                    m.as_str(),
                    gm.mean * k,
                    best.0,
                    best.1.mean * k
                );
            }
        }
    }

    if !figures.is_empty() {
        let _ = writeln!(s, "\n## Figures\n");
        for f in figures {
            let caption = if f.starts_with("error_vs_days") {
                "Test error against wet-lab days (the paper's Figure 3). Active-learning curves put cycle c at c rounds of wet-lab work; a one-shot method needs one round for its whole budget, so its full-budget error is a point at one round and a dashed level across the plot: where an active-learning curve crosses that level is when it catches up. Bands and bars: 95% t-intervals over (fold, seed) units."
            } else if f.starts_with("error_by_cycle") {
                "Test error against the cycle, i.e. the number of training perturbations (c batches), every method at the same budget. Bands: 95% t-intervals over (fold, seed) units; dashed black line: the no-change baseline."
            } else if f.starts_with("stability") {
                "Stability of the final selections: mean pairwise Jaccard across seeds within a fold (bars: ± sd over folds) and across folds for the same seed (± sd over seeds)."
            } else {
                "Test error of the graph-reading methods when the selection graph is perturbed (x: % of edges dropped and as many added at random); dashed: Random, which does not read the graph. Bars: 95% t-intervals."
            };
            let _ = writeln!(s, "![{f}]({f})\n\n*{caption}*\n");
        }
    }

    let _ = writeln!(s, "## How to read this report\n");
    let _ = writeln!(s, "- `results.tsv` has one row per unit; `summary.tsv` has the means, standard deviations and 95% intervals behind every table (one row per dataset, noise, method, cycle, predictor, metric; `predictor = selection` rows are the Jaccard stabilities, `gears_minus_random` the paired differences).");
    let _ = writeln!(s, "- An interval is a t-interval over (fold, seed) units, which are not fully independent (folds share perturbations in training), so it is optimistic; with few folds and seeds it is wide.");
    let _ = writeln!(s, "- Days: a one-shot method's model of any cycle exists after one round (its whole budget is ordered at once); an active-learning model of cycle c after c rounds.");

    let tot = |f: fn(&Record) -> f64| records.iter().map(f).sum::<f64>();
    let _ = writeln!(s, "\n## Run time\n");
    let _ = writeln!(
        s,
        "Training and evaluation {:.0} s wall ({:.0} s of CPU in the epochs), embedding {:.0} s, selection {:.0} s, over {} units (the sum over units; with several units at once the wall time of the run is shorter). The numbers above do not depend on these times.",
        tot(|r| r.m.train_seconds),
        tot(|r| r.m.train_cpu_seconds),
        tot(|r| r.m.embed_seconds),
        tot(|r| r.m.select_seconds),
        records.len()
    );
    s
}
