//! ReCode's rule-based rewards (spec §4): format, code extraction, normalisation,
//! syntax check, EM* and ES*. No tensor dependencies.
//!
//! Two modes. [`Mode::Parity`] returns the reference implementation's numbers on every
//! input, quirks included (checked against a Python oracle in `tests/oracle.rs`).
//! [`Mode::Fixed`] returns what the reference meant. The differences, all of them:
//!
//! | step | parity (the reference) | fixed |
//! |---|---|---|
//! | format | spec §4.1 regex | the same |
//! | extraction | first python block anywhere, then `strip()` | CRLF → LF first; first block after `</think>`; no `strip()` |
//! | comments | regex: `#` to end of line after masking `'…'`/`"…"` lazily, so an apostrophe in a comment or an escaped quote can eat real code | comment tokens of a real Python tokenizer |
//! | string literals | restored by sequential text replacement: with ≥ 11 literals the code is corrupted | untouched |
//! | trailing white space | kept where a comment was removed | removed (outside strings) |
//! | blank lines | removed everywhere, inside triple-quoted strings too | removed outside strings only |
//! | indentation | `strip()` dedents only the first line | common indentation removed (`textwrap.dedent`) |
//! | empty vs empty | ZeroDivisionError; recode scores ES = 1 and marks it | ES = 1 |
//!
//! Both modes count lengths and edits in Unicode code points and check syntax with CPython
//! 3.11 `ast.parse` semantics. Where the reference says "white space" (`strip()`, `\s`), both
//! use Python's definition, which includes U+001C–U+001F; fixed mode trims line ends by the
//! tokenizer's (space, tab, form feed), since other spaces are not white space in code.

mod extract;
mod format;
mod levenshtein;
mod normalize;
mod whitespace;

pub use extract::extract_code;
pub use format::format_reward;
pub use levenshtein::levenshtein;
pub use normalize::normalize;
pub use whitespace::{is_python_space, python_strip};

use recode_python::Verdict;

/// Which semantics to score with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Bit-for-bit the reference implementation's numbers, quirks included.
    #[default]
    Parity,
    /// What the reference meant (see the crate docs for every difference).
    Fixed,
}

/// Where the reference implementation raises instead of returning a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReferenceRaises {
    /// Both normalised strings empty: `distance / max_length` divides by zero.
    /// recode scores the pair as identical (ES = 1, ES* = 2.0).
    ZeroDivisionError,
    /// `ast.parse` gives up on deeply nested code (MemoryError / RecursionError).
    /// recode scores the code as not parsing (−2.0).
    TooDeeplyNested,
}

/// The reward components of one completion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// +1 or −1 (spec §4.1).
    pub format: f64,
    /// +2.0, −1.5 or −2.0 (spec §4.5).
    pub em_star: f64,
    /// In [−1.5, 2.0], or −2.0 when there is no parsable python block (spec §4.5).
    pub es_star: f64,
    /// `format + es_star`.
    pub total: f64,
    /// Set where the reference would raise; the value used instead is documented on the variant.
    pub reference_raises: Option<ReferenceRaises>,
}

/// EM* and ES* of a completion whose python block did not parse, or that has none.
pub const NO_VALID_CODE: f64 = -2.0;

/// Score one completion (the text generated after the prompt's prefilled `<think>`)
/// against the target code.
pub fn score(completion: &str, target: &str, mode: Mode) -> Scores {
    let format = format_reward(completion);
    let (correctness, reference_raises) = correctness(completion, target, mode);
    let (em_star, es_star) = correctness.map_or((NO_VALID_CODE, NO_VALID_CODE), |c| (c.em_star, c.es_star));
    Scores { format, em_star, es_star, total: format + es_star, reference_raises }
}

struct Correctness {
    em_star: f64,
    es_star: f64,
}

fn correctness(completion: &str, target: &str, mode: Mode) -> (Option<Correctness>, Option<ReferenceRaises>) {
    let Some(code) = extract_code(completion, mode) else {
        return (None, None);
    };
    let code = normalize(&code, mode);
    match recode_python::check_module(&code) {
        Verdict::Valid => {}
        Verdict::Invalid => return (None, None),
        Verdict::TooComplex => return (None, Some(ReferenceRaises::TooDeeplyNested)),
    }
    let target = normalize(target, mode);
    if code == target {
        let raises = (code.is_empty() && mode == Mode::Parity).then_some(ReferenceRaises::ZeroDivisionError);
        return (Some(Correctness { em_star: 2.0, es_star: 2.0 }), raises);
    }
    let es_star = edit_similarity(&code, &target) * 3.5 - 1.5;
    (Some(Correctness { em_star: -1.5, es_star }), None)
}

/// `ES = 1 − lev(a, b) / max(len(a), len(b))` over code points; 1 when both are empty.
pub fn edit_similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(&a, &b) as f64 / longest as f64
}
