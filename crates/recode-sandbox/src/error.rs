//! The error type of this crate.
use std::path::PathBuf;

/// Why a program could not be run at all. A program that runs and fails (exception, timeout,
/// signal) is not an error: it is a [`RunOutput`](crate::RunOutput) with that outcome.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The interpreter does not exist, is not a file, or is not executable.
    #[error("interpreter not found: {} ({reason})", path.display())]
    InterpreterNotFound { path: PathBuf, reason: String },
    /// The private working directory could not be created under `root`.
    #[error("cannot create a temporary working directory in {}: {error}", root.display())]
    TempDir { root: PathBuf, error: std::io::Error },
    /// The program or one of the spec's extra files could not be written.
    #[error("cannot write {}: {error}", path.display())]
    WriteFile { path: PathBuf, error: std::io::Error },
    /// The spec is unusable (a NUL byte in an argument, an extra file outside the directory…).
    #[error("invalid run spec: {0}")]
    InvalidSpec(String),
    /// `NetworkPolicy::Require` was asked for and no network namespace could be created.
    #[error("network isolation is required but unavailable: {reason}")]
    NetworkIsolationUnavailable { reason: String },
    /// The process could not be started (fork, exec, setsid or setrlimit failed).
    #[error("cannot start {}: {error}", interpreter.display())]
    Spawn { interpreter: PathBuf, error: std::io::Error },
    /// A system call of the supervising side failed (pipe, poll, wait…).
    #[error("{op} failed: {error}")]
    Os { op: &'static str, error: std::io::Error },
}
