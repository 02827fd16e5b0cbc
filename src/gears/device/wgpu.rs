//! [`TrainDevice`] on wgpu: the WGSL kernels of `kernels/gears.wgsl`, GEMMs included (a tiled
//! 16x16 kernel), every call inside wgpu error scopes (see the backend's `Ctx`).

use super::TrainDevice;
use crate::backend::source::{Entry, GearsParams};
use crate::backend::wgpu::WgpuCtx as Ctx;
use crate::error::Result;

/// A wgpu device for the trainer.
pub struct WgpuTrain {
    ctx: Ctx,
}

impl WgpuTrain {
    /// Opens the best adapter; software adapters (lavapipe) only with `allow_software`.
    pub fn open(allow_software: bool) -> Result<Self> {
        Ok(WgpuTrain { ctx: Ctx::open(allow_software)? })
    }
}

impl TrainDevice for WgpuTrain {
    type Buf = ::wgpu::Buffer;
    type IBuf = ::wgpu::Buffer;

    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn upload(&self, what: &str, data: &[f32]) -> Result<Self::Buf> {
        self.ctx.storage(what, data)
    }

    fn upload_u32(&self, what: &str, data: &[u32]) -> Result<Self::IBuf> {
        self.ctx.storage(what, data)
    }

    fn zeros(&self, what: &str, len: usize) -> Result<Self::Buf> {
        self.ctx.zeros(what, len)
    }

    fn download(&self, _what: &str, buf: &Self::Buf, len: usize) -> Result<Vec<f32>> {
        Ok(self.ctx.read_u32(buf, len)?.into_iter().map(f32::from_bits).collect())
    }

    fn launch(&self, entry: &Entry, f: &[&Self::Buf], i: &[&Self::IBuf], p: &GearsParams, groups: u64) -> Result<()> {
        let all: Vec<&::wgpu::Buffer> = f.iter().chain(i).copied().collect();
        self.ctx.dispatch(entry, &all, p, groups)
    }
}
