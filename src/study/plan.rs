//! Units and the plan: every (dataset, noise, method, fold, seed, cycle) of a study, its id, the
//! units it depends on and the command that runs it (`DIR/plan.jsonl`, one JSON object a line, in
//! an order where every unit comes after the units it depends on).
//!
//! * Graph noise levels above 0 are run only for the methods that read the graph to select
//!   (graphreach, maxspec, hybrid); random, typiclust and acs-fw do not depend on the graph's
//!   edges, so their noise-0 units stand for every level.
//! * One-shot units (graphreach, maxspec, random) depend on nothing: cycle c trains on the first c
//!   batches of the method's order. Active-learning units (typiclust, acs-fw, hybrid) of cycle
//!   c > 1 depend on cycle c - 1 of the same dataset, noise, method, fold and seed (its model
//!   embeds the pool; its training set is extended).

use super::config::{Study, StudyMethod};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One unit of work: one GEARS training on one selection.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// Dataset name.
    pub dataset: String,
    /// Graph noise level (fraction of edges dropped and added).
    pub noise: f64,
    /// Method.
    pub method: StudyMethod,
    /// 1-based fold.
    pub fold: usize,
    /// Experiment seed.
    pub seed: u64,
    /// 1-based cycle.
    pub cycle: usize,
}

/// A noise level as written in ids and file names: `0.0`, `0.1`, `0.25`.
pub fn noise_label(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') { s } else { s + ".0" }
}

impl Unit {
    /// The unit id: `STUDY__DATASET__METHOD__nNOISE__fFOLD__sSEED__cCYCLE`, filesystem-safe.
    pub fn id(&self, study: &str) -> String {
        self.id_at(study, self.cycle)
    }

    fn id_at(&self, study: &str, cycle: usize) -> String {
        format!(
            "{study}__{}__{}__n{}__f{:02}__s{}__c{cycle}",
            self.dataset,
            self.method.as_str(),
            noise_label(self.noise),
            self.fold,
            self.seed
        )
    }

    /// Ids of the units this one needs complete first.
    pub fn deps(&self, study: &str) -> Vec<String> {
        if self.method.one_shot() || self.cycle == 1 {
            Vec::new()
        } else {
            vec![self.id_at(study, self.cycle - 1)]
        }
    }

    /// Wet-lab days until this unit's model exists: one round for a one-shot method whatever its
    /// budget, `cycle` rounds for active learning.
    pub fn days(&self, days_per_cycle: f64) -> f64 {
        if self.method.one_shot() { days_per_cycle } else { self.cycle as f64 * days_per_cycle }
    }
}

/// Every unit of the study, in plan order (dataset, noise, method, fold, seed, cycle).
pub fn units(study: &Study) -> Vec<Unit> {
    let p = &study.config.protocol;
    let mut out = Vec::new();
    for d in &study.datasets {
        for &noise in &p.graph_noise {
            for &method in &study.methods {
                if noise > 0.0 && !method.reads_graph() {
                    continue;
                }
                for &fold in &study.folds {
                    for &seed in &p.seeds {
                        for cycle in 1..=p.cycles {
                            out.push(Unit { dataset: d.spec.name.clone(), noise, method, fold, seed, cycle });
                        }
                    }
                }
            }
        }
    }
    out
}

/// One line of `plan.jsonl` (the contract with workflow engines).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Unit id ([A-Za-z0-9._-]).
    pub id: String,
    /// Dataset name.
    pub dataset: String,
    /// Method name.
    pub method: String,
    /// Graph noise level.
    pub noise: f64,
    /// 1-based fold.
    pub fold: usize,
    /// Experiment seed.
    pub seed: u64,
    /// 1-based cycle.
    pub cycle: usize,
    /// Units that must be complete before this one starts.
    pub deps: Vec<String>,
    /// The unit's folder, relative to the study folder.
    pub dir: String,
    /// The completion marker, relative to the study folder: written last, by rename; present == complete.
    pub marker: String,
    /// CPU threads of the unit.
    pub threads: usize,
    /// Memory in MB.
    pub mem_mb: u64,
    /// GPUs (0 or 1).
    pub gpu: u32,
    /// Wall-clock minutes (`resources.minutes`), when the configuration gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u64>,
    /// The argv that runs the unit.
    pub command: Vec<String>,
}

/// The marker's file name inside a unit folder.
pub const MARKER: &str = "done.json";

/// The lock file a running unit holds in its folder (flock, `pid N host H`; removed on release).
pub const UNIT_LOCK: &str = ".lock";

