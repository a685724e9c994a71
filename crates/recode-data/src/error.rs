//! The error type of this crate.
use std::path::PathBuf;

use crate::validate::Problem;

/// Everything that can go wrong in `recode-data`.
///
/// Messages are complete on their own (they include the underlying I/O or JSON message), so
/// `Display` is enough to report them; no `source()` chain is exposed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An I/O operation (`op`: "read", "create", "write", "rename to", …) on `path` failed.
    #[error("cannot {op} {}: {error}", path.display())]
    Io { op: &'static str, path: PathBuf, error: std::io::Error },
    /// A line could not be turned into an [`Item`](crate::Item) while reading strictly; the
    /// problem says where and why (`FILE:LINE: field: message`). Run validation to see all.
    #[error("{0}")]
    Invalid(Problem),
    /// An item could not be serialised (only possible for non-finite numbers or non-string
    /// map keys in `validation`/extra fields built programmatically).
    #[error("cannot serialise item {index}: {error}")]
    Serialize { index: usize, error: serde_json::Error },
    /// `split` was given a test fraction outside `[0, 1]` or not finite.
    #[error("test fraction must be a finite number between 0 and 1, got {0}")]
    InvalidTestFraction(f64),
}
