//! Shared helpers of the backend tests: seeded random graphs, the GPU backends this machine has,
//! and where the project's data files are.
//!
//! A GPU backend that cannot be opened is skipped with a printed reason. Set
//! `GRAPHREACH_REQUIRE_WGPU=1` (CI, on lavapipe) or `GRAPHREACH_REQUIRE_CUDA=1` (GPU machines) to
//! turn such a skip into a failure. Test binaries built on one machine and run on another
//! (`scripts/gpu-bundle.sh`, `scripts/gpu-check.sh`) find the data through `GRAPHREACH_PROJECT_DIR`.

#![allow(dead_code)]

use graphreach::backend::{cuda, wgpu, Backend};
use graphreach::graph::Csr;
use graphreach::rng::SplitMix64;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The project root: `GRAPHREACH_PROJECT_DIR` when set (test binaries carried to another
/// machine), else the directory the tests were built in.
pub fn project_dir() -> PathBuf {
    std::env::var_os("GRAPHREACH_PROJECT_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Node counts every kernel is tested on: empty, one node, and sizes that are not multiples of 256.
pub const SIZES: [usize; 5] = [0, 1, 31, 1280, 1537];

/// A seeded random directed graph on `n` nodes: about `deg` out-edges per node among the first 90%
/// of the nodes (the last 10% stay isolated), plus self loops on every 7th node.
pub fn random_csr(n: usize, deg: usize, seed: u64) -> Csr {
    let mut rng = SplitMix64::new(seed);
    let active = (n * 9).div_ceil(10).max(n.min(1));
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..active {
        let d = rng.below(2 * deg as u64 + 1) as usize;
        for _ in 0..d {
            rows.push(u as u32);
            cols.push(rng.below(active as u64) as u32);
        }
        if u % 7 == 0 {
            rows.push(u as u32);
            cols.push(u as u32);
        }
    }
    let w = vec![1.0f32; rows.len()];
    Csr::from_triplets(n, &rows, &cols, &w).0
}

fn required(var: &str) -> bool {
    std::env::var(var).map(|v| v == "1").unwrap_or(false)
}

/// The GPU backends available here (opened once per test binary), printing each adapter's name
/// and the reason for every skip.
pub fn gpu_backends() -> &'static [Box<dyn Backend>] {
    static B: OnceLock<Vec<Box<dyn Backend>>> = OnceLock::new();
    B.get_or_init(|| {
        let mut v = Vec::new();
        for (name, var, r) in [("wgpu", "GRAPHREACH_REQUIRE_WGPU", wgpu::probe(true)), ("cuda", "GRAPHREACH_REQUIRE_CUDA", cuda::probe())] {
            match r {
                Ok(b) => {
                    eprintln!("testing {name} backend on: {}", b.describe());
                    v.push(b);
                }
                Err(e) if required(var) => panic!("{var}=1 but the {name} backend is unavailable: {e}"),
                Err(e) => eprintln!("SKIPPED {name} backend tests: {e}"),
            }
        }
        v
    })
}

/// Runs `f` on every available GPU backend; prints a skip line when there is none.
pub fn for_each_gpu(test: &str, mut f: impl FnMut(&dyn Backend)) {
    let b = gpu_backends();
    if b.is_empty() {
        eprintln!("SKIPPED {test}: no GPU backend available on this machine");
    }
    for x in b {
        f(x.as_ref());
    }
}
