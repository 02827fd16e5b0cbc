//! The study configuration: a TOML file (or a preset embedded in the binary) parsed into
//! [`StudyConfig`], then checked into a [`Study`] whose every error names the key at fault.
//!
//! ```toml
//! name = "quick"                       # prefix of every unit id; [A-Za-z0-9._-]
//! methods = ["graphreach", "maxspec", "random", "typiclust", "acs-fw", "hybrid"]
//!
//! [[datasets]]
//! name = "papalexi"                    # [A-Za-z0-9._-]; a simulated dataset's name must contain "synthetic"
//! source = "builtin:papalexi"          # builtin:papalexi | simulate:adamson | simulate:replogle-k562-essential
//!                                      # | a raw-count .h5ad (path relative to the config file)
//!                                      # | prepared:PATH (a dataset already prepared, used as it is)
//! graph = "builtin:go-human"           # GO graph for selection and training
//!
//! [protocol]
//! folds = 10                           # k folds; fold f's test part is ~1/k of the perturbations
//! seeds = [0, 1, 2]
//! cycles = 5
//! batch = 0.05                         # per cycle: a fraction of the dataset's perturbations, or a count
//! val = 0.01                           # validation per cycle, fraction or count (0 = none)
//! ```
//!
//! Every table and default is documented on the structs below and in the README ("The study").

use crate::backend::BackendChoice;
use crate::error::{Error, Result};
use crate::gears::train::config::{CoexprCells, EvalMode, GearsConfig, ModelSelection};
use crate::graph::Direction;
use crate::select::MaxSpecObjective;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Presets shipped in `experiments/` and embedded in the binary (`--preset NAME`).
pub const PRESETS: &[(&str, &str)] = &[
    ("quick", include_str!("../../experiments/quick.toml")),
    ("papalexi", include_str!("../../experiments/papalexi.toml")),
    ("replogle-sim", include_str!("../../experiments/replogle-sim.toml")),
    ("adamson-sim", include_str!("../../experiments/adamson-sim.toml")),
    ("norman-sim", include_str!("../../experiments/norman-sim.toml")),
];

/// The text of preset `name`.
pub fn preset(name: &str) -> Result<&'static str> {
    PRESETS.iter().find(|p| p.0 == name).map(|p| p.1).ok_or_else(|| {
        let known: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
        Error::invalid(format!("unknown preset '{name}'; available: {}", known.join(", ")))
    })
}

/// A fraction of the dataset's perturbations (a TOML float) or a count (a TOML integer).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    /// Exactly this many perturbations.
    Count(u64),
    /// This fraction of all the dataset's perturbations, rounded to the nearest whole number.
    Fraction(f64),
}

impl Amount {
    /// The number of perturbations out of `total`.
    pub fn resolve(self, total: usize) -> usize {
        match self {
            Amount::Count(n) => n as usize,
            Amount::Fraction(f) => (f * total as f64 + 1e-9).round() as usize,
        }
    }
}

