//! The error type of this crate.
use std::path::PathBuf;

/// Why an evaluation could not run (a sample that fails is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read or written.
    #[error("{op} {}: {error}", path.display())]
    Io { op: &'static str, path: PathBuf, error: std::io::Error },
    /// A line of an input or results file is malformed: `FILE:LINE: field: message`.
    #[error("{file}:{line}: {field}: {message}")]
    Line { file: String, line: usize, field: String, message: String },
    /// The Python environment is missing or unusable.
    #[error("environment: {0}")]
    Env(String),
    /// The sandbox could not run a program at all.
    #[error("sandbox: {0}")]
    Sandbox(#[from] recode_sandbox::SandboxError),
    /// The generator failed.
    #[error("generation: {0}")]
    Generate(#[from] recode_generate::GenerateError),
    /// Invalid settings (k above n, n = 0, …).
    #[error("invalid settings: {0}")]
    Config(String),
}

impl EvalError {
    pub(crate) fn line(file: &str, line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        EvalError::Line { file: file.to_string(), line, field: field.into(), message: message.into() }
    }
}
