//! `graphreach experiment run|plan|run-unit|report|preset`: the study (see `study`).

use crate::backend::BackendChoice;
use crate::error::Result;
use crate::study;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `experiment` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Plan, run every unit (resuming finished ones), and write the report.
    Run(RunArgs),
    /// Initialise the study folder and list every unit with its dependencies and command.
    Plan(PlanArgs),
    /// Run one unit of a planned folder (what a workflow engine calls).
    RunUnit(RunUnitArgs),
    /// Write DIR/report/ (results.tsv, summary.tsv, report.md, SVG figures) from the finished units.
    Report(ReportArgs),
    /// Print a preset's TOML (to copy and edit), or list the presets.
    Preset(PresetArgs),
}

/// Where the configuration comes from.
#[derive(Debug, Args)]
pub struct ConfigSource {
    /// The study configuration (TOML); see README "The study".
    #[arg(required_unless_present = "preset", conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// A preset embedded in the binary instead of a file: quick, papalexi, replogle-sim, adamson-sim.
    #[arg(long)]
    pub preset: Option<String>,
}

/// Arguments of `experiment run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration.
    #[command(flatten)]
    pub source: ConfigSource,
    /// The study folder (created; a folder planned with the same configuration is continued).
    #[arg(long)]
    pub out: PathBuf,
    /// Units at once (default: CPUs / resources.threads). Several GPU units share one GPU.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Replace training.backend of the configuration (recorded in DIR/config.toml).
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Output format of `experiment plan`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PlanFormat {
    /// One JSON object per unit and line (the contract with workflow engines).
    Jsonl,
    /// An aligned table of ids and dependencies.
    Text,
}

/// Arguments of `experiment plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The configuration.
    #[command(flatten)]
    pub source: ConfigSource,
    /// The study folder to initialise.
    #[arg(long)]
    pub out: PathBuf,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Jsonl)]
    pub format: PlanFormat,
    /// Replace training.backend of the configuration (recorded in DIR/config.toml).
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
}

/// Arguments of `experiment run-unit`.
#[derive(Debug, Args)]
pub struct RunUnitArgs {
    /// A study folder initialised by `experiment plan`.
    pub dir: PathBuf,
    /// The unit id (from plan.jsonl).
    pub unit: String,
    /// Threads granted (default: RAYON_NUM_THREADS if set); never more than the plan's threads.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No notes or per-epoch lines on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Arguments of `experiment report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A study folder.
    pub dir: PathBuf,
    /// Report the complete units even if others are not (the report says it is partial).
    #[arg(long)]
    pub partial: bool,
}

/// Arguments of `experiment preset`.
#[derive(Debug, Args)]
pub struct PresetArgs {
    /// The preset to print; without one, the presets are listed.
    pub name: Option<String>,
}

fn backend_name(b: BackendChoice) -> &'static str {
    match b {
        BackendChoice::Auto => "auto",
        BackendChoice::Cpu => "cpu",
        BackendChoice::Cuda => "cuda",
        BackendChoice::Wgpu => "wgpu",
    }
}

/// (text, name for messages, folder for relative paths).
fn load_source(s: &ConfigSource) -> Result<(String, String, Option<PathBuf>)> {
    if let Some(name) = &s.preset {
        return Ok((study::preset(name)?.to_string(), format!("preset {name}"), None));
    }
    let path = s.config.as_ref().expect("clap requires CONFIG or --preset");
    let text = crate::files::text::TextInput::read(path)?.text().to_string();
    let base = study::folder::absolute(path)?.parent().map(Path::to_path_buf);
    Ok((text, path.display().to_string(), base))
}

fn plan_from(source: &ConfigSource, out: &Path, backend: Option<BackendChoice>, progress: bool) -> Result<study::StudyDir> {
    let (text, name, base) = load_source(source)?;
    study::plan(&text, &name, base.as_deref(), out, backend.map(backend_name), progress)
}

fn interrupt_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // A second handler cannot be installed in one process; the run then simply goes to the end.
    let _ = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst));
    stop
}

/// Runs an `experiment` subcommand.
pub fn run(cmd: ExperimentCommand) -> Result<()> {
    match cmd {
        ExperimentCommand::Plan(a) => {
            let sd = plan_from(&a.source, &a.out, a.backend, true)?;
            let text = match a.format {
                PlanFormat::Jsonl => study::plan::to_jsonl(&sd.entries),
                PlanFormat::Text => sd
                    .entries
                    .iter()
                    .map(|e| format!("{}\t{}\n", e.id, if e.deps.is_empty() { "-".to_string() } else { e.deps.join(",") }))
                    .collect(),
            };
            eprintln!("planned {} units in {}", sd.entries.len(), sd.dir.display());
            crate::cli::write_output(&crate::cli::OutputTarget::Stdout, &text)
        }
        ExperimentCommand::RunUnit(a) => {
            let sd = study::open(&a.dir)?;
            let stop = interrupt_flag();
            let cache = study::cache::Cache::default();
            match study::run_unit(&sd, &a.unit, &cache, study::UnitOptions { interrupt: Some(&stop), progress: !a.quiet, threads: a.threads })? {
                study::UnitStatus::Skipped => eprintln!("unit {}: already complete", a.unit),
                study::UnitStatus::Ran(m) => eprintln!(
                    "unit {} complete: {} training perturbations, GEARS mse_top20_de_non_dropout {:.5} (mean baseline {:.5}), {:.1} s",
                    a.unit, m.n_train, m.model.mse_top20_de_non_dropout, m.baselines.mean.mse_top20_de_non_dropout, m.train_seconds
                ),
            }
            Ok(())
        }
        ExperimentCommand::Report(a) => {
            let sd = study::open(&a.dir)?;
            let r = study::write_report(&sd, a.partial)?;
            eprintln!("reported {} unit(s){}", r.units, if r.incomplete > 0 { format!(" ({} incomplete, left out)", r.incomplete) } else { String::new() });
            println!("{}", r.dir.join("report.md").display());
            Ok(())
        }
        ExperimentCommand::Run(a) => {
            let progress = !a.quiet;
            let sd = plan_from(&a.source, &a.out, a.backend, progress)?;
            let stop = interrupt_flag();
            let s = study::run_units(&sd, study::RunOptions { jobs: a.jobs, interrupt: Some(&stop), progress })?;
            let r = study::write_report(&sd, false)?;
            if progress {
                eprintln!(
                    "{} unit(s) run, {} complete before, {} at a time, {:.0} s; report: {}",
                    s.ran,
                    s.skipped,
                    s.jobs,
                    s.seconds,
                    r.dir.display()
                );
            }
            println!("{}", r.dir.join("report.md").display());
            Ok(())
        }
        ExperimentCommand::Preset(a) => match a.name {
            Some(n) => crate::cli::write_output(&crate::cli::OutputTarget::Stdout, study::preset(&n)?),
            None => {
                let list: String = study::PRESETS
                    .iter()
                    .map(|(n, t)| {
                        let desc = t.lines().find_map(|l| l.strip_prefix("description = ")).unwrap_or("\"\"").trim_matches('"');
                        format!("{n}\t{desc}\n")
                    })
                    .collect();
                crate::cli::write_output(&crate::cli::OutputTarget::Stdout, &list)
            }
        },
    }
}
