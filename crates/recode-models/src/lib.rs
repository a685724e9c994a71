//! Trainable Qwen2 / Llama causal LMs in candle: the model ([`CausalLm`]), LoRA/DoRA adapters
//! ([`adapter`]), batched KV-cache sampling ([`generate`]), and completion log-probabilities for
//! training ([`log_probs`]). Checkpoints and tokenizers come from `recode-weights`.
pub mod adapter;
pub mod cache;
pub mod error;
pub mod model;
pub mod ops;
pub mod rng;

pub use adapter::{AdapterConfig, AdapterKind, ForwardMode};
pub use cache::KvCache;
pub use error::ModelError;
pub use model::{CausalLm, Context, ForwardInput, random_tensors};
pub mod generate;
pub mod local;
pub mod log_probs;

pub use generate::{FinishReason, Generation, SamplingConfig, generate, generate_continuous, generate_with_streams};
pub use local::LocalModel;
pub use log_probs::{LogProbGraph, TokenLogProbs, sequence_log_probs};
