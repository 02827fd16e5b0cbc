//! `graphreach backends`: what each compute backend found on this machine, and
//! `--check-kernels`, which compiles every `kernels/*.cu` with NVRTC (no GPU needed).

use crate::backend::{cuda, probe_all};
use crate::error::Result;
use crate::files::output::print_stdout;
use clap::Args;

/// Arguments of `graphreach backends`.
#[derive(Debug, Args)]
pub struct BackendsArgs {
    /// Compile every CUDA kernel with NVRTC (needs only libnvrtc.so.13) and fail on any error.
    #[arg(long)]
    pub check_kernels: bool,
    /// Target architecture for --check-kernels.
    #[arg(long, default_value = "compute_90")]
    pub arch: String,
}

/// Prints the probe of every backend; with `--check-kernels`, compiles the CUDA kernels too.
pub fn run(a: BackendsArgs) -> Result<()> {
    if a.check_kernels {
        for k in cuda::check_kernels(&a.arch)? {
            print_stdout(&format!("nvrtc\tkernels/{}.cu\t{}\tok ({} bytes PTX)\n", k.family, k.arch, k.ptx_bytes))?;
        }
        return Ok(());
    }
    let mut text = String::from("backend\tavailable\tauto\tdetail\n");
    for r in probe_all() {
        text += &format!("{}\t{}\t{}\t{}\n", r.backend, if r.available { "yes" } else { "no" }, if r.auto_eligible { "yes" } else { "no" }, r.detail);
    }
    print_stdout(&text)
}
