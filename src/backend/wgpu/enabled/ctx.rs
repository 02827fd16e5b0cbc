//! [`GpuDevice`] on wgpu: the device, its pipelines (built once per entry), buffers, and launches
//! recorded into one command encoder that is submitted only when the host needs a result (a
//! download) or asks for it ([`GpuDevice::flush`]): a whole GEARS training step is one
//! submission. Every device call that can fail runs inside an error scope, so validation errors
//! and allocation failures come back as [`Error`]s instead of wgpu's default panic; errors in
//! recorded passes surface when the encoder is submitted.

use crate::backend::device::{from_words, DeviceStats, GpuDevice};
use crate::backend::gpu_plan::grid;
use crate::backend::source::{Entry, Family};
use crate::error::{DeviceError, Error, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use ::wgpu::util::DeviceExt;

const NAME: &str = "wgpu";

/// Bytes of one temporary tile buffer (at most the binding limit).
const TILE_BYTES: u64 = 64 << 20;

fn backend_err(msg: impl Into<String>) -> Error {
    Error::Backend { backend: NAME, msg: msg.into() }
}

fn api_err(what: impl Into<String>, source: impl Into<DeviceError>) -> Error {
    Error::Device { backend: NAME, what: what.into(), source: source.into() }
}

/// Launches recorded but not yet submitted.
#[derive(Default)]
struct Pending {
    encoder: Option<::wgpu::CommandEncoder>,
    launches: u64,
    last: &'static str,
}

/// An open wgpu device with its pipeline cache.
pub struct Ctx {
    device: ::wgpu::Device,
    queue: ::wgpu::Queue,
    /// Adapter name, driver and type, for `describe`.
    info: ::wgpu::AdapterInfo,
    /// Largest storage buffer binding in bytes.
    max_binding: u64,
    modules: Mutex<HashMap<Family, ::wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<&'static str, Arc<(::wgpu::ComputePipeline, ::wgpu::BindGroupLayout)>>>,
    /// Errors no scope captured (the uncaptured-error handler stores them here).
    uncaptured: Arc<Mutex<Vec<::wgpu::Error>>>,
    pending: Mutex<Pending>,
    launches: AtomicU64,
    submits: AtomicU64,
    waits: AtomicU64,
}

/// Every adapter wgpu can see, as "name (type, backend)".
pub fn list_adapters() -> Vec<String> {
    let instance = instance();
    pollster::block_on(instance.enumerate_adapters(::wgpu::Backends::all()))
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} ({:?}, {:?})", i.name, i.device_type, i.backend)
        })
        .collect()
}

fn instance() -> ::wgpu::Instance {
    let mut desc = ::wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = ::wgpu::Backends::from_env().unwrap_or(::wgpu::Backends::all());
    desc.flags = ::wgpu::InstanceFlags::empty().with_env();
    ::wgpu::Instance::new(desc)
}

impl Ctx {
    /// Opens the best adapter: a hardware one if any, lavapipe and other CPU adapters only when
    /// `allow_software`. The error says what was found and why it was not used.
    pub fn open(allow_software: bool) -> Result<Ctx> {
        let instance = instance();
        let adapters = pollster::block_on(instance.enumerate_adapters(::wgpu::Backends::all()));
        if adapters.is_empty() {
            return Err(backend_err("no adapter found (no Vulkan driver: install mesa-vulkan-drivers libvulkan1, or a GPU driver)"));
        }
        let rank = |t: ::wgpu::DeviceType| match t {
            ::wgpu::DeviceType::DiscreteGpu => 0,
            ::wgpu::DeviceType::IntegratedGpu => 1,
            ::wgpu::DeviceType::VirtualGpu => 2,
            ::wgpu::DeviceType::Other => 3,
            ::wgpu::DeviceType::Cpu => 4,
        };
        let mut sorted: Vec<_> = adapters.into_iter().collect();
        sorted.sort_by_key(|a| rank(a.get_info().device_type));
        let best = sorted.into_iter().next().expect("non-empty");
        let info = best.get_info();
        if info.device_type == ::wgpu::DeviceType::Cpu && !allow_software {
            return Err(backend_err(format!(
                "only a software adapter was found ({}); pass --backend wgpu to use it anyway",
                info.name
            )));
        }
        let limits = best.limits();
        let (device, queue) = pollster::block_on(best.request_device(&::wgpu::DeviceDescriptor {
            label: Some("graphreach"),
            required_features: ::wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| api_err(format!("cannot open {}", info.name), e))?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: ::wgpu::Error| {
            sink.lock().expect("error sink").push(e);
        }));
        Ok(Ctx {
            device,
            queue,
            info,
            max_binding: limits.max_storage_buffer_binding_size.min(limits.max_buffer_size),
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            uncaptured,
            pending: Mutex::new(Pending::default()),
            launches: AtomicU64::new(0),
            submits: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        })
    }

