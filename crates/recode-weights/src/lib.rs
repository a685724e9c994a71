//! Model checkpoints: Hugging Face directories and GGUF files become a [`ModelConfig`], tensors
//! under Hugging Face names, and a tokenizer.
pub mod config;

pub use config::{Architecture, ConfigError, ModelConfig};
