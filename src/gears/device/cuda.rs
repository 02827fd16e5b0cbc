//! [`TrainDevice`] on CUDA: the NVRTC-compiled kernels of `kernels/gears.cu` for everything but
//! the GEMMs, which go through cuBLAS (row-major products mapped onto column-major `cublasSgemm`:
//! `C^T = op(B)^T op(A)^T`). libcuda, libnvrtc and libcublas are probed before any cudarc call.
//! One stream: launches are ordered, and a download synchronises (reporting failed launches).

use super::{Gemm, TrainDevice};
use crate::backend::cuda::CudaCtx as Ctx;
use crate::backend::source::{Entry, GearsParams};
use crate::error::{Error, Result};
use cudarc::cublas::{sys as blas_sys, CudaBlas};
use cudarc::driver::{CudaSlice, DevicePtr, DeviceRepr, PushKernelArg};

// SAFETY: GearsParams is #[repr(C)], plain u32 / f32 fields, the same layout as `struct Params`
// in kernels/gears.cu; it is passed by value as the last kernel argument.
unsafe impl DeviceRepr for GearsParams {}

fn err(msg: impl Into<String>) -> Error {
    Error::Backend { backend: "cuda", msg: msg.into() }
}

/// A CUDA device (device 0) for the trainer.
pub struct CudaTrain {
    ctx: Ctx,
    blas: CudaBlas,
}

impl CudaTrain {
    /// Opens device 0 after probing for the driver, NVRTC and cuBLAS.
    pub fn open() -> Result<Self> {
        let ctx = Ctx::open()?;
        // SAFETY: only tries to dlopen libcublas; cudarc panics on first use when it is missing.
        if !unsafe { blas_sys::is_culib_present() } {
            return Err(err("cuBLAS (libcublas.so.13) not found; install the CUDA 13 toolkit or `pip install \"nvidia-cublas==13.*\"` and add its nvidia/cu13/lib to LD_LIBRARY_PATH"));
        }
        let blas = CudaBlas::new(ctx.stream.clone()).map_err(|e| err(format!("cuBLAS handle: {e:?}")))?;
        Ok(CudaTrain { ctx, blas })
    }
}

impl TrainDevice for CudaTrain {
    type Buf = CudaSlice<f32>;
    type IBuf = CudaSlice<u32>;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn upload(&self, what: &str, data: &[f32]) -> Result<Self::Buf> {
        self.ctx.upload(what, data)
    }

    fn upload_u32(&self, what: &str, data: &[u32]) -> Result<Self::IBuf> {
        self.ctx.upload(what, data)
    }

    fn zeros(&self, what: &str, len: usize) -> Result<Self::Buf> {
        self.ctx.zeros(what, len)
    }

    fn download(&self, what: &str, buf: &Self::Buf, len: usize) -> Result<Vec<f32>> {
        let mut v = self.ctx.download(what, buf)?;
        v.truncate(len);
        Ok(v)
    }

    fn launch(&self, entry: &Entry, f: &[&Self::Buf], i: &[&Self::IBuf], p: &GearsParams, groups: u64) -> Result<()> {
        let func = self.ctx.func(entry)?;
        let mut b = self.ctx.stream.launch_builder(&func);
        for x in f {
            b.arg(*x);
        }
        for x in i {
            b.arg(*x);
        }
        b.arg(p);
        // SAFETY: every gears entry takes its float buffers, then its index buffers, then Params
        // by value, in the order of `backend::source::gears` (checked against kernels/gears.cu by
        // tests/shaders.rs); bounds come from the params the ops build.
        self.ctx.launched(entry, unsafe { b.launch(self.ctx.cfg(entry, groups)?) })
    }

    fn gemm(&self, g: &Gemm, a: &Self::Buf, b: &Self::Buf, c: &Self::Buf) -> Result<()> {
        if g.m == 0 || g.n == 0 {
            return Ok(());
        }
        let op = |t: bool| if t { blas_sys::cublasOperation_t::CUBLAS_OP_T } else { blas_sys::cublasOperation_t::CUBLAS_OP_N };
        let stream = &self.ctx.stream;
        let (pa, _ra) = a.device_ptr(stream);
        let (pb, _rb) = b.device_ptr(stream);
        let (pc, _rc) = c.device_ptr(stream);
        let f4 = std::mem::size_of::<f32>() as u64;
        let (alpha, beta) = (g.alpha, g.beta);
        // Column-major view: C^T (n x m, ldc) = op(B)^T (n x k) op(A)^T (k x m).
        // SAFETY: pointers are live device allocations of this context (kept alive by the borrows
        // above); offsets and leading dimensions describe views inside them (the ops size them).
        let r = unsafe {
            cudarc::cublas::result::sgemm(
                *self.blas.handle(),
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
        r.map_err(|e| err(format!("cublasSgemm {}x{}x{}: {e:?}", g.m, g.n, g.k)))
    }
}
