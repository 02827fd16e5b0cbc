//! The CUDA context: library probing (before any cudarc call, since cudarc panics when a library
//! is missing), NVRTC compilation with a per-process module cache, device allocations that map
//! out-of-memory to [`Error::OutOfMemory`], and checked launches.

use crate::backend::cuda::KernelCheck;
use crate::backend::gpu_plan::grid;
use crate::backend::source::{Entry, Family, WORKGROUP};
use crate::error::{Error, Result};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, DriverError, LaunchConfig, ValidAsZeroBits};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const NAME: &str = "cuda";

pub(crate) fn backend_err(msg: impl Into<String>) -> Error {
    Error::Backend { backend: NAME, msg: msg.into() }
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

/// Compiles one family to PTX for `arch` (e.g. `compute_90`).
fn compile(family: Family, arch: &str) -> Result<Ptx> {
    let opts = CompileOptions { options: vec![format!("--gpu-architecture={arch}")], name: Some(format!("{}.cu", family.name())), ..Default::default() };
    compile_ptx_with_opts(family.cuda(), opts).map_err(|e| {
        let log = match &e {
            cudarc::nvrtc::CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
            other => format!("{other:?}"),
        };
        backend_err(format!("NVRTC failed on kernels/{}.cu for {arch}: {log}", family.name()))
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

/// An open CUDA device with its compiled modules.
pub struct Ctx {
    ctx: Arc<CudaContext>,
    pub(crate) stream: Arc<CudaStream>,
    name: String,
    arch: String,
    total_mem: usize,
    modules: Mutex<HashMap<Family, Arc<CudaModule>>>,
    funcs: Mutex<HashMap<&'static str, CudaFunction>>,
}

impl Ctx {
    /// Opens device 0, after checking that the driver and NVRTC libraries can be loaded.
    pub fn open() -> Result<Ctx> {
        // SAFETY: only tries to dlopen libcuda; cudarc panics on first use when it is missing.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(backend_err("libcuda.so.1 (NVIDIA driver) not found; on a GPU machine add the driver's directory to LD_LIBRARY_PATH (e.g. /usr/local/nvidia/lib64)"));
        }
        require_nvrtc()?;
        let ctx = CudaContext::new(0).map_err(|e| backend_err(format!("no usable CUDA device 0: {e:?}")))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown NVIDIA GPU".into());
        let (maj, min) = ctx.compute_capability().map_err(|e| backend_err(format!("compute capability: {e:?}")))?;
        let total_mem = ctx.total_mem().unwrap_or(0);
        let stream = ctx.default_stream();
        Ok(Ctx { ctx, stream, name, arch: format!("compute_{maj}{min}"), total_mem, modules: Mutex::new(HashMap::new()), funcs: Mutex::new(HashMap::new()) })
    }

    /// "name (arch, memory)".
    pub fn describe(&self) -> String {
        format!("{} ({}, {:.1} GiB)", self.name, self.arch, self.total_mem as f64 / (1u64 << 30) as f64)
    }

    /// Free device memory in bytes (0 if unknown).
    pub fn free_mem(&self) -> u64 {
        self.ctx.mem_get_info().map(|(free, _)| free as u64).unwrap_or(0)
    }

    pub(crate) fn drv(&self, what: &str, bytes: u64, e: DriverError) -> Error {
        if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            Error::OutOfMemory { backend: NAME, bytes, what: what.into() }
        } else {
            backend_err(format!("{what}: {e:?}"))
        }
    }

    /// The compiled function for `entry` (the module is compiled once per family).
    pub fn func(&self, entry: &Entry) -> Result<CudaFunction> {
        if let Some(f) = self.funcs.lock().expect("funcs").get(entry.name) {
            return Ok(f.clone());
        }
        let module = {
            let mut m = self.modules.lock().expect("modules");
            match m.get(&entry.family) {
                Some(x) => x.clone(),
                None => {
                    let ptx = compile(entry.family, &self.arch)?;
                    let x = self.ctx.load_module(ptx).map_err(|e| backend_err(format!("loading kernels/{}.cu: {e:?}", entry.family.name())))?;
                    m.insert(entry.family, x.clone());
                    x
                }
            }
        };
        let f = module.load_function(entry.name).map_err(|e| backend_err(format!("kernel {}: {e:?}", entry.name)))?;
        self.funcs.lock().expect("funcs").insert(entry.name, f.clone());
        Ok(f)
    }

    /// A device copy of `data` (one zero element when empty).
    pub fn upload<T: DeviceRepr + ValidAsZeroBits + Default + Clone>(&self, what: &str, data: &[T]) -> Result<CudaSlice<T>> {
        let bytes = std::mem::size_of_val(data) as u64;
        if data.is_empty() {
            return self.zeros(what, 1);
        }
        self.stream.clone_htod(data).map_err(|e| self.drv(what, bytes, e))
    }

    /// A zeroed device buffer of `len` elements (at least 1).
    pub fn zeros<T: DeviceRepr + ValidAsZeroBits>(&self, what: &str, len: usize) -> Result<CudaSlice<T>> {
        let len = len.max(1);
        self.stream.alloc_zeros(len).map_err(|e| self.drv(what, (len * std::mem::size_of::<T>()) as u64, e))
    }

    /// Copies a device buffer back (synchronises the stream, so it also reports failed launches).
    pub fn download<T: DeviceRepr + Default + Clone>(&self, what: &str, buf: &CudaSlice<T>) -> Result<Vec<T>> {
        self.stream.clone_dtoh(buf).map_err(|e| backend_err(format!("{what}: {e:?}")))
    }

    /// Launch configuration for `groups` blocks of [`WORKGROUP`] threads on a 2D grid.
    pub fn cfg(&self, entry: &Entry, groups: u64) -> Result<LaunchConfig> {
        let (x, y) = grid(groups).ok_or_else(|| backend_err(format!("{}: {groups} blocks exceed the 65535 x 65535 grid", entry.name)))?;
        Ok(LaunchConfig { grid_dim: (x, y, 1), block_dim: (WORKGROUP, 1, 1), shared_mem_bytes: 0 })
    }

    /// Maps a launch error of `entry`.
    pub fn launched(&self, entry: &Entry, r: std::result::Result<Option<(cudarc::driver::CudaEvent, cudarc::driver::CudaEvent)>, DriverError>) -> Result<()> {
        r.map(|_| ()).map_err(|e| backend_err(format!("launching {}: {e:?}", entry.name)))
    }
}
