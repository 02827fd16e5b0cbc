//! Files in and out: the one output policy ([`output`]), run folders ([`run_folder`]) and the
//! locks that keep two runs from writing into the same folder ([`lock`]).

pub mod lock;
pub mod output;
pub mod run_folder;
