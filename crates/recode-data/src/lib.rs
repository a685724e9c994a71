//! The ReCode item format (spec §2): JSONL I/O, validation, statistics, splits and prompts.
//!
//! * [`Item`] — one training item: the six ReCode fields plus optional metadata; unknown
//!   fields are carried through untouched in [`Item::extra`].
//! * [`read_jsonl`] / [`parse_jsonl`] / [`write_jsonl`] — strict reading (the first structural
//!   problem is an error) and atomic writing.
//! * [`validate_file`] / [`validate_bytes`] — every problem of a file, as
//!   `FILE:LINE: field: message` ([`Problem`]).
//! * [`compute_stats`] / [`try_compute_stats`] — counts and length summaries with a pluggable
//!   length function ([`char_len`] by default).
//! * [`split`] / [`split_indices`] — deterministic, stratified train/test split.
//! * [`prompt`] — the exact training (§3.1) and CodeUpdateArena test (§3.2) prompts.

mod error;
mod fs;
mod item;
mod jsonl;
pub mod prompt;
mod similarity;
mod split;
mod stats;
mod validate;
mod version;

pub use error::DataError;
pub use fs::write_atomic;
pub use item::{FIELDS, Item, OPTIONAL_FIELDS, json_kind};
pub use jsonl::{parse_jsonl, read_jsonl, write_jsonl, write_jsonl_to};
pub use similarity::{
    CODE_SIMILARITY, NearDuplicate, UPDATE_INFO_SIMILARITY, UPDATE_INFO_SIMILARITY_ANY_VERSION, edit_similarity,
    format_similarity, migration_words, near_duplicates, normalize_code, similarity_bound,
};
pub use split::{Split, SplitIndices, SplitMix64, split, split_indices, test_count};
pub use stats::{LengthSummary, Stats, UNSPECIFIED, char_len, compute_stats, try_compute_stats};
pub use validate::{LINE_FIELD, Problem, Report, jsonl_lines, validate_bytes, validate_file};
pub use validate::{validate_files, validate_sources};
pub use version::is_valid_version;