/// One `[[datasets]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Name used in unit ids and tables. Required. A simulated dataset's name must contain "synthetic".
    pub name: String,
    /// `builtin:papalexi` (the real Papalexi 2021 THP-1 screen, embedded), `simulate:adamson` or
    /// `simulate:replogle-k562-essential` (SYNTHETIC, `graphreach simulate`), a raw-count `.h5ad`
    /// path (relative paths are relative to the config file), or `prepared:PATH` (a dataset
    /// already prepared by `graphreach prepare` or GEARS, used as it is). Required.
    pub source: String,
    /// GO graph used for selection and for training: `builtin:go-human` (default), `builtin:go-k562`, or a
    /// file (relative to the config file).
    #[serde(default = "default_graph")]
    pub graph: String,
    /// Cell type for raw files whose obs has no `cell_type` column (`builtin:papalexi`: THP-1).
    #[serde(default)]
    pub cell_type: Option<String>,
    /// Highly variable genes kept by `prepare` (perturbed genes are added on top). Default 5000.
    #[serde(default = "default_hvg")]
    pub n_hvg: usize,
    /// Seed of `prepare`'s control-cell pairing. Default 0.
    #[serde(default)]
    pub prepare_seed: u64,
    /// `simulate:` only: the scale (0, 1] of the simulation (numbers of perturbations and cells). Default 1.
    #[serde(default = "one")]
    pub scale: f64,
    /// `simulate:` only: the simulation seed. Default 0.
    #[serde(default)]
    pub sim_seed: u64,
    /// `simulate:` only: simulate this many perturbations (a seeded subset of the preset's list;
    /// `graphreach simulate --perturbations`). Default: all.
    #[serde(default)]
    pub sim_perturbations: Option<usize>,
    /// `simulate:` only: mean cells per perturbation (`simulate --cells-per-perturbation`). Default: the preset's.
    #[serde(default)]
    pub sim_cells_per_perturbation: Option<usize>,
    /// `simulate:` only: control cells (`simulate --controls`). Default: the preset's.
    #[serde(default)]
    pub sim_controls: Option<usize>,
    /// `simulate:` only: measured genes (`simulate --genes`, a gene panel). Default: the preset's.
    #[serde(default)]
    pub sim_genes: Option<usize>,
    /// Keep at most this many cells per perturbation (seeded subsample before `prepare`). Default: all.
    #[serde(default)]
    pub max_cells_per_perturbation: Option<usize>,
    /// Keep at most this many control cells (seeded subsample before `prepare`). Default: all.
    #[serde(default)]
    pub max_control_cells: Option<usize>,
    /// Drop perturbations whose genes are not nodes of `graph` (listed in the report) instead of
    /// stopping with an error. Default false.
    #[serde(default)]
    pub skip_missing: bool,
}

fn default_graph() -> String {
    "builtin:go-human".into()
}
fn default_hvg() -> usize {
    5000
}
fn one() -> f64 {
    1.0
}
fn default_split_seed() -> u64 {
    1
}
fn default_days() -> f64 {
    30.0
}
fn default_noise() -> Vec<f64> {
    vec![0.0]
}
fn default_val() -> Amount {
    Amount::Count(0)
}

/// `[protocol]`: folds x seeds x cycles (spec §6.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// k: the perturbations are split into k disjoint test parts (`graphreach split --scheme folds`). Required.
    pub folds: usize,
    /// Which folds (1..=k) to run. Default: all k.
    #[serde(default)]
    pub run_folds: Option<Vec<usize>>,
    /// Seed of the fold assignment and of the validation draw. Default 1.
    #[serde(default = "default_split_seed")]
    pub split_seed: u64,
    /// Experiment seeds: Random's draw, the active-learning start and strategies, graph noise and
    /// the GEARS initialisation. Required.
    pub seeds: Vec<u64>,
    /// Cycles C (wet-lab rounds of active learning; budget steps of one-shot methods). Required.
    pub cycles: usize,
    /// Perturbations added to training per cycle: a fraction of all the dataset's perturbations
    /// (rounded) or a count. Required.
    pub batch: Amount,
    /// Perturbations added to validation per cycle (same rule; 0 = no validation). Default 0.
    #[serde(default = "default_val")]
    pub val: Amount,
    /// Wet-lab days per cycle. Default 30.
    #[serde(default = "default_days")]
    pub days_per_cycle: f64,
    /// Fractions of GO-graph edges dropped (and as many random edges added) before selection. Default [0.0].
    #[serde(default = "default_noise")]
    pub graph_noise: Vec<f64>,
    /// Seed of the graph noise (mixed with the experiment seed and the level). Default 0.
    #[serde(default)]
    pub noise_seed: u64,
}

