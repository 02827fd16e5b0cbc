//! Training GEARS.
//!
//! * [`config`]: [`config::GearsConfig`], the trainer's settings with GEARS's defaults.
//! * [`fit`]: the epoch loop and the training step on the CPU ([`fit::TrainContext`]);
//!   [`batch`]: a training batch on the host (groups of identical cells, rows, loss cells).
//! * [`loss`], [`adam`]: the autofocus loss and the optimiser as GEARS trains.
//! * [`checkpoint`]: model and checkpoint files (safetensors).
//! * [`run`]: a whole training run from inputs to output files ([`run::run_training`]), as
//!   `graphreach train` and the study do it.

pub mod adam;
pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod fit;
pub mod loss;
pub mod run;