    /// Like [`Ctx::open`], with storage bindings capped at `max_binding_bytes` (at most the
    /// adapter's limit), so that tests exercise the tiled paths on small inputs.
    pub fn open_with_binding_limit(allow_software: bool, max_binding_bytes: u64) -> Result<Ctx> {
        let mut c = Self::open(allow_software)?;
        c.max_binding = c.max_binding.min(max_binding_bytes.max(256));
        Ok(c)
    }

    fn check_uncaptured(&self) -> Result<()> {
        let mut v = self.uncaptured.lock().expect("error sink");
        if v.is_empty() {
            return Ok(());
        }
        let more = v.len() - 1;
        let first = v.remove(0);
        v.clear();
        let what = if more > 0 { format!("uncaptured device error (and {more} more)") } else { "uncaptured device error".into() };
        Err(api_err(what, first))
    }

    /// Runs `f` inside validation and out-of-memory error scopes.
    fn scoped<T>(&self, what: impl FnOnce() -> String, bytes: u64, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(::wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(::wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if o.is_some() {
            return Err(Error::OutOfMemory { backend: NAME, bytes, what: what() });
        }
        if let Some(e) = v {
            return Err(api_err(what(), e));
        }
        self.check_uncaptured()?;
        Ok(out)
    }

    fn pipeline(&self, e: &Entry) -> Result<Arc<(::wgpu::ComputePipeline, ::wgpu::BindGroupLayout)>> {
        if let Some(p) = self.pipelines.lock().expect("pipelines").get(e.name) {
            return Ok(p.clone());
        }
        let module = {
            let mut m = self.modules.lock().expect("modules");
            match m.get(&e.family) {
                Some(x) => x.clone(),
                None => {
                    let x = self.scoped(
                        || format!("compiling kernels/{}.wgsl", e.family.name()),
                        0,
                        || {
                            self.device.create_shader_module(::wgpu::ShaderModuleDescriptor {
                                label: Some(e.family.name()),
                                source: ::wgpu::ShaderSource::Wgsl(e.family.wgsl().into()),
                            })
                        },
                    )?;
                    m.insert(e.family, x.clone());
                    x
                }
            }
        };
        let p = self.scoped(
            || format!("pipeline {}", e.name),
            0,
            || {
                let pipe = self.device.create_compute_pipeline(&::wgpu::ComputePipelineDescriptor {
                    label: Some(e.name),
                    layout: None,
                    module: &module,
                    entry_point: Some(e.name),
                    compilation_options: Default::default(),
                    cache: None,
                });
                let layout = pipe.get_bind_group_layout(0);
                (pipe, layout)
            },
        )?;
        let p = Arc::new(p);
        self.pipelines.lock().expect("pipelines").insert(e.name, p.clone());
        Ok(p)
    }

    fn check_binding(&self, what: &str, size: u64) -> Result<()> {
        if size > self.max_binding {
            return Err(Error::OutOfMemory { backend: NAME, bytes: size, what: format!("{what} (over the adapter's {}-byte binding limit)", self.max_binding) });
        }
        Ok(())
    }

    /// Submits the recorded launches with `tail` (a readback copy, or nothing) recorded after
    /// them, in one command buffer; returns the submission index.
    fn submit(&self, what: &str, tail: impl FnOnce(&mut ::wgpu::CommandEncoder)) -> Result<::wgpu::SubmissionIndex> {
        let mut pending = self.pending.lock().expect("pending launches");
        let mut enc = pending.encoder.take().unwrap_or_else(|| self.device.create_command_encoder(&::wgpu::CommandEncoderDescriptor { label: Some("graphreach") }));
        let (n, last) = (std::mem::take(&mut pending.launches), pending.last);
        let context = || if n > 0 { format!("{what} (after {n} recorded launches, the last {last})") } else { what.to_string() };
        let index = self.scoped(context, 0, || {
            tail(&mut enc);
            self.queue.submit(Some(enc.finish()))
        })?;
        self.submits.fetch_add(1, Ordering::Relaxed);
        Ok(index)
    }

    /// Copies the first `lens[i]` words of `bufs[i]` back to the host after the recorded
    /// launches: one submission, one wait.
    fn read_words(&self, what: &str, bufs: &[(&::wgpu::Buffer, usize)]) -> Result<Vec<Vec<u32>>> {
        let total: u64 = bufs.iter().map(|(_, n)| 4 * *n as u64).sum();
        if total == 0 {
            return Ok(bufs.iter().map(|_| Vec::new()).collect());
        }
        let staging = self.scoped(
            || format!("{what}: readback buffer"),
            total,
            || {
                self.device.create_buffer(&::wgpu::BufferDescriptor {
                    label: Some("readback"),
                    size: total,
                    usage: ::wgpu::BufferUsages::MAP_READ | ::wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            },
        )?;
        let index = self.submit(what, |enc| {
            let mut at = 0;
            for (b, n) in bufs {
                let size = 4 * *n as u64;
                if size > 0 {
                    enc.copy_buffer_to_buffer(b, 0, &staging, at, size);
                }
                at += size;
            }
        })?;
        self.waits.fetch_add(1, Ordering::Relaxed);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(::wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(::wgpu::PollType::Wait { submission_index: Some(index), timeout: None })
            .map_err(|e| api_err(format!("{what}: waiting for the device"), e))?;
        rx.recv()
            .map_err(|_| backend_err(format!("{what}: readback callback dropped")))?
            .map_err(|e| api_err(format!("{what}: mapping the readback buffer"), e))?;
        let out = {
            let view = slice.get_mapped_range().map_err(|e| api_err(format!("{what}: reading the readback buffer"), e))?;
            let all: &[u32] = bytemuck::cast_slice(&view);
            let mut at = 0;
            bufs.iter()
                .map(|(_, n)| {
                    let v = all[at..at + n].to_vec();
                    at += n;
                    v
                })
                .collect::<Vec<_>>()
        };
        staging.unmap();
        self.check_uncaptured()?;
        Ok(out)
    }

    /// Launches recorded but not yet submitted (for tests).
    pub fn pending_launches(&self) -> u64 {
        self.pending.lock().expect("pending launches").launches
    }
}

impl GpuDevice for Ctx {
    type Buf = ::wgpu::Buffer;

    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        format!("{} ({:?}, {:?}, driver {} {})", self.info.name, self.info.device_type, self.info.backend, self.info.driver, self.info.driver_info)
    }

    fn max_buffer_bytes(&self) -> u64 {
        self.max_binding
    }

    fn tile_bytes(&self, _share: u64) -> u64 {
        TILE_BYTES.min(self.max_binding)
    }

    /// A storage buffer holding `data` (at least 4 bytes), refusing bindings over the adapter limit.
    fn upload<T: bytemuck::Pod>(&self, what: &str, data: &[T]) -> Result<Self::Buf> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let padded;
        let contents = if bytes.len() < 4 {
            padded = [0u8; 4];
            &padded[..]
        } else {
            bytes
        };
        let size = contents.len() as u64;
        self.check_binding(what, size)?;
        self.scoped(
            || what.to_string(),
            size,
            || {
                self.device.create_buffer_init(&::wgpu::util::BufferInitDescriptor {
                    label: Some(what),
                    contents,
                    usage: ::wgpu::BufferUsages::STORAGE | ::wgpu::BufferUsages::COPY_SRC | ::wgpu::BufferUsages::COPY_DST,
                })
            },
        )
    }

    fn zeros(&self, what: &str, words: usize) -> Result<Self::Buf> {
        let size = (words.max(1) * 4) as u64;
        self.check_binding(what, size)?;
        self.scoped(
            || what.to_string(),
            size,
            || {
                self.device.create_buffer(&::wgpu::BufferDescriptor {
                    label: Some(what),
                    size,
                    usage: ::wgpu::BufferUsages::STORAGE | ::wgpu::BufferUsages::COPY_SRC | ::wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            },
        )
    }

    fn download<T: bytemuck::Pod>(&self, what: &str, buf: &Self::Buf, len: usize) -> Result<Vec<T>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut v = self.read_words(what, &[(buf, len)])?;
        Ok(from_words(v.pop().expect("one readback")))
    }

    fn download_many<T: bytemuck::Pod>(&self, what: &str, bufs: &[(&Self::Buf, usize)]) -> Result<Vec<Vec<T>>> {
        Ok(self.read_words(what, bufs)?.into_iter().map(from_words).collect())
    }

    /// Records `entry` into the pending command encoder (submitted at the next download or flush).
    fn launch<P: bytemuck::Pod>(&self, entry: &Entry, buffers: &[&Self::Buf], params: &P, groups: u64) -> Result<()> {
        assert_eq!(buffers.len(), entry.bindings.len(), "{}: wrong number of buffers", entry.name);
        let (gx, gy) = grid(groups).ok_or_else(|| backend_err(format!("{}: {groups} workgroups exceed the 65535 x 65535 grid", entry.name)))?;
        let pipe = self.pipeline(entry)?;
        let bg = self.scoped(
            || entry.name.to_string(),
            0,
            || {
                let ubuf = self.device.create_buffer_init(&::wgpu::util::BufferInitDescriptor {
                    label: Some("params"),
                    contents: bytemuck::bytes_of(params),
                    usage: ::wgpu::BufferUsages::UNIFORM,
                });
                let mut entries: Vec<::wgpu::BindGroupEntry> = entry
                    .bindings
                    .iter()
                    .zip(buffers)
                    .map(|(&b, buf)| ::wgpu::BindGroupEntry { binding: b, resource: buf.as_entire_binding() })
                    .collect();
                entries.push(::wgpu::BindGroupEntry { binding: entry.params_binding, resource: ubuf.as_entire_binding() });
                self.device.create_bind_group(&::wgpu::BindGroupDescriptor { label: Some(entry.name), layout: &pipe.1, entries: &entries })
            },
        )?;
        let mut pending = self.pending.lock().expect("pending launches");
        let enc = pending.encoder.get_or_insert_with(|| self.device.create_command_encoder(&::wgpu::CommandEncoderDescriptor { label: Some("graphreach") }));
        {
            let mut pass = enc.begin_compute_pass(&::wgpu::ComputePassDescriptor { label: Some(entry.name), timestamp_writes: None });
            pass.set_pipeline(&pipe.0);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        pending.launches += 1;
        pending.last = entry.name;
        self.launches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        if self.pending.lock().expect("pending launches").encoder.is_none() {
            return Ok(());
        }
        self.submit("submitting recorded launches", |_| ()).map(|_| ())
    }

    fn stats(&self) -> DeviceStats {
        DeviceStats { launches: self.launches.load(Ordering::Relaxed), submits: self.submits.load(Ordering::Relaxed), waits: self.waits.load(Ordering::Relaxed) }
    }
}
