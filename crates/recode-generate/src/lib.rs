//! The one interface every source of completions implements: our candle models
//! (`recode-models`), OpenAI-compatible chat servers, and scripted stand-ins in tests.
//!
//! A prompt is a list of chat messages ([`recode_data::prompt::Message`]). When the last
//! message is from the assistant it is a prefill: the generator continues it (ChatML rendering
//! leaves it open, see [`recode_data::prompt::render_chatml`]) and the returned text is what
//! comes *after* the prefill.
pub mod endpoint;

use recode_data::prompt::Message;
use serde::{Deserialize, Serialize};

/// How to sample. Defaults: greedy, one sample, 512 new tokens, no stop strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// Most tokens generated per completion.
    pub max_new_tokens: usize,
    /// 0 means greedy (argmax); otherwise logits are divided by it.
    pub temperature: f64,
    /// Nucleus sampling mass; 1.0 disables it.
    pub top_p: f64,
    /// Keep only the k most likely tokens; 0 disables it.
    pub top_k: usize,
    /// Completions per prompt.
    pub n: usize,
    /// Seed of the sampler: the same seed, prompts and parameters give the same completions.
    pub seed: u64,
    /// Generation of a completion stops after any of these strings (kept in the text).
    pub stop: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams { max_new_tokens: 512, temperature: 0.0, top_p: 1.0, top_k: 0, n: 1, seed: 0, stop: Vec::new() }
    }
}

/// One generated completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The text after the prompt (after the prefill, when there is one).
    pub text: String,
    /// True when generation stopped at `max_new_tokens` rather than at end of turn / EOS / a stop string.
    pub truncated: bool,
}

/// Why a generator could not produce completions.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// An HTTP endpoint failed (after retries): which URL and what happened.
    #[error("endpoint {url}: {message}")]
    Endpoint { url: String, message: String },
    /// A local model failed (loading, tokenizing, a tensor operation).
    #[error("model: {0}")]
    Model(String),
    /// The request cannot be served as asked (e.g. a prompt longer than the context).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

/// A source of completions.
pub trait Generator: Send + Sync {
    /// A short description for reports, e.g. `qwen2.5-coder-0.5b (candle, cpu) + adapter runs/x`.
    fn describe(&self) -> String;

    /// `params.n` completions for each prompt, in prompt order: `result[i].len() == params.n`.
    fn generate(
        &self,
        prompts: &[Vec<Message>],
        params: &SamplingParams,
    ) -> Result<Vec<Vec<Completion>>, GenerateError>;
}
