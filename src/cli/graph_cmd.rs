//! `graphreach graph ...`: graph utilities.

use crate::error::Result;
use crate::graph::io::load_graph;
use clap::{Args, Subcommand};

/// Graph subcommands.
#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Nodes, edges, degree statistics, self loops and dropped/duplicate edges of a graph.
    Info(InfoArgs),
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
        GraphCommand::Info(a) => {
            let g = load_graph(&a.graph)?;
            let info = g.info();
            match a.format {
                InfoFormat::Json => println!("{}", serde_json::to_string_pretty(&info).expect("serialisable")),
                InfoFormat::Text => {
                    let d = |s: &crate::graph::DegreeStats| {
                        format!("min {} / median {} / mean {:.2} / max {}", s.min, s.median, s.mean, s.max)
                    };
                    println!("graph:            {}", info.graph);
                    println!("labelled by:      {}", info.labelled_by);
                    println!("nodes:            {}", info.nodes);
                    println!("edges:            {}", info.edges);
                    println!("self loops:       {}", info.self_loops);
                    println!("isolated nodes:   {}", info.isolated_nodes);
                    println!("out-degree:       {}", d(&info.out_degree));
                    println!("in-degree:        {}", d(&info.in_degree));
                    println!("lines read:       {}", info.load.lines);
                    println!("dropped (w <= 0): {}", info.load.dropped_nonpositive);
                    println!("duplicates:       {}", info.load.duplicates);
                    println!("header skipped:   {}", info.load.header);
                }
            }
            Ok(())
        }
    }
}
