//! What the units of one process share in memory: loaded datasets, GO graphs and perturbed
//! graphs, each loaded once (`experiment run` runs many units in one process; `run-unit` one).

use crate::data::Dataset;
use crate::error::Result;
use crate::graph::Graph;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

type Slot<T> = Arc<Mutex<Option<Arc<T>>>>;

/// A map of lazily loaded values; a value is loaded once even when several threads ask at once.
struct Lazy<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

impl<T> Lazy<T> {
    fn new() -> Self {
        Lazy { slots: Mutex::new(HashMap::new()) }
    }

    fn get(&self, key: &str, load: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let slot = self.slots.lock().expect("cache lock").entry(key.to_string()).or_default().clone();
        let mut v = slot.lock().expect("cache slot lock");
        if let Some(x) = v.as_ref() {
            return Ok(x.clone());
        }
        let x = Arc::new(load()?);
        *v = Some(x.clone());
        Ok(x)
    }
}

/// The in-memory inputs of a process.
pub struct Cache {
    datasets: Lazy<Dataset>,
    graphs: Lazy<Graph>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache { datasets: Lazy::new(), graphs: Lazy::new() }
    }
}

impl Cache {
    /// The prepared dataset at `path`.
    pub fn dataset(&self, path: &Path) -> Result<Arc<Dataset>> {
        self.datasets.get(&path.display().to_string(), || crate::data::load_dataset(path))
    }

    /// The graph `spec` (a file or `builtin:NAME`).
    pub fn graph(&self, spec: &str) -> Result<Arc<Graph>> {
        self.graphs.get(spec, || crate::graph::io::load_graph(spec))
    }

    /// `spec` with graph noise `noise` (drop and add that fraction of edges) drawn with `seed`;
    /// the graph itself at noise 0.
    pub fn noisy_graph(&self, spec: &str, noise: f64, seed: u64) -> Result<Arc<Graph>> {
        if noise == 0.0 {
            return self.graph(spec);
        }
        let key = format!("{spec}\u{0}{noise}\u{0}{seed}");
        self.graphs.get(&key, || {
            let g = self.graph(spec)?;
            Ok(crate::graph::perturb::perturb(&g, noise, noise, seed)?.0)
        })
    }
}
