//! Files in and out: the one reader every text list and table parser goes through ([`text`]).
//!
//! Level 0 of the import layers (ARCHITECTURE.md): std, crates and [`crate::error`] only.

pub mod text;
