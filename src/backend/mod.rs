//! The backend seam: the few kernels selection needs (L-hop balls, batched marginal gains with a
//! covered-set update, and batched spectral norms), behind one small trait. [`cpu::CpuBackend`]
//! is the reference twin; the CUDA and wgpu backends implement the same trait and must give
//! identical selections.
//!
//! GPU kernels live in `kernels/` ([`source`]). Each GPU API implements one host layer,
//! [`device::GpuDevice`] (buffers, uploads, downloads, launches, an optional GEMM), in its
//! `ctx.rs`; the selection kernels' host code is written once over it ([`gpu::GpuBackend`]), as is
//! the GEARS device trainer; host-side tiling and packing is in [`gpu_plan`]. [`choice`] holds the
//! one `--backend` rule. Device memory, with n nodes, e edges of the hop adjacency,
//! C candidates, balls B_i and words W = 2 * ceil(n / 64) u32 words per bitset row:
//!
//! * balls: the CSR (4(n + 1) + 4e bytes) plus, per tile of R seed sets, three bitset buffers of
//!   4RW bytes (about 3Rn/8) while expanding. Tiles hold at most 64 MiB per buffer on wgpu (under
//!   lavapipe's 128 MiB binding limit) and a fifth of the free memory (64 MiB to 1 GiB) on CUDA.
//!   Dense layouts download each tile's rows. Other layouts then free the frontier buffers, count
//!   each row's members (4R bytes) and, when the tile's lists are smaller than its bitsets, compact
//!   the rows on the device into ascending member lists, launch by launch, each launch's members
//!   buffer at most one tile buffer (4 bytes per member, plus 4 bytes per row of offsets); only the
//!   lists come back. The host holds one tile's rows and the growing ball lists.
//! * coverage: the balls once (sparse: 4 sum|B_i| + 4(C + 1) bytes; dense: 4CW bytes = Cn/8), the
//!   covered bitset (4W), weights (4n) and per call 12 bytes per evaluated id. Ball buffers are
//!   split into tiles under the binding limit (128 MiB on lavapipe) on wgpu and under 2 GiB on CUDA.
//! * pair pools: the per-gene balls as above (G genes, not the G(G-1)/2 pairs); pair gains are
//!   computed on the host ([`pairs`]) from per-gene lists, bitset rows (4GW bytes) and an
//!   inverted index (4 sum|B_g| bytes).
//! * spectral norms: A and A^T (8(n + 1) + 8e bytes), D^-1/2 (4n), and per launch of up to 256
//!   sets 4(257 + m) + 12m + 12 * 256 bytes for m members in all.
//! * GO graph builder (`graph build`): see [`jaccard_plan`] (the packed index once, plus per tile
//!   of R targets 4Rn bytes of counters and 8 bytes per candidate slot).

pub mod choice;
pub mod cpu;
pub mod cuda;
pub mod device;
pub mod gpu;
pub mod gpu_plan;
pub mod jaccard_plan;
pub mod pairs;
pub mod source;
pub mod wgpu;

use crate::error::Result;
use crate::graph::go_build::{CpuJaccard, JaccardTopK};
use crate::graph::Csr;
use crate::graph::sets::{BallLayout, BallSet, SetList};
use serde::Serialize;

/// Which backend to use, as chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// CUDA if a driver and GPU are present, else a hardware wgpu adapter, else the CPU.
    #[default]
    Auto,
    /// The rayon CPU path (reference).
    Cpu,
    /// NVIDIA GPUs through cudarc (driver loaded at run time, kernels compiled with NVRTC).
    Cuda,
    /// wgpu compute shaders (Vulkan; lavapipe counts only when asked for explicitly).
    Wgpu,
}

/// Incremental coverage state over a fixed [`BallSet`]: batched marginal gains and commits.
///
/// Gains are exact integers: the number of uncovered ball members, or with node weights the sum
/// of their fixed-point weights (`select::NodeWeights` makes them), so every backend agrees bit for bit.
pub trait CoverageOracle {
    /// Writes into `out[k]` the marginal gain of ball `ids[k]` with respect to the covered set.
    fn gains(&mut self, ids: &[u32], out: &mut [u64]) -> Result<()>;
    /// Adds ball `id` to the covered set and returns its marginal gain before the update.
    fn commit(&mut self, id: u32) -> Result<u64>;
}

