//! Everything that can go wrong reading, checking, writing or fetching a checkpoint.
use std::path::PathBuf;

use crate::config::ConfigError;

/// A checkpoint that cannot be read, checked, written or fetched. Every variant names the file,
/// tensor or key concerned.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `dir` is the model directory; the source's message starts with `config.json:`.
    #[error("{}/{source}", dir.display())]
    Config {
        dir: PathBuf,
        #[source]
        source: ConfigError,
    },
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: not a model: {reason}", path.display())]
    NotAModel { path: PathBuf, reason: String },
    #[error("{}: GGUF: {message}", path.display())]
    Gguf { path: PathBuf, message: String },
    #[error("{}: GGUF metadata `{key}`: {message}", path.display())]
    GgufMetadata { path: PathBuf, key: String, message: String },
    #[error("unsupported architecture {name:?} (supported: qwen2, llama)")]
    UnsupportedArchitecture { name: String },
    #[error("unsupported tokenizer: {message}")]
    UnsupportedTokenizer { message: String },
    #[error("missing tensor `{name}` (expected shape {expected:?})")]
    MissingTensor { name: String, expected: Vec<usize> },
    #[error("tensor `{name}`: shape {found:?}, expected {expected:?}")]
    TensorShape { name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("tensor `{name}`: dtype {found:?}, expected {expected:?}")]
    TensorDtype { name: String, expected: candle_core::DType, found: candle_core::DType },
    #[error("unexpected tensor `{name}` (shape {shape:?}): not part of a {architecture} model with this config")]
    UnexpectedTensor { name: String, shape: Vec<usize>, architecture: &'static str },
    #[error("{context}: {source}")]
    Candle {
        context: String,
        #[source]
        source: candle_core::Error,
    },
    #[error("tokenizer: {message}")]
    Tokenizer { message: String },
    #[error("{}: refusing to write: {reason}", path.display())]
    OutputExists { path: PathBuf, reason: String },
    #[error("fetch: {message}")]
    Fetch { message: String },
    #[error("{}: sha256 {found}, expected {expected}: the download is not the expected model", path.display())]
    Checksum { path: PathBuf, expected: String, found: String },
}

impl WeightsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> WeightsError {
        WeightsError::Io { path: path.into(), source }
    }

    pub(crate) fn candle(context: impl Into<String>, source: candle_core::Error) -> WeightsError {
        WeightsError::Candle { context: context.into(), source }
    }

    pub(crate) fn tokenizer(message: impl std::fmt::Display) -> WeightsError {
        WeightsError::Tokenizer { message: message.to_string() }
    }
}
