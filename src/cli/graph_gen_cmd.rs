//! `graphreach graph gen`: writes a synthetic hub-SBM graph (and its candidate list).

use crate::files::output::OutputTarget;
use crate::error::{Error, Result};
use crate::graph::gen::{preset, write_edges, write_nodes, HubSbm, PRESETS};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `graph gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// A named graph of docs/hub-sbm.md: a_go_like, b_genome, c_large or d_huge.
    #[arg(long, value_parser = PRESETS.iter().map(|p| p.0).collect::<Vec<_>>(),
          conflicts_with_all = ["nodes", "draws", "communities", "hub_q", "p_in", "seed", "candidates"])]
    pub preset: Option<String>,
    /// Number of nodes n (explicit parameters instead of --preset).
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires_all = ["draws", "communities"])]
    pub nodes: Option<u64>,
    /// Number of draws M (each emits at most one undirected edge).
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires = "nodes")]
    pub draws: Option<u64>,
    /// Number of communities K.
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires = "nodes")]
    pub communities: Option<u64>,
    /// Hub probability per mille (a pick is a hub draw when r % 1000 < Q) [default: 300].
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires = "nodes")]
    pub hub_q: Option<u64>,
    /// Intra-community probability in percent [default: 80].
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires = "nodes")]
    pub p_in: Option<u64>,
    /// Seed of the SplitMix64 stream [default: 0].
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires = "nodes")]
    pub seed: Option<u64>,
    /// Number of candidate nodes [default: all nodes].
    #[arg(long, value_parser = super::num::unsigned::<u64>, requires = "nodes")]
    pub candidates: Option<u64>,
    /// Edge-list output: `u<TAB>v` lines, u < v, sorted (`-`: stdout).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the candidate node ids, one per line, ascending (`-`: stdout).
    #[arg(long)]
    pub candidates_out: Option<PathBuf>,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

impl GenArgs {
    /// The generator parameters and a name for messages.
    fn params(&self) -> Result<(String, HubSbm)> {
        if let Some(name) = &self.preset {
            return Ok((name.clone(), preset(name)?));
        }
        let (Some(nodes), Some(draws), Some(communities)) = (self.nodes, self.draws, self.communities) else {
            return Err(Error::invalid("graph gen needs --preset NAME or --nodes, --draws and --communities"));
        };
        let p = HubSbm {
            nodes,
            draws,
            communities,
            hub_q: self.hub_q.unwrap_or(300),
            p_in: self.p_in.unwrap_or(80),
            seed: self.seed.unwrap_or(0),
            candidates: self.candidates.unwrap_or(nodes),
        };
        p.validate()?;
        Ok(("custom".to_string(), p))
    }
}

/// Runs `graph gen`.
pub fn run_gen(a: GenArgs) -> Result<()> {
    let (name, p) = a.params()?;
    let edges_out = OutputTarget::file(&a.out, a.force);
    let nodes_out = a.candidates_out.as_ref().map(|c| OutputTarget::file(c, a.force));
    if edges_out.is_stdout() && nodes_out.as_ref().is_some_and(OutputTarget::is_stdout) {
        return Err(Error::invalid("--out and --candidates-out cannot both be `-` (stdout)"));
    }
    if nodes_out.as_ref() == Some(&edges_out) {
        return Err(Error::invalid("--out and --candidates-out name the same file"));
    }
    edges_out.check()?;
    if let Some(t) = &nodes_out {
        t.check()?;
    }
    let t0 = Instant::now();
    let keys = p.edges()?;
    let t_gen = t0.elapsed();
    edges_out.write_with(|w| write_edges(&keys, w))?;
    if let Some(t) = &nodes_out {
        let c = p.candidates()?;
        t.write_with(|w| write_nodes(&c, w))?;
    }
    eprintln!(
        "graph gen {name}: {} nodes, {} edges from {} draws; generated in {:.2} s, written in {:.2} s to {}",
        p.nodes,
        keys.len(),
        p.draws,
        t_gen.as_secs_f64(),
        (t0.elapsed() - t_gen).as_secs_f64(),
        edges_out.describe()
    );
    Ok(())
}
