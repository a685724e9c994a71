//! `recode migrate`: move a user's Python files to a new library version with a model, safely.
//!
//! The pipeline, per file:
//!
//! 1. **Detection** ([`detect`]), deterministic: the file is parsed with the rewards' parser and
//!    the code units (top-level statements, functions, methods, class-body statements) that
//!    use the library's affected names ([`names`], from the update file's `apis:` list or from
//!    the update text, see [`update`]) are found, imports and aliases resolved.
//! 2. **Prompting** ([`engine::unit_prompt`]): each unit, with the file's top-level imports as
//!    context, becomes the `old_code` of the training prompt (spec §3.1), so the model does
//!    what it was trained for. Any [`recode_generate::Generator`] answers.
//! 3. **Choosing** ([`answer`]): the answer's code is taken with the rewards' extraction; with
//!    several samples, the first usable one or the majority by normalised code.
//! 4. **Applying** ([`splice`]): the code replaces the unit's bytes — re-indented for methods,
//!    with the file's line endings — and every other byte stays. A replacement that does not
//!    parse, or that makes the file not parse (CPython 3.11 rules, [`recode_python`]), is
//!    rejected and reported, never written. Imports the answer adds go after the file's
//!    leading imports.
//! 5. **Output**: a unified diff ([`diff`]), JSON records ([`engine::UnitRecord`]), optional
//!    verification in the sandbox ([`verify`]).
pub mod answer;
pub mod detect;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod library;
pub mod names;
pub mod splice;
pub mod update;
pub mod verify;

pub use answer::Choice;
pub use detect::{Scan, Unit, UnitKind, scan};
pub use discover::{Found, discover};
pub use engine::{
    FileOutcome, Prepared, Settings, Status, UnitRecord, migrate_batch, migrate_file, migrate_prepared, prepare,
};
pub use library::Library;
pub use names::AffectedNames;
pub use update::Update;

/// Errors that stop a whole run (per-file problems are messages in [`FileOutcome::error`]).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// `--library NAME` names nothing importable.
    #[error("unknown library `{name}`: {hint}")]
    UnknownLibrary { name: String, hint: String },
    /// The update file is malformed, or names an API outside the library.
    #[error("{file}:{line}: {message}")]
    UpdateFile { file: String, line: usize, message: String },
    /// Verification could not run (copying the tree, the sandbox).
    #[error("verify: {0}")]
    Verify(String),
}

/// Scans files in parallel (`rayon`): each becomes a [`Prepared`] file or a per-file message.
pub fn prepare_all(found: &[Found], settings: &Settings) -> Vec<Result<Prepared, String>> {
    use rayon::prelude::*;
    found.par_iter().map(|f| prepare(&f.path, &f.display, settings)).collect()
}