/// `[selection]`: settings of the selection methods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelectionSettings {
    /// L, the hops of the balls (GraphReach, MaxSpec). Default 1.
    pub hops: u32,
    /// `in` (default), `out` or `undirected`.
    pub direction: String,
    /// MaxSpec: `min` (default) or `max`.
    pub maxspec_objective: String,
    /// TypiClust's embedding: `mean-expression` (default) or `cross-gene`.
    pub typiclust_embedding: String,
    /// ACS-FW's embedding: `cross-gene` (default) or `mean-expression`.
    pub acs_fw_embedding: String,
    /// Backend of the graph selections (`cpu` default; every backend selects identically).
    pub backend: String,
}

impl Default for SelectionSettings {
    fn default() -> Self {
        SelectionSettings {
            hops: 1,
            direction: "in".into(),
            maxspec_objective: "min".into(),
            typiclust_embedding: "mean-expression".into(),
            acs_fw_embedding: "cross-gene".into(),
            backend: "cpu".into(),
        }
    }
}

/// `[training]`: the GEARS trainer of every unit. Defaults follow IterPert, whose active-learning
/// loop the paper compares against (spec §7, §13 item 5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingSettings {
    /// Epochs per training (20).
    pub epochs: usize,
    /// Hidden size (64).
    pub hidden: usize,
    /// Cells per step (32).
    pub batch_size: usize,
    /// Initial learning rate (1e-3), halved after every epoch (`lr_decay` 0.5).
    pub lr: f64,
    /// Learning-rate factor per epoch (0.5).
    pub lr_decay: f64,
    /// `last-epoch` (IterPert, default) or `best-val` (GEARS).
    pub model_selection: ModelSelection,
    /// `ctrl-mean` (IterPert `fix_evaluation`, default) or `paired-ctrl` (GEARS).
    pub eval_mode: EvalMode,
    /// `ctrl` (IterPert, default) or `train` (GEARS).
    pub coexpr_cells: CoexprCells,
    /// GEARS's co-expression quirk (false).
    pub pos_quirk: bool,
    /// `cpu` (default), `cuda`, `wgpu` or `auto`.
    pub backend: String,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            epochs: 20,
            hidden: 64,
            batch_size: 32,
            lr: 1e-3,
            lr_decay: 0.5,
            model_selection: ModelSelection::LastEpoch,
            eval_mode: EvalMode::CtrlMean,
            coexpr_cells: CoexprCells::Ctrl,
            pos_quirk: false,
            backend: "cpu".into(),
        }
    }
}

/// `[resources]`: what one unit needs (written into the plan for workflow engines).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// CPU threads of one unit (1). A unit runs with this many threads under `experiment run` and
    /// under `run-unit` alike (fewer only when a scheduler grants fewer through
    /// `RAYON_NUM_THREADS` or `run-unit --threads`), because the trainer's floating-point sums
    /// depend on the thread count: the same unit gives the same numbers either way.
    pub threads: usize,
    /// Memory of one unit in MB (2000).
    pub mem_mb: u64,
    /// GPUs of one unit: 0 or 1. Default: 1 when `training.backend` is `cuda` or `wgpu`, else 0.
    pub gpu: Option<u32>,
    /// Wall-clock minutes one unit may take (a scheduler's time limit, e.g. Slurm `--time`).
    /// Default: none (not written into the plan).
    pub minutes: Option<u64>,
}

impl Default for Resources {
    fn default() -> Self {
        Resources { threads: 1, mem_mb: 2000, gpu: None, minutes: None }
    }
}

/// The TOML file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// Study name: the prefix of every unit id. Required.
    pub name: String,
    /// Free text shown in the report.
    #[serde(default)]
    pub description: String,
    /// Methods: `graphreach maxspec random typiclust acs-fw hybrid`. Required.
    pub methods: Vec<String>,
    /// Datasets (`[[datasets]]`). Required.
    pub datasets: Vec<DatasetSpec>,
    /// `[protocol]`. Required.
    pub protocol: Protocol,
    /// `[selection]`.
    #[serde(default)]
    pub selection: SelectionSettings,
    /// `[training]`.
    #[serde(default)]
    pub training: TrainingSettings,
    /// `[resources]`.
    #[serde(default)]
    pub resources: Resources,
}

