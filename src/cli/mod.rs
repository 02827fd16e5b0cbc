//! Command-line interface: clap-derive argument structs (one file per command family) that are
//! turned into the library's config structs. Every command that computes takes `--backend`.

mod backends_cmd;
mod bench_cmd;
mod data_cmd;
mod embed_cmd;
mod evaluate_cmd;
mod experiment_cmd;
mod graph_build_cmd;
mod graph_cmd;
mod graph_gen_cmd;
mod num;
pub mod runtime_dir;
mod select_cmd;
mod train_cmd;

pub use crate::files::output::{write_output, OutputTarget};

use crate::error::Result;
use clap::{Parser, Subcommand};

/// graphreach: plan Perturb-seq screens by one-shot, deterministic selection of perturbations
/// from a gene knowledge graph.
#[derive(Debug, Parser)]
#[command(name = "graphreach", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// All commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Select perturbations from a candidate pool (GraphReach, MaxSpec, Random).
    Select(select_cmd::SelectArgs),
    /// Graph utilities (info, gen, build).
    #[command(subcommand)]
    Graph(graph_cmd::GraphCommand),
    /// Mean pairwise Jaccard similarity of several selections (paper Eq. 19).
    Stability(select_cmd::StabilityArgs),
    /// Train GEARS on a selection's perturbations and evaluate held-out ones against baselines.
    Train(train_cmd::TrainArgs),
    /// Evaluate a trained GEARS model (and the baselines) on perturbations.
    Evaluate(evaluate_cmd::EvaluateArgs),
    /// Embed perturbations with a trained GEARS model (for the TypiClust / ACS-FW baselines).
    Embed(embed_cmd::EmbedArgs),
    /// List the compute backends this machine offers (and why others are unavailable).
    Backends(backends_cmd::BackendsArgs),
    /// Time ball construction and greedy selection per backend, with the speedup over the CPU.
    Bench(bench_cmd::BenchArgs),
    /// Preprocess a raw-count AnnData into a training-ready GEARS-compatible dataset.
    Prepare(data_cmd::PrepareArgs),
    /// Dataset utilities (info).
    #[command(subcommand)]
    Dataset(data_cmd::DatasetCommand),
    /// Split a dataset's perturbations into train/val/test files (GEARS, IterPert, k folds).
    Split(data_cmd::SplitArgs),
    /// Generate a synthetic K562-like raw-count Perturb-seq dataset (clearly marked synthetic).
    Simulate(data_cmd::SimulateArgs),
    /// The study: folds x seeds x cycles of selection + GEARS training, resumable, with a report.
    #[command(subcommand)]
    Experiment(experiment_cmd::ExperimentCommand),
}

/// The command line definition, with every value-taking argument accepting values that look like
/// negative numbers (`--budget -3` then reaches the flag's parser, which says what it takes,
/// instead of being read as an unknown flag `-3`).
pub fn command() -> clap::Command {
    fn negatives(c: clap::Command) -> clap::Command {
        c.mut_args(|a| if a.get_action().takes_values() { a.allow_negative_numbers(true) } else { a }).mut_subcommands(negatives)
    }
    use clap::CommandFactory;
    negatives(Cli::command())
}

/// Parses the process's arguments with [`command`]; a usage error exits with clap's message and code 2.
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Select(a) => select_cmd::run_select(a),
        Command::Graph(c) => graph_cmd::run(c),
        Command::Stability(a) => select_cmd::run_stability(a),
        Command::Train(a) => train_cmd::run_train(a),
        Command::Evaluate(a) => evaluate_cmd::run_evaluate(a),
        Command::Embed(a) => embed_cmd::run_embed(a),
        Command::Backends(a) => backends_cmd::run(a),
        Command::Bench(a) => bench_cmd::run(a),
        Command::Prepare(a) => data_cmd::run_prepare(a),
        Command::Dataset(c) => data_cmd::run_dataset(c),
        Command::Split(a) => data_cmd::run_split(a),
        Command::Simulate(a) => data_cmd::run_simulate(a),
        Command::Experiment(c) => experiment_cmd::run(c),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
        super::command().debug_assert();
    }
}
