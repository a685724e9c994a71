//! CodeUpdateArena (Liu et al., arXiv 2407.06249) for recode: the pure-library part of the
//! evaluation (spec §6.1). Nothing here executes code.
//!
//! - [`load`] / [`load_files`] / [`parse_str`]: the benchmark in either layout (the grouped
//!   June-2024 `arena.jsonl` or the final one-item-per-line `arena-ungrouped.jsonl`), detected
//!   per file, normalised into [`Update`] and [`Item`]; [`Filter`] selects by package, update
//!   id, item id (and update type).
//! - [`zero_shot_prompt`]: ReCode's zero-shot test prompt (spec §3.2).
//! - [`build_program`]: the program that runs one unit test of one item against a candidate,
//!   with the update enforced ([`Variant::WithUpdate`]) or not ([`Variant::WithoutUpdate`],
//!   for UPass); [`enforce_statement`] by update type; [`candidate_from_answer`].
//! - [`pass_at_k`]: the unbiased pass@k estimator.

mod arena;
mod error;
mod passk;
mod program;
mod prompt;

pub use arena::{Arena, Filter, Item, Layout, Update, UpdateType, load, load_files, parse_str, split_unit_tests};
pub use error::{LoadError, PassAtKError, ProgramError};
pub use passk::{mean_pass_at_k, pass_at_k};
pub use program::{
    EnforceKind, Variant, build_program, build_programs, candidate_from_answer, enforce_statement, new_function_name,
    test_function_name,
};
pub use prompt::{cua_problem, zero_shot_messages, zero_shot_prompt};