/// A study method (the `method` column of results.tsv).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StudyMethod {
    /// GraphReach: the whole budget at once from the GO graph (lazy greedy coverage).
    Graphreach,
    /// MaxSpec: the whole budget at once from the GO graph (spectral criterion).
    Maxspec,
    /// Seeded uniform random sample of the whole budget at once.
    Random,
    /// Active learning with TypiClust, from a seeded random first batch.
    Typiclust,
    /// Active learning with ACS-FW, from a seeded random first batch.
    AcsFw,
    /// GraphReach's first batch, then active learning with TypiClust.
    Hybrid,
}

impl StudyMethod {
    /// Every method, in report order.
    pub const ALL: [StudyMethod; 6] =
        [StudyMethod::Graphreach, StudyMethod::Maxspec, StudyMethod::Random, StudyMethod::Typiclust, StudyMethod::AcsFw, StudyMethod::Hybrid];

    /// Name as in the config and the tables.
    pub fn as_str(self) -> &'static str {
        match self {
            StudyMethod::Graphreach => "graphreach",
            StudyMethod::Maxspec => "maxspec",
            StudyMethod::Random => "random",
            StudyMethod::Typiclust => "typiclust",
            StudyMethod::AcsFw => "acs-fw",
            StudyMethod::Hybrid => "hybrid",
        }
    }

    /// Parses a config name.
    pub fn parse(s: &str) -> Option<StudyMethod> {
        StudyMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the method selects the whole budget at once (no model in the loop).
    pub fn one_shot(self) -> bool {
        matches!(self, StudyMethod::Graphreach | StudyMethod::Maxspec | StudyMethod::Random)
    }

    /// Whether the method reads the GO graph to select (and so is run at every graph-noise level).
    pub fn reads_graph(self) -> bool {
        matches!(self, StudyMethod::Graphreach | StudyMethod::Maxspec | StudyMethod::Hybrid)
    }
}

/// Where a dataset comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    /// The embedded real Papalexi 2021 raw counts.
    BuiltinPapalexi,
    /// `graphreach simulate` with this preset (SYNTHETIC).
    Simulate(crate::data::simulate::Preset),
    /// A raw-count `.h5ad` (absolute path).
    Raw(PathBuf),
    /// A prepared dataset (absolute path).
    Prepared(PathBuf),
}

/// A checked dataset entry.
#[derive(Clone, Debug)]
pub struct DatasetPlan {
    /// The entry as written.
    pub spec: DatasetSpec,
    /// Its source.
    pub source: DataSource,
    /// Key prefix for messages (`datasets[0]`).
    pub key: String,
}

/// Settings of an embedding-based strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbedChoice {
    /// TypiClust's kind name (`mean-expression` / `cross-gene`).
    pub typiclust: &'static str,
    /// ACS-FW's kind name.
    pub acs_fw: &'static str,
}

/// A checked configuration.
#[derive(Clone, Debug)]
pub struct Study {
    /// The configuration as parsed.
    pub config: StudyConfig,
    /// Methods in config order.
    pub methods: Vec<StudyMethod>,
    /// Datasets.
    pub datasets: Vec<DatasetPlan>,
    /// Folds to run (1-based).
    pub folds: Vec<usize>,
    /// Hop direction of the graph methods.
    pub direction: Direction,
    /// MaxSpec objective.
    pub objective: MaxSpecObjective,
    /// Embedding kinds.
    pub embed: EmbedChoice,
    /// Backend of the graph selections.
    pub select_backend: BackendChoice,
    /// Backend of training and embedding.
    pub train_backend: BackendChoice,
    /// The trainer settings (seed set per unit).
    pub gears: GearsConfig,
    /// GPUs per unit.
    pub gpu: u32,
}

