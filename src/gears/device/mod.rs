//! The GEARS trainer on a GPU, in the llm.c manner: the same fixed architecture and the same
//! algorithm as [`super::net::model`] (forward and backward over weighted groups of identical cells),
//! written out over a small set of device ops ([`ops`]) whose kernels are `kernels/gears.{cu,wgsl}`.
//!
//! * [`TrainDevice`]: what a backend provides: f32 / u32 buffers, downloads, kernel launches and
//!   a GEMM (the WGSL tiled `gears_gemm` on wgpu; cuBLAS on CUDA).
//! * [`model::DeviceModel`]: parameters, gradients, Adam moments and BatchNorm running statistics
//!   on the device; one training step = renorm, forward, loss (on the host: δ is groups x G),
//!   backward, running statistics, Adam.
//! * [`train::fit_on_device`]: the epoch loop of [`super::train::fit`] with the step on the device;
//!   the host model and optimiser are synchronised after every epoch (checkpoints, validation
//!   and evaluation run on the host CPU path).

pub mod model;
pub mod ops;
pub mod train;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use crate::backend::source::{Entry, GearsParams};
use crate::error::Result;

/// A device the trainer can run on.
pub trait TrainDevice {
    /// A device buffer of f32 values.
    type Buf;
    /// A device buffer of u32 values (indices).
    type IBuf;
    /// Backend name (`"wgpu"`, `"cuda"`).
    fn name(&self) -> &'static str;
    /// Human-readable device description.
    fn describe(&self) -> String;
    /// A device copy of `data` (`what` names it in errors, e.g. out of memory).
    fn upload(&self, what: &str, data: &[f32]) -> Result<Self::Buf>;
    /// A device copy of index data.
    fn upload_u32(&self, what: &str, data: &[u32]) -> Result<Self::IBuf>;
    /// A zeroed buffer of `len` f32 values.
    fn zeros(&self, what: &str, len: usize) -> Result<Self::Buf>;
    /// The first `len` values of `buf` (waits for the queued work).
    fn download(&self, what: &str, buf: &Self::Buf, len: usize) -> Result<Vec<f32>>;
    /// Launches `entry` over `groups` workgroups of 256 with the f32 then u32 buffers in argument order.
    fn launch(&self, entry: &Entry, f: &[&Self::Buf], i: &[&Self::IBuf], p: &GearsParams, groups: u64) -> Result<()>;
    /// `C = alpha op(A) op(B) + beta C` on row-major views (see [`Gemm`]).
    fn gemm(&self, g: &Gemm, a: &Self::Buf, b: &Self::Buf, c: &Self::Buf) -> Result<()> {
        let p = GearsParams {
            u: [g.m as u32, g.n as u32, g.k as u32, u32::from(g.ta) | (u32::from(g.tb) << 1), g.lda as u32, g.ldb as u32, g.ldc as u32, g.off_a as u32, g.off_b as u32, g.off_c as u32, 0, 0],
            f: [g.alpha, g.beta, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        let groups = (g.m.div_ceil(16) * g.n.div_ceil(16)) as u64;
        self.launch(&crate::backend::source::gears::GEMM, &[a, b, c], &[], &p, groups)
    }
}

/// A row-major GEMM `C[m x n] = alpha op(A)[m x k] op(B)[k x n] + beta C`, with leading
/// dimensions and element offsets. `op(A)(i, p) = A[off_a + i lda + p]`, or `A[off_a + p lda + i]`
/// when `ta`; likewise for B with `tb`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// A is stored transposed (k x m).
    pub ta: bool,
    /// B is stored transposed (n x k).
    pub tb: bool,
    /// Leading dimension of A.
    pub lda: usize,
    /// Leading dimension of B.
    pub ldb: usize,
    /// Leading dimension of C.
    pub ldc: usize,
    /// Offset of A.
    pub off_a: usize,
    /// Offset of B.
    pub off_b: usize,
    /// Offset of C.
    pub off_c: usize,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the old C (C is not read when 0).
    pub beta: f32,
}

impl Gemm {
    /// A dense `m x n x k` product with natural leading dimensions.
    pub fn new(m: usize, n: usize, k: usize, ta: bool, tb: bool, beta: f32) -> Self {
        Gemm { m, n, k, ta, tb, lda: if ta { m } else { k }, ldb: if tb { k } else { n }, ldc: n, off_a: 0, off_b: 0, off_c: 0, alpha: 1.0, beta }
    }
}

/// The device a `graphreach train` run takes.
pub enum Selected {
    /// The CPU reference trainer.
    Cpu,
    /// CUDA device 0.
    #[cfg(feature = "cuda")]
    Cuda(Box<cuda::CudaTrain>),
    /// A wgpu adapter.
    #[cfg(feature = "wgpu")]
    Wgpu(Box<wgpu::WgpuTrain>),
}

impl Selected {
    /// "cpu", "cuda" or "wgpu" with the device description.
    pub fn describe(&self) -> String {
        match self {
            Selected::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
            #[cfg(feature = "cuda")]
            Selected::Cuda(d) => format!("cuda ({})", d.describe()),
            #[cfg(feature = "wgpu")]
            Selected::Wgpu(d) => format!("wgpu ({})", d.describe()),
        }
    }
}

fn open_cuda() -> Result<Selected> {
    #[cfg(feature = "cuda")]
    {
        cuda::CudaTrain::open().map(|d| Selected::Cuda(Box::new(d)))
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(crate::error::Error::Backend { backend: "cuda", msg: "not compiled in (rebuild with --features cuda)".into() })
    }
}

fn open_wgpu(allow_software: bool) -> Result<Selected> {
    #[cfg(feature = "wgpu")]
    {
        wgpu::WgpuTrain::open(allow_software).map(|d| Selected::Wgpu(Box::new(d)))
    }
    #[cfg(not(feature = "wgpu"))]
    {
        let _ = allow_software;
        Err(crate::error::Error::Backend { backend: "wgpu", msg: "not compiled in (rebuild with --features wgpu)".into() })
    }
}

/// The trainer's device for `choice`, with notes on why others were skipped: `auto` takes CUDA,
/// then a hardware wgpu adapter (never lavapipe), else the CPU; an explicit GPU choice fails with
/// the reason when that device cannot be opened.
pub fn select(choice: crate::backend::BackendChoice) -> Result<(Selected, Vec<String>)> {
    use crate::backend::BackendChoice as B;
    let mut notes = Vec::new();
    match choice {
        B::Cpu => Ok((Selected::Cpu, notes)),
        B::Cuda => open_cuda().map(|d| (d, notes)),
        B::Wgpu => open_wgpu(true).map(|d| (d, notes)),
        B::Auto => {
            match open_cuda() {
                Ok(d) => return Ok((d, notes)),
                Err(e) => notes.push(format!("skipped cuda: {e}")),
            }
            match open_wgpu(false) {
                Ok(d) => return Ok((d, notes)),
                Err(e) => notes.push(format!("skipped wgpu: {e}")),
            }
            Ok((Selected::Cpu, notes))
        }
    }
}
