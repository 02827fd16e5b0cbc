//! The wgpu (WGSL compute) backend. `enabled/` holds it when the `wgpu` feature is on;
//! `disabled.rs` has the same functions, each reporting that the feature is off.

#[cfg(feature = "wgpu")]
mod enabled;
#[cfg(feature = "wgpu")]
pub use enabled::*;

#[cfg(not(feature = "wgpu"))]
mod disabled;
#[cfg(not(feature = "wgpu"))]
pub use disabled::*;
