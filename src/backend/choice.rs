//! The one `--backend` rule, for selection and training alike: an explicit choice opens that
//! device or fails with the reason; `auto` tries CUDA, then a hardware wgpu adapter (never a
//! software one such as lavapipe), then the CPU, and notes why it skipped each.
//!
//! [`open_device`] returns the opened device as an [`OpenedDevice`]; code that runs on whichever
//! it is implements [`DeviceTask`] once, generic over [`GpuDevice`], so no caller needs a `#[cfg]`
//! per API (the selection backend is [`crate::backend::select_backend`], the GEARS trainer
//! `gears::device::select`).

use crate::backend::device::GpuDevice;
use crate::backend::BackendChoice;
use crate::error::Result;

/// A device `--backend` can resolve to, in the order `auto` tries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// CUDA device 0.
    Cuda,
    /// The best wgpu adapter; software adapters only when `allow_software`.
    Wgpu {
        /// Whether a software adapter (lavapipe) may be taken.
        allow_software: bool,
    },
    /// The rayon CPU path.
    Cpu,
}

/// Resolves `choice` with `open`: explicit choices call it once and pass its error on; `auto`
/// calls it for CUDA, a hardware wgpu adapter and the CPU in turn and returns the first that
/// opens, with a `skipped NAME: reason` note for each that did not.
pub fn resolve<T>(choice: BackendChoice, mut open: impl FnMut(DeviceKind) -> Result<T>) -> Result<(T, Vec<String>)> {
    let mut notes = Vec::new();
    let kind = match choice {
        BackendChoice::Cpu => DeviceKind::Cpu,
        BackendChoice::Cuda => DeviceKind::Cuda,
        BackendChoice::Wgpu => DeviceKind::Wgpu { allow_software: true },
        BackendChoice::Auto => {
            for (name, kind) in [("cuda", DeviceKind::Cuda), ("wgpu", DeviceKind::Wgpu { allow_software: false })] {
                match open(kind) {
                    Ok(d) => return Ok((d, notes)),
                    Err(e) => notes.push(format!("skipped {name}: {e}")),
                }
            }
            DeviceKind::Cpu
        }
    };
    open(kind).map(|d| (d, notes))
}

/// What a command needs of a GPU device beyond launching kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// [`GpuDevice::gemm`] must work (CUDA: cuBLAS is loaded when the device is opened).
    pub gemm: bool,
}

/// A device opened by [`open_device`].
pub enum OpenedDevice {
    /// The CPU.
    Cpu,
    /// CUDA device 0.
    #[cfg(feature = "cuda")]
    Cuda(Box<crate::backend::cuda::CudaCtx>),
    /// A wgpu adapter.
    #[cfg(feature = "wgpu")]
    Wgpu(Box<crate::backend::wgpu::WgpuCtx>),
}

/// Work that runs on whichever device was opened: once on the CPU, once generic over the GPU APIs.
pub trait DeviceTask {
    /// What the work returns.
    type Output;
    /// Runs on the CPU.
    fn on_cpu(self) -> Self::Output;
    /// Runs on a GPU device (it takes ownership of it).
    fn on_gpu<D: GpuDevice + 'static>(self, dev: D) -> Self::Output;
}

impl OpenedDevice {
    /// `cpu`, `cuda` or `wgpu`.
    pub fn name(&self) -> &'static str {
        match self {
            OpenedDevice::Cpu => "cpu",
            #[cfg(feature = "cuda")]
            OpenedDevice::Cuda(d) => d.name(),
            #[cfg(feature = "wgpu")]
            OpenedDevice::Wgpu(d) => d.name(),
        }
    }

    /// The device description (thread count on the CPU).
    pub fn describe(&self) -> String {
        match self {
            OpenedDevice::Cpu => format!("{} threads", rayon::current_num_threads()),
            #[cfg(feature = "cuda")]
            OpenedDevice::Cuda(d) => d.describe(),
            #[cfg(feature = "wgpu")]
            OpenedDevice::Wgpu(d) => d.describe(),
        }
    }

    /// Runs `task` on this device.
    pub fn run<T: DeviceTask>(self, task: T) -> T::Output {
        match self {
            OpenedDevice::Cpu => task.on_cpu(),
            #[cfg(feature = "cuda")]
            OpenedDevice::Cuda(d) => task.on_gpu(*d),
            #[cfg(feature = "wgpu")]
            OpenedDevice::Wgpu(d) => task.on_gpu(*d),
        }
    }
}

