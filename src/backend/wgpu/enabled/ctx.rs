//! The wgpu device, its pipelines (built once per entry) and the buffer / dispatch / readback
//! helpers. Every device call that can fail runs inside an error scope, so validation errors and
//! allocation failures come back as [`Error`]s instead of wgpu's default panic.

use crate::backend::gpu_plan::grid;
use crate::backend::source::{Entry, Family, WORKGROUP};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use ::wgpu::util::DeviceExt;

const NAME: &str = "wgpu";

fn backend_err(msg: impl Into<String>) -> Error {
    Error::Backend { backend: "wgpu", msg: msg.into() }
}

/// An open wgpu device with its pipeline cache.
pub struct Ctx {
    pub(crate) device: ::wgpu::Device,
    pub(crate) queue: ::wgpu::Queue,
    /// Adapter name, driver and type, for `describe`.
    pub(crate) info: ::wgpu::AdapterInfo,
    /// Largest storage buffer binding in bytes.
    pub(crate) max_binding: u64,
    modules: Mutex<HashMap<Family, ::wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<&'static str, Arc<(::wgpu::ComputePipeline, ::wgpu::BindGroupLayout)>>>,
    /// Errors no scope captured (the uncaptured-error handler stores them here).
    uncaptured: Arc<Mutex<Vec<String>>>,
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
        .map_err(|e| backend_err(format!("cannot open {}: {e}", info.name)))?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: ::wgpu::Error| {
            sink.lock().expect("error sink").push(e.to_string());
        }));
        Ok(Ctx {
            device,
            queue,
            info,
            max_binding: limits.max_storage_buffer_binding_size.min(limits.max_buffer_size),
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            uncaptured,
        })
    }

    /// Human-readable adapter description.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?}, driver {} {})", self.info.name, self.info.device_type, self.info.backend, self.info.driver, self.info.driver_info)
    }

    fn check_uncaptured(&self) -> Result<()> {
        let mut v = self.uncaptured.lock().expect("error sink");
        if v.is_empty() {
            Ok(())
        } else {
            Err(backend_err(v.drain(..).collect::<Vec<_>>().join("; ")))
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes.
    fn scoped<T>(&self, what: &str, bytes: u64, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(::wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(::wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if o.is_some() {
            return Err(Error::OutOfMemory { backend: NAME, bytes, what: what.into() });
        }
        if let Some(e) = v {
            return Err(backend_err(format!("{what}: {e}")));
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
                    let x = self.scoped(&format!("compiling kernels/{}.wgsl", e.family.name()), 0, || {
                        self.device.create_shader_module(::wgpu::ShaderModuleDescriptor {
                            label: Some(e.family.name()),
                            source: ::wgpu::ShaderSource::Wgsl(e.family.wgsl().into()),
                        })
                    })?;
                    m.insert(e.family, x.clone());
                    x
                }
            }
        };
        let p = self.scoped(&format!("pipeline {}", e.name), 0, || {
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
        })?;
        let p = Arc::new(p);
        self.pipelines.lock().expect("pipelines").insert(e.name, p.clone());
        Ok(p)
    }

    /// A storage buffer holding `data` (at least 4 bytes), refusing bindings over the adapter limit.
    pub fn storage<T: bytemuck::Pod>(&self, what: &str, data: &[T]) -> Result<::wgpu::Buffer> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let padded;
        let contents = if bytes.len() < 4 {
            padded = [0u8; 4];
            &padded[..]
        } else {
            bytes
        };
        let size = contents.len() as u64;
        if size > self.max_binding {
            return Err(Error::OutOfMemory { backend: NAME, bytes: size, what: format!("{what} (over the adapter's {}-byte binding limit)", self.max_binding) });
        }
        self.scoped(what, size, || {
            self.device.create_buffer_init(&::wgpu::util::BufferInitDescriptor {
                label: Some(what),
                contents,
                usage: ::wgpu::BufferUsages::STORAGE | ::wgpu::BufferUsages::COPY_SRC | ::wgpu::BufferUsages::COPY_DST,
            })
        })
    }

    /// A zeroed storage buffer of `words` u32 words.
    pub fn zeros(&self, what: &str, words: usize) -> Result<::wgpu::Buffer> {
        let size = (words.max(1) * 4) as u64;
        if size > self.max_binding {
            return Err(Error::OutOfMemory { backend: NAME, bytes: size, what: format!("{what} (over the adapter's {}-byte binding limit)", self.max_binding) });
        }
        self.scoped(what, size, || {
            self.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some(what),
                size,
                usage: ::wgpu::BufferUsages::STORAGE | ::wgpu::BufferUsages::COPY_SRC | ::wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
    }

    /// Dispatches `entry` over `groups` workgroups (a 2D grid) with `buffers` in argument order.
    pub fn dispatch<P: bytemuck::Pod>(&self, entry: &Entry, buffers: &[&::wgpu::Buffer], params: &P, groups: u64) -> Result<()> {
        assert_eq!(buffers.len(), entry.bindings.len(), "{}: wrong number of buffers", entry.name);
        let (gx, gy) = grid(groups).ok_or_else(|| backend_err(format!("{}: {groups} workgroups exceed the 65535 x 65535 grid", entry.name)))?;
        let pipe = self.pipeline(entry)?;
        self.scoped(entry.name, 0, || {
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
            let bg = self.device.create_bind_group(&::wgpu::BindGroupDescriptor { label: Some(entry.name), layout: &pipe.1, entries: &entries });
            let mut enc = self.device.create_command_encoder(&::wgpu::CommandEncoderDescriptor { label: Some(entry.name) });
            {
                let mut pass = enc.begin_compute_pass(&::wgpu::ComputePassDescriptor { label: Some(entry.name), timestamp_writes: None });
                pass.set_pipeline(&pipe.0);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(gx, gy, 1);
            }
            self.queue.submit(Some(enc.finish()));
        })
    }

    /// Reads the first `len` u32 words of `buf` back to the host (waits for queued work).
    pub fn read_u32(&self, buf: &::wgpu::Buffer, len: usize) -> Result<Vec<u32>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let size = (len * 4) as u64;
        let staging = self.scoped("readback buffer", size, || {
            let staging = self.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some("readback"),
                size,
                usage: ::wgpu::BufferUsages::MAP_READ | ::wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut enc = self.device.create_command_encoder(&::wgpu::CommandEncoderDescriptor { label: Some("readback") });
            enc.copy_buffer_to_buffer(buf, 0, &staging, 0, size);
            self.queue.submit(Some(enc.finish()));
            staging
        })?;
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(::wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(::wgpu::PollType::Wait { submission_index: None, timeout: None })
            .map_err(|e| backend_err(format!("waiting for the device: {e}")))?;
        rx.recv()
            .map_err(|_| backend_err("readback callback dropped"))?
            .map_err(|e| backend_err(format!("mapping the readback buffer: {e}")))?;
        let out = {
            let view = slice.get_mapped_range().map_err(|e| backend_err(format!("reading the readback buffer: {e}")))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        staging.unmap();
        self.check_uncaptured()?;
        Ok(out)
    }

    /// Workgroups covering `items` with one invocation each.
    pub fn groups_for(items: u64) -> u64 {
        items.div_ceil(WORKGROUP as u64)
    }
}
