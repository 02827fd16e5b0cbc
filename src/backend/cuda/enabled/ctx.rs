//! [`GpuDevice`] on CUDA: library probing (before any cudarc call, since cudarc panics when a
//! library is missing), NVRTC compilation of `kernels/common.cuh` + `kernels/*.cu` with a
//! per-process module cache, device allocations that map out-of-memory to
//! [`Error::OutOfMemory`], launches with the family's `Params` by value, and GEMMs through cuBLAS
//! (row-major products mapped onto column-major `cublasSgemm`: `C^T = op(B)^T op(A)^T`). One
//! stream: launches are ordered, and a download synchronises (reporting failed launches).

use crate::backend::cuda::KernelCheck;
use crate::backend::device::{from_words, DeviceStats, Gemm, GpuDevice};
use crate::backend::gpu_plan::grid;
use crate::backend::source::{Entry, Family, WORKGROUP};
use crate::error::{DeviceError, Error, Result};
use cudarc::cublas::{sys as blas_sys, CudaBlas};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DeviceRepr, DriverError, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const NAME: &str = "cuda";

/// Largest single buffer (keeps u32 offsets and word indices valid).
const MAX_BUFFER_BYTES: u64 = 1 << 31;

/// Bounds of one temporary tile buffer.
const TILE_BYTES: (u64, u64) = (64 << 20, 1 << 30);

fn backend_err(msg: impl Into<String>) -> Error {
    Error::Backend { backend: NAME, msg: msg.into() }
}

fn api_err(what: impl Into<String>, source: impl Into<DeviceError>) -> Error {
    Error::Device { backend: NAME, what: what.into(), source: source.into() }
}

/// Fails unless libnvrtc can be loaded (checked without calling into cudarc's loader).
fn require_nvrtc() -> Result<()> {
    // SAFETY: only tries to dlopen the library; no NVRTC function is called.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(backend_err("NVRTC (libnvrtc.so.13) not found; install the CUDA 13 toolkit or `pip install \"nvidia-cuda-nvrtc==13.0.*\"` and add its nvidia/cu13/lib to LD_LIBRARY_PATH"))
    }
}

/// Compiles one family (with `common.cuh` in front) to PTX for `arch` (e.g. `compute_90`).
fn compile(family: Family, arch: &str) -> Result<Ptx> {
    compile_source(family.name(), family.cuda_source(), arch)
}

fn compile_source(name: &str, src: String, arch: &str) -> Result<Ptx> {
    let opts = CompileOptions { options: vec![format!("--gpu-architecture={arch}")], name: Some(format!("{name}.cu")), ..Default::default() };
    compile_ptx_with_opts(src, opts).map_err(|e| {
        let log = match &e {
            cudarc::nvrtc::CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
            _ => String::new(),
        };
        api_err(format!("NVRTC failed on kernels/{name}.cu for {arch}: {log}"), e)
    })
}

/// Compiles every `kernels/*.cu` with NVRTC for `arch` without a GPU (only libnvrtc is needed).
pub fn check_kernels(arch: &str) -> Result<Vec<KernelCheck>> {
    require_nvrtc()?;
    Family::ALL
        .iter()
        .map(|&f| compile(f, arch).map(|p| KernelCheck { family: f.name(), arch: arch.to_string(), ptx_bytes: p.to_src().len() }))
        .collect()
}

/// A family's `Params` struct as a kernel argument: the driver copies as many bytes as the
/// kernel's parameter declares, from the start of this block.
#[repr(C, align(16))]
struct ParamBlock([u8; 128]);

// SAFETY: a plain byte block passed by value; every kernel's last parameter is a struct of u32 /
// f32 fields with the layout of the Rust params struct copied to the block's start.
unsafe impl DeviceRepr for ParamBlock {}

impl ParamBlock {
    fn new<P: bytemuck::Pod>(p: &P) -> ParamBlock {
        let bytes = bytemuck::bytes_of(p);
        let mut b = ParamBlock([0; 128]);
        assert!(bytes.len() <= b.0.len(), "params struct of {} bytes", bytes.len());
        b.0[..bytes.len()].copy_from_slice(bytes);
        b
    }
}

/// An open CUDA device (device 0) with its compiled modules.
pub struct Ctx {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    arch: String,
    total_mem: usize,
    modules: Mutex<HashMap<Family, Arc<CudaModule>>>,
    funcs: Mutex<HashMap<&'static str, CudaFunction>>,
    blas: OnceLock<CudaBlas>,
    launches: AtomicU64,
    waits: AtomicU64,
}