fn bad(file: &str, key: &str, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{file}: {key}: {msg}"))
}

fn safe_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) && !s.contains("__")
}

fn parse_backend(file: &str, key: &str, s: &str) -> Result<BackendChoice> {
    Ok(match s {
        "auto" => BackendChoice::Auto,
        "cpu" => BackendChoice::Cpu,
        "cuda" => BackendChoice::Cuda,
        "wgpu" => BackendChoice::Wgpu,
        _ => return Err(bad(file, key, format!("\"{s}\" is not a backend; expected auto, cpu, cuda or wgpu"))),
    })
}

fn embed_kind(file: &str, key: &str, s: &str) -> Result<&'static str> {
    match s {
        "mean-expression" => Ok("mean-expression"),
        "cross-gene" => Ok("cross-gene"),
        _ => Err(bad(file, key, format!("\"{s}\" is not an embedding; expected mean-expression or cross-gene"))),
    }
}

/// Parses TOML text (`file` names it in messages).
pub fn parse_config(text: &str, file: &str) -> Result<StudyConfig> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    toml::from_str(text).map_err(|e| Error::invalid(format!("{file}: {}", e.to_string().trim_end())))
}

impl StudyConfig {
    /// Checks every value that does not need the data, naming the key of the first problem.
    /// `base` is the folder relative dataset paths are resolved against (None: relative paths are
    /// an error, e.g. for an embedded preset).
    pub fn check(self, file: &str, base: Option<&Path>) -> Result<Study> {
        if !safe_name(&self.name) {
            return Err(bad(file, "name", format!("\"{}\" must be non-empty and use only A-Z a-z 0-9 . _ - (no '__'): it starts every unit id", self.name)));
        }
        if self.methods.is_empty() {
            return Err(bad(file, "methods", "no method listed; expected some of graphreach, maxspec, random, typiclust, acs-fw, hybrid"));
        }
        let mut methods = Vec::new();
        for (i, m) in self.methods.iter().enumerate() {
            let Some(sm) = StudyMethod::parse(m) else {
                return Err(bad(file, &format!("methods[{i}]"), format!(
                    "\"{m}\" is not a method; expected one of graphreach, maxspec, random, typiclust, acs-fw, hybrid"
                )));
            };
            if methods.contains(&sm) {
                return Err(bad(file, &format!("methods[{i}]"), format!("\"{m}\" is listed twice")));
            }
            methods.push(sm);
        }
        if self.datasets.is_empty() {
            return Err(bad(file, "datasets", "no [[datasets]] entry"));
        }
        let mut datasets = Vec::new();
        for (i, d) in self.datasets.iter().enumerate() {
            datasets.push(check_dataset(file, &format!("datasets[{i}]"), d, base)?);
            if self.datasets[..i].iter().any(|o| o.name == d.name) {
                return Err(bad(file, &format!("datasets[{i}].name"), format!("\"{}\" is used twice", d.name)));
            }
        }
        let p = &self.protocol;
        if p.folds < 2 {
            return Err(bad(file, "protocol.folds", format!("{} folds: need at least 2 (each fold holds out ~1/k of the perturbations)", p.folds)));
        }
        let folds = match &p.run_folds {
            None => (1..=p.folds).collect(),
            Some(v) => {
                if v.is_empty() {
                    return Err(bad(file, "protocol.run_folds", "is empty; list folds between 1 and protocol.folds, or leave it out for all"));
                }
                let mut s = v.clone();
                s.sort_unstable();
                s.dedup();
                if let Some(&f) = s.iter().find(|&&f| f == 0 || f > p.folds) {
                    return Err(bad(file, "protocol.run_folds", format!("fold {f} does not exist: folds are numbered 1 to {}", p.folds)));
                }
                s
            }
        };
        if p.seeds.is_empty() {
            return Err(bad(file, "protocol.seeds", "no seed listed; e.g. seeds = [0, 1, 2]"));
        }
        let mut seeds = p.seeds.clone();
        seeds.sort_unstable();
        seeds.dedup();
        if seeds.len() != p.seeds.len() {
            return Err(bad(file, "protocol.seeds", "a seed is listed twice"));
        }
        if p.cycles == 0 {
            return Err(bad(file, "protocol.cycles", "must be at least 1"));
        }
        check_amount(file, "protocol.batch", p.batch, false)?;
        check_amount(file, "protocol.val", p.val, true)?;
        if !(p.days_per_cycle.is_finite() && p.days_per_cycle > 0.0) {
            return Err(bad(file, "protocol.days_per_cycle", format!("{} must be a positive number of days", p.days_per_cycle)));
        }
        if p.graph_noise.is_empty() {
            return Err(bad(file, "protocol.graph_noise", "is empty; use [0.0] for the graph as it is"));
        }
        for (i, &f) in p.graph_noise.iter().enumerate() {
            if !(f.is_finite() && (0.0..=1.0).contains(&f)) {
                return Err(bad(file, &format!("protocol.graph_noise[{i}]"), format!("{f} must be a fraction of edges in [0, 1]")));
            }
            if p.graph_noise[..i].contains(&f) {
                return Err(bad(file, &format!("protocol.graph_noise[{i}]"), format!("{f} is listed twice")));
            }
        }
        if !p.graph_noise.contains(&0.0) {
            return Err(bad(file, "protocol.graph_noise", "must include 0.0: the noise table compares every level with the graph as it is"));
        }
        let s = &self.selection;
        if s.hops == 0 {
            return Err(bad(file, "selection.hops", "must be at least 1 (0 would cover only the picked genes themselves)"));
        }
        let direction = match s.direction.as_str() {
            "in" => Direction::In,
            "out" => Direction::Out,
            "undirected" => Direction::Undirected,
            d => return Err(bad(file, "selection.direction", format!("\"{d}\" is not a direction; expected in, out or undirected"))),
        };
        let objective = match s.maxspec_objective.as_str() {
            "min" => MaxSpecObjective::Min,
            "max" => MaxSpecObjective::Max,
            o => return Err(bad(file, "selection.maxspec_objective", format!("\"{o}\" is not an objective; expected min or max"))),
        };
        let embed = EmbedChoice {
            typiclust: embed_kind(file, "selection.typiclust_embedding", &s.typiclust_embedding)?,
            acs_fw: embed_kind(file, "selection.acs_fw_embedding", &s.acs_fw_embedding)?,
        };
        let select_backend = parse_backend(file, "selection.backend", &s.backend)?;
        let t = &self.training;
        let train_backend = parse_backend(file, "training.backend", &t.backend)?;
        let gears = GearsConfig {
            hidden: t.hidden,
            epochs: t.epochs,
            batch_size: t.batch_size,
            lr: t.lr,
            lr_decay: t.lr_decay,
            model_selection: t.model_selection,
            eval_mode: t.eval_mode,
            coexpr_cells: t.coexpr_cells,
            pos_quirk: t.pos_quirk,
            ..GearsConfig::default()
        };
        if t.epochs == 0 {
            return Err(bad(file, "training.epochs", "must be at least 1"));
        }
        gears.validate().map_err(|e| bad(file, "training", e))?;
        let r = &self.resources;
        if r.threads == 0 {
            return Err(bad(file, "resources.threads", "must be at least 1"));
        }
        let gpu = match r.gpu {
            Some(g) if g > 1 => return Err(bad(file, "resources.gpu", format!("{g}: a unit uses at most one GPU (0 or 1)"))),
            Some(g) => g,
            None => u32::from(matches!(train_backend, BackendChoice::Cuda | BackendChoice::Wgpu)),
        };
        Ok(Study { methods, datasets, folds, direction, objective, embed, select_backend, train_backend, gears, gpu, config: self })
    }
}

