//! The host layer of a GPU API, written once per API (`cuda/enabled/ctx.rs`, `wgpu/enabled/ctx.rs`):
//! buffers of 32-bit words, uploads, downloads, kernel launches of the entries of
//! [`crate::backend::source`] and an optional GEMM. Everything above it (the selection kernels'
//! host code in [`crate::backend::gpu`] and the GEARS device trainer) is written once over
//! [`GpuDevice`].
//!
//! A launch takes its buffers in the entry's argument order and the family's parameter struct,
//! which both APIs receive the same way: the WGSL uniform `params`, and the CUDA kernel's last
//! argument, by value. Launches are ordered; a download waits for every launch before it. A
//! device may hold launches back and hand them to the GPU in one submission at the next download
//! or [`GpuDevice::flush`] (wgpu records them into one command encoder); [`DeviceStats`] counts
//! what it did.

use crate::backend::source::{gears, Entry, GearsParams};
use crate::error::Result;

/// A GPU API's device: buffers, launches, downloads. See the module docs.
pub trait GpuDevice: Send + Sync {
    /// A device buffer of 32-bit words (u32 values or f32 bits).
    type Buf: Send + Sync;
    /// Short backend name: `cuda` or `wgpu`.
    fn name(&self) -> &'static str;
    /// Human-readable device description (name, architecture or adapter type, memory).
    fn describe(&self) -> String;
    /// The largest single buffer the device takes, in bytes (the binding limit on wgpu).
    fn max_buffer_bytes(&self) -> u64;
    /// Bytes for one temporary tile buffer when a tile may use about `1 / share` of the free
    /// memory: between 64 MiB and 1 GiB on CUDA, the smaller of 64 MiB and the binding limit on wgpu.
    fn tile_bytes(&self, share: u64) -> u64;
    /// A device copy of `data` (4-byte values; at least one word is allocated). `what` names the
    /// buffer in errors such as out of memory.
    fn upload<T: bytemuck::Pod>(&self, what: &str, data: &[T]) -> Result<Self::Buf>;
    /// A zeroed buffer of `words` 32-bit words (at least 1).
    fn zeros(&self, what: &str, words: usize) -> Result<Self::Buf>;
    /// The first `len` values of `buf`, after every launch queued before (4-byte values).
    fn download<T: bytemuck::Pod>(&self, what: &str, buf: &Self::Buf, len: usize) -> Result<Vec<T>>;
    /// Several downloads after one wait (`(buffer, len)` each); the default downloads one by one.
    fn download_many<T: bytemuck::Pod>(&self, what: &str, bufs: &[(&Self::Buf, usize)]) -> Result<Vec<Vec<T>>> {
        bufs.iter().map(|(b, n)| self.download(what, b, *n)).collect()
    }
    /// Launches `entry` over `groups` workgroups of [`crate::backend::source::WORKGROUP`]
    /// invocations (a 2D grid), with `buffers` in the entry's argument order and `params` (the
    /// family's `Params` struct) last.
    fn launch<P: bytemuck::Pod>(&self, entry: &Entry, buffers: &[&Self::Buf], params: &P, groups: u64) -> Result<()>;
    /// `C = alpha op(A) op(B) + beta C` on row-major views (see [`Gemm`]); by default the tiled
    /// `gears_gemm` kernel (CUDA overrides it with cuBLAS).
    fn gemm(&self, g: &Gemm, a: &Self::Buf, b: &Self::Buf, c: &Self::Buf) -> Result<()> {
        let p = GearsParams {
            u: [g.m as u32, g.n as u32, g.k as u32, u32::from(g.ta) | (u32::from(g.tb) << 1), g.lda as u32, g.ldb as u32, g.ldc as u32, g.off_a as u32, g.off_b as u32, g.off_c as u32, 0, 0],
            f: [g.alpha, g.beta, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        let groups = (g.m.div_ceil(16) * g.n.div_ceil(16)) as u64;
        self.launch(&gears::GEMM, &[a, b, c], &p, groups)
    }
    /// Makes sure [`GpuDevice::gemm`] can run (CUDA: loads cuBLAS and creates its handle), so a
    /// trainer fails before it starts rather than at its first product.
    fn prepare_gemm(&self) -> Result<()> {
        Ok(())
    }
    /// Hands every launch held back so far to the GPU without waiting for it.
    fn flush(&self) -> Result<()>;
    /// What the device has done since it was opened.
    fn stats(&self) -> DeviceStats;
}

/// Counters of a [`GpuDevice`], for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Kernel launches (GEMMs included).
    pub launches: u64,
    /// Submissions of work to the GPU: wgpu queue submits (one per recorded command encoder);
    /// on CUDA every launch is enqueued on the stream by itself, so this equals `launches`.
    pub submits: u64,
    /// Times the host waited for the device (downloads).
    pub waits: u64,
}

impl std::ops::Sub for DeviceStats {
    type Output = DeviceStats;
    fn sub(self, o: DeviceStats) -> DeviceStats {
        DeviceStats { launches: self.launches - o.launches, submits: self.submits - o.submits, waits: self.waits - o.waits }
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

/// 4-byte values of `words` as `T` (u32 or f32), for downloads.
///
/// # Panics
/// When `T` is not 4 bytes long.
#[cfg_attr(not(any(feature = "cuda", feature = "wgpu")), allow(dead_code))]
pub(crate) fn from_words<T: bytemuck::Pod>(words: Vec<u32>) -> Vec<T> {
    assert_eq!(std::mem::size_of::<T>(), 4, "device buffers hold 4-byte values");
    bytemuck::cast_slice::<u32, T>(&words).to_vec()
}