/// A [`CoverageOracle`] over a pool of gene pairs that also gives cheap upper bounds: the
/// uncovered weight of both genes' balls counted separately, u(a) + u(b), which is at least the
/// pair's gain and never grows as the covered set does (so the lazy loop may keep it as a bound).
pub trait PairCoverageOracle: CoverageOracle {
    /// Writes into `out[k]` the bound u(a) + u(b) of pair `ids[k]` at the current covered set.
    fn gain_bounds(&self, ids: &[u32], out: &mut [u64]);
}

/// Power-iteration settings for spectral norms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PowerIterConfig {
    /// Stop when the estimate changes by less than `tol` relative between two iterations.
    pub tol: f64,
    /// Iteration cap per set.
    pub max_iter: u32,
}

impl PowerIterConfig {
    /// Default relative tolerance (well under the 1e-6 tie window of MaxSpec).
    pub const DEFAULT_TOL: f64 = 1e-9;
    /// Default iteration cap.
    pub const DEFAULT_MAX_ITER: u32 = 1000;

    /// Checks the settings before any work: a positive finite tolerance and at least two
    /// iterations (convergence compares two successive estimates).
    pub fn validate(&self) -> crate::error::Result<()> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(crate::error::Error::invalid(format!("--power-tol {} must be a positive number", self.tol)));
        }
        if self.max_iter < 2 {
            return Err(crate::error::Error::invalid(format!(
                "--power-max-iter {} must be at least 2: the power iteration stops when two successive estimates agree",
                self.max_iter
            )));
        }
        Ok(())
    }
}

impl Default for PowerIterConfig {
    fn default() -> Self {
        PowerIterConfig { tol: Self::DEFAULT_TOL, max_iter: Self::DEFAULT_MAX_ITER }
    }
}

/// The normalised operator M = D^-1/2 (A + I) D^-1/2 of the full graph, where `adj` is the 0/1
/// pattern of the kept edges in the hop orientation (self loops removed; `I` adds them back once)
/// and `D` = row degree of `adj` + 1 over the FULL graph. MaxSpec scores a node set R by the
/// largest singular value of M[R, R].
#[derive(Clone, Debug)]
pub struct SpectralOperator {
    /// Row `i` lists `j` with A[i, j] = 1 (no diagonal), sorted.
    pub adj: Csr,
    /// 1 / sqrt(deg_i + 1).
    pub dinv_sqrt: Vec<f64>,
}

impl SpectralOperator {
    /// Builds the operator from a hop adjacency (see [`crate::graph::Graph::hop_adjacency`]).
    pub fn from_hop_adjacency(hop: &Csr) -> Self {
        let mut rows = Vec::new();
        let mut cols = Vec::new();
        for r in 0..hop.n {
            for &c in hop.row(r) {
                if c as usize != r {
                    rows.push(r as u32);
                    cols.push(c);
                }
            }
        }
        let ones = vec![1f32; rows.len()];
        let adj = Csr::from_unique_triplets(hop.n, &rows, &cols, &ones);
        let dinv_sqrt = (0..adj.n).map(|r| 1.0 / ((adj.row(r).len() + 1) as f64).sqrt()).collect();
        SpectralOperator { adj, dinv_sqrt }
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.adj.n
    }
}

/// The spectral norm of one set and the singular vector it converged to.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectralNorm {
    /// Largest singular value of M[R, R] (0 for the empty set).
    pub sigma: f64,
    /// Power iterations used.
    pub iterations: u32,
    /// Whether the tolerance was reached within the iteration cap.
    pub converged: bool,
}