impl Ctx {
    /// Opens device 0, after checking that the driver and NVRTC libraries can be loaded.
    pub fn open() -> Result<Ctx> {
        // SAFETY: only tries to dlopen libcuda; cudarc panics on first use when it is missing.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(backend_err("libcuda.so.1 (NVIDIA driver) not found; on a GPU machine add the driver's directory to LD_LIBRARY_PATH (e.g. /usr/local/nvidia/lib64)"));
        }
        require_nvrtc()?;
        let ctx = CudaContext::new(0).map_err(|e| api_err("no usable CUDA device 0", e))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown NVIDIA GPU".into());
        let (maj, min) = ctx.compute_capability().map_err(|e| api_err("compute capability", e))?;
        let total_mem = ctx.total_mem().unwrap_or(0);
        let stream = ctx.default_stream();
        Ok(Ctx {
            ctx,
            stream,
            name,
            arch: format!("compute_{maj}{min}"),
            total_mem,
            modules: Mutex::new(HashMap::new()),
            funcs: Mutex::new(HashMap::new()),
            blas: OnceLock::new(),
            launches: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        })
    }

    /// Free device memory in bytes (0 if unknown).
    pub fn free_mem(&self) -> u64 {
        self.ctx.mem_get_info().map(|(free, _)| free as u64).unwrap_or(0)
    }

    fn drv(&self, what: &str, bytes: u64, e: DriverError) -> Error {
        if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            Error::OutOfMemory { backend: NAME, bytes, what: what.into() }
        } else {
            api_err(what, e)
        }
    }

    /// The compiled function for `entry` (the module is compiled once per family).
    fn func(&self, entry: &Entry) -> Result<CudaFunction> {
        if let Some(f) = self.funcs.lock().expect("funcs").get(entry.name) {
            return Ok(f.clone());
        }
        let module = {
            let mut m = self.modules.lock().expect("modules");
            match m.get(&entry.family) {
                Some(x) => x.clone(),
                None => {
                    let ptx = compile(entry.family, &self.arch)?;
                    let x = self.ctx.load_module(ptx).map_err(|e| api_err(format!("loading kernels/{}.cu", entry.family.name()), e))?;
                    m.insert(entry.family, x.clone());
                    x
                }
            }
        };
        let f = module.load_function(entry.name).map_err(|e| api_err(format!("kernel {}", entry.name), e))?;
        self.funcs.lock().expect("funcs").insert(entry.name, f.clone());
        Ok(f)
    }

    /// The cuBLAS handle on this context's stream (loaded on first use).
    fn blas(&self) -> Result<&CudaBlas> {
        if let Some(b) = self.blas.get() {
            return Ok(b);
        }
        // SAFETY: only tries to dlopen libcublas; cudarc panics on first use when it is missing.
        if !unsafe { blas_sys::is_culib_present() } {
            return Err(backend_err("cuBLAS (libcublas.so.13) not found; install the CUDA 13 toolkit or `pip install \"nvidia-cublas==13.*\"` and add its nvidia/cu13/lib to LD_LIBRARY_PATH"));
        }
        let blas = CudaBlas::new(self.stream.clone()).map_err(|e| api_err("creating the cuBLAS handle", e))?;
        Ok(self.blas.get_or_init(|| blas))
    }
}

