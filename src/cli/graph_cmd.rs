//! `graphreach graph ...`: graph utilities.

use crate::files::output::{write_output, OutputTarget};
use crate::error::Result;
use crate::graph::io::load_graph;
use clap::{Args, Subcommand};

/// Graph subcommands.
#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Nodes, edges, degree statistics, self loops and dropped/duplicate edges of a graph.
    Info(InfoArgs),
    /// Write a synthetic hub-SBM graph (docs/hub-sbm.md in the repository) as a sorted `u<TAB>v` edge list.
    Gen(super::graph_gen_cmd::GenArgs),
    /// Build the GEARS-style GO similarity graph (Jaccard of direct GO sets, top k+1 per target).
    Build(super::graph_build_cmd::BuildArgs),
    /// Graph noise: drop a fraction of the edges and add random ones (seeded), as the study does.
    Perturb(PerturbArgs),
}

/// Arguments of `graph perturb`.
#[derive(Debug, Args)]
pub struct PerturbArgs {
    /// Graph file, `builtin:NAME` or `gen:NAME`.
    #[arg(long, default_value = "builtin:go-k562")]
    pub graph: String,
    /// Fraction of the edges (self loops not counted) to drop, chosen uniformly.
    #[arg(long)]
    pub drop: f64,
    /// Fraction of the edge count to add as new random directed edges between distinct nodes.
    #[arg(long)]
    pub add: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output `source<TAB>target<TAB>importance` file (`-` for stdout).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `graph info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Graph file, `builtin:NAME` or `gen:NAME`.
    pub graph: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InfoFormat::Text)]
    pub format: InfoFormat,
}

/// Output format of `graph info`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum InfoFormat {
    /// Aligned key: value lines.
    Text,
    /// JSON object.
    Json,
}

/// Runs a graph subcommand.
pub fn run(cmd: GraphCommand) -> Result<()> {
    match cmd {
        GraphCommand::Gen(a) => super::graph_gen_cmd::run_gen(a),
        GraphCommand::Build(a) => super::graph_build_cmd::run_build(a),
        GraphCommand::Perturb(a) => {
            let target = OutputTarget::new(Some(&a.out), a.force);
            target.check()?;
            let g = load_graph(&a.graph)?;
            let (p, r) = crate::graph::perturb::perturb(&g, a.drop, a.add, a.seed)?;
            write_output(&target, &crate::graph::perturb::to_tsv(&p))?;
            eprintln!(
                "{}: {} edges between distinct nodes; dropped {}, added {} (seed {}); {} edges now, {} self loops kept",
                a.graph, r.edges_in, r.dropped, r.added, r.seed, r.edges_out, r.self_loops
            );
            Ok(())
        }
        GraphCommand::Info(a) => {
            let g = load_graph(&a.graph)?;
            let info = g.info();
            let text = match a.format {
                InfoFormat::Json => serde_json::to_string_pretty(&info).expect("serialisable") + "\n",
                InfoFormat::Text => {
                    let d = |s: &crate::graph::DegreeStats| {
                        format!("min {} / median {} / mean {:.2} / max {}", s.min, s.median, s.mean, s.max)
                    };
                    let mut t = String::new();
                    let mut line = |k: &str, v: String| t.push_str(&format!("{k:<18}{v}\n"));
                    line("graph:", info.graph.clone());
                    line("labelled by:", info.labelled_by.to_string());
                    line("nodes:", info.nodes.to_string());
                    line("edges:", info.edges.to_string());
                    line("self loops:", info.self_loops.to_string());
                    line("isolated nodes:", info.isolated_nodes.to_string());
                    line("out-degree:", d(&info.out_degree).to_string());
                    line("in-degree:", d(&info.in_degree).to_string());
                    line("lines read:", info.load.lines.to_string());
                    line("dropped (w <= 0):", info.load.dropped_nonpositive.to_string());
                    line("duplicates:", info.load.duplicates.to_string());
                    line("header skipped:", info.load.header.to_string());
                    t
                }
            };
            write_output(&OutputTarget::Stdout, &text)
        }
    }
}
