//! Error types.
use std::path::PathBuf;

/// A benchmark file could not be read or one of its lines is malformed.
///
/// Line errors read `FILE:LINE: field: what is wrong`, with `field` a JSON path such as
/// `update.implementation` or `prog_syn_examples[2].unit_tests[0]` (`<record>` for the line as
/// a whole, `<json>` for a syntax error). Lines are counted from 1.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    /// A line is malformed.
    #[error("{file}:{line}: {field}: {message}")]
    Line { file: String, line: usize, field: String, message: String },
}

impl LoadError {
    pub(crate) fn line(file: &str, line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError::Line { file: file.to_string(), line, field: field.into(), message: message.into() }
    }
}

/// A test program cannot be built for an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// `update.function_path` has no parent (`math.sin` has `math`; `sin` has none).
    #[error("update {update_id}: function_path {function_path:?} has no parent module or class")]
    NoParent { update_id: String, function_path: String },
    /// The new function's name could not be found in `update.implementation`.
    #[error("update {update_id}: cannot tell the new function's name from the implementation ({why})")]
    NoNewName { update_id: String, why: String },
    /// The update type is not one of the 16 known ones, so no enforce statement is known.
    #[error("update {update_id}: unknown update type {update_type:?}")]
    UnknownUpdateType { update_id: String, update_type: String },
    /// The unit test defines no top-level function to call.
    #[error("item {item_id}: unit test has no top-level `def`")]
    NoTestFunction { item_id: String },
}

/// Invalid arguments to [`pass_at_k`](crate::pass_at_k).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PassAtKError {
    /// k must be at least 1.
    #[error("pass@k needs k >= 1")]
    ZeroK,
    /// k larger than the number of samples.
    #[error("pass@{k} needs at least {k} samples, got n = {n}")]
    KAboveN { n: usize, k: usize },
    /// More correct samples than samples.
    #[error("c = {c} correct samples out of n = {n}")]
    CAboveN { n: usize, c: usize },
}