fn check_amount(file: &str, key: &str, a: Amount, zero_ok: bool) -> Result<()> {
    match a {
        Amount::Count(0) if !zero_ok => Err(bad(file, key, "0 perturbations per cycle; give a count >= 1 or a fraction in (0, 1)")),
        Amount::Fraction(f) if !(0.0..1.0).contains(&f) || (f == 0.0 && !zero_ok) => {
            Err(bad(file, key, format!("{f} is not a fraction in (0, 1) of the perturbations (write a whole number for a count)")))
        }
        _ => Ok(()),
    }
}

fn check_dataset(file: &str, key: &str, d: &DatasetSpec, base: Option<&Path>) -> Result<DatasetPlan> {
    if !safe_name(&d.name) {
        return Err(bad(file, &format!("{key}.name"), format!("\"{}\" must be non-empty and use only A-Z a-z 0-9 . _ - (no '__')", d.name)));
    }
    let path = |p: &str, what: &str| -> Result<PathBuf> {
        let p = Path::new(p);
        if p.is_absolute() {
            return Ok(p.to_path_buf());
        }
        match base {
            Some(b) => Ok(b.join(p)),
            None => Err(bad(file, &format!("{key}.source"), format!("the relative path '{}' ({what}) has no folder to be relative to (a preset): give an absolute path", p.display()))),
        }
    };
    let source = if d.source == "builtin:papalexi" {
        DataSource::BuiltinPapalexi
    } else if let Some(s) = d.source.strip_prefix("builtin:") {
        return Err(bad(file, &format!("{key}.source"), format!("unknown builtin dataset '{s}'; available: builtin:papalexi")));
    } else if let Some(s) = d.source.strip_prefix("simulate:") {
        use crate::data::simulate::Preset;
        let preset = match s {
            "adamson" => Preset::Adamson,
            "replogle-k562-essential" => Preset::ReplogleK562Essential,
            "norman" => Preset::Norman,
            _ => return Err(bad(file, &format!("{key}.source"), format!("unknown simulation preset '{s}'; expected simulate:adamson, simulate:replogle-k562-essential or simulate:norman"))),
        };
        if !(d.scale > 0.0 && d.scale <= 1.0) {
            return Err(bad(file, &format!("{key}.scale"), format!("{} must be in (0, 1]", d.scale)));
        }
        DataSource::Simulate(preset)
    } else if let Some(p) = d.source.strip_prefix("prepared:") {
        DataSource::Prepared(path(p, "a prepared dataset")?)
    } else {
        DataSource::Raw(path(&d.source, "a raw-count .h5ad")?)
    };
    let sim_keys = [
        ("sim_perturbations", d.sim_perturbations),
        ("sim_cells_per_perturbation", d.sim_cells_per_perturbation),
        ("sim_controls", d.sim_controls),
        ("sim_genes", d.sim_genes),
    ];
    for (k, v) in sim_keys {
        match v {
            Some(_) if !matches!(source, DataSource::Simulate(_)) => {
                return Err(bad(file, &format!("{key}.{k}"), "applies only to a simulated source (simulate:...)"));
            }
            Some(0) => return Err(bad(file, &format!("{key}.{k}"), "must be at least 1")),
            _ => {}
        }
    }
    if matches!(source, DataSource::Simulate(_)) && !d.name.to_ascii_lowercase().contains("synthetic") {
        return Err(bad(file, &format!("{key}.name"), format!(
            "\"{}\" names a simulated dataset: its name must say so wherever it appears (e.g. \"{}-synthetic\")",
            d.name, d.name
        )));
    }
    if d.n_hvg == 0 {
        return Err(bad(file, &format!("{key}.n_hvg"), "must be at least 1"));
    }
    if d.max_cells_per_perturbation == Some(0) || d.max_control_cells == Some(0) {
        return Err(bad(file, key, "max_cells_per_perturbation and max_control_cells must be at least 1"));
    }
    let mut spec = d.clone();
    if !spec.graph.starts_with("builtin:") && !spec.graph.starts_with("gen:") {
        let g = Path::new(&spec.graph);
        if g.is_relative() {
            match base {
                Some(b) => spec.graph = b.join(g).display().to_string(),
                None => {
                    return Err(bad(file, &format!("{key}.graph"), format!("the relative path '{}' has no folder to be relative to (a preset): give an absolute path", g.display())))
                }
            }
        }
    }
    Ok(DatasetPlan { spec, source, key: key.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> String {
        r#"
name = "t"
methods = ["graphreach", "random"]
[[datasets]]
name = "d"
source = "builtin:papalexi"
[protocol]
folds = 5
seeds = [0]
cycles = 2
batch = 2
"#
        .to_string()
    }

    fn check(text: &str) -> Result<Study> {
        parse_config(text, "c.toml")?.check("c.toml", None)
    }

    #[test]
    fn every_preset_parses_and_checks() {
        for (name, text) in PRESETS {
            let s = check(text).unwrap_or_else(|e| panic!("preset {name}: {e}"));
            assert_eq!(s.config.name, *name);
            for d in &s.datasets {
                if matches!(d.source, DataSource::Simulate(_)) {
                    assert!(d.spec.name.contains("synthetic"), "{name}: {}", d.spec.name);
                }
            }
        }
    }

    #[test]
    fn defaults_and_amounts() {
        let s = check(&base()).unwrap();
        assert_eq!(s.folds, vec![1, 2, 3, 4, 5]);
        assert_eq!(s.config.protocol.val, Amount::Count(0));
        assert_eq!(s.config.protocol.graph_noise, vec![0.0]);
        assert_eq!(s.gears.model_selection, ModelSelection::LastEpoch);
        assert_eq!(s.gpu, 0);
        assert_eq!(Amount::Fraction(0.05).resolve(2042), 102);
        assert_eq!(Amount::Fraction(0.05).resolve(1100), 55);
        assert_eq!(Amount::Count(7).resolve(3), 7);
        let s = check(&base().replace("batch = 2", "batch = 0.1\nval = 0.04")).unwrap();
        assert_eq!(s.config.protocol.batch, Amount::Fraction(0.1));
        assert_eq!(s.config.protocol.val, Amount::Fraction(0.04));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (base().replace("\"random\"", "\"rand0m\""), "methods[1]"),
            (base().replace("batch = 2", "batch = 1.5"), "protocol.batch"),
            (base().replace("batch = 2", "batch = 0"), "protocol.batch"),
            (base().replace("folds = 5", "folds = 1"), "protocol.folds"),
            (base().replace("cycles = 2", "cycles = 2\nrun_folds = [6]"), "protocol.run_folds"),
            (base().replace("cycles = 2", "cycles = 2\ngraph_noise = [0.1]"), "protocol.graph_noise"),
            (base().replace("builtin:papalexi", "simulate:adamson"), "datasets[0].name"),
            (base().replace("builtin:papalexi", "builtin:nope"), "datasets[0].source"),
            (base().replace("builtin:papalexi", "raw.h5ad"), "datasets[0].source"),
            (base() + "[training]\nbackend = \"tpu\"\n", "training.backend"),
            (base() + "[selection]\ndirection = \"up\"\n", "selection.direction"),
        ];
        for (text, key) in cases {
            let e = check(&text).unwrap_err().to_string();
            assert!(e.contains(key) && e.starts_with("c.toml"), "expected {key}: {e}");
        }
        // Unknown keys are TOML errors naming the key and its line.
        let e = check(&base().replace("cycles = 2", "cycles = 2\nbatchh = 3")).unwrap_err().to_string();
        assert!(e.contains("batchh") && e.contains("c.toml"), "{e}");
    }
}