impl GpuDevice for Ctx {
    type Buf = CudaSlice<u32>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        format!("{} ({}, {:.1} GiB)", self.name, self.arch, self.total_mem as f64 / (1u64 << 30) as f64)
    }

    fn max_buffer_bytes(&self) -> u64 {
        MAX_BUFFER_BYTES
    }

    fn tile_bytes(&self, share: u64) -> u64 {
        (self.free_mem() / share.max(1)).clamp(TILE_BYTES.0, TILE_BYTES.1)
    }

    fn upload<T: bytemuck::Pod>(&self, what: &str, data: &[T]) -> Result<Self::Buf> {
        if data.is_empty() {
            return self.zeros(what, 1);
        }
        let words: &[u32] = bytemuck::cast_slice(data);
        self.stream.clone_htod(words).map_err(|e| self.drv(what, std::mem::size_of_val(words) as u64, e))
    }

    fn zeros(&self, what: &str, words: usize) -> Result<Self::Buf> {
        let len = words.max(1);
        self.stream.alloc_zeros(len).map_err(|e| self.drv(what, 4 * len as u64, e))
    }

    fn download<T: bytemuck::Pod>(&self, what: &str, buf: &Self::Buf, len: usize) -> Result<Vec<T>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        self.waits.fetch_add(1, Ordering::Relaxed);
        let words = self.stream.clone_dtoh(&buf.slice(..len)).map_err(|e| api_err(what, e))?;
        Ok(from_words(words))
    }

    fn launch<P: bytemuck::Pod>(&self, entry: &Entry, buffers: &[&Self::Buf], params: &P, groups: u64) -> Result<()> {
        assert_eq!(buffers.len(), entry.bindings.len(), "{}: wrong number of buffers", entry.name);
        let (x, y) = grid(groups).ok_or_else(|| backend_err(format!("{}: {groups} blocks exceed the 65535 x 65535 grid", entry.name)))?;
        let cfg = LaunchConfig { grid_dim: (x, y, 1), block_dim: (WORKGROUP, 1, 1), shared_mem_bytes: 0 };
        let func = self.func(entry)?;
        let p = ParamBlock::new(params);
        let mut b = self.stream.launch_builder(&func);
        for buf in buffers {
            b.arg(*buf);
        }
        b.arg(&p);
        self.launches.fetch_add(1, Ordering::Relaxed);
        // SAFETY: every entry takes the buffers of its `Entry::bindings` in order (the family's
        // kernels/*.cu header lists them; tests/shaders.rs checks every entry exists) and then its
        // family's Params struct by value; the host code sizes every buffer for the params it sends.
        unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| api_err(format!("launching {}", entry.name), e))
    }

    fn gemm(&self, g: &Gemm, a: &Self::Buf, b: &Self::Buf, c: &Self::Buf) -> Result<()> {
        if g.m == 0 || g.n == 0 {
            return Ok(());
        }
        let blas = self.blas()?;
        let op = |t: bool| if t { blas_sys::cublasOperation_t::CUBLAS_OP_T } else { blas_sys::cublasOperation_t::CUBLAS_OP_N };
        let stream = &self.stream;
        let (pa, _ra) = a.device_ptr(stream);
        let (pb, _rb) = b.device_ptr(stream);
        let (pc, _rc) = c.device_ptr(stream);
        let f4 = std::mem::size_of::<f32>() as u64;
        let (alpha, beta) = (g.alpha, g.beta);
        self.launches.fetch_add(1, Ordering::Relaxed);
        // Column-major view: C^T (n x m, ldc) = op(B)^T (n x k) op(A)^T (k x m).
        // SAFETY: pointers are live device allocations of this context (kept alive by the borrows
        // above); offsets and leading dimensions describe views inside them (the ops size them).
        let r = unsafe {
            cudarc::cublas::result::sgemm(
                *blas.handle(),
                op(g.tb),
                op(g.ta),
                g.n as i32,
                g.m as i32,
                g.k as i32,
                &alpha,
                (pb + g.off_b as u64 * f4) as *const f32,
                g.ldb.max(1) as i32,
                (pa + g.off_a as u64 * f4) as *const f32,
                g.lda.max(1) as i32,
                &beta,
                (pc + g.off_c as u64 * f4) as *mut f32,
                g.ldc.max(1) as i32,
            )
        };
        r.map_err(|e| api_err(format!("cublasSgemm {}x{}x{}", g.m, g.n, g.k), e))
    }

    fn prepare_gemm(&self) -> Result<()> {
        self.blas().map(|_| ())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn stats(&self) -> DeviceStats {
        let launches = self.launches.load(Ordering::Relaxed);
        DeviceStats { launches, submits: launches, waits: self.waits.load(Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed driver call is an [`Error::Device`] that keeps the driver's error as its source,
    /// says what failed, and exits with the backend code 3.
    #[test]
    fn api_errors_keep_their_source() {
        let e = api_err("launching reach_expand_u32", DriverError(cudarc::driver::sys::CUresult::CUDA_ERROR_LAUNCH_FAILED));
        assert_eq!(e.exit_code(), 3);
        assert!(std::error::Error::source(&e).is_some());
        assert!(matches!(&e, Error::Device { what, source: DeviceError::CudaDriver(d), .. } if what == "launching reach_expand_u32" && d.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_LAUNCH_FAILED));
        // Formatting a DriverError asks the driver for its text (cudarc panics without libcuda).
        // SAFETY: only tries to dlopen libcuda.
        if unsafe { cudarc::driver::sys::is_culib_present() } {
            assert!(e.to_string().starts_with("cuda backend: launching reach_expand_u32: "), "{e}");
            assert!(e.to_string().contains("LAUNCH_FAILED"), "{e}");
        }
    }

    /// With `common.cuh` put in front, NVRTC still names the `.cu` file and its own line.
    #[test]
    fn compile_errors_name_the_cu_file_and_line() {
        if require_nvrtc().is_err() {
            return eprintln!("SKIPPED: libnvrtc.so.13 not found");
        }
        let lines = Family::Reach.cuda().matches('\n').count();
        let err = compile_source("reach", format!("{}\nnot_a_type broken;\n", Family::Reach.cuda_source()), "compute_90").unwrap_err().to_string();
        assert!(err.contains(&format!("reach.cu({})", lines + 2)), "{err}");
        assert!(compile_source("reach", Family::Reach.cuda_source(), "compute_90").is_ok());
    }
}