/// The plan entries of `study` for the study folder `dir` (absolute), run by `exe`.
pub fn plan_entries(study: &Study, dir: &Path, exe: &str) -> Vec<PlanEntry> {
    let name = &study.config.name;
    let r = &study.config.resources;
    units(study)
        .into_iter()
        .map(|u| {
            let id = u.id(name);
            PlanEntry {
                deps: u.deps(name),
                dir: format!("units/{id}"),
                marker: format!("units/{id}/{MARKER}"),
                threads: r.threads,
                mem_mb: r.mem_mb,
                gpu: study.gpu,
                minutes: r.minutes,
                command: vec![exe.to_string(), "experiment".into(), "run-unit".into(), dir.display().to_string(), id.clone()],
                dataset: u.dataset,
                method: u.method.as_str().to_string(),
                noise: u.noise,
                fold: u.fold,
                seed: u.seed,
                cycle: u.cycle,
                id,
            }
        })
        .collect()
}

/// The plan as JSON lines.
pub fn to_jsonl(entries: &[PlanEntry]) -> String {
    entries.iter().map(|e| serde_json::to_string(e).expect("plan entry serialises") + "\n").collect()
}

impl PlanEntry {
    /// The unit this entry describes.
    pub fn unit(&self) -> Unit {
        Unit {
            dataset: self.dataset.clone(),
            noise: self.noise,
            method: StudyMethod::parse(&self.method).expect("plan methods are checked when the plan is read"),
            fold: self.fold,
            seed: self.seed,
            cycle: self.cycle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::config::parse_config;

    fn study(extra: &str) -> Study {
        let text = format!(
            r#"
name = "t"
methods = ["graphreach", "random", "typiclust", "hybrid"]
[[datasets]]
name = "d"
source = "builtin:papalexi"
[protocol]
folds = 5
run_folds = [1, 3]
seeds = [0, 7]
cycles = 3
batch = 2
graph_noise = [0.0, 0.3]
{extra}
"#
        );
        parse_config(&text, "c.toml").unwrap().check("c.toml", None).unwrap()
    }

    #[test]
    fn units_cover_the_grid_with_noise_only_for_graph_methods() {
        let s = study("");
        let u = units(&s);
        // noise 0: 4 methods; noise 0.3: graphreach and hybrid. x 2 folds x 2 seeds x 3 cycles.
        assert_eq!(u.len(), (4 + 2) * 2 * 2 * 3);
        assert!(u.iter().filter(|x| x.noise > 0.0).all(|x| x.method.reads_graph()));
        let ids: std::collections::HashSet<String> = u.iter().map(|x| x.id("t")).collect();
        assert_eq!(ids.len(), u.len(), "ids are unique");
        assert!(ids.iter().all(|i| i.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))));
        assert!(ids.contains("t__d__hybrid__n0.3__f03__s7__c2"));
    }

    #[test]
    fn deps_chain_active_learning_cycles_and_come_first() {
        let s = study("");
        let e = plan_entries(&s, Path::new("/abs/dir"), "graphreach");
        let pos: std::collections::HashMap<&str, usize> = e.iter().enumerate().map(|(i, x)| (x.id.as_str(), i)).collect();
        for (i, x) in e.iter().enumerate() {
            for d in &x.deps {
                assert!(pos[d.as_str()] < i, "{} before {}", d, x.id);
            }
            let al = !StudyMethod::parse(&x.method).unwrap().one_shot();
            assert_eq!(x.deps.len(), usize::from(al && x.cycle > 1), "{}", x.id);
            assert_eq!(x.marker, format!("units/{}/done.json", x.id));
            assert_eq!(x.command, vec!["graphreach", "experiment", "run-unit", "/abs/dir", x.id.as_str()]);
        }
        let t = e.iter().find(|x| x.id == "t__d__typiclust__n0.0__f01__s0__c3").unwrap();
        assert_eq!(t.deps, vec!["t__d__typiclust__n0.0__f01__s0__c2"]);
        let text = to_jsonl(&e);
        let back: Vec<PlanEntry> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(back, e);
        assert!(text.lines().next().unwrap().contains("\"noise\":0.0"));
    }

    #[test]
    fn days_count_rounds() {
        let mk = |m, c| Unit { dataset: "d".into(), noise: 0.0, method: m, fold: 1, seed: 0, cycle: c };
        assert_eq!(mk(StudyMethod::Graphreach, 5).days(30.0), 30.0);
        assert_eq!(mk(StudyMethod::Typiclust, 5).days(30.0), 150.0);
        assert_eq!(noise_label(0.0), "0.0");
        assert_eq!(noise_label(0.25), "0.25");
    }
}
