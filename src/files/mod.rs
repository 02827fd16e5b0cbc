//! Files in and out: the one reader every text list and table parser goes through ([`text`]), the
//! one output policy ([`output`]), run folders ([`run_folder`]) and the locks that keep two runs
//! from writing into the same folder ([`lock`]).
//!
//! Level 0 of the import layers (ARCHITECTURE.md): std, crates and [`crate::error`] only.

pub mod lock;
pub mod output;
pub mod run_folder;
pub mod text;