/// A compute backend for the selection kernels.
pub trait Backend: Send + Sync {
    /// Short name: `cpu`, `cuda` or `wgpu`.
    fn name(&self) -> &'static str;
    /// Human-readable device description (GPU or adapter name, thread count).
    fn describe(&self) -> String;
    /// The balls within `hops` hops of every seed set in `seeds` over `adj` (row `v` = the nodes one
    /// hop from `v`), each ball containing its seeds, in the layout `layout` picks.
    fn balls(&self, adj: &Csr, seeds: &SetList, hops: u32, layout: BallLayout) -> Result<BallSet>;
    /// An empty-covered-set oracle over `balls`; `weights` are per-node fixed-point weights (None = 1 each).
    fn coverage<'a>(&'a self, balls: &'a BallSet, weights: Option<&'a [u32]>) -> Result<Box<dyn CoverageOracle + 'a>>;
    /// An empty-covered-set oracle over a pool of gene pairs: candidate `k` is the pair
    /// `pairs[k]` of indices into the per-gene balls `genes`, whose ball is the union of both
    /// (see [`pairs`]). The default is the CPU twin [`pairs::CpuPairCoverage`] over the balls the
    /// backend built; a GPU kernel may replace it (the gains are exact integers either way).
    fn pair_coverage<'a>(&'a self, genes: &'a BallSet, pairs: &'a [[u32; 2]], weights: Option<&'a [u32]>) -> Result<Box<dyn PairCoverageOracle + 'a>> {
        Ok(Box::new(pairs::CpuPairCoverage::new(genes, pairs, weights)))
    }
    /// Spectral norms of M[S, S] for every set S in `sets`. `warm` (length n, may be empty) is a
    /// start vector over all nodes; entries of S that are 0 in it start at a positive default.
    fn spectral_norms(&self, op: &SpectralOperator, sets: &SetList, warm: &[f64], cfg: &PowerIterConfig) -> Result<Vec<SpectralNorm>>;
    /// The singular vector of one set (over all nodes, zero outside the set), used as the warm start of the next step.
    fn spectral_vector(&self, op: &SpectralOperator, set: &[u32], warm: &[f64], cfg: &PowerIterConfig) -> Result<(SpectralNorm, Vec<f64>)> {
        cpu::power_iteration(op, set, warm, cfg)
    }
    /// Whether [`Backend::spectral_norms`] returns the CPU's f64 values bit for bit. When false
    /// (the GPU backends compute in f32), MaxSpec re-scores the candidates near the best on the CPU
    /// before choosing, so the selection is still the CPU's.
    fn spectral_is_exact(&self) -> bool {
        true
    }
    /// Candidates re-evaluated per call by the lazy greedy loop.
    fn default_batch_width(&self) -> usize {
        1
    }
    /// The GO-graph builder's Jaccard top-k on this backend (the CPU twin unless overridden). The
    /// returned object keeps its device uploads between calls of one build.
    fn jaccard(&self) -> Box<dyn JaccardTopK + '_> {
        Box::new(CpuJaccard)
    }
}

/// The backend that `choice` resolves to (the rule of [`choice::resolve`]), with a note on why
/// others were skipped (printed on stderr).
pub fn select_backend(choice: BackendChoice) -> Result<(Box<dyn Backend>, Vec<String>)> {
    struct IntoBackend;
    impl choice::DeviceTask for IntoBackend {
        type Output = Box<dyn Backend>;
        fn on_cpu(self) -> Box<dyn Backend> {
            Box::new(cpu::CpuBackend::new())
        }
        fn on_gpu<D: device::GpuDevice + 'static>(self, dev: D) -> Box<dyn Backend> {
            Box::new(gpu::GpuBackend::new(dev))
        }
    }
    let (dev, notes) = choice::open_device(choice, choice::Needs::default())?;
    Ok((dev.run(IntoBackend), notes))
}

fn gpu_cuda() -> Result<Box<dyn Backend>> {
    cuda::probe()
}

fn gpu_wgpu(allow_software: bool) -> Result<Box<dyn Backend>> {
    if !allow_software {
        if let Some(why) = choice::no_gpu_device() {
            return Err(crate::error::Error::Backend { backend: "wgpu", msg: why });
        }
    }
    wgpu::probe(allow_software)
}

/// What probing one backend found.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    /// Backend name.
    pub backend: &'static str,
    /// Whether `--backend NAME` would work.
    pub available: bool,
    /// Whether `--backend auto` would take it (CUDA and hardware wgpu adapters only).
    pub auto_eligible: bool,
    /// The device description, or why it is unavailable.
    pub detail: String,
}

fn report(backend: &'static str, r: Result<Box<dyn Backend>>, auto_eligible: bool) -> ProbeReport {
    match r {
        Ok(b) => ProbeReport { backend, available: true, auto_eligible, detail: b.describe() },
        Err(e) => ProbeReport { backend, available: false, auto_eligible: false, detail: e.to_string() },
    }
}

/// Probes every backend (CUDA, wgpu hardware then software, CPU) without choosing one.
pub fn probe_all() -> Vec<ProbeReport> {
    let mut out = vec![report("cuda", gpu_cuda(), true)];
    out.push(match gpu_wgpu(false) {
        Ok(b) => report("wgpu", Ok(b), true),
        Err(hw) => match gpu_wgpu(true) {
            Ok(b) => {
                let mut r = report("wgpu", Ok(b), false);
                r.detail = format!("{}; software adapter, used only with --backend wgpu ({hw})", r.detail);
                r
            }
            Err(e) => report("wgpu", Err(e), false),
        },
    });
    out.push(report("cpu", Ok(Box::new(cpu::CpuBackend::new())), true));
    out
}
