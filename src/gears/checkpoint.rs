//! Model and checkpoint files (safetensors).