/// Opens one device of `kind` with what `needs` asks for.
pub fn open_kind(kind: DeviceKind, needs: Needs) -> Result<OpenedDevice> {
    match kind {
        DeviceKind::Cpu => Ok(OpenedDevice::Cpu),
        DeviceKind::Cuda => open_cuda(needs),
        DeviceKind::Wgpu { allow_software } => open_wgpu(allow_software, needs),
    }
}

/// The device `choice` resolves to (see [`resolve`]), with the notes on skipped devices.
pub fn open_device(choice: BackendChoice, needs: Needs) -> Result<(OpenedDevice, Vec<String>)> {
    resolve(choice, |kind| open_kind(kind, needs))
}

#[cfg(feature = "cuda")]
fn open_cuda(needs: Needs) -> Result<OpenedDevice> {
    let d = crate::backend::cuda::CudaCtx::open()?;
    if needs.gemm {
        d.prepare_gemm()?;
    }
    Ok(OpenedDevice::Cuda(Box::new(d)))
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(_needs: Needs) -> Result<OpenedDevice> {
    Err(crate::backend::cuda::not_compiled())
}

#[cfg(feature = "wgpu")]
fn open_wgpu(allow_software: bool, needs: Needs) -> Result<OpenedDevice> {
    if !allow_software {
        if let Some(why) = no_gpu_device() {
            return Err(crate::error::Error::Backend { backend: "wgpu", msg: why });
        }
    }
    let d = crate::backend::wgpu::WgpuCtx::open(allow_software)?;
    if needs.gemm {
        d.prepare_gemm()?;
    }
    Ok(OpenedDevice::Wgpu(Box::new(d)))
}

/// Why no hardware GPU adapter can exist here, if that is certain without asking Vulkan: on Linux
/// every hardware adapter needs a GPU device node (`/dev/dri/*` for Mesa drivers, `/dev/nvidia*`,
/// `/dev/dxg` under WSL). Checking first keeps a CPU-only machine from loading every installed
/// Vulkan driver (about 100 ms with lavapipe installed: most of a default `select`) only to find
/// software ones. Only a hardware-only request (`auto`) may skip on it.
pub fn no_gpu_device() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let any_in = |dir: &str, prefix: &str| {
        std::fs::read_dir(dir).is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with(prefix)))
    };
    let found = any_in("/dev/dri", "") || any_in("/dev", "nvidia") || std::path::Path::new("/dev/dxg").exists();
    (!found).then(|| "no hardware GPU adapter (no GPU device in /dev/dri, /dev/nvidia* or /dev/dxg)".to_string())
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu(_allow_software: bool, _needs: Needs) -> Result<OpenedDevice> {
    Err(crate::backend::wgpu::not_compiled())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn fake(ok: &'static [&'static str]) -> impl FnMut(DeviceKind) -> Result<&'static str> {
        move |k| {
            let name = match k {
                DeviceKind::Cuda => "cuda",
                DeviceKind::Wgpu { allow_software: false } => "wgpu-hw",
                DeviceKind::Wgpu { allow_software: true } => "wgpu-any",
                DeviceKind::Cpu => "cpu",
            };
            if ok.contains(&name) {
                Ok(name)
            } else {
                Err(Error::Backend { backend: "test", msg: format!("no {name}") })
            }
        }
    }

    #[test]
    fn auto_takes_cuda_then_hardware_wgpu_then_cpu_and_notes_each_skip() {
        assert_eq!(resolve(BackendChoice::Auto, fake(&["cuda", "wgpu-hw", "cpu"])).unwrap(), ("cuda", vec![]));
        let (d, notes) = resolve(BackendChoice::Auto, fake(&["wgpu-hw", "wgpu-any", "cpu"])).unwrap();
        assert_eq!((d, notes.len()), ("wgpu-hw", 1));
        assert!(notes[0].starts_with("skipped cuda: "));
        let (d, notes) = resolve(BackendChoice::Auto, fake(&["wgpu-any", "cpu"])).unwrap();
        assert_eq!(d, "cpu", "auto never takes a software adapter");
        assert!(notes[0].starts_with("skipped cuda: ") && notes[1].starts_with("skipped wgpu: ") && notes.len() == 2);
    }

    #[test]
    fn explicit_choices_open_that_device_or_fail() {
        assert_eq!(resolve(BackendChoice::Wgpu, fake(&["wgpu-any"])).unwrap().0, "wgpu-any");
        assert_eq!(resolve(BackendChoice::Cpu, fake(&["cpu"])).unwrap().0, "cpu");
        assert!(resolve(BackendChoice::Cuda, fake(&["cpu", "wgpu-hw"])).is_err());
        assert!(resolve(BackendChoice::Wgpu, fake(&["cpu", "wgpu-hw"])).is_err());
    }
}
